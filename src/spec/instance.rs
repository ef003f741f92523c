//! The resolved spec: every default applied, every value validated.

use std::collections::BTreeMap;

use super::dns;
use super::model::{AntiAffinity, ClientAuth, KeyAlgorithm, Platform, Resources, Toleration};
use crate::object::labels;

/// A validated instance: what the generators render.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub namespace: String,
    pub cluster_domain: String,
    pub image: String,
    pub image_pull_policy: Option<String>,
    pub platform: Platform,
    pub redis: Redis,
    pub sentinel: Sentinel,
    /// `None` when TLS is disabled.
    pub tls: Option<Tls>,
    /// Plaintext ports (`None` when the plaintext ports are off). With TLS
    /// disabled, the main ports are plaintext and this is `None`.
    pub plaintext: Option<PlainPorts>,
    /// `None` when authentication is off.
    pub auth: Option<Auth>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub placement: Placement,
    pub security: Security,
    /// ServiceAccount the pods run as, and whether we generate it.
    pub service_account: String,
    pub generate_service_account: bool,
    pub pod_disruption_budget: bool,
    /// `None` when NetworkPolicies are off.
    pub network_policy: Option<NetworkPolicy>,
    /// `spec.consumers`, validated.
    pub consumers: Vec<super::consumers::Consumer>,
    /// `None` when metrics are off.
    pub metrics: Option<crate::spec::metrics::Metrics>,
    /// `spec.migration` (`None`: no migration).
    pub migration: Option<super::migration::Migration>,
    /// Problems that do not stop the render (warning results).
    pub warnings: Vec<crate::krm::FieldError>,
    /// What field paths of this spec start with: `spec.`, `data.` for a
    /// ConfigMap function config, `spec.instances[<i>].spec.` for an
    /// instance of a `RedisSentinelList`.
    pub field_prefix: String,
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct Auth {
    pub mode: super::model::AuthMode,
    pub app_user: String,
    pub app_user_rules: String,
    /// `auth.existingSecret`: passwords from a Secret the user creates.
    pub existing_secret: Option<String>,
}

/// Default ACL rules of the application user: every key and channel, every
/// command but the administrative ones (CONFIG, REPLICAOF, SHUTDOWN, ACL,
/// DEBUG, ...), except ROLE, which Sentinel-aware clients call to check that
/// the address Sentinel gave them is the master; and no scripting (EVAL,
/// EVALSHA, FUNCTION, FCALL): Lua is the path of the worst published
/// advisories (CVE-2025-49844, remote code execution for any user allowed
/// to EVAL), so an application that runs scripts asks for them in
/// `auth.appUserRules` (the 3scale consumer's user keeps them: Sidekiq
/// uses EVALSHA). See docs/servers.md.
pub const DEFAULT_APP_USER_RULES: &str = "~* &* +@all -@admin -@scripting +role";

#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    pub client_pod_labels: BTreeMap<String, String>,
    pub client_namespace_labels: Option<BTreeMap<String, String>>,
}

/// Label client pods carry by default to reach an instance.
pub const CLIENT_LABEL: &str = "fn.redis-sentinel.dev/client";

#[derive(Debug, Clone)]
pub struct Redis {
    pub replicas: u32,
    pub port: u16,
    pub resources: Resources,
    pub persistence: Option<Storage>,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    pub maxmemory: Option<String>,
    pub maxmemory_policy: Option<String>,
    /// The Redis version whose command table checked the ACL rules
    /// (`None`: newer than every table).
    pub version: Option<super::server::CommandTable>,
    /// The server and version the input names (`None`: the version is
    /// unknown, e.g. an image pinned by digest alone without
    /// `redis.version`).
    pub server: Option<super::server::Server>,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub size: String,
    pub storage_class_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Sentinel {
    pub replicas: u32,
    pub quorum: u32,
    pub master_name: String,
    pub port: u16,
    pub down_after_milliseconds: u64,
    pub failover_timeout: u64,
    pub parallel_syncs: u32,
    pub resources: Resources,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub client_auth: ClientAuth,
    pub key_algorithm: KeyAlgorithm,
    pub ca_validity_days: u32,
    pub validity_days: u32,
    pub renew_before_days: u32,
    pub keep_ca_key: bool,
    pub rotation: u32,
    /// Unix seconds; start of validity of seed-derived certificates.
    pub not_before: i64,
    pub extra_dns_names: Vec<String>,
    /// Where the certificates come from.
    pub source: TlsSource,
}

/// The resolved `tls.source` with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    Generated,
    /// `None`: the function emits its own self-signed CA chain.
    CertManager {
        issuer: Option<IssuerRef>,
    },
    OpenshiftServiceCa,
    /// Existing Secrets, per role.
    Secret {
        redis: String,
        sentinel: String,
        client: String,
    },
}

/// A cert-manager `issuerRef`, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRef {
    pub name: String,
    pub kind: String,
    pub group: String,
}

#[derive(Debug, Clone, Copy)]
pub struct PlainPorts {
    pub redis: u16,
    pub sentinel: u16,
}

#[derive(Debug, Clone)]
pub struct Placement {
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub anti_affinity: AntiAffinity,
    pub topology_key: String,
    pub priority_class_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Security {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
}

/// The two workloads of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Redis,
    Sentinel,
}

impl Component {
    pub const ALL: [Component; 2] = [Component::Redis, Component::Sentinel];

    /// Value of the `app.kubernetes.io/component` label and name suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Redis => "redis",
            Component::Sentinel => "sentinel",
        }
    }

    /// The component whose [`Component::as_str`] is `name`.
    pub fn named(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// Name suffixes of generated objects; the longest decides the maximum
/// instance name length.
pub const HEADLESS_SUFFIX: &str = "-headless";

impl Instance {
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// StatefulSet, client Service and ConfigMap name of a component.
    pub fn workload_name(&self, c: Component) -> String {
        format!("{}-{}", self.name, c.as_str())
    }

    /// Headless Service of a component (governs the pods' DNS names).
    pub fn headless_service(&self, c: Component) -> String {
        format!("{}-{}{}", self.name, c.as_str(), HEADLESS_SUFFIX)
    }

    pub fn replicas(&self, c: Component) -> u32 {
        match c {
            Component::Redis => self.redis.replicas,
            Component::Sentinel => self.sentinel.replicas,
        }
    }

    pub fn port(&self, c: Component) -> u16 {
        match c {
            Component::Redis => self.redis.port,
            Component::Sentinel => self.sentinel.port,
        }
    }

    pub fn plain_port(&self, c: Component) -> Option<u16> {
        self.plaintext.map(|p| match c {
            Component::Redis => p.redis,
            Component::Sentinel => p.sentinel,
        })
    }

    /// `<ns>.svc.<clusterDomain>`
    pub fn svc_domain(&self) -> String {
        dns::svc_domain(&self.namespace, &self.cluster_domain)
    }

    /// Stable DNS name of pod `ordinal` of a component:
    /// `<name>-<component>-<i>.<headless>.<ns>.svc.<clusterDomain>`.
    pub fn pod_fqdn(&self, c: Component, ordinal: u32) -> String {
        dns::pod_fqdn(
            &self.workload_name(c),
            ordinal.into(),
            &self.headless_service(c),
            &self.namespace,
            &self.cluster_domain,
        )
    }

    /// Every pod DNS name of a component, in ordinal order.
    pub fn pod_fqdns(&self, c: Component) -> Vec<String> {
        (0..self.replicas(c)).map(|i| self.pod_fqdn(c, i)).collect()
    }

    /// All DNS names a client or peer may dial for a component: both
    /// Services in every short and qualified form, a wildcard for the pods
    /// under the headless Service, and loopback names for in-pod probes.
    pub fn dns_names(&self, c: Component) -> Vec<String> {
        let mut names = Vec::new();
        for svc in [self.workload_name(c), self.headless_service(c)] {
            names.extend(dns::service_names(
                &svc,
                &self.namespace,
                &self.cluster_domain,
            ));
        }
        let hl = self.headless_service(c);
        names.push(format!("*.{hl}.{}.svc", self.namespace));
        names.push(format!("*.{hl}.{}", self.svc_domain()));
        names.push("localhost".to_string());
        if let Some(tls) = &self.tls {
            names.extend(tls.extra_dns_names.iter().cloned());
        }
        names
    }

    /// Labels that select the pods of a component (never changed by spec labels).
    pub fn selector_labels(&self, c: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::NAME.to_string(), "redis".to_string()),
            (labels::INSTANCE.to_string(), self.name.clone()),
            (labels::COMPONENT.to_string(), c.as_str().to_string()),
        ])
    }
}
