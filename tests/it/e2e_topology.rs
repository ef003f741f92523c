//! End-to-end: the rendered topology on real Redis 7 processes.
//!
//! Renders tests/fixtures/e2e-topology.yaml (3 Redis pods, 3 Sentinels, TLS
//! everywhere, client certificates required, no plaintext ports; and a
//! variant in the legacy password auth mode; the default has ACL users), runs every pod as a real `redis-server` /
//! `redis-sentinel` in its own network namespace with the generated files
//! mounted at the real pod paths and the generated start scripts as the
//! container command (see tests/it/harness), then checks replication, TLS
//! enforcement, Sentinel agreement, failover and restarts. Needs root and the
//! Redis packages (.ci/install.d); fails, never skips, where it cannot run.
//! Figures are printed: `cargo nextest run --no-capture -E 'test(/^e2e_topology::/)'`.

use crate::harness;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::{
    Cluster, ClusterOptions, Credentials, POLL, READY, Render, Reply, SETTLE, Tls, TlsFiles, Topo,
    expect_decision, run_ok, secs, seen, wait_for,
};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-topology.yaml"
);
const FIXTURE_AUTH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/e2e-topology-auth.yaml"
);
/// `sentinel.masterName` of the fixtures (its default: the instance name).
const MASTER_NAME: &str = "cache";
/// `downAfterMilliseconds` and `failoverTimeout` of the fixtures.
const DOWN_AFTER: Duration = Duration::from_millis(2_000);
const FAILOVER_TIMEOUT: Duration = Duration::from_millis(10_000);

/// A client certificate (clientAuth) from a CA the topology does not know.
fn foreign_client_cert(dir: &Path, real_ca: &Path) -> Result<TlsFiles> {
    std::fs::create_dir_all(dir)?;
    let p = |f: &str| dir.join(f).display().to_string();
    let t = Duration::from_secs(30);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-days", "2", "-subj", "/CN=foreign-ca"])
            .args(ec)
            .args(["-keyout", &p("ca.key"), "-out", &p("ca.crt")]),
        t,
    )?;
    run_ok(
        Command::new("openssl")
            .args(["req", "-subj", "/CN=cache-client"])
            .args(ec)
            .args(["-keyout", &p("tls.key"), "-out", &p("tls.csr")]),
        t,
    )?;
    std::fs::write(
        dir.join("ext.cnf"),
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    )?;
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .args([
                "-in",
                &p("tls.csr"),
                "-CA",
                &p("ca.crt"),
                "-CAkey",
                &p("ca.key"),
            ])
            .args(["-extfile", &p("ext.cnf"), "-out", &p("tls.crt")]),
        t,
    )?;
    Ok(TlsFiles {
        // Trust the real CA for the server; present the foreign certificate.
        ca: real_ca.to_path_buf(),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    })
}

/// The whole scenario on one fixture.
fn scenario(fixture: &str) -> Result<()> {
    harness::require_environment()?;
    let test_start = Instant::now();
    let opts = ClusterOptions::default();
    println!(
        "e2e: server {}: {}",
        opts.server.name,
        opts.server.version()?
    );
    println!("e2e: fixture {fixture}");

    let render = Render::spec(Path::new(fixture))?;
    let redis_w = render.workload_of("redis")?;
    let sentinel_w = render.workload_of("sentinel")?;
    let mut c = Cluster::new(&render, opts)?;
    let t = Topo::new(&render, &c)?;
    t.ensure_pods(3, 3)?;
    ensure!(
        redis_w.ordered_ready && !sentinel_w.ordered_ready,
        "Redis is OrderedReady, Sentinel Parallel"
    );
    let auth = c.client().redis_auth.is_some();
    println!(
        "e2e: pods run as uid {:?} gid {:?} fsGroup {:?}; auth Secret in the render: {}",
        redis_w.run_as_user,
        redis_w.run_as_group,
        redis_w.fs_group,
        if auth {
            "yes (passwords via REDISCLI_AUTH)"
        } else {
            "no"
        }
    );

    // ---- bring-up, as after `kubectl apply`: redis-0 and every Sentinel
    // pod are created at once (OrderedReady / Parallel). Here the Sentinels
    // come up first (the Redis image is still pulling): they monitor
    // redis-0 before it runs, the case a start script must not mistake for
    // "I am a restarted master; wait for a failover".
    let bring_up = Instant::now();
    harness::start_sentinels_first(&mut c, &t)?;
    println!(
        "e2e: Sentinels ready {} after creation, monitoring {} before it runs",
        secs(bring_up.elapsed()),
        t.redis[0]
    );
    for r in &t.redis {
        c.start(r)?;
        let took = c.wait_ready(r, READY)?;
        println!("e2e: {r} ready {} after its start", secs(took));
        if r == &t.redis[0] {
            ensure!(
                took < DOWN_AFTER + FAILOVER_TIMEOUT,
                "{r} took {} to start on a fresh install: it waited for a failover that cannot happen",
                secs(took)
            );
            expect_decision(&c, r, "starting as master")?;
        } else {
            let m = c.pod(&t.redis[0]).fqdn.clone();
            expect_decision(&c, r, &format!("starting as replica of {m}"))?;
        }
    }
    println!(
        "e2e: all 6 pods ready {} after the first was created",
        secs(bring_up.elapsed())
    );
    for p in t.redis.iter().chain(&t.sentinels) {
        let summary = c.check_pod_security(p)?;
        if p == &t.redis[0] || p == &t.sentinels[0] {
            println!("e2e: {p} runs as in its pod template: {summary}, file modes as rendered");
        }
    }
    let master = t.redis[0].clone();

    // ---- 1. replication over TLS
    let (_, took) = wait_for("the master to accept a write", SETTLE, POLL, || {
        let r = seen(t.redis(&c, &master, &["SET", "e2e:check1", "hello"]))?;
        if r.is("OK") { Ok(()) } else { Err(r.summary()) }
    })?;
    println!(
        "e2e: master {master} accepts writes {} after all pods were ready (min-replicas-to-write)",
        secs(took)
    );
    for r in &t.redis[1..] {
        let took = t.wait_replica_of(&c, r, &master)?;
        wait_for(&format!("the write to reach {r}"), SETTLE, POLL, || {
            let g = seen(t.redis(&c, r, &["GET", "e2e:check1"]))?;
            if g.is("hello") {
                Ok(())
            } else {
                Err(g.summary())
            }
        })?;
        println!(
            "e2e: {r}: role slave of {master}, master_link_status:up over TLS (+{}), has the write",
            secs(took)
        );
    }
    let info = t.replication(&c, &master).map_err(anyhow::Error::msg)?;
    ensure!(
        info.get("role").map(String::as_str) == Some("master")
            && info.get("connected_slaves").map(String::as_str) == Some("2"),
        "{master}: {info:?}"
    );
    println!(
        "CHECK 1 passed: master accepts writes; 2 replicas with master_link_status:up over TLS; data replicated"
    );

    // ---- 2. TLS (and password) enforcement
    let client = c.client();
    let ca = client
        .tls
        .as_ref()
        .context("the render has no client certificate Secret")?
        .ca
        .clone();
    let foreign = foreign_client_cert(&c.work.join("foreign"), &ca)?;
    let targets: Vec<(String, u16, Option<&Credentials>)> = vec![
        (
            t.fqdn(&c, &master),
            t.redis_port,
            client.redis_auth.as_ref(),
        ),
        (
            t.fqdn(&c, &t.sentinels[0]),
            t.sentinel_port,
            client.sentinel_auth.as_ref(),
        ),
    ];
    for (host, port, creds) in &targets {
        let good = client.cli(Tls::Client, *creds, host, *port, &["PING"])?;
        ensure!(
            good.is("PONG"),
            "{host}:{port} with the generated client certificate: {}",
            good.summary()
        );
        let no_cert = client.cli(Tls::NoCert, *creds, host, *port, &["PING"])?;
        ensure!(
            !no_cert.text().contains("PONG"),
            "{host}:{port} answered a client without a certificate: {}",
            no_cert.summary()
        );
        let plain = client.cli(Tls::Plain, *creds, host, *port, &["PING"])?;
        ensure!(
            !plain.text().contains("PONG"),
            "{host}:{port} answered plaintext: {}",
            plain.summary()
        );
        let rogue = client.cli(Tls::Files(&foreign), *creds, host, *port, &["PING"])?;
        ensure!(
            !rogue.text().contains("PONG"),
            "{host}:{port} accepted a certificate from a foreign CA: {}",
            rogue.summary()
        );
        let last = |r: &Reply| {
            r.stderr
                .trim()
                .lines()
                .last()
                .unwrap_or(r.text())
                .to_string()
        };
        println!(
            "e2e: {host}:{port}: without certificate -> {:?}; foreign CA -> {:?}",
            last(&no_cert),
            last(&rogue)
        );
        if creds.is_some() {
            let anon = client.cli(Tls::Client, None, host, *port, &["PING"])?;
            ensure!(
                anon.text().contains("NOAUTH"),
                "{host}:{port} answered without a password: {}",
                anon.summary()
            );
            println!(
                "e2e: {host}:{port}: certificate but no password -> {:?}",
                anon.text()
            );
        }
    }
    for (pods, port) in [(&t.redis, t.redis_port), (&t.sentinels, t.sentinel_port)] {
        for p in pods {
            let ports = c.listening_ports(p)?;
            ensure!(
                ports.iter().copied().eq([port]),
                "{p} listens on {ports:?}; only the TLS port {port} may be open"
            );
        }
    }
    // ACL mode: the application user may not administer, and the internal
    // users may do only their job.
    let acl = c
        .client()
        .redis_auth
        .as_ref()
        .is_some_and(|a| a.user.is_some());
    if acl {
        let denied = t.redis(&c, &master, &["CONFIG", "SET", "maxmemory", "1"])?;
        ensure!(
            denied.stdout.contains("NOPERM"),
            "app user ran CONFIG SET: {denied:?}"
        );
        let role = t.redis(&c, &master, &["ROLE"])?;
        ensure!(
            role.stdout.starts_with("master"),
            "app user may call ROLE (Sentinel clients do): {role:?}"
        );
        let pw = render
            .secret_text("cache-auth", "replication-password")?
            .context("replication password")?;
        let creds = Credentials {
            user: Some("replication".into()),
            password: pw,
        };
        let get = c.client().cli(
            Tls::Client,
            Some(&creds),
            &t.fqdn(&c, &master),
            t.redis_port,
            &["GET", "k"],
        )?;
        ensure!(
            get.stdout.contains("NOPERM"),
            "replication user may only replicate: {get:?}"
        );
        println!(
            "e2e: ACL: app user -> CONFIG SET refused (NOPERM), ROLE allowed; replication user -> GET refused (NOPERM)"
        );
    }
    println!(
        "CHECK 2 passed: no client certificate -> refused; foreign-CA certificate -> refused; plaintext -> refused; only TLS ports listen{}",
        if auth { "; no password -> NOAUTH" } else { "" }
    );

    // ---- 3. the Sentinels agree and see each other
    let took = t.wait_sentinels_agree(&c, &master, 2)?;
    t.ensure_quorum(&c, "OK 3 usable Sentinels")?;
    for s in &t.sentinels {
        let peers = t.sentinel(&c, s, &["SENTINEL", "sentinels", MASTER_NAME])?;
        for o in t.sentinels.iter().filter(|o| *o != s) {
            ensure!(
                peers.stdout.contains(&t.fqdn(&c, o)),
                "{s} does not know {o} by its DNS name: {}",
                peers.summary()
            );
        }
    }
    println!(
        "CHECK 3 passed: every Sentinel names {} (+{}), num-other-sentinels=2, num-slaves=2, CKQUORUM OK, peers known by DNS name",
        t.fqdn(&c, &master),
        secs(took)
    );

    // ---- 4. the master's process dies; the Sentinels fail over
    t.acked_writes(&c, &master, "e2e:before-kill", 100)?;
    let killed = Instant::now();
    c.kill(&master)?;
    let (new_master, named, writable) = t.wait_new_master(&c, &t.sentinels, &master, killed)?;
    println!(
        "e2e: FAILOVER after SIGKILL of {master}: Sentinel names {new_master} after {}, first write on it after {} (down-after {} + failover-timeout {})",
        secs(named),
        secs(writable),
        secs(DOWN_AFTER),
        secs(FAILOVER_TIMEOUT)
    );
    ensure!(
        writable <= DOWN_AFTER + FAILOVER_TIMEOUT,
        "failover took {} (> down-after + failover-timeout)",
        secs(writable)
    );
    t.ensure_keys(&c, &new_master, "e2e:before-kill", 100)?;
    let other = t
        .redis
        .iter()
        .find(|p| **p != master && **p != new_master)
        .cloned()
        .context("a third Redis pod")?;
    t.wait_replica_of(&c, &other, &new_master)?;
    println!(
        "CHECK 4 passed: {new_master} elected and writable {} after the kill; 100 WAIT-acknowledged writes present on it; {other} follows it",
        secs(writable)
    );

    // ---- 5. the old master's pod restarts with the generated start script
    let restarted = Instant::now();
    c.start(&master)?;
    let ready = c.wait_ready(&master, READY)?;
    t.wait_replica_of(&c, &master, &new_master)?;
    let linked = restarted.elapsed();
    let roles = t.ensure_single_master(&c, &new_master)?;
    // The script's own decision, not a later correction by Sentinel: no
    // moment with two masters.
    expect_decision(
        &c,
        &master,
        &format!("starting as replica of {}", t.fqdn(&c, &new_master)),
    )?;
    wait_for(
        &format!("{master} to have the post-failover write"),
        SETTLE,
        POLL,
        || {
            let g = seen(t.redis(&c, &master, &["GET", "harness:writable"]))?;
            if g.is("yes") {
                Ok(())
            } else {
                Err(g.summary())
            }
        },
    )?;
    t.wait_sentinels_agree(&c, &new_master, 2)?;
    println!(
        "CHECK 5 passed: {master} restarted as a replica of {new_master} (ready {}, link up {}, Sentinels list it healthy {}); roles {roles:?}",
        secs(ready),
        secs(linked),
        secs(restarted.elapsed())
    );

    // ---- 6. a Sentinel restarts and monitors the current master
    let s0 = t.sentinels[0].clone();
    let stopped = c.stop(&s0)?;
    let restart = Instant::now();
    c.start(&s0)?;
    c.wait_ready(&s0, READY)?;
    let h = t.sentinel_master(&c, &s0).map_err(anyhow::Error::msg)?;
    ensure!(
        h == t.fqdn(&c, &new_master),
        "restarted {s0} monitors {h}, not the current master"
    );
    expect_decision(
        &c,
        &s0,
        &format!("monitoring {MASTER_NAME} at {}", t.fqdn(&c, &new_master)),
    )?;
    t.wait_sentinels_agree(&c, &new_master, 2)?;
    t.ensure_quorum(&c, "OK 3 usable Sentinels")?;
    println!(
        "CHECK 6 passed: {s0} (SIGTERM, stopped in {}) restarted monitoring {new_master}; peers and replicas agree {} after its start",
        secs(stopped),
        secs(restart.elapsed())
    );

    // ---- 7. the master crashes and kubelet restarts it at once: its start
    // script finds the Sentinels still naming it, waits for their failover
    // and rejoins as a replica (the restarted Sentinel takes part).
    let m2 = new_master.clone();
    t.acked_writes(&c, &m2, "e2e:before-crash", 100)?;
    let crashed = Instant::now();
    c.kill(&m2)?;
    c.start(&m2)?;
    let (m3, named, writable) = t.wait_new_master(&c, &t.sentinels, &m2, crashed)?;
    ensure!(
        writable <= DOWN_AFTER + FAILOVER_TIMEOUT,
        "failover took {} (> down-after + failover-timeout)",
        secs(writable)
    );
    t.ensure_keys(&c, &m3, "e2e:before-crash", 100)?;
    c.wait_ready(&m2, READY)?;
    t.wait_replica_of(&c, &m2, &m3)?;
    let rejoined = crashed.elapsed();
    let roles = t.ensure_single_master(&c, &m3)?;
    expect_decision(
        &c,
        &m2,
        "still name this pod as master: waiting for failover",
    )?;
    expect_decision(
        &c,
        &m2,
        &format!("starting as replica of {}", t.fqdn(&c, &m3)),
    )?;
    t.ensure_keys(&c, &m2, "e2e:before-crash", 100)?;
    t.wait_sentinels_agree(&c, &m3, 2)?;
    println!(
        "e2e: FAILOVER with immediate restart of {m2}: Sentinel names {m3} after {}, writable after {}, {m2} back as its replica after {}",
        secs(named),
        secs(writable),
        secs(rejoined)
    );
    println!(
        "CHECK 7 passed: crash + immediate restart of {m2}: it waited for the failover to {m3} and rejoined as a replica; acknowledged writes kept; roles {roles:?}"
    );

    println!("e2e: total {}", secs(test_start.elapsed()));
    c.pass();
    Ok(())
}

#[test]
fn tls_topology() -> Result<()> {
    scenario(FIXTURE)
}

#[test]
fn tls_topology_with_password_auth() -> Result<()> {
    scenario(FIXTURE_AUTH)
}

/// The harness' controls that later partition tests rely on: cut/heal a
/// pod's link, a new address for a pod (DNS follows), a pod deleted and
/// recreated.
#[test]
fn harness_network_controls() -> Result<()> {
    harness::require_environment()?;
    let render = Render::spec(Path::new(FIXTURE))?;
    let redis_w = render.workload_of("redis")?;
    let port = redis_w.port("redis")?;
    let mut c = Cluster::new(&render, ClusterOptions::default())?;
    let pod = redis_w.pod_name(0);
    c.start(&pod)?;
    c.wait_ready(&pod, READY)?;
    let fqdn = c.pod(&pod).fqdn.clone();
    let ping = |c: &Cluster, host: &str| {
        c.client()
            .redis(host, port, &["PING"])
            .is_ok_and(|r| r.is("PONG"))
    };
    ensure!(ping(&c, &fqdn), "{pod} does not answer");

    c.cut(&pod)?;
    ensure!(!ping(&c, &fqdn), "{pod} still answers with its link cut");
    ensure!(
        c.probe(&pod)?,
        "{pod} should still answer on its own loopback while cut"
    );
    c.heal(&pod)?;
    wait_for("the healed pod to answer", SETTLE, POLL, || {
        if ping(&c, &fqdn) {
            Ok(())
        } else {
            Err("no PONG".into())
        }
    })?;

    let old = c.pod(&pod).ip;
    let new = c.fresh_ip()?;
    c.set_ip(&pod, new)?;
    let resolved = run_ok(
        c.client().command("getent").args(["hosts", &fqdn]),
        Duration::from_secs(5),
    )?;
    ensure!(
        resolved.starts_with(&format!("{new} ")),
        "{fqdn} resolves to {resolved:?}, not {new}"
    );
    ensure!(
        ping(&c, &fqdn),
        "{pod} does not answer at its new address {new}"
    );
    ensure!(
        !ping(&c, &old.to_string()),
        "{pod} still answers at its old address {old}"
    );

    c.delete(&pod)?;
    let gone = harness::run(
        c.client().command("getent").args(["hosts", &fqdn]),
        Duration::from_secs(5),
    )?;
    ensure!(!gone.status.success(), "a deleted pod keeps its DNS record");
    c.start(&pod)?;
    c.wait_ready(&pod, READY)?;
    ensure!(
        c.pod(&pod).starts == 2 && ping(&c, &fqdn),
        "{pod} did not come back"
    );
    println!(
        "e2e harness: cut/heal, address {old} -> {new} with DNS following, delete/recreate: all work"
    );
    c.pass();
    Ok(())
}
