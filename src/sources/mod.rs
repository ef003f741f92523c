//! Certificate sources: where the Redis, Sentinel and client certificates
//! come from (`spec.tls.source`). [`produce`] is the one place that picks a
//! source; each source lives in its own module:
//!
//! - [`generated`]: the function issues the CA and certificates (default);
//! - [`cert_manager`]: cert-manager `Certificate`s (and a self-signed CA
//!   chain when no issuer is named);
//! - [`service_ca`]: OpenShift's service CA (Service annotations, an
//!   injected CA ConfigMap);
//! - [`secret`]: Secrets the user creates and names.
//!
//! Whatever the source, pods see the same three files in their TLS
//! directory (`tls.crt`, `tls.key`, `ca.crt`). Certificates renewed outside
//! the function reach running pods through the renewal watcher of the start
//! scripts ([`crate::pod_files::renewal`]), never through the pod-template hash
//! (which covers only what the function emits).

pub mod cert_manager;
pub mod generated;
pub mod secret;
pub mod service_ca;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_norway::Value;

use crate::certs::{Role, seed::Seed};
use crate::krm::KrmResult;
use crate::spec::{Component, Instance, Tls, TlsSource};

/// Annotation on a StatefulSet listing the Secrets its pods mount that the
/// function does not emit (made by cert-manager, the service CA or the
/// user): `check` accepts them missing and verifies them when present.
pub const EXTERNAL_SECRETS_ANNOTATION: &str = "fn.redis-sentinel.dev/external-secrets";

/// What a source adds to the output.
#[derive(Default)]
pub struct Produced {
    /// Secrets with certificates (the pod-template hash covers the ones a
    /// pod mounts).
    pub secrets: Vec<Secret>,
    /// Other objects (cert-manager Issuers and Certificates), in order.
    pub objects: Vec<Value>,
    /// The ConfigMap `<name>-ca` for applications, if the source has one.
    pub ca_configmap: Option<ConfigMap>,
    /// The certificates, when the function issued them (`generated`): what
    /// the metrics rules read the expiry dates from.
    pub bundle: Option<crate::certs::Bundle>,
    pub results: Vec<KrmResult>,
    /// The certificates were newly made at random (no seed, nothing kept):
    /// the next render makes others.
    pub random: bool,
}

/// Everything the certificate source of `inst` adds to the output.
pub fn produce(
    inst: &Instance,
    tls: &Tls,
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
) -> anyhow::Result<Produced> {
    match &tls.source {
        TlsSource::Generated => generated::produce(inst, tls, seed, previous, now),
        TlsSource::CertManager { issuer } => cert_manager::produce(inst, tls, issuer.as_ref()),
        TlsSource::OpenshiftServiceCa => Ok(service_ca::produce(inst)),
        TlsSource::Secret { .. } => Ok(Produced::default()),
    }
}

/// Name of the Secret holding the certificate of `role` (`None`: the
/// source has no such certificate, e.g. no client certificate from the
/// service CA).
pub fn secret_name(inst: &Instance, tls: &Tls, role: Role) -> Option<String> {
    match (&tls.source, role) {
        (TlsSource::OpenshiftServiceCa, Role::Client) => None,
        (TlsSource::Secret { redis, .. }, Role::Redis) => Some(redis.clone()),
        (TlsSource::Secret { sentinel, .. }, Role::Sentinel) => Some(sentinel.clone()),
        (TlsSource::Secret { client, .. }, Role::Client) => Some(client.clone()),
        _ => Some(role.secret_name(inst)),
    }
}

/// Where the `ca.crt` of a component's TLS directory comes from when it is
/// not a key of the certificate Secret: a ConfigMap and its key.
pub fn ca_from_configmap(inst: &Instance, tls: &Tls) -> Option<(String, &'static str)> {
    match tls.source {
        TlsSource::OpenshiftServiceCa => Some((
            crate::certs::ca_configmap_name(inst),
            service_ca::CA_BUNDLE_KEY,
        )),
        _ => None,
    }
}

/// Annotations a source puts on a Service of component `c`.
pub fn service_annotations(
    inst: &Instance,
    c: Component,
    headless: bool,
) -> BTreeMap<String, String> {
    match inst.tls.as_ref().map(|t| &t.source) {
        Some(TlsSource::OpenshiftServiceCa) if headless => service_ca::service_annotations(inst, c),
        _ => BTreeMap::new(),
    }
}

/// Whether certificates may be renewed outside the function, so pods must
/// watch their files (every source but `generated`).
pub fn renewed_outside(inst: &Instance) -> bool {
    inst.tls
        .as_ref()
        .is_some_and(|t| t.source != TlsSource::Generated)
}
