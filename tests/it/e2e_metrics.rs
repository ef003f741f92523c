//! End-to-end: the metrics exporters as the pods' sidecars on real Redis 7.
//!
//! Renders tests/fixtures/e2e-metrics.yaml (TLS everywhere, client
//! certificates required, ACL users, metrics on) and runs every container of
//! each pod template (tests/it/harness): the generated start scripts and Debian's
//! `prometheus-redis-exporter` standing in for the image's `/redis_exporter`,
//! with the rendered arguments, mounts and user. Scrapes `/metrics` inside each
//! pod's network namespace and checks the series the alert rules use, before,
//! during and after a real failover (SIGKILL of the master); checks that the
//! exporter's ACL user may scrape and nothing else. The scraped series are
//! written to the target directory, and with `UPDATE_METRICS_CAPTURE=1` to
//! tests/fixtures/metrics/ (the rule tests, tests/it/metrics_rules.rs, feed
//! them to `promtool test rules`). Figures: `cargo nextest run --no-capture -E
//! 'test(/^e2e_metrics::/)'`.

use crate::harness;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use harness::metrics::{self as series, Capture, Scrape, value};
use harness::{Cluster, Credentials, READY, Render, Tls, Topo, secs, wait_for};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-metrics.yaml"
);
const FIXTURE_PASSWORD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-metrics-password.yaml"
);
const CAPTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics");
const POLL: Duration = Duration::from_millis(250);
const SETTLE: Duration = Duration::from_secs(40);

/// The running topology and its exporters' port.
struct Pods {
    t: Topo,
    redis: Vec<String>,
    sentinels: Vec<String>,
    redis_port: u16,
    metrics_port: u16,
}

impl Pods {
    fn scrape(&self, c: &Cluster, pod: &str) -> Result<Scrape> {
        series::scrape(c, pod, self.metrics_port)
    }

    /// Scrapes every pod; `pod -> series`.
    fn scrape_all(&self, c: &Cluster) -> Result<Capture> {
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
    ) -> Result<(Capture, Duration)> {
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

fn save_capture(c: &Cluster, name: &str, all: &Capture) -> Result<()> {
    let text = series::to_text(all);
    std::fs::write(c.work.join(format!("{name}.prom")), &text)?;
    if std::env::var_os("UPDATE_METRICS_CAPTURE").is_some() {
        std::fs::write(Path::new(CAPTURE_DIR).join(format!("{name}.prom")), &text)?;
    }
    Ok(())
}

fn print_summary(label: &str, pods: &Pods, all: &Capture) {
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

/// Renders `fixture`, brings it up with the shared harness (Sentinels
/// first, then Redis in order; every container of each pod) and checks
/// that each exporter sidecar runs as its template says.
fn bring_up(fixture: &str) -> Result<(Render, Cluster, Pods)> {
    let t0 = Instant::now();
    let render = Render::spec(Path::new(fixture))?;
    let redis_w = render.workload_of("redis")?;
    let sentinel_w = render.workload_of("sentinel")?;
    ensure!(
        redis_w.sidecars.len() == 1 && sentinel_w.sidecars.len() == 1,
        "one exporter sidecar per pod"
    );
    let exporter = redis_w.sidecars[0].clone();
    let (mut c, t) = harness::bring_up(&render)?;
    let p = Pods {
        redis: t.redis.clone(),
        sentinels: t.sentinels.clone(),
        redis_port: t.redis_port,
        metrics_port: exporter.port("metrics")?,
        t,
    };
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
    // 1.45 prints its version on stderr.
    let v = harness::run(
        Command::new("prometheus-redis-exporter").arg("--version"),
        Duration::from_secs(10),
    )?;
    println!(
        "e2e metrics: exporter: {}{}",
        String::from_utf8_lossy(&v.stdout).trim(),
        String::from_utf8_lossy(&v.stderr).trim()
    );
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
    p.t.acked_writes(&c, &master, "e2e:metrics", 100)?;

    // ---- during: SIGKILL of the master's Redis (its exporter keeps running)
    let killed = Instant::now();
    c.kill(&master)?;
    let mut during = Capture::new();
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
    let (new_master, named, writable) = p.t.wait_new_master(&c, &p.sentinels, &master, killed)?;
    println!(
        "e2e metrics: Sentinel names {new_master} {} after the kill, writable after {}",
        secs(named),
        secs(writable)
    );
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
    p.t.ensure_keys(&c, &new_master, "e2e:metrics", 100)?;
    p.t.ensure_keys(&c, &master, "e2e:metrics", 100)?;

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
    ) -> Result<(Capture, Duration)> {
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
