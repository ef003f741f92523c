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
//! The error cases whose input is a fixed text are data,
//! tests/cases/adversarial/<case>/ (input and expected errors; see the
//! README there), run by [`error_cases_from_data`]; the generated inputs
//! (megabytes of nesting, a billion laughs) and the cases that are more
//! than one input and its errors are here.
//!
//! Run with `--nocapture` to see the time and memory of every case.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_norway::Value;

use crate::harness::{self, cli};

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
            .arg(cli::bin());
        c
    } else {
        Command::new(cli::bin())
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
fn utf16_input() {
    let s: Vec<u8> = with_spec("{}")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    check("UTF-16 input", s);
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

/// The certificate window with the earlier render's Secrets among the
/// items (kpt's second render), and a start two days ahead (a warning).
/// The window's other errors are data (tests/cases/adversarial/notbefore-*).
#[test]
fn certificate_window_errors_name_their_field() {
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
fn a_byte_order_mark_is_accepted() {
    let mut s = b"\xEF\xBB\xBF".to_vec();
    s.extend_from_slice(with_spec("{}").as_bytes());
    let o = run(s);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
}

/// ACL rules split on ASCII spaces only, as Redis splits: an em space
/// inside a rule is one key pattern, not a separator (the refused values
/// are data: tests/cases/adversarial/). Hash field expiry (Redis 7.4,
/// Valkey 9) with the default image (Valkey 9.1.2).
#[test]
fn acl_rules_split_on_ascii_spaces_only() {
    let o =
        run(with_spec("{auth: {appUserRules: \"~*\u{2003}+@all +get +hexpire\"}}").into_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stdout);
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
    let o = Command::new(cli::bin())
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

// ------------------------------------------------------ error cases as data

/// One error result a data case expects: its field path and/or text its
/// message contains.
#[derive(Debug)]
struct Expected {
    field: Option<String>,
    message: Option<String>,
}

/// A data case's `expected.yaml` (tests/cases/adversarial/README.md).
#[derive(Debug)]
struct Expectation {
    errors: Vec<Expected>,
    /// The error results' field paths are exactly those of `errors`.
    exact_fields: bool,
}

fn expectation(path: &Path) -> Result<Expectation, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let map = v.as_mapping().ok_or("expected.yaml is not a mapping")?;
    for k in map.keys() {
        let k = k.as_str().unwrap_or_default();
        if !["description", "errors", "exactFields"].contains(&k) {
            return Err(format!("expected.yaml: unknown key {k:?}"));
        }
    }
    let mut errors = Vec::new();
    for e in v["errors"]
        .as_sequence()
        .ok_or("expected.yaml: no errors list")?
    {
        let m = e
            .as_mapping()
            .ok_or("expected.yaml: an error is not a mapping")?;
        if m.keys()
            .any(|k| !matches!(k.as_str(), Some("field" | "message")))
        {
            return Err(format!("expected.yaml: unknown key in {e:?}"));
        }
        let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        let (field, message) = (s("field"), s("message"));
        if field.is_none() && message.is_none() {
            return Err(format!(
                "expected.yaml: an error names neither field nor message: {e:?}"
            ));
        }
        errors.push(Expected { field, message });
    }
    if errors.is_empty() {
        return Err("expected.yaml: no expected error".into());
    }
    let exact_fields = v
        .get("exactFields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Expectation {
        errors,
        exact_fields,
    })
}

/// Runs one data case: the common contract of [`check`], then every
/// expected error. Panics (with the reason) when the case fails.
fn run_case(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let want = expectation(&dir.join("expected.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let input = std::fs::read(dir.join("input.yaml")).expect("input.yaml");
    let errors = check(&name, input);
    for w in &want.errors {
        assert!(
            errors.iter().any(|(m, f)| {
                w.field.as_deref().is_none_or(|x| f.as_deref() == Some(x))
                    && w.message.as_deref().is_none_or(|x| m.contains(x))
            }),
            "no error result has {w:?}; the errors: {errors:?}"
        );
    }
    if want.exact_fields {
        let got: Vec<&str> = errors.iter().filter_map(|(_, f)| f.as_deref()).collect();
        let want: Vec<&str> = want
            .errors
            .iter()
            .filter_map(|w| w.field.as_deref())
            .collect();
        assert_eq!(got, want, "the error results' fields");
    }
}

/// The error cases kept as data (tests/cases/adversarial/<case>/: the whole
/// input the function reads and the errors it must report; README.md
/// there). Every case runs, four at a time; the test fails naming every
/// case that failed and why.
#[test]
fn error_cases_from_data() {
    let root = harness::repo_path("tests/cases/adversarial");
    let mut cases: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .expect("tests/cases/adversarial")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 100,
        "only {} cases under {}",
        cases.len(),
        root.display()
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some(dir) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let r =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(dir)));
                    if let Err(e) = r {
                        let why = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        let name = dir.file_name().unwrap().to_string_lossy().to_string();
                        failed.lock().unwrap().push(format!("{name}: {why}"));
                    }
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
