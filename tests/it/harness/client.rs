//! `redis-cli` from the client namespace, as a client pod would run it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::render::Render;
use super::run_with_input;

/// Keys of the generated auth Secret `<name>-auth`: ACL mode (the
/// default) has an application user, password mode one Redis password.
pub const APP_USERNAME_KEY: &str = "app-username";
pub const APP_PASSWORD_KEY: &str = "app-password";
pub const REDIS_PASSWORD_KEY: &str = "redis-password";
pub const SENTINEL_PASSWORD_KEY: &str = "sentinel-password";

/// How long one `redis-cli` call may take.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(5);

/// A password, and the ACL user it belongs to (`None`: the default user).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: Option<String>,
    pub password: String,
}

/// A CA, certificate and key on disk.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Writes PEM data into `dir` (mode 0600).
    pub fn write(dir: &Path, ca: &[u8], cert: &[u8], key: &[u8]) -> Result<TlsFiles> {
        fs::create_dir_all(dir)?;
        let files = TlsFiles {
            ca: dir.join("ca.crt"),
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        };
        for (p, d) in [(&files.ca, ca), (&files.cert, cert), (&files.key, key)] {
            fs::write(p, d)?;
            fs::set_permissions(p, fs::Permissions::from_mode(0o600))?;
        }
        Ok(files)
    }
}

/// Which TLS material a call presents.
#[derive(Debug, Clone, Copy)]
pub enum Tls<'a> {
    /// The generated client certificate (Secret `<name>-client-tls`).
    Client,
    /// TLS, trusting the generated CA, but no client certificate.
    NoCert,
    /// Other files (e.g. a certificate from a foreign CA).
    Files(&'a TlsFiles),
    /// No TLS at all.
    Plain,
}

/// Output of one `redis-cli` call.
#[derive(Debug, Clone)]
pub struct Reply {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Reply {
    pub fn text(&self) -> &str {
        self.stdout.trim()
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The command answered exactly `expected`.
    pub fn is(&self, expected: &str) -> bool {
        self.success && self.text() == expected
    }

    /// `INFO` output as a map.
    pub fn info(&self) -> BTreeMap<String, String> {
        self.stdout
            .lines()
            .filter_map(|l| l.trim().split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A flat `key value key value` reply (e.g. `SENTINEL master`) as a map.
    pub fn pairs(&self) -> BTreeMap<String, String> {
        let lines: Vec<&str> = self.stdout.lines().collect();
        lines
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].to_string(), c[1].to_string()))
            .collect()
    }

    /// A one-line summary for error messages.
    pub fn summary(&self) -> String {
        format!(
            "ok={} out={:?} err={:?}",
            self.success,
            self.text(),
            self.stderr.trim()
        )
    }
}

/// The CA a client trusts when the render has no client certificate: the
/// ConfigMap `<instance>-ca` (`ca.crt`, or `service-ca.crt` as the service
/// CA injects it).
fn ca_bundle(render: &Render, instance: &str) -> Result<Option<Vec<u8>>> {
    let name = format!("{instance}-ca");
    if render.find("ConfigMap", &name).is_none() {
        return Ok(None);
    }
    let data = render.configmap_data(&name)?;
    Ok(data
        .get("ca.crt")
        .or_else(|| data.get("service-ca.crt"))
        .cloned())
}

/// redis-cli in the client namespace.
pub struct Client {
    pub netns: String,
    pub dir: PathBuf,
    pub tls: Option<TlsFiles>,
    /// Without a client certificate: the CA to trust (`--tls --cacert`).
    pub ca_only: Option<PathBuf>,
    pub redis_auth: Option<Credentials>,
    pub sentinel_auth: Option<Credentials>,
}

impl Client {
    /// Takes the client certificate from Secret `<instance>-client-tls` and,
    /// when the render has a Secret `<instance>-auth`, the passwords from it.
    pub fn from_render(render: &Render, instance: &str, netns: &str, dir: &Path) -> Result<Client> {
        let tls_secret = format!("{instance}-client-tls");
        let tls = match render.find("Secret", &tls_secret) {
            Some(_) => {
                let d = render.secret_data(&tls_secret)?;
                let get = |k: &str| {
                    d.get(k)
                        .cloned()
                        .with_context(|| format!("Secret {tls_secret} has no {k}"))
                };
                Some(TlsFiles::write(
                    dir,
                    &get("ca.crt")?,
                    &get("tls.crt")?,
                    &get("tls.key")?,
                )?)
            }
            // No client certificate (the OpenShift service CA issues
            // none): TLS trusting the CA the render publishes.
            None => None,
        };
        let ca_only = match tls {
            Some(_) => None,
            None => ca_bundle(render, instance)?
                .map(|ca| -> Result<PathBuf> {
                    fs::create_dir_all(dir)?;
                    let p = dir.join("ca.crt");
                    fs::write(&p, ca)?;
                    Ok(p)
                })
                .transpose()?,
        };
        let auth_secret = format!("{instance}-auth");
        let text = |key: &str| render.secret_text(&auth_secret, key);
        let redis_auth = match (text(APP_USERNAME_KEY)?, text(APP_PASSWORD_KEY)?) {
            (Some(user), Some(password)) => Some(Credentials {
                user: Some(user),
                password,
            }),
            _ => text(REDIS_PASSWORD_KEY)?.map(|password| Credentials {
                user: None,
                password,
            }),
        };
        let sentinel_auth = text(SENTINEL_PASSWORD_KEY)?.map(|password| Credentials {
            user: None,
            password,
        });
        Ok(Client {
            netns: netns.to_string(),
            dir: dir.to_path_buf(),
            tls,
            ca_only,
            redis_auth,
            sentinel_auth,
        })
    }

    /// `redis-cli` against a Redis pod, with the client certificate and the
    /// Redis password.
    pub fn redis(&self, host: &str, port: u16, args: &[&str]) -> Result<Reply> {
        self.cli(Tls::Client, self.redis_auth.as_ref(), host, port, args)
    }

    /// `redis-cli` against a Sentinel, with the client certificate and the
    /// Sentinel password.
    pub fn sentinel(&self, host: &str, port: u16, args: &[&str]) -> Result<Reply> {
        self.cli(Tls::Client, self.sentinel_auth.as_ref(), host, port, args)
    }

    /// Several commands on one connection to a Redis pod (one per line, fed
    /// to `redis-cli` on standard input), e.g. writes followed by `WAIT`.
    pub fn redis_pipe(&self, host: &str, port: u16, commands: &str) -> Result<Reply> {
        self.cli_input(
            Tls::Client,
            self.redis_auth.as_ref(),
            host,
            port,
            &[],
            Some(commands),
        )
    }

    /// One `redis-cli` call with the given TLS material and credentials.
    pub fn cli(
        &self,
        tls: Tls<'_>,
        auth: Option<&Credentials>,
        host: &str,
        port: u16,
        args: &[&str],
    ) -> Result<Reply> {
        self.cli_input(tls, auth, host, port, args, None)
    }

    /// [`Client::cli`] with commands on standard input.
    pub fn cli_input(
        &self,
        tls: Tls<'_>,
        auth: Option<&Credentials>,
        host: &str,
        port: u16,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<Reply> {
        let mut cmd = self.cli_command(tls, auth, host, port, args);
        let out = run_with_input(&mut cmd, input.map(str::as_bytes), CLI_TIMEOUT)?;
        Ok(Reply {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `set` on a connection to a Redis pod and, only when it answered
    /// `OK`, `wait` on the same connection, as an application does that
    /// checks each reply (a `WAIT` pipelined behind a refused write would
    /// block its full timeout on a master without replicas). Both replies,
    /// one per line; none when the pod does not answer within
    /// [`CLI_TIMEOUT`].
    pub fn redis_set_then_wait(
        &self,
        host: &str,
        port: u16,
        set: &str,
        wait: &str,
    ) -> Result<Reply> {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let mut cmd = self.cli_command(Tls::Client, self.redis_auth.as_ref(), host, port, &[]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().context("spawning redis-cli")?;
        let mut stdin = child.stdin.take().context("piped stdin")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut stderr = child.stderr.take().context("piped stderr")?;
        // Replies (Ok) and redis-cli's own errors (Err) in one channel:
        // with its standard input still open, redis-cli that cannot connect
        // or lost the connection says so on stderr and waits for the next
        // command instead of exiting.
        let (tx, rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let tx_err = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(Ok(line)).is_err() {
                    break;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut all = String::new();
            let mut r = BufReader::new(&mut stderr);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                let _ = tx_err.send(Err(line.trim_end().to_string()));
                all.push_str(&line);
                line.clear();
            }
            let _ = r.read_to_string(&mut all);
            all
        });
        let deadline = std::time::Instant::now() + CLI_TIMEOUT;
        let next = || loop {
            match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(Ok(line)) => return Some(line),
                Ok(Err(e)) if e.starts_with("Could not") || e.starts_with("Error") => return None,
                Ok(Err(_)) => continue,
                Err(_) => return None,
            }
        };
        let mut lines = Vec::new();
        if writeln!(stdin, "{set}").and_then(|_| stdin.flush()).is_ok()
            && let Some(first) = next()
        {
            let ok = first == "OK";
            lines.push(first);
            if ok
                && writeln!(stdin, "{wait}")
                    .and_then(|_| stdin.flush())
                    .is_ok()
                && let Some(second) = next()
            {
                lines.push(second);
            }
        }
        drop(stdin);
        let end = std::time::Instant::now() + Duration::from_secs(1);
        while child.try_wait()?.is_none() {
            if std::time::Instant::now() >= end {
                super::signal_group(child.id(), "KILL");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Reply {
            success: !lines.is_empty(),
            stdout: lines.join("\n"),
            stderr: err.join().unwrap_or_default(),
        })
    }

    /// The `redis-cli` command with the given TLS material and credentials.
    fn cli_command(
        &self,
        tls: Tls<'_>,
        auth: Option<&Credentials>,
        host: &str,
        port: u16,
        args: &[&str],
    ) -> Command {
        let mut cmd = self.command("redis-cli");
        let files = match tls {
            Tls::Client => self.tls.as_ref(),
            Tls::Files(f) => Some(f),
            Tls::NoCert | Tls::Plain => None,
        };
        match tls {
            Tls::Plain => {}
            Tls::NoCert => {
                cmd.arg("--tls");
                if let Some(f) = &self.tls {
                    cmd.arg("--cacert").arg(&f.ca);
                }
            }
            Tls::Client | Tls::Files(_) => {
                if let Some(f) = files {
                    cmd.arg("--tls")
                        .arg("--cacert")
                        .arg(&f.ca)
                        .arg("--cert")
                        .arg(&f.cert)
                        .arg("--key")
                        .arg(&f.key);
                } else if let Some(ca) = &self.ca_only {
                    cmd.arg("--tls").arg("--cacert").arg(ca);
                }
            }
        }
        if let Some(a) = auth {
            if let Some(u) = &a.user {
                cmd.arg("--user").arg(u);
            }
            cmd.env("REDISCLI_AUTH", &a.password);
        }
        cmd.args(["-h", host, "-p", &port.to_string()]).args(args);
        cmd
    }

    /// A command that runs in the client namespace (its hosts file is the
    /// cluster DNS), with a minimal environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, program])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir("/");
        cmd
    }
}
