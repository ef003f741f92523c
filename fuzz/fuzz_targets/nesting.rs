//! krm::check_flow_depth against libyaml: for one line of text that is a
//! flow collection (or a block mapping holding one), the depth serde_norway
//! builds must never be more than the depth the pre-scan lets through.
//! (Were the pre-scan to see less nesting than libyaml, deep input could
//! reach the parser, whose scanner slows down with depth on every token.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_sentinel_fn::krm::check_flow_depth;
use serde_norway::Value;

fn depth(v: &Value) -> usize {
    match v {
        Value::Sequence(s) => 1 + s.iter().map(depth).max().unwrap_or(0),
        Value::Mapping(m) => {
            1 + m
                .iter()
                .map(|(k, v)| depth(k).max(depth(v)))
                .max()
                .unwrap_or(0)
        }
        Value::Tagged(t) => depth(&t.value),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(body) = std::str::from_utf8(rest) else {
        return;
    };
    // Aliases repeat a node elsewhere: the tree is then deeper than the
    // text. After a line break, block collections may follow the flow one.
    // With `?` keys libyaml's parser nests deeper than its scanner's flow
    // level (`[?],[a: b],]`), and the scanner's level is what costs time.
    if body.contains(['*', '?', '\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return;
    }
    let text = if mode % 2 == 0 {
        format!("[{body}")
    } else {
        format!("k: [{body}")
    };
    let Ok(v) = serde_norway::from_str::<Value>(&text) else {
        return;
    };
    // A mapping at the root is a block one (`k: [...]`, or `[...]: v` with
    // the collection as its key): one level that is not flow.
    let block_levels = usize::from(v.is_mapping());
    // A flow sequence entry `a: b` is a mapping without brackets: the tree
    // has at most twice as many levels as the brackets that libyaml counts.
    let tree = depth(&v).saturating_sub(block_levels);
    let brackets = tree.div_ceil(2);
    if brackets >= 2 {
        assert!(
            check_flow_depth(text.as_bytes(), brackets - 1).is_err(),
            "libyaml nests at least {brackets} flow levels but the pre-scan sees fewer"
        );
    }
});
