//! Redis ACL rules of the application user, checked at render time against
//! the commands and categories of the Redis version the image carries, so
//! that a rule redis-server would refuse (`Error loading ACL rule`, then a
//! crash loop) is an error here.
//!
//! Rules are split the way Redis splits a `user` line: on ASCII spaces only
//! (`"~*\u{2003}+@all"` is one key pattern). Control characters, quotes,
//! `$`, backticks and backslashes are refused before that.

use super::acl_commands::table;
pub use super::server::CommandTable;

impl CommandTable {
    /// The commands of the table: lower case, sorted ([`table`]).
    pub fn commands(self) -> &'static [&'static str] {
        &table(self).commands
    }

    /// The ACL categories of the table (`ACL CAT`).
    pub fn categories(self) -> &'static [&'static str] {
        &table(self).categories
    }

    /// Redis 8 images ship modules (query engine, JSON, time series,
    /// probabilistic) whose commands (`FT.SEARCH`, `JSON.GET`: names with a
    /// `.`) and categories ([`MODULE_CATEGORIES`]) are not in the table of
    /// a server built without them: module commands are checked for a
    /// module's prefix ([`MODULE_PREFIXES`]) only. docs/servers.md says why.
    fn has_modules(self) -> bool {
        self == CommandTable::Redis8_0
    }

    /// Whether this version has `name` (a command or `container|subcommand`;
    /// any case).
    pub fn has_command(self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.commands().binary_search(&name.as_str()).is_ok()
    }

    /// Whether `name` has subcommands (`CONFIG`, `CLIENT`, ...).
    fn is_container(self, name: &str) -> bool {
        let prefix = format!("{}|", name.to_ascii_lowercase());
        let list = self.commands();
        let at = list.partition_point(|c| *c < prefix.as_str());
        list.get(at).is_some_and(|c| c.starts_with(&prefix))
    }

    /// Whether `name` (`json.get`, `FT.SEARCH|x`) is a command of one of
    /// the modules Redis 8 images load.
    fn is_module_command(self, name: &str) -> bool {
        let command = name.split('|').next().unwrap_or_default();
        self.has_modules()
            && command.split_once('.').is_some_and(|(module, rest)| {
                !rest.is_empty()
                    && MODULE_PREFIXES
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(module))
            })
    }
}

/// The ACL categories the modules of the Redis 8 images add (Redis 8.0
/// release notes); a server built without modules does not list them.
const MODULE_CATEGORIES: [&str; 8] = [
    "search",
    "json",
    "timeseries",
    "bloom",
    "cuckoo",
    "cms",
    "topk",
    "tdigest",
];

/// The command prefixes of those modules: `FT.` (query engine), `JSON.`,
/// `TS.` (time series), `BF.`, `CF.`, `CMS.`, `TOPK.`, `TDIGEST.`
/// (probabilistic).
const MODULE_PREFIXES: [&str; 8] = ["ft", "json", "ts", "bf", "cf", "cms", "topk", "tdigest"];

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
pub fn check_rules(rules: &str, version: Option<CommandTable>) -> Result<(), String> {
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

fn check_rule(token: &str, version: Option<CommandTable>) -> Result<(), String> {
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
                if let Some(v) = version
                    && !cat.eq_ignore_ascii_case("all")
                    && !v.categories().iter().any(|c| c.eq_ignore_ascii_case(cat))
                    && !(v.has_modules()
                        && MODULE_CATEGORIES
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(cat)))
                {
                    return Err(format!(
                        "{} has no ACL category {cat:?}; categories: {}",
                        v.name(),
                        v.categories().join(", ")
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
fn check_command(allow: bool, name: &str, version: Option<CommandTable>) -> Result<(), String> {
    if name.is_empty() {
        return Err("a command name is missing".into());
    }
    let Some(v) = version else {
        return Ok(());
    };
    let unknown = |n: &str| format!("{} has no command {n:?}", v.name());
    if v.has_command(name) || v.is_module_command(name) {
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
        return Err(format!("{} has no subcommand {name:?}", v.name()));
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
    fn rules_as_redis_reads_them() {
        let v = Some(CommandTable::Redis7_0);
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
        assert!(check_rules("+hexpire", Some(CommandTable::Redis7_0)).is_err());
        assert!(check_rules("+hexpire", Some(CommandTable::Redis7_4)).is_ok());
        assert!(check_rules("+waitaof +client|setinfo", Some(CommandTable::Redis7_2)).is_ok());
        assert!(check_rules("+nosuchcommand", None).is_ok());
        let valkey = Some(CommandTable::Valkey9_1);
        assert!(check_rules("+delifeq +hgetex +commandlog|get", valkey).is_ok());
        assert!(check_rules("+delifeq", Some(CommandTable::Redis7_4)).is_err());
        let redis8 = Some(CommandTable::Redis8_0);
        assert!(check_rules("+ft.search +@search -@json +JSON.GET -tdigest.add", redis8).is_ok());
        assert!(check_rules("+jsn.get", redis8).is_err());
        assert!(check_rules("+json.", redis8).is_err());
        assert!(check_rules("+json.get", Some(CommandTable::Valkey9_1)).is_err());
        assert!(check_rules("+@nosuchcategory", redis8).is_err());
        assert!(check_rules("+nosuchcommand", redis8).is_err());
    }

    /// The first character of a rule may be any Unicode: refused, never a
    /// slice inside a character (`"éx"` once panicked).
    #[test]
    fn multibyte_first_characters_are_refused_not_sliced() {
        for version in [
            None,
            Some(CommandTable::Redis7_0),
            Some(CommandTable::Redis7_4),
            Some(CommandTable::Valkey9_1),
        ] {
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
