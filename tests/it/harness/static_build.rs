//! The static release binary and the container image made from it, which
//! both `gitops` (its image tests) and `docs` (docs/gitops.md's commands)
//! build. They share one build: the same target directory (the tests'
//! own), target triple and RUSTFLAGS as docs/gitops.md shows, so cargo's
//! cache serves the second one; and [`lock`] keeps two test processes
//! (nextest runs each test in its own) from building or tagging the image
//! at the same time.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::cli;

/// The flags docs/gitops.md builds the static binary with.
pub const RUSTFLAGS: &str = "-C target-feature=+crt-static";

/// The target triple of the static build (`--target`, as docs/gitops.md).
pub fn triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Where the static binary lands: `<target>/<triple>/release/`, the same
/// file the docs' `cargo build --release --target ...` writes.
pub fn binary() -> PathBuf {
    cli::target_dir()
        .join(triple())
        .join("release")
        .join("redis-sentinel-fn")
}

/// `cargo build` of the static binary into the tests' target directory
/// (a no-op when it is fresh).
pub fn cargo_build() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.current_dir(cli::root())
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "redis-sentinel-fn",
        ])
        .args(["--target", &triple(), "--target-dir"])
        .arg(cli::target_dir())
        .env("RUSTFLAGS", RUSTFLAGS)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    c
}

/// Holds `<target>/static-build.lock` exclusively until the returned file
/// is dropped (or the process ends). flock(1) takes the lock on its
/// standard input, an open file description it shares with the returned
/// file, so the lock outlives it (flock(2) semantics) without `unsafe` or
/// a newer Rust than the crate's rust-version.
pub fn lock() -> Result<File> {
    let path = cli::target_dir().join("static-build.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let status = Command::new("flock")
        .args(["--exclusive", "0"])
        .stdin(file.try_clone()?)
        .status()
        .context("running flock (util-linux)")?;
    ensure!(
        status.success(),
        "flock {} failed: {status}",
        path.display()
    );
    Ok(file)
}
