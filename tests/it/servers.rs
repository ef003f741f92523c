//! The server model at render time and in `check`: Valkey is its own
//! server, a version inside a published advisory's range is a warning (on
//! render and on `check` of the rendered manifests), `redis.server` and
//! `redis.version` are validated with their field paths.

use crate::harness::cli;

/// `render -f` of a spec with `image` and the `redis` lines (the shared
/// runner: fixed seed and clock): success, stdout, stderr.
fn render(image: &str, redis: &str) -> (bool, String, String) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = cli::temp_dir(&format!("servers-{n}"));
    let spec = cli::temp_file(
        &dir,
        "spec.yaml",
        &format!(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: cache\nspec:\n  image: {image}\n{redis}"
        ),
    );
    let out = cli::render(&spec, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    text(&out)
}

/// `check -f -` of `manifests`: stdout and stderr together.
fn check(manifests: &str) -> String {
    let (_, out, err) = text(&cli::run(&["check", "-f", "-"], manifests.as_bytes(), &[]));
    format!("{out}{err}")
}

/// KRM mode on a ResourceList: success and stdout.
fn krm(input: String) -> (bool, String) {
    let (ok, out, _) = text(&cli::run(&[], input.as_bytes(), &[]));
    (ok, out)
}

fn text(out: &std::process::Output) -> (bool, String, String) {
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_image_with_advisories_warns_on_render_and_check() {
    let (ok, out, err) = render("docker.io/library/redis:7.4.2", "");
    assert!(ok, "{err}");
    assert!(
        err.contains(
            "spec.image: the image runs Redis 7.4.2, which has published advisories: CVE-2025-21605"
        ),
        "{err}"
    );
    assert!(
        err.contains("CVE-2025-49844") && err.contains("CVE-2026-23479"),
        "{err}"
    );
    let checked = check(&out);
    assert!(checked.contains("severity: warning"), "{checked}");
    assert!(
        checked.contains("path: spec.template.spec.containers[0].image")
            && checked.contains("redis container: the image runs Redis 7.4.2"),
        "{checked}"
    );
    // The default image and fixed releases: no advisory.
    for image in [
        "docker.io/valkey/valkey:9.1.2",
        "redis:8.6.3",
        "valkey/valkey:9.1",
    ] {
        let (ok, out, err) = render(image, "");
        assert!(ok, "{image}: {err}");
        assert!(!err.contains("advisories"), "{image}: {err}");
        assert!(!check(&out).contains("advisories"), "{image}");
    }
}

#[test]
fn valkey_is_its_own_server() {
    // valkey:8.0 is Valkey 8.0 (its own table), not Redis 8.0: a command
    // Valkey 8.1 added (COMMANDLOG) is refused on 8.0, accepted on 8.1.
    let commandlog = "  auth:\n    appUserRules: '~* +@all -@admin +commandlog|get'\n";
    let (ok, _, err) = render("valkey/valkey:8.0", commandlog);
    assert!(!ok);
    assert!(
        err.contains("Valkey 8.0 has no command \"commandlog\""),
        "{err}"
    );
    assert!(!err.contains("Redis 8.0"), "{err}");
    let (ok, _, err) = render("valkey/valkey:8.1.1", commandlog);
    assert!(ok, "{err}");
    assert!(!err.contains("command table"), "{err}");
    // Valkey 9.0 has no table of its own: names unchecked, said so.
    let (ok, _, err) = render("valkey/valkey:9.0.4", "");
    assert!(ok, "{err}");
    assert!(err.contains("Valkey 9.0.4 has no command table"), "{err}");
    // Valkey 9.1's own commands pass on Valkey 9.1 and fail on Redis 7.4.
    let rules = "  auth:\n    appUserRules: '~* +@all -@admin +delifeq'\n";
    let (ok, _, err) = render("valkey/valkey:9.1.2", rules);
    assert!(ok, "{err}");
    let (ok, _, err) = render("redis:7.4.6", rules);
    assert!(!ok);
    assert!(
        err.contains("Redis 7.4 has no command \"delifeq\""),
        "{err}"
    );
    // A mirror's name says nothing: redis.server and redis.version do.
    let (ok, _, err) = render(
        "registry.example/cache@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        &format!("  redis:\n    server: valkey\n    version: '9.1'\n{rules}"),
    );
    assert!(ok, "{err}");
}

#[test]
fn server_fields_are_checked() {
    for (image, redis, field, msg) in [
        (
            "redis:7.4.6",
            "  redis:\n    server: valkey\n",
            "spec.redis.server",
            "redis.server is Valkey but the image names Redis",
        ),
        (
            "cache:7.4.6",
            "  redis:\n    server: keydb\n",
            "spec.redis.server",
            "must be redis or valkey",
        ),
        (
            "cache",
            "  redis:\n    version: '9.1.2'\n",
            "spec.redis.version",
            "must be MAJOR.MINOR",
        ),
        (
            "valkey/valkey:9.1.2",
            "  redis:\n    version: '8.0'\n",
            "spec.redis.version",
            "redis.version is 8.0 but the image tag names 9.1.2",
        ),
        ("redis:6.2.14", "", "spec.image", "needs Redis 7.0 or later"),
    ] {
        let (ok, _, err) = render(image, redis);
        assert!(!ok, "{image} {redis}");
        assert!(
            err.contains(&format!("{field}: ")) && err.contains(msg),
            "{image} {redis}: {err}"
        );
    }
}

/// kpt writes the output back: the next render sees the running server.
/// Valkey 9 -> Redis 7.4 is refused (RDB format 80 cannot be read by
/// Redis), Redis 7.4 -> Valkey 9.1 is not (and Valkey 9 pods read Redis's
/// format: `rdb-version-check relaxed`).
#[test]
fn a_downgrade_the_rdb_format_cannot_do_is_refused() {
    let fc = |image: &str| {
        format!(
            "functionConfig:\n  apiVersion: fn.redis-sentinel.dev/v1alpha1\n  kind: RedisSentinel\n  metadata:\n    name: cache\n    namespace: cache\n  spec:\n    image: {image}\n"
        )
    };
    let list = |items: &str, image: &str| {
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n{items}{}",
            fc(image)
        )
    };
    let (ok, first) = krm(list("items: []\n", "docker.io/valkey/valkey:9.1.2"));
    assert!(ok, "{first}");
    assert!(
        first.contains("rdb-version-check relaxed"),
        "Valkey 9 reads Redis 7.4/8 RDB files"
    );
    let v: serde_norway::Value = serde_norway::from_str(&first).expect("yaml");
    let items = serde_norway::to_string(&serde_norway::Value::Mapping(
        [("items".into(), v["items"].clone())].into_iter().collect(),
    ))
    .expect("items");
    let (ok, out) = krm(list(&items, "docker.io/library/redis:7.4.6"));
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "the running Valkey 9.1.2 writes RDB format 80, which Redis 7.4.6 cannot read"
        ) && out.contains("path: spec.image"),
        "{out}"
    );
    // The other way round is an upgrade.
    let (ok, first) = krm(list("items: []\n", "docker.io/library/redis:7.4.6"));
    assert!(ok);
    assert!(
        !first.contains("rdb-version-check"),
        "Redis has no such setting"
    );
    let v: serde_norway::Value = serde_norway::from_str(&first).expect("yaml");
    let items = serde_norway::to_string(&serde_norway::Value::Mapping(
        [("items".into(), v["items"].clone())].into_iter().collect(),
    ))
    .expect("items");
    let (ok, out) = krm(list(&items, "docker.io/valkey/valkey:9.1.2"));
    assert!(ok, "{out}");
}
