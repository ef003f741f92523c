//! Certificates: parsed with x509-parser and checked with `openssl verify`
//! (SANs, EKUs, chain to the CA, key matches), for every key algorithm; and
//! kept across renders while they fit the spec.

use std::collections::BTreeSet;
use std::process::Command;

use crate::harness::cli::*;
use serde_norway::Value;
use x509_parser::prelude::*;

fn spec_with(extra: &str) -> Value {
    parse(&format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: cache\nspec:\n{extra}"
    ))
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .expect("PEM")
        .1
        .contents
}

fn sans(pem: &str) -> BTreeSet<String> {
    let d = der(pem);
    let (_, c) = X509Certificate::from_der(&d).expect("certificate parses");
    c.subject_alternative_name()
        .expect("SAN extension well-formed")
        .expect("has SANs")
        .value
        .general_names
        .iter()
        .map(|g| match g {
            GeneralName::DNSName(n) => n.to_string(),
            GeneralName::IPAddress(ip) if ip.len() == 4 => {
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string()
            }
            GeneralName::IPAddress(ip) if ip.len() == 16 => {
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string()
            }
            other => format!("{other:?}"),
        })
        .collect()
}

fn openssl(args: &[&str]) -> (bool, String) {
    // Certificates are rendered at the fixed clock `NOW`: verify them at that
    // time, not at the machine's (they expire while the tests stay).
    let mut args = args.to_vec();
    if args.first() == Some(&"verify")
        && !args
            .iter()
            .any(|a| *a == "-attime" || *a == "-no_check_time")
    {
        args.splice(1..1, ["-attime", NOW]);
    }
    status_text(
        &Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl is installed (.ci/install.d/10-base.sh installs it)"),
    )
}

#[test]
fn certificates_verify_for_every_key_algorithm() {
    for alg in ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"] {
        let spec = spec_with(&format!(
            "  tls:\n    keyAlgorithm: {alg}\n    extraDnsNames: [redis.example.com]\n"
        ));
        let (items, _) = output_ok(&krm(&spec, &[], &[]));
        let dir = temp_dir(&format!("certs-{alg}"));
        let ca = secret(&items, "cache-redis-tls", "ca.crt");
        let ca_path = temp_file(&dir, "ca.crt", &ca);
        // The CA ConfigMap publishes the same CA.
        assert_eq!(config(&items, "cache-ca", "ca.crt"), ca);
        // The CA is a CA, self-signed, and its key is not emitted by default.
        let (ok, text) = openssl(&["x509", "-in", ca_path.to_str().unwrap(), "-noout", "-text"]);
        assert!(
            ok && text.contains("CA:TRUE"),
            "{alg}: CA basic constraints: {text}"
        );
        assert!(
            items.iter().all(|i| name(i) != "cache-ca-key"),
            "CA key Secret only with keepCaKey"
        );

        for (secret_name, server) in [
            ("cache-redis-tls", true),
            ("cache-sentinel-tls", true),
            ("cache-client-tls", false),
        ] {
            assert_eq!(
                find(&items, "Secret", secret_name)["type"].as_str(),
                Some("kubernetes.io/tls")
            );
            assert_eq!(
                secret(&items, secret_name, "ca.crt"),
                ca,
                "{secret_name} carries the same ca.crt"
            );
            let crt = secret(&items, secret_name, "tls.crt");
            let key = secret(&items, secret_name, "tls.key");
            let crt_path = temp_file(&dir, &format!("{secret_name}.crt"), &crt);
            let key_path = temp_file(&dir, &format!("{secret_name}.key"), &key);
            let (ok, text) = openssl(&[
                "verify",
                "-CAfile",
                ca_path.to_str().unwrap(),
                "-purpose",
                "sslclient",
                crt_path.to_str().unwrap(),
            ]);
            assert!(ok, "{alg} {secret_name}: openssl verify (client): {text}");
            let (ok, text) = openssl(&[
                "verify",
                "-CAfile",
                ca_path.to_str().unwrap(),
                "-purpose",
                "sslserver",
                crt_path.to_str().unwrap(),
            ]);
            assert_eq!(ok, server, "{alg} {secret_name}: server purpose: {text}");
            // The key belongs to the certificate.
            let (_, from_cert) = openssl(&[
                "x509",
                "-in",
                crt_path.to_str().unwrap(),
                "-noout",
                "-pubkey",
            ]);
            let (ok, from_key) = openssl(&["pkey", "-in", key_path.to_str().unwrap(), "-pubout"]);
            assert!(ok, "{alg} {secret_name}: key parses: {from_key}");
            assert_eq!(
                from_cert, from_key,
                "{alg} {secret_name}: tls.key matches tls.crt"
            );
            // EKUs
            let d = der(&crt);
            let (_, c) = X509Certificate::from_der(&d).expect("parses");
            let eku = c.extended_key_usage().expect("ok").expect("has EKU").value;
            assert!(eku.client_auth, "{secret_name}: clientAuth");
            assert_eq!(eku.server_auth, server, "{secret_name}: serverAuth");
            assert!(!c.is_ca());
        }

        let redis = sans(&secret(&items, "cache-redis-tls", "tls.crt"));
        for want in [
            "cache-redis",
            "cache-redis.cache",
            "cache-redis.cache.svc",
            "cache-redis.cache.svc.cluster.local",
            "cache-redis-headless.cache.svc.cluster.local",
            "*.cache-redis-headless.cache.svc.cluster.local",
            "*.cache-redis-headless.cache.svc",
            "localhost",
            "127.0.0.1",
            "::1",
            "redis.example.com",
        ] {
            assert!(
                redis.contains(want),
                "{alg}: redis certificate lacks SAN {want}: {redis:?}"
            );
        }
        assert!(
            !redis.iter().any(|s| s.contains("sentinel")),
            "redis SANs name only redis: {redis:?}"
        );
        let sentinel = sans(&secret(&items, "cache-sentinel-tls", "tls.crt"));
        for want in [
            "cache-sentinel.cache.svc.cluster.local",
            "*.cache-sentinel-headless.cache.svc.cluster.local",
            "localhost",
        ] {
            assert!(
                sentinel.contains(want),
                "{alg}: sentinel certificate lacks SAN {want}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn every_pod_name_the_scripts_dial_is_covered_by_a_san() {
    let spec = spec_with("  redis:\n    replicas: 4\n  sentinel:\n    replicas: 5\n");
    let (items, _) = output_ok(&krm(&spec, &[], &[]));
    for (sts, headless, secret_name) in [
        ("cache-redis", "cache-redis-headless", "cache-redis-tls"),
        (
            "cache-sentinel",
            "cache-sentinel-headless",
            "cache-sentinel-tls",
        ),
    ] {
        let names = sans(&secret(&items, secret_name, "tls.crt"));
        let replicas = find(&items, "StatefulSet", sts)["spec"]["replicas"]
            .as_u64()
            .unwrap();
        for i in 0..replicas {
            let host = format!("{sts}-{i}.{headless}.cache.svc.cluster.local");
            let (_, parent) = host.split_once('.').unwrap();
            assert!(
                names.contains(&format!("*.{parent}")),
                "{host} is not covered by {names:?}"
            );
        }
    }
}

#[test]
fn ca_key_is_emitted_only_when_asked() {
    let (items, _) = output_ok(&krm(&spec_with("  tls:\n    keepCaKey: true\n"), &[], &[]));
    let key = secret(&items, "cache-ca-key", "tls.key");
    assert!(key.contains("PRIVATE KEY"));
    assert!(secret(&items, "cache-ca-key", "next-ca.key").contains("PRIVATE KEY"));
    // ca.crt: the current CA, then the next one.
    assert_eq!(
        format!(
            "{}{}",
            secret(&items, "cache-ca-key", "tls.crt"),
            secret(&items, "cache-ca-key", "next-ca.crt")
        ),
        secret(&items, "cache-redis-tls", "ca.crt")
    );
}

fn cert_secrets(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| kind(i) == "Secret" && name(i).ends_with("-tls"))
        .cloned()
        .collect()
}

fn warnings(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r["severity"].as_str() == Some("warning"))
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

const NO_SEED: &[(&str, Option<&str>)] = &[("REDIS_SENTINEL_FN_SEED", None)];

#[test]
fn without_seed_certificates_are_new_with_a_warning_then_kept() {
    let spec = spec_with("");
    let (first, results) = output_ok(&krm(&spec, &[], NO_SEED));
    let w = warnings(&results);
    assert!(
        w.iter()
            .any(|m| m.contains("newly generated") && m.contains("REDIS_SENTINEL_FN_SEED")),
        "warning expected: {w:?}"
    );

    // Fed back (as kpt does), the Secrets are kept byte for byte, silently.
    let (second, results) = output_ok(&krm(&spec, &first, NO_SEED));
    assert!(
        warnings(&results).is_empty(),
        "no warning when kept: {:?}",
        warnings(&results)
    );
    assert_eq!(cert_secrets(&first), cert_secrets(&second));
    assert_eq!(first, second, "the whole output is stable");

    // Another fresh render without input differs (random keys).
    let (other, _) = output_ok(&krm(&spec, &[], NO_SEED));
    assert_ne!(cert_secrets(&first), cert_secrets(&other));
}

#[test]
fn kept_certificates_are_replaced_when_they_no_longer_fit() {
    let spec = spec_with("");
    let (first, _) = output_ok(&krm(&spec, &[], NO_SEED));
    type Env<'a> = Vec<(&'a str, Option<&'a str>)>;
    let cases: Vec<(&str, Value, Env)> = vec![
        (
            "key algorithm",
            spec_with("  tls:\n    keyAlgorithm: ecdsa-p384\n"),
            vec![],
        ),
        (
            "DNS names",
            spec_with("  tls:\n    extraDnsNames: [cache.example.com]\n"),
            vec![],
        ),
        ("rotation", spec_with("  tls:\n    rotation: 1\n"), vec![]),
        // 350 days later: within renewBeforeDays (30) of the 365-day validity.
        (
            "expiry",
            spec.clone(),
            vec![("SOURCE_DATE_EPOCH", Some("1797465600"))],
        ),
    ];
    for (what, spec, extra_env) in cases {
        let mut env = NO_SEED.to_vec();
        env.extend(extra_env);
        let (next, results) = output_ok(&krm(&spec, &first, &env));
        assert_ne!(
            cert_secrets(&first),
            cert_secrets(&next),
            "{what}: certificates must be replaced"
        );
        assert!(
            !warnings(&results).is_empty(),
            "{what}: replacement is reported"
        );
    }
    // A tampered Secret (certificate from another render) is not kept.
    let (other, _) = output_ok(&krm(&spec, &[], NO_SEED));
    let mut mixed = first.clone();
    let idx = mixed
        .iter()
        .position(|i| name(i) == "cache-sentinel-tls")
        .unwrap();
    mixed[idx] = other
        .iter()
        .find(|i| name(i) == "cache-sentinel-tls")
        .unwrap()
        .clone();
    let (next, _) = output_ok(&krm(&spec, &mixed, NO_SEED));
    let ca_next = secret(&next, "cache-redis-tls", "ca.crt");
    assert_ne!(ca_next, secret(&first, "cache-redis-tls", "ca.crt"));
    assert_eq!(
        ca_next,
        secret(&next, "cache-sentinel-tls", "ca.crt"),
        "one CA again"
    );
}

#[test]
fn seed_gives_identical_secrets_and_another_seed_other_keys() {
    let spec = spec_with("  auth:\n    enabled: true\n");
    let (a, ra) = output_ok(&krm(&spec, &[], &[]));
    let (b, _) = output_ok(&krm(&spec, &[], &[]));
    assert!(
        warnings(&ra).is_empty(),
        "no warning with a seed: {:?}",
        warnings(&ra)
    );
    assert_eq!(a, b);
    let (c, _) = output_ok(&krm(
        &spec,
        &[],
        &[(
            "REDIS_SENTINEL_FN_SEED",
            Some("another-seed-0123456789abcdef"),
        )],
    ));
    assert_ne!(
        secret(&a, "cache-redis-tls", "tls.key"),
        secret(&c, "cache-redis-tls", "tls.key")
    );
    assert_ne!(
        secret(&a, "cache-auth", "app-password"),
        secret(&c, "cache-auth", "app-password")
    );
    // A too-short seed is an error result, not a silent fallback.
    let out = krm(&spec, &[], &[("REDIS_SENTINEL_FN_SEED", Some("short"))]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("at least 16"));
}

#[test]
fn seeded_certificates_renew_by_themselves_before_expiry() {
    // Same period: identical. Past validity - renewBefore: new window, valid now.
    let spec = spec_with("");
    let (a, _) = output_ok(&krm(
        &spec,
        &[],
        &[("SOURCE_DATE_EPOCH", Some("1767225600"))],
    ));
    let (b, _) = output_ok(&krm(
        &spec,
        &[],
        &[("SOURCE_DATE_EPOCH", Some("1767312000"))],
    ));
    assert_eq!(
        cert_secrets(&a),
        cert_secrets(&b),
        "a day later: same certificates"
    );
    let later = 1767225600i64 + 400 * 86400;
    let (c, _) = output_ok(&krm(
        &spec,
        &[],
        &[("SOURCE_DATE_EPOCH", Some(&later.to_string()))],
    ));
    assert_ne!(cert_secrets(&a), cert_secrets(&c));
    let d = der(&secret(&c, "cache-redis-tls", "tls.crt"));
    let (_, cert) = X509Certificate::from_der(&d).unwrap();
    let v = cert.validity();
    assert!(
        v.not_before.timestamp() <= later && v.not_after.timestamp() - later > 30 * 86400,
        "valid with margin at render time"
    );
}

#[test]
fn with_keep_ca_key_new_leaves_are_signed_by_the_kept_ca() {
    let (first, _) = output_ok(&krm(
        &spec_with("  tls:\n    keepCaKey: true\n"),
        &[],
        NO_SEED,
    ));
    let ca = secret(&first, "cache-redis-tls", "ca.crt");
    let (next, results) = output_ok(&krm(
        &spec_with("  tls:\n    keepCaKey: true\n    extraDnsNames: [new.example.com]\n"),
        &first,
        NO_SEED,
    ));
    // A renewal under the same CA: an info result, no warning.
    let infos: Vec<&str> = results
        .iter()
        .filter(|r| r["severity"].as_str() == Some("info"))
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert!(
        infos.iter().any(|m| m.contains("renewed by the kept CA")),
        "{infos:?}"
    );
    assert!(
        !warnings(&results)
            .iter()
            .any(|w| w.contains("certificates for")),
        "{:?}",
        warnings(&results)
    );
    assert_eq!(secret(&next, "cache-redis-tls", "ca.crt"), ca, "same CA");
    assert_eq!(
        secret(&next, "cache-ca-key", "tls.key"),
        secret(&first, "cache-ca-key", "tls.key")
    );
    assert_ne!(
        secret(&next, "cache-redis-tls", "tls.crt"),
        secret(&first, "cache-redis-tls", "tls.crt")
    );
    assert!(sans(&secret(&next, "cache-redis-tls", "tls.crt")).contains("new.example.com"));
    let dir = temp_dir("kept-ca");
    let ca_path = temp_file(&dir, "ca.crt", &ca);
    for s in ["cache-redis-tls", "cache-sentinel-tls", "cache-client-tls"] {
        let crt = temp_file(&dir, "leaf.crt", &secret(&next, s, "tls.crt"));
        let (ok, text) = openssl(&[
            "verify",
            "-CAfile",
            ca_path.to_str().unwrap(),
            crt.to_str().unwrap(),
        ]);
        assert!(ok, "{s}: {text}");
    }
    // A third render keeps everything.
    let (third, _) = output_ok(&krm(
        &spec_with("  tls:\n    keepCaKey: true\n    extraDnsNames: [new.example.com]\n"),
        &next,
        NO_SEED,
    ));
    assert_eq!(cert_secrets(&third), cert_secrets(&next));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `openssl verify` of `leaf` against the bundle `ca` (PEM texts) at `at`
/// (Unix seconds; `ANY_TIME`: validity periods not checked), as a client
/// certificate (every leaf is one).
fn verifies(dir: &std::path::Path, ca: &str, leaf: &str, at: &str) -> bool {
    let ca_path = temp_file(dir, "bundle.crt", ca);
    let leaf_path = temp_file(dir, "leaf.crt", leaf);
    let mut args = vec!["verify"];
    if at == ANY_TIME {
        args.push("-no_check_time");
    } else {
        args.extend(["-attime", at]);
    }
    args.extend([
        "-purpose",
        "sslclient",
        "-CAfile",
        ca_path.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ]);
    openssl(&args).0
}

const ANY_TIME: &str = "any";

fn bundle_len(pem: &str) -> usize {
    pem.matches("-----BEGIN CERTIFICATE-----").count()
}

const TLS_SECRETS: [&str; 3] = ["cache-redis-tls", "cache-sentinel-tls", "cache-client-tls"];

/// Checks a sequence of renders, each the next step of the one before: every
/// leaf verifies against its own bundle and against the bundles one step
/// before and after (pods and clients not rolled yet, or rolled already),
/// and not against a bundle two steps away (the oldest CA has left).
fn assert_overlapping_trust(tag: &str, renders: &[Vec<Value>], at: &str) {
    let dir = temp_dir(tag);
    for (i, r) in renders.iter().enumerate() {
        let ca = secret(r, "cache-redis-tls", "ca.crt");
        assert_eq!(config(r, "cache-ca", "ca.crt"), ca, "{tag} {i}: ConfigMap");
        for s in TLS_SECRETS {
            assert_eq!(secret(r, s, "ca.crt"), ca, "{tag} {i}: {s} ca.crt");
        }
        for (j, other) in renders.iter().enumerate() {
            let other_ca = secret(other, "cache-redis-tls", "ca.crt");
            for s in TLS_SECRETS {
                let leaf = secret(r, s, "tls.crt");
                let want = i.abs_diff(j) <= 1;
                assert_eq!(
                    verifies(&dir, &other_ca, &leaf, at),
                    want,
                    "{tag}: {s} of step {i} against the ca.crt of step {j}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seeded_rotations_overlap_trust_and_are_deterministic() {
    let renders: Vec<Vec<Value>> = (0..4)
        .map(|r| {
            let spec = spec_with(&format!("  tls:\n    rotation: {r}\n"));
            let (a, _) = output_ok(&krm(&spec, &[], &[]));
            let (b, _) = output_ok(&krm(&spec, &[], &[]));
            assert_eq!(a, b, "rotation {r}: same input, same bytes");
            a
        })
        .collect();
    let counts: Vec<usize> = renders
        .iter()
        .map(|r| bundle_len(&secret(r, "cache-redis-tls", "ca.crt")))
        .collect();
    assert_eq!(counts, [2, 3, 3, 3], "current + next, then previous too");
    assert_overlapping_trust("seeded-rotation", &renders, NOW);
}

#[test]
fn seeded_ca_renewal_overlaps_trust() {
    // CA period: caValidityDays - validityDays = 40 days from notBefore.
    let spec = spec_with(
        "  tls:\n    caValidityDays: 60\n    validityDays: 20\n    renewBeforeDays: 5\n    notBefore: \"2026-01-01T00:00:00Z\"\n",
    );
    let day = 86_400i64;
    let base: i64 = NOW.parse().unwrap();
    let at = |d: i64| (base + d * day + 3600).to_string();
    let renders: Vec<Vec<Value>> = [39, 41, 81]
        .iter()
        .map(|d| output_ok(&krm(&spec, &[], &[("SOURCE_DATE_EPOCH", Some(&at(*d)))])).0)
        .collect();
    // Verified just after the first renewal: all three renders' leaves are valid.
    let dir = temp_dir("ca-renewal");
    let check_at = at(41);
    for (i, r) in renders.iter().enumerate().take(2) {
        for (j, other) in renders.iter().enumerate().take(2) {
            for s in TLS_SECRETS {
                assert!(
                    verifies(
                        &dir,
                        &secret(other, "cache-redis-tls", "ca.crt"),
                        &secret(r, s, "tls.crt"),
                        &check_at
                    ),
                    "{s} of period {i} against ca.crt of period {j}"
                );
            }
        }
    }
    // Two renewals on: the CA of the first period has left the bundle,
    // the second is still there.
    let late = secret(&renders[2], "cache-redis-tls", "ca.crt");
    assert_eq!(bundle_len(&late), 3);
    assert!(!verifies(
        &dir,
        &late,
        &secret(&renders[0], "cache-redis-tls", "tls.crt"),
        ANY_TIME
    ));
    assert!(verifies(
        &dir,
        &late,
        &secret(&renders[1], "cache-redis-tls", "tls.crt"),
        ANY_TIME
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kept_rotations_with_keep_ca_key_overlap_trust_over_several_renders() {
    let spec = |r: u32| spec_with(&format!("  tls:\n    keepCaKey: true\n    rotation: {r}\n"));
    let mut renders: Vec<Vec<Value>> = Vec::new();
    let mut previous: Vec<Value> = Vec::new();
    for r in 0..4 {
        let (next, results) = output_ok(&krm(&spec(r), &previous, NO_SEED));
        if r > 0 {
            assert!(
                warnings(&results).is_empty(),
                "rotation {r} is a safe step: {:?}",
                warnings(&results)
            );
            // Rendered again with the same spec: nothing changes.
            let (again, _) = output_ok(&krm(&spec(r), &next, NO_SEED));
            assert_eq!(again, next, "rotation {r}: kept byte for byte");
        }
        previous = next.clone();
        renders.push(next);
    }
    assert_overlapping_trust("kept-rotation", &renders, NOW);
}

#[test]
fn kept_rotation_without_keep_ca_key_warns_that_it_is_not_safe() {
    let (first, _) = output_ok(&krm(&spec_with(""), &[], NO_SEED));
    assert_eq!(bundle_len(&secret(&first, "cache-redis-tls", "ca.crt")), 1);
    let (next, results) = output_ok(&krm(
        &spec_with("  tls:\n    rotation: 1\n"),
        &first,
        NO_SEED,
    ));
    let w = warnings(&results);
    assert!(
        w.iter()
            .any(|m| m.contains("tls.rotation changed") && m.contains("tls.keepCaKey")),
        "{w:?}"
    );
    let dir = temp_dir("unsafe-rotation");
    let new_ca = secret(&next, "cache-redis-tls", "ca.crt");
    let old_ca = secret(&first, "cache-redis-tls", "ca.crt");
    let old_leaf = secret(&first, "cache-redis-tls", "tls.crt");
    let new_leaf = secret(&next, "cache-redis-tls", "tls.crt");
    assert!(
        verifies(&dir, &new_ca, &old_leaf, NOW),
        "old CA stays trusted"
    );
    assert!(!verifies(&dir, &old_ca, &new_leaf, NOW), "the unsafe part");
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a seed and the earlier render among the input items (kpt), a step
/// of one (`rotation` + 1) moves to a CA the earlier `ca.crt` already
/// trusts: no warning. More than one step at once (`rotation` + 2, another
/// key algorithm, another seed) is warned about, naming `tls`.
#[test]
fn seeded_steps_without_overlap_are_warned_about() {
    let seed: &[(&str, Option<&str>)] = &[(
        "REDIS_SENTINEL_FN_SEED",
        Some("a-test-seed-of-at-least-32-bytes!!"),
    )];
    let other_seed: &[(&str, Option<&str>)] = &[(
        "REDIS_SENTINEL_FN_SEED",
        Some("another-test-seed-of-32-bytes-or-more"),
    )];
    let (r0, results) = output_ok(&krm(&spec_with("  tls: {rotation: 0}\n"), &[], seed));
    assert!(warnings(&results).is_empty(), "{results:?}");
    let no_overlap = |results: &[Value]| {
        results.iter().any(|r| {
            r["severity"].as_str() == Some("warning")
                && r["field"]["path"].as_str() == Some("spec.tls")
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("is not in the ca.crt of the earlier render"))
        })
    };
    for (what, extra, env, warned) in [
        ("same spec", "  tls: {rotation: 0}\n", seed, false),
        ("rotation + 1", "  tls: {rotation: 1}\n", seed, false),
        ("rotation + 2", "  tls: {rotation: 2}\n", seed, true),
        (
            "key algorithm",
            "  tls: {rotation: 0, keyAlgorithm: rsa-2048}\n",
            seed,
            true,
        ),
        ("another seed", "  tls: {rotation: 0}\n", other_seed, true),
    ] {
        let (_, results) = output_ok(&krm(&spec_with(extra), &r0, env));
        assert_eq!(no_overlap(&results), warned, "{what}: {results:?}");
    }
}
