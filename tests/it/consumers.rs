//! End-to-end: consumer Secrets (`spec.consumers`) used by real clients on a
//! real topology (tests/it/harness: one network namespace per pod).
//!
//! Renders tests/fixtures/e2e-consumers.yaml (3 Redis, 3 Sentinels, TLS with
//! client certificates, ACL users; a 3scale consumer and a Service Binding
//! consumer), then from the client namespace:
//! - runs the `redis-cli` block of docs/connecting.md;
//! - mounts `backend-redis`, `system-redis` and the binding Secret as files
//!   and connects with redis-py through the guide's own snippets
//!   (`threescale.py` reads the 3scale Secrets as apisonator/porta do,
//!   `binding.py` reads the binding as a binding library does): a write and
//!   a read on storage, queues, system and the binding, each on its
//!   database, as its own ACL user, administrative commands refused;
//! - reads the 3scale Secrets with Ruby (redis-rb 4.8,
//!   tests/fixtures/consumer-client.rb) as 3scale-operator hands them to
//!   apisonator and porta (environment variables, PEM files mounted, each
//!   one's parsing rules): ROLE, database, user, TLS with hostname
//!   verification, SET/GET; the same parsing refuses what 3scale refuses;
//!   the rules 3scale's code depends on are checked on the Secrets;
//! - runs one writer per configuration (write, `WAIT 1`; redis-py and
//!   redis-rb), kills the master,
//!   and measures through each configuration the time from the kill to the
//!   first acknowledged write, the longest gap between acknowledged writes,
//!   and the acknowledged writes lost (must be 0).
//!
//! `CONSUMERS_RUNS=3` repeats the failover (the old master rejoins as a
//! replica between rounds); CI runs one round.
//!
//! Needs root, the Redis packages, redis-py, Ruby and redis-rb (.ci/install.d); fails, never
//! skips, where it cannot run. Figures: `cargo nextest run --no-capture
//! --test it -E 'test(/^consumers::/)'`.

use crate::harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::{
    ClientWriter, Cluster, Drivers, POLL, READY, Render, SETTLE, Topo, check_threescale_rules,
    extract_code_blocks, mount_secret, mount_threescale, python_with_redis, repo_path,
    ruby_with_redis, run, threescale_env, unix_now, wait_for,
};

/// The formats 3scale's parsers depend on, checked on the rendered Secret.
fn check_threescale_formats(render: &Render) -> Result<()> {
    let hosts = render.secret_key("backend-redis", "REDIS_STORAGE_SENTINEL_HOSTS")?;
    ensure!(!hosts.contains(' '), "no spaces in the host list: {hosts}");
    let want: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "rediss://cache-sentinel-{i}.cache-sentinel-headless.e2e.svc.cluster.local:26379"
            )
        })
        .collect();
    ensure!(hosts == want.join(","), "Sentinel hosts: {hosts}");
    for (secret, key, url) in [
        ("backend-redis", "REDIS_STORAGE_URL", "rediss://cache/0"),
        ("backend-redis", "REDIS_QUEUES_URL", "rediss://cache/1"),
        ("system-redis", "URL", "rediss://cache/2"),
    ] {
        ensure!(render.secret_key(secret, key)? == url, "{secret} {key}");
    }
    ensure!(render.secret_key("system-redis", "NAMESPACE")? == "system");
    ensure!(
        render
            .secret_key("backend-redis", "REDIS_STORAGE_SENTINEL_USERNAME")?
            .is_empty()
    );
    Ok(())
}

/// One configuration a client connects through.
struct Use {
    name: &'static str,
    dir: PathBuf,
    db: i64,
    user: &'static str,
    /// The rules refuse `KEYS` (3scale: `-@dangerous`).
    keys_denied: bool,
}

/// What the Ruby driver reads, and the database it must land on: apisonator
/// (storage, queues) and porta (system, and its view of storage).
const RUBY_USES: [(&str, i64); 4] = [
    ("storage", 0),
    ("queues", 1),
    ("system", 2),
    ("backend-porta", 0),
];

/// Connects through each 3scale configuration with redis-rb and checks
/// where it landed: ROLE, database, user, the master Sentinel names, TLS
/// with hostname verification (the master's IP address refused), SET/GET.
fn ruby_checks(c: &Cluster, d: &Drivers, master: &str, sentinels: usize) -> Result<()> {
    for (name, db) in RUBY_USES {
        let j = d.ruby_check(c, name)?;
        println!("consumers: ruby {name} check: {j}");
        ensure!(
            j["db"] == db,
            "ruby {name}: database {} (want {db})",
            j["db"]
        );
        ensure!(j["user"] == "threescale", "ruby {name}: user {}", j["user"]);
        ensure!(j["role"] == "master", "ruby {name}: ROLE {}", j["role"]);
        ensure!(j["master"] == master, "ruby {name}: master {}", j["master"]);
        ensure!(
            j["sentinels"] == sentinels,
            "ruby {name}: {} Sentinels",
            j["sentinels"]
        );
        ensure!(
            j["tls"] == true,
            "ruby {name}: TLS with hostname verification"
        );
        ensure!(
            j["ip_refused"] == true,
            "ruby {name}: the master by IP address must be refused: {}",
            j["ip_refused"]
        );
    }
    Ok(())
}

/// The same Ruby parsing refuses what 3scale's code refuses: each rule the
/// rendered Secrets keep (check_threescale_rules) matters to a real client.
fn ruby_refusals(c: &Cluster, d: &Drivers) -> Result<()> {
    let get = |k: &str| {
        d.ruby_env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let hosts = get("REDIS_SENTINEL_HOSTS");
    let url = get("REDIS_URL");
    let cases = [
        (
            "system",
            "REDIS_SENTINEL_HOSTS",
            hosts.replace(',', ", "),
            "space after a comma (porta)",
        ),
        (
            "system",
            "REDIS_URL",
            format!("{}/", url.rsplit_once('/').map_or("", |(a, _)| a)),
            "URL without a database (porta)",
        ),
        (
            "storage",
            "CONFIG_REDIS_PROXY",
            format!("{}/", url.rsplit_once('/').map_or("", |(a, _)| a)),
            "URL without a database (apisonator)",
        ),
        (
            "system",
            "REDIS_SENTINEL_ROLE",
            "MASTER".to_string(),
            "role in capitals",
        ),
        (
            "system",
            "REDIS_SENTINEL_USERNAME",
            "sentinel".to_string(),
            "a Sentinel username, no password",
        ),
    ];
    for (use_, var, value, what) in cases {
        let mut cmd = d.ruby(c, &["check", use_]);
        if var == "REDIS_SENTINEL_USERNAME" {
            cmd.env("REDIS_SENTINEL_PASSWORD", "");
        }
        cmd.env(var, &value);
        let out = run(&mut cmd, Duration::from_secs(60))?;
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or_default();
        ensure!(
            !out.status.success(),
            "ruby {use_} accepted {what}: {var}={value:?}"
        );
        println!("consumers: ruby {use_} refuses {what}: {first}");
    }
    // apisonator strips and skips empty entries: the same damage is harmless there.
    let mut cmd = d.ruby(c, &["check", "storage"]);
    let spaced = get("CONFIG_REDIS_SENTINEL_HOSTS").replace(',', ", ") + ",";
    cmd.env("CONFIG_REDIS_SENTINEL_HOSTS", &spaced);
    let out = run(&mut cmd, Duration::from_secs(60))?;
    ensure!(
        out.status.success(),
        "apisonator's parsing strips and skips empty entries: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn consumer_secrets_with_real_clients_through_a_failover() -> Result<()> {
    harness::require_environment()?;
    let py = python_with_redis()?;
    let render = Render::spec(&repo_path("tests/fixtures/e2e-consumers.yaml"))?;
    check_threescale_formats(&render)?;
    let rules = check_threescale_rules(&render, true)?;
    println!("consumers: 3scale rules hold for {rules} URLs and Sentinel entries");
    let (mut c, t) = harness::bring_up(&render)?;
    let work = c.work.join("consumers");
    let snippets = work.join("snippets");
    let blocks = extract_code_blocks(&repo_path("docs/connecting.md"), &snippets)?;
    for b in ["redis-cli.sh", "connect.py", "binding.py", "threescale.py"] {
        ensure!(
            blocks.iter().any(|n| n == b),
            "docs/connecting.md has no block {b}: {blocks:?}"
        );
    }

    // ---- the guide's redis-cli commands, with the Secrets mounted as files
    let auth = mount_secret(&render, "cache-auth", &work.join("auth"))?;
    let tls = mount_secret(&render, "cache-client-tls", &work.join("tls"))?;
    let mut cmd = c.client().command("sh");
    cmd.arg("-eu")
        .arg(snippets.join("redis-cli.sh"))
        .env("TLS", &tls)
        .env("AUTH", &auth)
        .env("SENTINEL", &c.pod(&t.sentinels[1]).fqdn)
        .env("MASTER_NAME", &t.master_name);
    let out = run(&mut cmd, Duration::from_secs(30))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let master0 = t.current_master(&c)?;
    ensure!(
        out.status.success()
            && stdout.contains(&format!("master: {}:6379", c.pod(&master0).fqdn))
            && stdout.lines().last() == Some("OK"),
        "redis-cli.sh: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "consumers: docs/connecting.md redis-cli block: {}",
        stdout.trim().replace('\n', " | ")
    );

    // ---- the consumer Secrets, mounted as files
    let mounts = mount_threescale(&render, &work)?;
    let (backend, system) = (
        mounts["backend-redis"].clone(),
        mounts["system-redis"].clone(),
    );
    let d = Drivers {
        python: py,
        snippets: snippets.clone(),
        ruby: ruby_with_redis()?,
        ruby_env: threescale_env(&render, &mounts)?,
    };
    let bindings = work.join("bindings");
    mount_secret(&render, "cache-orders-binding", &bindings.join("orders"))?;
    let uses = [
        Use {
            name: "storage",
            dir: backend.clone(),
            db: 0,
            user: "threescale",
            keys_denied: true,
        },
        Use {
            name: "queues",
            dir: backend,
            db: 1,
            user: "threescale",
            keys_denied: true,
        },
        Use {
            name: "system",
            dir: system,
            db: 2,
            user: "threescale",
            keys_denied: true,
        },
        Use {
            name: "binding",
            dir: bindings,
            db: 3,
            user: "orders",
            keys_denied: false,
        },
    ];
    for u in &uses {
        let j = d.python_check(&c, u.name, &u.dir)?;
        println!("consumers: {} check: {j}", u.name);
        ensure!(
            j["db"] == u.db,
            "{}: database {} (want {})",
            u.name,
            j["db"],
            u.db
        );
        ensure!(j["user"] == u.user, "{}: user {}", u.name, j["user"]);
        ensure!(
            j["master"] == format!("{}:6379", c.pod(&master0).fqdn),
            "{}: master {}",
            u.name,
            j["master"]
        );
        ensure!(j["tls"] == true, "{}: hostname verification on", u.name);
        ensure!(
            j["ip_refused"] == true,
            "{}: the master by IP address (no certificate names it) must be refused: {}",
            u.name,
            j["ip_refused"]
        );
        ensure!(
            j["denied"]["CONFIG"] == true,
            "{}: CONFIG must be refused",
            u.name
        );
        ensure!(
            j["denied"]["KEYS"] == u.keys_denied,
            "{}: KEYS refused: {}",
            u.name,
            j["denied"]["KEYS"]
        );
    }

    ruby_checks(
        &c,
        &d,
        &format!("{}:6379", c.pod(&master0).fqdn),
        t.sentinels.len(),
    )?;
    ruby_refusals(&c, &d)?;

    // ---- failover seen through each configuration (CONSUMERS_RUNS rounds)
    let rounds: usize = std::env::var("CONSUMERS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for round in 1..=rounds {
        let work = work.join(format!("round-{round}"));
        let killed = failover_round(&mut c, &d, &work, &uses, &t, round)?;
        if round < rounds {
            // The old master comes back as a replica before the next round.
            c.start(&killed)?;
            c.wait_ready(&killed, READY)?;
            let master = t.current_master(&c)?;
            t.wait_sentinels_agree(&c, &master, t.redis.len() - 1)?;
        }
    }
    c.pass();
    Ok(())
}

/// Waits until every writer has `n` more acknowledged writes than `before`.
fn wait_acked(writers: &[ClientWriter], before: &[u64], n: u64, timeout: Duration) -> Result<()> {
    wait_for("the writers' acknowledged writes", timeout, POLL, || {
        for (w, b) in writers.iter().zip(before) {
            let a = w.acked()?;
            if a < b + n {
                return Err(format!("{}: {a} (had {b})", w.name));
            }
        }
        Ok(())
    })
    .map(|_| ())
}

/// One round: a writer per configuration (redis-py, and redis-rb for the
/// 3scale parts), the master killed, figures printed; every acknowledged
/// write must survive. Returns the killed pod.
fn failover_round(
    c: &mut Cluster,
    d: &Drivers,
    work: &Path,
    uses: &[Use],
    t: &Topo,
    round: usize,
) -> Result<String> {
    std::fs::create_dir_all(work)?;
    let master0 = t.current_master(c)?;
    let mut writers = Vec::new();
    for u in uses {
        let dir = u.dir.display().to_string();
        let cmd = d.python(c, &["writer", u.name, &dir]);
        writers.push(ClientWriter::spawn(cmd, u.name, work)?);
    }
    for (name, _) in &RUBY_USES[..3] {
        let cmd = d.ruby(c, &["writer", name]);
        writers.push(ClientWriter::spawn(cmd, &format!("ruby-{name}"), work)?);
    }
    let zero = vec![0; writers.len()];
    wait_acked(&writers, &zero, 20, SETTLE)?;
    let before: Vec<u64> = writers.iter().map(|w| w.acked().unwrap_or(0)).collect();
    let old = master0.clone();
    let killed_at = unix_now();
    let since = Instant::now();
    c.kill(&old)?;
    let (new, named_after, _) = t.wait_new_master(c, &t.sentinels, &old, since)?;
    println!(
        "consumers: round {round}: killed master {old}; a Sentinel names {new} after {}",
        harness::secs(named_after)
    );
    let timeout = t.down_after + t.failover_timeout + SETTLE;
    wait_acked(&writers, &before, 20, timeout)?;
    let mut figures = Vec::new();
    for w in writers {
        let r = w.finish()?;
        // Writes fail from the kill until the client finds the new master:
        // recovery is the first acknowledged write after the last failure.
        let recovered = r
            .recovered_after(killed_at)
            .context("no acknowledged write after the failover")?;
        figures.push(format!(
            "{}: writes acknowledged again {recovered:.3}s after the kill, {}",
            r.name,
            r.summary()
        ));
        ensure!(
            r.lost() == 0,
            "{}: acknowledged writes lost: {}",
            r.name,
            r.lost()
        );
        ensure!(
            r.master() == format!("{}:6379", c.pod(&new).fqdn),
            "{} writes to {} after the failover, not the new master {new}",
            r.name,
            r.master()
        );
    }
    for f in figures {
        println!("consumers: round {round}: failover through {f}");
    }
    Ok(old)
}
