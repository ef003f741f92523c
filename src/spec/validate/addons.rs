//! The optional sections with a module of their own: `spec.metrics`,
//! `spec.consumers` and `spec.migration` are resolved there and their
//! problems brought under the spec's prefix here.

use super::*;

/// `spec.metrics` (see [`crate::metrics`]); its port must not clash with
/// `ports`.
pub(super) fn metrics(
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
            cx.extend(errs);
            None
        }
    }
}

/// `spec.consumers` (see [`crate::spec::consumers`]).
pub(super) fn resolve_consumers(
    spec: &Spec,
    name: &str,
    namespace: &str,
    master_name: &str,
    auth: Option<&Auth>,
    redis_version: Option<CommandTable>,
    cx: &mut Ctx,
) -> Vec<crate::spec::consumers::Consumer> {
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
    let ccx = crate::spec::consumers::Context {
        instance: name,
        namespace,
        master_name,
        app_rules,
        taken_users: &taken,
        instance_secrets: &instance_secrets,
        redis_version,
    };
    crate::spec::consumers::resolve(&spec.consumers, &ccx, cx.prefix).unwrap_or_else(|e| {
        cx.errors.extend(e);
        Vec::new()
    })
}

/// `spec.migration` ([`crate::spec::migration`]).
pub(super) fn migration(
    spec: &Spec,
    (auth_enabled, tls_enabled): (bool, bool),
    target: Option<&crate::spec::server::Server>,
    cx: &mut Ctx,
) -> Option<crate::spec::migration::Migration> {
    let m = spec.migration.as_ref()?;
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    let r = crate::spec::migration::resolve(
        m,
        auth_enabled,
        tls_enabled,
        target,
        &mut problems,
        &mut warnings,
    );
    cx.extend(problems);
    for w in warnings {
        cx.warnings.push(FieldError::new(
            format!("{}{}", cx.prefix, w.field),
            w.message,
        ));
    }
    r
}
