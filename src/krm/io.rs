//! Reading and writing `ResourceList`s.

use std::io::{Read, Write};

use serde::Serialize;
use serde_norway::{Mapping, Value};

use super::results::{FieldError, KrmResult};

pub const API_VERSION: &str = "config.kubernetes.io/v1";
pub const KIND: &str = "ResourceList";

/// Largest input accepted (bytes); larger input is refused with an error
/// result instead of exhausting memory. Override with
/// `REDIS_SENTINEL_FN_MAX_INPUT_BYTES`.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 96 * 1024 * 1024;

/// A parsed `ResourceList`.
#[derive(Debug, Default)]
pub struct ResourceList {
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<KrmResult>,
}

/// Why an input could not be read as a `ResourceList`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("could not read input: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "input is larger than the {limit}-byte limit (set REDIS_SENTINEL_FN_MAX_INPUT_BYTES to raise it)"
    )]
    TooLarge { limit: u64 },
    #[error("input is empty: expected a {KIND} on standard input (or use `render -f spec.yaml`)")]
    Empty,
    #[error("input is not valid UTF-8 (byte offset {0})")]
    NotUtf8(usize),
    #[error("input is not valid YAML: {0}")]
    Yaml(String),
    #[error("input holds {0} YAML documents; a {KIND} is exactly one")]
    MultipleDocuments(usize),
    #[error("{0}")]
    Shape(FieldError),
}

impl InputError {
    pub fn to_result(&self) -> KrmResult {
        match self {
            InputError::Shape(fe) => fe.to_result(),
            other => KrmResult::error(other.to_string()),
        }
    }
}

pub fn max_input_bytes() -> u64 {
    std::env::var("REDIS_SENTINEL_FN_MAX_INPUT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_INPUT_BYTES)
}

/// Reads all of `r`, refusing more than `limit` bytes.
pub fn read_limited(r: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(buf)
}

/// Parses exactly one YAML document into a value.
pub fn parse_single_document(bytes: &[u8]) -> Result<Value, InputError> {
    let text = std::str::from_utf8(bytes).map_err(|e| InputError::NotUtf8(e.valid_up_to()))?;
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    let mut docs = Vec::with_capacity(1);
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = Value::deserialize_from(doc).map_err(|e| InputError::Yaml(e.to_string()))?;
        if !v.is_null() || docs.is_empty() {
            docs.push(v);
        }
        if docs.len() > 1 {
            break;
        }
    }
    match docs.len() {
        0 => Err(InputError::Empty),
        1 => {
            let v = docs.pop().unwrap_or(Value::Null);
            if v.is_null() {
                Err(InputError::Empty)
            } else {
                Ok(v)
            }
        }
        n => Err(InputError::MultipleDocuments(n)),
    }
}

trait DeserializeFrom: Sized {
    fn deserialize_from(d: serde_norway::Deserializer<'_>) -> Result<Self, serde_norway::Error>;
}

impl DeserializeFrom for Value {
    fn deserialize_from(d: serde_norway::Deserializer<'_>) -> Result<Self, serde_norway::Error> {
        serde::Deserialize::deserialize(d)
    }
}

impl ResourceList {
    /// Reads a `ResourceList` from raw input bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InputError> {
        let v = parse_single_document(bytes)?;
        Self::from_value(v)
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

    /// Writes the list as YAML.
    pub fn write(&self, w: impl Write) -> anyhow::Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out<'a> {
            api_version: &'static str,
            kind: &'static str,
            items: &'a [Value],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            results: &'a [KrmResult],
        }
        let mut w = std::io::BufWriter::new(w);
        serde_norway::to_writer(
            &mut w,
            &Out {
                api_version: API_VERSION,
                kind: KIND,
                items: &self.items,
                results: &self.results,
            },
        )?;
        w.flush()?;
        Ok(())
    }
}

/// Small accessors on untyped items.
pub trait ItemExt {
    fn str_at(&self, path: &[&str]) -> Option<&str>;
    fn annotations(&self) -> Option<&Mapping>;
}

impl ItemExt for Value {
    fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut cur = self;
        for p in path {
            cur = cur.get(*p)?;
        }
        cur.as_str()
    }

    fn annotations(&self) -> Option<&Mapping> {
        self.get("metadata")?.get("annotations")?.as_mapping()
    }
}
