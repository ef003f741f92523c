//! The start scripts' pod-count helpers and the Sentinel prune loop's
//! decisions, run with `sh` on the rendered scripts: which pod names a
//! script may trust after a scale (ordinal below the current count and a
//! name that resolves), how the count follows the topology ConfigMap and
//! DNS, and which Sentinel entries the prune loop takes for removed pods.
//! DNS is replaced by a list of names (a `getent` first on PATH);
//! everything else is the rendered text.

use std::process::Command;

use crate::harness::cli::*;

const DOMAIN: &str = "e2e.svc.cluster.local";

fn rendered() -> Vec<serde_norway::Value> {
    let spec = parse(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: e2e\n",
    );
    let out = krm(&spec, &[], &[]);
    assert!(out.status.success());
    parse(std::str::from_utf8(&out.stdout).unwrap())["items"]
        .as_sequence()
        .unwrap()
        .clone()
}

fn file<'a>(items: &'a [serde_norway::Value], cm: &str, key: &str) -> &'a str {
    find(items, "ConfigMap", cm)["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{cm} has {key}"))
}

fn redis(i: u32) -> String {
    format!("cache-redis-{i}.cache-redis-headless.{DOMAIN}")
}

fn sentinel(i: u32) -> String {
    format!("cache-sentinel-{i}.cache-sentinel-headless.{DOMAIN}")
}

/// Runs `test` after `script` (settings and function definitions only) with a topology directory holding `topology` and
/// only `resolvable` names in DNS. Returns stdout.
fn run_helpers(
    script: &str,
    topology: &[(&str, &str)],
    resolvable: &[String],
    test: &str,
) -> String {
    let dir = std::env::temp_dir().join(format!(
        "script-helpers-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let topo = dir.join("topology");
    std::fs::create_dir_all(&topo).unwrap();
    for (k, v) in topology {
        std::fs::write(topo.join(k), v).unwrap();
    }
    // DNS: a `getent` that knows only the names in $RESOLVABLE.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("getent"),
        "#!/bin/sh\ncase \" $RESOLVABLE \" in *\" $2 \"*) echo \"10.0.0.1 $2\"; exit 0 ;; esac\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("getent"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let body = format!("{script}\nset +e\n{test}\n");
    let out = Command::new("sh")
        .arg("-c")
        .arg(&body)
        .env("RESOLVABLE", resolvable.join(" "))
        .env("PATH", path)
        .env("TOPOLOGY_DIR", &topo)
        .env("RUN_DIR", &dir)
        .env("POD_NAME", "cache-sentinel-1")
        .output()
        .expect("sh runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "sh failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn counts_follow_the_topology_configmap_and_dns() {
    let items = rendered();
    let whole = file(&items, "cache-redis", "start-redis.sh");
    // Settings and common helpers, not the main part.
    let script = &whole[..whole
        .find("# ---- end of common helpers ----")
        .expect("helpers")];
    let dns: Vec<String> = (0..5).map(redis).chain((0..3).map(sentinel)).collect();
    // The ConfigMap says 3 but pods 3 and 4 already exist (a scale-up the
    // kubelet has not shown this pod yet): 5.
    let out = run_helpers(
        script,
        &[("redis-replicas", "3\n"), ("sentinel-replicas", "3")],
        &dns,
        "echo $(pod_count redis) $(pod_count sentinel)",
    );
    assert_eq!(out.trim(), "5 3");
    // The ConfigMap says 5 while only 0..2 exist (scaled down, DNS already
    // updated): 5, but pods 3 and 4 do not resolve, so they are not usable.
    let dns3: Vec<String> = (0..3).map(redis).collect();
    let out = run_helpers(
        script,
        &[("redis-replicas", "5")],
        &dns3,
        &format!(
            "echo $(pod_count redis); for h in {} {} {}; do if usable_pod redis $h; then echo yes; else echo no; fi; done",
            redis(2),
            redis(3),
            redis(4)
        ),
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["5", "yes", "no", "no"]
    );
    // Fresh count 3, a removed pod still in a DNS cache: its ordinal rules it out.
    let out = run_helpers(
        script,
        &[("redis-replicas", "3")],
        &[redis(0), redis(1), redis(2), redis(4)],
        &format!(
            "if usable_pod redis {} 3; then echo yes; else echo no; fi",
            redis(4)
        ),
    );
    assert_eq!(out.trim(), "no");
    // Names that are not pod names of this StatefulSet are never usable.
    let foreign = [
        "10.0.0.7".to_string(),
        format!("cache-redis-01.cache-redis-headless.{DOMAIN}"),
        format!("other-redis-1.cache-redis-headless.{DOMAIN}"),
        "cache-redis-1.cache-redis-headless.other.svc.cluster.local".to_string(),
        sentinel(1),
    ];
    let test: String = foreign
        .iter()
        .map(|h| format!("if usable_pod redis {h} 5; then echo yes; else echo no; fi\n"))
        .collect();
    let mut dns_all = dns.clone();
    dns_all.extend(foreign.iter().cloned());
    let out = run_helpers(script, &[("redis-replicas", "5")], &dns_all, &test);
    assert!(out.lines().all(|l| l == "no"), "{out}");
    // A missing or malformed ConfigMap value falls back to DNS alone.
    let out = run_helpers(
        script,
        &[("redis-replicas", "x1"), ("sentinel-replicas", "07")],
        &dns,
        "echo $(pod_count redis) $(pod_count sentinel) $(topology_value nothing 9)",
    );
    assert_eq!(out.trim(), "5 3 9");
}

/// The prune loop's `gone`: removed by the count at once; unresolvable
/// names only after GONE_AFTER_SECONDS; foreign names never.
#[test]
fn prune_takes_only_removed_pods_for_gone() {
    let items = rendered();
    let prune = file(&items, "cache-sentinel", "prune-sentinel.sh");
    // Only the definitions: stop before the loop.
    let defs = &prune[..prune.rfind("while kill -0").expect("the loop")];
    let test = format!(
        "NOW=$(date +%s)
printf '%s %s\\n' {r3} $((NOW - 3)) {r4} $((NOW - 11)) > \"$STATE\"
for h in {r1} {r3} {r4} {r5} {s4} 10.0.0.9; do
    case $h in cache-sentinel-*) c=sentinel; n=3 ;; *) c=redis; n=5 ;; esac
    if gone $c $h $n; then echo \"$h gone\"; else echo \"$h kept\"; fi
done",
        r1 = redis(1),
        r3 = redis(3),
        r4 = redis(4),
        r5 = redis(5),
        s4 = sentinel(4),
    );
    let out = run_helpers(
        defs,
        &[("redis-replicas", "5"), ("sentinel-replicas", "3")],
        &[
            redis(0),
            redis(1),
            redis(2),
            sentinel(0),
            sentinel(1),
            sentinel(2),
            sentinel(4),
        ],
        &test,
    );
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(
        got,
        [
            format!("{} kept", redis(1)),
            format!("{} kept", redis(3)),
            format!("{} gone", redis(4)),
            format!("{} gone", redis(5)),
            format!("{} gone", sentinel(4)),
            "10.0.0.9 kept".to_string(),
        ],
        "unresolvable for 3 s: kept (a rollout recreates it); for 11 s: gone; ordinal at/above the count: gone"
    );
}

/// `knows_all`: a lower-ordinal Sentinel has its turn done only when it
/// lists none of the stale entries and knows every healthy replica and
/// peer, this Sentinel included.
#[test]
fn prune_waits_for_the_lower_sentinel_to_rediscover() {
    let items = rendered();
    let prune = file(&items, "cache-sentinel", "prune-sentinel.sh");
    let defs = &prune[..prune.rfind("while kill -0").expect("the loop")];
    let (r1, r2, r4) = (redis(1), redis(2), redis(4));
    let (s0, s1, s2) = (sentinel(0), sentinel(1), sentinel(2));
    let test = format!(
        "SELF={s1}; STALE=' {r4}'; HEALTHY_REPLICAS=' {r1} {r2}'; HEALTHY_PEERS=' {s0} {s2}'
check() {{ if knows_all \"$1\" \"$2\" {s0}; then echo done; else echo waiting; fi; }}
check \"{r1} slave ok
{r2} slave ok\" \"{s1} sentinel -
{s2} sentinel -\"
check \"{r1} slave ok
{r2} slave ok
{r4} s_down,slave,disconnected err\" \"{s1} sentinel -
{s2} sentinel -\"
check \"{r1} slave ok\" \"{s1} sentinel -
{s2} sentinel -\"
check \"{r1} slave ok
{r2} slave ok\" \"{s2} sentinel -\""
    );
    let out = run_helpers(defs, &[], &[], &test);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["done", "waiting", "waiting", "waiting"],
        "done; still lists the removed pod; has not rediscovered a replica; does not know this Sentinel"
    );
}

/// `migrate-redis.sh`'s run-time RDB check (`rdb_why`, reading the
/// rendered `RDB_TABLE`) and the function's server knowledge agree for
/// every pair of known releases: the script names a mismatch exactly where
/// the format the source sends ([`server::rdb_sent`]) is not one the
/// target reads ([`server::rdb_reads`], relaxed as the render writes it
/// for the target), and then lists the releases the render accepts for
/// that source ([`server::downgrade`]).
#[test]
fn the_migration_rdb_check_agrees_with_the_render() {
    use redis_sentinel_fn::spec::server::{self, RDB_RELEASES};
    let spec = parse(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: e2e\nspec:\n  migration:\n    source:\n      standalone: {host: old}\n",
    );
    let out = krm(&spec, &[], &[]);
    assert!(out.status.success());
    let items = parse(std::str::from_utf8(&out.stdout).unwrap())["items"]
        .as_sequence()
        .unwrap()
        .clone();
    let whole = file(&items, "cache-redis", "migrate-redis.sh");
    let script = &whole[..whole.rfind("case \"${1:-}\" in").expect("the dispatch")];
    let releases: Vec<server::Server> = RDB_RELEASES
        .iter()
        .map(|&(k, major, minor)| server::release(k, major, minor))
        .collect();
    let name = |s: &server::Server| format!("{} {}.7", s.kind.name(), s.version);
    let mut test = String::new();
    let mut want = Vec::new();
    for src in &releases {
        for tgt in &releases {
            let relaxed = server::reads_foreign_rdb(Some(tgt));
            let sent = server::rdb_sent(src, tgt).unwrap();
            let reads = server::rdb_reads(tgt, relaxed).unwrap();
            let loads = reads.iter().any(|&(lo, hi)| (lo..=hi).contains(&sent));
            test.push_str(&format!(
                "echo \"{} > {} = $(rdb_why '{}' '{}' {})\"\n",
                name(src),
                name(tgt),
                name(src),
                name(tgt),
                if relaxed { "yes" } else { "no" }
            ));
            want.push((src, tgt, loads, sent));
        }
    }
    let said = run_helpers(script, &[], &[], &test);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), want.len(), "{said}");
    let mut mismatches = 0;
    for (line, (src, tgt, loads, sent)) in lines.iter().zip(&want) {
        let why = line.split_once(" = ").map(|(_, w)| w).unwrap_or_default();
        assert_eq!(why.is_empty(), *loads, "{src} -> {tgt}: {line}");
        if !loads {
            mismatches += 1;
            assert!(
                why.contains(&format!(
                    "sends this server RDB format {sent} in a full sync"
                )),
                "{line}"
            );
            let takers: Vec<String> = releases
                .iter()
                .filter(|t| server::downgrade(src, t).is_none())
                .map(|t| t.to_string())
                .collect();
            assert!(why.contains(&format!("({})", takers.join(", "))), "{line}");
        }
    }
    // Redis 7.0 cannot load 7.2+; older Valkey and Redis cannot load 7.4+.
    assert!(mismatches >= 20, "{mismatches} mismatches: {said}");
    // An unknown release names nothing.
    let unknown = run_helpers(script, &[], &[], "rdb_why 'Redis 8.2.1' 'Redis 7.0.15' no");
    assert!(unknown.trim().is_empty(), "{unknown}");
}

/// The Sentinel restart of the certificate watcher waits for enough ready
/// peers to keep the quorum and a majority while it is down (at most every
/// peer), from the topology ConfigMap as it is now: a scale changes the
/// count without changing the scripts (no roll).
#[test]
fn sentinel_restarts_wait_for_quorum_and_majority_of_the_current_count() {
    // Generated certificates on Valkey 9.1 (the default image) carry the
    // supervised restarts for an older binary.
    let items = rendered();
    let whole = file(&items, "cache-sentinel", "start-sentinel.sh");
    let helpers = &whole[..whole
        .find("# ---- end of common helpers ----")
        .expect("helpers")];
    let start = whole.find("peers_needed() {").expect("peers_needed");
    let len = whole[start..].find("\n}\n").expect("end of peers_needed") + 3;
    let script = format!("{helpers}\n{}", &whole[start..start + len]);
    for (sentinels, quorum, want) in [
        ("3", "2", "2"),
        ("5", "2", "3"),
        ("5", "4", "4"),
        ("1", "1", "0"),
        ("7", "0", "4"),
    ] {
        let dns: Vec<String> = (0..sentinels.parse().unwrap()).map(sentinel).collect();
        let out = run_helpers(
            &script,
            &[
                ("sentinel-replicas", sentinels),
                ("sentinel-quorum", quorum),
            ],
            &dns,
            "peers_needed",
        );
        assert_eq!(out.trim(), want, "{sentinels} Sentinels, quorum {quorum}");
    }
}
