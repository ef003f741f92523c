//! Migration in (`spec.migration`, docs/migrating.md): the files and
//! settings of the two run-time parts.
//!
//! - `migrate-redis.sh` (Redis ConfigMap): called by `start-redis.sh` on
//!   pod 0 while no Sentinel of this topology monitors a master: the
//!   source's master to replicate from, the redis.conf lines of a replica of
//!   the source, and the loop beside Redis that follows the source, reports
//!   the state and performs the cut-over.
//! - `adopt-sentinel.sh` (Sentinel ConfigMap): beside a Sentinel started
//!   without a monitored master; monitors the new master once the cut-over
//!   promoted it.
//!
//! The source's Secrets (and CA) are mounted under [`DIR`] on the Redis
//! pods only. The cut-over switch is the topology ConfigMap's
//! [`CUTOVER_KEY`], outside the pod-template hash: asking for the cut-over
//! restarts no pod.

use std::collections::BTreeMap;

use super::{Setting, handover, script};
use crate::auth::users;
use crate::pod::paths;
use crate::spec::migration::{CaObject, Credential, Migration, Source};
use crate::spec::model::AuthMode;
use crate::spec::server;
use crate::spec::{Component, Instance};

pub const MIGRATE_SCRIPT: &str = "migrate-redis.sh";
pub const ADOPT_SCRIPT: &str = "adopt-sentinel.sh";
const MIGRATE_BODY: &str = include_str!("scripts/migrate-redis.sh");
const ADOPT_BODY: &str = include_str!("scripts/adopt-sentinel.sh");

/// Topology ConfigMap key: `yes` once `migration.cutover` is true.
pub const CUTOVER_KEY: &str = "migration-cutover";
/// Where the Redis pods see the source's Secrets and CA.
pub const DIR: &str = "/etc/redis/migration";
/// Volumes (and subdirectories of [`DIR`]).
pub const SOURCE_VOLUME: &str = "migration-source";
pub const SENTINEL_VOLUME: &str = "migration-sentinel";
pub const CA_VOLUME: &str = "migration-ca";
/// How far behind the source pod 0 may be when the cut-over starts: the
/// rest must arrive within the pause (3 s at most).
const CUTOVER_MAX_BEHIND: u64 = 1 << 20;
/// `CLIENT PAUSE` timeout on the source: writes resume by themselves if
/// the cut-over dies half-way.
const PAUSE_MS: u32 = 5_000;

/// The files of a component's ConfigMap for the migration.
pub fn files(inst: &Instance, c: Component) -> BTreeMap<String, String> {
    let Some(m) = &inst.migration else {
        return BTreeMap::new();
    };
    match c {
        Component::Redis => BTreeMap::from([(MIGRATE_SCRIPT.to_string(), migrate_script(inst, m))]),
        Component::Sentinel => BTreeMap::from([(
            ADOPT_SCRIPT.to_string(),
            script(inst, Component::Sentinel, &adopt_settings(inst), ADOPT_BODY),
        )]),
    }
}

/// The topology ConfigMap's migration key.
pub fn topology_files(inst: &Instance) -> BTreeMap<String, String> {
    inst.migration
        .as_ref()
        .map(|m| {
            BTreeMap::from([(
                CUTOVER_KEY.to_string(),
                if m.cutover { "yes" } else { "no" }.to_string(),
            )])
        })
        .unwrap_or_default()
}

/// The volumes (name, object) the Redis pods mount under [`DIR`]: the
/// source's Secrets and, with TLS, its CA.
pub fn volumes(inst: &Instance) -> Vec<(&'static str, CaObject)> {
    let Some(m) = &inst.migration else {
        return Vec::new();
    };
    let mut v = Vec::new();
    if let Some(a) = &m.auth {
        v.push((SOURCE_VOLUME, CaObject::Secret(a.secret.clone())));
    }
    if let Some(a) = &m.sentinel_auth {
        v.push((SENTINEL_VOLUME, CaObject::Secret(a.secret.clone())));
    }
    if let Some(ca) = &m.ca {
        v.push((CA_VOLUME, ca.from.clone()));
    }
    v
}

/// Whether a pod volume is one of [`volumes`].
pub fn is_volume(name: &str) -> bool {
    [SOURCE_VOLUME, SENTINEL_VOLUME, CA_VOLUME].contains(&name)
}

/// For `check`: an `info` result naming the migration step of instance
/// `key` and its source, read from the rendered objects (the topology
/// ConfigMap's [`CUTOVER_KEY`] and `migrate-redis.sh`'s settings); `None`
/// without a migration. `check` reads manifests, not the cluster: the live
/// state (link, lag, bytes behind, whether a cut-over would be accepted
/// now) is what `migrate-redis.sh status` prints on pod 0, and the metrics.
pub fn check_note(key: &str, objs: &[&serde_norway::Value]) -> Option<crate::krm::KrmResult> {
    let data = |o: &serde_norway::Value, k: &str| {
        o.get("data")
            .and_then(|d| d.get(k))
            .and_then(serde_norway::Value::as_str)
            .map(str::to_string)
    };
    let cm = |k: &str| {
        objs.iter()
            .filter(|o| o.get("kind").and_then(serde_norway::Value::as_str) == Some("ConfigMap"))
            .find_map(|o| data(o, k))
    };
    let script = cm(MIGRATE_SCRIPT)?;
    let setting = |k: &str| {
        script.lines().find_map(|l| {
            l.strip_prefix(&format!("{k}='"))
                .and_then(|v| v.strip_suffix('\''))
                .map(str::to_string)
        })
    };
    let source = match setting("SOURCE_KIND").as_deref() {
        Some("standalone") => format!(
            "standalone master {}:{}",
            setting("SOURCE_HOST").unwrap_or_default(),
            setting("SOURCE_PORT").unwrap_or_default()
        ),
        _ => format!(
            "master {} of the Sentinels {}",
            setting("SOURCE_MASTER_NAME").unwrap_or_default(),
            setting("SOURCE_SENTINELS")
                .unwrap_or_default()
                .replace('/', ":")
                .replace(' ', ", ")
        ),
    };
    let step = match cm(CUTOVER_KEY).as_deref().map(str::trim) {
        Some("yes") => {
            "cut-over asked: pod 0 pauses writes on the source, waits for equal offsets and promotes itself once in sync (link up, no full sync, at most 1 MiB behind), else refuses and promotes nothing; after it, this step is done: pod 0 is master and the new Sentinels monitor it"
        }
        _ => {
            "sync: pod 0 replicates from the source (never a candidate for its Sentinels), the other pods from pod 0, the new Sentinels monitor nothing; Ready pod 0 means in sync"
        }
    };
    // The Redis StatefulSet (the one whose ConfigMap carries the script).
    let sts_obj = objs
        .iter()
        .filter(|o| o.get("kind").and_then(serde_norway::Value::as_str) == Some("StatefulSet"))
        .find(|o| {
            o.get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get("app.kubernetes.io/component"))
                .and_then(serde_norway::Value::as_str)
                == Some(Component::Redis.as_str())
        });
    let sts = sts_obj
        .and_then(|o| o.get("metadata")?.get("name")?.as_str())
        .unwrap_or("<redis StatefulSet>");
    let image = sts_obj.and_then(|o| {
        o.get("spec")?
            .get("template")?
            .get("spec")?
            .get("containers")?
            .as_sequence()?
            .iter()
            .find(|c| c.get("name").and_then(serde_norway::Value::as_str) == Some("redis"))?
            .get("image")?
            .as_str()
    });
    // A gated setting: written where the image's binary has it.
    let relaxed = cm(super::gated::file_name(Component::Redis)).is_some_and(|c| {
        c.lines()
            .filter_map(super::gated::directive_where_met)
            .any(|d| d == "rdb-version-check relaxed")
    });
    Some(crate::krm::KrmResult::info(format!(
        "instance {key}: migration from the {source}; step: {step}; {}; live state (link, lag, bytes behind, a source whose RDB format this server cannot load, whether a cut-over would be accepted now): kubectl exec {sts}-0 -c redis -- sh {}/{MIGRATE_SCRIPT} status",
        rdb_note(image, relaxed),
        paths::REDIS_CONFIG
    )))
}

/// What `check` can say about the RDB formats from the manifests: the
/// formats the image's server loads and the known sources it cannot load
/// (the running source's version is seen by pod 0 only).
fn rdb_note(image: Option<&str>, relaxed: bool) -> String {
    let target = image.and_then(|i| {
        Some(server::Server {
            kind: server::ServerKind::of_image(i)?,
            version: server::Version::of_image(i)?,
        })
    });
    let Some((t, reads)) = target.and_then(|t| Some((t, server::rdb_reads(&t, relaxed)?))) else {
        return "RDB: the image does not name a server version this function knows, so the formats it loads are not known here; pod 0 asks the running source for its server version, and its status names a format it cannot load".into();
    };
    let readable = |f: u32| reads.iter().any(|&(lo, hi)| (lo..=hi).contains(&f));
    let cannot: Vec<String> = server::RDB_RELEASES
        .iter()
        .map(|&(k, major, minor)| server::release(k, major, minor))
        .filter(|r| server::rdb_format(r).is_some_and(|f| !readable(f)))
        .map(|r| r.to_string())
        .collect();
    let formats = reads
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else if lo == 1 {
                format!("up to {hi}")
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let sources = if cannot.is_empty() {
        "a source of every release this function knows can sync to it".to_string()
    } else {
        format!("a source running {} cannot sync to it", cannot.join(", "))
    };
    format!(
        "RDB: the image runs {t}, which loads formats {formats} ({sources}); pod 0 asks the running source for its server version, and its status names a format it cannot load"
    )
}

/// Mount path of one of [`volumes`].
pub fn mount_path(volume: &str) -> String {
    format!("{DIR}/{}", volume.trim_start_matches("migration-"))
}

fn cred(c: Option<&Credential>, volume: &str) -> Setting {
    match c {
        Some(c) => Setting::Refs(format!(
            "{}:$MIGRATION_DIR/{}/{}",
            c.username.as_deref().unwrap_or_default(),
            volume.trim_start_matches("migration-"),
            c.password_key
        )),
        None => Setting::Lit(String::new()),
    }
}

fn migrate_script(inst: &Instance, m: &Migration) -> String {
    let (kind, host, port, sentinels, master_name) = match &m.source {
        Source::Standalone { host, port } => (
            "standalone",
            host.clone(),
            port.to_string(),
            String::new(),
            String::new(),
        ),
        Source::Sentinel { hosts, master_name } => {
            let list: Vec<String> = hosts.iter().map(|(h, p)| format!("{h}/{p}")).collect();
            (
                "sentinel",
                String::new(),
                String::new(),
                list.join(" "),
                master_name.clone(),
            )
        }
    };
    let ca_file =
        m.ca.as_ref()
            .map(|ca| format!("$MIGRATION_DIR/ca/{}", ca.key))
            .unwrap_or_default();
    let tls_args = if ca_file.is_empty() {
        String::new()
    } else {
        format!("--tls --cacert {ca_file} --cert $TLS_DIR/tls.crt --key $TLS_DIR/tls.key")
    };
    let target_cred = match &inst.auth {
        Some(a) => users::script_credential(
            match a.mode {
                AuthMode::Acl => (Some(users::REPLICATION_USER), users::REPLICATION_PASSWORD),
                AuthMode::Password => (None, users::REDIS_PASSWORD),
            },
            "$AUTH_DIR",
        ),
        None => String::new(),
    };
    let extra: Vec<(&str, Setting)> = vec![
        ("MIGRATION_DIR", Setting::Overridable(DIR.to_string())),
        (
            "DATA_DIR",
            Setting::Overridable(paths::REDIS_DATA.to_string()),
        ),
        (
            "ADMIN_CRED",
            Setting::Refs(handover::admin_credential(inst)),
        ),
        ("SOURCE_KIND", kind.into()),
        ("SOURCE_HOST", host.into()),
        ("SOURCE_PORT", port.into()),
        ("SOURCE_SENTINELS", sentinels.into()),
        ("SOURCE_MASTER_NAME", master_name.into()),
        ("SOURCE_CRED", cred(m.auth.as_ref(), SOURCE_VOLUME)),
        (
            "SOURCE_SENTINEL_CRED",
            cred(m.sentinel_auth.as_ref(), SENTINEL_VOLUME),
        ),
        ("SOURCE_CA", Setting::Refs(ca_file)),
        ("SOURCE_TLS_ARGS", Setting::Refs(tls_args)),
        ("TARGET_CRED", Setting::Refs(target_cred)),
        (
            "TARGET_TLS",
            if inst.tls_enabled() { "yes" } else { "" }.into(),
        ),
        (
            "STATUS_FILE",
            Setting::Refs("$RUN_DIR/migration-status".into()),
        ),
        ("CUTOVER_MAX_BEHIND", CUTOVER_MAX_BEHIND.to_string().into()),
        ("PAUSE_MS", PAUSE_MS.to_string().into()),
        ("RDB_TABLE", rdb_table().into()),
    ];
    script(inst, Component::Redis, &extra, MIGRATE_BODY)
}

/// [`server::RDB_RELEASES`] as the data `migrate-redis.sh` reads to tell a
/// source whose RDB format this server cannot load (the spec need not give
/// the source's version), one row per release:
/// `kind-MAJOR.MINOR:WRITES:SENDS_OLDER:READS:READS_RELAXED:TAKERS`, where
/// `SENDS_OLDER` is the format it sends a replica whose own format is
/// older ([`server::rdb_sent`]), the formats read are ranges (`1-11,80`),
/// `READS_RELAXED` holds where the server runs with `rdb-version-check
/// relaxed` (a gated setting: [`super::gated`]),
/// and `TAKERS` are the releases a move from it can go to
/// ([`server::downgrade`]: what the render accepts when the source's
/// version is given). The knowledge stays in [`server`]: the script looks
/// rows up, compares two numbers and prints.
fn rdb_table() -> String {
    let ranges = |v: Vec<(u32, u32)>| {
        v.iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let key = |r: &server::Server| {
        format!(
            "{}-{}.{}",
            r.kind.name().to_ascii_lowercase(),
            r.version.major,
            r.version.minor.unwrap_or_default()
        )
    };
    let releases: Vec<server::Server> = server::RDB_RELEASES
        .iter()
        .map(|&(kind, major, minor)| server::release(kind, major, minor))
        .collect();
    releases
        .iter()
        .filter_map(|r| {
            let takers: Vec<String> = releases
                .iter()
                .filter(|t| server::downgrade(r, t).is_none())
                .map(key)
                .collect();
            Some(format!(
                "{}:{}:{}:{}:{}:{}",
                key(r),
                server::rdb_format(r)?,
                server::rdb_sent_to_older(r)?,
                ranges(server::rdb_reads(r, false)?),
                ranges(server::rdb_reads(r, true)?),
                takers.join(",")
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn adopt_settings(inst: &Instance) -> Vec<(&'static str, Setting)> {
    let s = &inst.sentinel;
    let mut v: Vec<(&str, Setting)> = vec![
        (
            "DOWN_AFTER_MILLISECONDS",
            s.down_after_milliseconds.to_string().into(),
        ),
        ("FAILOVER_TIMEOUT", s.failover_timeout.to_string().into()),
        ("PARALLEL_SYNCS", s.parallel_syncs.to_string().into()),
    ];
    if inst.auth.as_ref().is_some_and(|a| a.mode == AuthMode::Acl) {
        v.push(("SENTINEL_USER", users::SENTINEL_USER.into()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    const SENTINEL_SOURCE: &str = "  migration:\n    source:\n      sentinel:\n        hosts: [\"old-sentinel:26379\", \"[fd00::1]:26380\"]\n        masterName: mymaster\n        auth: {secretName: old, passwordKey: sentinel-password}\n      auth: {secretName: old, passwordKey: redis-password}\n      tls: {enabled: true, ca: {configMapName: old-ca}}\n";

    #[test]
    fn scripts_and_mounts_of_a_sentinel_source() {
        let inst = test_spec(SENTINEL_SOURCE);
        let f = files(&inst, Component::Redis);
        let s = &f[MIGRATE_SCRIPT];
        assert!(s.contains("SOURCE_SENTINELS='old-sentinel/26379 fd00::1/26380'"));
        assert!(s.contains("SOURCE_CRED=':'\"$MIGRATION_DIR\"'/source/redis-password'"));
        assert!(
            s.contains("SOURCE_SENTINEL_CRED=':'\"$MIGRATION_DIR\"'/sentinel/sentinel-password'")
        );
        assert!(s.contains("SOURCE_CA=\"$MIGRATION_DIR\"'/ca/ca.crt'"));
        assert!(s.contains("TARGET_CRED='replication:'\"$AUTH_DIR\"'/replication-password'"));
        assert!(files(&inst, Component::Sentinel).contains_key(ADOPT_SCRIPT));
        assert_eq!(topology_files(&inst)[CUTOVER_KEY], "no");
        let v = volumes(&inst);
        assert_eq!(v.len(), 3);
        assert_eq!(mount_path(v[2].0), "/etc/redis/migration/ca");
        assert!(files(&test_spec(""), Component::Redis).is_empty());
        assert!(topology_files(&test_spec("")).is_empty());
    }

    #[test]
    fn cutover_is_a_topology_value_not_a_script_change() {
        let a = test_spec(SENTINEL_SOURCE);
        let b = test_spec(&format!("{SENTINEL_SOURCE}    cutover: true\n"));
        assert_eq!(files(&a, Component::Redis), files(&b, Component::Redis));
        assert_eq!(
            files(&a, Component::Sentinel),
            files(&b, Component::Sentinel)
        );
        assert_eq!(topology_files(&b)[CUTOVER_KEY], "yes");
    }

    #[test]
    fn check_names_the_step_and_the_source_and_finds_nothing_missing() {
        let run = |spec: &str| {
            let inst = test_spec(spec);
            let out = crate::generate::render(&inst, None, &[], 1_700_000_000).expect("render");
            crate::check::check(&out.items)
        };
        let sync = run(SENTINEL_SOURCE);
        assert!(
            sync.iter()
                .all(|r| r.severity != crate::krm::Severity::Error),
            "{sync:?}"
        );
        assert!(sync.iter().any(|r| r.message.contains(
            "migration from the master mymaster of the Sentinels old-sentinel:26379, fd00::1:26380; step: sync"
        )));
        let cut = run(&format!("{SENTINEL_SOURCE}    cutover: true\n"));
        assert!(
            cut.iter()
                .any(|r| r.message.contains("step: cut-over asked"))
        );
        assert!(!run("").iter().any(|r| r.message.contains("migration")));
    }

    /// `check` says which RDB formats the image's server loads and which
    /// known sources cannot sync to it; without a version in the image, that
    /// it does not know.
    #[test]
    fn check_names_the_formats_the_image_loads() {
        let note = |spec: &str| {
            let inst = test_spec(spec);
            let out = crate::generate::render(&inst, None, &[], 1_700_000_000).expect("render");
            crate::check::check(&out.items)
                .into_iter()
                .find(|r| r.message.contains("migration from"))
                .expect("a migration note")
                .message
        };
        let old = note(&format!(
            "  image: docker.io/library/redis:7.0.15\n{SENTINEL_SOURCE}"
        ));
        assert!(
            old.contains("RDB: the image runs Redis 7.0.15, which loads formats up to 10 (a source running Redis 7.2, Redis 7.4, Redis 8.0, Valkey 7.2"),
            "{old}"
        );
        let valkey = note(SENTINEL_SOURCE);
        assert!(
            valkey.contains("loads formats up to 80 (a source of every release this function knows can sync to it)"),
            "{valkey}"
        );
        let digest = note(&format!(
            "  image: docker.io/valkey/valkey@sha256:418652cfb58ef879d4978c33553735d7147016032d5aefaa14c828e611eb9dfd\n  redis: {{server: valkey, version: \"9.1\"}}\n{SENTINEL_SOURCE}"
        ));
        assert!(
            digest.contains("RDB: the image does not name a server version"),
            "{digest}"
        );
    }

    /// Removing the section after the cut-over: the render has no path to
    /// the source left (no migration script, volume or address), so no pod
    /// can replicate from it again; the scripts change, so both
    /// StatefulSets roll with the usual handover.
    #[test]
    fn without_the_section_nothing_names_the_source() {
        let render = |spec: &str| {
            let inst = test_spec(spec);
            crate::generate::render(&inst, None, &[], 1_700_000_000)
                .expect("render")
                .items
        };
        let with = render(&format!("{SENTINEL_SOURCE}    cutover: true\n"));
        let text = |items: &[serde_norway::Value]| serde_norway::to_string(items).expect("yaml");
        assert!(text(&with).contains("old-sentinel"));
        let items = render("");
        let without = text(&items);
        for needle in ["old-sentinel", "fd00::1", DIR, CUTOVER_KEY] {
            assert!(!without.contains(needle), "{needle} is still rendered");
        }
        // The start scripts run the migration scripts only when their
        // ConfigMap holds them.
        for o in &items {
            for key in [MIGRATE_SCRIPT, ADOPT_SCRIPT] {
                assert!(o.get("data").and_then(|d| d.get(key)).is_none(), "{key}");
            }
        }
    }

    #[test]
    fn standalone_source_settings() {
        let inst = test_spec(
            "  migration:\n    source:\n      standalone: {host: \"redis.old.svc\", port: 6390}\n      auth: {secretName: s, passwordKey: pw, username: migrator}\n",
        );
        let s = &files(&inst, Component::Redis)[MIGRATE_SCRIPT];
        assert!(s.contains("SOURCE_KIND='standalone'"));
        assert!(s.contains("SOURCE_HOST='redis.old.svc'") && s.contains("SOURCE_PORT='6390'"));
        assert!(s.contains("SOURCE_CRED='migrator:'\"$MIGRATION_DIR\"'/source/pw'"));
        assert!(s.contains("SOURCE_CA=''") && s.contains("SOURCE_TLS_ARGS=''"));
    }
}
