//! The server binaries the pods run: Debian's `redis-*` on the host PATH, or
//! a build `.ci/install.d/45-servers.sh` cached under
//! `.ci/cache/servers/<name>-<version>/bin`, chosen with `E2E_SERVER`
//! (`valkey-9.1`, `redis-8.0`, ...; unset or `host`: Debian's).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::{run_ok, scratch_root};

/// Names the server build the suites run on.
pub const SERVER_ENV: &str = "E2E_SERVER";
/// `1`: the pods see the Valkey build as an image with only the `valkey-*`
/// names ([`Server::with_valkey_names_only`]).
pub const VALKEY_NAMES_ENV: &str = "E2E_VALKEY_NAMES_ONLY";

/// Where `.ci/install.d/45-servers.sh` caches its builds.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/cache/servers")
}

/// One server as a pod's image would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `host`, or the cached build's directory name (`valkey-9.1.2`).
    pub name: String,
    /// Directory put first on the pods' PATH; `None`: the host's PATH only.
    pub bin: Option<PathBuf>,
    /// The image has only the `valkey-*` names (Debian's valkey packages):
    /// every `redis-*` on the pods' PATH is hidden in their mount namespace.
    pub valkey_names_only: bool,
}

impl Server {
    /// Debian's `redis-*` in /usr/bin.
    pub fn host() -> Server {
        Server {
            name: "host".into(),
            bin: None,
            valkey_names_only: false,
        }
    }

    /// The server `E2E_SERVER` names (the host's when unset), with only
    /// its `valkey-*` names when `E2E_VALKEY_NAMES_ONLY=1`.
    pub fn from_env() -> Result<Server> {
        let server = match std::env::var(SERVER_ENV) {
            Ok(v) if !v.is_empty() && v != "host" => Server::build(&v)?,
            _ => Server::host(),
        };
        match std::env::var(VALKEY_NAMES_ENV).as_deref() {
            Ok("1") => server.with_valkey_names_only(),
            Ok("0") | Ok("") | Err(_) => Ok(server),
            Ok(other) => bail!("{VALKEY_NAMES_ENV}={other}: 1 or 0"),
        }
    }

    /// The cached build whose directory is `want` or starts with `want.`
    /// (`valkey-9.1` finds `valkey-9.1.2`); exactly one must match.
    pub fn build(want: &str) -> Result<Server> {
        let dir = cache_dir();
        let found: Vec<PathBuf> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| n == want || n.starts_with(&format!("{want}.")))
            })
            .collect();
        let [one] = found.as_slice() else {
            bail!(
                "{SERVER_ENV}={want}: {} builds match in {} (run .ci/install.d/45-servers.sh)",
                found.len(),
                dir.display()
            );
        };
        let bin = one.join("bin");
        let name = one
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let server = Server {
            name,
            bin: Some(bin),
            valkey_names_only: false,
        };
        server.version()?;
        Ok(server)
    }

    /// Whether it is a Valkey build (its binaries are `valkey-*`).
    pub fn is_valkey(&self) -> bool {
        self.bin
            .as_ref()
            .is_some_and(|b| b.join("valkey-server").is_file())
    }

    /// The same build as an image with only the `valkey-*` names: a
    /// directory of links to them alone (the build's `redis-*` links are
    /// left out, the host's are hidden in the pods).
    pub fn with_valkey_names_only(&self) -> Result<Server> {
        let bin = self
            .bin
            .as_ref()
            .filter(|_| self.is_valkey())
            .ok_or_else(|| anyhow!("{} is not a Valkey build", self.name))?;
        let dir = scratch_root().join(format!(
            "servers-{}/{}-valkey-only",
            std::process::id(),
            self.name
        ));
        fs::create_dir_all(&dir)?;
        for e in fs::read_dir(bin)?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let link = dir.join(&n);
            if n.starts_with("valkey-") && fs::symlink_metadata(&link).is_err() {
                symlink(e.path(), link)?;
            }
        }
        Ok(Server {
            name: format!("{}-valkey-only", self.name),
            bin: Some(dir),
            valkey_names_only: true,
        })
    }

    /// The server binary the pods find first, as the scripts pick it
    /// (`valkey-server` when there is one).
    pub fn server_binary(&self) -> PathBuf {
        let in_bin = |n: &str| self.bin.as_ref().map(|b| b.join(n)).filter(|p| p.exists());
        in_bin("valkey-server")
            .or_else(|| in_bin("redis-server"))
            .or_else(|| super::which("redis-server"))
            .unwrap_or_else(|| PathBuf::from("redis-server"))
    }

    /// `<binary> --version`, e.g. `Valkey server v=9.1.2 sha=...`.
    pub fn version(&self) -> Result<String> {
        let b = self.server_binary();
        run_ok(Command::new(&b).arg("--version"), Duration::from_secs(10))
            .map(|s| s.trim().to_string())
            .with_context(|| format!("{} --version", b.display()))
    }

    /// The image this server stands in for: `docker.io/valkey/valkey:9.1.2`,
    /// `docker.io/library/redis:7.0.15` (from `--version`).
    pub fn image(&self) -> Result<String> {
        let v = self.version()?;
        let version = v
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .ok_or_else(|| anyhow!("no version in {v:?}"))?;
        Ok(if v.starts_with("Valkey") || self.is_valkey() {
            format!("docker.io/valkey/valkey:{version}")
        } else {
            format!("docker.io/library/redis:{version}")
        })
    }

    /// The pods' PATH: the build's directory first, then the image's usual
    /// directories (the host's tools).
    pub fn path(&self, base: &str) -> String {
        match &self.bin {
            Some(b) => format!("{}:{base}", b.display()),
            None => base.to_string(),
        }
    }

    /// Files a pod must not see: with `valkey_names_only`, every `redis-*`
    /// in the directories of `base` (a PATH).
    pub fn hidden(&self, base: &str) -> Vec<PathBuf> {
        if !self.valkey_names_only {
            return Vec::new();
        }
        let mut v: Vec<PathBuf> = std::env::split_paths(base)
            .flat_map(|d| fs::read_dir(d).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("redis-"))
                    && p.is_file()
            })
            .collect();
        v.sort();
        v
    }
}
