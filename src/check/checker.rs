//! The checker of one instance: what it knows (the rendered namespace and
//! name), how it reports, how it finds objects (following renames), and
//! the order of the checks in the other files of this folder.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::{COMPONENT_LABEL, COMPONENTS, Checker};
use crate::krm::{KrmResult, ResourceRef};
use crate::object::ItemExt;

impl<'a> Checker<'a> {
    pub(super) fn rendered_ns(&self) -> &str {
        self.key.split_once('/').map(|(ns, _)| ns).unwrap_or("")
    }

    pub(super) fn rendered_name(&self) -> &str {
        self.key.split_once('/').map(|(_, n)| n).unwrap_or(self.key)
    }

    pub(super) fn error(&mut self, obj: &Value, field: &str, message: String) {
        let mut r = KrmResult::error(message).with_ref(ResourceRef::of(obj));
        if !field.is_empty() {
            r = r.with_field(field);
        }
        self.results.push(r);
    }

    /// Reports a fault about a start-script setting once, however many
    /// scripts carry that setting.
    pub(super) fn script_error(&mut self, cm: &Value, field: &str, key: String, message: String) {
        if self.seen.insert(key) {
            self.error(cm, field, message);
        }
    }

    pub(super) fn find(&self, kind_: &str, name_: &str, ns: Option<&str>) -> Option<&'a Value> {
        self.objs
            .iter()
            .copied()
            .find(|o| o.kind() == kind_ && o.name() == name_ && o.namespace() == ns)
    }

    /// The object a reference names; when it is not there but an object of
    /// the instance carries the name with a prefix or suffix added, that
    /// object, after reporting the rename (kustomize renames objects in its
    /// transformers and fixes references to them only at the end of the
    /// build, so a check running as a transformer sees the old reference).
    pub(super) fn resolve(
        &mut self,
        kind_: &str,
        name_: &str,
        ns: Option<&str>,
    ) -> Option<&'a Value> {
        if let Some(o) = self.find(kind_, name_, ns) {
            return Some(o);
        }
        let renamed: Vec<&'a Value> = self
            .objs
            .iter()
            .copied()
            .filter(|o| o.kind() == kind_ && o.namespace() == ns && o.name().contains(name_))
            .collect();
        let [obj] = renamed[..] else {
            return None;
        };
        let fix = rename_fix(self.rendered_name(), name_, obj.name());
        let message = format!(
            "{kind_} {name_:?} was renamed to {:?} after rendering; the start scripts and certificates still use the rendered names: {fix}",
            obj.name()
        );
        self.script_error(
            obj,
            "metadata.name",
            format!("rename:{kind_}:{name_}"),
            message,
        );
        Some(obj)
    }

    pub(super) fn of_component(&self, kind_: &str, component: &str) -> Vec<&'a Value> {
        self.objs
            .iter()
            .copied()
            .filter(|o| {
                o.kind() == kind_
                    && o.str_at(&["metadata", "labels", COMPONENT_LABEL]) == Some(component)
            })
            .collect()
    }

    pub(super) fn namespace_fix(&self, actual: &str) -> String {
        format!(
            "set `namespace: {actual}` in the RedisSentinel spec (metadata.namespace or spec.namespace) instead of kustomize `namespace:` (the namespace is part of every pod DNS name in the start scripts and of the certificates' SANs)"
        )
    }

    pub(super) fn run(&mut self) {
        self.check_namespaces();
        let mut scripts: BTreeMap<&str, (&'a Value, BTreeMap<String, String>)> = BTreeMap::new();
        let mut statefulsets: BTreeMap<&str, &'a Value> = BTreeMap::new();
        for comp in COMPONENTS {
            let sts = self.of_component("StatefulSet", comp);
            let Some(sts) = sts.first().copied() else {
                let first = self.objs[0];
                self.error(
                    first,
                    "",
                    format!(
                        "instance {} has no {comp} StatefulSet (label {COMPONENT_LABEL}={comp}) in the output: render the whole topology, do not filter it",
                        self.key
                    ),
                );
                continue;
            };
            statefulsets.insert(comp, sts);
            if let Some(s) = self.check_mounts(sts, comp) {
                scripts.insert(comp, s);
            }
        }
        for comp in COMPONENTS {
            let (Some(sts), Some((cm, vars))) = (statefulsets.get(comp), scripts.get(comp)) else {
                continue;
            };
            self.check_script(comp, cm, vars, &statefulsets);
            self.check_services(comp, sts, &statefulsets);
            self.check_pdb(comp, sts);
            self.check_network_policies(comp, sts, &statefulsets);
            self.check_certificate(comp, sts, vars);
        }
        for comp in COMPONENTS {
            if let Some(sts) = statefulsets.get(comp) {
                self.check_image(comp, sts);
            }
        }
        self.check_topology(&statefulsets);
    }
}

/// How a name differs from the one the function rendered, as kustomize's
/// `namePrefix:` / `nameSuffix:` change it.
pub(super) fn rename_fix(rendered_instance: &str, expected: &str, actual: &str) -> String {
    let prefix = actual
        .find(expected)
        .map(|i| &actual[..i])
        .unwrap_or_default();
    let suffix = actual
        .find(expected)
        .map(|i| &actual[i + expected.len()..])
        .unwrap_or_default();
    if !actual.contains(expected) || (prefix.is_empty() && suffix.is_empty()) {
        return format!(
            "do not rename objects of the topology after rendering (kustomize namePrefix/nameSuffix, patches): name the instance in the RedisSentinel spec (metadata.name or spec.name) and render again (the function rendered {expected:?}, the output has {actual:?})"
        );
    }
    let mut fix = Vec::new();
    if !prefix.is_empty() {
        fix.push(format!(
            "set metadata.name: {prefix}{rendered_instance} in the RedisSentinel spec instead of kustomize `namePrefix: {prefix}` (the instance name prefixes every object name)"
        ));
    }
    if !suffix.is_empty() {
        fix.push(format!(
            "remove kustomize `nameSuffix: {suffix}` from the kustomization that includes the RedisSentinel generator (a suffix cannot be rendered into the pod DNS names and certificates; apply it in a kustomization that does not include the generator, or choose the name with metadata.name)"
        ));
    }
    fix.join("; and ")
}
