//! Fast path for large `ResourceList`s: items are parsed and written one at
//! a time instead of as one YAML document, so memory stays near the input
//! size and the work spreads over the cores.
//!
//! The output is byte-identical to parsing the whole list and writing it
//! with [`ResourceList::write`](super::ResourceList::write): every item still
//! goes through `serde_norway` (parse into a [`Value`], serialize), only in
//! its own small document. Whenever the input is not laid out the plain way
//! that kpt and kustomize write it (see [`split`]) or any piece does not
//! parse as expected, the caller takes the ordinary whole-document path,
//! which also produces every error message.

use std::io::Write;

use serde_norway::{Mapping, Value};

use super::ResourceList;
use super::results::KrmResult;
use crate::object::ItemExt;

/// A `ResourceList` cut into the text of its items and the rest.
#[derive(Debug)]
pub struct Split<'a> {
    /// The input with the items replaced by `items: []`.
    pub skeleton: String,
    /// The text of each item: a line `- ...` at column 0 and every line up
    /// to the next such line (comments and blank lines included).
    pub chunks: Vec<&'a str>,
}

/// Cuts `text` into its items, or `None` unless the layout is the plain
/// one that makes the cut safe:
///
/// - before `items:` only comment lines and mapping lines without quotes
///   or flow collections (so `items:` cannot sit inside a multi-line
///   scalar);
/// - a line that is exactly `items:`, followed by a block sequence whose
///   `-` indicators are at column 0;
/// - after the items, the rest of the top-level mapping (parsed as usual).
///
/// A cut at a wrong place (for example inside a multi-line quoted scalar
/// that runs over a line starting with `- `) leaves a piece that does not
/// parse on its own, or parses to something other than exactly one item;
/// [`parse_item`] then says `None` and the caller falls back.
pub fn split(text: &str) -> Option<Split<'_>> {
    let mut lines = Lines { text, pos: 0 };
    // Prefix up to the `items:` line.
    let prefix_end;
    loop {
        let (start, line) = lines.next()?;
        let bare = line.trim_end_matches(['\n', '\r']).trim_end_matches(' ');
        if bare == "items:" {
            prefix_end = start;
            break;
        }
        if !prefix_line_ok(line) {
            return None;
        }
    }
    let mut chunk_starts: Vec<usize> = Vec::new();
    let mut suffix_start = text.len();
    for (start, line) in lines {
        let bytes = line.as_bytes();
        match bytes[0] {
            b'-' => match bytes.get(1) {
                None | Some(b' ' | b'\n' | b'\r') => chunk_starts.push(start),
                _ => return None,
            },
            // Most lines: inside an item, or comments.
            b' ' if !chunk_starts.is_empty() => {}
            b'#' | b'\n' => {}
            _ if line.trim().is_empty() => {}
            b' ' | b'\t' | b'%' | b'.' => return None,
            _ => {
                suffix_start = start;
                break;
            }
        }
    }
    let mut chunks = Vec::with_capacity(chunk_starts.len());
    for (i, &s) in chunk_starts.iter().enumerate() {
        let e = chunk_starts.get(i + 1).copied().unwrap_or(suffix_start);
        chunks.push(&text[s..e]);
    }
    let suffix = &text[suffix_start..];
    let mut skeleton = String::with_capacity(prefix_end + 11 + suffix.len());
    skeleton.push_str(&text[..prefix_end]);
    skeleton.push_str("items: []\n");
    skeleton.push_str(suffix);
    Some(Split { skeleton, chunks })
}

/// A line before `items:` that cannot open a construct running past it.
fn prefix_line_ok(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    if t.starts_with('#') || t.trim().is_empty() {
        return true;
    }
    !line.starts_with(['%', '-', '.', '\t', '\u{feff}'])
        && !line.contains(['"', '\'', '[', '{', '\t', '\\'])
}

/// Lines of a text with their start offsets; each line keeps its `\n`.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);
    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let end = self.text.as_bytes()[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.text.len(), |i| start + i + 1);
        self.pos = end;
        Some((start, &self.text[start..end]))
    }
}

/// Parses one chunk of [`split`] to the item it is in the whole document,
/// at the same nesting depth (`items:` around it). `None` unless it is
/// exactly one mapping.
pub fn parse_item(chunk: &str) -> Option<Value> {
    let mut doc = String::with_capacity(chunk.len() + 8);
    doc.push_str("items:\n");
    doc.push_str(chunk);
    let Value::Mapping(mut m) = serde_norway::from_str::<Value>(&doc).ok()? else {
        return None;
    };
    if m.len() != 1 {
        return None;
    }
    let Some(Value::Sequence(mut items)) = m.remove("items") else {
        return None;
    };
    if items.len() != 1 || !items[0].is_mapping() {
        return None;
    }
    items.pop()
}

/// An item as [`ResourceList::write`] writes it inside the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted(Vec<u8>);

const EMPTY_ITEMS: &[u8] = b"items: []\n";
const ITEMS: &[u8] = b"items:\n";

/// How [`ResourceList::write`] lays out a list, learnt from the writer
/// itself: the pieces are the bytes it writes for one item alone, so they
/// stay right for any emitter that writes each item on its own. (Tests
/// check that the pieces add up to the whole list.) `None` for an emitter
/// whose output depends on what came before: serde_norway's libyaml
/// emitter ends a document with `...` when its last block scalar keeps
/// its trailing line breaks (`|+`).
struct Layout {
    /// Everything before the items (`apiVersion`, `kind`).
    head: Vec<u8>,
}

fn write_to_vec(rl: &ResourceList, size_hint: usize) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size_hint + 128);
    rl.write(&mut out)?;
    Ok(out)
}

impl Layout {
    fn learn() -> Option<Self> {
        let empty = write_to_vec(&ResourceList::default(), 0).ok()?;
        let head = empty.strip_suffix(EMPTY_ITEMS)?.to_vec();
        let mut probe = Mapping::new();
        probe.insert(Value::from("a"), Value::from("x\n\n"));
        let probe = ResourceList {
            items: vec![Value::Mapping(probe)],
            ..Default::default()
        };
        if write_to_vec(&probe, 0).ok()?.ends_with(b"\n...\n") {
            return None;
        }
        Some(Layout { head })
    }

    /// `item` as written in the list (its `- ...` lines).
    fn item(&self, item: Value, size_hint: usize) -> anyhow::Result<(Value, Emitted)> {
        let rl = ResourceList {
            items: vec![item],
            ..Default::default()
        };
        let text = self.strip(write_to_vec(&rl, size_hint)?, ITEMS)?;
        let item = rl.items.into_iter().next().unwrap_or_default();
        Ok((item, Emitted(text)))
    }

    /// `results:` and its entries as written after the items.
    fn results(&self, results: &[KrmResult]) -> anyhow::Result<Vec<u8>> {
        let rl = ResourceList {
            results: results.to_vec(),
            ..Default::default()
        };
        self.strip(write_to_vec(&rl, 256)?, EMPTY_ITEMS)
    }

    fn strip(&self, mut text: Vec<u8>, items: &[u8]) -> anyhow::Result<Vec<u8>> {
        let skip = self.head.len() + items.len();
        if !(text.starts_with(&self.head) && text[self.head.len()..].starts_with(items)) {
            anyhow::bail!("unexpected ResourceList layout");
        }
        text.drain(..skip);
        Ok(text)
    }
}

/// One item of the output list.
#[derive(Clone, Copy)]
pub enum Piece<'a> {
    /// Already written (pass-through items).
    Emitted(&'a Emitted),
    /// Written now.
    Value(&'a Value),
}

/// Writes a `ResourceList` of `items` and `results`, byte for byte as
/// [`ResourceList::write`] writes it.
fn write_list<'a>(
    layout: &Layout,
    w: impl Write,
    items: impl IntoIterator<Item = Piece<'a>>,
    results: &[KrmResult],
) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, w);
    w.write_all(&layout.head)?;
    let mut any = false;
    for piece in items {
        if !any {
            w.write_all(ITEMS)?;
            any = true;
        }
        match piece {
            Piece::Emitted(e) => w.write_all(&e.0)?,
            Piece::Value(v) => w.write_all(&layout.item(v.clone(), 1024)?.1.0)?,
        }
    }
    if !any {
        w.write_all(EMPTY_ITEMS)?;
    }
    if !results.is_empty() {
        w.write_all(&layout.results(results)?)?;
    }
    w.flush()?;
    Ok(())
}

/// Key of the mark on a stub: its chunk number.
const MARK: Value = Value::Null;

/// Inputs smaller than this many items are not worth a thread.
const ITEMS_PER_THREAD: usize = 256;

/// What the function sees of a pass-through item: the fields that identify
/// it (apiVersion, kind, metadata.name, metadata.namespace) and a mark.
fn stub(item: &Value, chunk: usize) -> Value {
    let mut m = Mapping::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = item.get(key) {
            m.insert(Value::String(key.into()), v.clone());
        }
    }
    if let Some(meta) = item.get("metadata") {
        let meta = match meta {
            Value::Mapping(full) => {
                let mut small = Mapping::new();
                for key in ["name", "namespace"] {
                    if let Some(v) = full.get(key) {
                        small.insert(Value::String(key.into()), v.clone());
                    }
                }
                Value::Mapping(small)
            }
            other => other.clone(),
        };
        m.insert(Value::String("metadata".into()), meta);
    }
    m.insert(MARK, Value::Number(chunk.into()));
    Value::Mapping(m)
}

fn mark(item: &Value) -> Option<usize> {
    let n = item.as_mapping()?.get(MARK)?.as_u64()?;
    usize::try_from(n).ok()
}

/// Whether the function may own `item` (it carries the instance
/// annotation): such items reach it whole.
fn maybe_owned(item: &Value) -> bool {
    item.annotations()
        .is_some_and(|a| a.contains_key(crate::object::marks::INSTANCE_ANNOTATION))
}

/// Items as the function sees them, with the serialized form of stubs.
type Parsed = Vec<(Value, Option<Emitted>)>;

/// Parses the chunks `first..` of `chunks`: maybe-owned items whole,
/// the others as a stub and their serialized form. `None` for an item
/// larger than `max_bytes` ([`super::max_document_bytes`]), as for any
/// document parsed whole: the caller falls back to the whole-document
/// path, which refuses it.
fn parse_chunks(layout: &Layout, chunks: &[&str], first: usize, max_bytes: u64) -> Option<Parsed> {
    let mut out = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk.len() as u64 > max_bytes {
            return None;
        }
        let item = parse_item(chunk)?;
        if maybe_owned(&item) {
            out.push((item, None));
        } else {
            let (item, e) = layout.item(item, chunk.len()).ok()?;
            out.push((stub(&item, first + i), Some(e)));
        }
    }
    Some(out)
}

/// The list the function sees (pass-through items as stubs) and the
/// serialized pass-through items, by chunk number.
fn prepare(layout: &Layout, split: &Split<'_>) -> Option<(ResourceList, Vec<Option<Emitted>>)> {
    let skeleton = super::parse_single_document(split.skeleton.as_bytes()).ok()?;
    if skeleton.get("items") != Some(&Value::Sequence(Vec::new())) {
        return None;
    }
    let mut rl = ResourceList::from_value(skeleton).ok()?;
    rl.find_function_config_tags(split.skeleton.as_bytes());
    let max_bytes = super::max_document_bytes();
    let n = split.chunks.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n / ITEMS_PER_THREAD)
        .clamp(1, 8);
    let per = n.div_ceil(threads).max(1);
    let parts: Vec<Option<Parsed>> = if threads == 1 {
        vec![parse_chunks(layout, &split.chunks, 0, max_bytes)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = split
                .chunks
                .chunks(per)
                .enumerate()
                .map(|(t, part)| s.spawn(move || parse_chunks(layout, part, t * per, max_bytes)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        })
    };
    let mut emitted = Vec::with_capacity(n);
    rl.items.reserve(n);
    for part in parts {
        for (item, e) in part? {
            rl.items.push(item);
            emitted.push(e);
        }
    }
    Some((rl, emitted))
}

/// Runs the function `f` and writes its output list to `w`, byte for byte
/// as `whole()` followed by [`ResourceList::write`] would; returns whether
/// the output has errors.
///
/// When `input` can be [`split`], `f` gets the list with every item that
/// it cannot own (no instance annotation) replaced by a stub that only
/// identifies it, and those items are serialized on the way in, in
/// parallel. `f` must pass items it does not own through unchanged and in
/// order (as [`crate::function::run_parsed`] does) and may only read their
/// identity; the output is checked for the stubs in order, and anything
/// else (or input that cannot be split) takes `whole()`.
pub fn run(
    input: &[u8],
    f: impl FnOnce(ResourceList) -> ResourceList,
    whole: impl FnOnce() -> ResourceList,
    w: impl Write,
) -> anyhow::Result<bool> {
    let fast = Layout::learn().and_then(|layout| {
        let split = split(std::str::from_utf8(input).ok()?)?;
        let (rl, emitted) = prepare(&layout, &split)?;
        Some((layout, rl, emitted))
    });
    if let Some((layout, rl, emitted)) = fast {
        let stubs = emitted.iter().filter(|e| e.is_some()).count();
        let out = f(rl);
        let mut seen = 0;
        let mut last = None;
        let mut ok = true;
        for item in &out.items {
            if let Some(m) = mark(item) {
                ok &= last.is_none_or(|l| m > l) && emitted.get(m).is_some_and(Option::is_some);
                last = Some(m);
                seen += 1;
            }
        }
        if ok && seen == stubs {
            let pieces = out.items.iter().map(|item| match mark(item) {
                Some(m) => Piece::Emitted(emitted[m].as_ref().expect("checked above")),
                None => Piece::Value(item),
            });
            write_list(&layout, w, pieces, &out.results)?;
            return Ok(out.has_errors());
        }
    }
    let rl = whole();
    rl.write(w)?;
    Ok(rl.has_errors())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::krm::ResourceList;

    fn whole(items: &[Value], results: &[KrmResult]) -> Vec<u8> {
        let rl = ResourceList {
            items: items.to_vec(),
            function_config: None,
            results: results.to_vec(),
        };
        let mut out = Vec::new();
        rl.write(&mut out).unwrap();
        out
    }

    fn pieces(items: &[Value], results: &[KrmResult]) -> Vec<u8> {
        let Some(layout) = Layout::learn() else {
            // A writer whose items depend on each other: no fast path.
            return whole(items, results);
        };
        let emitted: Vec<Emitted> = items
            .iter()
            .map(|v| layout.item(v.clone(), 0).unwrap().1)
            .collect();
        let pieces = items.iter().zip(&emitted).enumerate().map(|(i, (v, e))| {
            if i % 2 == 0 {
                Piece::Emitted(e)
            } else {
                Piece::Value(v)
            }
        });
        let mut out = Vec::new();
        write_list(&layout, &mut out, pieces, results).unwrap();
        out
    }

    fn yaml(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    /// Small deterministic generator of awkward values.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
        fn string(&mut self) -> String {
            const PARTS: &[&str] = &[
                "a", "b c", "\n", "\n\n", " ", "  x", "- y", "#", ": ", "'", "\"", "|", "...",
                "---", "é", "\t", "1", "0x1", "true", "null", "~", "\u{85}", "\r", "*a", "&b",
                "!t", "%", "@", "{", "]", "\\",
            ];
            let n = self.next() % 5;
            (0..n).map(|_| self.pick(PARTS)).collect()
        }
        fn value(&mut self, depth: u32) -> Value {
            match self.next() % if depth > 3 { 4 } else { 7 } {
                0 => Value::String(self.string()),
                1 => Value::Number((self.next() % 1000).into()),
                2 => Value::Bool(self.next().is_multiple_of(2)),
                3 => Value::Null,
                4 => Value::Sequence(
                    (0..self.next() % 4)
                        .map(|_| self.value(depth + 1))
                        .collect(),
                ),
                5 => {
                    let tag = serde_norway::value::Tag::new(format!("t{}", self.next() % 3));
                    Value::Tagged(Box::new(serde_norway::value::TaggedValue {
                        tag,
                        value: self.value(depth + 1),
                    }))
                }
                _ => self.mapping(depth + 1),
            }
        }
        fn mapping(&mut self, depth: u32) -> Value {
            let mut m = serde_norway::Mapping::new();
            for _ in 0..self.next() % 5 {
                let k = if self.next().is_multiple_of(8) {
                    self.value(depth + 1)
                } else {
                    Value::String(self.string())
                };
                m.insert(k, self.value(depth + 1));
            }
            Value::Mapping(m)
        }
    }

    #[test]
    fn pieces_write_the_same_bytes_as_the_whole_list() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let n = g.next() % 5;
            let items: Vec<Value> = (0..n).map(|_| g.mapping(0)).collect();
            let results: Vec<KrmResult> = (0..g.next() % 3)
                .map(|_| KrmResult::info(g.string()))
                .collect();
            assert_eq!(
                String::from_utf8_lossy(&pieces(&items, &results)),
                String::from_utf8_lossy(&whole(&items, &results)),
                "round {round}: {items:?} {results:?}"
            );
        }
    }

    #[test]
    fn block_scalars_at_the_end() {
        let keep = yaml("a: \"x\\n\\n\"");
        let clip = yaml("a: \"x\\n\"");
        let plain = yaml("a: x");
        let r_keep = KrmResult::info("m\n\n");
        let r_plain = KrmResult::info("m");
        for items in [
            vec![keep.clone()],
            vec![keep.clone(), plain.clone()],
            vec![keep.clone(), clip.clone()],
            vec![clip.clone(), keep.clone()],
            vec![plain.clone()],
            vec![],
        ] {
            for results in [vec![], vec![r_keep.clone()], vec![r_plain.clone()]] {
                assert_eq!(pieces(&items, &results), whole(&items, &results));
            }
        }
    }

    fn roundtrip(text: &str) -> Option<Vec<Value>> {
        let s = split(text)?;
        s.chunks.iter().map(|c| parse_item(c)).collect()
    }

    #[test]
    fn split_cuts_plain_lists_into_items() {
        let text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n# c\nitems:\n# first\n- a: 1\n  b: |\n    x\n\n# between\n- c: [1,\n    2]\n-\n  d: e\nfunctionConfig:\n  kind: X\n";
        let s = split(text).unwrap();
        assert_eq!(s.chunks.len(), 3);
        assert_eq!(
            s.skeleton,
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n# c\nitems: []\nfunctionConfig:\n  kind: X\n"
        );
        let whole: Value = serde_norway::from_str(text).unwrap();
        let items = roundtrip(text).unwrap();
        assert_eq!(whole["items"], Value::Sequence(items));
    }

    #[test]
    fn split_refuses_or_fails_where_a_cut_would_change_meaning() {
        // Refused up front.
        for text in [
            "a: \"x\nitems:\n- b: 1\n\"\n",     // items: inside a quoted scalar
            "a: [x,\nitems:\n- b: 1\n]\n",      // inside a flow sequence
            "items:\n  - a: 1\n",               // indented sequence
            "items:\n---\n",                    // document marker
            "%YAML 1.2\n---\nitems:\n- a: 1\n", // directive
            "items: []\n",                      // nothing to cut
        ] {
            assert!(split(text).is_none(), "{text:?}");
        }
        // Cut, but a piece does not stand alone.
        for text in [
            "items:\n- a: \"x\n- y\"\n",      // quoted scalar over a `- ` line
            "items:\n- a: [1,\n- 2]\n",       // flow sequence over a `- ` line
            "items:\n- &x a: 1\n- *x\n",      // alias to another item
            "items:\n- a\n",                  // not a mapping
            "items:\n- a: 1\r- b: 2\n",       // CR line break inside a line
            "items:\n- a: 1\u{2028}- b: 2\n", // LS inside a line
        ] {
            let whole: Result<Value, _> = serde_norway::from_str(text);
            match (roundtrip(text), whole) {
                (None, _) => {}
                (Some(items), Ok(w)) => assert_eq!(w["items"], Value::Sequence(items), "{text:?}"),
                (Some(_), Err(_)) => panic!("cut parsed but whole did not: {text:?}"),
            }
        }
    }
}
