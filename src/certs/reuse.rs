//! Keeping certificates from an earlier render (kpt writes the function's
//! output back into the package; the next render finds its own Secrets among
//! the items and keeps them while they still fit the spec).

use std::collections::BTreeSet;

use serde_norway::Value;
use x509_parser::prelude::*;

use super::{LeafPem, Role, issue, keys, trust};
use crate::object::ItemExt;
use crate::object::marks::ROTATION_ANNOTATION;
use crate::object::secret::secret_data;
use crate::ownership;
use crate::spec::{Instance, KeyAlgorithm, Tls};

const DAY: i64 = 86_400;

/// What an earlier render left among the input items: the certificate
/// Secrets (every one with the same `ca.crt`), and the CA keys of Secret
/// `<name>-ca-key` when there is one.
#[derive(Debug, Clone)]
pub struct Earlier {
    /// `tls.rotation` the certificates were made for.
    pub rotation: String,
    pub leaves: Vec<(Role, LeafPem)>,
    /// The CA certificates of `ca.crt`, in file order.
    pub trust: Vec<String>,
    /// CA certificates with their keys, from `<name>-ca-key`.
    pub keys: Vec<(String, String)>,
}

/// Reads the earlier certificate Secrets, or says why there are none to use.
pub fn earlier(inst: &Instance, items: &[Value]) -> Result<Earlier, String> {
    let mut bundle: Option<String> = None;
    let mut rotation: Option<String> = None;
    let mut leaves = Vec::new();
    for role in Role::ALL {
        let name = role.secret_name(inst);
        let secret = ownership::find_owned(items, inst, "Secret", &name)
            .ok_or_else(|| format!("no earlier Secret {name} among the input items"))?;
        let r = secret.annotation(ROTATION_ANNOTATION).unwrap_or("0");
        if rotation.get_or_insert_with(|| r.to_string()) != r {
            return Err(format!(
                "Secret {name} is from another tls.rotation than the other certificate Secrets"
            ));
        }
        let cert = secret_data(secret, "tls.crt")
            .ok_or_else(|| format!("Secret {name} has no tls.crt"))?;
        let key = secret_data(secret, "tls.key")
            .ok_or_else(|| format!("Secret {name} has no tls.key"))?;
        let ca =
            secret_data(secret, "ca.crt").ok_or_else(|| format!("Secret {name} has no ca.crt"))?;
        if *bundle.get_or_insert_with(|| ca.clone()) != ca {
            return Err(format!(
                "Secret {name} holds another CA than the other certificate Secrets"
            ));
        }
        leaves.push((role, LeafPem { cert, key }));
    }
    let trust = trust::split(&bundle.unwrap_or_default());
    if trust.is_empty() {
        return Err("ca.crt holds no PEM certificate".into());
    }
    let mut keys = Vec::new();
    if let Some(secret) =
        ownership::find_owned(items, inst, "Secret", &super::ca_key_secret_name(inst))
    {
        for (crt, key) in [("tls.crt", "tls.key"), (NEXT_CA_CERT, NEXT_CA_KEY)] {
            if let (Some(c), Some(k)) = (secret_data(secret, crt), secret_data(secret, key)) {
                keys.push((c, k));
            }
        }
    }
    Ok(Earlier {
        rotation: rotation.unwrap_or_default(),
        leaves,
        trust,
        keys,
    })
}

/// Keys of the next CA in Secret `<name>-ca-key` (`tls.keepCaKey`).
pub const NEXT_CA_CERT: &str = "next-ca.crt";
pub const NEXT_CA_KEY: &str = "next-ca.key";

impl Earlier {
    /// Whether `ca` (PEM) is one of the CAs of the earlier `ca.crt`.
    pub fn trusts(&self, ca: &str) -> bool {
        let Some(der) = pem_der(ca) else { return false };
        self.trust.iter().any(|c| pem_der(c).as_ref() == Some(&der))
    }

    /// Index in [`Earlier::trust`] of the CA that signed every leaf.
    pub fn signer(&self) -> Result<usize, String> {
        let mut found = None;
        for (role, leaf) in &self.leaves {
            let der = pem_der(&leaf.cert)
                .ok_or_else(|| format!("{} certificate: not PEM", role.as_str()))?;
            let (_, cert) = X509Certificate::from_der(&der)
                .map_err(|e| format!("{} certificate does not parse: {e}", role.as_str()))?;
            let idx = self
                .trust
                .iter()
                .position(|ca| {
                    pem_der(ca).is_some_and(|d| {
                        X509Certificate::from_der(&d).is_ok_and(|(_, ca)| signed_by(&cert, &ca))
                    })
                })
                .ok_or_else(|| {
                    format!(
                        "{} certificate is not signed by a CA in ca.crt",
                        role.as_str()
                    )
                })?;
            if *found.get_or_insert(idx) != idx {
                return Err("the certificates are signed by different CAs".into());
            }
        }
        found.ok_or_else(|| "no certificates".into())
    }

    /// The key of CA certificate `ca` from `<name>-ca-key`, if it is there
    /// and matches.
    pub fn key_for(&self, ca: &str) -> Option<String> {
        let der = pem_der(ca)?;
        let (_, cert) = X509Certificate::from_der(&der).ok()?;
        self.keys
            .iter()
            .filter(|(c, _)| c.trim_end() == ca.trim_end())
            .find(|(_, k)| {
                keys::KeyPair::from_pkcs8_pem(k).is_ok_and(|kp| {
                    kp.public_key_bits() == cert.public_key().subject_public_key.data.as_ref()
                })
            })
            .map(|(_, k)| k.clone())
    }

    /// Whether every leaf still fits the spec under CA `ca` (PEM) at `now`:
    /// signed by it, key algorithm, names, usages, not within
    /// `renewBeforeDays` of expiry, the key matching the certificate.
    pub fn leaves_fit(&self, inst: &Instance, tls: &Tls, ca: &str, now: i64) -> Result<(), String> {
        let der = pem_der(ca).ok_or("ca.crt is not a PEM certificate")?;
        let (_, ca) =
            X509Certificate::from_der(&der).map_err(|e| format!("ca.crt does not parse: {e}"))?;
        for (role, leaf) in &self.leaves {
            check_leaf(inst, tls, &ca, *role, leaf, now)
                .map_err(|e| format!("{} certificate: {e}", role.as_str()))?;
        }
        Ok(())
    }
}

/// Whether `ca` (PEM) is fit to be this instance's CA at `now`: a CA
/// certificate with the instance's name and the spec's key algorithm, not
/// expired. Returns its expiry (Unix seconds).
pub fn ca_fit(inst: &Instance, tls: &Tls, ca: &str, now: i64) -> Result<i64, String> {
    let der = pem_der(ca).ok_or("ca.crt is not a PEM certificate")?;
    let (_, ca) =
        X509Certificate::from_der(&der).map_err(|e| format!("ca.crt does not parse: {e}"))?;
    check_key_algorithm(&ca, tls.key_algorithm).map_err(|e| format!("CA: {e}"))?;
    if !ca.is_ca() {
        return Err("ca.crt is not a CA certificate".into());
    }
    let cn = ca
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok());
    if cn != Some(issue::ca_common_name(inst).as_str()) {
        return Err("the CA is not this instance's".into());
    }
    let not_after = ca.validity().not_after.timestamp();
    if not_after <= now {
        return Err("the CA certificate has expired".into());
    }
    Ok(not_after)
}

/// The curve OID of an EC public key (`None` for other algorithms).
fn spki_curve(spki: &SubjectPublicKeyInfo<'_>) -> Option<String> {
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
}

/// `cert` carries a valid signature by `ca`'s key.
pub(crate) fn signed_by(cert: &X509Certificate<'_>, ca: &X509Certificate<'_>) -> bool {
    let ca_spki = ca.public_key();
    keys::verify(
        &ca_spki.algorithm.algorithm.to_id_string(),
        spki_curve(ca_spki).as_deref(),
        &ca_spki.subject_public_key.data,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    )
}

fn check_leaf(
    inst: &Instance,
    tls: &Tls,
    ca: &X509Certificate<'_>,
    role: Role,
    leaf: &LeafPem,
    now: i64,
) -> Result<(), String> {
    let der = pem_der(&leaf.cert).ok_or("tls.crt is not a PEM certificate")?;
    let (_, cert) =
        X509Certificate::from_der(&der).map_err(|e| format!("tls.crt does not parse: {e}"))?;
    check_key_algorithm(&cert, tls.key_algorithm)?;
    let v = cert.validity();
    if v.not_after.timestamp() - now <= i64::from(tls.renew_before_days) * DAY {
        return Err(format!("expires within {} days", tls.renew_before_days));
    }
    if v.not_before.timestamp() > now + 3600 {
        return Err("is not valid yet".into());
    }
    if v.not_after.timestamp() > ca.validity().not_after.timestamp() {
        return Err("outlives its CA".into());
    }
    if !signed_by(&cert, ca) {
        return Err("is not signed by the CA in ca.crt".into());
    }
    // The private key belongs to the certificate?
    let kp = keys::KeyPair::from_pkcs8_pem(&leaf.key).map_err(|e| format!("tls.key: {e}"))?;
    if kp.public_key_bits() != cert.public_key().subject_public_key.data.as_ref() {
        return Err("tls.key does not match tls.crt".into());
    }
    // SANs exactly as the spec wants them now.
    let want: BTreeSet<String> = issue::leaf_sans(inst, role)
        .iter()
        .map(san_string)
        .collect();
    let have: BTreeSet<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|g| match g {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => format!(
                            "IP:{}",
                            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default())
                        ),
                        16 => format!(
                            "IP:{}",
                            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default())
                        ),
                        _ => "IP:?".into(),
                    },
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default();
    if want != have {
        return Err("its DNS names no longer match the spec".into());
    }
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|e| (e.value.server_auth, e.value.client_auth));
    let want_eku = match role {
        Role::Redis | Role::Sentinel => (true, true),
        Role::Client => (false, true),
    };
    if eku != Some(want_eku) {
        return Err("its extended key usages do not fit".into());
    }
    Ok(())
}

fn check_key_algorithm(cert: &X509Certificate<'_>, alg: KeyAlgorithm) -> Result<(), String> {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let curve = spki_curve(spki);
    let found = match (oid.as_str(), curve.as_deref()) {
        (keys::OID_EC_PUBLIC_KEY, Some(keys::OID_P256)) => Some(KeyAlgorithm::EcdsaP256),
        (keys::OID_EC_PUBLIC_KEY, Some(keys::OID_P384)) => Some(KeyAlgorithm::EcdsaP384),
        (keys::OID_ED25519, _) => Some(KeyAlgorithm::Ed25519),
        (keys::OID_RSA, _) => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => match rsa.key_size() {
                2048 => Some(KeyAlgorithm::Rsa2048),
                3072 => Some(KeyAlgorithm::Rsa3072),
                4096 => Some(KeyAlgorithm::Rsa4096),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    if found != Some(alg) {
        return Err(format!("its key is not {} as the spec asks", alg.name()));
    }
    Ok(())
}

fn san_string(s: &rcgen::SanType) -> String {
    match s {
        rcgen::SanType::DnsName(d) => format!("DNS:{}", d.as_str()),
        rcgen::SanType::IpAddress(ip) => format!("IP:{ip}"),
        other => format!("{other:?}"),
    }
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    Some(p.contents)
}
