//! [`TestCa`]: the test playing the issuer. It makes what cert-manager, the
//! OpenShift service CA or a user would put in the certificate Secrets
//! (with `openssl`, independent of the function's own certificate code):
//! a CA and leaf certificates with the SANs and extended key usages asked
//! for, each with a fresh key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::run;

static SERIAL: AtomicU32 = AtomicU32::new(1);

/// A leaf certificate: PEM certificate and key, and its serial (hex, as
/// `openssl x509 -serial` prints it).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert: String,
    pub key: String,
    pub serial: String,
}

/// Key types the issuer can make.
#[derive(Debug, Clone, Copy)]
pub enum KeyType {
    EcP256,
    Rsa2048,
}

/// A CA on disk (in `dir`) that signs leaves.
pub struct TestCa {
    dir: PathBuf,
    key: PathBuf,
    cert: PathBuf,
    /// The CA certificate (PEM).
    pub pem: String,
}

fn openssl(args: &[&str], dir: &Path) -> Result<String> {
    let out = run(
        Command::new("openssl").args(args).current_dir(dir),
        Duration::from_secs(60),
    )?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn new_key(dir: &Path, file: &str, t: KeyType) -> Result<PathBuf> {
    let args: &[&str] = match t {
        KeyType::EcP256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        KeyType::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    };
    let mut a = vec!["genpkey"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-out", file]);
    openssl(&a, dir)?;
    Ok(dir.join(file))
}

impl TestCa {
    /// A self-signed CA named `cn`, valid for ten years.
    pub fn new(dir: &Path, cn: &str, key: KeyType) -> Result<TestCa> {
        fs::create_dir_all(dir)?;
        let k = new_key(dir, "ca.key", key)?;
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-subj",
                &format!("/CN={cn}"),
                "-days",
                "3650",
                "-sha256",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
                "-out",
                "ca.crt",
            ],
            dir,
        )?;
        let cert = dir.join("ca.crt");
        Ok(TestCa {
            dir: dir.to_path_buf(),
            key: k,
            pem: fs::read_to_string(&cert)?,
            cert,
        })
    }

    /// A leaf for `cn` with DNS and IP SANs and the extended key usages
    /// `ekus` (`serverAuth`, `clientAuth`), valid for `days`, with a new key.
    pub fn issue(
        &self,
        cn: &str,
        dns: &[String],
        ips: &[&str],
        ekus: &[&str],
        key: KeyType,
        days: u32,
    ) -> Result<Leaf> {
        let n = SERIAL.fetch_add(1, Ordering::SeqCst);
        let base = format!("leaf-{n}");
        new_key(&self.dir, &format!("{base}.key"), key)?;
        let mut san: Vec<String> = dns.iter().map(|d| format!("DNS:{d}")).collect();
        san.extend(ips.iter().map(|i| format!("IP:{i}")));
        let mut ext = String::from("basicConstraints=critical,CA:FALSE\n");
        ext.push_str(match key {
            KeyType::EcP256 => "keyUsage=critical,digitalSignature\n",
            KeyType::Rsa2048 => "keyUsage=critical,digitalSignature,keyEncipherment\n",
        });
        if !ekus.is_empty() {
            ext.push_str(&format!("extendedKeyUsage={}\n", ekus.join(",")));
        }
        if !san.is_empty() {
            ext.push_str(&format!("subjectAltName={}\n", san.join(",")));
        }
        fs::write(self.dir.join(format!("{base}.ext")), ext)?;
        openssl(
            &[
                "req",
                "-new",
                "-key",
                &format!("{base}.key"),
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &format!("{base}.csr"),
            ],
            &self.dir,
        )?;
        let ca_cert = self.cert.display().to_string();
        let ca_key = self.key.display().to_string();
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &format!("{base}.csr"),
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-set_serial",
                &format!("0x{:08x}{:08x}", std::process::id(), n),
                "-days",
                &days.to_string(),
                "-sha256",
                "-extfile",
                &format!("{base}.ext"),
                "-out",
                &format!("{base}.crt"),
            ],
            &self.dir,
        )?;
        let cert = fs::read_to_string(self.dir.join(format!("{base}.crt")))?;
        let serial = openssl(
            &["x509", "-noout", "-serial", "-in", &format!("{base}.crt")],
            &self.dir,
        )?
        .trim()
        .trim_start_matches("serial=")
        .to_string();
        let key = fs::read_to_string(self.dir.join(format!("{base}.key")))
            .context("reading the leaf key")?;
        Ok(Leaf { cert, key, serial })
    }
}
