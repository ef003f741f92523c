//! The marks this function puts on what it generates: its managed-by label
//! value and its annotation keys. Defined here, at the ground floor, so the
//! pass-through fast path ([`crate::krm::passthrough`]) can recognise
//! generated items without knowing about instances; what the marks mean
//! and how earlier output is found by them is in [`crate::ownership`].

/// Value of [`super::labels::MANAGED_BY`] on every generated object.
pub const MANAGED_BY: &str = "redis-sentinel-fn";
/// `<namespace>/<name>` of the instance an item belongs to.
pub const INSTANCE_ANNOTATION: &str = "fn.redis-sentinel.dev/instance";
/// Certificate rotation counter the certificate Secrets were made with.
pub const ROTATION_ANNOTATION: &str = "fn.redis-sentinel.dev/tls-rotation";
/// SHA-256 over everything a pod reads; on pod templates.
pub const CONFIG_HASH_ANNOTATION: &str = "fn.redis-sentinel.dev/config-hash";
/// On a consumer Secret whose parts come from several instances of one
/// run (`storage=<ns>/<name>,queues=<ns>/<name>`); the Secret itself is
/// owned by the instance of its first part.
pub const PARTS_ANNOTATION: &str = "fn.redis-sentinel.dev/parts";
