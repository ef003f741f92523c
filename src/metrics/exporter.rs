//! The `redis_exporter` sidecar: its container, its password-file volume,
//! and the NetworkPolicy rule that admits scrapers to its port.

use k8s_openapi::api::core::v1::{Container, ContainerPort, HTTPGetAction, PodSpec, Probe};
use k8s_openapi::api::networking::v1::{
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{EXPORTER_USER, Metrics, has_exporter_user, mounted_keys};
use crate::pod;
use crate::pod::paths;
use crate::spec::{Component, Instance};

/// Name of the sidecar container.
pub const CONTAINER: &str = "exporter";
/// Name of the container port (the PodMonitor scrapes it by name).
pub const PORT_NAME: &str = "metrics";
/// Volume holding the metrics Secret.
pub const AUTH_VOLUME: &str = "exporter-auth";
/// The exporter's binary in its image.
pub const BINARY: &str = "/redis_exporter";

/// Where the containers of a component see the metrics Secret.
pub fn auth_dir(c: Component) -> &'static str {
    match c {
        Component::Redis => "/etc/redis/exporter",
        Component::Sentinel => "/etc/sentinel/exporter",
    }
}

fn tls_dir(c: Component) -> &'static str {
    match c {
        Component::Redis => paths::REDIS_TLS,
        Component::Sentinel => paths::SENTINEL_TLS,
    }
}

/// The exporter's arguments: its own process at `localhost` over TLS with
/// the pod's certificate, the password from a file, no CONFIG GET.
pub fn args(inst: &Instance, m: &Metrics, c: Component) -> Vec<String> {
    let mut a = vec![format!("--redis.addr={}", super::target_address(inst, c))];
    if c == Component::Redis && has_exporter_user(inst) {
        a.push(format!("--redis.user={EXPORTER_USER}"));
    }
    let (_, files) = mounted_keys(inst, c);
    if let Some(f) = files.first() {
        a.push(format!("--redis.password-file={}/{f}", auth_dir(c)));
    }
    if inst.tls_enabled() {
        let d = tls_dir(c);
        a.push(format!("--tls-client-cert-file={d}/tls.crt"));
        a.push(format!("--tls-client-key-file={d}/tls.key"));
        a.push(format!("--tls-ca-cert-file={d}/ca.crt"));
    }
    a.push(format!("--web.listen-address=:{}", m.port));
    a.push("--web.telemetry-path=/metrics".into());
    // CONFIG GET * would return masterauth; `-` skips it (1.45 treats it as
    // an unknown command, which Redis refuses before any ACL check).
    a.push("--config-command=-".into());
    // Redis series only: no Go runtime series.
    a.push("--redis-only-metrics".into());
    a
}

fn health_probe(period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".into()),
            port: IntOrString::String(PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// The sidecar container of a component's pods.
pub fn container(inst: &Instance, m: &Metrics, c: Component) -> Container {
    let mut mounts = Vec::new();
    if inst.tls_enabled() {
        mounts.push(pod::mount("tls", tls_dir(c), true));
    }
    if !mounted_keys(inst, c).1.is_empty() {
        mounts.push(pod::mount(AUTH_VOLUME, auth_dir(c), true));
    }
    Container {
        name: CONTAINER.into(),
        image: Some(m.image.clone()),
        image_pull_policy: inst.image_pull_policy.clone(),
        command: Some(vec![BINARY.into()]),
        args: Some(args(inst, m, c)),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: i32::from(m.port),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        // /health answers once the HTTP server runs: the exporter never
        // takes its pod out of service because Redis is slow.
        readiness_probe: Some(health_probe(10)),
        liveness_probe: Some(health_probe(20)),
        resources: Some(pod::resources(&m.resources)),
        security_context: Some(pod::container_security_context(inst)),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Default::default()
    }
}

/// Adds the sidecar, its volume and (Redis, ACL mode) the main container's
/// mount of the exporter's password to a pod spec.
pub fn add_to_pod(inst: &Instance, c: Component, pod: &mut PodSpec) {
    let Some(m) = &inst.metrics else { return };
    // The volume is made from the same list as the config hash.
    for secret in super::mounted_secrets(inst, c) {
        pod.volumes
            .get_or_insert_with(Vec::new)
            .push(pod::mounted_secret_volume(secret));
    }
    let (main, _) = mounted_keys(inst, c);
    if !main.is_empty()
        && let Some(first) = pod.containers.first_mut()
    {
        first
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(pod::mount(AUTH_VOLUME, auth_dir(c), true));
    }
    pod.containers.push(container(inst, m, c));
}

/// The NetworkPolicy rule for the metrics port: labelled scraper pods, in
/// labelled namespaces (default: any namespace).
pub fn ingress_rule(m: &Metrics) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(m.scraper_pod_labels.clone()),
                ..Default::default()
            }),
            namespace_selector: Some(LabelSelector {
                match_labels: m.scraper_namespace_labels.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![NetworkPolicyPort {
            port: Some(IntOrString::Int(i32::from(m.port))),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    use crate::generate::workloads::tests::pod;

    #[test]
    fn sidecar_dials_localhost_over_tls_with_a_password_file() {
        let inst = test_spec("  metrics:\n    enabled: true\n");
        let p = pod(&inst, Component::Redis);
        assert_eq!(p.containers.len(), 2);
        let e = &p.containers[1];
        let args = e.args.clone().unwrap();
        for want in [
            "--redis.addr=rediss://localhost:6379",
            "--redis.user=exporter",
            "--redis.password-file=/etc/redis/exporter/redis-exporter.json",
            "--tls-client-cert-file=/etc/redis/tls/tls.crt",
            "--tls-ca-cert-file=/etc/redis/tls/ca.crt",
            "--config-command=-",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} in {args:?}");
        }
        assert!(
            e.env.is_none() && !args.iter().any(|a| a.contains("password=")),
            "no password on the command line or in the spec"
        );
        let main_mounts = p.containers[0].volume_mounts.clone().unwrap();
        assert!(main_mounts.iter().any(|m| m.name == AUTH_VOLUME));
        let sc = e.security_context.clone().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));

        let s = pod(&inst, Component::Sentinel);
        let args = s.containers[1].args.clone().unwrap();
        assert!(args.contains(&"--redis.addr=rediss://localhost:26379".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--redis.user")));
        assert!(
            !s.containers[0]
                .volume_mounts
                .clone()
                .unwrap()
                .iter()
                .any(|m| m.name == AUTH_VOLUME),
            "Sentinel itself does not read the exporter's files"
        );
    }

    #[test]
    fn network_policies_admit_only_scrapers_to_the_metrics_port() {
        let inst =
            test_spec("  metrics:\n    enabled: true\n    scraperNamespaceLabels: {team: obs}\n");
        let p = inst.network_policy.clone().unwrap();
        for np in crate::generate::network::network_policies(&inst, &p) {
            let rules = np.spec.unwrap().ingress.unwrap();
            assert_eq!(rules.len(), 2, "component ports, then the metrics port");
            assert!(
                !rules[0]
                    .ports
                    .iter()
                    .flatten()
                    .any(|p| p.port == Some(IntOrString::Int(9121)))
            );
            let m = &rules[1];
            assert_eq!(
                m.ports.clone().unwrap()[0].port,
                Some(IntOrString::Int(9121))
            );
            let from = &m.from.clone().unwrap()[0];
            assert_eq!(
                from.pod_selector.clone().unwrap().match_labels.unwrap()["app.kubernetes.io/name"],
                "prometheus"
            );
            assert_eq!(
                from.namespace_selector
                    .clone()
                    .unwrap()
                    .match_labels
                    .unwrap()["team"],
                "obs"
            );
        }
        let off = test_spec("");
        let p = off.network_policy.clone().unwrap();
        for np in crate::generate::network::network_policies(&off, &p) {
            assert_eq!(np.spec.unwrap().ingress.unwrap().len(), 1);
        }
    }

    #[test]
    fn without_auth_or_tls_nothing_is_mounted_that_does_not_exist() {
        let inst = test_spec(
            "  metrics:\n    enabled: true\n  auth:\n    enabled: false\n  tls:\n    enabled: false\n",
        );
        let p = pod(&inst, Component::Redis);
        assert!(p.containers[1].volume_mounts.is_none());
        assert!(!p.volumes.unwrap().iter().any(|v| v.name == AUTH_VOLUME));
        assert!(
            p.containers[1]
                .args
                .clone()
                .unwrap()
                .contains(&"--redis.addr=redis://localhost:6379".to_string())
        );
    }
}
