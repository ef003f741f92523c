//! The cert-manager objects rendered with `tls.source: cert-manager`
//! validate against cert-manager's published CRD schemas (vendored in
//! `tests/fixtures/cert-manager/`, see its README): every field exists in
//! the schema (an unknown field would be pruned silently by the API server),
//! types, enums, required fields and string patterns hold. The validator
//! below implements the parts of OpenAPI v3 that structural CRD schemas use;
//! CEL rules (`x-kubernetes-validations`) are not in these two schemas' paths
//! we use, and the test fails if one appears on a field we render.

use crate::harness::cli::*;
use serde_norway::Value;

fn schema(file: &str) -> Value {
    let crd = parse(
        &std::fs::read_to_string(root().join("tests/fixtures/cert-manager").join(file))
            .expect("vendored CRD"),
    );
    let versions = crd["spec"]["versions"].as_sequence().expect("versions");
    versions
        .iter()
        .find(|v| v["name"].as_str() == Some("v1"))
        .expect("v1")["schema"]["openAPIV3Schema"]
        .clone()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "array",
        Value::Mapping(_) => "object",
        Value::Tagged(_) => "tagged",
    }
}

/// Go durations in hours, minutes and seconds (the CRD's own pattern for
/// durations; `Certificate.spec.duration` is parsed the same way).
const GO_DURATION: &str = r"^([0-9]+(\.[0-9]+)?(s|m|h))+$";

/// A tiny regex subset is not worth a dependency: the only pattern on the
/// fields we render is the duration pattern `^([0-9]+(\.[0-9]+)?(s|m|h))+$`.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    match pattern {
        GO_DURATION => {
            let mut rest = s;
            if rest.is_empty() {
                return false;
            }
            while !rest.is_empty() {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return false;
                }
                rest = &rest[digits..];
                if let Some(r) = rest.strip_prefix('.') {
                    let d = r.bytes().take_while(u8::is_ascii_digit).count();
                    if d == 0 {
                        return false;
                    }
                    rest = &r[d..];
                }
                match rest.as_bytes().first() {
                    Some(b's' | b'm' | b'h') => rest = &rest[1..],
                    _ => return false,
                }
            }
            true
        }
        other => panic!("pattern {other:?} is not implemented by this test's validator"),
    }
}

fn validate(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if schema.get("x-kubernetes-validations").is_some() {
        errors.push(format!(
            "{path}: has CEL rules this test cannot evaluate; check them by hand"
        ));
    }
    if schema.get("x-kubernetes-int-or-string").is_some() {
        if !matches!(v, Value::String(_) | Value::Number(_)) {
            errors.push(format!("{path}: not an int or string"));
        }
        return;
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(v);
        let ok = actual == t || (t == "number" && actual == "integer");
        if !ok {
            errors.push(format!("{path}: is {actual}, the schema wants {t}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_sequence)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v:?} is not one of {e:?}"));
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str())
        && !matches_pattern(p, s)
    {
        errors.push(format!("{path}: {s:?} does not match {p}"));
    }
    if let (Some(max), Some(s)) = (schema.get("maxLength").and_then(Value::as_u64), v.as_str())
        && s.len() as u64 > max
    {
        errors.push(format!("{path}: longer than {max}"));
    }
    match v {
        Value::Mapping(m) => {
            for r in schema
                .get("required")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if !m.contains_key(r) {
                    errors.push(format!("{path}: required field {r:?} missing"));
                }
            }
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            let props = schema.get("properties").and_then(Value::as_mapping);
            let additional = schema.get("additionalProperties");
            for (k, child) in m {
                let key = k.as_str().unwrap_or("?");
                let p = format!("{path}.{key}");
                if let Some(s) = props.and_then(|ps| ps.get(k)) {
                    validate(s, child, &p, errors);
                } else if let Some(a) = additional.filter(|a| a.is_mapping()) {
                    validate(a, child, &p, errors);
                } else if !(preserve
                    || (path.is_empty() && matches!(key, "apiVersion" | "kind"))
                    || additional.and_then(Value::as_bool) == Some(true))
                {
                    errors.push(format!(
                        "{p}: unknown field (the API server would prune it)"
                    ));
                }
            }
        }
        Value::Sequence(items) => {
            if let Some(s) = schema.get("items") {
                for (i, it) in items.iter().enumerate() {
                    validate(s, it, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

fn cert_manager_objects(spec_yaml: &str) -> Vec<Value> {
    let dir = temp_dir("cm-schema");
    let spec = temp_file(&dir, "spec.yaml", spec_yaml);
    let out = render(&spec, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_stream(&out.stdout)
        .into_iter()
        .filter(|v| v["apiVersion"].as_str() == Some("cert-manager.io/v1"))
        .collect()
}

fn check_all(objs: &[Value]) -> usize {
    let cert = schema("cert-manager.io_certificates.yaml");
    let issuer = schema("cert-manager.io_issuers.yaml");
    let mut errors = Vec::new();
    for o in objs {
        let s = match kind(o) {
            "Certificate" => &cert,
            "Issuer" => &issuer,
            k => panic!("unexpected cert-manager kind {k}"),
        };
        // metadata is ObjectMeta, validated by the API server, not the CRD.
        let mut body = o.clone();
        body.as_mapping_mut().unwrap().remove("metadata");
        validate(s, &body, "", &mut errors);
        // The webhook parses these as Go durations (time.ParseDuration).
        for f in ["duration", "renewBefore"] {
            if let Some(d) = o["spec"].get(f).and_then(Value::as_str)
                && !matches_pattern(GO_DURATION, d)
            {
                errors.push(format!("{}: spec.{f} {d:?} is not a Go duration", name(o)));
            }
        }
        // metadata is checked by the API server's ObjectMeta, not the CRD.
        assert!(
            o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.len() <= 253)
        );
    }
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
    objs.len()
}

const BASE: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: shop\nspec:\n  tls:\n    source: cert-manager\n";

#[test]
fn self_contained_chain_validates_for_every_key_algorithm() {
    for alg in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    ] {
        let objs = cert_manager_objects(&format!("{BASE}    keyAlgorithm: {alg}\n"));
        let kinds: Vec<(&str, &str)> = objs.iter().map(|o| (kind(o), name(o))).collect();
        assert_eq!(
            kinds,
            [
                ("Issuer", "cache-selfsigned"),
                ("Certificate", "cache-ca"),
                ("Issuer", "cache-ca"),
                ("Certificate", "cache-redis"),
                ("Certificate", "cache-sentinel"),
                ("Certificate", "cache-client"),
            ],
            "{alg}"
        );
        assert_eq!(check_all(&objs), 6);
        let redis = &objs[3]["spec"];
        let algorithm = redis["privateKey"]["algorithm"].as_str().unwrap();
        assert_eq!(
            algorithm,
            match &alg[..3] {
                "ecd" => "ECDSA",
                "ed2" => "Ed25519",
                _ => "RSA",
            }
        );
        let usages: Vec<&str> = redis["usages"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        assert!(usages.contains(&"server auth") && usages.contains(&"client auth"));
        assert_eq!(usages.contains(&"key encipherment"), alg.starts_with("rsa"));
        assert_eq!(
            redis["privateKey"]["rotationPolicy"].as_str(),
            Some("Always")
        );
    }
}

#[test]
fn issuer_ref_and_bundled_examples_validate() {
    let objs = cert_manager_objects(&format!(
        "{BASE}    certManager:\n      issuerRef:\n        name: platform-ca\n        kind: ClusterIssuer\n"
    ));
    assert_eq!(check_all(&objs), 3, "three leaf Certificates, no chain");
    for o in &objs {
        assert_eq!(
            o["spec"]["issuerRef"]["kind"].as_str(),
            Some("ClusterIssuer")
        );
        assert_eq!(
            o["spec"]["issuerRef"]["group"].as_str(),
            Some("cert-manager.io")
        );
    }
    for ex in ["cert-manager", "cert-manager-issuer"] {
        let out = render(&root().join("examples").join(ex).join("spec.yaml"), &[]);
        assert!(out.status.success());
        let objs: Vec<Value> = parse_stream(&out.stdout)
            .into_iter()
            .filter(|v| v["apiVersion"].as_str() == Some("cert-manager.io/v1"))
            .collect();
        assert!(check_all(&objs) >= 3, "{ex}");
    }
}

#[test]
fn the_validator_rejects_what_the_api_server_would_prune_or_refuse() {
    let cert = schema("cert-manager.io_certificates.yaml");
    let bad = parse(
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nspec:\n  issuerRef: {name: i}\n  usages: [server-auth]\n  isCA: 'yes'\n  privateKey: {algorithm: EC}\n  dnsName: [a]\n",
    );
    let mut errors = Vec::new();
    validate(&cert, &bad, "", &mut errors);
    assert!(!matches_pattern(GO_DURATION, "90d") && matches_pattern(GO_DURATION, "2160h"));
    let text = errors.join("\n");
    for want in [
        ".spec.usages[0]",
        ".spec.isCA: is string",
        ".spec.privateKey.algorithm",
        ".spec.dnsName: unknown field",
        "required field String(\"secretName\") missing",
    ] {
        assert!(text.contains(want), "{want} not reported in:\n{text}");
    }
}

#[test]
fn dns_names_are_the_name_model_the_configs_dial() {
    let objs = cert_manager_objects(BASE);
    let names = |n: &str| -> Vec<String> {
        objs.iter().find(|o| name(o) == n).unwrap()["spec"]["dnsNames"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let redis = names("cache-redis");
    for want in [
        "cache-redis",
        "cache-redis.shop.svc.cluster.local",
        "*.cache-redis-headless.shop.svc.cluster.local",
        "*.cache-redis-headless.shop.svc",
        "localhost",
    ] {
        assert!(
            redis.iter().any(|n| n == want),
            "{want} missing from {redis:?}"
        );
    }
    let sentinel = names("cache-sentinel");
    assert!(
        sentinel
            .iter()
            .any(|n| n == "*.cache-sentinel-headless.shop.svc.cluster.local")
    );
    let secret_names: Vec<&str> = objs
        .iter()
        .filter(|o| kind(o) == "Certificate")
        .map(|o| o["spec"]["secretName"].as_str().unwrap())
        .collect();
    assert_eq!(
        secret_names,
        [
            "cache-ca-key",
            "cache-redis-tls",
            "cache-sentinel-tls",
            "cache-client-tls"
        ]
    );
}
