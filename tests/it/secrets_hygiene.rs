//! Private keys and passwords appear only in Secrets: never in ConfigMaps
//! or any other non-Secret item, never in annotations or labels (of
//! Secrets too), never in results messages, never on stderr.
//!
//! Renders every example spec, and specs with auth.enabled and
//! tls.keepCaKey for several key algorithms, through the real binary in
//! both modes (KRM with and without a seed, a re-render that keeps the
//! earlier Secrets, and `render -f`), collects every secret value from the
//! Secrets of the output (private keys, in PEM, as base64 of the PEM, and
//! each base64 line of the key; passwords), and looks for each of them, and
//! for "PRIVATE KEY", everywhere else.

use std::path::PathBuf;

use base64::Engine;
use serde_norway::Value;

use crate::harness::cli;

const SEED: &str = "secrets-hygiene-seed-0123456789abcdef";

struct Run {
    stdout: String,
    stderr: String,
    ok: bool,
}

/// The binary through the shared runner, with `seed` as the seed (none:
/// no seed at all) and the fixed clock.
fn run(args: &[&str], stdin: &str, seed: Option<&str>) -> Run {
    let out = cli::run(args, stdin.as_bytes(), &[("REDIS_SENTINEL_FN_SEED", seed)]);
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("  {l}\n"))
        .collect()
}

fn resource_list(items: &str, fc: &str) -> String {
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:{items}\nfunctionConfig:\n{}",
        indent(fc)
    )
}

/// Spec documents to render: the examples' function configs, and extra
/// specs with every secret the function can make.
fn specs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = cli::root().join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path().join("spec.yaml")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("spec");
        let v: Value = serde_norway::from_str(&text).expect("spec YAML");
        if matches!(
            v.get("kind").and_then(Value::as_str),
            Some("RedisSentinel" | "ConfigMap")
        ) {
            out.push((f.display().to_string(), text));
        }
    }
    assert!(!out.is_empty(), "no example specs found");
    for alg in ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"] {
        out.push((
            format!("auth + keepCaKey + {alg}"),
            format!(
                "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {{name: vault, namespace: sec}}\nspec:\n  auth: {{enabled: true}}\n  tls: {{keepCaKey: true, keyAlgorithm: {alg}, plaintext: {{enabled: true}}}}\n"
            ),
        ));
    }
    out.push((
        "auth without TLS".into(),
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: plain}\nspec:\n  auth: {enabled: true}\n  tls: {enabled: false}\n".into(),
    ));
    out
}

/// Every secret value in the Secrets of `items`, in each form it could
/// leak in.
fn secret_needles(items: &[Value]) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut needles = Vec::new();
    for item in items {
        if item.get("kind").and_then(Value::as_str) != Some("Secret") {
            continue;
        }
        let Some(data) = item.get("data").and_then(Value::as_mapping) else {
            continue;
        };
        // Consumer Secrets (spec.consumers) also carry public connection
        // settings (URLs, host names, user names): there only passwords and
        // private keys are secret.
        let consumer = item
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("fn.redis-sentinel.dev/consumer"))
            .is_some();
        for (k, v) in data {
            let key = k.as_str().unwrap_or_default();
            // Certificates are public (the CA one is published on purpose).
            if key.ends_with(".crt") {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            if consumer && !lower.contains("password") && !lower.ends_with("key") {
                continue;
            }
            let encoded = v.as_str().unwrap_or_default().to_string();
            let decoded = String::from_utf8(b64.decode(&encoded).expect("base64 data"))
                .expect("UTF-8 secret");
            if decoded.contains("PRIVATE KEY") {
                // Each line of the key's base64 body, and its DER as one line.
                let body: Vec<&str> = decoded
                    .lines()
                    .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                    .collect();
                needles.extend(body.iter().map(|l| l.to_string()));
                needles.push(body.concat());
            }
            if decoded.len() >= 12 {
                needles.push(decoded.trim().to_string());
            }
            needles.push(encoded);
        }
    }
    needles.retain(|n| n.len() >= 12);
    needles.sort();
    needles.dedup();
    needles
}

fn check_clean(what: &str, text: &str, needles: &[String]) {
    assert!(
        !text.contains("PRIVATE KEY"),
        "{what} holds a private key:\n{text}"
    );
    for n in needles {
        assert!(
            !text.contains(n.as_str()),
            "{what} holds secret material {:?}…",
            &n[..12]
        );
    }
}

/// Checks one output list (as items) and the run's stderr.
fn check_output(what: &str, items: &[Value], results: &[Value], stderr: &str) -> usize {
    let needles = secret_needles(items);
    for item in items {
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = item
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind == "Secret" {
            // A Secret's metadata (annotations, labels) is not secret.
            let meta =
                serde_norway::to_string(item.get("metadata").unwrap_or(&Value::Null)).unwrap();
            check_clean(
                &format!("{what}: metadata of Secret {name}"),
                &meta,
                &needles,
            );
        } else {
            let text = serde_norway::to_string(item).unwrap();
            check_clean(&format!("{what}: {kind} {name}"), &text, &needles);
        }
    }
    for r in results {
        let text = serde_norway::to_string(r).unwrap();
        check_clean(&format!("{what}: result"), &text, &needles);
    }
    check_clean(&format!("{what}: stderr"), stderr, &needles);
    needles.len()
}

fn parse_list(stdout: &str) -> (Vec<Value>, Vec<Value>) {
    let v: Value = serde_norway::from_str(stdout).expect("output ResourceList");
    let seq = |k: &str| {
        v.get(k)
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default()
    };
    (seq("items"), seq("results"))
}

#[test]
fn keys_and_passwords_only_in_secrets() {
    let mut checked = 0;
    for (name, spec) in specs() {
        for seed in [Some(SEED), None] {
            let what = format!("{name} (KRM, seed: {})", seed.is_some());
            let input = resource_list(
                "\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}, data: {a: b}}",
                &spec,
            );
            let r = run(&[], &input, seed);
            assert!(r.ok, "{what}: {}\n{}", r.stdout, r.stderr);
            let (items, results) = parse_list(&r.stdout);
            let n = check_output(&what, &items, &results, &r.stderr);
            checked += n;
            // Re-render with the earlier output among the items (kpt does):
            // kept Secrets, and still only in Secrets.
            let items_yaml: String = items
                .iter()
                .map(|i| {
                    let text = serde_norway::to_string(i).unwrap();
                    let mut lines = text.lines();
                    let first = lines.next().unwrap_or_default();
                    let rest: String = lines.map(|l| format!("\n  {l}")).collect();
                    format!("\n- {first}{rest}")
                })
                .collect();
            let again = run(&[], &resource_list(&items_yaml, &spec), seed);
            assert!(again.ok, "{what} re-render: {}", again.stderr);
            let (items2, results2) = parse_list(&again.stdout);
            check_output(
                &format!("{what} re-render"),
                &items2,
                &results2,
                &again.stderr,
            );
            if seed.is_none() {
                // Nothing secret changed: the kept Secrets are the same.
                assert_eq!(
                    secret_needles(&items),
                    secret_needles(&items2),
                    "{what}: re-render did not keep the Secrets"
                );
            }
        }
        // render mode: a YAML stream on stdout, warnings on stderr.
        let dir = std::env::temp_dir().join(format!("secrets-hygiene-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("spec.yaml");
        std::fs::write(&file, &spec).unwrap();
        let r = run(&["render", "-f", file.to_str().unwrap()], "", None);
        assert!(r.ok, "{name} (render): {}", r.stderr);
        let items: Vec<Value> = serde_norway::Deserializer::from_str(&r.stdout)
            .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
            .filter(|v: &Value| !v.is_null())
            .collect();
        checked += check_output(&format!("{name} (render)"), &items, &[], &r.stderr);
        std::fs::remove_dir_all(&dir).ok();
    }
    assert!(checked > 0, "no secret material found to look for");
}

#[test]
fn bad_input_does_not_echo_secret_material() {
    // A spec error message must not quote Secret contents from the items.
    let spec = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: vault}\nspec:\n  auth: {enabled: true}\n";
    let first = run(&[], &resource_list(" []", spec), Some(SEED));
    let (items, _) = parse_list(&first.stdout);
    let needles = secret_needles(&items);
    assert!(!needles.is_empty());
    let items_yaml: String = items
        .iter()
        .map(|i| {
            let text = serde_norway::to_string(i).unwrap();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            let rest: String = lines.map(|l| format!("\n  {l}")).collect();
            format!("\n- {first}{rest}")
        })
        .collect();
    let broken = spec.replace("auth: {enabled: true}", "auth: {enabled: maybe}");
    let r = run(&[], &resource_list(&items_yaml, &broken), None);
    assert!(!r.ok);
    let (_, results) = parse_list(&r.stdout);
    for res in &results {
        check_clean(
            "error result",
            &serde_norway::to_string(res).unwrap(),
            &needles,
        );
    }
    check_clean("stderr", &r.stderr, &needles);
}
