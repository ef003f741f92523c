//! `spec.migration`: moving a running Redis (Sentinel-managed or a
//! standalone master) into this topology, in two declared steps.
//!
//! 1. **Sync** (`migration.source` set, `cutover` false): Redis pod 0
//!    replicates from the source's master (the other pods from pod 0); the
//!    new Sentinels monitor nothing, so they never touch the old
//!    deployment. With a Sentinel source, pod 0 follows the source's master
//!    when the old deployment fails over.
//! 2. **Cut-over** (`cutover: true`, read at run time from the topology
//!    ConfigMap, so it restarts no pod): pod 0 pauses writes on the source
//!    master, waits until it has every byte (offsets equal), promotes itself
//!    and leaves the old master refusing writes; the new Sentinels then
//!    start monitoring it.
//!
//! The design and its arguments are in docs/migrating.md; the run-time
//! part is `src/pod_files/scripts/migrate-redis.sh`.

use serde::{Deserialize, Serialize};

use super::server::{self, Server, ServerKind, Version};
use super::validate::dns_name;
use crate::krm::FieldError;

/// Problems found, as (field relative to the spec, message).
type Problems = Vec<FieldError>;

/// What users write under `spec.migration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct MigrationSpec {
    pub source: SourceSpec,
    /// Second step: hand the master over to the new pods (default false).
    pub cutover: Option<bool>,
}

/// The running deployment to move from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SourceSpec {
    /// A Sentinel-managed source: its Sentinels are asked for its master.
    pub sentinel: Option<SentinelSourceSpec>,
    /// A standalone master, reached at one address.
    pub standalone: Option<StandaloneSourceSpec>,
    /// The source's Redis credentials (default: none).
    pub auth: Option<CredentialSpec>,
    pub tls: SourceTlsSpec,
    /// The source's server, `redis` or `valkey` (with `version`: refuses
    /// at render time a move replication cannot do).
    pub server: Option<String>,
    /// The source's version, `MAJOR.MINOR` (`6.2`, `7.2`, `8.0`).
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SentinelSourceSpec {
    /// `host:port` of each Sentinel (`[v6addr]:port` for IPv6).
    pub hosts: Vec<String>,
    /// The master group name the source's Sentinels monitor.
    pub master_name: Option<String>,
    /// The source Sentinels' own password (`requirepass`), if they have one.
    pub auth: Option<CredentialSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct StandaloneSourceSpec {
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// A password in an existing Secret, and the ACL user it belongs to.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CredentialSpec {
    pub secret_name: Option<String>,
    /// Key of the password in the Secret (default `password`).
    pub password_key: Option<String>,
    /// ACL user (default: the `default` user, as `requirepass`).
    pub username: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SourceTlsSpec {
    /// TLS to the source (default false: a warning says what that means).
    pub enabled: Option<bool>,
    /// The CA that signed the source's certificates.
    pub ca: Option<CaSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CaSpec {
    pub secret_name: Option<String>,
    pub config_map_name: Option<String>,
    /// Key of the PEM bundle (default `ca.crt`).
    pub key: Option<String>,
}

/// The validated migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub source: Source,
    pub auth: Option<Credential>,
    pub sentinel_auth: Option<Credential>,
    /// `None`: the source speaks plain text.
    pub ca: Option<Ca>,
    pub cutover: bool,
    /// The source's server when both kind and version are given.
    pub server: Option<Server>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Sentinel {
        hosts: Vec<(String, u16)>,
        master_name: String,
    },
    Standalone {
        host: String,
        port: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret: String,
    pub password_key: String,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaObject {
    Secret(String),
    ConfigMap(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ca {
    pub from: CaObject,
    pub key: String,
}

/// Most Sentinel addresses a source may list.
pub const MAX_SENTINELS: usize = 16;

/// Validates `spec.migration` (`auth_enabled`: whether the new topology
/// has authentication; `target`: its server, when known). Returns the
/// migration (or `None` with problems) and the warnings.
pub fn resolve(
    m: &MigrationSpec,
    auth_enabled: bool,
    tls_enabled: bool,
    target: Option<&Server>,
    problems: &mut Problems,
    warnings: &mut Problems,
) -> Option<Migration> {
    let before = problems.len();
    if !auth_enabled {
        problems.push(FieldError::new(
            "migration",
            "a migration needs auth enabled on the new topology (auth.enabled): the old deployment's Sentinels discover the new pods from the old master's INFO and could log in to them and turn the new master back into a replica of the old one",
        ));
    }
    let s = &m.source;
    let source = match (&s.sentinel, &s.standalone) {
        (Some(sen), None) => sentinel_source(sen, problems),
        (None, Some(st)) => standalone_source(st, problems),
        _ => {
            problems.push(FieldError::new(
                "migration.source",
                "name exactly one source: migration.source.sentinel (Sentinel addresses and master name) or migration.source.standalone (host and port)",
            ));
            None
        }
    };
    let auth = s
        .auth
        .as_ref()
        .and_then(|a| credential(a, "migration.source.auth", problems));
    let sentinel_auth = s.sentinel.as_ref().and_then(|sen| {
        sen.auth
            .as_ref()
            .and_then(|a| credential(a, "migration.source.sentinel.auth", problems))
    });
    let ca = source_tls(&s.tls, problems, warnings);
    if ca.is_some() && !tls_enabled {
        problems.push(FieldError::new(
            "migration.source.tls",
            "TLS to the source needs TLS on the new topology (tls.enabled): Redis makes TLS connections only with a certificate of its own",
        ));
    }
    let server = source_server(s, target, problems);
    if problems.len() > before {
        return None;
    }
    Some(Migration {
        source: source?,
        auth,
        sentinel_auth,
        ca,
        cutover: m.cutover.unwrap_or(false),
        server,
    })
}

fn sentinel_source(s: &SentinelSourceSpec, problems: &mut Problems) -> Option<Source> {
    let field = "migration.source.sentinel";
    if s.hosts.is_empty() || s.hosts.len() > MAX_SENTINELS {
        problems.push(FieldError::new(
            format!("{field}.hosts"),
            format!("list 1 to {MAX_SENTINELS} Sentinel addresses (host:port)"),
        ));
    }
    let mut hosts = Vec::new();
    for (i, h) in s.hosts.iter().enumerate() {
        match host_port(h) {
            Ok(hp) => hosts.push(hp),
            Err(e) => problems.push(FieldError::new(format!("{field}.hosts[{i}]"), e)),
        }
    }
    let Some(master_name) = s.master_name.clone() else {
        problems.push(FieldError::new(
            format!("{field}.masterName"),
            "the master group name the source's Sentinels monitor is required (Bitnami's chart: mymaster)",
        ));
        return None;
    };
    if !simple_word(&master_name, 63) {
        problems.push(FieldError::new(
            format!("{field}.masterName"),
            format!("masterName {master_name:?} must be 1-63 characters of letters, digits, '-', '_' or '.'"),
        ));
    }
    Some(Source::Sentinel { hosts, master_name })
}

fn standalone_source(s: &StandaloneSourceSpec, problems: &mut Problems) -> Option<Source> {
    let field = "migration.source.standalone";
    let Some(host) = s.host.clone() else {
        problems.push(FieldError::new(
            format!("{field}.host"),
            "the source master's host is required",
        ));
        return None;
    };
    if let Err(e) = host_name(&host) {
        problems.push(FieldError::new(format!("{field}.host"), e));
    }
    let port = s.port.unwrap_or(super::model::defaults::REDIS_PORT);
    if port == 0 {
        problems.push(FieldError::new(
            format!("{field}.port"),
            "port must be 1-65535",
        ));
    }
    Some(Source::Standalone { host, port })
}

/// `host:port` or `[v6]:port`.
fn host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        rest.split_once("]:")
            .ok_or_else(|| format!("{s:?} is not [address]:port"))?
    } else {
        s.rsplit_once(':')
            .ok_or_else(|| format!("{s:?} is not host:port"))?
    };
    host_name(host)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && !port.starts_with('+') => Ok((host.to_string(), p)),
        _ => Err(format!("{s:?}: the port must be 1-65535")),
    }
}

/// A DNS name or an IP address (what Redis' replicaof takes).
fn host_name(h: &str) -> Result<(), String> {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    dns_name(h, false).map_err(|e| format!("{h:?} is neither an IP address nor a DNS name: it {e}"))
}

/// 1..=max characters of letters, digits, '-', '_' or '.'.
fn simple_word(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn credential(a: &CredentialSpec, field: &str, problems: &mut Problems) -> Option<Credential> {
    let before = problems.len();
    let secret = a.secret_name.clone().unwrap_or_default();
    if let Err(e) = dns_name(&secret, false) {
        problems.push(FieldError::new(
            format!("{field}.secretName"),
            format!("secretName {secret:?} is not a Secret name: it {e}"),
        ));
    }
    let password_key = a.password_key.clone().unwrap_or_else(|| "password".into());
    if !simple_word(&password_key, 253) {
        problems.push(FieldError::new(
            format!("{field}.passwordKey"),
            format!(
                "passwordKey {password_key:?} is not a Secret key (letters, digits, '-', '_', '.')"
            ),
        ));
    }
    if let Some(u) = &a.username
        && !simple_word(u, 128)
    {
        problems.push(FieldError::new(
            format!("{field}.username"),
            format!("username {u:?} must be 1-128 characters of letters, digits, '-', '_' or '.'"),
        ));
    }
    (problems.len() == before).then(|| Credential {
        secret,
        password_key,
        username: a.username.clone(),
    })
}

fn source_tls(t: &SourceTlsSpec, problems: &mut Problems, warnings: &mut Problems) -> Option<Ca> {
    let field = "migration.source.tls";
    if !t.enabled.unwrap_or(false) {
        if t.ca.is_some() {
            problems.push(FieldError::new(
                format!("{field}.ca"),
                "a CA is set but tls.enabled is not true",
            ));
        }
        warnings.push(FieldError::new(
            field,
            "replication from the source runs in plain text: the whole data set and the source password cross the network unencrypted, and anyone on the path can read or alter them; set migration.source.tls when the source speaks TLS",
        ));
        return None;
    }
    let Some(ca) = &t.ca else {
        problems.push(FieldError::new(
            format!("{field}.ca"),
            "TLS to the source needs the CA that signed its certificates: ca.secretName or ca.configMapName",
        ));
        return None;
    };
    let from = match (&ca.secret_name, &ca.config_map_name) {
        (Some(s), None) => CaObject::Secret(s.clone()),
        (None, Some(c)) => CaObject::ConfigMap(c.clone()),
        _ => {
            problems.push(FieldError::new(
                format!("{field}.ca"),
                "name exactly one of ca.secretName and ca.configMapName",
            ));
            return None;
        }
    };
    let name = match &from {
        CaObject::Secret(n) | CaObject::ConfigMap(n) => n,
    };
    if let Err(e) = dns_name(name, false) {
        problems.push(FieldError::new(
            format!("{field}.ca"),
            format!("{name:?} is not an object name: it {e}"),
        ));
    }
    let key = ca.key.clone().unwrap_or_else(|| "ca.crt".into());
    if !simple_word(&key, 253) {
        problems.push(FieldError::new(
            format!("{field}.ca.key"),
            format!("key {key:?} is not a key name"),
        ));
    }
    Some(Ca { from, key })
}

/// The source's server, checked against the target's RDB format.
fn source_server(
    s: &SourceSpec,
    target: Option<&Server>,
    problems: &mut Problems,
) -> Option<Server> {
    let field = "migration.source";
    let kind = s.server.as_deref().map(|k| {
        ServerKind::parse(k).ok_or_else(|| {
            problems.push(FieldError::new(
                format!("{field}.server"),
                format!("server {k:?} is not redis or valkey"),
            ));
        })
    });
    let version = s.version.as_deref().map(|v| {
        Version::parse_field(v).ok_or_else(|| {
            problems.push(FieldError::new(
                format!("{field}.version"),
                format!("version {v:?} is not MAJOR.MINOR (e.g. 7.2)"),
            ));
        })
    });
    let src = match (kind, version) {
        (Some(Ok(kind)), Some(Ok(version))) => Server { kind, version },
        _ => return None,
    };
    if src.kind == ServerKind::Redis && (src.version.major, src.version.minor) < (6, Some(2)) {
        problems.push(FieldError::new(
            format!("{field}.version"),
            format!("{src} is not supported as a source: the cut-over pauses writes with CLIENT PAUSE WRITE, which Redis has from 6.2"),
        ));
    }
    if let Some(t) = target
        && let Some(why) = server::downgrade(&src, t)
    {
        problems.push(FieldError::new(
            format!("{field}.version"),
            format!("the new pods cannot replicate from the source: {why}"),
        ));
    }
    Some(src)
}

/// Whether a dotted `migration.` key of the ConfigMap form (`data.`) names
/// a string field: a value such as `7.0` (a version) or `7` (a master
/// name) stays the text written, not a number.
pub(crate) fn string_key(key: &str) -> bool {
    key.strip_prefix("migration.source.")
        .is_some_and(|k| !matches!(k, "standalone.port" | "tls.enabled" | "sentinel.hosts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        yaml: &str,
        auth: bool,
        target: Option<Server>,
    ) -> (Option<Migration>, Problems, Problems) {
        let m: MigrationSpec = serde_norway::from_str(yaml).expect("yaml");
        let (mut p, mut w) = (Vec::new(), Vec::new());
        let r = resolve(&m, auth, true, target.as_ref(), &mut p, &mut w);
        (r, p, w)
    }

    #[test]
    fn sentinel_source_with_secrets_and_tls() {
        let (m, p, w) = run(
            "source:\n  sentinel:\n    hosts: [\"old-0.old:26379\", \"[fd00::1]:26379\", \"10.0.0.1:1\"]\n    masterName: mymaster\n    auth: {secretName: old, passwordKey: sentinel-password}\n  auth: {secretName: old, passwordKey: redis-password, username: migrator}\n  tls: {enabled: true, ca: {configMapName: old-ca}}\n",
            true,
            None,
        );
        assert!(p.is_empty() && w.is_empty(), "{p:?} {w:?}");
        let m = m.expect("valid");
        assert_eq!(
            m.source,
            Source::Sentinel {
                hosts: vec![
                    ("old-0.old".into(), 26379),
                    ("fd00::1".into(), 26379),
                    ("10.0.0.1".into(), 1)
                ],
                master_name: "mymaster".into()
            }
        );
        assert_eq!(m.ca.expect("ca").from, CaObject::ConfigMap("old-ca".into()));
        assert_eq!(m.auth.expect("auth").username.as_deref(), Some("migrator"));
        assert!(!m.cutover);
    }

    #[test]
    fn plain_source_warns_and_needs_auth_on_the_target() {
        let (m, p, w) = run(
            "source:\n  standalone: {host: redis.old.svc}\ncutover: true\n",
            true,
            None,
        );
        assert!(p.is_empty());
        assert_eq!(w[0].field, "migration.source.tls");
        let m = m.expect("valid");
        assert!(m.cutover);
        assert_eq!(
            m.source,
            Source::Standalone {
                host: "redis.old.svc".into(),
                port: 6379
            }
        );
        let (m, p, _) = run("source:\n  standalone: {host: a}\n", false, None);
        assert!(m.is_none() && p[0].field == "migration" && p[0].message.contains("auth.enabled"));
    }

    #[test]
    fn hostile_values_are_refused_with_their_field() {
        for (yaml, field) in [
            ("source: {}", "migration.source"),
            (
                "source: {standalone: {host: a}, sentinel: {hosts: [\"a:1\"], masterName: m}}",
                "migration.source",
            ),
            (
                "source: {standalone: {host: \"a b\\nreplicaof x\"}}",
                "migration.source.standalone.host",
            ),
            (
                "source: {standalone: {host: a, port: 0}}",
                "migration.source.standalone.port",
            ),
            (
                "source: {sentinel: {hosts: [\"a\"], masterName: m}}",
                "migration.source.sentinel.hosts[0]",
            ),
            (
                "source: {sentinel: {hosts: [\"a:99999\"], masterName: m}}",
                "migration.source.sentinel.hosts[0]",
            ),
            (
                "source: {sentinel: {hosts: [\"é:1\"], masterName: m}}",
                "migration.source.sentinel.hosts[0]",
            ),
            (
                "source: {sentinel: {hosts: [], masterName: m}}",
                "migration.source.sentinel.hosts",
            ),
            (
                "source: {sentinel: {hosts: [\"a:1\"]}}",
                "migration.source.sentinel.masterName",
            ),
            (
                "source: {sentinel: {hosts: [\"a:1\"], masterName: \"m m\"}}",
                "migration.source.sentinel.masterName",
            ),
            (
                "source: {standalone: {host: a}, auth: {secretName: \"Bad_Name\"}}",
                "migration.source.auth.secretName",
            ),
            (
                "source: {standalone: {host: a}, auth: {secretName: s, passwordKey: \"a/b\"}}",
                "migration.source.auth.passwordKey",
            ),
            (
                "source: {standalone: {host: a}, auth: {secretName: s, username: \"u\\\" on +@all\"}}",
                "migration.source.auth.username",
            ),
            (
                "source: {standalone: {host: a}, tls: {enabled: true}}",
                "migration.source.tls.ca",
            ),
            (
                "source: {standalone: {host: a}, tls: {enabled: true, ca: {secretName: a, configMapName: b}}}",
                "migration.source.tls.ca",
            ),
            (
                "source: {standalone: {host: a}, tls: {ca: {secretName: a}}}",
                "migration.source.tls.ca",
            ),
            (
                "source: {standalone: {host: a}, server: redis, version: \"6.0\"}",
                "migration.source.version",
            ),
            (
                "source: {standalone: {host: a}, server: keydb, version: \"6.2\"}",
                "migration.source.server",
            ),
            (
                "source: {standalone: {host: a}, server: redis, version: \"7\"}",
                "migration.source.version",
            ),
        ] {
            let (m, p, _) = run(yaml, true, None);
            assert!(m.is_none(), "{yaml} accepted");
            assert!(p.iter().any(|e| e.field == field), "{yaml}: {p:?}");
        }
    }

    #[test]
    fn a_target_that_cannot_read_the_source_rdb_is_refused() {
        let s = |kind, minor| Server {
            kind,
            version: Version {
                major: if kind == ServerKind::Valkey { 9 } else { 7 },
                minor: Some(minor),
                patch: None,
            },
        };
        let src = "source: {standalone: {host: a}, server: redis, version: \"7.4\"}";
        let (_, p, _) = run(src, true, Some(s(ServerKind::Redis, 2)));
        assert!(
            p.iter()
                .any(|e| e.field == "migration.source.version"
                    && e.message.contains("RDB format 12")),
            "{p:?}"
        );
        let (m, p, _) = run(src, true, Some(s(ServerKind::Valkey, 1)));
        assert!(
            p.is_empty() && m.is_some(),
            "Valkey 9 reads Redis 7.4: {p:?}"
        );
        let (m, _, _) = run(
            "source: {standalone: {host: a}, server: redis, version: \"6.2\"}",
            true,
            None,
        );
        assert!(m.is_some());
    }

    /// The ConfigMap form (`kpt fn eval -- key=value`, dotted `data.` keys)
    /// gives the same migration as the YAML form; a version or a host
    /// that looks like a number stays a string.
    #[test]
    fn the_configmap_data_form_gives_the_same_migration() {
        let yaml = crate::spec::test_spec(
            "  migration:\n    cutover: true\n    source:\n      sentinel:\n        hosts: [\"old-0.old:26379\", \"[fd00::1]:26379\"]\n        masterName: \"7\"\n        auth: {secretName: old, passwordKey: sentinel-password}\n      auth: {secretName: old, passwordKey: redis-password, username: migrator}\n      tls: {enabled: true, ca: {configMapName: old-ca}}\n      server: redis\n      version: \"7.0\"\n",
        );
        let fc: serde_norway::Value = serde_norway::from_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fn-config}\ndata:\n  name: cache\n  namespace: ns\n  migration.cutover: \"true\"\n  migration.source.sentinel.hosts: \"['old-0.old:26379', '[fd00::1]:26379']\"\n  migration.source.sentinel.masterName: \"7\"\n  migration.source.sentinel.auth.secretName: old\n  migration.source.sentinel.auth.passwordKey: sentinel-password\n  migration.source.auth: \"{secretName: old, passwordKey: redis-password, username: migrator}\"\n  migration.source.tls.enabled: \"true\"\n  migration.source.tls.ca.configMapName: old-ca\n  migration.source.server: redis\n  migration.source.version: \"7.0\"\n",
        )
        .expect("yaml");
        let cm = crate::spec::from_function_config(&fc).expect("the ConfigMap form is valid");
        assert_eq!(cm.migration, yaml.migration);
        assert!(
            cm.migration
                .as_ref()
                .is_some_and(|m| m.cutover && m.server.is_some())
        );
        let bad: serde_norway::Value = serde_norway::from_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fn-config}\ndata:\n  name: cache\n  migration.source.standalone.port: \"70000\"\n  migration.source.standalone.host: old\n",
        )
        .expect("yaml");
        let errs = crate::spec::from_function_config(&bad).expect_err("port out of range");
        assert!(
            errs.iter()
                .any(|e| e.to_string().contains("migration.source.standalone.port")),
            "{errs:?}"
        );
    }
}
