//! The server image against published advisories
//! ([`crate::spec::advisories`]): a known-vulnerable version is a warning.

use serde_norway::Value;

use super::Checker;
use crate::krm::{KrmResult, ResourceRef};
use crate::object::ItemExt;
use crate::spec::advisories;
use crate::spec::server::{Server, ServerKind, Version};

impl<'a> Checker<'a> {
    /// The component's container does not run a server version with a
    /// published advisory ([`crate::spec::advisories`]): a warning.
    pub(super) fn check_image(&mut self, comp: &str, sts: &'a Value) {
        let containers = sts
            .at(&["spec", "template", "spec", "containers"])
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
                        .with_ref(ResourceRef::of(sts))
                        .with_field(format!("spec.template.spec.containers[{i}].image")),
                );
            }
        }
    }
}
