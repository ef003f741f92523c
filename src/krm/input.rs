//! One YAML document from raw input, and what went wrong when it is not
//! one: [`InputError`] and the [`Position`] (line and column) it names.

use serde_norway::Value;

use super::resource_list::KIND;

use super::lexer::check_flow_depth;
use super::limits::{MAX_FLOW_DEPTH, max_document_bytes, strip_bom};
use super::results::{FieldError, KrmResult};

/// Why an input could not be read as a `ResourceList`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("could not read input: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "input is larger than the {limit}-byte limit at {at} (set REDIS_SENTINEL_FN_MAX_INPUT_BYTES to raise it)"
    )]
    TooLarge { limit: u64, at: Position },
    #[error(
        "input is a {size}-byte YAML document, over the {limit}-byte limit for one document at {at}; a larger {KIND} must list its items in block style (a line `items:`, then each item starting with `- ` at column 0), as kpt and kustomize write it (set REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES to raise the limit)"
    )]
    DocumentTooLarge { size: u64, limit: u64, at: Position },
    #[error(
        "input nests [ ] or {{ }} more than {limit} levels deep at {at}; no resource is nested that deep"
    )]
    TooDeep { at: Position, limit: usize },
    #[error(
        "input is empty at {at}: expected a {KIND} on standard input (or use `render -f spec.yaml`)"
    )]
    Empty { at: Position },
    #[error("input is not valid UTF-8 at {at}{}", in_item(*.item))]
    NotUtf8 { at: Position, item: Option<usize> },
    #[error("input is not valid YAML: {0}")]
    Yaml(String),
    #[error(
        "input holds {count} YAML documents (the second starts at {at}); a {KIND} is exactly one"
    )]
    MultipleDocuments { count: usize, at: Position },
    #[error("{0}")]
    Shape(FieldError),
}

/// A place in the input: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

impl Position {
    /// The position of byte `offset` of `text` (clamped to its length).
    /// memchr and the standard library's character count keep this fast on
    /// many megabytes, even in unoptimized test builds.
    pub fn of(text: &[u8], offset: usize) -> Position {
        let before = &text[..offset.min(text.len())];
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        Position {
            line: 1 + memchr::memchr_iter(b'\n', before).count(),
            column: 1 + String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count(),
        }
    }
}

impl InputError {
    pub fn to_result(&self) -> KrmResult {
        match self {
            InputError::Shape(fe) if fe.field.is_empty() => KrmResult::error(fe.message.clone()),
            InputError::Shape(fe) => fe.to_result(),
            InputError::Yaml(msg) => {
                let r = KrmResult::error(self.to_string());
                match yaml_error_field(msg) {
                    Some(field) => r.with_field(field),
                    None => r,
                }
            }
            other => KrmResult::error(other.to_string()),
        }
    }
}

/// The field a YAML error is about: serde_norway starts the message with
/// its path (`functionConfig.spec.redis: duplicate entry ...`). Paths in
/// the function config are given from it, as for every spec error.
fn yaml_error_field(msg: &str) -> Option<String> {
    let (path, _) = msg.split_once(": ")?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-/[]".contains(c);
    if path.is_empty()
        || !path.chars().all(plain)
        || !path.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return None;
    }
    let path = path.strip_prefix("functionConfig.").unwrap_or(path);
    Some(path.to_string())
}

/// Parses exactly one YAML document into a value (at most
/// [`max_document_bytes`] of it).
pub fn parse_single_document(bytes: &[u8]) -> Result<Value, InputError> {
    let bytes = strip_bom(bytes);
    let limit = max_document_bytes();
    if bytes.len() as u64 > limit {
        return Err(InputError::DocumentTooLarge {
            size: bytes.len() as u64,
            limit,
            at: Position::of(bytes, usize::try_from(limit).unwrap_or(usize::MAX)),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = Position::of(bytes, e.valid_up_to());
        InputError::NotUtf8 {
            at,
            item: item_at_line(&String::from_utf8_lossy(bytes), at.line),
        }
    })?;
    let empty = || InputError::Empty {
        at: Position::of(bytes, bytes.len()),
    };
    if text.trim().is_empty() {
        return Err(empty());
    }
    check_flow_depth(bytes, MAX_FLOW_DEPTH)?;
    let mut docs = Vec::with_capacity(1);
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = Value::deserialize_from(doc).map_err(|e| {
            let mut msg = yaml_message(text, &e);
            if let Some(line) = e.location().map(|l| l.line()) {
                msg.push_str(&in_item(item_at_line(text, line)));
            }
            InputError::Yaml(msg)
        })?;
        if !v.is_null() || docs.is_empty() {
            docs.push(v);
        }
        if docs.len() > 1 {
            break;
        }
    }
    match docs.len() {
        0 => Err(empty()),
        1 => {
            let v = docs.pop().unwrap_or(Value::Null);
            if v.is_null() { Err(empty()) } else { Ok(v) }
        }
        n => Err(InputError::MultipleDocuments {
            count: n,
            at: second_document(text),
        }),
    }
}

/// A YAML error with the place it happened as `line L column C`: libyaml
/// gives a byte position at the very start of the input, and some errors
/// (the alias repetition limit) have none; those point at the first alias.
pub fn yaml_message(text: &str, e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    // libyaml's reader (invalid characters) gives a byte offset instead.
    if let Some(i) = msg.rfind(" at position ")
        && let Ok(offset) = msg[i + 13..].parse::<usize>()
    {
        return format!("{} at {}", &msg[..i], Position::of(text.as_bytes(), offset));
    }
    if has_line_and_column(&msg) {
        return msg;
    }
    match e.location() {
        Some(l) => format!("{msg} at line {} column {}", l.line(), l.column()),
        None => match first_alias(text) {
            Some(at) => format!("{msg} (aliases expand too far; the first alias is at {at})"),
            None => format!("{msg} at {}", Position::of(text.as_bytes(), text.len())),
        },
    }
}

/// Whether a message carries `line N column M`.
pub fn has_line_and_column(msg: &str) -> bool {
    msg.match_indices("line ").any(|(i, _)| {
        let rest = &msg[i + 5..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(" column ")
    })
}

/// Where the first alias (`*name` where a node starts) is.
fn first_alias(text: &str) -> Option<Position> {
    let b = text.as_bytes();
    (0..b.len())
        .find(|&i| {
            b[i] == b'*'
                && (i == 0 || matches!(b[i - 1], b' ' | b'\n' | b'[' | b',' | b'\t'))
                && b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric())
        })
        .map(|i| Position::of(b, i))
}

/// ` (in items[N])`, or nothing.
fn in_item(item: Option<usize>) -> String {
    item.map(|i| format!(" (in items[{i}])"))
        .unwrap_or_default()
}

/// The item of a block-style `items:` list (as kpt and kustomize write
/// it: `items:` at column 0, each item starting with `- ` at column 0) that
/// holds 1-based `line`, if any.
fn item_at_line(text: &str, line: usize) -> Option<usize> {
    let mut item: Option<usize> = None;
    let mut in_items = false;
    for (n, l) in text.split('\n').enumerate().take(line) {
        if l.trim_end() == "items:" {
            in_items = true;
            item = None;
        } else if in_items && (l.starts_with("- ") || l.trim_end() == "-") {
            item = Some(item.map_or(0, |i| i + 1));
        } else if in_items && !l.is_empty() && !l.starts_with([' ', '#']) {
            in_items = false;
            item = None;
        }
        if n + 1 == line {
            return if in_items { item } else { None };
        }
    }
    None
}

/// Where the content of a document starts: the first line that is not
/// blank, a comment, a directive or `---`.
pub(super) fn first_content(bytes: &[u8]) -> Position {
    let text = String::from_utf8_lossy(strip_bom(bytes));
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if !(t.is_empty() || t.starts_with('#') || t.starts_with('%') || t == "---") {
            let indent = line.len() - line.trim_start().len();
            return Position::of(text.as_bytes(), offset + indent);
        }
        offset += line.len();
    }
    Position::of(text.as_bytes(), 0)
}

/// The start of the second document: the first `---` line after content.
fn second_document(text: &str) -> Position {
    let mut seen_content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if seen_content && (t == "---" || t.starts_with("--- ")) {
            return Position::of(text.as_bytes(), offset);
        }
        if !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') && t != "---" {
            seen_content = true;
        }
        offset += line.len();
    }
    Position::of(text.as_bytes(), text.len())
}

trait DeserializeFrom: Sized {
    fn deserialize_from(d: serde_norway::Deserializer<'_>) -> Result<Self, serde_norway::Error>;
}

impl DeserializeFrom for Value {
    fn deserialize_from(d: serde_norway::Deserializer<'_>) -> Result<Self, serde_norway::Error> {
        serde::Deserialize::deserialize(d)
    }
}
