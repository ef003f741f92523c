//! `tls.source: openshift-service-ca`: OpenShift's service CA issues the
//! serving certificates and publishes its CA.
//!
//! - Each headless Service carries
//!   `service.beta.openshift.io/serving-cert-secret-name: <name>-<component>-tls`;
//!   the service CA writes `tls.crt`/`tls.key` there (no `ca.crt`) with
//!   SANs `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local` and, for
//!   headless Services (OpenShift 4.8+), `*.<svc>.<ns>.svc` and
//!   `*.<svc>.<ns>.svc.cluster.local`: every pod name the start scripts and
//!   Sentinel dial. The client Services (`<name>-redis`, `<name>-sentinel`)
//!   and short names are not covered: clients dial
//!   `<name>-sentinel-headless.<ns>.svc` (or the pod names).
//! - The ConfigMap `<name>-ca` is annotated
//!   `service.beta.openshift.io/inject-cabundle: "true"`; the service CA
//!   writes its CA bundle under `service-ca.crt`. Pods see it as `ca.crt`
//!   (a projected volume), beside the serving certificate.
//! - Serving certificates have the serverAuth usage only: no client
//!   certificates, so `tls.clientAuth` must be `no` (validated) and clients
//!   authenticate with ACL passwords.
//! - Probes dial `localhost`, which is not a SAN: redis-cli (hiredis)
//!   verifies the chain but not the host name, so they still work.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::Produced;
use crate::certs::{self, Role};
use crate::ownership::meta;
use crate::spec::{Component, Instance};

pub const SERVING_CERT_ANNOTATION: &str = "service.beta.openshift.io/serving-cert-secret-name";
pub const INJECT_CABUNDLE_ANNOTATION: &str = "service.beta.openshift.io/inject-cabundle";
/// Key the service CA writes its CA bundle under.
pub const CA_BUNDLE_KEY: &str = "service-ca.crt";

pub fn produce(inst: &Instance) -> Produced {
    let mut m = meta(inst, certs::ca_configmap_name(inst), None);
    m.annotations
        .get_or_insert_with(Default::default)
        .insert(INJECT_CABUNDLE_ANNOTATION.into(), "true".into());
    Produced {
        ca_configmap: Some(ConfigMap {
            metadata: m,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The serving-certificate annotation of component `c`'s headless Service.
pub fn service_annotations(inst: &Instance, c: Component) -> BTreeMap<String, String> {
    let role = match c {
        Component::Redis => Role::Redis,
        Component::Sentinel => Role::Sentinel,
    };
    BTreeMap::from([(SERVING_CERT_ANNOTATION.to_string(), role.secret_name(inst))])
}
