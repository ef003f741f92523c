//! `tls.source: generated` (the default): the function issues the CA and
//! every certificate itself, seeded or kept from earlier renders
//! ([`crate::certs`]), and emits them as Secrets plus the CA ConfigMap.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_norway::Value;

use super::Produced;
use crate::certs::reuse::{NEXT_CA_CERT, NEXT_CA_KEY};
use crate::certs::{self, Bundle, Origin, Role, seed::Seed};
use crate::krm::KrmResult;
use crate::object::marks::ROTATION_ANNOTATION;
use crate::object::secret::data;
use crate::ownership::{self, meta};
use crate::spec::{Instance, Tls};

pub fn produce(
    inst: &Instance,
    tls: &Tls,
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
) -> anyhow::Result<Produced> {
    let (bundle, origin) = certs::obtain(inst, tls, seed, previous, now)?;
    let mut results = Vec::new();
    let random = matches!(origin, Origin::Generated(_));
    match origin {
        Origin::Seeded | Origin::Kept => {}
        Origin::NoOverlap => results.push(
            KrmResult::warning(format!(
                "the CA that signs the new certificates for {} is not in the ca.crt of the earlier render among the input items (more than one step at once: tls.rotation changed by more than 1, or the seed, tls.keyAlgorithm or tls.notBefore changed): {}",
                ownership::instance_key(inst),
                no_overlap_consequence(inst)
            ))
            .with_field(format!("{}tls", inst.field_prefix)),
        ),
        Origin::Renewed(reason) => results.push(
            KrmResult::info(format!(
                "certificates for {} were renewed by the kept CA ({reason}); the CA and every ca.crt stay the same, so pods on the old and on the new certificates trust each other while they roll",
                ownership::instance_key(inst)
            ))
            .with_field(format!("{}tls", inst.field_prefix)),
        ),
        Origin::Generated(reason) => results.push(
            KrmResult::warning(format!(
                "certificates for {} were newly generated ({reason}); without a seed they change on every render. Set {} (or {}) to a secret seed of at least {} bytes, or keep the rendered Secrets so later renders keep them (kpt keeps them in the package; the CLI keeps them with `render --previous <earlier output>`)",
                ownership::instance_key(inst),
                certs::seed::SEED_FILE_ENV,
                certs::seed::SEED_ENV,
                certs::seed::MIN_SEED_BYTES
            ))
            .with_field(format!("{}tls", inst.field_prefix)),
        ),
    }
    Ok(Produced {
        secrets: tls_secrets(inst, tls, &bundle),
        objects: Vec::new(),
        ca_configmap: Some(ca_configmap(inst, &bundle)),
        bundle: Some(bundle),
        results,
        random,
    })
}

/// What a step without overlap does to running pods, and how to avoid it:
/// they roll with their certificates, or (a server that reloads them) take
/// the new files one by one as the kubelet updates them.
fn no_overlap_consequence(inst: &Instance) -> &'static str {
    if crate::pod_files::renewal::hash_leaves_out_certificates(inst) {
        "pods still on the earlier ca.crt reject the new certificates until they reload the new files (nothing rolls: the servers reload them as the kubelet updates each pod's Secret volume), so replication and Sentinel links break until every pod has. To rotate without that, change tls.rotation by 1 and wait until every pod serves the new certificates before the next step"
    } else {
        "pods still on the earlier ca.crt reject the new certificates until they roll, so replication and Sentinel links break during the roll-out. To rotate without that, change tls.rotation by 1 and let both StatefulSets roll before the next step"
    }
}

/// The certificate Secrets: one per role, plus the CA key if kept.
pub fn tls_secrets(inst: &Instance, tls: &Tls, b: &Bundle) -> Vec<Secret> {
    let mut out = Vec::new();
    let with_rotation = |mut m: ObjectMeta| {
        m.annotations
            .get_or_insert_with(Default::default)
            .insert(ROTATION_ANNOTATION.into(), tls.rotation.to_string());
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

/// The trusted CA certificates (public) for applications that verify the
/// servers: the previous, current and next CA (see [`certs::trust`]).
pub fn ca_configmap(inst: &Instance, b: &Bundle) -> ConfigMap {
    ConfigMap {
        metadata: meta(inst, certs::ca_configmap_name(inst), None),
        data: Some(BTreeMap::from([("ca.crt".to_string(), b.trust_pem())])),
        ..Default::default()
    }
}
