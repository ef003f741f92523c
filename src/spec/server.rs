//! The server an image carries: Redis or Valkey, and its version, from the
//! image reference (repository name and tag) or, when the reference says
//! nothing, from `redis.server` and `redis.version`.
//!
//! Valkey is its own server with its own version numbers: `valkey:8.0` is
//! Valkey 8.0, not Redis 8.0 (Valkey reports `redis_version:7.2.4` in INFO
//! for old clients and its own version in `valkey_version`).

use std::fmt;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServerKind {
    Redis,
    Valkey,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Redis => "Redis",
            ServerKind::Valkey => "Valkey",
        }
    }

    /// `redis` or `valkey` (the spelling of `redis.server`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "redis" => Some(ServerKind::Redis),
            "valkey" => Some(ServerKind::Valkey),
            _ => None,
        }
    }

    /// The server an image's repository names: its last path segment
    /// (`valkey/valkey`, `bitnami/valkey`, `library/redis`); `None` when it
    /// names neither (a mirror such as `registry/cache`).
    pub fn of_image(image: &str) -> Option<Self> {
        let name = image.split('@').next().unwrap_or_default();
        let last = name.rsplit('/').next().unwrap_or_default();
        let repo = last
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if repo.contains("valkey") {
            Some(ServerKind::Valkey)
        } else if repo.contains("redis") {
            Some(ServerKind::Redis)
        } else {
            None
        }
    }
}

/// A version as far as an image tag names it (`7`, `7.4`, `7.4.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: Option<u32>,
    pub patch: Option<u32>,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major)?;
        if let Some(m) = self.minor {
            write!(f, ".{m}")?;
            if let Some(p) = self.patch {
                write!(f, ".{p}")?;
            }
        }
        Ok(())
    }
}

impl Version {
    /// `MAJOR[.MINOR[.PATCH]]` followed by nothing or a separator
    /// (`-alpine`, `_x`); a leading `v` is skipped. `None` for anything
    /// else (`latest`, `7x`).
    pub fn parse_tag(tag: &str) -> Option<Version> {
        let tag = tag.strip_prefix('v').unwrap_or(tag);
        let mut nums = Vec::new();
        let mut rest = tag;
        loop {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 || end > 9 {
                return None;
            }
            nums.push(rest[..end].parse::<u32>().ok()?);
            rest = &rest[end..];
            match rest.chars().next() {
                None | Some('-' | '_') => break,
                Some('.') if nums.len() < 3 => rest = &rest[1..],
                Some('.') => break,
                Some(_) => return None,
            }
        }
        Some(Version {
            major: nums[0],
            minor: nums.get(1).copied(),
            patch: nums.get(2).copied(),
        })
    }

    /// The version an image reference names in its tag: `redis:7.2.5`,
    /// `valkey/valkey:9.1-alpine`, `bitnami/redis:7.4.2-debian-12-r0`. A
    /// registry port (`host:5000/redis`) is not a tag.
    pub fn of_image(image: &str) -> Option<Version> {
        let name = image.split('@').next().unwrap_or_default();
        let last = name.rsplit('/').next().unwrap_or_default();
        let (_, tag) = last.split_once(':')?;
        Version::parse_tag(tag)
    }

    /// `MAJOR.MINOR` as `redis.version` spells it.
    pub fn parse_field(s: &str) -> Option<Version> {
        let v = Version::parse_tag(s)?;
        (v.minor.is_some() && v.patch.is_none() && !s.contains(['-', '_', 'v'])).then_some(v)
    }
}

/// A server and the version the input names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    pub kind: ServerKind,
    pub version: Version,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.version)
    }
}

/// The command and category table of a server version (see
/// [`super::acl_commands`]; each generated from a real server of that
/// version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandTable {
    Redis7_0,
    Redis7_2,
    Redis7_4,
    Redis8_0,
    Valkey7_2,
    Valkey8_0,
    Valkey8_1,
    Valkey9_1,
}

impl CommandTable {
    pub const ALL: [CommandTable; 8] = [
        CommandTable::Redis7_0,
        CommandTable::Redis7_2,
        CommandTable::Redis7_4,
        CommandTable::Redis8_0,
        CommandTable::Valkey7_2,
        CommandTable::Valkey8_0,
        CommandTable::Valkey8_1,
        CommandTable::Valkey9_1,
    ];

    /// `Redis 7.4`, `Valkey 9.1`.
    pub fn name(self) -> &'static str {
        match self {
            CommandTable::Redis7_0 => "Redis 7.0",
            CommandTable::Redis7_2 => "Redis 7.2",
            CommandTable::Redis7_4 => "Redis 7.4",
            CommandTable::Redis8_0 => "Redis 8.0",
            CommandTable::Valkey7_2 => "Valkey 7.2",
            CommandTable::Valkey8_0 => "Valkey 8.0",
            CommandTable::Valkey8_1 => "Valkey 8.1",
            CommandTable::Valkey9_1 => "Valkey 9.1",
        }
    }

    pub fn kind(self) -> ServerKind {
        match self {
            CommandTable::Redis7_0
            | CommandTable::Redis7_2
            | CommandTable::Redis7_4
            | CommandTable::Redis8_0 => ServerKind::Redis,
            _ => ServerKind::Valkey,
        }
    }
}

/// What this function knows about a server version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// A version with a command table.
    Table(CommandTable),
    /// Supported, but without a table of its own: ACL command and category
    /// names are not checked (a warning says why).
    Unchecked(String),
    /// Older than the generated configuration needs.
    TooOld(String),
}

/// The support of `kind` at `v` (a tag without a minor version is the
/// newest release of that major version, which may be newer than a table).
pub fn support(kind: ServerKind, v: Version) -> Support {
    use CommandTable::*;
    let newer = |table: &str| {
        Support::Unchecked(format!(
            "{} {v} is newer than the {table} command table of this function",
            kind.name()
        ))
    };
    match (kind, v.major, v.minor) {
        (ServerKind::Redis, 0..=6, _) => Support::TooOld(format!(
            "the image names Redis {v}; the generated configuration needs Redis 7.0 or later"
        )),
        (ServerKind::Redis, 7, Some(0 | 1)) => Support::Table(Redis7_0),
        (ServerKind::Redis, 7, Some(2 | 3)) => Support::Table(Redis7_2),
        (ServerKind::Redis, 7, _) => Support::Table(Redis7_4),
        (ServerKind::Redis, 8, Some(0)) => Support::Table(Redis8_0),
        (ServerKind::Redis, _, _) => newer("Redis 8.0"),
        (ServerKind::Valkey, 0..=6, _) => {
            Support::TooOld(format!("the image names Valkey {v}; Valkey starts at 7.2"))
        }
        (ServerKind::Valkey, 7, None | Some(2)) => Support::Table(Valkey7_2),
        (ServerKind::Valkey, 8, Some(0)) => Support::Table(Valkey8_0),
        (ServerKind::Valkey, 8, None | Some(1)) => Support::Table(Valkey8_1),
        (ServerKind::Valkey, 7 | 8, _) => Support::Unchecked(format!(
            "Valkey {v} is not a release this function knows (tables: Valkey 7.2, 8.0, 8.1, 9.1)"
        )),
        (ServerKind::Valkey, 9, Some(0)) => Support::Unchecked(format!(
            "Valkey {v} has no command table of its own (tables: Valkey 7.2, 8.0, 8.1, 9.1)"
        )),
        (ServerKind::Valkey, 9, Some(1)) => Support::Table(Valkey9_1),
        (ServerKind::Valkey, _, _) => newer("Valkey 9.1"),
    }
}

/// A server and the version from which on it has a setting: redis.conf and
/// sentinel.conf never carry such a setting, the start scripts write it
/// only where the binary they run meets the gate (`--version`;
/// [`crate::pod_files::gated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub kind: ServerKind,
    pub major: u32,
    pub minor: u32,
}

impl Gate {
    /// `rdb-version-check` (Valkey 9.0+).
    pub const RDB_VERSION_CHECK: Gate = Gate {
        kind: ServerKind::Valkey,
        major: 9,
        minor: 0,
    };
    /// `tls-auto-reload-interval` (Valkey 9.1+).
    pub const TLS_AUTO_RELOAD: Gate = Gate {
        kind: ServerKind::Valkey,
        major: 9,
        minor: 1,
    };

    /// Whether the server the input names has the setting for sure: a tag
    /// without a minor version (`valkey:9`) meets only a gate at `N.0`.
    pub fn admits(self, server: Option<&Server>) -> bool {
        server.is_some_and(|s| {
            let v = s.version;
            s.kind == self.kind
                && (v.major > self.major
                    || (v.major == self.major && v.minor.unwrap_or(0) >= self.minor))
        })
    }

    /// The condition as the start scripts read it: `valkey>=9.1`.
    pub fn condition(self) -> String {
        format!(
            "{}>={}.{}",
            self.kind.name().to_ascii_lowercase(),
            self.major,
            self.minor
        )
    }
}

/// Whether the server is a Valkey that must be told to read the RDB
/// format of Redis 7.4 and 8 (`rdb-version-check relaxed`, Valkey 9.0+):
/// Valkey 9 writes format 80 and, by default, refuses formats 12-79 (Redis
/// 7.4+), so its replicas could not sync from a Redis 7.4/8 master during
/// an upgrade. Written only where the server is known to have the setting.
pub fn reads_foreign_rdb(server: Option<&Server>) -> bool {
    Gate::RDB_VERSION_CHECK.admits(server)
}

/// Whether the server reloads renewed certificate files by itself
/// (`tls-auto-reload-interval`, Valkey 9.1+), in server and in Sentinel
/// mode. Proven on valkey 9.1.2 with the kubelet's `..data` switch of a
/// mounted Secret (tests/it/e2e_sources.rs, docs/servers.md). A tag without a
/// minor version (`valkey:9`) is not taken for 9.1: it may be an older 9.
pub fn reloads_tls(server: Option<&Server>) -> bool {
    Gate::TLS_AUTO_RELOAD.admits(server)
}

/// The RDB format a server writes (from the servers' `rdb.h`: Redis 6.x
/// writes 9, 7.0 and 7.2 write 10 and 11, Redis 7.4 and 8.x 12, Valkey
/// 7.2-8.x 11, Valkey 9 80). `None` where the version is not precise enough.
pub fn rdb_format(s: &Server) -> Option<u32> {
    let minor = s.version.minor?;
    match (s.kind, s.version.major, minor) {
        (ServerKind::Redis, 6, _) => Some(9),
        (ServerKind::Redis, 7, 0 | 1) => Some(10),
        (ServerKind::Redis, 7, 2 | 3) => Some(11),
        (ServerKind::Redis, 7, _) | (ServerKind::Redis, 8, _) => Some(12),
        (ServerKind::Valkey, 7 | 8, _) => Some(11),
        (ServerKind::Valkey, 9, _) => Some(80),
        _ => None,
    }
}

/// The RDB formats a server loads, as inclusive ranges: its own and every
/// older one. Valkey reads Redis 7.2's 11 and older; Valkey 9 reads its
/// own 80 and, only with `rdb-version-check relaxed` (`relaxed`; this
/// function writes it for Valkey 9: [`reads_foreign_rdb`]), the formats of
/// Redis 7.4 and later (12-79). Redis never reads a Valkey 9 file. `None`
/// where [`rdb_format`] is.
pub fn rdb_reads(reader: &Server, relaxed: bool) -> Option<Vec<(u32, u32)>> {
    let own = rdb_format(reader)?;
    Some(match (reader.kind, reader.version.major) {
        (ServerKind::Valkey, 9..) if relaxed => vec![(1, own)],
        (ServerKind::Valkey, 9..) => vec![(1, 11), (own, own)],
        _ => vec![(1, own)],
    })
}

/// The RDB format a master of `master` sends a replica of `replica` in a
/// full sync: its own ([`rdb_format`]), except to a replica whose own
/// format is older, which Valkey 9 sends format 11. Measured: a Valkey
/// 9.1.2 master wrote format 80 to its own dump file, sent a Redis 7.0.15
/// replica format 11 ("Can't handle RDB format version 11") and a Redis
/// 8.0.6 replica format 11, which it loaded; a key with a hash field's own
/// expiry cannot be written in format 11, and the full sync then fails at
/// the master ("Can't store key (db 0) in RDB version 11").
pub fn rdb_sent(master: &Server, replica: &Server) -> Option<u32> {
    let own = rdb_format(master)?;
    Some(if rdb_format(replica)? < own {
        rdb_sent_to_older(master)?
    } else {
        own
    })
}

/// The format `s` sends a replica whose own format is older than its own
/// ([`rdb_sent`]).
pub fn rdb_sent_to_older(s: &Server) -> Option<u32> {
    let own = rdb_format(s)?;
    Some(match (s.kind, s.version.major) {
        (ServerKind::Valkey, 9..) => 11,
        _ => own,
    })
}

/// The releases whose RDB formats this function knows: the migration
/// sources it accepts (Redis 6.2 and later) and the servers it renders
/// for. `migrate-redis.sh` gets them as data (its run-time check of a
/// source whose version the spec does not give).
pub const RDB_RELEASES: [(ServerKind, u32, u32); 10] = [
    (ServerKind::Redis, 6, 2),
    (ServerKind::Redis, 7, 0),
    (ServerKind::Redis, 7, 2),
    (ServerKind::Redis, 7, 4),
    (ServerKind::Redis, 8, 0),
    (ServerKind::Valkey, 7, 2),
    (ServerKind::Valkey, 8, 0),
    (ServerKind::Valkey, 8, 1),
    (ServerKind::Valkey, 9, 0),
    (ServerKind::Valkey, 9, 1),
];

/// One of [`RDB_RELEASES`] as a [`Server`].
pub fn release(kind: ServerKind, major: u32, minor: u32) -> Server {
    Server {
        kind,
        version: Version {
            major,
            minor: Some(minor),
            patch: None,
        },
    }
}

/// Why moving a running deployment from `old` to `new` cannot work, if it
/// cannot: replicas of the new server must load the old master's RDB
/// (full sync) and, once the master is handed over, the old server's
/// replicas that are left must not be needed. A replica may be newer than
/// its master, never older: an older server cannot read a newer format
/// ([`rdb_reads`], with Valkey 9 relaxed as this function writes it).
pub fn downgrade(old: &Server, new: &Server) -> Option<String> {
    let (Some(from), Some(to)) = (rdb_format(old), rdb_format(new)) else {
        return None;
    };
    let reads = rdb_reads(new, reads_foreign_rdb(Some(new)))?;
    let readable = reads.iter().any(|&(lo, hi)| (lo..=hi).contains(&from));
    (!readable).then(|| {
        format!(
            "the running {old} writes RDB format {from}, which {new} cannot read (format {to}): a replica of the new server could not sync from the old master, and the data would not survive the change. A replica may be newer than its master, never older; to go back, restore from a backup"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: Option<u32>, patch: Option<u32>) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    #[test]
    fn servers_and_versions_from_images() {
        use ServerKind::*;
        for (image, kind, version) in [
            (
                "docker.io/library/redis:7.4.2@sha256:abc",
                Some(Redis),
                Some(v(7, Some(4), Some(2))),
            ),
            ("valkey/valkey:8.0", Some(Valkey), Some(v(8, Some(0), None))),
            (
                "docker.io/bitnami/valkey:9.1.2-debian-12-r0",
                Some(Valkey),
                Some(v(9, Some(1), Some(2))),
            ),
            ("redis:7.0-alpine", Some(Redis), Some(v(7, Some(0), None))),
            ("redis:7", Some(Redis), Some(v(7, None, None))),
            ("registry:5000/redis", Some(Redis), None),
            ("registry:5000/cache:7.2", None, Some(v(7, Some(2), None))),
            ("redis@sha256:abc", Some(Redis), None),
            ("redis:latest", Some(Redis), None),
            ("redis:7x", Some(Redis), None),
            ("redis:72", Some(Redis), Some(v(72, None, None))),
            ("redis:7.4.2.1", Some(Redis), Some(v(7, Some(4), Some(2)))),
            ("redis:1234567890", Some(Redis), None),
            // Any Unicode in a tag: no version, never a slice inside a character.
            ("redis:7\u{e9}", Some(Redis), None),
            ("redis:7.\u{e9}", Some(Redis), None),
            ("redis:\u{e9}7.2", Some(Redis), None),
            ("redis:\u{1F600}", Some(Redis), None),
        ] {
            assert_eq!(ServerKind::of_image(image), kind, "{image}");
            assert_eq!(Version::of_image(image), version, "{image}");
        }
    }

    #[test]
    fn valkey_is_not_a_redis_number() {
        use CommandTable::*;
        let valkey = |t| support(ServerKind::Valkey, Version::parse_tag(t).unwrap());
        let redis = |t| support(ServerKind::Redis, Version::parse_tag(t).unwrap());
        assert_eq!(redis("8.0.6"), Support::Table(Redis8_0));
        assert_eq!(valkey("8.0"), Support::Table(Valkey8_0));
        assert_eq!(valkey("8.0.1"), Support::Table(Valkey8_0));
        assert_eq!(valkey("8.1.4"), Support::Table(Valkey8_1));
        assert_eq!(valkey("8"), Support::Table(Valkey8_1));
        assert_eq!(valkey("7.2.7"), Support::Table(Valkey7_2));
        assert!(matches!(valkey("9.0.4"), Support::Unchecked(_)));
        assert!(matches!(valkey("8.2"), Support::Unchecked(_)));
        assert!(matches!(valkey("9"), Support::Unchecked(_)));
        assert_eq!(valkey("9.1.2"), Support::Table(Valkey9_1));
        assert!(matches!(valkey("9.2"), Support::Unchecked(_)));
        assert!(matches!(redis("8.2.1"), Support::Unchecked(_)));
        assert!(matches!(redis("6.2"), Support::TooOld(_)));
        assert!(matches!(valkey("6"), Support::TooOld(_)));
        assert_eq!(redis("7"), Support::Table(Redis7_4));
        assert_eq!(redis("7.2.5"), Support::Table(Redis7_2));
    }

    #[test]
    fn downgrades_the_rdb_format_cannot_do() {
        let s = |kind, tag| Server {
            kind,
            version: Version::parse_tag(tag).unwrap(),
        };
        use ServerKind::*;
        for (old, new) in [
            (s(Valkey, "9.1.2"), s(Redis, "7.4.6")),
            (s(Valkey, "9.1.2"), s(Redis, "8.0.6")),
            (s(Redis, "8.0.6"), s(Redis, "7.2.11")),
            (s(Redis, "7.4.6"), s(Valkey, "8.1.4")),
            (s(Valkey, "9.0.4"), s(Valkey, "8.1.7")),
        ] {
            assert!(downgrade(&old, &new).is_some(), "{old} -> {new}");
        }
        for (old, new) in [
            (s(Redis, "7.0.15"), s(Valkey, "9.1.2")),
            (s(Redis, "7.4.2"), s(Valkey, "9.1.2")),
            (s(Redis, "8.0.6"), s(Valkey, "9.1.2")),
            (s(Redis, "7.0.15"), s(Redis, "8.0.6")),
            (s(Redis, "7.2.4"), s(Valkey, "8.0.2")),
            (s(Valkey, "9.1.2"), s(Valkey, "9.1.2")),
            (s(Redis, "7"), s(Redis, "6.2")),
        ] {
            assert!(downgrade(&old, &new).is_none(), "{old} -> {new}");
        }
        assert!(reads_foreign_rdb(Some(&s(Valkey, "9.1"))));
        assert!(!reads_foreign_rdb(Some(&s(Valkey, "8.1"))));
        assert!(!reads_foreign_rdb(Some(&s(Redis, "8.0"))));
        assert!(!reads_foreign_rdb(None));
        assert!(reloads_tls(Some(&s(Valkey, "9.1.2"))));
        assert!(reloads_tls(Some(&s(Valkey, "10.0"))));
        for no in ["9.0.4", "9", "8.1"] {
            assert!(!reloads_tls(Some(&s(Valkey, no))), "{no}");
        }
        assert!(!reloads_tls(Some(&s(Redis, "9.1"))));
        assert!(!reloads_tls(None));
        assert!(reads_foreign_rdb(Some(&s(Valkey, "9"))));
        assert!(reads_foreign_rdb(Some(&s(Valkey, "10"))));
        assert_eq!(Gate::TLS_AUTO_RELOAD.condition(), "valkey>=9.1");
        assert_eq!(Gate::RDB_VERSION_CHECK.condition(), "valkey>=9.0");
    }

    #[test]
    fn formats_read_and_written() {
        use ServerKind::*;
        let reads = |k, t: &str, relaxed| rdb_reads(&s_of(k, t), relaxed).unwrap();
        assert_eq!(rdb_format(&s_of(Redis, "6.2.14")), Some(9));
        assert_eq!(reads(Redis, "7.0.15", false), vec![(1, 10)]);
        assert_eq!(reads(Valkey, "8.1", true), vec![(1, 11)]);
        assert_eq!(reads(Valkey, "9.1.2", false), vec![(1, 11), (80, 80)]);
        assert_eq!(reads(Valkey, "9.1.2", true), vec![(1, 80)]);
        assert_eq!(rdb_reads(&s_of(Redis, "7"), false), None);
        assert_eq!(
            rdb_sent(&s_of(Valkey, "9.1.2"), &s_of(Redis, "7.0.15")),
            Some(11)
        );
        assert_eq!(
            rdb_sent(&s_of(Valkey, "9.1.2"), &s_of(Valkey, "9.0")),
            Some(80)
        );
        assert_eq!(
            rdb_sent(&s_of(Redis, "8.0.6"), &s_of(Redis, "7.0.15")),
            Some(12)
        );
        assert_eq!(
            rdb_sent(&s_of(Redis, "6.2.14"), &s_of(Redis, "7.0.15")),
            Some(9)
        );
        // Every known release reads its own format and every older one of
        // its server; a Redis 6.2 source is readable by every target.
        for (k, major, minor) in RDB_RELEASES {
            let r = release(k, major, minor);
            let own = rdb_format(&r).expect("a known format");
            assert!(downgrade(&r, &r).is_none(), "{r}");
            assert!(downgrade(&release(Redis, 6, 2), &r).is_none(), "{r}");
            assert!(
                rdb_reads(&r, false)
                    .unwrap()
                    .iter()
                    .any(|&(lo, hi)| lo <= own && own <= hi),
                "{r}"
            );
        }
    }

    fn s_of(kind: ServerKind, tag: &str) -> Server {
        Server {
            kind,
            version: Version::parse_tag(tag).unwrap(),
        }
    }

    #[test]
    fn field_versions() {
        assert_eq!(Version::parse_field("9.1"), Some(v(9, Some(1), None)));
        for bad in ["9", "9.1.2", "v9.1", "9.1-alpine", "", "x", "9."] {
            assert_eq!(Version::parse_field(bad), None, "{bad}");
        }
    }
}
