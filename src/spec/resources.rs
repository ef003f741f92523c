//! Container resources (`requests`, `limits`) checked as the API server
//! checks a pod's containers: standard resource names, quantities, no
//! negative values, requests within limits, and the huge page rules.

use std::collections::BTreeMap;

use super::model::Resources;
use super::quantity::{self, Quantity};
use super::validate::label_key;
use crate::krm::FieldError;

/// Problems as `(field below `field`, message)`.
pub(super) fn check(r: &Resources) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut parsed: [BTreeMap<&str, Quantity>; 2] = Default::default();
    for (i, (kind, map)) in [("requests", &r.requests), ("limits", &r.limits)]
        .into_iter()
        .enumerate()
    {
        for (name, value) in map {
            let field = format!("{kind}.{name}");
            if let Err(e) = resource_name(name) {
                errors.push(FieldError::new(field, e));
                continue;
            }
            match quantity::parse(value) {
                Err(e) => errors.push(FieldError::new(field, e)),
                Ok(q) if q.negative && !q.is_zero() => errors.push(FieldError::new(
                    field,
                    format!("{value:?} must be greater than or equal to 0"),
                )),
                Ok(q) => {
                    if let Some(page) = huge_page_size(name)
                        && q.nanos % page.nanos != 0
                    {
                        errors.push(FieldError::new(
                            field,
                            format!("{value:?} is not a whole multiple of the page size of {name}"),
                        ));
                        continue;
                    }
                    parsed[i].insert(name.as_str(), q);
                }
            }
        }
    }
    let [requests, limits] = &parsed;
    for (name, req) in requests {
        let huge = huge_page_size(name).is_some();
        match limits.get(name) {
            Some(lim) if huge && lim.nanos != req.nanos => errors.push(FieldError::new(
                format!("requests.{name}"),
                format!("must be equal to the {name} limit of {:?}", r.limits[*name]),
            )),
            Some(lim) if req.nanos > lim.nanos => errors.push(FieldError::new(
                format!("requests.{name}"),
                format!(
                    "{:?} must be less than or equal to the {name} limit of {:?}",
                    r.requests[*name], r.limits[*name]
                ),
            )),
            None if huge => errors.push(FieldError::new(
                format!("limits.{name}"),
                format!("a limit must be set for {name} (huge pages cannot be overcommitted)"),
            )),
            _ => {}
        }
    }
    let has = |n: &str| r.requests.contains_key(n) || r.limits.contains_key(n);
    let huge = r
        .requests
        .keys()
        .chain(r.limits.keys())
        .any(|k| k.starts_with("hugepages-"));
    if huge && !has("cpu") && !has("memory") {
        errors.push(FieldError::new(
            String::new(),
            "huge pages require a cpu or memory request or limit".to_string(),
        ));
    }
    errors
}

/// A resource a container may ask for: `cpu`, `memory`,
/// `ephemeral-storage` or `hugepages-<size>` with a positive size.
fn resource_name(name: &str) -> Result<(), String> {
    if matches!(name, "cpu" | "memory" | "ephemeral-storage") {
        return Ok(());
    }
    if let Some(size) = name.strip_prefix("hugepages-") {
        label_key(name).map_err(|e| format!("resource name {name:?} {e}"))?;
        return match quantity::parse(size) {
            Ok(q) if !q.negative && !q.is_zero() => Ok(()),
            Ok(_) => Err(format!("huge page size {size:?} must be positive")),
            Err(e) => Err(format!("huge page size of {name:?}: {e}")),
        };
    }
    Err(format!(
        "unknown resource {name:?}; use cpu, memory, ephemeral-storage or hugepages-<size> (e.g. hugepages-2Mi)"
    ))
}

fn huge_page_size(name: &str) -> Option<Quantity> {
    quantity::parse(name.strip_prefix("hugepages-")?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(req: &[(&str, &str)], lim: &[(&str, &str)]) -> Resources {
        let m = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Resources {
            requests: m(req),
            limits: m(lim),
        }
    }

    fn fields(r: &Resources) -> Vec<String> {
        check(r).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn api_server_rules() {
        assert!(
            check(&res(
                &[("cpu", "100m"), ("memory", "1Gi")],
                &[("memory", "2Gi")]
            ))
            .is_empty()
        );
        assert!(
            check(&res(
                &[("memory", "1Gi"), ("hugepages-2Mi", "4Mi")],
                &[("hugepages-2Mi", "4Mi")]
            ))
            .is_empty()
        );
        assert_eq!(fields(&res(&[("cpu", "-1")], &[])), ["requests.cpu"]);
        assert_eq!(
            fields(&res(&[("memory", "1e999")], &[])),
            ["requests.memory"]
        );
        assert_eq!(
            fields(&res(&[("memory", "2Gi")], &[("memory", "1Gi")])),
            ["requests.memory"]
        );
        // As the API server: a bad huge page name, and huge pages without cpu or memory.
        assert_eq!(
            fields(&res(&[], &[("hugepages-foo", "1")])),
            ["limits.hugepages-foo", ""]
        );
        assert_eq!(
            fields(&res(&[("cpu", "1")], &[("hugepages-0", "1")])),
            ["limits.hugepages-0"]
        );
        assert_eq!(fields(&res(&[], &[("gpu", "1")])), ["limits.gpu"]);
        assert_eq!(
            fields(&res(&[("memory", "1Gi"), ("hugepages-2Mi", "4Mi")], &[])),
            ["limits.hugepages-2Mi"]
        );
        assert_eq!(
            fields(&res(&[("memory", "1Gi")], &[("hugepages-2Mi", "3Mi")])),
            ["limits.hugepages-2Mi"]
        );
        assert_eq!(fields(&res(&[], &[("hugepages-2Mi", "4Mi")])), [""]);
    }
}
