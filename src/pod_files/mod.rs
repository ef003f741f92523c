//! Configuration files and start scripts the pods read, as ConfigMap data.
//!
//! - `redis.conf` and `start-redis.sh`: [`redis`]
//! - settings only some server versions accept, which the start scripts
//!   write for the binary they run: [`gated`]
//! - `sentinel.conf`, `start-sentinel.sh` and `prune-sentinel.sh`: [`sentinel`]
//! - pod counts and quorum, read at run time: [`topology`]
//! - preStop hooks and the Redis readiness script: [`handover`]
//!
//! Files live at fixed paths in the pods ([`paths`]); the start scripts
//! add the per-pod lines (announce names, `replicaof`, `sentinel monitor`,
//! secrets) to a writable copy at start.

pub mod gated;
pub mod handover;
pub mod migration;
pub mod redis;
pub mod renewal;
pub mod sentinel;
pub mod topology;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::auth::users;
use crate::pod::paths;
use crate::spec::{Component, Instance};

const COMMON_SH: &str = include_str!("scripts/common.sh");

/// ConfigMap data of a component: its config file and start script.
pub fn files(inst: &Instance, c: Component) -> BTreeMap<String, String> {
    let mut files = component_files(inst, c);
    files.extend(migration::files(inst, c));
    files
}

fn component_files(inst: &Instance, c: Component) -> BTreeMap<String, String> {
    match c {
        Component::Redis => BTreeMap::from([
            ("redis.conf".to_string(), redis::redis_conf(inst)),
            (
                gated::file_name(Component::Redis).to_string(),
                gated::file(inst, Component::Redis),
            ),
            (redis::START_SCRIPT.to_string(), redis::start_script(inst)),
            (
                handover::PRESTOP_REDIS.to_string(),
                handover::prestop_redis(inst),
            ),
            (
                handover::READY_REDIS.to_string(),
                handover::ready_redis(inst),
            ),
        ]),
        Component::Sentinel => BTreeMap::from([
            ("sentinel.conf".to_string(), sentinel::sentinel_conf(inst)),
            (
                gated::file_name(Component::Sentinel).to_string(),
                gated::file(inst, Component::Sentinel),
            ),
            (
                sentinel::START_SCRIPT.to_string(),
                sentinel::start_script(inst),
            ),
            (
                sentinel::PRUNE_SCRIPT.to_string(),
                sentinel::prune_script(inst),
            ),
            (
                handover::PRESTOP_SENTINEL.to_string(),
                handover::prestop_sentinel(inst),
            ),
        ]),
    }
}

/// `redis-cli` TLS arguments for a component's own certificate.
pub fn cli_tls_args(inst: &Instance, tls_dir: &str) -> String {
    if inst.tls_enabled() {
        format!("--tls --cert {tls_dir}/tls.crt --key {tls_dir}/tls.key --cacert {tls_dir}/ca.crt")
    } else {
        String::new()
    }
}

/// TLS directives shared by redis.conf and sentinel.conf.
fn tls_directives(out: &mut String, inst: &Instance, c: Component, tls_dir: &str) {
    let port = inst.port(c);
    match &inst.tls {
        Some(tls) => {
            match inst.plain_port(c) {
                Some(p) => writeln!(out, "port {p}").ok(),
                None => writeln!(out, "# plaintext port off: TLS only\nport 0").ok(),
            };
            writeln!(out, "tls-port {port}").ok();
            writeln!(out, "tls-cert-file {tls_dir}/tls.crt").ok();
            writeln!(out, "tls-key-file {tls_dir}/tls.key").ok();
            writeln!(out, "tls-ca-cert-file {tls_dir}/ca.crt").ok();
            writeln!(out, "tls-auth-clients {}", tls.client_auth.as_conf()).ok();
            writeln!(out, "# TLS for replication and for Sentinel links too").ok();
            writeln!(out, "tls-replication yes").ok();
            writeln!(out, "tls-protocols \"TLSv1.2 TLSv1.3\"").ok();
            writeln!(out, "tls-prefer-server-ciphers yes").ok();
        }
        None => {
            writeln!(
                out,
                "# TLS disabled in the spec (tls.enabled: false)\nport {port}"
            )
            .ok();
        }
    }
}

/// Names of the settings that `check` reads back from the rendered start
/// scripts ([`crate::check`]); `script` writes them.
pub mod setting {
    use crate::spec::Component;

    pub const NAMESPACE: &str = "NAMESPACE";
    pub const CLUSTER_DOMAIN: &str = "CLUSTER_DOMAIN";

    /// The StatefulSet name of a component (`REDIS_STS`, `SENTINEL_STS`).
    pub fn statefulset(c: Component) -> &'static str {
        match c {
            Component::Redis => "REDIS_STS",
            Component::Sentinel => "SENTINEL_STS",
        }
    }

    /// The headless Service of a component's pods.
    pub fn headless(c: Component) -> &'static str {
        match c {
            Component::Redis => "REDIS_HEADLESS",
            Component::Sentinel => "SENTINEL_HEADLESS",
        }
    }

    /// The TLS port a component's pods listen on.
    pub fn port(c: Component) -> &'static str {
        match c {
            Component::Redis => "REDIS_PORT",
            Component::Sentinel => "SENTINEL_PORT",
        }
    }
}

/// A whole script: the settings block, the common helpers, then `body`
/// (static text from `scripts/`). The settings block holds the shared
/// settings of the component and `extra`, but only those the helpers,
/// `body` or another kept setting read: a script carries no setting it
/// does not use (shellcheck's SC2034 on the rendered scripts).
///
/// Every value is a single-quoted shell word (see [`sh_quote`]): whatever a
/// value holds (quotes, `$`, backticks, backslashes, line breaks), the shell
/// assigns it as written and runs nothing. Only the few settings built here
/// from fixed paths expand anything: an override from the environment
/// (`${CONFIG_DIR:-'/etc/redis/config'}`) or another setting (`"$TLS_DIR"`).
fn script(inst: &Instance, component: Component, extra: &[(&str, Setting)], body: &str) -> String {
    let (config, tls, auth, run) = match component {
        Component::Redis => (
            paths::REDIS_CONFIG,
            paths::REDIS_TLS,
            paths::REDIS_AUTH,
            paths::REDIS_RUN,
        ),
        Component::Sentinel => (
            paths::SENTINEL_CONFIG,
            paths::SENTINEL_TLS,
            paths::SENTINEL_AUTH,
            paths::SENTINEL_RUN,
        ),
    };
    let topology_dir = topology::mount_path(component);
    let s = &inst.sentinel;
    let lit = |v: String| sh_quote(&v);
    let mut vars: Vec<(&str, String)> = vec![
        (setting::NAMESPACE, lit(inst.namespace.clone())),
        (setting::CLUSTER_DOMAIN, lit(inst.cluster_domain.clone())),
        ("MASTER_NAME", lit(s.master_name.clone())),
        (
            setting::statefulset(Component::Redis),
            lit(inst.workload_name(Component::Redis)),
        ),
        (
            setting::headless(Component::Redis),
            lit(inst.headless_service(Component::Redis)),
        ),
        (
            setting::port(Component::Redis),
            lit(inst.redis.port.to_string()),
        ),
        (
            setting::statefulset(Component::Sentinel),
            lit(inst.workload_name(Component::Sentinel)),
        ),
        (
            setting::headless(Component::Sentinel),
            lit(inst.headless_service(Component::Sentinel)),
        ),
        (setting::port(Component::Sentinel), lit(s.port.to_string())),
        ("RESOLVE_WAIT_SECONDS", lit("120".to_string())),
        ("CLI_TIMEOUT", lit("3".to_string())),
        ("CONFIG_DIR", env_default("CONFIG_DIR", config)),
        ("TLS_DIR", env_default("TLS_DIR", tls)),
        ("RUN_DIR", env_default("RUN_DIR", run)),
        // Pod counts and quorum: read at run time, outside the config hash.
        ("TOPOLOGY_DIR", env_default("TOPOLOGY_DIR", topology_dir)),
        ("CLI_TLS_ARGS", with_refs(&cli_tls_args(inst, "$TLS_DIR"))),
    ];
    vars.extend(auth_settings(inst, auth));
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_shell(k))));
    let vars = read_settings(vars, &[COMMON_SH, body]);
    let mut out = String::from("#!/bin/sh\n");
    writeln!(out, "# Generated by redis-sentinel-fn for {}/{}. Do not edit: change the spec and render again.", one_line(&inst.namespace), one_line(&inst.name)).ok();
    out.push_str("set -eu\n\n# ---- settings rendered from the spec ----\n");
    for (k, v) in vars {
        writeln!(out, "{k}={v}").ok();
    }
    out.push('\n');
    out.push_str(COMMON_SH);
    out.push('\n');
    out.push_str(body);
    out
}

/// The auth settings of every script: the mode, where the passwords are
/// mounted (`auth`) and the credentials for Sentinel and for Redis peers.
fn auth_settings(inst: &Instance, auth: &'static str) -> Vec<(&'static str, String)> {
    let lit = |v: String| sh_quote(&v);
    let mut vars = Vec::new();
    match &inst.auth {
        Some(a) => {
            let mode = match a.mode {
                crate::spec::model::AuthMode::Acl => "acl",
                crate::spec::model::AuthMode::Password => "password",
            };
            vars.push(("AUTH_MODE", lit(mode.to_string())));
            vars.push(("AUTH_DIR", env_default("AUTH_DIR", auth)));
            vars.push((
                "SENTINEL_CRED",
                with_refs(&users::script_credential(
                    (None, users::SENTINEL_PASSWORD),
                    "$AUTH_DIR",
                )),
            ));
            vars.push((
                "REDIS_CRED",
                with_refs(&users::script_credential(
                    users::redis_peer_credential(a),
                    "$AUTH_DIR",
                )),
            ));
        }
        None => {
            vars.push(("AUTH_MODE", lit(String::new())));
            vars.push(("SENTINEL_CRED", lit(String::new())));
            vars.push(("REDIS_CRED", lit(String::new())));
        }
    }
    vars
}

/// The settings of `vars` that `texts` read, or that a kept setting's
/// value reads (`SENTINEL_CRED` reads `$AUTH_DIR`), in their order. A
/// setting is read where its name stands as a whole word (`$NAME`,
/// `${NAME:-...}`, `$((NAME - 1))`; a comment naming it keeps it too).
fn read_settings<'a>(vars: Vec<(&'a str, String)>, texts: &[&str]) -> Vec<(&'a str, String)> {
    let mut keep: Vec<bool> = vars
        .iter()
        .map(|(k, _)| texts.iter().any(|t| names_word(t, k)))
        .collect();
    loop {
        let more: Vec<usize> = (0..vars.len())
            .filter(|&i| !keep[i])
            .filter(|&i| {
                vars.iter()
                    .zip(&keep)
                    .any(|((k, v), kept)| *kept && *k != vars[i].0 && names_word(v, vars[i].0))
            })
            .collect();
        if more.is_empty() {
            break;
        }
        more.into_iter().for_each(|i| keep[i] = true);
    }
    vars.into_iter()
        .zip(keep)
        .filter_map(|(v, kept)| kept.then_some(v))
        .collect()
}

/// Whether `name` stands in `text` as a whole shell word (not as part of a
/// longer name).
fn names_word(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name)
        .any(|(i, _)| !text[..i].ends_with(word) && !text[i + name.len()..].starts_with(word))
}

/// A value of a script's settings block, as the shell must read it.
pub enum Setting {
    /// Taken as written: one single-quoted word (quotes, `$`, backticks and
    /// line breaks included).
    Lit(String),
    /// Text that refers to other settings (`$AUTH_DIR/admin-password`):
    /// each `$NAME` is expanded, everything else is quoted.
    Refs(String),
    /// A default the environment may override (`${NAME:-'10'}`).
    Overridable(String),
}

impl Setting {
    fn to_shell(&self, name: &str) -> String {
        match self {
            Setting::Lit(v) => sh_quote(v),
            Setting::Refs(v) => with_refs(v),
            Setting::Overridable(v) => env_default(name, v),
        }
    }
}

impl From<String> for Setting {
    fn from(v: String) -> Setting {
        Setting::Lit(v)
    }
}

impl From<&str> for Setting {
    fn from(v: &str) -> Setting {
        Setting::Lit(v.to_string())
    }
}

/// `s` as one single-quoted shell word: the shell takes every byte as
/// written (a `'` inside becomes `'\''`: close, escaped quote, reopen).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `${NAME:-'default'}`: the environment may override a fixed path (tests
/// do); the default is quoted.
fn env_default(name: &str, default: &str) -> String {
    format!("${{{name}:-{}}}", sh_quote(default))
}

/// Text built here that refers to other settings (`$TLS_DIR/tls.crt`):
/// each `$NAME` becomes `"$NAME"`, everything else is quoted.
fn with_refs(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        let name_len = rest[i + 1..]
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(rest.len() - i - 1);
        if i > 0 {
            out.push_str(&sh_quote(&rest[..i]));
        }
        out.push_str(&format!("\"${}\"", &rest[i + 1..i + 1 + name_len]));
        rest = &rest[i + 1 + name_len..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push_str(&sh_quote(rest));
    }
    out
}

/// Text for a comment line: line breaks would end the comment.
pub(crate) fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn redis_conf_has_tls_on_every_link_and_no_plain_port() {
        let inst = test_spec("");
        let conf = redis::redis_conf(&inst);
        for line in [
            "port 0",
            "tls-port 6379",
            "tls-replication yes",
            "tls-auth-clients yes",
            "tls-ca-cert-file /etc/redis/tls/ca.crt",
            "min-replicas-to-write 1",
        ] {
            assert!(
                conf.lines().any(|l| l == line),
                "missing {line:?} in\n{conf}"
            );
        }
        assert!(
            !conf.lines().any(|l| l.starts_with("replicaof")),
            "replicaof is decided at start, per pod"
        );
        let inst = test_spec("  tls:\n    clientAuth: optional\n    plaintext: {enabled: true}\n");
        let conf = redis::redis_conf(&inst);
        assert!(conf.contains("\nport 6380\n") && conf.contains("tls-auth-clients optional"));
    }

    #[test]
    fn sentinel_conf_resolves_hostnames_before_the_monitor_block() {
        let inst = test_spec("  sentinel:\n    quorum: 3\n    replicas: 5\n");
        let conf = sentinel::sentinel_conf(&inst);
        for line in [
            "tls-replication yes",
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            "port 0",
            "tls-port 26379",
        ] {
            assert!(conf.lines().any(|l| l == line), "missing {line:?}");
        }
        assert!(
            !conf.lines().any(|l| l.starts_with("sentinel monitor")),
            "the start script appends it after these lines"
        );
        let script = sentinel::start_script(&inst);
        let cat = script
            .find("cat \"$CONFIG_DIR/sentinel.conf\"")
            .expect("copies the config");
        let monitor = script
            .find("sentinel monitor $MASTER_NAME")
            .expect("monitor line");
        assert!(cat < monitor);
        let settings = &script[..script.find("# ---- common helpers").expect("helpers")];
        assert!(
            !settings.contains("QUORUM=") && !settings.contains("_REPLICAS="),
            "counts and quorum come from the topology ConfigMap, not the hashed script"
        );
        assert!(script.contains("TOPOLOGY_DIR=${TOPOLOGY_DIR:-'/etc/sentinel/topology'}"));
    }

    #[test]
    fn start_scripts_know_every_peer_and_only_their_own_settings() {
        let inst = test_spec("  sentinel:\n    downAfterMilliseconds: 1234\n");
        let redis = redis::start_script(&inst);
        assert!(redis.starts_with("#!/bin/sh\n"));
        assert!(redis.contains("REDIS_HEADLESS='cache-redis-headless'"));
        assert!(redis.contains("SENTINEL_HEADLESS='cache-sentinel-headless'"));
        assert!(redis.contains("NAMESPACE='ns'"));
        assert!(
            !redis.contains("1234"),
            "sentinel timing is read from Sentinel at run time, so it does not roll Redis"
        );
        assert!(sentinel::start_script(&inst).contains("DOWN_AFTER_MILLISECONDS='1234'"));
    }

    #[test]
    fn acl_users_are_defined_from_secret_files_only() {
        let inst = test_spec("");
        let script = redis::start_script(&inst);
        assert!(script.contains("AUTH_MODE='acl'"));
        assert!(script.contains("conf_line \"user default off\""));
        for key in users::secret_keys(inst.auth.as_ref().unwrap()) {
            if key != users::SENTINEL_PASSWORD {
                assert!(
                    script.contains(&format!("$AUTH_DIR/{key}")),
                    "the Redis script reads {key}"
                );
            }
        }
        assert!(script.contains("APP_USER_RULES='~* &* +@all -@admin -@scripting +role'"));
        assert!(script.contains("SENTINEL_RULES='allchannels +multi +slaveof"));
        assert!(script.contains("REDIS_CRED='sentinel:'\"$AUTH_DIR\"'/sentinel-user-password'"));
        let s = sentinel::start_script(&inst);
        assert!(
            s.contains("sentinel auth-user $MASTER_NAME $SENTINEL_USER")
                && s.contains("SENTINEL_USER='sentinel'")
        );
        assert!(!sentinel::sentinel_conf(&inst).contains("password"));
        let pw = test_spec("  auth:\n    mode: password\n");
        assert!(redis::start_script(&pw).contains("AUTH_MODE='password'"));
        assert!(!redis::start_script(&pw).contains("APP_USER_RULES="));
        let off = test_spec("  auth:\n    enabled: false\n");
        assert!(redis::start_script(&off).contains("AUTH_MODE=''"));
    }

    #[test]
    fn tls_disabled_means_plain_ports_and_no_tls_arguments() {
        let inst = test_spec("  tls:\n    enabled: false\n");
        let conf = redis::redis_conf(&inst);
        assert!(conf.contains("\nport 6379\n") && !conf.contains("tls-"));
        assert!(redis::start_script(&inst).contains("CLI_TLS_ARGS=''"));
    }
}
