//! `spec.sentinel`: replicas, quorum, timings and the Sentinel pods'
//! resources.

use super::*;

/// `spec.sentinel`; the master name defaults to the instance name.
pub(super) fn sentinel(s: &model::SentinelSpec, name: &str, cx: &mut Ctx) -> Sentinel {
    let replicas = s.replicas.unwrap_or(defaults::SENTINEL_REPLICAS);
    if replicas == 0 || replicas > MAX_SENTINEL_REPLICAS {
        cx.err(
            "sentinel.replicas",
            format!("sentinel.replicas is {replicas}; it must be between 1 and {MAX_SENTINEL_REPLICAS} (3 or 5 is usual)"),
        );
    }
    let quorum = s.quorum.unwrap_or(replicas / 2 + 1);
    if quorum == 0 || quorum > replicas {
        cx.err(
            "sentinel.quorum",
            format!("sentinel.quorum is {quorum}; it must be between 1 and sentinel.replicas ({replicas})"),
        );
    }
    let master_name = s.master_name.clone().unwrap_or_else(|| name.to_string());
    // The default (the instance name) is checked with the name.
    if s.master_name.is_some()
        && (master_name.is_empty()
            || master_name.len() > 63
            || !master_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        cx.err("sentinel.masterName", format!("masterName {master_name:?} must be 1-63 characters of letters, digits, '-', '_' or '.'"));
    }
    let down_after = s.down_after_milliseconds.unwrap_or(defaults::DOWN_AFTER_MS);
    if !(100..=3_600_000).contains(&down_after) {
        cx.err(
            "sentinel.downAfterMilliseconds",
            format!(
                "downAfterMilliseconds is {down_after}; it must be between 100 and 3600000 (1 hour)"
            ),
        );
    }
    let failover_timeout = s.failover_timeout.unwrap_or(defaults::FAILOVER_TIMEOUT_MS);
    if !(1_000..=86_400_000).contains(&failover_timeout) {
        cx.err("sentinel.failoverTimeout", format!("failoverTimeout is {failover_timeout}; it must be between 1000 and 86400000 (1 day) milliseconds"));
    }
    let parallel_syncs = s.parallel_syncs.unwrap_or(defaults::PARALLEL_SYNCS);
    if parallel_syncs == 0 || parallel_syncs > MAX_REDIS_REPLICAS {
        cx.err("sentinel.parallelSyncs", format!("parallelSyncs is {parallel_syncs}; it must be at least 1 and at most {MAX_REDIS_REPLICAS}"));
    }
    let resources = s
        .resources
        .clone()
        .unwrap_or_else(default_sentinel_resources);
    check_resources(cx, "sentinel.resources", &resources);
    Sentinel {
        replicas,
        quorum,
        master_name,
        port: s.port.unwrap_or(defaults::SENTINEL_PORT),
        down_after_milliseconds: down_after,
        failover_timeout,
        parallel_syncs,
        resources,
    }
}

pub(super) fn default_sentinel_resources() -> model::Resources {
    model::Resources {
        requests: [("cpu", "50m"), ("memory", "32Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        limits: [("memory", "128Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }
}
