//! Applies defaults and validates a [`Spec`], collecting every problem with
//! the path of the field it concerns. This file holds the order of the
//! sections (`resolve`) and what they share; each section is a file of its
//! own (metadata, redis, sentinel, tls, pods, access, addons), the shared
//! syntax checks are in `syntax.rs`.

use std::collections::BTreeMap;

use super::instance::*;
use super::model::{self, ResourceMeta, Spec, defaults};
use super::server::{CommandTable, Server, ServerKind, Support, Version};
use crate::krm::FieldError;

mod access;
mod addons;
mod metadata;
mod pods;
mod redis;
mod sentinel;
mod syntax;
mod tls;

use access::*;
use addons::*;
use metadata::*;
use pods::*;
use redis::*;
use sentinel::*;
use tls::*;

pub(super) use access::acl_user_name;
pub use pods::is_quantity;
pub use syntax::*;

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

    /// Problems a helper module found, their fields below `spec.`.
    fn extend(&mut self, problems: Vec<FieldError>) {
        for e in problems {
            self.err(&e.field, e.message);
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
