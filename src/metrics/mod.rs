//! Metrics: a `redis_exporter` sidecar in every Redis and Sentinel pod, the
//! exporter's least-privilege ACL user and password files, and (behind
//! switches) a `monitoring.coreos.com/v1` PodMonitor and PrometheusRule.
//!
//! - [`exporter`]: the sidecar container, its volumes and the NetworkPolicy
//!   rule for the metrics port.
//! - [`monitor`]: the PodMonitor.
//! - [`rules`]: the PrometheusRule (alerts and certificate expiry).
//! - [`dashboard`]: an optional Grafana dashboard ConfigMap.
//!
//! Why these choices (see docs/metrics.md):
//! - Off by default: a sidecar costs memory in every pod and an image every
//!   node must pull; clusters without Prometheus gain nothing from it.
//! - The exporter dials its own process at `localhost` over TLS with the
//!   pod's certificate (`localhost` is in every server certificate's SANs),
//!   as a dedicated ACL user ([`EXPORTER_RULES`]) whose password is read
//!   from a JSON password file (`--redis.password-file`), never from the
//!   command line or the pod spec. Sentinel has no ACL users here: the
//!   Sentinel exporter uses Sentinel's own password.
//! - `/metrics` is plain HTTP; the NetworkPolicies admit its port only from
//!   labelled scraper pods. Nothing secret is exported (no key names or
//!   values, no configuration).

pub mod dashboard;
pub mod exporter;
pub mod monitor;
pub mod rules;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_norway::Value;

use crate::auth::passwords;
use crate::certs::seed::Seed;
use crate::ownership;
use crate::ownership::meta;
use crate::pod::MountedSecret;
use crate::spec::metrics::Metrics;
use crate::spec::model::AuthMode;
use crate::spec::{Component, Instance};

/// The exporter's ACL user on Redis.
pub const EXPORTER_USER: &str = "exporter";
/// What `redis_exporter` runs against Redis (read from its source and
/// checked against Redis 7 with the real exporter, docs/metrics.md):
/// - `info`: every Redis series the alerts use (role, replication links and
///   offsets, memory, rejected connections);
/// - `client|setname`: names its connection `redis_exporter` (CLIENT LIST);
/// - `latency|latest`, `latency|histogram`: latency spikes and per-command
///   latency histograms (statistics, no data);
/// - `slowlog|len`: the slow log's length.
///
/// Refused on purpose: `config|get` (its reply holds `masterauth`, the
/// replication password; the exporter runs with `--config-command=-`),
/// `slowlog|get` (its reply holds command arguments, i.e. keys and
/// values), every key and channel.
pub const EXPORTER_RULES: &str =
    "+info +client|setname +latency|latest +latency|histogram +slowlog|len";

/// Keys of the metrics Secret `<name>-metrics-auth`: the exporter's
/// password (kept across renders, mounted nowhere), its ACL user as a
/// redis.conf line (included by redis.conf), the exporters' password files.
pub const EXPORTER_PASSWORD: &str = "exporter-password";
pub const EXPORTER_USER_CONF: &str = "exporter-user.conf";
pub const REDIS_PASSWORD_FILE: &str = "redis-exporter.json";
pub const SENTINEL_PASSWORD_FILE: &str = "sentinel-exporter.json";

/// Whether the exporter has its own ACL user (metrics on, ACL mode).
pub fn has_exporter_user(inst: &Instance) -> bool {
    inst.metrics.is_some() && inst.auth.as_ref().is_some_and(|a| a.mode == AuthMode::Acl)
}

pub fn secret_name(inst: &Instance) -> String {
    format!("{}-metrics-auth", inst.name)
}

/// The exporter's password (ACL mode): seed-derived, else kept from the
/// earlier metrics Secret, else random. The flag says it is new and random.
pub fn exporter_password(
    inst: &Instance,
    seed: Option<&Seed>,
    previous: &[Value],
) -> anyhow::Result<(String, bool)> {
    if let Some(seed) = seed.filter(|s| s.is_user_supplied()) {
        return Ok((passwords::derive(inst, seed, EXPORTER_PASSWORD), false));
    }
    let kept = ownership::find_owned(previous, inst, "Secret", &secret_name(inst))
        .and_then(|s| crate::object::secret::secret_data(s, EXPORTER_PASSWORD))
        .filter(|p| passwords::is_password(p));
    if let Some(p) = kept {
        return Ok((p, false));
    }
    let seed = &*Seed::or_random(seed)?;
    Ok((passwords::derive(inst, seed, EXPORTER_PASSWORD), true))
}

/// The address the exporter of a component dials: its own process at
/// `localhost` (a SAN of every server certificate), TLS when TLS is on.
pub fn target_address(inst: &Instance, c: Component) -> String {
    let scheme = if inst.tls_enabled() {
        "rediss"
    } else {
        "redis"
    };
    format!("{scheme}://localhost:{}", inst.port(c))
}

/// A `redis_exporter` password file: a JSON map from the address to its
/// password. Older exporters (1.45) look the address up as given, newer
/// ones with the user inserted (`rediss://exporter@localhost:6379`): both
/// keys are written.
pub fn password_file(inst: &Instance, c: Component, user: Option<&str>, password: &str) -> String {
    let addr = target_address(inst, c);
    let mut map = BTreeMap::new();
    map.insert(addr.clone(), password.to_string());
    if let Some(u) = user {
        map.insert(
            addr.replacen("://", &format!("://{u}@"), 1),
            password.to_string(),
        );
    }
    serde_json::to_string(&map).expect("a map of strings is JSON")
}

/// The metrics Secret (only with auth on): the exporter's password (ACL
/// mode, for the Redis start script) and the exporters' password files.
pub fn metrics_secret(
    inst: &Instance,
    passwords: &passwords::Passwords,
    exporter_password: Option<&str>,
) -> Option<Secret> {
    let auth = inst.auth.as_ref()?;
    inst.metrics.as_ref()?;
    use crate::auth::users;
    let mut data = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        data.insert(k.to_string(), ByteString(v.into_bytes()));
    };
    let redis_file = match (auth.mode, exporter_password) {
        (AuthMode::Acl, Some(pw)) => {
            put(EXPORTER_PASSWORD, pw.to_string());
            put(
                EXPORTER_USER_CONF,
                format!("user {EXPORTER_USER} on >{pw} {EXPORTER_RULES}\n"),
            );
            password_file(inst, Component::Redis, Some(EXPORTER_USER), pw)
        }
        _ => password_file(
            inst,
            Component::Redis,
            None,
            passwords
                .get(users::REDIS_PASSWORD)
                .map_or("", String::as_str),
        ),
    };
    put(REDIS_PASSWORD_FILE, redis_file);
    put(
        SENTINEL_PASSWORD_FILE,
        password_file(
            inst,
            Component::Sentinel,
            None,
            passwords
                .get(users::SENTINEL_PASSWORD)
                .map_or("", String::as_str),
        ),
    );
    Some(Secret {
        metadata: meta(inst, secret_name(inst), None),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// The keys of the metrics Secret each container of a component's pods
/// reads: (main container, exporter).
pub fn mounted_keys(inst: &Instance, c: Component) -> (Vec<&'static str>, Vec<&'static str>) {
    if inst.metrics.is_none() || inst.auth.is_none() {
        return (vec![], vec![]);
    }
    match c {
        Component::Redis if has_exporter_user(inst) => {
            (vec![EXPORTER_USER_CONF], vec![REDIS_PASSWORD_FILE])
        }
        Component::Redis => (vec![], vec![REDIS_PASSWORD_FILE]),
        Component::Sentinel => (vec![], vec![SENTINEL_PASSWORD_FILE]),
    }
}

/// The metrics Secret as the pods of `c` mount it (for the config hash).
pub fn mounted_secrets(inst: &Instance, c: Component) -> Vec<MountedSecret> {
    let (main, exp) = mounted_keys(inst, c);
    let keys: Vec<&'static str> = main.into_iter().chain(exp).collect();
    if keys.is_empty() {
        return vec![];
    }
    vec![MountedSecret {
        volume: exporter::AUTH_VOLUME,
        secret: secret_name(inst),
        keys: Some(keys),
        ca_from: None,
    }]
}

/// redis.conf lines (ACL mode, metrics on): include the exporter's user,
/// defined in the metrics Secret (the password never enters a ConfigMap).
pub fn redis_conf_lines(out: &mut String, inst: &Instance) {
    if has_exporter_user(inst) {
        out.push_str("# the metrics exporter's ACL user (read-only statistics, no keys)\n");
        out.push_str(&format!(
            "include {}/{EXPORTER_USER_CONF}\n",
            exporter::auth_dir(Component::Redis)
        ));
    }
}

/// The monitoring.coreos.com/v1 objects the spec asks for.
pub fn objects(
    inst: &Instance,
    bundle: Option<&crate::certs::Bundle>,
) -> anyhow::Result<Vec<Value>> {
    let Some(m) = &inst.metrics else {
        return Ok(vec![]);
    };
    let mut v = Vec::new();
    if m.pod_monitor {
        v.push(monitor::pod_monitor(inst, m));
    }
    if m.prometheus_rule {
        v.push(rules::prometheus_rule(inst, m, bundle));
    }
    if m.grafana_dashboard {
        v.push(serde_norway::to_value(dashboard::configmap(inst))?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::metrics::DEFAULT_IMAGE;
    use crate::spec::test_spec;

    #[test]
    fn off_by_default_and_monitors_need_the_exporters() {
        assert!(test_spec("").metrics.is_none());
        let on = test_spec("  metrics:\n    enabled: true\n");
        let m = on.metrics.as_ref().unwrap();
        assert_eq!((m.port, m.image.as_str()), (9121, DEFAULT_IMAGE));
        assert!(m.image.contains("@sha256:"));
        let v: Value = serde_norway::from_str(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: c}\nspec:\n  metrics:\n    prometheusRule: true\n    port: 6379\n",
        )
        .unwrap();
        let errs = crate::spec::from_function_config(&v).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.field == "spec.metrics.prometheusRule"),
            "{errs:?}"
        );
        let v: Value = serde_norway::from_str(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: c}\nspec:\n  metrics:\n    enabled: true\n    port: 6379\n    memoryRatio: 2\n",
        )
        .unwrap();
        let errs = crate::spec::from_function_config(&v).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"spec.metrics.port") && fields.contains(&"spec.metrics.memoryRatio"),
            "{fields:?}"
        );
    }

    /// Pod-template hashes of the Redis and Sentinel StatefulSets.
    fn hashes(items: &[Value]) -> Vec<String> {
        items
            .iter()
            .filter(|i| i["kind"] == "StatefulSet")
            .map(|i| {
                i["spec"]["template"]["metadata"]["annotations"]
                    [crate::object::marks::CONFIG_HASH_ANNOTATION]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_new_exporter_password_rolls_the_redis_pods_only_and_is_kept() {
        let inst = test_spec("  metrics:\n    enabled: true\n");
        let now = 1_767_225_600;
        let first = crate::generate::render(&inst, None, &[], now).unwrap();
        let kept = crate::generate::render(&inst, None, &first.items, now).unwrap();
        assert_eq!(hashes(&first.items), hashes(&kept.items));
        assert!(
            !kept.results.iter().any(|r| r.message.contains("exporter")),
            "the exporter password was kept: {:?}",
            kept.results
        );
        let without: Vec<Value> = first
            .items
            .iter()
            .filter(|i| i["metadata"]["name"] != secret_name(&inst).as_str())
            .cloned()
            .collect();
        let fresh = crate::generate::render(&inst, None, &without, now).unwrap();
        let (a, b) = (hashes(&first.items), hashes(&fresh.items));
        assert_ne!(a[0], b[0], "Redis pods read exporter-user.conf");
        assert_eq!(a[1], b[1], "Sentinel pods do not");
        assert!(fresh.results.iter().any(|r| r.message.contains("exporter")));
    }

    #[test]
    fn password_files_name_the_dialled_address_with_and_without_user() {
        let inst = test_spec("  metrics:\n    enabled: true\n");
        let f = password_file(&inst, Component::Redis, Some(EXPORTER_USER), "pw");
        assert_eq!(
            f,
            r#"{"rediss://exporter@localhost:6379":"pw","rediss://localhost:6379":"pw"}"#
        );
        let plain = test_spec("  metrics:\n    enabled: true\n  tls:\n    enabled: false\n");
        assert_eq!(
            password_file(&plain, Component::Sentinel, None, "s"),
            r#"{"redis://localhost:26379":"s"}"#
        );
    }

    #[test]
    fn exporter_rules_grant_no_keys_channels_or_admin_reads() {
        for t in EXPORTER_RULES.split_whitespace() {
            assert!(t.starts_with('+') && !t.contains('@'), "{t}");
        }
        for refused in ["config", "slowlog|get", "~", "&", "@all"] {
            assert!(
                !EXPORTER_RULES
                    .split_whitespace()
                    .any(|t| t.trim_start_matches('+') == refused || t.starts_with(refused)),
                "{refused}"
            );
        }
    }
}
