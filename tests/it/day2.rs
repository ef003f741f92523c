//! Day-2 operations on real Redis 7 processes (issue 11): a running
//! topology is taken from one render to the next as `kubectl apply` and the
//! StatefulSet controller would (tests/it/harness/rollout.rs) while a client
//! writes continuously through Sentinel with `SET` + `WAIT 1 1000`.
//!
//! Fixture: examples/full/spec.yaml (TLS with client certificates, ACL
//! users, persistence, down-after 3 s), with `DAY2_PODS` Redis pods and as
//! many Sentinels (default 3; the example has 5: `DAY2_PODS=5`). Keys and
//! passwords stay the same across renders (a seed, as GitOps renders).
//!
//! Operations, in a chain on one cluster (each run toggles the settings):
//! - Redis-only setting (`redis.maxmemory`): every Redis pod rolls; the
//!   master hands over in its preStop hook.
//! - Sentinel-only setting (`sentinel.failoverTimeout`): only Sentinels roll.
//! - both: both StatefulSets roll at the same time.
//!
//! For each: write outage (longest time without an acknowledged write
//! during the rollout), acknowledged writes, acknowledged writes lost
//! (asserted 0), master replacements and unplanned failovers (`+odown`:
//! asserted none), TLS handshake failures in every pod log (asserted none).
//! `DAY2_RUNS=N` repeats the chain N times (CI: once) and prints a table.
//! `DAY2_MAX_OUTAGE_MS` bounds the outage per master replacement (default
//! 8000, room for a CPU-starved shared machine where every TLS handshake
//! of the reconnecting replicas and clients queues behind others; the
//! target is 1000, the goal 500, measured 0.40-0.70 s with 3 + 3 pods and
//! 0.48-0.82 s with 5 + 5 on a shared 2-core machine). That the master
//! was replaced by a handover and not by a failover after
//! down-after-milliseconds is asserted on its own: no Sentinel may log
//! `+odown`.

use crate::harness;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::{
    Cluster, ClusterOptions, Render, Rollout, RolloutReport, Server, Topo, Writer, WriterOptions,
    Writes, bring_up, bring_up_with, log_since, secs,
};
use serde_norway::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/full/spec.yaml");
/// A fixed seed: every render of the chain has the same keys and passwords.
const SEED: &str = "day2-e2e-seed-0123456789abcdef";
/// Lines of a Redis/Sentinel log that mean a TLS handshake failed: the
/// peers do not trust each other or do not agree on the protocol.
const TLS_FAILURES: [&str; 9] = [
    "unknown ca",
    "certificate verify failed",
    "bad certificate",
    "certificate unknown",
    "certificate expired",
    "handshake failure",
    "wrong version number",
    "no shared cipher",
    "unsupported protocol",
];
/// Other TLS errors Redis logs when accepting a connection (a client that
/// went away mid-handshake: `unexpected eof while reading`): counted and
/// shown, not failures of trust.
const TLS_OTHER: &str = "SSL routines";

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The settings a step of the chain changes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    maxmemory_mb: u32,
    failover_timeout_ms: u32,
}

/// How clients and pods authenticate: the example's ACL users and TLS,
/// or a variant the handover must work with as well.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Security {
    Acl,
    /// `auth.mode: password` (requirepass/masterauth).
    Password,
    /// `auth.enabled: false` (TLS client certificates only).
    NoAuth,
    /// `tls.enabled: false` (ACL users over plain TCP).
    NoTls,
}

/// examples/full/spec.yaml with `pods` Redis pods and Sentinels and
/// `s`, written to `dir`.
fn spec(dir: &Path, pods: u32, s: Settings) -> Result<PathBuf> {
    spec_secured(dir, pods, s, Security::Acl)
}

/// [`spec`] with authentication and TLS as `security` says.
fn spec_secured(dir: &Path, pods: u32, s: Settings, security: Security) -> Result<PathBuf> {
    let text = std::fs::read_to_string(EXAMPLE)?;
    let mut v: Value = serde_norway::from_str(&text)?;
    let spec = &mut v["spec"];
    match security {
        Security::Acl => {}
        Security::Password => spec["auth"]["mode"] = "password".into(),
        Security::NoAuth => spec["auth"]["enabled"] = false.into(),
        Security::NoTls => spec["tls"] = serde_norway::from_str("{enabled: false}")?,
    }
    spec["redis"]["replicas"] = pods.into();
    spec["sentinel"]["replicas"] = pods.into();
    // Majorities that fit the pod count: a rolling replica must leave
    // enough replicas for writes, a rolling Sentinel a quorum.
    spec["sentinel"]["quorum"] = (pods / 2 + 1).into();
    spec["redis"]["minReplicasToWrite"] = ((pods - 1) / 2).max(1).into();
    spec["redis"]["maxmemory"] = format!("{}mb", s.maxmemory_mb).into();
    spec["sentinel"]["failoverTimeout"] = s.failover_timeout_ms.into();
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "spec-{pods}-{}-{}-{security:?}.yaml",
        s.maxmemory_mb, s.failover_timeout_ms
    ));
    std::fs::write(&path, serde_norway::to_string(&v)?)?;
    Ok(path)
}

/// Figures of one operation.
struct Row {
    run: u64,
    operation: &'static str,
    rolled: String,
    outage: Duration,
    outage_per_handover: Duration,
    replacements: usize,
    /// Redis pods whose preStop hook paused writes and handed over.
    handovers: usize,
    acknowledged: usize,
    attempted: usize,
    lost: usize,
    unplanned: usize,
    tls_failures: usize,
    tls_aborted: usize,
    took: Duration,
}

/// Log lengths of every pod: where "since the operation began" starts.
fn marks(c: &Cluster) -> Vec<(String, usize)> {
    c.pods
        .iter()
        .map(|p| (p.name.clone(), c.log(&p.name).len()))
        .collect()
}

/// New log lines of every pod since `marks`, joined.
fn logs_since(c: &Cluster, marks: &[(String, usize)]) -> Vec<(String, String)> {
    marks
        .iter()
        .map(|(p, m)| (p.clone(), log_since(c, p, *m)))
        .collect()
}

/// One operation: the writer runs, `to` is applied, the topology settles;
/// every figure is measured and the invariants asserted.
fn operation(
    c: &mut Cluster,
    t: &Topo,
    render: &Render,
    to: &Render,
    run: u64,
    operation: &'static str,
) -> Result<Row> {
    let n = t.redis.len();
    let before = marks(c);
    let prefix = format!("day2:{run}:{}", operation.replace(' ', "-"));
    let writer = Writer::start(c, render, t, WriterOptions::new(&prefix))?;
    writer.wait_acked(5, Duration::from_secs(30))?;
    let report = Rollout::apply(c, to)?;
    // Let writes flow a little after the last pod is ready.
    thread::sleep(Duration::from_secs(1));
    let writes = writer.stop()?;
    let master = t.current_master(c)?;
    t.wait_sentinels_agree(c, &master, n - 1)?;
    t.ensure_single_master(c, &master)?;
    let lost = writes.lost(c, t, &master)?;

    let logs = logs_since(c, &before);
    let switches: Vec<String> = logs
        .iter()
        .filter(|(p, _)| t.sentinels.contains(p))
        .flat_map(|(_, l)| {
            l.lines()
                .filter_map(|x| x.split_once("+switch-master ").map(|(_, r)| r.to_string()))
                .collect::<Vec<_>>()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let unplanned = logs
        .iter()
        .filter(|(p, _)| t.sentinels.contains(p))
        .map(|(_, l)| l.lines().filter(|x| x.contains("+odown")).count())
        .sum::<usize>();
    let tls_lines = |pick: &dyn Fn(&str) -> bool| -> Vec<String> {
        logs.iter()
            .flat_map(|(p, l)| {
                l.lines()
                    .filter(|x| pick(x))
                    .map(|x| format!("{p}: {x}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let is_failure = |x: &str| TLS_FAILURES.iter().any(|f| x.contains(f));
    let tls = tls_lines(&is_failure);
    let tls_other = tls_lines(&|x: &str| x.contains(TLS_OTHER) && !is_failure(x));
    let handovers: Vec<&str> = logs
        .iter()
        .flat_map(|(_, l)| {
            l.lines()
                .filter(|x| x.contains("prestop-redis: ") && !x.contains("nothing to hand over"))
        })
        .collect();
    let handed_over: Vec<&str> = logs
        .iter()
        .filter(|(_, l)| l.contains("prestop-redis: writes paused"))
        .map(|(p, _)| p.as_str())
        .collect();
    // The outage of each master replacement: the gap without an
    // acknowledged write around each Redis master pod's termination.
    let outage = writes.longest_gap(report.started, report.finished);
    let outage_per_handover = per_handover_outage(&report, &writes, &handed_over);
    println!("day2: run {run} {operation}: {}", report.summary());
    for line in gap_story(&writes, report.started, report.finished) {
        println!("day2: run {run} {operation}: {line}");
    }
    println!("day2: run {run} {operation}: {}", writes.summary());
    for h in &handovers {
        println!("day2: run {run} {operation}: {h}");
    }
    for s in &switches {
        println!("day2: run {run} {operation}: +switch-master {s}");
    }
    for x in &tls_other {
        println!("day2: run {run} {operation}: TLS connection aborted (not a trust failure): {x}");
    }
    Writes::ensure_none_lost(operation, &master, &lost)?;
    ensure!(
        tls.is_empty(),
        "{operation}: TLS handshake failures:\n{}",
        tls.join("\n")
    );
    ensure!(
        unplanned == 0,
        "{operation}: a Sentinel flagged the master objectively down ({unplanned} +odown): a failover the rollout did not plan"
    );
    ensure!(
        writes.acked().len() > 10,
        "{operation}: the writer got only {} acknowledged writes",
        writes.acked().len()
    );
    Ok(Row {
        run,
        operation,
        rolled: report.statefulsets.join("+"),
        outage,
        outage_per_handover,
        replacements: switches.len(),
        handovers: handed_over.len(),
        acknowledged: writes.acked().len(),
        attempted: writes.list.len(),
        lost: lost.len(),
        unplanned,
        tls_failures: tls.len(),
        tls_aborted: tls_other.len(),
        took: report.finished - report.started,
    })
}

/// The writes of the longest stretch without an acknowledged write in
/// `[from, to]`, with wall-clock times (UTC, as the pod logs have them):
/// where the writer sent each and what it got.
fn gap_story(writes: &Writes, from: Instant, to: Instant) -> Vec<String> {
    let Some((begin, len)) = writes
        .gaps_over(from, to, Duration::ZERO)
        .into_iter()
        .max_by_key(|g| g.1)
    else {
        return Vec::new();
    };
    let (now_i, now_s) = (Instant::now(), std::time::SystemTime::now());
    let utc = |i: Instant| {
        let t = now_s - now_i.saturating_duration_since(i);
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let s = d.as_secs() % 86_400;
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            s / 3600,
            s / 60 % 60,
            s % 60,
            d.subsec_millis()
        )
    };
    let mut out = vec![format!("longest gap {} from {}", secs(len), utc(begin))];
    for w in writes
        .list
        .iter()
        .filter(|w| w.at >= begin && w.sent <= begin + len)
    {
        out.push(format!(
            "  write {} sent {} answered {} by {}: {:?}",
            w.key,
            utc(w.sent),
            utc(w.at),
            w.host.split('.').next().unwrap_or_default(),
            w.outcome
        ));
    }
    out
}

/// The longest write outage around a master replacement: for every
/// replaced Redis pod, the gap without an acknowledged write from its
/// termination until it was ready again.
fn per_handover_outage(report: &RolloutReport, writes: &Writes, handed_over: &[&str]) -> Duration {
    report
        .replaced()
        .filter(|p| handed_over.contains(&p.pod.as_str()))
        .map(|p| writes.longest_gap(p.begun, p.done))
        .max()
        .unwrap_or_default()
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| run | operation | rolled | rollout | write outage | outage per master replacement | master replacements | acknowledged / attempted | lost | unplanned failovers | TLS handshake failures | TLS connections aborted |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} |",
            r.run,
            r.operation,
            r.rolled,
            secs(r.took),
            secs(r.outage),
            secs(r.outage_per_handover),
            r.replacements,
            r.acknowledged,
            r.attempted,
            r.lost,
            r.unplanned,
            r.tls_failures,
            r.tls_aborted
        )
        .ok();
    }
    s
}

#[test]
fn rollouts_hand_over_without_loss() -> Result<()> {
    harness::require_environment()?;
    let pods = u32::try_from(env_number("DAY2_PODS", 3)?)?;
    let runs = env_number("DAY2_RUNS", 1)?;
    let max_outage = Duration::from_millis(env_number("DAY2_MAX_OUTAGE_MS", 8_000)?);
    ensure!(pods >= 3, "DAY2_PODS must be at least 3");
    let dir = harness::scratch_root().join(format!("day2-specs-{}", std::process::id()));
    let a = Settings {
        maxmemory_mb: 768,
        failover_timeout_ms: 30_000,
    };
    let render_of = |s: Settings| Render::spec_with_seed(&spec(&dir, pods, s)?, Some(SEED));
    let mut current = render_of(a)?;
    let (mut c, t) = bring_up(&current)?;
    let test_start = Instant::now();
    let mut rows = Vec::new();
    let mut s = a;
    for run in 1..=runs {
        let steps: [(&str, Settings); 3] = {
            let redis = Settings {
                maxmemory_mb: if s.maxmemory_mb == 768 { 700 } else { 768 },
                ..s
            };
            let sentinel = Settings {
                failover_timeout_ms: if redis.failover_timeout_ms == 30_000 {
                    31_000
                } else {
                    30_000
                },
                ..redis
            };
            let both = Settings {
                maxmemory_mb: if sentinel.maxmemory_mb == 768 {
                    700
                } else {
                    768
                },
                failover_timeout_ms: if sentinel.failover_timeout_ms == 30_000 {
                    31_000
                } else {
                    30_000
                },
            };
            [
                ("Redis-only setting", redis),
                ("Sentinel-only setting", sentinel),
                ("both settings", both),
            ]
        };
        for (name, next) in steps {
            let to = render_of(next)?;
            let row = operation(&mut c, &t, &current, &to, run, name)?;
            println!(
                "day2: run {run} {name}: outage {} (per master replacement {}), {} acknowledged, {} lost, {} TLS handshake failures",
                secs(row.outage),
                secs(row.outage_per_handover),
                row.acknowledged,
                row.lost,
                row.tls_failures
            );
            rows.push(row);
            current = to;
            s = next;
        }
    }
    println!(
        "day2: {pods} Redis pods + {pods} Sentinels, {runs} run(s), {}\n{}",
        secs(test_start.elapsed()),
        table(&rows)
    );
    for r in &rows {
        ensure!(
            r.outage_per_handover <= max_outage,
            "run {} {}: write outage {} around a master replacement (limit {})",
            r.run,
            r.operation,
            secs(r.outage_per_handover),
            secs(max_outage)
        );
        if r.operation == "Sentinel-only setting" {
            ensure!(
                r.replacements == 0 && r.rolled == t.sentinel_sts,
                "run {}: a Sentinel-only change rolled {} and replaced the master {} times",
                r.run,
                r.rolled,
                r.replacements
            );
        }
    }
    c.pass();
    Ok(())
}

/// A server upgrade is a rollout: the image changes from Debian's Redis
/// 7.0.15 (the host's binaries stand in for `redis:7.0.15`) to Valkey 9.1.2
/// and to Redis 8.0.6 (the builds of .ci/install.d/45-servers.sh stand in
/// for their images: [`ClusterOptions::images`]). Replicas roll first, the
/// master hands over last (a newer replica of an older master is what
/// replication allows; the reverse is not: docs/servers.md); 3 + 3 pods,
/// the continuous acknowledged writer: 0 lost, the outage per master
/// replacement within `DAY2_MAX_OUTAGE_MS`, no unplanned failover. Then
/// every pod runs the new server. Also Redis 8.0.6 -> Valkey 9.1.2: Redis
/// 8's RDB format 12 (as Redis 7.4's), which Valkey 9 reads only with the
/// `rdb-version-check relaxed` the function writes for it. `DAY2_UPGRADES`
/// picks the pairs (`FROM>TO,...`; default
/// `host>valkey-9.1,host>redis-8.0,redis-8.0>valkey-9.1`).
#[test]
fn server_upgrade_is_a_rollout() -> Result<()> {
    harness::require_environment()?;
    let max_outage = Duration::from_millis(env_number("DAY2_MAX_OUTAGE_MS", 8_000)?);
    let pairs = std::env::var("DAY2_UPGRADES")
        .unwrap_or_else(|_| "host>valkey-9.1,host>redis-8.0,redis-8.0>valkey-9.1".into());
    let dir = harness::scratch_root().join(format!("day2-upgrade-{}", std::process::id()));
    let s = Settings {
        maxmemory_mb: 768,
        failover_timeout_ms: 30_000,
    };
    let mut rows = Vec::new();
    for pair in pairs.split(',').filter(|t| !t.is_empty()) {
        let (from_name, target) = pair
            .split_once('>')
            .with_context(|| format!("DAY2_UPGRADES entry {pair:?}: FROM>TO"))?;
        let build = |name: &str| {
            if name == "host" {
                Ok(Server::host())
            } else {
                Server::build(name)
            }
        };
        let (old, server) = (build(from_name)?, build(target)?);
        let (old_image, image) = (old.image()?, server.image()?);
        let with_image = |img: &str| -> Result<Render> {
            let path = spec(&dir, 3, s)?;
            let mut v: Value = serde_norway::from_str(&std::fs::read_to_string(&path)?)?;
            v["spec"]["image"] = img.into();
            let out = dir.join(format!("upgrade-{}.yaml", img.replace(['/', ':'], "_")));
            std::fs::write(&out, serde_norway::to_string(&v)?)?;
            Render::spec_with_seed(&out, Some(SEED))
        };
        let from = with_image(&old_image)?;
        let to = with_image(&image)?;
        let opts = ClusterOptions {
            server: old.clone(),
            images: vec![(image.clone(), server.clone())],
            ..ClusterOptions::default()
        };
        let (mut c, t) = bring_up_with(&from, opts)?;
        let row = operation(&mut c, &t, &from, &to, 1, "server upgrade")?;
        println!(
            "day2: upgrade {} -> {}: outage {} (per master replacement {}), {} acknowledged / {} attempted, {} lost, {} unplanned failovers, rollout {}",
            old.version()?,
            server.version()?,
            secs(row.outage),
            secs(row.outage_per_handover),
            row.acknowledged,
            row.attempted,
            row.lost,
            row.unplanned,
            secs(row.took)
        );
        // Every Redis pod and Sentinel now runs the new server.
        for p in t.redis.iter().chain(&t.sentinels) {
            let pid = c.pod(p).pid().context("running")?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))?;
            let want = server.server_binary();
            let want = std::fs::canonicalize(&want)?;
            ensure!(
                std::fs::canonicalize(&exe)? == want,
                "{p} runs {} after the upgrade, not {}",
                exe.display(),
                want.display()
            );
        }
        ensure!(
            row.outage_per_handover <= max_outage,
            "upgrade to {target}: write outage {} around the master replacement (limit {})",
            secs(row.outage_per_handover),
            secs(max_outage)
        );
        ensure!(
            row.replacements >= 1 && row.handovers >= 1,
            "upgrade to {target}: the master was not handed over"
        );
        rows.push(row);
        c.pass();
    }
    println!("day2: server upgrades\n{}", table(&rows));
    Ok(())
}

/// The handover works however the pods authenticate: password mode, no
/// passwords (client certificates only) and no TLS. A Redis-only change
/// with 3 + 3 pods in each: the master hands over in its preStop hook
/// (asserted: a pod logged the paused writes, no Sentinel flagged
/// `+odown`), no acknowledged write is lost, and the outage per master
/// replacement stays within `DAY2_MAX_OUTAGE_MS`.
#[test]
fn handover_in_every_auth_and_tls_mode() -> Result<()> {
    harness::require_environment()?;
    let max_outage = Duration::from_millis(env_number("DAY2_MAX_OUTAGE_MS", 8_000)?);
    let dir = harness::scratch_root().join(format!("day2-modes-{}", std::process::id()));
    let a = Settings {
        maxmemory_mb: 768,
        failover_timeout_ms: 30_000,
    };
    let b = Settings {
        maxmemory_mb: 700,
        ..a
    };
    let mut rows = Vec::new();
    for security in [Security::Password, Security::NoAuth, Security::NoTls] {
        let render_of =
            |s| Render::spec_with_seed(&spec_secured(&dir, 3, s, security)?, Some(SEED));
        let from = render_of(a)?;
        let (mut c, t) = bring_up(&from)?;
        let name = match security {
            Security::Password => "password mode",
            Security::NoAuth => "no auth",
            Security::NoTls => "no TLS",
            Security::Acl => "ACL",
        };
        let row = operation(&mut c, &t, &from, &render_of(b)?, 1, name)?;
        ensure!(
            row.handovers >= 1 && row.replacements >= 1,
            "{name}: the master was not handed over ({} handovers, {} master replacements)",
            row.handovers,
            row.replacements
        );
        ensure!(
            row.outage_per_handover <= max_outage,
            "{name}: write outage {} around a master replacement (limit {})",
            secs(row.outage_per_handover),
            secs(max_outage)
        );
        c.pass();
        rows.push(row);
    }
    println!("day2: handover per security mode\n{}", table(&rows));
    Ok(())
}

/// The harness' Rollout scales: new ordinals are created from the new
/// template (Redis one at a time, each Ready before the next), removed
/// ordinals are deleted highest first with their preStop hook, and a
/// client writing through Sentinel loses no acknowledged write. (What
/// Sentinel remembers of removed pods is the scaling work's subject, not
/// checked here.)
#[test]
fn rollout_scales_up_and_down() -> Result<()> {
    harness::require_environment()?;
    let dir = harness::scratch_root().join(format!("day2-scale-{}", std::process::id()));
    let s = Settings {
        maxmemory_mb: 768,
        failover_timeout_ms: 30_000,
    };
    let three = Render::spec_with_seed(&spec(&dir, 3, s)?, Some(SEED))?;
    let four = Render::spec_with_seed(&spec(&dir, 4, s)?, Some(SEED))?;
    let (mut c, t) = bring_up(&three)?;
    let writer = Writer::start(&c, &three, &t, WriterOptions::new("day2:scale"))?;
    writer.wait_acked(5, Duration::from_secs(30))?;

    let up = Rollout::apply(&mut c, &four)?;
    println!("day2: scale 3 -> 4: {}", up.summary());
    for sts in [&t.redis_sts, &t.sentinel_sts] {
        let pod = format!("{sts}-3");
        let ev = up
            .event(&pod)
            .with_context(|| format!("{pod} was not created"))?;
        ensure!(
            ev.action == harness::Action::Create && ev.ready.is_some(),
            "{pod}: {ev:?}"
        );
        ensure!(c.pod(&pod).exists() && c.probe(&pod)?, "{pod} is not ready");
    }
    let mut t4 = t.clone();
    t4.refresh(&c);
    ensure!(t4.redis.len() == 4 && t4.sentinels.len() == 4, "{t4:?}");
    let master = t4.current_master(&c)?;
    t4.wait_replica_of(&c, &format!("{}-3", t.redis_sts), &master)?;

    let down = Rollout::apply(&mut c, &three)?;
    println!("day2: scale 4 -> 3: {}", down.summary());
    for sts in [&t.redis_sts, &t.sentinel_sts] {
        let pod = format!("{sts}-3");
        let ev = down
            .event(&pod)
            .with_context(|| format!("{pod} was not deleted"))?;
        ensure!(ev.action == harness::Action::Delete, "{pod}: {ev:?}");
        ensure!(!c.pod(&pod).exists(), "{pod} still exists");
    }
    let writes = writer.stop()?;
    let mut t3 = t4.clone();
    t3.refresh(&c);
    ensure!(t3.redis.len() == 3 && t3.sentinels.len() == 3, "{t3:?}");
    let master = t3.current_master(&c)?;
    let lost = writes.lost(&c, &t3, &master)?;
    println!("day2: scaling: {}; lost {}", writes.summary(), lost.len());
    ensure!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    c.pass();
    Ok(())
}
