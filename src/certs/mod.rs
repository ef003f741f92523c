//! Certificates: a CA and the Redis, Sentinel and client certificates.
//!
//! Where they come from, in order of preference:
//! 1. a user-supplied seed ([`seed`]): derived, byte-identical every render;
//! 2. this function's own Secrets among the input items, when they still
//!    fit the spec and are not close to expiry ([`reuse`]): kept unchanged,
//!    or moved to the next CA ([`renew`]);
//! 3. fresh randomness, with a warning that output will change.
//!
//! `ca.crt` is a trust bundle (previous, current and next CA), so that
//! rotations and renewals never break trust between pods ([`trust`]).

pub mod issue;
pub mod keys;
pub mod renew;
pub mod reuse;
pub mod seed;
pub mod trust;

use serde_norway::Value;

use crate::spec::{Component, Instance, Tls};
use seed::Seed;

/// The certificates an instance uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Redis,
    Sentinel,
    Client,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Redis, Role::Sentinel, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Redis => "redis",
            Role::Sentinel => "sentinel",
            Role::Client => "client",
        }
    }

    /// The workload that mounts this certificate (none for the client one).
    pub fn component(self) -> Option<Component> {
        match self {
            Role::Redis => Some(Component::Redis),
            Role::Sentinel => Some(Component::Sentinel),
            Role::Client => None,
        }
    }

    pub fn common_name(self, inst: &Instance) -> String {
        format!("{}-{}", inst.name, self.as_str())
    }

    /// Name of the `kubernetes.io/tls` Secret holding this certificate.
    pub fn secret_name(self, inst: &Instance) -> String {
        format!("{}-{}-tls", inst.name, self.as_str())
    }
}

/// Name of the Secret holding the CA key (only with `tls.keepCaKey`).
pub fn ca_key_secret_name(inst: &Instance) -> String {
    format!("{}-ca-key", inst.name)
}

/// Name of the ConfigMap publishing the CA certificate for clients.
pub fn ca_configmap_name(inst: &Instance) -> String {
    format!("{}-ca", inst.name)
}

/// A leaf certificate and its private key, PEM encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafPem {
    pub cert: String,
    pub key: String,
}

/// The CAs and every leaf, PEM encoded.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The CA that signed the leaves (the current CA).
    pub ca_pem: String,
    /// The CA key, when it is known (freshly issued or kept with keepCaKey).
    pub ca_key_pem: Option<String>,
    /// The CA before the current one, trusted while leaves it signed may
    /// still be in use.
    pub previous_ca_pem: Option<String>,
    /// The CA the next rotation or CA renewal moves the leaves to, trusted
    /// before it signs anything.
    pub next_ca: Option<trust::CaPem>,
    pub leaves: Vec<(Role, LeafPem)>,
}

impl Bundle {
    /// What `ca.crt` holds: the previous, current and next CA, oldest first.
    pub fn trust_pem(&self) -> String {
        trust::join(
            self.previous_ca_pem
                .iter()
                .chain([&self.ca_pem])
                .chain(self.next_ca.as_ref().map(|n| &n.cert))
                .map(String::as_str),
        )
    }

    pub fn leaf(&self, role: Role) -> &LeafPem {
        &self
            .leaves
            .iter()
            .find(|(r, _)| *r == role)
            .expect("a bundle always holds every role")
            .1
    }
}

/// How the certificates of this render were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Derived from the user's seed.
    Seeded,
    /// Kept from the function's Secrets among the input items, or moved
    /// to the next CA that those Secrets already published (a safe step).
    Kept,
    /// New leaves signed by the kept CA (its key from `tls.keepCaKey`):
    /// trust does not change; the string says why the leaves changed.
    Renewed(String),
    /// Newly generated at random; the string says why nothing was kept.
    Generated(String),
    /// Derived from the seed, but signed by a CA that the earlier render
    /// among the input items does not trust (its `ca.crt` lacks it): more
    /// than one step at once (`tls.rotation` + 2, a new seed, key
    /// algorithm or `tls.notBefore`).
    NoOverlap,
}

/// Seeded certificates need no earlier render, but when one is among the
/// input items (kpt) its `ca.crt` is what running pods trust: the new
/// signing CA must be in it, or the roll-out has no overlap.
fn seeded_origin(inst: &Instance, items: &[Value], bundle: &Bundle) -> Origin {
    let Ok(earlier) = reuse::earlier(inst, items) else {
        return Origin::Seeded;
    };
    if earlier.trusts(&bundle.ca_pem) {
        Origin::Seeded
    } else {
        Origin::NoOverlap
    }
}

/// Decides where the certificates come from and produces them.
pub fn obtain(
    inst: &Instance,
    tls: &Tls,
    seed: Option<&Seed>,
    items: &[Value],
    now: i64,
) -> anyhow::Result<(Bundle, Origin)> {
    if let Some(seed) = seed.filter(|s| s.is_user_supplied()) {
        let bundle = issue::issue_all(inst, tls, seed, now)?;
        let origin = seeded_origin(inst, items, &bundle);
        return Ok((bundle, origin));
    }
    let seed = &*Seed::or_random(seed)?;
    renew::from_earlier(inst, tls, seed, items, now)
}
