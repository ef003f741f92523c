//! Defence in depth in the start scripts: values that validation would
//! refuse are fed directly to the script generator (an `Instance` changed
//! after validation), and the generated scripts run under `sh` with fake
//! `redis-cli`, `getent`, `redis-server` and `redis-sentinel` on `PATH`.
//!
//! Proven here: no value runs a command (a marker file is never created),
//! every setting reaches the shell exactly as written, a value with a line
//! break never becomes a config directive of its own (the script refuses to
//! write it), and a peer's answer that is not a host name never reaches
//! `replicaof` or `sentinel monitor`.

use crate::harness;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use redis_sentinel_fn::pod_files::{redis, sentinel};
use redis_sentinel_fn::spec::{self, Instance};

const SPEC: &str = "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata: {name: cache, namespace: ns}\n";

fn instance() -> Instance {
    let v: serde_norway::Value = serde_norway::from_str(SPEC).expect("yaml");
    spec::from_function_config(&v).expect("valid spec")
}

/// A fresh scratch directory for one case.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rsfn-script-safety-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn write_exec(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Values an attacker would try: command substitution, quotes, backslash
/// escapes for `echo`, a line break followed by a directive.
fn hostile(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("'; touch {m}; '"),
        format!("\"; touch {m}; \""),
        format!("x' \"$(touch {m})\" '"),
        "back\\nslash\\c \\\\ \\x41".to_string(),
        "${HOME:-x}$((1+1))".to_string(),
        "line\ninclude /etc/passwd".to_string(),
        "*".to_string(),
        "-n".to_string(),
    ]
}

/// The settings block of a script (up to the common helpers).
fn settings(script: &str) -> &str {
    let end = script
        .find("# ---- common helpers")
        .expect("common helpers follow the settings");
    &script[..end]
}

#[test]
fn settings_reach_the_shell_exactly_as_written() {
    let dir = scratch("settings");
    let marker = dir.join("pwned");
    for value in hostile(&marker) {
        let mut inst = instance();
        inst.namespace = value.clone();
        inst.cluster_domain = value.clone();
        inst.sentinel.master_name = value.clone();
        let auth = inst.auth.as_mut().expect("auth on by default");
        auth.app_user = value.clone();
        auth.app_user_rules = value.clone();
        for (script, vars) in [
            (
                redis::start_script(&inst),
                &[
                    "NAMESPACE",
                    "CLUSTER_DOMAIN",
                    "MASTER_NAME",
                    "APP_USER",
                    "APP_USER_RULES",
                ][..],
            ),
            (
                sentinel::start_script(&inst),
                &["NAMESPACE", "CLUSTER_DOMAIN", "MASTER_NAME"][..],
            ),
        ] {
            let mut sh = settings(&script).to_string();
            for v in vars {
                sh.push_str(&format!("printf '%s\\0' \"${v}\"\n"));
            }
            let out = Command::new("sh")
                .arg("-c")
                .arg(&sh)
                .env_remove("CONFIG_DIR")
                .output()
                .expect("sh runs");
            assert!(
                out.status.success(),
                "{value:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
            for (i, v) in vars.iter().enumerate() {
                assert_eq!(
                    got[i],
                    value.as_bytes(),
                    "{v} did not reach the shell as written"
                );
            }
            assert!(!marker.exists(), "{value:?} ran a command");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fake binaries: `getent` resolves every name; `redis-cli` answers
/// `SENTINEL get-master-addr-by-name` with `$FAKE_SENTINEL_ANSWER` (nothing
/// else); `redis-server`/`redis-sentinel` copy their config to `$OUT`.
fn fake_bin(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    // Pods 0-2 of each workload exist (the topology ConfigMap says 3);
    // higher ordinals do not resolve, any other name does.
    write_exec(
        &bin.join("getent"),
        "#!/bin/sh\ncase \"$2\" in\n  *-redis-[0-2].* | *-sentinel-[0-2].*) ;;\n  *-redis-[0-9]*.* | *-sentinel-[0-9]*.*) exit 2 ;;\nesac\necho \"10.0.0.1 $2\"\n",
    );
    write_exec(
        &bin.join("redis-cli"),
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = get-master-addr-by-name ] && [ -n \"${FAKE_SENTINEL_ANSWER:-}\" ]; then\n    printf '%s\\r\\n6379\\r\\n' \"$FAKE_SENTINEL_ANSWER\"; exit 0\n  fi\ndone\nexit 1\n",
    );
    for server in ["redis-server", "redis-sentinel"] {
        write_exec(&bin.join(server), "#!/bin/sh\ncp \"$1\" \"$OUT\"\n");
    }
    bin
}

struct Run {
    ok: bool,
    log: String,
    conf: Option<String>,
}

/// Runs a generated start script as pod `pod` with the fake binaries.
fn run_script(dir: &Path, script: &str, pod: &str, env: &BTreeMap<&str, String>) -> Run {
    run_with_passwords(dir, script, pod, env, &|key| format!("pw-{key}"))
}

/// [`run_script`] with the password files holding `password(key)`.
fn run_with_passwords(
    dir: &Path,
    script: &str,
    pod: &str,
    env: &BTreeMap<&str, String>,
    password: &dyn Fn(&str) -> String,
) -> Run {
    let bin = fake_bin(dir);
    let path = dir.join("start.sh");
    std::fs::write(&path, script).expect("script");
    for d in ["config", "tls", "run", "auth", "topology"] {
        std::fs::create_dir_all(dir.join(d)).expect("dirs");
    }
    for (key, value) in redis_sentinel_fn::pod_files::topology::files(&instance()) {
        std::fs::write(dir.join("topology").join(key), value).expect("topology");
    }
    for key in [
        "admin-password",
        "app-password",
        "replication-password",
        "sentinel-user-password",
        "sentinel-password",
        "redis-password",
    ] {
        std::fs::write(dir.join("auth").join(key), password(key)).expect("pw");
    }
    std::fs::write(dir.join("config/sentinel.conf"), "# static part\n").expect("conf");
    let out_file = dir.join("out.conf");
    let _ = std::fs::remove_file(&out_file);
    let mut cmd = Command::new("sh");
    cmd.arg(&path)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("POD_NAME", pod)
        .env("CONFIG_DIR", dir.join("config"))
        .env("TLS_DIR", dir.join("tls"))
        .env("RUN_DIR", dir.join("run"))
        .env("AUTH_DIR", dir.join("auth"))
        .env("TOPOLOGY_DIR", dir.join("topology"))
        .env("OUT", &out_file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // The script may leave a background child (the certificate watcher,
    // started where the binary does not reload certificates itself) that
    // outlives the fake server: in a pod it dies with the container. Wait
    // for the script alone, then end its process group.
    let log_file = dir.join("start.log");
    cmd.process_group(0)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file).expect("log file"));
    let mut child = cmd.spawn().expect("sh runs");
    let status = child.wait().expect("sh ends");
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    Run {
        ok: status.success(),
        log: std::fs::read_to_string(&log_file).unwrap_or_default(),
        conf: std::fs::read_to_string(&out_file).ok(),
    }
}

#[test]
fn acl_rules_never_run_commands_or_add_directives() {
    let dir = scratch("rules");
    let marker = dir.join("pwned");
    for value in hostile(&marker) {
        let mut inst = instance();
        inst.auth.as_mut().expect("auth").app_user_rules = value.clone();
        let r = run_script(
            &dir,
            &redis::start_script(&inst),
            "cache-redis-1",
            &BTreeMap::new(),
        );
        assert!(!marker.exists(), "{value:?} ran a command; log: {}", r.log);
        if value.contains('\n') {
            assert!(!r.ok, "{value:?}: the script wrote a line break");
            assert!(r.conf.is_none(), "{value:?}: redis-server started");
            assert!(r.log.contains("line break"), "{}", r.log);
            continue;
        }
        assert!(r.ok, "{value:?}: {}", r.log);
        let conf = r.conf.expect("redis-server got a config");
        let expected = format!("user app on \">pw-app-password\" {value}");
        assert!(
            conf.lines().any(|l| l == expected),
            "{value:?}: no line {expected:?} in\n{conf}"
        );
        assert!(
            !conf.lines().any(|l| l.starts_with("include /etc")),
            "{conf}"
        );
        assert!(
            conf.contains(
                "replicaof cache-redis-0.cache-redis-headless.ns.svc.cluster.local 6379\n"
            ),
            "{conf}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn peer_answers_that_are_not_host_names_are_refused() {
    let dir = scratch("peers");
    let marker = dir.join("pwned");
    let pod0 = "cache-redis-0.cache-redis-headless.ns.svc.cluster.local";
    for answer in [
        format!("$(touch {})", marker.display()),
        "evil host".to_string(),
        "evil;rm".to_string(),
        "-h".to_string(),
        "a..b".to_string(),
        "-a.example.com".to_string(),
        format!("{}.example.com", "a".repeat(64)),
        "1:2".to_string(),
        "fe80::1%eth0".to_string(),
    ] {
        let env = BTreeMap::from([("FAKE_SENTINEL_ANSWER", answer.clone())]);
        let inst = instance();
        let r = run_script(&dir, &redis::start_script(&inst), "cache-redis-1", &env);
        assert!(r.ok, "{answer:?}: {}", r.log);
        assert!(
            r.log.contains("is not a host name"),
            "{answer:?}: {}",
            r.log
        );
        let conf = r.conf.expect("config");
        assert!(
            conf.contains(&format!("replicaof {pod0} 6379\n")),
            "{answer:?}: {conf}"
        );
        let s = run_script(
            &dir,
            &sentinel::start_script(&inst),
            "cache-sentinel-1",
            &env,
        );
        assert!(s.ok, "{answer:?}: {}", s.log);
        let conf = s.conf.expect("config");
        assert!(
            conf.contains(&format!("sentinel monitor cache {pod0} 6379 2\n")),
            "{answer:?}: {conf}"
        );
        assert!(!conf.contains(&format!(" {answer} ")), "{answer:?}: {conf}");
        assert!(!marker.exists());
    }
    // A valid answer is used: the name of a pod that can exist. (Host names
    // and addresses that are not such a pod are never trusted either, and
    // wait for the Sentinels to fail over: tests/it/script_helpers.rs.)
    {
        let answer = "cache-redis-2.cache-redis-headless.ns.svc.cluster.local";
        let env = BTreeMap::from([("FAKE_SENTINEL_ANSWER", answer.to_string())]);
        let s = run_script(
            &dir,
            &sentinel::start_script(&instance()),
            "cache-sentinel-1",
            &env,
        );
        assert!(s.ok, "{answer:?}: {}", s.log);
        let conf = s.conf.expect("config");
        assert!(
            conf.contains(&format!("sentinel monitor cache {answer} 6379 2\n")),
            "{answer:?}: {conf}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Settings built from other settings (`$AUTH_DIR/admin-password`) or
/// overridable from the environment are expanded by the shell: no value
/// the settings block assigns keeps a literal `$` (a `Setting::Lit` where a
/// `Setting::Refs` was meant would hand the scripts a path that does not
/// exist). Every script of every component, for the auth modes and for a
/// certificate source with renewal watchers.
#[test]
fn settings_that_refer_to_other_settings_are_expanded() {
    let variants = [
        "",
        "spec:\n  auth:\n    mode: password\n",
        "spec:\n  auth:\n    enabled: false\n",
        "spec:\n  tls:\n    source: cert-manager\n",
    ];
    for extra in variants {
        let v: serde_norway::Value =
            serde_norway::from_str(&format!("{SPEC}{extra}")).expect("yaml");
        let inst = spec::from_function_config(&v).expect("valid spec");
        for c in spec::Component::ALL {
            for (file, body) in redis_sentinel_fn::pod_files::files(&inst, c) {
                if !file.ends_with(".sh") {
                    continue;
                }
                let block = settings(&body);
                let names: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.split_once('=').map(|(k, _)| k))
                    .filter(|k| {
                        !k.is_empty() && k.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_')
                    })
                    .collect();
                assert!(!names.is_empty(), "{file}: no settings found");
                let mut sh = block.replace("set -eu", "set -u");
                for n in &names {
                    sh.push_str(&format!("printf '%s=%s\\0' {n} \"${n}\"\n"));
                }
                let out = Command::new("sh")
                    .arg("-c")
                    .arg(&sh)
                    .output()
                    .expect("sh runs");
                assert!(
                    out.status.success(),
                    "{file}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                for kv in out.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
                    let kv = String::from_utf8_lossy(kv);
                    assert!(
                        !kv.contains('$'),
                        "{file} ({extra:?}): {kv} keeps an unexpanded reference"
                    );
                }
            }
        }
    }
}

/// Passwords are the user's with `auth.existingSecret`. Every printable
/// one reaches redis-server as exactly one argument, exactly as written
/// (a real redis-server reads the lines the script wrote and accepts the
/// password over RESP); none runs a command; an empty one or one with a
/// control character is refused before redis-server starts.
#[test]
fn passwords_reach_redis_exactly_as_written() {
    let dir = scratch("passwords");
    let marker = dir.join("pwned");
    let m = marker.display();
    let accepted = [
        "two words".to_string(),
        "q\"uote".to_string(),
        "back\\slash\\".to_string(),
        "\\\"".to_string(),
        "#hash at start".to_string(),
        ">x <y ~* +@all".to_string(),
        "'single'".to_string(),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        "${HOME}".to_string(),
        "-n".to_string(),
        "*".to_string(),
        "\u{e9}t\u{e9} \u{2003}".to_string(),
    ];
    for pw in &accepted {
        let password = |_: &str| pw.clone();
        for mode in ["acl", "password"] {
            let mut inst = instance();
            inst.auth.as_mut().expect("auth").mode = match mode {
                "acl" => spec::model::AuthMode::Acl,
                _ => spec::model::AuthMode::Password,
            };
            let run = |script: &str, pod: &str| {
                let r = run_with_passwords(&dir, script, pod, &BTreeMap::new(), &password);
                assert!(!marker.exists(), "{pw:?} ran a command: {}", r.log);
                assert!(r.ok, "{mode} {pw:?}: {}", r.log);
                r.conf.expect("the server got a config")
            };
            let redis_conf = run(&redis::start_script(&inst), "cache-redis-1");
            let sentinel_conf = run(&sentinel::start_script(&inst), "cache-sentinel-1");
            redis_accepts(&dir, &redis_conf, mode, pw);
            // sentinel.conf is read by the same parser: its password lines
            // carry the argument redis-server just accepted.
            let arg = redis_conf
                .lines()
                .find_map(|l| l.strip_prefix("masterauth "))
                .expect("masterauth line");
            let requirepass = format!("requirepass {arg}");
            let auth_pass = format!("sentinel auth-pass cache {arg}");
            for want in [&requirepass, &auth_pass] {
                assert!(
                    sentinel_conf.lines().any(|l| l == want.as_str()),
                    "{mode} {pw:?}: no {want:?} in\n{sentinel_conf}"
                );
            }
        }
    }
    for pw in ["", "line\nbreak", "tab\tbed", "esc\u{1b}[31m", "cr\r"] {
        let password = |_: &str| pw.to_string();
        for (script, pod) in [
            (redis::start_script(&instance()), "cache-redis-1"),
            (sentinel::start_script(&instance()), "cache-sentinel-1"),
        ] {
            let r = run_with_passwords(&dir, &script, pod, &BTreeMap::new(), &password);
            assert!(!r.ok, "{pw:?} accepted: {}", r.log);
            assert!(r.conf.is_none(), "{pw:?}: the server started");
            assert!(r.log.contains("refusing"), "{pw:?}: {}", r.log);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real redis-server reads the user and password lines of `conf` and
/// accepts `pw` for them.
fn redis_accepts(dir: &Path, conf: &str, mode: &str, pw: &str) {
    let lines: String = conf
        .lines()
        .filter(|l| {
            ["user ", "requirepass ", "masteruser ", "masterauth "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let server = harness::Standalone::start_with_config(&dir.join("redis"), &lines)
        .unwrap_or_else(|e| panic!("{mode} {pw:?}: redis-server refused\n{lines}: {e:#}"));
    let auth = match mode {
        "acl" => vec!["AUTH".to_string(), "app".to_string(), pw.to_string()],
        _ => vec!["AUTH".to_string(), pw.to_string()],
    };
    let wrong = vec!["AUTH".to_string(), format!("{pw}x")];
    let replies = server
        .pipeline(&[wrong, auth, vec!["PING".to_string()]])
        .expect("pipeline");
    assert!(
        replies[0].starts_with("-WRONGPASS"),
        "{mode} {pw:?}: {replies:?}"
    );
    assert_eq!(replies[1..], ["+OK", "+PONG"], "{mode} {pw:?}\n{lines}");
}

/// An image with Valkey's own names (Debian's valkey packages ship
/// `valkey-*` only): the start scripts ask the Sentinels with `valkey-cli`
/// and exec `valkey-server` / `valkey-sentinel`, even where `redis-*`
/// names are also on PATH; with `redis-*` names alone they run those.
#[test]
fn start_scripts_run_the_images_own_binaries() {
    let dir = scratch("binaries");
    let valkey = dir.join("valkey-bin");
    std::fs::create_dir_all(&valkey).expect("valkey bin");
    let answer = "cache-redis-2.cache-redis-headless.ns.svc.cluster.local";
    write_exec(
        &valkey.join("valkey-cli"),
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = get-master-addr-by-name ]; then\n    printf '%s\\r\\n6379\\r\\n' {answer}; exit 0\n  fi\ndone\nexit 1\n"
        ),
    );
    for server in ["valkey-server", "valkey-sentinel"] {
        write_exec(
            &valkey.join(server),
            &format!("#!/bin/sh\n{{ echo '# ran {server}'; cat \"$1\"; }} > \"$OUT\"\n"),
        );
    }
    let inst = instance();
    let host_path = std::env::var("PATH").unwrap_or_default();
    for (script, pod, want) in [
        (redis::start_script(&inst), "cache-redis-1", "valkey-server"),
        (
            sentinel::start_script(&inst),
            "cache-sentinel-1",
            "valkey-sentinel",
        ),
    ] {
        // fake_bin's redis-* come after valkey-bin on PATH.
        let path = format!(
            "{}:{}:{host_path}",
            valkey.display(),
            dir.join("bin").display()
        );
        let env = BTreeMap::from([("PATH", path)]);
        let r = run_script(&dir, &script, pod, &env);
        assert!(r.ok, "{pod}: {}", r.log);
        let conf = r.conf.expect("config");
        assert!(
            conf.starts_with(&format!("# ran {want}\n")),
            "{pod}: {conf}"
        );
        // The Sentinel answer came through valkey-cli.
        assert!(conf.contains(answer), "{pod}: {conf}");
        // Without valkey-*: fake_bin's redis-* (which copy the config only).
        let r = run_script(&dir, &script, pod, &BTreeMap::new());
        assert!(r.ok, "{pod}: {}", r.log);
        assert!(!r.conf.expect("config").starts_with("# ran"), "{pod}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every script of every example (`examples/*/spec.yaml`, all components
/// and instances) passes `shellcheck -S warning` (Debian's shellcheck, from
/// .ci/install.d/10-base.sh). An exception is a directive with its reason
/// in the script itself, never a flag here. Scripts that differ only in the
/// values of their settings (single-quoted words) are checked once: of the
/// examples' 68 scripts, about 10 differ otherwise (shellcheck takes about
/// a second per file).
#[test]
fn example_scripts_pass_shellcheck() {
    let dir = scratch("shellcheck");
    let mut shapes = std::collections::BTreeSet::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut scripts = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples/")
        .map(|e| e.expect("entry").path().join("spec.yaml"))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for spec_file in entries {
        let example = spec_file.parent().and_then(Path::file_name).expect("name");
        let text = std::fs::read_to_string(&spec_file).expect("read spec");
        let fc: serde_norway::Value = serde_norway::from_str(&text).expect("yaml");
        let insts = spec::instances_from_function_config(&fc).expect("valid example");
        for inst in insts {
            for c in spec::Component::ALL {
                for (file, body) in redis_sentinel_fn::pod_files::files(&inst, c) {
                    if file.ends_with(".sh") && shapes.insert(shape(&body)) {
                        let name = format!("{}-{}-{file}", example.to_string_lossy(), inst.name);
                        std::fs::write(dir.join(&name), body).expect("write script");
                        scripts.push(name);
                    }
                }
            }
        }
    }
    assert!(
        scripts.len() >= 8,
        "only {} distinct scripts",
        scripts.len()
    );
    shellcheck_clean(
        &dir,
        &scripts,
        &format!("{} rendered scripts", scripts.len()),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fails, with shellcheck's findings, unless `shellcheck -S warning` finds
/// nothing in `scripts` (file names under `dir`); `what` names them.
fn shellcheck_clean(dir: &Path, scripts: &[String], what: &str) {
    let out = Command::new("shellcheck")
        .args(["-S", "warning", "-f", "gcc"])
        .args(scripts)
        .current_dir(dir)
        .output()
        .expect("shellcheck runs (Debian package shellcheck)");
    assert!(
        out.status.success(),
        "shellcheck -S warning on {what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A script with the values of its settings and its header comment left
/// out: what shellcheck's findings depend on.
fn shape(script: &str) -> String {
    script
        .lines()
        .filter(|l| !l.starts_with("# Generated by"))
        .map(|l| match l.split_once('=') {
            Some((k, _))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                k
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The migration scripts (`migrate-redis.sh`, `adopt-sentinel.sh`; no
/// example has `spec.migration`) pass `shellcheck -S warning` too, for a
/// Sentinel source with credentials and TLS and for a plain standalone one.
#[test]
fn migration_scripts_pass_shellcheck() {
    let dir = scratch("shellcheck-migration");
    let mut scripts = Vec::new();
    for (n, source) in [
        "      sentinel:\n        hosts: [\"old-0.old:26379\", \"[fd00::1]:26380\"]\n        masterName: mymaster\n        auth: {secretName: old, passwordKey: sentinel-password}\n      auth: {secretName: old, passwordKey: redis-password, username: migrator}\n      tls: {enabled: true, ca: {configMapName: old-ca}}\n",
        "      standalone: {host: old-redis-0.old, port: 6390}\n",
    ]
    .into_iter()
    .enumerate()
    {
        let text = format!(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: ns\nspec:\n  migration:\n    source:\n{source}"
        );
        let fc: serde_norway::Value = serde_norway::from_str(&text).expect("yaml");
        for inst in spec::instances_from_function_config(&fc).expect("valid spec") {
            for c in spec::Component::ALL {
                for (file, body) in redis_sentinel_fn::pod_files::files(&inst, c) {
                    if file == "migrate-redis.sh" || file == "adopt-sentinel.sh" {
                        let name = format!("{n}-{file}");
                        std::fs::write(dir.join(&name), body).expect("write script");
                        scripts.push(name);
                    }
                }
            }
        }
    }
    assert_eq!(scripts.len(), 4, "{scripts:?}");
    shellcheck_clean(&dir, &scripts, "the migration scripts");
    let _ = std::fs::remove_dir_all(&dir);
}
