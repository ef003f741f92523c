//! Key material sources: a user-supplied secret seed (stable output across
//! renders) or fresh randomness. Everything secret the function makes (keys,
//! serial numbers, passwords) is expanded from one 32-byte master secret
//! with HKDF-SHA256, each under its own context string.

use anyhow::{Context, bail};
use chacha20::ChaCha20Rng;
use hkdf::Hkdf;
use rand_core::SeedableRng;
use sha2::Sha256;

/// Environment variable holding the seed itself.
pub const SEED_ENV: &str = "REDIS_SENTINEL_FN_SEED";
/// Environment variable holding the path of a file that holds the seed.
pub const SEED_FILE_ENV: &str = "REDIS_SENTINEL_FN_SEED_FILE";
/// Shortest accepted seed, in bytes.
pub const MIN_SEED_BYTES: usize = 16;

const SALT: &[u8] = b"redis-sentinel-fn/seed/v1";

#[derive(Clone)]
pub struct Seed {
    master: [u8; 32],
    user_supplied: bool,
}

impl Seed {
    /// A seed from user-supplied secret bytes (trailing newline ignored).
    pub fn from_user(bytes: &[u8]) -> anyhow::Result<Self> {
        let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.len() < MIN_SEED_BYTES {
            bail!(
                "the certificate seed is {} bytes; use at least {MIN_SEED_BYTES} random bytes (e.g. `openssl rand -hex 32`)",
                trimmed.len()
            );
        }
        let (prk, _) = Hkdf::<Sha256>::extract(Some(SALT), trimmed);
        let mut master = [0u8; 32];
        master.copy_from_slice(&prk);
        Ok(Seed {
            master,
            user_supplied: true,
        })
    }

    /// A fresh random seed: output differs on every render.
    pub fn random() -> anyhow::Result<Self> {
        let mut master = [0u8; 32];
        getrandom::fill(&mut master)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("reading system randomness")?;
        Ok(Seed {
            master,
            user_supplied: false,
        })
    }

    /// Reads the seed from `--seed-file`, `REDIS_SENTINEL_FN_SEED_FILE` or
    /// `REDIS_SENTINEL_FN_SEED`, in that order. `None` when none is set.
    pub fn from_environment(seed_file: Option<&std::path::Path>) -> anyhow::Result<Option<Self>> {
        if let Some(path) = seed_file {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the seed file {}", path.display()))?;
            return Self::from_user(&bytes).map(Some);
        }
        if let Some(path) = std::env::var_os(SEED_FILE_ENV).filter(|p| !p.is_empty()) {
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "reading the seed file {} ({SEED_FILE_ENV})",
                    std::path::Path::new(&path).display()
                )
            })?;
            return Self::from_user(&bytes).map(Some);
        }
        if let Some(v) = std::env::var_os(SEED_ENV).filter(|v| !v.is_empty()) {
            return Self::from_user(v.as_encoded_bytes())
                .map(Some)
                .with_context(|| format!("reading {SEED_ENV}"));
        }
        Ok(None)
    }

    /// `seed`, or a fresh random one when there is none.
    pub fn or_random(seed: Option<&Seed>) -> anyhow::Result<std::borrow::Cow<'_, Seed>> {
        Ok(match seed {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(Seed::random()?),
        })
    }

    pub fn is_user_supplied(&self) -> bool {
        self.user_supplied
    }

    /// Fills `out` with bytes derived for `context`.
    pub fn fill(&self, context: &str, out: &mut [u8]) {
        let hk = Hkdf::<Sha256>::from_prk(&self.master).expect("a 32-byte PRK is always valid");
        hk.expand(context.as_bytes(), out)
            .expect("outputs are far below HKDF's 8160-byte limit");
    }

    /// A deterministic random stream for `context`.
    pub fn rng(&self, context: &str) -> ChaCha20Rng {
        let mut s = [0u8; 32];
        self.fill(context, &mut s);
        ChaCha20Rng::from_seed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = Seed::from_user(b"0123456789abcdef0123").unwrap();
        let b = Seed::from_user(b"0123456789abcdef0123\n").unwrap();
        let c = Seed::from_user(b"0123456789abcdef0124").unwrap();
        let (mut x, mut y, mut z) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        a.fill("ctx", &mut x);
        b.fill("ctx", &mut y);
        c.fill("ctx", &mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut w = [0u8; 16];
        a.fill("other", &mut w);
        assert_ne!(x, w);
    }

    #[test]
    fn short_seed_rejected() {
        assert!(Seed::from_user(b"short").is_err());
    }
}
