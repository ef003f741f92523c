//! The ground floor: helpers for Kubernetes objects that every layer above
//! uses and that know nothing of this function's spec, certificates or
//! output (after kube-core's `metadata`, `labels` and `ResourceExt`).
//!
//! It imports nothing of this crate; everything else may import it.
//! - [`labels`]: the `app.kubernetes.io/*` label keys, spelled once
//! - [`marks`]: the label value and annotation keys this function puts on
//!   what it generates (their meaning is in [`crate::ownership`])
//! - [`meta`]: object metadata from its parts
//! - [`secret`]: Secret data, typed and untyped
//! - [`item`]: [`ItemExt`], read access to untyped items

pub mod item;
pub mod labels;
pub mod marks;
pub mod meta;
pub mod secret;

pub use item::ItemExt;
