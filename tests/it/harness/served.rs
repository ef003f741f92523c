//! What a pod serves over TLS, and the kubelet's update of its mounted
//! Secrets: the pieces of a certificate change that reaches running pods
//! without a restart (certificates renewed outside the function,
//! tests/it/e2e_sources.rs; generated certificates on a server that reloads
//! them, tests/it/day2_rotation.rs).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use redis_sentinel_fn::spec::server::{Server as ServerVersion, ServerKind, Version, reloads_tls};

use super::client::TlsFiles;
use super::cluster::Cluster;
use super::render::Render;
use super::server::Server;

/// What Valkey logs when its own reload swapped in the new files.
pub const SERVER_RELOADED: &str = "TLS materials reloaded successfully";

/// Whether the server under test (`E2E_SERVER`) reloads renewed
/// certificate files itself (Valkey 9.1+: the render then sets
/// `tls-auto-reload-interval`, and generated certificates do not roll it).
pub fn server_reloads() -> Result<bool> {
    let image = Server::from_env()?.image()?;
    let server = ServerKind::of_image(&image)
        .zip(Version::of_image(&image))
        .map(|(kind, version)| ServerVersion { kind, version });
    Ok(reloads_tls(server.as_ref()))
}

/// What an `openssl s_client` handshake with a pod got.
#[derive(Debug, PartialEq)]
pub enum Served {
    Serial(String),
    /// Nothing listening (a Sentinel restarting).
    Refused,
    /// The handshake failed (verification, alert, ...).
    Failed(String),
}

/// The serial of the certificate a pod serves on `port`, verified against
/// `ca` for the pod's DNS name; with `client`, presenting that certificate.
pub fn served(
    c: &Cluster,
    host: &str,
    port: u16,
    ca: &Path,
    client: Option<&TlsFiles>,
) -> Result<Served> {
    let mut args = vec![
        "s_client".to_string(),
        "-connect".into(),
        format!("{host}:{port}"),
        "-servername".into(),
        host.into(),
        "-verify_hostname".into(),
        host.into(),
        "-CAfile".into(),
        ca.display().to_string(),
        "-verify_return_error".into(),
    ];
    if let Some(f) = client {
        args.extend([
            "-cert".into(),
            f.cert.display().to_string(),
            "-key".into(),
            f.key.display().to_string(),
        ]);
    }
    let out = super::run(
        c.client()
            .command("openssl")
            .args(&args)
            .stdin(Stdio::null()),
        Duration::from_secs(10),
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Connection refused") || stderr.contains("connect:errno") {
        return Ok(Served::Refused);
    }
    // A verified handshake counts even if the connection then closed (a
    // Sentinel shutting down to restart).
    if !stdout.contains("Verify return code: 0 (ok)")
        || !stdout.contains("-----END CERTIFICATE-----")
    {
        return Ok(Served::Failed(format!(
            "{} {}",
            stderr.lines().take(3).collect::<Vec<_>>().join(" | "),
            stdout
                .lines()
                .find(|l| l.contains("Verify return code"))
                .unwrap_or("")
        )));
    }
    let begin = stdout
        .find("-----BEGIN CERTIFICATE-----")
        .context("no certificate")?;
    let end = stdout
        .find("-----END CERTIFICATE-----")
        .context("no certificate end")?
        + 25;
    Ok(Served::Serial(serial_of(&stdout[begin..end])?))
}

/// The serial of a PEM certificate (the first one of `pem`), as
/// `openssl x509 -serial` prints it.
pub fn serial_of(pem: &str) -> Result<String> {
    let mut x = Command::new("openssl");
    x.args(["x509", "-noout", "-serial"]);
    let o = super::run_with_input(&mut x, Some(pem.as_bytes()), Duration::from_secs(10))?;
    Ok(String::from_utf8_lossy(&o.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_string())
}

/// The kubelet's part of a Secret change: each of `pods` gets the new
/// files of `render` through an atomic `..data` switch
/// ([`Cluster::sync_volumes`]); no pod restarts.
pub fn kubelet_sync(c: &mut Cluster, render: &Render, pods: &[String]) -> Result<()> {
    for p in pods {
        let w = c.pod(p).workload.with_data_from(render)?;
        c.sync_volumes(p, w)?;
    }
    Ok(())
}
