//! The spec given as a ConfigMap (`kpt fn eval ... -- key=value`):
//! `data` keys are dotted spec paths (`redis.replicas: "3"`), values are
//! parsed as YAML scalars or flow collections.

use serde_norway::{Mapping, Value};

use super::model::{ResourceMeta, Spec};
use crate::krm::FieldError;

pub(super) fn spec_from_configmap(fc: &Value) -> Result<(Spec, ResourceMeta), Vec<FieldError>> {
    let meta: ResourceMeta = match fc.get("metadata") {
        Some(m) => super::deserialize(m, "metadata.")?,
        None => ResourceMeta {
            name: None,
            namespace: None,
            annotations: Default::default(),
            labels: Default::default(),
        },
    };
    let mut root = Mapping::new();
    let mut errors = Vec::new();
    let data = match fc.get("data") {
        None | Some(Value::Null) => Mapping::new(),
        Some(Value::Mapping(m)) => m.clone(),
        Some(_) => {
            return Err(vec![FieldError::new(
                "data",
                "ConfigMap data must be a map of strings",
            )]);
        }
    };
    for (k, v) in &data {
        let Some(key) = k.as_str() else {
            errors.push(FieldError::new(
                "data",
                "ConfigMap data keys must be strings",
            ));
            continue;
        };
        let Some(text) = v.as_str() else {
            errors.push(FieldError::new(
                format!("data.{key}"),
                "ConfigMap data values must be strings",
            ));
            continue;
        };
        // Text nested too deep for the YAML parser to be quick is a string.
        let yaml = crate::krm::check_flow_depth(text.as_bytes(), crate::krm::MAX_FLOW_DEPTH)
            .ok()
            .map(|()| serde_norway::from_str::<Value>(text));
        // Tags anywhere in the value, also those serde_norway would drop
        // (`!!int 3`, found in a probe copy).
        if let Some(copy) = text
            .contains('!')
            .then(|| crate::krm::tags::probe_copy(text).unwrap_or_else(|| text.to_string()))
            && crate::krm::check_flow_depth(copy.as_bytes(), crate::krm::MAX_FLOW_DEPTH).is_ok()
            && let Ok(v) = serde_norway::from_str::<Value>(&copy)
        {
            let tags =
                crate::krm::tags::find_tags(&v, &format!("data.{key}."), &format!("data.{key}"));
            if !tags.is_empty() {
                errors.extend(tags);
                continue;
            }
        }
        let parsed: Value = match yaml.unwrap_or_else(|| Ok(Value::String(text.to_string()))) {
            Ok(Value::Tagged(t)) => {
                errors.push(FieldError::new(
                    format!("data.{key}"),
                    format!(
                        "YAML tag {} is not supported in the function config: write the plain value",
                        t.tag
                    ),
                ));
                continue;
            }
            Ok(Value::Null)
                if !text.trim().is_empty() && text.trim() != "null" && text.trim() != "~" =>
            {
                Value::String(text.to_string())
            }
            Ok(v) => v,
            Err(_) => Value::String(text.to_string()),
        };
        // Strings stay strings where the spec wants them (e.g. names that look like numbers).
        let parsed = match (&parsed, key) {
            (
                Value::Number(_) | Value::Bool(_),
                "name" | "namespace" | "image" | "clusterDomain",
            ) => Value::String(text.to_string()),
            (Value::Number(_) | Value::Bool(_), k) if super::migration::string_key(k) => {
                Value::String(text.to_string())
            }
            _ => parsed,
        };
        if let Err(e) = insert_path(&mut root, key, parsed) {
            errors.push(FieldError::new(format!("data.{key}"), e));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The ConfigMap's own name is the kpt function-config name, not the
    // instance name: only data.name names the instance.
    let meta = ResourceMeta {
        name: None,
        namespace: None,
        ..meta
    };
    let spec: Spec = super::deserialize(&Value::Mapping(root), "data.")?;
    Ok((spec, meta))
}

fn insert_path(root: &mut Mapping, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "key {key:?} is not a dotted spec path such as redis.replicas"
        ));
    }
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let k = Value::String((*part).to_string());
        if i == parts.len() - 1 {
            if cur.contains_key(&k) {
                return Err(format!("key {key:?} conflicts with another data key"));
            }
            cur.insert(k, value);
            return Ok(());
        }
        let entry = cur
            .entry(k)
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        cur = match entry {
            Value::Mapping(m) => m,
            _ => return Err(format!("key {key:?} conflicts with another data key")),
        };
    }
    Ok(())
}
