//! Secrets: certificates (`kubernetes.io/tls` + `ca.crt`) and passwords.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_norway::Value;

use super::meta;
use crate::certs::{self, Bundle, Role, reuse::secret_data, seed::Seed};
use crate::config::{REDIS_PASSWORD_KEY, SENTINEL_PASSWORD_KEY};
use crate::ownership;
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
    if tls.keep_ca_key
        && let Some(key) = &b.ca_key_pem
    {
        out.push(Secret {
            metadata: with_rotation(meta(inst, certs::ca_key_secret_name(inst), None)),
            type_: Some("kubernetes.io/tls".into()),
            data: Some(data(&[
                ("tls.crt", &b.ca_pem),
                ("tls.key", key),
                ("ca.crt", &b.ca_pem),
            ])),
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
                ("ca.crt", &b.ca_pem),
            ])),
            ..Default::default()
        });
    }
    out
}

pub fn auth_secret_name(inst: &Instance) -> String {
    format!("{}-auth", inst.name)
}

/// Passwords of an instance.
#[derive(Debug, Clone)]
pub struct Passwords {
    pub redis: String,
    pub sentinel: String,
}

/// Passwords: kept from an earlier Secret, else seed-derived, else random.
/// The flag says whether they were newly generated at random.
pub fn passwords(
    inst: &Instance,
    seed: Option<&Seed>,
    previous: &[Value],
) -> anyhow::Result<(Passwords, bool)> {
    if let Some(seed) = seed.filter(|s| s.is_user_supplied()) {
        return Ok((derive(inst, seed), false));
    }
    if let Some(s) = ownership::find_owned(previous, inst, "Secret", &auth_secret_name(inst))
        && let (Some(redis), Some(sentinel)) = (
            secret_data(s, REDIS_PASSWORD_KEY),
            secret_data(s, SENTINEL_PASSWORD_KEY),
        )
        && is_password(&redis)
        && is_password(&sentinel)
    {
        return Ok((Passwords { redis, sentinel }, false));
    }
    let random;
    let seed = match seed {
        Some(s) => s,
        None => {
            random = Seed::random()?;
            &random
        }
    };
    Ok((derive(inst, seed), true))
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PASSWORD_LEN: usize = 32;

fn is_password(p: &str) -> bool {
    p.len() >= 16 && p.bytes().all(|b| ALPHABET.contains(&b))
}

fn derive(inst: &Instance, seed: &Seed) -> Passwords {
    let one = |purpose: &str| {
        // 64 bytes per 32 characters: rejection sampling keeps it unbiased.
        let mut out = String::with_capacity(PASSWORD_LEN);
        let mut round = 0u32;
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
                let limit = 256 - 256 % ALPHABET.len();
                if (b as usize) < limit && out.len() < PASSWORD_LEN {
                    out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
                }
            }
            round += 1;
        }
        out
    };
    Passwords {
        redis: one("redis"),
        sentinel: one("sentinel"),
    }
}

/// The Secret holding the passwords.
pub fn auth_secret(inst: &Instance, p: &Passwords) -> Secret {
    Secret {
        metadata: meta(inst, auth_secret_name(inst), None),
        type_: Some("Opaque".into()),
        data: Some(data(&[
            (REDIS_PASSWORD_KEY, &p.redis),
            (SENTINEL_PASSWORD_KEY, &p.sentinel),
        ])),
        ..Default::default()
    }
}
