//! Services: a headless Service per component (stable pod DNS names, also
//! for pods that are not ready yet) and a client Service per component.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta;
use crate::spec::{Component, Instance};

/// Named ports of a component's containers and Services.
pub fn ports(inst: &Instance, c: Component) -> Vec<(String, u16)> {
    let mut v = vec![(c.as_str().to_string(), inst.port(c))];
    if let Some(p) = inst.plain_port(c) {
        v.push((format!("{}-plain", c.as_str()), p));
    }
    v
}

pub fn services(inst: &Instance) -> Vec<Service> {
    let mut out = Vec::new();
    for c in Component::ALL {
        let ports: Vec<ServicePort> = ports(inst, c)
            .into_iter()
            .map(|(name, port)| ServicePort {
                name: Some(name.clone()),
                port: i32::from(port),
                target_port: Some(IntOrString::String(name)),
                protocol: Some("TCP".into()),
                app_protocol: Some(if inst.tls_enabled() && port == inst.port(c) {
                    "rediss".into()
                } else {
                    "redis".into()
                }),
                ..Default::default()
            })
            .collect();
        out.push(Service {
            metadata: meta(inst, inst.headless_service(c), Some(c)),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                publish_not_ready_addresses: Some(true),
                selector: Some(inst.selector_labels(c)),
                ports: Some(ports.clone()),
                ..Default::default()
            }),
            ..Default::default()
        });
        out.push(Service {
            metadata: meta(inst, inst.workload_name(c), Some(c)),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(inst.selector_labels(c)),
                ports: Some(ports),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    out
}
