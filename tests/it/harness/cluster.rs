//! Pods as processes in their own network, UTS and mount namespaces.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};

use super::client::Client;
use super::render::{EnvValue, MountSource, Render, Workload};
use super::server::Server;
use super::{require_environment, run, run_ok, scratch_root, signal, wait_for};

/// The pods' PATH before the server's directory ([`Server::path`]).
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Prefix of every namespace, hosts directory and scratch directory the
/// harness makes: `e2e-<pid>-<n>-...`.
const PREFIX: &str = "e2e-";
const BRIDGE: &str = "br0";
const NETNS_RUN: &str = "/run/netns";
const NETNS_ETC: &str = "/etc/netns";
const CMD_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Begins the line the harness writes to a pod's log at each start.
const START_MARK: &str = "==== e2e harness: start #";

/// Runs as `sh -c PRELUDE pod-prelude HOSTNAME WORKDIR OPS... -- CMD...`
/// right after `ip netns exec NS unshare --uts`: sets the hostname, builds
/// the pod's mounts in the private mount namespace `ip netns exec` made,
/// then execs CMD (setpriv ... -- the container command).
const PRELUDE: &str = r#"set -eu
host=$1; wd=$2; shift 2
# Mounts below must never reach the host: refuse unless the mount
# namespace is private (ip netns exec unshares it).
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/$PPID/ns/mnt)" ]; then
    echo "pod-prelude: not in a private mount namespace; refusing to mount" >&2; exit 97
fi
hostname "$host"
while [ "$#" -gt 0 ]; do
    op=$1; shift
    case "$op" in
        --) break ;;
        tmpfs) mkdir -p "$1"; mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev e2e-pod "$1"; shift ;;
        mkdir) mkdir -p "$1"; shift ;;
        bind) mount --bind "$1" "$2"
              if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
              shift 3 ;;
        ro) mount -o remount,ro "$1"; shift ;;
        hide) mount --bind "$1" "$2"; shift 2 ;;
        roroot) mount -o remount,bind,ro / ;;
        *) echo "pod-prelude: unknown op $op" >&2; exit 97 ;;
    esac
done
cd "$wd"
exec "$@"
"#;

/// Settings of the emulated cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The cluster's DNS domain (pods are `<pod>.<svc>.<ns>.svc.<domain>`).
    pub cluster_domain: String,
    /// First three octets of the pod network (a /24 that exists only
    /// inside the harness' namespaces).
    pub subnet: [u8; 3],
    /// Image binaries and the host commands that stand in for them (the
    /// harness runs containers on the host's file system): a container
    /// command starting with the first runs the second, found on PATH.
    pub binaries: Vec<(String, String)>,
    /// The server binaries the pods find on their PATH (`E2E_SERVER`,
    /// [`Server::from_env`]): Debian's `redis-*` or a cached build.
    pub server: Server,
    /// Images whose containers run another server than [`Self::server`]:
    /// a container whose image starts with the first runs the second (a
    /// rollout that changes the image switches binaries: a server
    /// upgrade).
    pub images: Vec<(String, Server)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            cluster_domain: "cluster.local".into(),
            subnet: [10, 213, 0],
            // The exporter image's entrypoint; Debian's package renames it.
            binaries: vec![(
                "/redis_exporter".to_string(),
                "prometheus-redis-exporter".to_string(),
            )],
            server: Server::from_env().unwrap_or_else(|e| panic!("{e:#}")),
            images: Vec::new(),
        }
    }
}

/// One pod of a StatefulSet.
pub struct Pod {
    pub name: String,
    /// `<pod>.<headless>.<namespace>.svc.<domain>`.
    pub fqdn: String,
    pub workload: Workload,
    /// Its network namespace.
    pub netns: String,
    pub ip: Ipv4Addr,
    /// Times its container was started.
    pub starts: u32,
    /// The pod exists: it has a DNS record.
    in_dns: bool,
    /// Its link is on the bridge (see [`Cluster::cut`]).
    linked: bool,
    /// Host-side end of its veth, in the hub namespace.
    link: String,
    dir: PathBuf,
    volumes_ready: bool,
    child: Option<Child>,
    last_exit: Option<String>,
    /// Running sidecar containers, by container name.
    sidecars: Vec<(String, Child)>,
}

impl Pod {
    fn volume_dir(&self, volume: &str) -> PathBuf {
        self.dir.join("volumes").join(volume)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("pod.log")
    }

    /// Whether its link is cut ([`Cluster::cut`]).
    pub fn is_cut(&self) -> bool {
        !self.linked
    }

    /// Whether the pod exists (has a DNS record): created and not deleted.
    pub fn exists(&self) -> bool {
        self.in_dns
    }

    /// PID of the running container process (the generated start script,
    /// then `redis-server`/`redis-sentinel` after its `exec`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// PID of a running sidecar container.
    pub fn sidecar_pid(&self, container: &str) -> Option<u32> {
        self.sidecars
            .iter()
            .find(|(n, _)| n == container)
            .map(|(_, c)| c.id())
    }

    /// Log of a sidecar container (every start, appended).
    pub fn sidecar_log_path(&self, container: &str) -> PathBuf {
        self.dir.join(format!("{container}.log"))
    }
}

/// The emulated cluster: pods, a client namespace, cluster DNS.
pub struct Cluster {
    pub id: String,
    pub opts: ClusterOptions,
    /// Scratch directory (pod volumes, logs); kept after the run for
    /// inspection and removed by the next run.
    pub work: PathBuf,
    hub: String,
    pub pods: Vec<Pod>,
    client_ns: String,
    client_ip: Ipv4Addr,
    client: Option<Client>,
    /// Clients of the other instances of a render with several (TLS
    /// material and passwords of each); `client` is the first instance's.
    clients: std::collections::BTreeMap<String, Client>,
    /// Every namespace made, for cleanup.
    namespaces: Vec<String>,
    /// ClusterIP Services of one pod each ([`Cluster::add_service`]):
    /// name, address, pod.
    services: Vec<(String, Ipv4Addr, String)>,
    next_host: u8,
    passed: bool,
}

/// Gives a pod's `eth0` (in network namespace `ns`) one more address on the
/// harness' /24.
fn add_address(ns: &str, addr: Ipv4Addr) -> Result<()> {
    ip(&[
        "-n",
        ns,
        "addr",
        "add",
        &format!("{addr}/24"),
        "dev",
        "eth0",
    ])
    .map(drop)
}

fn ip(args: &[&str]) -> Result<String> {
    run_ok(Command::new("ip").args(args), CMD_TIMEOUT)
}

fn pid_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

/// PIDs of every process in network namespace `ns`.
fn netns_pids(ns: &str) -> Vec<u32> {
    run(Command::new("ip").args(["netns", "pids", ns]), CMD_TIMEOUT)
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Ends every process in namespace `ns` (all started by the harness)
/// but those in `keep` (running sidecars), waiting (bounded) until none
/// other is left.
fn kill_netns_processes(ns: &str) {
    kill_netns_processes_except(ns, &[]);
}

fn kill_netns_processes_except(ns: &str, keep: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids: Vec<u32> = netns_pids(ns)
            .into_iter()
            .filter(|p| !keep.contains(p))
            .collect();
        if pids.is_empty() || Instant::now() >= deadline {
            return;
        }
        for p in pids {
            signal(p, "KILL");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn remove_netns(ns: &str) {
    kill_netns_processes(ns);
    if Path::new(NETNS_RUN).join(ns).exists() {
        let _ = run(Command::new("ip").args(["netns", "del", ns]), CMD_TIMEOUT);
    }
    let _ = fs::remove_dir_all(Path::new(NETNS_ETC).join(ns));
}

/// Removes namespaces and scratch directories left by harness runs whose
/// process is gone (a run killed before its cleanup).
fn sweep_stale() {
    let stale = |name: &str| {
        name.strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit()) && !pid_alive(pid))
    };
    for dir in [NETNS_RUN, NETNS_ETC] {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if stale(&name) {
                remove_netns(&name);
            }
        }
    }
    for e in fs::read_dir(scratch_root()).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if stale(&name) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Name of a new timestamped data directory of a ConfigMap/Secret volume.
fn data_stamp() -> String {
    format!(
        "..{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// Writes ConfigMap/Secret files into a volume's data directory `data`
/// with their modes, group `group` (the fsGroup).
fn write_data_dir(
    data: &Path,
    files: &std::collections::BTreeMap<String, (Vec<u8>, u32)>,
    group: Option<u32>,
) -> Result<()> {
    fs::create_dir_all(data)?;
    fs::set_permissions(data, fs::Permissions::from_mode(0o755))?;
    for (name, (content, mode)) in files {
        let f = data.join(name);
        fs::write(&f, content)?;
        std::os::unix::fs::chown(&f, Some(0), Some(group.unwrap_or(0)))?;
        fs::set_permissions(&f, fs::Permissions::from_mode(*mode))?;
    }
    Ok(())
}

/// Makes sure a mount point exists on the host. Created directories are
/// left in place (empty): removing a directory another test's pod has a
/// mount on would detach that mount.
fn ensure_host_dir(p: &Path) -> Result<()> {
    if !p.is_dir() {
        fs::create_dir_all(p)
            .with_context(|| format!("creating mount point {} on the host", p.display()))?;
    }
    Ok(())
}

impl Cluster {
    /// Builds the network for every pod of every StatefulSet of `render`
    /// (no pod runs yet) and a client namespace with the client
    /// certificate and credentials of the render.
    pub fn new(render: &Render, opts: ClusterOptions) -> Result<Cluster> {
        require_environment()?;
        sweep_stale();
        let id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let work = scratch_root().join(&id);
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work)?;
        // What a pod finds in place of a binary its image does not have.
        fs::write(work.join("hidden-binary"), "")?;
        fs::set_permissions(
            work.join("hidden-binary"),
            fs::Permissions::from_mode(0o644),
        )?;
        let [a, b, c] = opts.subnet;
        let mut cluster = Cluster {
            hub: format!("{id}-hub"),
            client_ns: format!("{id}-client"),
            client_ip: Ipv4Addr::new(a, b, c, 2),
            id,
            opts,
            work,
            pods: Vec::new(),
            client: None,
            clients: Default::default(),
            namespaces: Vec::new(),
            services: Vec::new(),
            next_host: 10,
            passed: false,
        };
        // From here on, Drop cleans up whatever was made.
        let hub = cluster.hub.clone();
        cluster.add_netns(&hub)?;
        ip(&[
            "-n",
            &hub,
            "link",
            "add",
            BRIDGE,
            "type",
            "bridge",
            "stp_state",
            "0",
        ])?;
        ip(&["-n", &hub, "link", "set", BRIDGE, "up"])?;

        let client_ns = cluster.client_ns.clone();
        let client_ip = cluster.client_ip;
        cluster.add_netns(&client_ns)?;
        cluster.plug(&client_ns, "client", client_ip)?;

        for w in render.workloads()? {
            for i in 0..w.replicas {
                cluster.add_pod(&w, i)?;
            }
        }
        cluster.write_hosts()?;
        let mut instances: Vec<String> = Vec::new();
        for s in render.kinds("StatefulSet") {
            if let Some(i) = s["metadata"]["labels"]["app.kubernetes.io/instance"].as_str()
                && !instances.iter().any(|x| x == i)
            {
                instances.push(i.to_string());
            }
        }
        let instance = instances
            .first()
            .ok_or_else(|| anyhow!("no StatefulSet with an app.kubernetes.io/instance label"))?
            .clone();
        cluster.client = Some(Client::from_render(
            render,
            &instance,
            &cluster.client_ns,
            &cluster.work.join("client"),
        )?);
        for other in &instances[1..] {
            let client = Client::from_render(
                render,
                other,
                &cluster.client_ns,
                &cluster.work.join(format!("client-{other}")),
            )?;
            cluster.clients.insert(other.clone(), client);
        }
        Ok(cluster)
    }

    /// Adds pod `i` of `w` (a StatefulSet scaled up): its network
    /// namespace and address; like the pods of [`Cluster::new`] it does
    /// not exist until [`Cluster::create`] / [`Cluster::start`]. A pod of
    /// that name the cluster already has only gets `w` as its template
    /// (see [`Cluster::set_workload`]).
    pub fn add_pod(&mut self, w: &Workload, i: u32) -> Result<()> {
        let name = w.pod_name(i);
        if self.pods.iter().any(|p| p.name == name) {
            return self.set_workload(&name, w.clone());
        }
        let netns = format!("{}-{name}", self.id);
        let ipaddr = self.fresh_ip()?;
        let link = format!("p{}", self.pods.len());
        self.add_netns(&netns)?;
        self.plug(&netns, &link, ipaddr)?;
        self.pods.push(Pod {
            fqdn: format!(
                "{name}.{}.{}.svc.{}",
                w.service_name, w.namespace, self.opts.cluster_domain
            ),
            dir: self.work.join("pods").join(&name),
            name,
            workload: w.clone(),
            netns,
            ip: ipaddr,
            starts: 0,
            in_dns: false,
            linked: true,
            link,
            volumes_ready: false,
            child: None,
            last_exit: None,
            sidecars: Vec::new(),
        });
        Ok(())
    }

    /// The pod template the pod is (re)created from at its next
    /// [`Cluster::start`] after a [`Cluster::delete`]: what the StatefulSet
    /// controller does with an updated template. The pod must not run.
    pub fn set_workload(&mut self, name: &str, w: Workload) -> Result<()> {
        let pod = self.pod_mut(name)?;
        if pod.child.is_some() {
            bail!("pod {name} runs: delete it before giving it a new template");
        }
        pod.workload = w;
        pod.volumes_ready = false;
        Ok(())
    }

    /// Updates the ConfigMap/Secret files of an existing pod as kubelet
    /// does when the objects change: the new files go to a new
    /// timestamped directory, the `..data` symlink is switched to it in
    /// one `rename` (a process sees the old set or the new one, never a
    /// mix), new keys get their symlink, removed keys lose theirs, the old
    /// directory goes. `w` is the pod's template with the new data
    /// ([`Workload::with_data_from`]); it becomes the pod's template.
    pub fn sync_volumes(&mut self, name: &str, w: Workload) -> Result<()> {
        let idx = self
            .pods
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))?;
        if self.pods[idx].volumes_ready {
            let pod = &self.pods[idx];
            let stamp = data_stamp();
            let mut done = BTreeSet::new();
            for m in w.all_mounts() {
                let MountSource::Files { files, .. } = &m.source else {
                    continue;
                };
                if !done.insert(m.volume.clone()) {
                    continue;
                }
                let dir = pod.volume_dir(&m.volume);
                write_data_dir(&dir.join(&stamp), files, w.fs_group)?;
                let old = fs::read_link(dir.join("..data")).ok();
                let tmp = dir.join("..data_tmp");
                let _ = fs::remove_file(&tmp);
                symlink(&stamp, &tmp)?;
                fs::rename(&tmp, dir.join("..data"))?;
                for e in fs::read_dir(&dir)?.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if !n.starts_with("..") && !files.contains_key(&n) {
                        fs::remove_file(e.path())?;
                    }
                }
                for fname in files.keys() {
                    let link = dir.join(fname);
                    if fs::symlink_metadata(&link).is_err() {
                        symlink(Path::new("..data").join(fname), link)?;
                    }
                }
                if let Some(old) = old.filter(|o| o.as_os_str() != stamp.as_str()) {
                    let _ = fs::remove_dir_all(dir.join(old));
                }
            }
        }
        self.pods[idx].workload = w;
        Ok(())
    }

    fn add_netns(&mut self, ns: &str) -> Result<()> {
        ip(&["netns", "add", ns])?;
        self.namespaces.push(ns.to_string());
        let etc = Path::new(NETNS_ETC).join(ns);
        fs::create_dir_all(&etc)?;
        // Names not in hosts fail at once instead of leaving the namespace.
        fs::write(
            etc.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )?;
        fs::write(etc.join("hosts"), "127.0.0.1\tlocalhost\n")?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// Connects namespace `ns` to the bridge: `eth0` in `ns`, `link` in the hub.
    fn plug(&self, ns: &str, link: &str, addr: Ipv4Addr) -> Result<()> {
        let hub = &self.hub;
        ip(&[
            "-n", hub, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])?;
        ip(&["-n", hub, "link", "set", link, "master", BRIDGE, "up"])?;
        add_address(ns, addr)?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        Ok(())
    }

    /// An address of the pod network no pod or client uses.
    pub fn fresh_ip(&mut self) -> Result<Ipv4Addr> {
        let [a, b, c] = self.opts.subnet;
        while self.next_host < 250 {
            let addr = Ipv4Addr::new(a, b, c, self.next_host);
            self.next_host += 1;
            if addr != self.client_ip
                && self.pods.iter().all(|p| p.ip != addr)
                && self.services.iter().all(|(_, a, _)| *a != addr)
            {
                return Ok(addr);
            }
        }
        bail!("pod network exhausted")
    }

    /// A ClusterIP Service in front of one pod (redis-ha's per-pod
    /// announce Services): a DNS record `name` (a full name, e.g.
    /// `redis-ha-announce-0.shop.svc.cluster.local`) for an address of its
    /// own, which the pod answers on beside its pod address (kube-proxy's
    /// rewrite, without the NAT: the pod sees the Service address as its
    /// local one). The record exists whether the pod runs or not; the
    /// address follows the pod ([`Cluster::set_ip`]).
    pub fn add_service(&mut self, name: &str, pod: &str) -> Result<Ipv4Addr> {
        let addr = self.fresh_ip()?;
        let ns = self.pod(pod).netns.clone();
        add_address(&ns, addr)?;
        self.services
            .push((name.to_string(), addr, pod.to_string()));
        self.write_hosts()?;
        Ok(addr)
    }

    /// The Services of [`Cluster::add_service`]: name, address, pod.
    pub fn services(&self) -> impl Iterator<Item = &(String, Ipv4Addr, String)> {
        self.services.iter()
    }

    /// The client (a client pod with the generated client certificate).
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("client is set up in new()")
    }

    /// The client with the certificate and passwords of `instance` (a
    /// render with several instances), else [`Cluster::client`].
    pub fn client_of(&self, instance: &str) -> &Client {
        self.clients.get(instance).unwrap_or_else(|| self.client())
    }

    /// Replaces the client [`Cluster::client`] (and every [`super::Topo`]
    /// query) uses, returning the previous one: a cluster that runs two
    /// renders (a migration's old and new deployments) talks to each with
    /// its own certificate and credentials.
    pub fn set_client(&mut self, client: Client) -> Option<Client> {
        self.client.replace(client)
    }

    pub fn pod(&self, name: &str) -> &Pod {
        self.pods
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no pod {name}"))
    }

    fn pod_mut(&mut self, name: &str) -> Result<&mut Pod> {
        self.pods
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))
    }

    /// Names of the pods of StatefulSet `sts`, in ordinal order.
    pub fn pods_of(&self, sts: &str) -> Vec<String> {
        self.pods
            .iter()
            .filter(|p| p.workload.name == sts)
            .map(|p| p.name.clone())
            .collect()
    }

    /// Rewrites every hosts file: the cluster DNS (every existing pod) plus,
    /// as kubelet does, the pod's own name first. Written in place (same
    /// inode), so running processes see the change.
    fn write_hosts(&self) -> Result<()> {
        let records: Vec<(Ipv4Addr, &str)> = self
            .pods
            .iter()
            .filter(|p| p.in_dns)
            .map(|p| (p.ip, p.fqdn.as_str()))
            .chain(self.services.iter().map(|(n, a, _)| (*a, n.as_str())))
            .collect();
        let render = |own: Option<&Pod>| {
            let mut s = format!(
                "# cluster DNS emulated by the e2e harness ({})\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                self.id
            );
            if let Some(p) = own {
                s.push_str(&format!("{}\t{} {}\n", p.ip, p.fqdn, p.name));
            }
            for (addr, name) in &records {
                if own.is_none_or(|p| p.fqdn != *name) {
                    s.push_str(&format!("{addr}\t{name}\n"));
                }
            }
            s
        };
        let write = |ns: &str, content: String| -> Result<()> {
            let path = Path::new(NETNS_ETC).join(ns).join("hosts");
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .create(true)
                .open(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            f.write_all(content.as_bytes())?;
            Ok(())
        };
        write(&self.client_ns, render(None))?;
        for p in &self.pods {
            write(&p.netns, render(Some(p)))?;
        }
        Ok(())
    }

    /// Writes the pod's volumes as kubelet would: ConfigMap/Secret files
    /// through a `..data` symlink with their modes (group fsGroup), empty
    /// directories for emptyDirs (kept: persistent claims).
    fn prepare_volumes(&self, pod: &Pod) -> Result<()> {
        let w = &pod.workload;
        let group = w.fs_group;
        let stamp = data_stamp();
        let mut done = BTreeSet::new();
        for m in w.all_mounts() {
            if !done.insert(m.volume.clone()) {
                continue;
            }
            let dir = pod.volume_dir(&m.volume);
            match &m.source {
                MountSource::Files { files, .. } => {
                    let _ = fs::remove_dir_all(&dir);
                    fs::create_dir_all(&dir)?;
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
                    write_data_dir(&dir.join(&stamp), files, group)?;
                    symlink(&stamp, dir.join("..data"))?;
                    for name in files.keys() {
                        symlink(Path::new("..data").join(name), dir.join(name))?;
                    }
                }
                MountSource::Dir { persistent } => {
                    if !persistent {
                        let _ = fs::remove_dir_all(&dir);
                    }
                    fs::create_dir_all(&dir)?;
                    std::os::unix::fs::chown(&dir, Some(0), Some(group.unwrap_or(0)))?;
                    let mode = if group.is_some() { 0o2777 } else { 0o777 };
                    fs::set_permissions(&dir, fs::Permissions::from_mode(mode))?;
                }
            }
        }
        Ok(())
    }

    /// Prelude operations for the pod's mounts. A mount whose parent is
    /// deeper than one level (e.g. `/etc/redis/config`) gets a fresh tmpfs
    /// on that parent, so the host's own directory there (Debian's
    /// `/etc/redis`, mode 2770) is neither used nor touched. Nested
    /// parents (`/etc/redis/migration` in `/etc/redis`) are made in the
    /// tmpfs above them.
    fn mount_ops(&self, pod: &Pod, w: &Workload) -> Result<Vec<String>> {
        let mut tmpfs = BTreeSet::new();
        let mut mkdirs = Vec::new();
        let mut binds = Vec::new();
        let mut mounts: Vec<_> = w.mounts.iter().collect();
        mounts.sort_by(|a, b| a.path.cmp(&b.path));
        for m in &mounts {
            let path = Path::new(&m.path);
            if !path.is_absolute() || m.path == "/" {
                bail!("{}: mount path {} is not emulated", w.name, m.path);
            }
            if mounts
                .iter()
                .any(|o| o.path != m.path && path.starts_with(&o.path))
            {
                bail!("{}: nested mount {} is not emulated", w.name, m.path);
            }
            let parent = path.parent().unwrap_or(Path::new("/"));
            if parent.components().count() > 2 {
                ensure_host_dir(parent)?;
                tmpfs.insert(parent.to_path_buf());
                mkdirs.push(m.path.clone());
            } else {
                ensure_host_dir(path)?;
            }
            binds.push((pod.volume_dir(&m.volume), m.path.clone(), m.read_only));
        }
        let mut ops = Vec::new();
        for t in &tmpfs {
            ops.push("tmpfs".to_string());
            ops.push(t.display().to_string());
        }
        for d in mkdirs {
            ops.push("mkdir".into());
            ops.push(d);
        }
        for (src, dst, ro) in binds {
            ops.push("bind".into());
            ops.push(src.display().to_string());
            ops.push(dst);
            ops.push(if ro { "ro" } else { "rw" }.into());
        }
        // Binaries the image does not have ([`Server::hidden`]): an empty,
        // non-executable file bound over each.
        for f in self.server_for(w).hidden(BASE_PATH) {
            ops.push("hide".into());
            ops.push(self.work.join("hidden-binary").display().to_string());
            ops.push(f.display().to_string());
        }
        for t in &tmpfs {
            // kubelet's mount points live in the (read-only) image.
            if w.read_only_root {
                ops.push("ro".into());
                ops.push(t.display().to_string());
            }
        }
        if w.read_only_root {
            ops.push("roroot".into());
        }
        Ok(ops)
    }

    /// `setpriv` arguments for the container's user and restrictions. The
    /// parent-death signal ties the pod to the test thread that spawned it.
    fn setpriv(w: &Workload) -> Vec<String> {
        // No fixed UID (OpenShift): an arbitrary one in group 0, as there.
        let uid = w.run_as_user.unwrap_or(1_000_650_000);
        let gid = w.run_as_group.unwrap_or(0);
        let mut v = vec![
            "setpriv".to_string(),
            "--reuid".into(),
            uid.to_string(),
            "--regid".into(),
            gid.to_string(),
        ];
        match w.fs_group {
            Some(g) => v.extend(["--groups".into(), g.to_string()]),
            None => v.push("--clear-groups".into()),
        }
        if w.no_new_privs {
            v.push("--no-new-privs".into());
        }
        if w.drop_all_caps {
            v.extend([
                "--inh-caps".into(),
                "-all".into(),
                "--bounding-set".into(),
                "-all".into(),
            ]);
        }
        v.extend(["--pdeathsig".into(), "KILL".into(), "--".into()]);
        v
    }

    /// The server binaries a container of `w` runs ([`ClusterOptions::images`],
    /// else [`ClusterOptions::server`]).
    pub fn server_for(&self, w: &Workload) -> &Server {
        self.opts
            .images
            .iter()
            .find(|(image, _)| w.image.starts_with(image.as_str()))
            .map_or(&self.opts.server, |(_, s)| s)
    }

    /// The container's environment (`w`: the container's view of the pod).
    fn env(&self, pod: &Pod, w: &Workload, namespace: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), self.server_for(w).path(BASE_PATH)),
            ("HOSTNAME".into(), pod.name.clone()),
            ("HOME".into(), "/".into()),
        ];
        for (k, v) in &w.env {
            let value = match v {
                EnvValue::Literal(s) => s.clone(),
                EnvValue::Field(f) => match f.as_str() {
                    "metadata.name" => pod.name.clone(),
                    "metadata.namespace" => namespace.to_string(),
                    "status.podIP" => pod.ip.to_string(),
                    "spec.nodeName" => "e2e-node".into(),
                    other => other.to_string(),
                },
            };
            env.push((k.clone(), value));
        }
        env
    }

    /// Creates the pod without starting its container (scheduled, image
    /// still pulling): its DNS record appears (the headless Services publish
    /// not-ready addresses) and its volumes are written.
    pub fn create(&mut self, name: &str) -> Result<()> {
        let idx = self
            .pods
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))?;
        if !self.pods[idx].in_dns {
            self.pods[idx].in_dns = true;
            self.write_hosts()?;
        }
        if !self.pods[idx].volumes_ready {
            self.prepare_volumes(&self.pods[idx])?;
            self.pods[idx].volumes_ready = true;
        }
        Ok(())
    }

    /// Starts the pod's containers (creating the pod first if it does not
    /// exist: DNS record, fresh volumes): the main container, and each
    /// sidecar that is not running. A pod whose main container was killed
    /// or stopped keeps its address, DNS record, emptyDirs and running
    /// sidecars, like a container restart. Spawn pods from the test's own
    /// thread.
    pub fn start(&mut self, name: &str) -> Result<()> {
        let idx = self
            .pods
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))?;
        self.reap(idx);
        if self.pods[idx].child.is_some() {
            bail!("pod {name} is already running");
        }
        self.create(name)?;
        let pod = &self.pods[idx];
        let w = pod.workload.clone();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(pod.log_path())?;
        writeln!(
            &log,
            "{START_MARK}{} of {} ({}) ====",
            pod.starts + 1,
            pod.name,
            pod.ip
        )?;
        let child = self.spawn_container(pod, &w, log)?;
        let mut sidecars = Vec::new();
        for sc in &w.sidecars {
            if pod.sidecars.iter().any(|(n, _)| *n == sc.container) {
                continue;
            }
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(pod.sidecar_log_path(&sc.container))?;
            writeln!(&log, "{START_MARK} {} of {} ====", sc.container, pod.name)?;
            sidecars.push((sc.container.clone(), self.spawn_container(pod, sc, log)?));
        }
        let pod = &mut self.pods[idx];
        pod.child = Some(child);
        pod.sidecars.extend(sidecars);
        pod.starts += 1;
        pod.last_exit = None;
        Ok(())
    }

    /// The host command that runs a container command: an image binary
    /// listed in [`ClusterOptions::binaries`] becomes its host stand-in.
    fn host_command(&self, w: &Workload) -> Result<Vec<String>> {
        let mut argv = w.command.clone();
        if let Some((_, host)) = self.opts.binaries.iter().find(|(b, _)| *b == argv[0]) {
            let path = super::which(host).ok_or_else(|| {
                anyhow!(
                    "{} container {}: {} stands in for the image's {} and is not installed",
                    w.name,
                    w.container,
                    host,
                    argv[0]
                )
            })?;
            argv[0] = path.display().to_string();
        }
        Ok(argv)
    }

    /// Spawns one container of `pod` (`w`: that container's view of the
    /// pod template) in the pod's network namespace, with its own UTS and
    /// mount namespaces, its mounts, user, restrictions and environment.
    fn spawn_container(&self, pod: &Pod, w: &Workload, log: std::fs::File) -> Result<Child> {
        let ops = self.mount_ops(pod, w)?;
        let argv = self.host_command(w)?;
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns", "exec", &pod.netns, "unshare", "--uts", "sh", "-c", PRELUDE,
        ])
        .arg("pod-prelude")
        .arg(&pod.name)
        .arg(w.working_dir.as_deref().unwrap_or("/"))
        .args(&ops)
        .arg("--")
        .args(Self::setpriv(w))
        .args(&argv)
        .env_clear()
        .envs(self.env(pod, w, &w.namespace))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
        cmd.spawn()
            .with_context(|| format!("starting pod {} container {}", pod.name, w.container))
    }

    /// Ends the pod's sidecar containers (SIGKILL), waiting for each.
    fn kill_sidecars(pod: &mut Pod) {
        for (_, mut c) in pod.sidecars.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Collects the exit status of a pod whose container ended.
    fn reap(&mut self, idx: usize) {
        let pod = &mut self.pods[idx];
        if let Some(c) = pod.child.as_mut()
            && let Ok(Some(st)) = c.try_wait()
        {
            pod.last_exit = Some(st.to_string());
            pod.child = None;
        }
        pod.sidecars
            .retain_mut(|(_, c)| matches!(c.try_wait(), Ok(None)));
    }

    /// Whether a sidecar container of the pod is running.
    pub fn sidecar_running(&mut self, name: &str, container: &str) -> Result<bool> {
        let idx = self
            .pods
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))?;
        self.reap(idx);
        Ok(self.pods[idx].sidecar_pid(container).is_some())
    }

    /// `GET http://127.0.0.1:PORT/PATH` from inside the pod's network
    /// namespace (curl), as a scraper beside the pod would; the body.
    pub fn http_get(&self, name: &str, port: u16, path: &str) -> Result<String> {
        if super::which("curl").is_none() {
            bail!("curl is missing (install it with .ci/install.d/25-metrics.sh)");
        }
        run_ok(
            Command::new("ip").args([
                "netns",
                "exec",
                &self.pod(name).netns,
                "curl",
                "-sS",
                "--fail",
                "--max-time",
                "5",
                &format!("http://127.0.0.1:{port}{path}"),
            ]),
            Duration::from_secs(10),
        )
    }

    /// The last `lines` lines of a sidecar's log.
    pub fn sidecar_log_tail(&self, name: &str, container: &str, lines: usize) -> String {
        let log =
            fs::read_to_string(self.pod(name).sidecar_log_path(container)).unwrap_or_default();
        let v: Vec<&str> = log.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether the pod's container is running; `Err` says how it ended.
    pub fn running(&mut self, name: &str) -> Result<bool> {
        let idx = self
            .pods
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| anyhow!("no pod {name}"))?;
        self.reap(idx);
        Ok(self.pods[idx].child.is_some())
    }

    /// SIGKILLs the pod's container (a crash: the pod, its address, DNS
    /// record and emptyDirs stay). Returns when every process of the pod
    /// is gone.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let pod = self.pod_mut(name)?;
        if let Some(mut c) = pod.child.take() {
            let _ = c.kill();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(st) = c.try_wait()? {
                    pod.last_exit = Some(st.to_string());
                    break;
                }
                if Instant::now() >= deadline {
                    bail!("pod {name}: container did not die after SIGKILL");
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
        // Helpers the start script may have left (redis-cli under timeout);
        // the sidecars keep running, as when kubelet restarts one container.
        let keep: Vec<u32> = pod.sidecars.iter().map(|(_, c)| c.id()).collect();
        kill_netns_processes_except(&pod.netns.clone(), &keep);
        Ok(())
    }

    /// SIGTERMs the pod's container and waits up to the pod's
    /// terminationGracePeriodSeconds, then SIGKILLs it.
    pub fn stop(&mut self, name: &str) -> Result<Duration> {
        let start = Instant::now();
        let pod = self.pod_mut(name)?;
        if let Some(c) = pod.child.as_mut() {
            signal(c.id(), "TERM");
            let deadline = Instant::now() + pod.workload.termination_grace;
            while Instant::now() < deadline {
                if let Some(st) = c.try_wait()? {
                    pod.last_exit = Some(st.to_string());
                    pod.child = None;
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill(name)?;
        Ok(start.elapsed())
    }

    /// Deletes the pod: stops it, removes its DNS record and its emptyDirs
    /// (volumeClaimTemplates stay). [`Cluster::start`] recreates it; give
    /// it a new address first with [`Cluster::set_ip`] to emulate a pod
    /// that returns elsewhere.
    pub fn delete(&mut self, name: &str) -> Result<()> {
        self.stop(name)?;
        let pod = self.pod_mut(name)?;
        Self::kill_sidecars(pod);
        pod.in_dns = false;
        pod.volumes_ready = false;
        let mounts: Vec<_> = pod.workload.all_mounts().cloned().collect();
        for m in mounts {
            if !matches!(m.source, MountSource::Dir { persistent: true }) {
                let _ = fs::remove_dir_all(pod.volume_dir(&m.volume));
            }
        }
        self.write_hosts()
    }

    /// Gives the pod a new address and updates every hosts file (the
    /// cluster DNS record follows the pod).
    pub fn set_ip(&mut self, name: &str, addr: Ipv4Addr) -> Result<()> {
        if self.pods.iter().any(|p| p.ip == addr) || addr == self.client_ip {
            bail!("address {addr} is in use");
        }
        let pod = self.pod_mut(name)?;
        let ns = pod.netns.clone();
        pod.ip = addr;
        ip(&["-n", &ns, "addr", "flush", "dev", "eth0"])?;
        add_address(&ns, addr)?;
        // Its Services follow it (their endpoints are updated).
        for (_, a, _) in self.services.iter().filter(|(_, _, p)| p == name) {
            add_address(&ns, *a)?;
        }
        self.write_hosts()
    }

    /// Cuts the pod's network: its link leaves the bridge, so packets to
    /// and from it are silently lost (loopback still works).
    pub fn cut(&mut self, name: &str) -> Result<()> {
        let hub = self.hub.clone();
        let pod = self.pod_mut(name)?;
        ip(&["-n", &hub, "link", "set", &pod.link, "nomaster"])?;
        pod.linked = false;
        Ok(())
    }

    /// Undoes [`Cluster::cut`].
    pub fn heal(&mut self, name: &str) -> Result<()> {
        let hub = self.hub.clone();
        let pod = self.pod_mut(name)?;
        ip(&["-n", &hub, "link", "set", &pod.link, "master", BRIDGE])?;
        pod.linked = true;
        Ok(())
    }

    /// Runs `argv` inside the running pod (its mounts, network, hostname,
    /// user and environment), like `kubectl exec`.
    pub fn exec(&self, name: &str, argv: &[&str], timeout: Duration) -> Result<Output> {
        run(&mut self.in_pod(name, argv)?, timeout)
    }

    /// `argv` as a command that runs inside the running pod: its mounts,
    /// network, hostname, user and environment.
    fn in_pod(&self, name: &str, argv: &[&str]) -> Result<Command> {
        let pod = self.pod(name);
        let pid = pod
            .pid()
            .ok_or_else(|| anyhow!("pod {name} is not running"))?;
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--target={pid}"))
            .args(["--mount", "--net", "--uts", "--"])
            .args(Self::setpriv(&pod.workload))
            .args(argv)
            .env_clear()
            .envs(self.env(pod, &pod.workload, &pod.workload.namespace))
            .current_dir("/");
        Ok(cmd)
    }

    /// Starts `argv` inside the running pod (as [`Cluster::exec`]) without
    /// waiting: a lifecycle hook. Its output is appended to the pod's log
    /// after a line naming `what`. Poll the child; it is in its own
    /// process group.
    pub fn exec_spawn(&self, name: &str, what: &str, argv: &[&str]) -> Result<Child> {
        let mut cmd = self.in_pod(name, argv)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.pod(name).log_path())?;
        writeln!(&log, "==== e2e harness: {what} of {name} ====")?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what} in {name}"))
    }

    /// Sends SIGTERM to the pod's container and returns at once (see
    /// [`Cluster::stop`] for the whole grace period).
    pub fn term(&mut self, name: &str) -> Result<()> {
        let pod = self.pod_mut(name)?;
        if let Some(c) = pod.child.as_ref() {
            signal(c.id(), "TERM");
        }
        Ok(())
    }

    /// Runs the rendered readiness probe once.
    pub fn probe(&self, name: &str) -> Result<bool> {
        let pod = self.pod(name);
        let Some(cmd) = pod.workload.readiness.clone() else {
            return Ok(pod.pid().is_some());
        };
        let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
        Ok(self
            .exec(name, &argv, Duration::from_secs(5))
            .map(|o| o.status.success())
            .unwrap_or(false))
    }

    /// Waits until the pod's readiness probe passes; fails early when its
    /// container exits. Returns the time it took.
    pub fn wait_ready(&mut self, name: &str, timeout: Duration) -> Result<Duration> {
        let r = wait_for(
            &format!("pod {name} to be ready"),
            timeout,
            Duration::from_millis(200),
            || match self.running(name) {
                Ok(false) => Ok(Err(format!(
                    "container exited ({})",
                    self.pod(name).last_exit.clone().unwrap_or_default()
                ))),
                Err(e) => Ok(Err(e.to_string())),
                Ok(true) => {
                    if self.probe(name).unwrap_or(false) {
                        Ok(Ok(()))
                    } else {
                        Err("readiness probe fails".to_string())
                    }
                }
            },
        );
        match r {
            Ok((Ok(()), took)) => Ok(took),
            Ok((Err(why), _)) => bail!("pod {name}: {why}; log:\n{}", self.log_tail(name, 40)),
            Err(e) => Err(e.context(format!("log of {name}:\n{}", self.log_tail(name, 40)))),
        }
    }

    /// Checks that the running pod is what its template asks for: the
    /// container user, no new privileges, no capabilities, a read-only root
    /// file system, and ConfigMap/Secret files with their modes, readable
    /// by the container user. Returns a one-line summary.
    pub fn check_pod_security(&self, name: &str) -> Result<String> {
        let pod = self.pod(name);
        let w = &pod.workload;
        let pid = pod
            .pid()
            .ok_or_else(|| anyhow!("pod {name} is not running"))?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.split_whitespace().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let uid = field("Uid:");
        if let Some(want) = w.run_as_user
            && uid.iter().any(|u| *u != want.to_string())
        {
            bail!("{name} runs as uid {uid:?}, not {want}");
        }
        if w.no_new_privs && field("NoNewPrivs:") != ["1"] {
            bail!("{name}: no_new_privs is not set");
        }
        if w.drop_all_caps && field("CapEff:") != ["0000000000000000"] {
            bail!("{name} has capabilities {:?}", field("CapEff:"));
        }
        let mut script = String::from("set -u\n");
        if w.read_only_root {
            script.push_str("if touch /.e2e-rw-check 2>/dev/null; then echo 'root file system is writable'; fi\n");
        }
        for m in &w.mounts {
            if let MountSource::Files { files, .. } = &m.source {
                for (f, (_, mode)) in files {
                    let p = format!("{}/{f}", m.path);
                    script.push_str(&format!(
                        "m=$(stat -L -c %a '{p}'); [ \"$m\" = '{mode:o}' ] || echo \"{p} has mode $m, not {mode:o}\"\n\
                         [ -r '{p}' ] || echo '{p} is not readable'\n"
                    ));
                }
            } else if !m.read_only {
                let p = format!("{}/.e2e-rw-check", m.path);
                script.push_str(&format!(
                    "touch '{p}' && rm -f '{p}' || echo '{} is not writable'\n",
                    m.path
                ));
            }
        }
        for sc in &w.sidecars {
            let Some(spid) = pod.sidecar_pid(&sc.container) else {
                continue;
            };
            let st = fs::read_to_string(format!("/proc/{spid}/status"))?;
            let f = |k: &str| {
                st.lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(|v| v.split_whitespace().collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            if let Some(want) = sc.run_as_user
                && f("Uid:").iter().any(|u| *u != want.to_string())
            {
                bail!(
                    "{name}/{}: runs as uid {:?}, not {want}",
                    sc.container,
                    f("Uid:")
                );
            }
            if sc.no_new_privs && f("NoNewPrivs:") != ["1"] {
                bail!("{name}/{}: no_new_privs is not set", sc.container);
            }
            if sc.drop_all_caps && f("CapEff:") != ["0000000000000000"] {
                bail!(
                    "{name}/{} has capabilities {:?}",
                    sc.container,
                    f("CapEff:")
                );
            }
        }
        let out = self.exec(name, &["sh", "-c", &script], Duration::from_secs(10))?;
        let problems = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !problems.is_empty() || !out.status.success() {
            bail!(
                "{name}: {problems} {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(format!(
            "uid {} gid {} groups {:?}, NoNewPrivs {:?}, CapEff {:?}, read-only root: {}",
            uid.first().copied().unwrap_or("?"),
            field("Gid:").first().copied().unwrap_or("?"),
            field("Groups:"),
            field("NoNewPrivs:"),
            field("CapEff:"),
            w.read_only_root
        ))
    }

    /// TCP ports listening in the pod's network namespace.
    pub fn listening_ports(&self, name: &str) -> Result<BTreeSet<u16>> {
        let out = run_ok(
            Command::new("ip").args(["netns", "exec", &self.pod(name).netns, "ss", "-ltnH"]),
            CMD_TIMEOUT,
        )?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3))
            .filter_map(|local| local.rsplit(':').next()?.parse().ok())
            .collect())
    }

    /// The pod's log (every start, appended).
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.pod(name).log_path()).unwrap_or_default()
    }

    /// The pod's log since its last start (one container run).
    pub fn last_start_log(&self, name: &str) -> String {
        let log = self.log(name);
        match log.rfind(START_MARK) {
            Some(i) => log[i..].to_string(),
            None => log,
        }
    }

    pub fn log_tail(&self, name: &str, lines: usize) -> String {
        let log = self.log(name);
        let v: Vec<&str> = log.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// Marks the run as passed: no log dump on drop.
    pub fn pass(&mut self) {
        self.passed = true;
    }

    /// Ends every process and removes every namespace and hosts file the
    /// cluster made. Also done on drop.
    pub fn teardown(&mut self) {
        for p in &mut self.pods {
            Self::kill_sidecars(p);
            if let Some(mut c) = p.child.take() {
                let _ = c.kill();
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if !matches!(c.try_wait(), Ok(None)) {
                        break;
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
        for ns in std::mem::take(&mut self.namespaces).iter().rev() {
            remove_netns(ns);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.passed && !self.pods.is_empty() {
            eprintln!("---- e2e harness: pod logs ({}) ----", self.work.display());
            for p in &self.pods {
                if p.starts > 0 {
                    eprintln!(
                        "---- {} (last 30 lines)\n{}",
                        p.name,
                        self.log_tail(&p.name, 30)
                    );
                    for sc in &p.workload.sidecars {
                        eprintln!(
                            "---- {} container {} (last 10 lines)\n{}",
                            p.name,
                            sc.container,
                            self.sidecar_log_tail(&p.name, &sc.container, 10)
                        );
                    }
                }
            }
        }
        self.teardown();
        // Make sure nothing is left; say so loudly if something is.
        let left: Vec<String> = fs::read_dir(NETNS_RUN)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{}-", self.id)))
            .collect();
        if !left.is_empty() {
            eprintln!("e2e harness: namespaces left behind: {left:?}");
        }
    }
}
