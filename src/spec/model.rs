//! The `RedisSentinel` spec: the small document users write.
//!
//! Every field has a default that yields a working, TLS-everywhere topology.
//! Unknown fields are rejected (`deny_unknown_fields`) so that a typo is an
//! error, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// API group/version of the functionConfig custom resource.
pub const API_VERSION: &str = "fn.redis-sentinel.dev/v1alpha1";
/// Kind of the functionConfig custom resource.
pub const KIND: &str = "RedisSentinel";

/// Defaults used by the spec; documented in the field table of docs/reference.md.
pub mod defaults {
    pub const NAMESPACE: &str = "default";
    pub const CLUSTER_DOMAIN: &str = "cluster.local";
    /// Valkey 9.1.2 (BSD licence; see docs/servers.md for why Valkey),
    /// pinned by digest: a tag can be re-pushed, a digest cannot, so every
    /// node runs the same bits. The digest is the multi-platform index of
    /// `valkey/valkey:9.1.2` as published pins quote it (not checked
    /// against the registry from here, which has no registry access): e.g.
    /// the immich and Helmforge-based `release.yaml` configurations that
    /// pin `docker.io/valkey/valkey:9.1.2@sha256:418652cf...` ("the
    /// multi-platform image"), and ocel's `pkg/images` Valkey table.
    pub const IMAGE: &str = "docker.io/valkey/valkey:9.1.2@sha256:418652cfb58ef879d4978c33553735d7147016032d5aefaa14c828e611eb9dfd";
    /// The command table of [`IMAGE`].
    pub const IMAGE_TABLE: crate::spec::server::CommandTable =
        crate::spec::server::CommandTable::Valkey9_1;
    pub const REDIS_REPLICAS: u32 = 3;
    pub const SENTINEL_REPLICAS: u32 = 3;
    pub const REDIS_PORT: u16 = 6379;
    pub const SENTINEL_PORT: u16 = 26379;
    pub const PLAIN_REDIS_PORT: u16 = 6380;
    pub const PLAIN_SENTINEL_PORT: u16 = 26380;
    pub const DOWN_AFTER_MS: u64 = 5_000;
    pub const FAILOVER_TIMEOUT_MS: u64 = 60_000;
    pub const PARALLEL_SYNCS: u32 = 1;
    pub const CA_VALIDITY_DAYS: u32 = 3650;
    pub const VALIDITY_DAYS: u32 = 365;
    pub const RENEW_BEFORE_DAYS: u32 = 30;
    pub const STORAGE_SIZE: &str = "1Gi";
    /// UID, GID and fsGroup on `kubernetes`: a high ID, outside the ranges
    /// nodes give their system accounts (below 1000) and first users (1000
    /// up), so that a process escaping the container is unlikely to own
    /// anything on the host. The start scripts need no particular UID
    /// (OpenShift runs them under arbitrary ones).
    pub const RUN_AS_ID: i64 = 10001;
    pub const MIN_REPLICAS_MAX_LAG: u32 = 10;
}

/// The functionConfig as a custom resource (`kind: RedisSentinel`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisSentinelResource {
    pub api_version: String,
    pub kind: String,
    pub metadata: ResourceMeta,
    #[serde(default)]
    pub spec: Spec,
}

/// The subset of `metadata` the function reads; everything else a
/// tool may add (labels, annotations) is accepted and ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The spec proper.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Spec {
    /// Instance name; overrides `metadata.name` when set.
    pub name: Option<String>,
    /// Namespace of every generated object; overrides `metadata.namespace`.
    pub namespace: Option<String>,
    /// Kubernetes cluster DNS domain (`cluster.local`).
    pub cluster_domain: Option<String>,
    /// Container image holding `redis-server`, `redis-sentinel` and `redis-cli`.
    pub image: Option<String>,
    /// `imagePullPolicy` of every container (default: Kubernetes' default).
    pub image_pull_policy: Option<String>,
    /// `kubernetes` (fixed non-root UID/GID/fsGroup 10001) or
    /// `openshift` (no fixed IDs: the restricted-v2 SCC assigns them).
    pub platform: Platform,
    pub redis: RedisSpec,
    pub sentinel: SentinelSpec,
    pub tls: TlsSpec,
    pub auth: AuthSpec,
    /// Labels added to every generated object and pod.
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every generated object (not pod templates).
    pub annotations: BTreeMap<String, String>,
    pub placement: Placement,
    /// Pod security IDs; defaults depend on `platform`.
    pub security: SecuritySpec,
    /// ServiceAccount of the pods (default: a generated one without API token).
    pub service_account_name: Option<String>,
    /// PodDisruptionBudgets for both workloads (default true).
    pub pod_disruption_budget: Option<bool>,
    pub network_policy: NetworkPolicySpec,
    /// Applications that get a connection Secret in their namespace.
    pub consumers: Vec<super::consumers::ConsumerSpec>,
    pub metrics: MetricsSpec,
    /// Moving a running Redis into this topology (docs/migrating.md).
    pub migration: Option<super::migration::MigrationSpec>,
}

/// NetworkPolicies that admit Redis and Sentinel traffic only from the
/// instance's own pods and from labelled client pods.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct NetworkPolicySpec {
    /// Default true.
    pub enabled: Option<bool>,
    /// Labels that client pods carry (default
    /// `fn.redis-sentinel.dev/client: <name>`).
    pub client_pod_labels: Option<BTreeMap<String, String>>,
    /// Labels of other namespaces whose client pods are admitted too
    /// (default: clients in the instance's namespace only).
    pub client_namespace_labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    #[default]
    Kubernetes,
    Openshift,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct RedisSpec {
    /// Number of Redis pods: one master and `replicas - 1` replicas.
    pub replicas: Option<u32>,
    /// Main Redis port (TLS when TLS is enabled).
    pub port: Option<u16>,
    pub resources: Option<Resources>,
    pub persistence: Persistence,
    /// `min-replicas-to-write` (default: 1 when there are 2+ pods, else 0).
    pub min_replicas_to_write: Option<u32>,
    /// `min-replicas-max-lag` in seconds (default 10).
    pub min_replicas_max_lag: Option<u32>,
    /// `maxmemory` (e.g. `256mb`); unset leaves Redis' default.
    pub maxmemory: Option<String>,
    /// `maxmemory-policy` (e.g. `allkeys-lru`).
    pub maxmemory_policy: Option<String>,
    /// Version of the image's server (`MAJOR.MINOR`: `7.4`, `8.0`, `9.1`)
    /// when its tag does not name one: selects the command table ACL rules
    /// are checked against (default: the default image's) and the
    /// advisories checked.
    pub version: Option<String>,
    /// The image's server, `redis` or `valkey`, when its repository name
    /// says neither (a mirror such as `registry.example/cache`).
    pub server: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SentinelSpec {
    /// Number of Sentinel pods.
    pub replicas: Option<u32>,
    /// Sentinels that must agree the master is down (default: majority).
    pub quorum: Option<u32>,
    /// Name of the monitored master as clients ask Sentinel for it
    /// (default: the instance name).
    pub master_name: Option<String>,
    pub port: Option<u16>,
    pub down_after_milliseconds: Option<u64>,
    pub failover_timeout: Option<u64>,
    pub parallel_syncs: Option<u32>,
    pub resources: Option<Resources>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Resources {
    #[serde(deserialize_with = "quantity_map")]
    pub requests: BTreeMap<String, String>,
    #[serde(deserialize_with = "quantity_map")]
    pub limits: BTreeMap<String, String>,
}

/// Quantities may be written as numbers (`cpu: 1`) or strings (`cpu: "500m"`).
fn quantity_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Q {
        Int(u64),
        Float(f64),
        Text(String),
    }
    let m: BTreeMap<String, Q> = BTreeMap::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Q::Int(i) => i.to_string(),
                Q::Float(f) => f.to_string(),
                Q::Text(t) => t,
            };
            (k, v)
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Persistence {
    pub enabled: bool,
    /// PVC size (default `1Gi`).
    pub size: Option<String>,
    pub storage_class_name: Option<String>,
}

/// How clients must authenticate with certificates (`tls-auth-clients`).
/// Accepts `yes`/`optional`/`no` and, for YAML 1.1 habits, `true`/`false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "ClientAuthInput")]
pub enum ClientAuth {
    #[default]
    Yes,
    Optional,
    No,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ClientAuthInput {
    Bool(bool),
    Text(String),
}

impl TryFrom<ClientAuthInput> for ClientAuth {
    type Error = String;

    fn try_from(v: ClientAuthInput) -> Result<Self, String> {
        match v {
            ClientAuthInput::Bool(true) => Ok(ClientAuth::Yes),
            ClientAuthInput::Bool(false) => Ok(ClientAuth::No),
            ClientAuthInput::Text(t) => match t.as_str() {
                "yes" => Ok(ClientAuth::Yes),
                "optional" => Ok(ClientAuth::Optional),
                "no" => Ok(ClientAuth::No),
                other => Err(format!("clientAuth {other:?} must be yes, optional or no")),
            },
        }
    }
}

impl ClientAuth {
    pub fn as_conf(self) -> &'static str {
        match self {
            ClientAuth::Yes => "yes",
            ClientAuth::Optional => "optional",
            ClientAuth::No => "no",
        }
    }
}

/// Private key algorithm of every generated certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum KeyAlgorithm {
    #[default]
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
        }
    }
}

/// Where certificates come from (see `src/sources/`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum CertificateSource {
    /// The function issues the CA and certificates itself (seeded or kept).
    #[default]
    #[serde(rename = "generated")]
    Generated,
    /// cert-manager `Certificate`s (and, without an issuerRef, a
    /// self-contained self-signed CA chain).
    #[serde(rename = "cert-manager")]
    CertManager,
    /// OpenShift's service CA: serving certificates through Service
    /// annotations, the CA through an injected ConfigMap.
    #[serde(rename = "openshift-service-ca")]
    OpenshiftServiceCa,
    /// Secrets the user creates and names.
    #[serde(rename = "secret")]
    Secret,
}

/// `tls.certManager`: settings of the `cert-manager` source.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CertManagerSpec {
    /// An existing Issuer or ClusterIssuer; unset: the function emits a
    /// self-signed Issuer, a CA Certificate and a CA Issuer.
    pub issuer_ref: Option<IssuerRefSpec>,
}

/// A cert-manager `issuerRef`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct IssuerRefSpec {
    pub name: String,
    /// `Issuer` (default) or `ClusterIssuer` (any kind for external issuers).
    pub kind: Option<String>,
    /// Default `cert-manager.io`.
    pub group: Option<String>,
}

/// `tls.secrets`: names of existing Secrets (`source: secret`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct TlsSecretsSpec {
    /// Default `<name>-redis-tls`.
    pub redis: Option<String>,
    /// Default `<name>-sentinel-tls`.
    pub sentinel: Option<String>,
    /// Default `<name>-client-tls` (for applications; no pod mounts it).
    pub client: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct TlsSpec {
    /// TLS on every link (default true).
    pub enabled: Option<bool>,
    /// `generated` (default), `cert-manager`, `openshift-service-ca`, `secret`.
    pub source: CertificateSource,
    /// Settings of `source: cert-manager`.
    pub cert_manager: Option<CertManagerSpec>,
    /// Secret names of `source: secret`.
    pub secrets: Option<TlsSecretsSpec>,
    /// Extra plaintext ports beside the TLS ones (default off).
    pub plaintext: Plaintext,
    /// `tls-auth-clients`: yes | optional | no (default yes).
    pub client_auth: ClientAuth,
    pub key_algorithm: KeyAlgorithm,
    /// Validity of the CA certificate in days.
    pub ca_validity_days: Option<u32>,
    /// Validity of the leaf certificates in days.
    pub validity_days: Option<u32>,
    /// Certificates kept from earlier renders are replaced this many days
    /// before they expire.
    pub renew_before_days: Option<u32>,
    /// Emit the CA private key in a Secret `<name>-ca-key` (default false).
    pub keep_ca_key: bool,
    /// Bump to roll every certificate on purpose (seeded and kept modes).
    pub rotation: u32,
    /// Start of validity of seed-derived certificates (RFC 3339); default
    /// 2025-01-01T00:00:00Z. Unused without a seed.
    pub not_before: Option<String>,
    /// Extra DNS names for the Redis and Sentinel server certificates
    /// (e.g. an external load balancer name).
    pub extra_dns_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Plaintext {
    pub enabled: bool,
    pub redis_port: Option<u16>,
    pub sentinel_port: Option<u16>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AuthSpec {
    /// Authentication (default true), passwords in Secret `<name>-auth`.
    pub enabled: Option<bool>,
    /// `acl` (default): Redis ACL users with least privilege; `password`:
    /// one shared password (`requirepass`/`masterauth`) for Redis versions
    /// or clients without ACLs.
    pub mode: AuthMode,
    /// Name of the application user (default `app`).
    pub app_user: Option<String>,
    /// ACL rules of the application user (default `~* &* +@all -@admin -@scripting +role`).
    pub app_user_rules: Option<String>,
    /// An existing Secret with the passwords (keys per mode, see docs/reference.md);
    /// the function then emits no auth Secret.
    pub existing_secret: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Acl,
    Password,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Placement {
    pub node_selector: BTreeMap<String, String>,
    /// Kubernetes tolerations, passed through as written.
    pub tolerations: Vec<Toleration>,
    /// `required` (one pod per node, hard) or `preferred` (default).
    pub anti_affinity: AntiAffinity,
    /// Topology key for anti-affinity (default `kubernetes.io/hostname`).
    pub topology_key: Option<String>,
    pub priority_class_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Toleration {
    pub key: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    #[default]
    Preferred,
    Required,
    None,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SecuritySpec {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
}

/// Metrics: a `redis_exporter` sidecar in every Redis and Sentinel pod, and
/// optionally a PodMonitor and a PrometheusRule (see `crate::metrics`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct MetricsSpec {
    /// Exporter sidecars (default false: each costs memory in every pod).
    pub enabled: bool,
    /// Exporter image (default: `redis_exporter`, pinned by digest).
    pub image: Option<String>,
    /// Port of the exporter's plain-HTTP `/metrics` (default 9121).
    pub port: Option<u16>,
    pub resources: Option<Resources>,
    /// Labels of the scraper pods the NetworkPolicies admit to the metrics
    /// port (default `app.kubernetes.io/name: prometheus`).
    pub scraper_pod_labels: Option<BTreeMap<String, String>>,
    /// Labels of the namespaces those scrapers run in (default: any namespace).
    pub scraper_namespace_labels: Option<BTreeMap<String, String>>,
    /// Labels added to the PodMonitor and PrometheusRule (e.g. the
    /// `release` label a Prometheus Operator selects them by).
    pub monitor_labels: BTreeMap<String, String>,
    /// Emit a `monitoring.coreos.com/v1` PodMonitor (needs the CRD).
    pub pod_monitor: bool,
    /// Emit a `monitoring.coreos.com/v1` PrometheusRule with the alerts.
    pub prometheus_rule: bool,
    /// Emit a Grafana dashboard ConfigMap (label `grafana_dashboard: "1"`).
    pub grafana_dashboard: bool,
    /// Seconds a replica's link to its master may be down before the alert.
    pub replica_link_down_seconds: Option<u32>,
    /// Used memory / maxmemory above which the memory alert fires (0-1).
    pub memory_ratio: Option<f64>,
}
