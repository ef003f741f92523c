//! The pod-template hash covers exactly what each pod reads: a change rolls
//! the workloads that read it, and only those.

use crate::harness::cli::*;
use serde_norway::Value;

fn render_spec(extra: &str) -> Vec<Value> {
    render_with(extra, &[])
}

fn render_with(extra: &str, env: &[(&str, Option<&str>)]) -> Vec<Value> {
    let spec = parse(&format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: cache\nspec:\n  auth:\n    enabled: true\n{extra}"
    ));
    let out = krm(&spec, &[], env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    parse(std::str::from_utf8(&out.stdout).unwrap())["items"]
        .as_sequence()
        .unwrap()
        .clone()
}

fn hashes(items: &[Value]) -> (String, String) {
    (
        pod_hash(items, "cache-redis"),
        pod_hash(items, "cache-sentinel"),
    )
}

#[test]
fn each_change_rolls_exactly_the_pods_that_read_it() {
    let base = render_spec("");
    let (r0, s0) = hashes(&base);
    assert_eq!(r0.len(), 64);
    assert_eq!(
        hashes(&render_spec("")),
        (r0.clone(), s0.clone()),
        "no change, no roll"
    );

    // (change, redis rolls, sentinel rolls)
    let cases = [
        (
            "  sentinel:\n    downAfterMilliseconds: 7000\n",
            false,
            true,
        ),
        ("  sentinel:\n    failoverTimeout: 90000\n", false, true),
        // Applied at run time from the topology ConfigMap (SENTINEL SET).
        ("  sentinel:\n    quorum: 3\n", false, false),
        ("  redis:\n    maxmemory: 100mb\n", true, false),
        ("  redis:\n    minReplicasMaxLag: 20\n", true, false),
        ("  tls:\n    clientAuth: optional\n", true, true),
        // The default image (Valkey 9.1) reloads its certificate files:
        // a rotation rolls nothing there (on other servers it rolls both,
        // see below).
        ("  tls:\n    rotation: 1\n", false, false),
        ("  labels:\n    team: web\n", false, false),
        (
            "  redis:\n    resources:\n      requests: {cpu: 1}\n",
            false,
            false,
        ),
    ];
    for (change, redis_rolls, sentinel_rolls) in cases {
        let (r, s) = hashes(&render_spec(change));
        assert_eq!(r != r0, redis_rolls, "redis roll for {change:?}");
        assert_eq!(s != s0, sentinel_rolls, "sentinel roll for {change:?}");
    }
}

#[test]
fn rotation_changes_exactly_the_certificate_secrets_and_the_hashes() {
    // A server that does not reload its certificate files: they roll it.
    let a = render_spec("  image: redis:8.0.6\n");
    let b = render_spec("  image: redis:8.0.6\n  tls:\n    rotation: 1\n");
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        let changed = x != y;
        let expected = (kind(x) == "Secret" && name(x).ends_with("-tls"))
            || kind(x) == "StatefulSet"
            || name(x) == "cache-ca";
        assert_eq!(
            changed,
            expected,
            "{} {} changed={changed}",
            kind(x),
            name(x)
        );
    }
    // StatefulSets differ only in the hash annotation.
    for sts in ["cache-redis", "cache-sentinel"] {
        let mut x = find(&a, "StatefulSet", sts).clone();
        let mut y = find(&b, "StatefulSet", sts).clone();
        for v in [&mut x, &mut y] {
            v["spec"]["template"]["metadata"]["annotations"]
                .as_mapping_mut()
                .unwrap()
                .remove("fn.redis-sentinel.dev/config-hash");
        }
        assert_eq!(x, y, "{sts}: only the hash annotation changes");
    }
    // The auth Secret is unchanged: passwords do not rotate with certificates.
    assert_eq!(
        find(&a, "Secret", "cache-auth"),
        find(&b, "Secret", "cache-auth")
    );
}

/// On a server that reloads its certificate files (Valkey 9.1+), generated
/// certificates reach running pods through the kubelet's Secret update:
/// a rotation or renewal changes the certificate Secrets and the CA
/// ConfigMap, not the StatefulSets. Everything else the pods read still
/// rolls them (passwords, configuration); on other servers a rotation
/// rolls both, as before.
#[test]
fn certificates_do_not_roll_a_server_that_reloads_them() {
    // Leaves renewed every 2 days; NOW + 3 days is past a renewal point.
    let valkey =
        "  image: valkey/valkey:9.1.2\n  tls:\n    validityDays: 20\n    renewBeforeDays: 18\n";
    let base = render_spec(valkey);
    let rotated = render_spec(&format!("{valkey}    rotation: 1\n"));
    let later = (NOW.parse::<i64>().unwrap() + 3 * 86_400).to_string();
    let renewed = render_with(valkey, &[("SOURCE_DATE_EPOCH", Some(later.as_str()))]);
    // (step, whether the CA bundle changes)
    for (what, other, ca) in [
        ("rotation", &rotated, true),
        ("leaf renewal", &renewed, false),
    ] {
        assert_eq!(base.len(), other.len(), "{what}");
        for (x, y) in base.iter().zip(other) {
            let changed = x != y;
            let expected =
                (kind(x) == "Secret" && name(x).ends_with("-tls")) || (ca && name(x) == "cache-ca");
            assert_eq!(
                changed,
                expected,
                "{what}: {} {} changed={changed}",
                kind(x),
                name(x)
            );
        }
    }
    let (r0, s0) = hashes(&base);
    // Passwords (another seed: other certificates and passwords) roll both.
    let (r, s) = hashes(&render_with(
        valkey,
        &[(
            "REDIS_SENTINEL_FN_SEED",
            Some("another-seed-0123456789abcdef"),
        )],
    ));
    assert!(r != r0 && s != s0, "passwords must still roll the pods");
    let (r, s) = hashes(&render_spec(&format!(
        "{valkey}  redis:\n    maxmemory: 100mb\n"
    )));
    assert!(r != r0 && s == s0, "configuration must still roll its pods");
    // Other servers: a rotation rolls both.
    for image in ["redis:8.0.6", "valkey/valkey:9.0.4"] {
        let plain = format!("  image: {image}\n");
        let (r0, s0) = hashes(&render_spec(&plain));
        let (r, s) = hashes(&render_spec(&format!("{plain}  tls:\n    rotation: 1\n")));
        assert!(r != r0 && s != s0, "{image}: a rotation rolls both");
    }
}

/// What a scale may change: the StatefulSets' `spec.replicas` and the
/// topology ConfigMap (read at run time, outside the hash). Every pod
/// template, certificate, script and PodDisruptionBudget stays the same,
/// so the pods that already run are not restarted.
#[test]
fn scaling_changes_nothing_in_the_existing_pod_templates() {
    let base = render_spec("  redis:\n    replicas: 3\n  sentinel:\n    replicas: 3\n");
    let scales = [
        (
            "redis 3 -> 5",
            "  redis:\n    replicas: 5\n  sentinel:\n    replicas: 3\n",
        ),
        (
            "redis 3 -> 2",
            "  redis:\n    replicas: 2\n  sentinel:\n    replicas: 3\n",
        ),
        (
            "redis 3 -> 7",
            "  redis:\n    replicas: 7\n  sentinel:\n    replicas: 3\n",
        ),
        (
            "sentinel 3 -> 5",
            "  redis:\n    replicas: 3\n  sentinel:\n    replicas: 5\n",
        ),
        (
            "both 3 -> 5",
            "  redis:\n    replicas: 5\n  sentinel:\n    replicas: 5\n",
        ),
        (
            "sentinel 3 -> 1",
            "  redis:\n    replicas: 3\n  sentinel:\n    replicas: 1\n",
        ),
    ];
    for (what, spec) in scales {
        let scaled = render_spec(spec);
        assert_eq!(base.len(), scaled.len(), "{what}: same objects");
        for (x, y) in base.iter().zip(&scaled) {
            assert_eq!((kind(x), name(x)), (kind(y), name(y)), "{what}: same order");
            match (kind(x), name(x)) {
                ("StatefulSet", sts) => {
                    assert_eq!(
                        x["spec"]["template"], y["spec"]["template"],
                        "{what}: the pod template of {sts} changes"
                    );
                    let (mut a, mut b) = (x.clone(), y.clone());
                    for v in [&mut a, &mut b] {
                        v["spec"].as_mapping_mut().unwrap().remove("replicas");
                    }
                    assert_eq!(a, b, "{what}: {sts} changes beyond spec.replicas");
                }
                ("ConfigMap", "cache-topology") => {
                    assert_ne!(x, y, "{what}: the topology ConfigMap carries the counts")
                }
                (k, n) => assert_eq!(x, y, "{what}: {k} {n} changes"),
            }
        }
    }
    // The unchanged certificates cover pods a scale-up adds: their SANs
    // have a wildcard under each headless Service.
    for (secret, pod) in [
        (
            "cache-redis-tls",
            "cache-redis-6.cache-redis-headless.cache.svc.cluster.local",
        ),
        (
            "cache-sentinel-tls",
            "cache-sentinel-4.cache-sentinel-headless.cache.svc.cluster.local",
        ),
    ] {
        let sans = dns_sans(find(&base, "Secret", secret));
        let (_, parent) = pod.split_once('.').unwrap();
        assert!(
            sans.contains(&format!("*.{parent}")),
            "{secret}: no wildcard covers {pod}: {sans:?}"
        );
    }
}

/// Where certificates reach the pods without a roll, `check` cannot see
/// whether the pods reloaded: it names the serial each workload's pods
/// must serve (the one of its Secret's `tls.crt`, as `openssl x509
/// -serial` prints it) and how to compare; where they roll, it says
/// nothing of the kind.
#[test]
fn check_names_the_serial_each_workload_must_serve() {
    for (image, note) in [("valkey/valkey:9.1.2", true), ("redis:8.0.6", false)] {
        let items = render_spec(&format!("  image: {image}\n"));
        let out = run(&["check"], to_stream(&items).as_bytes(), &[]);
        let (ok, text) = status_text(&out);
        assert!(ok, "{image}: {text}");
        assert_eq!(
            text.contains("reach running pods without a roll"),
            note,
            "{image}: {text}"
        );
        if note {
            for (sts, secret_name) in [
                ("cache-redis", "cache-redis-tls"),
                ("cache-sentinel", "cache-sentinel-tls"),
            ] {
                let pem = secret(&items, secret_name, "tls.crt");
                let serial = crate::harness::serial_of(&pem).expect("openssl x509 -serial");
                assert!(serial.len() >= 2, "{serial}");
                let want = format!("{sts}-0..2 serve serial {serial} (Secret {secret_name})");
                assert!(text.contains(&want), "{image}: no {want:?} in {text}");
            }
        }
    }
}
