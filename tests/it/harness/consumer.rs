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

/// 3scale's two Secrets, `backend-redis` and `system-redis`, mounted under
/// `work/<name>` as 3scale-operator mounts them: the directory of each, by
/// name (the map [`threescale_env`] reads).
pub fn mount_threescale(
    render: &Render,
    work: &Path,
) -> Result<std::collections::BTreeMap<&'static str, PathBuf>> {
    ["backend-redis", "system-redis"]
        .into_iter()
        .map(|name| Ok((name, mount_secret(render, name, &work.join(name))?)))
        .collect()
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

/// The Ruby interpreter that has redis-rb, by absolute path (the client
/// namespace runs with a minimal environment).
pub fn ruby_with_redis() -> Result<PathBuf> {
    let out = run_ok(
        Command::new("ruby").args([
            "-e",
            "require 'redis'; require 'rbconfig'; puts File.join(RbConfig::CONFIG['bindir'], RbConfig::CONFIG['ruby_install_name']); puts Redis::VERSION",
        ]),
        Duration::from_secs(30),
    )
    .context("ruby with redis-rb (install them with .ci/install.d/17-ruby.sh)")?;
    let mut lines = out.lines();
    let exe = PathBuf::from(lines.next().unwrap_or_default());
    ensure!(exe.is_file(), "ruby reports no executable: {out:?}");
    Ok(exe)
}

/// How 3scale-operator hands the 3scale Secrets to its pods, as
/// environment variables: `(variable, Secret, key)`. apisonator (backend
/// listener, worker, cron) reads storage as `CONFIG_REDIS_*` and queues as
/// `CONFIG_QUEUES_*`; porta (system app, Sidekiq) reads `system-redis` as
/// `REDIS_*` and the storage part of `backend-redis` as `BACKEND_REDIS_*`.
const THREESCALE_ENV: &[(&str, &str, &str)] = &[
    ("CONFIG_REDIS_PROXY", "backend-redis", "REDIS_STORAGE_URL"),
    (
        "CONFIG_REDIS_SENTINEL_HOSTS",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_HOSTS",
    ),
    (
        "CONFIG_REDIS_SENTINEL_ROLE",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_ROLE",
    ),
    (
        "CONFIG_REDIS_USERNAME",
        "backend-redis",
        "REDIS_STORAGE_USERNAME",
    ),
    (
        "CONFIG_REDIS_PASSWORD",
        "backend-redis",
        "REDIS_STORAGE_PASSWORD",
    ),
    (
        "CONFIG_REDIS_SENTINEL_USERNAME",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_USERNAME",
    ),
    (
        "CONFIG_REDIS_SENTINEL_PASSWORD",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_PASSWORD",
    ),
    (
        "CONFIG_QUEUES_MASTER_NAME",
        "backend-redis",
        "REDIS_QUEUES_URL",
    ),
    (
        "CONFIG_QUEUES_SENTINEL_HOSTS",
        "backend-redis",
        "REDIS_QUEUES_SENTINEL_HOSTS",
    ),
    (
        "CONFIG_QUEUES_SENTINEL_ROLE",
        "backend-redis",
        "REDIS_QUEUES_SENTINEL_ROLE",
    ),
    (
        "CONFIG_QUEUES_USERNAME",
        "backend-redis",
        "REDIS_QUEUES_USERNAME",
    ),
    (
        "CONFIG_QUEUES_PASSWORD",
        "backend-redis",
        "REDIS_QUEUES_PASSWORD",
    ),
    (
        "CONFIG_QUEUES_SENTINEL_USERNAME",
        "backend-redis",
        "REDIS_QUEUES_SENTINEL_USERNAME",
    ),
    (
        "CONFIG_QUEUES_SENTINEL_PASSWORD",
        "backend-redis",
        "REDIS_QUEUES_SENTINEL_PASSWORD",
    ),
    ("REDIS_URL", "system-redis", "URL"),
    ("REDIS_SENTINEL_HOSTS", "system-redis", "SENTINEL_HOSTS"),
    ("REDIS_SENTINEL_ROLE", "system-redis", "SENTINEL_ROLE"),
    ("REDIS_USERNAME", "system-redis", "REDIS_USERNAME"),
    ("REDIS_PASSWORD", "system-redis", "REDIS_PASSWORD"),
    (
        "REDIS_SENTINEL_USERNAME",
        "system-redis",
        "REDIS_SENTINEL_USERNAME",
    ),
    (
        "REDIS_SENTINEL_PASSWORD",
        "system-redis",
        "REDIS_SENTINEL_PASSWORD",
    ),
    ("BACKEND_REDIS_URL", "backend-redis", "REDIS_STORAGE_URL"),
    (
        "BACKEND_REDIS_SENTINEL_HOSTS",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_HOSTS",
    ),
    (
        "BACKEND_REDIS_SENTINEL_ROLE",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_ROLE",
    ),
    (
        "BACKEND_REDIS_USERNAME",
        "backend-redis",
        "REDIS_STORAGE_USERNAME",
    ),
    (
        "BACKEND_REDIS_PASSWORD",
        "backend-redis",
        "REDIS_STORAGE_PASSWORD",
    ),
    (
        "BACKEND_REDIS_SENTINEL_USERNAME",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_USERNAME",
    ),
    (
        "BACKEND_REDIS_SENTINEL_PASSWORD",
        "backend-redis",
        "REDIS_STORAGE_SENTINEL_PASSWORD",
    ),
];

/// With the APIManager's TLS flags set, the operator mounts the PEM keys as
/// files and points the clients at them: `(prefix, Secret, CA key, cert
/// key, key key)`; `<prefix>SSL` is `true`.
const THREESCALE_TLS: &[(&str, &str, &str, &str, &str)] = &[
    // backend.backendRedisTLSEnabled
    (
        "CONFIG_REDIS_",
        "backend-redis",
        "REDIS_SSL_CA",
        "REDIS_SSL_CERT",
        "REDIS_SSL_KEY",
    ),
    (
        "BACKEND_REDIS_",
        "backend-redis",
        "REDIS_SSL_CA",
        "REDIS_SSL_CERT",
        "REDIS_SSL_KEY",
    ),
    // backend.queuesRedisTLSEnabled
    (
        "CONFIG_QUEUES_",
        "backend-redis",
        "REDIS_SSL_QUEUES_CA",
        "REDIS_SSL_QUEUES_CERT",
        "REDIS_SSL_QUEUES_KEY",
    ),
    // system.systemRedisTLSEnabled
    (
        "REDIS_",
        "system-redis",
        "REDIS_SSL_CA",
        "REDIS_SSL_CERT",
        "REDIS_SSL_KEY",
    ),
];

/// The environment 3scale-operator gives apisonator and porta from the
/// rendered `backend-redis` and `system-redis`, with every TLS flag set and
/// the PEM keys read from `mounts` (Secret name -> directory of
/// [`mount_secret`]).
pub fn threescale_env(
    render: &Render,
    mounts: &std::collections::BTreeMap<&str, PathBuf>,
) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for (var, secret, key) in THREESCALE_ENV {
        let v = render
            .secret_text(secret, key)?
            .with_context(|| format!("Secret {secret} has no {key}"))?;
        env.push((var.to_string(), v));
    }
    for (prefix, secret, ca, cert, key) in THREESCALE_TLS {
        let dir = mounts
            .get(secret)
            .with_context(|| format!("Secret {secret} is not mounted"))?;
        env.push((format!("{prefix}SSL"), "true".into()));
        for (var, k) in [("CA_FILE", ca), ("CERT", cert), ("PRIVATE_KEY", key)] {
            env.push((format!("{prefix}{var}"), dir.join(k).display().to_string()));
        }
    }
    Ok(env)
}

/// The rules 3scale's parsers depend on, on the rendered `backend-redis`
/// and `system-redis` (in the render's `namespace`, when given): no
/// whitespace and no empty entries in `*SENTINEL_HOSTS` (porta does not
/// strip), URLs ending in `/<db>` (porta's `Integer()` of the path), role
/// `master` in lower case (redis-rb compares it with ROLE's reply),
/// `rediss://` everywhere when `tls` (TLS to Sentinels follows the master
/// URL), no credentials inside URLs, never a Sentinel username without a
/// password. Returns how many values were checked.
pub fn check_threescale_rules(render: &Render, tls: bool) -> Result<usize> {
    let scheme = if tls { "rediss://" } else { "redis://" };
    let mut checked = 0;
    let parts = [
        ("backend-redis", "REDIS_STORAGE_"),
        ("backend-redis", "REDIS_QUEUES_"),
        ("system-redis", ""),
    ];
    for (secret, p) in parts {
        let get = |k: &str| -> Result<String> {
            render
                .secret_text(secret, k)?
                .with_context(|| format!("Secret {secret} has no {k}"))
        };
        let url = get(&format!("{p}URL"))?;
        let hosts = get(&format!("{p}SENTINEL_HOSTS"))?;
        let at = format!("{secret} {p}");
        ensure!(url.starts_with(scheme), "{at}URL {url:?}: not {scheme}");
        ensure!(
            !url.contains('@'),
            "{at}URL {url:?}: credentials in the URL"
        );
        let db = url.rsplit_once('/').map(|(_, d)| d).unwrap_or_default();
        ensure!(
            !db.is_empty() && db.bytes().all(|b| b.is_ascii_digit()),
            "{at}URL {url:?}: does not end in /<db>"
        );
        ensure!(
            !hosts.chars().any(char::is_whitespace),
            "{at}SENTINEL_HOSTS {hosts:?}: whitespace (porta does not strip)"
        );
        for h in hosts.split(',') {
            ensure!(
                !h.is_empty(),
                "{at}SENTINEL_HOSTS {hosts:?}: an empty entry"
            );
            ensure!(
                h.starts_with(scheme),
                "{at}SENTINEL_HOSTS entry {h:?}: not {scheme}"
            );
            ensure!(
                !h.contains('@'),
                "{at}SENTINEL_HOSTS entry {h:?}: credentials"
            );
        }
        let role = get(&format!("{p}SENTINEL_ROLE"))?;
        ensure!(
            role == "master",
            "{at}SENTINEL_ROLE {role:?}: must be master"
        );
        let user = if p.is_empty() {
            get("REDIS_SENTINEL_USERNAME")?
        } else {
            get(&format!("{p}SENTINEL_USERNAME"))?
        };
        let pass = if p.is_empty() {
            get("REDIS_SENTINEL_PASSWORD")?
        } else {
            get(&format!("{p}SENTINEL_PASSWORD"))?
        };
        ensure!(
            user.is_empty() || !pass.is_empty(),
            "{at}: a Sentinel username without a password"
        );
        checked += 1 + hosts.split(',').count();
    }
    Ok(checked)
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

/// The client drivers of tests/fixtures: redis-py through the guide's
/// snippets (`consumer-client.py`) and redis-rb with the environment
/// 3scale-operator gives apisonator and porta (`consumer-client.rb`).
pub struct Drivers {
    pub python: PathBuf,
    /// The directory the guide's snippets were extracted to.
    pub snippets: PathBuf,
    pub ruby: PathBuf,
    pub ruby_env: Vec<(String, String)>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

impl Drivers {
    /// `consumer-client.py SNIPPETS <args>` in the client namespace.
    pub fn python(&self, c: &super::Cluster, args: &[&str]) -> Command {
        let mut cmd = c.client().command(&self.python.display().to_string());
        cmd.arg(fixture("consumer-client.py"))
            .arg(&self.snippets)
            .args(args)
            .env("PYTHONUNBUFFERED", "1");
        cmd
    }

    /// `consumer-client.rb <args>` in the client namespace, with the
    /// 3scale environment.
    pub fn ruby(&self, c: &super::Cluster, args: &[&str]) -> Command {
        let mut cmd = c.client().command(&self.ruby.display().to_string());
        cmd.arg(fixture("consumer-client.rb"))
            .args(args)
            .envs(self.ruby_env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// A driver in writer mode (`SET` + `WAIT 1` until told to stop), with the
/// files it reports through.
pub struct ClientWriter {
    pub name: String,
    bg: Background,
    progress: PathBuf,
    stop: PathBuf,
    result: PathBuf,
    log: PathBuf,
}

impl ClientWriter {
    /// Starts `cmd` (a driver's `writer ...` command) with its PROGRESS,
    /// STOP and RESULT files in `work` appended.
    pub fn spawn(mut cmd: Command, name: &str, work: &Path) -> Result<ClientWriter> {
        let f = |s: &str| work.join(format!("{name}.{s}"));
        let (progress, stop, result, log) = (f("progress"), f("stop"), f("result"), f("log"));
        cmd.args([&progress, &stop, &result]);
        let bg = Background::spawn(cmd, &format!("{name} writer"), &log)?;
        Ok(ClientWriter {
            name: name.to_string(),
            bg,
            progress,
            stop,
            result,
            log,
        })
    }

    /// Acknowledged writes so far.
    pub fn acked(&self) -> Result<u64, String> {
        let s = fs::read(&self.progress).map_err(|e| format!("{}: {e}", self.name))?;
        let j: serde_json::Value = serde_json::from_slice(&s).map_err(|e| e.to_string())?;
        Ok(j["acked"].as_u64().unwrap_or(0))
    }

    /// Stops the writer; its result (every acknowledged key read back).
    pub fn finish(mut self) -> Result<WriterResult> {
        fs::write(&self.stop, "")?;
        let st = self.bg.wait(Duration::from_secs(60))?;
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        ensure!(st.success(), "{} writer: {st}\n{log}", self.name);
        let j: serde_json::Value = serde_json::from_slice(&fs::read(&self.result)?)?;
        Ok(WriterResult { name: self.name, j })
    }
}

/// What a driver's writer reports.
pub struct WriterResult {
    pub name: String,
    pub j: serde_json::Value,
}

impl WriterResult {
    fn floats(&self, k: &str) -> Vec<f64> {
        self.j[k]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    }

    /// Seconds from `t` (Unix time) to the first acknowledged write after
    /// the last failed one at or after `t` (the client found the master).
    pub fn recovered_after(&self, t: f64) -> Option<f64> {
        let last_error = self
            .floats("error_times")
            .into_iter()
            .filter(|e| *e >= t)
            .fold(t, f64::max);
        self.floats("acked_times")
            .into_iter()
            .find(|a| *a > last_error)
            .map(|a| a - t)
    }

    /// Failed writes at or after `t`.
    pub fn errors_after(&self, t: f64) -> usize {
        self.floats("error_times")
            .iter()
            .filter(|e| **e >= t)
            .count()
    }

    /// The longest gap between acknowledged writes from `t` on (seconds;
    /// the gap across `t` counts).
    pub fn longest_gap_after(&self, t: f64) -> f64 {
        let times = self.floats("acked_times");
        times
            .windows(2)
            .filter(|w| w[1] >= t)
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max)
    }

    pub fn lost(&self) -> u64 {
        self.j["lost"].as_u64().unwrap_or(u64::MAX)
    }

    pub fn master(&self) -> &str {
        self.j["master"].as_str().unwrap_or_default()
    }

    /// One line of figures.
    pub fn summary(&self) -> String {
        format!(
            "{} acknowledged / {} writes, {} errors ({}), lost {}, longest gap {:.3}s, master {}",
            self.j["acked"],
            self.j["writes"],
            self.j["errors"],
            self.j["first_errors"],
            self.j["lost"],
            self.j["max_gap"].as_f64().unwrap_or(0.0),
            self.master()
        )
    }
}

impl Drivers {
    /// Runs a driver's `check` and returns its JSON report.
    pub fn check(&self, mut cmd: Command, what: &str) -> Result<serde_json::Value> {
        let out = super::run(&mut cmd, Duration::from_secs(60))?;
        ensure!(
            out.status.success(),
            "{what} check failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// redis-rb's check of one 3scale use (`storage`, `queues`, `system`,
    /// `backend-porta`).
    pub fn ruby_check(&self, c: &super::Cluster, use_: &str) -> Result<serde_json::Value> {
        self.check(self.ruby(c, &["check", use_]), &format!("ruby {use_}"))
    }

    /// redis-py's check of one use through the guide's snippets (`dir`:
    /// the mounted Secret).
    pub fn python_check(
        &self,
        c: &super::Cluster,
        use_: &str,
        dir: &Path,
    ) -> Result<serde_json::Value> {
        let dir = dir.display().to_string();
        self.check(
            self.python(c, &["check", use_, &dir]),
            &format!("python {use_}"),
        )
    }
}
