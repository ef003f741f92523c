//! End-to-end, on real Redis: certificates from cert-manager and from the
//! OpenShift service CA, renewed outside the function while clients write.
//!
//! The test plays the issuer. For `cert-manager` it issues what each
//! rendered `Certificate` asks for (its DNS names, IP addresses and usages,
//! a new key each time) into the Secret the Certificate names, with
//! `ca.crt`; for the service CA it issues a serverAuth-only certificate for
//! each Service carrying `service.beta.openshift.io/serving-cert-secret-name`
//! (the Service's names, plus the wildcards for a headless Service) into
//! that Secret (`tls.crt`/`tls.key`, no `ca.crt`) and injects the CA into the
//! ConfigMap annotated `inject-cabundle`. It brings the topology up, runs a
//! failover, then renews every certificate by swapping the mounted files as
//! the kubelet does (a new directory, then one rename of `..data`) while a
//! writer counts `WAIT`-acknowledged writes, and measures:
//! - how long until every Redis and Sentinel serves the new certificate
//!   (`openssl s_client` from the client namespace, verifying the chain and
//!   the pod's DNS name, reading the serial);
//! - fresh TLS handshakes to every pod during the renewal that fail (must
//!   be none; a Sentinel restarting refuses connections for a moment, which
//!   is counted apart);
//! - the writer's longest gap between acknowledged writes, and acknowledged
//!   writes lost (must be none).
//!
//! On a server that reloads the files itself (Valkey 9.1+,
//! `tls-auto-reload-interval`; `E2E_SERVER=valkey-9.1`) the watcher and the
//! Sentinel restarts do not start: every pod must log Valkey's own reload,
//! and no handshake may be refused. On any other server the cert-manager
//! scenario ends with a server upgrade's window: the Valkey 9.1 ConfigMaps
//! on the old binary, whose master and a Sentinel restart in place
//! ([`old_server_on_new_configuration`]).

use crate::harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine;
use serde_json::{Value, json};

use harness::{
    Cluster, KeyType, Outcome, READY, Render, SERVER_RELOADED, Served, TestCa, Topo, Writer,
    WriterOptions, bring_up, kubelet_sync, secs, served, server_reloads, strings,
};

/// Every pod must serve the renewed certificate within this time: the
/// watch interval (10 s) plus one slot per Sentinel (10 s each) and margin.
const RENEWED_WITHIN: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Source {
    CertManager,
    ServiceCa,
}

/// The test as the issuer of one source.
struct Issuer {
    source: Source,
    ca: TestCa,
    key: KeyType,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn put(render: &mut Render, obj: Value) {
    let (k, n) = (obj["kind"].clone(), obj["metadata"]["name"].clone());
    render
        .items
        .retain(|i| !(i["kind"] == k && i["metadata"]["name"] == n));
    render.items.push(obj);
}

impl Issuer {
    fn new(source: Source, dir: &Path) -> Result<Issuer> {
        // The service CA signs with RSA-2048 keys; cert-manager with the
        // key the Certificate asks for (the fixture's default ECDSA P-256).
        let key = match source {
            Source::CertManager => KeyType::EcP256,
            Source::ServiceCa => KeyType::Rsa2048,
        };
        let ca = TestCa::new(dir, &format!("{source:?}-ca"), key)?;
        Ok(Issuer { source, ca, key })
    }

    /// Issues (or renews) every certificate Secret the source would write;
    /// returns the serial per Secret.
    fn issue_all(&self, render: &mut Render) -> Result<BTreeMap<String, String>> {
        let mut serials = BTreeMap::new();
        let mut secrets = Vec::new();
        for item in &render.items {
            let ns = item["metadata"]["namespace"].as_str().unwrap_or("default");
            match (self.source, item["kind"].as_str()) {
                (Source::CertManager, Some("Certificate")) if item["spec"]["isCA"] != true => {
                    let spec = &item["spec"];
                    if spec["privateKey"]["algorithm"] != "ECDSA" {
                        bail!("the fixture asks for ECDSA keys");
                    }
                    let usages = strings(&spec["usages"]);
                    let ekus: Vec<&str> = usages
                        .iter()
                        .filter_map(|u| match u.as_str() {
                            "server auth" => Some("serverAuth"),
                            "client auth" => Some("clientAuth"),
                            _ => None,
                        })
                        .collect();
                    let ips = strings(&spec["ipAddresses"]);
                    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
                    let leaf = self.ca.issue(
                        spec["commonName"].as_str().unwrap_or("leaf"),
                        &strings(&spec["dnsNames"]),
                        &ips,
                        &ekus,
                        self.key,
                        90,
                    )?;
                    let name = spec["secretName"].as_str().context("secretName")?;
                    serials.insert(name.to_string(), leaf.serial.clone());
                    secrets.push(json!({
                        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                        "metadata": {"name": name, "namespace": ns,
                                     "labels": spec["secretTemplate"]["labels"]},
                        "data": {"tls.crt": b64(&leaf.cert), "tls.key": b64(&leaf.key),
                                 "ca.crt": b64(&self.ca.pem)},
                    }));
                }
                (Source::ServiceCa, Some("Service")) => {
                    let ann = &item["metadata"]["annotations"];
                    let Some(name) =
                        ann["service.beta.openshift.io/serving-cert-secret-name"].as_str()
                    else {
                        continue;
                    };
                    let svc = item["metadata"]["name"].as_str().context("service name")?;
                    let mut dns = vec![
                        format!("{svc}.{ns}.svc"),
                        format!("{svc}.{ns}.svc.cluster.local"),
                    ];
                    if item["spec"]["clusterIP"] == "None" {
                        dns.push(format!("*.{svc}.{ns}.svc"));
                        dns.push(format!("*.{svc}.{ns}.svc.cluster.local"));
                    }
                    let leaf = self
                        .ca
                        .issue(&dns[0], &dns, &[], &["serverAuth"], self.key, 730)?;
                    serials.insert(name.to_string(), leaf.serial.clone());
                    secrets.push(json!({
                        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                        "metadata": {"name": name, "namespace": ns},
                        "data": {"tls.crt": b64(&leaf.cert), "tls.key": b64(&leaf.key)},
                    }));
                }
                _ => {}
            }
        }
        ensure!(
            !secrets.is_empty(),
            "nothing to issue for {:?}",
            self.source
        );
        for s in secrets {
            put(render, s);
        }
        if self.source == Source::ServiceCa {
            let cm = render
                .items
                .iter_mut()
                .find(|i| {
                    i["kind"] == "ConfigMap"
                        && i["metadata"]["annotations"]["service.beta.openshift.io/inject-cabundle"]
                            == "true"
                })
                .ok_or_else(|| anyhow!("no ConfigMap to inject the CA bundle into"))?;
            cm["data"] = json!({"service-ca.crt": self.ca.pem});
        }
        Ok(serials)
    }
}

/// Kills the master; the Sentinels must elect another; the old one rejoins
/// as a replica and every Sentinel sees it again.
fn failover_check(c: &mut Cluster, t: &Topo) -> Result<String> {
    let old = t.current_master(c)?;
    let killed = Instant::now();
    c.kill(&old)?;
    let (new, named, writable) = t.wait_new_master(c, &t.sentinels, &old, killed)?;
    c.start(&old)?;
    c.wait_ready(&old, READY)?;
    t.wait_replica_of(c, &old, &new)?;
    t.wait_sentinels_agree(c, &new, t.redis.len() - 1)?;
    println!(
        "e2e-sources: failover: {old} killed, {new} named master after {} and writable after {}",
        secs(named),
        secs(writable)
    );
    Ok(new)
}

/// Every pod with the port it serves TLS on.
fn pods(t: &Topo) -> Vec<(String, u16)> {
    t.redis
        .iter()
        .map(|p| (p.clone(), t.redis_port))
        .chain(t.sentinels.iter().map(|p| (p.clone(), t.sentinel_port)))
        .collect()
}

fn scenario(source: Source, fixture: &str) -> Result<()> {
    harness::require_environment()?;
    let reloads = server_reloads()?;
    let work = harness::scratch_root().join(format!("sources-{source:?}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut render = Render::spec(Path::new(fixture))?;
    let issuer = Issuer::new(source, &work.join("issuer"))?;
    let first = issuer.issue_all(&mut render)?;
    let (mut c, t) = bring_up(&render)?;
    let ca = work.join("issuer").join("ca.crt");
    let client_cert = c.client().tls.clone();
    let secret_of = |pod: &str| -> &str {
        if t.redis.iter().any(|p| p == pod) {
            "cache-redis-tls"
        } else {
            "cache-sentinel-tls"
        }
    };
    // Every pod serves the issued certificate, verified for its own name.
    for (p, port) in pods(&t) {
        let got = served(&c, &t.fqdn(&c, &p), port, &ca, client_cert.as_ref())?;
        ensure!(
            got == Served::Serial(first[secret_of(&p)].clone()),
            "{p} serves {got:?}"
        );
    }
    println!(
        "e2e-sources: {source:?}: every pod serves the issued certificate (chain and DNS name verified)"
    );
    failover_check(&mut c, &t)?;

    // ---- renewal while the writer runs; SOURCES_RUNS=n repeats it (CI: once)
    let runs: usize = std::env::var("SOURCES_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut first = first;
    let mut renewed = first.clone();
    for run in 1..=runs {
        println!("e2e-sources: {source:?}: renewal run {run} of {runs}");
        // ---- renewal while the writer runs
        let w = Writer::start(&c, &render, &t, WriterOptions::new(&format!("renew{run}")))?;
        w.wait_acked(10, Duration::from_secs(30))?;
        renewed = issuer.issue_all(&mut render)?;
        let marks: Vec<(String, usize)> = pods(&t)
            .into_iter()
            .map(|(p, _)| {
                let at = c.log(&p).len();
                (p, at)
            })
            .collect();
        let swap = Instant::now();
        kubelet_sync(&mut c, &render, &t.redis)?;
        kubelet_sync(&mut c, &render, &t.sentinels)?;
        let all_pods = pods(&t);
        let mut when: BTreeMap<String, Duration> = BTreeMap::new();
        let mut failed: Vec<String> = Vec::new();
        let mut refused = 0usize;
        let mut handshakes = 0usize;
        while when.len() < all_pods.len() && swap.elapsed() < RENEWED_WITHIN {
            // A fresh handshake with every pod each round, renewed or not.
            for (p, port) in &all_pods {
                handshakes += 1;
                match served(&c, &t.fqdn(&c, p), *port, &ca, client_cert.as_ref())? {
                    Served::Serial(s) if s == renewed[secret_of(p)] => {
                        when.entry(p.clone()).or_insert_with(|| swap.elapsed());
                    }
                    Served::Serial(s) if s == first[secret_of(p)] => {}
                    Served::Serial(s) => failed.push(format!("{p}: unknown serial {s}")),
                    Served::Refused => refused += 1,
                    Served::Failed(e) => {
                        failed.push(format!("{p} at {}: {e}", secs(swap.elapsed())))
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // Writes keep flowing a little after the last pod renewed.
        std::thread::sleep(Duration::from_secs(2));
        let writes = w.stop()?;
        for (p, d) in &when {
            println!(
                "e2e-sources: {source:?}: {p} serves the renewed certificate {} after the swap",
                secs(*d)
            );
        }
        ensure!(
            when.len() == all_pods.len(),
            "not every pod serves the renewed certificate within {RENEWED_WITHIN:?}: {when:?}"
        );
        ensure!(failed.is_empty(), "TLS handshakes failed: {failed:?}");
        if reloads {
            for (p, at) in &marks {
                let log = harness::log_since(&c, p, *at);
                ensure!(
                    log.contains(SERVER_RELOADED) && !log.contains("renewed certificate"),
                    "{p}: the server's own reload ({SERVER_RELOADED:?}) and no watcher expected; log since the swap: {log}"
                );
            }
            ensure!(
                refused == 0,
                "{refused} handshakes refused: a Sentinel restarted although the server reloads itself"
            );
        }
        let master = t.current_master(&c)?;
        let lost = writes.lost(&c, &t, &master)?;
        let outage = writes.longest_gap(swap, writes.end);
        let all = *when.values().max().unwrap_or(&Duration::ZERO);
        println!("e2e-sources: {source:?}: writer: {}", writes.summary());
        println!(
            "e2e-sources: {source:?}: RENEWAL ({}) every pod serves the new certificate {} after the swap; {handshakes} fresh handshakes, {} failed, {refused} refused (Sentinel restarting); longest time without an acknowledged write {}; acknowledged writes lost {}",
            if reloads {
                "the server reloads itself"
            } else {
                "watcher and Sentinel restarts"
            },
            secs(all),
            failed.len(),
            secs(outage),
            lost.len()
        );
        ensure!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
        ensure!(
            writes.count(&Outcome::NoAnswer) == 0,
            "writes without an answer (a failed connection or handshake): {}",
            writes.summary()
        );
        t.ensure_quorum(&c, "OK")?;
        first = renewed.clone();
    }
    if source == Source::CertManager && reloads {
        sentinel_down_reloading(&mut c, &t, &mut render, &issuer, &ca)?;
    } else if source == Source::CertManager {
        never_below_quorum(&mut c, &t, &mut render, &issuer, &ca, &renewed)?;
        old_server_on_new_configuration(&mut c, &t, &mut render, &issuer, &ca, fixture, &work)?;
    }
    c.pass();
    Ok(())
}

/// With one Sentinel of three down, a renewal must not restart another
/// (two down would leave no majority): the others wait, saying so, while
/// Redis reloads at once; when the stopped Sentinel is back (with the new
/// files), they restart one at a time.
fn never_below_quorum(
    c: &mut Cluster,
    t: &Topo,
    render: &mut Render,
    issuer: &Issuer,
    ca: &Path,
    before: &BTreeMap<String, String>,
) -> Result<()> {
    let client_cert = c.client().tls.clone();
    let down = t.sentinels[2].clone();
    let up = &t.sentinels[..2];
    c.stop(&down)?;
    let marks: Vec<usize> = up.iter().map(|s| c.log(s).len()).collect();
    let renewed = issuer.issue_all(render)?;
    let swap = Instant::now();
    kubelet_sync(c, render, &t.redis)?;
    kubelet_sync(c, render, &t.sentinels)?;
    // Both running Sentinels reach their slot and decline.
    for (s, mark) in up.iter().zip(&marks) {
        harness::wait_for(
            &format!("{s} to wait for its peers"),
            RENEWED_WITHIN,
            harness::POLL,
            || {
                let log = harness::log_since(c, s, *mark);
                if log.contains("renewed certificate waits: 1 of 2 peer Sentinels ready") {
                    Ok(())
                } else {
                    Err("no wait logged yet".to_string())
                }
            },
        )?;
        let got = served(c, &t.fqdn(c, s), t.sentinel_port, ca, client_cert.as_ref())?;
        ensure!(
            got == Served::Serial(before["cache-sentinel-tls"].clone()),
            "{s} restarted with a peer down: it serves {got:?}"
        );
    }
    // Redis reloads whatever the Sentinels do.
    harness::wait_for(
        "every Redis to serve the renewed certificate",
        RENEWED_WITHIN,
        Duration::from_millis(500),
        || {
            for r in &t.redis {
                match served(c, &t.fqdn(c, r), t.redis_port, ca, client_cert.as_ref()) {
                    Ok(Served::Serial(x)) if x == renewed["cache-redis-tls"] => {}
                    other => return Err(format!("{r}: {other:?}")),
                }
            }
            Ok(())
        },
    )?;
    // Still waiting, still the old certificate.
    for s in up {
        let got = served(c, &t.fqdn(c, s), t.sentinel_port, ca, client_cert.as_ref())?;
        ensure!(
            got == Served::Serial(before["cache-sentinel-tls"].clone()),
            "{s} restarted with a peer down: it serves {got:?}"
        );
    }
    let waited = swap.elapsed();
    c.start(&down)?;
    c.wait_ready(&down, READY)?;
    let (_, took) = harness::wait_for(
        "the waiting Sentinels to restart with the renewed certificate",
        RENEWED_WITHIN,
        Duration::from_millis(500),
        || {
            for s in up {
                match served(c, &t.fqdn(c, s), t.sentinel_port, ca, client_cert.as_ref()) {
                    Ok(Served::Serial(x)) if x == renewed["cache-sentinel-tls"] => {}
                    other => return Err(format!("{s}: {other:?}")),
                }
            }
            Ok(())
        },
    )?;
    t.ensure_quorum(c, "OK")?;
    println!(
        "e2e-sources: QUORUM with {down} stopped, the other Sentinels kept the old certificate and waited ({} observed; Redis reloaded at once); once {down} was back they restarted within {}",
        secs(waited),
        secs(took)
    );
    Ok(())
}

/// The image every pod is moved to in [`old_server_on_new_configuration`].
const UPGRADE_IMAGE: &str = "docker.io/valkey/valkey:9.1.2";

/// A server upgrade's window: the ConfigMaps rendered for Valkey 9.1.2
/// (whose gated settings, `rdb-version-check relaxed` and
/// `tls-auto-reload-interval`, the server under test refuses) reach the
/// pods before the rollout does, and the master and a Sentinel, still on
/// the old binary, crash and restart in place (SIGKILL, then the kubelet's
/// restart: the same template, the new files). While the acknowledged
/// writer runs, both must start (the gated lines left out, each logged),
/// the old master rejoin as a replica of the new one, the Sentinels agree
/// with their quorum, and no acknowledged write be lost; and since the old
/// binary does not reload certificates itself, the restarted Redis's
/// watcher must pick up a renewal and the Sentinel run under the
/// supervising launch (its restarts). Before the gated
/// settings the restarted master exited at once (`Bad directive`): a crash
/// loop until the rollout reached it.
fn old_server_on_new_configuration(
    c: &mut Cluster,
    t: &Topo,
    render: &mut Render,
    issuer: &Issuer,
    ca: &Path,
    fixture: &str,
    work: &Path,
) -> Result<()> {
    let started = Instant::now();
    let mut spec: Value = serde_norway::from_str(&std::fs::read_to_string(fixture)?)?;
    spec["spec"]["image"] = UPGRADE_IMAGE.into();
    let path = work.join("upgrade-spec.yaml");
    std::fs::write(&path, serde_norway::to_string(&spec)?)?;
    let upgrade = Render::spec(&path)?;
    // Only the component ConfigMaps change (config files and scripts); the
    // Secrets and the pod templates (the old image) stay.
    let mut changed = 0;
    for cm in upgrade.kinds("ConfigMap") {
        let data = &cm["data"];
        if data["redis.conf"].is_string() || data["sentinel.conf"].is_string() {
            let text: String = data
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v.as_str())
                .collect();
            ensure!(
                text.contains("tls-auto-reload-interval 10")
                    && (data["sentinel.conf"].is_string()
                        || text.contains("rdb-version-check relaxed")),
                "the {UPGRADE_IMAGE} render sets what the server under test refuses: {cm}"
            );
            put(render, cm.clone());
            changed += 1;
        }
    }
    ensure!(
        changed == 2,
        "{changed} component ConfigMaps in the upgrade render"
    );
    let client_cert = c.client().tls.clone();
    let w = Writer::start(c, render, t, WriterOptions::new("upgrade-window"))?;
    w.wait_acked(10, Duration::from_secs(30))?;
    let all: Vec<String> = t.redis.iter().chain(&t.sentinels).cloned().collect();
    kubelet_sync(c, render, &all)?;
    let master = t.current_master(c)?;
    let sentinel = t.sentinels[1].clone();
    let marks: Vec<(String, usize)> = [&master, &sentinel]
        .into_iter()
        .map(|p| (p.clone(), c.log(p).len()))
        .collect();
    let killed = Instant::now();
    c.kill(&master)?;
    c.kill(&sentinel)?;
    c.start(&sentinel)?;
    c.start(&master)?;
    let others: Vec<String> = t
        .sentinels
        .iter()
        .filter(|s| **s != sentinel)
        .cloned()
        .collect();
    let (new_master, _, writable) = t.wait_new_master(c, &others, &master, killed)?;
    let ready = c.wait_ready(&master, READY)?;
    c.wait_ready(&sentinel, READY)?;
    t.wait_replica_of(c, &master, &new_master)?;
    let linked = killed.elapsed();
    t.wait_sentinels_agree(c, &new_master, t.redis.len() - 1)?;
    std::thread::sleep(Duration::from_secs(2));
    let writes = w.stop()?;
    let lost = writes.lost(c, t, &new_master)?;
    let outage = writes.longest_gap(killed, writes.end);
    for (p, at) in &marks {
        let log = harness::log_since(c, p, *at);
        ensure!(
            log.contains("(condition valkey>=9.1): tls-auto-reload-interval 10")
                && log.contains("does not reload certificate files itself"),
            "{p}: the gated line left out and the watcher's fallback expected; log since the restart: {log}"
        );
        if *p == master {
            ensure!(
                log.contains("(condition valkey>=9.0): rdb-version-check relaxed"),
                "{p}: rdb-version-check left out expected; log: {log}"
            );
        }
    }
    println!("e2e-sources: UPGRADE WINDOW writer: {}", writes.summary());
    println!(
        "e2e-sources: UPGRADE WINDOW the {UPGRADE_IMAGE} ConfigMaps on the old binary: master {master} and {sentinel} killed and restarted in place; new master {new_master} writable {} after the kill; {master} ready {} after its start, its replica {} after the kill; longest time without an acknowledged write {}; acknowledged writes lost {}",
        secs(writable),
        secs(ready),
        secs(linked),
        secs(outage),
        lost.len()
    );
    ensure!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    t.ensure_quorum(c, "OK")?;
    // The restarted pods watch their certificates (the old binary does not
    // reload them itself): Redis re-reads a renewal over the socket of the
    // `!valkey>=9.1` lines; the Sentinel runs under the supervising launch
    // (its restarts, in slots of 10 s, are measured above).
    ensure!(
        harness::log_since(c, &sentinel, marks[1].1)
            .contains("watching the certificate files: Sentinel restarts"),
        "{sentinel}: the supervised launch expected"
    );
    let renewed = issuer.issue_all(render)?;
    kubelet_sync(c, render, &all)?;
    let (_, took) = harness::wait_for(
        "the restarted Redis to serve the renewed certificate",
        RENEWED_WITHIN,
        Duration::from_millis(500),
        || match served(
            c,
            &t.fqdn(c, &master),
            t.redis_port,
            ca,
            client_cert.as_ref(),
        ) {
            Ok(Served::Serial(x)) if x == renewed["cache-redis-tls"] => Ok(()),
            other => Err(format!("{master}: {other:?}")),
        },
    )?;
    println!(
        "e2e-sources: UPGRADE WINDOW the restarted {master} served a renewed certificate {} after the swap (its watcher on the old binary); {sentinel} under the supervised launch; scenario {}",
        secs(took),
        secs(started.elapsed())
    );
    Ok(())
}

/// On a server that reloads itself, a renewal with one Sentinel of three
/// down restarts nothing: the running Sentinels and every Redis serve the
/// renewed certificate on their own, and the stopped Sentinel starts with
/// it; the quorum holds throughout.
fn sentinel_down_reloading(
    c: &mut Cluster,
    t: &Topo,
    render: &mut Render,
    issuer: &Issuer,
    ca: &Path,
) -> Result<()> {
    let client_cert = c.client().tls.clone();
    let down = t.sentinels[2].clone();
    c.stop(&down)?;
    let renewed = issuer.issue_all(render)?;
    let swap = Instant::now();
    kubelet_sync(c, render, &t.redis)?;
    kubelet_sync(c, render, &t.sentinels)?;
    let running: Vec<(String, u16)> = pods(t).into_iter().filter(|(p, _)| *p != down).collect();
    let secret = |p: &str| {
        if t.redis.iter().any(|r| r == p) {
            "cache-redis-tls"
        } else {
            "cache-sentinel-tls"
        }
    };
    harness::wait_for(
        "every running pod to serve the renewed certificate",
        RENEWED_WITHIN,
        Duration::from_millis(500),
        || {
            for (p, port) in &running {
                match served(c, &t.fqdn(c, p), *port, ca, client_cert.as_ref()) {
                    Ok(Served::Serial(x)) if x == renewed[secret(p)] => {}
                    other => return Err(format!("{p}: {other:?}")),
                }
            }
            Ok(())
        },
    )?;
    let took = swap.elapsed();
    for s in t.sentinels.iter().filter(|s| **s != down) {
        let r = t.sentinel(c, s, &["SENTINEL", "CKQUORUM", &t.master_name])?;
        ensure!(r.text().starts_with("OK"), "{s}: {}", r.summary());
    }
    c.start(&down)?;
    c.wait_ready(&down, READY)?;
    let got = served(
        c,
        &t.fqdn(c, &down),
        t.sentinel_port,
        ca,
        client_cert.as_ref(),
    )?;
    ensure!(
        got == Served::Serial(renewed["cache-sentinel-tls"].clone()),
        "{down} started with {got:?}"
    );
    println!(
        "e2e-sources: SENTINEL DOWN with {down} stopped, every running Redis and Sentinel served the renewed certificate {} after the swap without a restart; {down} started with it",
        secs(took)
    );
    Ok(())
}

/// The server's own reload through the kubelet's `..data` switch, in
/// server and in Sentinel mode, on the real binary (tools/tls-reload-probe.sh
/// with `tls-auto-reload-interval 1`: a leaf renewal, then a new CA and
/// leaf; fresh `openssl s_client` handshakes verified against the CA of
/// each step, and new `valkey-cli --tls` connections). It proves something
/// only where the server under test reloads itself (CI: the Valkey 9.1 run
/// of .ci/steps/55-server-matrix.sh); elsewhere it says so and ends.
#[test]
fn the_server_reloads_through_the_kubelet_swap() -> Result<()> {
    if !server_reloads()? {
        println!("e2e-sources: the server under test does not reload certificates itself");
        return Ok(());
    }
    let server = harness::Server::from_env()?;
    let bin = server.bin.context("a server build (E2E_SERVER)")?;
    let out = harness::run(
        Command::new("bash")
            .arg(harness::repo_path("tools/tls-reload-probe.sh"))
            .arg(&bin)
            .arg("1"),
        Duration::from_secs(180),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    ensure!(
        out.status.success(),
        "tools/tls-reload-probe.sh failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in ["leaf renewal", "CA change"] {
        for mode in ["server", "sentinel"] {
            ensure!(
                text.contains(&format!("{step}: {mode} serves serial")),
                "{step}: no time for {mode} in {text}"
            );
        }
    }
    Ok(())
}

#[test]
fn cert_manager_certificates_renewed_without_an_outage() -> Result<()> {
    scenario(Source::CertManager, "tests/fixtures/e2e-cert-manager.yaml")
}

#[test]
fn service_ca_certificates_renewed_without_an_outage() -> Result<()> {
    scenario(Source::ServiceCa, "tests/fixtures/e2e-service-ca.yaml")
}
