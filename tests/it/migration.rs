//! Migration in (`spec.migration`, docs/migrating.md) on real redis-server
//! and redis-sentinel: an old deployment runs in the same emulated cluster
//! as the new topology; a writer (`SET` + `WAIT 1`) writes to the old one
//! through the sync, then the cut-over (the topology ConfigMap's
//! `migration-cutover` switched by kubelet, no pod restarted), then moves to
//! the new Sentinels. Every acknowledged write must be on the new master.
//!
//! Old deployments: (a) master + 2 replicas + 3 Sentinels, one password
//! (`auth.mode: password`), hostnames announced, TLS with its own CA and
//! client certificates required; (b) the same without TLS; (c) a standalone
//! master, reached through an ACL user with exactly the guide's rule. In (a)
//! and (b) the old deployment fails over during the sync; after (c)'s
//! cut-over, pod 0 comes back with an empty data directory. The data set is `MIGRATION_DATA_MB` (default 20) MB of 1 KB
//! values plus keys with TTLs; `MIGRATION_DATA_MB=100` is the measured run
//! docs/migrating.md reports.

use crate::harness;

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use harness::{
    Client, Cluster, ClusterOptions, POLL, READY, Render, Rollout, SETTLE, Server, Standalone,
    Topo, Writer, WriterOptions, extract_code_blocks, scratch_root, secs, start_topology, wait_for,
};

const SEED: &str = "migration-test-seed-0123456789abcdef";
const NS: &str = "e2e";
const TTL_KEYS: usize = 100;

/// The old deployment: one password (`auth.mode: password`), hostnames
/// announced; with TLS, its own CA and client certificates required (as
/// docs/migrating.md says, it then trusts the new topology's CA too:
/// [`trust_new_ca`]).
fn old_spec(redis: u32, tls: bool) -> String {
    let tls = if tls {
        "  tls:\n    enabled: true\n    clientAuth: \"yes\"\n"
    } else {
        "  tls:\n    enabled: false\n"
    };
    format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: old\n  namespace: {NS}\nspec:\n  redis:\n    replicas: {redis}\n  sentinel:\n    replicas: 3\n    masterName: mymaster\n    downAfterMilliseconds: 2000\n    failoverTimeout: 10000\n{tls}  auth:\n    mode: password\n  networkPolicy:\n    enabled: false\n"
    )
}

/// A source that requires client certificates trusts the new topology's
/// CA for the move (docs/migrating.md#tls): the old Redis and Sentinel
/// certificate Secrets' `ca.crt` get the new CA appended, as a user adds it
/// to the old deployment's trusted bundle. Pod 0 presents its own
/// certificate to the source's Redis and Sentinels.
fn trust_new_ca(old: &mut Render, new: &Render) -> Result<()> {
    use base64::Engine;
    let new_ca = new
        .secret_data("cache-redis-tls")?
        .remove("ca.crt")
        .context("cache-redis-tls has no ca.crt")?;
    for name in ["old-redis-tls", "old-sentinel-tls"] {
        let mut ca = old
            .secret_data(name)?
            .remove("ca.crt")
            .with_context(|| format!("{name} has no ca.crt"))?;
        ca.extend_from_slice(&new_ca);
        let item = old
            .items
            .iter_mut()
            .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == name)
            .with_context(|| format!("no Secret {name}"))?;
        item["data"]["ca.crt"] = base64::engine::general_purpose::STANDARD.encode(&ca).into();
    }
    Ok(())
}

/// TLS to the source, trusting the old deployment's CA (its ConfigMap).
const SOURCE_TLS: &str = "      tls: {enabled: true, ca: {configMapName: old-ca}}\n";

fn old_host(kind: &str, i: u32) -> String {
    format!("old-{kind}-{i}.old-{kind}-headless.{NS}.svc.cluster.local")
}

fn sentinel_source() -> String {
    let hosts: Vec<String> = (0..3)
        .map(|i| format!("\"{}:26379\"", old_host("sentinel", i)))
        .collect();
    format!(
        "      sentinel:\n        hosts: [{}]\n        masterName: mymaster\n        auth: {{secretName: old-auth, passwordKey: sentinel-password}}\n      auth: {{secretName: old-auth, passwordKey: redis-password}}\n",
        hosts.join(", ")
    )
}

fn standalone_source(password_key: &str) -> String {
    format!(
        "      standalone: {{host: {}, port: 6379}}\n      auth: {{secretName: old-auth, passwordKey: {password_key}}}\n",
        old_host("redis", 0)
    )
}

/// The standalone source through an ACL user (`migrator`, created on the
/// old master with the rule docs/migrating.md gives, the password of
/// `old-auth`'s `redis-password`).
fn standalone_acl_source() -> String {
    format!(
        "      standalone: {{host: {}, port: 6379}}\n      auth: {{secretName: old-auth, passwordKey: redis-password, username: {ACL_USER}}}\n",
        old_host("redis", 0)
    )
}

const ACL_USER: &str = "migrator";

/// The `ACL SETUSER` line of docs/migrating.md, with `password`.
fn guide_user_rule(password: &str) -> Result<Vec<String>> {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/migrating.md");
    let text = fs::read_to_string(&guide)?;
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("ACL SETUSER {ACL_USER}")))
        .context("the guide's source user")?;
    Ok(line
        .replace(">PASSWORD", &format!(">{password}"))
        .split_whitespace()
        .map(String::from)
        .collect())
}

fn new_spec(source: &str, cutover: bool) -> String {
    format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: {NS}\nspec:\n  redis:\n    replicas: 3\n  sentinel:\n    replicas: 3\n    downAfterMilliseconds: 2000\n    failoverTimeout: 10000\n  tls:\n    enabled: true\n    plaintext:\n      enabled: false\n  migration:\n    cutover: {cutover}\n    source:\n{source}"
    )
}

fn render(dir: &Path, name: &str, yaml: &str) -> Result<Render> {
    fs::create_dir_all(dir)?;
    let p = dir.join(name);
    fs::write(&p, yaml)?;
    Render::spec_with_seed(&p, Some(SEED))
}

/// The renders of one run: old, new (sync) and new (cut-over), and the
/// cluster running old + new. Asking for the cut-over changes no pod
/// template (it restarts nothing).
struct Setup {
    old: Render,
    new: Render,
    cut: Render,
    c: Cluster,
    t_old: Topo,
    t_new: Topo,
    /// The client not in use by the cluster now.
    other_client: Option<Client>,
    new_active: bool,
}

fn setup(name: &str, source: &str) -> Result<Setup> {
    setup_for(name, source, None)
}

/// [`setup`] with the new topology on another server than the old one
/// (`target`: a build of .ci/install.d/45-servers.sh, e.g. `valkey-9.1`),
/// as its image says.
fn setup_for(name: &str, source: &str, target: Option<&Server>) -> Result<Setup> {
    setup_with(name, source, target, None)
}

/// [`setup_for`] with the old deployment's Redis pods on `old_server`
/// (else the server under test): [`old_on`].
fn setup_with(
    name: &str,
    source: &str,
    target: Option<&Server>,
    old_server: Option<&Server>,
) -> Result<Setup> {
    let dir = scratch_root().join(format!("migration-{name}-{}", std::process::id()));
    let redis = if source.contains("standalone") { 1 } else { 3 };
    let tls = source.contains(SOURCE_TLS);
    let mut opts = ClusterOptions::default();
    let mut old = match old_server {
        Some(s) => old_on(&dir, &old_spec(redis, tls), s, &mut opts)?,
        None => render(&dir, "old.yaml", &old_spec(redis, tls))?,
    };
    // The new topology mounts the old one's Secret: both renders are
    // applied to the namespace (new objects first).
    let image = match target {
        Some(t) => {
            let image = t.image()?;
            opts.images.push((image.clone(), t.clone()));
            format!("  image: {image}\n")
        }
        None => String::new(),
    };
    let spec =
        |cutover| new_spec(source, cutover).replacen("spec:\n", &format!("spec:\n{image}"), 1);
    let new = render(&dir, "new.yaml", &spec(false))?;
    if tls {
        trust_new_ca(&mut old, &new)?;
    }
    let with_old = |mut r: Render| {
        r.items.extend(old.items.iter().cloned());
        r
    };
    let new = with_old(new);
    let cut = with_old(render(&dir, "cut.yaml", &spec(true))?);
    for (a, b) in new.workloads()?.iter().zip(cut.workloads()?.iter()) {
        ensure!(
            a.template() == b.template(),
            "asking for the cut-over changed the pod template of {}",
            a.name
        );
    }
    let mut c = Cluster::new(&new, opts)?;
    let t_old = Topo::new(&old, &c)?;
    let t_new = Topo::new(&new, &c)?;
    let old_client = Client::from_render(&old, "old", &c.client().netns, &c.work.join("old"))?;
    let new_client = c.set_client(old_client);
    Ok(Setup {
        old,
        new,
        cut,
        c,
        t_old,
        t_new,
        other_client: new_client,
        new_active: false,
    })
}

impl Setup {
    fn swap_client(&mut self) {
        if let Some(cl) = self.other_client.take() {
            self.other_client = self.c.set_client(cl);
            self.new_active = !self.new_active;
        }
    }

    fn use_new_client(&mut self) {
        if !self.new_active {
            self.swap_client();
        }
    }

    fn use_old_client(&mut self) {
        if self.new_active {
            self.swap_client();
        }
    }

    fn start_new_sentinels(&mut self) -> Result<()> {
        for s in self.t_new.sentinels.clone() {
            self.c.create(&s)?;
            self.c.start(&s)?;
        }
        for s in self.t_new.sentinels.clone() {
            self.c.wait_ready(&s, READY)?;
        }
        Ok(())
    }

    /// kubelet updates the mounted topology ConfigMap (no restart).
    fn ask_cutover(&mut self) -> Result<()> {
        for p in self
            .t_new
            .redis
            .iter()
            .chain(&self.t_new.sentinels)
            .cloned()
            .collect::<Vec<_>>()
        {
            if self.c.pod(&p).exists() {
                let w = self.c.pod(&p).workload.with_data_from(&self.cut)?;
                self.c.sync_volumes(&p, w)?;
            }
        }
        Ok(())
    }

    fn role(&self, pod: &str) -> String {
        self.t_new
            .redis(&self.c, pod, &["ROLE"])
            .map(|r| r.lines().first().map(|s| s.to_string()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// No Redis pod of the new topology is master, no new Sentinel
    /// monitors anything.
    fn nothing_promoted(&self) -> Result<()> {
        for p in &self.t_new.redis {
            if self.c.pod(p).exists() && self.c.pod(p).pid().is_some() {
                let role = self.role(p);
                ensure!(role != "master", "{p} was promoted early");
            }
        }
        for s in &self.t_new.sentinels {
            let r = self.t_new.sentinel(&self.c, s, &["SENTINEL", "MASTERS"])?;
            ensure!(
                r.text().trim().is_empty(),
                "{s} monitors something: {}",
                r.text()
            );
        }
        Ok(())
    }
}

/// `mb` MB of 1 KB values and [`TTL_KEYS`] keys with a one-hour TTL.
pub(crate) fn populate(c: &Cluster, host: &str, port: u16, mb: usize) -> Result<()> {
    let value = "x".repeat(1000);
    let mut cmds = String::new();
    for i in 0..mb * 1000 {
        cmds.push_str(&format!("SET data:{i} {value}\n"));
        if cmds.len() > 4_000_000 {
            let r = c.client().redis_pipe(host, port, &cmds)?;
            ensure!(r.success, "populate: {}", r.summary());
            cmds.clear();
        }
    }
    for i in 0..TTL_KEYS {
        cmds.push_str(&format!("SET ttl:{i} v EX 3600\n"));
    }
    let r = c.client().redis_pipe(host, port, &cmds)?;
    ensure!(r.success, "populate: {}", r.summary());
    Ok(())
}

fn data_mb() -> usize {
    std::env::var("MIGRATION_DATA_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// (keys other than the writer's, the writer's `mig:*` keys) on a master.
pub(crate) fn key_counts(cl: &Client, host: &str, port: u16) -> Result<(usize, usize)> {
    let size = cl.redis(host, port, &["DBSIZE"])?;
    let total: usize = size.text().trim().parse().with_context(|| size.summary())?;
    let mig = cl.redis(host, port, &["KEYS", "mig:*"])?;
    ensure!(mig.success, "KEYS: {}", mig.summary());
    let n = mig.text().lines().filter(|l| !l.trim().is_empty()).count();
    Ok((total - n, n))
}

pub(crate) fn info_field(r: &harness::Reply, k: &str) -> String {
    r.info().get(k).cloned().unwrap_or_default()
}

/// The whole move for one source kind; returns the report line.
fn migrate(
    name: &str,
    source: &str,
    sentinel_failover: bool,
    target: Option<&Server>,
) -> Result<String> {
    migrate_with(name, source, sentinel_failover, target, None, data_mb())
}

/// [`migrate`] with the old deployment on `old_server` ([`setup_with`])
/// and `mb` MB of data.
fn migrate_with(
    name: &str,
    source: &str,
    sentinel_failover: bool,
    target: Option<&Server>,
    old_server: Option<&Server>,
    mb: usize,
) -> Result<String> {
    let mut s = setup_with(name, source, target, old_server)?;
    let standalone = source.contains("standalone");
    let old_master = s.t_old.redis[0].clone();
    if standalone {
        s.c.start(&old_master)?;
        s.c.wait_ready(&old_master, READY)?;
    } else {
        start_topology(&mut s.c, &s.t_old)?;
    }
    let fqdn = s.t_old.fqdn(&s.c, &old_master);
    let info =
        s.c.client()
            .redis(&fqdn, s.t_old.redis_port, &["INFO", "server"])?;
    let source_server = source_server(&info);
    println!("{name}: the old master runs {source_server}");
    let t = Instant::now();
    populate(&s.c, &fqdn, s.t_old.redis_port, mb)?;
    println!(
        "{name}: {mb} MB written to the old master in {}",
        secs(t.elapsed())
    );
    if source.contains(&format!("username: {ACL_USER}")) {
        // Only the commands the guide says the source user needs.
        let pw = s.old.secret_key("old-auth", "redis-password")?;
        let rule = guide_user_rule(&pw)?;
        let words: Vec<&str> = rule.iter().map(String::as_str).collect();
        let r = s.c.client().redis(&fqdn, s.t_old.redis_port, &words)?;
        ensure!(r.is("OK"), "ACL SETUSER on the old master: {}", r.summary());
        println!("{name}: source user {ACL_USER} created with the guide's rule");
    }
    let opts = WriterOptions::new("mig");
    let w = if standalone {
        Writer::start_fixed(&s.c, &s.old, &s.t_old, &old_master, opts)?
    } else {
        Writer::start(&s.c, &s.old, &s.t_old, opts)?
    };
    thread::sleep(Duration::from_secs(1));

    // Sync: the new Sentinels first (they monitor nothing), then pod 0
    // (Ready = in sync with the source), then pods 1 and 2 (from pod 0).
    s.use_new_client();
    s.start_new_sentinels()?;
    let pod0 = s.t_new.redis[0].clone();
    s.c.start(&pod0)?;
    let sync = s.c.wait_ready(&pod0, Duration::from_secs(600))?;
    let used = info_field(
        &s.t_new.redis(&s.c, &pod0, &["INFO", "memory"])?,
        "used_memory_human",
    );
    println!(
        "{name}: pod 0 in sync with the source after {} ({used} in use)",
        secs(sync)
    );
    for r in &s.t_new.redis[1..] {
        s.c.start(r)?;
        s.c.wait_ready(r, READY)?;
    }
    s.nothing_promoted()?;
    let st = migration_status(&s.c, &pod0);
    let behind: u64 = st
        .split("bytes_behind=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no bytes_behind in: {st}"))?;
    ensure!(
        st.contains("link=up")
            && behind <= 1 << 20
            && st.contains("cut-over: not asked")
            && st.contains("would be accepted now"),
        "migrate-redis.sh status during the sync: {st}"
    );
    println!(
        "{name}: migrate-redis.sh status during the sync: {}",
        st.trim().replace('\n', " | ")
    );
    let log0 = s.c.log(&pod0);
    ensure!(
        log0.contains("migration: replicating from the source's master"),
        "{log0}"
    );

    // A new pod restarts during the sync: it comes back in sync, nothing
    // is promoted (our scripts, not the source's server: not repeated for
    // another source server).
    if old_server.is_none() {
        s.c.kill(&pod0)?;
        s.c.start(&pod0)?;
        s.c.wait_ready(&pod0, Duration::from_secs(300))?;
        s.nothing_promoted()?;
        println!("{name}: pod 0 restarted during the sync, in sync again, nothing promoted");
    }

    if sentinel_failover {
        source_fails_over(&mut s, &old_master)?;
    }
    w.wait_acked(w.acked_so_far() + 20, SETTLE)?;

    // Cut-over.
    let source_master = current_source_master(&s)?;
    let event = Instant::now();
    let event_unix = harness::unix_now();
    s.ask_cutover()?;
    wait_for("pod 0 promoted by the cut-over", SETTLE, POLL, || {
        let r = s.role(&pod0);
        if r == "master" { Ok(()) } else { Err(r) }
    })?;
    let promoted = event.elapsed();
    let pod0_fqdn = s.t_new.fqdn(&s.c, &pod0);
    // The application moves to the new Secrets as soon as the cut-over is
    // done: it asks the new Sentinels (which adopt the new master).
    w.switch_to(&s.c, &s.new, &s.t_new)?;
    let switched = event.elapsed();
    s.use_old_client();
    let old_fqdn = s.t_old.fqdn(&s.c, &source_master);
    let refused =
        s.c.client()
            .redis(&old_fqdn, s.t_old.redis_port, &["SET", "after", "cutover"])?;
    ensure!(
        refused.text().contains("NOREPLICAS"),
        "the old master took a write after the cut-over: {}",
        refused.summary()
    );
    let old_keys = key_counts(s.c.client(), &old_fqdn, s.t_old.redis_port)?;
    s.use_new_client();
    s.t_new.wait_sentinels_agree(&s.c, &pod0, 2)?;
    let named = event.elapsed();
    w.wait_acked(w.acked_so_far() + 20, SETTLE)?;
    let writes = w.stop()?;
    let lost = writes.lost(&s.c, &s.t_new, &pod0)?;
    let new_keys = key_counts(s.c.client(), &pod0_fqdn, s.t_new.redis_port)?;
    ensure!(
        old_keys.0 == new_keys.0,
        "key counts differ (writer's keys aside): old {} new {}",
        old_keys.0,
        new_keys.0
    );
    ensure!(
        new_keys.1 >= old_keys.1,
        "the new master has fewer of the writer's keys ({}) than the old one ({})",
        new_keys.1,
        old_keys.1
    );
    let ttl = s.t_new.redis(&s.c, &pod0, &["TTL", "ttl:7"])?;
    let ttl: i64 = ttl.text().trim().parse().unwrap_or(-3);
    ensure!(ttl > 3000, "ttl:7 lost its TTL on the new master ({ttl})");
    let paused =
        s.c.log(&pod0)
            .lines()
            .find_map(|l| {
                l.split("writes paused ")
                    .nth(1)
                    .map(|r| r.split(';').next().unwrap_or("").to_string())
            })
            .context("no cut-over line in pod 0's log")?;
    let gap = writes.longest_gap(event, writes.end);
    let first_new = writes
        .first_ack_after_on(event, &pod0_fqdn)
        .context("no acknowledged write on the new master")?;
    // Evidence for the outage: pod 0's clock points of the cut-over and
    // the writer's writes around it, in seconds after the ask.
    let clock = cutover_clock(&s.c.log(&pod0), event_unix)?;
    let adopted: Vec<String> = s
        .t_new
        .sentinels
        .iter()
        .filter_map(|p| cutover_clock(&s.c.log(p), event_unix).ok())
        .collect();
    println!(
        "{name}: cut-over after the ask: {clock}; new Sentinels {}; writer moved +{:.3} s; writes: {}",
        adopted.join(", "),
        switched.as_secs_f64(),
        timeline(&writes, event, event + first_new)
    );
    let report = format!(
        "{name}: source {source_server}, {mb} MB synced in {}; cut-over: writes paused on the source {paused}, pod 0 promoted {} after the ask, named by every new Sentinel after {}; writer (moved to the new Sentinels once pod 0 was promoted): first acknowledged write on the new master {} after the ask, longest gap without one {}; {}; {} acknowledged writes lost; old master: {}; keys other than the writer's {} = {}; TTL kept ({ttl} s); new master {pod0_fqdn}",
        secs(sync),
        secs(promoted),
        secs(named),
        secs(first_new),
        secs(gap),
        writes.summary(),
        lost.len(),
        refused.text().trim(),
        old_keys.0,
        new_keys.0,
    );
    println!("{report}");
    ensure!(
        lost.is_empty(),
        "acknowledged writes lost: {:?}",
        &lost[..lost.len().min(20)]
    );
    if standalone && target.is_none() && old_server.is_none() {
        empty_pod0_after_the_cutover(&mut s, &old_fqdn)?;
    }
    s.c.pass();
    Ok(report)
}

/// The state pod `pod`'s migration loop last wrote to its status file
/// (empty when none); [`migration_status`] measures afresh instead.
fn status_file(c: &Cluster, pod: &str) -> String {
    c.exec(
        pod,
        &["cat", "/run/redis/migration-status"],
        Duration::from_secs(5),
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    .unwrap_or_default()
}

/// What `migrate-redis.sh status` prints on `pod` (`kubectl exec`).
fn migration_status(c: &Cluster, pod: &str) -> String {
    c.exec(
        pod,
        &["sh", "/etc/redis/config/migrate-redis.sh", "status"],
        Duration::from_secs(15),
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    .unwrap_or_else(|e| format!("{e:#}"))
}

/// Pod 0's clock points of the cut-over (its log line), as seconds after
/// the ask (`event_unix`, Unix seconds).
pub(crate) fn cutover_clock(log: &str, event_unix: f64) -> Result<String> {
    let line = log
        .lines()
        .find(|l| l.contains("clock (ms since the epoch)"))
        .context("no clock line in pod 0's log")?;
    let part = line
        .split("clock (ms since the epoch): ")
        .nth(1)
        .context("clock line")?;
    let mut out = Vec::new();
    for item in part.split(", ") {
        let (what, ms) = item.split_once(' ').context("clock item")?;
        let ms: f64 = ms
            .trim()
            .parse()
            .with_context(|| format!("clock {item:?}"))?;
        out.push(format!("{what} +{:.3} s", ms / 1000.0 - event_unix));
    }
    Ok(out.join(", "))
}

/// The writer's writes from just before `from` to `to` (answered), runs of
/// the same outcome on the same master merged: "+sent..+answered s N x
/// outcome on host".
pub(crate) fn timeline(w: &harness::Writes, from: Instant, to: Instant) -> String {
    let rel = |t: Instant| {
        if t >= from {
            (t - from).as_secs_f64()
        } else {
            -(from - t).as_secs_f64()
        }
    };
    let mut runs: Vec<(f64, f64, usize, String)> = Vec::new();
    for x in w
        .list
        .iter()
        .filter(|x| x.at + Duration::from_millis(200) >= from && x.sent <= to)
    {
        let host = x.host.split('.').next().unwrap_or_default();
        let what = format!("{:?} on {host}", x.outcome);
        match runs.last_mut() {
            Some(r) if r.3 == what => {
                r.1 = rel(x.at);
                r.2 += 1;
            }
            _ => runs.push((rel(x.sent), rel(x.at), 1, what)),
        }
    }
    runs.iter()
        .map(|(a, b, n, what)| format!("{a:+.3}..{b:+.3} s {n} x {what}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The residual risk: after the cut-over, pod 0 comes back with an empty
/// data directory (its migration marker gone) while no new Sentinel
/// answers. It must not replicate from the old source again: its peers
/// hold writes made after the cut-over.
fn empty_pod0_after_the_cutover(s: &mut Setup, old_fqdn: &str) -> Result<()> {
    for sen in s.t_new.sentinels.clone() {
        s.c.stop(&sen)?;
    }
    let pod0 = s.t_new.redis[0].clone();
    s.c.delete(&pod0)?;
    s.c.start(&pod0)?;
    wait_for(
        "pod 0 (empty) to refuse replicating from the source",
        SETTLE,
        POLL,
        || {
            let log = s.c.last_start_log(&pod0);
            if log.contains("holds writes made after the cut-over") {
                Ok(())
            } else {
                Err(log)
            }
        },
    )?;
    let log = s.c.last_start_log(&pod0);
    ensure!(
        !log.contains("replicating from the source's master"),
        "pod 0 replicated from the source again: {log}"
    );
    for p in &s.t_new.redis[1..] {
        let r = s.t_new.redis(&s.c, p, &["INFO", "replication"])?;
        let h = info_field(&r, "master_host");
        ensure!(
            !h.starts_with("old-"),
            "{p} replicates from the source ({h})"
        );
    }
    s.use_old_client();
    let r =
        s.c.client()
            .redis(old_fqdn, s.t_old.redis_port, &["INFO", "replication"])?;
    s.use_new_client();
    ensure!(
        info_field(&r, "connected_slaves") == "0",
        "the old master has a replica again: {}",
        r.summary()
    );
    println!(
        "pod 0 back with an empty data directory after the cut-over, no new Sentinel answering: {}",
        log.lines()
            .find(|l| l.contains("holds writes"))
            .unwrap_or_default()
    );
    Ok(())
}

/// The source master as pod 0 replicates from it.
fn current_source_master(s: &Setup) -> Result<String> {
    let pod0 = &s.t_new.redis[0];
    let r = s.t_new.redis(&s.c, pod0, &["INFO", "replication"])?;
    let host = info_field(&r, "master_host");
    s.t_old
        .redis
        .iter()
        .find(|p| s.c.pod(p).fqdn == host)
        .cloned()
        .with_context(|| format!("pod 0 replicates from {host:?}, not an old pod"))
}

/// The old deployment fails over during the sync: pod 0 follows the
/// master its Sentinels name, nothing is promoted in the new topology.
fn source_fails_over(s: &mut Setup, old_master: &str) -> Result<()> {
    s.c.kill(old_master)?;
    let t = Instant::now();
    let old_fqdn = s.t_old.fqdn(&s.c, old_master);
    s.use_old_client();
    let mut now = String::new();
    wait_for("the old Sentinels to fail over", SETTLE, POLL, || {
        let r = s.t_old.sentinel_master(&s.c, &s.t_old.sentinels[0]);
        match r {
            Ok(m) if m != old_fqdn => {
                now = m;
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })?;
    s.use_new_client();
    let pod0 = s.t_new.redis[0].clone();
    wait_for(
        "pod 0 to follow the source's new master",
        SETTLE,
        POLL,
        || {
            let r = s
                .t_new
                .redis(&s.c, &pod0, &["INFO", "replication"])
                .map_err(|e| e.to_string())?;
            let (h, l) = (
                info_field(&r, "master_host"),
                info_field(&r, "master_link_status"),
            );
            if h == now && l == "up" {
                Ok(())
            } else {
                Err(format!("{h} link {l}"))
            }
        },
    )?;
    s.nothing_promoted()?;
    ensure!(
        s.c.log(&pod0).contains("following"),
        "pod 0's log does not say it followed"
    );
    println!(
        "source failed over to {now}; pod 0 followed it {} after the old master was killed; nothing promoted",
        secs(t.elapsed())
    );
    // The old master returns (as a replica of the promoted one).
    s.c.start(old_master)?;
    s.use_old_client();
    s.c.wait_ready(old_master, READY)?;
    s.use_new_client();
    Ok(())
}

#[test]
fn sentinel_source_moves_without_losing_an_acknowledged_write() -> Result<()> {
    harness::require_environment()?;
    migrate("sentinel", &sentinel_source(), true, None).map(|_| ())
}

#[test]
fn tls_sentinel_source_moves_without_losing_an_acknowledged_write() -> Result<()> {
    harness::require_environment()?;
    migrate(
        "sentinel-tls",
        &(sentinel_source() + SOURCE_TLS),
        true,
        None,
    )
    .map(|_| ())
}

#[test]
fn standalone_source_moves_without_losing_an_acknowledged_write() -> Result<()> {
    harness::require_environment()?;
    migrate("standalone", &standalone_acl_source(), false, None).map(|_| ())
}

/// Versions: the old deployment on the server under test (Debian's Redis
/// 7.0.15 by default), the new topology on Valkey 9.1.2 (its image, the
/// build cached by .ci/install.d/45-servers.sh): a replica newer than its
/// master, RDB format 10 read by Valkey 9.
#[test]
fn a_source_moves_to_a_newer_server() -> Result<()> {
    harness::require_environment()?;
    let target = Server::build("valkey-9.1")?;
    migrate(
        "to-valkey",
        &standalone_source("redis-password"),
        false,
        Some(&target),
    )
    .map(|_| ())
}

/// Wrong credentials, then an unreachable source, then a cut-over asked
/// while not in sync: each reported by pod 0 (status file, log, not
/// Ready), nothing promoted.
#[test]
fn failures_are_reported_and_nothing_is_promoted() -> Result<()> {
    harness::require_environment()?;
    let mut s = setup("failures", &standalone_source("sentinel-password"))?;
    let old_master = s.t_old.redis[0].clone();
    s.c.start(&old_master)?;
    s.c.wait_ready(&old_master, READY)?;
    s.use_new_client();
    s.start_new_sentinels()?;
    let pod0 = s.t_new.redis[0].clone();
    s.c.start(&pod0)?;
    wait_for("pod 0 to report the wrong password", SETTLE, POLL, || {
        let st = status_file(&s.c, &pod0);
        if st.contains("link-down") && st.contains("refuses the credentials") {
            Ok(())
        } else {
            Err(st)
        }
    })?;
    ensure!(
        !s.c.probe(&pod0)?,
        "pod 0 is Ready without a link to the source"
    );
    println!("wrong credentials: {}", status_file(&s.c, &pod0).trim());
    let st = migration_status(&s.c, &pod0);
    ensure!(
        st.contains("link=down") && st.contains("would be refused now: link to the source"),
        "migrate-redis.sh status with wrong credentials: {st}"
    );
    println!(
        "wrong credentials, migrate-redis.sh status: {}",
        st.trim().replace('\n', " | ")
    );
    s.nothing_promoted()?;

    s.use_old_client();
    s.c.stop(&old_master)?;
    s.use_new_client();
    wait_for(
        "pod 0 to report the source unreachable",
        SETTLE,
        POLL,
        || {
            let st = status_file(&s.c, &pod0);
            if st.contains("nothing (unreachable)") {
                Ok(())
            } else {
                Err(st)
            }
        },
    )?;
    println!("source unreachable: {}", status_file(&s.c, &pod0).trim());

    s.ask_cutover()?;
    wait_for("pod 0 to refuse the cut-over", SETTLE, POLL, || {
        let st = status_file(&s.c, &pod0);
        if st.contains("cut-over refused: link to the source") {
            Ok(())
        } else {
            Err(st)
        }
    })?;
    thread::sleep(Duration::from_secs(3));
    s.nothing_promoted()?;
    let log = s.c.log(&pod0);
    ensure!(log.contains("cut-over refused"), "{log}");
    println!(
        "cut-over asked before the sync: {}",
        status_file(&s.c, &pod0).trim()
    );
    if !status_file(&s.c, &pod0).contains("refused") {
        bail!("status changed: {}", status_file(&s.c, &pod0));
    }
    s.c.pass();
    Ok(())
}

/// Every spec docs/migrating.md shows renders (plain sources with the
/// plain-text warning), and the source user it shows is a rule set Redis
/// accepts.
#[test]
fn the_guide_renders_and_its_source_user_is_valid() -> Result<()> {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/migrating.md");
    let dir = scratch_root().join(format!("migration-guide-{}", std::process::id()));
    let names = extract_code_blocks(&guide, &dir)?;
    ensure!(names.len() >= 4, "the guide's specs: {names:?}");
    for n in &names {
        let out = std::process::Command::new(harness::cli::bin())
            .arg("render")
            .arg("-f")
            .arg(dir.join(n))
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(out.status.success(), "{n}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            stdout.contains("migrate-redis.sh"),
            "{n}: no migration script rendered"
        );
        if !n.contains("tls") {
            ensure!(
                stderr.contains("plain text"),
                "{n}: no plain-text warning: {stderr}"
            );
        }
    }
    let words = guide_user_rule("a-password")?;
    let redis = Standalone::start(&dir.join("redis"))?;
    let r = redis.pipeline(&[words])?;
    ensure!(r.first().is_some_and(|l| l == "+OK"), "ACL SETUSER: {r:?}");
    Ok(())
}

/// Abort: removing `spec.migration` before the cut-over (a rollout of
/// both new StatefulSets). The old master stays master and answers writes
/// throughout, every acknowledged one still there; the new topology ends as
/// an ordinary one (a master its Sentinels name, no link to the source)
/// holding the copy it had synced.
#[test]
fn removing_the_section_before_the_cutover_leaves_the_old_deployment_alone() -> Result<()> {
    harness::require_environment()?;
    let mut s = setup("abort", &standalone_source("redis-password"))?;
    let dir = scratch_root().join(format!("migration-abort-{}", std::process::id()));
    let mut plain = render(
        &dir,
        "plain.yaml",
        &new_spec("      standalone: {host: x}\n", false).replace(
            "  migration:\n    cutover: false\n    source:\n      standalone: {host: x}\n",
            "",
        ),
    )?;
    ensure!(
        !plain
            .configmap_data("cache-redis")?
            .contains_key("migrate-redis.sh"),
        "the render without spec.migration still has the migration script"
    );
    // The old deployment as it runs: a standalone master (its Sentinels
    // were never applied).
    plain.items.extend(
        s.old
            .items
            .iter()
            .filter(|i| {
                !i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("old-sentinel")
            })
            .cloned(),
    );
    let old_master = s.t_old.redis[0].clone();
    s.c.start(&old_master)?;
    s.c.wait_ready(&old_master, READY)?;
    let fqdn = s.t_old.fqdn(&s.c, &old_master);
    populate(&s.c, &fqdn, s.t_old.redis_port, 2)?;
    let w = Writer::start_fixed(
        &s.c,
        &s.old,
        &s.t_old,
        &old_master,
        WriterOptions::new("abort"),
    )?;
    s.use_new_client();
    s.start_new_sentinels()?;
    for r in &s.t_new.redis {
        s.c.start(r)?;
        s.c.wait_ready(r, Duration::from_secs(300))?;
    }
    w.wait_acked(20, SETTLE)?;
    let t = Instant::now();
    let report = Rollout::apply(&mut s.c, &plain)?;
    println!(
        "abort: rollout without spec.migration in {}: {}",
        secs(t.elapsed()),
        report.summary()
    );
    let pod0 = s.t_new.redis[0].clone();
    let master = s.t_new.current_master(&s.c)?;
    s.t_new.wait_sentinels_agree(&s.c, &master, 2)?;
    let info = s.t_new.redis(&s.c, &master, &["INFO", "keyspace"])?;
    // Without pod 0 the standalone old master has no replica: WAIT counts
    // none, but SET goes on being answered OK.
    let after = Instant::now();
    thread::sleep(Duration::from_secs(4));
    let writes = w.stop()?;
    let answered = writes
        .list
        .iter()
        .filter(|x| {
            x.sent >= after
                && matches!(
                    x.outcome,
                    harness::Outcome::Acked | harness::Outcome::Unacked
                )
        })
        .count();
    ensure!(
        answered >= 2,
        "the old master stopped taking writes after the abort: {}",
        writes.summary()
    );
    s.use_old_client();
    let role = s.c.client().redis(&fqdn, s.t_old.redis_port, &["ROLE"])?;
    ensure!(
        role.lines().first() == Some(&"master"),
        "the old master: {}",
        role.summary()
    );
    let lost = s
        .t_old
        .missing_keys(&s.c, &old_master, &writes.acked(), &writes.prefix)?;
    ensure!(
        lost.is_empty(),
        "acknowledged writes lost on the old master: {lost:?}"
    );
    s.use_new_client();
    let link = s.t_new.redis(&s.c, &master, &["INFO", "replication"]);
    ensure!(
        link.is_ok_and(|r| info_field(&r, "role") == "master"),
        "the new master is not a master"
    );
    for p in &s.t_new.redis {
        let r = s.t_new.redis(&s.c, p, &["INFO", "replication"])?;
        let h = info_field(&r, "master_host");
        ensure!(
            !h.starts_with("old-"),
            "{p} still replicates from the source ({h})"
        );
    }
    println!(
        "abort: old master still master, {}; 0 lost; new topology: master {master} (pod 0 is {pod0}) named by its Sentinels, {}",
        writes.summary(),
        info.text().trim()
    );
    s.c.pass();
    Ok(())
}

/// Kills a process started by the test when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sentinels that name no master for `masterName`, then no Sentinel
/// answering: pod 0's start script (the rendered `migrate-redis.sh
/// source-master`, run against a real `redis-sentinel` on loopback) says
/// which, and exits without a master to replicate from (the kubelet
/// restarts it; nothing replicates, nothing is promoted).
#[test]
fn sentinels_that_name_no_master_are_reported() -> Result<()> {
    let dir = scratch_root().join(format!("migration-nomaster-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let source = format!(
        "      sentinel:\n        hosts: [\"127.0.0.1:{port}\"]\n        masterName: mymaster\n"
    );
    let r = render(&dir, "nomaster.yaml", &new_spec(&source, false))?;
    let script = r
        .configmap_data("cache-redis")?
        .remove("migrate-redis.sh")
        .context("no migrate-redis.sh")?;
    fs::write(dir.join("migrate-redis.sh"), script)?;
    fs::write(
        dir.join("sentinel.conf"),
        format!("port {port}\nbind 127.0.0.1\ndir {}\n", dir.display()),
    )?;
    let bin = harness::which("redis-sentinel")
        .or_else(|| harness::which("valkey-sentinel"))
        .context("no redis-sentinel")?;
    let sentinel = Killed(
        std::process::Command::new(bin)
            .arg(dir.join("sentinel.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let run = || -> Result<(bool, String)> {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg(dir.join("migrate-redis.sh"))
            .arg("source-master")
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("POD_NAME", "cache-redis-0");
        for (k, sub) in [
            ("CONFIG_DIR", ""),
            ("DATA_DIR", "data"),
            ("RUN_DIR", "run"),
            ("TOPOLOGY_DIR", "topology"),
            ("MIGRATION_DIR", "migration"),
            ("AUTH_DIR", "auth"),
            ("TLS_DIR", "tls"),
        ] {
            cmd.env(k, dir.join(sub));
        }
        let out = harness::run(&mut cmd, Duration::from_secs(30))?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        ))
    };
    let mut said = String::new();
    wait_for("the source Sentinel to answer", SETTLE, POLL, || {
        let (ok, out) = run().map_err(|e| format!("{e:#}"))?;
        if ok {
            return Err(format!("source-master succeeded: {out}"));
        }
        if out.contains("answer but name no master mymaster") {
            said = out;
            Ok(())
        } else {
            Err(out)
        }
    })?;
    println!("Sentinels that name no master: {}", said.trim());
    drop(sentinel);
    let (ok, out) = run()?;
    ensure!(
        !ok && out.contains("no source Sentinel answers"),
        "no Sentinel answering: {out}"
    );
    println!("no source Sentinel answering: {}", out.trim());
    Ok(())
}

// ---- Source versions: a Redis 6.2 source, and a source whose RDB format
// the new pods cannot load (its version not given in the spec).

/// The old deployment rendered from `yaml` with its Redis pods on `server`
/// (its image, mapped to that build in `opts`). This function renders for
/// Redis 7.0 and later; an older server (Redis 6.2, a migration source
/// only) runs the rendering for Redis 7.0, whose redis.conf and start
/// script it takes as they are, with a readiness probe of its own (PING):
/// the rendered probe asks `INFO replication persistence`, and Redis 6.2's
/// INFO takes one section.
fn old_on(dir: &Path, yaml: &str, server: &Server, opts: &mut ClusterOptions) -> Result<Render> {
    use redis_sentinel_fn::spec::server::{ServerKind, Support, Version, support};
    let image = server.image()?;
    let kind = ServerKind::of_image(&image).context("the build's image names no server")?;
    let version = Version::of_image(&image).context("the build's image names no version")?;
    let too_old = matches!(support(kind, version), Support::TooOld(_));
    let rendered_for = if too_old {
        "docker.io/library/redis:7.0".to_string()
    } else {
        image.clone()
    };
    let yaml = yaml.replacen("spec:\n", &format!("spec:\n  image: {rendered_for}\n"), 1);
    let mut old = render(dir, "old.yaml", &yaml)?;
    if too_old {
        let sts = old
            .items
            .iter_mut()
            .find(|i| i["kind"] == "StatefulSet" && i["metadata"]["name"] == "old-redis")
            .context("no StatefulSet old-redis")?;
        let c = &mut sts["spec"]["template"]["spec"]["containers"][0];
        c["image"] = image.clone().into();
        c["readinessProbe"]["exec"]["command"] = serde_json::json!([
            "sh",
            "-c",
            "REDISCLI_AUTH=$(cat /etc/redis/auth/redis-password) redis-cli --no-auth-warning -p 6379 PING | grep -qx PONG"
        ]);
    }
    opts.images.push((image, server.clone()));
    Ok(old)
}

/// A Redis 6.2 source (the oldest the guide accepts: `CLIENT PAUSE WRITE`
/// came with 6.2): a standalone master, reached through the guide's ACL
/// user, moved to the server under test (Debian's Redis 7.0.15 in CI) with
/// the acknowledged writer; 2 MB of data. The Redis 6.2 build is
/// .ci/install.d/45-servers.sh's; without it the test fails.
#[test]
fn a_redis_6_2_source_moves_without_losing_an_acknowledged_write() -> Result<()> {
    harness::require_environment()?;
    let old = Server::build("redis-6.2")?;
    let (_, version) = server_and_version(&old)?;
    let report = migrate_with(
        "redis-6.2",
        &standalone_acl_source(),
        false,
        None,
        Some(&old),
        2,
    )?;
    ensure!(
        report.contains(&format!("source Redis {version},")),
        "the old master did not run the 6.2 build: {report}"
    );
    Ok(())
}

/// A source whose RDB format the new pods cannot load, with
/// `migration.source.version` left out (so the render cannot refuse it):
/// a Redis 8.0.6 source (format 12) and a Redis 7.0.15 topology (reads up
/// to 10). Pod 0 names the source's server and format, what it reads and
/// what to do, in its status file, its log and `migrate-redis.sh status`;
/// it is not Ready, a cut-over asked is refused with that reason, nothing
/// is promoted and the old master keeps taking writes. The Redis 8.0 build
/// is .ci/install.d/45-servers.sh's; without it the test fails.
#[test]
fn a_source_whose_rdb_the_new_pods_cannot_load_is_named() -> Result<()> {
    harness::require_environment()?;
    unloadable_source("rdb-redis-8.0", &Server::build("redis-8.0")?)
}

#[test]
fn a_valkey_9_source_the_new_pods_cannot_load_is_named() -> Result<()> {
    harness::require_environment()?;
    unloadable_source("rdb-valkey-9.1", &Server::build("valkey-9.1")?)
}

/// [`a_source_whose_rdb_the_new_pods_cannot_load_is_named`] for the
/// source build `source` and Debian's Redis 7.0.15 as the new topology.
fn unloadable_source(name: &str, source: &Server) -> Result<()> {
    use redis_sentinel_fn::spec::server::{self as srv, ServerKind, Version};
    let (src_kind, src_version) = server_and_version(source)?;
    let target = Server::host();
    let (t_kind, t_version) = server_and_version(&target)?;
    let as_server = |kind: &str, v: &str| -> Result<srv::Server> {
        Ok(srv::Server {
            kind: ServerKind::parse(&kind.to_ascii_lowercase()).context("server kind")?,
            version: Version::parse_tag(v).context("version")?,
        })
    };
    let (src, tgt) = (
        as_server(&src_kind, &src_version)?,
        as_server(&t_kind, &t_version)?,
    );
    // What the source sends this server in a full sync (Valkey 9 sends an
    // older replica format 11, not its own 80).
    let format = srv::rdb_sent(&src, &tgt).context("the RDB format sent")?;
    ensure!(
        srv::downgrade(&src, &tgt).is_some(),
        "{src} -> {tgt} is not a mismatch"
    );
    let mut s = setup_with(
        name,
        &standalone_source("redis-password"),
        Some(&target),
        Some(source),
    )?;
    let old_master = s.t_old.redis[0].clone();
    s.c.start(&old_master)?;
    s.c.wait_ready(&old_master, READY)?;
    let fqdn = s.t_old.fqdn(&s.c, &old_master);
    populate(&s.c, &fqdn, s.t_old.redis_port, 0)?;
    s.use_new_client();
    s.start_new_sentinels()?;
    let pod0 = s.t_new.redis[0].clone();
    let t = Instant::now();
    s.c.start(&pod0)?;
    let named = format!(
        "the source runs {src_kind} {src_version}, which sends this server RDB format {format} in a full sync; this server, {t_kind} {t_version}, reads formats up to"
    );
    wait_for("pod 0 to name the RDB mismatch", SETTLE, POLL, || {
        let st = status_file(&s.c, &pod0);
        if st.contains("rdb-mismatch") && st.contains(&named) {
            Ok(())
        } else {
            Err(st)
        }
    })?;
    let seen = t.elapsed();
    let st = status_file(&s.c, &pod0);
    ensure!(
        st.contains("spec.image") && st.contains("migration.source.version"),
        "the status says what to do: {st}"
    );
    ensure!(
        !s.c.probe(&pod0)?,
        "pod 0 is Ready without the source's data"
    );
    let log = s.c.log(&pod0);
    ensure!(
        log.lines()
            .any(|l| l.contains("rdb-mismatch") && l.contains(&named)),
        "pod 0's log does not name the mismatch: {log}"
    );
    // The mismatch is real: the server itself refuses the format once
    // the source sends its RDB.
    let refused_by_redis = format!("RDB format version {format}");
    wait_for("pod 0's Redis to refuse the RDB", SETTLE, POLL, || {
        let log = s.c.log(&pod0);
        match log.lines().find(|l| l.contains(&refused_by_redis)) {
            Some(_) => Ok(()),
            None => Err(log.lines().last().unwrap_or_default().to_string()),
        }
    })?;
    let report = migration_status(&s.c, &pod0);
    ensure!(
        report.contains(&format!("would be refused now: {named}")),
        "migrate-redis.sh status: {report}"
    );
    println!(
        "{name}: named {} after pod 0's start; status: {}",
        secs(seen),
        st.trim()
    );
    println!(
        "{name}: migrate-redis.sh status: {}",
        report.trim().replace('\n', " | ")
    );
    s.ask_cutover()?;
    let refused = format!("cut-over refused: {named}");
    wait_for("pod 0 to refuse the cut-over", SETTLE, POLL, || {
        let st = status_file(&s.c, &pod0);
        if st.contains(&refused) {
            Ok(())
        } else {
            Err(st)
        }
    })?;
    thread::sleep(Duration::from_secs(2));
    s.nothing_promoted()?;
    s.use_old_client();
    let w =
        s.c.client()
            .redis(&fqdn, s.t_old.redis_port, &["SET", "after", "refusal"])?;
    ensure!(
        w.is("OK"),
        "the old master refused a write: {}",
        w.summary()
    );
    println!(
        "{name}: cut-over refused: {}",
        status_file(&s.c, &pod0).trim()
    );
    s.c.pass();
    Ok(())
}

/// "Redis 6.2.16", "Valkey 9.1.2": a server's own answer (`INFO server`).
fn source_server(info: &harness::Reply) -> String {
    match info_field(info, "valkey_version").as_str() {
        "" => format!("Redis {}", info_field(info, "redis_version")),
        v => format!("Valkey {v}"),
    }
}

/// ("Redis" or "Valkey", "X.Y.Z") of a build (`--version`).
fn server_and_version(s: &Server) -> Result<(String, String)> {
    let v = s.version()?;
    let kind = if v.starts_with("Valkey") {
        "Valkey"
    } else {
        "Redis"
    };
    let version = v
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .with_context(|| format!("no version in {v:?}"))?;
    Ok((kind.to_string(), version.to_string()))
}
