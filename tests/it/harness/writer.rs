//! [`Writer`]: a client that writes continuously through Sentinel discovery,
//! each write `SET <prefix>:<n> v<n>` followed, once it answered `OK`, by
//! `WAIT 1 <ms>` on the same connection (as an application that checks each
//! reply; a refused write is not waited on), and [`Writes`]: what it saw, with the figures every
//! restart/rollout/rotation test reports.
//!
//! ```text
//! let w = Writer::start(&c, &render, &t, WriterOptions::new("day2"))?;
//! thread::sleep(Duration::from_secs(2));             // writes acknowledged
//! let event = Instant::now();
//! // ... the operation under test (pods restart, a rollout, ...)
//! let writes = w.stop()?;                            // or w.finish() (own end)
//! let lost = writes.lost(&c, &t, &t.current_master(&c)?)?;   // must be empty
//! println!("{}", writes.summary());
//! let outage = writes.longest_gap(event, writes.end);       // no acknowledged write
//! let back = writes.first_ack_after(event);                 // event -> first ack
//! ```
//!
//! A write counts as *acknowledged* when `SET` answered `OK` and `WAIT`
//! counted at least one replica: the guarantee a client of this topology
//! relies on. The writer asks the Sentinels for the master at its start and
//! again after every write that was not acknowledged (a short back-off
//! first, as a client's retry). It runs in its own thread and only spawns
//! `redis-cli` (never pods), so the test thread stays free to drive pods.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::client::{Client, Reply};
use super::cluster::Cluster;
use super::render::Render;
use super::secs;
use super::topo::{POLL, Topo, error_code, master_addr};

/// What one write got.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// SET answered OK and WAIT counted at least one replica.
    Acked,
    /// SET answered OK but no replica acknowledged within the WAIT timeout.
    Unacked,
    /// SET answered an error (NOREPLICAS, READONLY, ...): its code.
    Refused(String),
    /// No (complete) answer: unreachable, timed out, connection lost.
    NoAnswer,
}

/// One write of the [`Writer`].
#[derive(Debug, Clone)]
pub struct Write {
    /// The key is `<prefix>:<key>`, its value `v<key>`.
    pub key: usize,
    /// When it was sent.
    pub sent: Instant,
    /// When the answer (or its absence) was known.
    pub at: Instant,
    /// The master it was sent to (as the Sentinels named it).
    pub host: String,
    pub outcome: Outcome,
}

/// Settings of a [`Writer`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Keys are `<prefix>:<n>`.
    pub prefix: String,
    /// The `WAIT 1 <ms>` timeout.
    pub wait_ms: u64,
    /// The writer ends by itself after this long ...
    pub max_duration: Duration,
    /// ... or this many writes.
    pub max_writes: usize,
    /// Pause before asking the Sentinels again after a write that was not
    /// acknowledged.
    pub retry_pause: Duration,
}

impl WriterOptions {
    /// `WAIT 1 1000`, at most 10 minutes, no write limit, 50 ms back-off.
    pub fn new(prefix: &str) -> WriterOptions {
        WriterOptions {
            prefix: prefix.to_string(),
            wait_ms: 1_000,
            max_duration: Duration::from_secs(600),
            max_writes: usize::MAX,
            retry_pause: Duration::from_millis(50),
        }
    }
}

/// A running writer thread. Dropping it stops the thread (also on a
/// failing test).
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    next: Arc<Mutex<Option<Target>>>,
    thread: Option<JoinHandle<Vec<Write>>>,
    prefix: String,
    /// When the writer started.
    pub started: Instant,
}

/// Where a [`Writer`] writes: through Sentinel discovery, or to one
/// fixed master (a standalone Redis without Sentinels).
struct Target {
    client: Client,
    master_name: String,
    /// Empty: always `fixed`.
    sentinels: Vec<String>,
    fixed: Option<String>,
    redis_port: u16,
    sentinel_port: u16,
}

impl Target {
    fn of(c: &Cluster, render: &Render, t: &Topo, dir: &str) -> Result<Target> {
        Ok(Target {
            client: Client::from_render(render, &t.instance, &c.client().netns, &c.work.join(dir))?,
            master_name: t.master_name.clone(),
            sentinels: t.sentinels.iter().map(|s| t.fqdn(c, s)).collect(),
            fixed: None,
            redis_port: t.redis_port,
            sentinel_port: t.sentinel_port,
        })
    }
}

/// Where a writer writes when no render describes the deployment (one a
/// test lays out by hand, as a Helm chart does): [`Writer::start_on`].
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Through Sentinel discovery: the Sentinels' host names and port,
    /// the master group they monitor, the Redis port.
    Sentinels {
        master_name: String,
        sentinels: Vec<String>,
        sentinel_port: u16,
        redis_port: u16,
    },
    /// Always one master (a standalone Redis).
    Fixed { host: String, port: u16 },
}

impl Target {
    fn at(client: Client, endpoint: Endpoint) -> Target {
        match endpoint {
            Endpoint::Sentinels {
                master_name,
                sentinels,
                sentinel_port,
                redis_port,
            } => Target {
                client,
                master_name,
                sentinels,
                fixed: None,
                redis_port,
                sentinel_port,
            },
            Endpoint::Fixed { host, port } => Target {
                client,
                master_name: String::new(),
                sentinels: Vec::new(),
                fixed: Some(host),
                redis_port: port,
                sentinel_port: 0,
            },
        }
    }
}

struct Worker {
    target: Target,
    /// A target to move to (an application re-reading its Secrets).
    next: Arc<Mutex<Option<Target>>>,
    opts: WriterOptions,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
}

impl Worker {
    fn classify(r: &Result<Reply>) -> Outcome {
        let Ok(r) = r else {
            return Outcome::NoAnswer;
        };
        match r.lines()[..] {
            ["OK", n] if n.parse::<u32>().is_ok_and(|n| n >= 1) => Outcome::Acked,
            ["OK", n] if n.parse::<u32>().is_ok() => Outcome::Unacked,
            [first, ..] if r.success => match error_code(first) {
                Some(code) => Outcome::Refused(code.to_string()),
                None => Outcome::NoAnswer,
            },
            _ => Outcome::NoAnswer,
        }
    }

    /// The master the first answering Sentinel names.
    fn discover(&self) -> Option<String> {
        let t = &self.target;
        if let Some(h) = &t.fixed {
            return Some(h.clone());
        }
        t.sentinels
            .iter()
            .find_map(|s| master_addr(&t.client, &t.master_name, s, t.sentinel_port).ok())
    }

    fn run(mut self) -> Vec<Write> {
        let start = Instant::now();
        let o = &self.opts;
        let mut writes = Vec::new();
        let mut master: Option<String> = None;
        while start.elapsed() < o.max_duration
            && writes.len() < o.max_writes
            && !self.stop.load(Ordering::Relaxed)
        {
            if let Some(t) = self.next.lock().ok().and_then(|mut n| n.take()) {
                self.target = t;
                master = None;
            }
            let Some(host) = master.take().or_else(|| self.discover()) else {
                thread::sleep(POLL);
                continue;
            };
            let key = writes.len();
            let sent = Instant::now();
            let r = self.target.client.redis_set_then_wait(
                &host,
                self.target.redis_port,
                &format!("SET {}:{key} v{key}", o.prefix),
                &format!("WAIT 1 {}", o.wait_ms),
            );
            let outcome = Self::classify(&r);
            if outcome == Outcome::Acked {
                self.acked.fetch_add(1, Ordering::Relaxed);
                master = Some(host.clone());
            } else {
                thread::sleep(o.retry_pause);
            }
            writes.push(Write {
                key,
                sent,
                at: Instant::now(),
                host,
                outcome,
            });
        }
        writes
    }
}

impl Writer {
    /// Starts writing to the topology `t` of `c` from the client namespace,
    /// with the render's client certificate and application credentials.
    pub fn start(c: &Cluster, render: &Render, t: &Topo, opts: WriterOptions) -> Result<Writer> {
        let target = Target::of(c, render, t, &format!("writer-{}", opts.prefix))?;
        Ok(Writer::spawn(target, opts))
    }

    /// Like [`Writer::start`], always to the Redis pod `pod` of `t` (a
    /// standalone master: no Sentinel to ask).
    pub fn start_fixed(
        c: &Cluster,
        render: &Render,
        t: &Topo,
        pod: &str,
        opts: WriterOptions,
    ) -> Result<Writer> {
        let mut target = Target::of(c, render, t, &format!("writer-{}", opts.prefix))?;
        target.fixed = Some(t.fqdn(c, pod));
        Ok(Writer::spawn(target, opts))
    }

    /// Starts writing to `endpoint` with `client` (its TLS material and
    /// credentials): a deployment no render describes.
    pub fn start_on(client: Client, endpoint: Endpoint, opts: WriterOptions) -> Writer {
        Writer::spawn(Target::at(client, endpoint), opts)
    }

    fn spawn(target: Target, opts: WriterOptions) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        let next = Arc::new(Mutex::new(None));
        let prefix = opts.prefix.clone();
        let worker = Worker {
            target,
            next: next.clone(),
            opts,
            stop: stop.clone(),
            acked: acked.clone(),
        };
        Writer {
            stop,
            acked,
            next,
            thread: Some(thread::spawn(move || worker.run())),
            prefix,
            started: Instant::now(),
        }
    }

    /// Moves the writer to the topology `t` of `render` (through its
    /// Sentinels, with its client certificate and credentials), as an
    /// application does that re-reads its Secrets; takes effect before
    /// the next write.
    pub fn switch_to(&self, c: &Cluster, render: &Render, t: &Topo) -> Result<()> {
        let target = Target::of(
            c,
            render,
            t,
            &format!("writer-{}-{}", self.prefix, t.instance),
        )?;
        *self
            .next
            .lock()
            .map_err(|_| anyhow!("the writer's lock is poisoned"))? = Some(target);
        Ok(())
    }

    /// Acknowledged writes so far (while it runs).
    pub fn acked_so_far(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits (bounded) until `n` writes were acknowledged: writes flow.
    pub fn wait_acked(&self, n: usize, timeout: Duration) -> Result<()> {
        super::wait_for("the writer's acknowledged writes", timeout, POLL, || {
            let got = self.acked_so_far();
            if got >= n {
                Ok(())
            } else {
                Err(format!("{got} acknowledged"))
            }
        })?;
        Ok(())
    }

    /// Stops the writer now and returns what it saw.
    pub fn stop(mut self) -> Result<Writes> {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits until the writer ends by itself (duration or count).
    pub fn finish(mut self) -> Result<Writes> {
        self.join()
    }

    fn join(&mut self) -> Result<Writes> {
        let list = self
            .thread
            .take()
            .ok_or_else(|| anyhow!("the writer was already joined"))?
            .join()
            .map_err(|_| anyhow!("the writer thread panicked"))?;
        Ok(Writes {
            prefix: self.prefix.clone(),
            start: self.started,
            end: Instant::now(),
            list,
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Everything a [`Writer`] saw, and the figures made from it.
pub struct Writes {
    pub prefix: String,
    /// When the writer started and when it was joined.
    pub start: Instant,
    pub end: Instant,
    pub list: Vec<Write>,
}

impl Writes {
    /// Keys of the acknowledged writes.
    pub fn acked(&self) -> Vec<usize> {
        self.list
            .iter()
            .filter(|w| w.outcome == Outcome::Acked)
            .map(|w| w.key)
            .collect()
    }

    /// How many writes got `outcome`.
    pub fn count(&self, outcome: &Outcome) -> usize {
        self.list.iter().filter(|w| &w.outcome == outcome).count()
    }

    /// Refused writes by error code.
    pub fn refused(&self) -> BTreeMap<String, usize> {
        let mut refused = BTreeMap::new();
        for w in &self.list {
            if let Outcome::Refused(code) = &w.outcome {
                *refused.entry(code.clone()).or_default() += 1;
            }
        }
        refused
    }

    /// Acknowledged writes answered before `t`.
    pub fn acked_before(&self, t: Instant) -> usize {
        self.list
            .iter()
            .filter(|w| w.outcome == Outcome::Acked && w.at < t)
            .count()
    }

    /// Time from `t` to the first write sent after `t` and acknowledged.
    pub fn first_ack_after(&self, t: Instant) -> Option<Duration> {
        self.list
            .iter()
            .find(|w| w.outcome == Outcome::Acked && w.sent >= t)
            .map(|w| w.at - t)
    }

    /// Like [`Writes::first_ack_after`], on master `host` only.
    pub fn first_ack_after_on(&self, t: Instant, host: &str) -> Option<Duration> {
        self.list
            .iter()
            .find(|w| w.outcome == Outcome::Acked && w.sent >= t && w.host == host)
            .map(|w| w.at - t)
    }

    /// Writes acknowledged by `host` and answered in `[from, to)`.
    pub fn acked_on_between(&self, host: &str, from: Instant, to: Instant) -> usize {
        self.list
            .iter()
            .filter(|w| w.outcome == Outcome::Acked && w.host == host && w.at >= from && w.at < to)
            .count()
    }

    /// Answer times of the acknowledged writes, with `from` and `to` as
    /// bounds, within `[from, to]`.
    fn ack_times(&self, from: Instant, to: Instant) -> Vec<Instant> {
        let mut v = vec![from];
        v.extend(
            self.list
                .iter()
                .filter(|w| w.outcome == Outcome::Acked && w.at > from && w.at < to)
                .map(|w| w.at),
        );
        v.push(to);
        v
    }

    /// The write outage in `[from, to]`: the longest time without an
    /// acknowledged write (the window's bounds count as acknowledgements,
    /// so start the window where writes were flowing).
    pub fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        self.ack_times(from, to)
            .windows(2)
            .map(|p| p[1] - p[0])
            .max()
            .unwrap_or_default()
    }

    /// Every stretch in `[from, to]` longer than `over` without an
    /// acknowledged write: (when it began, how long it lasted).
    pub fn gaps_over(
        &self,
        from: Instant,
        to: Instant,
        over: Duration,
    ) -> Vec<(Instant, Duration)> {
        self.ack_times(from, to)
            .windows(2)
            .filter(|p| p[1] - p[0] > over)
            .map(|p| (p[0], p[1] - p[0]))
            .collect()
    }

    /// Acknowledged writes missing on `pod` (normally the final master):
    /// acknowledged writes lost. Must be empty.
    pub fn lost(&self, c: &Cluster, t: &Topo, pod: &str) -> Result<Vec<usize>> {
        t.missing_keys(c, pod, &self.acked(), &self.prefix)
    }

    /// Fails when `lost` (from [`Writes::lost`] on `pod`) is not empty,
    /// naming the first 20 lost writes.
    pub fn ensure_none_lost(operation: &str, pod: &str, lost: &[usize]) -> Result<()> {
        anyhow::ensure!(
            lost.is_empty(),
            "{operation}: {} acknowledged writes lost on {pod}: {:?}",
            lost.len(),
            &lost[..lost.len().min(20)]
        );
        Ok(())
    }

    /// One line: attempted, acknowledged, unacknowledged, refused, no answer.
    pub fn summary(&self) -> String {
        format!(
            "{} writes over {}: {} acknowledged, {} not acknowledged by a replica, {} refused {:?}, {} without answer",
            self.list.len(),
            secs(self.end - self.start),
            self.count(&Outcome::Acked),
            self.count(&Outcome::Unacked),
            self.refused().values().sum::<usize>(),
            self.refused(),
            self.count(&Outcome::NoAnswer)
        )
    }
}
