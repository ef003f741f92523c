//! `check`: verifies a rendered topology against itself, after whatever
//! came between the function and the cluster (kustomize transformers,
//! patches, hand edits).
//!
//! The function writes names into places no transformer rewrites: the
//! namespace, StatefulSet and headless Service names and replica counts in
//! the start scripts, and every DNS name in the certificates' SANs. A
//! kustomize `namespace:`, `namePrefix:`, `nameSuffix:` or `replicas:`
//! applied after the generator changes the objects but not those copies, so
//! pods would dial names that do not exist or that their certificates do not
//! cover. `check` reads the final manifests and compares, for every instance
//! (objects carrying the `fn.redis-sentinel.dev/instance` annotation):
//!
//! - namespaces of all objects, and the namespace in the start scripts;
//! - StatefulSet names and `serviceName` against the names in the scripts,
//!   and that the headless Service exists and is headless;
//! - Service, StatefulSet and PodDisruptionBudget selectors against the pod
//!   template labels (and that no Service selects the other component);
//! - replica counts, ports and the Sentinel quorum against the scripts;
//! - that every ConfigMap and Secret a pod mounts is in the output;
//! - that each server certificate (parsed with x509-parser) has a SAN for
//!   every name clients and peers dial: each pod's DNS name, both Services
//!   in short and qualified forms.
//!
//! An instance with `spec.migration` also gets an `info` result saying
//! which step it is at (sync, cut-over asked) and from which source; one
//! whose certificates reach the pods without a roll (Valkey 9.1+) an
//! `info` result with the serial every pod must serve before the next
//! certificate step (`reload.rs`).
//!
//! Each fault is an `error` result naming the fix. It runs as
//! `redis-sentinel-fn check` (a YAML stream or a ResourceList) and as a KRM
//! validator (kustomize `validators:`, kpt `pipeline.validators`) when the
//! functionConfig is a `RedisSentinelCheck`; then the items pass through
//! unchanged.
//!
//! This file holds the entry points and the `Checker` of one instance;
//! each concern is a file of its own: `checker.rs` (finding objects,
//! reporting, the order of the checks), `objects.rs` (namespaces, mounted
//! ConfigMaps and Secrets), `scripts.rs` (script settings against objects),
//! `selectors.rs`, `certificates.rs` (SANs, external certificates),
//! `images.rs` (advisories).

mod certificates;
mod checker;
mod images;
mod objects;
mod reload;
mod scripts;
mod selectors;

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use crate::krm::{KrmResult, ResourceList};
use crate::object::ItemExt;
use crate::object::labels::COMPONENT as COMPONENT_LABEL;
use crate::object::marks::INSTANCE_ANNOTATION;
use crate::spec::model::API_VERSION;

/// Kind of the functionConfig that selects check mode in KRM mode.
pub const KIND: &str = "RedisSentinelCheck";

const COMPONENTS: [&str; 2] = ["redis", "sentinel"];

/// Whether a functionConfig asks for check mode.
pub fn is_check_config(fc: &Value) -> bool {
    fc.str_at(&["kind"]) == Some(KIND)
}

/// KRM mode: the items unchanged, plus the check's results.
pub fn run_krm(mut rl: ResourceList) -> ResourceList {
    if let Some(fc) = &rl.function_config {
        let api = fc.str_at(&["apiVersion"]).unwrap_or_default();
        if api != API_VERSION {
            rl.results.push(
                KrmResult::error(format!(
                    "{KIND} apiVersion {api:?} is not supported; use {API_VERSION}"
                ))
                .with_field("functionConfig.apiVersion"),
            );
            return rl;
        }
    }
    let results = check(&rl.items);
    rl.results.extend(results);
    rl
}

/// KRM mode entry: `Some` when the input is a ResourceList whose
/// functionConfig is a [`KIND`] (the caller then skips rendering).
pub fn dispatch(input: &[u8]) -> Option<ResourceList> {
    // Cheap test first: most inputs are render requests. (`str::contains`
    // is a two-way search, far cheaper on large lists than comparing every
    // window; input that is not UTF-8 is no ResourceList anyway.)
    if !std::str::from_utf8(input).is_ok_and(|s| s.contains(KIND)) {
        return None;
    }
    let rl = ResourceList::from_bytes(input).ok()?;
    if !rl.function_config.as_ref().is_some_and(is_check_config) {
        return None;
    }
    Some(run_krm(rl))
}

/// `redis-sentinel-fn check` on parsed documents: a single ResourceList
/// gives a ResourceList back (items unchanged, results added); any other
/// stream gives the results as a YAML list. Returns the output and whether
/// there was an error.
pub fn run_cli(docs: Vec<Value>) -> anyhow::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    if docs.len() == 1 && docs[0].str_at(&["kind"]) == Some(crate::krm::KIND) {
        let mut rl = ResourceList::from_value(docs.into_iter().next().unwrap_or_default())?;
        let results = check(&rl.items);
        rl.results.extend(results);
        rl.write(&mut out)?;
        return Ok((out, rl.has_errors()));
    }
    let mut results = check(&docs);
    if !docs
        .iter()
        .any(|d| d.annotation(INSTANCE_ANNOTATION).is_some())
    {
        // A pipeline that checks the wrong path must not pass.
        results = vec![KrmResult::error(format!(
            "nothing to check: none of the {} documents read is an object rendered by redis-sentinel-fn (none carries the {INSTANCE_ANNOTATION} annotation). `check` reads rendered output, not a spec: e.g. `redis-sentinel-fn render -f spec.yaml | redis-sentinel-fn check`",
            docs.len()
        ))];
    }
    let failed = results
        .iter()
        .any(|r| r.severity == crate::krm::Severity::Error);
    serde_norway::to_writer(&mut out, &results)?;
    Ok((out, failed))
}

/// One line per error or warning, for people (standard error; kustomize
/// shows a failing function's standard error, not its results).
pub fn human(results: &[KrmResult]) -> String {
    let mut s = String::new();
    for r in results
        .iter()
        .filter(|r| r.severity != crate::krm::Severity::Info)
    {
        let level = match r.severity {
            crate::krm::Severity::Error => "error",
            crate::krm::Severity::Warning => "warning",
            crate::krm::Severity::Info => "info",
        };
        let what = r
            .resource_ref
            .as_ref()
            .map(|rr| match &rr.namespace {
                Some(ns) => format!("{} {ns}/{}: ", rr.kind, rr.name),
                None => format!("{} {}: ", rr.kind, rr.name),
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "{level}: {}\n",
            crate::krm::escape_text(&format!("{what}{}", r.message))
        ));
    }
    s
}

/// Checks every instance found among `items`. Returns one `error` result
/// per fault and an `info` summary (a `warning` when no instance is found).
pub fn check(items: &[Value]) -> Vec<KrmResult> {
    let mut instances: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for item in items {
        if let Some(key) = item.annotation(INSTANCE_ANNOTATION) {
            instances.entry(key.to_string()).or_default().push(item);
        }
    }
    if instances.is_empty() {
        return vec![KrmResult::warning(format!(
            "no objects rendered by redis-sentinel-fn found (none carries the {INSTANCE_ANNOTATION} annotation): nothing checked"
        ))];
    }
    let mut out = Vec::new();
    for (key, objs) in &instances {
        let mut c = Checker {
            key,
            objs,
            all: items,
            results: Vec::new(),
            seen: BTreeSet::new(),
        };
        c.run();
        let errors = c
            .results
            .iter()
            .filter(|r| r.severity == crate::krm::Severity::Error)
            .count();
        let warnings = c.results.len() - errors;
        out.extend(c.results);
        out.extend(crate::pod_files::migration::check_note(key, objs));
        out.extend(reload::check_note(key, objs));
        out.push(KrmResult::info(match (errors, warnings) {
            (0, 0) => format!(
                "redis-sentinel-fn check: instance {key} ({} objects) is consistent",
                objs.len()
            ),
            (0, w) => format!(
                "redis-sentinel-fn check: instance {key} ({} objects) is consistent, {w} warning(s)",
                objs.len()
            ),
            (e, w) => format!("redis-sentinel-fn check: instance {key}: {e} error(s), {w} warning(s)"),
        }));
    }
    out
}

struct Checker<'a> {
    /// `<namespace>/<name>` the instance was rendered as.
    key: &'a str,
    objs: &'a [&'a Value],
    /// Every input item: Secrets made outside the function (cert-manager,
    /// the service CA, the user) do not carry the instance annotation.
    all: &'a [Value],
    results: Vec<KrmResult>,
    /// Script settings already reported (both scripts hold the same ones).
    seen: BTreeSet<String>,
}

#[cfg(test)]
mod tests {
    use super::certificates::san_covers;
    use super::checker::rename_fix;
    use super::scripts::script_vars;
    use super::*;

    #[test]
    fn script_settings_are_read() {
        let v = script_vars(
            "#!/bin/sh\nset -eu\nNAMESPACE=\"shop\"\nTLS_DIR=\"${TLS_DIR:-/x}\"\nlower=\"no\"\nNAMESPACE=\"later\"\n",
        );
        assert_eq!(v.get("NAMESPACE").map(String::as_str), Some("shop"));
        assert!(!v.contains_key("lower"));
        assert_eq!(v.get("TLS_DIR").map(String::as_str), Some("${TLS_DIR:-/x}"));
        // As renders write them now: single-quoted shell words.
        let v = script_vars(&format!(
            "NAMESPACE={}\nMASTER_NAME={}\n",
            crate::pod_files::sh_quote("shop"),
            crate::pod_files::sh_quote("it's")
        ));
        assert_eq!(v.get("NAMESPACE").map(String::as_str), Some("shop"));
        assert_eq!(v.get("MASTER_NAME").map(String::as_str), Some("it's"));
    }

    #[test]
    fn wildcards_cover_one_label() {
        let sans: BTreeSet<String> = ["*.h.ns.svc.cluster.local".to_string(), "svc".into()]
            .into_iter()
            .collect();
        assert!(san_covers(&sans, "p-0.h.ns.svc.cluster.local"));
        assert!(!san_covers(&sans, "a.p-0.h.ns.svc.cluster.local"));
        assert!(san_covers(&sans, "svc"));
        assert!(!san_covers(&sans, "svc.ns"));
    }

    #[test]
    fn rename_fixes_name_the_transformer() {
        let f = rename_fix("cache", "cache-redis", "dev-cache-redis");
        assert!(f.contains("metadata.name: dev-cache"), "{f}");
        assert!(f.contains("namePrefix: dev-"), "{f}");
        let f = rename_fix("cache", "cache-redis", "cache-redis-v2");
        assert!(f.contains("nameSuffix: -v2"), "{f}");
        let f = rename_fix("cache", "cache-redis", "other");
        assert!(f.contains("do not rename"), "{f}");
    }
}
