//! `check`: verifies a rendered topology against itself, after whatever
//! came between the function and the cluster (kustomize transformers,
//! patches, hand edits).
//!
//! The function writes names into places no transformer rewrites: the
//! namespace, StatefulSet and headless Service names and replica counts in
//! the start scripts, and every DNS name in the certificates' SANs. A
//! kustomize `namespace:`, `namePrefix:`, `nameSuffix:` or `replicas:`
//! applied after the generator changes the objects but not those copies, so
//! pods would dial names that do not exist or that their certificates do not
//! cover. `check` reads the final manifests and compares, for every instance
//! (objects carrying the `fn.redis-sentinel.dev/instance` annotation):
//!
//! - namespaces of all objects, and the namespace in the start scripts;
//! - StatefulSet names and `serviceName` against the names in the scripts,
//!   and that the headless Service exists and is headless;
//! - Service, StatefulSet and PodDisruptionBudget selectors against the pod
//!   template labels (and that no Service selects the other component);
//! - replica counts, ports and the Sentinel quorum against the scripts;
//! - that every ConfigMap and Secret a pod mounts is in the output;
//! - that each server certificate (parsed with x509-parser) has a SAN for
//!   every name clients and peers dial: each pod's DNS name, both Services
//!   in short and qualified forms.
//!
//! An instance with `spec.migration` also gets an `info` result saying
//! which step it is at (sync, cut-over asked) and from which source.
//!
//! Each fault is an `error` result naming the fix. It runs as
//! `redis-sentinel-fn check` (a YAML stream or a ResourceList) and as a KRM
//! validator (kustomize `validators:`, kpt `pipeline.validators`) when the
//! functionConfig is a `RedisSentinelCheck`; then the items pass through
//! unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;
use x509_parser::prelude::*;

use crate::certs::reuse::secret_data;
use crate::krm::{ItemExt, KrmResult, ResourceList, ResourceRef};
use crate::ownership::{INSTANCE_ANNOTATION, annotation};
use crate::spec::advisories;
use crate::spec::model::API_VERSION;
use crate::spec::server::{Server, ServerKind, Version};

/// Kind of the functionConfig that selects check mode in KRM mode.
pub const KIND: &str = "RedisSentinelCheck";

const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
const COMPONENTS: [&str; 2] = ["redis", "sentinel"];

/// Whether a functionConfig asks for check mode.
pub fn is_check_config(fc: &Value) -> bool {
    fc.str_at(&["kind"]) == Some(KIND)
}

/// KRM mode: the items unchanged, plus the check's results.
pub fn run_krm(mut rl: ResourceList) -> ResourceList {
    if let Some(fc) = &rl.function_config {
        let api = fc.str_at(&["apiVersion"]).unwrap_or_default();
        if api != API_VERSION {
            rl.results.push(
                KrmResult::error(format!(
                    "{KIND} apiVersion {api:?} is not supported; use {API_VERSION}"
                ))
                .with_field("functionConfig.apiVersion"),
            );
            return rl;
        }
    }
    let results = check(&rl.items);
    rl.results.extend(results);
    rl
}

/// KRM mode entry: `Some` when the input is a ResourceList whose
/// functionConfig is a [`KIND`] (the caller then skips rendering).
pub fn dispatch(input: &[u8]) -> Option<ResourceList> {
    // Cheap test first: most inputs are render requests. (`str::contains`
    // is a two-way search, far cheaper on large lists than comparing every
    // window; input that is not UTF-8 is no ResourceList anyway.)
    if !std::str::from_utf8(input).is_ok_and(|s| s.contains(KIND)) {
        return None;
    }
    let rl = ResourceList::from_bytes(input).ok()?;
    if !rl.function_config.as_ref().is_some_and(is_check_config) {
        return None;
    }
    Some(run_krm(rl))
}

/// `redis-sentinel-fn check` on parsed documents: a single ResourceList
/// gives a ResourceList back (items unchanged, results added); any other
/// stream gives the results as a YAML list. Returns the output and whether
/// there was an error.
pub fn run_cli(docs: Vec<Value>) -> anyhow::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    if docs.len() == 1 && docs[0].str_at(&["kind"]) == Some(crate::krm::KIND) {
        let mut rl = ResourceList::from_value(docs.into_iter().next().unwrap_or_default())?;
        let results = check(&rl.items);
        rl.results.extend(results);
        rl.write(&mut out)?;
        return Ok((out, rl.has_errors()));
    }
    let mut results = check(&docs);
    if !docs
        .iter()
        .any(|d| annotation(d, INSTANCE_ANNOTATION).is_some())
    {
        // A pipeline that checks the wrong path must not pass.
        results = vec![KrmResult::error(format!(
            "nothing to check: none of the {} documents read is an object rendered by redis-sentinel-fn (none carries the {INSTANCE_ANNOTATION} annotation). `check` reads rendered output, not a spec: e.g. `redis-sentinel-fn render -f spec.yaml | redis-sentinel-fn check`",
            docs.len()
        ))];
    }
    let failed = results
        .iter()
        .any(|r| r.severity == crate::krm::Severity::Error);
    serde_norway::to_writer(&mut out, &results)?;
    Ok((out, failed))
}

/// One line per error or warning, for people (standard error; kustomize
/// shows a failing function's standard error, not its results).
pub fn human(results: &[KrmResult]) -> String {
    let mut s = String::new();
    for r in results
        .iter()
        .filter(|r| r.severity != crate::krm::Severity::Info)
    {
        let level = match r.severity {
            crate::krm::Severity::Error => "error",
            crate::krm::Severity::Warning => "warning",
            crate::krm::Severity::Info => "info",
        };
        let what = r
            .resource_ref
            .as_ref()
            .map(|rr| match &rr.namespace {
                Some(ns) => format!("{} {ns}/{}: ", rr.kind, rr.name),
                None => format!("{} {}: ", rr.kind, rr.name),
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "{level}: {}\n",
            crate::krm::escape_text(&format!("{what}{}", r.message))
        ));
    }
    s
}

/// Checks every instance found among `items`. Returns one `error` result
/// per fault and an `info` summary (a `warning` when no instance is found).
pub fn check(items: &[Value]) -> Vec<KrmResult> {
    let mut instances: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for item in items {
        if let Some(key) = annotation(item, INSTANCE_ANNOTATION) {
            instances.entry(key.to_string()).or_default().push(item);
        }
    }
    if instances.is_empty() {
        return vec![KrmResult::warning(format!(
            "no objects rendered by redis-sentinel-fn found (none carries the {INSTANCE_ANNOTATION} annotation): nothing checked"
        ))];
    }
    let mut out = Vec::new();
    for (key, objs) in &instances {
        let mut c = Checker {
            key,
            objs,
            all: items,
            results: Vec::new(),
            seen: BTreeSet::new(),
        };
        c.run();
        let errors = c
            .results
            .iter()
            .filter(|r| r.severity == crate::krm::Severity::Error)
            .count();
        let warnings = c.results.len() - errors;
        out.extend(c.results);
        out.extend(crate::config::migration::check_note(key, objs));
        out.push(KrmResult::info(match (errors, warnings) {
            (0, 0) => format!(
                "redis-sentinel-fn check: instance {key} ({} objects) is consistent",
                objs.len()
            ),
            (0, w) => format!(
                "redis-sentinel-fn check: instance {key} ({} objects) is consistent, {w} warning(s)",
                objs.len()
            ),
            (e, w) => format!("redis-sentinel-fn check: instance {key}: {e} error(s), {w} warning(s)"),
        }));
    }
    out
}

/// `KEY='value'` settings at the top of a start script (single-quoted
/// words, `'\''` for a quote; `KEY="value"` from earlier renders too).
fn script_vars(script: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in script.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            continue;
        }
        let value = if let Some(q) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            q.replace("'\\''", "'")
        } else if let Some(q) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            q.to_string()
        } else {
            continue;
        };
        vars.entry(k.to_string()).or_insert(value);
    }
    vars
}

fn labels_at(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_string(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

/// `selector` selects pods labelled `labels` (every pair present).
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn fmt_labels(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

fn kind(v: &Value) -> &str {
    v.str_at(&["kind"]).unwrap_or_default()
}

fn name(v: &Value) -> &str {
    v.str_at(&["metadata", "name"]).unwrap_or_default()
}

fn namespace(v: &Value) -> Option<&str> {
    v.str_at(&["metadata", "namespace"])
}

fn resource_ref(v: &Value) -> ResourceRef {
    ResourceRef {
        api_version: v.str_at(&["apiVersion"]).unwrap_or_default().to_string(),
        kind: kind(v).to_string(),
        name: name(v).to_string(),
        namespace: namespace(v).map(str::to_string),
    }
}

/// `*.b.c` matches `a.b.c` (one label), as TLS clients match wildcards.
fn san_covers(sans: &BTreeSet<String>, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if sans.contains(&host) {
        return true;
    }
    host.split_once('.')
        .is_some_and(|(_, rest)| sans.contains(&format!("*.{rest}")))
}

/// DNS SANs of the first certificate in `pem`.
fn dns_sans(pem: &str) -> Result<BTreeSet<String>, String> {
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

/// How a name differs from the one the function rendered, as kustomize's
/// `namePrefix:` / `nameSuffix:` change it.
fn rename_fix(rendered_instance: &str, expected: &str, actual: &str) -> String {
    let prefix = actual
        .find(expected)
        .map(|i| &actual[..i])
        .unwrap_or_default();
    let suffix = actual
        .find(expected)
        .map(|i| &actual[i + expected.len()..])
        .unwrap_or_default();
    if !actual.contains(expected) || (prefix.is_empty() && suffix.is_empty()) {
        return format!(
            "do not rename objects of the topology after rendering (kustomize namePrefix/nameSuffix, patches): name the instance in the RedisSentinel spec (metadata.name or spec.name) and render again (the function rendered {expected:?}, the output has {actual:?})"
        );
    }
    let mut fix = Vec::new();
    if !prefix.is_empty() {
        fix.push(format!(
            "set metadata.name: {prefix}{rendered_instance} in the RedisSentinel spec instead of kustomize `namePrefix: {prefix}` (the instance name prefixes every object name)"
        ));
    }
    if !suffix.is_empty() {
        fix.push(format!(
            "remove kustomize `nameSuffix: {suffix}` from the kustomization that includes the RedisSentinel generator (a suffix cannot be rendered into the pod DNS names and certificates; apply it in a kustomization that does not include the generator, or choose the name with metadata.name)"
        ));
    }
    fix.join("; and ")
}

struct Checker<'a> {
    /// `<namespace>/<name>` the instance was rendered as.
    key: &'a str,
    objs: &'a [&'a Value],
    /// Every input item: Secrets made outside the function (cert-manager,
    /// the service CA, the user) do not carry the instance annotation.
    all: &'a [Value],
    results: Vec<KrmResult>,
    /// Script settings already reported (both scripts hold the same ones).
    seen: BTreeSet<String>,
}

impl<'a> Checker<'a> {
    fn rendered_ns(&self) -> &str {
        self.key.split_once('/').map(|(ns, _)| ns).unwrap_or("")
    }

    fn rendered_name(&self) -> &str {
        self.key.split_once('/').map(|(_, n)| n).unwrap_or(self.key)
    }

    fn error(&mut self, obj: &Value, field: &str, message: String) {
        let mut r = KrmResult::error(message).with_ref(resource_ref(obj));
        if !field.is_empty() {
            r = r.with_field(field);
        }
        self.results.push(r);
    }

    /// Reports a fault about a start-script setting once, however many
    /// scripts carry that setting.
    fn script_error(&mut self, cm: &Value, field: &str, key: String, message: String) {
        if self.seen.insert(key) {
            self.error(cm, field, message);
        }
    }

    fn find(&self, kind_: &str, name_: &str, ns: Option<&str>) -> Option<&'a Value> {
        self.objs
            .iter()
            .copied()
            .find(|o| kind(o) == kind_ && name(o) == name_ && namespace(o) == ns)
    }

    /// The object a reference names; when it is not there but an object of
    /// the instance carries the name with a prefix or suffix added, that
    /// object, after reporting the rename (kustomize renames objects in its
    /// transformers and fixes references to them only at the end of the
    /// build, so a check running as a transformer sees the old reference).
    fn resolve(&mut self, kind_: &str, name_: &str, ns: Option<&str>) -> Option<&'a Value> {
        if let Some(o) = self.find(kind_, name_, ns) {
            return Some(o);
        }
        let renamed: Vec<&'a Value> = self
            .objs
            .iter()
            .copied()
            .filter(|o| kind(o) == kind_ && namespace(o) == ns && name(o).contains(name_))
            .collect();
        let [obj] = renamed[..] else {
            return None;
        };
        let fix = rename_fix(self.rendered_name(), name_, name(obj));
        let message = format!(
            "{kind_} {name_:?} was renamed to {:?} after rendering; the start scripts and certificates still use the rendered names: {fix}",
            name(obj)
        );
        self.script_error(
            obj,
            "metadata.name",
            format!("rename:{kind_}:{name_}"),
            message,
        );
        Some(obj)
    }

    fn of_component(&self, kind_: &str, component: &str) -> Vec<&'a Value> {
        self.objs
            .iter()
            .copied()
            .filter(|o| {
                kind(o) == kind_
                    && o.str_at(&["metadata", "labels", COMPONENT_LABEL]) == Some(component)
            })
            .collect()
    }

    fn namespace_fix(&self, actual: &str) -> String {
        format!(
            "set `namespace: {actual}` in the RedisSentinel spec (metadata.namespace or spec.namespace) instead of kustomize `namespace:` (the namespace is part of every pod DNS name in the start scripts and of the certificates' SANs)"
        )
    }

    fn run(&mut self) {
        self.check_namespaces();
        let mut scripts: BTreeMap<&str, (&'a Value, BTreeMap<String, String>)> = BTreeMap::new();
        let mut statefulsets: BTreeMap<&str, &'a Value> = BTreeMap::new();
        for comp in COMPONENTS {
            let sts = self.of_component("StatefulSet", comp);
            let Some(sts) = sts.first().copied() else {
                let first = self.objs[0];
                self.error(
                    first,
                    "",
                    format!(
                        "instance {} has no {comp} StatefulSet (label {COMPONENT_LABEL}={comp}) in the output: render the whole topology, do not filter it",
                        self.key
                    ),
                );
                continue;
            };
            statefulsets.insert(comp, sts);
            if let Some(s) = self.check_mounts(sts, comp) {
                scripts.insert(comp, s);
            }
        }
        for comp in COMPONENTS {
            let (Some(sts), Some((cm, vars))) = (statefulsets.get(comp), scripts.get(comp)) else {
                continue;
            };
            self.check_script(comp, cm, vars, &statefulsets);
            self.check_services(comp, sts, &statefulsets);
            self.check_pdb(comp, sts);
            self.check_network_policies(comp, sts, &statefulsets);
            self.check_certificate(comp, sts, vars);
        }
        for comp in COMPONENTS {
            if let Some(sts) = statefulsets.get(comp) {
                self.check_image(comp, sts);
            }
        }
        self.check_topology(&statefulsets);
    }

    /// Every object in one namespace, the one the function rendered for.
    fn check_namespaces(&mut self) {
        let rendered = self.rendered_ns().to_string();
        let mut moved: BTreeMap<String, Vec<&'a Value>> = BTreeMap::new();
        for o in self.objs {
            let ns = namespace(o).unwrap_or("");
            // Consumer Secrets go to the consumer's namespace.
            let consumer = kind(o) == "Secret"
                && crate::ownership::annotation(o, crate::consumers::CONSUMER_ANNOTATION).is_some();
            if ns != rendered && !consumer {
                moved.entry(ns.to_string()).or_default().push(o);
            }
        }
        for (ns, objs) in moved {
            let names: Vec<String> = objs
                .iter()
                .take(4)
                .map(|o| format!("{}/{}", kind(o), name(o)))
                .collect();
            let more = if objs.len() > 4 {
                format!(" and {} more", objs.len() - 4)
            } else {
                String::new()
            };
            let (what, fix) = if ns.is_empty() {
                (
                    "have no namespace".to_string(),
                    format!(
                        "keep metadata.namespace as rendered ({rendered}), or set the namespace in the RedisSentinel spec"
                    ),
                )
            } else {
                (format!("are in namespace {ns:?}"), self.namespace_fix(&ns))
            };
            self.error(
                objs[0],
                "metadata.namespace",
                format!(
                    "{} object(s) of instance {} ({}{more}) {what}, but the topology was rendered for namespace {rendered:?}: {fix}",
                    objs.len(),
                    self.key,
                    names.join(", ")
                ),
            );
        }
    }

    /// The ConfigMaps and Secrets a StatefulSet mounts exist; returns the
    /// config ConfigMap and its start-script settings.
    fn check_mounts(
        &mut self,
        sts: &'a Value,
        comp: &str,
    ) -> Option<(&'a Value, BTreeMap<String, String>)> {
        let ns = namespace(sts);
        let mut config = None;
        let volumes = get(sts, &["spec", "template", "spec", "volumes"])
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (i, v) in volumes.iter().enumerate() {
            let (k, n, field) = if let Some(n) = v.str_at(&["configMap", "name"]) {
                ("ConfigMap", n, "configMap.name")
            } else if let Some(n) = v.str_at(&["secret", "secretName"]) {
                ("Secret", n, "secret.secretName")
            } else {
                continue;
            };
            if v.str_at(&["name"])
                .is_some_and(crate::config::migration::is_volume)
            {
                // The migration source's Secrets and CA: the user's objects.
                continue;
            }
            match self.resolve(k, n, ns) {
                Some(obj) => {
                    if v.str_at(&["name"]) == Some("config") {
                        config = Some(obj);
                    }
                }
                // Made outside the function (sources::EXTERNAL_SECRETS_ANNOTATION):
                // checked when it is among the items.
                None if k == "Secret" && external_secrets(sts).contains(&n) => {
                    self.check_external_keys(sts, v, n);
                }
                None => self.error(
                    sts,
                    &format!("spec.template.spec.volumes[{i}].{field}"),
                    format!(
                        "StatefulSet {} mounts {k} {n:?}, which is not in the output (in namespace {}): render and apply the whole topology, and rename it only through the RedisSentinel spec",
                        name(sts),
                        ns.unwrap_or("(none)")
                    ),
                ),
            }
        }
        let cm = config?;
        let script_key = format!("start-{comp}.sh");
        let Some(script) = cm.str_at(&["data", &script_key]) else {
            self.error(
                cm,
                &format!("data.{script_key}"),
                format!(
                    "ConfigMap {} has no {script_key}: it was edited after rendering; render again",
                    name(cm)
                ),
            );
            return None;
        };
        Some((cm, script_vars(script)))
    }

    /// The names, namespace, counts and ports in a start script match the
    /// objects.
    fn check_script(
        &mut self,
        comp: &str,
        cm: &'a Value,
        vars: &BTreeMap<String, String>,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let field = format!("data.start-{comp}.sh");
        let inst = self.rendered_name().to_string();
        if let Some(sts) = statefulsets.values().next() {
            let actual = namespace(sts).unwrap_or("");
            if let Some(ns) = vars.get("NAMESPACE")
                && !actual.is_empty()
                && ns != actual
            {
                let fix = self.namespace_fix(actual);
                self.script_error(
                    cm,
                    &field,
                    format!("NAMESPACE={ns}"),
                    format!(
                        "the start scripts dial pods in namespace {ns:?} (NAMESPACE) but the StatefulSets are in {actual:?}: {fix}"
                    ),
                );
            }
        }
        for (other, sts) in statefulsets {
            let up = other.to_ascii_uppercase();
            let sts_name = name(sts);
            if let Some(want) = vars.get(&format!("{up}_STS"))
                && want != sts_name
            {
                let fix = rename_fix(&inst, want, sts_name);
                self.script_error(
                    cm,
                    &field,
                    format!("{up}_STS={want}"),
                    format!(
                        "the start scripts expect the {other} StatefulSet to be named {want:?} ({up}_STS; pod names and DNS names derive from it) but it is {sts_name:?}: {fix}"
                    ),
                );
            }
            let service_name = sts.str_at(&["spec", "serviceName"]).unwrap_or_default();
            if let Some(want) = vars.get(&format!("{up}_HEADLESS"))
                && want != service_name
            {
                let fix = rename_fix(&inst, want, service_name);
                self.script_error(
                    cm,
                    &field,
                    format!("{up}_HEADLESS={want}"),
                    format!(
                        "the start scripts dial {other} pods under headless Service {want:?} ({up}_HEADLESS) but StatefulSet {sts_name} has serviceName {service_name:?}: {fix}"
                    ),
                );
            }
            if let Some(want) = vars.get(&format!("{up}_PORT")) {
                let ports = container_ports(sts);
                if !ports.is_empty() && !ports.iter().any(|(_, p)| p == want) {
                    self.script_error(
                        cm,
                        &field,
                        format!("{up}_PORT={want}"),
                        format!(
                            "the start scripts dial {other} on port {want} ({up}_PORT) but StatefulSet {sts_name}'s containers listen on {}: set {other}.port in the RedisSentinel spec instead of patching ports",
                            ports
                                .iter()
                                .map(|(n, p)| format!("{n}={p}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// The topology ConfigMap (pod counts and quorum, read by the pods at
    /// run time) matches the StatefulSets' replica counts.
    fn check_topology(&mut self, statefulsets: &BTreeMap<&str, &'a Value>) {
        let Some(cm) = statefulsets.values().find_map(|sts| {
            let volumes = get(sts, &["spec", "template", "spec", "volumes"])?.as_sequence()?;
            let v = volumes
                .iter()
                .find(|v| v.str_at(&["name"]) == Some(crate::config::topology::VOLUME))?;
            self.find(
                "ConfigMap",
                v.str_at(&["configMap", "name"])?,
                namespace(sts),
            )
        }) else {
            return;
        };
        let value = |key: &str| {
            cm.str_at(&["data", key])
                .and_then(|v| v.parse::<u64>().ok())
        };
        for (other, sts) in statefulsets {
            let key = format!("{other}-replicas");
            let sts_name = name(sts);
            let replicas = get(sts, &["spec", "replicas"])
                .and_then(Value::as_u64)
                .unwrap_or(1);
            if value(&key) != Some(replicas) {
                let want = cm
                    .str_at(&["data", &key])
                    .unwrap_or("(missing)")
                    .to_string();
                self.error(
                    cm,
                    &format!("data.{key}"),
                    format!(
                        "the topology ConfigMap {} says {want} {other} pod(s) ({key}) but StatefulSet {sts_name} has {replicas}: set {other}.replicas: {replicas} in the RedisSentinel spec instead of kustomize `replicas:` or a patch (the pods find their peers, and the Sentinels their quorum, through that ConfigMap)",
                        name(cm)
                    ),
                );
            }
        }
        if let (Some(q), Some(sts)) = (
            cm.str_at(&["data", crate::config::topology::SENTINEL_QUORUM]),
            statefulsets.get("sentinel"),
        ) {
            let replicas = get(sts, &["spec", "replicas"])
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let q: u64 = q.parse().unwrap_or(0);
            if q == 0 || q > replicas {
                self.error(
                    cm,
                    &format!("data.{}", crate::config::topology::SENTINEL_QUORUM),
                    format!(
                        "Sentinel quorum {q} is out of range for {replicas} Sentinel pod(s) (1..={replicas}): no failover can ever be agreed; set sentinel.replicas and sentinel.quorum in the RedisSentinel spec"
                    ),
                );
            }
        }
    }

    /// The headless Service named by serviceName exists and is headless;
    /// every Service of the component selects its pods and not the others.
    fn check_services(
        &mut self,
        comp: &str,
        sts: &'a Value,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let sts_name = name(sts).to_string();
        let ns = namespace(sts);
        let pod_labels = labels_at(get(sts, &["spec", "template", "metadata", "labels"]));
        let sel = labels_at(get(sts, &["spec", "selector", "matchLabels"]));
        if !selects(&sel, &pod_labels) {
            self.error(
                sts,
                "spec.selector.matchLabels",
                format!(
                    "StatefulSet {sts_name}'s selector {} does not match its pod template labels {}: a label transformer was applied to only one of them; apply labels to selectors and templates alike (kustomize commonLabels / labels with includeSelectors and includeTemplates) or set labels in the RedisSentinel spec",
                    fmt_labels(&sel),
                    fmt_labels(&pod_labels)
                ),
            );
        }
        let service_name = sts
            .str_at(&["spec", "serviceName"])
            .unwrap_or_default()
            .to_string();
        match self.resolve("Service", &service_name, ns) {
            None => self.error(
                sts,
                "spec.serviceName",
                format!(
                    "StatefulSet {sts_name} names headless Service {service_name:?}, which is not in the output: the pods get no DNS names; render and apply the whole topology"
                ),
            ),
            Some(svc) => {
                if svc.str_at(&["spec", "clusterIP"]) != Some("None") {
                    self.error(
                        svc,
                        "spec.clusterIP",
                        format!(
                            "Service {service_name} governs StatefulSet {sts_name} but is not headless (clusterIP: None): the pods get no stable DNS names; keep it as rendered"
                        ),
                    );
                }
            }
        }
        for svc in self.of_component("Service", comp) {
            let svc_sel = labels_at(get(svc, &["spec", "selector"]));
            if !selects(&svc_sel, &pod_labels) {
                self.error(
                    svc,
                    "spec.selector",
                    format!(
                        "Service {}'s selector {} does not select the {comp} pods (labels {}): it has no endpoints; apply label transformers to selectors and pod templates alike, or set labels in the RedisSentinel spec",
                        name(svc),
                        fmt_labels(&svc_sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
            for (other, other_sts) in statefulsets {
                if *other == comp {
                    continue;
                }
                let other_labels =
                    labels_at(get(other_sts, &["spec", "template", "metadata", "labels"]));
                if selects(&svc_sel, &other_labels) {
                    self.error(
                        svc,
                        "spec.selector",
                        format!(
                            "Service {}'s selector {} also selects the {other} pods: clients would reach the wrong process; keep the rendered selectors",
                            name(svc),
                            fmt_labels(&svc_sel)
                        ),
                    );
                }
            }
        }
    }

    fn check_pdb(&mut self, comp: &str, sts: &'a Value) {
        let pod_labels = labels_at(get(sts, &["spec", "template", "metadata", "labels"]));
        for pdb in self.of_component("PodDisruptionBudget", comp) {
            let sel = labels_at(get(pdb, &["spec", "selector", "matchLabels"]));
            if !selects(&sel, &pod_labels) {
                self.error(
                    pdb,
                    "spec.selector.matchLabels",
                    format!(
                        "PodDisruptionBudget {}'s selector {} does not select the {comp} pods (labels {}): the pods are unprotected; apply label transformers to selectors and pod templates alike",
                        name(pdb),
                        fmt_labels(&sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
        }
    }

    /// A component's NetworkPolicy applies to its pods and still admits the
    /// topology's own pods (peers that name a component must select it).
    fn check_network_policies(
        &mut self,
        comp: &str,
        sts: &'a Value,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let pod_labels = labels_at(get(sts, &["spec", "template", "metadata", "labels"]));
        for np in self.of_component("NetworkPolicy", comp) {
            let sel = labels_at(get(np, &["spec", "podSelector", "matchLabels"]));
            if !selects(&sel, &pod_labels) {
                self.error(
                    np,
                    "spec.podSelector.matchLabels",
                    format!(
                        "NetworkPolicy {}'s podSelector {} does not select the {comp} pods (labels {}): the policy protects nothing; apply label transformers to selectors and pod templates alike",
                        name(np),
                        fmt_labels(&sel),
                        fmt_labels(&pod_labels)
                    ),
                );
            }
            let rules = get(np, &["spec", "ingress"])
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default();
            for (i, rule) in rules.iter().enumerate() {
                let peers = rule
                    .get("from")
                    .and_then(Value::as_sequence)
                    .cloned()
                    .unwrap_or_default();
                for (j, peer) in peers.iter().enumerate() {
                    if peer.get("namespaceSelector").is_some() {
                        continue;
                    }
                    let peer_sel = labels_at(get(peer, &["podSelector", "matchLabels"]));
                    let Some(target) = peer_sel.get(COMPONENT_LABEL) else {
                        self.check_client_peer(np, i, j, &peer_sel, statefulsets);
                        continue;
                    };
                    let Some(target_sts) = statefulsets.get(target.as_str()) else {
                        continue;
                    };
                    let target_labels =
                        labels_at(get(target_sts, &["spec", "template", "metadata", "labels"]));
                    if !selects(&peer_sel, &target_labels) {
                        self.error(
                            np,
                            &format!("spec.ingress[{i}].from[{j}].podSelector.matchLabels"),
                            format!(
                                "NetworkPolicy {} admits {target} pods by {} but they are labelled {}: {target} cannot reach {comp}; apply label transformers to selectors and pod templates alike",
                                name(np),
                                fmt_labels(&peer_sel),
                                fmt_labels(&target_labels)
                            ),
                        );
                    }
                }
            }
        }
    }

    /// A client peer of a NetworkPolicy that also requires a label which
    /// every object of the instance and every StatefulSet selector carries:
    /// kustomize `commonLabels` (or `labels` with `includeSelectors`) put it
    /// there, into the client selector too. Client pods outside the
    /// kustomization lack it and are cut off: a warning, since clients in the
    /// same kustomization got it as well.
    fn check_client_peer(
        &mut self,
        np: &Value,
        rule: usize,
        peer: usize,
        peer_sel: &BTreeMap<String, String>,
        statefulsets: &BTreeMap<&str, &'a Value>,
    ) {
        let added: BTreeMap<&String, &String> = peer_sel
            .iter()
            .filter(|(k, v)| {
                self.objs
                    .iter()
                    .all(|o| labels_at(get(o, &["metadata", "labels"])).get(*k) == Some(*v))
                    && statefulsets.values().all(|sts| {
                        labels_at(get(sts, &["spec", "selector", "matchLabels"])).get(*k)
                            == Some(*v)
                    })
            })
            .collect();
        if added.is_empty() {
            return;
        }
        let added: BTreeMap<String, String> = added
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let key = format!("client-peer:{}:{}", name(np), fmt_labels(&added));
        if !self.seen.insert(key) {
            return;
        }
        self.results.push(
            KrmResult::warning(format!(
                "NetworkPolicy {} admits client pods only if they are labelled {}: a label transformer (kustomize commonLabels, or labels with includeSelectors) added {} to every podSelector, the client selector too. Client pods outside this kustomization must carry it, or add the label with `labels:` and `includeSelectors: false` (selectors need no extra label)",
                name(np),
                fmt_labels(peer_sel),
                fmt_labels(&added)
            ))
            .with_ref(resource_ref(np))
            .with_field(format!("spec.ingress[{rule}].from[{peer}].podSelector.matchLabels")),
        );
    }

    /// The component's container does not run a server version with a
    /// published advisory ([`crate::spec::advisories`]): a warning.
    fn check_image(&mut self, comp: &str, sts: &'a Value) {
        let containers = get(sts, &["spec", "template", "spec", "containers"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten();
        for (i, c) in containers.enumerate() {
            if c.get("name").and_then(Value::as_str) != Some(comp) {
                continue;
            }
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            let (Some(kind), Some(version)) =
                (ServerKind::of_image(image), Version::of_image(image))
            else {
                continue;
            };
            if let Some(w) = advisories::warning(&Server { kind, version }) {
                self.results.push(
                    KrmResult::warning(format!("{comp} container: {w}"))
                        .with_ref(resource_ref(sts))
                        .with_field(format!("spec.template.spec.containers[{i}].image")),
                );
            }
        }
    }

    /// The server certificate a component mounts covers every name that
    /// clients and peers dial, as the objects are named now.
    fn check_certificate(&mut self, comp: &str, sts: &'a Value, vars: &BTreeMap<String, String>) {
        let ns = namespace(sts).unwrap_or("default").to_string();
        let Some(secret_name) = get(sts, &["spec", "template", "spec", "volumes"])
            .and_then(Value::as_sequence)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.str_at(&["name"]) == Some("tls"))
                    .and_then(|v| v.str_at(&["secret", "secretName"]))
            })
        else {
            return; // TLS disabled
        };
        let external = external_secrets(sts).contains(&secret_name);
        let secret = if external {
            // Made outside the function: checked when it is among the items.
            let found = self.all.iter().find(|o| {
                kind(o) == "Secret" && name(o) == secret_name && namespace(o) == namespace(sts)
            });
            let Some(found) = found else {
                return;
            };
            self.check_external_secret(found);
            found
        } else {
            let Some(secret) = self.resolve("Secret", secret_name, namespace(sts)) else {
                return; // reported by check_mounts
            };
            secret
        };
        let Some(pem) = secret_data(secret, "tls.crt") else {
            self.error(
                secret,
                "data.tls.crt",
                format!("Secret {secret_name} has no tls.crt: render again"),
            );
            return;
        };
        let sans = match dns_sans(&pem) {
            Ok(s) => s,
            Err(e) => {
                self.error(
                    secret,
                    "data.tls.crt",
                    format!("Secret {secret_name}: {e}: render again"),
                );
                return;
            }
        };
        let domain = vars
            .get("CLUSTER_DOMAIN")
            .cloned()
            .unwrap_or_else(|| "cluster.local".into());
        let sts_name = name(sts);
        let service_name = sts.str_at(&["spec", "serviceName"]).unwrap_or_default();
        let headless = self
            .resolve("Service", service_name, namespace(sts))
            .map_or(service_name, name);
        let replicas = get(sts, &["spec", "replicas"])
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let mut dialed: Vec<String> = (0..replicas)
            .map(|i| format!("{sts_name}-{i}.{headless}.{ns}.svc.{domain}"))
            .collect();
        for svc in self.of_component("Service", comp) {
            if namespace(svc) != namespace(sts) {
                continue;
            }
            let n = name(svc);
            dialed.push(format!("{n}.{ns}.svc.{domain}"));
            dialed.push(format!("{n}.{ns}.svc"));
            dialed.push(format!("{n}.{ns}"));
            dialed.push(n.to_string());
        }
        let missing: Vec<&String> = dialed.iter().filter(|h| !san_covers(&sans, h)).collect();
        if missing.is_empty() {
            return;
        }
        let rendered_ns = self.rendered_ns().to_string();
        let fix = if ns != rendered_ns {
            self.namespace_fix(&ns)
        } else {
            let want = vars
                .get(&format!("{}_STS", comp.to_ascii_uppercase()))
                .cloned()
                .unwrap_or_default();
            if !want.is_empty() && want != sts_name {
                rename_fix(self.rendered_name(), &want, sts_name)
            } else {
                "render the certificates again for the names in use (do not rename objects or change the namespace after rendering)".to_string()
            }
        };
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
}

impl Checker<'_> {
    /// EKUs, chain and validity of a certificate Secret made outside the
    /// function (its SANs are checked with the rendered ones).
    fn check_external_secret(&mut self, secret: &Value) {
        let client_auth = self.objs.iter().any(|o| {
            kind(o) == "ConfigMap"
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
            let message = format!("Secret {}: {msg}", name(secret));
            let r = if is_error {
                KrmResult::error(message)
            } else {
                KrmResult::warning(message)
            };
            self.results
                .push(r.with_ref(resource_ref(secret)).with_field(field));
        }
    }
}

impl Checker<'_> {
    /// An external Secret among the items has every key the volume
    /// projects (e.g. the passwords of `auth.existingSecret`): the kubelet
    /// cannot start a pod whose projected key is missing.
    fn check_external_keys(&mut self, sts: &Value, volume: &Value, secret_name: &str) {
        let Some(secret) = self.all.iter().find(|o| {
            kind(o) == "Secret" && name(o) == secret_name && namespace(o) == namespace(sts)
        }) else {
            return;
        };
        let missing: Vec<String> = volume
            .get("secret")
            .and_then(|s| s.get("items"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|i| i.str_at(&["key"]))
            .filter(|k| secret_data(secret, k).is_none())
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "Secret {secret_name} has no {} but StatefulSet {} mounts it: its pods cannot start",
                missing.join(", "),
                name(sts)
            );
            self.results.push(
                KrmResult::error(message)
                    .with_ref(resource_ref(secret))
                    .with_field("data"),
            );
        }
    }
}

/// Secrets a StatefulSet's pods mount that the function does not emit.
fn external_secrets(sts: &Value) -> Vec<&str> {
    annotation(sts, crate::sources::EXTERNAL_SECRETS_ANNOTATION)
        .map(|a| a.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Named container ports of a StatefulSet's pods, as strings.
fn container_ports(sts: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in get(sts, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        for p in c
            .get("ports")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(n) = get(p, &["containerPort"]).and_then(Value::as_u64) {
                out.push((
                    p.str_at(&["name"]).unwrap_or("?").to_string(),
                    n.to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_settings_are_read() {
        let v = script_vars(
            "#!/bin/sh\nset -eu\nNAMESPACE=\"shop\"\nTLS_DIR=\"${TLS_DIR:-/x}\"\nlower=\"no\"\nNAMESPACE=\"later\"\n",
        );
        assert_eq!(v.get("NAMESPACE").map(String::as_str), Some("shop"));
        assert!(!v.contains_key("lower"));
        assert_eq!(v.get("TLS_DIR").map(String::as_str), Some("${TLS_DIR:-/x}"));
        // As renders write them now: single-quoted shell words.
        let v = script_vars(&format!(
            "NAMESPACE={}\nMASTER_NAME={}\n",
            crate::config::sh_quote("shop"),
            crate::config::sh_quote("it's")
        ));
        assert_eq!(v.get("NAMESPACE").map(String::as_str), Some("shop"));
        assert_eq!(v.get("MASTER_NAME").map(String::as_str), Some("it's"));
    }

    #[test]
    fn wildcards_cover_one_label() {
        let sans: BTreeSet<String> = ["*.h.ns.svc.cluster.local".to_string(), "svc".into()]
            .into_iter()
            .collect();
        assert!(san_covers(&sans, "p-0.h.ns.svc.cluster.local"));
        assert!(!san_covers(&sans, "a.p-0.h.ns.svc.cluster.local"));
        assert!(san_covers(&sans, "svc"));
        assert!(!san_covers(&sans, "svc.ns"));
    }

    #[test]
    fn rename_fixes_name_the_transformer() {
        let f = rename_fix("cache", "cache-redis", "dev-cache-redis");
        assert!(f.contains("metadata.name: dev-cache"), "{f}");
        assert!(f.contains("namePrefix: dev-"), "{f}");
        let f = rename_fix("cache", "cache-redis", "cache-redis-v2");
        assert!(f.contains("nameSuffix: -v2"), "{f}");
        let f = rename_fix("cache", "cache-redis", "other");
        assert!(f.contains("do not rename"), "{f}");
    }
}
