//! `tls.source: generated` (the default): the function issues the CA and
//! every certificate itself, seeded or kept from earlier renders
//! ([`crate::certs`]), and emits them as Secrets plus the CA ConfigMap.

use serde_norway::Value;

use super::Produced;
use crate::certs::{self, Origin, seed::Seed};
use crate::generate::{configmaps, secrets};
use crate::krm::KrmResult;
use crate::ownership;
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
                "the CA that signs the new certificates for {} is not in the ca.crt of the earlier render among the input items (more than one step at once: tls.rotation changed by more than 1, or the seed, tls.keyAlgorithm or tls.notBefore changed): pods still on the earlier ca.crt reject the new certificates until they roll, so replication and Sentinel links break during the roll-out. To rotate without that, change tls.rotation by 1 and let both StatefulSets roll before the next step",
                ownership::instance_key(inst)
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
        secrets: secrets::tls_secrets(inst, tls, &bundle),
        objects: Vec::new(),
        ca_configmap: Some(configmaps::ca_configmap(inst, &bundle)),
        bundle: Some(bundle),
        results,
        random,
    })
}
