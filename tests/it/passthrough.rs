//! The pass-through fast path (`function::run_write`, used in KRM mode)
//! writes exactly the bytes of the whole-document path (`function::run`
//! then `ResourceList::write`) on every kind of input.

use redis_sentinel_fn::certs::seed::Seed;
use redis_sentinel_fn::function;
use redis_sentinel_fn::krm::passthrough;

use crate::harness::cli;

const NOW: i64 = 1_780_000_000;
const SEED: &[u8] = b"0123456789abcdef0123456789abcdef";

const SPEC: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1
kind: RedisSentinel
metadata:
  name: cache
  namespace: cache
";

fn seed() -> Result<Option<Seed>, String> {
    Ok(Some(Seed::from_user(SEED).unwrap()))
}

fn no_seed() -> Result<Option<Seed>, String> {
    Ok(None)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect()
}

fn foreign(i: usize) -> String {
    format!(
        "# item {i}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: app-{i}
    namespace: team-{i}
    annotations:
      config.kubernetes.io/path: 'apps/{i}.yaml'
      note: \"quoted # not a comment\"
  data:
    file: |
      line one
      # not a comment either
    kept: |+
      trailing

    flow: {{a: 1, b: [x, 'y']}}
    yes: on
    num: 012
"
    )
}

fn list(items: &[String], function_config: Option<&str>) -> String {
    let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for i in items {
        s.push_str(i);
    }
    if let Some(fc) = function_config {
        s.push_str("functionConfig:\n");
        s.push_str(&indent(fc));
    }
    s
}

/// Both paths on `input`; asserts the same bytes and exit status.
fn same(input: &str, seed: fn() -> Result<Option<Seed>, String>) -> Vec<u8> {
    let whole = function::run(input.as_bytes(), seed(), NOW);
    let mut want = Vec::new();
    whole.write(&mut want).unwrap();
    let mut got = Vec::new();
    let failed = function::run_write(input.as_bytes(), seed, NOW, &mut got, |_| {}).unwrap();
    if got != want {
        let at = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        let from = at.saturating_sub(200);
        panic!(
            "outputs differ at byte {at}:\nfast:  {:?}\nwhole: {:?}\ninput:\n{}",
            String::from_utf8_lossy(&got[from..(at + 200).min(got.len())]),
            String::from_utf8_lossy(&want[from..(at + 200).min(want.len())]),
            &input[..input.len().min(2000)]
        );
    }
    assert_eq!(failed, whole.has_errors());
    got
}

/// The items of an output list, as list text for a next run.
fn items_of(output: &[u8]) -> String {
    let text = String::from_utf8(output.to_vec()).unwrap();
    let start = text.find("items:\n").unwrap() + "items:\n".len();
    let end = text.find("\nresults:\n").map_or(text.len(), |e| e + 1);
    text[start..end].to_string()
}

#[test]
fn render_and_rerender_with_foreign_items() {
    let mut items: Vec<String> = (0..40).map(foreign).collect();
    items.insert(20, format!("-{}", &indent(SPEC)[1..]));
    let input = list(&items, Some(SPEC));
    assert!(
        passthrough::split(&input).is_some(),
        "the fast path applies"
    );
    let out = same(&input, seed);
    // kpt writes the output back; the next render keeps the certificates
    // (without a seed) or derives the same ones (with it).
    let again = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}functionConfig:\n{}",
        items_of(&out),
        indent(SPEC)
    );
    assert!(passthrough::split(&again).is_some());
    assert_eq!(items_of(&same(&again, no_seed)), items_of(&out), "kept");
    assert_eq!(items_of(&same(&again, seed)), items_of(&out), "derived");
}

#[test]
fn errors_and_conflicts() {
    let items: Vec<String> = (0..5).map(foreign).collect();
    // No functionConfig.
    same(&list(&items, None), seed);
    // Invalid spec.
    let bad = format!("{SPEC}spec:\n  redis:\n    replicas: lots\n");
    same(&list(&items, Some(&bad)), seed);
    // Unknown kind.
    same(&list(&items, Some("apiVersion: v1\nkind: Pod\n")), seed);
    // A foreign item with the name of a generated one.
    let mut clash = items.clone();
    clash.push(
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: cache-redis-tls\n    namespace: cache\n".into(),
    );
    same(&list(&clash, Some(SPEC)), seed);
    // Items of another instance pass through.
    let mut other = items.clone();
    other.push(
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: x\n    annotations:\n      fn.redis-sentinel.dev/instance: other/x\n"
            .into(),
    );
    same(&list(&other, Some(SPEC)), seed);
    // A seed that cannot be read.
    same(&list(&items, Some(SPEC)), || Err("bad seed".into()));
    // A tag serde_norway would drop, in the function config: an error on
    // both paths; the same tag on a foreign item passes through.
    let tagged = format!("{SPEC}spec:\n  image: !!binary aGk=\n");
    let input = list(&items, Some(&tagged));
    assert!(
        passthrough::split(&input).is_some(),
        "the fast path applies"
    );
    let out = String::from_utf8(same(&input, seed)).unwrap();
    assert!(out.contains("YAML tag !!binary"), "{out}");
    let mut foreign_tag = items.clone();
    foreign_tag.push("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: t\n  data:\n    a: !!binary aGk=\n".into());
    let out = String::from_utf8(same(&list(&foreign_tag, Some(SPEC)), seed)).unwrap();
    assert!(!out.contains("severity: error"), "{out}");
}

#[test]
fn awkward_yaml_falls_back_or_matches() {
    let cases = [
        // anchors inside an item, and across items (fallback)
        "- &a {kind: A, metadata: {name: a}}\n- b: *a\n".to_string(),
        "- kind: A\n  x: &x [1, 2]\n  y: *x\n".to_string(),
        // a quoted scalar running over a `- ` line
        "- kind: A\n  x: \"a\n- b\"\n".to_string(),
        // tags, null items, non-mappings
        "- !thing {kind: A}\n".to_string(),
        "- \n".to_string(),
        "- just a string\n".to_string(),
        // duplicate keys
        "- kind: A\n  kind: B\n".to_string(),
        // CRLF
        "- kind: A\r\n  metadata:\r\n    name: crlf\r\n".to_string(),
        // a forged stub mark
        "- ~: 0\n  kind: A\n- kind: B\n".to_string(),
        "- ~: 0\n  kind: A\n  metadata:\n    annotations:\n      fn.redis-sentinel.dev/instance: cache/cache\n".to_string(),
    ];
    for case in cases {
        for fc in [Some(SPEC), None] {
            let input = list(std::slice::from_ref(&case), fc);
            same(&input, seed);
        }
    }
    // Lists that are not cut: indented items, directives, items in flow style.
    for input in [
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - kind: A\nfunctionConfig:\n{}", indent(SPEC)),
        format!("%YAML 1.1\n---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: A\nfunctionConfig:\n{}", indent(SPEC)),
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [{{kind: A}}]\nfunctionConfig:\n{}", indent(SPEC)),
        format!("functionConfig:\n{}apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: A\n", indent(SPEC)),
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: A\nitems:\n- kind: B\n".to_string(),
        "not yaml: [".to_string(),
        String::new(),
    ] {
        same(&input, seed);
    }
}

/// Found by the resourcelist fuzz target: the non-specific tag `!` on a key
/// of a foreign item was written as `!!`, and the output did not read back.
/// Local and non-specific tags on foreign items pass through, on both paths,
/// and a next run reads the output as the same items.
#[test]
fn tagged_foreign_items_read_back() {
    for item in [
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: t\n  ! annotations: {a: b}\n",
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: t\n  data: {a: ! 3, b: !e%21 x, c: !<!> y, d: !t%2Cu [! z]}\n",
        "- ! {apiVersion: v1, kind: ConfigMap, metadata: {name: t}}\n",
    ] {
        for fc in [Some(SPEC), None] {
            let input = list(&[item.to_string()], fc);
            let out = same(&input, seed);
            let back = redis_sentinel_fn::krm::ResourceList::from_bytes(&out)
                .unwrap_or_else(|e| panic!("{e:?}:\n{}", String::from_utf8_lossy(&out)));
            let want = redis_sentinel_fn::krm::ResourceList::from_bytes(input.as_bytes()).unwrap();
            assert_eq!(
                back.items[0],
                want.items[0],
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}

#[test]
fn many_items_use_threads_and_match() {
    let items: Vec<String> = (0..1500).map(foreign).collect();
    let input = list(&items, Some(SPEC));
    same(&input, seed);
}

#[test]
fn an_item_over_the_document_limit_is_refused_as_a_whole_document_is() {
    let mut items: Vec<String> = (0..3).map(foreign).collect();
    let big = "x".repeat(3000);
    items.push(format!(
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: big\n  data:\n    big: {big}\n"
    ));
    let input = list(&items, Some(SPEC));
    let run = |limit: &str| {
        let out = cli::run(
            &[],
            input.as_bytes(),
            &[
                ("REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES", Some(limit)),
                (
                    "REDIS_SENTINEL_FN_SEED",
                    Some(std::str::from_utf8(SEED).unwrap()),
                ),
                ("SOURCE_DATE_EPOCH", None),
            ],
        );
        (out.status.success(), String::from_utf8(out.stdout).unwrap())
    };
    let (ok, out) = run("2000");
    assert!(!ok, "{out}");
    assert!(out.contains("limit for one document"), "{out}");
    let (ok, out) = run("1000000");
    assert!(ok, "{out}");
    assert!(out.contains("name: big"));
}
