//! Input limits: how many bytes are read at all and how large one YAML
//! document parsed whole may be (both can be raised through the
//! environment), and the byte order mark a stream may start with.

use std::io::Read;

use super::input::{InputError, Position};
use super::lexer::check_flow_depth;

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

/// A UTF-8 byte order mark, valid at the start of a YAML stream.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
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
