//! The PodMonitor (monitoring.coreos.com/v1): Prometheus Operator scrapes
//! the exporter port of every Redis and Sentinel pod of the instance.

use serde_norway::{Mapping, Value};

use super::Metrics;
use super::exporter::PORT_NAME;
use crate::ownership::meta;
use crate::spec::Instance;

pub const API_VERSION: &str = "monitoring.coreos.com/v1";

/// A monitoring.coreos.com/v1 object named after the instance, with the
/// generated metadata plus `metrics.monitorLabels`.
pub fn custom_object(inst: &Instance, m: &Metrics, kind: &str, spec: Value) -> Value {
    let mut md = meta(inst, inst.name.clone(), None);
    md.labels
        .get_or_insert_with(Default::default)
        .extend(m.monitor_labels.clone());
    let mut obj = Mapping::new();
    obj.insert("apiVersion".into(), API_VERSION.into());
    obj.insert("kind".into(), kind.into());
    obj.insert(
        "metadata".into(),
        serde_norway::to_value(&md).expect("ObjectMeta serializes"),
    );
    obj.insert("spec".into(), spec);
    Value::Mapping(obj)
}

/// The PodMonitor: every pod of the instance (Redis and Sentinel), port
/// `metrics`, plain HTTP (see docs/metrics.md).
pub fn pod_monitor(inst: &Instance, m: &Metrics) -> Value {
    let mut selector = inst.selector_labels(crate::spec::Component::Redis);
    selector.remove(crate::object::labels::COMPONENT);
    let spec = serde_norway::to_value(serde_json::json!({
        "selector": { "matchLabels": selector },
        "podMetricsEndpoints": [{
            "port": PORT_NAME,
            "path": "/metrics",
            "scheme": "http",
            "interval": "30s",
        }],
    }))
    .expect("JSON is YAML");
    custom_object(inst, m, "PodMonitor", spec)
}
