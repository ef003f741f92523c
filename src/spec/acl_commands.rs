//! Command and ACL category names per server version, for checking ACL
//! rules at render time (see [`super::acl`]).
//!
//! Each table is a data file in `acl_tables/`, the output of
//! `tools/redis-acl-table.sh` run against the real server of that version
//! (`ACL CAT` as `@name` lines, then `COMMAND LIST`, lower case, sorted; the
//! first line names the exact release it came from). Where each binary came
//! from is in docs/servers.md: Debian's redis-server 7.0.15, servers built
//! from Debian's source packages (.ci/install.d/45-servers.sh) or from the
//! release tags (tools/build-server.sh). tests/it/acl_table.rs compares every
//! table with the output of its server whenever that binary is present.

use std::sync::OnceLock;

use super::server::CommandTable;

/// One server version's names.
#[derive(Debug)]
pub struct Table {
    /// The release the table was generated from (`Redis 7.0.15`).
    pub generated_from: &'static str,
    /// ACL categories, in `ACL CAT` order.
    pub categories: Vec<&'static str>,
    /// Commands and `container|subcommand` pairs, lower case, sorted.
    pub commands: Vec<&'static str>,
}

/// The table file of `t`, as `tools/redis-acl-table.sh` wrote it.
pub fn file(t: CommandTable) -> &'static str {
    match t {
        CommandTable::Redis7_0 => include_str!("acl_tables/redis-7.0.txt"),
        CommandTable::Redis7_2 => include_str!("acl_tables/redis-7.2.txt"),
        CommandTable::Redis7_4 => include_str!("acl_tables/redis-7.4.txt"),
        CommandTable::Redis8_0 => include_str!("acl_tables/redis-8.0.txt"),
        CommandTable::Valkey7_2 => include_str!("acl_tables/valkey-7.2.txt"),
        CommandTable::Valkey8_0 => include_str!("acl_tables/valkey-8.0.txt"),
        CommandTable::Valkey8_1 => include_str!("acl_tables/valkey-8.1.txt"),
        CommandTable::Valkey9_1 => include_str!("acl_tables/valkey-9.1.txt"),
    }
}

/// The names of `t` (read from its file once).
pub fn table(t: CommandTable) -> &'static Table {
    static TABLES: [OnceLock<Table>; CommandTable::ALL.len()] =
        [const { OnceLock::new() }; CommandTable::ALL.len()];
    TABLES[t as usize].get_or_init(|| parse(file(t)))
}

/// Splits a table file: the header's release, `@` lines, command lines.
fn parse(text: &'static str) -> Table {
    let mut lines = text.lines();
    let generated_from = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .and_then(|h| h.split_once(':'))
        .map(|(release, _)| release)
        .unwrap_or_default();
    let mut categories = Vec::new();
    let mut commands = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        match line.strip_prefix('@') {
            Some(c) => categories.push(c),
            None => commands.push(line),
        }
    }
    Table {
        generated_from,
        categories,
        commands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table file is what the lookups rely on: a header naming a
    /// release of its server and version, categories, and commands that
    /// are sorted, unique and lower case.
    #[test]
    fn every_table_file_is_well_formed() {
        for t in CommandTable::ALL {
            let tab = table(t);
            let (kind, version) = t.name().split_once(' ').expect("Kind M.N");
            assert!(
                tab.generated_from
                    .strip_prefix(kind)
                    .and_then(|v| v.trim_start().strip_prefix(version))
                    .is_some_and(|patch| patch.starts_with('.')),
                "{}: header names {:?}",
                t.name(),
                tab.generated_from
            );
            assert!(tab.categories.len() >= 21, "{}", t.name());
            assert!(tab.commands.len() > 300, "{}", t.name());
            assert!(
                tab.commands.windows(2).all(|w| w[0] < w[1]),
                "{}: commands not sorted and unique",
                t.name()
            );
            assert!(
                tab.commands
                    .iter()
                    .chain(&tab.categories)
                    .all(|c| !c.is_empty()
                        && !c.contains(char::is_whitespace)
                        && *c == c.to_ascii_lowercase()),
                "{}",
                t.name()
            );
        }
    }
}
