//! A YAML emitter whose output means the same to YAML 1.1 readers
//! (sigs.k8s.io/yaml in kubectl and Argo CD, PyYAML) as to YAML 1.2 ones.
//!
//! `serde_norway` (like `serde_yaml`) quotes only what YAML 1.2 would
//! misread, so a string `yes`, `on`, `1:20` or `2001-12-14` comes out plain
//! and a YAML 1.1 reader turns it into a boolean, a number or a date: a
//! label value or a container argument silently changes type. This emitter
//! writes a string plain only when it is unambiguous in both versions, and
//! otherwise quotes it. Layout follows `serde_yaml`: two-space indentation,
//! sequences at their key's indentation, multi-line strings as literal
//! blocks.

use serde_norway::{Mapping, Value};

/// Appends `v` as a YAML document body (no `---`) to `out`.
pub fn emit(v: &Value, out: &mut String) {
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(m, 0, out),
        Value::Sequence(s) if !s.is_empty() => sequence(s, 0, out),
        Value::Tagged(t) => {
            tag(&t.tag, out);
            match &t.value {
                Value::Mapping(m) if !m.is_empty() => {
                    out.push('\n');
                    mapping(m, 0, out);
                }
                Value::Sequence(s) if !s.is_empty() => {
                    out.push('\n');
                    sequence(s, 0, out);
                }
                other => {
                    out.push(' ');
                    scalar(other, 0, out);
                    out.push('\n');
                }
            }
        }
        other => {
            scalar(other, 0, out);
            out.push('\n');
        }
    }
}

/// Appends one top-level `key: value` entry.
pub fn emit_entry(k: &str, v: &Value, out: &mut String) {
    key(&Value::String(k.to_string()), 0, out);
    out.push(':');
    value_after_key(v, 0, out);
}

/// Appends one top-level sequence item's value (after `- `).
pub fn emit_item(v: &Value, out: &mut String) {
    item(v, 2, out);
}

/// `v` as a YAML document body.
pub fn to_string(v: &Value) -> String {
    let mut s = String::new();
    emit(v, &mut s);
    s
}

fn indent(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Mapping(m) => !m.is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        _ => false,
    }
}

fn mapping(m: &Mapping, level: usize, out: &mut String) {
    let mut first = true;
    for (k, v) in m {
        if !first {
            indent(level, out);
        }
        first = false;
        key(k, level, out);
        out.push(':');
        value_after_key(v, level, out);
    }
}

/// Writes a value that follows `key:` (or a tag) at `level`.
fn value_after_key(v: &Value, level: usize, out: &mut String) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            indent(level + 2, out);
            mapping(m, level + 2, out);
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            indent(level, out);
            sequence(s, level, out);
        }
        Value::Tagged(t) => {
            out.push(' ');
            tag(&t.tag, out);
            value_after_key(&t.value, level, out);
        }
        other => {
            out.push(' ');
            scalar(other, level + 2, out);
            out.push('\n');
        }
    }
}

fn sequence(s: &[Value], level: usize, out: &mut String) {
    let mut first = true;
    for v in s {
        if !first {
            indent(level, out);
        }
        first = false;
        out.push_str("- ");
        item(v, level + 2, out);
    }
}

/// A sequence item's value; the `- ` is written, the cursor is at `level`.
fn item(v: &Value, level: usize, out: &mut String) {
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(m, level, out),
        Value::Sequence(s) if !s.is_empty() => sequence(s, level, out),
        Value::Tagged(t) => {
            tag(&t.tag, out);
            if is_block(&t.value) {
                out.push('\n');
                indent(level, out);
                item(&t.value, level, out);
            } else {
                out.push(' ');
                scalar(&t.value, level, out);
                out.push('\n');
            }
        }
        other => {
            scalar(other, level, out);
            out.push('\n');
        }
    }
}

/// Writes a mapping key; the caller writes the `:`. Collections, tagged
/// values and very long strings (implicit keys are limited to 1024
/// characters) use the explicit `? key` form.
fn key(k: &Value, level: usize, out: &mut String) {
    match k {
        Value::String(s) if s.len() <= 1000 => quoted_inline(s, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => scalar(k, 0, out),
        _ => {
            out.push_str("? ");
            flow(k, out);
            out.push('\n');
            indent(level, out);
        }
    }
}

/// Flow style (for complex keys only).
fn flow(v: &Value, out: &mut String) {
    match v {
        Value::Mapping(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(k, out);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
        Value::Sequence(s) => {
            out.push('[');
            for (i, v) in s.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(v, out);
            }
            out.push(']');
        }
        Value::Tagged(t) => {
            tag(&t.tag, out);
            out.push(' ');
            flow(&t.value, out);
        }
        Value::String(s) => double_quoted(s, out),
        other => scalar(other, 0, out),
    }
}

/// Writes a tag so that it reads back as the same tag. `Tag`'s `Display`
/// does not: it writes the non-specific tag `!` as `!!` (the
/// `tag:yaml.org,2002:` handle, which a reader refuses with no suffix) and
/// leaves in characters a shorthand tag cannot hold (`!e%21` reads as the
/// tag `e!`, and `!e!` is a named handle). Here the non-specific tag is `!`
/// and every byte of a local tag outside the plain URI characters is
/// %-escaped, which readers decode.
fn tag(t: &serde_norway::value::Tag, out: &mut String) {
    let shown = t.to_string();
    let suffix = shown.strip_prefix('!').unwrap_or(&shown);
    out.push('!');
    if suffix == "!" {
        return;
    }
    for b in suffix.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A scalar (or empty collection); `level` is the indentation of block
/// string content.
fn scalar(v: &Value, level: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(n, out),
        Value::String(s) => string(s, level, out),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Tagged(t) => {
            tag(&t.tag, out);
            out.push(' ');
            scalar(&t.value, level, out);
        }
    }
}

fn number(n: &serde_norway::Number, out: &mut String) {
    let text = n.to_string();
    if !n.is_f64() || text.starts_with('.') || text.starts_with("-.") || text.contains('.') {
        out.push_str(&text);
        return;
    }
    // YAML 1.1 floats need a '.' and a signed exponent: 1e20 -> 1.0e+20.
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            out.push_str(mantissa);
            out.push_str(".0e");
            if !exp.starts_with('-') && !exp.starts_with('+') {
                out.push('+');
            }
            out.push_str(exp);
        }
        None => {
            out.push_str(&text);
            out.push_str(".0");
        }
    }
}

fn string(s: &str, level: usize, out: &mut String) {
    if s.contains('\n') && block_ok(s) {
        literal_block(s, level, out);
    } else {
        quoted_inline(s, out);
    }
}

/// Plain if unambiguous, else single-quoted, else double-quoted.
fn quoted_inline(s: &str, out: &mut String) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(single_quote_ok) {
        out.push('\'');
        for c in s.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
        out.push('\'');
    } else {
        double_quoted(s, out);
    }
}

fn double_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) && !is_break(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
}

/// YAML's printable set (c-printable).
fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn single_quote_ok(c: char) -> bool {
    printable(c) && !is_break(c)
}

/// Whether a multi-line string round-trips as a literal block: printable,
/// only `\n` line breaks, and a first line that fixes the indentation.
fn block_ok(s: &str) -> bool {
    let first = s.split('\n').next().unwrap_or_default();
    !first.is_empty()
        && !first.starts_with([' ', '\t'])
        && s.chars()
            .all(|c| c == '\n' || (single_quote_ok(c) && c != '\u{feff}'))
}

fn literal_block(s: &str, level: usize, out: &mut String) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(level, out);
            out.push_str(line);
        }
    }
    // Keep-chomping: the extra line breaks are content.
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// Words YAML 1.1 or 1.2 reads as booleans or null.
const RESERVED: [&str; 28] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "=",
    "<<",
];

/// A string may be written plain only when it cannot be read as anything
/// but that string by a YAML 1.1 or 1.2 reader, in block or flow context.
fn plain_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == b'/' || first == b'_') {
        return false;
    }
    if RESERVED.contains(&s) || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b" -_./@+=,~%^()?:".contains(&b))
    {
        return false;
    }
    // ": " would start a mapping value; " #" is never reached (no '#').
    if s.contains(": ") {
        return false;
    }
    // Anything that starts with a digit and uses only number/date/time
    // characters could be an int (0x1F, 0o17, 1_000, 1:20), a float (1e3)
    // or a timestamp (2001-12-14 21:59:43): quote it.
    if first.is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b"0123456789abcdefABCDEFxXoObB_.:+-eEtTzZ ".contains(b))
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: &Value) {
        let text = to_string(v);
        let back: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(&back, v, "{text}");
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes",
            "NO",
            "on",
            "Off",
            "y",
            "n",
            "~",
            "null",
            "1:20",
            "2001-12-14",
            "1_000",
            "0777",
            "1e3",
            "0x1F",
            "=",
            "<<",
            "",
            " lead",
            "trail ",
            "a: b",
            "#x",
            "-",
            "- a",
            "*a",
            "&a",
            "!t",
            "|",
            ">",
            "@x",
            "`x",
            "%x",
            "[a]",
            "{a}",
            "'",
            "\"",
        ] {
            let mut out = String::new();
            quoted_inline(s, &mut out);
            assert!(
                out.starts_with('\'') || out.starts_with('"'),
                "{s:?} -> {out}"
            );
            roundtrip(&Value::String(s.into()));
        }
        for s in [
            "redis",
            "cache-redis",
            "100m",
            "128Mi",
            "10Gi",
            "docker.io/library/redis:7.4.2",
            "app.kubernetes.io/name",
            "a b",
            "http://x/y",
        ] {
            let mut out = String::new();
            quoted_inline(s, &mut out);
            assert_eq!(out, s);
        }
    }

    #[test]
    fn structures_and_blocks_round_trip() {
        let text = "a:\n  b:\n  - 1\n  - x: 1.5\n    y: [1, {z: true}]\n  - - nested\n  - []\n  - {}\n  c: |\n    line1\n      indented\n\n    after blank\n  d: \"no newline\\nat end\"\n  e: \"two\\n\\n\"\n  f: \" leading\\nspace\"\n  g: \"tab\\there\"\n  h: \"bell\\x07\"\n  i: 1e300\n  j: .inf\n  k: -.inf\n  l: ~\n  ? [complex]\n  : key\n  1: numeric key\n  true: bool key\n  tagged: !custom {x: 1}\n  t2: !custom 5\n  'yes': quoted key\n  unicode: \"héllo ✓\"\n  crlf: \"a\\r\\nb\"\n";
        let v: Value = serde_norway::from_str(text).unwrap();
        roundtrip(&v);
    }

    #[test]
    fn tags_round_trip() {
        // Found by the resourcelist fuzz target: `! annotations` (the
        // non-specific tag on a key) was written as `!! "annotations"`.
        let text = "? ! annotations\n: {a: 1}\nb: ! 3\nc: !e%21 x\nd: !<!> y\ne: !t {x: [! z]}\nf: !%C3%A9%20%2C x\n";
        let v: Value = serde_norway::from_str(text).unwrap();
        roundtrip(&v);
        for name in ["!", "a,b", "a[b]{c}", "é", "a b", "a%b", "a!b", "x/y:z"] {
            let tag = serde_norway::value::Tag::new(name);
            let v = Value::Tagged(Box::new(serde_norway::value::TaggedValue {
                tag,
                value: Value::String("v".into()),
            }));
            let mut m = Mapping::new();
            m.insert(v.clone(), v.clone());
            m.insert("k".into(), Value::Sequence(vec![v.clone()]));
            roundtrip(&Value::Mapping(m));
        }
    }

    #[test]
    fn layout_matches_serde_yaml_for_common_shapes() {
        let v: Value =
            serde_norway::from_str("kind: X\nitems:\n- a: 1\n  b:\n  - c\nnested:\n  key: value\n")
                .unwrap();
        assert_eq!(to_string(&v), serde_norway::to_string(&v).unwrap());
    }

    #[test]
    fn floats_keep_a_dot_and_signed_exponent() {
        for (input, want) in [("1.0", "1.0"), ("1e20", "1.0e+20"), ("2.5e-7", "2.5e-7")] {
            let v: Value = serde_norway::from_str(input).unwrap();
            assert_eq!(to_string(&v).trim(), want);
        }
    }
}
