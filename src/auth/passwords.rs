//! Passwords: derived from the seed, kept from an earlier auth Secret or
//! random, and the auth Secret that holds them. Consumers and the metrics
//! exporter derive theirs the same way.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use serde_norway::Value;

use super::users;
use crate::certs::seed::Seed;
use crate::object::secret::{data, secret_data};
use crate::ownership::{self, meta};
use crate::spec::model::AuthMode;
use crate::spec::{Auth, Instance};

/// The auth Secret the pods mount: `auth.existingSecret`, else the
/// generated `<name>-auth`.
pub fn auth_secret_name(inst: &Instance) -> String {
    inst.auth
        .as_ref()
        .and_then(|a| a.existing_secret.clone())
        .unwrap_or_else(|| format!("{}-auth", inst.name))
}

/// Passwords of an instance, by auth Secret key (see [`users`]).
pub type Passwords = BTreeMap<&'static str, String>;

/// Passwords: seed-derived when a seed is given, else kept from an earlier
/// Secret (key by key), else random. The flag says whether any password
/// was newly generated at random.
pub fn passwords(
    inst: &Instance,
    auth: &Auth,
    seed: Option<&Seed>,
    previous: &[Value],
) -> anyhow::Result<(Passwords, bool)> {
    let keys = users::secret_keys(auth);
    if let Some(seed) = seed.filter(|s| s.is_user_supplied()) {
        return Ok((
            keys.into_iter()
                .map(|k| (k, derive(inst, seed, k)))
                .collect(),
            false,
        ));
    }
    let earlier = ownership::find_owned(previous, inst, "Secret", &auth_secret_name(inst));
    let seed = &*Seed::or_random(seed)?;
    let mut fresh = false;
    let mut out = Passwords::new();
    for k in keys {
        let kept = earlier
            .and_then(|s| secret_data(s, k))
            .filter(|p| is_password(p));
        let p = kept.unwrap_or_else(|| {
            fresh = true;
            derive(inst, seed, k)
        });
        out.insert(k, p);
    }
    Ok((out, fresh))
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PASSWORD_LEN: usize = 32;

pub(crate) fn is_password(p: &str) -> bool {
    p.len() >= 16 && p.bytes().all(|b| ALPHABET.contains(&b))
}

/// A 32-character alphanumeric password for `purpose`; 64 bytes per round
/// with rejection sampling keep it unbiased.
pub(crate) fn derive(inst: &Instance, seed: &Seed, purpose: &str) -> String {
    let mut out = String::with_capacity(PASSWORD_LEN);
    let mut round = 0u32;
    let limit = 256 - 256 % ALPHABET.len();
    while out.len() < PASSWORD_LEN {
        let mut buf = [0u8; 64];
        seed.fill(
            &format!(
                "{}/{}/password/{purpose}/{round}",
                inst.namespace, inst.name
            ),
            &mut buf,
        );
        for b in buf {
            if (b as usize) < limit && out.len() < PASSWORD_LEN {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
        round += 1;
    }
    out
}

/// The Secret holding the passwords (and, in ACL mode, the application
/// user's name under `app-username`, for clients that read both).
pub fn auth_secret(inst: &Instance, auth: &Auth, p: &Passwords) -> Secret {
    let mut entries: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if auth.mode == AuthMode::Acl {
        entries.push((APP_USERNAME_KEY, &auth.app_user));
    }
    Secret {
        metadata: meta(inst, auth_secret_name(inst), None),
        type_: Some("Opaque".into()),
        data: Some(data(&entries)),
        ..Default::default()
    }
}

/// Key of the application user's name in the auth Secret.
pub const APP_USERNAME_KEY: &str = "app-username";
