//! ConfigMaps: each component's config file and start script, and the CA
//! certificate for clients.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::meta;
use crate::certs::{self, Bundle};
use crate::config::topology;
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

/// Pod counts and quorum, read at run time (see [`crate::config::topology`]).
pub fn topology_configmap(inst: &Instance) -> ConfigMap {
    ConfigMap {
        metadata: meta(inst, topology::configmap_name(inst), None),
        data: Some(topology::files(inst)),
        ..Default::default()
    }
}

/// The trusted CA certificates (public) for applications that verify the
/// servers: the previous, current and next CA (see [`certs::trust`]).
pub fn ca_configmap(inst: &Instance, b: &Bundle) -> ConfigMap {
    ConfigMap {
        metadata: meta(inst, certs::ca_configmap_name(inst), None),
        data: Some(BTreeMap::from([("ca.crt".to_string(), b.trust_pem())])),
        ..Default::default()
    }
}
