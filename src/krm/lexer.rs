//! A YAML lexer of one purpose: how deep flow collections (`[ ]`, `{ }`)
//! may nest, found in one linear pass before any parser sees the input
//! (libyaml spends time proportional to the depth on every token).

use super::block_scalar::end_of_block_scalar;
use super::input::{InputError, Position};

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
/// The lines of a block scalar (`key: |`) are not read at all
/// ([`super::block_scalar`]): scripts in ConfigMaps hold many brackets.
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
            // A block scalar's lines are text: go past them at once.
            if matches!(b, b'|' | b'>')
                && let Some(end) = end_of_block_scalar(text, i)
            {
                line += text[i + 1..end].iter().filter(|&&c| c == b'\n').count();
                prev = b'\n';
                if end > i + 1 {
                    bytes.nth(end - i - 2);
                }
                continue;
            }
            // Nothing else changes the state: go to the next bracket or
            // block scalar header at once.
            let rest = &text[i + 1..];
            let skip = next_stop(rest);
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

/// Offset of the first `[`, `{`, `|` or `>` in `s` (its length if none),
/// 32 bytes at a time so that the compiler vectorizes the search.
fn next_stop(s: &[u8]) -> usize {
    let bracket = |c: &u8| matches!(*c, b'[' | b'{' | b'|' | b'>');
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
