//! Pod-level settings: placement (affinity, tolerations, node selector),
//! the security context and container resources.

use super::*;

/// `spec.placement`.
pub(super) fn placement(p: &model::Placement, cx: &mut Ctx) -> Placement {
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

/// A toleration as the API server validates it: problems as `(field,
/// message)` below the toleration.
pub(super) fn check_toleration(t: &model::Toleration) -> Vec<(&'static str, String)> {
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

/// `spec.security`: fixed non-root IDs on Kubernetes, the platform's
/// (OpenShift assigns them per namespace) unless set.
pub(super) fn security(spec: &Spec, cx: &mut Ctx) -> Security {
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

pub(super) fn check_resources(cx: &mut Ctx, field: &str, r: &model::Resources) {
    for e in crate::spec::resources::check(r) {
        let f = if e.field.is_empty() {
            field.to_string()
        } else {
            format!("{field}.{}", e.field)
        };
        cx.err(&f, e.message);
    }
}

/// Kubernetes resource quantity, as the API server parses it (see
/// [`crate::spec::quantity`]).
pub fn is_quantity(s: &str) -> bool {
    crate::spec::quantity::is_quantity(s)
}
