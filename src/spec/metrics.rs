//! The spec half of metrics (`spec.metrics`): defaults and checks, resolved
//! into [`Metrics`]. The output half (exporter sidecar, PodMonitor,
//! PrometheusRule, dashboard) is [`crate::metrics`].

use std::collections::BTreeMap;

use super::model::{MetricsSpec, Resources};
use super::validate::{label_key, label_value};
use crate::krm::FieldError;
use crate::object::labels;

/// The exporter image: `redis_exporter` v1.73.0, pinned by the digest of its
/// multi-arch index (a tag can be re-pushed, a digest cannot).
pub const DEFAULT_IMAGE: &str = "docker.io/oliver006/redis_exporter:v1.73.0@sha256:1a8f5e48b2af0fb02d182be3ddd623e7e39881b6464bdb5bf843b1f6d45ed050";

pub const DEFAULT_PORT: u16 = 9121;

/// Default seconds a replica's link may be down before `RedisReplicaLinkDown`.
pub const DEFAULT_LINK_DOWN_SECONDS: u32 = 30;

/// Default used/maxmemory ratio of `RedisMemoryNearMaxmemory`.
pub const DEFAULT_MEMORY_RATIO: f64 = 0.9;

/// Resolved metrics settings.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub image: String,
    pub port: u16,
    pub resources: Resources,
    pub scraper_pod_labels: BTreeMap<String, String>,
    pub scraper_namespace_labels: Option<BTreeMap<String, String>>,
    pub monitor_labels: BTreeMap<String, String>,
    pub pod_monitor: bool,
    pub prometheus_rule: bool,
    pub grafana_dashboard: bool,
    pub replica_link_down_seconds: u32,
    pub memory_ratio: f64,
}

fn default_resources() -> Resources {
    Resources {
        requests: [("cpu", "10m"), ("memory", "16Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        limits: [("memory", "64Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }
}

/// Applies defaults and checks `spec.metrics`; errors are (field below
/// `spec.`, message). `ports` are the ports already taken.
pub fn resolve(m: &MetricsSpec, ports: &[(&str, u16)]) -> Result<Option<Metrics>, Vec<FieldError>> {
    let mut errs: Vec<FieldError> = Vec::new();
    let mut err = |f: &str, msg: String| errs.push(FieldError::new(format!("metrics.{f}"), msg));
    if !m.enabled {
        let set = [
            ("podMonitor", m.pod_monitor),
            ("prometheusRule", m.prometheus_rule),
            ("grafanaDashboard", m.grafana_dashboard),
        ];
        for (f, on) in set {
            if on {
                err(
                    f,
                    format!("metrics.{f} needs the exporters: set metrics.enabled: true"),
                );
            }
        }
        return if errs.is_empty() { Ok(None) } else { Err(errs) };
    }
    let image = m.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    if image.is_empty()
        || image.len() > 512
        || image.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        err(
            "image",
            "image must be a non-empty image reference without spaces".into(),
        );
    }
    let port = m.port.unwrap_or(DEFAULT_PORT);
    if port == 0 {
        err("port", "port 0 is not a valid port".into());
    } else if let Some((other, _)) = ports.iter().find(|(_, p)| *p == port) {
        err("port", format!("port {port} is already used by {other}"));
    }
    let scraper_pod_labels = m
        .scraper_pod_labels
        .clone()
        .unwrap_or_else(|| BTreeMap::from([(labels::NAME.into(), "prometheus".into())]));
    if scraper_pod_labels.is_empty() {
        err(
            "scraperPodLabels",
            "scraperPodLabels must not be empty: it would admit every pod to the metrics port"
                .into(),
        );
    }
    for (field, map) in [
        ("scraperPodLabels", Some(&scraper_pod_labels)),
        (
            "scraperNamespaceLabels",
            m.scraper_namespace_labels.as_ref(),
        ),
        ("monitorLabels", Some(&m.monitor_labels)),
    ] {
        for (k, v) in map.into_iter().flatten() {
            if let Err(e) = label_key(k).and_then(|_| label_value(v)) {
                err(&format!("{field}.{k}"), format!("label {k:?}: {v:?} {e}"));
            }
        }
    }
    let link = m
        .replica_link_down_seconds
        .unwrap_or(DEFAULT_LINK_DOWN_SECONDS);
    if !(1..=86_400).contains(&link) {
        err(
            "replicaLinkDownSeconds",
            "replicaLinkDownSeconds must be between 1 and 86400".into(),
        );
    }
    let ratio = m.memory_ratio.unwrap_or(DEFAULT_MEMORY_RATIO);
    if !(ratio > 0.0 && ratio <= 1.0) {
        err(
            "memoryRatio",
            format!("memoryRatio {ratio} must be above 0 and at most 1"),
        );
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Some(Metrics {
        image,
        port,
        resources: m.resources.clone().unwrap_or_else(default_resources),
        scraper_pod_labels,
        scraper_namespace_labels: m.scraper_namespace_labels.clone(),
        monitor_labels: m.monitor_labels.clone(),
        pod_monitor: m.pod_monitor,
        prometheus_rule: m.prometheus_rule,
        grafana_dashboard: m.grafana_dashboard,
        replica_link_down_seconds: link,
        memory_ratio: ratio,
    }))
}
