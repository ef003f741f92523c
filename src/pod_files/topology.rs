//! The topology ConfigMap: the pod counts (and the Sentinel quorum, derived
//! from the Sentinel count by default) that the start scripts and the
//! Sentinel prune loop read at run time.
//!
//! Both StatefulSets mount it, but it is deliberately **not** part of the
//! pod-template hash: changing `redis.replicas` or `sentinel.replicas` must
//! not restart the pods that already run. The kubelet updates a mounted
//! ConfigMap in running pods (not through `subPath`) within about a
//! minute; until then a running pod may read the old counts, so the scripts
//! also discover pods by DNS beyond the count they read (a pod that exists
//! resolves) and never trust a name that does not resolve (see
//! `scripts/common.sh`). The Sentinel prune loop applies a new quorum with
//! `SENTINEL SET` (`scripts/prune-sentinel.sh`).

use std::collections::BTreeMap;

use crate::spec::{Component, Instance};

/// Keys of the topology ConfigMap (one value, a decimal number, per key).
pub const REDIS_REPLICAS: &str = "redis-replicas";
pub const SENTINEL_REPLICAS: &str = "sentinel-replicas";
pub const SENTINEL_QUORUM: &str = "sentinel-quorum";

/// Volume name of the topology ConfigMap in both pod templates.
pub const VOLUME: &str = "topology";

/// Name of the topology ConfigMap: `<name>-topology`.
pub fn configmap_name(inst: &Instance) -> String {
    format!("{}-topology", inst.name)
}

/// Where a component's pods see the topology files.
pub fn mount_path(c: Component) -> &'static str {
    match c {
        Component::Redis => super::paths::REDIS_TOPOLOGY,
        Component::Sentinel => super::paths::SENTINEL_TOPOLOGY,
    }
}

/// The ConfigMap data.
pub fn files(inst: &Instance) -> BTreeMap<String, String> {
    let mut files = counts(inst);
    files.extend(super::migration::topology_files(inst));
    files
}

fn counts(inst: &Instance) -> BTreeMap<String, String> {
    BTreeMap::from([
        (REDIS_REPLICAS.to_string(), inst.redis.replicas.to_string()),
        (
            SENTINEL_REPLICAS.to_string(),
            inst.sentinel.replicas.to_string(),
        ),
        (
            SENTINEL_QUORUM.to_string(),
            inst.sentinel.quorum.to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn counts_and_quorum_are_plain_numbers() {
        let inst = test_spec("  redis:\n    replicas: 5\n  sentinel:\n    replicas: 5\n");
        let f = files(&inst);
        assert_eq!(f[REDIS_REPLICAS], "5");
        assert_eq!(f[SENTINEL_REPLICAS], "5");
        assert_eq!(f[SENTINEL_QUORUM], "3", "majority of 5 by default");
        assert_eq!(configmap_name(&inst), "cache-topology");
    }
}
