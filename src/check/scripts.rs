//! The settings the start scripts carry (namespace, StatefulSet and
//! Service names, replica counts, ports, quorum) against the objects they
//! name: kustomize's transformers change the objects, not these copies.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::Checker;
use super::checker::rename_fix;
use super::selectors::container_ports;
use crate::object::ItemExt;
use crate::pod_files::setting;
use crate::spec::Component;

impl<'a> Checker<'a> {
    /// The names, namespace, counts and ports in a start script match the
    /// objects.
    pub(super) fn check_script(
        &mut self,
        comp: &str,
        cm: &'a Value,
        vars: &BTreeMap<String, String>,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let field = format!("data.start-{comp}.sh");
        let inst = self.rendered_name().to_string();
        if let Some(sts) = statefulsets.values().next() {
            let actual = sts.namespace().unwrap_or("");
            if let Some(ns) = vars.get(setting::NAMESPACE)
                && !actual.is_empty()
                && ns != actual
            {
                let fix = self.namespace_fix(actual);
                self.script_error(
                    cm,
                    &field,
                    format!("NAMESPACE={ns}"),
                    format!(
                        "the start scripts dial pods in namespace {ns:?} (NAMESPACE) but the StatefulSets are in {actual:?}: {fix}"
                    ),
                );
            }
        }
        for (other, sts) in statefulsets {
            let Some(c) = Component::named(other) else {
                continue;
            };
            let (sts_var, headless_var, port_var) = (
                setting::statefulset(c),
                setting::headless(c),
                setting::port(c),
            );
            let sts_name = sts.name();
            if let Some(want) = vars.get(sts_var)
                && want != sts_name
            {
                let fix = rename_fix(&inst, want, sts_name);
                self.script_error(
                    cm,
                    &field,
                    format!("{sts_var}={want}"),
                    format!(
                        "the start scripts expect the {other} StatefulSet to be named {want:?} ({sts_var}; pod names and DNS names derive from it) but it is {sts_name:?}: {fix}"
                    ),
                );
            }
            let service_name = sts.str_at(&["spec", "serviceName"]).unwrap_or_default();
            if let Some(want) = vars.get(headless_var)
                && want != service_name
            {
                let fix = rename_fix(&inst, want, service_name);
                self.script_error(
                    cm,
                    &field,
                    format!("{headless_var}={want}"),
                    format!(
                        "the start scripts dial {other} pods under headless Service {want:?} ({headless_var}) but StatefulSet {sts_name} has serviceName {service_name:?}: {fix}"
                    ),
                );
            }
            if let Some(want) = vars.get(port_var) {
                let ports = container_ports(sts);
                if !ports.is_empty() && !ports.iter().any(|(_, p)| p == want) {
                    self.script_error(
                        cm,
                        &field,
                        format!("{port_var}={want}"),
                        format!(
                            "the start scripts dial {other} on port {want} ({port_var}) but StatefulSet {sts_name}'s containers listen on {}: set {other}.port in the RedisSentinel spec instead of patching ports",
                            ports
                                .iter()
                                .map(|(n, p)| format!("{n}={p}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// The topology ConfigMap (pod counts and quorum, read by the pods at
    /// run time) matches the StatefulSets' replica counts.
    pub(super) fn check_topology(&mut self, statefulsets: &BTreeMap<&str, &'a Value>) {
        let Some(cm) = statefulsets.values().find_map(|sts| {
            let volumes = sts
                .at(&["spec", "template", "spec", "volumes"])?
                .as_sequence()?;
            let v = volumes
                .iter()
                .find(|v| v.str_at(&["name"]) == Some(crate::pod_files::topology::VOLUME))?;
            self.find(
                "ConfigMap",
                v.str_at(&["configMap", "name"])?,
                sts.namespace(),
            )
        }) else {
            return;
        };
        let value = |key: &str| {
            cm.str_at(&["data", key])
                .and_then(|v| v.parse::<u64>().ok())
        };
        for (other, sts) in statefulsets {
            let key = format!("{other}-replicas");
            let sts_name = sts.name();
            let replicas = sts
                .at(&["spec", "replicas"])
                .and_then(Value::as_u64)
                .unwrap_or(1);
            if value(&key) != Some(replicas) {
                let want = cm
                    .str_at(&["data", &key])
                    .unwrap_or("(missing)")
                    .to_string();
                self.error(
                    cm,
                    &format!("data.{key}"),
                    format!(
                        "the topology ConfigMap {} says {want} {other} pod(s) ({key}) but StatefulSet {sts_name} has {replicas}: set {other}.replicas: {replicas} in the RedisSentinel spec instead of kustomize `replicas:` or a patch (the pods find their peers, and the Sentinels their quorum, through that ConfigMap)",
                        cm.name()
                    ),
                );
            }
        }
        if let (Some(q), Some(sts)) = (
            cm.str_at(&["data", crate::pod_files::topology::SENTINEL_QUORUM]),
            statefulsets.get("sentinel"),
        ) {
            let replicas = sts
                .at(&["spec", "replicas"])
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let q: u64 = q.parse().unwrap_or(0);
            if q == 0 || q > replicas {
                self.error(
                    cm,
                    &format!("data.{}", crate::pod_files::topology::SENTINEL_QUORUM),
                    format!(
                        "Sentinel quorum {q} is out of range for {replicas} Sentinel pod(s) (1..={replicas}): no failover can ever be agreed; set sentinel.replicas and sentinel.quorum in the RedisSentinel spec"
                    ),
                );
            }
        }
    }
}

/// `KEY='value'` settings at the top of a start script (single-quoted
/// words, `'\''` for a quote; `KEY="value"` from earlier renders too).
pub(super) fn script_vars(script: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in script.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            continue;
        }
        let value = if let Some(q) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            q.replace("'\\''", "'")
        } else if let Some(q) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            q.to_string()
        } else {
            continue;
        };
        vars.entry(k.to_string()).or_insert(value);
    }
    vars
}
