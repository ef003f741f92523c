//! Running the function's binary and reading what it writes (merged from
//! the former `tests/common`): run the real binary with a fixed seed and
//! clock, mask secrets for golden files, pick items out of a render.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use serde_norway::Value;
use sha2::{Digest, Sha256};

/// A fixed test seed and clock: renders are byte-identical.
pub const SEED: &str = "test-seed-0123456789abcdef-not-secret";
/// 2026-01-01T00:00:00Z
pub const NOW: &str = "1767225600";

/// The function's binary, as cargo built it for the tests.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_redis-sentinel-fn"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory the tests were built in.
pub fn target_dir() -> PathBuf {
    bin()
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .to_path_buf()
}

/// Runs the binary with `args`, `stdin` and env (seed and clock fixed unless
/// overridden by `env`; `("NAME", None)` removes a variable).
pub fn run(args: &[&str], stdin: &[u8], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("REDIS_SENTINEL_FN_SEED", SEED)
        .env("SOURCE_DATE_EPOCH", NOW)
        .env_remove("REDIS_SENTINEL_FN_SEED_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let mut sin = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("the binary finishes");
    writer.join().expect("stdin writer");
    out
}

/// `render -f path`.
pub fn render(path: &Path, env: &[(&str, Option<&str>)]) -> Output {
    run(
        &["render", "-f", path.to_str().expect("utf-8 path")],
        b"",
        env,
    )
}

/// A ResourceList holding `items` with `spec` as functionConfig.
pub fn resource_list(spec: &Value, items: &[Value]) -> String {
    let mut m = serde_norway::Mapping::new();
    m.insert("apiVersion".into(), "config.kubernetes.io/v1".into());
    m.insert("kind".into(), "ResourceList".into());
    m.insert("items".into(), Value::Sequence(items.to_vec()));
    m.insert("functionConfig".into(), spec.clone());
    serde_norway::to_string(&Value::Mapping(m)).expect("serializable")
}

/// KRM mode on `spec` (a YAML document) with `items`.
pub fn krm(spec: &Value, items: &[Value], env: &[(&str, Option<&str>)]) -> Output {
    run(&[], resource_list(spec, items).as_bytes(), env)
}

pub fn parse(yaml: &str) -> Value {
    serde_norway::from_str(yaml).expect("valid YAML")
}

pub fn parse_stream(yaml: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(yaml).expect("utf-8");
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML document"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

pub fn read_spec(path: &Path) -> Value {
    parse(&std::fs::read_to_string(path).expect("spec readable"))
}

pub fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or_default()
}

pub fn name(v: &Value) -> &str {
    v.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The item of kind `k` named `n`, if there is one.
pub fn try_find<'a>(items: &'a [Value], k: &str, n: &str) -> Option<&'a Value> {
    items.iter().find(|i| kind(i) == k && name(i) == n)
}

pub fn find<'a>(items: &'a [Value], k: &str, n: &str) -> &'a Value {
    try_find(items, k, n).unwrap_or_else(|| panic!("no {k} {n} in the output"))
}

/// DNS names among the SANs of the certificate in a Secret's `tls.crt`.
pub fn dns_sans(secret: &Value) -> Vec<String> {
    let b64 = secret["data"]["tls.crt"].as_str().expect("tls.crt");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("X.509");
    cert.subject_alternative_name()
        .expect("SAN extension parses")
        .expect("SAN extension present")
        .value
        .general_names
        .iter()
        .filter_map(|g| match g {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// Decoded Secret data entry.
pub fn secret(items: &[Value], n: &str, key: &str) -> String {
    let s = find(items, "Secret", n);
    let b64 = s["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("Secret {n} has no {key}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64"),
    )
    .expect("utf-8")
}

/// Data entry of a ConfigMap.
pub fn config(items: &[Value], n: &str, key: &str) -> String {
    find(items, "ConfigMap", n)["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap {n} has no {key}"))
        .to_string()
}

pub fn pod_hash(items: &[Value], sts: &str) -> String {
    find(items, "StatefulSet", sts)["spec"]["template"]["metadata"]["annotations"]["fn.redis-sentinel.dev/config-hash"]
        .as_str()
        .expect("hash annotation")
        .to_string()
}

/// Replaces every Secret data value by `sha256:<hex>` of its content, so that
/// golden files hold no key material but still pin it.
pub fn mask_secrets(items: &mut [Value]) {
    for item in items.iter_mut() {
        if kind(item) != "Secret" {
            continue;
        }
        if let Some(Value::Mapping(data)) = item.get_mut("data") {
            for (_, v) in data.iter_mut() {
                let digest = Sha256::digest(v.as_str().unwrap_or_default().as_bytes());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                *v = Value::String(format!("sha256:{hex}"));
            }
        }
    }
}

pub fn to_stream(items: &[Value]) -> String {
    let mut s = String::new();
    for i in items {
        s.push_str("---\n");
        s.push_str(&serde_norway::to_string(i).expect("serializable"));
    }
    s
}

/// Writes `text` to a fresh temp file and returns its path.
pub fn temp_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("temp file");
    p
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rsfn-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Success, and standard output followed by standard error: what a failed
/// assertion shows.
pub fn status_text(out: &Output) -> (bool, String) {
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// [`output`] of a run that must have succeeded.
pub fn output_ok(out: &Output) -> (Vec<Value>, Vec<Value>) {
    assert!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    output(out)
}

/// The items and results of a ResourceList the function wrote.
pub fn output(out: &Output) -> (Vec<Value>, Vec<Value>) {
    let rl = parse(std::str::from_utf8(&out.stdout).expect("utf-8"));
    (
        rl["items"].as_sequence().cloned().unwrap_or_default(),
        rl.get("results")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default(),
    )
}
