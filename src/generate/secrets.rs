//! Secrets: certificates (`kubernetes.io/tls` + `ca.crt`) and passwords.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_norway::Value;

use super::meta;
use crate::certs::reuse::{NEXT_CA_CERT, NEXT_CA_KEY, secret_data};
use crate::certs::{self, Bundle, Role, seed::Seed};
use crate::config::users;
use crate::ownership;
use crate::spec::Auth;
use crate::spec::model::AuthMode;
use crate::spec::{Instance, Tls};

fn data(entries: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect()
}

/// The certificate Secrets: one per role, plus the CA key if kept.
pub fn tls_secrets(inst: &Instance, tls: &Tls, b: &Bundle) -> Vec<Secret> {
    let mut out = Vec::new();
    let with_rotation = |mut m: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        m.annotations.get_or_insert_with(Default::default).insert(
            ownership::ROTATION_ANNOTATION.into(),
            tls.rotation.to_string(),
        );
        m
    };
    let trust = b.trust_pem();
    if tls.keep_ca_key
        && let Some(entries) = ca_key_entries(b, &trust)
    {
        out.push(Secret {
            metadata: with_rotation(meta(inst, certs::ca_key_secret_name(inst), None)),
            type_: Some("kubernetes.io/tls".into()),
            data: Some(data(&entries)),
            ..Default::default()
        });
    }
    for role in Role::ALL {
        let leaf = b.leaf(role);
        out.push(Secret {
            metadata: with_rotation(meta(inst, role.secret_name(inst), role.component())),
            type_: Some("kubernetes.io/tls".into()),
            data: Some(data(&[
                ("tls.crt", &leaf.cert),
                ("tls.key", &leaf.key),
                ("ca.crt", &trust),
            ])),
            ..Default::default()
        });
    }
    out
}

/// Entries of Secret `<name>-ca-key`: `tls.crt`/`tls.key` the current CA
/// (or, when its key is not known, the next one), `next-ca.crt`/`next-ca.key`
/// the next CA, `ca.crt` the trust bundle. `None` when no CA key is known.
fn ca_key_entries<'a>(b: &'a Bundle, trust: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let next = b
        .next_ca
        .as_ref()
        .and_then(|n| Some((n.cert.as_str(), n.key.as_deref()?)));
    let (first, second) = match (b.ca_key_pem.as_deref(), next) {
        (Some(key), next) => ((b.ca_pem.as_str(), key), next),
        (None, Some(next)) => (next, None),
        (None, None) => return None,
    };
    let mut entries = vec![
        ("tls.crt", first.0),
        ("tls.key", first.1),
        ("ca.crt", trust),
    ];
    if let Some((cert, key)) = second {
        entries.push((NEXT_CA_CERT, cert));
        entries.push((NEXT_CA_KEY, key));
    }
    Some(entries)
}

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
