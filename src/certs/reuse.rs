//! Keeping certificates from an earlier render (kpt writes the function's
//! output back into the package; the next render finds its own Secrets among
//! the items and keeps them while they still fit the spec).

use std::collections::BTreeSet;

use base64::Engine;
use serde_norway::Value;
use x509_parser::prelude::*;

use super::{Bundle, LeafPem, Role, issue, keys};
use crate::ownership;
use crate::spec::{Instance, KeyAlgorithm, Tls};

const DAY: i64 = 86_400;

/// Returns the kept bundle, or why the certificates cannot be kept.
pub fn kept(inst: &Instance, tls: &Tls, items: &[Value], now: i64) -> Result<Bundle, String> {
    let mut ca_pem: Option<String> = None;
    let mut leaves = Vec::new();
    for role in Role::ALL {
        let name = role.secret_name(inst);
        let secret = ownership::find_owned(items, inst, "Secret", &name)
            .ok_or_else(|| format!("no earlier Secret {name} among the input items"))?;
        let rotation = ownership::annotation(secret, ownership::ROTATION_ANNOTATION).unwrap_or("0");
        if rotation != tls.rotation.to_string() {
            return Err(format!(
                "tls.rotation changed ({rotation} -> {})",
                tls.rotation
            ));
        }
        let cert = secret_data(secret, "tls.crt")
            .ok_or_else(|| format!("Secret {name} has no tls.crt"))?;
        let key = secret_data(secret, "tls.key")
            .ok_or_else(|| format!("Secret {name} has no tls.key"))?;
        let ca =
            secret_data(secret, "ca.crt").ok_or_else(|| format!("Secret {name} has no ca.crt"))?;
        match &ca_pem {
            None => ca_pem = Some(ca),
            Some(prev) if *prev == ca => {}
            Some(_) => {
                return Err(format!(
                    "Secret {name} holds another CA than the other certificate Secrets"
                ));
            }
        }
        leaves.push((role, LeafPem { cert, key }));
    }
    let ca_pem = ca_pem.ok_or("no CA certificate")?;
    let ca_der = pem_der(&ca_pem).ok_or("ca.crt is not a PEM certificate")?;
    let (_, ca) =
        X509Certificate::from_der(&ca_der).map_err(|e| format!("ca.crt does not parse: {e}"))?;
    check_key_algorithm(&ca, tls.key_algorithm).map_err(|e| format!("CA: {e}"))?;
    if ca.validity().not_after.timestamp() - now <= i64::from(tls.renew_before_days) * DAY {
        return Err("the CA certificate expires soon".into());
    }
    if !ca.is_ca() {
        return Err("ca.crt is not a CA certificate".into());
    }
    for (role, leaf) in &leaves {
        check_leaf(inst, tls, &ca, *role, leaf, now)
            .map_err(|e| format!("{} certificate: {e}", role.as_str()))?;
    }
    let ca_key_pem = if tls.keep_ca_key {
        let name = super::ca_key_secret_name(inst);
        let secret = ownership::find_owned(items, inst, "Secret", &name)
            .ok_or_else(|| format!("keepCaKey is set but there is no earlier Secret {name}"))?;
        let key = secret_data(secret, "tls.key")
            .ok_or_else(|| format!("Secret {name} has no tls.key"))?;
        let kp = keys::KeyPair::from_pkcs8_pem(&key).map_err(|e| format!("Secret {name}: {e}"))?;
        if kp.public_key_bits() != ca.public_key().subject_public_key.data.as_ref() {
            return Err(format!(
                "Secret {name} holds a key that does not match the CA certificate"
            ));
        }
        Some(key)
    } else {
        None
    };
    Ok(Bundle {
        ca_pem,
        ca_key_pem,
        leaves,
    })
}

/// The CA certificate and key kept from an earlier render (`keepCaKey`),
/// with the CA's expiry, if they are still fit to sign new leaves.
pub fn kept_ca(
    inst: &Instance,
    tls: &Tls,
    items: &[Value],
    now: i64,
) -> Option<(String, String, i64)> {
    let secret = ownership::find_owned(items, inst, "Secret", &super::ca_key_secret_name(inst))?;
    let rotation = ownership::annotation(secret, ownership::ROTATION_ANNOTATION).unwrap_or("0");
    if rotation != tls.rotation.to_string() {
        return None;
    }
    let ca_pem = secret_data(secret, "tls.crt")?;
    let key = secret_data(secret, "tls.key")?;
    let der = pem_der(&ca_pem)?;
    let (_, ca) = X509Certificate::from_der(&der).ok()?;
    let cn_ok = ca
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        == Some(issue::ca_common_name(inst).as_str());
    let not_after = ca.validity().not_after.timestamp();
    let kp = keys::KeyPair::from_pkcs8_pem(&key).ok()?;
    let fits = cn_ok
        && ca.is_ca()
        && check_key_algorithm(&ca, tls.key_algorithm).is_ok()
        && kp.public_key_bits() == ca.public_key().subject_public_key.data.as_ref()
        && not_after - now > i64::from(tls.validity_days) * DAY;
    fits.then_some((ca_pem, key, not_after))
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
    // Signed by the CA?
    let ca_spki = ca.public_key();
    let curve = ca_spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    if !keys::verify(
        &ca_spki.algorithm.algorithm.to_id_string(),
        curve.as_deref(),
        &ca_spki.subject_public_key.data,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    ) {
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
    let _ = tls;
    Ok(())
}

fn check_key_algorithm(cert: &X509Certificate<'_>, alg: KeyAlgorithm) -> Result<(), String> {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
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

/// Decoded `data` (base64) or `stringData` entry of a Secret item.
pub fn secret_data(secret: &Value, key: &str) -> Option<String> {
    if let Some(s) = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    secret
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}
