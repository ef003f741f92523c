//! Hostile and malformed input, through the real binary in KRM mode.
//!
//! Every case must be answered within 2 s of CPU time (`prlimit --cpu`: the
//! kernel stops the process, so a loaded machine cannot fail a case; 20 s
//! of wall time for one that blocks) with at most 256 MB of peak memory
//! (VmHWM of the process, sampled from /proc while it runs; `prlimit --as`
//! caps the address space at 1 GiB as a backstop), exit non-zero with
//! a clear `severity: error` result, never panic, and leave the item list
//! either empty or exactly the input items.
//!
//! Run with `--nocapture` to see the time and memory of every case.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_norway::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-fn");
/// CPU time a hostile input may cost, enforced by the kernel (RLIMIT_CPU
/// through prlimit: SIGXCPU, then SIGKILL a second later), so that other
/// tests sharing the machine cannot make a case fail.
const CPU_LIMIT_SECONDS: u64 = 2;
/// Wall time, for a case that blocks instead of computing.
const TIME_LIMIT: Duration = Duration::from_secs(20);
const MEMORY_LIMIT_KIB: u64 = 256 * 1000;
/// Address-space cap (backstop against a runaway case eating the machine).
const ADDRESS_SPACE_CAP: u64 = 1 << 30;
const SEED: &str = "adversarial-test-seed-0123456789";

struct Outcome {
    code: Option<i32>,
    /// The signal that ended the process (24: SIGXCPU, over the CPU limit).
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_kib: u64,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the binary on `input`, measuring wall time and peak RSS.
fn run(input: Vec<u8>) -> Outcome {
    let mut cmd = if Path::new("/usr/bin/prlimit").exists() {
        let mut c = Command::new("/usr/bin/prlimit");
        c.arg(format!("--as={ADDRESS_SPACE_CAP}"))
            .arg(format!(
                "--cpu={CPU_LIMIT_SECONDS}:{}",
                CPU_LIMIT_SECONDS + 1
            ))
            .arg("--")
            .arg(BIN);
        c
    } else {
        Command::new(BIN)
    };
    cmd.env("REDIS_SENTINEL_FN_SEED", SEED)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("REDIS_SENTINEL_FN_SEED_FILE")
        .env_remove("REDIS_SENTINEL_FN_MAX_INPUT_BYTES")
        .env_remove("REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = vm_hwm_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // The function may stop reading early (input too large): EPIPE is fine.
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        out.read_to_end(&mut s).ok();
        s
    });
    let mut stderr = Vec::new();
    err.read_to_end(&mut stderr).ok();
    let stdout = reader.join().expect("stdout reader");
    let status = child.wait().expect("the binary ends");
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    writer.join().expect("writer");
    Outcome {
        code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
        peak_kib: peak.load(Ordering::Relaxed),
    }
}

const HEADER: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";
const FOREIGN: &str = "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: other\n    annotations:\n      config.kubernetes.io/path: other.yaml\n  data:\n    a: \"1\"\n";

/// A ResourceList with one foreign item and a RedisSentinel whose spec is
/// `spec` (a YAML flow mapping or block text indented by 4).
fn with_spec(spec: &str) -> String {
    format!(
        "{HEADER}{FOREIGN}functionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {{name: cache, namespace: ns}}\n  spec: {spec}\n"
    )
}

fn with_config(fc: &str) -> String {
    format!("{HEADER}{FOREIGN}functionConfig:\n{fc}")
}

fn input_items(input: &[u8]) -> Option<Vec<Value>> {
    let v: Value = serde_norway::from_slice(input).ok()?;
    Some(v.get("items")?.as_sequence()?.clone())
}

/// Runs `input` and checks the common contract; returns the error results
/// as (message, field path) pairs.
fn check(name: &str, input: Vec<u8>) -> Vec<(String, Option<String>)> {
    // Only parse small, shallow inputs for the item comparison (this test
    // process must not feed libyaml what the function refuses).
    let shallow = redis_sentinel_fn::krm::check_flow_depth(&input, 128).is_ok();
    let items_in = if shallow && input.len() < 1 << 20 {
        input_items(&input)
    } else {
        None
    };
    let size = input.len();
    let o = run(input);
    eprintln!(
        "| {name} | {size} B | {:.3} s | {:.1} MB | exit {:?} |",
        o.elapsed.as_secs_f64(),
        o.peak_kib as f64 / 1000.0,
        o.code
    );
    assert!(
        o.elapsed <= TIME_LIMIT,
        "{name}: took {:?} (limit {TIME_LIMIT:?})",
        o.elapsed
    );
    assert!(
        o.peak_kib <= MEMORY_LIMIT_KIB,
        "{name}: peak RSS {} KiB (limit {MEMORY_LIMIT_KIB} KiB)",
        o.peak_kib
    );
    assert_eq!(
        o.code,
        Some(1),
        "{name}: exit code (signal {:?}; 24 is SIGXCPU: over {CPU_LIMIT_SECONDS} s of CPU); stderr: {}",
        o.signal,
        o.stderr
    );
    for bad in ["panicked", "internal error", "RUST_BACKTRACE"] {
        assert!(!o.stderr.contains(bad), "{name}: stderr: {}", o.stderr);
    }
    let out: Value = serde_norway::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: output is not YAML ({e}): {}", o.stdout));
    assert_eq!(
        out.get("kind").and_then(Value::as_str),
        Some("ResourceList")
    );
    let items = out
        .get("items")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if !items.is_empty() {
        assert_eq!(
            Some(&items),
            items_in.as_ref(),
            "{name}: an error result came with a changed item list"
        );
    }
    let errors: Vec<(String, Option<String>)> = out
        .get("results")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter(|r| r.get("severity").and_then(Value::as_str) == Some("error"))
        .map(|r| {
            (
                r.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                r.get("field")
                    .and_then(|f| f.get("path"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
        })
        .collect();
    assert!(!errors.is_empty(), "{name}: no error result: {}", o.stdout);
    for (m, f) in &errors {
        assert!(m.len() >= 15, "{name}: unclear message {m:?}");
        // Every error names its field or, for the whole document, where.
        assert!(
            f.as_deref().is_some_and(|f| !f.is_empty())
                || redis_sentinel_fn::krm::has_line_and_column(m),
            "{name}: error without a field path or a line and column: {m:?}"
        );
    }
    errors
}

/// The case fails with an error whose message contains `needle`.
fn expect_message(name: &str, input: impl Into<Vec<u8>>, needle: &str) {
    let errors = check(name, input.into());
    assert!(
        errors.iter().any(|(m, _)| m.contains(needle)),
        "{name}: no error mentions {needle:?}: {errors:?}"
    );
}

/// The case fails with an error naming `field`.
fn expect_field(name: &str, input: impl Into<Vec<u8>>, field: &str) {
    let errors = check(name, input.into());
    assert!(
        errors.iter().any(|(_, f)| f.as_deref() == Some(field)),
        "{name}: no error names field {field:?}: {errors:?}"
    );
}

// ---------------------------------------------------------------- hostile

#[test]
fn billion_laughs_in_items() {
    let mut s = String::from(HEADER);
    s.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s.push_str("items: *a9\n");
    expect_message("billion laughs (items)", s, "repetition limit");
}

#[test]
fn billion_laughs_in_spec() {
    let mut s = String::from(HEADER);
    s.push_str("x0: &x0 {a: b, c: d, e: f, g: h, i: j, k: l, m: n, o: p}\n");
    for i in 1..9 {
        let refs: Vec<String> = (0..8).map(|k| format!("k{k}: *x{}", i - 1)).collect();
        s.push_str(&format!("x{i}: &x{i} {{{}}}\n", refs.join(", ")));
    }
    s.push_str("items: []\nfunctionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {name: cache}\n  spec: {annotations: *x8}\n");
    expect_message("billion laughs (spec)", s, "repetition limit");
}

#[test]
fn nesting_10000_flow_sequences() {
    let s = format!(
        "{HEADER}items: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    expect_message("10,000 nested [ ]", s, "levels deep");
}

#[test]
fn nesting_10000_flow_mappings() {
    let s = format!(
        "{HEADER}items: []\nfunctionConfig: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    expect_message("10,000 nested { }", s, "levels deep");
}

#[test]
fn nesting_1000000_flow_unclosed() {
    // 1 MB of `[`: quadratic in libyaml's scanner were it to reach it.
    let s = format!("{HEADER}items: {}\n", "[".repeat(1_000_000));
    expect_message("1,000,000 unclosed [", s, "levels deep");
}

#[test]
fn nesting_10000_block_sequences() {
    let s = format!("{HEADER}items:\n{}x\n", "- ".repeat(10_000));
    check("10,000 nested block - ", s.into_bytes());
}

#[test]
fn nesting_10000_block_mappings() {
    // One key per line, each indented one more space: 50 MB as plain text
    // would be needed for 10,000 levels at two spaces; one space each is
    // still 50 MB, so nest via `? ` complex keys instead.
    let s = format!(
        "{HEADER}items: []\nfunctionConfig:\n{}x\n",
        "? ".repeat(10_000)
    );
    check("10,000 nested block ? ", s.into_bytes());
}

#[test]
fn nesting_deep_in_configmap_value() {
    let fc = format!(
        "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: x}}\n  data:\n    name: web\n    labels: '{}'\n",
        "[".repeat(200_000)
    );
    let errors = check(
        "ConfigMap value of 200,000 [",
        with_config(&fc).into_bytes(),
    );
    assert!(
        errors
            .iter()
            .any(|(_, f)| f.as_deref() == Some("data.labels")),
        "{errors:?}"
    );
}

#[test]
fn input_of_100_megabytes() {
    let item = "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    k: v\n";
    let mut s = String::with_capacity(100_000_000);
    s.push_str(HEADER);
    s.push_str("items:\n");
    while s.len() + item.len() <= 100_000_000 {
        s.push_str(item);
    }
    while s.len() < 100_000_000 {
        s.push('#');
    }
    expect_message("100 MB input", s, "larger than");
}

#[test]
fn input_of_100_mebibytes_of_garbage() {
    expect_message("100 MiB of bytes", vec![b'x'; 100 << 20], "larger than");
}

#[test]
fn large_document_not_in_block_style() {
    // 5 MiB as one flow sequence: too big to parse whole.
    let mut s = format!("{HEADER}items: [");
    while s.len() < 5 << 20 {
        s.push_str("{a: 1}, ");
    }
    s.push_str("]\n");
    expect_message("5 MiB flow-style list", s, "limit for one document");
}

#[test]
fn non_utf8_bytes() {
    let mut s = with_spec("{}").into_bytes();
    s.extend_from_slice(b"# \xff\xfe\xc3\x28\n");
    expect_message("non-UTF-8 bytes", s, "not valid UTF-8");
}

#[test]
fn utf16_input() {
    let s: Vec<u8> = with_spec("{}")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    check("UTF-16 input", s);
}

#[test]
fn duplicate_keys_at_top_level() {
    let s = format!("{HEADER}kind: ResourceList\nitems: []\n");
    expect_message("duplicate top-level key", s, "duplicate entry");
}

#[test]
fn duplicate_keys_in_spec() {
    let s = with_spec("\n    redis: {replicas: 3}\n    redis: {replicas: 5}");
    expect_message("duplicate spec key", s.clone(), "duplicate entry");
    expect_field("duplicate spec key", s, "spec");
}

#[test]
fn multiple_documents() {
    let s = format!("{}---\n{}", with_spec("{}"), with_spec("{}"));
    expect_message("two documents", s, "2 YAML documents");
}

#[test]
fn yaml_tags_in_function_config() {
    let s = with_spec("{replicas: 3, labels: !x {a: b}, redis: {port: !y 1}}");
    let errors = check("YAML tags in the spec", s.into_bytes());
    for (field, tag) in [("spec.labels", "!x"), ("spec.redis.port", "!y")] {
        assert!(
            errors
                .iter()
                .any(|(m, f)| f.as_deref() == Some(field) && m.contains(&format!("tag {tag}"))),
            "{field}: {errors:?}"
        );
    }
    // serde_norway reads unknown `!!` tags as strings: a type error here.
    let s = with_spec("{redis: {replicas: !!python/object:os.system 3}}");
    expect_field("!!python tag", s, "spec.redis.replicas");
}

#[test]
fn yaml_tag_on_function_config_kind() {
    let s = format!(
        "{HEADER}{FOREIGN}functionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: !k RedisSentinel\n  metadata: {{name: cache}}\n"
    );
    expect_field("YAML tag on kind", s, "kind");
}

#[test]
fn yaml_tag_in_configmap_value() {
    let fc = "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data:\n    name: web\n    redis.replicas: '!x 3'\n";
    expect_field(
        "YAML tag in a ConfigMap value",
        with_config(fc),
        "data.redis.replicas",
    );
}

#[test]
fn huge_numbers() {
    for (name, spec, field) in [
        (
            "replicas 10^50",
            "{redis: {replicas: 100000000000000000000000000000000000000000000000000}}",
            "spec.redis.replicas",
        ),
        (
            "replicas 1e400",
            "{redis: {replicas: 1e400}}",
            "spec.redis.replicas",
        ),
        (
            "replicas 2^64",
            "{redis: {replicas: 18446744073709551616}}",
            "spec.redis.replicas",
        ),
        (
            "replicas -1",
            "{redis: {replicas: -1}}",
            "spec.redis.replicas",
        ),
        (
            "downAfter 1e400",
            "{sentinel: {downAfterMilliseconds: 1e400}}",
            "spec.sentinel.downAfterMilliseconds",
        ),
        (
            "downAfter u64::MAX",
            "{sentinel: {downAfterMilliseconds: 18446744073709551615}}",
            "spec.sentinel.downAfterMilliseconds",
        ),
        (
            "port 2^32",
            "{redis: {port: 4294967296}}",
            "spec.redis.port",
        ),
        (
            "rotation 2^32",
            "{tls: {rotation: 4294967296}}",
            "spec.tls.rotation",
        ),
        (
            "validity .nan",
            "{tls: {validityDays: .nan}}",
            "spec.tls.validityDays",
        ),
        (
            "runAsUser 10^30",
            "{security: {runAsUser: 1000000000000000000000000000000}}",
            "spec.security.runAsUser",
        ),
    ] {
        expect_field(name, with_spec(spec), field);
    }
}

#[test]
fn ten_thousand_replicas() {
    expect_field(
        "10,000 Redis replicas",
        with_spec("{redis: {replicas: 10000}}"),
        "spec.redis.replicas",
    );
    expect_field(
        "10,000 Sentinels",
        with_spec("{sentinel: {replicas: 10000}}"),
        "spec.sentinel.replicas",
    );
}

#[test]
fn long_strings() {
    let long = "a".repeat(1_000_000);
    expect_field(
        "1 MB name",
        with_spec(&format!("{{name: {long}}}")),
        "spec.name",
    );
    expect_field(
        "1 MB image",
        with_spec(&format!("{{image: \"{long} x\"}}")),
        "spec.image",
    );
}

#[test]
fn many_labels_and_annotations() {
    let labels: String = (0..10_000).map(|i| format!("\n      k{i}: v{i}")).collect();
    expect_field(
        "10,000 labels",
        with_spec(&format!("\n    labels:{labels}")),
        "spec.labels",
    );
    let value = "x".repeat(1000);
    let ann: String = (0..1000)
        .map(|i| format!("\n      k{i}: {value}"))
        .collect();
    expect_field(
        "1 MB of annotations",
        with_spec(&format!("\n    annotations:{ann}")),
        "spec.annotations",
    );
    let names: String = (0..10_000)
        .map(|i| format!("\n      - h{i}.example.com"))
        .collect();
    expect_field(
        "10,000 extra DNS names",
        with_spec(&format!("\n    tls:\n      extraDnsNames:{names}")),
        "spec.tls.extraDnsNames",
    );
}

#[test]
fn many_spec_errors_at_once() {
    // 10,000 invalid tolerations: bounded time, every error named.
    let tol: String = (0..10_000)
        .map(|_| "\n      - {operator: Bad}".to_string())
        .collect();
    check(
        "10,000 invalid tolerations",
        with_spec(&format!("\n    placement:\n      tolerations:{tol}")).into_bytes(),
    );
}

// --------------------------------------------------------------- malformed

#[test]
fn malformed_specs_name_their_field() {
    let cm = |data: &str| {
        with_config(&format!(
            "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: fn-config}}\n  data: {data}\n"
        ))
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong type: string replicas",
            with_spec("{redis: {replicas: three}}"),
            "spec.redis.replicas",
        ),
        (
            "wrong type: bool for a section",
            with_spec("{tls: true}"),
            "spec.tls",
        ),
        (
            "wrong type: list for a map",
            with_spec("{labels: [a, b]}"),
            "spec.labels",
        ),
        (
            "wrong type: map for a port",
            with_spec("{sentinel: {port: {a: 1}}}"),
            "spec.sentinel.port",
        ),
        (
            "unknown field in a section",
            with_spec("{redis: {replica: 3}}"),
            "spec.redis.replica",
        ),
        (
            "unknown field in the spec",
            with_spec("{replicas: 3}"),
            "spec.replicas",
        ),
        (
            "quorum above sentinels",
            with_spec("{sentinel: {replicas: 3, quorum: 4}}"),
            "spec.sentinel.quorum",
        ),
        (
            "quorum zero",
            with_spec("{sentinel: {quorum: 0}}"),
            "spec.sentinel.quorum",
        ),
        ("invalid name", with_spec("{name: Bad_Name}"), "spec.name"),
        // Found by tests/properties.rs: an empty name was accepted.
        ("empty name", with_spec("{name: ''}"), "spec.name"),
        (
            "name too long",
            with_spec(&format!("{{name: {}}}", "a".repeat(60))),
            "spec.name",
        ),
        (
            "invalid namespace",
            with_spec("{namespace: 'NS!'}"),
            "spec.namespace",
        ),
        (
            "invalid cluster domain",
            with_spec("{clusterDomain: 'a..b'}"),
            "spec.clusterDomain",
        ),
        (
            "no replicas",
            with_spec("{redis: {replicas: 0}}"),
            "spec.redis.replicas",
        ),
        (
            "minReplicasToWrite too high",
            with_spec("{redis: {replicas: 2, minReplicasToWrite: 5}}"),
            "spec.redis.minReplicasToWrite",
        ),
        ("port 0", with_spec("{redis: {port: 0}}"), "spec.redis.port"),
        (
            "port out of range",
            with_spec("{redis: {port: 70000}}"),
            "spec.redis.port",
        ),
        (
            "port used twice",
            with_spec("{sentinel: {port: 6379}}"),
            "spec.sentinel.port",
        ),
        (
            "unknown key algorithm",
            with_spec("{tls: {keyAlgorithm: dsa}}"),
            "spec.tls.keyAlgorithm",
        ),
        (
            "notBefore not a time",
            with_spec("{tls: {notBefore: yesterday}}"),
            "spec.tls.notBefore",
        ),
        (
            "renewBefore not below validity",
            with_spec("{tls: {validityDays: 10, renewBeforeDays: 10}}"),
            "spec.tls.renewBeforeDays",
        ),
        (
            "bad extra DNS name",
            with_spec("{tls: {extraDnsNames: [bad_name]}}"),
            "spec.tls.extraDnsNames[0]",
        ),
        (
            "storage size not a quantity",
            with_spec("{redis: {persistence: {enabled: true, size: lots}}}"),
            "spec.redis.persistence.size",
        ),
        (
            "cpu not a quantity",
            with_spec("{redis: {resources: {requests: {cpu: fast}}}}"),
            "spec.redis.resources.requests.cpu",
        ),
        (
            "toleration operator",
            with_spec("{placement: {tolerations: [{operator: Bad}]}}"),
            "spec.placement.tolerations[0].operator",
        ),
        (
            "selector label overridden",
            with_spec("{labels: {app.kubernetes.io/name: x}}"),
            "spec.labels.app.kubernetes.io/name",
        ),
        (
            "maxmemory policy",
            with_spec("{redis: {maxmemoryPolicy: sometimes}}"),
            "spec.redis.maxmemoryPolicy",
        ),
        (
            "no instance name",
            with_config(
                "  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {}\n",
            ),
            "metadata.name",
        ),
        (
            "wrong apiVersion",
            with_config(
                "  apiVersion: fn.redis-sentinel.dev/v9\n  kind: RedisSentinel\n  metadata: {name: c}\n",
            ),
            "apiVersion",
        ),
        (
            "unsupported functionConfig kind",
            with_config("  apiVersion: v1\n  kind: Secret\n  metadata: {name: c}\n"),
            "functionConfig.kind",
        ),
        (
            "functionConfig without kind",
            with_config("  metadata: {name: c}\n"),
            "functionConfig",
        ),
        (
            "ConfigMap: empty path segment",
            cm("{name: web, redis..replicas: '2'}"),
            "data.redis..replicas",
        ),
        (
            "ConfigMap: unknown key",
            cm("{name: web, redis.foo: '2'}"),
            "data.redis.foo",
        ),
        (
            "ConfigMap: wrong type",
            cm("{name: web, redis.replicas: abc}"),
            "data.redis.replicas",
        ),
        (
            "ConfigMap: conflicting keys",
            cm("{name: web, redis: '3', redis.replicas: '2'}"),
            "data.redis.replicas",
        ),
        (
            "ConfigMap: value not a string",
            cm("{name: web, redis.replicas: [1]}"),
            "data.redis.replicas",
        ),
        ("ConfigMap: data not a map", cm("[a, b]"), "data"),
        (
            "ConfigMap: no name",
            cm("{redis.replicas: '2'}"),
            "data.name",
        ),
        (
            "missing functionConfig",
            format!("{HEADER}{FOREIGN}"),
            "functionConfig",
        ),
        (
            "functionConfig not a mapping",
            format!("{HEADER}items: []\nfunctionConfig: [a]\n"),
            "functionConfig",
        ),
        (
            "items not a list",
            format!("{HEADER}items: {{a: b}}\n"),
            "items",
        ),
        (
            "item not a mapping",
            format!("{HEADER}items: [a]\n"),
            "items[0]",
        ),
        (
            "not a ResourceList",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n".to_string(),
            "kind",
        ),
        (
            "wrong ResourceList apiVersion",
            format!("apiVersion: v1\nkind: ResourceList\n{FOREIGN}"),
            "apiVersion",
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, input, field) in cases {
        expect_field(name, input, field);
    }
}

#[test]
fn malformed_input_has_clear_errors() {
    let truncated = with_spec("{redis: {replicas: 3}}");
    let truncated = truncated[..truncated.len() - 12].to_string();
    for (name, input, needle) in [
        ("empty input", String::new(), "input is empty"),
        ("only whitespace", " \n\n  \n".to_string(), "input is empty"),
        (
            "only a comment",
            "# nothing\n".to_string(),
            "input is empty",
        ),
        ("a scalar", "hello".to_string(), "must be a ResourceList"),
        ("a list", "- a\n- b\n".to_string(), "must be a ResourceList"),
        ("truncated YAML", truncated, "not valid YAML"),
        (
            "unterminated quote",
            format!("{HEADER}items: [\"abc\n"),
            "not valid YAML",
        ),
        (
            "tab indentation",
            format!("{HEADER}items:\n\t- a\n"),
            "not valid YAML",
        ),
        (
            "undefined alias",
            format!("{HEADER}items: *nothing\n"),
            "not valid YAML",
        ),
    ] {
        expect_message(name, input, needle);
    }
}

#[test]
fn tags_on_foreign_items_pass_through() {
    // Tags are only refused in the function config: items are not ours.
    let s = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: other}}\n  data: {{a: !custom x}}\nfunctionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {{name: cache}}\n"
    );
    let o = run(s.into_bytes());
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("!custom"), "{}", o.stdout);
}

// ------------------------------------------------- the nesting pre-check

#[test]
fn flow_depth_check_counts_what_libyaml_counts() {
    use redis_sentinel_fn::krm::check_flow_depth;
    let deep = |n: usize| format!("a: {}{}", "[".repeat(n), "]".repeat(n));
    assert!(check_flow_depth(deep(128).as_bytes(), 128).is_ok());
    assert!(check_flow_depth(deep(129).as_bytes(), 128).is_err());
    // Brackets hidden in comments, quotes and tags do not hide real depth.
    for hide in ["# ]", "']'", "\"]\"", "\"\\\"]\"", "'it''s ]'", "!t]"] {
        let mut s = String::from("k: ");
        for _ in 0..200 {
            s.push_str(&format!("[ {hide}\n, "));
        }
        assert!(
            check_flow_depth(s.as_bytes(), 128).is_err(),
            "depth hidden by {hide:?}"
        );
    }
    // `,` `]` `}` are tokens at block level too: a collection opens after
    // them (found by the nesting fuzz target: `[?],[a: b],]`).
    let s = format!("k: a\n{}", ",[".repeat(200));
    assert!(check_flow_depth(s.as_bytes(), 128).is_err());
    // Balanced brackets in text, quotes, comments and block scalars do not
    // add up, however many there are.
    let mut ok = String::from("items:\n");
    for i in 0..1000 {
        ok.push_str(&format!(
            "- {{kind: ConfigMap, metadata: {{name: c{i}}}, data: {{a: \"[x]\", b: '{{y}}', c: \"it's [a]\"}}}}\n  # [ unbalanced in a comment\n- args: [\"--x=[\", \"]\"]\n  s: |\n    if [ -f x ]; then [[ a ]]; fi\n"
        ));
    }
    assert!(check_flow_depth(ok.as_bytes(), 128).is_ok());
}

// ------------------------------- errors at their field, refused at render

#[test]
fn certificate_window_errors_name_their_field() {
    expect_field(
        "notBefore at the end of time",
        with_spec("{tls: {notBefore: '9999-12-31T23:59:59Z'}}"),
        "spec.tls.notBefore",
    );
    expect_field(
        "notBefore before 1970",
        with_spec("{tls: {notBefore: '1960-01-01T00:00:00Z'}}"),
        "spec.tls.notBefore",
    );
    // With the seed and clock of `run` (2026-01-01), 59 days ahead.
    let errors = check(
        "notBefore far in the future",
        with_spec("{tls: {notBefore: '2026-03-01T00:00:00Z'}}").into_bytes(),
    );
    assert!(
        errors
            .iter()
            .any(|(m, f)| f.as_deref() == Some("spec.tls.notBefore")
                && m.contains("2026-03-01T00:00:00Z")),
        "{errors:?}"
    );
    // As a kpt ConfigMap (`kpt fn eval -- tls.notBefore=...`), and with the
    // earlier render's Secrets among the items (kpt's second render).
    expect_field(
        "notBefore far in the future, ConfigMap",
        with_config(
            "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: fi}\n  data: {name: cache, namespace: ns, tls.notBefore: '2200-01-01T00:00:00Z'}\n",
        ),
        "data.tls.notBefore",
    );
    let first = run(with_spec("{}").into_bytes());
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let mut again: Value = serde_norway::from_str(&first.stdout).expect("yaml");
    again["functionConfig"] = serde_norway::from_str(
        "{apiVersion: fn.redis-sentinel.dev/v1alpha1, kind: RedisSentinel, metadata: {name: cache, namespace: ns}, spec: {tls: {notBefore: '9000-01-01T00:00:00Z'}}}",
    )
    .expect("yaml");
    if let Some(m) = again.as_mapping_mut() {
        m.remove("results");
    }
    let errors = check(
        "notBefore far in the future, earlier render among the items",
        serde_norway::to_string(&again).expect("yaml").into_bytes(),
    );
    assert!(
        errors
            .iter()
            .all(|(_, f)| f.as_deref() == Some("spec.tls.notBefore")),
        "{errors:?}"
    );
    // Two days ahead: rendered, with a warning saying when.
    let o = run(with_spec("{tls: {notBefore: '2026-01-03T00:00:00Z'}}").into_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stdout);
    let out: Value = serde_norway::from_str(&o.stdout).expect("yaml");
    let warned = out["results"].as_sequence().into_iter().flatten().any(|r| {
        r["severity"] == "warning"
            && r["field"]["path"] == "spec.tls.notBefore"
            && r["message"]
                .as_str()
                .is_some_and(|m| m.contains("become valid at 2026-01-03T00:00:00Z"))
    });
    assert!(warned, "{}", o.stdout);
}

#[test]
fn metadata_problems_are_reported_where_they_were_written() {
    let fc = |meta: &str| {
        with_config(&format!(
            "  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {meta}\n"
        ))
    };
    for (meta, field) in [
        ("{name: Bad_Name}", "metadata.name"),
        ("{name: cache, namespace: 'Bad NS'}", "metadata.namespace"),
        (
            "{name: a-very-long-instance-name-that-does-not-fit-anywhere}",
            "metadata.name",
        ),
    ] {
        let errors = check(meta, fc(meta).into_bytes());
        let fields: Vec<&str> = errors.iter().filter_map(|(_, f)| f.as_deref()).collect();
        assert_eq!(fields, [field], "{meta}: {errors:?}");
    }
}

#[test]
fn whole_document_errors_give_line_and_column() {
    let mut s = with_spec("{}").into_bytes();
    s.extend_from_slice(b"# ok\n#  \xff\n");
    let lines = with_spec("{}").lines().count();
    expect_message(
        "invalid UTF-8",
        s,
        &format!("at line {} column 4", lines + 2),
    );
    // In an item: its index too.
    let mut s =
        format!("{HEADER}items:\n- kind: A\n  metadata: {{name: a}}\n- kind: B\n  data: {{x: \"")
            .into_bytes();
    s.extend_from_slice(b"\xff\"}\n");
    expect_message(
        "invalid UTF-8 in an item",
        s,
        "at line 7 column 14 (in items[1])",
    );
    expect_message(
        "a control character",
        format!("{HEADER}items: []\nfoo: \"a\u{1}b\"\n"),
        "line 4 column",
    );
    let mut laughs = String::from(HEADER);
    laughs.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    laughs.push_str("items: *a9\n");
    expect_message(
        "alias limit",
        laughs,
        "the first alias is at line 4 column 10",
    );
    expect_message(
        "second document",
        format!("{}---\n{}", with_spec("{}"), with_spec("{}")),
        &format!("starts at line {}", with_spec("{}").lines().count() + 1),
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let mut s = b"\xEF\xBB\xBF".to_vec();
    s.extend_from_slice(with_spec("{}").as_bytes());
    let o = run(s);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
}

#[test]
fn values_redis_or_the_api_server_would_refuse() {
    for (name, spec, field) in [
        (
            "unknown command",
            "{auth: {appUserRules: '+get +nosuchcommand'}}",
            "spec.auth.appUserRules",
        ),
        (
            "unknown category",
            "{auth: {appUserRules: '+@nosuch'}}",
            "spec.auth.appUserRules",
        ),
        (
            "7.4 command on a 7.0 image",
            "{image: 'redis:7.0.15', auth: {appUserRules: '~* +hexpire'}}",
            "spec.auth.appUserRules",
        ),
        ("Redis 6 image", "{image: 'redis:6.2.14'}", "spec.image"),
        (
            "version and tag disagree",
            "{image: 'redis:7.2.5', redis: {version: '7.4'}}",
            "spec.redis.version",
        ),
        (
            "toleration value",
            "{placement: {tolerations: [{key: a, value: 'not a label value!'}]}}",
            "spec.placement.tolerations[0].value",
        ),
        (
            "toleration without key",
            "{placement: {tolerations: [{operator: Equal, value: x}]}}",
            "spec.placement.tolerations[0].operator",
        ),
        (
            "tolerationSeconds without NoExecute",
            "{placement: {tolerations: [{key: a, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]}}",
            "spec.placement.tolerations[0].effect",
        ),
        (
            "negative tolerationSeconds",
            "{placement: {tolerations: [{key: a, operator: Exists, effect: NoExecute, tolerationSeconds: -5}]}}",
            "spec.placement.tolerations[0].tolerationSeconds",
        ),
        (
            "negative tolerationSeconds without an effect",
            "{placement: {tolerations: [{key: a, operator: Exists, tolerationSeconds: -5}]}}",
            "spec.placement.tolerations[0].tolerationSeconds",
        ),
        (
            "appUserRules starting with a two-byte character",
            "{auth: {appUserRules: 'éx'}}",
            "spec.auth.appUserRules",
        ),
        (
            "appUserRules with a four-byte character after a rule",
            "{auth: {appUserRules: '+get \u{1F600}x'}}",
            "spec.auth.appUserRules",
        ),
        (
            "a consumer's rules starting with a two-byte character",
            "{consumers: [{name: t, type: 3scale, rules: 'éx'}]}",
            "spec.consumers[0].rules",
        ),
        (
            "a consumer's rules starting with a three-byte space",
            "{consumers: [{name: t, type: service-binding, rules: '\u{2003}+get'}]}",
            "spec.consumers[0].rules",
        ),
        (
            "hugepages of no size",
            "{redis: {resources: {requests: {memory: 1Gi}, limits: {hugepages-big: 1Gi}}}}",
            "spec.redis.resources.limits.hugepages-big",
        ),
        (
            "quantity 1e999",
            "{redis: {resources: {limits: {memory: 1e999}}}}",
            "spec.redis.resources.limits.memory",
        ),
        (
            "negative quantity",
            "{sentinel: {resources: {requests: {cpu: '-1'}}}}",
            "spec.sentinel.resources.requests.cpu",
        ),
        (
            "request above limit",
            "{redis: {resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}}",
            "spec.redis.resources.requests.memory",
        ),
        (
            "storage of zero",
            "{redis: {persistence: {enabled: true, size: '0'}}}",
            "spec.redis.persistence.size",
        ),
        (
            "reserved label",
            "{labels: {fn.redis-sentinel.dev/instance: x}}",
            "spec.labels.fn.redis-sentinel.dev/instance",
        ),
        (
            "reserved annotation",
            "{annotations: {fn.redis-sentinel.dev/config-hash: x}}",
            "spec.annotations.fn.redis-sentinel.dev/config-hash",
        ),
    ] {
        expect_field(name, with_spec(spec), field);
    }
    // Split on ASCII spaces only, as Redis splits: one key pattern.
    // Hash field expiry (Redis 7.4, Valkey 9) with the default image (Valkey 9.1.2).
    let o =
        run(with_spec("{auth: {appUserRules: \"~*\u{2003}+@all +get +hexpire\"}}").into_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stdout);
}

/// A RedisSentinelList with `entries` (YAML flow sequence items).
fn with_list(entries: &str) -> String {
    with_config(&format!(
        "  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinelList\n  metadata: {{name: l, namespace: redis}}\n  spec: {{instances: [{entries}]}}\n"
    ))
}

#[test]
fn inconsistent_instance_lists_name_their_field() {
    let c = |name: &str, parts: &str| {
        format!(
            "{{metadata: {{name: {name}}}, spec: {{consumers: [{{name: apim, type: 3scale, namespace: t, parts: {parts}}}]}}}}"
        )
    };
    for (name, entries, field) in [
        (
            "a part served twice",
            format!("{}, {}", c("a", "[storage, queues, system]"), c("b", "[queues]")),
            "spec.instances[1].spec.consumers[0].parts",
        ),
        (
            "backend-redis without queues",
            c("a", "[storage, system]"),
            "spec.instances[0].spec.consumers[0].parts",
        ),
        (
            "an unknown part",
            c("a", "[storage, queues, system, cache]"),
            "spec.instances[0].spec.consumers[0].parts[3]",
        ),
        (
            "no parts",
            c("a", "[]"),
            "spec.instances[0].spec.consumers[0].parts",
        ),
        (
            "a multi-byte part",
            c("a", "[stöRage, queues, system]"),
            "spec.instances[0].spec.consumers[0].parts[0]",
        ),
        (
            "the same instance twice",
            "{metadata: {name: a}}, {metadata: {name: a}}".to_string(),
            "spec.instances[1].metadata.name",
        ),
        (
            "an invalid instance name",
            "{metadata: {name: a}}, {metadata: {name: 'é'}}".to_string(),
            "spec.instances[1].metadata.name",
        ),
        (
            "a hostile value in an entry",
            "{metadata: {name: a}, spec: {auth: {appUserRules: 'éx'}}}".to_string(),
            "spec.instances[0].spec.auth.appUserRules",
        ),
        (
            "a type error in an entry",
            "{metadata: {name: a}, spec: {redis: {replicas: -1}}}".to_string(),
            "spec.instances[0].spec.redis.replicas",
        ),
        (
            "an unknown field in an entry",
            "{metadata: {name: a}, spek: {}}".to_string(),
            "spec.instances[0].spek",
        ),
        ("no instances", String::new(), "spec.instances"),
        (
            "queuesDatabase without the queues part",
            "{metadata: {name: a}, spec: {consumers: [{name: apim, type: 3scale, parts: [system], queuesDatabase: 4}]}}".to_string(),
            "spec.instances[0].spec.consumers[0].queuesDatabase",
        ),
    ] {
        expect_field(name, with_list(&entries), field);
    }
    // A single RedisSentinel cannot leave a part to another instance.
    expect_field(
        "a part left to nobody",
        with_spec("{consumers: [{name: apim, type: 3scale, parts: [queues, system]}]}"),
        "spec.consumers[0].parts",
    );
    // 17 instances: over the bound, refused before anything is rendered.
    let many: Vec<String> = (0..17)
        .map(|i| format!("{{metadata: {{name: i{i}}}}}"))
        .collect();
    expect_field(
        "17 instances",
        with_list(&many.join(", ")),
        "spec.instances",
    );
}

#[test]
fn every_explicit_tag_in_the_function_config_is_an_error() {
    for (spec, field, tag) in [
        (
            "{redis: {maxmemory: !!python/object/apply:os.system [id]}}",
            "spec.redis.maxmemory",
            "!!python/object/apply:os.system",
        ),
        ("{image: !!binary aGk=}", "spec.image", "!!binary"),
        (
            "{sentinel: {masterName: !<tag:yaml.org,2002:str> m}}",
            "spec.sentinel.masterName",
            "!<tag:yaml.org,2002:str>",
        ),
        ("{labels: {a: !!str b}}", "spec.labels.a", "!!str"),
    ] {
        let errors = check(tag, with_spec(spec).into_bytes());
        assert!(
            errors
                .iter()
                .any(|(m, f)| f.as_deref() == Some(field) && m.contains(tag)),
            "{tag}: {errors:?}"
        );
    }
    let fc = "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data:\n    name: web\n    redis.replicas: '!!int 3'\n";
    expect_field(
        "!!int in a ConfigMap value",
        with_config(fc),
        "data.redis.replicas",
    );
}

#[test]
fn render_f_escapes_values_on_stderr() {
    let dir = std::env::temp_dir().join(format!("rsfn-adv-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("spec.yaml");
    std::fs::write(
        &file,
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: cache}\nspec:\n  labels: {\"a\\nerror: forged\\e[31m\": \"x\\ny\"}\n",
    )
    .expect("write");
    let o = Command::new(BIN)
        .args(["render", "-f"])
        .arg(&file)
        .env("REDIS_SENTINEL_FN_SEED", SEED)
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ESC reached the terminal: {stderr:?}"
    );
    assert!(
        stderr.lines().all(|l| l.starts_with("error: ")),
        "a value forged a line: {stderr:?}"
    );
    assert!(
        stderr.contains("a\\nerror: forged\\u{1b}[31m"),
        "{stderr:?}"
    );
}
