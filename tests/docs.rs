//! The spec is documented: the field table in README.md and in the catalog
//! README are the same, and every field of the model appears in it.

use std::collections::BTreeSet;

fn table(path: &str) -> String {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("readable");
    let start = text
        .find("| Field | Default | Meaning |")
        .unwrap_or_else(|| panic!("{path} has the field table"));
    text[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every field name in the model source (`pub snake_case: ...` in the spec structs).
fn model_fields() -> BTreeSet<String> {
    let src = include_str!("../src/spec/model.rs");
    let mut out = BTreeSet::new();
    let mut in_struct = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("pub struct") {
            in_struct = !t.contains("RedisSentinelResource")
                && !t.contains("ResourceMeta")
                && !t.contains("Toleration")
                && !t.contains("struct Resources");
            continue;
        }
        if t == "}" {
            in_struct = false;
        }
        if in_struct
            && let Some(rest) = t.strip_prefix("pub ")
            && let Some((name, _)) = rest.split_once(':')
        {
            // snake_case -> camelCase as serde renames it
            let mut camel = String::new();
            let mut up = false;
            for ch in name.chars() {
                if ch == '_' {
                    up = true;
                } else if up {
                    camel.push(ch.to_ascii_uppercase());
                    up = false;
                } else {
                    camel.push(ch);
                }
            }
            out.insert(camel);
        }
    }
    out
}

#[test]
fn readme_and_catalog_document_the_same_fields() {
    assert_eq!(
        table("README.md"),
        table("functions/redis-sentinel/README.md")
    );
}

#[test]
fn every_spec_field_is_documented() {
    let t = table("README.md");
    let fields = model_fields();
    assert!(fields.len() > 30, "parsed the model: {fields:?}");
    for f in fields {
        assert!(
            [
                format!(".{f}`"),
                format!(".{f}."),
                format!("`{f}`"),
                format!(".{f} ")
            ]
            .iter()
            .any(|p| t.contains(p.as_str())),
            "field {f} is not in the README table"
        );
    }
}
