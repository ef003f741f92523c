//! Read access to untyped items (as a `ResourceList` carries them), after
//! kube-core's `ResourceExt`: one trait for every layer that reads items
//! back (`check`, the function, the pass-through fast path, ownership).

use std::collections::BTreeMap;

use serde_norway::{Mapping, Value};

pub trait ItemExt {
    /// The value at `path` (mapping keys), if every step is there.
    fn at(&self, path: &[&str]) -> Option<&Value>;
    /// The string at `path`, if it is a string.
    fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path)?.as_str()
    }
    /// `kind`, or `""`.
    fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or_default()
    }
    /// `metadata.name`, or `""`.
    fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or_default()
    }
    /// `metadata.namespace`.
    fn namespace(&self) -> Option<&str> {
        self.str_at(&["metadata", "namespace"])
    }
    /// `metadata.annotations`.
    fn annotations(&self) -> Option<&Mapping> {
        self.at(&["metadata", "annotations"])?.as_mapping()
    }
    /// The annotation `key`, if it is a string.
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations()?.get(key)?.as_str()
    }
    /// `metadata.labels`; see [`label_map`].
    fn labels(&self) -> BTreeMap<String, String> {
        label_map(self.at(&["metadata", "labels"]))
    }
}

impl ItemExt for Value {
    fn at(&self, path: &[&str]) -> Option<&Value> {
        let mut cur = self;
        for p in path {
            cur = cur.get(*p)?;
        }
        Some(cur)
    }
}

/// A label mapping (labels, selectors) as text: booleans and numbers as the
/// API server would refuse them but a transformer may have written them are
/// read as their text; other values are left out.
pub fn label_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_string(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}
