//! The function as a whole: a ResourceList in, a ResourceList out.

use serde_norway::Value;

use crate::certs::seed::Seed;
use crate::generate;
use crate::krm::{FieldError, KrmResult, ResourceList, ResourceRef, Severity};
use crate::object::ItemExt;
use crate::ownership;
use crate::spec::{self, Instance};

/// Current time for certificate validity: `SOURCE_DATE_EPOCH` when set (for
/// reproducible renders and tests), else the system clock.
pub fn now() -> i64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reference to the functionConfig, for results about it.
fn config_ref(fc: &Value) -> Option<ResourceRef> {
    fc.str_at(&["kind"]).map(|_| ResourceRef::of(fc))
}

/// Errors found in the function config, as results that point at it.
fn push_config_errors(rl: &mut ResourceList, errors: &[FieldError], fc_ref: &Option<ResourceRef>) {
    for e in errors {
        let mut r = e.to_result();
        r.resource_ref = fc_ref.clone();
        rl.results.push(r);
    }
}

/// Runs the function on raw input. Returns the output list; it has an
/// error result (and the input items unchanged) when anything failed.
pub fn run(input: &[u8], seed: Result<Option<Seed>, String>, now: i64) -> ResourceList {
    match ResourceList::from_bytes(input) {
        Ok(rl) => run_parsed(rl, seed, now),
        Err(e) => ResourceList {
            results: vec![e.to_result()],
            ..Default::default()
        },
    }
}

/// [`run`], writing the output list to `w` (KRM mode). Large lists take
/// the pass-through fast path ([`crate::krm::passthrough`]), which writes
/// the same bytes. Returns whether the output has errors.
///
/// Errors also go to `tell` (standard error in `main`): kustomize shows a
/// function's standard error but drops its results. Where the caller drops
/// results ([`caller_drops_results`]), warnings go there too.
pub fn run_write(
    input: &[u8],
    seed: impl Fn() -> Result<Option<Seed>, String>,
    now: i64,
    w: impl std::io::Write,
    tell: impl Fn(&KrmResult),
) -> anyhow::Result<bool> {
    let told = |rl: ResourceList, drops: bool| {
        rl.results
            .iter()
            .filter(|r| r.severity == Severity::Error || (drops && r.severity == Severity::Warning))
            .for_each(&tell);
        rl
    };
    let drops = |rl: &ResourceList| {
        rl.function_config
            .as_ref()
            .is_some_and(caller_drops_results)
    };
    crate::krm::passthrough::run(
        input,
        |rl| {
            let d = drops(&rl);
            told(run_parsed(rl, seed(), now), d)
        },
        || match ResourceList::from_bytes(input) {
            Ok(rl) => {
                let d = drops(&rl);
                told(run_parsed(rl, seed(), now), d)
            }
            Err(e) => told(
                ResourceList {
                    results: vec![e.to_result()],
                    ..Default::default()
                },
                false,
            ),
        },
        w,
    )
}

/// The annotation by which kustomize finds a KRM function; kustomize
/// leaves it on the functionConfig it passes.
pub const FUNCTION_ANNOTATION: &str = "config.kubernetes.io/function";

/// Whether an annotation is one kpt sets on the functionConfig it passes
/// (`configPath` in a Kptfile, `kpt fn eval --fn-config`): its file path,
/// index and `internal.config.kubernetes.io/*` bookkeeping. kustomize sets
/// none of them on the functionConfig (only [`FUNCTION_ANNOTATION`] and
/// `config.kubernetes.io/local-config`).
fn set_by_kpt(key: &str) -> bool {
    key.starts_with("internal.config.kubernetes.io/")
        || key == "config.kubernetes.io/path"
        || key == "config.kubernetes.io/index"
}

/// Whether the caller drops the function's `results`: kustomize (as a
/// generator or transformer, and with it Argo CD's kustomize) passes the
/// functionConfig with [`FUNCTION_ANNOTATION`] and without kpt's
/// bookkeeping, and shows nothing of the output but the items (and the
/// function's standard error when it fails). kpt passes its bookkeeping
/// annotations, or a ConfigMap (`kpt fn eval -- key=value`), and prints
/// the results.
pub fn caller_drops_results(fc: &Value) -> bool {
    let Some(a) = fc.annotations() else {
        return false;
    };
    a.contains_key(FUNCTION_ANNOTATION) && !a.keys().filter_map(Value::as_str).any(set_by_kpt)
}

/// The error for a render whose certificates or passwords (`unstable`
/// fields) would be new on every run of a caller that drops warnings.
fn unstable_error(inst: &Instance, unstable: &[String]) -> KrmResult {
    KrmResult::error(format!(
        "{} would get new random {} on every build: kustomize drops this function's warnings, so every build would change Secrets and roll every pod. Fix one of: set {} (or {}, a file) to a secret of at least {} bytes kept outside git, e.g. `export {}=$(openssl rand -hex 32)`, and pass it to the container with `envs: [{}]` in the {} annotation; or take them from outside the function: spec.tls.source (cert-manager, openshift-service-ca, secret) and spec.auth.existingSecret",
        ownership::instance_key(inst),
        what_is_unstable(unstable),
        crate::certs::seed::SEED_ENV,
        crate::certs::seed::SEED_FILE_ENV,
        crate::certs::seed::MIN_SEED_BYTES,
        crate::certs::seed::SEED_ENV,
        crate::certs::seed::SEED_ENV,
        FUNCTION_ANNOTATION,
    ))
    .with_field(unstable.first().cloned().unwrap_or_default())
}

/// `certificates`, `passwords` or both, for [`unstable_error`].
fn what_is_unstable(unstable: &[String]) -> &'static str {
    let certs = unstable.iter().any(|f| f.ends_with("tls"));
    let passwords = unstable.iter().any(|f| !f.ends_with("tls"));
    match (certs, passwords) {
        (true, true) => "certificates and passwords",
        (true, false) => "certificates",
        _ => "passwords",
    }
}

/// [`run`] on a parsed list. Items this function does not own pass through
/// unchanged and in order, and only their identity (apiVersion, kind,
/// metadata.name and metadata.namespace) is read: the pass-through fast
/// path relies on it.
pub fn run_parsed(
    mut rl: ResourceList,
    seed: Result<Option<Seed>, String>,
    now: i64,
) -> ResourceList {
    let Some(fc) = rl.function_config.take() else {
        rl.results.push(
            KrmResult::error(format!(
                "the {} has no functionConfig: give a {} resource (apiVersion {}) as the function config",
                crate::krm::KIND,
                spec::model::KIND,
                spec::model::API_VERSION
            ))
            .with_field("functionConfig"),
        );
        return rl;
    };
    let fc_ref = config_ref(&fc);
    if rl.has_errors() {
        // Found while reading the list (YAML tags in the function config).
        for r in &mut rl.results {
            r.resource_ref = r.resource_ref.take().or_else(|| fc_ref.clone());
        }
        return rl;
    }
    let insts = match spec::instances_from_function_config(&fc) {
        Ok(i) => i,
        Err(errors) => {
            push_config_errors(&mut rl, &errors, &fc_ref);
            return rl;
        }
    };
    let seed = match seed {
        Ok(s) => s,
        Err(msg) => {
            rl.results.push(KrmResult::error(msg));
            return rl;
        }
    };
    if !check_windows(&mut rl, &insts, now, seed.is_some(), &fc_ref) {
        return rl;
    }
    if let Some(mut refused) = insts.iter().find_map(|inst| server_change(inst, &rl.items)) {
        refused.resource_ref = fc_ref.clone();
        rl.results.push(refused);
        return rl;
    }
    let rendered = render_run(
        &insts,
        seed.as_ref(),
        &rl.items,
        now,
        caller_drops_results(&fc),
    );
    let (outputs, results) = match rendered {
        Ok(r) => r,
        Err(e) => {
            let mut e = *e;
            e.resource_ref = e.resource_ref.or_else(|| fc_ref.clone());
            rl.results.push(e);
            return rl;
        }
    };
    // Items of any instance of this run are not foreign to the others (a
    // combined Secret may move to another instance when the list changes).
    let foreign: Vec<Value> = rl
        .items
        .iter()
        .filter(|i| !insts.iter().any(|inst| ownership::is_owned(i, inst)))
        .cloned()
        .collect();
    let conflicts: Vec<KrmResult> = insts
        .iter()
        .zip(&outputs)
        .flat_map(|(inst, out)| conflicts(inst, &foreign, out))
        .collect();
    if !conflicts.is_empty() {
        rl.results.extend(conflicts);
        return rl;
    }
    rl.results.extend(results);
    for (inst, out) in insts.iter().zip(outputs) {
        let count = out.len();
        rl.items = merge(inst, std::mem::take(&mut rl.items), out);
        rl.results.push(KrmResult::info(format!(
            "rendered {count} objects for Redis + Sentinel {}",
            ownership::instance_key(inst)
        )));
    }
    rl
}

/// The clock-dependent checks of every instance ([`spec::check_at`]):
/// warnings and errors go to `rl`; false when there were errors.
fn check_windows(
    rl: &mut ResourceList,
    insts: &[Instance],
    now: i64,
    seeded: bool,
    fc_ref: &Option<ResourceRef>,
) -> bool {
    for inst in insts {
        match spec::check_at(inst, now, seeded) {
            Ok(warnings) => rl.results.extend(warnings.iter().map(|w| {
                let mut r = KrmResult::warning(w.message.clone()).with_field(w.field.clone());
                r.resource_ref = fc_ref.clone();
                r
            })),
            Err(errors) => {
                push_config_errors(rl, &errors, fc_ref);
                return false;
            }
        }
    }
    true
}

/// [`render_instances`] as KRM mode runs it: a failed render, or (where the
/// caller drops results) one that would change on every run, is the error.
fn render_run(
    insts: &[Instance],
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
    drops_results: bool,
) -> Result<Rendered, Box<KrmResult>> {
    render_instances(
        insts,
        seed,
        previous,
        now,
        |inst, r| {
            if drops_results && !r.unstable.is_empty() {
                return Err(Box::new(unstable_error(inst, &r.unstable)));
            }
            Ok(())
        },
        |inst, e| {
            Box::new(KrmResult::error(format!(
                "rendering {} failed: {e:#}",
                ownership::instance_key(inst)
            )))
        },
    )
}

/// The items of each instance of a run (in order) and the results of all.
pub type Rendered = (Vec<Vec<Value>>, Vec<KrmResult>);

/// The render pipeline of KRM mode and the CLI: every instance of one spec
/// document (one, or each of a `RedisSentinelList`) rendered in order, then
/// consumer Secrets with parts from several instances combined into one.
/// `each` sees every instance's render first and may stop the run (KRM
/// mode refuses a render that changes on every run where results are
/// dropped; the CLI reports the results); `failed` says what a failed
/// render becomes. The first error ends the run.
pub fn render_instances<E>(
    insts: &[Instance],
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
    mut each: impl FnMut(&Instance, &generate::Rendered) -> Result<(), E>,
    failed: impl Fn(&Instance, anyhow::Error) -> E,
) -> Result<Rendered, E> {
    let mut outputs = Vec::new();
    let mut results = Vec::new();
    for inst in insts {
        let rendered = generate::render(inst, seed, previous, now).map_err(|e| failed(inst, e))?;
        each(inst, &rendered)?;
        outputs.push(rendered.items);
        results.extend(rendered.results);
    }
    crate::consumers::combine::combine(insts, &mut outputs);
    Ok((outputs, results))
}

/// The server change from the Redis StatefulSet this function rendered
/// before (kpt writes it back among the items) to the spec's, refused when
/// the new server cannot read the old one's data ([`spec::server::downgrade`]).
/// Only where both versions are known: a kustomize render sees no earlier
/// output (docs/servers.md says what to do there).
pub fn server_change(inst: &Instance, input: &[Value]) -> Option<KrmResult> {
    use spec::server::{Server, ServerKind, Version};
    let new = inst.redis.server.as_ref()?;
    let old = input.iter().find_map(|item| {
        let is_redis_sts = item.get("kind").and_then(Value::as_str) == Some("StatefulSet")
            && ownership::is_owned(item, inst)
            && item
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(crate::object::labels::COMPONENT))
                .and_then(Value::as_str)
                == Some("redis");
        if !is_redis_sts {
            return None;
        }
        let containers = item
            .get("spec")?
            .get("template")?
            .get("spec")?
            .get("containers")?
            .as_sequence()?;
        let image = containers
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some("redis"))?
            .get("image")?
            .as_str()?;
        Some(Server {
            kind: ServerKind::of_image(image)?,
            version: Version::of_image(image)?,
        })
    })?;
    let why = spec::server::downgrade(&old, new)?;
    Some(KrmResult::error(why).with_field("spec.image"))
}

/// Input items that this function does not own but that have the identity
/// (kind, namespace, name) of a generated item: emitting both would give
/// duplicate objects, so each is an error naming the fix.
pub fn conflicts(inst: &Instance, input: &[Value], generated: &[Value]) -> Vec<KrmResult> {
    // (kind, namespace, name); consumer Secrets live in other namespaces.
    let ids: std::collections::HashSet<(&str, &str, &str)> = generated
        .iter()
        .filter_map(|g| {
            Some((
                g.str_at(&["kind"])?,
                g.str_at(&["metadata", "namespace"])?,
                g.str_at(&["metadata", "name"])?,
            ))
        })
        .collect();
    input
        .iter()
        .filter(|i| !ownership::is_owned(i, inst))
        .filter_map(|i| {
            let kind = i.str_at(&["kind"])?;
            let name = i.str_at(&["metadata", "name"])?;
            let ns = i.str_at(&["metadata", "namespace"]);
            let ns_or_instance = ns.unwrap_or(&inst.namespace);
            ids.contains(&(kind, ns_or_instance, name)).then(|| {
                KrmResult::error(format!(
                    "{kind} {ns_or_instance}/{name} already exists among the input items and was not generated by this function; rename the instance (metadata.name), the consumer Secret (spec.consumers) or remove that {kind}"
                ))
                .with_ref(ResourceRef {
                    api_version: i.str_at(&["apiVersion"]).unwrap_or_default().to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                    namespace: ns.map(str::to_string),
                })
            })
        })
        .collect()
}

/// Items not owned by this instance, unchanged and in order, followed by
/// the generated items, which take over the orchestrator annotations
/// (file path, index, identity) of the earlier items they replace.
pub fn merge(inst: &Instance, input: Vec<Value>, generated: Vec<Value>) -> Vec<Value> {
    let (owned, mut out): (Vec<Value>, Vec<Value>) = input
        .into_iter()
        .partition(|i| ownership::is_owned(i, inst));
    out.reserve(generated.len());
    for mut g in generated {
        let kind = g.str_at(&["kind"]).map(str::to_string);
        let name = g.str_at(&["metadata", "name"]).map(str::to_string);
        let ns = g.str_at(&["metadata", "namespace"]).map(str::to_string);
        if let Some(old) = owned.iter().find(|o| {
            o.str_at(&["kind"]) == kind.as_deref()
                && o.str_at(&["metadata", "name"]) == name.as_deref()
                && o.str_at(&["metadata", "namespace"])
                    .is_none_or(|n| Some(n) == ns.as_deref())
        }) {
            ownership::carry_orchestrator_annotations(old, &mut g);
        }
        out.push(g);
    }
    out
}
