//! The PrometheusRule: alerts that encode what the end-to-end tests check
//! (one master, linked replicas, Sentinels that agree and reach quorum),
//! resource alerts, and the expiry of every certificate the function issued
//! (a recording rule per certificate carries its `notAfter`).
//!
//! Series are those `redis_exporter` emits (checked against 1.45 and the
//! source of the pinned 1.73); `namespace` and `pod` are the labels a
//! PodMonitor gives every target. Runbook: docs/metrics.md.

use serde_norway::{Mapping, Value};

use super::Metrics;
use crate::certs::{Bundle, Role};
use crate::spec::{Component, Instance};

/// Name of the recording rule that carries each certificate's `notAfter`.
pub const CERT_EXPIRY_SERIES: &str = "redis_sentinel_fn_certificate_expiry_timestamp_seconds";

/// One rule of the group.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Alert name, or `None` for a recording rule.
    pub alert: Option<String>,
    pub record: Option<String>,
    pub expr: String,
    pub for_: Option<String>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl Rule {
    fn alert(
        name: &str,
        expr: String,
        for_: &str,
        severity: &str,
        summary: String,
        description: &str,
    ) -> Rule {
        Rule {
            alert: Some(name.into()),
            record: None,
            expr,
            for_: (!for_.is_empty()).then(|| for_.to_string()),
            labels: vec![("severity".into(), severity.into())],
            annotations: vec![
                ("summary".into(), summary),
                ("description".into(), description.into()),
                (
                    "runbook".into(),
                    format!("docs/metrics.md#{}", name.to_ascii_lowercase()),
                ),
            ],
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Mapping::new();
        let s = |v: &str| Value::String(v.to_string());
        if let Some(a) = &self.alert {
            m.insert(s("alert"), s(a));
        }
        if let Some(r) = &self.record {
            m.insert(s("record"), s(r));
        }
        m.insert(s("expr"), s(&self.expr));
        if let Some(f) = &self.for_ {
            m.insert(s("for"), s(f));
        }
        for (key, list) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            if !list.is_empty() {
                let mut l = Mapping::new();
                for (k, v) in list {
                    l.insert(s(k), s(v));
                }
                m.insert(s(key), Value::Mapping(l));
            }
        }
        Value::Mapping(m)
    }
}

/// Label matchers selecting the series of a component's pods.
pub fn selector(inst: &Instance, c: Component) -> String {
    format!(
        "namespace=\"{}\",pod=~\"{}-[0-9]+\"",
        inst.namespace,
        inst.workload_name(c)
    )
}

/// `notAfter` of a PEM certificate (Unix seconds).
fn not_after(pem: &str) -> Option<i64> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = p.parse_x509().ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Recording rules: one series per issued certificate, valued its notAfter.
fn certificate_rules(inst: &Instance, b: &Bundle) -> Vec<Rule> {
    let mut certs = vec![(crate::certs::ca_configmap_name(inst), &b.ca_pem)];
    for role in Role::ALL {
        certs.push((role.secret_name(inst), &b.leaf(role).cert));
    }
    certs
        .into_iter()
        .filter_map(|(name, pem)| {
            Some(Rule {
                alert: None,
                record: Some(CERT_EXPIRY_SERIES.into()),
                expr: format!("vector({})", not_after(pem)?),
                for_: None,
                labels: vec![
                    ("namespace".into(), inst.namespace.clone()),
                    ("redis_sentinel".into(), inst.name.clone()),
                    ("certificate".into(), name),
                ],
                annotations: vec![],
            })
        })
        .collect()
}

/// Matchers of pod 0's series about its link to a migration source
/// (`spec.migration`, docs/migrating.md): the exporter labels a replica's
/// link series with its `master_host`, which during the sync is the
/// source's master, never a pod of this topology.
pub fn migration_selector(inst: &Instance) -> String {
    let sts = inst.workload_name(Component::Redis);
    format!(
        "namespace=\"{}\",pod=\"{sts}-0\",master_host!~\"{sts}-[0-9]+[.].*\"",
        inst.namespace
    )
}

/// With `spec.migration`, no pod of the topology is master during the sync:
/// "not exactly one master" holds only while pod 0 does not replicate from
/// the source.
fn migration_unless(inst: &Instance) -> String {
    match inst.migration {
        Some(_) => format!(
            " unless on() count(redis_slave_info{{{}}})",
            migration_selector(inst)
        ),
        None => String::new(),
    }
}

/// Seconds without a byte from the source (pings come every 10 s) before
/// the migration link counts as lagging.
const MIGRATION_LAG_SECONDS: u32 = 30;

/// The migration link's alerts: pod 0's link to the source down, or silent
/// / still in a full sync. Bytes behind the source need the source's own
/// offset, which this exporter does not scrape: `migrate-redis.sh status`.
fn migration_rules(inst: &Instance, who: &str) -> Vec<Rule> {
    let m = migration_selector(inst);
    vec![
        Rule::alert(
            "RedisSentinelMigrationLinkDown",
            format!("redis_master_link_up{{{m}}} == 0"),
            "1m",
            "warning",
            format!(
                "{who}: pod 0 has no replication link to the migration source {{{{ $labels.master_host }}}}"
            ),
            "Pod 0 replicates from the source of spec.migration and its link is down: it falls behind, is not Ready, and a cut-over asked now is refused (nothing is promoted). Its status says why (unreachable, credentials refused, TLS).",
        ),
        Rule::alert(
            "RedisSentinelMigrationLagging",
            format!(
                "redis_master_last_io_seconds_ago{{{m}}} > {MIGRATION_LAG_SECONDS} or redis_master_sync_in_progress{{{m}}} == 1"
            ),
            "10m",
            "warning",
            format!(
                "{who}: pod 0 is not keeping up with the migration source {{{{ $labels.master_host }}}}"
            ),
            "Pod 0 has heard nothing from the source for longer than 30 s, or a full sync from it has lasted 10 minutes: a cut-over is refused until it is in sync.",
        ),
    ]
}

/// Every rule of an instance, in a fixed order.
pub fn rules(inst: &Instance, m: &Metrics, bundle: Option<&Bundle>) -> Vec<Rule> {
    let r = selector(inst, Component::Redis);
    let s = selector(inst, Component::Sentinel);
    let master = &inst.sentinel.master_name;
    let who = format!("{}/{}", inst.namespace, inst.name);
    let mut v = vec![
        Rule::alert(
            "RedisSentinelExporterDown",
            format!(
                "redis_up{{{r}}} == 0 or redis_up{{{s}}} == 0 or up{{{r}}} == 0 or up{{{s}}} == 0"
            ),
            "2m",
            "warning",
            format!("{who}: {{{{ $labels.pod }}}} cannot be scraped"),
            "Prometheus cannot scrape the exporter sidecar (up 0), or the exporter cannot reach its Redis or Sentinel (redis_up 0): the process is down or refuses the exporter (TLS, password). Every other alert of this pod is blind meanwhile.",
        ),
        Rule::alert(
            "RedisSentinelNotExactlyOneMaster",
            format!(
                "(count(redis_instance_info{{{r},role=\"master\"}}) or vector(0)) != 1{}",
                migration_unless(inst)
            ),
            "1m",
            "critical",
            format!("{who}: not exactly one Redis pod reports role master"),
            "Exactly one Redis pod must be master. None: writes fail. Two or more: split brain, writes to the wrong one are lost when Sentinel demotes it.",
        ),
        Rule::alert(
            "RedisSentinelReplicaLinkDown",
            format!("redis_master_link_up{{{r}}} == 0"),
            &format!("{}s", m.replica_link_down_seconds),
            "critical",
            format!("{who}: {{{{ $labels.pod }}}} has no link to its master"),
            "A replica's replication link is down: it serves stale reads and cannot be promoted safely.",
        ),
        Rule::alert(
            "RedisSentinelReplicaLagging",
            format!(
                "redis_connected_slave_lag_seconds{{{r}}} > {}",
                inst.redis.min_replicas_max_lag
            ),
            "1m",
            "warning",
            format!("{who}: a replica of {{{{ $labels.pod }}}} lags"),
            "The master has not heard from a replica for longer than min-replicas-max-lag; with too few timely replicas it refuses writes (min-replicas-to-write).",
        ),
        Rule::alert(
            "RedisSentinelMastersDisagree",
            format!(
                "count(count by (master_address) (redis_sentinel_master_status{{{s},master_name=\"{master}\"}})) > 1"
            ),
            "1m",
            "critical",
            format!("{who}: the Sentinels name different masters"),
            "Sentinels that name different masters stay split until restarted with the same target; clients get different masters depending on the Sentinel they ask.",
        ),
        Rule::alert(
            "RedisSentinelNoQuorum",
            format!(
                "redis_sentinel_master_ckquorum_status{{{s},master_name=\"{master}\"}} == 0 or redis_sentinel_master_ok_sentinels{{{s},master_name=\"{master}\"}} < {}",
                inst.sentinel.quorum
            ),
            "1m",
            "critical",
            format!("{who}: {{{{ $labels.pod }}}} cannot reach a failover quorum"),
            "SENTINEL CKQUORUM fails or fewer healthy Sentinels than the quorum see the master: a failed master would not be replaced.",
        ),
        Rule::alert(
            "RedisSentinelMemoryNearMaxmemory",
            format!(
                "redis_memory_used_bytes{{{r}}} / redis_memory_max_bytes{{{r}}} > {} and redis_memory_max_bytes{{{r}}} > 0",
                m.memory_ratio
            ),
            "5m",
            "warning",
            format!("{who}: {{{{ $labels.pod }}}} is near maxmemory"),
            "Used memory is near maxmemory: Redis evicts keys (maxmemory-policy) or refuses writes (noeviction).",
        ),
        Rule::alert(
            "RedisSentinelRejectedConnections",
            format!(
                "increase(redis_rejected_connections_total{{{r}}}[5m]) > 0 or increase(redis_rejected_connections_total{{{s}}}[5m]) > 0"
            ),
            "",
            "warning",
            format!("{who}: {{{{ $labels.pod }}}} rejected connections"),
            "Connections were rejected because maxclients was reached.",
        ),
    ];
    if inst.migration.is_some() {
        v.extend(migration_rules(inst, &who));
    }
    if let (Some(b), Some(tls)) = (bundle, &inst.tls) {
        v.extend(certificate_rules(inst, b));
        v.push(Rule::alert(
            "RedisSentinelCertificateExpiring",
            format!(
                "{CERT_EXPIRY_SERIES}{{namespace=\"{}\",redis_sentinel=\"{}\"}} - time() < {}",
                inst.namespace,
                inst.name,
                i64::from(tls.renew_before_days) * 86_400
            ),
            "",
            "warning",
            format!("{who}: certificate {{{{ $labels.certificate }}}} expires in less than {} days", tls.renew_before_days),
            "The function renews certificates renewBeforeDays before they expire, at the next render: this one was not re-rendered (or its pods not rolled) in time.",
        ));
    }
    v
}

/// The PrometheusRule object.
pub fn prometheus_rule(inst: &Instance, m: &Metrics, bundle: Option<&Bundle>) -> Value {
    let rules: Vec<Value> = rules(inst, m, bundle).iter().map(Rule::to_value).collect();
    let mut group = Mapping::new();
    group.insert(
        "name".into(),
        format!("redis-sentinel-{}", inst.name).into(),
    );
    group.insert("rules".into(), Value::Sequence(rules));
    let mut spec = Mapping::new();
    spec.insert(
        "groups".into(),
        Value::Sequence(vec![Value::Mapping(group)]),
    );
    super::monitor::custom_object(inst, m, "PrometheusRule", Value::Mapping(spec))
}

/// The rule groups as a Prometheus rule file (for `promtool`).
pub fn rule_file(inst: &Instance, m: &Metrics, bundle: Option<&Bundle>) -> Value {
    prometheus_rule(inst, m, bundle)
        .get("spec")
        .cloned()
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn every_alert_has_a_runbook_anchor_and_selects_its_instance() {
        let inst = test_spec("  metrics:\n    enabled: true\n");
        let m = inst.metrics.clone().unwrap();
        let rules = rules(&inst, &m, None);
        let alerts: Vec<_> = rules.iter().filter(|r| r.alert.is_some()).collect();
        assert_eq!(alerts.len(), 8, "certificate alert only with a bundle");
        let doc = include_str!("../../docs/metrics.md");
        for a in alerts {
            let name = a.alert.clone().unwrap();
            assert!(a.expr.contains("namespace=\"ns\""), "{name}: {}", a.expr);
            assert!(doc.contains(&format!("### {name}")), "runbook for {name}");
        }
        assert!(selector(&inst, Component::Sentinel).contains("cache-sentinel-[0-9]+"));
    }

    #[test]
    fn a_migration_adds_its_link_alerts_and_spares_the_master_count_during_the_sync() {
        let plain = test_spec("  metrics:\n    enabled: true\n");
        let inst = test_spec(
            "  metrics:\n    enabled: true\n  migration:\n    source:\n      standalone: {host: old-redis}\n",
        );
        let m = inst.metrics.clone().unwrap();
        let rules = rules(&inst, &m, None);
        let names: Vec<_> = rules.iter().filter_map(|r| r.alert.clone()).collect();
        assert_eq!(names.len(), 10, "{names:?}");
        let doc = include_str!("../../docs/metrics.md");
        for n in [
            "RedisSentinelMigrationLinkDown",
            "RedisSentinelMigrationLagging",
        ] {
            assert!(names.iter().any(|a| a == n), "{n}");
            assert!(doc.contains(&format!("### {n}")), "runbook for {n}");
        }
        let count = |r: &[Rule]| {
            r.iter()
                .find(|r| r.alert.as_deref() == Some("RedisSentinelNotExactlyOneMaster"))
                .map(|r| r.expr.clone())
                .unwrap()
        };
        assert!(
            count(&rules).contains(
                "unless on() count(redis_slave_info{namespace=\"ns\",pod=\"cache-redis-0\""
            )
        );
        assert!(!count(&super::rules(&plain, &m, None)).contains("unless"));
    }
}
