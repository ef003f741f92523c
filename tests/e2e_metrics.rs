//! End-to-end: the metrics exporters as the pods' sidecars on real Redis 7.
//!
//! Renders tests/fixtures/e2e-metrics.yaml (TLS everywhere, client
//! certificates required, ACL users, metrics on) and runs every container of
//! each pod template (tests/harness): the generated start scripts and Debian's
//! `prometheus-redis-exporter` standing in for the image's `/redis_exporter`,
//! with the rendered arguments, mounts and user. Scrapes `/metrics` inside each
//! pod's network namespace and checks the series the alert rules use, before,
//! during and after a real failover (SIGKILL of the master); checks that the
//! exporter's ACL user may scrape and nothing else. The scraped series are
//! written to the target directory, and with `UPDATE_METRICS_CAPTURE=1` to
//! tests/fixtures/metrics/ (the rule tests, tests/metrics_rules.rs, feed
//! them to `promtool test rules`). Figures: `cargo nextest run --no-capture -E
//! 'binary(e2e_metrics)'`.

mod harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use harness::{Cluster, ClusterOptions, Credentials, Render, Tls, run_ok, secs, wait_for};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-metrics.yaml"
);
const FIXTURE_PASSWORD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-metrics-password.yaml"
);
const CAPTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics");
const MASTER_NAME: &str = "cache";
const POLL: Duration = Duration::from_millis(250);
const READY: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(40);

/// The series the alert rules use (docs/metrics.md), as captured.
const RULE_SERIES: &[&str] = &[
    "redis_up",
    "redis_instance_info",
    "redis_connected_slaves",
    "redis_master_link_up",
    "redis_connected_slave_lag_seconds",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_rejected_connections_total",
    "redis_sentinel_master_status",
    "redis_sentinel_master_ckquorum_status",
    "redis_sentinel_master_ok_sentinels",
    "redis_sentinel_master_ok_slaves",
    "redis_sentinel_master_slaves",
    "redis_sentinel_master_sentinels",
];

/// Labels of `redis_instance_info` that change every run (dropped).
const VOLATILE_LABELS: &[&str] = &["os", "process_id", "run_id", "redis_build_id"];

/// One scrape: series (`name{labels}`) to value.
type Scrape = BTreeMap<String, f64>;

/// Parses the Prometheus text format, keeping the rule series only.
fn parse(text: &str) -> Scrape {
    let mut out = Scrape::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or_default();
        if !RULE_SERIES.contains(&name) {
            continue;
        }
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        out.insert(strip_volatile(series), v);
    }
    out
}

fn strip_volatile(series: &str) -> String {
    let Some((name, rest)) = series.split_once('{') else {
        return series.to_string();
    };
    let labels = rest.trim_end_matches('}');
    let kept: Vec<&str> = split_labels(labels)
        .into_iter()
        .filter(|l| {
            !VOLATILE_LABELS
                .iter()
                .any(|v| l.starts_with(&format!("{v}=")))
        })
        .collect();
    format!("{name}{{{}}}", kept.join(","))
}

/// Splits `a="x",b="y,z"` at the commas between labels.
fn split_labels(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, ch) in s.char_indices() {
        match ch {
            '\\' if quoted => escaped = !escaped,
            '"' if !escaped => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => escaped = false,
        }
        if ch != '\\' {
            escaped = false;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The value of the first series named `name` whose labels contain every
/// `label="value"` of `with`.
fn value(s: &Scrape, name: &str, with: &[&str]) -> Option<f64> {
    s.iter()
        .find(|(k, _)| k.split('{').next() == Some(name) && with.iter().all(|w| k.contains(w)))
        .map(|(_, v)| *v)
}

struct Pods {
    redis: Vec<String>,
    sentinels: Vec<String>,
    redis_port: u16,
    sentinel_port: u16,
    metrics_port: u16,
}

impl Pods {
    fn scrape(&self, c: &Cluster, pod: &str) -> Result<Scrape> {
        Ok(parse(&c.http_get(pod, self.metrics_port, "/metrics")?))
    }

    /// Scrapes every pod; `pod -> series`.
    fn scrape_all(&self, c: &Cluster) -> Result<BTreeMap<String, Scrape>> {
        self.redis
            .iter()
            .chain(&self.sentinels)
            .map(|p| Ok((p.clone(), self.scrape(c, p)?)))
            .collect()
    }

    /// Waits until the scraped series show `master` as the only master with
    /// `replicas` linked replicas, and every Sentinel naming it with quorum.
    fn wait_healthy(
        &self,
        c: &Cluster,
        master: &str,
        replicas: usize,
    ) -> Result<(BTreeMap<String, Scrape>, Duration)> {
        let addr = format!(
            "master_address=\"{}:{}\"",
            c.pod(master).fqdn,
            self.redis_port
        );
        let linked = format!("master_host=\"{}\"", c.pod(master).fqdn);
        wait_for(
            &format!("the metrics to show {master} as the one master with {replicas} replicas"),
            SETTLE,
            POLL,
            || {
                let all = self.scrape_all(c).map_err(|e| e.to_string())?;
                for (pod, s) in &all {
                    if value(s, "redis_up", &[]) != Some(1.0) {
                        return Err(format!("{pod}: redis_up {:?}", value(s, "redis_up", &[])));
                    }
                }
                for p in &self.redis {
                    let s = &all[p];
                    let role = if p == master { "master" } else { "slave" };
                    if value(s, "redis_instance_info", &[&format!("role=\"{role}\"")]) != Some(1.0)
                    {
                        return Err(format!("{p}: not role {role}"));
                    }
                    if p == master {
                        let n = value(s, "redis_connected_slaves", &[]);
                        if n != Some(replicas as f64) {
                            return Err(format!("{p}: redis_connected_slaves {n:?}"));
                        }
                    } else if value(s, "redis_master_link_up", &[&linked]) != Some(1.0) {
                        return Err(format!("{p}: redis_master_link_up to {master} is not 1"));
                    }
                }
                for p in &self.sentinels {
                    let s = &all[p];
                    let checks = [
                        ("redis_sentinel_master_status", 1.0),
                        (
                            "redis_sentinel_master_ok_sentinels",
                            self.sentinels.len() as f64,
                        ),
                        ("redis_sentinel_master_ok_slaves", replicas as f64),
                    ];
                    for (name, want) in checks {
                        let got = value(s, name, &[&addr]);
                        if got != Some(want) {
                            return Err(format!("{p}: {name}{{{addr}}} {got:?}, want {want}"));
                        }
                    }
                    let q = value(s, "redis_sentinel_master_ckquorum_status", &[]);
                    if q != Some(1.0) {
                        return Err(format!("{p}: ckquorum {q:?}"));
                    }
                }
                Ok(all)
            },
        )
    }
}

/// Series of every pod, one line each: `pod<TAB>series value`.
fn capture_text(all: &BTreeMap<String, Scrape>) -> String {
    let mut out = String::new();
    for (pod, s) in all {
        for (k, v) in s {
            out.push_str(&format!("{pod}\t{k} {v}\n"));
        }
    }
    out
}

fn save_capture(c: &Cluster, name: &str, all: &BTreeMap<String, Scrape>) -> Result<()> {
    let text = capture_text(all);
    std::fs::write(c.work.join(format!("{name}.prom")), &text)?;
    if std::env::var_os("UPDATE_METRICS_CAPTURE").is_some() {
        std::fs::write(Path::new(CAPTURE_DIR).join(format!("{name}.prom")), &text)?;
    }
    Ok(())
}

fn print_summary(label: &str, pods: &Pods, all: &BTreeMap<String, Scrape>) {
    for p in &pods.redis {
        let s = &all[p];
        let role = if value(s, "redis_instance_info", &["role=\"master\""]).is_some() {
            "master"
        } else if value(s, "redis_instance_info", &["role=\"slave\""]).is_some() {
            "slave"
        } else {
            "-"
        };
        println!(
            "metrics {label}: {p}: redis_up={:?} role={role} connected_slaves={:?} master_link_up={:?}",
            value(s, "redis_up", &[]).unwrap_or(f64::NAN),
            value(s, "redis_connected_slaves", &[]),
            value(s, "redis_master_link_up", &[]),
        );
    }
    for p in &pods.sentinels {
        let s = &all[p];
        let status = s
            .iter()
            .find(|(k, _)| k.starts_with("redis_sentinel_master_status{"))
            .map(|(k, v)| format!("{k} {v}"))
            .unwrap_or_default();
        println!(
            "metrics {label}: {p}: {status}; ckquorum={:?} ok_sentinels={:?} ok_slaves={:?}",
            value(s, "redis_sentinel_master_ckquorum_status", &[]),
            value(s, "redis_sentinel_master_ok_sentinels", &[]),
            value(s, "redis_sentinel_master_ok_slaves", &[]),
        );
    }
}

/// The exporter user may scrape (`INFO`) and nothing else asked of it.
fn check_exporter_acl(c: &Cluster, render: &Render, host: &str, port: u16) -> Result<()> {
    let pw = render
        .secret_text("cache-metrics-auth", "exporter-password")?
        .context("the metrics Secret holds the exporter's password")?;
    let creds = Credentials {
        user: Some("exporter".into()),
        password: pw,
    };
    let cli = |args: &[&str]| c.client().cli(Tls::Client, Some(&creds), host, port, args);
    let info = cli(&["INFO", "replication"])?;
    ensure!(
        info.stdout.contains("role:"),
        "exporter user INFO: {}",
        info.summary()
    );
    for args in [
        &["CONFIG", "SET", "maxmemory", "1"][..],
        &["CONFIG", "GET", "masterauth"],
        &["FLUSHALL"],
        &["GET", "e2e:metrics:0"],
        &["SET", "e2e:metrics:x", "1"],
        &["SLOWLOG", "GET", "1"],
        &["ACL", "LIST"],
        &["SUBSCRIBE", "x"],
    ] {
        let r = cli(args)?;
        ensure!(
            r.text().contains("NOPERM"),
            "the exporter user was not refused {args:?}: {}",
            r.summary()
        );
    }
    println!(
        "e2e metrics: exporter user -> INFO allowed; CONFIG SET, CONFIG GET, FLUSHALL, GET, SET, SLOWLOG GET, ACL LIST, SUBSCRIBE refused (NOPERM)"
    );
    Ok(())
}

/// What `ACL LOG` on `host` recorded for the exporter user: every refused
/// command (object) by name.
fn exporter_acl_log(c: &Cluster, render: &Render, host: &str, port: u16) -> Result<Vec<String>> {
    let creds = Credentials {
        user: Some("admin".into()),
        password: render
            .secret_text("cache-auth", "admin-password")?
            .context("admin password")?,
    };
    let r = c
        .client()
        .cli(Tls::Client, Some(&creds), host, port, &["ACL", "LOG"])?;
    ensure!(r.success, "ACL LOG: {}", r.summary());
    // Flat reply: entries of key/value lines; collect (object, username).
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    let mut out = Vec::new();
    let mut object = None;
    for w in lines.windows(2) {
        match w[0] {
            "object" => object = Some(w[1].to_string()),
            "username" if w[1] == "exporter" => {
                if let Some(o) = object.take() {
                    out.push(o);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Renders `fixture`, brings every pod up as after `kubectl apply` (see
/// tests/e2e_topology.rs) and checks each exporter sidecar runs as its
/// template says.
fn bring_up(fixture: &str) -> Result<(Render, Cluster, Pods)> {
    let t0 = Instant::now();
    let render = Render::spec(Path::new(fixture))?;
    let redis_w = render.workload_of("redis")?;
    let sentinel_w = render.workload_of("sentinel")?;
    ensure!(
        redis_w.sidecars.len() == 1 && sentinel_w.sidecars.len() == 1,
        "one exporter sidecar per pod"
    );
    let exporter = &redis_w.sidecars[0];
    let mut c = Cluster::new(&render, ClusterOptions::default())?;
    let p = Pods {
        redis: c.pods_of(&redis_w.name),
        sentinels: c.pods_of(&sentinel_w.name),
        redis_port: redis_w.port("redis")?,
        metrics_port: exporter.port("metrics")?,
        sentinel_port: sentinel_w.port("sentinel")?,
    };
    c.create(&p.redis[0])?;
    for s in &p.sentinels {
        c.create(s)?;
        c.start(s)?;
    }
    for s in &p.sentinels {
        c.wait_ready(s, READY)?;
    }
    for r in &p.redis {
        c.start(r)?;
        c.wait_ready(r, READY)?;
    }
    for pod in p.redis.iter().chain(&p.sentinels) {
        ensure!(
            c.sidecar_running(pod, "exporter")?,
            "{pod}: exporter exited:\n{}",
            c.sidecar_log_tail(pod, "exporter", 20)
        );
        c.check_pod_security(pod)?;
    }
    println!(
        "e2e metrics: {fixture}: 6 pods with exporter sidecars ready {} (exporters run as uid {:?}, no new privileges, no capabilities)",
        secs(t0.elapsed()),
        exporter.run_as_user
    );
    Ok((render, c, p))
}

/// Password mode: the exporters use the one Redis password (no ACL user)
/// and Sentinel's; every series is healthy.
#[test]
fn exporters_in_password_mode() -> Result<()> {
    harness::require_environment()?;
    let (render, mut c, p) = bring_up(FIXTURE_PASSWORD)?;
    ensure!(
        render
            .secret_text("cache-metrics-auth", "exporter-user.conf")?
            .is_none(),
        "no exporter ACL user in password mode"
    );
    let (all, took) = p.wait_healthy(&c, &p.redis[0].clone(), 2)?;
    print_summary("password mode", &p, &all);
    println!(
        "e2e metrics: password mode: healthy series {} after bring-up",
        secs(took)
    );
    c.pass();
    Ok(())
}

#[test]
fn exporters_as_sidecars_through_a_failover() -> Result<()> {
    harness::require_environment()?;
    let t0 = Instant::now();
    let version = run_ok(
        Command::new("prometheus-redis-exporter").arg("--version"),
        Duration::from_secs(10),
    )
    .or_else(|_| {
        // 1.45 prints its version on stderr.
        let o = harness::run(
            Command::new("prometheus-redis-exporter").arg("--version"),
            Duration::from_secs(10),
        )?;
        Ok::<_, anyhow::Error>(String::from_utf8_lossy(&o.stderr).into_owned())
    })?;
    println!("e2e metrics: exporter: {}", version.trim());
    let (render, mut c, p) = bring_up(FIXTURE)?;
    // ---- before: one master, two linked replicas, Sentinels agree
    let master = p.redis[0].clone();
    let (before, took) = p.wait_healthy(&c, &master, 2)?;
    println!("e2e metrics: healthy series {} after bring-up", secs(took));
    print_summary("before", &p, &before);
    save_capture(&c, "healthy", &before)?;
    let master_fqdn = c.pod(&master).fqdn.clone();
    check_exporter_acl(&c, &render, &master_fqdn, p.redis_port)?;

    // Acknowledged writes survive the failover.
    let mut mset = String::from("MSET");
    for i in 0..100 {
        mset.push_str(&format!(" e2e:metrics:{i} v{i}"));
    }
    let r = c.client().redis_pipe(
        &master_fqdn,
        p.redis_port,
        &format!("{mset}\nWAIT 2 5000\n"),
    )?;
    ensure!(
        r.lines() == ["OK", "2"],
        "writes not acknowledged: {}",
        r.summary()
    );

    // ---- during: SIGKILL of the master's Redis (its exporter keeps running)
    let killed = Instant::now();
    c.kill(&master)?;
    let mut during = BTreeMap::new();
    for pod in p.redis.iter().chain(&p.sentinels) {
        during.insert(pod.clone(), p.scrape(&c, pod)?);
    }
    let scraped_in = killed.elapsed();
    ensure!(
        value(&during[&master], "redis_up", &[]) == Some(0.0),
        "{master}'s exporter still reports redis_up 1 after the kill"
    );
    for r in p.redis.iter().filter(|r| **r != master) {
        let link = value(&during[r], "redis_master_link_up", &[]);
        let slave = value(&during[r], "redis_instance_info", &["role=\"slave\""]);
        ensure!(
            link == Some(0.0) && slave == Some(1.0),
            "{r} right after the kill: master_link_up {link:?}, role slave {slave:?} (scraped {} after the kill)",
            secs(scraped_in)
        );
    }
    print_summary("during", &p, &during);
    println!(
        "e2e metrics: during (scraped {} after the kill): old master redis_up 0, replicas master_link_up 0, no master",
        secs(scraped_in)
    );
    save_capture(&c, "master-down", &during)?;

    // ---- failover: the Sentinels promote a replica
    let old = master_fqdn.clone();
    let (new_master, _) = wait_for("a new master named by Sentinel", SETTLE, POLL, || {
        let s = &p.sentinels[0];
        let r = c
            .client()
            .sentinel(
                &c.pod(s).fqdn,
                p.sentinel_port,
                &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
            )
            .map_err(|e| e.to_string())?;
        let host = r.lines().first().map(|h| h.to_string()).unwrap_or_default();
        if host.is_empty() || host == old {
            return Err(format!("{s} names {host:?}"));
        }
        p.redis
            .iter()
            .find(|x| c.pod(x).fqdn == host)
            .cloned()
            .ok_or(format!("unknown host {host}"))
    })?;
    let failover = killed.elapsed();
    let (mid, took) = p.wait_healthy_without(&c, &new_master, &master)?;
    println!(
        "e2e metrics: {new_master} promoted {} after the kill; its series show it master with 1 replica {} later",
        secs(failover),
        secs(took)
    );
    print_summary("failed-over", &p, &mid);

    // ---- after: the old master's pod restarts and rejoins as a replica
    c.start(&master)?;
    c.wait_ready(&master, READY)?;
    let (after, took) = p.wait_healthy(&c, &new_master, 2)?;
    print_summary("after", &p, &after);
    println!(
        "e2e metrics: after: {master} back as a replica of {new_master}; series healthy {} after its restart",
        secs(took)
    );
    save_capture(&c, "after-failover", &after)?;
    let new_fqdn = c.pod(&new_master).fqdn.clone();
    let got = c.client().redis(
        &new_fqdn,
        p.redis_port,
        &["MGET", "e2e:metrics:0", "e2e:metrics:99"],
    )?;
    ensure!(
        got.lines() == ["v0", "v99"],
        "acknowledged writes missing on {new_master}: {}",
        got.summary()
    );

    // The exporters asked for nothing beyond their rules but SLOWLOG GET
    // (1.45 and 1.73 call it every scrape; refused on purpose).
    for pod in &p.redis {
        let refused = exporter_acl_log(&c, &render, &c.pod(pod).fqdn, p.redis_port)?;
        // Its own exporter asked SLOWLOG GET on every scrape: the log was
        // read, and nothing else was refused.
        if refused.is_empty() || refused.iter().any(|o| o != "slowlog|get") {
            bail!("{pod}: ACL LOG shows the exporter refused {refused:?}");
        }
    }
    println!(
        "e2e metrics: ACL LOG on every Redis pod: the exporter user was refused only slowlog|get; 100 WAIT-acknowledged writes kept; total {}",
        secs(t0.elapsed())
    );
    c.pass();
    Ok(())
}

impl Pods {
    /// After a failover with `down` still dead: `master` is the only
    /// master with one replica, Sentinels name it.
    fn wait_healthy_without(
        &self,
        c: &Cluster,
        master: &str,
        down: &str,
    ) -> Result<(BTreeMap<String, Scrape>, Duration)> {
        let addr = format!(
            "master_address=\"{}:{}\"",
            c.pod(master).fqdn,
            self.redis_port
        );
        wait_for(
            &format!("the metrics to show {master} as master with 1 replica"),
            SETTLE,
            POLL,
            || {
                let all = self.scrape_all(c).map_err(|e| e.to_string())?;
                let masters: Vec<&String> = self
                    .redis
                    .iter()
                    .filter(|p| {
                        value(&all[*p], "redis_instance_info", &["role=\"master\""]).is_some()
                    })
                    .collect();
                if masters != [master] {
                    return Err(format!("masters {masters:?}"));
                }
                if value(&all[master], "redis_connected_slaves", &[]) != Some(1.0) {
                    return Err(format!("{master}: connected_slaves not 1"));
                }
                if value(&all[down], "redis_up", &[]) != Some(0.0) {
                    return Err(format!("{down}: redis_up not 0"));
                }
                for s in &self.sentinels {
                    if value(&all[s], "redis_sentinel_master_status", &[&addr]).is_none() {
                        return Err(format!("{s} does not name {master}"));
                    }
                }
                Ok(all)
            },
        )
    }
}
