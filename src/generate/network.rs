//! NetworkPolicies: Redis and Sentinel ports admit only the instance's own
//! pods and labelled client pods (optionally from labelled namespaces).

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::services;
use crate::ownership::meta;
use crate::spec::{Component, Instance, NetworkPolicy as Policy};

fn peer(labels: std::collections::BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One policy per component: its ports from Redis pods, Sentinel pods and
/// clients. Redis pods dial Sentinels at start; Sentinels dial Redis and
/// each other; replicas dial the master.
pub fn network_policies(inst: &Instance, p: &Policy) -> Vec<NetworkPolicy> {
    Component::ALL
        .iter()
        .map(|&c| {
            let ports: Vec<NetworkPolicyPort> = services::ports(inst, c)
                .into_iter()
                .map(|(_, port)| NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(port))),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect();
            let client = NetworkPolicyPeer {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(p.client_pod_labels.clone()),
                    ..Default::default()
                }),
                namespace_selector: p.client_namespace_labels.clone().map(|l| LabelSelector {
                    match_labels: Some(l),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let mut from = vec![
                peer(inst.selector_labels(Component::Redis)),
                peer(inst.selector_labels(Component::Sentinel)),
                client,
            ];
            if p.client_namespace_labels.is_some() {
                // Clients in the instance's own namespace keep access too.
                from.push(peer(p.client_pod_labels.clone()));
            }
            // Consumers' pods in their namespaces (spec.consumers).
            from.extend(crate::consumers::network_peers(inst, &p.client_pod_labels));
            NetworkPolicy {
                metadata: meta(inst, inst.workload_name(c), Some(c)),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(inst.selector_labels(c)),
                        ..Default::default()
                    }),
                    policy_types: Some(vec!["Ingress".into()]),
                    ingress: Some(
                        std::iter::once(NetworkPolicyIngressRule {
                            from: Some(from),
                            ports: Some(ports),
                        })
                        .chain(
                            inst.metrics
                                .as_ref()
                                .map(crate::metrics::exporter::ingress_rule),
                        )
                        .collect(),
                    ),
                    ..Default::default()
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn policies_admit_own_pods_and_labelled_clients_on_the_right_ports() {
        let inst = test_spec("  tls:\n    plaintext: {enabled: true}\n");
        let p = inst.network_policy.clone().expect("on by default");
        let nps = network_policies(&inst, &p);
        assert_eq!(nps.len(), 2);
        let redis = nps[0].spec.as_ref().unwrap();
        assert_eq!(
            redis.pod_selector.as_ref().unwrap().match_labels,
            Some(inst.selector_labels(Component::Redis))
        );
        let rule = &redis.ingress.as_ref().unwrap()[0];
        let ports: Vec<_> = rule
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.port.clone())
            .collect();
        assert_eq!(
            ports,
            vec![Some(IntOrString::Int(6379)), Some(IntOrString::Int(6380))]
        );
        let from = rule.from.as_ref().unwrap();
        assert_eq!(from.len(), 3);
        let client = from[2]
            .pod_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap();
        assert_eq!(
            client
                .get("fn.redis-sentinel.dev/client")
                .map(String::as_str),
            Some("cache")
        );
        assert!(
            from[2].namespace_selector.is_none(),
            "same namespace only by default"
        );
        let sentinel = nps[1].spec.as_ref().unwrap();
        let sports: Vec<_> = sentinel.ingress.as_ref().unwrap()[0]
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.port.clone())
            .collect();
        assert_eq!(
            sports,
            vec![Some(IntOrString::Int(26379)), Some(IntOrString::Int(26380))]
        );
    }

    #[test]
    fn off_switch() {
        assert!(
            test_spec("  networkPolicy:\n    enabled: false\n")
                .network_policy
                .is_none()
        );
    }
}
