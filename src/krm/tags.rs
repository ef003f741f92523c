//! Explicit YAML tags in the function config: every one is an error at its
//! field.
//!
//! serde_norway keeps only local tags (`!thing`) in a value tree; tags that
//! resolve to a URI (`!!binary`, `!!python/object/apply:...`, verbatim
//! `!<tag:...>`, handles declared by `%TAG`) are dropped or read as plain
//! strings. To see them, a copy of the text is parsed in which every such
//! tag is spelled as a local one: `!!x` as `!~x`, `!<uri>` as `!*uri`
//! (%-escaped where a shorthand tag needs it), and every `%TAG` prefix as
//! `!`. Text that is not a
//! tag changes only inside scalars and comments of the copy, which is used
//! for nothing but finding tags.

use serde_norway::Value;

use super::results::FieldError;

/// Most tags reported; the rest are counted.
const MAX_TAG_ERRORS: usize = 10;

/// The copy described in the module doc, or `None` when `text` has no tag
/// that serde_norway would drop (nothing to find beyond the value tree).
pub fn probe_copy(text: &str) -> Option<String> {
    if !(text.contains("!!") || text.contains("!<") || text.contains("%TAG")) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("%TAG") {
            let mut words = rest.split_whitespace();
            let handle = words.next().unwrap_or("!");
            out.push_str("%TAG ");
            out.push_str(handle);
            out.push_str(" !");
            if line.ends_with('\n') {
                out.push('\n');
            }
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find('!') {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('!') {
                out.push('~');
                rest = r;
            } else if let Some(r) = rest.strip_prefix('<') {
                out.push('*');
                let end = r.find(|c: char| c == '>' || c.is_whitespace());
                match end {
                    Some(e) if r[e..].starts_with('>') => {
                        // A shorthand tag allows fewer characters than a
                        // verbatim one: the others are %-escaped (libyaml
                        // decodes them back).
                        for byte in r[..e].bytes() {
                            if byte.is_ascii_alphanumeric() || b"-;/?:@&=+$.~*'()_".contains(&byte)
                            {
                                out.push(char::from(byte));
                            } else {
                                out.push_str(&format!("%{byte:02X}"));
                            }
                        }
                        rest = &r[e + 1..];
                    }
                    _ => rest = r,
                }
            }
        }
        out.push_str(rest);
    }
    Some(out)
}

/// A tag as the user wrote it, from its spelling in the probe copy.
fn as_written(tag: &str) -> String {
    if let Some(t) = tag.strip_prefix("!~") {
        format!("!!{t}")
    } else if let Some(t) = tag.strip_prefix("!*") {
        format!("!<{t}>")
    } else {
        tag.to_string()
    }
}

/// Every tag in `v` (keys and values) as an error at its path (`prefix`
/// plus the path in `v`; `root` names the field when the path is empty).
pub fn find_tags(v: &Value, prefix: &str, root: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut found = 0usize;
    // Iterative, children pushed in reverse: document order, no recursion.
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), v)];
    while let Some((path, v)) = stack.pop() {
        let mut report = |tag: &serde_norway::value::Tag, what: &str| {
            found += 1;
            if errors.len() < MAX_TAG_ERRORS {
                let field = if path.is_empty() {
                    root.to_string()
                } else {
                    format!("{prefix}{path}")
                };
                errors.push(FieldError::new(
                    field,
                    format!(
                        "YAML tag {} on {what} is not supported in the function config: write the plain value",
                        as_written(&tag.to_string())
                    ),
                ));
            }
        };
        match v {
            Value::Tagged(t) => report(&t.tag, "a value"),
            Value::Mapping(m) => {
                for (k, _) in m.iter() {
                    if let Value::Tagged(t) = k {
                        report(&t.tag, "a key");
                    }
                }
                let children: Vec<(&Value, &Value)> = m.iter().collect();
                for (k, child) in children.into_iter().rev() {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        Value::Tagged(t) => match &t.value {
                            Value::String(s) => s.clone(),
                            other => scalar_text(other),
                        },
                        other => scalar_text(other),
                    };
                    let p = if path.is_empty() {
                        key
                    } else {
                        format!("{path}.{key}")
                    };
                    stack.push((p, child));
                }
            }
            Value::Sequence(s) => {
                for (i, child) in s.iter().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), child));
                }
            }
            _ => {}
        }
    }
    if found > MAX_TAG_ERRORS {
        errors.push(FieldError::new(
            root,
            format!(
                "{} more YAML tags in the function config",
                found - MAX_TAG_ERRORS
            ),
        ));
    }
    errors
}

fn scalar_text(v: &Value) -> String {
    serde_norway::to_string(v)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// Tags in the `functionConfig` of a ResourceList text (whole or its
/// skeleton without items), found through the probe copy.
pub fn function_config_tags(text: &str) -> Vec<FieldError> {
    let Some(copy) = probe_copy(text) else {
        return Vec::new();
    };
    let Ok(v) = serde_norway::from_str::<Value>(&copy) else {
        return Vec::new();
    };
    match v.get("functionConfig") {
        Some(fc) => find_tags(fc, "", "functionConfig"),
        None => Vec::new(),
    }
}

/// Tags in each YAML document of `text` (a spec file), in order.
pub fn document_tags(text: &str) -> Vec<Vec<FieldError>> {
    let Some(copy) = probe_copy(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in serde_norway::Deserializer::from_str(&copy) {
        match <Value as serde::Deserialize>::deserialize(d) {
            Ok(v) if !v.is_null() => out.push(find_tags(&v, "", "functionConfig")),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(yaml: &str) -> Vec<(String, String)> {
        let copy = probe_copy(yaml).unwrap_or_else(|| yaml.to_string());
        let v: Value = serde_norway::from_str(&copy).unwrap_or_else(|e| panic!("{e}: {copy}"));
        find_tags(&v, "", "functionConfig")
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn every_explicit_tag_is_found() {
        let f = fields(
            "spec:\n  a: !!python/object/apply:os.system [ls]\n  b: !!binary aGk=\n  c: !<tag:yaml.org,2002:str> x\n  d: !local y\n  e: [!!int 3]\n  !!str f: g\n  h: 'a !!b !<c>'\n",
        );
        let paths: Vec<&str> = f.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["spec", "spec.a", "spec.b", "spec.c", "spec.d", "spec.e[0]"],
            "{f:?}"
        );
        assert!(f[0].1.contains("!!str on a key"), "{}", f[0].1);
        assert!(
            f[1].1.contains("!!python/object/apply:os.system"),
            "{}",
            f[1].1
        );
        assert!(f[3].1.contains("!<tag:yaml.org,2002:str>"), "{}", f[3].1);
        let named = fields("%TAG !e! tag:example.com,2000:\n---\nspec: {a: !e!thing 1}\n");
        assert_eq!(named.len(), 1, "{named:?}");
        assert_eq!(named[0].0, "spec.a");
        assert!(probe_copy("a: b # no tags\n").is_none());
        assert!(fields("h: 'a !!b !<c>'\nk: \"!!x\"\n").is_empty());
    }
}
