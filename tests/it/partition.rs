//! Split brain and partitions (issue 8), on real Redis 7 processes.
//!
//! Same harness as tests/it/e2e_topology.rs: every pod runs the generated
//! configs and start scripts unchanged as a real `redis-server` /
//! `redis-sentinel` in its own network namespace. Fixture:
//! tests/fixtures/partition.yaml (down-after 2 s, failover-timeout 10 s,
//! min-replicas-to-write 1, min-replicas-max-lag 2 s).
//!
//! - [`isolated_master_loses_no_acknowledged_write`]: the master's link is
//!   cut while a client writes with `WAIT 1` on every write; the Sentinels
//!   elect a new master, the isolated master refuses writes within the
//!   configured lag, rejoins as a replica once healed, and no acknowledged
//!   write is lost.
//! - [`sentinel_partitions_and_restarts`]: a minority of cut Sentinels
//!   does not prevent a failover; after it, every Sentinel forgets the
//!   failover's master-down votes (Valkey 9 keeps them: see
//!   [`wait_votes_forgotten`]) and a lone cut Sentinel starts no failover,
//!   neither while cut off nor after its return; every Sentinel restarted
//!   at once finds the current master (not pod 0).
//! - [`sentinels_restarted_around_a_partition`]: every Sentinel restarts
//!   right after the old master is back (it still claims role master) and
//!   while the master is cut off: they monitor the master the replicas
//!   follow, fail over again, and the former master is demoted although
//!   none of them saw it fail. [`master_choice_follows_the_replicas`]
//!   checks that choice in the generated shell helper on its own.
//! - [`redis_pod_returns_with_a_new_address`]: a deleted Redis pod (a
//!   replica, then the master) comes back with a new address under the
//!   same DNS name; it rejoins, the Sentinels reach it there and nothing
//!   connects to the old address any more.
//!
//! Needs root and the Redis packages (.ci/install.d); fails, never skips,
//! where it cannot run. Figures are printed:
//! `cargo nextest run --no-capture -E 'test(/^partition::/)'`.

use crate::harness;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::{
    Client, Cluster, FAILOVER_EVENTS, Outcome, POLL, READY, Render, SETTLE, Topo, Writer,
    WriterOptions, expect_decision, get, log_since, master_addr, replica_records, secs,
    sentinel_master_state, wait_for,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/partition.yaml");
/// `sentinel.masterName` of the fixture (its default: the instance name).
const MASTER_NAME: &str = "cache";
/// Timings of the fixture: `sentinel.downAfterMilliseconds`,
/// `sentinel.failoverTimeout`, `redis.minReplicasMaxLag`.
const DOWN_AFTER: Duration = Duration::from_millis(2_000);
const FAILOVER_TIMEOUT: Duration = Duration::from_millis(10_000);
const MAX_LAG: Duration = Duration::from_secs(2);
/// How soon after the cut the isolated master must refuse writes. Redis
/// counts a replica as good while `now - last ACK <= min-replicas-max-lag`
/// in whole seconds (so up to max-lag + 1 s after the last ACK, which
/// replicas send every second, i.e. at most 1 s before the cut) and
/// recounts once a second (+1 s): max-lag + 2 s, plus 0.5 s for the
/// probe's own round trip and poll interval.
const REFUSE_WITHIN: Duration = Duration::from_millis(2_000 + 2_000 + 500);
/// The writer: how long it writes, at most how many writes, and the
/// `WAIT` timeout of each.
const WRITE_FOR: Duration = Duration::from_secs(30);
const MAX_WRITES: usize = 3_000;
const WAIT_MS: u64 = 1_000;
/// How long the master stays cut off.
const HOLD_CUT: Duration = Duration::from_secs(10);

/// The fixture's topology, brought up by the harness: 3 Redis pods and
/// 3 Sentinels, every Sentinel agreeing on pod 0.
fn bring_up(render: &Render) -> Result<(Cluster, Topo)> {
    let (c, t) = harness::bring_up(render)?;
    t.ensure_pods(3, 3)?;
    ensure!(
        t.master_name == MASTER_NAME && t.down_after == DOWN_AFTER,
        "the fixture's master name and down-after are {} and {}",
        t.master_name,
        secs(t.down_after)
    );
    Ok((c, t))
}

/// Sets the flag when dropped (also on a failing test): the writer stops.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a write on the old master, from inside its own namespace, got.
#[derive(Debug, Clone, PartialEq)]
enum Local {
    Accepted,
    /// NOREPLICAS: min-replicas-to-write not met.
    Refused,
    Other(String),
}

/// One probe of [`probe_locally`].
struct Probe {
    key: usize,
    sent: Instant,
    done: Instant,
    got: Local,
}

/// One `SET part:probe:<key> v<key>` on `host` from inside its namespace.
fn local_write(inside: &Client, host: &str, port: u16, key: usize) -> Local {
    let k = format!("part:probe:{key}");
    let v = format!("v{key}");
    match inside.redis(host, port, &["SET", &k, &v]) {
        Ok(r) if r.is("OK") => Local::Accepted,
        Ok(r) if r.text().starts_with("NOREPLICAS") => Local::Refused,
        Ok(r) => Local::Other(r.summary()),
        Err(e) => Local::Other(e.to_string()),
    }
}

/// Writes to `host` from inside its own namespace every 100 ms until
/// `stop` (or 60 s): the isolated master's own view.
fn probe_locally(inside: Client, host: String, port: u16, stop: Arc<AtomicBool>) -> Vec<Probe> {
    let start = Instant::now();
    let mut probes = Vec::new();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
        let sent = Instant::now();
        let got = local_write(&inside, &host, port, probes.len());
        probes.push(Probe {
            key: probes.len(),
            sent,
            done: Instant::now(),
            got,
        });
        thread::sleep(POLL);
    }
    probes
}

#[test]
fn isolated_master_loses_no_acknowledged_write() -> Result<()> {
    harness::require_environment()?;
    let test_start = Instant::now();
    let render = Render::spec(Path::new(FIXTURE))?;
    let (mut c, t) = bring_up(&render)?;
    let old = t.redis[0].clone();
    let old_fqdn = t.fqdn(&c, &old);
    let inside = t.client_in(&c, &render, &old)?;
    let first = local_write(&inside, &old_fqdn, t.redis_port, usize::MAX);
    ensure!(
        first == Local::Accepted,
        "{old} refuses a write from inside its namespace before the cut: {first:?}"
    );

    // ---- a client in the client namespace writes continuously
    let writer = Writer::start(
        &c,
        &render,
        &t,
        WriterOptions {
            max_duration: WRITE_FOR,
            max_writes: MAX_WRITES,
            wait_ms: WAIT_MS,
            ..WriterOptions::new("part")
        },
    )?;
    thread::sleep(Duration::from_secs(3));

    // ---- the master's link is cut: silent loss both ways. A probe inside
    // its namespace writes to it all along; the test polls the Sentinels.
    let stop_probe = Arc::new(AtomicBool::new(false));
    let _stop_probe = StopOnDrop(stop_probe.clone());
    let probe = {
        let (host, port, stop) = (old_fqdn.clone(), t.redis_port, stop_probe.clone());
        thread::spawn(move || probe_locally(inside, host, port, stop))
    };
    thread::sleep(Duration::from_millis(500));
    c.cut(&old)?;
    let cut = Instant::now();
    println!(
        "partition: {old} cut off at +{}",
        secs(test_start.elapsed())
    );
    let budget = DOWN_AFTER + FAILOVER_TIMEOUT + Duration::from_secs(10);
    let (new_master, named_at) = wait_for("a Sentinel to name a new master", budget, POLL, || {
        for s in &t.sentinels {
            if let Ok(h) = t.sentinel_master(&c, s)
                && h != old_fqdn
            {
                return t
                    .redis_pod(&c, &h)
                    .ok_or(format!("{s} names unknown host {h}"));
            }
        }
        Err("every Sentinel names the old master".to_string())
    })?;
    let new_fqdn = t.fqdn(&c, &new_master);
    if let Some(rest) = HOLD_CUT.checked_sub(cut.elapsed()) {
        thread::sleep(rest);
    }
    stop_probe.store(true, Ordering::Relaxed);
    let probes = probe
        .join()
        .map_err(|_| anyhow::anyhow!("the probe thread panicked"))?;
    let odd: Vec<String> = probes
        .iter()
        .filter_map(|p| match &p.got {
            Local::Other(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    ensure!(
        odd.is_empty(),
        "{old} answered local writes unexpectedly: {odd:?}"
    );
    let first_refusal = probes
        .iter()
        .find(|p| p.got == Local::Refused)
        .with_context(|| {
            format!(
                "{old} accepted all {} local writes during the {} cut",
                probes.len(),
                secs(HOLD_CUT)
            )
        })?;
    let refused_at = first_refusal.done - cut;
    let last_accepted_at = probes
        .iter()
        .filter(|p| p.got == Local::Accepted && p.sent < first_refusal.sent)
        .map(|p| p.sent.saturating_duration_since(cut))
        .max()
        .unwrap_or_default();
    let accepted_after_refusal = probes
        .iter()
        .filter(|p| p.got == Local::Accepted && p.sent > first_refusal.sent)
        .count();
    // Accepted by the isolated master, never replicated: these must vanish.
    let accepted_while_cut: Vec<usize> = probes
        .iter()
        .filter(|p| p.got == Local::Accepted && p.sent >= cut)
        .map(|p| p.key)
        .collect();
    println!(
        "partition: {old} refuses writes (NOREPLICAS, asked from inside its namespace) {} after the cut (last accepted write sent at +{}; min-replicas-max-lag {}); {} later local writes all refused; Sentinels name {new_master} {} after the cut",
        secs(refused_at),
        secs(last_accepted_at),
        secs(MAX_LAG),
        probes.len() - first_refusal.key - 1,
        secs(named_at)
    );
    ensure!(
        refused_at <= REFUSE_WITHIN,
        "the isolated master took {} to refuse writes (min-replicas-max-lag {})",
        secs(refused_at),
        secs(MAX_LAG)
    );
    ensure!(
        accepted_after_refusal == 0,
        "the isolated master accepted {accepted_after_refusal} local writes after it first refused one"
    );
    ensure!(
        named_at <= DOWN_AFTER + FAILOVER_TIMEOUT,
        "failover took {} (> down-after + failover-timeout)",
        secs(named_at)
    );

    // ---- heal: the old master must become a replica of the new one and
    // never take a write meanwhile.
    c.heal(&old)?;
    let mut accepted_after_heal = 0usize;
    let (_, rejoined) = wait_for(
        &format!("{old} to rejoin as a replica of {new_master}"),
        SETTLE,
        Duration::from_millis(200),
        || {
            if let Ok(r) = t.redis(&c, &old, &["SET", "part:after-heal", "x"])
                && r.is("OK")
            {
                accepted_after_heal += 1;
            }
            t.replica_linked(&c, &old, &new_fqdn)
        },
    )?;
    ensure!(
        accepted_after_heal == 0,
        "{old} accepted {accepted_after_heal} writes from the client after the heal, before it rejoined"
    );
    println!(
        "partition: healed; {old} is a replica of {new_master} with its link up {} after the heal (Sentinel +convert-to-slave)",
        secs(rejoined)
    );

    // ---- the writer ends (fixed duration or count); count.
    let writes = writer.finish()?;
    t.wait_sentinels_agree(&c, &new_master, 2)?;
    let roles = t.ensure_single_master(&c, &new_master)?;
    let final_master = t
        .sentinel_master(&c, &t.sentinels[0])
        .map_err(anyhow::Error::msg)?;
    ensure!(
        final_master == new_fqdn,
        "Sentinel names {final_master} at the end"
    );

    let acked = writes.acked();
    let refused = writes.refused();
    let unacked = writes.count(&Outcome::Unacked);
    let no_answer = writes.count(&Outcome::NoAnswer);
    let acked_before = writes.acked_before(cut);
    let first_new = writes.first_ack_after_on(cut, &new_fqdn);
    let acked_on_old_after_cut =
        writes.acked_on_between(&old_fqdn, cut + REFUSE_WITHIN, writes.end);
    let lost = writes.lost(&c, &t, &new_master)?;
    // The rejoined old master holds them too, once it caught up.
    let caught_up = c
        .client()
        .redis_pipe(&new_fqdn, t.redis_port, "WAIT 2 5000\n")?;
    ensure!(
        caught_up.is("2"),
        "both replicas of {new_master} do not catch up: {}",
        caught_up.summary()
    );
    let lost_on_old = writes.lost(&c, &t, &old)?;
    // What the isolated master accepted locally before refusing was never
    // acknowledged by a replica: it must be gone (and this shows the
    // check above does see missing keys).
    let discarded = t.missing_keys(&c, &new_master, &accepted_while_cut, "part:probe")?;

    println!("partition: WRITES attempted {}", writes.list.len());
    println!(
        "partition: WRITES acknowledged (SET OK and WAIT >= 1) {} ({acked_before} before the cut)",
        acked.len()
    );
    println!(
        "partition: WRITES refused {} {refused:?}",
        refused.values().sum::<usize>()
    );
    println!(
        "partition: WRITES accepted without a replica acknowledgement {unacked}; no answer (unreachable/timeout) {no_answer}"
    );
    println!(
        "partition: WRITES acknowledged but lost {} (on the rejoined {old}: {})",
        lost.len(),
        lost_on_old.len()
    );
    println!(
        "partition: {} writes the isolated {old} accepted locally before it refused (never acknowledged) are gone after the rejoin: {}",
        accepted_while_cut.len(),
        discarded.len()
    );
    println!(
        "partition: TIMINGS cut -> old master refuses {}; cut -> Sentinels name {new_master} {}; cut -> first acknowledged write on it {}; heal -> {old} rejoined as replica {}",
        secs(refused_at),
        secs(named_at),
        first_new.map_or("never".to_string(), secs),
        secs(rejoined)
    );
    println!("partition: roles at the end {roles:?}");
    ensure!(
        lost.is_empty(),
        "{} acknowledged writes are missing on the final master {new_master}: keys {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    ensure!(
        lost_on_old.is_empty(),
        "{} acknowledged writes are missing on the rejoined {old}",
        lost_on_old.len()
    );
    ensure!(
        discarded.len() == accepted_while_cut.len(),
        "writes the isolated master took alone survived its rejoin: {:?}",
        accepted_while_cut
            .iter()
            .filter(|k| !discarded.contains(k))
            .collect::<Vec<_>>()
    );
    ensure!(
        acked_before > 0 && first_new.is_some(),
        "the writer must have acknowledged writes before the cut ({acked_before}) and on the new master ({first_new:?})"
    );
    ensure!(
        acked_on_old_after_cut == 0,
        "{acked_on_old_after_cut} writes acknowledged by the cut-off master"
    );
    println!("partition: total {}", secs(test_start.elapsed()));
    c.pass();
    Ok(())
}

#[test]
fn sentinel_partitions_and_restarts() -> Result<()> {
    harness::require_environment()?;
    let test_start = Instant::now();
    let render = Render::spec(Path::new(FIXTURE))?;
    let (mut c, t) = bring_up(&render)?;
    let master = t.redis[0].clone();
    let master_fqdn = t.fqdn(&c, &master);

    // ---- B. a minority of Sentinels (1 of 3) cut off while the master
    // dies: the other two still have quorum and a majority.
    let minority = t.sentinels[0].clone();
    let minority_fqdn = t.fqdn(&c, &minority);
    let majority: Vec<String> = t
        .sentinels
        .iter()
        .filter(|s| **s != minority)
        .cloned()
        .collect();
    let inside = t.client_in(&c, &render, &minority)?;
    t.acked_writes(&c, &master, "part:minority", 100)?;
    let mark = c.log(&minority).len();
    c.cut(&minority)?;
    let killed = Instant::now();
    c.kill(&master)?;
    let (m2, named, writable) = t.wait_new_master(&c, &majority, &master, killed)?;
    ensure!(
        writable <= DOWN_AFTER + FAILOVER_TIMEOUT,
        "failover with a Sentinel cut off took {} (> down-after + failover-timeout)",
        secs(writable)
    );
    let lone_view = master_addr(&inside, MASTER_NAME, &minority_fqdn, t.sentinel_port)
        .map_err(anyhow::Error::msg)?;
    ensure!(
        lone_view == master_fqdn,
        "the cut-off {minority} names {lone_view} before it can hear of the failover"
    );
    let lone_log = log_since(&c, &minority, mark);
    ensure!(
        !lone_log.contains("+try-failover"),
        "the cut-off {minority} tried a failover alone:\n{lone_log}"
    );
    c.heal(&minority)?;
    let m2_fqdn = t.fqdn(&c, &m2);
    let (_, learned) = wait_for(
        &format!("the healed {minority} to learn the new master"),
        SETTLE,
        POLL,
        || {
            let h = t.sentinel_master(&c, &minority)?;
            if h == m2_fqdn {
                Ok(())
            } else {
                Err(format!("names {h}"))
            }
        },
    )?;
    let restarted = Instant::now();
    c.start(&master)?;
    c.wait_ready(&master, READY)?;
    t.wait_replica_of(&c, &master, &m2)?;
    expect_decision(&c, &master, &format!("starting as replica of {m2_fqdn}"))?;
    t.wait_sentinels_agree(&c, &m2, 2)?;
    let lost = t.missing_keys(&c, &m2, &(0..100).collect::<Vec<_>>(), "part:minority")?;
    ensure!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let roles = t.ensure_single_master(&c, &m2)?;
    println!(
        "CHECK B passed: {minority} cut off, {master} killed: the other two Sentinels named {m2} after {} (writable after {}); the cut-off one still named {master} and did not try; after the heal it learned {m2} in {}; {master} restarted as its replica in {}; 100 acknowledged writes kept; roles {roles:?}",
        secs(named),
        secs(writable),
        secs(learned),
        secs(restarted.elapsed())
    );

    // ---- A. after that failover (its master-down votes forgotten), one
    // Sentinel cut off alone must not fail the master over.
    let forgot = wait_votes_forgotten(&t, &c)?;
    println!(
        "CHECK A0 passed: every Sentinel forgot the failover's master-down votes {} after the agreement on {m2}",
        secs(forgot)
    );
    lone_sentinel_stays_alone(&mut c, &t, &render, &m2)?;

    // ---- C. every Sentinel restarted at once, the current master not pod 0
    ensure!(m2 != t.redis[0], "the current master must not be pod 0");
    let (stopped, up) = t.restart_all_sentinels(&mut c)?;
    for s in &t.sentinels {
        expect_decision(&c, s, &format!("monitoring {MASTER_NAME} at {m2_fqdn}"))?;
    }
    t.wait_sentinels_agree(&c, &m2, 2)?;
    let agreed = up.elapsed();
    t.ensure_quorum(&c, "OK 3 usable Sentinels")?;
    let how: Vec<String> = t
        .sentinels
        .iter()
        .map(|s| {
            let log = c.last_start_log(s);
            if log.contains("peer Sentinel") {
                format!("{s}: from a peer Sentinel")
            } else if log.contains("reports role master") {
                format!("{s}: from the Redis pods' ROLE")
            } else {
                format!("{s}: ?")
            }
        })
        .collect();
    println!(
        "CHECK C passed: all 3 Sentinels stopped ({}) and started at once: they monitor {m2} (not pod 0), agree {} after the start (peers, 2 healthy replicas, CKQUORUM OK); {how:?}",
        secs(stopped),
        secs(agreed)
    );

    // (That restarted Sentinels still fail over is checked by
    // sentinels_restarted_around_a_partition.)
    println!("partition: total {}", secs(test_start.elapsed()));
    c.pass();
    Ok(())
}

/// Every Sentinel restarts while a partition is going on or has just
/// healed: they must monitor the master the replicas follow, and the
/// former master (which none of them ever saw demoted) must still end
/// up as a replica.
#[test]
fn sentinels_restarted_around_a_partition() -> Result<()> {
    harness::require_environment()?;
    let test_start = Instant::now();
    let render = Render::spec(Path::new(FIXTURE))?;
    let (mut c, t) = bring_up(&render)?;
    let x = t.redis[0].clone();

    // ---- A. the old master is back from its partition and still reports
    // role master (Sentinel has not demoted it yet) when every Sentinel
    // restarts at once.
    t.acked_writes(&c, &x, "part:stale", 100)?;
    c.cut(&x)?;
    let cut = Instant::now();
    let (y, named, _) = t.wait_new_master(&c, &t.sentinels, &x, cut)?;
    c.heal(&x)?;
    let (stopped, up) = t.restart_all_sentinels(&mut c)?;
    let stale = t.replication(&c, &x).map_err(anyhow::Error::msg)?;
    ensure!(
        get(&stale, "role") == "master",
        "{x} was demoted before the Sentinels restarted: the case is not set up ({stale:?})"
    );
    t.ensure_sentinels_name(&c, &y)?;
    t.wait_replica_of(&c, &x, &y)?;
    let demoted = up.elapsed();
    t.wait_sentinels_agree(&c, &y, 2)?;
    let roles = t.ensure_single_master(&c, &y)?;
    let lost = t.missing_keys(&c, &y, &(0..100).collect::<Vec<_>>(), "part:stale")?;
    ensure!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    println!(
        "CHECK A passed: {x} cut off, Sentinels named {y} after {}; healed, every Sentinel stopped ({}) and restarted at once while {x} still reported role:{} with {} replicas: they monitor {y}, and {x} became its replica {} after the restart; roles {roles:?}",
        secs(named),
        secs(stopped),
        get(&stale, "role"),
        get(&stale, "connected_slaves"),
        secs(demoted)
    );

    // ---- B. every Sentinel restarts while the master is cut off: none
    // of them can know it; once healed it must still be demoted.
    c.cut(&y)?;
    let cut = Instant::now();
    let (w, named, _) = t.wait_new_master(&c, &t.sentinels, &y, cut)?;
    let (_, up) = t.restart_all_sentinels(&mut c)?;
    let restarted = up.elapsed();
    t.ensure_sentinels_name(&c, &w)?;
    c.heal(&y)?;
    let healed = Instant::now();
    t.wait_replica_of(&c, &y, &w)?;
    let demoted = healed.elapsed();
    t.wait_sentinels_agree(&c, &w, 2)?;
    let roles = t.ensure_single_master(&c, &w)?;
    println!(
        "CHECK B passed: {y} cut off, Sentinels named {w} after {}; every Sentinel restarted while {y} was unreachable (ready in {}), they monitor {w}; after the heal {y} became its replica in {}; roles {roles:?}",
        secs(named),
        secs(restarted),
        secs(demoted)
    );
    println!("partition: total {}", secs(test_start.elapsed()));
    c.pass();
    Ok(())
}

/// TCP sockets toward `addr` in every namespace of the cluster, sampled
/// every 100 ms for `window`. Returns what was seen (namespace, socket).
/// Waits (bounded) for a 5 s window in which no process dials `addr` any
/// more. A connection attempt a Sentinel started before the pod came back
/// may still be pending for a moment (seen on a loaded machine); one that
/// keeps coming back means the old address is still in use.
fn stops_dialing(c: &Cluster, addr: &str, pod: &str) -> Result<()> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        // A TIME-WAIT socket seen before is a connection closed earlier that
        // the kernel keeps for up to 60 s (Redis 8 replicas close their
        // link to the old master themselves, so the socket lingers on
        // their side): not a dial. A new one (another port) is.
        let stale: Vec<String> = connections_to(c, addr, Duration::from_secs(5))?
            .into_iter()
            .filter(|l| !(l.contains(" TIME-WAIT ") && seen.contains(l)))
            .collect();
        if stale.is_empty() {
            println!(
                "partition: no socket to {pod}'s old address {addr} over 5 s (after {} of stragglers: {seen:?})",
                secs(start.elapsed())
            );
            return Ok(());
        }
        ensure!(
            start.elapsed() < Duration::from_secs(30),
            "connections to {pod}'s old address {addr} for 30 s: {stale:?} (earlier: {seen:?})"
        );
        seen.extend(stale);
    }
}

fn connections_to(c: &Cluster, addr: &str, window: Duration) -> Result<Vec<String>> {
    let mut namespaces: Vec<(String, String)> = c
        .pods
        .iter()
        .map(|p| (p.name.clone(), p.netns.clone()))
        .collect();
    namespaces.push(("client".to_string(), c.client().netns.clone()));
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < window {
        for (name, ns) in &namespaces {
            let out = harness::run(
                Command::new("ip").args(["netns", "exec", ns, "ss", "-tanH", "dst", addr]),
                Duration::from_secs(5),
            )?;
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
                if !l.is_empty() {
                    seen.push(format!("{name}: {l}"));
                }
            }
        }
        thread::sleep(POLL);
    }
    seen.sort();
    seen.dedup();
    Ok(seen)
}

/// Every Sentinel names `master` by its DNS name in `SENTINEL master` and
/// lists `pod` among the replicas by its DNS name, healthy. Polled: right
/// after [`Topo::wait_sentinels_agree`] one `redis-cli` round trip to a
/// Sentinel may still fail or show the previous `INFO` read; the error
/// says what every Sentinel showed last.
fn sentinels_use_dns_names(t: &Topo, c: &Cluster, master: &str, pod: &str) -> Result<()> {
    let fqdn = t.fqdn(c, pod);
    let master_fqdn = t.fqdn(c, master);
    let what = format!("every Sentinel to name {master} and list {pod} by DNS name, healthy");
    wait_for(&what, SETTLE, POLL, || {
        for s in &t.sentinels {
            let st = t.sentinel_state(c, s)?;
            if get(&st, "ip") != master_fqdn || get(&st, "flags") != "master" {
                return Err(format!("{s}: SENTINEL master shows {st:?}"));
            }
            let r = t
                .sentinel(c, s, &["SENTINEL", "replicas", MASTER_NAME])
                .map_err(|e| format!("{s}: {e:#}"))?;
            let recs = replica_records(&r);
            let rec = recs
                .iter()
                .find(|m| get(m, "name") == format!("{fqdn}:{}", t.redis_port))
                .ok_or_else(|| format!("{s} does not list {pod} by its DNS name: {recs:?}"))?;
            if get(rec, "ip") != fqdn
                || get(rec, "flags") != "slave"
                || get(rec, "master-link-status") != "ok"
            {
                return Err(format!("{s} lists {pod} as {rec:?}"));
            }
        }
        Ok(())
    })?;
    Ok(())
}

#[test]
fn redis_pod_returns_with_a_new_address() -> Result<()> {
    harness::require_environment()?;
    let test_start = Instant::now();
    let render = Render::spec(Path::new(FIXTURE))?;
    let (mut c, t) = bring_up(&render)?;
    let master = t.redis[0].clone();

    // ---- A. a replica pod is deleted and comes back elsewhere
    let victim = t.redis[2].clone();
    t.acked_writes(&c, &master, "part:moved", 100)?;
    let old_ip = c.pod(&victim).ip;
    c.delete(&victim)?;
    let new_ip = c.fresh_ip()?;
    c.set_ip(&victim, new_ip)?;
    // Control: while the pod is gone (no DNS record, its old address on
    // no host), the Sentinels still dial the address they last resolved;
    // the sampler must see that.
    let dialing = connections_to(&c, &old_ip.to_string(), Duration::from_secs(3))?;
    println!("partition: while {victim} is gone, sockets to its old address {old_ip}: {dialing:?}");
    ensure!(
        !dialing.is_empty(),
        "the socket sampler saw no Sentinel dialing {old_ip} while {victim} was gone"
    );
    let recreated = Instant::now();
    c.start(&victim)?;
    c.wait_ready(&victim, READY)?;
    t.wait_replica_of(&c, &victim, &master)?;
    expect_decision(
        &c,
        &victim,
        &format!("starting as replica of {}", t.fqdn(&c, &master)),
    )?;
    let agree = t.wait_sentinels_agree(&c, &master, 2)?;
    let took = recreated.elapsed();
    sentinels_use_dns_names(&t, &c, &master, &victim)?;
    let lost = t.missing_keys(&c, &victim, &(0..100).collect::<Vec<_>>(), "part:moved")?;
    ensure!(
        lost.is_empty(),
        "{victim} lacks acknowledged writes: {lost:?}"
    );
    stops_dialing(&c, &old_ip.to_string(), &victim)?;
    println!(
        "CHECK A passed: replica {victim} deleted and recreated at {new_ip} (was {old_ip}): replica of {master} with master_link_status:up, every Sentinel lists it by DNS name as a healthy replica {} after the recreate (+{} for the Sentinels); no socket to {old_ip} in any namespace over 5 s",
        secs(took),
        secs(agree)
    );

    // ---- B. the master's pod is deleted and comes back elsewhere: a
    // failover, then it rejoins as a replica at its new address.
    let old_ip = c.pod(&master).ip;
    t.acked_writes(&c, &master, "part:master-moved", 100)?;
    let deleted = Instant::now();
    c.delete(&master)?;
    let (m2, named, writable) = t.wait_new_master(&c, &t.sentinels, &master, deleted)?;
    let new_ip = c.fresh_ip()?;
    c.set_ip(&master, new_ip)?;
    let recreated = Instant::now();
    c.start(&master)?;
    c.wait_ready(&master, READY)?;
    t.wait_replica_of(&c, &master, &m2)?;
    expect_decision(
        &c,
        &master,
        &format!("starting as replica of {}", t.fqdn(&c, &m2)),
    )?;
    let agree = t.wait_sentinels_agree(&c, &m2, 2)?;
    let took = recreated.elapsed();
    sentinels_use_dns_names(&t, &c, &m2, &master)?;
    let lost = t.missing_keys(
        &c,
        &master,
        &(0..100).collect::<Vec<_>>(),
        "part:master-moved",
    )?;
    ensure!(
        lost.is_empty(),
        "{master} lacks acknowledged writes: {lost:?}"
    );
    stops_dialing(&c, &old_ip.to_string(), &master)?;
    let roles = t.ensure_single_master(&c, &m2)?;
    println!(
        "CHECK B passed: master {master} deleted: Sentinels named {m2} after {} (writable {}); recreated at {new_ip} (was {old_ip}) it rejoined as a replica, listed healthy by DNS name {} after the recreate (+{} for the Sentinels); no socket to {old_ip}; roles {roles:?}",
        secs(named),
        secs(writable),
        secs(took),
        secs(agree)
    );
    println!("partition: total {}", secs(test_start.elapsed()));
    c.pass();
    Ok(())
}

/// `redis_master_peer` of the generated scripts (the choice every Sentinel
/// restarted at once makes, and a Redis pod when no Sentinel answers) on
/// made-up `INFO replication` answers: the master the replicas follow wins
/// over a stale master that still counts its dead replica links; with no
/// replica to ask, the master promoted from the other's history wins.
#[test]
fn master_choice_follows_the_replicas() -> Result<()> {
    let render = Render::spec(Path::new(FIXTURE))?;
    let cm = render
        .kinds("ConfigMap")
        .find(|v| v["data"]["start-sentinel.sh"].is_string())
        .context("no ConfigMap with start-sentinel.sh")?;
    let script = cm["data"]["start-sentinel.sh"].as_str().unwrap_or_default();
    let end = "# ---- end of common helpers ----";
    let helpers = &script[..script.find(end).context("no common helpers")? + end.len()];
    let host = |i: usize| format!("cache-redis-{i}.cache-redis-headless.e2e.svc.cluster.local");
    let master = |slaves: usize, id: &str, id2: &str| {
        format!(
            "# Replication\r\nrole:master\r\nconnected_slaves:{slaves}\r\nmaster_replid:{id}\r\nmaster_replid2:{id2}\r\n"
        )
    };
    let replica = |of: &str, link: &str| {
        format!(
            "# Replication\r\nrole:slave\r\nmaster_host:{of}\r\nmaster_link_status:{link}\r\nmaster_replid:r\r\n"
        )
    };
    let zero = "0000000000000000000000000000000000000000";
    let pod0 = host(0);
    // (case, INFO of pods 0..2 ("" = no answer), EXCLUDE, expected pick)
    let cases: Vec<(&str, [String; 3], &str, String)> = vec![
        (
            "stale master back from a partition (dead links still counted)",
            [
                master(2, "aaa", zero),
                master(1, "bbb", "aaa"),
                replica(&host(1), "up"),
            ],
            "",
            host(1),
        ),
        (
            "stale master, the new master's only replica not linked yet",
            [
                master(2, "aaa", zero),
                master(0, "bbb", "aaa"),
                replica(&host(1), "down"),
            ],
            "",
            host(1),
        ),
        (
            "two masters without replicas, the later one first",
            [
                master(0, "bbb", "aaa"),
                master(0, "aaa", zero),
                String::new(),
            ],
            "",
            host(0),
        ),
        (
            "one master",
            [
                replica(&host(2), "up"),
                replica(&host(2), "up"),
                master(2, "ccc", zero),
            ],
            "",
            host(2),
        ),
        (
            "the starting pod is left out",
            [
                master(0, "aaa", zero),
                replica(&host(0), "up"),
                replica(&host(0), "up"),
            ],
            &pod0,
            String::new(),
        ),
        (
            "nobody answers",
            [String::new(), String::new(), String::new()],
            "",
            String::new(),
        ),
    ];
    for (what, infos, exclude, want) in cases {
        let mut sh = format!("{helpers}\nresolves() {{ true; }}\ncli() {{\n    case \"$1\" in\n");
        for (i, info) in infos.iter().enumerate() {
            if !info.is_empty() {
                sh.push_str(&format!("        {}) printf '%s' '{info}' ;;\n", host(i)));
            }
        }
        sh.push_str(&format!(
            "        *) return 1 ;;\n    esac\n}}\nredis_master_peer '{exclude}'\n"
        ));
        let out = harness::run_ok(
            Command::new("sh").args(["-c", &sh]),
            Duration::from_secs(10),
        )?;
        ensure!(
            out.trim() == want,
            "{what}: picked {:?}, expected {want:?}",
            out.trim()
        );
    }
    Ok(())
}

/// Peers each Sentinel still flags `master_down` (their answer "the
/// master is down" to an earlier question of this Sentinel).
fn master_down_votes(t: &Topo, c: &Cluster) -> Vec<(String, Vec<String>)> {
    t.sentinels
        .iter()
        .map(|s| {
            let votes = t
                .sentinel(c, s, &["SENTINEL", "SENTINELS", &t.master_name])
                .map(|r| {
                    replica_records(&r)
                        .iter()
                        .filter(|p| get(p, "flags").contains("master_down"))
                        .map(|p| {
                            get(p, "ip")
                                .split('.')
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_else(|e| vec![format!("error: {e}")]);
            (s.clone(), votes)
        })
        .collect()
}

/// Waits until no Sentinel flags a peer `master_down` any more: the
/// answers "the master is down" of a past failover. Redis forgets them 5 s
/// after its last question; Valkey 9 keeps them (valkey-io/valkey#2763)
/// and the prune loop resets them away (prune-sentinel.sh). A Sentinel that
/// kept them would reach o_down alone the next time it is cut off.
fn wait_votes_forgotten(t: &Topo, c: &Cluster) -> Result<Duration> {
    let start = Instant::now();
    wait_for(
        "every Sentinel to forget the peers' master-down votes",
        SETTLE * 2,
        Duration::from_millis(500),
        || {
            let v = master_down_votes(t, c);
            if v.iter().all(|(_, p)| p.is_empty()) {
                Ok(())
            } else {
                Err(format!("{v:?}"))
            }
        },
    )?;
    Ok(start.elapsed())
}

/// One Sentinel (the last) cut off for three times down-after: it sees
/// the master down but must not fail over alone, nor after its return.
fn lone_sentinel_stays_alone(
    c: &mut Cluster,
    t: &Topo,
    render: &Render,
    master: &str,
) -> Result<()> {
    let master_fqdn = t.fqdn(c, master);
    let lone = t.sentinels[2].clone();
    let lone_fqdn = t.fqdn(c, &lone);
    let others: Vec<String> = t
        .sentinels
        .iter()
        .filter(|s| **s != lone)
        .cloned()
        .collect();
    let epochs = t.config_epochs(c, &t.sentinels)?;
    let marks: Vec<usize> = t.sentinels.iter().map(|s| c.log(s).len()).collect();
    let inside = t.client_in(c, render, &lone)?;
    c.cut(&lone)?;
    let cut = Instant::now();
    let (_, sdown) = wait_for(
        &format!("the cut-off {lone} to flag the master subjectively down"),
        SETTLE,
        POLL,
        || {
            let st = sentinel_master_state(&inside, MASTER_NAME, &lone_fqdn, t.sentinel_port)?;
            if get(&st, "flags").contains("s_down") {
                Ok(())
            } else {
                Err(format!("flags={}", get(&st, "flags")))
            }
        },
    )?;
    // Hold for three times down-after-milliseconds, checking all along.
    let hold = DOWN_AFTER * 3 + Duration::from_secs(1);
    let mut samples = 0;
    while cut.elapsed() < hold {
        let st = sentinel_master_state(&inside, MASTER_NAME, &lone_fqdn, t.sentinel_port)
            .map_err(anyhow::Error::msg)?;
        let flags = get(&st, "flags");
        ensure!(
            !flags.contains("o_down") && get(&st, "failover-state").is_empty(),
            "the lone {lone} escalated: flags={flags} {st:?}"
        );
        let h = master_addr(&inside, MASTER_NAME, &lone_fqdn, t.sentinel_port)
            .map_err(anyhow::Error::msg)?;
        ensure!(h == master_fqdn, "the lone {lone} switched to {h}");
        for s in &others {
            let st = t.sentinel_state(c, s).map_err(anyhow::Error::msg)?;
            ensure!(
                get(&st, "flags") == "master",
                "{s} flags the master {}",
                get(&st, "flags")
            );
        }
        samples += 1;
        thread::sleep(Duration::from_millis(250));
    }
    c.heal(&lone)?;
    t.wait_sentinels_agree(c, master, 2)?;
    t.ensure_single_master(c, master)?;
    let epochs_after = t.config_epochs(c, &t.sentinels)?;
    ensure!(
        epochs == epochs_after,
        "config epochs changed: {epochs:?} -> {epochs_after:?}"
    );
    for (s, mark) in t.sentinels.iter().zip(&marks) {
        let new = log_since(c, s, *mark);
        for ev in FAILOVER_EVENTS {
            ensure!(
                !new.contains(ev),
                "{s} logged {ev} while only {lone} was cut off:\n{new}"
            );
        }
    }
    println!(
        "CHECK A passed: {lone} cut off for {} (down-after {}): it flagged the master s_down after {} but never o_down, no +try-failover/+new-epoch/+vote-for-leader/+switch-master on any Sentinel ({samples} samples); config-epoch {epochs:?} unchanged; {master} still the master",
        secs(hold),
        secs(DOWN_AFTER),
        secs(sdown)
    );

    Ok(())
}
