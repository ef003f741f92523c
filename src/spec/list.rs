//! `kind: RedisSentinelList`: several instances rendered in one function
//! run, so that a consumer Secret can take its parts from different
//! instances (3scale's `backend-redis` holds storage and queues).
//!
//! A kustomize generator sees only its own functionConfig (no other
//! generator's, no resources), and each kpt or Argo CD function run sees
//! one functionConfig: the instances whose parts end in one Secret must be
//! in one functionConfig. Each entry is a RedisSentinel without
//! `apiVersion`/`kind`; its namespace defaults to the list's. Errors name
//! the entry: `spec.instances[1].spec.redis.replicas`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_norway::Value;

use super::consumers::{ConsumerKind, Part};
use super::model::{API_VERSION, ResourceMeta, Spec};
use super::{Instance, validate};
use crate::krm::FieldError;

pub const KIND: &str = "RedisSentinelList";
/// Most instances one list renders.
pub const MAX_INSTANCES: usize = 16;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListResource {
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default = "no_meta")]
    metadata: ResourceMeta,
    #[serde(default)]
    spec: ListSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListSpec {
    #[serde(default)]
    instances: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default = "no_meta")]
    metadata: ResourceMeta,
    #[serde(default)]
    spec: Spec,
}

fn no_meta() -> ResourceMeta {
    ResourceMeta {
        name: None,
        namespace: None,
        annotations: Default::default(),
        labels: Default::default(),
    }
}

/// The instances of a `RedisSentinelList`, validated each on its own and
/// together (no instance twice, every 3scale part served exactly once).
pub fn instances(fc: &Value) -> Result<Vec<Instance>, Vec<FieldError>> {
    let list: ListResource = super::deserialize(fc, "")?;
    if list.api_version != API_VERSION {
        return Err(vec![FieldError::new(
            "apiVersion",
            format!(
                "unsupported apiVersion {:?} for kind {KIND}; use {API_VERSION}",
                list.api_version
            ),
        )]);
    }
    let entries = &list.spec.instances;
    if entries.is_empty() || entries.len() > MAX_INSTANCES {
        return Err(vec![FieldError::new(
            "spec.instances",
            format!(
                "a {KIND} holds 1 to {MAX_INSTANCES} instances, not {}",
                entries.len()
            ),
        )]);
    }
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("spec.instances[{i}].");
        let mut meta = e.metadata.clone();
        meta.namespace = meta.namespace.or_else(|| list.metadata.namespace.clone());
        match validate::resolve(&e.spec, &meta, "spec.") {
            Ok(mut inst) => {
                inst.field_prefix = format!("{at}spec.");
                inst.warnings = inst.warnings.into_iter().map(|w| within(w, &at)).collect();
                all.push(inst);
            }
            Err(es) => errors.extend(es.into_iter().map(|e| within(e, &at))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    errors.extend(duplicates(&all));
    errors.extend(threescale_parts(&all));
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(errors)
    }
}

/// A field of an entry, as a path from the list.
fn within(mut e: FieldError, at: &str) -> FieldError {
    if e.field.starts_with("spec.") || e.field.starts_with("metadata.") {
        e.field = format!("{at}{}", e.field);
    }
    e
}

/// The same instance (namespace and name) twice would render every object
/// twice.
fn duplicates(all: &[Instance]) -> Vec<FieldError> {
    let mut seen = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, inst) in all.iter().enumerate() {
        let key = (inst.namespace.as_str(), inst.name.as_str());
        if let Some(first) = seen.insert(key, i) {
            errors.push(FieldError::new(
                format!("spec.instances[{i}].metadata.name"),
                format!(
                    "instance {}/{} is already spec.instances[{first}]: give each instance its own name",
                    inst.namespace, inst.name
                ),
            ));
        }
    }
    errors
}

/// Who serves a part of a 3scale Secret: instance and consumer index.
type Server = (Part, usize, usize);

/// Every 3scale Secret (namespace, name) gets each of its parts from
/// exactly one consumer of one instance: `backend-redis` storage and
/// queues, `system-redis` system. Also for a single instance, whose
/// consumers must then serve every part themselves.
pub fn threescale_parts(all: &[Instance]) -> Vec<FieldError> {
    let mut secrets: BTreeMap<(&str, &str), Vec<Server>> = BTreeMap::new();
    for (k, inst) in all.iter().enumerate() {
        for (ci, c) in inst.consumers.iter().enumerate() {
            let ConsumerKind::ThreeScale(t) = &c.kind else {
                continue;
            };
            for p in t.parts.iter() {
                let key = (c.namespace.as_str(), t.secret_of(p));
                secrets.entry(key).or_default().push((p, k, ci));
            }
        }
    }
    let field = |k: usize, ci: usize| format!("{}consumers[{ci}].parts", all[k].field_prefix);
    let who = |k: usize, ci: usize| {
        format!(
            "consumer {} of instance {}/{}",
            all[k].consumers[ci].name, all[k].namespace, all[k].name
        )
    };
    let mut errors = Vec::new();
    for ((ns, name), servers) in &secrets {
        let mut by_part: BTreeMap<Part, (usize, usize)> = BTreeMap::new();
        for &(p, k, ci) in servers {
            if let Some(&(k0, c0)) = by_part.get(&p) {
                errors.push(FieldError::new(
                    field(k, ci),
                    format!(
                        "the {} part of Secret {ns}/{name} is already served by {}: each part comes from one instance",
                        p.as_str(),
                        who(k0, c0)
                    ),
                ));
            } else {
                by_part.insert(p, (k, ci));
            }
        }
        let backend = by_part.contains_key(&Part::Storage) || by_part.contains_key(&Part::Queues);
        let system = by_part.contains_key(&Part::System);
        let needed: &[Part] = match (backend, system) {
            (true, false) => &[Part::Storage, Part::Queues],
            (false, true) => &[Part::System],
            _ => {
                let &(_, k, ci) = &servers[0];
                errors.push(FieldError::new(
                    field(k, ci),
                    format!("Secret {ns}/{name} would be both a backend and a system Secret: give backendSecretName and systemSecretName different names"),
                ));
                continue;
            }
        };
        for p in needed.iter().filter(|p| !by_part.contains_key(p)) {
            let &(_, k, ci) = &servers[0];
            errors.push(FieldError::new(
                field(k, ci),
                format!(
                    "Secret {ns}/{name} has no {} part: 3scale reads it from that Secret; add {} to the parts of this consumer, or of a 3scale consumer in namespace {ns} of another instance of the same {KIND}",
                    p.as_str(),
                    p.as_str()
                ),
            ));
        }
    }
    errors
}
