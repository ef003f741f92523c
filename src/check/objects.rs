//! Objects in place: every object in the rendered namespace, and every
//! ConfigMap and Secret a pod mounts present in the output (or, for Secrets
//! made outside the function, holding the keys the pods read).

use std::collections::BTreeMap;

use serde_norway::Value;

use super::Checker;
use super::scripts::script_vars;
use crate::krm::{KrmResult, ResourceRef};
use crate::object::ItemExt;
use crate::object::secret::secret_data;

impl<'a> Checker<'a> {
    /// Every object in one namespace, the one the function rendered for.
    pub(super) fn check_namespaces(&mut self) {
        let rendered = self.rendered_ns().to_string();
        let mut moved: BTreeMap<String, Vec<&'a Value>> = BTreeMap::new();
        for o in self.objs {
            let ns = o.namespace().unwrap_or("");
            // Consumer Secrets go to the consumer's namespace.
            let consumer = o.kind() == "Secret"
                && o.annotation(crate::consumers::CONSUMER_ANNOTATION)
                    .is_some();
            if ns != rendered && !consumer {
                moved.entry(ns.to_string()).or_default().push(o);
            }
        }
        for (ns, objs) in moved {
            let names: Vec<String> = objs
                .iter()
                .take(4)
                .map(|o| format!("{}/{}", o.kind(), o.name()))
                .collect();
            let more = if objs.len() > 4 {
                format!(" and {} more", objs.len() - 4)
            } else {
                String::new()
            };
            let (what, fix) = if ns.is_empty() {
                (
                    "have no namespace".to_string(),
                    format!(
                        "keep metadata.namespace as rendered ({rendered}), or set the namespace in the RedisSentinel spec"
                    ),
                )
            } else {
                (format!("are in namespace {ns:?}"), self.namespace_fix(&ns))
            };
            self.error(
                objs[0],
                "metadata.namespace",
                format!(
                    "{} object(s) of instance {} ({}{more}) {what}, but the topology was rendered for namespace {rendered:?}: {fix}",
                    objs.len(),
                    self.key,
                    names.join(", ")
                ),
            );
        }
    }

    /// The ConfigMaps and Secrets a StatefulSet mounts exist; returns the
    /// config ConfigMap and its start-script settings.
    pub(super) fn check_mounts(
        &mut self,
        sts: &'a Value,
        comp: &str,
    ) -> Option<(&'a Value, BTreeMap<String, String>)> {
        let ns = sts.namespace();
        let mut config = None;
        let volumes = sts
            .at(&["spec", "template", "spec", "volumes"])
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (i, v) in volumes.iter().enumerate() {
            let (k, n, field) = if let Some(n) = v.str_at(&["configMap", "name"]) {
                ("ConfigMap", n, "configMap.name")
            } else if let Some(n) = v.str_at(&["secret", "secretName"]) {
                ("Secret", n, "secret.secretName")
            } else {
                continue;
            };
            if v.str_at(&["name"])
                .is_some_and(crate::pod_files::migration::is_volume)
            {
                // The migration source's Secrets and CA: the user's objects.
                continue;
            }
            match self.resolve(k, n, ns) {
                Some(obj) => {
                    if v.str_at(&["name"]) == Some("config") {
                        config = Some(obj);
                    }
                }
                // Made outside the function (sources::EXTERNAL_SECRETS_ANNOTATION):
                // checked when it is among the items.
                None if k == "Secret" && external_secrets(sts).contains(&n) => {
                    self.check_external_keys(sts, v, n);
                }
                None => self.error(
                    sts,
                    &format!("spec.template.spec.volumes[{i}].{field}"),
                    format!(
                        "StatefulSet {} mounts {k} {n:?}, which is not in the output (in namespace {}): render and apply the whole topology, and rename it only through the RedisSentinel spec",
                        sts.name(),
                        ns.unwrap_or("(none)")
                    ),
                ),
            }
        }
        let cm = config?;
        let script_key = format!("start-{comp}.sh");
        let Some(script) = cm.str_at(&["data", &script_key]) else {
            self.error(
                cm,
                &format!("data.{script_key}"),
                format!(
                    "ConfigMap {} has no {script_key}: it was edited after rendering; render again",
                    cm.name()
                ),
            );
            return None;
        };
        Some((cm, script_vars(script)))
    }

    /// An external Secret among the items has every key the volume
    /// projects (e.g. the passwords of `auth.existingSecret`): the kubelet
    /// cannot start a pod whose projected key is missing.
    pub(super) fn check_external_keys(&mut self, sts: &Value, volume: &Value, secret_name: &str) {
        let Some(secret) = self.all.iter().find(|o| {
            o.kind() == "Secret" && o.name() == secret_name && o.namespace() == sts.namespace()
        }) else {
            return;
        };
        let missing: Vec<String> = volume
            .get("secret")
            .and_then(|s| s.get("items"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|i| i.str_at(&["key"]))
            .filter(|k| secret_data(secret, k).is_none())
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "Secret {secret_name} has no {} but StatefulSet {} mounts it: its pods cannot start",
                missing.join(", "),
                sts.name()
            );
            self.results.push(
                KrmResult::error(message)
                    .with_ref(ResourceRef::of(secret))
                    .with_field("data"),
            );
        }
    }
}

/// Secrets a StatefulSet's pods mount that the function does not emit.
pub(super) fn external_secrets(sts: &Value) -> Vec<&str> {
    sts.annotation(crate::sources::EXTERNAL_SECRETS_ANNOTATION)
        .map(|a| a.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}
