//! `redis-sentinel-fn check` with `tls.source: secret`: the user's
//! certificate Secrets are accepted when they are not among the items (they
//! live in the cluster) and verified when they are: SANs for every dialed
//! name, extended key usages, signature by a CA in `ca.crt`, validity.
//! The certificates are made with openssl by the test ([`harness::TestCa`]).

use crate::harness;

use crate::harness::cli::*;
use base64::Engine;
use harness::{KeyType, Leaf, TestCa};

const NS: &str = "billing";

/// The names the configs dial for a component of instance `cache`.
fn dns_names(c: &str) -> Vec<String> {
    let mut v = Vec::new();
    for svc in [format!("cache-{c}"), format!("cache-{c}-headless")] {
        v.push(svc.clone());
        v.push(format!("{svc}.{NS}"));
        v.push(format!("{svc}.{NS}.svc"));
        v.push(format!("{svc}.{NS}.svc.cluster.local"));
    }
    v.push(format!("*.cache-{c}-headless.{NS}.svc"));
    v.push(format!("*.cache-{c}-headless.{NS}.svc.cluster.local"));
    v.push("localhost".into());
    v
}

fn secret(name: &str, leaf: &Leaf, ca: &str) -> String {
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {NS}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n  ca.crt: {}\n",
        b(&leaf.cert),
        b(&leaf.key),
        b(ca)
    )
}

fn check(rendered: &[u8], extra: &str) -> (bool, String) {
    let mut input = rendered.to_vec();
    input.extend_from_slice(extra.as_bytes());
    // The real clock: the certificates are made now.
    status_text(&run(&["check"], &input, &[("SOURCE_DATE_EPOCH", None)]))
}

#[test]
fn user_secrets_are_verified_when_present() {
    let out = render(&root().join("examples/existing-secrets/spec.yaml"), &[]);
    assert!(out.status.success());
    let rendered = out.stdout;
    // Not among the items: accepted (they live in the cluster).
    let (ok, report) = check(&rendered, "");
    assert!(ok, "{report}");

    let dir = temp_dir("sources-check");
    let ca = TestCa::new(&dir.join("ca"), "billing-ca", KeyType::EcP256).unwrap();
    let both = ["serverAuth", "clientAuth"];
    let ips = ["127.0.0.1", "::1"];
    let good = |c: &str| {
        ca.issue(
            &format!("cache-{c}"),
            &dns_names(c),
            &ips,
            &both,
            KeyType::EcP256,
            365,
        )
        .unwrap()
    };
    let redis = good("redis");
    let sentinel = good("sentinel");
    let ok_secrets = format!(
        "{}{}",
        secret("billing-redis-cert", &redis, &ca.pem),
        secret("billing-sentinel-cert", &sentinel, &ca.pem)
    );
    let (ok, report) = check(&rendered, &ok_secrets);
    assert!(ok, "{report}");
    assert!(report.contains("consistent"), "{report}");

    // serverAuth only (what the service CA issues), with tls.clientAuth yes.
    let server_only = ca
        .issue(
            "cache-sentinel",
            &dns_names("sentinel"),
            &ips,
            &["serverAuth"],
            KeyType::EcP256,
            365,
        )
        .unwrap();
    // Signed by another CA than the ca.crt it ships with.
    let other = TestCa::new(&dir.join("other"), "other-ca", KeyType::Rsa2048).unwrap();
    let foreign = other
        .issue(
            "cache-redis",
            &dns_names("redis"),
            &ips,
            &both,
            KeyType::Rsa2048,
            365,
        )
        .unwrap();
    // Pod names not covered.
    let few = ca
        .issue(
            "cache-redis",
            &["cache-redis".to_string()],
            &ips,
            &both,
            KeyType::EcP256,
            365,
        )
        .unwrap();
    let cases = [
        (
            secret("billing-sentinel-cert", &server_only, &ca.pem),
            "clientAuth",
        ),
        (
            secret("billing-redis-cert", &foreign, &ca.pem),
            "not in ca.crt",
        ),
        (
            secret("billing-redis-cert", &few, &ca.pem),
            "has no SAN for",
        ),
    ];
    for (bad, want) in cases {
        let (ok, report) = check(&rendered, &bad);
        assert!(!ok, "{want}: accepted\n{report}");
        assert!(report.contains(want), "{want} not in\n{report}");
    }
    // Close to expiry: a warning, not an error.
    let soon = ca
        .issue(
            "cache-redis",
            &dns_names("redis"),
            &ips,
            &both,
            KeyType::EcP256,
            3,
        )
        .unwrap();
    let (ok, report) = check(&rendered, &secret("billing-redis-cert", &soon, &ca.pem));
    assert!(ok, "{report}");
    assert!(report.contains("expires in"), "{report}");
}

#[test]
fn an_existing_auth_secret_among_the_items_needs_every_key_of_the_mode() {
    let out = render(&root().join("examples/existing-secrets/spec.yaml"), &[]);
    assert!(out.status.success());
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let auth = |keys: &[&str]| {
        let mut y = format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-redis-passwords\n  namespace: {NS}\ndata:\n"
        );
        for k in keys {
            y.push_str(&format!("  {k}: {}\n", b("0123456789abcdef0123")));
        }
        y
    };
    // Password mode: redis-password and sentinel-password.
    let (ok, report) = check(&out.stdout, &auth(&["redis-password", "sentinel-password"]));
    assert!(ok, "{report}");
    let (ok, report) = check(&out.stdout, &auth(&["redis-password"]));
    assert!(!ok, "accepted a Secret without sentinel-password");
    assert!(report.contains("has no sentinel-password"), "{report}");
}
