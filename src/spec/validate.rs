//! Applies defaults and validates a [`Spec`], collecting every problem with
//! the path of the field it concerns.

use std::collections::BTreeMap;

use super::instance::*;
use super::model::{self, ResourceMeta, Spec, defaults};
use super::server::{CommandTable, Server, ServerKind, Support, Version};
use crate::krm::FieldError;

/// Limits that keep a render bounded and the topology sensible.
pub const MAX_REDIS_REPLICAS: u32 = 100;
pub const MAX_SENTINEL_REPLICAS: u32 = 15;
/// A StatefulSet's name must leave room for `-<10-char hash>` in the
/// `controller-revision-hash` label (63 characters).
const MAX_STATEFULSET_NAME: usize = 52;
/// Bounds on lists and maps of the spec that the render copies around.
pub const MAX_LABELS: usize = 64;
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;
pub const MAX_LIST_ENTRIES: usize = 100;

struct Ctx {
    prefix: &'static str,
    errors: Vec<FieldError>,
    warnings: Vec<FieldError>,
}

impl Ctx {
    fn err(&mut self, field: &str, msg: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}{field}", self.prefix), msg));
    }

    /// (field, message) pairs from a helper module.
    fn extend(&mut self, problems: Vec<(String, String)>) {
        for (field, msg) in problems {
            self.err(&field, msg);
        }
    }
}

pub(super) fn resolve(
    spec: &Spec,
    meta: &ResourceMeta,
    prefix: &'static str,
) -> Result<Instance, Vec<FieldError>> {
    let mut cx = Ctx {
        prefix,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let name = instance_name(spec, meta, &mut cx);
    let namespace = namespace(spec, meta, &mut cx);
    let cluster_domain = cluster_domain(spec, &mut cx);
    let image = image(spec, &mut cx);
    let (server, redis_version) = server(
        &mut cx,
        &image,
        spec.redis.server.as_deref(),
        spec.redis.version.as_deref(),
    );
    check_pull_policy(spec, &mut cx);
    let mut redis = redis(&spec.redis, redis_version, &mut cx);
    redis.server = server;
    let sentinel = sentinel(&spec.sentinel, &name, &mut cx);
    let plaintext = plaintext_ports(&spec.tls);
    let ports = check_ports(&redis, &sentinel, plaintext, &mut cx);
    let tls = tls(spec, &name, &cluster_domain, &mut cx);
    check_metadata(spec, &mut cx);
    let placement = placement(&spec.placement, &mut cx);
    let security = security(spec, &mut cx);
    let (service_account, generate_service_account) = service_account(spec, &name, &mut cx);
    let auth = auth(spec, redis_version, &mut cx);
    let network_policy = network_policy(&spec.network_policy, &name, &mut cx);
    let metrics = metrics(spec, &ports, &mut cx);
    check_dns_name_length(&name, &namespace, &cluster_domain, &mut cx);
    let consumers = resolve_consumers(
        spec,
        &name,
        &namespace,
        &sentinel.master_name,
        auth.as_ref(),
        redis_version,
        &mut cx,
    );
    let migration = migration(
        spec,
        (auth.is_some(), tls.is_some()),
        redis.server.as_ref(),
        &mut cx,
    );

    if !cx.errors.is_empty() {
        return Err(capped(cx.errors));
    }
    Ok(Instance {
        name,
        namespace,
        cluster_domain,
        image,
        image_pull_policy: spec.image_pull_policy.clone(),
        platform: spec.platform,
        redis,
        sentinel,
        tls,
        plaintext,
        auth,
        labels: spec.labels.clone(),
        annotations: spec.annotations.clone(),
        placement,
        security,
        service_account,
        generate_service_account,
        pod_disruption_budget: spec.pod_disruption_budget.unwrap_or(true),
        network_policy,
        consumers,
        metrics,
        migration,
        warnings: cx.warnings,
        field_prefix: prefix.to_string(),
    })
}

/// `spec.migration` ([`super::migration`]).
fn migration(
    spec: &Spec,
    (auth_enabled, tls_enabled): (bool, bool),
    target: Option<&super::server::Server>,
    cx: &mut Ctx,
) -> Option<super::migration::Migration> {
    let m = spec.migration.as_ref()?;
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    let r = super::migration::resolve(
        m,
        auth_enabled,
        tls_enabled,
        target,
        &mut problems,
        &mut warnings,
    );
    cx.extend(problems);
    for (field, msg) in warnings {
        cx.warnings
            .push(FieldError::new(format!("{}{field}", cx.prefix), msg));
    }
    r
}

/// The instance name (`spec.name`, else `metadata.name`); errors name the
/// field it was written in.
fn instance_name(spec: &Spec, meta: &ResourceMeta, cx: &mut Ctx) -> String {
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
fn namespace(spec: &Spec, meta: &ResourceMeta, cx: &mut Ctx) -> String {
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
fn cluster_domain(spec: &Spec, cx: &mut Ctx) -> String {
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

fn image(spec: &Spec, cx: &mut Ctx) -> String {
    let image = spec
        .image
        .clone()
        .unwrap_or_else(|| defaults::IMAGE.to_string());
    if image.is_empty()
        || image.len() > 512
        || image.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        cx.err(
            "image",
            "image must be a non-empty image reference without spaces",
        );
    }
    image
}

fn check_pull_policy(spec: &Spec, cx: &mut Ctx) {
    if let Some(p) = &spec.image_pull_policy
        && !["Always", "IfNotPresent", "Never"].contains(&p.as_str())
    {
        cx.err(
            "imagePullPolicy",
            format!("imagePullPolicy {p:?} must be Always, IfNotPresent or Never"),
        );
    }
}

/// `spec.redis`.
fn redis(r: &model::RedisSpec, version: Option<CommandTable>, cx: &mut Ctx) -> Redis {
    let replicas = r.replicas.unwrap_or(defaults::REDIS_REPLICAS);
    if replicas == 0 || replicas > MAX_REDIS_REPLICAS {
        cx.err(
            "redis.replicas",
            format!("redis.replicas is {replicas}; it must be between 1 (a master alone) and {MAX_REDIS_REPLICAS}"),
        );
    }
    let default_min_write = if replicas >= 2 { 1 } else { 0 };
    let min_replicas_to_write = r.min_replicas_to_write.unwrap_or(default_min_write);
    if replicas >= 1 && min_replicas_to_write > replicas.saturating_sub(1) {
        cx.err(
            "redis.minReplicasToWrite",
            format!(
                "redis.minReplicasToWrite is {min_replicas_to_write} but there are only {} replicas besides the master: the master would refuse every write",
                replicas.saturating_sub(1)
            ),
        );
    }
    let min_replicas_max_lag = r
        .min_replicas_max_lag
        .unwrap_or(defaults::MIN_REPLICAS_MAX_LAG);
    if !(1..=3600).contains(&min_replicas_max_lag) {
        cx.err(
            "redis.minReplicasMaxLag",
            "redis.minReplicasMaxLag must be between 1 and 3600 seconds",
        );
    }
    check_memory(r, cx);
    let resources = r.resources.clone().unwrap_or_else(default_redis_resources);
    check_resources(cx, "redis.resources", &resources);
    Redis {
        replicas,
        port: r.port.unwrap_or(defaults::REDIS_PORT),
        resources,
        persistence: persistence(&r.persistence, cx),
        min_replicas_to_write,
        min_replicas_max_lag,
        maxmemory: r.maxmemory.clone(),
        maxmemory_policy: r.maxmemory_policy.clone(),
        version,
        server: None,
    }
}

/// `spec.redis.maxmemory` and `maxmemoryPolicy`.
fn check_memory(r: &model::RedisSpec, cx: &mut Ctx) {
    const POLICIES: [&str; 8] = [
        "volatile-lru",
        "allkeys-lru",
        "volatile-lfu",
        "allkeys-lfu",
        "volatile-random",
        "allkeys-random",
        "volatile-ttl",
        "noeviction",
    ];
    if let Some(m) = &r.maxmemory
        && !is_redis_memory(m)
    {
        cx.err(
            "redis.maxmemory",
            format!("maxmemory {m:?} must be a byte count such as 256mb or 1gb"),
        );
    }
    if let Some(p) = &r.maxmemory_policy
        && !POLICIES.contains(&p.as_str())
    {
        cx.err(
            "redis.maxmemoryPolicy",
            format!(
                "maxmemoryPolicy {p:?} must be one of {}",
                POLICIES.join(", ")
            ),
        );
    }
}

/// `spec.redis.persistence`.
fn persistence(p: &model::Persistence, cx: &mut Ctx) -> Option<Storage> {
    if !p.enabled {
        if p.size.is_some() || p.storage_class_name.is_some() {
            cx.err("redis.persistence.enabled", "persistence size/storageClassName are set but persistence.enabled is false; set enabled: true");
        }
        return None;
    }
    let size = p
        .size
        .clone()
        .unwrap_or_else(|| defaults::STORAGE_SIZE.to_string());
    match super::quantity::parse(&size) {
        Err(e) => cx.err(
            "redis.persistence.size",
            format!("storage size: {e} (e.g. 1Gi)"),
        ),
        Ok(q) if q.negative || q.is_zero() => cx.err(
            "redis.persistence.size",
            format!("storage size {size:?} must be greater than 0"),
        ),
        Ok(_) => {}
    }
    if let Some(sc) = &p.storage_class_name
        && let Err(e) = dns_name(sc, false)
    {
        cx.err(
            "redis.persistence.storageClassName",
            format!("storage class {sc:?} {e}"),
        );
    }
    Some(Storage {
        size,
        storage_class_name: p.storage_class_name.clone(),
    })
}

/// `spec.sentinel`; the master name defaults to the instance name.
fn sentinel(s: &model::SentinelSpec, name: &str, cx: &mut Ctx) -> Sentinel {
    let replicas = s.replicas.unwrap_or(defaults::SENTINEL_REPLICAS);
    if replicas == 0 || replicas > MAX_SENTINEL_REPLICAS {
        cx.err(
            "sentinel.replicas",
            format!("sentinel.replicas is {replicas}; it must be between 1 and {MAX_SENTINEL_REPLICAS} (3 or 5 is usual)"),
        );
    }
    let quorum = s.quorum.unwrap_or(replicas / 2 + 1);
    if quorum == 0 || quorum > replicas {
        cx.err(
            "sentinel.quorum",
            format!("sentinel.quorum is {quorum}; it must be between 1 and sentinel.replicas ({replicas})"),
        );
    }
    let master_name = s.master_name.clone().unwrap_or_else(|| name.to_string());
    // The default (the instance name) is checked with the name.
    if s.master_name.is_some()
        && (master_name.is_empty()
            || master_name.len() > 63
            || !master_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        cx.err("sentinel.masterName", format!("masterName {master_name:?} must be 1-63 characters of letters, digits, '-', '_' or '.'"));
    }
    let down_after = s.down_after_milliseconds.unwrap_or(defaults::DOWN_AFTER_MS);
    if !(100..=3_600_000).contains(&down_after) {
        cx.err(
            "sentinel.downAfterMilliseconds",
            format!(
                "downAfterMilliseconds is {down_after}; it must be between 100 and 3600000 (1 hour)"
            ),
        );
    }
    let failover_timeout = s.failover_timeout.unwrap_or(defaults::FAILOVER_TIMEOUT_MS);
    if !(1_000..=86_400_000).contains(&failover_timeout) {
        cx.err("sentinel.failoverTimeout", format!("failoverTimeout is {failover_timeout}; it must be between 1000 and 86400000 (1 day) milliseconds"));
    }
    let parallel_syncs = s.parallel_syncs.unwrap_or(defaults::PARALLEL_SYNCS);
    if parallel_syncs == 0 || parallel_syncs > MAX_REDIS_REPLICAS {
        cx.err("sentinel.parallelSyncs", format!("parallelSyncs is {parallel_syncs}; it must be at least 1 and at most {MAX_REDIS_REPLICAS}"));
    }
    let resources = s
        .resources
        .clone()
        .unwrap_or_else(default_sentinel_resources);
    check_resources(cx, "sentinel.resources", &resources);
    Sentinel {
        replicas,
        quorum,
        master_name,
        port: s.port.unwrap_or(defaults::SENTINEL_PORT),
        down_after_milliseconds: down_after,
        failover_timeout,
        parallel_syncs,
        resources,
    }
}

/// The plaintext ports beside the TLS ones, when both are on.
fn plaintext_ports(t: &model::TlsSpec) -> Option<PlainPorts> {
    (t.plaintext.enabled && t.enabled.unwrap_or(true)).then(|| PlainPorts {
        redis: t.plaintext.redis_port.unwrap_or(defaults::PLAIN_REDIS_PORT),
        sentinel: t
            .plaintext
            .sentinel_port
            .unwrap_or(defaults::PLAIN_SENTINEL_PORT),
    })
}

/// Every port the pods listen on, with its field: none is 0, no two are
/// the same.
fn check_ports(
    redis: &Redis,
    sentinel: &Sentinel,
    plaintext: Option<PlainPorts>,
    cx: &mut Ctx,
) -> Vec<(&'static str, u16)> {
    let mut ports = vec![("redis.port", redis.port), ("sentinel.port", sentinel.port)];
    if let Some(p) = plaintext {
        ports.push(("tls.plaintext.redisPort", p.redis));
        ports.push(("tls.plaintext.sentinelPort", p.sentinel));
    }
    for (i, (field, port)) in ports.iter().enumerate() {
        if *port == 0 {
            cx.err(field, "port 0 is not a valid port");
        } else if let Some((other, _)) = ports[..i].iter().find(|(_, p)| p == port) {
            cx.err(field, format!("port {port} is already used by {other}"));
        }
    }
    ports
}

/// `spec.tls`. With TLS off, a certificate source other than `generated`
/// is still checked (it is an error to name one).
fn tls(spec: &Spec, name: &str, cluster_domain: &str, cx: &mut Ctx) -> Option<Tls> {
    let t = &spec.tls;
    let mut problems = Vec::new();
    if !t.enabled.unwrap_or(true) {
        if t.source != model::CertificateSource::Generated {
            super::sources::resolve(spec, name, cluster_domain, &mut problems);
        }
        cx.extend(problems);
        return None;
    }
    let ca_validity_days = t.ca_validity_days.unwrap_or(defaults::CA_VALIDITY_DAYS);
    let validity_days = t.validity_days.unwrap_or(defaults::VALIDITY_DAYS);
    let renew_before_days = t.renew_before_days.unwrap_or(defaults::RENEW_BEFORE_DAYS);
    check_validity(ca_validity_days, validity_days, renew_before_days, cx);
    let not_before = not_before(t, ca_validity_days, cx);
    for (i, n) in t.extra_dns_names.iter().enumerate() {
        if let Err(e) = dns_name(n, true) {
            cx.err(&format!("tls.extraDnsNames[{i}]"), format!("{n:?} {e}"));
        }
    }
    let source = super::sources::resolve(spec, name, cluster_domain, &mut problems);
    cx.extend(problems);
    Some(Tls {
        source,
        client_auth: t.client_auth,
        key_algorithm: t.key_algorithm,
        ca_validity_days,
        validity_days,
        renew_before_days,
        keep_ca_key: t.keep_ca_key,
        rotation: t.rotation,
        not_before,
        extra_dns_names: t.extra_dns_names.clone(),
    })
}

/// `tls.validityDays`, `tls.caValidityDays` and `tls.renewBeforeDays`.
fn check_validity(ca_validity_days: u32, validity_days: u32, renew_before_days: u32, cx: &mut Ctx) {
    if !(1..=36_500).contains(&validity_days) {
        cx.err(
            "tls.validityDays",
            "tls.validityDays must be between 1 and 36500",
        );
    }
    if !(1..=36_500).contains(&ca_validity_days) {
        cx.err(
            "tls.caValidityDays",
            "tls.caValidityDays must be between 1 and 36500",
        );
    } else if ca_validity_days < validity_days {
        cx.err("tls.caValidityDays", format!("tls.caValidityDays ({ca_validity_days}) must be at least tls.validityDays ({validity_days})"));
    }
    if renew_before_days >= validity_days {
        cx.err("tls.renewBeforeDays", format!("tls.renewBeforeDays ({renew_before_days}) must be less than tls.validityDays ({validity_days})"));
    }
}

/// `tls.notBefore` as a Unix time, and the certificate window it starts.
fn not_before(t: &model::TlsSpec, ca_validity_days: u32, cx: &mut Ctx) -> i64 {
    let not_before = match &t.not_before {
        None => DEFAULT_NOT_BEFORE,
        Some(s) => {
            match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                Ok(dt) => dt.unix_timestamp(),
                Err(e) => {
                    cx.err(
                        "tls.notBefore",
                        format!("tls.notBefore {s:?} is not an RFC 3339 time ({e})"),
                    );
                    DEFAULT_NOT_BEFORE
                }
            }
        }
    };
    if let Err(e) = super::window::check_static(not_before, ca_validity_days) {
        cx.err("tls.notBefore", e);
    }
    not_before
}

/// `spec.labels`, `spec.annotations` and the lengths of the lists the
/// render copies around. Labels and annotations go on every generated
/// object: bounded, so a small spec cannot make a huge render (Kubernetes
/// allows 256 KiB of annotations per object).
fn check_metadata(spec: &Spec, cx: &mut Ctx) {
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
fn check_label(k: &str, v: &str, cx: &mut Ctx) {
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

/// `spec.placement`.
fn placement(p: &model::Placement, cx: &mut Ctx) -> Placement {
    for (k, v) in &p.node_selector {
        if let Err(e) = label_key(k).and_then(|_| label_value(v)) {
            cx.err(
                &format!("placement.nodeSelector.{k}"),
                format!("nodeSelector {k:?}: {v:?} {e}"),
            );
        }
    }
    for (i, t) in p.tolerations.iter().enumerate() {
        for (sub, msg) in check_toleration(t) {
            cx.err(&format!("placement.tolerations[{i}].{sub}"), msg);
        }
    }
    let topology_key = p
        .topology_key
        .clone()
        .unwrap_or_else(|| "kubernetes.io/hostname".to_string());
    if let Err(e) = label_key(&topology_key) {
        cx.err(
            "placement.topologyKey",
            format!("topologyKey {topology_key:?} {e}"),
        );
    }
    if let Some(pc) = &p.priority_class_name
        && let Err(e) = dns_name(pc, false)
    {
        cx.err(
            "placement.priorityClassName",
            format!("priorityClassName {pc:?} {e}"),
        );
    }
    Placement {
        node_selector: p.node_selector.clone(),
        tolerations: p.tolerations.clone(),
        anti_affinity: p.anti_affinity,
        topology_key,
        priority_class_name: p.priority_class_name.clone(),
    }
}

/// `spec.security`: fixed non-root IDs on Kubernetes, the platform's
/// (OpenShift assigns them per namespace) unless set.
fn security(spec: &Spec, cx: &mut Ctx) -> Security {
    let security = match spec.platform {
        model::Platform::Kubernetes => Security {
            run_as_user: Some(spec.security.run_as_user.unwrap_or(defaults::RUN_AS_ID)),
            run_as_group: Some(spec.security.run_as_group.unwrap_or(defaults::RUN_AS_ID)),
            fs_group: Some(spec.security.fs_group.unwrap_or(defaults::RUN_AS_ID)),
        },
        model::Platform::Openshift => Security {
            run_as_user: spec.security.run_as_user,
            run_as_group: spec.security.run_as_group,
            fs_group: spec.security.fs_group,
        },
    };
    if let Some(u) = security.run_as_user
        && !(1..=i64::from(u32::MAX)).contains(&u)
    {
        cx.err(
            "security.runAsUser",
            "security.runAsUser must be a non-root UID (1 or more)",
        );
    }
    for (f, v) in [
        ("security.runAsGroup", security.run_as_group),
        ("security.fsGroup", security.fs_group),
    ] {
        if let Some(v) = v
            && !(0..=i64::from(u32::MAX)).contains(&v)
        {
            cx.err(f, "must be a GID between 0 and 4294967295");
        }
    }
    security
}

/// The ServiceAccount the pods run as, and whether the function makes it.
fn service_account(spec: &Spec, name: &str, cx: &mut Ctx) -> (String, bool) {
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

/// `spec.auth`. With auth off, `existingSecret` is still checked.
fn auth(spec: &Spec, redis_version: Option<CommandTable>, cx: &mut Ctx) -> Option<Auth> {
    let a = &spec.auth;
    let mut problems = Vec::new();
    let existing_secret = super::sources::existing_auth_secret(spec, &mut problems);
    if !a.enabled.unwrap_or(true) {
        cx.extend(problems);
        return None;
    }
    let app_user = a.app_user.clone().unwrap_or_else(|| "app".to_string());
    if let Err(e) = acl_user_name(&app_user) {
        cx.err("auth.appUser", format!("appUser {app_user:?} {e}"));
    } else if ["default", "replication", "sentinel", "admin"].contains(&app_user.as_str()) {
        cx.err("auth.appUser", format!("appUser {app_user:?} is reserved for the users the function defines (default, replication, sentinel, admin)"));
    }
    let rules = a
        .app_user_rules
        .clone()
        .unwrap_or_else(|| DEFAULT_APP_USER_RULES.to_string());
    if let Err(e) = super::acl::check_rules(&rules, redis_version) {
        cx.err("auth.appUserRules", e);
    }
    if a.mode == model::AuthMode::Password && (a.app_user.is_some() || a.app_user_rules.is_some()) {
        cx.err("auth.mode", "appUser and appUserRules need auth.mode acl");
    }
    cx.extend(problems);
    Some(Auth {
        existing_secret,
        mode: a.mode,
        app_user,
        app_user_rules: rules,
    })
}

/// `spec.networkPolicy`; clients are by default the pods labelled with
/// the instance name.
fn network_policy(
    np: &model::NetworkPolicySpec,
    name: &str,
    cx: &mut Ctx,
) -> Option<NetworkPolicy> {
    if !np.enabled.unwrap_or(true) {
        return None;
    }
    let client_pod_labels = np
        .client_pod_labels
        .clone()
        .unwrap_or_else(|| BTreeMap::from([(CLIENT_LABEL.to_string(), name.to_string())]));
    if client_pod_labels.is_empty() {
        cx.err("networkPolicy.clientPodLabels", "clientPodLabels must not be empty: it would admit every pod; omit it for the default label");
    }
    // The default label's value is the instance name, checked with it.
    for (field, map) in [
        (
            "networkPolicy.clientPodLabels",
            np.client_pod_labels.as_ref(),
        ),
        (
            "networkPolicy.clientNamespaceLabels",
            np.client_namespace_labels.as_ref(),
        ),
    ] {
        for (k, v) in map.into_iter().flatten() {
            if let Err(e) = label_key(k).and_then(|_| label_value(v)) {
                cx.err(&format!("{field}.{k}"), format!("label {k:?}: {v:?} {e}"));
            }
        }
    }
    Some(NetworkPolicy {
        client_pod_labels,
        client_namespace_labels: np.client_namespace_labels.clone(),
    })
}

/// `spec.metrics` (see [`crate::metrics`]); its port must not clash with
/// `ports`.
fn metrics(
    spec: &Spec,
    ports: &[(&'static str, u16)],
    cx: &mut Ctx,
) -> Option<crate::spec::metrics::Metrics> {
    if let Some(r) = &spec.metrics.resources {
        check_resources(cx, "metrics.resources", r);
    }
    match crate::spec::metrics::resolve(&spec.metrics, ports) {
        Ok(m) => m,
        Err(errs) => {
            for (field, msg) in errs {
                cx.err(&field, msg);
            }
            None
        }
    }
}

/// An ACL user name the function writes into `user` lines and Secrets:
/// 1-64 letters, digits, `-` or `_`.
pub(super) fn acl_user_name(user: &str) -> Result<(), &'static str> {
    if user.is_empty()
        || user.len() > 64
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("must be 1-64 letters, digits, '-' or '_'");
    }
    Ok(())
}

/// The longest pod DNS name must fit in 253 characters.
fn check_dns_name_length(name: &str, namespace: &str, cluster_domain: &str, cx: &mut Ctx) {
    let fqdn_len = format!(
        "{name}-sentinel-{}.{name}-sentinel{HEADLESS_SUFFIX}.{namespace}.svc.{cluster_domain}",
        MAX_SENTINEL_REPLICAS
    )
    .len();
    if fqdn_len > 253 {
        cx.err("clusterDomain", format!("pod DNS names would be {fqdn_len} characters, over the 253 allowed; shorten the name, namespace or cluster domain"));
    }
}

/// `spec.consumers` (see [`super::consumers`]).
fn resolve_consumers(
    spec: &Spec,
    name: &str,
    namespace: &str,
    master_name: &str,
    auth: Option<&Auth>,
    redis_version: Option<CommandTable>,
    cx: &mut Ctx,
) -> Vec<super::consumers::Consumer> {
    let app_rules = auth.map_or(DEFAULT_APP_USER_RULES, |a| a.app_user_rules.as_str());
    // `exporter`: the metrics exporter's user (spec.metrics).
    let mut taken = vec!["default", "replication", "sentinel", "admin", "exporter"];
    if let Some(a) = auth {
        taken.push(&a.app_user);
    }
    let instance_secrets: Vec<String> = [
        "auth",
        "redis-tls",
        "sentinel-tls",
        "client-tls",
        "ca-key",
        "consumer-users",
        "metrics-auth",
    ]
    .iter()
    .map(|s| format!("{name}-{s}"))
    .collect();
    let ccx = super::consumers::Context {
        instance: name,
        namespace,
        master_name,
        app_rules,
        taken_users: &taken,
        instance_secrets: &instance_secrets,
        redis_version,
    };
    super::consumers::resolve(&spec.consumers, &ccx, cx.prefix).unwrap_or_else(|e| {
        cx.errors.extend(e);
        Vec::new()
    })
}

/// Most errors reported for one spec; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// At most [`MAX_ERRORS`] errors, then one that counts the rest (at the
/// field of the first one left out).
fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        let field = errors[MAX_ERRORS].field.clone();
        errors.truncate(MAX_ERRORS);
        errors.push(FieldError::new(
            field,
            format!("{more} more problems in this spec (only the first {MAX_ERRORS} are listed)"),
        ));
    }
    errors
}

/// Label and annotation keys under this prefix are the function's own
/// (`fn.redis-sentinel.dev/instance`, `.../config-hash`, ...).
pub const RESERVED_PREFIX: &str = "fn.redis-sentinel.dev/";

/// 2025-01-01T00:00:00Z: default start of validity of seed-derived certificates.
pub const DEFAULT_NOT_BEFORE: i64 = 1_735_689_600;

fn default_redis_resources() -> model::Resources {
    model::Resources {
        requests: [("cpu", "100m"), ("memory", "128Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        limits: [("memory", "512Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }
}

fn default_sentinel_resources() -> model::Resources {
    model::Resources {
        requests: [("cpu", "50m"), ("memory", "32Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        limits: [("memory", "128Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }
}

fn check_resources(cx: &mut Ctx, field: &str, r: &model::Resources) {
    for (sub, msg) in super::resources::check(r) {
        let f = if sub.is_empty() {
            field.to_string()
        } else {
            format!("{field}.{sub}")
        };
        cx.err(&f, msg);
    }
}

/// Kubernetes resource quantity, as the API server parses it (see
/// [`super::quantity`]).
pub fn is_quantity(s: &str) -> bool {
    super::quantity::is_quantity(s)
}

/// The server the image carries ([`super::server`]) and the command table
/// that checks ACL rules. The server is Valkey or Redis as the image's
/// repository name says, else `redis.server`; the version is the one the
/// tag names, else `redis.version`. A version without a table of its own is
/// checked leniently (`None`, with a warning); with neither a name nor a
/// version, the default image's table. The server is `None` where its
/// version is unknown.
fn server(
    cx: &mut Ctx,
    image: &str,
    kind_field: Option<&str>,
    version_field: Option<&str>,
) -> (Option<Server>, Option<CommandTable>) {
    let field_kind = kind_field.and_then(|k| {
        let parsed = ServerKind::parse(k);
        if parsed.is_none() {
            cx.err(
                "redis.server",
                format!("redis.server {k:?} must be redis or valkey"),
            );
        }
        parsed
    });
    let image_kind = ServerKind::of_image(image);
    if let (Some(f), Some(i)) = (field_kind, image_kind)
        && f != i
    {
        cx.err(
            "redis.server",
            format!(
                "redis.server is {} but the image names {}",
                f.name(),
                i.name()
            ),
        );
    }
    let field_version = version_field.and_then(|v| {
        let parsed = Version::parse_field(v);
        if parsed.is_none() {
            cx.err(
                "redis.version",
                format!("redis.version {v:?} must be MAJOR.MINOR, e.g. \"9.1\" or \"7.4\""),
            );
        }
        parsed
    });
    let tag_version = Version::of_image(image);
    if let (Some(f), Some(t)) = (field_version, tag_version)
        && (f.major != t.major || t.minor.is_some_and(|m| Some(m) != f.minor))
    {
        cx.err(
            "redis.version",
            format!("redis.version is {f} but the image tag names {t}"),
        );
    }
    let kind = image_kind.or(field_kind);
    let Some(version) = tag_version.or(field_version) else {
        let table = match kind {
            Some(ServerKind::Redis) => CommandTable::Redis7_4,
            _ => defaults::IMAGE_TABLE,
        };
        return (None, Some(table));
    };
    // A number alone (a mirror's `cache:7.2`) is read as Redis, as before
    // Valkey was known.
    let server = Server {
        kind: kind.unwrap_or(ServerKind::Redis),
        version,
    };
    let table = match super::server::support(server.kind, version) {
        Support::Table(t) => Some(t),
        Support::Unchecked(why) => {
            cx.warnings.push(FieldError::new(
                format!("{}image", cx.prefix),
                format!("{why}: command and category names in ACL rules are not checked"),
            ));
            None
        }
        Support::TooOld(why) => {
            cx.err("image", why);
            None
        }
    };
    if let Some(w) = super::advisories::warning(&server) {
        cx.warnings
            .push(FieldError::new(format!("{}image", cx.prefix), w));
    }
    (Some(server), table)
}

fn is_redis_memory(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (n, unit) = lower.split_at(digits_end);
    !n.is_empty() && n.len() <= 18 && ["", "b", "k", "kb", "m", "mb", "g", "gb"].contains(&unit)
}

/// A toleration as the API server validates it: problems as `(field,
/// message)` below the toleration.
fn check_toleration(t: &model::Toleration) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let key = t.key.as_deref().unwrap_or_default();
    let op = t.operator.as_deref().unwrap_or_default();
    if !key.is_empty()
        && let Err(e) = label_key(key)
    {
        errors.push(("key", format!("key {key:?} {e}")));
    }
    if key.is_empty() && op != "Exists" {
        errors.push((
            "operator",
            "operator must be Exists when key is empty (a toleration of every taint)".to_string(),
        ));
    }
    match op {
        "" | "Equal" => {
            let v = t.value.as_deref().unwrap_or_default();
            if let Err(e) = label_value(v) {
                errors.push(("value", format!("value {v:?} {e} (a label value)")));
            }
        }
        "Exists" => {
            if t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                errors.push((
                    "value",
                    "a toleration with operator Exists must not have a value".to_string(),
                ));
            }
        }
        other => errors.push((
            "operator",
            format!("operator {other:?} must be Exists or Equal"),
        )),
    }
    if let Some(secs) = t.toleration_seconds.filter(|s| *s < 0) {
        errors.push((
            "tolerationSeconds",
            format!(
                "tolerationSeconds ({secs}) must be 0 or more (Kubernetes evicts at once for any value up to 0; write 0 for that)"
            ),
        ));
    }
    let effect = t.effect.as_deref().unwrap_or_default();
    if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        errors.push((
            "effect",
            format!("effect {effect:?} must be NoSchedule, PreferNoSchedule or NoExecute"),
        ));
    } else if t.toleration_seconds.is_some() && effect != "NoExecute" {
        errors.push((
            "effect",
            "effect must be NoExecute when tolerationSeconds is set".to_string(),
        ));
    }
    errors
}

/// RFC 1035 label: what Service names must be.
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    Ok(())
}

/// RFC 1123 label: lowercase alphanumerics and '-', 1-63 characters.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters long".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("must contain only lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS name of labels joined by dots; `wildcard` allows a leading `*.`.
pub fn dns_name(s: &str, wildcard: bool) -> Result<(), String> {
    let body = match s.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => s,
    };
    if body.is_empty() || s.len() > 253 {
        return Err("must be a DNS name of at most 253 characters".into());
    }
    for label in body.split('.') {
        dns1123_label(label).map_err(|e| format!("has an invalid label {label:?}: {e}"))?;
    }
    Ok(())
}

/// Kubernetes qualified name with optional DNS prefix (`example.com/key`).
pub fn label_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        dns_name(p, false).map_err(|e| format!("has an invalid prefix: {e}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err("must have a name part of 1 to 63 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(
            "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        );
    }
    Ok(())
}

pub fn label_value(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    if v.len() > 63 {
        return Err("must be at most 63 characters".into());
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !v.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !v.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(
            "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["1", "100m", "128Mi", "0.5", "1e3", "2Gi", "+1"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "abc", "1.2.3", "12XB", "1e", "1Mi3", "1e999"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(dns1035_label("cache").is_ok());
        assert!(dns1035_label("1cache").is_err());
        assert!(dns1123_label("Cache").is_err());
        assert!(dns_name("*.example.com", true).is_ok());
        assert!(dns_name("*.example.com", false).is_err());
        assert!(label_key("example.com/tier").is_ok());
        assert!(label_key("/tier").is_err());
        assert!(label_value("a b").is_err());
    }
}
