//! Selectors against the pods they must select: Services, the
//! PodDisruptionBudget and NetworkPolicies (and the client peers they
//! admit), each against the pod template labels.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::{COMPONENT_LABEL, Checker};
use crate::krm::{KrmResult, ResourceRef};
use crate::object::ItemExt;
use crate::object::item::label_map;

impl<'a> Checker<'a> {
    /// The headless Service named by serviceName exists and is headless;
    /// every Service of the component selects its pods and not the others.
    pub(super) fn check_services(
        &mut self,
        comp: &str,
        sts: &'a Value,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let sts_name = sts.name().to_string();
        let ns = sts.namespace();
        let pod_labels = label_map(sts.at(&["spec", "template", "metadata", "labels"]));
        let sel = label_map(sts.at(&["spec", "selector", "matchLabels"]));
        if !selects(&sel, &pod_labels) {
            self.error(
                sts,
                "spec.selector.matchLabels",
                format!(
                    "StatefulSet {sts_name}'s selector {} does not match its pod template labels {}: a label transformer was applied to only one of them; apply labels to selectors and templates alike (kustomize commonLabels / labels with includeSelectors and includeTemplates) or set labels in the RedisSentinel spec",
                    fmt_labels(&sel),
                    fmt_labels(&pod_labels)
                ),
            );
        }
        let service_name = sts
            .str_at(&["spec", "serviceName"])
            .unwrap_or_default()
            .to_string();
        match self.resolve("Service", &service_name, ns) {
            None => self.error(
                sts,
                "spec.serviceName",
                format!(
                    "StatefulSet {sts_name} names headless Service {service_name:?}, which is not in the output: the pods get no DNS names; render and apply the whole topology"
                ),
            ),
            Some(svc) => {
                if svc.str_at(&["spec", "clusterIP"]) != Some("None") {
                    self.error(
                        svc,
                        "spec.clusterIP",
                        format!(
                            "Service {service_name} governs StatefulSet {sts_name} but is not headless (clusterIP: None): the pods get no stable DNS names; keep it as rendered"
                        ),
                    );
                }
            }
        }
        for svc in self.of_component("Service", comp) {
            let svc_sel = label_map(svc.at(&["spec", "selector"]));
            if !selects(&svc_sel, &pod_labels) {
                self.error(
                    svc,
                    "spec.selector",
                    format!(
                        "Service {}'s selector {} does not select the {comp} pods (labels {}): it has no endpoints; apply label transformers to selectors and pod templates alike, or set labels in the RedisSentinel spec",
                        svc.name(),
                        fmt_labels(&svc_sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
            for (other, other_sts) in statefulsets {
                if *other == comp {
                    continue;
                }
                let other_labels =
                    label_map(other_sts.at(&["spec", "template", "metadata", "labels"]));
                if selects(&svc_sel, &other_labels) {
                    self.error(
                        svc,
                        "spec.selector",
                        format!(
                            "Service {}'s selector {} also selects the {other} pods: clients would reach the wrong process; keep the rendered selectors",
                            svc.name(),
                            fmt_labels(&svc_sel)
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn check_pdb(&mut self, comp: &str, sts: &'a Value) {
        let pod_labels = label_map(sts.at(&["spec", "template", "metadata", "labels"]));
        for pdb in self.of_component("PodDisruptionBudget", comp) {
            let sel = label_map(pdb.at(&["spec", "selector", "matchLabels"]));
            if !selects(&sel, &pod_labels) {
                self.error(
                    pdb,
                    "spec.selector.matchLabels",
                    format!(
                        "PodDisruptionBudget {}'s selector {} does not select the {comp} pods (labels {}): the pods are unprotected; apply label transformers to selectors and pod templates alike",
                        pdb.name(),
                        fmt_labels(&sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
        }
    }

    /// A component's NetworkPolicy applies to its pods and still admits the
    /// topology's own pods (peers that name a component must select it).
    pub(super) fn check_network_policies(
        &mut self,
        comp: &str,
        sts: &'a Value,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let pod_labels = label_map(sts.at(&["spec", "template", "metadata", "labels"]));
        for np in self.of_component("NetworkPolicy", comp) {
            let sel = label_map(np.at(&["spec", "podSelector", "matchLabels"]));
            if !selects(&sel, &pod_labels) {
                self.error(
                    np,
                    "spec.podSelector.matchLabels",
                    format!(
                        "NetworkPolicy {}'s podSelector {} does not select the {comp} pods (labels {}): the policy protects nothing; apply label transformers to selectors and pod templates alike",
                        np.name(),
                        fmt_labels(&sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
            let rules = np
                .at(&["spec", "ingress"])
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default();
            for (i, rule) in rules.iter().enumerate() {
                let peers = rule
                    .get("from")
                    .and_then(Value::as_sequence)
                    .cloned()
                    .unwrap_or_default();
                for (j, peer) in peers.iter().enumerate() {
                    if peer.get("namespaceSelector").is_some() {
                        continue;
                    }
                    let peer_sel = label_map(peer.at(&["podSelector", "matchLabels"]));
                    let Some(target) = peer_sel.get(COMPONENT_LABEL) else {
                        self.check_client_peer(np, i, j, &peer_sel, statefulsets);
                        continue;
                    };
                    let Some(target_sts) = statefulsets.get(target.as_str()) else {
                        continue;
                    };
                    let target_labels =
                        label_map(target_sts.at(&["spec", "template", "metadata", "labels"]));
                    if !selects(&peer_sel, &target_labels) {
                        self.error(
                            np,
                            &format!("spec.ingress[{i}].from[{j}].podSelector.matchLabels"),
                            format!(
                                "NetworkPolicy {} admits {target} pods by {} but they are labelled {}: {target} cannot reach {comp}; apply label transformers to selectors and pod templates alike",
                                np.name(),
                                fmt_labels(&peer_sel),
                                fmt_labels(&target_labels)
                            ),
                        );
                    }
                }
            }
        }
    }

    /// A client peer of a NetworkPolicy that also requires a label which
    /// every object of the instance and every StatefulSet selector carries:
    /// kustomize `commonLabels` (or `labels` with `includeSelectors`) put it
    /// there, into the client selector too. Client pods outside the
    /// kustomization lack it and are cut off: a warning, since clients in the
    /// same kustomization got it as well.
    pub(super) fn check_client_peer(
        &mut self,
        np: &Value,
        rule: usize,
        peer: usize,
        peer_sel: &BTreeMap<String, String>,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let added: BTreeMap<&String, &String> = peer_sel
            .iter()
            .filter(|(k, v)| {
                self.objs
                    .iter()
                    .all(|o| label_map(o.at(&["metadata", "labels"])).get(*k) == Some(*v))
                    && statefulsets.values().all(|sts| {
                        label_map(sts.at(&["spec", "selector", "matchLabels"])).get(*k) == Some(*v)
                    })
            })
            .collect();
        if added.is_empty() {
            return;
        }
        let added: BTreeMap<String, String> = added
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let key = format!("client-peer:{}:{}", np.name(), fmt_labels(&added));
        if !self.seen.insert(key) {
            return;
        }
        self.results.push(
            KrmResult::warning(format!(
                "NetworkPolicy {} admits client pods only if they are labelled {}: a label transformer (kustomize commonLabels, or labels with includeSelectors) added {} to every podSelector, the client selector too. Client pods outside this kustomization must carry it, or add the label with `labels:` and `includeSelectors: false` (selectors need no extra label)",
                np.name(),
                fmt_labels(peer_sel),
                fmt_labels(&added)
            ))
            .with_ref(ResourceRef::of(np))
            .with_field(format!("spec.ingress[{rule}].from[{peer}].podSelector.matchLabels")),
        );
    }
}

/// `selector` selects pods labelled `labels` (every pair present).
pub(super) fn selects(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

pub(super) fn fmt_labels(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Named container ports of a StatefulSet's pods, as strings.
pub(super) fn container_ports(sts: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in sts
        .at(&["spec", "template", "spec", "containers"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        for p in c
            .get("ports")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(n) = p.at(&["containerPort"]).and_then(Value::as_u64) {
                out.push((
                    p.str_at(&["name"]).unwrap_or("?").to_string(),
                    n.to_string(),
                ));
            }
        }
    }
    out
}
