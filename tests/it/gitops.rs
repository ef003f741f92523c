//! GitOps integration: the function driven by the real tools.
//!
//! - the container image (Dockerfile target `prebuilt`, built offline from
//!   the static binary cargo builds; once per run, cached by the binary's
//!   SHA-256 in an image label) run the way kpt and kustomize start it;
//! - `kubectl kustomize --enable-alpha-plugins` with the function as a
//!   container generator (examples/kustomize), and every transformer that
//!   could break the topology either working or caught by `check`;
//! - `kpt fn render` (exec and image pipelines, examples/kpt) and
//!   `kpt fn eval --exec/--image`, each rendered twice to the same bytes;
//! - the Argo CD plugin's `generate` command run as the sidecar runs it
//!   (examples/argocd);
//! - stable certificates through the binary: same seed, same bytes; other
//!   seed, other keys; `tls.rotation` changes exactly the certificates.
//!
//! Every pipeline's output is validated against the Kubernetes schemas with
//! `kubernetes-validate` (offline; `.ci/install.d/30-gitops.sh` installs it).
//! These tests need `docker`, `kubectl` and `kpt`: without them they fail
//! with a message saying so; they never pass silently. Tests in binaries
//! of this module run one at a time (.config/nextest.toml).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_norway::Value;
use sha2::{Digest, Sha256};

use crate::harness::cli::{bin, root as repo, target_dir};
use crate::harness::{self, static_build};

/// The image the examples reference; the tests build it locally under
/// this name (nothing is pulled).
const IMAGE: &str = "ghcr.io/redis-sentinel-fn/redis-sentinel-fn:v0.1.0";
/// Label holding the SHA-256 of the binary an image was built from.
const BINARY_LABEL: &str = "dev.redis-sentinel-fn.binary-sha256";
/// A seed (>= 16 bytes) for stable output.
const SEED: &str = "gitops-test-seed-0123456789abcdef";
/// Kubernetes version whose schemas validate the output (k8s-openapi's).
const K8S_VERSION: &str = "1.33.0";

// ---------------------------------------------------------------- helpers

/// PATH with the dev binary's directory first.
fn path_with_bin() -> String {
    let dir = bin().parent().unwrap().display().to_string();
    match std::env::var("PATH") {
        Ok(p) => format!("{dir}:{p}"),
        Err(_) => dir,
    }
}

/// A scratch directory under the target dir; removed on drop unless the
/// test failed (kept for inspection).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = target_dir().join("gitops-tmp").join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// Time one command may take (a cold build of the static binary included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1800);

/// Runs a command (the harness' runner: output captured, killed after
/// [`COMMAND_TIMEOUT`]); panics when it cannot be started.
fn run(cmd: &mut Command) -> Output {
    harness::run(cmd, COMMAND_TIMEOUT).unwrap_or_else(|e| {
        panic!("{e:#}: tests/it/gitops.rs drives the real kubectl, kpt and docker")
    })
}

/// Runs a command that must succeed; returns its standard output.
fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let what = format!("{cmd:?}");
    let o = run(cmd);
    assert!(
        o.status.success(),
        "`{what}` failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Runs a command with `input` on standard input.
fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    harness::run_with_input(cmd, Some(input), COMMAND_TIMEOUT).unwrap_or_else(|e| panic!("{e:#}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir` (relative path -> bytes).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// SHA-256 over a whole tree (paths and contents).
fn tree_sha(t: &BTreeMap<String, Vec<u8>>) -> String {
    let mut h = Sha256::new();
    for (p, b) in t {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_same_tree(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let ka: BTreeSet<&String> = a.keys().collect();
    let kb: BTreeSet<&String> = b.keys().collect();
    assert_eq!(ka, kb, "{what}: the files differ");
    for (p, bytes) in a {
        assert!(
            &b[p] == bytes,
            "{what}: {p} changed:\n--- before\n{}\n--- after\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&b[p])
        );
    }
}

/// Every non-empty YAML document of a stream.
fn docs(yaml: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(yaml).expect("output is UTF-8");
    let mut out = Vec::new();
    for d in serde_norway::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(d)
            .unwrap_or_else(|e| panic!("output is not valid YAML: {e}\n{text}"));
        if !v.is_null() {
            out.push(v);
        }
    }
    out
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn key(v: &Value) -> String {
    format!(
        "{}/{}",
        s(v, &["kind"]).unwrap_or_default(),
        s(v, &["metadata", "name"]).unwrap_or_default()
    )
}

fn by_key(items: &[Value]) -> BTreeMap<String, Value> {
    items.iter().map(|v| (key(v), v.clone())).collect()
}

/// The items of a ResourceList, or the documents of a stream.
fn items_of(yaml: &[u8]) -> Vec<Value> {
    let ds = docs(yaml);
    if ds.len() == 1 && s(&ds[0], &["kind"]) == Some("ResourceList") {
        return ds[0]
            .get("items")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
    }
    ds
}

/// Validates Kubernetes objects against the schemas (kubernetes-validate,
/// strict: unknown fields are errors). Local config (the spec, the check
/// config, the Kptfile) is left out: it is never applied.
fn validate(items: &[Value], what: &str) {
    let mut yaml = String::new();
    let mut n = 0;
    for v in items {
        let api = s(v, &["apiVersion"]).unwrap_or_default();
        let local = s(
            v,
            &[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ],
        ) == Some("true");
        // cert-manager objects: tests/it/cert_manager_schema.rs validates them
        // against cert-manager's own CRD schemas.
        if local
            || api.starts_with("fn.redis-sentinel.dev/")
            || api.starts_with("kpt.dev/")
            || api.starts_with("cert-manager.io/")
        {
            continue;
        }
        yaml.push_str("---\n");
        yaml.push_str(&serde_norway::to_string(v).unwrap());
        n += 1;
    }
    assert!(n > 0, "{what}: nothing to validate");
    let dir = Scratch::new("validate");
    let file = dir.join("objects.yaml");
    std::fs::write(&file, yaml).unwrap();
    let o = match Command::new("kubernetes-validate")
        .args(["-k", K8S_VERSION, "--strict", "--quiet"])
        .arg(&file)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "kubernetes-validate is not installed ({e}): run `bash .ci/install.d/30-gitops.sh` (pip install kubernetes-validate)"
        ),
    };
    assert!(
        o.status.success(),
        "{what}: {n} objects do not validate against the Kubernetes {K8S_VERSION} schemas:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The Kinds a whole rendered topology holds.
fn assert_whole_topology(items: &[Value], instance: &str, what: &str) {
    let keys: BTreeSet<String> = items.iter().map(key).collect();
    for k in [
        format!("StatefulSet/{instance}-redis"),
        format!("StatefulSet/{instance}-sentinel"),
        format!("Service/{instance}-redis-headless"),
        format!("Service/{instance}-sentinel-headless"),
        format!("Service/{instance}-redis"),
        format!("Service/{instance}-sentinel"),
        format!("ConfigMap/{instance}-redis"),
        format!("ConfigMap/{instance}-sentinel"),
        format!("ConfigMap/{instance}-ca"),
        format!("Secret/{instance}-redis-tls"),
        format!("Secret/{instance}-sentinel-tls"),
        format!("Secret/{instance}-client-tls"),
        format!("PodDisruptionBudget/{instance}-redis"),
        format!("PodDisruptionBudget/{instance}-sentinel"),
    ] {
        assert!(keys.contains(&k), "{what}: {k} missing; have {keys:?}");
    }
}

/// `redis-sentinel-fn check` on YAML; returns (passed, stdout).
fn check_cli(yaml: &[u8]) -> (bool, String) {
    let o = run_with_input(Command::new(bin()).arg("check"), yaml);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
    )
}

// ----------------------------------------------------------------- docker

fn require_docker() {
    let o = match Command::new("docker").arg("info").output() {
        Ok(o) => o,
        Err(e) => panic!(
            "docker is not installed or not on PATH ({e}): the container tests need a running Docker Engine"
        ),
    };
    assert!(
        o.status.success(),
        "`docker info` failed: the container tests need a running Docker Engine (start it, or fix access to its socket):\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Whether an ELF file asks for a program interpreter (dynamic linking).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// Builds the static binary (cargo, cached by cargo) and the image from it
/// (Dockerfile target `prebuilt`, offline; skipped when the image already
/// holds this binary). Once per test process; the cargo build is the docs
/// test's too (`harness::static_build`).
fn image() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(build_image);
    IMAGE
}

fn build_image() {
    require_docker();
    // The same build as docs/gitops.md's (one target directory and flags),
    // under the lock the docs test takes too.
    let _lock = static_build::lock().unwrap();
    eprintln!("gitops: cargo build of the static release binary (minutes when cold, else a no-op)");
    run_ok(&mut static_build::cargo_build());
    let binary = static_build::binary();
    let bytes = std::fs::read(&binary).unwrap();
    assert!(
        !has_interpreter(&bytes),
        "{} is dynamically linked; the image needs a static binary",
        binary.display()
    );
    let sha = sha256_hex(&bytes);
    let inspect = run(Command::new("docker").args([
        "image",
        "inspect",
        "-f",
        &format!("{{{{index .Config.Labels \"{BINARY_LABEL}\"}}}}"),
        IMAGE,
    ]));
    if inspect.status.success() && String::from_utf8_lossy(&inspect.stdout).trim() == sha {
        return;
    }
    // The build context is the repository (.dockerignore keeps it small);
    // the binary goes where the Dockerfile's BINARY argument points.
    let ctx_bin = repo().join("target/docker/redis-sentinel-fn");
    std::fs::create_dir_all(ctx_bin.parent().unwrap()).unwrap();
    std::fs::copy(&binary, &ctx_bin).unwrap();
    eprintln!("gitops: docker build --target prebuilt -t {IMAGE}");
    run_ok(
        Command::new("docker")
            .current_dir(repo())
            .args(["build", "--target", "prebuilt"])
            .args(["--build-arg", "BINARY=target/docker/redis-sentinel-fn"])
            .args(["--label", &format!("{BINARY_LABEL}={sha}")])
            .args(["-t", IMAGE, "."]),
    );
}

/// A ResourceList whose functionConfig is `spec`.
fn resource_list(spec: &str) -> Vec<u8> {
    let fc: Value = serde_norway::from_str(spec).unwrap();
    let rl = serde_norway::to_string(&serde_norway::Mapping::from_iter([
        (
            Value::from("apiVersion"),
            Value::from("config.kubernetes.io/v1"),
        ),
        (Value::from("kind"), Value::from("ResourceList")),
        (Value::from("items"), Value::Sequence(vec![])),
        (Value::from("functionConfig"), fc),
    ]))
    .unwrap();
    rl.into_bytes()
}

const SPEC: &str = "\
apiVersion: fn.redis-sentinel.dev/v1alpha1
kind: RedisSentinel
metadata:
  name: cache
  namespace: shop
spec:
  auth:
    enabled: true
";

// ------------------------------------------------------------ the image

#[test]
fn image_is_static_nonroot_and_holds_only_the_binary() {
    let image = image();
    let cfg = run_ok(Command::new("docker").args([
        "image",
        "inspect",
        "-f",
        "{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Size}}",
        image,
    ]));
    let cfg = String::from_utf8(cfg).unwrap();
    let parts: Vec<&str> = cfg.trim().split('|').collect();
    assert_eq!(parts[0], "65532:65532", "image user");
    assert_eq!(parts[1], r#"["/usr/local/bin/redis-sentinel-fn"]"#);
    let size: u64 = parts[2].parse().unwrap();
    eprintln!("gitops: image size {size} bytes");
    assert!(size < 20 * 1024 * 1024, "image is {size} bytes");
    // Its files: the binary, /etc/passwd and /etc/group, nothing else.
    let id = String::from_utf8(run_ok(Command::new("docker").args(["create", image])))
        .unwrap()
        .trim()
        .to_string();
    let tar = run(Command::new("docker").args(["export", &id]));
    run_ok(Command::new("docker").args(["rm", &id]));
    assert!(tar.status.success(), "docker export failed");
    let listing = run_with_input(Command::new("tar").arg("-t"), &tar.stdout);
    let listing = String::from_utf8(listing.stdout).unwrap();
    let files: BTreeSet<String> = listing
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::to_string)
        // Mount points docker adds to every container.
        .filter(|f| {
            !matches!(
                f.as_str(),
                ".dockerenv" | "etc/hostname" | "etc/hosts" | "etc/resolv.conf" | "etc/mtab"
            ) && !f.starts_with("dev/")
                && !f.starts_with("proc/")
                && !f.starts_with("sys/")
        })
        .collect();
    assert_eq!(
        files,
        BTreeSet::from([
            "etc/group".to_string(),
            "etc/passwd".to_string(),
            "usr/local/bin/redis-sentinel-fn".to_string()
        ]),
        "image files:\n{listing}"
    );
}

#[test]
fn image_runs_as_a_krm_function_the_way_kpt_and_kustomize_start_it() {
    let image = image();
    let input = resource_list(SPEC);
    let mut shas = Vec::new();
    let mut out = Vec::new();
    for _ in 0..2 {
        let o = run_with_input(
            Command::new("docker")
                .args(["run", "--rm", "-i", "--network", "none", "--user", "nobody"])
                .args(["--security-opt=no-new-privileges"])
                .args(["-e", &format!("REDIS_SENTINEL_FN_SEED={SEED}")])
                .arg(image),
            &input,
        );
        assert!(
            o.status.success(),
            "the image failed as a KRM function:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        shas.push(sha256_hex(&o.stdout));
        out = o.stdout;
    }
    eprintln!("gitops: docker run (KRM) sha256 {} {}", shas[0], shas[1]);
    assert_eq!(shas[0], shas[1], "two runs with one seed differ");
    let items = items_of(&out);
    assert_whole_topology(&items, "cache", "docker run");
    validate(&items, "docker run");
    // Same bytes as the binary on the host.
    let host = run_with_input(
        Command::new(bin()).env("REDIS_SENTINEL_FN_SEED", SEED),
        &input,
    );
    assert_eq!(sha256_hex(&host.stdout), shas[0], "image and host differ");
}

// -------------------------------------------------------------- kustomize

/// A copy of examples/kustomize (tests never write into the repository).
fn kustomize_examples() -> Scratch {
    let dir = Scratch::new("kustomize");
    copy_dir(&repo().join("examples/kustomize"), dir.path());
    dir
}

fn kustomize(dir: &Path) -> Output {
    run(Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(dir)
        .env("REDIS_SENTINEL_FN_SEED", SEED))
}

fn kustomize_ok(dir: &Path) -> Vec<u8> {
    let o = kustomize(dir);
    assert!(
        o.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

#[test]
fn examples_reference_the_image_the_tests_build() {
    for f in [
        "examples/kustomize/redis-sentinel/redis-sentinel.yaml",
        "examples/kustomize/check/check.yaml",
        "examples/kustomize/threescale-split/redis-sentinel-list.yaml",
        "examples/kpt/image/Kptfile",
    ] {
        let text = std::fs::read_to_string(repo().join(f)).unwrap();
        assert!(text.contains(IMAGE), "{f} does not reference {IMAGE}");
    }
}

#[test]
fn kustomize_container_generator_renders_the_topology_and_the_app() {
    image();
    let ex = kustomize_examples();
    let first = kustomize_ok(&ex.join("base"));
    let second = kustomize_ok(&ex.join("base"));
    eprintln!(
        "gitops: kubectl kustomize --enable-alpha-plugins examples/kustomize/base sha256 {} {}",
        sha256_hex(&first),
        sha256_hex(&second)
    );
    assert_eq!(sha256_hex(&first), sha256_hex(&second), "two builds differ");
    let items = docs(&first);
    assert_whole_topology(&items, "cache", "kustomize base");
    assert!(
        items.iter().any(|i| key(i) == "Deployment/web"),
        "the user's Deployment is missing"
    );
    assert!(
        items
            .iter()
            .all(|i| s(i, &["kind"]) != Some("RedisSentinel")),
        "the generator config leaked into the output"
    );
    validate(&items, "kustomize base");
    let (ok, out) = check_cli(&first);
    assert!(ok, "check flags the untransformed output:\n{out}");
}

/// 3scale's parts on three instances of one RedisSentinelList: one
/// backend-redis with storage from one instance and queues from another,
/// system-redis from the third; every instance whole.
fn assert_threescale_split(items: &[Value], what: &str) {
    for inst in ["backend-storage", "backend-queues", "system"] {
        assert_whole_topology(items, inst, what);
    }
    let secrets = |name: &str| -> Vec<&Value> {
        items
            .iter()
            .filter(|i| {
                s(i, &["kind"]) == Some("Secret") && s(i, &["metadata", "name"]) == Some(name)
            })
            .collect()
    };
    let backend = secrets("backend-redis");
    assert_eq!(backend.len(), 1, "{what}: one backend-redis");
    assert_eq!(
        s(
            backend[0],
            &["metadata", "annotations", "fn.redis-sentinel.dev/parts"]
        ),
        Some("storage=redis/backend-storage,queues=redis/backend-queues"),
        "{what}"
    );
    use base64::Engine;
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let data = secret_data(backend[0]);
    assert_eq!(
        data["REDIS_STORAGE_URL"],
        b64("rediss://backend-storage/0"),
        "{what}"
    );
    assert_eq!(
        data["REDIS_QUEUES_URL"],
        b64("rediss://backend-queues/1"),
        "{what}"
    );
    assert_ne!(
        data["REDIS_SSL_CA"], data["REDIS_SSL_QUEUES_CA"],
        "{what}: one CA per part"
    );
    let system = secrets("system-redis");
    assert_eq!(system.len(), 1, "{what}: one system-redis");
    assert_eq!(
        secret_data(system[0])["URL"],
        b64("rediss://system/2"),
        "{what}"
    );
}

#[test]
fn kustomize_generator_renders_a_list_of_instances_in_one_run() {
    image();
    let ex = kustomize_examples();
    let first = kustomize_ok(&ex.join("threescale-split"));
    let second = kustomize_ok(&ex.join("threescale-split"));
    eprintln!(
        "gitops: kubectl kustomize examples/kustomize/threescale-split sha256 {} {}",
        sha256_hex(&first),
        sha256_hex(&second)
    );
    assert_eq!(sha256_hex(&first), sha256_hex(&second), "two builds differ");
    let items = docs(&first);
    assert_threescale_split(&items, "kustomize list");
    assert!(
        items
            .iter()
            .all(|i| s(i, &["kind"]) != Some("RedisSentinelList")),
        "the generator config leaked into the output"
    );
    validate(&items, "kustomize list");
}

#[test]
fn kpt_render_of_a_list_is_stable_and_keeps_foreign_items() {
    let dir = kpt_package("threescale-split");
    let pkg = dir.join("pkg");
    let foreign = std::fs::read(pkg.join("apimanager-notes.yaml")).unwrap();
    kpt_render(&pkg, &["--allow-exec"]);
    let first = tree(&pkg);
    kpt_render(&pkg, &["--allow-exec"]);
    let second = tree(&pkg);
    eprintln!(
        "gitops: kpt fn render examples/kpt/threescale-split sha256 {} {}",
        tree_sha(&first),
        tree_sha(&second)
    );
    // Unseeded: the second render keeps every certificate and password of
    // the first, the combined backend-redis too (replaced, not doubled).
    assert_same_tree(&first, &second, "kpt fn render (list)");
    assert_eq!(
        second["apimanager-notes.yaml"], foreign,
        "a foreign item changed"
    );
    let items = package_items(&second);
    assert_threescale_split(&items, "kpt list");
    validate(&items, "kpt list");
}

/// kustomize drops KRM results, so a warning never reaches its user: a
/// build without a seed, which would get new random certificates and
/// passwords (a diff and a roll of every pod on every sync), fails and
/// says on kustomize's standard error how to fix it.
#[test]
fn kustomize_without_a_seed_fails_naming_the_fixes() {
    image();
    let ex = kustomize_examples();
    let o = run(Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(ex.join("base"))
        .env_remove("REDIS_SENTINEL_FN_SEED")
        .env_remove("REDIS_SENTINEL_FN_SEED_FILE"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    eprintln!(
        "gitops: kubectl kustomize --enable-alpha-plugins examples/kustomize/base without a seed: {}, {} bytes on stdout; stderr:\n{stderr}",
        o.status,
        o.stdout.len()
    );
    assert!(!o.status.success(), "a seedless kustomize build passed");
    assert!(o.stdout.is_empty(), "a failed build printed manifests");
    for fix in [
        "REDIS_SENTINEL_FN_SEED",
        "spec.tls.source",
        "spec.auth.existingSecret",
    ] {
        assert!(
            stderr.contains(fix),
            "kustomize's stderr does not name {fix}"
        );
    }
}

/// Builds an overlay that must fail through the check transformer, then
/// the same overlay without it, whose final output `check` must flag.
/// Both must name `fix`.
fn assert_overlay_caught(overlay: &str, fix: &str) {
    image();
    let ex = kustomize_examples();
    let dir = ex.join("overlays").join(overlay);
    let o = kustomize(&dir);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "overlay {overlay} built although the topology is broken"
    );
    assert!(
        stderr.contains(fix),
        "overlay {overlay}: kustomize's error does not name the fix {fix:?}:\n{stderr}"
    );
    // Without the check: the final output (kustomize has fixed its own
    // name references by then) is schema-valid but inconsistent.
    let k = dir.join("kustomization.yaml");
    let text = std::fs::read_to_string(&k).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("transformers:") && !l.contains("../../check"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&k, without).unwrap();
    let out = kustomize_ok(&dir);
    validate(&docs(&out), overlay);
    let (ok, report) = check_cli(&out);
    assert!(!ok, "check passes the {overlay} output:\n{report}");
    assert!(
        report.contains(fix),
        "check on the {overlay} output does not name the fix {fix:?}:\n{report}"
    );
    assert!(report.contains("severity: error"), "{report}");
}

#[test]
fn kustomize_namespace_is_caught_with_the_fix() {
    assert_overlay_caught(
        "namespace",
        "set `namespace: other` in the RedisSentinel spec (metadata.namespace or spec.namespace) instead of kustomize `namespace:`",
    );
}

#[test]
fn kustomize_name_prefix_is_caught_with_the_fix() {
    assert_overlay_caught(
        "name-prefix",
        "set metadata.name: dev-cache in the RedisSentinel spec instead of kustomize `namePrefix: dev-`",
    );
}

#[test]
fn kustomize_name_suffix_is_caught_with_the_fix() {
    assert_overlay_caught(
        "name-suffix",
        "remove kustomize `nameSuffix: -v2` from the kustomization that includes the RedisSentinel generator",
    );
}

#[test]
fn kustomize_replicas_is_caught_with_the_fix() {
    assert_overlay_caught(
        "replicas",
        "set redis.replicas: 5 in the RedisSentinel spec instead of kustomize `replicas:`",
    );
}

#[test]
fn kustomize_common_labels_keep_selectors_consistent() {
    image();
    let ex = kustomize_examples();
    let dir = ex.join("overlays/common-labels");
    let first = kustomize_ok(&dir);
    assert_eq!(sha256_hex(&first), sha256_hex(&kustomize_ok(&dir)));
    let items = docs(&first);
    validate(&items, "common-labels");
    let team = |v: Option<&Value>| {
        v.and_then(|l| l.get("team"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (ok, report) = check_cli(&first);
    assert!(ok, "check flags commonLabels:\n{report}");
    // The one thing commonLabels changes for the worse: the NetworkPolicies'
    // client selector requires the label too (the app in the same
    // kustomization got it on its pods; clients elsewhere would not).
    assert!(
        report.contains("admits client pods only if they are labelled")
            && report.contains("severity: warning"),
        "no warning about the client selector:\n{report}"
    );
    let web = items.iter().find(|i| key(i) == "Deployment/web").unwrap();
    let web_labels = web
        .get("spec")
        .and_then(|x| x.get("template"))
        .and_then(|x| x.get("metadata"))
        .and_then(|x| x.get("labels"));
    assert_eq!(team(web_labels).as_deref(), Some("payments"));
    // Every selector of the topology carries the label, as do the pods.
    for i in &items {
        if s(
            i,
            &["metadata", "annotations", "fn.redis-sentinel.dev/instance"],
        )
        .is_none()
        {
            continue;
        }
        let k = key(i);
        match s(i, &["kind"]).unwrap() {
            "StatefulSet" => {
                let spec = i.get("spec").unwrap();
                assert_eq!(
                    team(spec.get("selector").and_then(|x| x.get("matchLabels"))).as_deref(),
                    Some("payments"),
                    "{k} selector"
                );
                assert_eq!(
                    team(
                        spec.get("template")
                            .and_then(|x| x.get("metadata"))
                            .and_then(|x| x.get("labels"))
                    )
                    .as_deref(),
                    Some("payments"),
                    "{k} pod labels"
                );
            }
            "Service" => assert_eq!(
                team(i.get("spec").and_then(|x| x.get("selector"))).as_deref(),
                Some("payments"),
                "{k} selector"
            ),
            "NetworkPolicy" => assert_eq!(
                team(
                    i.get("spec")
                        .and_then(|x| x.get("podSelector"))
                        .and_then(|x| x.get("matchLabels"))
                )
                .as_deref(),
                Some("payments"),
                "{k} podSelector"
            ),
            "PodDisruptionBudget" => assert_eq!(
                team(
                    i.get("spec")
                        .and_then(|x| x.get("selector"))
                        .and_then(|x| x.get("matchLabels"))
                )
                .as_deref(),
                Some("payments"),
                "{k} selector"
            ),
            _ => {}
        }
    }
}

#[test]
fn kustomize_transforming_the_spec_is_the_fix() {
    image();
    let ex = kustomize_examples();
    let dir = ex.join("overlays/staging");
    let first = kustomize_ok(&dir);
    assert_eq!(sha256_hex(&first), sha256_hex(&kustomize_ok(&dir)));
    let items = docs(&first);
    assert_whole_topology(&items, "staging-cache", "staging");
    assert!(
        items
            .iter()
            .all(|i| s(i, &["metadata", "namespace"]) == Some("staging")),
        "an object outside namespace staging"
    );
    validate(&items, "staging");
    let (ok, report) = check_cli(&first);
    assert!(ok, "{report}");
}

// -------------------------------------------------------------------- kpt

fn kpt_package(which: &str) -> Scratch {
    let dir = Scratch::new(&format!("kpt-{which}"));
    copy_dir(&repo().join("examples/kpt").join(which), &dir.join("pkg"));
    dir
}

fn kpt_render(pkg: &Path, args: &[&str]) {
    run_ok(
        Command::new("kpt")
            .args(["fn", "render"])
            .arg(pkg)
            .args(args)
            .env("PATH", path_with_bin()),
    );
}

/// The package's Kubernetes objects (all YAML files but the Kptfile).
fn package_items(t: &BTreeMap<String, Vec<u8>>) -> Vec<Value> {
    t.iter()
        .filter(|(p, _)| p.ends_with(".yaml") && !p.ends_with("Kptfile"))
        .flat_map(|(_, b)| docs(b))
        .collect()
}

/// Renders a package twice: the first render writes the topology, the
/// second must leave every byte as it was.
fn assert_kpt_render_stable(which: &str, args: &[&str]) {
    let dir = kpt_package(which);
    let pkg = dir.join("pkg");
    kpt_render(&pkg, args);
    let first = tree(&pkg);
    kpt_render(&pkg, args);
    let second = tree(&pkg);
    eprintln!(
        "gitops: kpt fn render {} (examples/kpt/{which}) package sha256 {} {}",
        args.join(" "),
        tree_sha(&first),
        tree_sha(&second)
    );
    assert_same_tree(&first, &second, &format!("kpt fn render ({which})"));
    let items = package_items(&second);
    assert_whole_topology(&items, "cache", which);
    validate(&items, which);
    let mut all = String::new();
    for i in &items {
        all.push_str("---\n");
        all.push_str(&serde_norway::to_string(i).unwrap());
    }
    let (ok, report) = check_cli(all.as_bytes());
    assert!(ok, "{report}");
}

#[test]
fn kpt_render_exec_is_stable() {
    assert_kpt_render_stable("exec", &["--allow-exec"]);
}

#[test]
fn kpt_render_image_is_stable() {
    image();
    assert_kpt_render_stable("image", &["--image-pull-policy", "never"]);
}

/// examples/kpt/secret-free: cert-manager certificates and passwords from
/// an existing Secret. The committed package is already rendered: `kpt fn
/// render` changes no byte, and nothing in it is key material or a
/// password (the grep a reviewer would run before committing).
#[test]
fn kpt_secret_free_package_is_rendered_and_holds_no_secret() {
    let dir = kpt_package("secret-free");
    let pkg = dir.join("pkg");
    let committed = tree(&pkg);
    kpt_render(&pkg, &["--allow-exec"]);
    let after = tree(&pkg);
    assert_same_tree(&committed, &after, "kpt fn render of the committed package");
    let items = package_items(&after);
    assert!(
        items.iter().any(|i| s(i, &["kind"]) == Some("Certificate")),
        "the package has the cert-manager Certificates"
    );
    for (path, bytes) in &after {
        let text = String::from_utf8_lossy(bytes);
        for needle in [
            "PRIVATE KEY",
            "BEGIN CERTIFICATE",
            "kind: Secret",
            "password:",
        ] {
            assert!(!text.contains(needle), "{path} contains {needle:?}");
        }
    }
    for i in &items {
        assert_ne!(s(i, &["kind"]), Some("Secret"), "a Secret in the package");
    }
    validate(&items, "secret-free");
    let mut all = String::new();
    for i in &items {
        all.push_str("---\n");
        all.push_str(&serde_norway::to_string(i).unwrap());
    }
    let (ok, report) = check_cli(all.as_bytes());
    assert!(ok, "{report}");
    eprintln!(
        "gitops: examples/kpt/secret-free: {} files, {} objects, no Secret, no PRIVATE KEY, no certificate, no password",
        after.len(),
        items.len()
    );
}

#[test]
fn kpt_render_keeps_comments_file_layout_and_secrets() {
    let dir = kpt_package("exec");
    let pkg = dir.join("pkg");
    kpt_render(&pkg, &["--allow-exec"]);
    let rendered = tree(&pkg);
    // A person comments a generated object, moves another one into a file
    // of their own, and renders again.
    let svc = pkg.join("shop/service_cache-redis.yaml");
    let text = std::fs::read_to_string(&svc).unwrap();
    std::fs::write(&svc, format!("# reviewed by the payments team\n{text}")).unwrap();
    std::fs::create_dir_all(pkg.join("secrets")).unwrap();
    std::fs::rename(
        pkg.join("shop/secret_cache-auth.yaml"),
        pkg.join("secrets/auth.yaml"),
    )
    .unwrap();
    let edited = tree(&pkg);
    kpt_render(&pkg, &["--allow-exec"]);
    let after = tree(&pkg);
    assert_same_tree(&edited, &after, "render after edits");
    // The Secrets are the first render's: certificates and passwords kept.
    for (p, b) in &rendered {
        if p.contains("secret_") && !p.contains("cache-auth") {
            assert_eq!(&after[p], b, "{p} changed");
        }
    }
    assert_eq!(
        after["secrets/auth.yaml"],
        rendered["shop/secret_cache-auth.yaml"]
    );
}

#[test]
fn kpt_fn_eval_exec_and_image_with_the_spec_as_function_config() {
    let image = image();
    for mode in ["exec", "image", "configmap"] {
        let dir = Scratch::new(&format!("kpt-eval-{mode}"));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::copy(
            repo().join("examples/kustomize/app/web.yaml"),
            pkg.join("web.yaml"),
        )
        .unwrap();
        let spec = dir.join("redis-sentinel.yaml");
        std::fs::write(&spec, SPEC).unwrap();
        let eval = |_: usize| {
            let mut c = Command::new("kpt");
            c.args(["fn", "eval"]).arg(&pkg);
            match mode {
                "exec" => {
                    c.arg("--exec").arg(bin()).arg("--fn-config").arg(&spec);
                }
                "image" => {
                    c.args(["--image", image, "--image-pull-policy", "never"])
                        .arg("--fn-config")
                        .arg(&spec);
                }
                _ => {
                    // The spec as a ConfigMap of dotted paths (kpt's key=value).
                    c.arg("--exec").arg(bin()).args([
                        "--",
                        "name=cache",
                        "namespace=shop",
                        "auth.enabled=true",
                    ]);
                }
            }
            run_ok(&mut c);
            tree(&pkg)
        };
        let first = eval(1);
        let second = eval(2);
        eprintln!(
            "gitops: kpt fn eval ({mode}) package sha256 {} {}",
            tree_sha(&first),
            tree_sha(&second)
        );
        assert_same_tree(&first, &second, &format!("kpt fn eval ({mode})"));
        let items = package_items(&second);
        assert_whole_topology(&items, "cache", mode);
        assert!(items.iter().any(|i| key(i) == "Deployment/web"));
        validate(&items, mode);
    }
}

// ---------------------------------------------------------------- Argo CD

#[test]
fn argocd_plugin_generate_prints_the_same_valid_manifests_every_run() {
    let plugin: Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("examples/argocd/plugin.yaml")).unwrap(),
    )
    .unwrap();
    let app: Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("examples/argocd/application.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(s(&plugin, &["kind"]), Some("ConfigManagementPlugin"));
    let plugin_name = format!(
        "{}-{}",
        s(&plugin, &["metadata", "name"]).unwrap(),
        s(&plugin, &["spec", "version"]).unwrap()
    );
    let source = app.get("spec").and_then(|x| x.get("source")).unwrap();
    assert_eq!(
        s(source, &["plugin", "name"]),
        Some(plugin_name.as_str()),
        "the Application names another plugin"
    );
    let app_path = s(source, &["path"]).unwrap();
    let command = |which: &[&str]| -> Vec<String> {
        let mut c = plugin.get("spec").unwrap();
        for w in which {
            c = c.get(*w).unwrap();
        }
        let mut v: Vec<String> = c
            .get("command")
            .and_then(Value::as_sequence)
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        if let Some(args) = c.get("args").and_then(Value::as_sequence) {
            v.extend(args.iter().map(|x| x.as_str().unwrap().to_string()));
        }
        v
    };

    // A checkout of the repository, as the repo-server sends it.
    let dir = Scratch::new("argocd");
    let checkout = dir.join("repo");
    copy_dir(&repo().join(app_path), &checkout.join(app_path));
    let app_dir = checkout.join(app_path);
    // The seed Secret, as the sidecar mounts it (a file per key).
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(&seeds).unwrap();
    std::fs::write(seeds.join("shop"), SEED).unwrap();

    // The environment the CMP server gives the command: the sidecar's own
    // (PATH, the seed directory from repo-server-patch.yaml), the build
    // environment, the Application's plugin env (ARGOCD_ENV_*) and its
    // parameters (PARAM_*, ARGOCD_APP_PARAMETERS).
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            format!("{}:/usr/bin:/bin", bin().parent().unwrap().display()),
        ),
        ("HOME".into(), dir.path().display().to_string()),
        (
            "REDIS_SENTINEL_FN_SEED_DIR".into(),
            seeds.display().to_string(),
        ),
        (
            "ARGOCD_APP_NAME".into(),
            s(&app, &["metadata", "name"]).unwrap().into(),
        ),
        (
            "ARGOCD_APP_NAMESPACE".into(),
            s(&app, &["spec", "destination", "namespace"])
                .unwrap()
                .into(),
        ),
        (
            "ARGOCD_APP_REVISION".into(),
            "0123456789abcdef0123456789abcdef01234567".into(),
        ),
        ("ARGOCD_APP_REVISION_SHORT".into(), "0123456".into()),
        ("ARGOCD_APP_SOURCE_PATH".into(), app_path.into()),
        (
            "ARGOCD_APP_SOURCE_REPO_URL".into(),
            s(source, &["repoURL"]).unwrap().into(),
        ),
        (
            "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
            s(source, &["targetRevision"]).unwrap().into(),
        ),
        ("KUBE_VERSION".into(), "1.33.0".into()),
        (
            "KUBE_API_VERSIONS".into(),
            "v1,apps/v1,policy/v1,networking.k8s.io/v1".into(),
        ),
    ];
    let patch =
        std::fs::read_to_string(repo().join("examples/argocd/repo-server-patch.yaml")).unwrap();
    assert!(
        patch.contains("REDIS_SENTINEL_FN_SEED_DIR")
            && patch.contains("secretName: redis-sentinel-fn-seeds"),
        "the sidecar patch must mount the seed Secret and point the plugin at it"
    );
    for e in source
        .get("plugin")
        .and_then(|p| p.get("env"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        env.push((
            format!("ARGOCD_ENV_{}", s(e, &["name"]).unwrap()),
            s(e, &["value"]).unwrap().into(),
        ));
    }
    let mut params_json = Vec::new();
    for p in source
        .get("plugin")
        .and_then(|p| p.get("parameters"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = s(p, &["name"]).unwrap();
        let var: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        if let Some(v) = s(p, &["string"]) {
            env.push((format!("PARAM_{var}"), v.into()));
            params_json.push(serde_json::json!({"name": name, "string": v}));
        }
        if let Some(a) = p.get("array").and_then(Value::as_sequence) {
            let items: Vec<&str> = a.iter().map(|x| x.as_str().unwrap()).collect();
            for (i, v) in items.iter().enumerate() {
                env.push((format!("PARAM_{var}_{i}"), (*v).into()));
            }
            params_json.push(serde_json::json!({"name": name, "array": items}));
        }
    }
    env.push((
        "ARGOCD_APP_PARAMETERS".into(),
        serde_json::Value::Array(params_json).to_string(),
    ));
    let sh = |argv: &[String], extra: &[(&str, &str)]| -> Output {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).current_dir(&app_dir).env_clear();
        for (k, v) in &env {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        run(&mut c)
    };

    let discover = sh(&command(&["discover", "find"]), &[]);
    assert!(
        discover.status.success() && !discover.stdout.is_empty(),
        "the plugin's discover command does not match the application"
    );
    let generate = command(&["generate"]);
    let mut outs = Vec::new();
    for _ in 0..2 {
        let o = sh(&generate, &[]);
        assert!(
            o.status.success(),
            "generate failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        outs.push(o.stdout);
    }
    eprintln!(
        "gitops: Argo CD generate ({app_path}) sha256 {} {}",
        sha256_hex(&outs[0]),
        sha256_hex(&outs[1])
    );
    assert_eq!(
        sha256_hex(&outs[0]),
        sha256_hex(&outs[1]),
        "two runs differ"
    );
    let items = docs(&outs[0]);
    assert_whole_topology(&items, "cache", "argocd");
    assert_whole_topology(&items, "sessions", "argocd");
    validate(&items, "argocd");
    let (ok, report) = check_cli(&outs[0]);
    assert!(ok, "{report}");
    // The seed is what makes it stable: without it the plugin refuses.
    let o = sh(&generate, &[("PARAM_SEED", "missing")]);
    assert!(!o.status.success(), "generate without a seed succeeded");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no seed \"missing\""),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A parameter cannot reach outside the application directory.
    let o = sh(&generate, &[("PARAM_FILES_0", "../../../etc")]);
    assert!(
        !o.status.success(),
        "generate accepted a path outside the app"
    );
}

// ------------------------------------------------ stable certificates (CLI)

fn render(spec: &str, envs: &[(&str, &str)], args: &[&str]) -> Vec<u8> {
    let dir = Scratch::new("render");
    let f = dir.join("spec.yaml");
    std::fs::write(&f, spec).unwrap();
    let mut c = Command::new(bin());
    c.args(args).arg("render").arg("-f").arg(&f);
    c.env_remove("REDIS_SENTINEL_FN_SEED")
        .env_remove("REDIS_SENTINEL_FN_SEED_FILE");
    for (k, v) in envs {
        c.env(k, v);
    }
    run_ok(&mut c)
}

fn secret_data(v: &Value) -> BTreeMap<String, String> {
    v.get("data")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().into(), v.as_str().unwrap().into()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn same_seed_gives_identical_bytes_from_every_seed_source() {
    let dir = Scratch::new("seed");
    let seed_file = dir.join("seed");
    std::fs::write(&seed_file, format!("{SEED}\n")).unwrap();
    let seed_path = seed_file.display().to_string();
    let a = render(SPEC, &[("REDIS_SENTINEL_FN_SEED_FILE", &seed_path)], &[]);
    let b = render(SPEC, &[("REDIS_SENTINEL_FN_SEED_FILE", &seed_path)], &[]);
    let c = render(SPEC, &[], &["--seed-file", &seed_path]);
    let d = render(SPEC, &[("REDIS_SENTINEL_FN_SEED", SEED)], &[]);
    let sha = sha256_hex(&a);
    for (what, o) in [
        ("again", &b),
        ("--seed-file", &c),
        ("REDIS_SENTINEL_FN_SEED", &d),
    ] {
        assert_eq!(
            sha256_hex(o),
            sha,
            "{what} differs from REDIS_SENTINEL_FN_SEED_FILE"
        );
    }
    validate(&docs(&a), "seeded render");
}

#[test]
fn another_seed_gives_other_keys_and_passwords() {
    let a = by_key(&docs(&render(
        SPEC,
        &[("REDIS_SENTINEL_FN_SEED", SEED)],
        &[],
    )));
    let b = by_key(&docs(&render(
        SPEC,
        &[("REDIS_SENTINEL_FN_SEED", "another-seed-0123456789abcdef")],
        &[],
    )));
    let secrets: Vec<&String> = a.keys().filter(|k| k.starts_with("Secret/")).collect();
    assert_eq!(secrets.len(), 4, "{secrets:?}");
    for k in secrets {
        let (da, db) = (secret_data(&a[k]), secret_data(&b[k]));
        assert_eq!(da.keys().collect::<Vec<_>>(), db.keys().collect::<Vec<_>>());
        // Key material and passwords; not plain settings such as user names.
        let secret_fields: Vec<&String> = da
            .keys()
            .filter(|f| f.starts_with("tls.") || *f == "ca.crt" || f.contains("password"))
            .collect();
        assert!(!secret_fields.is_empty(), "{k} holds no key or password");
        for field in secret_fields {
            assert_ne!(
                da[field], db[field],
                "{k} {field} is the same under another seed"
            );
        }
    }
}

#[test]
fn rotation_bump_changes_exactly_the_certificates() {
    let rotated_spec = format!("{SPEC}  tls:\n    rotation: 1\n");
    let seed = [("REDIS_SENTINEL_FN_SEED", SEED)];
    let a = by_key(&docs(&render(SPEC, &seed, &[])));
    let b = by_key(&docs(&render(&rotated_spec, &seed, &[])));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "rotation changed the set of objects"
    );
    let hash_path = ["spec", "template", "metadata", "annotations"];
    let strip_hash = |v: &Value| {
        let mut v = v.clone();
        let mut cur = &mut v;
        for p in hash_path {
            cur = cur.get_mut(p).unwrap();
        }
        cur.as_mapping_mut()
            .unwrap()
            .remove("fn.redis-sentinel.dev/config-hash");
        v
    };
    let hash = |v: &Value| {
        let mut cur = v;
        for p in hash_path {
            cur = cur.get(p).unwrap();
        }
        s(cur, &["fn.redis-sentinel.dev/config-hash"])
            .unwrap()
            .to_string()
    };
    let mut changed = BTreeSet::new();
    for (k, va) in &a {
        let vb = &b[k];
        if va == vb {
            continue;
        }
        changed.insert(k.clone());
        if k.starts_with("StatefulSet/") {
            assert_ne!(hash(va), hash(vb), "{k}: hash unchanged");
            assert_eq!(
                strip_hash(va),
                strip_hash(vb),
                "{k} changed beyond its pod-template hash"
            );
        }
        if k.starts_with("Secret/") {
            for (field, v) in secret_data(va) {
                assert_ne!(
                    v,
                    secret_data(vb)[&field],
                    "{k} {field} kept across rotation"
                );
            }
        }
    }
    let want: BTreeSet<String> = [
        "Secret/cache-redis-tls",
        "Secret/cache-sentinel-tls",
        "Secret/cache-client-tls",
        // The CA is part of the certificates: its public copy for clients.
        "ConfigMap/cache-ca",
        // Not the StatefulSets: the default image (Valkey 9.1) reloads the
        // certificate files the kubelet updates, so their pods do not roll
        // (tests/it/hashing.rs: on other servers they do).
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(changed, want, "objects changed by a rotation bump");
}

// ------------------------------------------------------------------ check

#[test]
fn check_cli_passes_a_clean_render_and_names_the_fix_for_a_moved_namespace() {
    let out = render(SPEC, &[("REDIS_SENTINEL_FN_SEED", SEED)], &[]);
    let (ok, report) = check_cli(&out);
    assert!(ok, "{report}");
    let text = String::from_utf8(out).unwrap();
    let moved = text.replace("namespace: shop\n", "namespace: other\n");
    let (ok, report) = check_cli(moved.as_bytes());
    assert!(!ok, "{report}");
    assert!(
        report.contains("set `namespace: other` in the RedisSentinel spec"),
        "{report}"
    );
    // As a ResourceList (kpt validator / exec): items back unchanged.
    let rl = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}functionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinelCheck\n  metadata:\n    name: check\n",
        docs(text.as_bytes())
            .iter()
            .map(|d| {
                let y = serde_norway::to_string(d).unwrap();
                let mut lines = y.lines();
                let mut s = format!("- {}\n", lines.next().unwrap());
                for l in lines {
                    s.push_str(&format!("  {l}\n"));
                }
                s
            })
            .collect::<String>()
    );
    let o = run_with_input(&mut Command::new(bin()), rl.as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        items_of(&o.stdout),
        docs(text.as_bytes()),
        "check changed the items"
    );
}
