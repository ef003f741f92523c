//! Building blocks of the Redis and Sentinel pods that several concerns
//! share: where files are mounted ([`paths`]), Secret volumes and mounts,
//! container resources and the restricted security context. The
//! StatefulSets ([`crate::generate::workloads`]) and the metrics exporter
//! sidecar ([`crate::metrics::exporter`]) are assembled from them, so
//! neither reaches into the other.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapProjection, KeyToPath, ProjectedVolumeSource, ResourceRequirements,
    SeccompProfile, SecretProjection, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::spec::{Instance, model::Resources};

/// Where pods see their files.
pub mod paths {
    pub const REDIS_CONFIG: &str = "/etc/redis/config";
    pub const REDIS_TLS: &str = "/etc/redis/tls";
    pub const REDIS_AUTH: &str = "/etc/redis/auth";
    /// ACL users of the consumers (`spec.consumers`), password hashes only.
    pub const REDIS_CONSUMERS: &str = "/etc/redis/consumers";
    pub const REDIS_RUN: &str = "/run/redis";
    pub const REDIS_DATA: &str = "/data";
    pub const SENTINEL_CONFIG: &str = "/etc/sentinel/config";
    pub const SENTINEL_TLS: &str = "/etc/sentinel/tls";
    pub const SENTINEL_AUTH: &str = "/etc/sentinel/auth";
    pub const SENTINEL_RUN: &str = "/run/sentinel";
    pub const REDIS_TOPOLOGY: &str = "/etc/redis/topology";
    pub const SENTINEL_TOPOLOGY: &str = "/etc/sentinel/topology";
}

/// Secret file mode: owner and group (fsGroup) may read.
pub const SECRET_MODE: i32 = 0o440;

/// A Secret the pods of a component mount.
pub struct MountedSecret {
    /// Volume name: `tls`, `auth` or `consumers`.
    pub volume: &'static str,
    pub secret: String,
    /// The keys projected (`None`: every key).
    pub keys: Option<Vec<&'static str>>,
    /// A ConfigMap key shown as `ca.crt` beside the Secret's files (the
    /// service CA's bundle; see [`crate::sources`]).
    pub ca_from: Option<(String, &'static str)>,
}

fn quantities(m: &BTreeMap<String, String>) -> Option<BTreeMap<String, Quantity>> {
    (!m.is_empty()).then(|| {
        m.iter()
            .map(|(k, v)| (k.clone(), Quantity(v.clone())))
            .collect()
    })
}

pub fn resources(r: &Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: quantities(&r.requests),
        limits: quantities(&r.limits),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: String) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            default_mode: Some(SECRET_MODE),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Secret's files and a ConfigMap key as `ca.crt`, in one directory
/// (updated atomically by the kubelet, like a Secret volume).
fn projected_tls_volume(
    name: &str,
    secret: String,
    items: Option<Vec<KeyToPath>>,
    configmap: String,
    ca_key: &str,
) -> Volume {
    Volume {
        name: name.into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(SECRET_MODE),
            sources: Some(vec![
                VolumeProjection {
                    secret: Some(SecretProjection {
                        name: secret,
                        items,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: configmap,
                        items: Some(vec![KeyToPath {
                            key: ca_key.to_string(),
                            path: "ca.crt".into(),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    }
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

/// The restricted security context of every container.
pub fn container_security_context(inst: &Instance) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: inst.security.run_as_user,
        run_as_group: inst.security.run_as_group,
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The volume of a [`MountedSecret`] (see
/// [`crate::generate::workloads::mounted_secrets`]).
pub fn mounted_secret_volume(m: MountedSecret) -> Volume {
    let items = m.keys.map(|keys| {
        keys.into_iter()
            .map(|k| KeyToPath {
                key: k.to_string(),
                path: k.to_string(),
                ..Default::default()
            })
            .collect()
    });
    match m.ca_from {
        Some((cm, key)) => projected_tls_volume(m.volume, m.secret, items, cm, key),
        None => {
            let mut v = secret_volume(m.volume, m.secret);
            if let Some(src) = v.secret.as_mut() {
                src.items = items;
            }
            v
        }
    }
}
