//! Certificates against the names that are dialled: every server
//! certificate has a SAN for each pod's DNS name and both Services; a
//! certificate made outside the function has the EKUs, chain and validity
//! it needs.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;
use x509_parser::prelude::*;

use super::Checker;
use super::checker::rename_fix;
use super::objects::external_secrets;
use crate::krm::{KrmResult, ResourceRef};
use crate::object::ItemExt;
use crate::object::secret::secret_data;
use crate::pod_files::setting;
use crate::spec::{Component, dns};

impl<'a> Checker<'a> {
    /// EKUs, chain and validity of a certificate Secret made outside the
    /// function (its SANs are checked with the rendered ones).
    pub(super) fn check_external_secret(&mut self, secret: &Value) {
        let client_auth = self.objs.iter().any(|o| {
            o.kind() == "ConfigMap"
                && o.get("data").and_then(Value::as_mapping).is_some_and(|d| {
                    d.values().filter_map(Value::as_str).any(|t| {
                        t.lines().any(|l| {
                            l == "tls-auth-clients yes" || l == "tls-auth-clients optional"
                        })
                    })
                })
        });
        let now = crate::function::now();
        for (is_error, field, msg) in crate::sources::secret::verify(secret, client_auth, now) {
            let message = format!("Secret {}: {msg}", secret.name());
            let r = if is_error {
                KrmResult::error(message)
            } else {
                KrmResult::warning(message)
            };
            self.results
                .push(r.with_ref(ResourceRef::of(secret)).with_field(field));
        }
    }

    /// The server certificate a component mounts covers every name that
    /// clients and peers dial, as the objects are named now.
    pub(super) fn check_certificate(
        &mut self,
        comp: &str,
        sts: &'a Value,
        vars: &BTreeMap<String, String>,
    ) {
        let Some((secret, secret_name)) = self.server_secret(sts) else {
            return;
        };
        let Some(sans) = self.certificate_sans(secret, secret_name) else {
            return;
        };
        let dialed = self.dialed_names(comp, sts, vars);
        let missing: Vec<&String> = dialed.iter().filter(|h| !san_covers(&sans, h)).collect();
        if missing.is_empty() {
            return;
        }
        let fix = self.san_fix(comp, sts, vars);
        let shown: Vec<&str> = missing.iter().take(3).map(|s| s.as_str()).collect();
        let more = if missing.len() > 3 {
            format!(" and {} more", missing.len() - 3)
        } else {
            String::new()
        };
        self.error(
            secret,
            "data.tls.crt",
            format!(
                "the {comp} certificate in Secret {secret_name} has no SAN for {}{more}, which clients and peers dial: TLS verification would fail; {fix}",
                shown.join(", ")
            ),
        );
    }

    /// The Secret of a StatefulSet's `tls` volume and its name; `None` with
    /// TLS off, or when it is missing (reported by `check_mounts`, or made
    /// outside the function and not among the items). A Secret made outside
    /// the function is checked on the way.
    fn server_secret(&mut self, sts: &'a Value) -> Option<(&'a Value, &'a str)> {
        let secret_name = sts
            .at(&["spec", "template", "spec", "volumes"])
            .and_then(Value::as_sequence)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.str_at(&["name"]) == Some("tls"))
                    .and_then(|v| v.str_at(&["secret", "secretName"]))
            })?;
        if !external_secrets(sts).contains(&secret_name) {
            let secret = self.resolve("Secret", secret_name, sts.namespace())?;
            return Some((secret, secret_name));
        }
        let found = self.all.iter().find(|o| {
            o.kind() == "Secret" && o.name() == secret_name && o.namespace() == sts.namespace()
        })?;
        self.check_external_secret(found);
        Some((found, secret_name))
    }

    /// The DNS SANs of a certificate Secret's `tls.crt`, or `None` after
    /// reporting why there are none.
    fn certificate_sans(&mut self, secret: &Value, secret_name: &str) -> Option<BTreeSet<String>> {
        let Some(pem) = secret_data(secret, "tls.crt") else {
            self.error(
                secret,
                "data.tls.crt",
                format!("Secret {secret_name} has no tls.crt: render again"),
            );
            return None;
        };
        match dns_sans(&pem) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(
                    secret,
                    "data.tls.crt",
                    format!("Secret {secret_name}: {e}: render again"),
                );
                None
            }
        }
    }

    /// Every name clients and peers dial for a component's pods, as the
    /// objects are named now: each pod, and its Services in every form.
    fn dialed_names(
        &mut self,
        comp: &str,
        sts: &'a Value,
        vars: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let ns = sts.namespace().unwrap_or("default").to_string();
        let domain = vars
            .get(setting::CLUSTER_DOMAIN)
            .cloned()
            .unwrap_or_else(|| "cluster.local".into());
        let service_name = sts.str_at(&["spec", "serviceName"]).unwrap_or_default();
        let headless = self
            .resolve("Service", service_name, sts.namespace())
            .map_or(service_name, |o| o.name());
        let replicas = sts
            .at(&["spec", "replicas"])
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let mut dialed: Vec<String> = (0..replicas)
            .map(|i| dns::pod_fqdn(sts.name(), i, headless, &ns, &domain))
            .collect();
        for svc in self.of_component("Service", comp) {
            if svc.namespace() != sts.namespace() {
                continue;
            }
            // Qualified first: the error names the most telling ones.
            dialed.extend(
                dns::service_names(svc.name(), &ns, &domain)
                    .into_iter()
                    .rev(),
            );
        }
        dialed
    }

    /// What to do about a certificate that misses names: keep the rendered
    /// namespace, undo a rename, or render the certificates again.
    fn san_fix(&self, comp: &str, sts: &Value, vars: &BTreeMap<String, String>) -> String {
        let ns = sts.namespace().unwrap_or("default");
        if ns != self.rendered_ns() {
            return self.namespace_fix(ns);
        }
        let want = Component::named(comp)
            .and_then(|c| vars.get(setting::statefulset(c)))
            .cloned()
            .unwrap_or_default();
        if !want.is_empty() && want != sts.name() {
            rename_fix(self.rendered_name(), &want, sts.name())
        } else {
            "render the certificates again for the names in use (do not rename objects or change the namespace after rendering)".to_string()
        }
    }
}

/// `*.b.c` matches `a.b.c` (one label), as TLS clients match wildcards.
pub(super) fn san_covers(sans: &BTreeSet<String>, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if sans.contains(&host) {
        return true;
    }
    host.split_once('.')
        .is_some_and(|(_, rest)| sans.contains(&format!("*.{rest}")))
}

/// DNS SANs of the first certificate in `pem`.
pub(super) fn dns_sans(pem: &str) -> Result<BTreeSet<String>, String> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| format!("tls.crt is not a PEM certificate: {e}"))?;
    let (_, cert) = X509Certificate::from_der(&p.contents)
        .map_err(|e| format!("tls.crt does not parse: {e}"))?;
    let mut out = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for g in &ext.value.general_names {
            if let GeneralName::DNSName(d) = g {
                out.insert(d.to_ascii_lowercase());
            }
        }
    }
    Ok(out)
}
