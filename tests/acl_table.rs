//! The ACL command table is right: every command and category the table
//! holds for the installed redis-server's version is accepted by that
//! server's `ACL SETUSER`, bogus ones are refused, and for a set of rules
//! the render-time check and the real server agree on accept or refuse.

mod harness;

use redis_sentinel_fn::spec::acl::{self, ImageVersion, RedisVersion};
use redis_sentinel_fn::spec::acl_commands::{ADDED_7_2, ADDED_7_4, CATEGORIES, COMMANDS_7_0};

fn server(name: &str) -> harness::Standalone {
    let dir = std::env::temp_dir().join(format!("rsfn-acl-{}-{name}", std::process::id()));
    harness::Standalone::start(&dir).expect("redis-server starts")
}

fn installed(s: &harness::Standalone) -> RedisVersion {
    let v = s.version().expect("version");
    match acl::image_version(&format!("redis:{v}")) {
        ImageVersion::Known(k) => k,
        other => panic!("installed redis-server {v} has no table: {other:?}"),
    }
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
    let mut names: Vec<&str> = COMMANDS_7_0.to_vec();
    if v >= RedisVersion::V7_2 {
        names.extend(ADDED_7_2);
    }
    if v >= RedisVersion::V7_4 {
        names.extend(ADDED_7_4);
    }
    let mut rules: Vec<String> = Vec::new();
    for n in &names {
        assert!(v.has_command(n), "{n}");
        rules.push(format!("+{n}"));
        rules.push(format!("-{n}"));
    }
    for c in CATEGORIES {
        rules.push(format!("+@{c}"));
        rules.push(format!("-@{c}"));
    }
    let commands: Vec<Vec<String>> = rules.iter().map(|r| setuser(&[r])).collect();
    let replies = s.pipeline(&commands).expect("pipeline");
    for (rule, reply) in rules.iter().zip(&replies) {
        assert_eq!(reply, "+OK", "redis refused {rule}");
    }
    assert!(rules.len() > 700, "{} rules", rules.len());
    // Later versions' commands are not in this one.
    let later: Vec<&str> = [ADDED_7_2, ADDED_7_4]
        .concat()
        .into_iter()
        .filter(|n| !v.has_command(n))
        .collect();
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
