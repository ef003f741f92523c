//! Secret data both ways: typed Secrets the function builds (`data` from
//! text entries) and untyped items it reads back (a key's text, base64
//! decoded), for certificates, passwords and consumer Secrets alike.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::ByteString;
use serde_norway::Value;

/// The `data` of a Secret holding `entries` as text.
pub fn data(entries: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect()
}

/// The text of entry `key` of a Secret item: `data` (base64, whitespace
/// ignored) or `stringData`.
pub fn secret_data(secret: &Value, key: &str) -> Option<String> {
    if let Some(s) = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    secret
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}
