//! End-to-end harness: runs a rendered topology on real `redis-server` /
//! `redis-sentinel` processes, one network namespace per pod.
//!
//! What a test gets:
//! - [`Render`]: the function's output, parsed; ConfigMap/Secret data and the
//!   StatefulSets' pod templates ([`Workload`]) exactly as written
//!   ([`Render::spec_as_written`] keeps a document's spec's image too).
//! - [`Cluster`]: a tiny emulated Kubernetes node. Every pod of every
//!   StatefulSet gets its own network namespace (a veth into a private bridge,
//!   an address from 10.213.0.0/24 that exists only inside namespaces the
//!   harness made), its own `/etc/hosts` (the cluster DNS: every existing
//!   pod's `<pod>.<headless>.<ns>.svc.<domain>`), and its own private mount
//!   namespace in which the volumes of the pod template are bind-mounted onto
//!   the real pod paths (ConfigMap and Secret files with their `defaultMode`,
//!   emptyDirs, a read-only root file system). The container command runs as
//!   the pod's user with the pod's environment. Every container of the pod
//!   template runs: sidecars (e.g. the metrics exporter) share the pod's
//!   network namespace and volumes, each in its own mount and UTS namespace
//!   with its own command, arguments, environment, mounts and user; image
//!   binaries run as their host stand-ins ([`ClusterOptions::binaries`]:
//!   `/redis_exporter` is Debian's `prometheus-redis-exporter`). Killing or
//!   stopping a pod's main container leaves its sidecars running (kubelet
//!   restarts one container); [`Cluster::delete`] and teardown end them.
//!   [`Cluster::http_get`] fetches a URL inside a pod's network namespace.
//!   Controls for later tests:
//!   [`Cluster::start`], [`Cluster::stop`], [`Cluster::kill`],
//!   [`Cluster::delete`] (the pod goes away: DNS record and emptyDirs),
//!   [`Cluster::set_ip`] (new address, every hosts file updated),
//!   [`Cluster::add_service`] (a ClusterIP Service in front of one pod: a
//!   DNS record for an address of its own, redis-ha's announce Services),
//!   [`Cluster::cut`] / [`Cluster::heal`] (the pod's link leaves / rejoins
//!   the bridge: silent packet loss both ways), [`Cluster::exec`] (like
//!   `kubectl exec`), [`Cluster::probe`] (the rendered readiness probe).
//! - [`Client`]: `redis-cli` from a client namespace (a client pod), with the
//!   generated client certificate and, when the render has an auth Secret,
//!   its passwords in `REDISCLI_AUTH`.
//! - [`Topo`] (`topo.rs`): names, ports and Sentinel settings of the running
//!   topology and the queries suites share (who is master, do the
//!   Sentinels agree, [`Topo::wait_new_master`], [`Topo::missing_keys`]);
//!   [`bring_up`] starts a whole render as after `kubectl apply`.
//! - [`Writer`] (`writer.rs`): a client writing continuously through
//!   Sentinel with `SET` + `WAIT 1 1000`; its [`Writes`] give attempted /
//!   acknowledged / refused counts, the write outage
//!   ([`Writes::longest_gap`], [`Writes::first_ack_after`]) and the
//!   acknowledged writes lost ([`Writes::lost`]). [`Writer::start_fixed`]
//!   writes to one master without Sentinels (a standalone Redis);
//!   [`Writer::switch_to`] moves a running writer to another topology (an
//!   application that re-reads its Secrets: a migration's cut-over);
//!   [`Writer::start_on`] writes to a deployment no render describes (one
//!   a test lays out as a Helm chart does).
//! - [`ConnectionWatch`] (`conn_watch.rs`): nftables in pods' network
//!   namespaces record every address that opens a TCP connection to them
//!   (proof that one deployment never contacts another).
//! - Two renders in one cluster (a migration's old and new deployments):
//!   build the [`Cluster`] from both renders' items, one [`Topo`] per
//!   render, [`start_topology`] for each, [`Cluster::set_client`] to talk to
//!   each with its own certificate and credentials (`tests/it/migration.rs`).
//! - [`Rollout`] (`rollout.rs`): `kubectl apply` of another render on a
//!   running cluster: kubelet's atomic update of mounted ConfigMaps and
//!   Secrets, then the StatefulSet controller (scale up/down, RollingUpdate
//!   from the highest ordinal, preStop and terminationGracePeriodSeconds
//!   honoured, both StatefulSets at once); [`Rollout::apply`] returns a
//!   [`RolloutReport`] with every pod's timings.
//! - [`served`] (`served.rs`): the serial a pod serves (`openssl s_client`,
//!   verified), [`kubelet_sync`] (a Secret change reaching running pods
//!   without a roll) and [`server_reloads`] (the server under test reloads
//!   its certificate files itself).
//!
//! Everything the harness starts is ended by PID when the [`Cluster`] is
//! dropped (also on panic), and every namespace and hosts file it made is
//! removed. Pod processes also carry a parent-death signal, so they die with
//! the test thread that spawned them even if the test binary is killed: spawn
//! pods from the test's own thread only.
//!
//! A partition test builds on the same pieces, e.g.:
//!
//! ```text
//! let render = Render::spec(Path::new("tests/fixtures/e2e-topology.yaml"))?;
//! let mut c = Cluster::new(&render, ClusterOptions::default())?;
//! // ... bring the pods up as tests/it/e2e_topology.rs does ...
//! c.cut("cache-redis-0")?;               // master isolated: silent loss
//! // ... Sentinels fail over; the old master must stop taking writes
//! //     (min-replicas-to-write) ...
//! c.heal("cache-redis-0")?;              // it must rejoin as a replica
//! c.delete("cache-redis-1")?;            // pod gone: DNS record, emptyDirs
//! let ip = c.fresh_ip()?;
//! c.set_ip("cache-redis-1", ip)?;        // returns elsewhere; hosts follow
//! c.start("cache-redis-1")?;
//! c.wait_ready("cache-redis-1", Duration::from_secs(60))?;
//! ```
//!
//! The harness needs root, `ip netns`, util-linux (`unshare`, `nsenter`,
//! `setpriv`, `mount`) and the Redis binaries; [`require_environment`] says
//! which is missing. Nothing is skipped silently.

// Not every test binary uses every helper.
#![allow(dead_code)]

pub mod cli;
mod client;
mod cluster;
mod conn_watch;
mod consumer;
mod doc_blocks;
mod issuer;
pub mod metrics;
mod render;
mod rollout;
mod served;
mod server;
mod standalone;
pub mod static_build;
mod topo;
mod writer;

#[allow(unused_imports)]
pub use client::{Client, Credentials, Reply, Tls, TlsFiles};
#[allow(unused_imports)]
pub use cluster::{Cluster, ClusterOptions, Pod};
#[allow(unused_imports)]
pub use conn_watch::ConnectionWatch;
#[allow(unused_imports)]
pub use consumer::{
    Background, ClientWriter, Drivers, WriterResult, check_threescale_rules, extract_code_blocks,
    mount_secret, mount_threescale, python_with_redis, ruby_with_redis, threescale_env,
};
#[allow(unused_imports)]
pub use doc_blocks::{BlockKind, ShellBlock, as_checked_script, shell_blocks};
#[allow(unused_imports)]
pub use issuer::{KeyType, Leaf, TestCa};
#[allow(unused_imports)]
pub use render::{Mount, MountSource, Render, Workload, strings};
#[allow(unused_imports)]
pub use rollout::{Action, PodEvent, Rollout, RolloutOptions, RolloutReport};
#[allow(unused_imports)]
pub use served::{SERVER_RELOADED, Served, kubelet_sync, serial_of, served, server_reloads};
#[allow(unused_imports)]
pub use server::{SERVER_ENV, Server, VALKEY_NAMES_ENV, cache_dir};
#[allow(unused_imports)]
pub use standalone::Standalone;
#[allow(unused_imports)]
pub use topo::{
    FAILOVER_EVENTS, Map, POLL, READY, SETTLE, Seen, Topo, bring_up, bring_up_instances,
    bring_up_with, error_code, expect_decision, get, log_since, master_addr, replica_records, seen,
    sentinel_master_state, start_sentinels_first, start_topology,
};
#[allow(unused_imports)]
pub use writer::{Endpoint, Outcome, Write, Writer, WriterOptions, Writes};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Commands the harness runs on the host.
pub const REQUIRED_COMMANDS: &[&str] = &[
    "redis-server",
    "redis-sentinel",
    "redis-cli",
    "ip",
    "ss",
    "unshare",
    "nsenter",
    "setpriv",
    "mount",
    "kill",
    "openssl",
    "timeout",
    "getent",
    "sha1sum",
    "hostname",
    "readlink",
];

/// Fails with a clear message when this machine cannot run the end-to-end
/// tests (they must fail, never pass silently, where they cannot run).
pub fn require_environment() -> Result<()> {
    let hint = "install the packages with `.ci/install.d/10-base.sh` and `.ci/install.d/20-e2e.sh` and run the tests as root (CI does both)";
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        bail!(
            "the end-to-end tests need root (network namespaces, mounts); running as uid {euid}; {hint}"
        );
    }
    let missing: Vec<&str> = REQUIRED_COMMANDS
        .iter()
        .copied()
        .filter(|c| which(c).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "commands missing for the end-to-end tests: {}; {hint}",
            missing.join(", ")
        );
    }
    // Namespaces must really work (a container without CAP_SYS_ADMIN cannot).
    let probe = format!("e2e-{}-probe", std::process::id());
    let add = run(
        Command::new("ip").args(["netns", "add", &probe]),
        Duration::from_secs(10),
    )?;
    if !add.status.success() {
        bail!(
            "`ip netns add` fails here ({}); the end-to-end tests need network namespaces; {hint}",
            String::from_utf8_lossy(&add.stderr).trim()
        );
    }
    let exec = run(
        Command::new("ip").args([
            "netns", "exec", &probe, "mount", "-t", "tmpfs", "tmpfs", "/mnt",
        ]),
        Duration::from_secs(10),
    );
    let _ = run(
        Command::new("ip").args(["netns", "del", &probe]),
        Duration::from_secs(10),
    );
    let exec = exec?;
    if !exec.status.success() {
        bail!(
            "mounting in a private mount namespace fails here ({}); {hint}",
            String::from_utf8_lossy(&exec.stderr).trim()
        );
    }
    Ok(())
}

/// The full path of a command on PATH.
pub fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// Runs a command to completion, killed (with its process group) after
/// `timeout`. Standard input is closed; output is captured.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    run_with_input(cmd, None, timeout)
}

/// Like [`run`], writing `input` to the command's standard input.
pub fn run_with_input(
    cmd: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().with_context(|| format!("spawning {desc}"))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_in = match (input, child.stdin.take()) {
        (Some(data), Some(mut stdin)) => {
            let data = data.to_vec();
            Some(thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&data);
            }))
        }
        _ => None,
    };
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            signal_group(child.id(), "KILL");
            let _ = child.kill();
            let _ = child.wait();
            // Leftover grandchildren may hold the pipes; do not wait for them.
            bail!("timed out after {timeout:?}: {desc}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    if let Some(t) = t_in {
        let _ = t.join();
    }
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs a command that must succeed; returns its standard output.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<String> {
    let desc = format!("{cmd:?}");
    let out = run(cmd, timeout)?;
    if !out.status.success() {
        bail!(
            "{desc} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sends `sig` to one process (by PID) with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends `sig` to the process group `pgid` (one the harness created).
pub fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Polls `check` every `interval` until it returns `Ok`, at most `timeout`.
/// `Err(state)` says what was seen last; it ends up in the timeout error.
/// Returns the value and the time it took.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> std::result::Result<T, String>,
) -> Result<(T, Duration)> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok((v, start.elapsed())),
            Err(last) => {
                if start.elapsed() >= timeout {
                    bail!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        thread::sleep(interval);
    }
}

/// Directory for the harness' files (pod volumes, logs, client certificates).
pub fn scratch_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e")
}

/// A path under the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Seconds since the Unix epoch, as clients outside the harness stamp
/// their writes.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Seconds with millisecond precision, for printed figures.
pub fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
