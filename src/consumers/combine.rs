//! Consumer Secrets whose parts come from several instances of one run
//! (a `RedisSentinelList`): 3scale's `backend-redis` with storage from one
//! instance and queues from another. Each instance renders the keys of its
//! own parts (its Sentinels, master name, CA, client certificate, user);
//! here the pieces of one Secret become one Secret.
//!
//! The combined Secret is owned by the instance of its first piece (list
//! order), like any generated item, so a re-run replaces it; the
//! `fn.redis-sentinel.dev/parts` annotation names the instance of every
//! part (a later unseeded render finds each consumer password there).

use std::collections::BTreeMap;

use serde_norway::{Mapping, Value};

use super::CONSUMER_ANNOTATION;
use crate::object::ItemExt;
use crate::object::marks::PARTS_ANNOTATION;
use crate::ownership;
use crate::spec::Instance;
use crate::spec::consumers::ConsumerKind;

/// Merges, across `outputs` (the items rendered for each of `insts`, in
/// the same order), the consumer Secrets that share namespace and name.
pub fn combine(insts: &[Instance], outputs: &mut [Vec<Value>]) {
    let mut groups: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    for (k, items) in outputs.iter().enumerate() {
        for (j, item) in items.iter().enumerate() {
            if item.str_at(&["kind"]) != Some("Secret")
                || item.annotation(CONSUMER_ANNOTATION).is_none()
            {
                continue;
            }
            let ns = item.str_at(&["metadata", "namespace"]).unwrap_or_default();
            let name = item.str_at(&["metadata", "name"]).unwrap_or_default();
            groups
                .entry((ns.to_string(), name.to_string()))
                .or_default()
                .push((k, j));
        }
    }
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for ((ns, name), members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let mut data: BTreeMap<String, Value> = BTreeMap::new();
        for &(k, j) in &members {
            if let Some(Value::Mapping(d)) = outputs[k][j].get("data") {
                for (key, v) in d {
                    if let Some(key) = key.as_str() {
                        data.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
        let parts = parts_annotation(insts, &members, &ns, &name);
        let (k0, j0) = members[0];
        let first = &mut outputs[k0][j0];
        if let Some(m) = first.as_mapping_mut() {
            m.insert(
                Value::String("data".into()),
                Value::Mapping(
                    data.into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                ),
            );
        }
        set_annotation(first, PARTS_ANNOTATION, &parts);
        dropped.extend(&members[1..]);
    }
    dropped.sort_unstable();
    for (k, j) in dropped.into_iter().rev() {
        outputs[k].remove(j);
    }
}

/// `storage=<ns>/<name>,queues=<ns>/<name>`: who serves each part of
/// Secret `ns/name`, in part order.
fn parts_annotation(
    insts: &[Instance],
    members: &[(usize, usize)],
    ns: &str,
    name: &str,
) -> String {
    let mut parts = Vec::new();
    for &(k, _) in members {
        for c in insts[k].consumers.iter().filter(|c| c.namespace == ns) {
            if let ConsumerKind::ThreeScale(t) = &c.kind {
                for p in t.parts.iter().filter(|p| t.secret_of(*p) == name) {
                    parts.push((p, ownership::instance_key(&insts[k])));
                }
            }
        }
    }
    parts.sort();
    parts
        .iter()
        .map(|(p, i)| format!("{}={i}", p.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Sets one annotation, keeping the annotations sorted.
fn set_annotation(item: &mut Value, key: &str, value: &str) {
    let Some(meta) = item.get_mut("metadata").and_then(Value::as_mapping_mut) else {
        return;
    };
    let mut sorted: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(Value::Mapping(old)) = meta.get("annotations") {
        for (k, v) in old {
            if let Some(k) = k.as_str() {
                sorted.insert(k.to_string(), v.clone());
            }
        }
    }
    sorted.insert(key.to_string(), Value::String(value.to_string()));
    let ann: Mapping = sorted
        .into_iter()
        .map(|(k, v)| (Value::String(k), v))
        .collect();
    meta.insert(Value::String("annotations".into()), Value::Mapping(ann));
}
