//! [`Topo`]: the names, ports and Sentinel settings of a running topology,
//! and the queries every end-to-end suite asks of it (who is master, do
//! the Sentinels agree, are acknowledged writes still there).
//!
//! Every query goes through the harness' [`Client`] (the client namespace,
//! the generated client certificate and passwords). Queries a test polls
//! return [`Seen`]: `Err` says what was seen instead, for the timeout
//! message of [`wait_for`].

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

use super::client::{Client, Reply};
use super::cluster::Cluster;
use super::render::Render;
use super::{secs, wait_for};

/// Poll interval of the waits below.
pub const POLL: Duration = Duration::from_millis(100);
/// How long the topology may take to settle after a change.
pub const SETTLE: Duration = Duration::from_secs(30);
/// How long a pod may take to become ready.
pub const READY: Duration = Duration::from_secs(60);

/// `INFO` fields, `SENTINEL master` pairs and the like.
pub type Map = BTreeMap<String, String>;
/// A polled observation: `Err` says what was seen instead.
pub type Seen<T> = std::result::Result<T, String>;

/// An error as the text a poll reports.
pub fn seen<T>(r: Result<T>) -> Seen<T> {
    r.map_err(|e| e.to_string())
}

/// A field of a [`Map`], empty when absent.
pub fn get<'a>(m: &'a Map, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or_default()
}

/// `SENTINEL replicas` (or `SENTINEL sentinels`): one map per entry.
pub fn replica_records(r: &Reply) -> Vec<Map> {
    let lines: Vec<&str> = r.stdout.lines().collect();
    let mut out: Vec<Map> = Vec::new();
    for kv in lines.chunks(2).filter(|c| c.len() == 2) {
        if kv[0] == "name" {
            out.push(Map::new());
        }
        if let Some(m) = out.last_mut() {
            m.insert(kv[0].to_string(), kv[1].to_string());
        }
    }
    out
}

/// A Redis error reply's code (`NOREPLICAS`, `READONLY`, ...).
pub fn error_code(line: &str) -> Option<&str> {
    let code = line.split_whitespace().next()?;
    (code.len() >= 3 && code.chars().all(|c| c.is_ascii_uppercase())).then_some(code)
}

/// The master host a Sentinel at `sentinel:port` names
/// (`SENTINEL get-master-addr-by-name`), asked with `cl`.
pub fn master_addr(cl: &Client, master_name: &str, sentinel: &str, port: u16) -> Seen<String> {
    let r = seen(cl.sentinel(
        sentinel,
        port,
        &["SENTINEL", "get-master-addr-by-name", master_name],
    ))?;
    match r.lines()[..] {
        [h, _] if r.success => Ok(h.to_string()),
        _ => Err(format!("{sentinel}: {}", r.summary())),
    }
}

/// `SENTINEL master` of the Sentinel at `sentinel:port`, asked with `cl`.
pub fn sentinel_master_state(
    cl: &Client,
    master_name: &str,
    sentinel: &str,
    port: u16,
) -> Seen<Map> {
    let r = seen(cl.sentinel(sentinel, port, &["SENTINEL", "master", master_name]))?;
    if r.success && r.stdout.contains("flags") {
        Ok(r.pairs())
    } else {
        Err(format!("{sentinel}: {}", r.summary()))
    }
}

/// The pod's start script logged `decision` during its last start.
pub fn expect_decision(c: &Cluster, pod: &str, decision: &str) -> Result<()> {
    let log = c.last_start_log(pod);
    ensure!(
        log.contains(decision),
        "the start script of {pod} did not log {decision:?}:\n{log}"
    );
    Ok(())
}

/// New log lines of a pod since byte `from` (take `c.log(pod).len()`
/// before the event).
pub fn log_since(c: &Cluster, pod: &str, from: usize) -> String {
    let log = c.log(pod);
    log.get(from..).unwrap_or_default().to_string()
}

/// Sentinel events that mean a failover was attempted or happened.
pub const FAILOVER_EVENTS: [&str; 5] = [
    "+odown",
    "+try-failover",
    "+new-epoch",
    "+vote-for-leader",
    "+switch-master",
];

/// A setting from the header of a rendered start script, as the shell
/// reads it (the generator quotes every value for the shell).
fn script_setting(render: &Render, script: &str, key: &str) -> Result<String> {
    let text = render
        .kinds("ConfigMap")
        .find_map(|cm| cm["data"][script].as_str())
        .with_context(|| format!("no ConfigMap with {script} in the render"))?;
    let settings = text
        .find("# ---- common helpers")
        .map_or(text, |end| &text[..end]);
    if !settings.lines().any(|l| l.starts_with(&format!("{key}="))) {
        bail!("{script} sets no {key}");
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{settings}\nprintf '%s' \"${key}\"\n"))
        .output()
        .context("running sh")?;
    if !out.status.success() {
        bail!(
            "{script}: the settings do not run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Names, ports and Sentinel settings of a rendered topology running in a
/// [`Cluster`], and queries against it.
///
/// ```text
/// let render = Render::spec(Path::new(FIXTURE))?;
/// let (mut c, t) = bring_up(&render)?;          // every pod ready, pod 0 master
/// let master = t.current_master(&c)?;           // as the Sentinels name it
/// t.acked_writes(&c, &master, "k", 100)?;       // WAIT for every replica
/// c.kill(&master)?;
/// let (m2, named, writable) = t.wait_new_master(&c, &t.sentinels, &master, Instant::now())?;
/// t.wait_sentinels_agree(&c, &m2, t.redis.len() - 1)?;
/// ```
#[derive(Debug, Clone)]
pub struct Topo {
    /// `app.kubernetes.io/instance` (names the client Secrets).
    pub instance: String,
    /// The Sentinel master group name (`sentinel.masterName`).
    pub master_name: String,
    pub redis_sts: String,
    pub sentinel_sts: String,
    /// Redis pods that exist, in ordinal order ([`Topo::refresh`]).
    pub redis: Vec<String>,
    /// Sentinel pods that exist, in ordinal order.
    pub sentinels: Vec<String>,
    pub redis_port: u16,
    pub sentinel_port: u16,
    /// `sentinel.downAfterMilliseconds` and `sentinel.failoverTimeout`.
    pub down_after: Duration,
    pub failover_timeout: Duration,
}

impl Topo {
    /// The topology of `render` in `c`: every pod of both StatefulSets
    /// (created or not; [`Topo::refresh`] keeps only existing ones).
    pub fn new(render: &Render, c: &Cluster) -> Result<Topo> {
        let redis_w = render.workload_of("redis")?;
        let sentinel_w = render.workload_of("sentinel")?;
        let instance = render
            .kinds("StatefulSet")
            .find_map(|s| s["metadata"]["labels"]["app.kubernetes.io/instance"].as_str())
            .context("no StatefulSet with an app.kubernetes.io/instance label")?
            .to_string();
        let ms = |k: &str| -> Result<Duration> {
            let v = script_setting(render, "start-sentinel.sh", k)?;
            Ok(Duration::from_millis(v.parse().with_context(|| {
                format!("start-sentinel.sh: {k}={v:?} is not a number")
            })?))
        };
        Ok(Topo {
            instance,
            master_name: script_setting(render, "start-sentinel.sh", "MASTER_NAME")?,
            redis: c.pods_of(&redis_w.name),
            sentinels: c.pods_of(&sentinel_w.name),
            redis_port: redis_w.port("redis")?,
            sentinel_port: sentinel_w.port("sentinel")?,
            down_after: ms("DOWN_AFTER_MILLISECONDS")?,
            failover_timeout: ms("FAILOVER_TIMEOUT")?,
            redis_sts: redis_w.name,
            sentinel_sts: sentinel_w.name,
        })
    }

    /// Keeps only the pods that exist in `c` now (after scaling).
    pub fn refresh(&mut self, c: &Cluster) {
        let existing = |sts: &str| -> Vec<String> {
            c.pods_of(sts)
                .into_iter()
                .filter(|p| c.pod(p).exists())
                .collect()
        };
        self.redis = existing(&self.redis_sts);
        self.sentinels = existing(&self.sentinel_sts);
    }

    /// The pod's DNS name.
    pub fn fqdn(&self, c: &Cluster, pod: &str) -> String {
        c.pod(pod).fqdn.clone()
    }

    /// The Redis pod whose DNS name is `fqdn`.
    pub fn redis_pod(&self, c: &Cluster, fqdn: &str) -> Option<String> {
        c.pods_of(&self.redis_sts)
            .into_iter()
            .find(|p| c.pod(p).fqdn == fqdn)
    }

    /// A client running inside `pod`'s network namespace (its loopback
    /// and its own address work while the pod is cut off), with the same
    /// certificate and credentials as the harness' client.
    pub fn client_in(&self, c: &Cluster, render: &Render, pod: &str) -> Result<Client> {
        Client::from_render(
            render,
            &self.instance,
            &c.pod(pod).netns,
            &c.work.join("inside").join(pod),
        )
    }

    /// `redis-cli` against a Redis pod (client certificate, app user).
    pub fn redis(&self, c: &Cluster, pod: &str, args: &[&str]) -> Result<Reply> {
        c.client_of(&self.instance)
            .redis(&c.pod(pod).fqdn, self.redis_port, args)
    }

    /// `redis-cli` against a Sentinel.
    pub fn sentinel(&self, c: &Cluster, pod: &str, args: &[&str]) -> Result<Reply> {
        c.client_of(&self.instance)
            .sentinel(&c.pod(pod).fqdn, self.sentinel_port, args)
    }

    /// Every Sentinel's `SENTINEL CKQUORUM` answer starts with `expect`
    /// (e.g. `OK 3 usable Sentinels`).
    pub fn ensure_quorum(&self, c: &Cluster, expect: &str) -> Result<()> {
        for s in &self.sentinels {
            let q = self.sentinel(c, s, &["SENTINEL", "CKQUORUM", &self.master_name])?;
            anyhow::ensure!(
                q.text().starts_with(expect),
                "{s}: CKQUORUM: {}",
                q.summary()
            );
        }
        Ok(())
    }

    /// The render has `redis` Redis pods and `sentinels` Sentinels.
    pub fn ensure_pods(&self, redis: usize, sentinels: usize) -> Result<()> {
        anyhow::ensure!(
            self.redis.len() == redis && self.sentinels.len() == sentinels,
            "the fixture renders {redis} Redis pods and {sentinels} Sentinels, not {} and {}",
            self.redis.len(),
            self.sentinels.len()
        );
        Ok(())
    }

    /// The master host a Sentinel names.
    pub fn sentinel_master(&self, c: &Cluster, pod: &str) -> Seen<String> {
        master_addr(
            c.client_of(&self.instance),
            &self.master_name,
            &c.pod(pod).fqdn,
            self.sentinel_port,
        )
    }

    /// `SENTINEL master` of a Sentinel.
    pub fn sentinel_state(&self, c: &Cluster, pod: &str) -> Seen<Map> {
        sentinel_master_state(
            c.client_of(&self.instance),
            &self.master_name,
            &c.pod(pod).fqdn,
            self.sentinel_port,
        )
    }

    /// The Redis pod the first answering Sentinel names as master.
    pub fn current_master(&self, c: &Cluster) -> Result<String> {
        let mut last = String::from("no Sentinel");
        for s in &self.sentinels {
            match self.sentinel_master(c, s) {
                Ok(h) => {
                    return self
                        .redis_pod(c, &h)
                        .ok_or_else(|| anyhow!("{s} names unknown host {h}"));
                }
                Err(e) => last = e,
            }
        }
        Err(anyhow!("no Sentinel names a master: {last}"))
    }

    /// `INFO replication` of a Redis pod.
    pub fn replication(&self, c: &Cluster, pod: &str) -> Seen<Map> {
        let r = seen(self.redis(c, pod, &["INFO", "replication"]))?;
        if r.success && r.stdout.contains("role:") {
            Ok(r.info())
        } else {
            Err(format!("{pod}: {}", r.summary()))
        }
    }

    /// `pod` replicates from the host `master_fqdn` with its link up.
    pub fn replica_linked(&self, c: &Cluster, pod: &str, master_fqdn: &str) -> Seen<()> {
        let i = self.replication(c, pod)?;
        if get(&i, "role") == "slave"
            && get(&i, "master_host") == master_fqdn
            && get(&i, "master_link_status") == "up"
        {
            Ok(())
        } else {
            Err(format!(
                "role={} master_host={} link={}",
                get(&i, "role"),
                get(&i, "master_host"),
                get(&i, "master_link_status")
            ))
        }
    }

    /// Waits until `pod` replicates from `master` with its link up.
    pub fn wait_replica_of(&self, c: &Cluster, pod: &str, master: &str) -> Result<Duration> {
        let want = self.fqdn(c, master);
        let what = format!("{pod} to replicate from {master} with the link up");
        Ok(wait_for(&what, SETTLE, POLL, || self.replica_linked(c, pod, &want))?.1)
    }

    /// Waits until every Sentinel names `master` (host and port), sees the
    /// other Sentinels and `replicas` replicas, all reachable and linked
    /// to the master.
    pub fn wait_sentinels_agree(
        &self,
        c: &Cluster,
        master: &str,
        replicas: usize,
    ) -> Result<Duration> {
        let want = self.fqdn(c, master);
        let others = (self.sentinels.len() - 1).to_string();
        let what = format!(
            "every Sentinel to name {master} and see its peers and {replicas} healthy replicas"
        );
        Ok(wait_for(&what, SETTLE, POLL, || {
            for s in &self.sentinels {
                let st = self.sentinel_state(c, s)?;
                if get(&st, "ip") != want || get(&st, "port") != self.redis_port.to_string() {
                    return Err(format!("{s} names {}:{}", get(&st, "ip"), get(&st, "port")));
                }
                if get(&st, "flags") != "master"
                    || get(&st, "num-other-sentinels") != others
                    || get(&st, "num-slaves") != replicas.to_string()
                {
                    return Err(format!(
                        "{s}: flags={} num-other-sentinels={} num-slaves={}",
                        get(&st, "flags"),
                        get(&st, "num-other-sentinels"),
                        get(&st, "num-slaves")
                    ));
                }
                let reps = seen(self.sentinel(c, s, &["SENTINEL", "replicas", &self.master_name]))?;
                for r in replica_records(&reps) {
                    if get(&r, "flags") != "slave" || get(&r, "master-link-status") != "ok" {
                        return Err(format!(
                            "{s}: replica {} flags={} master-link-status={}",
                            get(&r, "name"),
                            get(&r, "flags"),
                            get(&r, "master-link-status")
                        ));
                    }
                }
            }
            Ok(())
        })?
        .1)
    }

    /// Every Sentinel names `master`.
    pub fn ensure_sentinels_name(&self, c: &Cluster, master: &str) -> Result<()> {
        let want = self.fqdn(c, master);
        for s in &self.sentinels {
            let h = self.sentinel_master(c, s).map_err(anyhow::Error::msg)?;
            ensure!(
                h == want,
                "{s} monitors {h}, not the current master {master}; its start:\n{}",
                c.last_start_log(s)
            );
        }
        Ok(())
    }

    /// First line of `ROLE` of every Redis pod.
    pub fn roles(&self, c: &Cluster) -> Vec<(String, String)> {
        self.redis
            .iter()
            .map(|p| {
                let role = self
                    .redis(c, p, &["ROLE"])
                    .map(|r| r.lines().first().map(|s| s.to_string()).unwrap_or_default())
                    .unwrap_or_else(|e| format!("error: {e}"));
                (p.clone(), role)
            })
            .collect()
    }

    /// Exactly one master, and it is `master`.
    pub fn ensure_single_master(&self, c: &Cluster, master: &str) -> Result<Vec<(String, String)>> {
        let roles = self.roles(c);
        let masters: Vec<_> = roles.iter().filter(|(_, r)| r == "master").collect();
        ensure!(
            masters.len() == 1 && masters[0].0 == master,
            "exactly one master ({master}) expected: {roles:?}"
        );
        Ok(roles)
    }

    /// Writes `n` keys `prefix:i` (values `v<i>`) on `master` and waits
    /// until every replica acknowledged them (`WAIT`, same connection).
    pub fn acked_writes(&self, c: &Cluster, master: &str, prefix: &str, n: usize) -> Result<()> {
        let mut mset = String::from("MSET");
        for i in 0..n {
            mset.push_str(&format!(" {prefix}:{i} v{i}"));
        }
        let replicas = (self.redis.len() - 1).to_string();
        let r = c.client_of(&self.instance).redis_pipe(
            &self.fqdn(c, master),
            self.redis_port,
            &format!("{mset}\nWAIT {replicas} 5000\n"),
        )?;
        ensure!(
            r.lines() == ["OK", replicas.as_str()],
            "writes not acknowledged by every replica: {}",
            r.summary()
        );
        Ok(())
    }

    /// The `n` keys of [`Topo::acked_writes`] are all on `pod`.
    pub fn ensure_keys(&self, c: &Cluster, pod: &str, prefix: &str, n: usize) -> Result<()> {
        let missing = self.missing_keys(c, pod, &(0..n).collect::<Vec<_>>(), prefix)?;
        ensure!(
            missing.is_empty(),
            "{} acknowledged writes {prefix}:* missing on {pod}: {:?}",
            missing.len(),
            &missing[..missing.len().min(20)]
        );
        Ok(())
    }

    /// Which of `keys` (`prefix:i` with value `v<i>`) `pod` lacks. One
    /// MGET per 200 keys.
    pub fn missing_keys(
        &self,
        c: &Cluster,
        pod: &str,
        keys: &[usize],
        prefix: &str,
    ) -> Result<Vec<usize>> {
        let mut missing = Vec::new();
        for chunk in keys.chunks(200) {
            let names: Vec<String> = chunk.iter().map(|i| format!("{prefix}:{i}")).collect();
            let mut args = vec!["MGET"];
            args.extend(names.iter().map(String::as_str));
            let r = self.redis(c, pod, &args)?;
            // One line per key; a missing key is an empty line.
            let values: Vec<&str> = r.stdout.lines().collect();
            ensure!(
                r.success && values.len() == chunk.len(),
                "MGET of {} keys on {pod}: {}",
                chunk.len(),
                r.summary()
            );
            for (i, v) in chunk.iter().zip(values) {
                if v.trim() != format!("v{i}") {
                    missing.push(*i);
                }
            }
        }
        Ok(missing)
    }

    /// Polls `sentinels` (as a client does) until one names a master
    /// other than `old` that accepts a write. Returns (new master, time
    /// until a Sentinel first named it, time until the write succeeded),
    /// both from `since`.
    pub fn wait_new_master(
        &self,
        c: &Cluster,
        sentinels: &[String],
        old: &str,
        since: Instant,
    ) -> Result<(String, Duration, Duration)> {
        let old = self.fqdn(c, old);
        let mut named: Option<Duration> = None;
        let budget = self.down_after + self.failover_timeout + Duration::from_secs(20);
        let (pod, _) = wait_for(
            "a new master reachable through Sentinel",
            budget,
            POLL,
            || {
                let mut last = String::new();
                for s in sentinels {
                    match self.sentinel_master(c, s) {
                        Ok(h) if h != old => {
                            named.get_or_insert_with(|| since.elapsed());
                            let pod = self
                                .redis_pod(c, &h)
                                .ok_or(format!("Sentinel names unknown host {h}"))?;
                            let w = seen(self.redis(c, &pod, &["SET", "harness:writable", "yes"]))?;
                            return if w.is("OK") {
                                Ok(pod)
                            } else {
                                Err(format!(
                                    "{pod} (named by {s}) refuses a write: {}",
                                    w.summary()
                                ))
                            };
                        }
                        Ok(h) => last = format!("{s} still names {h}"),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            },
        )?;
        let writable = since.elapsed();
        Ok((pod, named.unwrap_or(writable), writable))
    }

    /// `config-epoch` of the master as every Sentinel in `sentinels` sees it.
    pub fn config_epochs(&self, c: &Cluster, sentinels: &[String]) -> Result<Vec<String>> {
        sentinels
            .iter()
            .map(|s| {
                self.sentinel_state(c, s)
                    .map(|m| get(&m, "config-epoch").to_string())
                    .map_err(anyhow::Error::msg)
            })
            .collect()
    }

    /// Stops every Sentinel (SIGTERM), then starts them all at once and
    /// waits until they are ready. Returns how long stopping took and
    /// when they were started.
    pub fn restart_all_sentinels(&self, c: &mut Cluster) -> Result<(Duration, Instant)> {
        let down = Instant::now();
        for s in &self.sentinels {
            c.stop(s)?;
        }
        let stopped = down.elapsed();
        let up = Instant::now();
        for s in &self.sentinels {
            c.start(s)?;
        }
        for s in &self.sentinels {
            c.wait_ready(s, READY)?;
        }
        Ok((stopped, up))
    }
}

/// The first step of a bring-up as after `kubectl apply`: Redis pod 0
/// and every Sentinel pod are created at once (OrderedReady / Parallel),
/// and the Sentinels run first (the Redis image is still pulling): they
/// monitor pod 0 before it runs. Returns when every Sentinel is ready.
pub fn start_sentinels_first(c: &mut Cluster, t: &Topo) -> Result<()> {
    c.create(&t.redis[0])?;
    for s in &t.sentinels {
        c.create(s)?;
        c.start(s)?;
    }
    for s in &t.sentinels {
        c.wait_ready(s, READY)?;
    }
    Ok(())
}

/// Brings the topology of `render` up as after `kubectl apply`: every
/// Sentinel first (they monitor pod 0 before it runs), then the Redis pods
/// in order, each ready before the next; returns once every Sentinel
/// agrees on pod 0 with every replica healthy and pod 0 accepts writes.
pub fn bring_up(render: &Render) -> Result<(Cluster, Topo)> {
    bring_up_with(render, super::ClusterOptions::default())
}

/// [`bring_up`] with cluster options (e.g. [`super::ClusterOptions::images`]).
pub fn bring_up_with(render: &Render, opts: super::ClusterOptions) -> Result<(Cluster, Topo)> {
    let mut c = Cluster::new(render, opts)?;
    let t = Topo::new(render, &c)?;
    start_topology(&mut c, &t)?;
    Ok((c, t))
}

/// [`bring_up`] for a render of several instances (`<namespace>/<name>`
/// each): one cluster (one pod network, one DNS), a [`Topo`] per instance,
/// in the order given.
pub fn bring_up_instances(render: &Render, keys: &[&str]) -> Result<(Cluster, Vec<Topo>)> {
    let mut c = Cluster::new(render, super::ClusterOptions::default())?;
    let mut topos = Vec::new();
    for k in keys {
        let t = Topo::new(&render.instance(k), &c)?;
        start_topology(&mut c, &t)?;
        topos.push(t);
    }
    Ok((c, topos))
}

/// The steps of [`bring_up`] on a cluster that exists (one that runs two
/// renders starts each topology with this, its client set with
/// [`Cluster::set_client`]).
pub fn start_topology(c: &mut Cluster, t: &Topo) -> Result<()> {
    let start = Instant::now();
    start_sentinels_first(c, t)?;
    for r in &t.redis {
        c.start(r)?;
        c.wait_ready(r, READY)?;
    }
    let master = t.redis[0].clone();
    t.wait_sentinels_agree(c, &master, t.redis.len() - 1)?;
    wait_for("the master to accept a write", SETTLE, POLL, || {
        let r = seen(t.redis(c, &master, &["SET", "harness:up", "yes"]))?;
        if r.is("OK") { Ok(()) } else { Err(r.summary()) }
    })?;
    println!(
        "harness: {} {} Redis pods and {} Sentinels up in {}, master {master}",
        t.instance,
        t.redis.len(),
        t.sentinels.len(),
        secs(start.elapsed())
    );
    Ok(())
}
