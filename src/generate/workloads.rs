//! Workloads: the Redis and Sentinel StatefulSets, their
//! PodDisruptionBudgets and the ServiceAccount.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, ExecAction, Lifecycle, LifecycleHandler, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, ServiceAccount,
    Toleration, Volume, VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::services;
use crate::auth::{passwords, users};
use crate::certs::Role;
use crate::ownership::{labels, meta};
use crate::pod::{
    MountedSecret, container_security_context, mount, mounted_secret_volume, paths, resources,
};
use crate::pod_files::{self, handover, redis, sentinel, topology};
use crate::sources;
use crate::spec::{AntiAffinity, Component, Instance, Storage};

const CONFIG_MODE: i32 = 0o444;

/// The Secrets the pods of `c` mount: both the pod's volumes and its
/// config hash are made from this list.
pub fn mounted_secrets(inst: &Instance, c: Component) -> Vec<MountedSecret> {
    let mut v = Vec::new();
    if let Some(tls) = &inst.tls {
        let role = match c {
            Component::Redis => Role::Redis,
            Component::Sentinel => Role::Sentinel,
        };
        let ca_from = sources::ca_from_configmap(inst, tls);
        v.push(MountedSecret {
            volume: "tls",
            secret: sources::secret_name(inst, tls, role).unwrap_or_else(|| role.secret_name(inst)),
            keys: ca_from.as_ref().map(|_| vec!["tls.crt", "tls.key"]),
            ca_from,
        });
    }
    if let Some(a) = &inst.auth {
        v.push(MountedSecret {
            volume: "auth",
            secret: passwords::auth_secret_name(inst),
            keys: Some(users::mounted_keys(a, c)),
            ca_from: None,
        });
    }
    if c == Component::Redis {
        for (volume, obj) in crate::pod_files::migration::volumes(inst) {
            if let crate::spec::migration::CaObject::Secret(secret) = obj {
                v.push(MountedSecret {
                    volume,
                    secret,
                    keys: None,
                    ca_from: None,
                });
            }
        }
    }
    if c == Component::Redis && crate::consumers::has_users(inst) {
        v.push(MountedSecret {
            volume: "consumers",
            secret: crate::consumers::users_secret_name(inst),
            keys: Some(vec![crate::consumers::USERS_KEY]),
            ca_from: None,
        });
    }
    v
}

pub fn service_account(inst: &Instance) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(inst, inst.service_account.clone(), None),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// A probe that runs `valkey-cli PING` (a Valkey image) or `redis-cli PING`
/// over TLS against the pod itself.
fn ping_probe(inst: &Instance, c: Component, accept: &str) -> Probe {
    let (tls_dir, auth_dir) = match c {
        Component::Redis => (paths::REDIS_TLS, paths::REDIS_AUTH),
        Component::Sentinel => (paths::SENTINEL_TLS, paths::SENTINEL_AUTH),
    };
    // REDISCLI_AUTH keeps the password off the command line.
    let (env, user) = match &inst.auth {
        Some(a) => {
            let (user, key) = users::probe_credential(a, c);
            (
                format!("REDISCLI_AUTH=\"$(cat {auth_dir}/{key})\" "),
                user.map(|u| format!("--user {u} ")).unwrap_or_default(),
            )
        }
        None => (String::new(), String::new()),
    };
    let tls = pod_files::cli_tls_args(inst, tls_dir);
    let cmd = format!(
        "{env}timeout 4 \"$(command -v valkey-cli || echo redis-cli)\" {user}--no-auth-warning {tls} -h localhost -p {} PING | grep -Eq '{accept}'",
        inst.port(c)
    )
    .replace("  ", " ");
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), cmd]),
        }),
        timeout_seconds: Some(5),
        period_seconds: Some(10),
        ..Default::default()
    }
}

fn empty_dir(name: &str, limit: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(limit.into())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn affinity(inst: &Instance, c: Component) -> Option<Affinity> {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(inst.selector_labels(c)),
            ..Default::default()
        }),
        topology_key: inst.placement.topology_key.clone(),
        ..Default::default()
    };
    let anti = match inst.placement.anti_affinity {
        AntiAffinity::None => return None,
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..Default::default()
        },
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: term,
                },
            ]),
            ..Default::default()
        },
    };
    Some(Affinity {
        pod_anti_affinity: Some(anti),
        ..Default::default()
    })
}

fn tolerations(inst: &Instance) -> Option<Vec<Toleration>> {
    let t = &inst.placement.tolerations;
    (!t.is_empty()).then(|| {
        t.iter()
            .map(|t| Toleration {
                key: t.key.clone(),
                operator: t.operator.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
                toleration_seconds: t.toleration_seconds,
            })
            .collect()
    })
}

/// Where a component's files are mounted, and its start script.
struct Dirs {
    config: &'static str,
    tls: &'static str,
    auth: &'static str,
    run: &'static str,
    script: &'static str,
}

fn dirs(c: Component) -> Dirs {
    match c {
        Component::Redis => Dirs {
            config: paths::REDIS_CONFIG,
            tls: paths::REDIS_TLS,
            auth: paths::REDIS_AUTH,
            run: paths::REDIS_RUN,
            script: redis::START_SCRIPT,
        },
        Component::Sentinel => Dirs {
            config: paths::SENTINEL_CONFIG,
            tls: paths::SENTINEL_TLS,
            auth: paths::SENTINEL_AUTH,
            run: paths::SENTINEL_RUN,
            script: sentinel::START_SCRIPT,
        },
    }
}

/// The StatefulSet of a component; `config_hash` goes on its pod template.
pub fn statefulset(inst: &Instance, c: Component, config_hash: &str) -> StatefulSet {
    let name = inst.workload_name(c);
    let d = dirs(c);
    let (mut volumes, mut mounts) = config_volumes(inst, c, &name, &d);
    for m in mounted_secrets(inst, c) {
        let path = match m.volume {
            "tls" => d.tls.to_string(),
            "consumers" => paths::REDIS_CONSUMERS.to_string(),
            v if v.starts_with("migration-") => crate::pod_files::migration::mount_path(v),
            _ => d.auth.to_string(),
        };
        mounts.push(mount(m.volume, &path, true));
        volumes.push(mounted_secret_volume(m));
    }
    if c == Component::Redis {
        for (volume, obj) in crate::pod_files::migration::volumes(inst) {
            if let crate::spec::migration::CaObject::ConfigMap(cm) = obj {
                volumes.push(Volume {
                    name: volume.into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: cm,
                        default_mode: Some(CONFIG_MODE),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                mounts.push(mount(
                    volume,
                    &crate::pod_files::migration::mount_path(volume),
                    true,
                ));
            }
        }
    }
    volumes.push(empty_dir("run", "16Mi"));
    mounts.push(mount("run", d.run, false));
    volumes.push(empty_dir("tmp", "16Mi"));
    mounts.push(mount("tmp", "/tmp", false));
    let mut claims = None;
    if c == Component::Redis {
        match &inst.redis.persistence {
            Some(st) => claims = Some(vec![data_claim(inst, c, st)]),
            None => volumes.push(Volume {
                name: "data".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            }),
        }
        mounts.push(mount("data", paths::REDIS_DATA, false));
    }
    let mut pod_spec = pod_spec(inst, c, main_container(inst, c, &d, mounts), volumes);
    crate::metrics::exporter::add_to_pod(inst, c, &mut pod_spec);
    let pod_annotations = BTreeMap::from([(
        crate::object::marks::CONFIG_HASH_ANNOTATION.to_string(),
        config_hash.to_string(),
    )]);
    StatefulSet {
        metadata: meta(inst, name.clone(), Some(c)),
        spec: Some(StatefulSetSpec {
            replicas: Some(i32::try_from(inst.replicas(c)).unwrap_or(i32::MAX)),
            service_name: Some(inst.headless_service(c)),
            // Redis pods start one at a time so that each finds the master
            // of those before it; Sentinels may start together.
            pod_management_policy: Some(match c {
                Component::Redis => "OrderedReady".into(),
                Component::Sentinel => "Parallel".into(),
            }),
            selector: LabelSelector {
                match_labels: Some(inst.selector_labels(c)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(inst, Some(c))),
                    annotations: Some(pod_annotations),
                    ..Default::default()
                }),
                spec: Some(pod_spec),
            },
            volume_claim_templates: claims,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The component's ConfigMap and the topology ConfigMap. Pod counts and
/// quorum are mounted, but outside the config hash (the kubelet updates
/// them in running pods; scaling restarts nothing).
fn config_volumes(
    inst: &Instance,
    c: Component,
    name: &str,
    d: &Dirs,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let configmap = |volume: &str, configmap: String| Volume {
        name: volume.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: configmap,
            default_mode: Some(CONFIG_MODE),
            ..Default::default()
        }),
        ..Default::default()
    };
    (
        vec![
            configmap("config", name.to_string()),
            configmap(topology::VOLUME, topology::configmap_name(inst)),
        ],
        vec![
            mount("config", d.config, true),
            mount(topology::VOLUME, topology::mount_path(c), true),
        ],
    )
}

/// The claim template of a Redis pod's data volume.
fn data_claim(inst: &Instance, c: Component, st: &Storage) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(inst.selector_labels(c)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: st.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(st.size.clone()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Readiness, liveness and start-up probes of the main container.
fn probes(inst: &Instance, c: Component) -> (Probe, Probe, Probe) {
    let mut readiness = ping_probe(inst, c, "^PONG");
    readiness.failure_threshold = Some(3);
    if c == Component::Redis {
        // In sync with the master (replica) or named by Sentinel (master):
        // a rollout moves on only then (pod_files::handover).
        readiness.exec = Some(ExecAction {
            command: Some(handover::redis_readiness_command()),
        });
        readiness.period_seconds = Some(5);
    }
    let mut liveness = ping_probe(inst, c, "^(PONG|LOADING|MASTERDOWN)");
    liveness.failure_threshold = Some(6);
    liveness.period_seconds = Some(15);
    // Start-up may wait for a failover (Redis) or for DNS (both): allow it.
    let mut startup = ping_probe(inst, c, "^(PONG|LOADING|MASTERDOWN)");
    startup.period_seconds = Some(5);
    let startup_budget = match c {
        Component::Redis => {
            (inst.sentinel.down_after_milliseconds + inst.sentinel.failover_timeout) / 1000 + 150
        }
        Component::Sentinel => 150,
    };
    startup.failure_threshold = Some(i32::try_from(startup_budget.div_ceil(5)).unwrap_or(i32::MAX));
    (readiness, liveness, startup)
}

/// The redis-server or redis-sentinel container.
fn main_container(inst: &Instance, c: Component, d: &Dirs, mounts: Vec<VolumeMount>) -> Container {
    let ports = services::ports(inst, c)
        .into_iter()
        .map(|(n, p)| ContainerPort {
            name: Some(n),
            container_port: i32::from(p),
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect();
    let res = match c {
        Component::Redis => &inst.redis.resources,
        Component::Sentinel => &inst.sentinel.resources,
    };
    let (readiness, liveness, startup) = probes(inst, c);
    Container {
        name: c.as_str().into(),
        image: Some(inst.image.clone()),
        image_pull_policy: inst.image_pull_policy.clone(),
        command: Some(vec!["sh".into(), format!("{}/{}", d.config, d.script)]),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
        ]),
        ports: Some(ports),
        readiness_probe: Some(readiness),
        liveness_probe: Some(liveness),
        startup_probe: Some(startup),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(handover::pre_stop_command(c)),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(resources(res)),
        security_context: Some(container_security_context(inst)),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// The pod around `container`: placement, service account, the
/// restricted pod security context.
fn pod_spec(inst: &Instance, c: Component, container: Container, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        containers: vec![container],
        volumes: Some(volumes),
        service_account_name: Some(inst.service_account.clone()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(handover::GRACE_SECONDS),
        affinity: affinity(inst, c),
        node_selector: (!inst.placement.node_selector.is_empty())
            .then(|| inst.placement.node_selector.clone()),
        tolerations: tolerations(inst),
        priority_class_name: inst.placement.priority_class_name.clone(),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: inst.security.run_as_user,
            run_as_group: inst.security.run_as_group,
            fs_group: inst.security.fs_group,
            fs_group_change_policy: inst.security.fs_group.map(|_| "OnRootMismatch".into()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn pod_disruption_budget(inst: &Instance, c: Component) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta(inst, inst.workload_name(c), Some(c)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(inst.selector_labels(c)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::spec::test_spec;

    /// The pod spec of `c`'s StatefulSet (for tests here and elsewhere).
    pub(crate) fn pod(inst: &Instance, c: Component) -> PodSpec {
        statefulset(inst, c, "h")
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
    }

    #[test]
    fn secrets_are_mounted_read_only_with_restrictive_modes() {
        let inst = test_spec("  auth:\n    enabled: true\n");
        for c in Component::ALL {
            let p = pod(&inst, c);
            let secrets: Vec<_> = p
                .volumes
                .iter()
                .flatten()
                .filter_map(|v| v.secret.as_ref())
                .collect();
            assert_eq!(secrets.len(), 2, "tls and auth");
            for s in secrets {
                assert_eq!(s.default_mode, Some(0o440));
            }
            let mounts = p.containers[0].volume_mounts.clone().unwrap();
            for m in mounts
                .iter()
                .filter(|m| ["tls", "auth", "config", "topology"].contains(&m.name.as_str()))
            {
                assert_eq!(m.read_only, Some(true), "{} read-only", m.name);
            }
        }
    }

    /// The kubelet updates a mounted Secret or ConfigMap in a running pod
    /// only where it is not mounted with `subPath`: certificates renewed
    /// outside the function, and generated ones on a server that reloads
    /// them, reach the pods only that way. No container of any pod (the
    /// metrics exporter included) mounts anything with `subPath`.
    #[test]
    fn nothing_is_mounted_with_sub_path() {
        for spec in [
            "  auth:\n    enabled: true\n  metrics:\n    enabled: true\n",
            "  image: redis:8.0.6\n  tls:\n    source: cert-manager\n",
        ] {
            let inst = test_spec(spec);
            for c in Component::ALL {
                let p = pod(&inst, c);
                assert!(spec.contains("cert-manager") || p.containers.len() == 2);
                for container in &p.containers {
                    for m in container.volume_mounts.iter().flatten() {
                        assert!(
                            m.sub_path.is_none() && m.sub_path_expr.is_none(),
                            "{}: {} mounts {} with subPath",
                            c.as_str(),
                            container.name,
                            m.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn restricted_security_context_and_platform_ids() {
        let k8s = test_spec("");
        let p = pod(&k8s, Component::Redis);
        let sc = p.security_context.unwrap();
        assert_eq!(
            (sc.run_as_user, sc.fs_group, sc.run_as_non_root),
            (Some(10001), Some(10001), Some(true))
        );
        let c = p.containers[0].security_context.clone().unwrap();
        assert_eq!(c.allow_privilege_escalation, Some(false));
        assert_eq!(c.read_only_root_filesystem, Some(true));
        assert_eq!(c.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
        assert_eq!(c.seccomp_profile.unwrap().type_, "RuntimeDefault");
        let os = test_spec("  platform: openshift\n");
        let sc = pod(&os, Component::Sentinel).security_context.unwrap();
        assert_eq!(
            (sc.run_as_user, sc.run_as_group, sc.fs_group),
            (None, None, None)
        );
    }

    #[test]
    fn redis_starts_in_order_sentinels_in_parallel_and_hash_is_on_the_template() {
        let inst = test_spec("");
        let r = statefulset(&inst, Component::Redis, "abc").spec.unwrap();
        assert_eq!(r.pod_management_policy.as_deref(), Some("OrderedReady"));
        assert_eq!(r.service_name.as_deref(), Some("cache-redis-headless"));
        let ann = r.template.metadata.unwrap().annotations.unwrap();
        assert_eq!(
            ann.get(crate::object::marks::CONFIG_HASH_ANNOTATION)
                .map(String::as_str),
            Some("abc")
        );
        let s = statefulset(&inst, Component::Sentinel, "x").spec.unwrap();
        assert_eq!(s.pod_management_policy.as_deref(), Some("Parallel"));
    }

    #[test]
    fn persistence_uses_a_volume_claim_template() {
        let inst = test_spec("  redis:\n    persistence:\n      enabled: true\n      size: 5Gi\n");
        let s = statefulset(&inst, Component::Redis, "h").spec.unwrap();
        let claims = s.volume_claim_templates.unwrap();
        assert_eq!(claims[0].metadata.name.as_deref(), Some("data"));
        let req = claims[0]
            .spec
            .clone()
            .unwrap()
            .resources
            .unwrap()
            .requests
            .unwrap();
        assert_eq!(req["storage"].0, "5Gi");
        assert!(
            !s.template
                .spec
                .unwrap()
                .volumes
                .unwrap()
                .iter()
                .any(|v| v.name == "data")
        );
    }

    #[test]
    fn anti_affinity_modes() {
        let req = test_spec("  placement:\n    antiAffinity: required\n");
        let a = pod(&req, Component::Redis)
            .affinity
            .unwrap()
            .pod_anti_affinity
            .unwrap();
        assert!(
            a.required_during_scheduling_ignored_during_execution
                .is_some()
        );
        let none = test_spec("  placement:\n    antiAffinity: none\n");
        assert!(pod(&none, Component::Redis).affinity.is_none());
    }

    #[test]
    fn probes_speak_tls_with_the_pods_certificate() {
        let inst = test_spec("");
        let c = &pod(&inst, Component::Sentinel).containers[0];
        let cmd = c
            .readiness_probe
            .as_ref()
            .unwrap()
            .exec
            .as_ref()
            .unwrap()
            .command
            .clone()
            .unwrap()
            .join(" ");
        assert!(
            cmd.contains("--tls --cert /etc/sentinel/tls/tls.crt"),
            "{cmd}"
        );
        assert!(cmd.contains("-p 26379 PING"), "{cmd}");
    }
}
