//! `tls.source: cert-manager`: cert-manager `Certificate`s instead of
//! certificate Secrets.
//!
//! One Certificate per role (`<name>-redis`, `<name>-sentinel`,
//! `<name>-client`) writes the Secret the pods already mount
//! (`<name>-<role>-tls`: `tls.crt`, `tls.key`, `ca.crt`). DNS names come
//! from the same name model the configs use ([`Instance::dns_names`]),
//! usages are server auth and client auth (a Redis replica or a Sentinel
//! presents the same certificate when it dials), the key follows
//! `tls.keyAlgorithm`, and `rotationPolicy: Always` gives every renewal a
//! new key. With `tls.certManager.issuerRef` the Certificates use that
//! Issuer or ClusterIssuer; without it the function emits a self-contained
//! chain: a self-signed Issuer, a CA Certificate and a CA Issuer.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::Produced;
use crate::certs::{self, Role};
use crate::ownership::{labels, meta};
use crate::spec::model::KeyAlgorithm;
use crate::spec::sources::CERT_MANAGER_GROUP;
use crate::spec::{Instance, IssuerRef, Tls};

pub const API_VERSION: &str = "cert-manager.io/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: CertificateSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    pub secret_name: String,
    pub common_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<String>,
    pub duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<String>,
    #[serde(rename = "isCA", skip_serializing_if = "Option::is_none")]
    pub is_ca: Option<bool>,
    pub usages: Vec<&'static str>,
    pub private_key: PrivateKey,
    pub issuer_ref: IssuerRefObj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKey {
    pub algorithm: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    pub rotation_policy: &'static str,
}

#[derive(Serialize)]
pub struct IssuerRefObj {
    pub name: String,
    pub kind: String,
    pub group: String,
}

#[derive(Serialize)]
pub struct SecretTemplate {
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issuer {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: IssuerSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<CaIssuer>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaIssuer {
    pub secret_name: String,
}

/// Name of the self-signed Issuer of the self-contained chain.
pub fn selfsigned_issuer_name(inst: &Instance) -> String {
    format!("{}-selfsigned", inst.name)
}

/// Name of the CA Certificate and of the CA Issuer of the chain.
pub fn ca_name(inst: &Instance) -> String {
    format!("{}-ca", inst.name)
}

/// Name of the Certificate of `role`.
pub fn certificate_name(inst: &Instance, role: Role) -> String {
    format!("{}-{}", inst.name, role.as_str())
}

/// `privateKey.algorithm` and `size` for a key algorithm.
pub fn private_key(alg: KeyAlgorithm, rotation_policy: &'static str) -> PrivateKey {
    let (algorithm, size) = match alg {
        KeyAlgorithm::EcdsaP256 => ("ECDSA", Some(256)),
        KeyAlgorithm::EcdsaP384 => ("ECDSA", Some(384)),
        KeyAlgorithm::Ed25519 => ("Ed25519", None),
        KeyAlgorithm::Rsa2048 => ("RSA", Some(2048)),
        KeyAlgorithm::Rsa3072 => ("RSA", Some(3072)),
        KeyAlgorithm::Rsa4096 => ("RSA", Some(4096)),
    };
    PrivateKey {
        algorithm,
        size,
        rotation_policy,
    }
}

/// `usages` of a role's certificate: key encipherment only for RSA keys
/// (ECDSA and Ed25519 keys only sign).
pub fn usages(alg: KeyAlgorithm, role: Role) -> Vec<&'static str> {
    let mut u = vec!["digital signature"];
    if matches!(
        alg,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
    ) {
        u.push("key encipherment");
    }
    if role != Role::Client {
        u.push("server auth");
    }
    u.push("client auth");
    u
}

fn hours(days: u32) -> String {
    format!("{}h", u64::from(days) * 24)
}

fn issuer_ref(r: &IssuerRef) -> IssuerRefObj {
    IssuerRefObj {
        name: r.name.clone(),
        kind: r.kind.clone(),
        group: r.group.clone(),
    }
}

fn leaf(inst: &Instance, tls: &Tls, role: Role, issuer: &IssuerRef) -> Certificate {
    let (dns_names, ip_addresses) = match role.component() {
        Some(c) => (
            inst.dns_names(c),
            vec!["127.0.0.1".to_string(), "::1".to_string()],
        ),
        None => (vec![role.common_name(inst)], Vec::new()),
    };
    Certificate {
        api_version: API_VERSION,
        kind: "Certificate",
        metadata: meta(inst, certificate_name(inst, role), role.component()),
        spec: CertificateSpec {
            secret_name: role.secret_name(inst),
            common_name: role.common_name(inst),
            dns_names,
            ip_addresses,
            duration: hours(tls.validity_days),
            renew_before: Some(hours(tls.renew_before_days)),
            is_ca: None,
            usages: usages(tls.key_algorithm, role),
            private_key: private_key(tls.key_algorithm, "Always"),
            issuer_ref: issuer_ref(issuer),
            secret_template: Some(SecretTemplate {
                labels: labels(inst, role.component()),
                annotations: inst.annotations.clone(),
            }),
        },
    }
}

/// The self-contained chain: a self-signed Issuer, the CA Certificate
/// (its key kept across renewals, `rotationPolicy: Never`, so certificates
/// signed before a CA renewal still chain to the renewed CA) and the CA
/// Issuer that signs the leaves.
fn chain(inst: &Instance, tls: &Tls) -> anyhow::Result<(Vec<serde_norway::Value>, IssuerRef)> {
    let selfsigned = Issuer {
        api_version: API_VERSION,
        kind: "Issuer",
        metadata: meta(inst, selfsigned_issuer_name(inst), None),
        spec: IssuerSpec {
            self_signed: Some(BTreeMap::new()),
            ca: None,
        },
    };
    let ca_cert = Certificate {
        api_version: API_VERSION,
        kind: "Certificate",
        metadata: meta(inst, ca_name(inst), None),
        spec: CertificateSpec {
            secret_name: certs::ca_key_secret_name(inst),
            common_name: certs::issue::ca_common_name(inst),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            duration: hours(tls.ca_validity_days),
            renew_before: None,
            is_ca: Some(true),
            usages: vec!["digital signature", "cert sign", "crl sign"],
            private_key: private_key(tls.key_algorithm, "Never"),
            issuer_ref: IssuerRefObj {
                name: selfsigned_issuer_name(inst),
                kind: "Issuer".into(),
                group: CERT_MANAGER_GROUP.into(),
            },
            secret_template: Some(SecretTemplate {
                labels: labels(inst, None),
                annotations: inst.annotations.clone(),
            }),
        },
    };
    let ca_issuer = Issuer {
        api_version: API_VERSION,
        kind: "Issuer",
        metadata: meta(inst, ca_name(inst), None),
        spec: IssuerSpec {
            self_signed: None,
            ca: Some(CaIssuer {
                secret_name: certs::ca_key_secret_name(inst),
            }),
        },
    };
    let objects = vec![
        serde_norway::to_value(&selfsigned)?,
        serde_norway::to_value(&ca_cert)?,
        serde_norway::to_value(&ca_issuer)?,
    ];
    Ok((
        objects,
        IssuerRef {
            name: ca_name(inst),
            kind: "Issuer".into(),
            group: CERT_MANAGER_GROUP.into(),
        },
    ))
}

pub fn produce(inst: &Instance, tls: &Tls, issuer: Option<&IssuerRef>) -> anyhow::Result<Produced> {
    let (mut objects, issuer) = match issuer {
        Some(i) => (Vec::new(), i.clone()),
        None => chain(inst, tls)?,
    };
    for role in Role::ALL {
        objects.push(serde_norway::to_value(leaf(inst, tls, role, &issuer))?);
    }
    Ok(Produced {
        objects,
        ..Default::default()
    })
}
