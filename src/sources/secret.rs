//! `tls.source: secret`: the user creates the certificate Secrets and names
//! them in `tls.secrets` (defaults `<name>-redis-tls`, `<name>-sentinel-tls`,
//! `<name>-client-tls`). Keys, as in `kubernetes.io/tls` Secrets:
//!
//! | key | content |
//! |---|---|
//! | `tls.crt` | the certificate (PEM; intermediates may follow it) |
//! | `tls.key` | its private key (PEM: PKCS#8, PKCS#1 or SEC1) |
//! | `ca.crt` | the CA certificate(s) the pods trust for peers and clients |
//!
//! The function emits none of them and hashes none of them. `check`
//! verifies each one that is among its input items ([`verify`]): SANs
//! cover every dialed name (in `check` itself), extended key usages,
//! signature by a CA in `ca.crt`, validity.

use serde_norway::Value;
use x509_parser::prelude::*;

use crate::certs::reuse;
use crate::object::secret::secret_data;

/// Certificates closer than this to expiry are reported as a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
const DAY: i64 = 86_400;

/// A problem with a certificate Secret: `(is_error, field, message)`.
pub type Finding = (bool, &'static str, String);

/// Checks a certificate Secret a pod mounts. `client_auth`: the servers
/// request client certificates (`tls-auth-clients yes|optional`), so the
/// certificate needs the clientAuth usage too.
pub fn verify(secret: &Value, client_auth: bool, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(pem) = secret_data(secret, "tls.crt") else {
        out.push((true, "data.tls.crt", "has no tls.crt".to_string()));
        return out;
    };
    match secret_data(secret, "tls.key") {
        Some(k) if k.contains("PRIVATE KEY-----") => {}
        _ => out.push((
            true,
            "data.tls.key",
            "has no PEM private key under tls.key".to_string(),
        )),
    }
    let Some(der) = pem_blocks(&pem).into_iter().next() else {
        out.push((
            true,
            "data.tls.crt",
            "tls.crt holds no PEM certificate".into(),
        ));
        return out;
    };
    let Ok((_, cert)) = X509Certificate::from_der(&der) else {
        out.push((true, "data.tls.crt", "tls.crt does not parse".into()));
        return out;
    };
    let v = cert.validity();
    let left = v.not_after.timestamp() - now;
    if left <= 0 {
        out.push((
            true,
            "data.tls.crt",
            format!("the certificate expired at {}", v.not_after),
        ));
    } else if left <= EXPIRY_WARNING_DAYS * DAY {
        out.push((
            false,
            "data.tls.crt",
            format!(
                "the certificate expires in {} days ({})",
                left / DAY,
                v.not_after
            ),
        ));
    }
    if v.not_before.timestamp() > now {
        out.push((
            true,
            "data.tls.crt",
            format!("the certificate is not valid before {}", v.not_before),
        ));
    }
    // No extendedKeyUsage extension: any usage (RFC 5280).
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        if !e.any && !e.server_auth {
            out.push((true, "data.tls.crt", "the certificate lacks the serverAuth extended key usage: clients and peers reject it".into()));
        }
        if client_auth && !e.any && !e.client_auth {
            out.push((true, "data.tls.crt", "the certificate lacks the clientAuth extended key usage, but the servers request client certificates (tls.clientAuth yes/optional) and replicas and Sentinels present this one when they dial: add clientAuth or set tls.clientAuth: no".into()));
        }
    }
    match secret_data(secret, "ca.crt") {
        None => out.push((
            true,
            "data.ca.crt",
            "has no ca.crt: the pods verify peers and clients against it".into(),
        )),
        Some(ca) => {
            if let Err(e) = signed_by_one_of(&cert, &ca) {
                out.push((true, "data.ca.crt", e));
            }
        }
    }
    out
}

/// DER of every certificate in a PEM text.
fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    Pem::iter_from_buffer(pem.as_bytes())
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

/// The certificate is signed by one of the CAs in `ca_pem`.
fn signed_by_one_of(cert: &X509Certificate<'_>, ca_pem: &str) -> Result<(), String> {
    let cas = pem_blocks(ca_pem);
    if cas.is_empty() {
        return Err("ca.crt holds no PEM certificate".into());
    }
    let mut issuer_seen = false;
    for der in &cas {
        let Ok((_, ca)) = X509Certificate::from_der(der) else {
            continue;
        };
        if ca.subject() != cert.issuer() {
            continue;
        }
        issuer_seen = true;
        if reuse::signed_by(cert, &ca) {
            return Ok(());
        }
    }
    if issuer_seen {
        Err(format!(
            "tls.crt names {} as issuer, which is in ca.crt, but its signature does not verify with that CA's key (or uses a signature algorithm other than ECDSA-SHA256/384, Ed25519 or RSA-SHA256)",
            cert.issuer()
        ))
    } else {
        Err(format!(
            "tls.crt is issued by {}, which is not in ca.crt: peers would reject it",
            cert.issuer()
        ))
    }
}
