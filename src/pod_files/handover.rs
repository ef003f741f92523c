//! Graceful master handover and rollout-safe readiness: the scripts the
//! pod templates run as `lifecycle.preStop` hooks and as the Redis
//! readiness probe (ConfigMap data next to the start scripts).
//!
//! - `prestop-redis.sh`: a master about to stop pauses writes, makes sure
//!   every replica has every write, asks Sentinel to fail over, follows the
//!   promoted replica and only then lets Redis stop (see the script).
//! - `prestop-sentinel.sh`: a Sentinel does not leave during a failover or
//!   while no peer knows the master it knows.
//! - `ready-redis.sh`: a replica is Ready only in sync with its master, a
//!   master only when the Sentinels name it.
//!
//! All three are bounded by [`HANDOVER_SECONDS`] (hooks) or the probe
//! timeout, speak TLS with the pod's own certificate and read credentials
//! from the mounted files only.

use super::{Setting, script};
use crate::auth::users;
use crate::pod::paths;
use crate::spec::model::AuthMode;
use crate::spec::{Component, Instance};

pub const PRESTOP_REDIS: &str = "prestop-redis.sh";
pub const PRESTOP_SENTINEL: &str = "prestop-sentinel.sh";
pub const READY_REDIS: &str = "ready-redis.sh";

/// `terminationGracePeriodSeconds` of both StatefulSets, raised from the
/// Kubernetes default of 30: the Redis hook may first wait up to
/// [`PRIORITY_WAIT_SECONDS`] (writes flowing) for Sentinel to see which
/// replicas it should prefer, then hands over in a second or two; Redis
/// needs a few more seconds to stop (AOF fsync).
pub const GRACE_SECONDS: i64 = 45;
/// How long a preStop hook may work: the grace period less 10 s for the
/// process to stop after SIGTERM.
pub const HANDOVER_SECONDS: i64 = GRACE_SECONDS - 10;
/// How long the Redis hook waits for every replica to apply every write.
const SYNC_WAIT_MS: u32 = 2_000;
/// Sentinel refreshes a replica's INFO (and so its `replica-priority`)
/// every 10 s: how long the hook waits for it, at most.
pub const PRIORITY_WAIT_SECONDS: i64 = 12;
/// `replica-priority` of the handover's target (lower is preferred) while
/// the hook runs; the other replicas get Redis' default.
const PREFERRED_PRIORITY: u32 = 50;
/// The age of Sentinel's last INFO read of the target at which the hook
/// sends SENTINEL FAILOVER (see prestop-redis.sh): the next read, a second
/// after the last, then comes after the promotion (two Sentinel timer
/// ticks, at most 0.2 s, after the command). Between the read and the
/// command come the pause, the replicas' sync check and round trips (0.1-0.2
/// s measured): the command must reach Sentinel before the read is 0.8 s
/// old, or Sentinel reads again at once and sees the promotion a second
/// later (the outage it costs without alignment).
const ALIGN_MS: u32 = 500;
/// The age of that read at which SENTINEL FAILOVER should reach Sentinel
/// (its next read then follows the promotion by about 0.1 s), and the age
/// past which the phase is missed (Sentinel reads at once, before the
/// promotion, and names the new master a second later). On a busy node
/// the pause, the replicas' sync check and the command take three slow
/// round trips: the hook measures them and pauses earlier than
/// [`ALIGN_MS`]; should the phase still be missed, it resumes the writes
/// and aligns once more (prestop-redis.sh).
const PHASE_GOAL_MS: u32 = 700;
const PHASE_LATEST_MS: u32 = 800;
/// How long the Redis hook keeps the paused clients waiting, after the
/// promotion, for the Sentinel to name the new master (see
/// prestop-redis.sh): its next INFO read of the promoted replica comes
/// within a second.
const NAME_WAIT_MS: u32 = 1_500;
/// `repl-ping-replica-period` of a master while it hands over: its PING to
/// the replicas, one an hour (see prestop-redis.sh).
const NO_PING_SECONDS: u32 = 3_600;
const DEFAULT_PRIORITY: u32 = 100;

const PRESTOP_REDIS_BODY: &str = include_str!("scripts/prestop-redis.sh");
const PRESTOP_SENTINEL_BODY: &str = include_str!("scripts/prestop-sentinel.sh");
const READY_REDIS_BODY: &str = include_str!("scripts/ready-redis.sh");

/// The credential (`user:file`) the Redis hook uses on its own Redis:
/// pausing clients and `REPLICAOF` need the admin user.
pub(crate) fn admin_credential(inst: &Instance) -> String {
    match &inst.auth {
        Some(a) => match a.mode {
            AuthMode::Acl => users::script_credential(
                (Some(users::ADMIN_USER), users::ADMIN_PASSWORD),
                "$AUTH_DIR",
            ),
            AuthMode::Password => {
                users::script_credential((None, users::REDIS_PASSWORD), "$AUTH_DIR")
            }
        },
        None => String::new(),
    }
}

/// `prestop-redis.sh`.
pub fn prestop_redis(inst: &Instance) -> String {
    let extra: [(&str, Setting); 11] = [
        ("ADMIN_CRED", Setting::Refs(admin_credential(inst))),
        ("HANDOVER_SECONDS", HANDOVER_SECONDS.to_string().into()),
        ("SYNC_WAIT_MS", SYNC_WAIT_MS.to_string().into()),
        (
            "PRIORITY_WAIT_SECONDS",
            PRIORITY_WAIT_SECONDS.to_string().into(),
        ),
        ("PREFERRED_PRIORITY", PREFERRED_PRIORITY.to_string().into()),
        ("DEFAULT_PRIORITY", DEFAULT_PRIORITY.to_string().into()),
        ("ALIGN_MS", ALIGN_MS.to_string().into()),
        ("PHASE_GOAL_MS", PHASE_GOAL_MS.to_string().into()),
        ("PHASE_LATEST_MS", PHASE_LATEST_MS.to_string().into()),
        ("NAME_WAIT_MS", NAME_WAIT_MS.to_string().into()),
        ("NO_PING_SECONDS", NO_PING_SECONDS.to_string().into()),
    ];
    script(inst, Component::Redis, &extra, PRESTOP_REDIS_BODY)
}

/// `prestop-sentinel.sh`.
pub fn prestop_sentinel(inst: &Instance) -> String {
    let extra: [(&str, Setting); 1] = [("HANDOVER_SECONDS", HANDOVER_SECONDS.to_string().into())];
    script(inst, Component::Sentinel, &extra, PRESTOP_SENTINEL_BODY)
}

/// `ready-redis.sh`.
pub fn ready_redis(inst: &Instance) -> String {
    script(inst, Component::Redis, &[], READY_REDIS_BODY)
}

/// The preStop hook of a component's container: its script, run by `sh`.
pub fn pre_stop_command(c: Component) -> Vec<String> {
    let path = match c {
        Component::Redis => format!("{}/{PRESTOP_REDIS}", paths::REDIS_CONFIG),
        Component::Sentinel => format!("{}/{PRESTOP_SENTINEL}", paths::SENTINEL_CONFIG),
    };
    vec!["sh".into(), path]
}

/// The Redis readiness probe command.
pub fn redis_readiness_command() -> Vec<String> {
    vec![
        "sh".into(),
        format!("{}/{READY_REDIS}", paths::REDIS_CONFIG),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn redis_hook_uses_admin_and_sentinel_credentials_from_files() {
        let acl = prestop_redis(&test_spec(""));
        assert!(acl.contains("ADMIN_CRED='admin:'\"$AUTH_DIR\"'/admin-password'"));
        assert!(acl.contains("SENTINEL_CRED=':'\"$AUTH_DIR\"'/sentinel-password'"));
        assert!(acl.contains("CLI_TLS_ARGS='--tls --cert '\"$TLS_DIR\"'/tls.crt"));
        assert!(acl.contains("HANDOVER_SECONDS='35'"));
        let pw = prestop_redis(&test_spec("  auth:\n    mode: password\n"));
        assert!(pw.contains("ADMIN_CRED=':'\"$AUTH_DIR\"'/redis-password'"));
        let off = prestop_redis(&test_spec("  auth:\n    enabled: false\n"));
        assert!(off.contains("ADMIN_CRED=''"));
        assert!(!acl.contains("password=") && !acl.contains("-a "));
    }

    #[test]
    fn pause_and_offset_read_are_one_transaction() {
        let s = prestop_redis(&test_spec(""));
        assert!(s.contains(
            "MULTI\\nCONFIG SET repl-ping-replica-period %s\\nCLIENT PAUSE %s WRITE\\nINFO replication\\nEXEC\\n"
        ));
        let failover = s.find("SENTINEL FAILOVER").unwrap();
        let pause = s.find("CLIENT PAUSE").unwrap();
        let follow = s.find("REPLICAOF").unwrap();
        let unpause = s.rfind("CLIENT UNPAUSE").unwrap();
        assert!(pause < failover && failover < follow && follow < unpause);
    }

    #[test]
    fn hooks_fit_in_the_grace_period() {
        const { assert!(HANDOVER_SECONDS + 5 <= GRACE_SECONDS) };
        const { assert!(PRIORITY_WAIT_SECONDS + 10 <= HANDOVER_SECONDS) };
        assert_eq!(
            pre_stop_command(Component::Sentinel)[1],
            "/etc/sentinel/config/prestop-sentinel.sh"
        );
    }
}
