//! [`Rollout`]: takes a running [`Cluster`] from one render to another as
//! Kubernetes does after `kubectl apply`.
//!
//! ```text
//! let a = Render::spec_with_seed(&spec_a, Some(SEED))?;
//! let b = Render::spec_with_seed(&spec_b, Some(SEED))?;   // same keys
//! let (mut c, t) = bring_up(&a)?;
//! let report = Rollout::apply(&mut c, &b)?;                // returns when done
//! println!("{}", report.summary());
//! for p in report.replaced() { /* p.begun, p.pre_stop, p.terminated, p.ready */ }
//! ```
//!
//! What [`Rollout::apply`] does, in order:
//! 1. **kubelet syncs mounted objects.** Every existing pod gets the new
//!    ConfigMap/Secret files through the atomic `..data` switch
//!    ([`Cluster::sync_volumes`]); its template does not change. So a
//!    preStop hook that runs a mounted script runs the new one, as on a
//!    real node once kubelet synced (it may lag there by up to a minute).
//! 2. **The StatefulSet controller** works on each StatefulSet whose
//!    replica count or pod template changed; both StatefulSets progress at
//!    the same time (one interleaved loop in the calling thread, since pods
//!    must be spawned from the test's own thread). Per StatefulSet:
//!    - scale up: the new ordinals are created with the new template,
//!      lowest first; `OrderedReady` waits for each to be Ready before
//!      the next, `Parallel` creates them together;
//!    - scale down: the highest ordinals are deleted, highest first, one
//!      at a time for `OrderedReady`, together for `Parallel`;
//!    - RollingUpdate: every remaining pod whose template differs from
//!      the new one (the rendered `spec.template`: config-hash annotation,
//!      container spec, ...) is replaced, highest ordinal first, one at a
//!      time, the next only once the previous one is Ready.
//! 3. **Pod termination** (replace or delete): the pod's own preStop hook
//!    (`lifecycle.preStop.exec`) runs in the pod; SIGTERM when it returns
//!    or when `terminationGracePeriodSeconds` (from the beginning of the
//!    termination) is over; SIGKILL at the end of the grace period (at
//!    least 2 s after SIGTERM, kubelet's extension for a hook that used
//!    the whole period). The pod is then deleted (DNS record and emptyDirs
//!    go, volume claims stay) and, when replaced, recreated from the new
//!    template with a new address and waited for with its readiness probe.
//!
//! Failures (a container that exits while starting, a pod not Ready in
//! [`RolloutOptions::ready_timeout`]) end the rollout with an error naming
//! the pod and its log. Cleanup stays with the [`Cluster`].

use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::cluster::Cluster;
use super::render::{Render, Workload};
use super::{secs, signal_group};

/// Settings of a rollout.
#[derive(Debug, Clone)]
pub struct RolloutOptions {
    /// How long a created pod may take to become Ready.
    pub ready_timeout: Duration,
    /// Recreated pods get a new address (as on a real cluster).
    pub new_address: bool,
    /// How often the loop looks at pods (and runs readiness probes).
    pub tick: Duration,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            ready_timeout: Duration::from_secs(180),
            new_address: true,
            tick: Duration::from_millis(200),
        }
    }
}

/// What happened to a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Scale up: created from the new template.
    Create,
    /// RollingUpdate: terminated and recreated from the new template.
    Replace,
    /// Scale down: terminated and deleted.
    Delete,
}

/// One pod of a rollout, with its timings.
#[derive(Debug, Clone)]
pub struct PodEvent {
    pub pod: String,
    pub statefulset: String,
    pub action: Action,
    /// When the controller began with this pod.
    pub begun: Instant,
    /// How long the preStop hook ran and whether it succeeded (`None`:
    /// no hook, or a created pod).
    pub pre_stop: Option<(Duration, bool)>,
    /// From the beginning of the termination to the container's exit.
    pub terminated: Option<Duration>,
    /// The container had to be SIGKILLed at the end of the grace period.
    pub killed: bool,
    /// From the (re)start to the first passing readiness probe.
    pub ready: Option<Duration>,
    /// When this pod was done.
    pub done: Instant,
}

/// What a rollout did.
#[derive(Debug, Clone)]
pub struct RolloutReport {
    pub started: Instant,
    pub finished: Instant,
    /// StatefulSets that had work to do.
    pub statefulsets: Vec<String>,
    /// Every pod, in the order they were finished.
    pub pods: Vec<PodEvent>,
}

impl RolloutReport {
    /// The pods that were replaced (RollingUpdate).
    pub fn replaced(&self) -> impl Iterator<Item = &PodEvent> {
        self.pods.iter().filter(|p| p.action == Action::Replace)
    }

    /// The event of `pod` (the last one when it had several).
    pub fn event(&self, pod: &str) -> Option<&PodEvent> {
        self.pods.iter().rev().find(|p| p.pod == pod)
    }

    /// One line per pod.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "rollout of {:?} in {}:",
            self.statefulsets,
            secs(self.finished - self.started)
        );
        for p in &self.pods {
            s.push_str(&format!(
                "\n  {:?} {} at +{}: preStop {} terminated {}{} ready {}",
                p.action,
                p.pod,
                secs(p.begun - self.started),
                p.pre_stop.map_or("-".to_string(), |(d, ok)| format!(
                    "{}{}",
                    secs(d),
                    if ok { "" } else { " (failed)" }
                )),
                p.terminated.map_or("-".to_string(), secs),
                if p.killed { " (SIGKILL)" } else { "" },
                p.ready.map_or("-".to_string(), secs),
            ));
        }
        s
    }
}

enum State {
    Pending,
    PreStop(Child, Instant),
    Terminating { kill_at: Instant },
    Starting(Instant),
    Done,
}

/// One pod operation of the controller.
struct Op {
    ev: PodEvent,
    /// The template it is (re)created from (`None`: deleted).
    new: Option<Workload>,
    ordinal: u32,
    grace_end: Instant,
    state: State,
}

/// The StatefulSet controller for one StatefulSet: phases of pod
/// operations; the operations of a phase run together, a phase begins
/// when the one before it is done.
struct Controller {
    phases: Vec<Vec<Op>>,
}

/// Takes a [`Cluster`] from its current render to another.
pub struct Rollout;

impl Rollout {
    /// `kubectl apply` of `to` on `c`, with default [`RolloutOptions`].
    /// Returns when every StatefulSet has rolled (every pod Ready).
    pub fn apply(c: &mut Cluster, to: &Render) -> Result<RolloutReport> {
        Rollout::apply_with(c, to, &RolloutOptions::default())
    }

    /// [`Rollout::apply`] with options.
    pub fn apply_with(
        c: &mut Cluster,
        to: &Render,
        opts: &RolloutOptions,
    ) -> Result<RolloutReport> {
        let started = Instant::now();
        // 1. kubelet: new ConfigMap/Secret content under running pods.
        for p in c.pods.iter().map(|p| p.name.clone()).collect::<Vec<_>>() {
            let pod = c.pod(&p);
            if pod.exists() {
                let w = pod.workload.with_data_from(to)?;
                c.sync_volumes(&p, w)?;
            }
        }
        // 2. the controller, per StatefulSet.
        let mut controllers = Vec::new();
        let mut statefulsets = Vec::new();
        for w in to.workloads()? {
            let ctl = Controller::plan(c, &w, started);
            if !ctl.phases.is_empty() {
                statefulsets.push(w.name.clone());
                controllers.push(ctl);
            }
        }
        let mut pods = Vec::new();
        while controllers.iter().any(|k| !k.phases.is_empty()) {
            for k in &mut controllers {
                if let Some(phase) = k.phases.first_mut() {
                    for op in phase.iter_mut() {
                        op.tick(c, opts)?;
                    }
                    if phase.iter().all(|o| matches!(o.state, State::Done)) {
                        pods.extend(k.phases.remove(0).into_iter().map(|o| o.ev));
                    }
                }
            }
            thread::sleep(opts.tick);
        }
        Ok(RolloutReport {
            started,
            finished: Instant::now(),
            statefulsets,
            pods,
        })
    }
}

impl Controller {
    fn plan(c: &Cluster, w: &Workload, now: Instant) -> Controller {
        let existing: Vec<u32> = (0..)
            .map_while(|i| {
                let name = w.pod_name(i);
                c.pods
                    .iter()
                    .any(|p| p.name == name && p.exists())
                    .then_some(i)
            })
            .collect();
        let current = existing.len() as u32;
        let op = |i: u32, action: Action, new: Option<Workload>| Op {
            ev: PodEvent {
                pod: w.pod_name(i),
                statefulset: w.name.clone(),
                action,
                begun: now,
                pre_stop: None,
                terminated: None,
                killed: false,
                ready: None,
                done: now,
            },
            new,
            ordinal: i,
            grace_end: now,
            state: State::Pending,
        };
        let mut phases: Vec<Vec<Op>> = Vec::new();
        let mut group = |ops: Vec<Op>, together: bool| {
            if together {
                if !ops.is_empty() {
                    phases.push(ops);
                }
            } else {
                phases.extend(ops.into_iter().map(|o| vec![o]));
            }
        };
        let parallel = !w.ordered_ready;
        group(
            (current..w.replicas)
                .map(|i| op(i, Action::Create, Some(w.clone())))
                .collect(),
            parallel,
        );
        group(
            (w.replicas..current)
                .rev()
                .map(|i| op(i, Action::Delete, None))
                .collect(),
            parallel,
        );
        group(
            (0..current.min(w.replicas))
                .rev()
                .filter(|i| c.pod(&w.pod_name(*i)).workload.template() != w.template())
                .map(|i| op(i, Action::Replace, Some(w.clone())))
                .collect(),
            false,
        );
        Controller { phases }
    }
}

impl Op {
    fn tick(&mut self, c: &mut Cluster, opts: &RolloutOptions) -> Result<()> {
        let name = self.ev.pod.clone();
        let now = Instant::now();
        match &mut self.state {
            State::Pending => {
                self.ev.begun = now;
                if self.ev.action == Action::Create {
                    let w = self.new.as_ref().expect("a created pod has a template");
                    c.add_pod(w, self.ordinal)?;
                    self.start(c)?;
                    return Ok(());
                }
                let old = c.pod(&name).workload.clone();
                self.grace_end = now + old.termination_grace;
                match (&old.pre_stop, c.running(&name)?) {
                    (Some(hook), true) => {
                        let argv: Vec<&str> = hook.iter().map(String::as_str).collect();
                        let child = c.exec_spawn(&name, "preStop hook", &argv)?;
                        self.state = State::PreStop(child, now);
                    }
                    _ => self.terminate(c, now)?,
                }
            }
            State::PreStop(child, since) => {
                let exited = child.try_wait()?;
                if exited.is_none() && now < self.grace_end {
                    return Ok(());
                }
                if exited.is_none() {
                    signal_group(child.id(), "KILL");
                    let _ = child.kill();
                    let _ = child.wait();
                }
                self.ev.pre_stop = Some((now - *since, exited.is_some_and(|s| s.success())));
                self.terminate(c, now)?;
            }
            State::Terminating { kill_at } => {
                let kill_at = *kill_at;
                let alive = c.running(&name)?;
                if alive && now < kill_at {
                    return Ok(());
                }
                if alive {
                    self.ev.killed = true;
                    c.kill(&name)?;
                }
                // Stops what is left (SIGKILL), removes DNS record and emptyDirs.
                c.delete(&name)?;
                self.ev.terminated = Some(now - self.ev.begun);
                match self.new.clone() {
                    Some(w) => {
                        c.set_workload(&name, w)?;
                        if opts.new_address {
                            let ip = c.fresh_ip()?;
                            c.set_ip(&name, ip)?;
                        }
                        self.start(c)?;
                    }
                    None => {
                        self.ev.done = Instant::now();
                        self.state = State::Done;
                    }
                }
            }
            State::Starting(since) => {
                let since = *since;
                if !c.running(&name)? {
                    bail!(
                        "rollout: pod {name} exited while starting; log:\n{}",
                        c.log_tail(&name, 40)
                    );
                }
                if c.probe(&name)? {
                    self.ev.ready = Some(now - since);
                    self.ev.done = Instant::now();
                    self.state = State::Done;
                } else if now - since > opts.ready_timeout {
                    bail!(
                        "rollout: pod {name} not ready after {}; log:\n{}",
                        secs(opts.ready_timeout),
                        c.log_tail(&name, 40)
                    );
                }
            }
            State::Done => {}
        }
        Ok(())
    }

    /// SIGTERM now; SIGKILL at the end of the grace period (at least 2 s
    /// after SIGTERM).
    fn terminate(&mut self, c: &mut Cluster, now: Instant) -> Result<()> {
        c.term(&self.ev.pod)?;
        self.state = State::Terminating {
            kill_at: self.grace_end.max(now + Duration::from_secs(2)),
        };
        Ok(())
    }

    fn start(&mut self, c: &mut Cluster) -> Result<()> {
        c.start(&self.ev.pod)?;
        self.state = State::Starting(Instant::now());
        Ok(())
    }
}
