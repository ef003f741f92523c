//! Picking up certificates renewed outside the function.
//!
//! With any `tls.source` but `generated`, cert-manager, the service CA or
//! the user renew the certificates; the kubelet swaps the mounted files
//! atomically and the pod-template hash, which covers only what the
//! function emits, cannot see it. The start scripts then watch the files:
//!
//! - Redis (`scripts/renew-redis.sh`): a background loop has Redis re-read
//!   certificate, key and CA in one `CONFIG SET` over a unix socket in the
//!   pod's run directory (`unixsocketperm 700`); no restart, no outage.
//! - Sentinel (`scripts/renew-sentinel.sh`): Sentinel cannot reload TLS, so
//!   the start script keeps it as a child and restarts it on its rewritten
//!   config, one Sentinel at a time (time slots by ordinal) and only while
//!   enough peers are up to keep quorum and a majority.
//!
//! Valkey 9.1 and later reload the files themselves, in server and in
//! Sentinel mode (`tls-auto-reload-interval`: every interval a background
//! thread compares the certificates' fingerprints and the key's inode and
//! mtime, and swaps in new TLS contexts when they changed). For them the
//! configuration sets that interval instead ([`server_reloads`]; proven
//! with the kubelet's `..data` switch in tests/it/e2e_sources.rs), as a
//! gated setting ([`super::gated`]): the scripts still carry the watcher
//! and the Sentinel restarts ([`carries_watcher`]), and run them only on a
//! binary that does not meet the gate (an older server restarted in place
//! before the rollout reached its pod, or a rollback to the old image).
//!
//! That holds for `tls.source: generated` too: the function's own
//! certificates then reach running pods the same way (the kubelet updates
//! the mounted Secret, the server reloads it), so the pod-template hash
//! leaves the certificate Secret out ([`hash_leaves_out_certificates`]) and
//! a rotation or renewal rolls nothing. Trust still holds: `ca.crt` covers
//! one step whichever pod has the new files first ([`crate::certs::trust`];
//! measured in tests/it/day2_rotation.rs with the pods' files swapped at
//! different times). Elsewhere generated certificates roll the pods.

use super::Setting;
use crate::auth::users;
use crate::sources;
use crate::spec::model::AuthMode;
use crate::spec::{Component, Instance};

const REDIS_WATCH: &str = include_str!("scripts/renew-redis.sh");
const SENTINEL_LAUNCH: &str = include_str!("scripts/renew-sentinel.sh");
/// The last line of `scripts/renew-redis.sh`, which starts the watcher.
const REDIS_WATCH_START: &str = "watch_tls $$ &\n";
/// The last line of `scripts/start-sentinel.sh`, which [`SENTINEL_LAUNCH`]
/// replaces when the certificate files are watched.
pub const SENTINEL_EXEC: &str = "exec \"$SENTINEL_BIN\" \"$RUN_DIR/sentinel.conf\"\n";

/// Seconds between checks of the certificate files.
pub const WATCH_SECONDS: u32 = 10;
/// Length of each Sentinel's restart slot.
pub const RESTART_SLOT_SECONDS: u32 = 10;
/// How long a peer Sentinel must have been up to count as ready.
pub const PEER_MIN_UP_SECONDS: u32 = 5;

/// Unix socket (in the run directory) the watcher talks to Redis through.
pub fn redis_socket(run_dir: &str) -> String {
    format!("{run_dir}/redis.sock")
}

/// Seconds between the server's own checks of the certificate files
/// (`tls-auto-reload-interval`), as often as the watcher looks.
pub const AUTO_RELOAD_SECONDS: u32 = WATCH_SECONDS;

/// Whether the server reloads renewed certificate files itself (Valkey
/// 9.1+ with TLS on, whatever the certificates' source).
pub fn server_reloads(inst: &Instance) -> bool {
    inst.tls_enabled() && crate::spec::server::reloads_tls(inst.redis.server.as_ref())
}

/// Whether the pod-template hash leaves the mounted certificate Secret
/// (certificates, keys, `ca.crt`) out: when the server reloads the files
/// the kubelet updates, a new certificate needs no roll. Passwords,
/// configuration and scripts stay in the hash. Not with `spec.migration`:
/// there pod 0 trusts a copy of `ca.crt` made when it started (with the
/// source's CA, `scripts/migrate-redis.sh`), which a reload cannot see, so
/// certificates roll the pods as on other servers.
pub fn hash_leaves_out_certificates(inst: &Instance) -> bool {
    server_reloads(inst) && inst.migration.is_none()
}

/// Whether the pods of `inst` watch their certificate files (the start
/// scripts' watcher loop and Sentinel restarts).
pub fn watched(inst: &Instance) -> bool {
    sources::renewed_outside(inst) && !server_reloads(inst)
}

/// Whether the start scripts carry the watcher loop and the supervised
/// Sentinel restarts: where they watch ([`watched`]), and wherever the
/// image reloads certificates itself, as the fallback for an older binary
/// (which then starts them: [`redis_watcher`], [`sentinel_body`]). That
/// includes generated certificates, which roll no pod there: an old binary
/// still running under such a spec (mid-upgrade, or after a rollback of
/// the image) would otherwise never see them.
pub fn carries_watcher(inst: &Instance) -> bool {
    sources::renewed_outside(inst) || server_reloads(inst)
}

/// Settings of the watchers, `(variable, value)`, for the script header.
pub fn settings(inst: &Instance, c: Component) -> Vec<(&'static str, Setting)> {
    let mut v = vec![(
        "TLS_WATCH_SECONDS",
        Setting::Overridable(WATCH_SECONDS.to_string()),
    )];
    match c {
        Component::Redis => {
            // CONFIG needs an administrative user: the admin user in ACL
            // mode, the default user (requirepass) in password mode.
            let cred = match &inst.auth {
                Some(a) if a.mode == AuthMode::Acl => users::script_credential(
                    (Some(users::ADMIN_USER), users::ADMIN_PASSWORD),
                    "$AUTH_DIR",
                ),
                Some(_) => users::script_credential((None, users::REDIS_PASSWORD), "$AUTH_DIR"),
                None => String::new(),
            };
            v.push(("RELOAD_CRED", Setting::Refs(cred)));
        }
        Component::Sentinel => {
            v.push((
                "TLS_RESTART_SLOT_SECONDS",
                Setting::Overridable(RESTART_SLOT_SECONDS.to_string()),
            ));
            v.push((
                "TLS_PEER_MIN_UP_SECONDS",
                PEER_MIN_UP_SECONDS.to_string().into(),
            ));
        }
    }
    v
}

/// The Redis watcher, started in the background before the body runs;
/// where the image reloads certificates itself, only on a binary that does
/// not.
pub fn redis_watcher(inst: &Instance) -> String {
    if !server_reloads(inst) {
        return REDIS_WATCH.to_string();
    }
    let head = REDIS_WATCH
        .strip_suffix(REDIS_WATCH_START)
        .unwrap_or(REDIS_WATCH);
    let gate = super::gated::reload_condition();
    format!(
        "{head}if server_meets '{gate}'; then\n    log \"$RUNNING_SERVER reloads renewed certificate files itself (tls-auto-reload-interval)\"\nelse\n    log \"${{RUNNING_SERVER:-this server}} does not reload certificate files itself: watching them\"\n    {REDIS_WATCH_START}fi\n"
    )
}

/// The Sentinel start script body with its last line (`exec
/// redis-sentinel`) replaced by the supervising launch; where the image
/// reloads certificates itself, the plain exec stays for a binary that
/// meets the gate.
pub fn sentinel_body(inst: &Instance, body: &str) -> String {
    let head = body.strip_suffix(SENTINEL_EXEC).unwrap_or(body);
    if !server_reloads(inst) {
        return format!("{head}{SENTINEL_LAUNCH}");
    }
    let gate = super::gated::reload_condition();
    format!(
        "{head}if server_meets '{gate}'; then\n    log \"$RUNNING_SERVER reloads renewed certificate files itself (tls-auto-reload-interval)\"\n    {SENTINEL_EXEC}fi\nlog \"${{RUNNING_SERVER:-this server}} does not reload certificate files itself\"\n{SENTINEL_LAUNCH}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn sentinel_body_ends_with_the_exec_the_watcher_replaces() {
        let body = include_str!("scripts/start-sentinel.sh");
        assert!(
            body.ends_with(SENTINEL_EXEC),
            "start-sentinel.sh must end with {SENTINEL_EXEC:?} (renewal.rs replaces it)"
        );
        assert!(REDIS_WATCH.ends_with(REDIS_WATCH_START));
        let inst = test_spec("  image: redis:7.0.15\n  tls:\n    source: cert-manager\n");
        let watched = sentinel_body(&inst, body);
        assert!(!watched.contains("exec \"$SENTINEL_BIN\""));
        assert!(watched.contains("start_sentinel\n"));
        assert!(!redis_watcher(&inst).contains("server_meets"));
        // Valkey 9.1: the restarts and the watcher only on an older binary.
        let inst = test_spec("  image: valkey/valkey:9.1.2\n  tls:\n    source: cert-manager\n");
        let both = sentinel_body(&inst, body);
        let exec = both.find("exec \"$SENTINEL_BIN\"").expect("exec");
        assert!(both[..exec].contains("if server_meets 'valkey>=9.1'; then"));
        assert!(both[exec..].contains("start_sentinel\n"));
        let w = redis_watcher(&inst);
        assert!(
            w.contains("if server_meets 'valkey>=9.1'; then")
                && w.ends_with("    watch_tls $$ &\nfi\n")
        );
    }

    #[test]
    fn valkey_9_1_reloads_itself_others_are_watched() {
        let tls = "  tls:\n    source: cert-manager\n";
        for (image, reloads) in [
            ("valkey/valkey:9.1.2", true),
            ("valkey/valkey:9.0.4", false),
            ("valkey/valkey:9", false),
            ("redis:8.0.6", false),
            ("redis:7.0.15", false),
        ] {
            let inst = test_spec(&format!("  image: {image}\n{tls}"));
            assert_eq!(server_reloads(&inst), reloads, "{image}");
            assert_eq!(watched(&inst), !reloads, "{image}");
        }
        // Generated certificates: Valkey 9.1+ reloads them (no roll), the
        // others roll; nothing is watched.
        for (image, reloads) in [("valkey/valkey:9.1.2", true), ("redis:8.0.6", false)] {
            let generated = test_spec(&format!("  image: {image}\n"));
            assert_eq!(server_reloads(&generated), reloads, "{image}");
            assert_eq!(hash_leaves_out_certificates(&generated), reloads);
            assert!(!watched(&generated));
        }
        let migrating = test_spec(
            "  image: valkey/valkey:9.1.2\n  migration:\n    cutover: false\n    source:\n      standalone: {host: x}\n",
        );
        assert!(server_reloads(&migrating) && !hash_leaves_out_certificates(&migrating));
        let plain = test_spec("  image: valkey/valkey:9.1.2\n  tls:\n    enabled: false\n");
        assert!(!server_reloads(&plain) && !hash_leaves_out_certificates(&plain));
    }
}
