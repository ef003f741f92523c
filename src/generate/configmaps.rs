//! ConfigMaps: each component's config files and scripts, and the pod
//! counts read at run time (the CA certificate ConfigMap is the generated
//! certificate source's, [`crate::sources::generated`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::ownership::meta;
use crate::pod_files::topology;
use crate::spec::{Component, Instance};

pub fn component_configmap(
    inst: &Instance,
    c: Component,
    files: &BTreeMap<String, String>,
) -> ConfigMap {
    ConfigMap {
        metadata: meta(inst, inst.workload_name(c), Some(c)),
        data: Some(files.clone()),
        ..Default::default()
    }
}

/// Pod counts and quorum, read at run time (see [`crate::pod_files::topology`]).
pub fn topology_configmap(inst: &Instance) -> ConfigMap {
    ConfigMap {
        metadata: meta(inst, topology::configmap_name(inst), None),
        data: Some(topology::files(inst)),
        ..Default::default()
    }
}
