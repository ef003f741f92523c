//! Consumer Secrets through the real binary (no Redis): kept across kpt-style
//! re-renders, validation errors with field paths and untouched input,
//! conflicts judged per namespace, `check` mode, rolling on change.

use crate::harness::cli::*;
use serde_norway::Value;

const SPEC: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: cache, namespace: redis}\nspec:\n  consumers:\n    - {name: apim, type: 3scale, namespace: threescale}\n    - {name: orders, type: service-binding, namespace: shop}\n";

fn messages(results: &[Value], severity: &str) -> Vec<String> {
    results
        .iter()
        .filter(|r| r["severity"] == severity)
        .map(|r| {
            format!(
                "{} [{}]",
                r["message"].as_str().unwrap_or_default(),
                r["field"]["path"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn ns(v: &Value) -> &str {
    v["metadata"]["namespace"].as_str().unwrap_or_default()
}

#[test]
fn consumer_passwords_are_kept_by_a_rerender_without_seed() {
    let spec = parse(SPEC);
    let no_seed = [("REDIS_SENTINEL_FN_SEED", None)];
    let first = krm(&spec, &[], &no_seed);
    assert!(first.status.success());
    let (items, results) = output(&first);
    assert!(
        messages(&results, "warning")
            .iter()
            .any(|m| m.contains("passwords of the consumers") && m.contains("[spec.consumers]")),
        "{results:?}"
    );
    for (n, namespace) in [
        ("backend-redis", "threescale"),
        ("system-redis", "threescale"),
        ("cache-orders-binding", "shop"),
        ("cache-consumer-users", "redis"),
    ] {
        assert_eq!(ns(find(&items, "Secret", n)), namespace, "{n}");
    }
    let second = krm(&spec, &items, &no_seed);
    assert!(second.status.success());
    let (again, results) = output(&second);
    assert!(
        !messages(&results, "warning")
            .iter()
            .any(|m| m.contains("passwords")),
        "{results:?}"
    );
    for (n, key) in [
        ("backend-redis", "REDIS_STORAGE_PASSWORD"),
        ("system-redis", "REDIS_PASSWORD"),
        ("cache-orders-binding", "password"),
        ("cache-consumer-users", "users.acl"),
    ] {
        assert_eq!(secret(&items, n, key), secret(&again, n, key), "{n} {key}");
    }
    assert_eq!(
        secret(&items, "backend-redis", "REDIS_STORAGE_PASSWORD"),
        secret(&items, "system-redis", "REDIS_PASSWORD"),
        "one user per consumer"
    );
    assert_ne!(
        secret(&items, "backend-redis", "REDIS_STORAGE_PASSWORD"),
        secret(&items, "cache-orders-binding", "password")
    );
    assert_eq!(
        pod_hash(&items, "cache-redis"),
        pod_hash(&again, "cache-redis")
    );
    assert_eq!(again.len(), items.len(), "replaced, not duplicated");
}

#[test]
fn adding_a_consumer_rolls_redis_only() {
    let base = parse(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: cache, namespace: redis}\n",
    );
    let (a, _) = output(&krm(&base, &[], &[]));
    let (b, _) = output(&krm(&parse(SPEC), &[], &[]));
    assert_ne!(pod_hash(&a, "cache-redis"), pod_hash(&b, "cache-redis"));
    assert_eq!(
        pod_hash(&a, "cache-sentinel"),
        pod_hash(&b, "cache-sentinel")
    );
    assert!(
        !config(&a, "cache-redis", "redis.conf").contains("consumers"),
        "no consumer, no include"
    );
    assert!(
        config(&b, "cache-redis", "redis.conf").contains("include /etc/redis/consumers/users.acl")
    );
}

#[test]
fn bad_consumers_are_errors_with_field_paths_and_input_unchanged() {
    let spec = parse(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: cache, namespace: redis}\nspec:\n  consumers:\n    - {name: apim, type: 3scale, storageDatabase: 1}\n    - {name: x, type: service-binding, secretName: Bad_Name}\n",
    );
    let foreign =
        parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: redis}\n");
    let out = krm(&spec, std::slice::from_ref(&foreign), &[]);
    assert_eq!(out.status.code(), Some(1));
    let (items, results) = output(&out);
    assert_eq!(items, vec![foreign], "no partial output");
    let errors = messages(&results, "error");
    for field in [
        "[spec.consumers[0].queuesDatabase]",
        "[spec.consumers[1].secretName]",
    ] {
        assert!(errors.iter().any(|e| e.ends_with(field)), "{errors:?}");
    }
}

#[test]
fn conflicts_are_judged_in_the_consumer_namespace() {
    let spec = parse(SPEC);
    let theirs = |namespace: &str| {
        parse(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: backend-redis, namespace: {namespace}}}\n"
        ))
    };
    let out = krm(&spec, &[theirs("threescale")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let (_, results) = output(&out);
    assert!(
        messages(&results, "error")
            .iter()
            .any(|m| m.contains("Secret threescale/backend-redis already exists")),
        "{results:?}"
    );
    for elsewhere in ["redis", "other"] {
        let out = krm(&spec, &[theirs(elsewhere)], &[]);
        assert!(
            out.status.success(),
            "{elsewhere}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn check_mode_accepts_consumer_secrets_in_other_namespaces() {
    let out = render(&root().join("examples/consumers/spec.yaml"), &[]);
    assert!(out.status.success());
    let checked = run(&["check"], &out.stdout, &[]);
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
