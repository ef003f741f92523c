//! KRM `results` entries.

use serde::Serialize;

use crate::object::ItemExt;

/// Severity of a result, as the KRM functions specification defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// Identifies the resource a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// The reference to an untyped item (empty where it has no such field).
    pub fn of(item: &serde_norway::Value) -> Self {
        ResourceRef {
            api_version: item.str_at(&["apiVersion"]).unwrap_or_default().to_string(),
            kind: item.kind().to_string(),
            name: item.name().to_string(),
            namespace: item.namespace().map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub path: String,
}

/// One entry of `ResourceList.results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KrmResult {
    pub message: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
}

impl KrmResult {
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        KrmResult {
            message: message.into(),
            severity,
            resource_ref: None,
            field: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }

    pub fn with_field(mut self, path: impl Into<String>) -> Self {
        self.field = Some(Field { path: path.into() });
        self
    }

    pub fn with_ref(mut self, r: ResourceRef) -> Self {
        self.resource_ref = Some(r);
        self
    }
}

/// A problem with one field of the input: becomes an `error` result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn to_result(&self) -> KrmResult {
        KrmResult::error(self.message.clone()).with_field(self.field.clone())
    }
}

/// `s` safe to print on a terminal, one line: control characters (line
/// breaks, ESC, ...), Unicode line/paragraph separators and bidirectional
/// overrides are written as `\n`, `\u{1b}`, ... so that a value cannot
/// forge a line of output or drive the terminal. KRM output needs no such
/// step: its YAML emitter quotes the same characters.
pub fn escape_text(s: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    };
    if !s.chars().any(unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_text;

    #[test]
    fn terminal_text_is_one_safe_line() {
        assert_eq!(escape_text("plain ü"), "plain ü");
        assert_eq!(
            escape_text("a\nerror: forged\u{1b}[31m\u{202e}"),
            "a\\nerror: forged\\u{1b}[31m\\u{202e}"
        );
    }
}
