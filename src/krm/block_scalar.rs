//! Where a YAML block scalar (`key: |`, `- >-`) ends, for the flow-depth
//! pre-scan ([`super::lexer`]): the lines of a literal or folded scalar are
//! text to libyaml, so the brackets in them (shell scripts in a ConfigMap:
//! `[ -n "$x" ]`, `awk '{ ... }'`) must not count as flow collections.
//! Counting them made a re-render refuse its own earlier output once enough
//! scripts were in the input (a RedisSentinelList's second `kpt fn render`).
//!
//! Only the plain forms are recognised, and only where libyaml reads them
//! the same way: a header after `key:` or `-` on a line of its own, no
//! explicit indentation indicator, no tag or anchor, `\n` line breaks. Any
//! other form is not skipped, so its brackets count as before (the pre-scan
//! stays on the side of seeing more depth than libyaml, never less).

/// If the `|` or `>` at `text[i]` opens a block scalar, the offset of the
/// first byte after its content (the start of the first line that is not
/// part of it, or the end of the text). `None`: not a header this module
/// recognises.
pub fn end_of_block_scalar(text: &[u8], i: usize) -> Option<usize> {
    let parent = header_parent_indent(text, i)?;
    let content = header_line_end(text, i)? + 1;
    Some(content_end(text, content, parent))
}

/// The indentation of the node the header at `text[i]` belongs to: the
/// key's column for `key: |`, the last dash's for `- |`. `None` for any
/// other prefix.
fn header_parent_indent(text: &[u8], i: usize) -> Option<usize> {
    let start = text[..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let prefix = &text[start..i];
    if prefix.iter().any(|&c| is_other_break_byte(c)) || !prefix.ends_with(b" ") {
        return None;
    }
    let mut pos = prefix.iter().take_while(|&&c| c == b' ').count();
    let mut last_dash = None;
    while prefix.get(pos) == Some(&b'-') && prefix.get(pos + 1).is_some_and(|c| is_blank(*c)) {
        last_dash = Some(pos);
        pos += 1;
        pos += prefix[pos..].iter().take_while(|c| is_blank(**c)).count();
    }
    let rest = &prefix[pos..];
    if rest.is_empty() {
        return last_dash;
    }
    plain_key_then_colon(rest).then_some(pos)
}

/// Whether `s` is `key:` and blanks: a plain key of no indicator, quote,
/// comment or inner `: `.
fn plain_key_then_colon(s: &[u8]) -> bool {
    let key = match s.iter().rposition(|c| !is_blank(*c)) {
        Some(last) if s[last] == b':' => &s[..last],
        _ => return false,
    };
    let Some(&first) = key.first() else {
        return false;
    };
    if b"-?:,[]{}#&*!|>'\"%@`".contains(&first) || is_blank(first) {
        return false;
    }
    !key.iter().any(|c| b"#'\"".contains(c))
        && !key.windows(2).any(|w| w[0] == b':' && is_blank(w[1]))
}

/// The offset of the line break that ends the header line starting at
/// `text[i]` (`|` or `>`, a chomping indicator, blanks, a comment).
/// `None` for an explicit indentation indicator or anything else.
fn header_line_end(text: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if matches!(text.get(j), Some(b'+' | b'-')) {
        j += 1;
    }
    let blanks = text[j.min(text.len())..]
        .iter()
        .take_while(|c| is_blank(**c))
        .count();
    j += blanks;
    if blanks > 0 && text.get(j) == Some(&b'#') {
        j += text[j..].iter().take_while(|&&c| c != b'\n').count();
    }
    let line = &text[i..j.min(text.len())];
    (text.get(j) == Some(&b'\n') && !line.iter().any(|&c| is_other_break_byte(c))).then_some(j)
}

/// The end of the content lines from `start` of a block scalar whose
/// parent node is indented `parent`: libyaml's auto-detected indentation
/// (the largest of the leading empty lines' and the first text line's, at
/// least `parent + 1`), then every line indented that much or empty.
fn content_end(text: &[u8], start: usize, parent: usize) -> usize {
    let mut indent = parent + 1;
    let mut detected = false;
    let mut at = start;
    while at < text.len() {
        let end = text[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(text.len(), |p| at + p);
        let line = &text[at..end];
        if line.iter().any(|&c| is_other_break_byte(c)) {
            return at;
        }
        let spaces = line.iter().take_while(|&&c| c == b' ').count();
        let empty = spaces == line.len();
        if !detected {
            indent = indent.max(spaces);
            if !empty {
                detected = true;
                if spaces < indent {
                    return at;
                }
            }
        } else if !empty && spaces < indent {
            return at;
        }
        at = end + 1;
    }
    text.len()
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Bytes of line breaks other than `\n` (`\r`; NEL, LS and PS end in
/// 0x85, 0xA8, 0xA9): where they are, libyaml's lines are not ours, so
/// nothing is skipped (bytes of other characters are refused too, which
/// only costs a skip).
fn is_other_break_byte(c: u8) -> bool {
    matches!(c, b'\r' | 0x85 | 0xA8 | 0xA9)
}

#[cfg(test)]
mod tests {
    use super::end_of_block_scalar;

    fn end(text: &str) -> Option<usize> {
        let i = text.find(['|', '>']).expect("a header");
        end_of_block_scalar(text.as_bytes(), i)
    }

    #[test]
    fn a_mapping_value_ends_at_the_first_less_indented_line() {
        let t = "data:\n  a.sh: |\n    [ -n \"$x\" ] && {\n\n      echo\n  b: 1\n";
        assert_eq!(end(t), t.find("  b: 1"));
        let t = "k: >-\n  text\n  more\n";
        assert_eq!(end(t), Some(t.len()));
        let t = "- |  # comment\n  [[[\n- x\n";
        assert_eq!(end(t), t.find("- x"));
    }

    #[test]
    fn content_must_be_deeper_than_the_parent_node() {
        // The key is at column 2: a line at column 2 is not content.
        let t = "- k: |\n  [[[: v\n";
        assert_eq!(end(t), t.find("  [[["));
        // The first text line sets the indentation; a shallower one ends it.
        let t = "k: |\n    a\n  [[[: v\n";
        assert_eq!(end(t), t.find("  [[["));
        // A leading empty line with more spaces raises the indentation.
        let t = "k: |\n      \n    [[[\n";
        assert_eq!(end(t), t.find("    [[["));
    }

    #[test]
    fn other_forms_are_not_skipped() {
        for t in [
            "k: |2\n  [[[\n",
            "k: !t |\n  [[[\n",
            "k: &a |\n  [[[\n",
            "\"k\": |\n  [[[\n",
            "k: a |\n  [[[\n",
            "a: b: |\n  [[[\n",
            "|\n  [[[\n",
            "k: |\r\n  [[[\n",
            "k: |x\n  [[[\n",
            "k: |#c\n  [[[\n",
            "k: |",
            "k: a # c: |\n  [[[\n",
        ] {
            assert_eq!(end(t), None, "{t:?}");
        }
    }

    #[test]
    fn other_line_breaks_end_the_skip() {
        let t = "k: |\n  a\r[[[\n";
        assert_eq!(end(t), t.find("  a"));
        let t = "k: |\n  a\n  b\u{2028}[[[\n";
        assert_eq!(end(t), t.find("  b"));
    }
}
