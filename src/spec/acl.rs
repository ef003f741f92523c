//! Redis ACL rules of the application user, checked at render time against
//! the commands and categories of the Redis version the image carries, so
//! that a rule redis-server would refuse (`Error loading ACL rule`, then a
//! crash loop) is an error here.
//!
//! Rules are split the way Redis splits a `user` line: on ASCII spaces only
//! (`"~*\u{2003}+@all"` is one key pattern). Control characters, quotes,
//! `$`, backticks and backslashes are refused before that.

use super::acl_commands::{ADDED_7_2, ADDED_7_4, CATEGORIES, COMMANDS_7_0};

/// A Redis version with a command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RedisVersion {
    V7_0,
    V7_2,
    V7_4,
}

impl RedisVersion {
    pub const ALL: [RedisVersion; 3] = [RedisVersion::V7_0, RedisVersion::V7_2, RedisVersion::V7_4];
    /// The version of the default image.
    pub const DEFAULT: RedisVersion = RedisVersion::V7_4;

    pub fn name(self) -> &'static str {
        match self {
            RedisVersion::V7_0 => "7.0",
            RedisVersion::V7_2 => "7.2",
            RedisVersion::V7_4 => "7.4",
        }
    }

    /// `7.0`, `7.2` or `7.4`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// Whether this version has `name` (a command or `container|subcommand`;
    /// any case).
    pub fn has_command(self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        COMMANDS_7_0.binary_search(&name.as_str()).is_ok()
            || (self >= RedisVersion::V7_2 && ADDED_7_2.contains(&name.as_str()))
            || (self >= RedisVersion::V7_4 && ADDED_7_4.contains(&name.as_str()))
    }

    /// Whether `name` has subcommands (`CONFIG`, `CLIENT`, ...).
    fn is_container(self, name: &str) -> bool {
        let prefix = format!("{}|", name.to_ascii_lowercase());
        COMMANDS_7_0
            .iter()
            .chain(ADDED_7_2)
            .chain(ADDED_7_4)
            .any(|c| c.starts_with(&prefix) && self.has_command(c))
    }
}

/// What the image tag says about the Redis version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageVersion {
    /// The tag names no version (`latest`, `alpine`, a digest only).
    Unknown,
    /// A version with a table.
    Known(RedisVersion),
    /// Older than 7.0: the generated configuration needs 7.0.
    TooOld(String),
    /// Newer than the newest table.
    Newer(String),
}

/// The Redis version an image reference names in its tag: `redis:7.2.5`,
/// `redis:7.2-alpine`, `bitnami/redis:7.4.2-debian-12-r0`, `redis:7` (the
/// newest 7.x). A registry port (`host:5000/redis`) is not a tag.
pub fn image_version(image: &str) -> ImageVersion {
    let name = image.split('@').next().unwrap_or_default();
    let last = name.rsplit('/').next().unwrap_or_default();
    let Some((_, tag)) = last.split_once(':') else {
        return ImageVersion::Unknown;
    };
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = tag.splitn(3, |c: char| !c.is_ascii_digit());
    let major_digits = parts.next().unwrap_or_default();
    let Ok(major) = major_digits.parse::<u32>() else {
        return ImageVersion::Unknown;
    };
    // The character after the major number must separate it (`7.2`,
    // `7-alpine`). The digits are ASCII: their length is a char boundary.
    let after = tag[major_digits.len()..].chars().next();
    if !matches!(after, None | Some('.' | '-' | '_')) {
        return ImageVersion::Unknown;
    }
    let minor = if after == Some('.') {
        parts.next().and_then(|m| m.parse::<u32>().ok())
    } else {
        None
    };
    let shown = match minor {
        Some(m) => format!("{major}.{m}"),
        None => major.to_string(),
    };
    match (major, minor) {
        (0..=6, _) => ImageVersion::TooOld(shown),
        (7, Some(0 | 1)) => ImageVersion::Known(RedisVersion::V7_0),
        (7, Some(2 | 3)) => ImageVersion::Known(RedisVersion::V7_2),
        (7, Some(4)) | (7, None) => ImageVersion::Known(RedisVersion::V7_4),
        _ => ImageVersion::Newer(shown),
    }
}

/// Rule words without an argument that the application user may use.
const WORDS: [&str; 6] = [
    "allkeys",
    "allchannels",
    "allcommands",
    "nocommands",
    "resetkeys",
    "resetchannels",
];

/// Checks the application user's rules. `version`: the table to check
/// command and category names against (`None`: a Redis newer than every
/// table; names are not checked).
pub fn check_rules(rules: &str, version: Option<RedisVersion>) -> Result<(), String> {
    if rules.len() > 4096
        || rules
            .chars()
            .any(|c| c.is_control() || "\"'`$\\".contains(c))
    {
        return Err(
            "appUserRules must be one line of at most 4096 bytes without quotes, '$', '`' or '\\'"
                .into(),
        );
    }
    let tokens: Vec<&str> = rules.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return Err("appUserRules must grant something, e.g. ~* &* +@all -@admin +role".into());
    }
    for token in tokens {
        check_rule(token, version).map_err(|e| format!("ACL rule {token:?}: {e}"))?;
    }
    Ok(())
}

fn check_rule(token: &str, version: Option<RedisVersion>) -> Result<(), String> {
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(token)) {
        return Ok(());
    }
    // The first character, not the first byte: any Unicode is input.
    let mut chars = token.chars();
    let first = chars.next().unwrap_or_default();
    let rest = chars.as_str();
    match first {
        '~' | '&' => Ok(()),
        '%' => {
            let (flags, _) = rest
                .split_once('~')
                .ok_or("a %R~/%W~/%RW~ key rule needs '~' and a pattern")?;
            let f = flags.to_ascii_uppercase();
            if !matches!(f.as_str(), "R" | "W" | "RW" | "WR") {
                return Err("key permissions before '~' must be R, W or RW".into());
            }
            Ok(())
        }
        '+' | '-' => match rest.strip_prefix('@') {
            Some(cat) => {
                // `all` is every category (not listed by ACL CAT).
                if version.is_some()
                    && !cat.eq_ignore_ascii_case("all")
                    && !CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(cat))
                {
                    return Err(format!(
                        "Redis has no ACL category {cat:?}; categories: {}",
                        CATEGORIES.join(", ")
                    ));
                }
                Ok(())
            }
            None => check_command(first == '+', rest, version),
        },
        _ => Err(format!(
            "not allowed in appUserRules: use key (~pattern, %R~, %W~), channel (&pattern) and command (+cmd, -cmd, +cmd|sub, +@category, -@category) rules, or {}",
            WORDS.join(", ")
        )),
    }
}

/// `+name`, `-name`, `+container|sub`, `-container|sub`, and `+cmd|arg`
/// (a first argument of a command without subcommands, `+select|0`), as
/// redis-server accepts them.
fn check_command(allow: bool, name: &str, version: Option<RedisVersion>) -> Result<(), String> {
    if name.is_empty() {
        return Err("a command name is missing".into());
    }
    let Some(v) = version else {
        return Ok(());
    };
    let unknown = |n: &str| format!("Redis {} has no command {n:?}", v.name());
    if v.has_command(name) {
        return Ok(());
    }
    let Some((cmd, arg)) = name.rsplit_once('|') else {
        return Err(unknown(name));
    };
    if cmd.contains('|') {
        return Err(if v.has_command(cmd) {
            "Redis does not allow rules on an argument of a subcommand".to_string()
        } else {
            unknown(cmd)
        });
    }
    if !v.has_command(cmd) {
        return Err(unknown(cmd));
    }
    if v.is_container(cmd) {
        return Err(format!("Redis {} has no subcommand {name:?}", v.name()));
    }
    if !allow {
        return Err("Redis allows first-argument rules only with '+' (e.g. +select|0)".into());
    }
    if arg.is_empty() {
        return Err("the argument after '|' is missing".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_image_tags() {
        use ImageVersion::*;
        use RedisVersion::*;
        for (image, v) in [
            ("docker.io/library/redis:7.4.2@sha256:abc", Known(V7_4)),
            ("redis:7.2.5", Known(V7_2)),
            ("redis:7.0-alpine", Known(V7_0)),
            ("bitnami/redis:7.2.4-debian-12-r0", Known(V7_2)),
            ("redis:7", Known(V7_4)),
            ("registry:5000/redis", Unknown),
            ("registry:5000/redis:latest", Unknown),
            ("redis@sha256:abc", Unknown),
            ("redis:6.2.14", TooOld("6.2".into())),
            ("redis:8.0.2", Newer("8.0".into())),
            ("redis:72", Newer("72".into())),
            ("redis:7x", Unknown),
            ("redis:7é", Unknown),
            ("redis:7.é", Known(V7_4)),
            ("redis:é7.2", Unknown),
            ("redis:\u{1F600}", Unknown),
        ] {
            assert_eq!(image_version(image), v, "{image}");
        }
    }

    #[test]
    fn rules_as_redis_reads_them() {
        let v = Some(RedisVersion::V7_0);
        for ok in [
            "~* &* +@all -@admin +role",
            "%R~cache:* %RW~x resetchannels +get",
            "+config|get -client|kill +select|0 +GET -@DANGEROUS",
            "~*\u{2003}+@all",
            "  +get   +set ",
        ] {
            assert!(check_rules(ok, v).is_ok(), "{ok}: {:?}", check_rules(ok, v));
        }
        for bad in [
            "",
            " ",
            "+get +nosuchcommand",
            "+@nosuchcategory",
            "-select|0",
            "+config|nosuch",
            "+config|get|x",
            "+get|",
            "+",
            "%X~a",
            "%R",
            ">secret +@all",
            "nopass",
            "on +@all",
            "reset",
            "+get $(id)",
            "+get\n+set",
            "+get\t+set",
            "#abc",
            "(~x +get)",
        ] {
            assert!(check_rules(bad, v).is_err(), "{bad:?}");
        }
        assert!(check_rules("+hexpire", Some(RedisVersion::V7_0)).is_err());
        assert!(check_rules("+hexpire", Some(RedisVersion::V7_4)).is_ok());
        assert!(check_rules("+waitaof +client|setinfo", Some(RedisVersion::V7_2)).is_ok());
        assert!(check_rules("+nosuchcommand", None).is_ok());
    }

    /// The first character of a rule may be any Unicode: refused, never a
    /// slice inside a character (`"éx"` once panicked).
    #[test]
    fn multibyte_first_characters_are_refused_not_sliced() {
        for version in [None, Some(RedisVersion::V7_0), Some(RedisVersion::V7_4)] {
            for bad in [
                "éx",
                "é",
                "+get éx",
                "\u{1F600}~*",
                "\u{2003}",
                "日本 +get",
                "\u{0301}+get",
                "ſ+get",
            ] {
                let e = check_rules(bad, version).expect_err(bad);
                assert!(e.contains("not allowed in appUserRules"), "{bad:?}: {e}");
            }
            // Multi-byte text after an ASCII first character is the rule's
            // argument: a key or channel pattern, a command name.
            assert!(check_rules("~é* &ü", version).is_ok());
            assert!(check_rules("%R~é", version).is_ok());
            assert!(check_rules("%é~x", version).is_err());
            assert!(check_rules("+@é", version).is_err() == version.is_some());
            assert!(check_rules("+é", version).is_err() == version.is_some());
            assert!(check_rules("+select|é", version).is_ok());
        }
    }
}
