//! Earlier output fed back (as kpt does) with its Secrets damaged: the
//! certificates, keys, CA and passwords that the function reads back and
//! checks before keeping them. A render without a seed must never panic,
//! and must keep what is intact.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use redis_sentinel_fn::object::ItemExt;
use redis_sentinel_fn::spec::{self, Instance};
use redis_sentinel_fn::generate;
use redis_sentinel_fn_fuzz::{NOW, check_generated, seed};
use serde_norway::{Mapping, Value};

const SPEC: &str = "
apiVersion: fn.redis-sentinel.dev/v1alpha1
kind: RedisSentinel
metadata: {name: cache, namespace: ns}
spec:
  auth: {enabled: true}
  tls: {keepCaKey: true, keyAlgorithm: ed25519}
";

const KEYS: &[&str] = &[
    "tls.crt",
    "tls.key",
    "ca.crt",
    "redis-password",
    "sentinel-password",
];

fn base() -> &'static (Instance, Vec<Value>) {
    static BASE: OnceLock<(Instance, Vec<Value>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let fc: Value = serde_norway::from_str(SPEC).unwrap();
        let inst = spec::from_function_config(&fc).unwrap();
        let items = generate::render(&inst, Some(&seed()), &[], NOW)
            .unwrap()
            .items;
        (inst, items)
    })
}

#[derive(Arbitrary, Debug)]
enum Content {
    /// Arbitrary bytes, base64-encoded as Secret data is.
    Raw(Vec<u8>),
    /// Arbitrary DER in a PEM block with one of a few labels.
    Pem(u8, Vec<u8>),
    /// The existing value's DER with one byte changed.
    Flip(u16, u8),
    /// The existing value's DER cut short.
    Truncate(u16),
    /// A plain string where base64 is expected.
    NotBase64(String),
    /// `stringData` instead of `data`.
    StringData(String),
    Remove,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Data {
        secret: u8,
        key: u8,
        content: Content,
    },
    Rotation {
        secret: u8,
        value: String,
    },
    Drop {
        secret: u8,
    },
}

const LABELS: &[&str] = &[
    "CERTIFICATE",
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
];

fn b64(bytes: &[u8]) -> String {
    // Small local encoder: the fuzz crate keeps its dependencies minimal.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unb64(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// (label, DER) of the PEM in a Secret data value, if it is one.
fn pem_parts(data_value: &str) -> Option<(String, Vec<u8>)> {
    let text = String::from_utf8(unb64(data_value)).ok()?;
    let label = text
        .lines()
        .next()?
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    Some((label.to_string(), unb64(&body)))
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn apply(items: &mut [Value], edit: &Edit) {
    let secrets: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.str_at(&["kind"]) == Some("Secret"))
        .map(|(n, _)| n)
        .collect();
    let pick = |s: u8| secrets[s as usize % secrets.len()];
    match edit {
        Edit::Drop { secret } => {
            let idx = pick(*secret);
            // Keep indexes of the other Secrets valid: blank the item's kind.
            items[idx]["kind"] = Value::String("Dropped".into());
        }
        Edit::Rotation { secret, value } => {
            let idx = pick(*secret);
            if let Some(ann) = items[idx]["metadata"]
                .get_mut("annotations")
                .and_then(Value::as_mapping_mut)
            {
                ann.insert(
                    Value::String(redis_sentinel_fn::object::marks::ROTATION_ANNOTATION.into()),
                    Value::String(value.clone()),
                );
            }
        }
        Edit::Data {
            secret,
            key,
            content,
        } => {
            let idx = pick(*secret);
            let key = Value::String(KEYS[*key as usize % KEYS.len()].into());
            let item = &mut items[idx];
            if !item.get("data").is_some_and(Value::is_mapping) {
                item["data"] = Value::Mapping(Mapping::new());
            }
            let Some(data) = item.get_mut("data").and_then(Value::as_mapping_mut) else {
                return;
            };
            let old = data.get(&key).and_then(Value::as_str).map(str::to_string);
            let new = match content {
                Content::Raw(b) => Some(b64(b)),
                Content::Pem(l, der) => {
                    Some(b64(pem(LABELS[*l as usize % LABELS.len()], der).as_bytes()))
                }
                Content::Flip(pos, x) => old.as_deref().and_then(pem_parts).map(|(l, mut der)| {
                    if !der.is_empty() {
                        let p = *pos as usize % der.len();
                        der[p] ^= x | 1;
                    }
                    b64(pem(&l, &der).as_bytes())
                }),
                Content::Truncate(n) => old.as_deref().and_then(pem_parts).map(|(l, der)| {
                    let n = *n as usize % (der.len() + 1);
                    b64(pem(&l, &der[..n]).as_bytes())
                }),
                Content::NotBase64(s) => Some(s.clone()),
                Content::StringData(s) => {
                    data.remove(&key);
                    let mut sd = Mapping::new();
                    sd.insert(key.clone(), Value::String(s.clone()));
                    item["stringData"] = Value::Mapping(sd);
                    None
                }
                Content::Remove => {
                    data.remove(&key);
                    None
                }
            };
            if let (Some(new), Some(data)) =
                (new, item.get_mut("data").and_then(Value::as_mapping_mut))
            {
                data.insert(key, Value::String(new));
            }
        }
    }
}

fuzz_target!(|edits: Vec<Edit>| {
    let (inst, base_items) = base();
    let mut items = base_items.clone();
    for e in edits.iter().take(8) {
        apply(&mut items, e);
    }
    let rendered = generate::render(inst, None, &items, NOW).expect("rendering never fails here");
    check_generated(&rendered.items);
    if edits.is_empty() {
        // Intact earlier output is kept as it is.
        assert_eq!(
            rendered.items, *base_items,
            "intact certificates and passwords are kept"
        );
    }
});
