//! `spec.redis` and the server image: image, pull policy, server kind and
//! version, memory, persistence and the Redis pods' resources.

use super::*;

pub(super) fn image(spec: &Spec, cx: &mut Ctx) -> String {
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

pub(super) fn check_pull_policy(spec: &Spec, cx: &mut Ctx) {
    if let Some(p) = &spec.image_pull_policy
        && !["Always", "IfNotPresent", "Never"].contains(&p.as_str())
    {
        cx.err(
            "imagePullPolicy",
            format!("imagePullPolicy {p:?} must be Always, IfNotPresent or Never"),
        );
    }
}

/// The server the image carries ([`crate::spec::server`]) and the command table
/// that checks ACL rules. The server is Valkey or Redis as the image's
/// repository name says, else `redis.server`; the version is the one the
/// tag names, else `redis.version`. A version without a table of its own is
/// checked leniently (`None`, with a warning); with neither a name nor a
/// version, the default image's table. The server is `None` where its
/// version is unknown.
pub(super) fn server(
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
    let table = match crate::spec::server::support(server.kind, version) {
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
    if let Some(w) = crate::spec::advisories::warning(&server) {
        cx.warnings
            .push(FieldError::new(format!("{}image", cx.prefix), w));
    }
    (Some(server), table)
}

/// `spec.redis`.
pub(super) fn redis(r: &model::RedisSpec, version: Option<CommandTable>, cx: &mut Ctx) -> Redis {
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
pub(super) fn check_memory(r: &model::RedisSpec, cx: &mut Ctx) {
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

pub(super) fn is_redis_memory(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (n, unit) = lower.split_at(digits_end);
    !n.is_empty() && n.len() <= 18 && ["", "b", "k", "kb", "m", "mb", "g", "gb"].contains(&unit)
}

/// `spec.redis.persistence`.
pub(super) fn persistence(p: &model::Persistence, cx: &mut Ctx) -> Option<Storage> {
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
    match crate::spec::quantity::parse(&size) {
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

pub(super) fn default_redis_resources() -> model::Resources {
    model::Resources {
        requests: [("cpu", "100m"), ("memory", "128Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        limits: [("memory", "512Mi")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }
}
