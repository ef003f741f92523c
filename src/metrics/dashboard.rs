//! An optional Grafana dashboard as a ConfigMap with the label Grafana's
//! dashboard sidecar looks for (`grafana_dashboard: "1"`): the series the
//! alerts use, one panel each, for this instance only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};

use super::rules::{CERT_EXPIRY_SERIES, migration_selector, selector};
use crate::ownership::meta;
use crate::spec::{Component, Instance};

/// Label (and value) Grafana's sidecar selects dashboard ConfigMaps by.
pub const SIDECAR_LABEL: (&str, &str) = ("grafana_dashboard", "1");

fn panel(id: u32, title: &str, exprs: &[(&str, String)], x: u32, y: u32) -> Value {
    let targets: Vec<Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, (legend, e))| {
            json!({"refId": ((b'A' + i as u8) as char).to_string(), "expr": e, "legendFormat": legend})
        })
        .collect();
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "targets": targets,
    })
}

/// The dashboard JSON.
pub fn dashboard(inst: &Instance) -> Value {
    let r = selector(inst, Component::Redis);
    let s = selector(inst, Component::Sentinel);
    let mut panels = vec![
        panel(
            1,
            "Masters (must be 1)",
            &[(
                "masters",
                format!("count(redis_instance_info{{{r},role=\"master\"}}) or vector(0)"),
            )],
            0,
            0,
        ),
        panel(
            2,
            "Replica links up",
            &[("{{pod}}", format!("redis_master_link_up{{{r}}}"))],
            12,
            0,
        ),
        panel(
            3,
            "Master named by each Sentinel",
            &[(
                "{{pod}}: {{master_address}}",
                format!("redis_sentinel_master_status{{{s}}}"),
            )],
            0,
            8,
        ),
        panel(
            4,
            "Healthy Sentinels / CKQUORUM",
            &[
                (
                    "{{pod}} ok sentinels",
                    format!("redis_sentinel_master_ok_sentinels{{{s}}}"),
                ),
                (
                    "{{pod}} ckquorum",
                    format!("redis_sentinel_master_ckquorum_status{{{s}}}"),
                ),
            ],
            12,
            8,
        ),
        panel(
            5,
            "Memory used / maxmemory",
            &[
                ("{{pod}} used", format!("redis_memory_used_bytes{{{r}}}")),
                ("{{pod}} max", format!("redis_memory_max_bytes{{{r}}}")),
            ],
            0,
            16,
        ),
        panel(
            6,
            "Replica lag (s), rejected connections (5m), certificate days left",
            &[
                (
                    "lag {{slave_ip}}",
                    format!("redis_connected_slave_lag_seconds{{{r}}}"),
                ),
                (
                    "rejected {{pod}}",
                    format!("increase(redis_rejected_connections_total{{{r}}}[5m])"),
                ),
                (
                    "{{certificate}} days",
                    format!(
                        "({CERT_EXPIRY_SERIES}{{namespace=\"{}\",redis_sentinel=\"{}\"}} - time()) / 86400",
                        inst.namespace, inst.name
                    ),
                ),
            ],
            12,
            16,
        ),
    ];
    if inst.migration.is_some() {
        let m = migration_selector(inst);
        panels.push(panel(
            7,
            "Migration: pod 0's link to the source (bytes behind: migrate-redis.sh status)",
            &[
                (
                    "link up {{master_host}}",
                    format!("redis_master_link_up{{{m}}}"),
                ),
                (
                    "seconds since the source last sent",
                    format!("redis_master_last_io_seconds_ago{{{m}}}"),
                ),
                (
                    "full sync in progress",
                    format!("redis_master_sync_in_progress{{{m}}}"),
                ),
            ],
            0,
            24,
        ));
    }
    json!({
        "uid": format!("redis-sentinel-{}-{}", inst.namespace, inst.name),
        "title": format!("Redis Sentinel {}/{}", inst.namespace, inst.name),
        "tags": ["redis", "redis-sentinel-fn"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource",
            "type": "datasource",
            "query": "prometheus",
        }]},
        "panels": panels,
    })
}

/// The dashboard ConfigMap `<name>-dashboard`.
pub fn configmap(inst: &Instance) -> ConfigMap {
    let mut md = meta(inst, format!("{}-dashboard", inst.name), None);
    md.labels
        .get_or_insert_with(Default::default)
        .insert(SIDECAR_LABEL.0.into(), SIDECAR_LABEL.1.into());
    let json = serde_json::to_string_pretty(&dashboard(inst)).expect("JSON values serialize");
    ConfigMap {
        metadata: md,
        data: Some(BTreeMap::from([(
            format!("redis-sentinel-{}.json", inst.name),
            json,
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    #[test]
    fn dashboard_selects_this_instance_and_is_small() {
        let inst = test_spec("  metrics:\n    enabled: true\n    grafanaDashboard: true\n");
        let cm = configmap(&inst);
        assert_eq!(cm.metadata.labels.unwrap()["grafana_dashboard"], "1");
        let text = cm.data.unwrap().into_values().next().unwrap();
        assert!(text.len() < 8 * 1024, "{} bytes", text.len());
        let v: Value = serde_json::from_str(&text).unwrap();
        for p in v["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                assert!(t["expr"].as_str().unwrap().contains("namespace=\"ns\""));
            }
        }
        assert_eq!(v["panels"].as_array().unwrap().len(), 6);
        let mig = test_spec(
            "  metrics:\n    enabled: true\n    grafanaDashboard: true\n  migration:\n    source:\n      standalone: {host: old-redis}\n",
        );
        let v = dashboard(&mig);
        let last = v["panels"].as_array().unwrap().last().unwrap().clone();
        assert!(last["title"].as_str().unwrap().starts_with("Migration"));
        assert!(
            last["targets"][0]["expr"]
                .as_str()
                .unwrap()
                .contains("pod=\"cache-redis-0\"")
        );
    }
}
