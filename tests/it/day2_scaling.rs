//! Day 2, scaling (issue 11 §2): on real redis-server / redis-sentinel in the
//! harness, with a client writing through Sentinel with `SET` + `WAIT 1 1000`
//! the whole time, `kubectl apply` of renders that only change a replica
//! count ([`Rollout::apply`]: kubelet updates the mounted topology ConfigMap,
//! the StatefulSet controller creates or deletes the highest ordinals):
//!
//! 1. Redis 3 -> 5: the new pods join as replicas;
//! 2. Redis 5 -> 3 with the master on pod 4, so the scale-down removes the
//!    current master (it hands over when the rollout handover is in the
//!    render's preStop; otherwise the Sentinels fail over);
//! 3. Sentinel 3 -> 5: the new Sentinels join, every Sentinel adopts the
//!    new quorum (3) without a restart;
//! 4. Sentinel 5 -> 3: the quorum returns to 2.
//!
//! For each: write outage (longest time without an acknowledged write from
//! the apply until every Sentinel agrees again), acknowledged writes, lost
//! acknowledged writes (must be 0), which existing pods were restarted (must
//! be none: same process, same start count) and the seconds from a pod's
//! removal until no Sentinel lists it (as replica, peer or master; must be
//! at most 60 s). `DAY2_RUNS=N` repeats the whole sequence N times (CI: 1).

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use harness::{
    Action, Cluster, Render, Rollout, RolloutReport, Topo, Writer, WriterOptions, Writes, bring_up,
    get, replica_records, secs, seen, wait_for,
};

const SEED: &str = "day2-scaling-test-seed-0123456789abcdef";
/// Removed pods must leave every Sentinel's view within this.
const FORGET_WITHIN: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

/// The spec of the test topology with `redis` and `sentinels` pods: TLS on
/// every link with client certificates, ACL users, a master considered down
/// after 2 s (a scale-down that removes the master without a handover costs
/// a failover, not a long wait).
fn spec(dir: &Path, redis: u32, sentinels: u32) -> Result<PathBuf> {
    let path = dir.join(format!("scaling-{redis}-{sentinels}.yaml"));
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        &path,
        format!(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1
kind: RedisSentinel
metadata:
  name: cache
  namespace: e2e
spec:
  redis:
    replicas: {redis}
    minReplicasToWrite: 1
    minReplicasMaxLag: 2
  sentinel:
    replicas: {sentinels}
    downAfterMilliseconds: 2000
    failoverTimeout: 10000
  tls:
    enabled: true
    clientAuth: \"yes\"
"
        ),
    )?;
    Ok(path)
}

/// What one scale did, for the report.
struct Figures {
    operation: String,
    /// The longest gap between acknowledged writes in the 3 s before the
    /// apply: what this (loaded, one process per write) client sees anyway.
    baseline: Duration,
    outage: Duration,
    acked: usize,
    /// Writes that got no acknowledgement (refused, no answer, no replica).
    failed: usize,
    lost: usize,
    restarted: Vec<String>,
    /// Seconds from each removed pod's deletion until no Sentinel lists it.
    forgotten: Vec<(String, Duration)>,
    rollout: Duration,
}

impl Figures {
    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.operation,
            secs(self.outage),
            secs(self.baseline),
            self.acked,
            self.failed,
            self.lost,
            if self.restarted.is_empty() {
                "none".to_string()
            } else {
                self.restarted.join(" ")
            },
            if self.forgotten.is_empty() {
                "-".to_string()
            } else {
                self.forgotten
                    .iter()
                    .map(|(p, d)| format!("{p} {}", secs(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            secs(self.rollout)
        )
    }
}

/// Every pod that runs: its process and how often it was started.
fn running_pods(c: &Cluster) -> BTreeMap<String, (Option<u32>, u32)> {
    c.pods
        .iter()
        .filter(|p| p.exists())
        .map(|p| (p.name.clone(), (p.pid(), p.starts)))
        .collect()
}

/// The hosts a Sentinel lists: its master, replicas and peer Sentinels.
fn sentinel_view(c: &Cluster, t: &Topo, s: &str) -> std::result::Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    let st = t.sentinel_state(c, s)?;
    hosts.push(get(&st, "ip").to_string());
    for what in ["replicas", "sentinels"] {
        let r = seen(t.sentinel(c, s, &["SENTINEL", what, &t.master_name]))?;
        if !r.success {
            return Err(format!("{s}: SENTINEL {what}: {}", r.summary()));
        }
        hosts.extend(replica_records(&r).iter().map(|m| get(m, "ip").to_string()));
    }
    Ok(hosts)
}

/// Waits until no running Sentinel lists any of `removed` (pod, DNS name,
/// deletion time); returns per pod how long after its deletion that was.
fn wait_forgotten(
    c: &Cluster,
    t: &Topo,
    removed: &[(String, String, Instant)],
) -> Result<Vec<(String, Duration)>> {
    let mut out: Vec<(String, Duration)> = Vec::new();
    let deadline = removed
        .iter()
        .map(|r| r.2)
        .min()
        .unwrap_or_else(Instant::now)
        + FORGET_WITHIN
        + Duration::from_secs(60);
    loop {
        let mut views = Vec::new();
        for s in &t.sentinels {
            // A Sentinel that does not answer this round still counts as
            // listing everything (nothing is proven forgotten).
            views.push(
                sentinel_view(c, t, s)
                    .unwrap_or_else(|_| removed.iter().map(|r| r.1.clone()).collect::<Vec<_>>()),
            );
        }
        let now = Instant::now();
        for (pod, fqdn, at) in removed {
            if out.iter().any(|(p, _)| p == pod) {
                continue;
            }
            if views.iter().all(|v| !v.contains(fqdn)) {
                out.push((pod.clone(), now.duration_since(*at)));
            }
        }
        if out.len() == removed.len() {
            return Ok(out);
        }
        if now >= deadline {
            let still: Vec<String> = t
                .sentinels
                .iter()
                .map(|s| format!("{s}: {:?}", sentinel_view(c, t, s)))
                .collect();
            anyhow::bail!(
                "Sentinels still list removed pods after {}: {still:?}",
                secs(FORGET_WITHIN + Duration::from_secs(60))
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Every Sentinel reports `quorum` for the master group.
fn wait_quorum(c: &Cluster, t: &Topo, quorum: u32) -> Result<Duration> {
    Ok(wait_for(
        &format!("every Sentinel to use quorum {quorum}"),
        Duration::from_secs(60),
        POLL,
        || {
            for s in &t.sentinels {
                let st = t.sentinel_state(c, s)?;
                if get(&st, "quorum") != quorum.to_string() {
                    return Err(format!("{s}: quorum {}", get(&st, "quorum")));
                }
            }
            Ok(())
        },
    )?
    .1)
}

/// Applies `to` while the writer runs; returns the figures once every
/// Sentinel agrees on the master with `replicas` healthy replicas, no
/// removed pod is listed, and the writer has stopped.
fn scale(
    c: &mut Cluster,
    t: &mut Topo,
    from: &Render,
    to: &Render,
    operation: &str,
    replicas: usize,
) -> Result<(Figures, RolloutReport)> {
    let before = running_pods(c);
    let writer = Writer::start(
        c,
        from,
        t,
        WriterOptions::new(&format!("scale{}", before.len())),
    )?;
    writer.wait_acked(5, Duration::from_secs(30))?;
    let quiet = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let applied = Instant::now();
    let report = Rollout::apply(c, to).with_context(|| format!("{operation}: rollout"))?;
    let rollout = applied.elapsed();
    t.refresh(c);
    let removed: Vec<(String, String, Instant)> = report
        .pods
        .iter()
        .filter(|e| e.action == Action::Delete)
        .map(|e| (e.pod.clone(), c.pod(&e.pod).fqdn.clone(), e.done))
        .collect();
    let forgotten = wait_forgotten(c, t, &removed)?;
    let master = t.current_master(c)?;
    t.wait_sentinels_agree(c, &master, replicas)?;
    let settled = Instant::now();
    writer.wait_acked(writer.acked_so_far() + 20, Duration::from_secs(30))?;
    let writes: Writes = writer.stop()?;
    let lost = writes.lost(c, t, &master)?;
    let after = running_pods(c);
    let restarted: Vec<String> = before
        .iter()
        .filter(|(p, old)| after.get(*p).is_some_and(|new| new != *old))
        .map(|(p, _)| p.clone())
        .collect();
    let fig = Figures {
        operation: operation.to_string(),
        baseline: writes.longest_gap(quiet, applied),
        outage: writes.longest_gap(applied, settled),
        acked: writes.acked().len(),
        failed: writes.list.len() - writes.acked().len(),
        lost: lost.len(),
        restarted,
        forgotten,
        rollout,
    };
    println!(
        "day2-scaling: {operation}: {}\n  {}\n  {}",
        fig.line(),
        writes.summary(),
        report.summary()
    );
    Writes::ensure_none_lost(operation, &master, &lost)?;
    ensure!(
        fig.restarted.is_empty(),
        "{operation}: existing pods were restarted: {:?}",
        fig.restarted
    );
    for (pod, d) in &fig.forgotten {
        ensure!(
            *d <= FORGET_WITHIN,
            "{operation}: Sentinels listed the removed {pod} for {} (limit {})",
            secs(*d),
            secs(FORGET_WITHIN)
        );
    }
    Ok((fig, report))
}

/// Moves the master to `target` before a scale-down removes it: every other
/// replica gets `replica-priority 0` (as admin, inside its pod), then a
/// Sentinel is asked to fail over; the priorities are restored after.
fn move_master_to(c: &Cluster, t: &Topo, target: &str) -> Result<()> {
    let set_priority = |pod: &str, prio: &str| -> Result<()> {
        let script = format!(
            "REDISCLI_AUTH=$(cat /etc/redis/auth/admin-password) redis-cli --no-auth-warning --tls \
             --cert /etc/redis/tls/tls.crt --key /etc/redis/tls/tls.key --cacert /etc/redis/tls/ca.crt \
             --user admin -h localhost -p {} CONFIG SET replica-priority {prio}",
            t.redis_port
        );
        let out = c.exec(pod, &["sh", "-c", &script], Duration::from_secs(10))?;
        ensure!(
            String::from_utf8_lossy(&out.stdout).trim() == "OK",
            "{pod}: CONFIG SET replica-priority {prio}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        Ok(())
    };
    let current = t.current_master(c)?;
    if current == target {
        return Ok(());
    }
    let others: Vec<&String> = t.redis.iter().filter(|p| *p != target).collect();
    for p in &others {
        set_priority(p, "0")?;
    }
    // Sentinel reads replica-priority from INFO (every 10 s): wait until
    // every Sentinel has seen it, then fail over (again if another failover
    // was in progress).
    let fqdns: Vec<String> = others.iter().map(|p| t.fqdn(c, p)).collect();
    wait_priority(c, t, &fqdns, "0")?;
    wait_for(
        &format!("a Sentinel failover to {target}"),
        Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            if t.current_master(c).map_err(|e| e.to_string())? == target {
                return Ok(());
            }
            let _ = t.sentinel(
                c,
                &t.sentinels[0],
                &["SENTINEL", "FAILOVER", &t.master_name],
            );
            std::thread::sleep(Duration::from_secs(3));
            Err("not yet".to_string())
        },
    )?;
    t.wait_sentinels_agree(c, target, t.redis.len() - 1)?;
    for p in &others {
        set_priority(p, "100")?;
    }
    // A handover right after must not find every replica at priority 0.
    wait_priority(c, t, &fqdns, "100")
}

/// Waits until every Sentinel sees `priority` on the replicas `fqdns`
/// (Sentinel reads it from each replica's INFO, every 10 s).
fn wait_priority(c: &Cluster, t: &Topo, fqdns: &[String], priority: &str) -> Result<()> {
    wait_for(
        &format!("every Sentinel to see replica-priority {priority}"),
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            for s in &t.sentinels {
                let r = seen(t.sentinel(c, s, &["SENTINEL", "replicas", &t.master_name]))?;
                for m in replica_records(&r) {
                    if fqdns.iter().any(|f| f == get(&m, "ip"))
                        && get(&m, "slave-priority") != priority
                    {
                        return Err(format!(
                            "{s}: {} priority {}",
                            get(&m, "ip"),
                            get(&m, "slave-priority")
                        ));
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// One run of the four scales on a fresh cluster.
fn one_run(run: usize, dir: &Path) -> Result<Vec<Figures>> {
    let render = |r: u32, s: u32| Render::spec_with_seed(&spec(dir, r, s)?, Some(SEED));
    let r33 = render(3, 3)?;
    let r53 = render(5, 3)?;
    let r35 = render(3, 5)?;
    let (mut c, mut t) = bring_up(&r33)?;
    println!("day2-scaling: run {run}: 3 Redis pods, 3 Sentinels up");
    let mut figures = Vec::new();

    let (f, _) = scale(&mut c, &mut t, &r33, &r53, "Redis 3 -> 5", 4)?;
    figures.push(f);
    for s in &t.sentinels {
        let st = t.sentinel_state(&c, s).map_err(anyhow::Error::msg)?;
        ensure!(get(&st, "num-slaves") == "4", "{s} knows {st:?}");
    }

    let last = t.redis.last().cloned().context("no Redis pod")?;
    move_master_to(&c, &t, &last)?;
    let (f, report) = scale(
        &mut c,
        &mut t,
        &r53,
        &r33,
        "Redis 5 -> 3 (master removed)",
        2,
    )?;
    ensure!(
        report
            .pods
            .iter()
            .any(|e| e.pod == last && e.action == Action::Delete),
        "the scale-down removed {last}"
    );
    figures.push(f);

    let (f, _) = scale(&mut c, &mut t, &r33, &r35, "Sentinel 3 -> 5", 2)?;
    figures.push(f);
    let took = wait_quorum(&c, &t, 3)?;
    println!(
        "day2-scaling: every Sentinel uses quorum 3 {} after the scale",
        secs(took)
    );

    let (f, _) = scale(&mut c, &mut t, &r35, &r33, "Sentinel 5 -> 3", 2)?;
    figures.push(f);
    wait_quorum(&c, &t, 2)?;
    t.ensure_quorum(&c, "OK")?;
    c.pass();
    Ok(figures)
}

#[test]
fn scaling_restarts_nothing_loses_nothing_and_forgets_removed_pods() -> Result<()> {
    let runs: usize = std::env::var("DAY2_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let dir = harness::scratch_root().join(format!("day2-scaling-{}", std::process::id()));
    let mut table = vec![
        "| operation | write outage | (longest gap before the apply) | acknowledged | not acknowledged | lost | existing pods restarted | removed pod forgotten by every Sentinel after | rollout |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for run in 1..=runs {
        for f in one_run(run, &dir)? {
            table.push(f.line());
        }
    }
    println!("day2-scaling: {runs} run(s)\n{}", table.join("\n"));
    Ok(())
}

/// A scale-down removes the master, which crashed just before (so no
/// handover), and, while the Sentinels still name the deleted pod, a Redis
/// replica and a Sentinel restart: their start
/// scripts must not trust that name (nor wait for it to resolve: formerly
/// 120 s), but wait for the failover, polling, and start with the new
/// master.
#[test]
fn restarts_right_after_the_master_was_removed_do_not_wait_for_it() -> Result<()> {
    let dir = harness::scratch_root().join(format!("day2-scaling-gone-{}", std::process::id()));
    let render = |r: u32| Render::spec_with_seed(&spec(&dir, r, 3)?, Some(SEED));
    let (r3, r2) = (render(3)?, render(2)?);
    let (mut c, mut t) = bring_up(&r3)?;
    move_master_to(&c, &t, &t.redis[2].clone())?;
    let gone = t.fqdn(&c, &t.redis[2]);
    // The master crashes as the scale-down removes it: no handover is
    // possible, the Sentinels name the removed pod until they fail over.
    c.kill(&t.redis[2].clone())?;
    let report = Rollout::apply(&mut c, &r2)?;
    let deleted = Instant::now();
    let named: Vec<String> = t
        .sentinels
        .iter()
        .map(|s| t.sentinel_master(&c, s).unwrap_or_default())
        .collect();
    let (replica, sentinel) = (t.redis[1].clone(), t.sentinels[1].clone());
    for p in [&replica, &sentinel] {
        c.kill(p)?;
        c.start(p)?;
    }
    let mut took = Vec::new();
    for p in [&replica, &sentinel] {
        let ready = c.wait_ready(p, Duration::from_secs(60))?;
        took.push((p.clone(), deleted.elapsed(), ready));
    }
    t.refresh(&c);
    let master = t.current_master(&c)?;
    ensure!(
        master != t.redis.get(2).cloned().unwrap_or_default(),
        "{master}"
    );
    t.wait_sentinels_agree(&c, &master, 1)?;
    t.ensure_sentinels_name(&c, &master)?;
    ensure!(
        named.contains(&gone),
        "the Sentinels had already moved on: {named:?}"
    );
    for p in [&replica, &sentinel] {
        let log = c.last_start_log(p);
        ensure!(
            !log.contains("does not resolve"),
            "{p} waited for a name to resolve:\n{log}"
        );
        // In the start script's own lines (not Sentinel's log, which may
        // still try an entry it learned from a peer until the prune loop
        // removes it) the removed pod may appear only where it is refused.
        let trusted: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" start-redis: ") || l.contains(" start-sentinel: "))
            .filter(|l| l.contains(&gone) && !l.contains("not a pod") && !l.contains("no such pod"))
            .collect();
        ensure!(
            trusted.is_empty(),
            "{p} trusted the removed {gone}: {trusted:?}"
        );
    }
    for (p, since, ready) in &took {
        ensure!(
            *since < Duration::from_secs(45),
            "{p} took {} after the removal",
            secs(*since)
        );
        println!(
            "day2-scaling: {p} restarted right after the removal of {gone} (Sentinels named {named:?}): ready {} after its start, {} after the removal",
            secs(*ready),
            secs(*since)
        );
    }
    println!("  {}", report.summary());
    c.pass();
    Ok(())
}
