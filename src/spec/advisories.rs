//! Published advisories of the servers: render and `check` warn when the
//! image names a version inside an affected range. Only advisories that
//! let a client crash the server or run code are listed; the ranges are
//! those of the vendors' release notes (Redis: the GitHub security
//! advisories and release notes of redis/redis; Valkey: `00-RELEASENOTES`
//! of valkey-io/valkey and its release pages).

use super::server::{Server, ServerKind, Version};

/// One advisory on one release line: versions from `from` up to, not
/// including, `fixed` are affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advisory {
    pub kind: ServerKind,
    pub from: (u32, u32, u32),
    pub fixed: (u32, u32, u32),
    /// CVE or GHSA identifier.
    pub id: &'static str,
    pub summary: &'static str,
}

const fn a(
    kind: ServerKind,
    from: (u32, u32, u32),
    fixed: (u32, u32, u32),
    id: &'static str,
    summary: &'static str,
) -> Advisory {
    Advisory {
        kind,
        from,
        fixed,
        id,
        summary,
    }
}

use ServerKind::{Redis, Valkey};

const OUTPUT_BUFFERS: &str = "an unauthenticated client can grow output buffers without bound";
const LUA_UAF: &str = "a Lua use-after-free lets any user allowed to run scripts execute code";
const UNBLOCK_UAF: &str = "use-after-free in the unblock client flow";
const TLS_KILL_UAF: &str = "a use-after-free in TLS connection handling lets an authenticated client execute code (CLIENT KILL)";
const LUA_DEBUGGER_UAF: &str = "an unauthenticated use-after-free of the Lua interpreter state";

/// The table (per release line, so a fix on one line does not hide an
/// older line's hole).
pub const ADVISORIES: &[Advisory] = &[
    a(
        Redis,
        (7, 0, 0),
        (7, 2, 8),
        "CVE-2025-21605",
        OUTPUT_BUFFERS,
    ),
    a(
        Redis,
        (7, 4, 0),
        (7, 4, 3),
        "CVE-2025-21605",
        OUTPUT_BUFFERS,
    ),
    a(Redis, (7, 0, 0), (7, 2, 11), "CVE-2025-49844", LUA_UAF),
    a(Redis, (7, 4, 0), (7, 4, 6), "CVE-2025-49844", LUA_UAF),
    a(Redis, (8, 0, 0), (8, 0, 4), "CVE-2025-49844", LUA_UAF),
    a(Redis, (8, 2, 0), (8, 2, 2), "CVE-2025-49844", LUA_UAF),
    a(Redis, (7, 2, 0), (8, 6, 3), "CVE-2026-23479", UNBLOCK_UAF),
    a(Valkey, (7, 2, 0), (8, 1, 4), "CVE-2025-49844", LUA_UAF),
    a(Valkey, (7, 2, 0), (8, 0, 8), "CVE-2026-23479", UNBLOCK_UAF),
    a(Valkey, (8, 1, 0), (8, 1, 7), "CVE-2026-23479", UNBLOCK_UAF),
    a(Valkey, (9, 0, 0), (9, 0, 4), "CVE-2026-23479", UNBLOCK_UAF),
    a(Valkey, (9, 1, 0), (9, 1, 1), "CVE-2026-56684", TLS_KILL_UAF),
    a(
        Valkey,
        (9, 1, 0),
        (9, 1, 2),
        "GHSA-fq2f-crmw-q97r",
        LUA_DEBUGGER_UAF,
    ),
];

/// The advisories that affect `server`. A version without a patch number
/// (`redis:7.4`, a moving tag) is the newest patch of its line and is
/// judged as such: only a range that covers the whole line matches, and
/// `redis:7` (major only) matches nothing.
pub fn affecting(server: &Server) -> Vec<&'static Advisory> {
    let Version {
        major,
        minor,
        patch,
    } = server.version;
    let Some(minor) = minor else {
        return Vec::new();
    };
    let v = (major, minor, patch.unwrap_or(u32::MAX));
    ADVISORIES
        .iter()
        .filter(|a| a.kind == server.kind && a.from <= v && v < a.fixed)
        .collect()
}

/// The warning for `server`, if any advisory affects it.
pub fn warning(server: &Server) -> Option<String> {
    let hits = affecting(server);
    if hits.is_empty() {
        return None;
    }
    let list: Vec<String> = hits
        .iter()
        .map(|a| {
            format!(
                "{} ({}; fixed in {}.{}.{})",
                a.id, a.summary, a.fixed.0, a.fixed.1, a.fixed.2
            )
        })
        .collect();
    Some(format!(
        "the image runs {server}, which has published advisories: {}; use a fixed release, e.g. the default image",
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(kind: ServerKind, tag: &str) -> Server {
        Server {
            kind,
            version: Version::parse_tag(tag).expect("tag"),
        }
    }

    fn cves(kind: ServerKind, tag: &str) -> Vec<&'static str> {
        affecting(&server(kind, tag)).iter().map(|a| a.id).collect()
    }

    #[test]
    fn ranges() {
        assert_eq!(
            cves(Redis, "7.4.2"),
            ["CVE-2025-21605", "CVE-2025-49844", "CVE-2026-23479"]
        );
        assert_eq!(cves(Redis, "7.4.6"), ["CVE-2026-23479"]);
        assert_eq!(cves(Redis, "8.0.6"), ["CVE-2026-23479"]);
        assert_eq!(cves(Redis, "8.0.3"), ["CVE-2025-49844", "CVE-2026-23479"]);
        assert!(cves(Redis, "8.6.3").is_empty());
        assert!(cves(Redis, "8.10.1").is_empty());
        assert_eq!(cves(Redis, "7.0.15"), ["CVE-2025-21605", "CVE-2025-49844"]);
        assert!(cves(Valkey, "9.1.2").is_empty());
        assert!(cves(Valkey, "9.1").is_empty());
        assert_eq!(cves(Valkey, "9.1.1"), ["GHSA-fq2f-crmw-q97r"]);
        assert_eq!(cves(Redis, "7.2.11"), ["CVE-2026-23479"]);
        assert_eq!(cves(Valkey, "9.0.3"), ["CVE-2026-23479"]);
        assert_eq!(cves(Valkey, "8.1.3"), ["CVE-2025-49844", "CVE-2026-23479"]);
        assert!(cves(Redis, "7").is_empty());
        // A moving minor tag is its newest patch.
        assert_eq!(cves(Redis, "7.4"), ["CVE-2026-23479"]);
        let w = warning(&server(Redis, "7.4.2")).expect("warning");
        assert!(
            w.contains("Redis 7.4.2") && w.contains("CVE-2025-49844"),
            "{w}"
        );
    }
}
