//! The `ResourceList` itself: read from one YAML document, its function
//! config's explicit tags noted, written back (items through the YAML
//! 1.1-safe emitter). Limits are in [`super::limits`], the document parse
//! and its errors in [`super::input`].

use std::io::Write;

use serde_norway::Value;

use super::input::{InputError, first_content, parse_single_document};
use super::limits::strip_bom;
use super::results::{FieldError, KrmResult};

pub const API_VERSION: &str = "config.kubernetes.io/v1";
pub const KIND: &str = "ResourceList";

/// A parsed `ResourceList`.
#[derive(Debug, Default)]
pub struct ResourceList {
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<KrmResult>,
}

impl ResourceList {
    /// Reads a `ResourceList` from raw input bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InputError> {
        let v = parse_single_document(bytes)?;
        let mut rl = Self::from_value(v).map_err(|e| match e {
            // The whole document has the wrong shape: say where it starts.
            InputError::Shape(fe) if fe.field.is_empty() => InputError::Shape(FieldError::new(
                "",
                format!(
                    "{} (the document starts at {})",
                    fe.message,
                    first_content(bytes)
                ),
            )),
            other => other,
        })?;
        rl.find_function_config_tags(strip_bom(bytes));
        Ok(rl)
    }

    /// Explicit YAML tags in the function config that the value tree does
    /// not show (`!!binary`, `!<uri>`): error results at their fields.
    pub fn find_function_config_tags(&mut self, text: &[u8]) {
        if let Ok(text) = std::str::from_utf8(text) {
            self.results.extend(
                super::tags::function_config_tags(text)
                    .iter()
                    .map(FieldError::to_result),
            );
        }
    }

    pub fn from_value(v: Value) -> Result<Self, InputError> {
        let shape = |field: &str, msg: String| InputError::Shape(FieldError::new(field, msg));
        let Value::Mapping(mut m) = v else {
            return Err(shape(
                "",
                format!("input must be a {KIND} mapping (apiVersion: {API_VERSION}, kind: {KIND})"),
            ));
        };
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind != KIND {
            return Err(shape(
                "kind",
                format!(
                    "input has kind {kind:?}; a KRM function reads a {KIND} (to render a spec file directly, use `redis-sentinel-fn render -f FILE`)"
                ),
            ));
        }
        let api = m
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !api.starts_with("config.kubernetes.io/") {
            return Err(shape(
                "apiVersion",
                format!("{KIND} apiVersion {api:?} is not {API_VERSION}"),
            ));
        }
        let items = match m.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Sequence(s)) => s,
            Some(_) => return Err(shape("items", "items must be a list of resources".into())),
        };
        for (i, item) in items.iter().enumerate() {
            if !item.is_mapping() {
                return Err(shape(
                    &format!("items[{i}]"),
                    "every item must be a resource (a mapping)".into(),
                ));
            }
        }
        let function_config = match m.remove("functionConfig") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Mapping(_)) => Some(v),
            Some(_) => {
                return Err(shape(
                    "functionConfig",
                    "functionConfig must be a resource (a mapping)".into(),
                ));
            }
        };
        Ok(ResourceList {
            items,
            function_config,
            results: Vec::new(),
        })
    }

    /// Whether any result is an error.
    pub fn has_errors(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.severity == super::Severity::Error)
    }

    /// Writes the list as YAML (see [`super::yaml`] for why not serde_norway's emitter).
    pub fn write(&self, mut w: impl Write) -> anyhow::Result<()> {
        let mut out = String::with_capacity(4096);
        out.push_str("apiVersion: ");
        out.push_str(API_VERSION);
        out.push_str("\nkind: ");
        out.push_str(KIND);
        out.push('\n');
        if self.items.is_empty() {
            out.push_str("items: []\n");
        } else {
            out.push_str("items:\n");
            for item in &self.items {
                out.push_str("- ");
                super::yaml::emit_item(item, &mut out);
            }
        }
        if !self.results.is_empty() {
            super::yaml::emit_entry("results", &serde_norway::to_value(&self.results)?, &mut out);
        }
        w.write_all(out.as_bytes())?;
        w.flush()?;
        Ok(())
    }
}
