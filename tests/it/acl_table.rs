//! The ACL command tables are right: every command and category the table
//! of the server under test holds is accepted by that server's `ACL
//! SETUSER`, bogus ones and the other tables' extra commands are refused,
//! and for a set of rules the render-time check and the real server agree
//! on accept or refuse. The server is Debian's redis-server, or the build
//! `E2E_SERVER` names (CI runs this on each: .ci/steps/55-server-matrix.sh).

use crate::harness;

use redis_sentinel_fn::spec::acl::{self, CommandTable};
use redis_sentinel_fn::spec::server::{ServerKind, Support, Version, support};

fn server(name: &str) -> harness::Standalone {
    let dir = std::env::temp_dir().join(format!("rsfn-acl-{}-{name}", std::process::id()));
    harness::Standalone::start(&dir).expect("server starts")
}

fn installed(s: &harness::Standalone) -> CommandTable {
    let (kind, v) = s.identity().expect("version");
    let kind = match kind.as_str() {
        "Valkey" => ServerKind::Valkey,
        "Redis" => ServerKind::Redis,
        other => panic!("unknown server {other}"),
    };
    let version = Version::parse_tag(&v).expect("a version");
    match support(kind, version) {
        Support::Table(t) => t,
        other => panic!("installed {kind:?} {v} has no table: {other:?}"),
    }
}

/// Every command a table holds.
fn table_commands(v: CommandTable) -> Vec<&'static str> {
    v.commands().to_vec()
}

fn setuser(rules: &[&str]) -> Vec<String> {
    let mut c = vec![
        "ACL".to_string(),
        "SETUSER".to_string(),
        "probe".to_string(),
    ];
    c.extend(rules.iter().map(|r| r.to_string()));
    c
}

#[test]
fn every_command_and_category_of_the_table_loads_into_redis() {
    let s = server("table");
    let v = installed(&s);
    let names = table_commands(v);
    println!(
        "acl_table: {} on the real server: {} commands, {} categories",
        v.name(),
        names.len(),
        v.categories().len()
    );
    let mut rules: Vec<String> = Vec::new();
    for n in &names {
        assert!(v.has_command(n), "{n}");
        rules.push(format!("+{n}"));
        rules.push(format!("-{n}"));
    }
    for c in v.categories() {
        rules.push(format!("+@{c}"));
        rules.push(format!("-@{c}"));
    }
    let commands: Vec<Vec<String>> = rules.iter().map(|r| setuser(&[r])).collect();
    let replies = s.pipeline(&commands).expect("pipeline");
    for (rule, reply) in rules.iter().zip(&replies) {
        assert_eq!(reply, "+OK", "redis refused {rule}");
    }
    assert!(rules.len() > 700, "{} rules", rules.len());
    // Other tables' commands that are not in this one.
    let later: Vec<&str> = CommandTable::ALL
        .into_iter()
        .flat_map(table_commands)
        .filter(|n| !v.has_command(n))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "acl_table: {} commands of other tables refused",
        later.len()
    );
    let bogus: Vec<String> = ["+nosuchcommand", "+@nosuchcategory", "-nosuch|sub"]
        .iter()
        .map(|s| s.to_string())
        .chain(later.iter().map(|n| format!("+{n}")))
        .collect();
    let replies = s
        .pipeline(&bogus.iter().map(|r| setuser(&[r])).collect::<Vec<_>>())
        .expect("pipeline");
    for (rule, reply) in bogus.iter().zip(&replies) {
        assert!(reply.starts_with("-ERR"), "redis accepted {rule}: {reply}");
        assert!(acl::check_rules(rule, Some(v)).is_err(), "{rule}");
    }
}

#[test]
fn the_render_time_check_agrees_with_redis() {
    let s = server("agree");
    let v = installed(&s);
    let cases = [
        "~* &* +@all -@admin +role",
        "%R~cache:* %W~out:* %RW~x resetchannels +get",
        "+config|get -client|kill +select|0 +GET -@DANGEROUS",
        "~*\u{2003}+@all",
        "+get +nosuchcommand",
        "+@nosuchcategory",
        "-select|0",
        "+config|nosuch",
        "+config|get|x",
        "+get|",
        "%X~a",
        "%R",
        "%~x",
        "%RR~x",
        "+client|no-touch",
        "+hexpire",
        "allkeys allchannels nocommands +ping",
        "resetkeys ~a",
        "-get|x",
        "+debug|object",
        "+acl|whoami -acl|setuser",
    ];
    // Refused here although redis-server 7.0 accepts them: a key rule
    // without a pattern, and `%~` without permissions (refused by Redis
    // itself from 7.2.6 and 7.4.1, CVE-2024-31227).
    let stricter = ["%R", "%~x"];
    let commands: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            let mut cmd = setuser(&["reset"]);
            cmd.extend(c.split(' ').filter(|t| !t.is_empty()).map(str::to_string));
            cmd
        })
        .collect();
    let replies = s.pipeline(&commands).expect("pipeline");
    for (case, reply) in cases.iter().zip(&replies) {
        let redis_ok = reply == "+OK" && !stricter.contains(case);
        let ours = acl::check_rules(case, Some(v));
        assert_eq!(
            ours.is_ok(),
            redis_ok,
            "{case:?}: redis says {reply}, the check says {ours:?}"
        );
    }
}

/// Every server binary here: Debian's redis-server on the PATH (`None`)
/// and each build in the server cache (.ci/install.d/45-servers.sh,
/// tools/build-server.sh).
fn binaries_present() -> Vec<Option<std::path::PathBuf>> {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(harness::cache_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("redis-server").is_file() || b.join("valkey-server").is_file())
        .collect();
    dirs.sort();
    let host = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    host.then_some(None)
        .into_iter()
        .chain(dirs.into_iter().map(Some))
        .collect()
}

/// The table tools/redis-acl-table.sh writes for the server in `bin`.
fn generate(bin: Option<&std::path::Path>) -> String {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(harness::repo_path("tools/redis-acl-table.sh"));
    if let Some(b) = bin {
        cmd.arg(b);
    }
    let out = cmd.output().expect("runs tools/redis-acl-table.sh");
    assert!(
        out.status.success(),
        "tools/redis-acl-table.sh {bin:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Each table file is exactly what its server says (`ACL CAT`, `COMMAND
/// LIST`), for every server binary present: a table edited by hand, or a
/// server whose names changed, fails here. The header's patch release may
/// differ (patch releases add no commands; the test would show it if one
/// did). CI has Debian's Redis 7.0.15 and the builds of Valkey 9.1 and
/// Redis 8.0; the other tables were compared on the builds named in
/// docs/servers.md.
#[test]
fn every_table_is_what_its_server_says() {
    let mut compared = Vec::new();
    for bin in binaries_present() {
        let text = generate(bin.as_deref());
        let (header, body) = text.split_once('\n').expect("a header line");
        let release = header
            .strip_prefix("# ")
            .and_then(|h| h.split_once(':'))
            .map(|(r, _)| r.to_string())
            .expect("# Kind X.Y.Z: header");
        let (kind, version) = release.split_once(' ').expect("Kind X.Y.Z");
        let kind = ServerKind::parse(&kind.to_ascii_lowercase()).expect("Redis or Valkey");
        let version = Version::parse_tag(version).expect("a version");
        let Support::Table(t) = support(kind, version) else {
            println!("acl_table: {release} ({bin:?}) has no table: not compared");
            continue;
        };
        let file = redis_sentinel_fn::spec::acl_commands::file(t);
        let (file_header, file_body) = file.split_once('\n').expect("a header line");
        assert!(
            body == file_body,
            "the {} table ({file_header}) differs from what {release} says; regenerate it: sh tools/redis-acl-table.sh {} > src/spec/acl_tables/...",
            t.name(),
            bin.as_deref()
                .map(|b| b.display().to_string())
                .unwrap_or_default()
        );
        println!(
            "acl_table: {} table equals {release}: {} commands, {} categories",
            t.name(),
            t.commands().len(),
            t.categories().len()
        );
        compared.push(t);
    }
    assert!(
        !compared.is_empty(),
        "no server binary to compare a table with"
    );
    let missing: Vec<&str> = CommandTable::ALL
        .into_iter()
        .filter(|t| !compared.contains(t))
        .map(CommandTable::name)
        .collect();
    println!("acl_table: no binary here for {missing:?}");
}
