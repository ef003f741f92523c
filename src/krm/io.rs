//! Reading and writing `ResourceList`s.

use std::io::{Read, Write};

use serde_norway::{Mapping, Value};

use super::results::{FieldError, KrmResult};

pub const API_VERSION: &str = "config.kubernetes.io/v1";
pub const KIND: &str = "ResourceList";

/// Largest input accepted (bytes); larger input is refused with an error
/// result after reading this much, before any parsing. Override with
/// `REDIS_SENTINEL_FN_MAX_INPUT_BYTES`. Far above what kpt or kustomize
/// hand a function for a package (the benchmark's 50,000-item list is 73
/// MiB), and below 100 MB so that such an input is refused.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 80 * 1024 * 1024;

/// Largest single YAML document parsed whole into a value tree (bytes).
/// A tree takes 50 to 150 times its text in memory (a 16 MiB list of small
/// flow mappings took 2.5 GB), so larger input is only read item by item
/// (block-style `items:` as kpt and kustomize write them) and otherwise
/// refused. Override with `REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES`.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;

/// Deepest nesting of flow collections (`[ ]`, `{ }`) accepted: what
/// serde_norway's recursion limit accepts at all. libyaml's scanner spends
/// time proportional to the flow depth on every token, so a deeper input
/// (`[[[[...`) is refused before it reaches the parser: 100,000 levels took
/// it 48 s only to fail on the recursion limit.
pub const MAX_FLOW_DEPTH: usize = 128;

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

/// A UTF-8 byte order mark, valid at the start of a YAML stream.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
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

pub fn max_input_bytes() -> u64 {
    std::env::var("REDIS_SENTINEL_FN_MAX_INPUT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_INPUT_BYTES)
}

/// Largest YAML document parsed whole: [`DEFAULT_MAX_DOCUMENT_BYTES`] or
/// `REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES`.
pub fn max_document_bytes() -> u64 {
    std::env::var("REDIS_SENTINEL_FN_MAX_DOCUMENT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_DOCUMENT_BYTES)
}

/// Reads all of `r`, refusing more than `limit` bytes, and input nested
/// deeper than [`MAX_FLOW_DEPTH`] (see [`check_flow_depth`]) before any
/// YAML parser sees it.
pub fn read_limited(r: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        let at = Position::of(&buf, usize::try_from(limit).unwrap_or(usize::MAX));
        return Err(InputError::TooLarge { limit, at });
    }
    if buf.starts_with(BOM) {
        buf.drain(..BOM.len());
    }
    check_flow_depth(&buf, MAX_FLOW_DEPTH)?;
    Ok(buf)
}

/// Refuses YAML whose flow collections (`[ ]`, `{ }`) may nest deeper than
/// `limit`, in one linear pass, without parsing.
///
/// The pass never sees less depth than libyaml does. Where the lexical role
/// of a byte is uncertain (a quote or `#` where a token may start opens a
/// quoted scalar or comment, or is plain text; a tag may end at any byte),
/// it follows every reading at once, keeping the deepest nesting per
/// lexer state, and it assumes that a flow collection may open at every
/// `[` or `{` after a blank. So an input that passes is no deeper than
/// `limit` for libyaml; the price is that brackets in text (`"[[["`) can
/// count too, which takes more than `limit` unbalanced ones to matter.
pub fn check_flow_depth(text: &[u8], limit: usize) -> Result<(), InputError> {
    let mut s = States::default();
    let mut line = 1usize;
    let mut prev = b'\n';
    let mut bytes = text.iter().enumerate();
    while let Some((i, &b)) = bytes.next() {
        if b == b'\n' {
            line += 1;
        }
        if !s.any() {
            // Block context: only a bracket where a token starts can open a
            // flow collection (libyaml wants a blank after tags and anchors).
            if matches!(b, b'[' | b'{') && may_open_flow(prev) {
                s.start = 1;
                prev = b;
                continue;
            }
            // Nothing else changes the state: go to the next bracket at once.
            let rest = &text[i + 1..];
            let skip = next_bracket(rest);
            line += rest[..skip].iter().filter(|&&c| c == b'\n').count();
            prev = if skip > 0 { rest[skip - 1] } else { b };
            if skip > 0 {
                bytes.nth(skip - 1);
            }
            continue;
        }
        if !SPECIAL[usize::from(b)]
            && s.start | s.single_end | s.escape | s.tag == 0
            && prev != b':'
        {
            // Text: no reading changes state.
            prev = b;
            continue;
        }
        let n = s.step(text, i, prev);
        if n.deepest() > limit {
            let mut at = Position::of(text, i);
            at.line = line;
            return Err(InputError::TooDeep { at, limit });
        }
        s = n;
        prev = b;
    }
    Ok(())
}

/// The readings [`check_flow_depth`] follows: the deepest open flow
/// collection per lexer state (0: no reading in this state).
#[derive(Clone, Copy, Default)]
struct States {
    /// Plain text where a token starts for sure (after `[`, `{`, `,`,
    /// `: ` and the blanks after them): a quote or `#` here opens.
    start: usize,
    plain: usize,
    single: usize,
    /// Just after a `'` in a single-quoted scalar: `''` or the end.
    single_end: usize,
    double: usize,
    escape: usize,
    comment: usize,
    tag: usize,
}

impl States {
    fn any(&self) -> bool {
        self.start
            | self.plain
            | self.single
            | self.single_end
            | self.double
            | self.escape
            | self.comment
            | self.tag
            != 0
    }

    fn deepest(&self) -> usize {
        self.start
            .max(self.plain)
            .max(self.single)
            .max(self.single_end)
            .max(self.double)
            .max(self.escape)
            .max(self.comment)
            .max(self.tag)
    }

    /// The readings after byte `text[i]` (`prev` is the byte before it).
    fn step(&self, text: &[u8], i: usize, prev: u8) -> States {
        let s = self;
        let b = text[i];
        let mut n = States::default();
        if s.start > 0 {
            n.flow(b, prev, s.start, true);
        }
        if s.plain > 0 {
            n.flow(b, prev, s.plain, false);
        }
        if s.single > 0 {
            if b == b'\'' {
                n.single_end = n.single_end.max(s.single);
            } else {
                n.single = n.single.max(s.single);
            }
        }
        if s.single_end > 0 {
            if b == b'\'' {
                // `''`: an escaped quote.
                n.single = n.single.max(s.single_end);
            } else {
                n.flow(b, prev, s.single_end, false);
            }
        }
        if s.double > 0 {
            match b {
                b'\\' => n.escape = n.escape.max(s.double),
                b'"' => n.plain = n.plain.max(s.double),
                _ => n.double = n.double.max(s.double),
            }
        }
        if s.escape > 0 {
            n.double = n.double.max(s.escape);
        }
        if s.comment > 0 {
            // libyaml's line breaks: \r, \n, NEL (C2 85), LS and PS (E2 80 A8/A9).
            let end = b == b'\n'
                || b == b'\r'
                || (b == 0x85 && prev == 0xC2)
                || (matches!(b, 0xA8 | 0xA9) && prev == 0x80 && i >= 2 && text[i - 2] == 0xE2);
            if end {
                n.start = n.start.max(s.comment);
            } else {
                n.comment = n.comment.max(s.comment);
            }
        }
        if s.tag > 0 {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                n.start = n.start.max(s.tag);
            } else {
                // The tag may go on, or have ended just before this byte.
                n.tag = n.tag.max(s.tag);
                n.flow(b, prev, s.tag, false);
            }
        }
        // A new collection may open here from block context too.
        if matches!(b, b'[' | b'{') && may_open_flow(prev) {
            n.start = n.start.max(1);
        }
        n
    }

    /// Applies byte `b` to a reading in plain flow text at depth `d`;
    /// `start`: a token starts here for sure.
    fn flow(&mut self, b: u8, prev: u8, d: usize, start: bool) {
        let n = self;
        let blank = is_blank_end(prev);
        match b {
            b'[' | b'{' => n.start = n.start.max(d + 1),
            b']' | b'}' => n.plain = n.plain.max(d - 1),
            b',' => n.start = n.start.max(d),
            b' ' | b'\t' | b'\n' | b'\r' if start || prev == b':' => {
                n.start = n.start.max(d);
            }
            b'\'' | b'"' if start || blank || b":?".contains(&prev) => {
                if b == b'"' {
                    n.double = n.double.max(d);
                } else {
                    n.single = n.single.max(d);
                }
                if !start {
                    // Or a quote inside plain text (`a "b`).
                    n.plain = n.plain.max(d);
                }
            }
            // Outside quotes, ` #` always opens a comment in flow context,
            // as does `#` where a token starts.
            b'#' if start || blank || b"]}".contains(&prev) => {
                n.comment = n.comment.max(d);
            }
            b'#' if b":?\"'".contains(&prev) => {
                n.comment = n.comment.max(d);
                n.plain = n.plain.max(d);
            }
            b'!' => {
                n.tag = n.tag.max(d);
                n.plain = n.plain.max(d);
            }
            _ => n.plain = n.plain.max(d),
        }
    }
}

/// Offset of the first `[` or `{` in `s` (its length if none), 32 bytes
/// at a time so that the compiler vectorizes the search.
fn next_bracket(s: &[u8]) -> usize {
    let bracket = |c: &u8| *c == b'[' || *c == b'{';
    let mut chunks = s.chunks_exact(32);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(false, |any, c| any | bracket(c)) {
            return offset + chunk.iter().position(bracket).unwrap_or(0);
        }
        offset += chunk.len();
    }
    let rest = chunks.remainder();
    offset + rest.iter().position(bracket).unwrap_or(rest.len())
}

/// Bytes that change the state of [`check_flow_depth`]'s readings.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"[]{},'\"#!\\\n\r\x85\xA8\xA9";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether a flow collection may open after byte `prev` at block level:
/// after a blank, or `,`, `]` or `}` (libyaml reads them as tokens at
/// block level too). After `[` or `{`, only if that one opened already.
fn may_open_flow(prev: u8) -> bool {
    is_blank_end(prev) || b",]}".contains(&prev)
}

/// Whether a byte ends a blank, a line break or a byte order mark (the
/// last byte of NEL, LS, PS and BOM included, generously).
fn is_blank_end(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x85 | 0xA8 | 0xA9 | 0xBF)
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
fn first_content(bytes: &[u8]) -> Position {
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
