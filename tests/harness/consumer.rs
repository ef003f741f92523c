//! Helpers for tests that act as an application (a consumer) of the
//! topology: mount Secrets as files, extract the code blocks of a guide,
//! and run Python clients in the client namespace.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::{Render, run_ok, signal_group};

/// Writes every key of Secret `name` of the render as a file in `dir`
/// (mode 0400), as a Secret volume projects it. Returns `dir`.
pub fn mount_secret(render: &Render, name: &str, dir: &Path) -> Result<PathBuf> {
    let data = render.secret_data(name)?;
    ensure!(!data.is_empty(), "Secret {name} has no data");
    fs::create_dir_all(dir)?;
    for (k, v) in data {
        let p = dir.join(&k);
        fs::write(&p, v).with_context(|| format!("writing {}", p.display()))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o400))?;
    }
    Ok(dir.to_path_buf())
}

/// Extracts the fenced code blocks of a Markdown guide whose first line is
/// `# file: <name>` into `dir/<name>`; returns the names. Tests run exactly
/// what the guide shows.
pub fn extract_code_blocks(guide: &Path, dir: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(guide).with_context(|| format!("reading {}", guide.display()))?;
    fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") || line.trim() == "```" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let Some(name) = block.first().and_then(|l| l.strip_prefix("# file: ")) else {
            continue;
        };
        let name = name.trim().to_string();
        ensure!(
            !name.contains('/') && !names.contains(&name),
            "{}: bad or repeated block name {name:?}",
            guide.display()
        );
        fs::write(dir.join(&name), block.join("\n") + "\n")?;
        names.push(name);
    }
    Ok(names)
}

/// The Python interpreter that has redis-py, by absolute path (the client
/// namespace runs with a minimal environment).
pub fn python_with_redis() -> Result<PathBuf> {
    let out = run_ok(
        Command::new("python3").args([
            "-c",
            "import sys, redis; print(sys.executable); print(redis.__version__)",
        ]),
        Duration::from_secs(30),
    )
    .context("python3 with redis-py (install it with .ci/install.d/16-redis-py.sh)")?;
    let mut lines = out.lines();
    let exe = PathBuf::from(lines.next().unwrap_or_default());
    ensure!(exe.is_file(), "python3 reports no executable: {out:?}");
    Ok(exe)
}

/// A process the test started in the background; ended by its process
/// group when dropped.
pub struct Background {
    child: Option<Child>,
    pub what: String,
}

impl Background {
    /// Spawns `cmd` in its own process group, output to `log`.
    pub fn spawn(mut cmd: Command, what: &str, log: &Path) -> Result<Background> {
        let out = fs::File::create(log)?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let child = cmd.spawn().with_context(|| format!("spawning {what}"))?;
        Ok(Background {
            child: Some(child),
            what: what.to_string(),
        })
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        let child = self.child.as_mut().context("already ended")?;
        loop {
            if let Some(st) = child.try_wait()? {
                self.child = None;
                return Ok(st);
            }
            if std::time::Instant::now() >= deadline {
                bail!("{} did not exit within {timeout:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal_group(c.id(), "KILL");
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
