//! serde's errors about a spec, in the words of the spec: no Rust type
//! names, the range a whole-number field really accepts, and for an
//! unknown field the valid name it probably meant.

use super::consumers::MAX_DATABASE;
use super::validate::{MAX_REDIS_REPLICAS, MAX_SENTINEL_REPLICAS};

/// Rewrites serde's message `msg` about the field at `path` (`spec.` or
/// `data.` prefix included) into words a spec author knows.
pub fn humanize(path: &str, msg: &str) -> String {
    if msg.contains("untagged enum Q") {
        return "expected a Kubernetes quantity: a string such as 500m or 1Gi, or a number".into();
    }
    if msg.contains("untagged enum ClientAuthInput") {
        return "expected yes, optional or no".into();
    }
    if let Some(m) = did_you_mean(msg) {
        return m;
    }
    let msg = struct_in_words(path, msg);
    let whole = format!("expected {}", whole_number(path));
    msg.replace("expected u16", "expected a port number (1-65535)")
        .replace("expected u32", &whole)
        .replace("expected u64", &whole)
        .replace("expected i64", "expected a whole number")
        .replace("expected a boolean", "expected true or false")
        .replace("expected f64", "expected a number")
}

/// `expected struct TlsSpec` in words: a block of fields. A `true`/`false`
/// where a section with an `enabled` switch belongs gets the way to write it.
fn struct_in_words(path: &str, msg: &str) -> String {
    let Some(at) = msg.find("expected struct ") else {
        return msg.to_string();
    };
    let name = path.rsplit('.').next().unwrap_or(path);
    let mut out = format!(
        "{}expected a block of fields under `{name}:` (indented `key: value` lines)",
        &msg[..at]
    );
    let rest = &msg[at + "expected struct ".len()..];
    let ty = rest
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    let switched = [
        "TlsSpec",
        "AuthSpec",
        "MetricsSpec",
        "NetworkPolicySpec",
        "Persistence",
        "Plaintext",
    ];
    if let Some(b) = ["true", "false"]
        .into_iter()
        .find(|b| msg.contains(&format!("boolean `{b}`")))
        && switched.contains(&ty)
    {
        out.push_str(&format!(
            "; to switch it on or off write `{name}: {{enabled: {b}}}`"
        ));
    }
    out
}

/// The values a whole-number field accepts, as validation checks them.
fn whole_number(path: &str) -> String {
    let field = path
        .strip_prefix("spec.")
        .or_else(|| path.strip_prefix("data."))
        .unwrap_or(path);
    // `consumers[2].database` -> `consumers.database`
    let mut plain = String::new();
    let mut depth = 0;
    for c in field.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let range = match plain.as_str() {
        "redis.replicas" => format!("from 1 to {MAX_REDIS_REPLICAS}"),
        "redis.minReplicasToWrite" => "from 0 to redis.replicas - 1".into(),
        "redis.minReplicasMaxLag" => "from 1 to 3600 (seconds)".into(),
        "sentinel.replicas" => format!("from 1 to {MAX_SENTINEL_REPLICAS}"),
        "sentinel.quorum" => "from 1 to sentinel.replicas".into(),
        "sentinel.downAfterMilliseconds" => "from 100 to 3600000 (milliseconds)".into(),
        "sentinel.failoverTimeout" => "from 1000 to 86400000 (milliseconds)".into(),
        "sentinel.parallelSyncs" => format!("from 1 to {MAX_REDIS_REPLICAS}"),
        "tls.validityDays" | "tls.caValidityDays" => "from 1 to 36500 (days)".into(),
        "tls.renewBeforeDays" => "of days, 0 or more and less than tls.validityDays".into(),
        "metrics.replicaLinkDownSeconds" => "from 1 to 86400 (seconds)".into(),
        "consumers.storageDatabase"
        | "consumers.queuesDatabase"
        | "consumers.systemDatabase"
        | "consumers.database" => format!("from 0 to {MAX_DATABASE}"),
        _ => "(0 or more)".into(),
    };
    format!("a whole number {range}")
}

/// serde's `unknown field `replica`, expected one of `replicas`, ...` with
/// the closest valid name first, when one is close enough to be a typo.
fn did_you_mean(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let valid: Vec<&str> = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    let head = format!("unknown field `{unknown}`");
    if valid.is_empty() {
        return Some(format!("{head}: this section has no fields"));
    }
    let list = valid
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(match closest(unknown, &valid) {
        Some(best) => format!("{head}; did you mean `{best}`? Valid fields here: {list}"),
        None => format!("{head}; valid fields here: {list}"),
    })
}

/// The candidate nearest to `word` (case ignored), if it is within a third
/// of the word's length (at least 1, at most 3 edits).
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (levenshtein(&word, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions) between two
/// strings, by characters; one row of the usual table at a time.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("replica", "replicas"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("ä€x", "a€x"), 1);
        assert_eq!(levenshtein("abc", ""), 3);
    }

    #[test]
    fn unknown_field_names_the_likely_one() {
        let m = humanize(
            "spec.redis.replica",
            "unknown field `replica`, expected one of `replicas`, `port`, `resources`",
        );
        assert!(
            m.starts_with("unknown field `replica`; did you mean `replicas`?"),
            "{m}"
        );
        assert!(m.contains("`port`"), "{m}");
        let far = humanize(
            "spec.x",
            "unknown field `zzzzzz`, expected `replicas` or `port`",
        );
        assert!(!far.contains("did you mean"), "{far}");
        assert!(far.contains("`replicas`, `port`"), "{far}");
    }

    #[test]
    fn no_rust_type_names() {
        let m = humanize(
            "spec.tls",
            "invalid type: boolean `true`, expected struct TlsSpec",
        );
        assert_eq!(
            m,
            "invalid type: boolean `true`, expected a block of fields under `tls:` (indented `key: value` lines); to switch it on or off write `tls: {enabled: true}`"
        );
        let m = humanize(
            "spec.placement",
            "invalid type: string \"x\", expected struct Placement",
        );
        assert!(!m.contains("Placement") && !m.contains("enabled"), "{m}");
    }

    /// The ranges the messages give are the ones validation enforces.
    #[test]
    fn ranges_agree_with_validation() {
        let cases = [
            ("redis:\n    replicas", "redis.replicas", 1, 100),
            ("sentinel:\n    replicas", "sentinel.replicas", 1, 15),
            (
                "redis:\n    minReplicasMaxLag",
                "redis.minReplicasMaxLag",
                1,
                3600,
            ),
            (
                "sentinel:\n    downAfterMilliseconds",
                "sentinel.downAfterMilliseconds",
                100,
                3_600_000,
            ),
            (
                "sentinel:\n    failoverTimeout",
                "sentinel.failoverTimeout",
                1000,
                86_400_000,
            ),
            (
                "sentinel:\n    parallelSyncs",
                "sentinel.parallelSyncs",
                1,
                100,
            ),
        ];
        let valid = |body: &str, v: u64| {
            let yaml = format!(
                "apiVersion: {}\nkind: {}\nmetadata: {{name: c, namespace: n}}\nspec:\n  {body}: {v}\n",
                crate::spec::model::API_VERSION,
                crate::spec::model::KIND
            );
            let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
            crate::spec::from_function_config(&doc).is_ok()
        };
        for (body, field, lo, hi) in cases {
            let said = whole_number(&format!("spec.{field}"));
            assert!(
                said.starts_with(&format!("a whole number from {lo} to {hi}")),
                "{field}: {said}"
            );
            assert!(
                valid(body, lo) && valid(body, hi),
                "{field}: {lo} and {hi} are valid"
            );
            assert!(
                !valid(body, lo - 1) && !valid(body, hi + 1),
                "{field}: outside {lo}-{hi}"
            );
        }
    }

    #[test]
    fn whole_numbers_say_their_range() {
        let m = humanize(
            "spec.redis.replicas",
            "invalid type: string \"three\", expected u32",
        );
        assert_eq!(
            m,
            "invalid type: string \"three\", expected a whole number from 1 to 100"
        );
        let m = humanize(
            "spec.consumers[0].database",
            "invalid type: string \"x\", expected u32",
        );
        assert!(m.ends_with("from 0 to 15"), "{m}");
        let m = humanize(
            "spec.tls.rotation",
            "invalid type: string \"x\", expected u32",
        );
        assert!(m.ends_with("a whole number (0 or more)"), "{m}");
    }
}
