//! The KRM contract: foreign items pass through untouched, a re-run replaces
//! (never duplicates) the function's own items and keeps the orchestrator's
//! annotations, conflicts and missing configs are error results.

use crate::harness::cli::*;
use serde_norway::Value;

fn spec(name: &str, ns: &str) -> Value {
    parse(&format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
    ))
}

const FOREIGN: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: cache\n  annotations:\n    config.kubernetes.io/path: web.yaml\n    config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/annotations-migration-resource-id: '0'\nspec:\n  replicas: !!int 2\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        args: ['--port', '0777', 'yes', '1e3']\n";

#[test]
fn foreign_items_pass_through_unchanged_and_first() {
    let foreign = parse(FOREIGN);
    let out = krm(&spec("cache", "cache"), std::slice::from_ref(&foreign), &[]);
    assert!(out.status.success());
    let (items, _) = output(&out);
    assert_eq!(items[0], foreign);
    // Strings that look like numbers or booleans stay strings.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("'0777'") && text.contains("'yes'") && text.contains("'1e3'"),
        "{text}"
    );
}

#[test]
fn rerun_replaces_own_items_and_keeps_orchestrator_annotations() {
    let s = spec("cache", "cache");
    let (first, _) = output(&krm(&s, &[parse(FOREIGN)], &[]));
    // Simulate kpt: give every generated item a file path and index.
    let mut annotated = first.clone();
    for (i, item) in annotated.iter_mut().enumerate().skip(1) {
        let ann = item["metadata"]["annotations"].as_mapping_mut().unwrap();
        ann.insert("config.kubernetes.io/path".into(), "redis.yaml".into());
        ann.insert(
            "config.kubernetes.io/index".into(),
            Value::String(i.to_string()),
        );
    }
    let (second, results) = output(&krm(&s, &annotated, &[]));
    assert!(
        !results.iter().any(|r| r["severity"] == "error"),
        "{results:?}"
    );
    assert_eq!(second.len(), first.len(), "replaced, not duplicated");
    assert_eq!(
        second, annotated,
        "same objects, orchestrator annotations kept"
    );
}

#[test]
fn another_instance_is_left_alone() {
    let (other, _) = output(&krm(&spec("queue", "cache"), &[], &[]));
    let (items, _) = output(&krm(&spec("cache", "cache"), &other, &[]));
    assert_eq!(
        &items[..other.len()],
        &other[..],
        "the other instance's items pass through"
    );
    assert!(items.len() > other.len());
}

#[test]
fn a_foreign_object_with_a_generated_name_is_an_error() {
    let svc = parse(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: cache-sentinel\n  namespace: cache\n",
    );
    let out = krm(&spec("cache", "cache"), std::slice::from_ref(&svc), &[]);
    assert!(!out.status.success());
    let (items, results) = output(&out);
    assert_eq!(items, vec![svc], "no partial output");
    assert!(
        results.iter().any(|r| r["severity"] == "error"
            && r["message"].as_str().unwrap().contains("cache-sentinel"))
    );
}

#[test]
fn configmap_function_config_like_kpt_fn_eval() {
    let cm = parse(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\ndata:\n  name: web\n  namespace: shop\n  redis.replicas: '2'\n  tls.clientAuth: optional\n",
    );
    let out = krm(&cm, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (items, _) = output(&out);
    let sts = find(&items, "StatefulSet", "web-redis");
    assert_eq!(sts["spec"]["replicas"].as_u64(), Some(2));
    assert_eq!(sts["metadata"]["namespace"].as_str(), Some("shop"));
    assert!(config(&items, "web-redis", "redis.conf").contains("tls-auth-clients optional"));
    // A bad key names the data field.
    let bad = parse(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fi\ndata:\n  name: web\n  redis.replicaz: '2'\n",
    );
    let (_, results) = output(&krm(&bad, &[], &[]));
    assert_eq!(
        results[0]["field"]["path"].as_str(),
        Some("data.redis.replicaz"),
        "{results:?}"
    );
}

#[test]
fn help_explains_both_modes() {
    let out = run(&["--help"], b"", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for want in [
        "ResourceList",
        "render",
        "REDIS_SENTINEL_FN_SEED_FILE",
        "kustomize",
        "kpt",
    ] {
        assert!(text.contains(want), "--help mentions {want}");
    }
}

/// A RedisSentinelList re-rendered without a seed (kpt's second render),
/// then with its instances in another order: every object once, the
/// combined backend-redis moves to the instance of its first part and
/// keeps both parts' passwords.
#[test]
fn a_list_rerun_replaces_and_reordering_moves_the_combined_secret() {
    let list = read_spec(&root().join("examples/threescale-split/spec.yaml"));
    let unseeded = [("REDIS_SENTINEL_FN_SEED", None)];
    let (first, _) = output(&krm(&list, &[parse(FOREIGN)], &unseeded));
    let backend = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .filter(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "backend-redis")
            .cloned()
            .collect()
    };
    assert_eq!(backend(&first).len(), 1);
    let (again, results) = output(&krm(&list, &first, &unseeded));
    assert!(
        !results.iter().any(|r| r["severity"] == "error"),
        "{results:?}"
    );
    assert_eq!(again, first, "replaced, not duplicated; secrets kept");
    let mut reordered = list.clone();
    let instances = reordered["spec"]["instances"].as_sequence_mut().unwrap();
    instances.swap(0, 1);
    let (moved, results) = output(&krm(&reordered, &first, &unseeded));
    assert!(
        !results.iter().any(|r| r["severity"] == "error"),
        "{results:?}"
    );
    assert_eq!(moved.len(), first.len(), "every object once");
    let (b0, b1) = (&backend(&first)[0], &backend(&moved)[0]);
    assert_eq!(
        b1["metadata"]["annotations"]["fn.redis-sentinel.dev/instance"],
        "redis/backend-queues"
    );
    assert_eq!(b1["data"], b0["data"], "both parts' passwords kept");
}

/// The largest RedisSentinelList, each instance with metrics and a 3scale
/// consumer (the most scripts), re-rendered with its own output as input
/// (kpt's second render): the scripts' brackets in the ConfigMaps' block
/// scalars are text, not flow collections, so the input's nesting check
/// lets the output through, and the re-render is the same output.
#[test]
fn the_largest_list_rerenders_its_own_output() {
    let instances: String = (0..redis_sentinel_fn::spec::list::MAX_INSTANCES)
        .map(|n| {
            format!(
                "    - metadata: {{name: cache-{n}}}\n      spec:\n        metrics: {{enabled: true}}\n        consumers:\n          - {{name: apimanager-{n}, type: 3scale, namespace: 3scale-{n}}}\n"
            )
        })
        .collect();
    let list = parse(&format!(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinelList\nmetadata:\n  name: many\n  namespace: redis\nspec:\n  instances:\n{instances}"
    ));
    let (first, results) = output_ok(&krm(&list, &[], &[]));
    assert!(
        !results.iter().any(|r| r["severity"] == "error"),
        "{results:?}"
    );
    let (again, results) = output_ok(&krm(&list, &first, &[]));
    assert!(
        !results.iter().any(|r| r["severity"] == "error"),
        "{results:?}"
    );
    assert_eq!(again, first, "the same output again");
}

/// The functionConfig as kubectl kustomize 5.5 passes it to a generator
/// (captured from a real run): the function annotation and local-config,
/// none of kpt's bookkeeping.
const KUSTOMIZE_FC: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: ghcr.io/redis-sentinel-fn/redis-sentinel-fn:v0.1.0\n        envs:\n          - REDIS_SENTINEL_FN_SEED\n    config.kubernetes.io/local-config: 'true'\n  name: cache\n  namespace: shop\nspec: {}\n";

/// The same file as `kpt fn eval --fn-config` passes it (captured from a
/// real run): kpt adds its index and internal annotations.
const KPT_EVAL_FC: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: shop\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: ghcr.io/redis-sentinel-fn/redis-sentinel-fn:v0.1.0\n    config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/seqindent: 'wide'\nspec: {}\n";

const NO_SEED: [(&str, Option<&str>); 2] = [
    ("REDIS_SENTINEL_FN_SEED", None),
    ("REDIS_SENTINEL_FN_SEED_FILE", None),
];

/// kustomize drops results: a seedless render that would make random
/// certificates and passwords fails, on stderr too, naming the fixes;
/// input items come back unchanged.
#[test]
fn kustomize_without_a_seed_is_an_error_naming_the_fixes() {
    let generator = parse(KUSTOMIZE_FC);
    let out = krm(&generator, std::slice::from_ref(&generator), &NO_SEED);
    assert!(!out.status.success());
    let (items, results) = output(&out);
    assert_eq!(items, vec![generator], "no partial output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for fix in [
        "REDIS_SENTINEL_FN_SEED",
        "envs: [REDIS_SENTINEL_FN_SEED]",
        "spec.tls.source",
        "spec.auth.existingSecret",
        "certificates and passwords",
    ] {
        assert!(stderr.contains(fix), "stderr names {fix}: {stderr}");
    }
    assert!(
        results
            .iter()
            .any(|r| r["severity"] == "error" && r["field"]["path"] == "spec.tls"),
        "{results:?}"
    );
    // With a seed it renders.
    let seeded = krm(
        &parse(KUSTOMIZE_FC),
        &[],
        &[("REDIS_SENTINEL_FN_SEED", Some("0123456789abcdef0123"))],
    );
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
}

/// Nothing random, nothing to refuse: certificates from cert-manager and
/// passwords from an existing Secret render under kustomize without a seed.
#[test]
fn kustomize_without_a_seed_renders_external_certificates_and_passwords() {
    let fc = parse(&KUSTOMIZE_FC.replace(
        "spec: {}",
        "spec:\n  tls: {source: cert-manager}\n  auth: {existingSecret: cache-passwords}",
    ));
    let out = krm(&fc, &[], &NO_SEED);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Passwords alone are refused as well.
    let fc = parse(&KUSTOMIZE_FC.replace("spec: {}", "spec:\n  tls: {source: cert-manager}"));
    let out = krm(&fc, &[], &NO_SEED);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("spec.auth: ") && stderr.contains("new random passwords"),
        "{stderr}"
    );
}

/// kpt prints results and writes the output back into the package: its
/// first render without a seed works (with warnings), also with a config
/// file that carries kustomize's function annotation.
#[test]
fn kpt_without_a_seed_renders_with_warnings() {
    let out = krm(&parse(KPT_EVAL_FC), &[], &NO_SEED);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, results) = output(&out);
    assert!(
        results
            .iter()
            .any(|r| r["severity"] == "warning" && r["field"]["path"] == "spec.tls"),
        "{results:?}"
    );
}
