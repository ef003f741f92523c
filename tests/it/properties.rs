//! Property tests (proptest).
//!
//! - Any spec the validator accepts renders output whose names fit
//!   Kubernetes (DNS-1123 subdomains, DNS-1035 Service names, StatefulSet
//!   names that leave room for the revision hash), whose Sentinel quorum is
//!   between 1 and the number of Sentinels, and whose server certificates
//!   (parsed with x509-parser) cover every DNS name the configs use: each
//!   pod's FQDN under its headless Service, as the start scripts build it,
//!   and every form of every Service name.
//! - Any spec it refuses gets errors that each name a field.
//! - Any input at all gives a ResourceList: never a panic, and on error the
//!   input items unchanged (or none); through the binary, a non-zero exit.
//!
//! A user seed keeps key generation deterministic; RSA (slow) is drawn
//! rarely.

use std::collections::BTreeMap;

use proptest::prelude::*;
use redis_sentinel_fn::certs::seed::Seed;
use redis_sentinel_fn::krm::{ResourceList, Severity};
use redis_sentinel_fn::object::ItemExt;
use redis_sentinel_fn::{function, generate, spec};
use serde_norway::{Mapping, Value};

use crate::harness::cli;

const NOW: i64 = 1_767_225_600;
const SEED: &[u8] = b"properties-seed-0123456789abcdef";

fn seed() -> Seed {
    Seed::from_user(SEED).expect("seed")
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

// ------------------------------------------------------------ strategies

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z][a-z0-9-]{0,20}[a-z0-9]",
        1 => "[a-z][a-z0-9-]{30,45}[a-z0-9]",
        1 => "[a-zA-Z0-9_.-]{0,12}",
    ]
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        1 => "[a-z0-9]{50,63}",
        1 => "[a-zA-Z0-9_.-]{0,10}",
    ]
}

fn domain() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("cluster.local".to_string()),
        Just("k8s.example.com.".to_string()),
        "[a-z]{1,10}(\\.[a-z0-9]{1,10}){0,3}",
        "[a-z]{60,70}\\.local",
    ])
}

fn key_algorithm() -> impl Strategy<Value = Option<&'static str>> {
    // RSA keys take long to make: one case in forty.
    prop::option::of(prop_oneof![
        13 => Just("ecdsa-p256"),
        13 => Just("ecdsa-p384"),
        13 => Just("ed25519"),
        1 => Just("rsa-2048"),
    ])
}

fn port() -> impl Strategy<Value = Option<u32>> {
    prop::option::of(prop_oneof![
        Just(6379u32),
        Just(26379),
        Just(7000),
        Just(1),
        Just(65535),
        Just(0),
        Just(70000),
    ])
}

prop_compose! {
    fn spec_value()(
        name in name(),
        in_metadata in any::<bool>(),
        namespace in prop::option::of(namespace()),
        cluster_domain in domain(),
        redis_replicas in prop::option::of(0u32..=12),
        sentinel_replicas in prop::option::of(0u32..=8),
        quorum in prop::option::of(0u32..=9),
        redis_port in port(),
        sentinel_port in port(),
        tls_enabled in prop::option::of(any::<bool>()),
        plaintext in any::<bool>(),
        alg in key_algorithm(),
        extra in prop::collection::vec("(\\*\\.)?[a-z]{1,8}(\\.[a-z]{1,8}){0,2}", 0..3),
        auth in any::<bool>(),
        keep_ca_key in any::<bool>(),
        labels in prop::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..3),
        network_policy in prop::option::of(any::<bool>()),
        master_name in prop::option::of("[a-zA-Z0-9_.-]{0,20}"),
    ) -> Value {
        let mut sp = Mapping::new();
        let mut meta = Mapping::new();
        if in_metadata {
            meta.insert(s("name"), s(&name));
        } else {
            sp.insert(s("name"), s(&name));
        }
        if let Some(ns) = namespace {
            meta.insert(s("namespace"), s(&ns));
        }
        if let Some(d) = cluster_domain {
            sp.insert(s("clusterDomain"), s(&d));
        }
        let mut redis = Mapping::new();
        if let Some(r) = redis_replicas {
            redis.insert(s("replicas"), r.into());
        }
        if let Some(p) = redis_port {
            redis.insert(s("port"), p.into());
        }
        sp.insert(s("redis"), Value::Mapping(redis));
        let mut sentinel = Mapping::new();
        if let Some(r) = sentinel_replicas {
            sentinel.insert(s("replicas"), r.into());
        }
        if let Some(q) = quorum {
            sentinel.insert(s("quorum"), q.into());
        }
        if let Some(p) = sentinel_port {
            sentinel.insert(s("port"), p.into());
        }
        if let Some(m) = master_name {
            sentinel.insert(s("masterName"), s(&m));
        }
        sp.insert(s("sentinel"), Value::Mapping(sentinel));
        let mut tls = Mapping::new();
        if let Some(e) = tls_enabled {
            tls.insert(s("enabled"), e.into());
        }
        if let Some(a) = alg {
            tls.insert(s("keyAlgorithm"), s(a));
        }
        let mut pt = Mapping::new();
        pt.insert(s("enabled"), plaintext.into());
        tls.insert(s("plaintext"), Value::Mapping(pt));
        tls.insert(s("keepCaKey"), keep_ca_key.into());
        tls.insert(
            s("extraDnsNames"),
            Value::Sequence(extra.iter().map(|e| s(e)).collect()),
        );
        sp.insert(s("tls"), Value::Mapping(tls));
        let mut a = Mapping::new();
        a.insert(s("enabled"), auth.into());
        sp.insert(s("auth"), Value::Mapping(a));
        sp.insert(
            s("labels"),
            Value::Mapping(labels.iter().map(|(k, v)| (s(k), s(v))).collect()),
        );
        if let Some(np) = network_policy {
            let mut m = Mapping::new();
            m.insert(s("enabled"), np.into());
            sp.insert(s("networkPolicy"), Value::Mapping(m));
        }
        let mut fc = Mapping::new();
        fc.insert(s("apiVersion"), s(spec::model::API_VERSION));
        fc.insert(s("kind"), s(spec::model::KIND));
        fc.insert(s("metadata"), Value::Mapping(meta));
        fc.insert(s("spec"), Value::Mapping(sp));
        Value::Mapping(fc)
    }
}

// ---------------------------------------------------------------- checks

fn dns1123_label(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

fn dns1123_subdomain(n: &str) -> bool {
    n.len() <= 253 && n.split('.').all(dns1123_label)
}

fn dns1035_label(n: &str) -> bool {
    dns1123_label(n) && n.starts_with(|c: char| c.is_ascii_lowercase())
}

fn label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn check_names(items: &[Value]) -> Result<(), TestCaseError> {
    for item in items {
        let kind = item.str_at(&["kind"]).unwrap_or_default();
        let name = item.str_at(&["metadata", "name"]).unwrap_or_default();
        prop_assert!(dns1123_subdomain(name), "{} name {:?}", kind, name);
        if let Some(ns) = item.str_at(&["metadata", "namespace"]) {
            prop_assert!(dns1123_label(ns), "namespace {:?}", ns);
        }
        match kind {
            "Service" => prop_assert!(dns1035_label(name), "Service {:?}", name),
            // `<name>-<10-char revision hash>` must be a label value.
            "StatefulSet" => prop_assert!(name.len() <= 52, "StatefulSet {:?}", name),
            _ => {}
        }
        if let Some(labels) = item
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_mapping)
        {
            for (k, v) in labels {
                let v = v.as_str().unwrap_or_default();
                prop_assert!(label_value(v), "label {:?}: {:?} on {}", k, v, name);
            }
        }
    }
    Ok(())
}

/// `NAME='value'` settings at the top of a start script (single-quoted
/// values without quotes inside, as names and numbers are).
fn script_vars(script: &str) -> BTreeMap<String, String> {
    script
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            if !k.chars().all(|c| c.is_ascii_uppercase() || c == '_') || k.is_empty() {
                return None;
            }
            Some((k.to_string(), v.trim_matches(['"', '\'']).to_string()))
        })
        .collect()
}

fn configmap_file<'a>(items: &'a [Value], file: &str) -> Option<&'a str> {
    items
        .iter()
        .filter(|i| i.str_at(&["kind"]) == Some("ConfigMap"))
        .find_map(|i| i.get("data")?.get(file)?.as_str())
}

/// RFC 6125 matching: a wildcard stands for exactly one whole label.
fn san_covers(sans: &[String], host: &str) -> bool {
    sans.iter().any(|san| match san.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => san == host,
    })
}

fn check_rendered(items: &[Value]) -> Result<(), TestCaseError> {
    check_names(items)?;
    let sentinel_script = configmap_file(items, "start-sentinel.sh").expect("sentinel script");
    let vars = script_vars(sentinel_script);
    // Counts and quorum live in the topology ConfigMap (outside the hash).
    let count = |key: &str| -> u32 {
        configmap_file(items, key)
            .unwrap_or_else(|| panic!("topology ConfigMap key {key}"))
            .parse()
            .expect("a number")
    };
    let quorum = count("sentinel-quorum");
    let sentinels = count("sentinel-replicas");
    prop_assert!(
        (1..=sentinels).contains(&quorum),
        "quorum {} of {}",
        quorum,
        sentinels
    );
    let sts =
        cli::try_find(items, "StatefulSet", &vars["SENTINEL_STS"]).expect("Sentinel StatefulSet");
    prop_assert_eq!(
        sts.get("spec")
            .and_then(|s| s.get("replicas"))
            .and_then(Value::as_u64),
        Some(u64::from(sentinels))
    );
    let redis_vars = script_vars(configmap_file(items, "start-redis.sh").expect("redis script"));
    let tls_on = items.iter().any(|i| {
        i.str_at(&["kind"]) == Some("Secret") && i.str_at(&["type"]) == Some("kubernetes.io/tls")
    });
    if !tls_on {
        return Ok(());
    }
    let ns = &vars["NAMESPACE"];
    let domain = &vars["CLUSTER_DOMAIN"];
    for (component, v) in [("redis", &redis_vars), ("sentinel", &vars)] {
        let prefix = component.to_ascii_uppercase();
        let sts = &v[&format!("{prefix}_STS")];
        let headless = &v[&format!("{prefix}_HEADLESS")];
        let n = count(&format!("{component}-replicas"));
        let secret = items
            .iter()
            .find(|i| {
                i.str_at(&["kind"]) == Some("Secret")
                    && i.str_at(&["metadata", "name"])
                        .is_some_and(|name| name.ends_with(&format!("-{component}-tls")))
            })
            .expect("server certificate Secret");
        let sans = cli::dns_sans(secret);
        // The hosts the start scripts dial (redis_host / sentinel_host).
        for i in 0..n {
            let host = format!("{sts}-{i}.{headless}.{ns}.svc.{domain}");
            prop_assert!(san_covers(&sans, &host), "{} not in {:?}", host, sans);
        }
        // Every Service of the component, in every form a client may use.
        for svc in items.iter().filter(|i| {
            i.str_at(&["kind"]) == Some("Service")
                && i.get("spec")
                    .and_then(|s| s.get("selector"))
                    .and_then(|s| s.get("app.kubernetes.io/component"))
                    .and_then(Value::as_str)
                    == Some(component)
        }) {
            let name = svc.str_at(&["metadata", "name"]).unwrap_or_default();
            for host in [
                name.to_string(),
                format!("{name}.{ns}"),
                format!("{name}.{ns}.svc"),
                format!("{name}.{ns}.svc.{domain}"),
            ] {
                prop_assert!(san_covers(&sans, &host), "{} not in {:?}", host, sans);
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Accepted specs render valid output; refused ones name their fields.
    #[test]
    fn accepted_specs_render_valid_output(fc in spec_value()) {
        match spec::from_function_config(&fc) {
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{:?}", e);
                }
            }
            Ok(inst) => {
                prop_assert!((1..=inst.sentinel.replicas).contains(&inst.sentinel.quorum));
                let rendered = generate::render(&inst, Some(&seed()), &[], NOW)
                    .expect("an accepted spec renders");
                check_rendered(&rendered.items)?;
                // And through the whole function, with a foreign item.
                let rl = format!(
                    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: zz-foreign}}}}\nfunctionConfig:\n{}",
                    serde_norway::to_string(&fc).unwrap().lines().map(|l| format!("  {l}\n")).collect::<String>()
                );
                let out = function::run(rl.as_bytes(), Ok(Some(seed())), NOW);
                prop_assert!(!out.has_errors(), "{:?}", out.results);
                prop_assert_eq!(out.items.len(), rendered.items.len() + 1);
            }
        }
    }
}

/// YAML-ish text: the characters and tokens that make YAML structure.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("apiVersion: config.kubernetes.io/v1\n".to_string()),
        Just("kind: ResourceList\n".to_string()),
        Just("items:\n".to_string()),
        Just("- ".to_string()),
        Just("functionConfig:\n".to_string()),
        Just("  apiVersion: fn.redis-sentinel.dev/v1alpha1\n".to_string()),
        Just("  kind: RedisSentinel\n".to_string()),
        Just("  metadata: {name: c}\n".to_string()),
        Just("  spec: {redis: {replicas: 2}}\n".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!t ".to_string()),
        Just("---\n".to_string()),
        Just("...\n".to_string()),
        Just("? ".to_string()),
        Just("|\n".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        "[\\[\\]{},: \n-]{1,4}",
        "[a-z0-9]{1,6}",
        "  +",
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

fn check_any_input(input: &[u8]) -> Result<(), TestCaseError> {
    let out = function::run(input, Ok(Some(seed())), NOW);
    let mut buf = Vec::new();
    out.write(&mut buf).expect("the output serializes");
    let back = ResourceList::from_bytes(&buf);
    prop_assert!(
        back.is_ok(),
        "output does not read back: {:?}",
        String::from_utf8_lossy(&buf)
    );
    for r in out.results.iter().filter(|r| r.severity == Severity::Error) {
        let field = r.field.as_ref().is_some_and(|f| !f.path.is_empty());
        prop_assert!(
            field || redis_sentinel_fn::krm::has_line_and_column(&r.message),
            "an error without a field path or a line and column: {:?}",
            r
        );
    }
    if out.has_errors() {
        let original = ResourceList::from_bytes(input)
            .map(|rl| rl.items)
            .unwrap_or_default();
        prop_assert!(
            out.items.is_empty() || out.items == original,
            "error with a changed item list"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any bytes: a ResourceList back, never a panic.
    #[test]
    fn any_bytes_give_a_resource_list(input in prop::collection::vec(any::<u8>(), 0..512)) {
        check_any_input(&input)?;
    }

    /// Any YAML-shaped text: the same.
    #[test]
    fn any_yamlish_text_gives_a_resource_list(input in yamlish()) {
        check_any_input(input.as_bytes())?;
    }
}

/// One thing wrong in a valid spec, and the field that names it.
fn broken_spec() -> impl Strategy<Value = (String, &'static str)> {
    let base = |spec: String| {
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: other}}}}\nfunctionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata: {{name: cache}}\n  spec: {spec}\n"
        )
    };
    prop_oneof![
        (1u32..=7, 1u32..=20).prop_map(move |(n, extra)| (
            base(format!(
                "{{sentinel: {{replicas: {n}, quorum: {}}}}}",
                n + extra
            )),
            "spec.sentinel.quorum"
        )),
        (101u32..100_000).prop_map(move |n| (
            base(format!("{{redis: {{replicas: {n}}}}}")),
            "spec.redis.replicas"
        )),
        "[A-Z_][A-Za-z_]{0,10}".prop_map(move |n| (base(format!("{{name: '{n}'}}")), "spec.name")),
        "[a-z]{3,8}"
            .prop_filter("not a field", |f| ![
                "name", "image", "redis", "tls", "auth", "labels"
            ]
            .contains(&f.as_str()))
            .prop_map(move |f| (base(format!("{{redis: {{{f}x: 1}}}}")), "spec.redis")),
        "[a-z]{1,8}".prop_map(move |w| (
            base(format!("{{sentinel: {{port: '{w}'}}}}")),
            "spec.sentinel.port"
        )),
        (65536u64..10_000_000)
            .prop_map(move |p| (base(format!("{{redis: {{port: {p}}}}}")), "spec.redis.port")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Through the binary: exit 1 and an error naming the field.
    #[test]
    fn broken_specs_fail_with_their_field((input, field) in broken_spec()) {
        let out = cli::run(
            &[],
            input.as_bytes(),
            &[
                ("REDIS_SENTINEL_FN_SEED", Some(std::str::from_utf8(SEED).unwrap())),
                ("SOURCE_DATE_EPOCH", None),
            ],
        );
        prop_assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
        let v: Value = serde_norway::from_slice(&out.stdout).expect("YAML out");
        let errors: Vec<&Value> = v
            .get("results")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter(|r| r.get("severity").and_then(Value::as_str) == Some("error"))
            .collect();
        prop_assert!(
            errors.iter().any(|r| r
                .get("field")
                .and_then(|f| f.get("path"))
                .and_then(Value::as_str)
                .is_some_and(|p| p == field || p.starts_with(&format!("{field}.")))),
            "no error names {}: {:?}",
            field,
            errors
        );
        let items = v.get("items").and_then(Value::as_sequence).cloned().unwrap_or_default();
        prop_assert_eq!(items.len(), 1, "input items unchanged");
    }
}
