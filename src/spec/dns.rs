//! The DNS names Kubernetes gives Services and StatefulSet pods, spelled
//! once: the instance's own names ([`super::Instance`]: the scripts' peers,
//! the certificates' SANs) and `check`'s reading of rendered objects (which
//! names must a certificate cover) both use them.

/// `<namespace>.svc.<clusterDomain>`.
pub fn svc_domain(namespace: &str, cluster_domain: &str) -> String {
    format!("{namespace}.svc.{cluster_domain}")
}

/// The stable name of pod `ordinal` of StatefulSet `statefulset` under
/// headless Service `headless`:
/// `<statefulset>-<ordinal>.<headless>.<namespace>.svc.<clusterDomain>`.
pub fn pod_fqdn(
    statefulset: &str,
    ordinal: u64,
    headless: &str,
    namespace: &str,
    cluster_domain: &str,
) -> String {
    format!(
        "{statefulset}-{ordinal}.{headless}.{}",
        svc_domain(namespace, cluster_domain)
    )
}

/// The names a client in the cluster may dial for Service `service`, from
/// short to qualified: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`,
/// `<svc>.<ns>.svc.<clusterDomain>`.
pub fn service_names(service: &str, namespace: &str, cluster_domain: &str) -> [String; 4] {
    [
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{}", svc_domain(namespace, cluster_domain)),
    ]
}
