//! The rendered PrometheusRule under `promtool` (Debian package
//! `prometheus`): `promtool check rules`, then `promtool test rules` with a
//! firing and a silent case for every alert, and the series captured from the
//! end-to-end run (tests/it/e2e_metrics.rs writes tests/fixtures/metrics/*.prom
//! with UPDATE_METRICS_CAPTURE=1): silent on the healthy topology before and
//! after a failover, firing on the topology whose master was just killed.
//! Fails, never skips, without promtool (.ci/install.d/25-metrics.sh).

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-metrics.yaml"
);
const CAPTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics");
const NS: &str = "e2e";

fn promtool() -> Result<PathBuf> {
    harness::which("promtool").context(
        "promtool is missing: install the Debian package prometheus (.ci/install.d/25-metrics.sh)",
    )
}

/// Renders the fixture (fixed seed and clock) and returns the rule file
/// (the PrometheusRule's spec) and the rules by alert name.
fn rendered_rules() -> Result<(Value, BTreeMap<String, Value>)> {
    rendered_rules_of(Path::new(FIXTURE))
}

/// [`rendered_rules`] of the spec in `spec`.
fn rendered_rules_of(spec: &Path) -> Result<(Value, BTreeMap<String, Value>)> {
    let out = harness::run(
        Command::new(harness::cli::bin())
            .args(["render", "-f"])
            .arg(spec)
            .env(
                "REDIS_SENTINEL_FN_SEED",
                "metrics-rules-test-seed-0123456789",
            )
            .env("SOURCE_DATE_EPOCH", "1767225600"),
        Duration::from_secs(60),
    )?;
    ensure!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let render = harness::Render::parse(&String::from_utf8(out.stdout)?)?;
    let rule = render
        .kinds("PrometheusRule")
        .next()
        .context("the fixture renders a PrometheusRule")?
        .clone();
    ensure!(rule["apiVersion"] == "monitoring.coreos.com/v1");
    let spec = rule["spec"].clone();
    let mut alerts = BTreeMap::new();
    for g in spec["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            if let Some(a) = r["alert"].as_str() {
                alerts.insert(a.to_string(), r.clone());
            }
        }
    }
    Ok((spec, alerts))
}

/// A series in promtool notation, constant `v` for `n` steps.
fn series(name: &str, labels: &[(&str, &str)], values: &str) -> Value {
    let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    json!({"series": format!("{name}{{{}}}", l.join(",")), "values": values})
}

/// The alert `name` as promtool must see it: the rule's labels plus
/// `labels`, its annotations with `{{ $labels.X }}` filled in.
fn expected(rule: &Value, labels: &[(&str, &str)]) -> Value {
    let mut l: BTreeMap<String, String> = rule["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    for (k, v) in labels {
        l.insert(k.to_string(), v.to_string());
    }
    let mut a = BTreeMap::new();
    for (k, v) in rule["annotations"].as_object().into_iter().flatten() {
        let mut text = v.as_str().unwrap_or_default().to_string();
        for (lk, lv) in &l {
            text = text.replace(&format!("{{{{ $labels.{lk} }}}}"), lv);
        }
        a.insert(k.clone(), text);
    }
    json!({"exp_labels": l, "exp_annotations": a})
}

/// One promtool test case: input series, then alerts expected at `at`.
fn case(input: Vec<Value>, checks: Vec<(&str, &str, Vec<Value>)>) -> Value {
    let tests: Vec<Value> = checks
        .into_iter()
        .map(|(at, alert, exp)| json!({"eval_time": at, "alertname": alert, "exp_alerts": exp}))
        .collect();
    json!({"interval": "15s", "input_series": input, "alert_rule_test": tests})
}

fn pod(p: &str) -> (&'static str, String) {
    ("pod", p.to_string())
}

/// Hand-made cases: each alert fires on broken series and stays silent on
/// healthy ones (and on another namespace's broken series).
fn unit_cases(a: &BTreeMap<String, Value>) -> Vec<Value> {
    let r = |n: &str| &a[n];
    let ns = ("namespace", NS);
    let l = |p: &'static str| vec![ns, ("pod", p)];
    let mut v = Vec::new();
    // ExporterDown
    v.push(case(
        vec![
            series("redis_up", &l("cache-redis-1"), "0x20"),
            series("redis_up", &l("cache-redis-0"), "1x20"),
            series("redis_up", &l("cache-sentinel-0"), "1x20"),
            series("up", &l("cache-sentinel-1"), "0x20"),
            series("up", &l("cache-sentinel-2"), "1x20"),
            series(
                "redis_up",
                &[("namespace", "other"), ("pod", "cache-redis-2")],
                "0x20",
            ),
        ],
        vec![
            ("1m", "RedisSentinelExporterDown", vec![]),
            (
                "3m",
                "RedisSentinelExporterDown",
                vec![
                    expected(r("RedisSentinelExporterDown"), &l("cache-redis-1")),
                    expected(r("RedisSentinelExporterDown"), &l("cache-sentinel-1")),
                ],
            ),
        ],
    ));
    // NotExactlyOneMaster: two masters, then none, then one.
    let info = |p: &str, role: &str| {
        series(
            "redis_instance_info",
            &[ns, ("pod", p), ("role", role)],
            "1x20",
        )
    };
    v.push(case(
        vec![
            info("cache-redis-0", "master"),
            info("cache-redis-1", "master"),
            info("cache-redis-2", "slave"),
        ],
        vec![
            ("30s", "RedisSentinelNotExactlyOneMaster", vec![]),
            (
                "2m",
                "RedisSentinelNotExactlyOneMaster",
                vec![expected(r("RedisSentinelNotExactlyOneMaster"), &[])],
            ),
        ],
    ));
    v.push(case(
        vec![
            info("cache-redis-0", "slave"),
            info("cache-redis-1", "slave"),
        ],
        vec![(
            "2m",
            "RedisSentinelNotExactlyOneMaster",
            vec![expected(r("RedisSentinelNotExactlyOneMaster"), &[])],
        )],
    ));
    v.push(case(
        vec![
            info("cache-redis-0", "master"),
            info("cache-redis-1", "slave"),
            info("cache-redis-2", "slave"),
            series(
                "redis_instance_info",
                &[
                    ("namespace", "other"),
                    ("pod", "cache-redis-0"),
                    ("role", "master"),
                ],
                "1x20",
            ),
        ],
        vec![("2m", "RedisSentinelNotExactlyOneMaster", vec![])],
    ));
    // ReplicaLinkDown (30 s in the fixture)
    let link = |p: &'static str| {
        vec![
            ns,
            ("pod", p),
            ("master_host", "cache-redis-0.x"),
            ("master_port", "6379"),
        ]
    };
    v.push(case(
        vec![
            series("redis_master_link_up", &link("cache-redis-1"), "0x20"),
            series("redis_master_link_up", &link("cache-redis-2"), "1x20"),
        ],
        vec![
            ("15s", "RedisSentinelReplicaLinkDown", vec![]),
            (
                "1m",
                "RedisSentinelReplicaLinkDown",
                vec![expected(
                    r("RedisSentinelReplicaLinkDown"),
                    &link("cache-redis-1"),
                )],
            ),
        ],
    ));
    // ReplicaLagging (minReplicasMaxLag 10)
    let lag = |ip: &'static str| {
        vec![
            ns,
            ("pod", "cache-redis-0"),
            ("slave_ip", ip),
            ("slave_port", "6379"),
            ("slave_state", "online"),
        ]
    };
    v.push(case(
        vec![
            series("redis_connected_slave_lag_seconds", &lag("r1"), "15x20"),
            series("redis_connected_slave_lag_seconds", &lag("r2"), "1x20"),
        ],
        vec![
            ("30s", "RedisSentinelReplicaLagging", vec![]),
            (
                "2m",
                "RedisSentinelReplicaLagging",
                vec![expected(r("RedisSentinelReplicaLagging"), &lag("r1"))],
            ),
        ],
    ));
    // MastersDisagree
    let st = |p: &str, addr: &str| {
        series(
            "redis_sentinel_master_status",
            &[
                ns,
                ("pod", p),
                ("master_name", "cache"),
                ("master_address", addr),
                ("master_status", "ok"),
            ],
            "1x20",
        )
    };
    v.push(case(
        vec![
            st("cache-sentinel-0", "a:6379"),
            st("cache-sentinel-1", "a:6379"),
            st("cache-sentinel-2", "b:6379"),
        ],
        vec![(
            "2m",
            "RedisSentinelMastersDisagree",
            vec![expected(r("RedisSentinelMastersDisagree"), &[])],
        )],
    ));
    v.push(case(
        vec![
            st("cache-sentinel-0", "a:6379"),
            st("cache-sentinel-1", "a:6379"),
            st("cache-sentinel-2", "a:6379"),
        ],
        vec![("2m", "RedisSentinelMastersDisagree", vec![])],
    ));
    // NoQuorum (quorum 2): CKQUORUM fails on one, another sees 1 healthy Sentinel.
    let q = |p: &'static str, msg: &'static str| {
        vec![ns, ("pod", p), ("master_name", "cache"), ("message", msg)]
    };
    let ok = |p: &'static str| {
        vec![
            ns,
            ("pod", p),
            ("master_name", "cache"),
            ("master_address", "a:6379"),
        ]
    };
    v.push(case(
        vec![
            series(
                "redis_sentinel_master_ckquorum_status",
                &q("cache-sentinel-0", "NOQUORUM 1 usable Sentinels"),
                "0x20",
            ),
            series(
                "redis_sentinel_master_ckquorum_status",
                &q("cache-sentinel-1", "OK 3 usable Sentinels"),
                "1x20",
            ),
            series(
                "redis_sentinel_master_ok_sentinels",
                &ok("cache-sentinel-1"),
                "3x20",
            ),
            series(
                "redis_sentinel_master_ok_sentinels",
                &ok("cache-sentinel-2"),
                "1x20",
            ),
        ],
        vec![(
            "2m",
            "RedisSentinelNoQuorum",
            vec![
                expected(
                    r("RedisSentinelNoQuorum"),
                    &q("cache-sentinel-0", "NOQUORUM 1 usable Sentinels"),
                ),
                expected(r("RedisSentinelNoQuorum"), &ok("cache-sentinel-2")),
            ],
        )],
    ));
    // MemoryNearMaxmemory (0.9): 95 of 100 fires; 50 of 100 and no maxmemory do not.
    let m = |p: &'static str| vec![ns, ("pod", p)];
    v.push(case(
        vec![
            series("redis_memory_used_bytes", &m("cache-redis-0"), "95x40"),
            series("redis_memory_max_bytes", &m("cache-redis-0"), "100x40"),
            series("redis_memory_used_bytes", &m("cache-redis-1"), "50x40"),
            series("redis_memory_max_bytes", &m("cache-redis-1"), "100x40"),
            series("redis_memory_used_bytes", &m("cache-redis-2"), "1000000x40"),
            series("redis_memory_max_bytes", &m("cache-redis-2"), "0x40"),
        ],
        vec![
            ("2m", "RedisSentinelMemoryNearMaxmemory", vec![]),
            (
                "6m",
                "RedisSentinelMemoryNearMaxmemory",
                vec![expected(
                    r("RedisSentinelMemoryNearMaxmemory"),
                    &m("cache-redis-0"),
                )],
            ),
        ],
    ));
    // RejectedConnections: a growing counter fires, a flat one does not.
    v.push(case(
        vec![
            series(
                "redis_rejected_connections_total",
                &m("cache-redis-1"),
                "0+1x20",
            ),
            series(
                "redis_rejected_connections_total",
                &m("cache-redis-0"),
                "5x20",
            ),
            series(
                "redis_rejected_connections_total",
                &m("cache-sentinel-0"),
                "0x20",
            ),
        ],
        vec![(
            "4m",
            "RedisSentinelRejectedConnections",
            vec![expected(
                r("RedisSentinelRejectedConnections"),
                &m("cache-redis-1"),
            )],
        )],
    ));
    // CertificateExpiring: promtool's clock starts at 0, so the issued
    // certificates (recorded notAfter in 2026+) are far off and silent; a
    // certificate expiring one day after the start fires.
    let c = vec![ns, ("redis_sentinel", "cache"), ("certificate", "near")];
    v.push(case(
        vec![series(
            "redis_sentinel_fn_certificate_expiry_timestamp_seconds",
            &c,
            "86400x10",
        )],
        vec![(
            "1m",
            "RedisSentinelCertificateExpiring",
            vec![expected(r("RedisSentinelCertificateExpiring"), &c)],
        )],
    ));
    v.push(case(
        vec![],
        vec![("1m", "RedisSentinelCertificateExpiring", vec![])],
    ));
    let _ = pod;
    v
}

/// `(pod, series, value)` of a capture written by tests/it/e2e_metrics.rs.
fn captured(name: &str) -> Result<Vec<(String, String, f64)>> {
    let cap = harness::metrics::read(&Path::new(CAPTURE_DIR).join(format!("{name}.prom")))?;
    Ok(cap
        .into_iter()
        .flat_map(|(pod, s)| s.into_iter().map(move |(k, v)| (pod.clone(), k, v)))
        .collect())
}

/// The captured series as promtool input, each constant for 10 minutes,
/// labelled with the namespace and pod as a PodMonitor labels them.
fn captured_input(lines: &[(String, String, f64)]) -> Vec<Value> {
    lines
        .iter()
        .filter(|(_, _, v)| v.is_finite())
        .map(|(pod, s, v)| {
            let (name, labels) = s.split_once('{').unwrap_or((s, "}"));
            let labels = labels.trim_end_matches('}');
            let sep = if labels.is_empty() { "" } else { "," };
            json!({
                "series": format!("{name}{{{labels}{sep}namespace=\"{NS}\",pod=\"{pod}\"}}"),
                "values": format!("{v}x40"),
            })
        })
        .collect()
}

/// Labels of a captured series, plus namespace and pod.
fn labels_of(pod: &str, s: &str) -> Vec<(String, String)> {
    let mut out = harness::metrics::labels(s);
    out.push(("namespace".into(), NS.into()));
    out.push(("pod".into(), pod.into()));
    out
}

fn captured_cases(a: &BTreeMap<String, Value>) -> Result<Vec<Value>> {
    let mut v = Vec::new();
    for name in ["healthy", "after-failover"] {
        let input = captured_input(&captured(name)?);
        let checks = a.keys().map(|k| ("10m", k.as_str(), vec![])).collect();
        v.push(case(input, checks));
    }
    // Right after the master's SIGKILL: its exporter reports redis_up 0, no
    // pod is master, the replicas' links are down.
    let down = captured("master-down")?;
    let dead: Vec<&(String, String, f64)> = down
        .iter()
        .filter(|(_, s, val)| s.starts_with("redis_up") && *val == 0.0)
        .collect();
    ensure!(
        dead.len() == 1,
        "master-down capture: one exporter reports redis_up 0: {dead:?}"
    );
    let unlinked: Vec<Vec<(String, String)>> = down
        .iter()
        .filter(|(_, s, val)| s.starts_with("redis_master_link_up{") && *val == 0.0)
        .map(|(p, s, _)| labels_of(p, s))
        .collect();
    ensure!(
        unlinked.len() == 2,
        "master-down capture: two replicas with the link down"
    );
    let as_refs = |l: &Vec<(String, String)>| -> Vec<(String, String)> { l.clone() };
    let exp = |alert: &str, l: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        expected(&a[alert], &refs)
    };
    let input = captured_input(&down);
    v.push(case(
        input,
        vec![
            (
                "10m",
                "RedisSentinelExporterDown",
                vec![exp(
                    "RedisSentinelExporterDown",
                    vec![
                        ("namespace".into(), NS.into()),
                        ("pod".into(), dead[0].0.clone()),
                    ],
                )],
            ),
            (
                "10m",
                "RedisSentinelNotExactlyOneMaster",
                vec![exp("RedisSentinelNotExactlyOneMaster", vec![])],
            ),
            (
                "10m",
                "RedisSentinelReplicaLinkDown",
                unlinked
                    .iter()
                    .map(|l| exp("RedisSentinelReplicaLinkDown", as_refs(l)))
                    .collect(),
            ),
            ("10m", "RedisSentinelMastersDisagree", vec![]),
            ("10m", "RedisSentinelMemoryNearMaxmemory", vec![]),
            ("10m", "RedisSentinelRejectedConnections", vec![]),
        ],
    ));
    Ok(v)
}

fn write_yaml(path: &Path, v: &Value) -> Result<()> {
    std::fs::write(path, serde_norway::to_string(v)?)?;
    Ok(())
}

fn promtool_run(dir: &Path, args: &[&str]) -> Result<String> {
    let out = harness::run(
        Command::new(promtool()?).args(args).current_dir(dir),
        Duration::from_secs(120),
    )?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("promtool {args:?} failed:\n{text}");
    }
    Ok(text)
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() -> Result<()> {
    let (spec, alerts) = rendered_rules()?;
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("promtool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    write_yaml(&dir.join("rules.yaml"), &spec)?;
    let check = promtool_run(&dir, &["check", "rules", "rules.yaml"])?;
    println!(
        "promtool check rules: {}",
        check.trim().replace('\n', " | ")
    );

    let unit = unit_cases(&alerts);
    let covered: std::collections::BTreeSet<String> = unit
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().cloned().unwrap_or_default())
        .filter(|c| !c["exp_alerts"].as_array().is_some_and(Vec::is_empty))
        .filter_map(|c| c["alertname"].as_str().map(String::from))
        .collect();
    let all: std::collections::BTreeSet<String> = alerts.keys().cloned().collect();
    ensure!(
        covered == all,
        "alerts without a firing case: {:?}",
        all.difference(&covered)
    );
    write_yaml(
        &dir.join("unit.test.yaml"),
        &json!({"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": unit}),
    )?;
    let out = promtool_run(&dir, &["test", "rules", "unit.test.yaml"])?;
    println!(
        "promtool test rules (unit, {} cases, {} alerts each firing and silent): {}",
        unit.len(),
        alerts.len(),
        out.trim().replace('\n', " | ")
    );

    let cap = captured_cases(&alerts)?;
    write_yaml(
        &dir.join("captured.test.yaml"),
        &json!({"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": cap}),
    )?;
    let out = promtool_run(&dir, &["test", "rules", "captured.test.yaml"])?;
    println!(
        "promtool test rules (series captured from the e2e run: healthy, master killed, after failover): {}",
        out.trim().replace('\n', " | ")
    );
    Ok(())
}

/// The recording rules carry the `notAfter` of every issued certificate,
/// as openssl reads it from the rendered Secrets.
#[test]
fn certificate_expiry_is_recorded_per_certificate() -> Result<()> {
    let (spec, _) = rendered_rules()?;
    let out = harness::run(
        Command::new(harness::cli::bin())
            .args(["render", "-f", FIXTURE])
            .env(
                "REDIS_SENTINEL_FN_SEED",
                "metrics-rules-test-seed-0123456789",
            )
            .env("SOURCE_DATE_EPOCH", "1767225600"),
        Duration::from_secs(60),
    )?;
    let render = harness::Render::parse(&String::from_utf8(out.stdout)?)?;
    let recorded: BTreeMap<String, i64> = spec["groups"][0]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["record"].is_string())
        .filter_map(|r| {
            let v = r["expr"]
                .as_str()?
                .strip_prefix("vector(")?
                .strip_suffix(')')?
                .parse()
                .ok()?;
            Some((r["labels"]["certificate"].as_str()?.to_string(), v))
        })
        .collect();
    let mut want = BTreeMap::new();
    for (name, pem) in [
        (
            "cache-ca",
            render
                .find("ConfigMap", "cache-ca")
                .context("CA ConfigMap")?["data"]["ca.crt"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "cache-redis-tls",
            render
                .secret_text("cache-redis-tls", "tls.crt")?
                .unwrap_or_default(),
        ),
        (
            "cache-sentinel-tls",
            render
                .secret_text("cache-sentinel-tls", "tls.crt")?
                .unwrap_or_default(),
        ),
        (
            "cache-client-tls",
            render
                .secret_text("cache-client-tls", "tls.crt")?
                .unwrap_or_default(),
        ),
    ] {
        let end = harness::run_with_input(
            Command::new("openssl").args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601"]),
            Some(pem.as_bytes()),
            Duration::from_secs(10),
        )?;
        let text = String::from_utf8_lossy(&end.stdout).trim().to_string();
        let iso = text.strip_prefix("notAfter=").context("openssl enddate")?;
        let epoch = harness::run_ok(
            Command::new("date").args(["-u", "-d", iso, "+%s"]),
            Duration::from_secs(5),
        )?;
        want.insert(name.to_string(), epoch.trim().parse::<i64>()?);
    }
    ensure!(
        recorded == want,
        "recorded {recorded:?}, openssl says {want:?}"
    );
    println!(
        "certificate notAfter recorded in the PrometheusRule, as openssl reads them: {want:?}"
    );
    Ok(())
}

/// With `spec.migration` (the fixture plus a standalone source): the two
/// migration alerts fire on pod 0's link to the source (the exporter's
/// `master_host` is the source, not a pod of the topology) and stay silent
/// on a healthy sync and on the other pods' links; "not exactly one master"
/// is held back while pod 0 replicates from the source, and fires again
/// once it does not.
#[test]
fn migration_alerts_watch_pod_0s_link_to_the_source() -> Result<()> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("promtool-migration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let source = "old-redis-0.old-redis-headless.e2e.svc.cluster.local";
    let spec = dir.join("spec.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(FIXTURE)?
            + &format!(
                "  migration:\n    source:\n      standalone: {{host: {source}}}\n      auth: {{secretName: old-auth, passwordKey: redis-password}}\n"
            ),
    )?;
    let (rules, a) = rendered_rules_of(&spec)?;
    for n in [
        "RedisSentinelMigrationLinkDown",
        "RedisSentinelMigrationLagging",
    ] {
        ensure!(a.contains_key(n), "no {n} in {:?}", a.keys());
    }
    write_yaml(&dir.join("rules.yaml"), &rules)?;
    promtool_run(&dir, &["check", "rules", "rules.yaml"])?;
    let ns = ("namespace", NS);
    let to_source = |p: &'static str| {
        vec![
            ns,
            ("pod", p),
            ("master_host", source),
            ("master_port", "6379"),
        ]
    };
    let to_pod0 = |p: &'static str| {
        vec![
            ns,
            ("pod", p),
            (
                "master_host",
                "cache-redis-0.cache-redis-headless.e2e.svc.cluster.local",
            ),
            ("master_port", "6379"),
        ]
    };
    let roles = |r0: &str| {
        vec![
            series(
                "redis_instance_info",
                &[ns, ("pod", "cache-redis-0"), ("role", r0)],
                "1x60",
            ),
            series(
                "redis_instance_info",
                &[ns, ("pod", "cache-redis-1"), ("role", "slave")],
                "1x60",
            ),
        ]
    };
    let mut cases = Vec::new();
    // The sync, healthy: nothing fires, no master is not an alert.
    let mut healthy = roles("slave");
    healthy.extend([
        series("redis_slave_info", &to_source("cache-redis-0"), "1x60"),
        series("redis_master_link_up", &to_source("cache-redis-0"), "1x60"),
        series(
            "redis_master_last_io_seconds_ago",
            &to_source("cache-redis-0"),
            "1x60",
        ),
        series(
            "redis_master_sync_in_progress",
            &to_source("cache-redis-0"),
            "0x60",
        ),
        series("redis_slave_info", &to_pod0("cache-redis-1"), "1x60"),
        series("redis_master_link_up", &to_pod0("cache-redis-1"), "1x60"),
    ]);
    cases.push(case(
        healthy,
        vec![
            ("2m", "RedisSentinelNotExactlyOneMaster", vec![]),
            ("2m", "RedisSentinelMigrationLinkDown", vec![]),
            ("12m", "RedisSentinelMigrationLagging", vec![]),
        ],
    ));
    // The link to the source down, pod 1's link to pod 0 down too: only
    // pod 0's counts as the migration link.
    let mut down = roles("slave");
    down.extend([
        series("redis_slave_info", &to_source("cache-redis-0"), "1x60"),
        series("redis_master_link_up", &to_source("cache-redis-0"), "0x60"),
        series("redis_master_link_up", &to_pod0("cache-redis-1"), "0x60"),
    ]);
    cases.push(case(
        down,
        vec![
            ("30s", "RedisSentinelMigrationLinkDown", vec![]),
            (
                "2m",
                "RedisSentinelMigrationLinkDown",
                vec![expected(
                    &a["RedisSentinelMigrationLinkDown"],
                    &to_source("cache-redis-0"),
                )],
            ),
            ("2m", "RedisSentinelNotExactlyOneMaster", vec![]),
        ],
    ));
    // Silent for 45 s, then a full sync that does not end.
    cases.push(case(
        vec![
            series(
                "redis_master_last_io_seconds_ago",
                &to_source("cache-redis-0"),
                "45x60",
            ),
            series(
                "redis_master_sync_in_progress",
                &to_source("cache-redis-0"),
                "0x60",
            ),
        ],
        vec![
            ("5m", "RedisSentinelMigrationLagging", vec![]),
            (
                "12m",
                "RedisSentinelMigrationLagging",
                vec![expected(
                    &a["RedisSentinelMigrationLagging"],
                    &to_source("cache-redis-0"),
                )],
            ),
        ],
    ));
    cases.push(case(
        vec![
            series(
                "redis_master_last_io_seconds_ago",
                &to_source("cache-redis-0"),
                "0x60",
            ),
            series(
                "redis_master_sync_in_progress",
                &to_source("cache-redis-0"),
                "1x60",
            ),
        ],
        vec![(
            "12m",
            "RedisSentinelMigrationLagging",
            vec![expected(
                &a["RedisSentinelMigrationLagging"],
                &to_source("cache-redis-0"),
            )],
        )],
    ));
    // After the cut-over pod 0 replicates from nobody outside: no master
    // among the pods is an alert again.
    let mut after = roles("slave");
    after.push(series(
        "redis_slave_info",
        &to_pod0("cache-redis-1"),
        "1x60",
    ));
    cases.push(case(
        after,
        vec![(
            "2m",
            "RedisSentinelNotExactlyOneMaster",
            vec![expected(&a["RedisSentinelNotExactlyOneMaster"], &[])],
        )],
    ));
    write_yaml(
        &dir.join("migration.test.yaml"),
        &json!({"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": cases}),
    )?;
    let out = promtool_run(&dir, &["test", "rules", "migration.test.yaml"])?;
    println!(
        "promtool test rules (migration, {} cases): {}",
        cases.len(),
        out.trim().replace('\n', " | ")
    );
    Ok(())
}
