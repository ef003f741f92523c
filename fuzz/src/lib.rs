//! Shared pieces of the fuzz targets: the fixed seed and clock, and checks
//! on rendered output that every target applies.

use redis_sentinel_fn::certs::seed::Seed;
use redis_sentinel_fn::krm::ResourceList;
use redis_sentinel_fn::object::ItemExt;
use serde_norway::Value;

/// 2026-01-01T00:00:00Z: a fixed clock keeps runs reproducible.
pub const NOW: i64 = 1_767_225_600;

/// A fixed user seed: key generation is deterministic (and cheap to repeat).
pub fn seed() -> Seed {
    Seed::from_user(b"fuzz-seed-0123456789abcdef").expect("the fuzz seed is long enough")
}

fn dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(dns1123_label)
}

/// Checks that hold for every item the function generates.
pub fn check_generated(items: &[Value]) {
    for item in items {
        let kind = item.str_at(&["kind"]).unwrap_or_default();
        let name = item
            .str_at(&["metadata", "name"])
            .unwrap_or_else(|| panic!("generated {kind} has no name"));
        assert!(dns1123_subdomain(name), "{kind} name {name:?}");
        match kind {
            "Service" => assert!(
                dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase()),
                "Service name {name:?} is not a DNS-1035 label"
            ),
            "StatefulSet" => assert!(name.len() <= 52, "StatefulSet name {name:?}"),
            _ => {}
        }
        if let Some(ns) = item.str_at(&["metadata", "namespace"]) {
            assert!(dns1123_label(ns), "namespace {ns:?}");
        }
    }
}

/// Checks every function result: never a panic, output that serializes and
/// reads back, and on error the input items unchanged (or none).
pub fn check_run(input: &[u8], out: &ResourceList) {
    let mut buf = Vec::new();
    out.write(&mut buf).expect("the output serializes");
    let back = ResourceList::from_bytes(&buf).expect("the output reads back as a ResourceList");
    assert_eq!(
        back.items.len(),
        out.items.len(),
        "items survive a round trip"
    );
    if out.has_errors() {
        match ResourceList::from_bytes(input) {
            Ok(orig) => assert!(
                out.items.is_empty() || out.items == orig.items,
                "an error result came with a changed item list"
            ),
            Err(_) => assert!(out.items.is_empty(), "unreadable input but items in output"),
        }
    }
}
