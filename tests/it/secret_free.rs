//! With a certificate source other than `generated` and
//! `auth.existingSecret`, the output holds no secret: no private key, no
//! password, no Secret with data. The passwords the same spec would get
//! without `existingSecret` (same seed) are searched for too, so the test
//! fails if any generated secret leaks into the output.

use crate::harness::cli::*;
use serde_norway::Value;

const SOURCES: &[(&str, &str)] = &[
    ("cert-manager", "    source: cert-manager\n"),
    (
        "cert-manager with an issuer",
        "    source: cert-manager\n    certManager:\n      issuerRef: {name: platform-ca, kind: ClusterIssuer}\n",
    ),
    (
        "openshift-service-ca",
        "    source: openshift-service-ca\n    clientAuth: \"no\"\n",
    ),
    ("secret", "    source: secret\n"),
];

fn spec(tls: &str, auth: &str) -> String {
    format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: shop\nspec:\n  tls:\n{tls}  auth:\n{auth}"
    )
}

fn render_text(dir: &std::path::Path, yaml: &str) -> (String, Vec<Value>) {
    let f = temp_file(dir, "spec.yaml", yaml);
    let out = render(&f, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout.clone()).unwrap(),
        parse_stream(&out.stdout),
    )
}

#[test]
fn no_private_key_no_password_no_secret_data() {
    let dir = temp_dir("secret-free");
    for mode in ["acl", "password"] {
        // What a generated auth Secret would hold with this seed.
        let (_, with_passwords) = render_text(
            &dir,
            &spec("    source: cert-manager\n", &format!("    mode: {mode}\n")),
        );
        let auth = find(&with_passwords, "Secret", "cache-auth");
        let passwords: Vec<String> = auth["data"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| secret(&with_passwords, "cache-auth", k.as_str().unwrap()))
            .filter(|v| v.len() >= 16)
            .collect();
        assert!(passwords.len() >= 2, "{mode}: passwords to look for");
        for (what, tls) in SOURCES {
            let (text, items) = render_text(
                &dir,
                &spec(
                    tls,
                    &format!("    mode: {mode}\n    existingSecret: cache-passwords\n"),
                ),
            );
            assert!(
                !text.contains("PRIVATE KEY"),
                "{what}/{mode}: a private key"
            );
            assert!(
                !text.contains("BEGIN CERTIFICATE"),
                "{what}/{mode}: a certificate"
            );
            for p in &passwords {
                assert!(
                    !text.contains(p.as_str()),
                    "{what}/{mode}: a password value"
                );
            }
            for i in &items {
                if kind(i) == "Secret" {
                    panic!("{what}/{mode}: Secret {} in the output", name(i));
                }
                assert!(
                    i.get("data").is_none() || kind(i) == "ConfigMap",
                    "{what}/{mode}: {} {} has data",
                    kind(i),
                    name(i)
                );
            }
            // The pods mount the user's Secret, with the keys of the mode.
            let sts = find(&items, "StatefulSet", "cache-redis");
            let vols = sts["spec"]["template"]["spec"]["volumes"]
                .as_sequence()
                .unwrap();
            let auth = vols
                .iter()
                .find(|v| v["name"].as_str() == Some("auth"))
                .expect("auth volume");
            assert_eq!(
                auth["secret"]["secretName"].as_str(),
                Some("cache-passwords")
            );
            let external = sts["metadata"]["annotations"]["fn.redis-sentinel.dev/external-secrets"]
                .as_str()
                .unwrap_or_default();
            assert!(external.contains("cache-passwords"), "{what}: {external}");
        }
    }
}

#[test]
fn generated_certificates_with_an_existing_auth_secret_emit_only_certificate_secrets() {
    let dir = temp_dir("secret-free-gen");
    let (_, items) = render_text(
        &dir,
        &spec(
            "    source: generated\n",
            "    existingSecret: cache-passwords\n",
        ),
    );
    let secrets: Vec<&str> = items
        .iter()
        .filter(|i| kind(i) == "Secret")
        .map(name)
        .collect();
    assert_eq!(
        secrets,
        ["cache-redis-tls", "cache-sentinel-tls", "cache-client-tls"]
    );
}

#[test]
fn hash_covers_nothing_the_function_cannot_see() {
    // Two renders that differ only in the existing Secret's name roll the
    // pods (the volume changes); nothing else of the user's Secret enters.
    let dir = temp_dir("secret-free-hash");
    let (_, a) = render_text(
        &dir,
        &spec("    source: cert-manager\n", "    existingSecret: one\n"),
    );
    let (_, b) = render_text(
        &dir,
        &spec("    source: cert-manager\n", "    existingSecret: one\n"),
    );
    assert_eq!(pod_hash(&a, "cache-redis"), pod_hash(&b, "cache-redis"));
    let (_, c) = render_text(
        &dir,
        &spec("    source: cert-manager\n", "    existingSecret: two\n"),
    );
    let va = &find(&a, "StatefulSet", "cache-redis")["spec"]["template"]["spec"]["volumes"];
    let vc = &find(&c, "StatefulSet", "cache-redis")["spec"]["template"]["spec"]["volumes"];
    assert_ne!(va, vc);
}

#[test]
fn wrong_combinations_are_errors_naming_the_fields() {
    let dir = temp_dir("source-errors");
    let cases: &[(&str, &str, &str)] = &[
        (
            "    source: openshift-service-ca\n",
            "    enabled: true\n",
            "spec.tls.clientAuth",
        ),
        (
            "    source: openshift-service-ca\n    clientAuth: optional\n",
            "    enabled: true\n",
            "spec.tls.clientAuth",
        ),
        (
            "    source: openshift-service-ca\n    clientAuth: \"no\"\n    extraDnsNames: [redis.example.com]\n",
            "    enabled: true\n",
            "spec.tls.extraDnsNames",
        ),
        (
            "    source: cert-manager\n    keepCaKey: true\n",
            "    enabled: true\n",
            "spec.tls.keepCaKey",
        ),
        (
            "    source: cert-manager\n    rotation: 2\n",
            "    enabled: true\n",
            "spec.tls.rotation",
        ),
        (
            "    source: cert-manager\n    enabled: false\n",
            "    enabled: true\n",
            "spec.tls.source",
        ),
        (
            "    source: secret\n    certManager: {issuerRef: {name: x}}\n",
            "    enabled: true\n",
            "spec.tls.certManager",
        ),
        (
            "    source: cert-manager\n    certManager: {issuerRef: {name: x, kind: Vault}}\n",
            "    enabled: true\n",
            "spec.tls.certManager.issuerRef.kind",
        ),
        (
            "    source: cert-manager\n    secrets: {redis: x}\n",
            "    enabled: true\n",
            "spec.tls.secrets",
        ),
        (
            "    source: secret\n    secrets: {redis: Bad_Name}\n",
            "    enabled: true\n",
            "spec.tls.secrets.redis",
        ),
        (
            "    source: cert-manager\n",
            "    enabled: false\n    existingSecret: x\n",
            "spec.auth.existingSecret",
        ),
    ];
    for (tls, auth, field) in cases {
        let f = temp_file(&dir, "spec.yaml", &spec(tls, auth));
        let out = render(&f, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{field}: accepted\n{tls}{auth}");
        assert!(err.contains(field), "{field} not named in: {err}");
        assert!(out.stdout.is_empty(), "{field}: partial output");
    }
    // An external issuer (other group) may have any kind.
    let f = temp_file(
        &dir,
        "spec.yaml",
        &spec(
            "    source: cert-manager\n    certManager: {issuerRef: {name: v, kind: VaultIssuer, group: vault.example.com}}\n",
            "    enabled: true\n",
        ),
    );
    assert!(render(&f, &[]).status.success());
}
