//! End-to-end: 3scale with backend storage, backend queues and system on
//! three separate instances (a RedisSentinelList with consumers that serve
//! one part each), on real redis-server / redis-sentinel processes
//! (tests/it/harness: one network namespace per pod, the three instances on
//! one pod network).
//!
//! Renders tests/fixtures/e2e-threescale-split.yaml, then:
//! - on the Secrets: every part points at its own instance (its Sentinels,
//!   master name, CA, client certificate, user), and the rules 3scale's
//!   parsers depend on hold;
//! - from the client namespace, with the Secrets mounted: redis-py (the
//!   guide's `threescale.py`) and redis-rb (as 3scale-operator hands the
//!   Secrets to apisonator and porta) each land on the master of the part's
//!   own instance, in the part's database, as the consumer's user;
//! - a writer per part and client (`SET` + `WAIT 1`) runs while the
//!   queues instance's master is killed: the queues writers follow the
//!   failover, storage and system writers go on uninterrupted (no failed
//!   write, no gap), and no acknowledged write is lost anywhere.
//!
//! Needs root, the Redis packages, redis-py, Ruby and redis-rb
//! (.ci/install.d); fails, never skips, where it cannot run. Figures:
//! `cargo nextest run --no-capture --test it -E 'test(/^threescale_split::/)'`.

use crate::harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::{
    ClientWriter, Cluster, Drivers, POLL, Render, SETTLE, Topo, check_threescale_rules,
    extract_code_blocks, mount_threescale, python_with_redis, repo_path, ruby_with_redis,
    threescale_env, unix_now, wait_for,
};

const INSTANCES: [&str; 3] = ["e2e/storage", "e2e/queues", "e2e/system"];

/// A part: its Secret and keys, the instance serving it, its database.
struct Part {
    name: &'static str,
    secret: &'static str,
    url: &'static str,
    hosts: &'static str,
    ca: &'static str,
    cert: &'static str,
    /// Index into [`INSTANCES`].
    instance: usize,
    db: i64,
}

const PARTS: [Part; 3] = [
    Part {
        name: "storage",
        secret: "backend-redis",
        url: "REDIS_STORAGE_URL",
        hosts: "REDIS_STORAGE_SENTINEL_HOSTS",
        ca: "REDIS_SSL_CA",
        cert: "REDIS_SSL_CERT",
        instance: 0,
        db: 0,
    },
    Part {
        name: "queues",
        secret: "backend-redis",
        url: "REDIS_QUEUES_URL",
        hosts: "REDIS_QUEUES_SENTINEL_HOSTS",
        ca: "REDIS_SSL_QUEUES_CA",
        cert: "REDIS_SSL_QUEUES_CERT",
        instance: 1,
        db: 0,
    },
    Part {
        name: "system",
        secret: "system-redis",
        url: "URL",
        hosts: "SENTINEL_HOSTS",
        ca: "REDIS_SSL_CA",
        cert: "REDIS_SSL_CERT",
        instance: 2,
        db: 5,
    },
];

/// Every part of the Secrets names its own instance: master group,
/// Sentinel pods, CA and client certificate of that instance only.
fn check_parts_point_at_their_instance(render: &Render) -> Result<()> {
    let mut cas = Vec::new();
    for p in &PARTS {
        let name = INSTANCES[p.instance].rsplit('/').next().unwrap_or_default();
        let url = render.secret_key(p.secret, p.url)?;
        ensure!(
            url == format!("rediss://{name}/{}", p.db),
            "{}: URL {url}",
            p.name
        );
        let hosts = render.secret_key(p.secret, p.hosts)?;
        let sentinels: Vec<&str> = hosts.split(',').collect();
        ensure!(
            !sentinels.is_empty()
                && sentinels
                    .iter()
                    .all(|h| h.starts_with(&format!("rediss://{name}-sentinel-"))
                        && h.contains(&format!(".{name}-sentinel-headless.e2e.svc."))),
            "{}: Sentinel hosts of another instance: {hosts}",
            p.name
        );
        let client = format!("{name}-client-tls");
        ensure!(
            render.secret_key(p.secret, p.ca)? == render.secret_key(&client, "ca.crt")?,
            "{}: {} is not the CA of {name}",
            p.name,
            p.ca
        );
        ensure!(
            render.secret_key(p.secret, p.cert)? == render.secret_key(&client, "tls.crt")?,
            "{}: {} is not the client certificate of {name}",
            p.name,
            p.cert
        );
        cas.push(render.secret_key(p.secret, p.ca)?);
    }
    ensure!(
        cas[0] != cas[1] && cas[1] != cas[2] && cas[0] != cas[2],
        "the three instances have their own CAs"
    );
    let owner = render
        .find("Secret", "backend-redis")
        .and_then(|s| s["metadata"]["annotations"]["fn.redis-sentinel.dev/parts"].as_str())
        .context("backend-redis names the instances of its parts")?;
    ensure!(
        owner == "storage=e2e/storage,queues=e2e/queues",
        "parts: {owner}"
    );
    Ok(())
}

#[test]
fn storage_queues_and_system_on_separate_instances() -> Result<()> {
    harness::require_environment()?;
    let render = Render::spec(&repo_path("tests/fixtures/e2e-threescale-split.yaml"))?;
    check_parts_point_at_their_instance(&render)?;
    let rules = check_threescale_rules(&render, true)?;
    println!("split: every part points at its own instance; 3scale rules hold for {rules} values");
    let (mut c, topos) = harness::bring_up_instances(&render, &INSTANCES)?;
    let work = c.work.join("split");
    let snippets = work.join("snippets");
    extract_code_blocks(&repo_path("docs/connecting.md"), &snippets)?;
    let mounts = mount_threescale(&render, &work)?;
    let (backend, system) = (
        mounts["backend-redis"].clone(),
        mounts["system-redis"].clone(),
    );
    let d = Drivers {
        python: python_with_redis()?,
        snippets,
        ruby: ruby_with_redis()?,
        ruby_env: threescale_env(&render, &mounts)?,
    };
    let dirs = [&backend, &backend, &system];
    let master = |c: &Cluster, t: &Topo| -> Result<String> {
        Ok(format!("{}:6379", c.pod(&t.current_master(c)?).fqdn))
    };

    // ---- each part, through each client, on its own instance
    for (p, dir) in PARTS.iter().zip(dirs) {
        let want = master(&c, &topos[p.instance])?;
        let py = d.python_check(&c, p.name, dir)?;
        let rb = d.ruby_check(&c, p.name)?;
        for (client, j) in [("redis-py", &py), ("redis-rb", &rb)] {
            println!("split: {} through {client}: {j}", p.name);
            ensure!(
                j["master"] == want.as_str(),
                "{} {client}: master {} (want {want})",
                p.name,
                j["master"]
            );
            ensure!(j["db"] == p.db, "{} {client}: database {}", p.name, j["db"]);
            ensure!(
                j["user"] == "apim",
                "{} {client}: user {}",
                p.name,
                j["user"]
            );
            ensure!(
                j["ip_refused"] == true,
                "{} {client}: hostname verification",
                p.name
            );
        }
    }
    let porta = d.ruby_check(&c, "backend-porta")?;
    ensure!(
        porta["master"] == master(&c, &topos[0])?.as_str(),
        "porta's view of storage: {porta}"
    );

    // ---- a failover of the queues instance while the others serve
    failover_of_one(&mut c, &d, &work, &topos, [&backend, &backend, &system])?;
    c.pass();
    Ok(())
}

fn failover_of_one(
    c: &mut Cluster,
    d: &Drivers,
    work: &Path,
    topos: &[Topo],
    dirs: [&PathBuf; 3],
) -> Result<()> {
    std::fs::create_dir_all(work)?;
    let writers = start_writers(c, d, work, dirs)?;
    let acked = |n: u64, before: &[u64], timeout: Duration| {
        wait_for("acknowledged writes", timeout, POLL, || {
            for ((_, w), b) in writers.iter().zip(before) {
                let a = w.acked()?;
                if a < b + n {
                    return Err(format!("{}: {a} (had {b})", w.name));
                }
            }
            Ok(())
        })
    };
    acked(20, &[0; 6], SETTLE)?;
    let before: Vec<u64> = writers
        .iter()
        .map(|(_, w)| w.acked().unwrap_or(0))
        .collect();
    let q = &topos[1];
    let old = q.current_master(c)?;
    let unchanged = [
        format!("{}:6379", c.pod(&topos[0].current_master(c)?).fqdn),
        format!("{}:6379", c.pod(&topos[2].current_master(c)?).fqdn),
    ];
    let killed_at = unix_now();
    let since = Instant::now();
    c.kill(&old)?;
    let (new, named_after, _) = q.wait_new_master(c, &q.sentinels, &old, since)?;
    println!(
        "split: killed queues master {old}; a queues Sentinel names {new} after {}",
        harness::secs(named_after)
    );
    acked(20, &before, q.down_after + q.failover_timeout + SETTLE)?;
    let new_fqdn = format!("{}:6379", c.pod(&new).fqdn);
    check_writers(writers, killed_at, &new_fqdn, &unchanged)
}

/// A redis-py and a redis-rb writer per part.
fn start_writers<'a>(
    c: &Cluster,
    d: &Drivers,
    work: &Path,
    dirs: [&PathBuf; 3],
) -> Result<Vec<(&'a Part, ClientWriter)>> {
    let mut writers = Vec::new();
    for (p, dir) in PARTS.iter().zip(dirs) {
        let dir = dir.display().to_string();
        let py = d.python(c, &["writer", p.name, &dir]);
        writers.push((p, ClientWriter::spawn(py, &format!("py-{}", p.name), work)?));
        let rb = d.ruby(c, &["writer", p.name]);
        writers.push((p, ClientWriter::spawn(rb, &format!("rb-{}", p.name), work)?));
    }
    Ok(writers)
}

/// Stops the writers and checks them: the queues writers followed the
/// failover to `new_fqdn`, the others kept writing to their `unchanged`
/// masters without a failed write or a gap; nothing acknowledged was lost.
fn check_writers(
    writers: Vec<(&Part, ClientWriter)>,
    killed_at: f64,
    new_fqdn: &str,
    unchanged: &[String],
) -> Result<()> {
    for (p, w) in writers {
        let r = w.finish()?;
        ensure!(
            r.lost() == 0,
            "{}: acknowledged writes lost: {}",
            r.name,
            r.lost()
        );
        if p.instance == 1 {
            let back = r
                .recovered_after(killed_at)
                .context("no write after the failover")?;
            println!(
                "split: {} (failed over): writes acknowledged again {back:.3}s after the kill; {}",
                r.name,
                r.summary()
            );
            ensure!(
                r.master() == new_fqdn,
                "{} writes to {}",
                r.name,
                r.master()
            );
        } else {
            let (errors, gap) = (r.errors_after(killed_at), r.longest_gap_after(killed_at));
            println!(
                "split: {} (other instance): {errors} failed writes after the kill, longest gap between acknowledged writes after it {gap:.3}s; {}",
                r.name,
                r.summary()
            );
            ensure!(
                errors == 0,
                "{}: {errors} failed writes during the queues failover",
                r.name
            );
            ensure!(
                gap < 1.0,
                "{}: a {gap:.3}s gap during the queues failover",
                r.name
            );
            ensure!(
                unchanged.iter().any(|m| m == r.master()),
                "{}: master changed to {}",
                r.name,
                r.master()
            );
        }
    }
    Ok(())
}
