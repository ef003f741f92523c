//! Object metadata from its parts, so code that produces objects does not
//! spell out `ObjectMeta`'s optional fields each time.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Metadata with a name, a namespace, labels and annotations.
pub fn object_meta(
    name: impl Into<String>,
    namespace: impl Into<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        labels: Some(labels),
        annotations: Some(annotations),
        ..Default::default()
    }
}
