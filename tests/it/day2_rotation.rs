//! Certificate rotation and renewal on real Redis (issue 11, section 3):
//! with a writer running through Sentinel (`SET` + `WAIT 1 1000`, the
//! client files of the render before the change, never re-read), a new
//! render is applied as `kubectl apply` would ([`harness::Rollout`]: the
//! kubelet syncs mounted files into running pods, both StatefulSets roll at
//! once, one pod at a time each, highest ordinal first, preStop hooks and
//! grace periods honoured, each pod Ready before the next). Per step the test
//! reports the write outage, acknowledged writes and acknowledged writes
//! lost (must be 0), and scans every pod's log for TLS handshake failures
//! (must be none). A redis-py application that keeps its connection pool
//! and its old files through all steps must keep working.
//!
//! - `rotation`: kpt style. The spec has `tls.keepCaKey: true`; render 0
//!   without a seed, then `tls.rotation: 1` with render 0 as `--previous`
//!   (certificates kept, leaves moved to the published next CA).
//! - `renewal`: seed style (kustomize, Argo CD). Short lifetimes put the
//!   renewal points around the real clock: a leaf renewal
//!   (`SOURCE_DATE_EPOCH` moved past a leaf renewal point), then a CA
//!   renewal (past the CA renewal point, every certificate valid now).
//!
//! On a server that reloads its certificate files itself (Valkey 9.1+,
//! `E2E_SERVER=valkey-9.1`) generated certificates do not roll the pods:
//! a step is applied as the kubelet does it, each pod's Secret files
//! swapped through the `..data` symlink at its own time ([`KUBELET_LAG`]
//! apart, Redis and Sentinel pods mixed), nothing restarted. Fresh TLS
//! handshakes with every pod (with the client files of the render before
//! and after the step), forced reconnections between pods while some have
//! the new files and others the old, and the pod logs must show no
//! failure; no pod may restart, and `kubectl apply` of the new render must
//! have nothing to roll. The step reports the time until every pod serves
//! the new leaf. `rotation_and_renewal_without_a_roll` runs a rotation and
//! a leaf renewal that way on one topology (the server matrix runs it on
//! Valkey 9.1).
//!
//! `DAY2_RUNS=N` repeats each scenario N times (CI: once).

use crate::harness;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use harness::{
    Cluster, POLL, Render, Rollout, SERVER_RELOADED, SETTLE, Served, Topo, Writer, WriterOptions,
    Writes, bring_up, kubelet_sync, secs, seen, serial_of, served, server_reloads, wait_for,
};

const DAY: i64 = 86_400;
const SEED: &str = "day2-rotation-test-seed-0123456789";

/// Log text of a TLS handshake that failed on trust (a peer's certificate
/// rejected). None may appear at any point of a rotation.
const TRUST_FAILURES: [&str; 6] = [
    "unknown ca",
    "certificate verify failed",
    "bad certificate",
    "certificate expired",
    "not yet valid",
    "unsupported certificate",
];

fn runs() -> usize {
    std::env::var("DAY2_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .expect("a valid time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// A spec for this test: 3 Redis pods, 3 Sentinels, Sentinel timeouts short
/// enough for a test, `tls` as given (indented four spaces); the image of
/// the server the pods run (configuration depends on it).
fn spec(tls: &str) -> String {
    let image = harness::Server::from_env()
        .and_then(|s| s.image())
        .unwrap_or_else(|e| panic!("{e:#}"));
    format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: rot\nspec:\n  image: {image}\n  redis:\n    replicas: 3\n  sentinel:\n    replicas: 3\n    downAfterMilliseconds: 2000\n    failoverTimeout: 10000\n  tls:\n{tls}"
    )
}

/// Renders `spec` with `redis-sentinel-fn render` (no seed unless `env`
/// sets one; `previous`: kpt's earlier output). Returns the render and its
/// YAML (the next step's `--previous`).
fn render(
    dir: &Path,
    tag: &str,
    spec: &str,
    previous: Option<&Path>,
    env: &[(&str, String)],
) -> Result<(Render, PathBuf)> {
    let spec_path = dir.join(format!("{tag}.spec.yaml"));
    fs::write(&spec_path, spec)?;
    let mut cmd = Command::new(harness::cli::bin());
    cmd.arg("render").arg("-f").arg(&spec_path);
    if let Some(p) = previous {
        cmd.arg("--previous").arg(p);
    }
    cmd.env_remove("REDIS_SENTINEL_FN_SEED")
        .env_remove("REDIS_SENTINEL_FN_SEED_FILE")
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = harness::run(&mut cmd, Duration::from_secs(60))?;
    ensure!(
        out.status.success(),
        "render {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout)?;
    let path = dir.join(format!("{tag}.yaml"));
    fs::write(&path, &yaml)?;
    Ok((Render::parse(&yaml)?, path))
}

fn text(r: &Render, secret: &str, key: &str) -> String {
    r.secret_text(secret, key)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The step really changes certificates; it rolls both workloads, or
/// (`rolls` false: a server that reloads its files) neither.
fn check_step(
    before: &Render,
    after: &Render,
    what: &str,
    ca_changes: bool,
    rolls: bool,
) -> Result<()> {
    for s in ["cache-redis-tls", "cache-sentinel-tls", "cache-client-tls"] {
        ensure!(
            text(before, s, "tls.crt") != text(after, s, "tls.crt"),
            "{what}: {s} tls.crt unchanged"
        );
    }
    let ca = |r: &Render| text(r, "cache-redis-tls", "ca.crt");
    ensure!(
        (ca(before) != ca(after)) == ca_changes,
        "{what}: ca.crt {} change",
        if ca_changes { "must" } else { "must not" }
    );
    for sts in ["cache-redis", "cache-sentinel"] {
        let hash = |r: &Render| {
            r.find("StatefulSet", sts).map(|s| {
                s["spec"]["template"]["metadata"]["annotations"]["fn.redis-sentinel.dev/config-hash"]
                    .clone()
            })
        };
        let template = |r: &Render| r.find("StatefulSet", sts).map(|s| s["spec"].clone());
        if rolls {
            ensure!(hash(before) != hash(after), "{what}: {sts} does not roll");
        } else {
            ensure!(
                template(before) == template(after),
                "{what}: {sts} rolls although the server reloads its certificates"
            );
        }
    }
    Ok(())
}

/// `kubectl apply` of `new`: the kubelet syncs the mounted files of every
/// pod, both StatefulSets roll at once (harness [`Rollout`]: preStop hooks,
/// grace periods, highest ordinal first, each pod Ready before the next).
/// Returns how long the roll took.
fn roll_both(c: &mut Cluster, new: &Render) -> Result<Duration> {
    let report = Rollout::apply(c, new)?;
    println!("  {}", report.summary());
    ensure!(
        report.statefulsets.len() == 2 && report.replaced().count() == c.pods.len(),
        "both StatefulSets roll every pod: {}",
        report.summary()
    );
    Ok(report.finished - report.started)
}

/// Byte length of every pod's log now (where a step's lines begin).
fn log_marks(c: &Cluster) -> Vec<(String, usize)> {
    c.pods
        .iter()
        .map(|p| (p.name.clone(), c.log(&p.name).len()))
        .collect()
}

/// Lines logged since `marks` that show a TLS trust failure, and how many
/// other lines mention SSL (a connection closed mid-handshake when a pod
/// stops, e.g. `unexpected eof`), each with the pod's name.
fn tls_failures(c: &Cluster, marks: &[(String, usize)]) -> (Vec<String>, Vec<String>) {
    let (mut trust, mut other) = (Vec::new(), Vec::new());
    for (pod, from) in marks {
        let log = c.log(pod);
        for line in log.get(*from..).unwrap_or_default().lines() {
            let lower = line.to_lowercase();
            if TRUST_FAILURES.iter().any(|f| lower.contains(f)) {
                trust.push(format!("{pod}: {line}"));
            } else if line.contains("SSL") || lower.contains("tls") && lower.contains("error") {
                other.push(format!("{pod}: {line}"));
            }
        }
    }
    (trust, other)
}

/// A redis-py application in the client namespace: Sentinel discovery and
/// a connection pool set up once with the files of the first render, never
/// re-read; it writes every 50 ms until `stop` exists and prints how many
/// writes succeeded and failed, how many failed on trust (a certificate
/// rejected: must be none) or on another TLS error (a server closing the
/// connection mid-handshake as its pod stops), and whether the last ones
/// succeeded.
struct PyApp {
    child: Child,
    stop: PathBuf,
}

const PY_APP: &str = r#"
import json, os, sys, time
from redis.sentinel import Sentinel
cfg = json.load(open(sys.argv[1]))
tls = dict(ssl=True, ssl_certfile=cfg["cert"], ssl_keyfile=cfg["key"], ssl_ca_certs=cfg["ca"])
s = Sentinel([(h, cfg["sentinel_port"]) for h in cfg["sentinels"]],
             sentinel_kwargs=dict(password=cfg["sentinel_password"], socket_timeout=1, **tls),
             username=cfg["user"], password=cfg["password"], socket_timeout=1, **tls)
m = s.master_for(cfg["master"], socket_timeout=1)
TRUST = ("certificate verify failed", "certificate_verify_failed", "unknown ca", "unknown_ca",
         "bad certificate", "bad_certificate", "certificate expired", "not yet valid")
ok = failed = streak = tls_errors = other_ssl = 0
last_error = last_tls_error = ""
i = 0
while not os.path.exists(cfg["stop"]):
    i += 1
    try:
        m.set("pyapp:%d" % i, "v")
        ok += 1
        streak += 1
    except Exception as e:
        failed += 1
        streak = 0
        last_error = "%s: %s" % (type(e).__name__, e)
        low = last_error.lower()
        if any(w in low for w in TRUST):
            tls_errors += 1
            last_tls_error = last_error
        elif "ssl" in low:
            other_ssl += 1
    time.sleep(0.05)
print(json.dumps(dict(ok=ok, failed=failed, streak=streak, last_error=last_error,
                      tls_errors=tls_errors, last_tls_error=last_tls_error,
                      other_ssl=other_ssl)))
"#;

impl PyApp {
    fn start(c: &Cluster, t: &Topo, dir: &Path) -> Result<PyApp> {
        let cl = c.client();
        let files = cl.tls.as_ref().context("TLS client files")?;
        let redis = cl.redis_auth.as_ref().context("Redis credentials")?;
        let sentinel = cl.sentinel_auth.as_ref().context("Sentinel credentials")?;
        let stop = dir.join("pyapp.stop");
        let _ = fs::remove_file(&stop);
        let cfg = serde_json::json!({
            "ca": files.ca, "cert": files.cert, "key": files.key,
            "sentinels": t.sentinels.iter().map(|s| t.fqdn(c, s)).collect::<Vec<_>>(),
            "sentinel_port": t.sentinel_port,
            "sentinel_password": sentinel.password,
            "user": redis.user, "password": redis.password,
            "master": t.master_name,
            "stop": stop,
        });
        let cfg_path = dir.join("pyapp.json");
        fs::write(&cfg_path, cfg.to_string())?;
        let script = dir.join("pyapp.py");
        fs::write(&script, PY_APP)?;
        let python = harness::which("python3").context("python3 (with redis-py) is needed")?;
        let child = Command::new("ip")
            .args(["netns", "exec", &cl.netns])
            .arg(python)
            .arg(&script)
            .arg(&cfg_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the redis-py application")?;
        Ok(PyApp { child, stop })
    }

    /// Stops it and returns its summary (JSON).
    fn finish(mut self) -> Result<serde_json::Value> {
        fs::write(&self.stop, "")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the redis-py application did not stop");
            }
            std::thread::sleep(POLL);
        }
        let (mut stdout, mut stderr) = (String::new(), String::new());
        if let Some(mut o) = self.child.stdout.take() {
            o.read_to_string(&mut stdout)?;
        }
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut stderr)?;
        }
        serde_json::from_str(stdout.trim())
            .with_context(|| format!("redis-py application output: {stdout}{stderr}"))
    }
}

impl Drop for PyApp {
    fn drop(&mut self) {
        let _ = fs::write(&self.stop, "");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a step reached the pods.
enum Delivery {
    /// Both StatefulSets rolled, in this time.
    Roll(Duration),
    /// No roll: the kubelet's update of each pod's files and the server's
    /// own reload.
    Reload(Reload),
}

/// A step delivered without a roll.
struct Reload {
    /// From the first pod's swap until every pod served the new leaf.
    all_served: Duration,
    /// The longest time from a pod's own swap until it served the new leaf
    /// (the server's reload interval).
    slowest_reload: Duration,
    /// Fresh handshakes with the pods while the step went on.
    handshakes: usize,
    /// Readiness probes of pods between their switch and their reload.
    probes: usize,
    /// Handshakes that failed or served an unexpected certificate.
    failed: Vec<String>,
}

/// What one step gave.
struct Step {
    what: String,
    delivery: Delivery,
    outage: Duration,
    acked: usize,
    lost: usize,
    trust_failures: Vec<String>,
    other_ssl: Vec<String>,
}

impl Step {
    fn line(&self) -> String {
        let how = match &self.delivery {
            Delivery::Roll(d) => format!("roll {}", secs(*d)),
            Delivery::Reload(r) => format!(
                "no roll: every pod served the new leaf {} after the first swap (at most {} after its own), {} fresh handshakes and {} readiness probes between a switch and its reload, {} failed",
                secs(r.all_served),
                secs(r.slowest_reload),
                r.handshakes,
                r.probes,
                r.failed.len()
            ),
        };
        format!(
            "{}: {how}, write outage {}, {} acknowledged writes, {} lost, {} TLS trust failures, {} other SSL log lines",
            self.what,
            secs(self.outage),
            self.acked,
            self.lost,
            self.trust_failures.len(),
            self.other_ssl.len()
        )
    }
}

/// Applies `new` to the running topology while the writer runs; waits
/// until the topology has settled and writes flow again. On a server that
/// reloads its certificate files the step reaches the pods without a roll
/// ([`reload_without_roll`]). `prefix` names the writer's keys (one per
/// step) and the step's scratch directory under `dir`.
fn apply(
    c: &mut Cluster,
    t: &Topo,
    (old, new): (&Render, &Render),
    (prefix, dir): (&str, &Path),
    what: &str,
) -> Result<Step> {
    let writer = Writer::start(c, old, t, WriterOptions::new(prefix))?;
    writer.wait_acked(20, SETTLE)?;
    let marks = log_marks(c);
    let event = Instant::now();
    let delivery = if server_reloads()? {
        Delivery::Reload(reload_without_roll(c, t, new, &dir.join(prefix), &marks)?)
    } else {
        Delivery::Roll(roll_both(c, new)?)
    };
    let master = t.current_master(c)?;
    t.wait_sentinels_agree(c, &master, t.redis.len() - 1)?;
    let after = writer.acked_so_far();
    writer.wait_acked(after + 20, SETTLE)?;
    let writes: Writes = writer.stop()?;
    println!("  {what}: {}", writes.summary());
    let lost = writes.lost(c, t, &t.current_master(c)?)?;
    let (trust_failures, other_ssl) = tls_failures(c, &marks);
    Ok(Step {
        what: what.to_string(),
        delivery,
        outage: writes.longest_gap(event, writes.end),
        acked: writes.acked().len(),
        lost: lost.len(),
        trust_failures,
        other_ssl,
    })
}

/// Time between two pods getting the new files. On a real cluster each
/// node's kubelet syncs on its own schedule (up to a minute or two
/// apart); what matters is that some pods run on the new files while
/// others still run on the old ones, which this spacing gives (with the
/// server's 10 s reload interval, the pods move over one by one).
const KUBELET_LAG: Duration = Duration::from_secs(2);

/// Every pod must serve the new leaf within this time of the first swap:
/// the swaps (5 x [`KUBELET_LAG`]) and the reload interval, with margin.
const RELOADED_WITHIN: Duration = Duration::from_secs(60);

/// The pods in the order the kubelet updates them: the master first, then
/// Sentinels and replicas taking turns.
fn swap_order(c: &Cluster, t: &Topo) -> Result<Vec<(String, u16)>> {
    let master = t.current_master(c)?;
    let replicas = t.redis.iter().filter(|p| **p != master);
    let mut order = vec![(master.clone(), t.redis_port)];
    let mut sentinels = t.sentinels.iter();
    for r in replicas {
        if let Some(s) = sentinels.next() {
            order.push((s.clone(), t.sentinel_port));
        }
        order.push((r.clone(), t.redis_port));
    }
    order.extend(sentinels.map(|s| (s.clone(), t.sentinel_port)));
    Ok(order)
}

/// The serial of the leaf a pod mounts in `r`.
fn leaf_serial(t: &Topo, r: &Render, pod: &str) -> Result<String> {
    let secret = if t.redis.iter().any(|p| p == pod) {
        "cache-redis-tls"
    } else {
        "cache-sentinel-tls"
    };
    serial_of(&text(r, secret, "tls.crt"))
}

/// A client's files, named for the report.
type ClientFiles = (&'static str, harness::TlsFiles);

/// How far a step delivered without a roll has come.
#[derive(Default)]
struct Progress {
    /// Pods whose files the kubelet switched, and when.
    swapped: Vec<(String, Instant)>,
    /// Pods serving the new leaf: since the first switch, since their own.
    served_at: Vec<(String, Duration, Duration)>,
    handshakes: usize,
    probes: usize,
    failed: Vec<String>,
}

impl Progress {
    fn serves_new(&self, pod: &str) -> bool {
        self.served_at.iter().any(|(s, _, _)| s == pod)
    }

    fn switched_at(&self, pod: &str) -> Option<Instant> {
        self.swapped
            .iter()
            .find(|(s, _)| s == pod)
            .map(|(_, at)| *at)
    }
}

/// What each pod serves before the step (to the first client) and the
/// serial of its leaf in `new`, which must differ.
fn serials(
    c: &Cluster,
    t: &Topo,
    order: &[(String, u16)],
    client: &harness::TlsFiles,
    new: &Render,
) -> Result<BTreeMap<String, (String, String)>> {
    let mut out = BTreeMap::new();
    for (p, port) in order {
        let now = served(c, &t.fqdn(c, p), *port, &client.ca, Some(client))?;
        let Served::Serial(was) = now else {
            bail!("{p} before the step: {now:?}");
        };
        let want = leaf_serial(t, new, p)?;
        ensure!(was != want, "{p} serves the new leaf before the step");
        out.insert(p.clone(), (was, want));
    }
    Ok(out)
}

/// One round: fresh handshakes with every pod from each client; each must
/// get the old leaf or, once its files changed, the new one (never back).
/// Then the readiness probe of every pod whose files changed but whose
/// server has not reloaded yet (its new client files against the old
/// server context).
fn probe_round(
    c: &Cluster,
    t: &Topo,
    (order, clients): (&[(String, u16)], &[ClientFiles]),
    serials: &BTreeMap<String, (String, String)>,
    start: Instant,
    pr: &mut Progress,
) -> Result<()> {
    for (p, port) in order {
        let (was, now) = &serials[p];
        for (who, files) in clients {
            pr.handshakes += 1;
            let got = served(c, &t.fqdn(c, p), *port, &files.ca, Some(files))?;
            let done = pr.serves_new(p);
            match (got, pr.switched_at(p)) {
                (Served::Serial(x), Some(at)) if x == *now => {
                    if !done {
                        pr.served_at
                            .push((p.clone(), start.elapsed(), at.elapsed()));
                    }
                }
                (Served::Serial(x), _) if x == *was && !done => {}
                (other, _) => pr.failed.push(format!(
                    "{p} ({who}) at {}: {other:?}",
                    secs(start.elapsed())
                )),
            }
        }
    }
    let waiting: Vec<String> = pr
        .swapped
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| !pr.serves_new(p))
        .collect();
    for p in waiting {
        pr.probes += 1;
        if !c.probe(&p)? {
            pr.failed.push(format!(
                "{p}: readiness probe failed between its switch and its reload at {}",
                secs(start.elapsed())
            ));
        }
    }
    Ok(())
}

/// After the step: no pod restarted, every pod logged the server's own
/// reload, and `kubectl apply` of `new` finds nothing to roll.
fn nothing_rolled(
    c: &mut Cluster,
    pids: &[(String, Option<u32>)],
    marks: &[(String, usize)],
    new: &Render,
) -> Result<()> {
    for (p, was) in pids {
        ensure!(c.pod(p).pid() == *was, "{p} restarted during the step");
    }
    for (p, at) in marks {
        let log = harness::log_since(c, p, *at);
        ensure!(
            log.contains(SERVER_RELOADED),
            "{p}: no {SERVER_RELOADED:?} in its log since the step"
        );
    }
    let report = Rollout::apply(c, new)?;
    ensure!(
        report.pods.is_empty(),
        "kubectl apply of the new render rolls pods: {}",
        report.summary()
    );
    Ok(())
}

/// The step as the kubelet delivers it when nothing rolls: each pod's
/// Secret files swapped through `..data` at its own time ([`swap_order`],
/// [`KUBELET_LAG`] apart), the server reloading them itself, while
/// [`probe_round`] runs again and again. As soon as the master and a
/// replica serve different leaves, every link between pods is made again
/// ([`reconnect_pods`]). Ends with [`nothing_rolled`].
fn reload_without_roll(
    c: &mut Cluster,
    t: &Topo,
    new: &Render,
    dir: &Path,
    marks: &[(String, usize)],
) -> Result<Reload> {
    let pids: Vec<(String, Option<u32>)> =
        c.pods.iter().map(|p| (p.name.clone(), p.pid())).collect();
    let order = swap_order(c, t)?;
    let master = order[0].0.clone();
    let fresh =
        harness::Client::from_render(new, &t.instance, &c.client().netns, &dir.join("new"))?;
    let clients: [ClientFiles; 2] = [
        (
            "first render's files",
            c.client().tls.clone().context("client files")?,
        ),
        (
            "new render's files",
            fresh.tls.clone().context("client files")?,
        ),
    ];
    let serials = serials(c, t, &order, &clients[0].1, new)?;
    let start = Instant::now();
    let mut pr = Progress::default();
    let mut reconnected = false;
    while pr.served_at.len() < order.len() {
        ensure!(
            start.elapsed() < RELOADED_WITHIN,
            "not every pod serves the new leaf within {RELOADED_WITHIN:?}: {:?}; failed: {:?}",
            pr.served_at,
            pr.failed
        );
        let due = (start.elapsed().as_millis() / KUBELET_LAG.as_millis()) as usize + 1;
        for (p, _) in order.iter().take(due) {
            if pr.switched_at(p).is_none() {
                kubelet_sync(c, new, std::slice::from_ref(p))?;
                pr.swapped.push((p.clone(), Instant::now()));
            }
        }
        probe_round(c, t, (&order, &clients), &serials, start, &mut pr)?;
        let mixed = t
            .redis
            .iter()
            .any(|r| pr.serves_new(r) != pr.serves_new(&master));
        if !reconnected && mixed {
            reconnect_pods(c, t, new, &master, dir)?;
            reconnected = true;
        }
    }
    ensure!(
        reconnected,
        "the master and the replicas never served different leaves: no reconnection across the step was tried"
    );
    nothing_rolled(c, &pids, marks, new)?;
    ensure!(
        pr.failed.is_empty(),
        "TLS handshakes failed: {:?}",
        pr.failed
    );
    for (p, all, own) in &pr.served_at {
        println!(
            "  {p} serves the new leaf {} after the first swap, {} after its own",
            secs(*all),
            secs(*own)
        );
    }
    Ok(Reload {
        all_served: pr.served_at.iter().map(|x| x.1).max().unwrap_or_default(),
        slowest_reload: pr.served_at.iter().map(|x| x.2).max().unwrap_or_default(),
        handshakes: pr.handshakes,
        probes: pr.probes,
        failed: pr.failed,
    })
}

/// New TLS handshakes between pods now: every replica drops its link to
/// the master and makes it again (one at a time, so the other keeps
/// acknowledging the writer's `WAIT`), the master drops the Sentinels'
/// subscriptions and every Sentinel the links of its peers and clients
/// (they reconnect). Run as the admin user of `r`'s auth Secret.
fn reconnect_pods(c: &Cluster, t: &Topo, r: &Render, master: &str, dir: &Path) -> Result<()> {
    let mut admin =
        harness::Client::from_render(r, &t.instance, &c.client().netns, &dir.join("admin"))?;
    admin.redis_auth = Some(harness::Credentials {
        user: Some("admin".into()),
        password: text(r, "cache-auth", "admin-password"),
    });
    let fqdn = |p: &str| t.fqdn(c, p);
    for replica in t.redis.iter().filter(|p| *p != master) {
        let k = admin.redis(
            &fqdn(replica),
            t.redis_port,
            &["CLIENT", "KILL", "TYPE", "master"],
        )?;
        ensure!(
            k.text().trim() != "0",
            "{replica}: no master link to drop: {}",
            k.summary()
        );
        t.wait_replica_of(c, replica, master)?;
    }
    let k = admin.redis(
        &fqdn(master),
        t.redis_port,
        &["CLIENT", "KILL", "TYPE", "pubsub"],
    )?;
    ensure!(k.success, "{master}: {}", k.summary());
    for s in &t.sentinels {
        let k = t.sentinel(c, s, &["CLIENT", "KILL", "TYPE", "normal"])?;
        ensure!(k.success, "{s}: {}", k.summary());
    }
    println!(
        "  links made again with the master and the replicas on different leaves at {}",
        t.roles(c)
            .iter()
            .map(|(p, r)| format!("{p}={r}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn check(steps: &[Step], app: serde_json::Value) -> Result<()> {
    let mut report = String::new();
    for s in steps {
        writeln!(report, "{}", s.line())?;
        for l in s.trust_failures.iter().chain(&s.other_ssl).take(10) {
            writeln!(report, "    {l}")?;
        }
    }
    writeln!(
        report,
        "redis-py application with the first render's files: {app}"
    )?;
    print!("{report}");
    for s in steps {
        if let Delivery::Reload(r) = &s.delivery {
            ensure!(
                r.failed.is_empty(),
                "{}: TLS handshakes failed\n{report}",
                s.what
            );
        }
        ensure!(
            s.lost == 0,
            "{}: acknowledged writes lost\n{report}",
            s.what
        );
        ensure!(
            s.trust_failures.is_empty(),
            "{}: TLS trust failures\n{report}",
            s.what
        );
    }
    ensure!(
        app["ok"].as_u64().unwrap_or(0) > 0 && app["streak"].as_u64().unwrap_or(0) >= 10,
        "the redis-py application stopped working: {app}"
    );
    ensure!(
        app["tls_errors"].as_u64() == Some(0),
        "the redis-py application failed TLS handshakes: {app}"
    );
    Ok(())
}

/// After the steps, clients with the first render's files and clients with
/// the last render's files both reach the master and a Sentinel.
fn old_and_new_clients_work(c: &Cluster, t: &Topo, last: &Render, dir: &Path) -> Result<()> {
    let master = t.current_master(c)?;
    let fresh = harness::Client::from_render(last, &t.instance, &c.client().netns, dir)?;
    for (who, cl) in [
        ("first render's files", c.client()),
        ("last render's files", &fresh),
    ] {
        wait_for(&format!("a client with the {who}"), SETTLE, POLL, || {
            let r = seen(cl.redis(&t.fqdn(c, &master), t.redis_port, &["SET", "k", "v"]))?;
            let s = seen(cl.sentinel(
                &t.fqdn(c, &t.sentinels[0]),
                t.sentinel_port,
                &["SENTINEL", "get-master-addr-by-name", &t.master_name],
            ))?;
            if r.is("OK") && s.success && !s.stdout.trim().is_empty() {
                Ok(())
            } else {
                Err(format!("{} / {}", r.summary(), s.summary()))
            }
        })?;
    }
    Ok(())
}

fn scratch(tag: &str) -> Result<PathBuf> {
    let dir = harness::scratch_root().join(format!("day2-rotation-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn rotation_run(run: usize) -> Result<()> {
    let dir = scratch(&format!("rotation-{run}"))?;
    let keep = "    keepCaKey: true\n";
    let (r0, p0) = render(&dir, "r0", &spec(keep), None, &[])?;
    let (r1, _) = render(
        &dir,
        "r1",
        &spec(&format!("{keep}    rotation: 1\n")),
        Some(&p0),
        &[],
    )?;
    let rolls = !server_reloads()?;
    check_step(&r0, &r1, "tls.rotation 0 -> 1", true, rolls)?;
    let (mut c, t) = bring_up(&r0)?;
    let app = PyApp::start(&c, &t, &dir)?;
    let step = apply(
        &mut c,
        &t,
        (&r0, &r1),
        ("rotation", &dir),
        "tls.rotation 0 -> 1 (kpt, keepCaKey)",
    )?;
    old_and_new_clients_work(&c, &t, &r1, &dir.join("new-client"))?;
    check(&[step], app.finish()?)?;
    c.pass();
    Ok(())
}

fn renewal_run(run: usize) -> Result<()> {
    let dir = scratch(&format!("renewal-{run}"))?;
    // Leaves: 20 days, renewed every 2 days; CA: 60 days, renewed every 40
    // days. notBefore puts the real clock 1 h past the first CA renewal,
    // so the leaf renewal (days 37 -> 39) and the CA renewal (-> now)
    // give certificates that are all valid now.
    let t0 = now();
    let not_before = t0 - 40 * DAY - 3600;
    let tls = format!(
        "    caValidityDays: 60\n    validityDays: 20\n    renewBeforeDays: 18\n    notBefore: \"{}\"\n",
        rfc3339(not_before)
    );
    let at = |t: i64| {
        vec![
            ("REDIS_SENTINEL_FN_SEED", SEED.to_string()),
            ("SOURCE_DATE_EPOCH", t.to_string()),
        ]
    };
    let (a, _) = render(&dir, "a", &spec(&tls), None, &at(t0 - 3 * DAY))?;
    let (b, _) = render(&dir, "b", &spec(&tls), None, &at(t0 - DAY))?;
    let (cr, _) = render(&dir, "c", &spec(&tls), None, &at(t0))?;
    let rolls = !server_reloads()?;
    check_step(&a, &b, "leaf renewal", false, rolls)?;
    check_step(&b, &cr, "CA renewal", true, rolls)?;
    let (mut c, t) = bring_up(&a)?;
    let app = PyApp::start(&c, &t, &dir)?;
    let s1 = apply(&mut c, &t, (&a, &b), ("leaf", &dir), "seeded leaf renewal")?;
    let s2 = apply(&mut c, &t, (&a, &cr), ("ca", &dir), "seeded CA renewal")?;
    old_and_new_clients_work(&c, &t, &cr, &dir.join("new-client"))?;
    check(&[s1, s2], app.finish()?)?;
    c.pass();
    Ok(())
}

/// A `tls.rotation` bump, then a leaf renewal, of seeded generated
/// certificates on one topology. On a server that reloads its certificate
/// files, neither step rolls a pod ([`reload_without_roll`]); on the
/// others both renders must roll both workloads (the rolls themselves are
/// measured by the two tests below) and the test ends there.
fn without_a_roll_run(run: usize) -> Result<()> {
    let dir = scratch(&format!("no-roll-{run}"))?;
    // Leaves: 20 days, renewed every 2 days; the CA renewal (40 days) far
    // off: the rotation moves the CA, the renewal only the leaves.
    let t0 = now();
    let tls = |rotation: u32| {
        format!(
            "    caValidityDays: 60\n    validityDays: 20\n    renewBeforeDays: 18\n    notBefore: \"{}\"\n    rotation: {rotation}\n",
            rfc3339(t0 - 10 * DAY)
        )
    };
    let at = |t: i64| {
        vec![
            ("REDIS_SENTINEL_FN_SEED", SEED.to_string()),
            ("SOURCE_DATE_EPOCH", t.to_string()),
        ]
    };
    let (a, _) = render(&dir, "a", &spec(&tls(0)), None, &at(t0 - 3 * DAY))?;
    let (b, _) = render(&dir, "b", &spec(&tls(1)), None, &at(t0 - 3 * DAY))?;
    let (cr, _) = render(&dir, "c", &spec(&tls(1)), None, &at(t0 - DAY))?;
    let rolls = !server_reloads()?;
    check_step(&a, &b, "tls.rotation 0 -> 1", true, rolls)?;
    check_step(&b, &cr, "leaf renewal", false, rolls)?;
    if rolls {
        println!("the server under test does not reload its certificate files: both steps roll");
        return Ok(());
    }
    let (mut c, t) = bring_up(&a)?;
    let app = PyApp::start(&c, &t, &dir)?;
    let s1 = apply(
        &mut c,
        &t,
        (&a, &b),
        ("rotation", &dir),
        "tls.rotation 0 -> 1 (seeded)",
    )?;
    let s2 = apply(&mut c, &t, (&a, &cr), ("leaf", &dir), "seeded leaf renewal")?;
    old_and_new_clients_work(&c, &t, &cr, &dir.join("new-client"))?;
    check(&[s1, s2], app.finish()?)?;
    c.pass();
    Ok(())
}

#[test]
fn rotation_and_renewal_without_a_roll() -> Result<()> {
    harness::require_environment()?;
    for run in 0..runs() {
        println!("no-roll run {}", run + 1);
        without_a_roll_run(run)?;
    }
    Ok(())
}

#[test]
fn rotation_keeps_every_acknowledged_write_and_trust_between_pods() -> Result<()> {
    harness::require_environment()?;
    for run in 0..runs() {
        println!("rotation run {}", run + 1);
        rotation_run(run)?;
    }
    Ok(())
}

#[test]
fn renewal_keeps_every_acknowledged_write_and_trust_between_pods() -> Result<()> {
    harness::require_environment()?;
    for run in 0..runs() {
        println!("renewal run {}", run + 1);
        renewal_run(run)?;
    }
    Ok(())
}
