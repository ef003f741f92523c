//! Services: a headless Service per component (stable pod DNS names, also
//! for pods that are not ready yet) and a client Service per component.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::ownership::meta;
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
        let mut headless_meta = meta(inst, inst.headless_service(c), Some(c));
        let extra = crate::sources::service_annotations(inst, c, true);
        if !extra.is_empty() {
            headless_meta
                .annotations
                .get_or_insert_with(Default::default)
                .extend(extra);
        }
        out.push(Service {
            metadata: headless_meta,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn headless_services_publish_not_ready_pods_and_client_services_select_the_same_pods() {
        let inst = test_spec("");
        let svcs = services(&inst);
        let names: Vec<_> = svcs
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "cache-redis-headless",
                "cache-redis",
                "cache-sentinel-headless",
                "cache-sentinel"
            ]
        );
        for (i, s) in svcs.iter().enumerate() {
            let spec = s.spec.as_ref().unwrap();
            let headless = i % 2 == 0;
            assert_eq!(spec.cluster_ip.as_deref() == Some("None"), headless);
            assert_eq!(spec.publish_not_ready_addresses == Some(true), headless);
            let c = if i < 2 {
                Component::Redis
            } else {
                Component::Sentinel
            };
            assert_eq!(spec.selector.as_ref(), Some(&inst.selector_labels(c)));
            let ports = spec.ports.as_ref().unwrap();
            assert_eq!(ports.len(), 1, "plaintext ports are off by default");
            assert_eq!(ports[0].app_protocol.as_deref(), Some("rediss"));
        }
    }

    #[test]
    fn plaintext_ports_only_when_enabled() {
        let inst =
            test_spec("  tls:\n    plaintext:\n      enabled: true\n      redisPort: 7000\n");
        let p = ports(&inst, Component::Redis);
        assert_eq!(
            p,
            vec![
                ("redis".to_string(), 6379),
                ("redis-plain".to_string(), 7000)
            ]
        );
        let inst = test_spec("  tls:\n    enabled: false\n");
        assert_eq!(
            ports(&inst, Component::Sentinel),
            vec![("sentinel".to_string(), 26379)]
        );
    }
}
