//! One plain `redis-server` on a Unix socket in a scratch directory (no
//! TCP port, no namespace): for tests that only need Redis to judge
//! something, e.g. whether it accepts an ACL rule.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A running `redis-server`, ended by PID when dropped.
pub struct Standalone {
    child: Child,
    dir: PathBuf,
}

impl Standalone {
    /// Starts `redis-server` with its socket in `dir` (created) and waits
    /// (bounded) until it answers.
    pub fn start(dir: &Path) -> Result<Standalone> {
        Standalone::start_with(dir, None)
    }

    /// Like [`Standalone::start`], reading `conf` (redis.conf text) first,
    /// as `redis-server <file>` does; the command line then adds the
    /// socket and no persistence. When redis-server refuses the config it
    /// exits, and this returns `Err` once the wait for its answer (20 s)
    /// runs out.
    pub fn start_with_config(dir: &Path, conf: &str) -> Result<Standalone> {
        Standalone::start_with(dir, Some(conf))
    }

    fn start_with(dir: &Path, conf: Option<&str>) -> Result<Standalone> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut cmd = Command::new(Self::binary()?);
        if let Some(conf) = conf {
            let file = dir.join("redis.conf");
            std::fs::write(&file, conf).context("writing redis.conf")?;
            cmd.arg(file);
        }
        let child = cmd
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
            ])
            .arg(dir.join("redis.sock"))
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        let s = Standalone {
            child,
            dir: dir.to_path_buf(),
        };
        super::wait_for(
            "redis-server to answer PING",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || match s.pipeline(&[vec!["PING".to_string()]]) {
                // NOAUTH: up, with the default user off (a config).
                Ok(r)
                    if r.first()
                        .is_some_and(|l| l == "+PONG" || l.starts_with("-NOAUTH")) =>
                {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            },
        )?;
        Ok(s)
    }

    /// Sends the commands (each a list of arguments, as RESP, so nothing
    /// is re-split) in one pipeline and returns the first line of each
    /// reply (`+OK`, `-ERR ...`, `$5`, ...). Only for commands whose replies
    /// are one line (simple strings, errors, integers).
    pub fn pipeline(&self, commands: &[Vec<String>]) -> Result<Vec<String>> {
        let mut stream =
            UnixStream::connect(self.dir.join("redis.sock")).context("connecting to redis")?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut resp = Vec::new();
        for c in commands {
            write!(resp, "*{}\r\n", c.len())?;
            for a in c {
                write!(resp, "${}\r\n", a.len())?;
                resp.extend_from_slice(a.as_bytes());
                resp.extend_from_slice(b"\r\n");
            }
        }
        stream.write_all(&resp)?;
        let mut reader = BufReader::new(stream);
        let mut replies = Vec::with_capacity(commands.len());
        for _ in commands {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("redis closed the connection");
            }
            replies.push(line.trim_end().to_string());
        }
        Ok(replies)
    }

    /// The server binary: the one `E2E_SERVER` names
    /// ([`super::Server::from_env`]), else Debian's `redis-server`.
    fn binary() -> Result<std::path::PathBuf> {
        Ok(super::Server::from_env()?.server_binary())
    }

    /// The server's version (`v=` of `--version`: `7.0.15`, `9.1.2`).
    pub fn version(&self) -> Result<String> {
        Ok(self.identity()?.1)
    }

    /// `Redis` or `Valkey` and the version, from `--version` (`Valkey
    /// server v=9.1.2 ...`; Valkey 7.2 says `Server v=7.2.7`, so a
    /// `valkey-server` binary is Valkey whatever it prints).
    pub fn identity(&self) -> Result<(String, String)> {
        let bin = Self::binary()?;
        let out = Command::new(&bin)
            .arg("--version")
            .output()
            .context("server --version")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let valkey = bin
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("valkey"));
        let kind = if valkey {
            "Valkey".to_string()
        } else {
            text.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let v = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .map(str::to_string)
            .context("no version in server --version")?;
        Ok((kind, v))
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
