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
use super::trust::CaPem;
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
/// renewal periods (`validityDays - renewBeforeDays` for leaves,
/// `caValidityDays - validityDays` for the CA), so every render in the same
/// period gives the same bytes and certificates renew by themselves before
/// they expire. Without a seed they start now.
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
    let (leaf_period, ca_period) = periods(tls);
    let aligned = |period: i64| tls.not_before + since_anchor(tls, now) / period * period;
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

/// Renewal periods of the leaves and of the CA, in seconds (seeded mode).
/// The CA period is shorter than the CA's validity by at least a day, so
/// consecutive CA generations overlap: the CA of the previous period is
/// still valid when the next one takes over.
fn periods(tls: &Tls) -> (i64, i64) {
    let leaf_len = i64::from(tls.validity_days) * DAY;
    let ca_len = i64::from(tls.ca_validity_days) * DAY;
    let renew = i64::from(tls.renew_before_days) * DAY;
    let leaf_period = (leaf_len - renew).max(DAY);
    let ca_period = (ca_len - leaf_len)
        .max(leaf_period)
        .min(ca_len - DAY)
        .max(DAY);
    (leaf_period, ca_period)
}

fn since_anchor(tls: &Tls, now: i64) -> i64 {
    (now - tls.not_before).max(0)
}

/// The CA generation that signs the leaves of a seeded render:
/// `tls.rotation` plus the CA renewal periods since `tls.notBefore`. A
/// rotation and a CA renewal are the same step: both move the leaves to the
/// next generation, which the bundle has published since the step before.
pub fn ca_generation(tls: &Tls, now: i64) -> u64 {
    let (_, ca_period) = periods(tls);
    u64::from(tls.rotation) + (since_anchor(tls, now) / ca_period) as u64
}

fn key_context(inst: &Instance, tls: &Tls, purpose: &str, window_start: i64) -> String {
    context_at(inst, tls, u64::from(tls.rotation), purpose, window_start)
}

fn context_at(inst: &Instance, tls: &Tls, rotation: u64, purpose: &str, start: i64) -> String {
    format!(
        "{}/{}/rotation={}/window={}/{}/{}",
        inst.namespace,
        inst.name,
        rotation,
        start,
        purpose,
        tls.key_algorithm.name()
    )
}

/// Key context of CA generation `generation`. It does not depend on the
/// period, so a generation keeps its key from the render that publishes it
/// as the next CA to the one that drops it as the previous. (Generation `g`
/// uses the context that releases before trust bundles used for the CA of
/// rotation `g` in the first CA period: the CA of such a release is kept.)
fn ca_key_context(inst: &Instance, tls: &Tls, generation: u64) -> String {
    context_at(inst, tls, generation, "ca", tls.not_before)
}

/// Serial context of generation `generation` issued for the CA window
/// starting at `start` (a generation is re-issued, same key, each period).
fn ca_serial_context(inst: &Instance, tls: &Tls, generation: u64, start: i64) -> String {
    context_at(inst, tls, generation, "ca", start)
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

/// Issues the CA generations and every leaf from `seed`.
///
/// With a user seed: the previous, current and next generation (see
/// [`ca_generation`]), every CA certificate with the window of the current
/// CA period, so all of them are valid now. With a random seed (no earlier
/// certificates to keep): one CA, plus a next CA when its key is kept
/// (`keepCaKey`); without its key a next CA could never sign.
pub fn issue_all(inst: &Instance, tls: &Tls, seed: &Seed, now: i64) -> anyhow::Result<Bundle> {
    let seeded = seed.is_user_supplied();
    let (ca_w, leaf_w) = windows(tls, now, seeded);
    let current = if seeded {
        ca_generation(tls, now)
    } else {
        u64::from(tls.rotation)
    };
    let previous = (seeded && current > 0).then(|| current - 1);
    let next = (seeded || tls.keep_ca_key).then_some(current + 1);
    let gens: Vec<u64> = previous.into_iter().chain([current]).chain(next).collect();
    let mut contexts: Vec<String> = gens.iter().map(|&g| ca_key_context(inst, tls, g)).collect();
    contexts.extend(leaf_contexts(inst, tls, leaf_w));
    let mut keys = generate_keys(tls.key_algorithm, seed, &contexts).into_iter();
    let mut cas = Vec::new();
    let mut issuer = None;
    for g in gens {
        let key = keys.next().context("no CA key")??;
        let serial_ctx = ca_serial_context(inst, tls, g, ca_w.not_before);
        let params = ca_params(inst, ca_w, &key, serial(seed, &serial_ctx))?;
        let cert = params
            .self_signed(&key)
            .context("self-signing the CA certificate")?
            .pem();
        cas.push(CaPem {
            cert,
            key: Some(key.to_pkcs8_pem()?),
        });
        if g == current {
            issuer = Some(Issuer::new(params, key));
        }
    }
    let issuer = issuer.context("no current CA")?;
    let leaves = issue_leaves(inst, tls, seed, leaf_w, issuer, keys)?;
    let mut cas = cas.into_iter();
    let previous_ca = previous.and_then(|_| cas.next()).map(|c| c.cert);
    let ca = cas.next().context("no current CA")?;
    Ok(Bundle {
        ca_pem: ca.cert,
        ca_key_pem: ca.key,
        previous_ca_pem: previous_ca,
        next_ca: cas.next(),
        leaves,
    })
}

/// A new CA with a random key from `seed` (kept mode: a new next CA, or a
/// new current CA when no trusted one can sign).
pub fn issue_ca(inst: &Instance, tls: &Tls, seed: &Seed, now: i64) -> anyhow::Result<CaPem> {
    let ctx = context_at(inst, tls, u64::from(tls.rotation), "ca/kept", now);
    let key = KeyPair::generate(tls.key_algorithm, &mut seed.rng(&ctx))?;
    reissue_ca(inst, tls, seed, now, &key.to_pkcs8_pem()?)
}

/// A CA certificate for an existing CA key, valid from now for
/// `caValidityDays`: the same subject and key identifier, so leaves it
/// signed verify against either version. Kept mode re-issues the next CA
/// this way when it takes over, however long it waited as the next CA.
pub fn reissue_ca(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    now: i64,
    key_pem: &str,
) -> anyhow::Result<CaPem> {
    let (ca_w, _) = windows(tls, now, false);
    let key = KeyPair::from_pkcs8_pem(key_pem)?;
    let ctx = context_at(inst, tls, u64::from(tls.rotation), "ca/reissued", now);
    let params = ca_params(inst, ca_w, &key, serial(seed, &ctx))?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the CA certificate")?
        .pem();
    Ok(CaPem {
        cert,
        key: Some(key_pem.to_string()),
    })
}

/// Issues new leaves signed by a CA kept from an earlier render (its key
/// kept with `tls.keepCaKey`): peers and clients that trust the CA keep
/// trusting the servers. The CA's subject and key identifier are derived
/// from the instance and its key exactly as when it was issued. The leaves
/// end no later than the CA.
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
        previous_ca_pem: None,
        next_ca: None,
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
