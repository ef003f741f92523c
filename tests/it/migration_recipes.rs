//! The recipes of docs/migrating.md on real redis-server and redis-sentinel:
//! each old deployment laid out as its chart or guide lays it out, each
//! recipe's spec taken from the document itself (its `# file:` block,
//! rendered as written: the default image, Valkey 9.1.2, runs as the
//! cached build), sync, then the cut-over, with the acknowledged writer
//! (`SET` + `WAIT 1`) on the old deployment that moves to the new
//! Sentinels. Every acknowledged write must be on the new master.
//!
//! Old deployments, namespace `shop` (the recipes' names need no mapping:
//! the harness' cluster DNS has them):
//! - Bitnami `redis` chart, sentinel mode, release `redis`: StatefulSet
//!   `redis-node` (Redis and a Sentinel in each pod) behind
//!   `redis-headless`, one password for Redis and Sentinel (Secret `redis`,
//!   key `redis-password`), master set `mymaster`, Sentinels on 26379
//!   announcing pod host names. After its cut-over the migration section is
//!   removed and both new StatefulSets roll (the usual handover: replicas
//!   first, the master last) with the writer on the new topology, while
//!   nftables in every old pod records who connects to it.
//! - redis-ha (DandyDeveloper), release `redis-ha`: StatefulSet
//!   `redis-ha-server` behind `redis-ha`, one ClusterIP Service per pod
//!   (`redis-ha-announce-N`, an address of its own) whose address Redis and
//!   the Sentinels announce, master set `mymaster`, `requirepass` from
//!   Secret `redis-ha` key `auth`, Sentinels without a password, the
//!   chart's `min-replicas-to-write 1`.
//! - The OpenShift guide: StatefulSet `redis` of three unrelated
//!   standalone masters behind the Service `redis`, password in Secret
//!   `redis-password` key `password`; the applications wrote to `redis-0`.
//!
//! One setting is not the charts': `repl-diskless-sync-delay 0` (Redis'
//! default waits 5 s for more replicas before a full sync), which saves
//! 5 s per full sync from the old master; the move does not depend on it.
//!
//! The source runs on the server under test (Debian's Redis 7.0.15 unless
//! `E2E_SERVER` says otherwise; the Bitnami recipe declares `version:
//! "7.2"`, a declaration the render checks against the target, not the
//! running source).

use crate::harness;
use crate::migration::{cutover_clock, info_field, key_counts, populate};

use std::collections::BTreeSet;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use base64::Engine;
use serde_json::{Value, json};

use harness::{
    Client, Cluster, ClusterOptions, ConnectionWatch, Credentials, Endpoint, KeyType, Leaf, POLL,
    READY, Render, Rollout, SETTLE, Server, TestCa, TlsFiles, Topo, Writer, WriterOptions, Writes,
    extract_code_blocks, repo_path, scratch_root, secs, wait_for,
};

const SEED: &str = "migration-recipes-seed-0123456789abcdef";
/// The recipes' namespace.
const NS: &str = "shop";
const GUIDE: &str = "docs/migrating.md";
/// A small data set (MB of 1 KB values, plus keys with TTLs).
const DATA_MB: usize = 2;
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;
/// The image of the old deployments (any image the cluster does not map
/// runs the server under test).
const OLD_IMAGE: &str = "docker.io/library/redis:7.2";
const SCRIPTS: &str = "/opt/old/scripts";
const SECRETS: &str = "/opt/old/secrets";
const CONF: &str = "/opt/old/conf";

fn svc(host: &str) -> String {
    format!("{host}.{NS}.svc.cluster.local")
}

/// The Sentinels of an old deployment, as its applications ask them.
struct Sentinels {
    hosts: Vec<String>,
    master_name: String,
    /// They have a password (the Redis one).
    auth: bool,
}

/// An old deployment as its chart lays it out.
struct Old {
    items: Vec<Value>,
    statefulset: String,
    /// ClusterIP Services of one pod each: (full name, pod).
    services: Vec<(String, String)>,
    /// The pod the applications write to (the master).
    master: String,
    /// What the old Sentinels name as master, or pod 0 replicates from
    /// (a host name, or an announce Service's address).
    master_announced: MasterName,
    password: String,
    sentinels: Option<Sentinels>,
    /// With TLS: the CA its clients trust and their certificate.
    client_tls: Option<(String, Leaf)>,
}

enum MasterName {
    /// The master pod's own DNS name.
    PodName,
    /// The address of this Service.
    ServiceAddress(String),
}

fn secret(name: &str, key: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
           "data": {key: base64::engine::general_purpose::STANDARD.encode(value)}})
}

fn scripts(name: &str, files: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = files
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
           "data": data})
}

/// A container running `sh SCRIPTS/script`, with the scripts, the
/// password Secret and a writable configuration directory.
fn container(name: &str, script: &str, port: u16, ready: Option<&str>) -> Value {
    let mut c = json!({
        "name": name, "image": OLD_IMAGE,
        "command": ["sh", format!("{SCRIPTS}/{script}")],
        "ports": [{"name": name, "containerPort": port}],
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS, "readOnly": true},
            {"name": "secret", "mountPath": SECRETS, "readOnly": true},
            {"name": format!("{name}-conf"), "mountPath": CONF},
            {"name": "data", "mountPath": "/data"}
        ]
    });
    if let Some(key) = ready {
        c["readinessProbe"] = json!({"exec": {"command": ["sh", "-c",
            format!("REDISCLI_AUTH=$(cat {SECRETS}/{key}) redis-cli --no-auth-warning -p {port} PING | grep -q PONG")]}});
    }
    c
}

fn statefulset(
    name: &str,
    service: &str,
    replicas: u32,
    secret: &str,
    containers: Vec<Value>,
) -> Value {
    let mut volumes = vec![
        json!({"name": "scripts", "configMap": {"name": format!("{name}-scripts"), "defaultMode": 0o555}}),
        json!({"name": "secret", "secret": {"secretName": secret, "defaultMode": 0o440}}),
        json!({"name": "data", "emptyDir": {}}),
    ];
    for c in &containers {
        volumes.push(json!({"name": format!("{}-conf", c["name"].as_str().unwrap_or_default()), "emptyDir": {}}));
    }
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"serviceName": service, "replicas": replicas,
                    "template": {"spec": {
                        "securityContext": {"runAsUser": 1001, "runAsGroup": 1001, "fsGroup": 1001},
                        "terminationGracePeriodSeconds": 5,
                        "containers": containers, "volumes": volumes}}}})
}

/// Bitnami's node: the master the Sentinels name (asked of the other
/// pods' Sentinels), else pod 0; its pod host name announced.
const BITNAMI_NODE: &str = r#"set -eu
HEADLESS=redis-headless.shop.svc.cluster.local
me="$(hostname).$HEADLESS"
pw=$(cat /opt/old/secrets/redis-password)
tls=""
if [ "${TLS_ENABLED:-no}" = yes ]; then tls="--tls --cert /opt/old/tls/tls.crt --key /opt/old/tls/tls.key --cacert /opt/old/tls/ca.crt"; fi
master=""
for i in 0 1 2; do
    s="redis-node-$i.$HEADLESS"
    [ "$s" != "$me" ] && getent hosts "$s" >/dev/null || continue
    a=$(REDISCLI_AUTH="$pw" timeout 3 redis-cli $tls --no-auth-warning -h "$s" -p 26379 SENTINEL get-master-addr-by-name mymaster 2>/dev/null | sed -n 1p | tr -d '\r') || a=""
    if [ -n "$a" ]; then master=$a; break; fi
done
[ -n "$master" ] || master="redis-node-0.$HEADLESS"
{
    echo "port 6379"
    echo "bind 0.0.0.0"
    echo "dir /data"
    echo 'save ""'
    echo "repl-diskless-sync-delay 0"
    echo "requirepass \"$pw\""
    echo "masterauth \"$pw\""
    echo "replica-announce-ip $me"
    if [ "$master" != "$me" ]; then echo "replicaof $master 6379"; fi
    if [ -n "$tls" ]; then
        echo "port 0"
        echo "tls-port 6379"
        echo "tls-cert-file /opt/old/tls/tls.crt"
        echo "tls-key-file /opt/old/tls/tls.key"
        echo "tls-ca-cert-file /opt/old/tls/ca.crt"
        echo "tls-auth-clients yes"
        echo "tls-replication yes"
    fi
} > /opt/old/conf/redis.conf
exec redis-server /opt/old/conf/redis.conf
"#;

/// Bitnami's Sentinel: monitors the master its Redis follows (or its
/// Redis), host names resolved and announced, the Redis password as its
/// own (`auth.sentinel: true`).
const BITNAMI_SENTINEL: &str = r#"set -eu
HEADLESS=redis-headless.shop.svc.cluster.local
me="$(hostname).$HEADLESS"
pw=$(cat /opt/old/secrets/redis-password)
tls=""
if [ "${TLS_ENABLED:-no}" = yes ]; then tls="--tls --cert /opt/old/tls/tls.crt --key /opt/old/tls/tls.key --cacert /opt/old/tls/ca.crt"; fi
master=""; n=0
while [ -z "$master" ] && [ "$n" -lt 150 ]; do
    r=$(REDISCLI_AUTH="$pw" timeout 3 redis-cli $tls --no-auth-warning -p 6379 INFO replication 2>/dev/null | tr -d '\r') || r=""
    case "$r" in
        *role:master*) master=$me ;;
        *master_host:*) master=$(printf '%s\n' "$r" | sed -n 's/^master_host://p') ;;
    esac
    n=$((n + 1)); [ -n "$master" ] || sleep 0.2
done
[ -n "$master" ] || { echo "no master" >&2; exit 1; }
{
    echo "port 26379"
    echo "bind 0.0.0.0"
    echo "dir /opt/old/conf"
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    echo "sentinel announce-ip $me"
    echo "requirepass \"$pw\""
    echo "sentinel monitor mymaster $master 6379 2"
    echo "sentinel auth-pass mymaster \"$pw\""
    echo "sentinel down-after-milliseconds mymaster 60000"
    echo "sentinel failover-timeout mymaster 180000"
    if [ -n "$tls" ]; then
        echo "port 0"
        echo "tls-port 26379"
        echo "tls-cert-file /opt/old/tls/tls.crt"
        echo "tls-key-file /opt/old/tls/tls.key"
        echo "tls-ca-cert-file /opt/old/tls/ca.crt"
        echo "tls-auth-clients yes"
        echo "tls-replication yes"
    fi
} > /opt/old/conf/sentinel.conf
exec redis-sentinel /opt/old/conf/sentinel.conf
"#;

/// The Bitnami chart's TLS (`tls.enabled`, `tls.authClients: true`, its
/// default): one certificate for every pod (like the chart's generated
/// one: `*.redis-headless...`), in Secret `redis-crt` (`tls.crt`,
/// `tls.key`, `ca.crt`), Redis and Sentinel on TLS only, client
/// certificates required. As docs/migrating.md#tls says, the source
/// trusts the new topology's CA too (`new_ca`, appended to `ca.crt`).
struct BitnamiTls {
    ca: TestCa,
    new_ca: Vec<u8>,
    /// The client certificate of the old deployment's applications.
    client: Leaf,
}

impl BitnamiTls {
    fn new(dir: &Path, new: &Render) -> Result<BitnamiTls> {
        let ca = TestCa::new(&dir.join("bitnami-ca"), "bitnami-redis-ca", KeyType::EcP256)?;
        let new_ca = new
            .secret_data("cache-redis-tls")?
            .remove("ca.crt")
            .context("cache-redis-tls has no ca.crt")?;
        let client = ca.issue("app", &[], &[], &["clientAuth"], KeyType::EcP256, 30)?;
        Ok(BitnamiTls { ca, new_ca, client })
    }

    fn secret(&self) -> Result<Value> {
        let dns: Vec<String> = [
            "*.redis-headless.shop.svc.cluster.local",
            "redis-headless.shop.svc.cluster.local",
            "redis.shop.svc.cluster.local",
            "localhost",
        ]
        .map(String::from)
        .to_vec();
        let leaf = self.ca.issue(
            "redis.shop.svc.cluster.local",
            &dns,
            &["127.0.0.1"],
            &["serverAuth", "clientAuth"],
            KeyType::EcP256,
            30,
        )?;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut ca = self.ca.pem.as_bytes().to_vec();
        ca.extend_from_slice(&self.new_ca);
        Ok(json!({"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "redis-crt", "namespace": NS},
                  "data": {"tls.crt": b64(leaf.cert.as_bytes()), "tls.key": b64(leaf.key.as_bytes()),
                           "ca.crt": b64(&ca)}}))
    }
}

fn bitnami_with(tls: Option<&BitnamiTls>) -> Result<Old> {
    let pw = "bitnami-source-password-4f1c";
    let mut containers = vec![
        container("redis", "start-node.sh", REDIS_PORT, Some("redis-password")),
        container("sentinel", "start-sentinel.sh", SENTINEL_PORT, None),
    ];
    let mut tls_items = Vec::new();
    if let Some(t) = tls {
        tls_items.push(t.secret()?);
        for c in &mut containers {
            c["env"] = json!([{"name": "TLS_ENABLED", "value": "yes"}]);
            c["volumeMounts"]
                .as_array_mut()
                .context("volumeMounts")?
                .push(json!({"name": "tls", "mountPath": "/opt/old/tls", "readOnly": true}));
        }
        containers[0]["readinessProbe"]["exec"]["command"][2] = format!(
            "REDISCLI_AUTH=$(cat {SECRETS}/redis-password) redis-cli --tls --cert /opt/old/tls/tls.crt --key /opt/old/tls/tls.key --cacert /opt/old/tls/ca.crt --no-auth-warning -p {REDIS_PORT} PING | grep -q PONG"
        )
        .into();
    }
    let mut sts = statefulset("redis-node", "redis-headless", 3, "redis", containers);
    if tls.is_some() {
        sts["spec"]["template"]["spec"]["volumes"]
            .as_array_mut()
            .context("volumes")?
            .push(
                json!({"name": "tls", "secret": {"secretName": "redis-crt", "defaultMode": 0o440}}),
            );
    }
    let mut items = vec![
        secret("redis", "redis-password", pw),
        scripts(
            "redis-node-scripts",
            &[
                ("start-node.sh", BITNAMI_NODE),
                ("start-sentinel.sh", BITNAMI_SENTINEL),
            ],
        ),
        sts,
    ];
    items.extend(tls_items);
    Ok(Old {
        items,
        statefulset: "redis-node".into(),
        services: Vec::new(),
        master: "redis-node-0".into(),
        master_announced: MasterName::PodName,
        password: pw.into(),
        sentinels: Some(Sentinels {
            hosts: (0..3)
                .map(|i| svc(&format!("redis-node-{i}.redis-headless")))
                .collect(),
            master_name: "mymaster".into(),
            auth: true,
        }),
        client_tls: tls.map(|t| (t.ca.pem.clone(), t.client.clone())),
    })
}

/// redis-ha's Redis: announces its announce Service's address; the
/// master the Sentinels name, else pod 0's announce address; the chart's
/// `min-replicas-to-write 1`.
const REDIS_HA_SERVER: &str = r#"set -eu
i=${HOSTNAME##*-}
announce() { getent hosts "redis-ha-announce-$1.shop.svc.cluster.local" | awk '{print $1}'; }
me=$(announce "$i")
pw=$(cat /opt/old/secrets/auth)
master=""
for j in 0 1 2; do
    [ "$j" != "$i" ] || continue
    a=$(timeout 3 redis-cli -h "$(announce "$j")" -p 26379 SENTINEL get-master-addr-by-name mymaster 2>/dev/null | sed -n 1p | tr -d '\r') || a=""
    if [ -n "$a" ]; then master=$a; break; fi
done
[ -n "$master" ] || master=$(announce 0)
{
    echo "port 6379"
    echo "bind 0.0.0.0"
    echo "dir /data"
    echo 'save ""'
    echo "repl-diskless-sync-delay 0"
    echo "min-replicas-to-write 1"
    echo "min-replicas-max-lag 5"
    echo "requirepass \"$pw\""
    echo "masterauth \"$pw\""
    echo "replica-announce-ip $me"
    if [ "$master" != "$me" ]; then echo "replicaof $master 6379"; fi
} > /opt/old/conf/redis.conf
exec redis-server /opt/old/conf/redis.conf
"#;

/// redis-ha's Sentinel: no password of its own, announces its announce
/// Service's address, monitors the master by address.
const REDIS_HA_SENTINEL: &str = r#"set -eu
i=${HOSTNAME##*-}
announce() { getent hosts "redis-ha-announce-$1.shop.svc.cluster.local" | awk '{print $1}'; }
me=$(announce "$i")
pw=$(cat /opt/old/secrets/auth)
master=""; n=0
while [ -z "$master" ] && [ "$n" -lt 150 ]; do
    r=$(REDISCLI_AUTH="$pw" timeout 3 redis-cli --no-auth-warning -p 6379 INFO replication 2>/dev/null | tr -d '\r') || r=""
    case "$r" in
        *role:master*) master=$me ;;
        *master_host:*) master=$(printf '%s\n' "$r" | sed -n 's/^master_host://p') ;;
    esac
    n=$((n + 1)); [ -n "$master" ] || sleep 0.2
done
[ -n "$master" ] || { echo "no master" >&2; exit 1; }
{
    echo "port 26379"
    echo "bind 0.0.0.0"
    echo "dir /opt/old/conf"
    echo "sentinel announce-ip $me"
    echo "sentinel monitor mymaster $master 6379 2"
    echo "sentinel auth-pass mymaster \"$pw\""
    echo "sentinel down-after-milliseconds mymaster 10000"
    echo "sentinel failover-timeout mymaster 180000"
} > /opt/old/conf/sentinel.conf
exec redis-sentinel /opt/old/conf/sentinel.conf
"#;

fn redis_ha() -> Old {
    let pw = "redis-ha-source-password-9a2e";
    let items = vec![
        secret("redis-ha", "auth", pw),
        scripts(
            "redis-ha-server-scripts",
            &[
                ("redis.sh", REDIS_HA_SERVER),
                ("sentinel.sh", REDIS_HA_SENTINEL),
            ],
        ),
        statefulset(
            "redis-ha-server",
            "redis-ha",
            3,
            "redis-ha",
            vec![
                container("redis", "redis.sh", REDIS_PORT, Some("auth")),
                container("sentinel", "sentinel.sh", SENTINEL_PORT, None),
            ],
        ),
    ];
    let announce = |i: u32| svc(&format!("redis-ha-announce-{i}"));
    Old {
        items,
        statefulset: "redis-ha-server".into(),
        services: (0..3)
            .map(|i| (announce(i), format!("redis-ha-server-{i}")))
            .collect(),
        master: "redis-ha-server-0".into(),
        master_announced: MasterName::ServiceAddress(announce(0)),
        password: pw.into(),
        sentinels: Some(Sentinels {
            hosts: (0..3).map(announce).collect(),
            master_name: "mymaster".into(),
            auth: false,
        }),
        client_tls: None,
    }
}

/// The OpenShift guide's Redis: a standalone master with a password.
const GUIDE_REDIS: &str = r#"set -eu
pw=$(cat /opt/old/secrets/password)
{
    echo "port 6379"
    echo "bind 0.0.0.0"
    echo "dir /data"
    echo 'save ""'
    echo "repl-diskless-sync-delay 0"
    echo "requirepass \"$pw\""
} > /opt/old/conf/redis.conf
exec redis-server /opt/old/conf/redis.conf
"#;

fn openshift_guide() -> Old {
    let pw = "guide-source-password-71d0";
    let items = vec![
        secret("redis-password", "password", pw),
        scripts("redis-scripts", &[("redis.sh", GUIDE_REDIS)]),
        statefulset(
            "redis",
            "redis",
            3,
            "redis-password",
            vec![container("redis", "redis.sh", REDIS_PORT, Some("password"))],
        ),
    ];
    Old {
        items,
        statefulset: "redis".into(),
        services: Vec::new(),
        master: "redis-0".into(),
        master_announced: MasterName::PodName,
        password: pw.into(),
        sentinels: None,
        client_tls: None,
    }
}

/// The recipe `file` of the guide and its two follow-ups: the same spec
/// with `cutover: true`, and without `spec.migration`.
fn recipe_specs(file: &str, dir: &Path) -> Result<[std::path::PathBuf; 3]> {
    let names = extract_code_blocks(&repo_path(GUIDE), dir)?;
    ensure!(
        names.iter().any(|n| n == file),
        "{GUIDE} has no block {file}: {names:?}"
    );
    let spec = dir.join(file);
    let doc: Value = serde_norway::from_str(&fs::read_to_string(&spec)?)?;
    ensure!(
        doc["spec"]["migration"]["source"].is_object(),
        "{file}: no spec.migration.source"
    );
    let mut cut = doc.clone();
    cut["spec"]["migration"]["cutover"] = true.into();
    let mut plain = doc;
    plain["spec"]
        .as_object_mut()
        .context("spec")?
        .remove("migration");
    let cut_path = dir.join(format!("cut-{file}"));
    let plain_path = dir.join(format!("plain-{file}"));
    fs::write(&cut_path, serde_norway::to_string(&cut)?)?;
    fs::write(&plain_path, serde_norway::to_string(&plain)?)?;
    Ok([spec, cut_path, plain_path])
}

/// The old deployment's client (plain text, its password).
fn old_client(c: &Cluster, old: &Old) -> Result<Client> {
    let cred = Credentials {
        user: None,
        password: old.password.clone(),
    };
    let dir = c.work.join("old-client");
    let tls = old
        .client_tls
        .as_ref()
        .map(|(ca, leaf)| {
            TlsFiles::write(
                &dir,
                ca.as_bytes(),
                leaf.cert.as_bytes(),
                leaf.key.as_bytes(),
            )
        })
        .transpose()?;
    Ok(Client {
        netns: c.client().netns.clone(),
        dir,
        tls,
        ca_only: None,
        redis_auth: Some(cred.clone()),
        sentinel_auth: old.sentinels.as_ref().filter(|s| s.auth).map(|_| cred),
    })
}

/// One recipe's cluster: the new topology (sync, cut-over and
/// without-migration renders, each with the old deployment's objects) and
/// the old deployment.
struct Run {
    old: Old,
    new: Render,
    cut: Render,
    plain: Render,
    c: Cluster,
    t: Topo,
    /// The old master's DNS name, and the host its Sentinels name (or
    /// pod 0 replicates from).
    master_fqdn: String,
    announced: String,
}

impl Run {
    /// Renders the recipe `file` as written (and its follow-ups), builds
    /// the old deployment with `old` and the cluster holding both.
    fn new(file: &str, old: impl FnOnce(&Path, &Render) -> Result<Old>) -> Result<Run> {
        let dir = scratch_root().join(format!(
            "recipe-{}-{}",
            file.trim_end_matches(".yaml"),
            std::process::id()
        ));
        let [spec, cut_spec, plain_spec] = recipe_specs(file, &dir)?;
        let rendered = Render::spec_as_written(&spec, Some(SEED))?;
        let old = old(&dir, &rendered)?;
        let with_old = |mut r: Render| {
            r.items.extend(old.items.iter().cloned());
            r
        };
        let new = with_old(rendered);
        let cut = with_old(Render::spec_as_written(&cut_spec, Some(SEED))?);
        let plain = with_old(Render::spec_as_written(&plain_spec, Some(SEED))?);
        let image = redis_sentinel_fn::spec::model::defaults::IMAGE;
        let opts = ClusterOptions {
            images: vec![(image.to_string(), Server::build("valkey-9.1")?)],
            ..Default::default()
        };
        let mut c = Cluster::new(&new, opts)?;
        for (name, pod) in &old.services {
            let addr = c.add_service(name, pod)?;
            println!("{file}: Service {name} at {addr} in front of {pod}");
        }
        let t = Topo::new(&new, &c)?;
        for w in new.workloads()? {
            if w.name == t.redis_sts || w.name == t.sentinel_sts {
                ensure!(w.image == image, "{}: image {}", w.name, w.image);
            }
        }
        let master_fqdn = c.pod(&old.master).fqdn.clone();
        let announced = match &old.master_announced {
            MasterName::PodName => master_fqdn.clone(),
            MasterName::ServiceAddress(name) => c
                .services()
                .find(|(n, _, _)| n == name)
                .map(|(_, a, _)| a.to_string())
                .context("no such Service")?,
        };
        Ok(Run {
            old,
            new,
            cut,
            plain,
            c,
            t,
            master_fqdn,
            announced,
        })
    }

    fn old_client(&self) -> Result<Client> {
        old_client(&self.c, &self.old)
    }

    /// The old deployment as its chart starts it, healthy, with the data
    /// set; then the writer on it (through its Sentinels, or to the
    /// standalone master).
    fn start_old(&mut self) -> Result<Writer> {
        for p in self.c.pods_of(&self.old.statefulset) {
            self.c.start(&p)?;
            self.c.wait_ready(&p, READY)?;
        }
        let ocl = self.old_client()?;
        if let Some(s) = &self.old.sentinels {
            wait_for(
                "every old Sentinel to name the master",
                SETTLE,
                POLL,
                || {
                    for h in &s.hosts {
                        let m = harness::master_addr(&ocl, &s.master_name, h, SENTINEL_PORT)?;
                        if m != self.announced {
                            return Err(format!("{h} names {m}"));
                        }
                    }
                    Ok(())
                },
            )?;
            // The chart's replicas are online (redis-ha's master refuses
            // writes with fewer than one: min-replicas-to-write 1).
            wait_for("the old replicas to be online", SETTLE, POLL, || {
                let r = ocl
                    .redis(&self.master_fqdn, REDIS_PORT, &["INFO", "replication"])
                    .map_err(|e| e.to_string())?;
                match r.text().matches("state=online").count() {
                    2 => Ok(()),
                    n => Err(format!("{n} replicas online")),
                }
            })?;
        }
        let new_client = self.c.set_client(self.old_client()?);
        populate(&self.c, &self.master_fqdn, REDIS_PORT, DATA_MB)?;
        if let Some(cl) = new_client {
            self.c.set_client(cl);
        }
        let size = ocl.redis(&self.master_fqdn, REDIS_PORT, &["DBSIZE"])?;
        ensure!(
            size.text().parse::<usize>().unwrap_or(0) >= DATA_MB * 1000,
            "the data set was not written to the old master: DBSIZE {}",
            size.summary()
        );
        let endpoint = match &self.old.sentinels {
            Some(s) => Endpoint::Sentinels {
                master_name: s.master_name.clone(),
                sentinels: s.hosts.clone(),
                sentinel_port: SENTINEL_PORT,
                redis_port: REDIS_PORT,
            },
            None => Endpoint::Fixed {
                host: self.master_fqdn.clone(),
                port: REDIS_PORT,
            },
        };
        Ok(Writer::start_on(
            self.old_client()?,
            endpoint,
            WriterOptions::new("mig"),
        ))
    }

    /// Sync: the new Sentinels (monitoring nothing), pod 0 (Ready = in
    /// sync with the source's master), pods 1 and 2 (from pod 0). Returns
    /// pod 0's time to Ready.
    fn sync(&mut self) -> Result<Duration> {
        let t = self.t.clone();
        for s in &t.sentinels {
            self.c.start(s)?;
        }
        for s in &t.sentinels {
            self.c.wait_ready(s, READY)?;
        }
        let pod0 = &t.redis[0];
        self.c.start(pod0)?;
        let sync = self.c.wait_ready(pod0, Duration::from_secs(300))?;
        let rep = t.redis(&self.c, pod0, &["INFO", "replication"])?;
        let (host, link) = (
            info_field(&rep, "master_host"),
            info_field(&rep, "master_link_status"),
        );
        ensure!(
            host == self.announced && link == "up",
            "pod 0 replicates from {host:?} (link {link:?}), not the source's master {}",
            self.announced
        );
        // Pods 1 and 2 together (the render's repl-diskless-sync-max-replicas
        // 2 then starts their full sync from pod 0 at once, where one by one
        // the first waits repl-diskless-sync-delay, 5 s): what they do is the
        // same for every source.
        for r in &t.redis[1..] {
            self.c.start(r)?;
        }
        for r in &t.redis[1..] {
            self.c.wait_ready(r, READY)?;
        }
        Ok(sync)
    }

    /// Cut-over: kubelet updates the topology ConfigMap (no pod restarts);
    /// pod 0 is promoted, the writer moves to the new Sentinels, the old
    /// master refuses writes. Returns the old master's key counts and the
    /// report line.
    fn cutover(&mut self, w: &Writer, event_unix: f64) -> Result<((usize, usize), String)> {
        let event = Instant::now();
        let t = self.t.clone();
        let pod0 = &t.redis[0];
        for p in t.redis.iter().chain(&t.sentinels) {
            let wl = self.c.pod(p).workload.with_data_from(&self.cut)?;
            self.c.sync_volumes(p, wl)?;
        }
        wait_for("pod 0 promoted by the cut-over", SETTLE, POLL, || {
            let r = t
                .redis(&self.c, pod0, &["ROLE"])
                .map_err(|e| e.to_string())?;
            match r.lines().first() {
                Some(&"master") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })?;
        w.switch_to(&self.c, &self.new, &t)?;
        t.wait_sentinels_agree(&self.c, pod0, 2)?;
        let named = event.elapsed();
        w.wait_acked(w.acked_so_far() + 10, SETTLE)?;
        let ocl = self.old_client()?;
        let refused = ocl.redis(&self.master_fqdn, REDIS_PORT, &["SET", "after", "cutover"])?;
        ensure!(
            refused.text().contains("NOREPLICAS"),
            "the old master took a write after the cut-over: {}",
            refused.summary()
        );
        let old_keys = key_counts(&ocl, &self.master_fqdn, REDIS_PORT)?;
        let clock = cutover_clock(&self.c.log(pod0), event_unix)?;
        let adopted: Vec<String> = t
            .sentinels
            .iter()
            .filter_map(|p| cutover_clock(&self.c.log(p), event_unix).ok())
            .collect();
        let line = format!(
            "cut-over after the ask: {clock}; new Sentinels {}; every new Sentinel names pod 0 after {}; old master answers {:?}",
            adopted.join(", "),
            secs(named),
            refused.text(),
        );
        Ok((old_keys, line))
    }
}

/// The whole recipe; with `remove_after`, the section is then removed
/// (the rollout checked as described at the top).
fn run_recipe(
    file: &str,
    old: impl FnOnce(&Path, &Render) -> Result<Old>,
    remove_after: bool,
) -> Result<()> {
    harness::require_environment()?;
    let started = Instant::now();
    let mut r = Run::new(file, old)?;
    let w = r.start_old()?;
    let old_up = started.elapsed();
    let sync = r.sync()?;
    w.wait_acked(w.acked_so_far() + 10, SETTLE)?;
    let event = Instant::now();
    let (old_keys, cut_line) = r.cutover(&w, harness::unix_now())?;
    println!(
        "{file}: old deployment up and {DATA_MB} MB written in {}; pod 0 in sync after {}; {cut_line}",
        secs(old_up),
        secs(sync),
    );
    let pod0 = r.t.redis[0].clone();
    let pod0_fqdn = r.t.fqdn(&r.c, &pod0);
    let rolled = if remove_after {
        let old_pods = r.c.pods_of(&r.old.statefulset);
        Some(remove_section(
            &mut r.c,
            &r.t,
            &r.plain,
            &old_pods,
            &r.old.master,
            &w,
        )?)
    } else {
        None
    };
    let final_master = rolled.as_ref().map_or(pod0, |x| x.0.clone());
    let writes = w.stop()?;
    let lost = writes.lost(&r.c, &r.t, &final_master)?;
    let new_keys = key_counts(r.c.client(), &r.t.fqdn(&r.c, &final_master), REDIS_PORT)?;
    ensure!(
        old_keys.0 == new_keys.0 && new_keys.1 >= old_keys.1,
        "key counts differ: old master {old_keys:?}, new master {new_keys:?} (others, the writer's)"
    );
    let gap = writes.longest_gap(event, writes.end);
    let first = writes
        .first_ack_after_on(event, &pod0_fqdn)
        .context("no acknowledged write on the new master")?;
    println!(
        "{file}: writer: {}; first acknowledged write on the new master {} after the ask; longest gap without one from the ask on {}; {} acknowledged writes lost; keys other than the writer's: old master {}, new master {}; whole recipe {}",
        writes.summary(),
        secs(first),
        secs(gap),
        lost.len(),
        old_keys.0,
        new_keys.0,
        secs(started.elapsed())
    );
    if let Some((_, from, to)) = rolled {
        println!(
            "{file}: rollout without spec.migration: longest gap without an acknowledged write {} (rollout {})",
            secs(writes.longest_gap(from, to)),
            secs(to - from)
        );
    }
    Writes::ensure_none_lost(file, &final_master, &lost)?;
    r.c.pass();
    Ok(())
}

/// After the cut-over: the render without `spec.migration` applied (both
/// StatefulSets roll: replicas first, the master handed over last) while
/// the writer writes to the new topology and nftables in every old pod
/// records who connects. No new pod may connect to the old deployment;
/// pod 0 comes back as an ordinary replica. Returns the final master and
/// when the rollout began and ended.
fn remove_section(
    c: &mut Cluster,
    t: &Topo,
    plain: &Render,
    old_pods: &[String],
    old_master: &str,
    w: &Writer,
) -> Result<(String, Instant, Instant)> {
    ensure!(
        !plain
            .configmap_data(&format!("{}-redis", t.instance))?
            .contains_key("migrate-redis.sh"),
        "the render without spec.migration still has the migration script"
    );
    let new_pods: Vec<String> = t.redis.iter().chain(&t.sentinels).cloned().collect();
    let mut new_addrs: BTreeSet<Ipv4Addr> = new_pods.iter().map(|p| c.pod(p).ip).collect();
    let watch = ConnectionWatch::start(c, old_pods)?;
    let acked_before = w.acked_so_far();
    let report = Rollout::apply(c, plain)?;
    new_addrs.extend(new_pods.iter().map(|p| c.pod(p).ip));
    let master = t.current_master(c)?;
    t.wait_sentinels_agree(c, &master, 2)?;
    w.wait_acked(w.acked_so_far() + 10, SETTLE)?;
    let pod0 = &t.redis[0];
    ensure!(
        report.event(pod0).is_some_and(|e| e.ready.is_some()),
        "pod 0 was not rolled: {}",
        report.summary()
    );
    t.wait_replica_of(c, pod0, &master)?;
    let log = c.last_start_log(pod0);
    ensure!(
        !log.contains("migration: ") && !log.contains("migrate-redis"),
        "pod 0's start without spec.migration still speaks of the migration:\n{log}"
    );
    let rep = t.redis(c, pod0, &["INFO", "replication"])?;
    ensure!(
        info_field(&rep, "slave_priority") == "100",
        "pod 0's replica-priority (0 during a sync): {}",
        rep.summary()
    );
    for s in &t.sentinels {
        let reps = t.sentinel(c, s, &["SENTINEL", "replicas", &t.master_name])?;
        let names: Vec<String> = harness::replica_records(&reps)
            .iter()
            .map(|r| harness::get(r, "ip").to_string())
            .collect();
        ensure!(
            names.iter().all(|n| !n.contains(".redis-headless.")),
            "{s} lists an old pod as a replica: {names:?}"
        );
    }
    let seen = watch.sources(c)?;
    let mut contacts = Vec::new();
    for (pod, addrs) in &seen {
        for a in addrs.intersection(&new_addrs) {
            contacts.push(format!("{a} -> {pod}"));
        }
    }
    ensure!(
        contacts.is_empty(),
        "new pods connected to the old deployment after the section was removed: {contacts:?}"
    );
    // The control: the watch sees a new pod's connection (pod 0 pings the
    // old master once, by hand).
    let old_fqdn = c.pod(old_master).fqdn.clone();
    c.exec(
        pod0,
        &[
            "redis-cli",
            "-h",
            &old_fqdn,
            "-p",
            &REDIS_PORT.to_string(),
            "PING",
        ],
        Duration::from_secs(10),
    )?;
    let control = watch.sources(c)?;
    ensure!(
        control
            .get(old_master)
            .is_some_and(|a| a.contains(&c.pod(pod0).ip)),
        "the watch did not see pod 0's control connection to {old_master}: {control:?}"
    );
    println!(
        "section removed after the cut-over: {}; master now {master}, pod 0 a replica of it (replica-priority 100, no migration in its start log); {} writes acknowledged during and after the rollout; connections to the old pods during the rollout came from {:?}, none from the new pods' addresses {:?} (a control connection from pod 0 was seen)",
        report.summary(),
        w.acked_so_far() - acked_before,
        seen,
        new_addrs
    );
    Ok((master, report.started, report.finished))
}

#[test]
fn bitnami_recipe_moves_and_the_section_is_removed_after_the_cutover() -> Result<()> {
    run_recipe("bitnami.yaml", |_, _| bitnami_with(None), true)
}

#[test]
fn bitnami_tls_recipe_moves_without_losing_an_acknowledged_write() -> Result<()> {
    run_recipe(
        "bitnami-tls.yaml",
        |dir, new| bitnami_with(Some(&BitnamiTls::new(dir, new)?)),
        false,
    )
}

#[test]
fn redis_ha_recipe_moves_without_losing_an_acknowledged_write() -> Result<()> {
    run_recipe("redis-ha.yaml", |_, _| Ok(redis_ha()), false)
}

#[test]
fn openshift_guide_recipe_moves_without_losing_an_acknowledged_write() -> Result<()> {
    run_recipe("openshift-guide.yaml", |_, _| Ok(openshift_guide()), false)
}
