//! Certificates that reach running pods without a roll: where the servers
//! reload their certificate files themselves (`tls-auto-reload-interval`
//! in the rendered configuration, Valkey 9.1+), a new certificate in a
//! Secret the function emits rolls nothing
//! ([`crate::pod_files::renewal::hash_leaves_out_certificates`]). `check`
//! reads manifests, not the cluster, so it cannot see whether the pods have
//! reloaded; it says which certificate each pod must serve (the serial of
//! the Secret's `tls.crt`) and how to compare, which is what to wait for
//! before the next certificate step ([`crate::certs::trust`]).

use serde_norway::Value;
use x509_parser::prelude::*;

use super::COMPONENT_LABEL;
use crate::krm::KrmResult;
use crate::object::ItemExt;
use crate::object::secret::secret_data;
use crate::pod_files::gated;

/// What the pods log when the server swapped in the new files.
pub const RELOADED_LOG: &str = "TLS materials reloaded successfully";

/// The serial of the first certificate of `pem` in upper-case hex, as
/// `openssl x509 -noout -serial` prints it.
pub fn serial(pem: &str) -> Option<String> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let (_, cert) = X509Certificate::from_der(&p.contents).ok()?;
    let raw = cert.raw_serial();
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    Some(raw[start..].iter().map(|b| format!("{b:02X}")).collect())
}

/// The reload interval the rendered configuration sets for the image's
/// server (a gated setting: [`gated::directive_where_met`]), if any.
fn reload_interval(objs: &[&Value]) -> Option<String> {
    objs.iter()
        .filter(|o| o.kind() == "ConfigMap")
        .filter_map(|o| o.get("data").and_then(Value::as_mapping))
        .flat_map(|d| d.values().filter_map(Value::as_str))
        .find_map(|text| {
            text.lines()
                .filter_map(gated::directive_where_met)
                .find_map(|d| d.strip_prefix("tls-auto-reload-interval "))
                .map(|v| v.trim().to_string())
        })
}

/// One workload's part of the note: its pods and the serial its Secret holds.
fn workload_line(sts: &Value, objs: &[&Value]) -> Option<String> {
    let secret = sts
        .at(&["spec", "template", "spec", "volumes"])
        .and_then(Value::as_sequence)?
        .iter()
        .find(|v| v.str_at(&["name"]) == Some("tls"))?
        .str_at(&["secret", "secretName"])?;
    let found = objs
        .iter()
        .find(|o| o.kind() == "Secret" && o.name() == secret && o.namespace() == sts.namespace())?;
    let serial = serial(&secret_data(found, "tls.crt")?)?;
    let replicas = sts.at(&["spec", "replicas"]).and_then(Value::as_u64)?;
    Some(format!(
        "{}-0..{} serve serial {serial} (Secret {secret})",
        sts.name(),
        replicas.saturating_sub(1)
    ))
}

/// An `info` result for an instance whose certificates reach the pods
/// without a roll: the serial each workload's pods must serve, and how to
/// compare. `None` when the pods roll with their certificates, or when the
/// function does not emit the certificate Secrets (renewed outside it).
pub fn check_note(key: &str, objs: &[&Value]) -> Option<KrmResult> {
    let interval = reload_interval(objs)?;
    let lines: Vec<String> = ["redis", "sentinel"]
        .iter()
        .filter_map(|comp| {
            objs.iter().find(|o| {
                o.kind() == "StatefulSet"
                    && o.str_at(&["metadata", "labels", COMPONENT_LABEL]) == Some(*comp)
            })
        })
        .filter_map(|sts| workload_line(sts, objs))
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(KrmResult::info(format!(
        "certificates of {key} reach running pods without a roll (the servers reload their files: tls-auto-reload-interval {interval}): once the kubelet has updated the Secret volumes (usually within a minute or two) and the server has reloaded them (within {interval} s), {}. This output cannot show the running pods: before the next certificate step (tls.rotation, a CA renewal), check that every pod serves its serial (from a client pod, with the client Secret's files: `openssl s_client -connect <pod>.<headless Service>.<namespace>.svc:<port> -CAfile ca.crt -cert tls.crt -key tls.key </dev/null | openssl x509 -noout -serial`; each pod also logs {RELOADED_LOG:?})",
        lines.join("; ")
    )))
}
