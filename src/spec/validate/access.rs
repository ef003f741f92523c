//! Who may connect: `spec.auth` (modes, ACL users) and
//! `spec.networkPolicy`.

use super::*;

/// `spec.auth`. With auth off, `existingSecret` is still checked.
pub(super) fn auth(spec: &Spec, redis_version: Option<CommandTable>, cx: &mut Ctx) -> Option<Auth> {
    let a = &spec.auth;
    let mut problems = Vec::new();
    let existing_secret = crate::spec::sources::existing_auth_secret(spec, &mut problems);
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
    if let Err(e) = crate::spec::acl::check_rules(&rules, redis_version) {
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

/// An ACL user name the function writes into `user` lines and Secrets:
/// 1-64 letters, digits, `-` or `_`.
pub(in crate::spec) fn acl_user_name(user: &str) -> Result<(), &'static str> {
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

/// `spec.networkPolicy`; clients are by default the pods labelled with
/// the instance name.
pub(super) fn network_policy(
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
