//! The `app.kubernetes.io/*` recommended label keys, spelled once: the
//! generator writes them, validation reserves them, `check` and the
//! orchestration code read them.

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Every key above: set by the function, not by the user.
pub const ALL: [&str; 4] = [NAME, INSTANCE, COMPONENT, MANAGED_BY];
