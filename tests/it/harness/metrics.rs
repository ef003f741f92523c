//! Exporter series as the alert rules see them: the Prometheus text format
//! parsed down to the series the rules use, scraped per pod, and written to
//! / read from capture files (`pod<TAB>series value` lines) that
//! tests/it/e2e_metrics.rs records and tests/it/metrics_rules.rs feeds to
//! `promtool test rules`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, ensure};

use super::cluster::Cluster;

/// The series the alert rules use (docs/metrics.md).
pub const RULE_SERIES: &[&str] = &[
    "redis_up",
    "redis_instance_info",
    "redis_connected_slaves",
    "redis_master_link_up",
    "redis_connected_slave_lag_seconds",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_rejected_connections_total",
    "redis_sentinel_master_status",
    "redis_sentinel_master_ckquorum_status",
    "redis_sentinel_master_ok_sentinels",
    "redis_sentinel_master_ok_slaves",
    "redis_sentinel_master_slaves",
    "redis_sentinel_master_sentinels",
];

/// Labels of `redis_instance_info` that change every run (dropped).
const VOLATILE_LABELS: &[&str] = &["os", "process_id", "run_id", "redis_build_id"];

/// One scrape: series (`name{labels}`) to value.
pub type Scrape = BTreeMap<String, f64>;
/// Scrapes of several pods, by pod name.
pub type Capture = BTreeMap<String, Scrape>;

/// Parses the Prometheus text format, keeping the [`RULE_SERIES`] only.
pub fn parse(text: &str) -> Scrape {
    let mut out = Scrape::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or_default();
        if !RULE_SERIES.contains(&name) {
            continue;
        }
        if let Ok(v) = value.parse::<f64>() {
            out.insert(strip_volatile(series), v);
        }
    }
    out
}

fn strip_volatile(series: &str) -> String {
    let Some((name, _)) = series.split_once('{') else {
        return series.to_string();
    };
    let kept: Vec<String> = labels(series)
        .into_iter()
        .filter(|(k, _)| !VOLATILE_LABELS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", kept.join(","))
}

/// The labels of `name{a="b",...}` (values unescaped only as far as the
/// exporter's values need: they hold no quotes).
pub fn labels(series: &str) -> Vec<(String, String)> {
    let Some((_, rest)) = series.split_once('{') else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut s = rest.trim_end_matches('}');
    while let Some((k, after)) = s.split_once("=\"") {
        let Some(end) = after.find('"') else { break };
        out.push((
            k.trim_start_matches(',').to_string(),
            after[..end].to_string(),
        ));
        s = &after[end + 1..];
    }
    out
}

/// The value of the first series named `name` whose labels contain every
/// `label="value"` of `with`.
pub fn value(s: &Scrape, name: &str, with: &[&str]) -> Option<f64> {
    s.iter()
        .find(|(k, _)| k.split('{').next() == Some(name) && with.iter().all(|w| k.contains(w)))
        .map(|(_, v)| *v)
}

/// Scrapes `/metrics` of the exporter in `pod` (port `port`) from inside
/// the pod's network namespace.
pub fn scrape(c: &Cluster, pod: &str, port: u16) -> Result<Scrape> {
    Ok(parse(&c.http_get(pod, port, "/metrics")?))
}

/// A capture as `pod<TAB>series value` lines.
pub fn to_text(all: &Capture) -> String {
    let mut out = String::new();
    for (pod, s) in all {
        for (k, v) in s {
            out.push_str(&format!("{pod}\t{k} {v}\n"));
        }
    }
    out
}

/// Reads a capture file written from [`to_text`].
pub fn read(path: &Path) -> Result<Capture> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "{} is missing: run UPDATE_METRICS_CAPTURE=1 cargo nextest run --test it -E 'test(/^e2e_metrics::/)'",
            path.display()
        )
    })?;
    let mut out = Capture::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (pod, rest) = line.split_once('\t').context("pod<TAB>series value")?;
        let (s, v) = rest.rsplit_once(' ').context("series value")?;
        out.entry(pod.to_string())
            .or_default()
            .insert(s.to_string(), v.parse()?);
    }
    ensure!(!out.is_empty(), "{} is empty", path.display());
    Ok(out)
}
