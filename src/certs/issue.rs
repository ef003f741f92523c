//! Building the CA and the leaf certificates with rcgen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::keys::KeyPair;
use super::seed::Seed;
use super::{Bundle, LeafPem, Role};
use crate::spec::{Instance, KeyAlgorithm, Tls};

const DAY: i64 = 86_400;

/// A validity window in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub not_before: i64,
    pub not_after: i64,
}

/// Validity of the CA and the leaves.
///
/// With a user seed the windows are a pure function of the spec and the
/// clock's renewal period: they start at `tls.notBefore` + a whole number of
/// renewal periods (`validityDays - renewBeforeDays`), so every render in
/// the same period gives the same bytes and certificates renew by themselves
/// before they expire. Without a seed they start now.
pub fn windows(tls: &Tls, now: i64, seeded: bool) -> (Window, Window) {
    let leaf_len = i64::from(tls.validity_days) * DAY;
    let ca_len = i64::from(tls.ca_validity_days) * DAY;
    if !seeded {
        let nb = now - 300;
        return (
            Window {
                not_before: nb,
                not_after: nb + ca_len,
            },
            Window {
                not_before: nb,
                not_after: nb + leaf_len,
            },
        );
    }
    let renew = i64::from(tls.renew_before_days) * DAY;
    let leaf_period = (leaf_len - renew).max(DAY);
    let ca_period = (ca_len - leaf_len).max(leaf_period);
    let aligned = |period: i64| {
        let since = (now - tls.not_before).max(0);
        tls.not_before + since / period * period
    };
    let ca_start = aligned(ca_period);
    let leaf_start = aligned(leaf_period).max(ca_start);
    (
        Window {
            not_before: ca_start,
            not_after: ca_start + ca_len,
        },
        Window {
            not_before: leaf_start,
            not_after: (leaf_start + leaf_len).min(ca_start + ca_len),
        },
    )
}

fn key_context(inst: &Instance, tls: &Tls, purpose: &str, window_start: i64) -> String {
    format!(
        "{}/{}/rotation={}/window={}/{}/{}",
        inst.namespace,
        inst.name,
        tls.rotation,
        window_start,
        purpose,
        tls.key_algorithm.name()
    )
}

fn serial(seed: &Seed, ctx: &str) -> SerialNumber {
    let mut s = [0u8; 16];
    seed.fill(&format!("serial/{ctx}"), &mut s);
    s[0] = (s[0] & 0x7f) | 0x40; // positive and 16 bytes long
    SerialNumber::from_slice(&s)
}

fn base_params(
    cn: &str,
    window: Window,
    key: &KeyPair,
    serial: SerialNumber,
) -> anyhow::Result<CertificateParams> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "redis-sentinel-fn");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.not_before =
        OffsetDateTime::from_unix_timestamp(window.not_before).context("certificate start time")?;
    p.not_after =
        OffsetDateTime::from_unix_timestamp(window.not_after).context("certificate end time")?;
    p.serial_number = Some(serial);
    p.key_identifier_method =
        KeyIdMethod::PreSpecified(Sha256::digest(key.public_key_bits())[..20].to_vec());
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

/// Subject alternative names of a leaf certificate.
pub fn leaf_sans(inst: &Instance, role: Role) -> Vec<SanType> {
    let mut sans = Vec::new();
    match role.component() {
        Some(c) => {
            for n in inst.dns_names(c) {
                if let Ok(d) = n.try_into() {
                    sans.push(SanType::DnsName(d));
                }
            }
            sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            sans.push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
        None => {
            if let Ok(d) = format!("{}-client", inst.name).try_into() {
                sans.push(SanType::DnsName(d));
            }
        }
    }
    sans
}

/// The CA's subject common name.
pub fn ca_common_name(inst: &Instance) -> String {
    format!("{}-ca.{}", inst.name, inst.namespace)
}

/// Parameters of the CA certificate (also what an [`Issuer`] needs).
fn ca_params(
    inst: &Instance,
    window: Window,
    key: &KeyPair,
    serial: SerialNumber,
) -> anyhow::Result<CertificateParams> {
    let mut p = base_params(&ca_common_name(inst), window, key, serial)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.use_authority_key_identifier_extension = false;
    Ok(p)
}

/// Issues a fresh CA and every leaf from `seed`.
pub fn issue_all(inst: &Instance, tls: &Tls, seed: &Seed, now: i64) -> anyhow::Result<Bundle> {
    let (ca_w, leaf_w) = windows(tls, now, seed.is_user_supplied());
    let ca_ctx = key_context(inst, tls, "ca", ca_w.not_before);
    let mut contexts = vec![ca_ctx.clone()];
    contexts.extend(leaf_contexts(inst, tls, leaf_w));
    let mut keys = generate_keys(tls.key_algorithm, seed, &contexts).into_iter();
    let ca_key = keys.next().context("no CA key")??;
    let params = ca_params(inst, ca_w, &ca_key, serial(seed, &ca_ctx))?;
    let ca_pem = params
        .self_signed(&ca_key)
        .context("self-signing the CA certificate")?
        .pem();
    let ca_key_pem = ca_key.to_pkcs8_pem()?;
    let leaves = issue_leaves(inst, tls, seed, leaf_w, Issuer::new(params, ca_key), keys)?;
    Ok(Bundle {
        ca_pem,
        ca_key_pem: Some(ca_key_pem),
        leaves,
    })
}

/// Issues new leaves signed by a CA kept from an earlier render
/// (`tls.keepCaKey`): clients that trust the CA keep trusting the servers.
/// The CA's subject and key identifier are derived from the instance and
/// its key exactly as when it was issued.
pub fn issue_with_kept_ca(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    now: i64,
    ca_pem: String,
    ca_key_pem: String,
    ca_not_after: i64,
) -> anyhow::Result<Bundle> {
    let ca_key = KeyPair::from_pkcs8_pem(&ca_key_pem)?;
    let (_, mut leaf_w) = windows(tls, now, false);
    leaf_w.not_after = leaf_w.not_after.min(ca_not_after);
    // The window only feeds the issuer's name and key id, not a certificate.
    let params = ca_params(inst, leaf_w, &ca_key, SerialNumber::from_slice(&[1]))?;
    let keys = generate_keys(tls.key_algorithm, seed, &leaf_contexts(inst, tls, leaf_w));
    let leaves = issue_leaves(inst, tls, seed, leaf_w, Issuer::new(params, ca_key), keys)?;
    Ok(Bundle {
        ca_pem,
        ca_key_pem: Some(ca_key_pem),
        leaves,
    })
}

/// Key contexts of the leaves of [`Role::ALL`], in that order.
fn leaf_contexts(inst: &Instance, tls: &Tls, window: Window) -> Vec<String> {
    Role::ALL
        .iter()
        .map(|role| key_context(inst, tls, role.as_str(), window.not_before))
        .collect()
}

/// The keys for `contexts`, in order, each from its own seeded stream.
/// RSA keys take tens of milliseconds to seconds each, so they are made on
/// all cores at once; the streams make them the same keys either way.
fn generate_keys(
    alg: KeyAlgorithm,
    seed: &Seed,
    contexts: &[String],
) -> Vec<anyhow::Result<KeyPair>> {
    let one = |ctx: &String| KeyPair::generate(alg, &mut seed.rng(ctx));
    if !matches!(
        alg,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
    ) {
        return contexts.iter().map(one).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = contexts
            .iter()
            .map(|ctx| s.spawn(move || one(ctx)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn issue_leaves(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    window: Window,
    issuer: Issuer<'_, KeyPair>,
    keys: impl IntoIterator<Item = anyhow::Result<KeyPair>>,
) -> anyhow::Result<Vec<(Role, LeafPem)>> {
    Role::ALL
        .iter()
        .zip(keys)
        .map(|(&role, key)| {
            let key = key.with_context(|| format!("generating the {} key", role.as_str()))?;
            let leaf = issue_leaf_with_key(inst, tls, seed, role, window, &issuer, key)?;
            Ok((role, leaf))
        })
        .collect()
}

/// Issues one leaf certificate signed by `issuer`.
pub fn issue_leaf(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    role: Role,
    window: Window,
    issuer: &Issuer<'_, KeyPair>,
) -> anyhow::Result<LeafPem> {
    let ctx = key_context(inst, tls, role.as_str(), window.not_before);
    let key = KeyPair::generate(tls.key_algorithm, &mut seed.rng(&ctx))
        .with_context(|| format!("generating the {} key", role.as_str()))?;
    issue_leaf_with_key(inst, tls, seed, role, window, issuer, key)
}

/// [`issue_leaf`] with its key already generated.
fn issue_leaf_with_key(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    role: Role,
    window: Window,
    issuer: &Issuer<'_, KeyPair>,
    key: KeyPair,
) -> anyhow::Result<LeafPem> {
    let ctx = key_context(inst, tls, role.as_str(), window.not_before);
    let mut p = base_params(&role.common_name(inst), window, &key, serial(seed, &ctx))?;
    p.subject_alt_names = leaf_sans(inst, role);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if matches!(
        tls.key_algorithm,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
    ) {
        p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    p.extended_key_usages = match role {
        // Servers are also clients: replicas dial the master, Sentinels
        // dial Redis and each other, all with client certificates.
        Role::Redis | Role::Sentinel => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        Role::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    let cert = p
        .signed_by(&key, issuer)
        .with_context(|| format!("signing the {} certificate", role.as_str()))?;
    Ok(LeafPem {
        cert: cert.pem(),
        key: key.to_pkcs8_pem()?,
    })
}
