//! `metadata`, `spec.namespace`, `spec.clusterDomain`, `spec.labels` and
//! `spec.annotations`, `spec.serviceAccountName`: the instance's identity
//! and the names everything else derives from.

use super::*;

/// The instance name (`spec.name`, else `metadata.name`); errors name the
/// field it was written in.
pub(super) fn instance_name(spec: &Spec, meta: &ResourceMeta, cx: &mut Ctx) -> String {
    let prefix = cx.prefix;
    let name = match spec.name.clone().or_else(|| meta.name.clone()) {
        Some(n) => n,
        None => {
            let field = if prefix == "data." {
                "data.name"
            } else {
                "metadata.name"
            };
            cx.errors.push(FieldError::new(
                field,
                format!("the instance needs a name: set {field}"),
            ));
            return String::new();
        }
    };
    let name_field = if spec.name.is_some() {
        format!("{prefix}name")
    } else {
        "metadata.name".to_string()
    };
    // A name that is given is checked, the empty one too.
    if let Err(e) = dns1035_label(&name) {
        cx.errors.push(FieldError::new(
            &name_field,
            format!("instance name {name:?} {e}"),
        ));
        return name;
    }
    let longest = format!("{name}-sentinel{HEADLESS_SUFFIX}");
    let sts = format!("{name}-sentinel");
    if longest.len() > 63 || sts.len() > MAX_STATEFULSET_NAME {
        let max = (63 - "-sentinel".len() - HEADLESS_SUFFIX.len())
            .min(MAX_STATEFULSET_NAME - "-sentinel".len());
        cx.errors.push(FieldError::new(
            &name_field,
            format!(
                "instance name {name:?} is {} characters; at most {max} keep generated names such as {longest:?} within Kubernetes limits",
                name.len()
            ),
        ));
    }
    name
}

/// `spec.namespace`, else `metadata.namespace`, else the default.
pub(super) fn namespace(spec: &Spec, meta: &ResourceMeta, cx: &mut Ctx) -> String {
    let namespace = spec
        .namespace
        .clone()
        .or_else(|| meta.namespace.clone())
        .unwrap_or_else(|| defaults::NAMESPACE.to_string());
    if let Err(e) = dns1123_label(&namespace) {
        let field = if spec.namespace.is_some() {
            format!("{}namespace", cx.prefix)
        } else {
            "metadata.namespace".to_string()
        };
        cx.errors.push(FieldError::new(
            field,
            format!("namespace {namespace:?} {e}"),
        ));
    }
    namespace
}

/// `spec.clusterDomain` without its trailing dot.
pub(super) fn cluster_domain(spec: &Spec, cx: &mut Ctx) -> String {
    let cluster_domain = spec
        .cluster_domain
        .clone()
        .unwrap_or_else(|| defaults::CLUSTER_DOMAIN.to_string());
    let cluster_domain = cluster_domain.trim_end_matches('.').to_string();
    if let Err(e) = dns_name(&cluster_domain, false) {
        cx.err(
            "clusterDomain",
            format!("cluster domain {cluster_domain:?} {e}"),
        );
    }
    cluster_domain
}

/// `spec.labels`, `spec.annotations` and the lengths of the lists the
/// render copies around. Labels and annotations go on every generated
/// object: bounded, so a small spec cannot make a huge render (Kubernetes
/// allows 256 KiB of annotations per object).
pub(super) fn check_metadata(spec: &Spec, cx: &mut Ctx) {
    if spec.labels.len() > MAX_LABELS {
        cx.err(
            "labels",
            format!(
                "{} labels; at most {MAX_LABELS} (they go on every generated object)",
                spec.labels.len()
            ),
        );
    }
    let annotation_bytes: usize = spec
        .annotations
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if annotation_bytes > MAX_ANNOTATION_BYTES {
        cx.err(
            "annotations",
            format!("annotations take {annotation_bytes} bytes; Kubernetes allows at most {MAX_ANNOTATION_BYTES} per object"),
        );
    }
    for (field, n) in [
        ("tls.extraDnsNames", spec.tls.extra_dns_names.len()),
        ("placement.tolerations", spec.placement.tolerations.len()),
        ("placement.nodeSelector", spec.placement.node_selector.len()),
    ] {
        if n > MAX_LIST_ENTRIES {
            cx.err(field, format!("{n} entries; at most {MAX_LIST_ENTRIES}"));
        }
    }
    for (k, v) in &spec.labels {
        check_label(k, v, cx);
    }
    for k in spec.annotations.keys() {
        if k.starts_with(RESERVED_PREFIX) {
            cx.err(&format!("annotations.{k}"), format!("annotation {k:?} uses the prefix {RESERVED_PREFIX}, which this function keeps for its own marks (config hash, instance)"));
        }
        if let Err(e) = label_key(k) {
            cx.err(
                &format!("annotations.{k}"),
                format!("annotation key {k:?} {e}"),
            );
        }
    }
}

/// One of `spec.labels`: valid, and not one the function sets itself.
pub(super) fn check_label(k: &str, v: &str, cx: &mut Ctx) {
    let field = format!("labels.{k}");
    if let Err(e) = label_key(k) {
        cx.err(&field, format!("label key {k:?} {e}"));
    }
    if let Err(e) = label_value(v) {
        cx.err(&field, format!("label value {v:?} {e}"));
    }
    if k.starts_with(RESERVED_PREFIX) {
        cx.err(&field, format!("label {k:?} uses the prefix {RESERVED_PREFIX}, which this function keeps for its own marks"));
    }
    if crate::object::labels::ALL.contains(&k) {
        cx.err(
            &field,
            format!(
                "label {k:?} is set by the function (it selects the pods) and cannot be overridden"
            ),
        );
    }
}

/// The ServiceAccount the pods run as, and whether the function makes it.
pub(super) fn service_account(spec: &Spec, name: &str, cx: &mut Ctx) -> (String, bool) {
    match &spec.service_account_name {
        Some(sa) => {
            if let Err(e) = dns_name(sa, false) {
                cx.err(
                    "serviceAccountName",
                    format!("serviceAccountName {sa:?} {e}"),
                );
            }
            (sa.clone(), false)
        }
        None => (name.to_string(), true),
    }
}

/// The longest pod DNS name must fit in 253 characters.
pub(super) fn check_dns_name_length(
    name: &str,
    namespace: &str,
    cluster_domain: &str,
    cx: &mut Ctx,
) {
    let fqdn_len = format!(
        "{name}-sentinel-{}.{name}-sentinel{HEADLESS_SUFFIX}.{namespace}.svc.{cluster_domain}",
        MAX_SENTINEL_REPLICAS
    )
    .len();
    if fqdn_len > 253 {
        cx.err("clusterDomain", format!("pod DNS names would be {fqdn_len} characters, over the 253 allowed; shorten the name, namespace or cluster domain"));
    }
}
