//! The spec half of certificate sources: validation of `tls.source` and its
//! settings (`tls.certManager`, `tls.secrets`), and of `auth.existingSecret`;
//! combinations that cannot work are errors naming the fields. The output
//! half (what each source produces) is [`crate::sources`].

use super::instance::{IssuerRef, TlsSource};
use super::model::{CertificateSource, ClientAuth, Spec, TlsSpec};
use super::validate::dns_name;
use crate::krm::FieldError;

/// cert-manager's API group.
pub const CERT_MANAGER_GROUP: &str = "cert-manager.io";
/// The only cluster domain the OpenShift service CA issues names for.
pub const SERVICE_CA_CLUSTER_DOMAIN: &str = "cluster.local";

/// Problems found, as (field relative to the spec, message).
pub type Problems = Vec<FieldError>;

/// The resolved certificate source; `problems` collects what is wrong.
pub fn resolve(
    spec: &Spec,
    name: &str,
    cluster_domain: &str,
    problems: &mut Problems,
) -> TlsSource {
    let t = &spec.tls;
    check_combinations(t, problems);
    match t.source {
        CertificateSource::Generated => TlsSource::Generated,
        CertificateSource::CertManager => TlsSource::CertManager {
            issuer: issuer_ref(t, problems),
        },
        CertificateSource::OpenshiftServiceCa => {
            check_service_ca(t, cluster_domain, problems);
            TlsSource::OpenshiftServiceCa
        }
        CertificateSource::Secret => existing_secrets(t, name, problems),
    }
}

/// Settings that do not go with the chosen source.
fn check_combinations(t: &TlsSpec, problems: &mut Problems) {
    let mut err = |f: &str, m: String| problems.push(FieldError::new(f, m));
    let src = t.source;
    if src != CertificateSource::Generated {
        let what = source_name(src);
        if !t.enabled.unwrap_or(true) {
            err(
                "tls.source",
                format!(
                    "tls.source {what} needs TLS: remove tls.enabled: false or use source generated"
                ),
            );
        }
        if t.keep_ca_key {
            err(
                "tls.keepCaKey",
                format!(
                    "tls.keepCaKey applies to generated certificates only; with tls.source {what} the function holds no CA key"
                ),
            );
        }
        if t.rotation != 0 {
            err(
                "tls.rotation",
                format!(
                    "tls.rotation applies to generated certificates only; with tls.source {what} renew at the source (e.g. `cmctl renew`, or replace the Secret): pods pick renewals up by themselves"
                ),
            );
        }
    }
    if t.cert_manager.is_some() && src != CertificateSource::CertManager {
        err(
            "tls.certManager",
            format!(
                "tls.certManager is set but tls.source is {}; set tls.source: cert-manager or remove it",
                source_name(src)
            ),
        );
    }
    if t.secrets.is_some() && src != CertificateSource::Secret {
        err(
            "tls.secrets",
            format!(
                "tls.secrets is set but tls.source is {}; set tls.source: secret or remove it",
                source_name(src)
            ),
        );
    }
}

/// `tls.certManager.issuerRef`; `None`: the function emits its own chain.
fn issuer_ref(t: &TlsSpec, problems: &mut Problems) -> Option<IssuerRef> {
    let r = t.cert_manager.as_ref()?.issuer_ref.as_ref()?;
    let mut err = |f: &str, m: String| problems.push(FieldError::new(f, m));
    let group = r.group.clone().unwrap_or_else(|| CERT_MANAGER_GROUP.into());
    let kind = r.kind.clone().unwrap_or_else(|| "Issuer".into());
    if let Err(e) = object_name(&r.name) {
        err(
            "tls.certManager.issuerRef.name",
            format!("issuerRef name {:?} {e}", r.name),
        );
    }
    if group == CERT_MANAGER_GROUP && kind != "Issuer" && kind != "ClusterIssuer" {
        err(
            "tls.certManager.issuerRef.kind",
            format!(
                "issuerRef kind {kind:?} must be Issuer or ClusterIssuer for group {CERT_MANAGER_GROUP}"
            ),
        );
    }
    if let Err(e) = dns_name(&group, false) {
        err(
            "tls.certManager.issuerRef.group",
            format!("issuerRef group {group:?} {e}"),
        );
    }
    Some(IssuerRef {
        name: r.name.clone(),
        kind,
        group,
    })
}

/// What the OpenShift service CA cannot issue.
fn check_service_ca(t: &TlsSpec, cluster_domain: &str, problems: &mut Problems) {
    let mut err = |f: &str, m: String| problems.push(FieldError::new(f, m));
    if t.client_auth != ClientAuth::No {
        err(
            "tls.clientAuth",
            format!(
                "tls.source openshift-service-ca issues serving certificates with the serverAuth usage only, so no pod has a client certificate: replicas and Sentinels present their serving certificate when they dial, and with tls.clientAuth {} the server would reject it; set tls.clientAuth: no (clients then authenticate with ACL passwords, auth.enabled) or use tls.source cert-manager for client certificates",
                t.client_auth.as_conf()
            ),
        );
    }
    if !t.extra_dns_names.is_empty() {
        err(
            "tls.extraDnsNames",
            "the OpenShift service CA issues names of the annotated Service only; tls.extraDnsNames cannot be added (use tls.source cert-manager or secret)".to_string(),
        );
    }
    if cluster_domain != SERVICE_CA_CLUSTER_DOMAIN {
        err(
            "clusterDomain",
            format!(
                "the OpenShift service CA issues names under {SERVICE_CA_CLUSTER_DOMAIN} only; clusterDomain {cluster_domain:?} would not be covered"
            ),
        );
    }
}

/// `tls.secrets`: the Secret of each role (default `<name>-<role>-tls`).
fn existing_secrets(t: &TlsSpec, name: &str, problems: &mut Problems) -> TlsSource {
    let s = t.secrets.clone().unwrap_or_default();
    let mut pick = |field: &str, given: Option<String>, role: &str| {
        let n = given.unwrap_or_else(|| format!("{name}-{role}-tls"));
        if let Err(e) = object_name(&n) {
            problems.push(FieldError::new(
                field.to_string(),
                format!("Secret name {n:?} {e}"),
            ));
        }
        n
    };
    let redis = pick("tls.secrets.redis", s.redis, "redis");
    let sentinel = pick("tls.secrets.sentinel", s.sentinel, "sentinel");
    let client = pick("tls.secrets.client", s.client, "client");
    TlsSource::Secret {
        redis,
        sentinel,
        client,
    }
}

/// `auth.existingSecret`, checked.
pub fn existing_auth_secret(spec: &Spec, problems: &mut Problems) -> Option<String> {
    let a = &spec.auth;
    let n = a.existing_secret.clone()?;
    if !a.enabled.unwrap_or(true) {
        problems.push(FieldError::new(
            "auth.existingSecret",
            "auth.existingSecret is set but auth.enabled is false; remove one of them",
        ));
    }
    if let Err(e) = object_name(&n) {
        problems.push(FieldError::new(
            "auth.existingSecret",
            format!("Secret name {n:?} {e}"),
        ));
    }
    Some(n)
}

/// The spelling of a source in the spec.
pub fn source_name(s: CertificateSource) -> &'static str {
    match s {
        CertificateSource::Generated => "generated",
        CertificateSource::CertManager => "cert-manager",
        CertificateSource::OpenshiftServiceCa => "openshift-service-ca",
        CertificateSource::Secret => "secret",
    }
}

/// A Kubernetes object name (DNS-1123 subdomain).
fn object_name(n: &str) -> Result<(), String> {
    dns_name(n, false).map_err(|e| format!("is not a valid object name: it {e}"))
}
