//! The spec model, how it is read from a functionConfig, and its validation.
//!
//! `model` is what users write; [`Instance`] is the resolved form with every
//! default applied, which the generators consume.

pub mod acl;
pub mod acl_commands;
pub mod advisories;
mod configmap;
pub mod consumers;
pub mod dns;
mod instance;
pub mod list;
mod messages;
pub mod metrics;
pub mod migration;
pub mod model;
pub mod quantity;
mod resources;
pub mod server;
pub mod sources;
pub mod validate;
pub mod window;

pub use instance::*;
pub use model::{AntiAffinity, ClientAuth, KeyAlgorithm, Platform};
pub use window::check_at;

use crate::krm::FieldError;
use serde_norway::Value;

/// Reads a functionConfig (custom resource or ConfigMap) into a validated
/// [`Instance`]. On failure, every problem found is returned, each naming
/// the field it is about.
pub fn from_function_config(fc: &Value) -> Result<Instance, Vec<FieldError>> {
    reject_tags(fc)?;
    let kind = fc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (spec, meta, prefix) = match kind {
        model::KIND => {
            let res: model::RedisSentinelResource = deserialize(fc, "")?;
            if res.api_version != model::API_VERSION {
                return Err(vec![FieldError::new(
                    "apiVersion",
                    format!(
                        "unsupported apiVersion {:?} for kind {}; use {}",
                        res.api_version,
                        model::KIND,
                        model::API_VERSION
                    ),
                )]);
            }
            (res.spec, res.metadata, "spec.")
        }
        "ConfigMap" => {
            let (spec, meta) = configmap::spec_from_configmap(fc)?;
            (spec, meta, "data.")
        }
        "" => {
            return Err(vec![FieldError::new(
                "functionConfig",
                "no functionConfig: pass a RedisSentinel resource (or a ConfigMap) as the function config",
            )]);
        }
        other => {
            return Err(vec![FieldError::new(
                "functionConfig.kind",
                format!(
                    "functionConfig of kind {other:?} is not supported; use kind {} or {} (apiVersion {}) or a ConfigMap",
                    model::KIND,
                    list::KIND,
                    model::API_VERSION
                ),
            )]);
        }
    };
    let inst = validate::resolve(&spec, &meta, prefix)?;
    // One instance serves every 3scale part it names alone.
    let errors = list::threescale_parts(std::slice::from_ref(&inst));
    if errors.is_empty() {
        Ok(inst)
    } else {
        Err(errors)
    }
}

/// Reads a functionConfig into the instances it renders: one for a
/// RedisSentinel or a ConfigMap, each entry of a `RedisSentinelList`.
pub fn instances_from_function_config(fc: &Value) -> Result<Vec<Instance>, Vec<FieldError>> {
    if fc.get("kind").and_then(Value::as_str) == Some(list::KIND) {
        reject_tags(fc)?;
        return list::instances(fc);
    }
    from_function_config(fc).map(|i| vec![i])
}

/// YAML tags (`!thing value`) mean nothing in a spec, and serde would drop
/// them silently (`replicas: !x 3` reads as 3) or report them as an
/// unrelated type error: each one is an error at its field. Tags that
/// serde_norway drops before this tree (`!!binary`, `!<uri>`) are found in
/// the input text ([`crate::krm::tags`]).
pub fn reject_tags(fc: &Value) -> Result<(), Vec<FieldError>> {
    let errors = crate::krm::tags::find_tags(fc, "", "functionConfig");
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Deserializes with the path of the failing field in the error.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(
    v: &Value,
    prefix: &str,
) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let field = format!("{prefix}{path}");
        let field = field.trim_end_matches('.').to_string();
        let inner = messages::humanize(&field, &e.inner().to_string());
        let field = if field.is_empty() {
            "functionConfig".to_string()
        } else {
            field
        };
        vec![FieldError::new(field, inner)]
    })
}

/// Parses a RedisSentinel YAML document into an instance (for tests).
#[cfg(test)]
pub(crate) fn test_instance(yaml: &str) -> Instance {
    let v: Value = serde_norway::from_str(yaml).expect("test spec is YAML");
    from_function_config(&v).expect("test spec is valid")
}

/// The smallest valid spec with `spec_body` (indented two spaces) added.
#[cfg(test)]
pub(crate) fn test_spec(spec_body: &str) -> Instance {
    test_instance(&format!(
        "apiVersion: {}\nkind: {}\nmetadata:\n  name: cache\n  namespace: ns\nspec:\n{spec_body}",
        model::API_VERSION,
        model::KIND
    ))
}
