//! From a validated [`Instance`] to the generated Kubernetes objects.
//!
//! One module per concern: [`configmaps`], [`services`], [`workloads`]
//! (StatefulSets, PDBs, ServiceAccount), [`network`]. The Secrets come from
//! the layers below: certificates from [`crate::sources`], passwords from
//! [`crate::auth`], consumer and metrics Secrets from [`crate::consumers`]
//! and [`crate::metrics`]; file contents from [`crate::pod_files`],
//! pod-template hashes from [`crate::hash`].

pub mod configmaps;
pub mod network;
pub mod services;
pub mod workloads;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Secret;
use serde_norway::Value;

use crate::auth::passwords;
use crate::certs::seed::Seed;
use crate::hash::PodInputs;
use crate::krm::KrmResult;
use crate::ownership;
use crate::sources;
use crate::spec::{Component, Instance};

/// The generated objects (in a fixed order) and what the render reports.
pub struct Rendered {
    pub items: Vec<Value>,
    pub results: Vec<KrmResult>,
    /// Fields (`spec.tls`, `spec.auth`, ...) whose certificates or
    /// passwords were newly made at random: without a seed or the kept
    /// Secrets, the next render makes others.
    pub unstable: Vec<String>,
}

/// Passwords of a render: the auth Secret's (unless they come from
/// `auth.existingSecret`), the consumers' and the metrics exporter's.
struct Credentials {
    passwords: Option<passwords::Passwords>,
    consumers: BTreeMap<String, String>,
    exporter: Option<String>,
}

/// The warning for passwords that were newly generated; records `field`
/// (under the spec's prefix) as unstable.
fn fresh_warning(
    inst: &Instance,
    what: String,
    field: &str,
    unstable: &mut Vec<String>,
) -> KrmResult {
    let field = format!("{}{field}", inst.field_prefix);
    unstable.push(field.clone());
    KrmResult::warning(what).with_field(field)
}

/// How the CLI and kpt keep generated passwords.
const KEEP_HINT: &str =
    "(kpt keeps them in the package; the CLI keeps them with `render --previous <earlier output>`)";

/// Every password of a render, kept or seed-derived; a warning for each
/// kind that had to be newly generated.
fn credentials(
    inst: &Instance,
    seed: Option<&Seed>,
    previous: &[Value],
    results: &mut Vec<KrmResult>,
    unstable: &mut Vec<String>,
) -> anyhow::Result<Credentials> {
    let key = ownership::instance_key(inst);
    let mut passwords = None;
    if let Some(auth) = inst.auth.as_ref().filter(|a| a.existing_secret.is_none()) {
        let (p, fresh) = passwords::passwords(inst, auth, seed, previous)?;
        if fresh {
            results.push(fresh_warning(inst, format!(
                "passwords for {key} were newly generated; set a seed or keep the rendered Secret {} to keep them stable {KEEP_HINT}",
                passwords::auth_secret_name(inst)
            ), "auth", unstable));
        }
        passwords = Some(p);
    }
    let (consumers, fresh) = crate::consumers::passwords(inst, seed, previous)?;
    if fresh {
        results.push(fresh_warning(inst, format!(
            "passwords of the consumers of {key} were newly generated; set a seed or keep the rendered consumer Secrets to keep them stable {KEEP_HINT}"
        ), "consumers", unstable));
    }
    let mut exporter = None;
    if crate::metrics::has_exporter_user(inst) {
        let (p, fresh) = crate::metrics::exporter_password(inst, seed, previous)?;
        if fresh {
            results.push(fresh_warning(inst, format!(
                "the metrics exporter's password for {key} was newly generated; set a seed or keep the rendered Secret {} to keep it stable {KEEP_HINT}",
                crate::metrics::secret_name(inst)
            ), "metrics", unstable));
        }
        exporter = Some(p);
    }
    Ok(Credentials {
        passwords,
        consumers,
        exporter,
    })
}

/// The Secrets of the instance's own namespace: certificates (from the
/// source), passwords, the metrics and consumer-user Secrets.
fn instance_secrets(
    inst: &Instance,
    certificates: Vec<Secret>,
    creds: &Credentials,
) -> Vec<Secret> {
    let mut out = certificates;
    if let (Some(p), Some(auth)) = (&creds.passwords, &inst.auth) {
        out.push(passwords::auth_secret(inst, auth, p));
        out.extend(crate::metrics::metrics_secret(
            inst,
            p,
            creds.exporter.as_deref(),
        ));
    }
    out.extend(crate::consumers::users_secret(inst, &creds.consumers));
    out
}

/// The consumers' connection Secrets, built from what the instance's own
/// Secrets hold (and told where the rest is).
fn consumer_secrets(
    inst: &Instance,
    own: &[Secret],
    creds: &Credentials,
    results: &mut Vec<KrmResult>,
) -> Vec<Secret> {
    let mut materials = crate::consumers::Materials::from_secrets(
        inst,
        own,
        inst.tls
            .as_ref()
            .and_then(|tls| sources::secret_name(inst, tls, crate::certs::Role::Client))
            .as_deref(),
        inst.auth
            .as_ref()
            .map(|_| passwords::auth_secret_name(inst))
            .as_deref(),
        &creds.consumers,
    );
    if let Some((cm, key)) = inst
        .tls
        .as_ref()
        .and_then(|tls| sources::ca_from_configmap(inst, tls))
    {
        // The service CA's bundle: only in the cluster, in this ConfigMap.
        materials.ca = crate::consumers::Material::Elsewhere(format!("ConfigMap {cm} key {key}"));
    }
    let consumer = crate::consumers::render(inst, &materials);
    results.extend(consumer.results);
    consumer.secrets
}

/// The StatefulSet of `c`, its pod template hashed over everything its
/// pods read: `files` (its ConfigMap) and the mounted keys of `own`
/// Secrets, but the certificate Secret when the server reloads it
/// ([`crate::pod_files::renewal::hash_leaves_out_certificates`]: a new
/// certificate then reaches the pods without a roll). Mounted Secrets the
/// render does not emit are listed in an annotation (the hash cannot see
/// them).
fn statefulset(
    inst: &Instance,
    c: Component,
    files: &BTreeMap<String, String>,
    own: &[Secret],
) -> StatefulSet {
    let mut inputs = PodInputs::default();
    let cm = inst.workload_name(c);
    for (k, v) in files {
        inputs.add(format!("ConfigMap/{cm}/{k}"), v);
    }
    let mut mounted = workloads::mounted_secrets(inst, c);
    mounted.extend(crate::metrics::mounted_secrets(inst, c));
    let external: Vec<&str> = mounted
        .iter()
        .map(|m| m.secret.as_str())
        .filter(|n| !own.iter().any(|s| s.metadata.name.as_deref() == Some(*n)))
        .collect();
    let reloaded = crate::pod_files::renewal::hash_leaves_out_certificates(inst);
    for s in own {
        let name = s.metadata.name.clone().unwrap_or_default();
        let Some(m) = mounted
            .iter()
            .find(|m| m.secret == name && !(reloaded && m.volume == "tls"))
        else {
            continue;
        };
        for (k, v) in s.data.iter().flatten() {
            if m.keys
                .as_ref()
                .is_none_or(|keys| keys.contains(&k.as_str()))
            {
                inputs.add(format!("Secret/{name}/{k}"), &v.0);
            }
        }
    }
    let mut sts = workloads::statefulset(inst, c, &inputs.digest());
    if !external.is_empty() {
        sts.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(
                sources::EXTERNAL_SECRETS_ANNOTATION.into(),
                external.join(","),
            );
    }
    sts
}

/// Renders every object of an instance. `previous` are the input items, in
/// which earlier certificates and passwords are looked up; `now` is Unix time.
pub fn render(
    inst: &Instance,
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
) -> anyhow::Result<Rendered> {
    let mut results = Vec::new();
    // The certificate source, chosen in one place (src/sources/).
    let produced = match &inst.tls {
        Some(tls) => sources::produce(inst, tls, seed, previous, now)?,
        None => sources::Produced::default(),
    };
    results.extend(produced.results);
    let mut unstable = Vec::new();
    if produced.random {
        unstable.push(format!("{}tls", inst.field_prefix));
    }
    let creds = credentials(inst, seed, previous, &mut results, &mut unstable)?;
    if inst.sentinel.replicas < 3 {
        results.push(
            KrmResult::warning(format!(
                "{} Sentinel(s): failover needs a majority of Sentinels to agree, so fewer than 3 cannot survive the loss of one",
                inst.sentinel.replicas
            ))
            .with_field(format!("{}sentinel.replicas", inst.field_prefix)),
        );
    }
    let own = instance_secrets(inst, produced.secrets, &creds);
    let consumers = consumer_secrets(inst, &own, &creds, &mut results);
    let files: BTreeMap<&str, BTreeMap<String, String>> = Component::ALL
        .iter()
        .map(|c| (c.as_str(), crate::pod_files::files(inst, *c)))
        .collect();

    let mut items: Vec<Value> = Vec::new();
    if inst.generate_service_account {
        items.push(to_value(&workloads::service_account(inst))?);
    }
    for s in own.iter().chain(&consumers) {
        items.push(to_value(s)?);
    }
    items.extend(produced.objects);
    if let Some(cm) = &produced.ca_configmap {
        items.push(to_value(cm)?);
    }
    for c in Component::ALL {
        let cm = configmaps::component_configmap(inst, c, &files[c.as_str()]);
        items.push(to_value(&cm)?);
    }
    // Read by both StatefulSets, deliberately outside their config hash.
    items.push(to_value(&configmaps::topology_configmap(inst))?);
    for svc in services::services(inst) {
        items.push(to_value(&svc)?);
    }
    for c in Component::ALL {
        items.push(to_value(&statefulset(inst, c, &files[c.as_str()], &own))?);
    }
    if inst.pod_disruption_budget {
        for c in Component::ALL {
            items.push(to_value(&workloads::pod_disruption_budget(inst, c))?);
        }
    }
    if let Some(p) = &inst.network_policy {
        for np in network::network_policies(inst, p) {
            items.push(to_value(&np)?);
        }
    }
    items.extend(crate::metrics::objects(inst, produced.bundle.as_ref())?);
    Ok(Rendered {
        items,
        results,
        unstable,
    })
}

fn to_value<T: serde::Serialize>(obj: &T) -> anyhow::Result<Value> {
    Ok(serde_norway::to_value(obj)?)
}
