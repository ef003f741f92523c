//! Command line: wires clap to the library. See `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use redis_sentinel_fn::certs::seed::Seed;
use redis_sentinel_fn::krm::{self, ResourceList, Severity};
use redis_sentinel_fn::object::ItemExt;
use redis_sentinel_fn::{check, function, spec};
use serde_norway::Value;

const ABOUT: &str = "Renders a complete Redis + Sentinel topology with TLS on every link from a small RedisSentinel spec.";

const LONG_ABOUT: &str = "\
Renders a complete Redis + Sentinel topology with TLS on every link (certificates, Services,
ConfigMaps, StatefulSets, PodDisruptionBudgets) from a small RedisSentinel spec.

Two modes:

  render (and check): commands for people, see `redis-sentinel-fn render --help`.

  KRM function (no subcommand): reads a config.kubernetes.io/v1 ResourceList on standard input
  and writes one on standard output. The function config is the RedisSentinel spec (or a
  ConfigMap whose data keys are dotted spec paths). Items the function does not own pass
  through unchanged. This is how kustomize (generators), kpt (fn render / fn eval) and the
  Argo CD plugin run it. Exits 1 with `severity: error` results on bad input, and prints the
  errors on standard error too.

Stable certificates and passwords: set REDIS_SENTINEL_FN_SEED_FILE (or --seed-file, or
REDIS_SENTINEL_FN_SEED) to a secret of at least 16 bytes kept outside git; keys, certificates
and passwords are then derived from it and every render gives the same bytes. Without a seed,
certificates and passwords found among the input items (kpt writes them back; the CLI reads
them with `render --previous`) are kept while they fit the spec; otherwise new ones are made
and a warning says so. Under kustomize, which drops warnings, that is an error instead.";

const MAIN_EXAMPLES: &str = "\
Examples:
  redis-sentinel-fn render -f examples/basic/spec.yaml > manifests.yaml
  redis-sentinel-fn render -f spec.yaml | redis-sentinel-fn check
  kpt fn eval --exec redis-sentinel-fn --fn-config spec.yaml pkg/   # KRM mode, under kpt";

const RENDER_EXAMPLES: &str = "\
Examples:
  # Stable output: derive every key and password from a seed kept outside git
  openssl rand -hex 32 > ~/.redis-seed      # once; keep it, back it up
  redis-sentinel-fn render --seed-file ~/.redis-seed -f examples/basic/spec.yaml > cache.yaml
  # No seed: keep the certificates and passwords of the earlier render
  redis-sentinel-fn render -f spec.yaml --previous cache.yaml > cache-new.yaml";

const CHECK_EXAMPLES: &str = "\
Examples:
  redis-sentinel-fn render -f spec.yaml | redis-sentinel-fn check
  kubectl kustomize --enable-alpha-plugins overlay/ | redis-sentinel-fn check

Exits 1 on a fault, and when the input holds no rendered object (nothing to check).";

const SEED_FILE_HELP: &str = "File holding the secret seed (at least 16 bytes, kept outside git) from which every key, certificate and password is derived, so each render gives the same bytes (default: $REDIS_SENTINEL_FN_SEED_FILE, then $REDIS_SENTINEL_FN_SEED; none: new ones each render unless kept, see --previous)";

#[derive(Parser)]
#[command(name = "redis-sentinel-fn", version, about = ABOUT, long_about = LONG_ABOUT, after_help = MAIN_EXAMPLES)]
struct Cli {
    /// KRM mode: file holding the secret seed for stable certificates and
    /// passwords (see `render --help`).
    #[arg(long, value_name = "PATH", long_help = SEED_FILE_HELP)]
    seed_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Render RedisSentinel spec files (or directories of them) to a YAML stream on stdout.
    #[command(after_help = RENDER_EXAMPLES)]
    Render {
        /// Spec file or directory (*.yaml, *.yml; documents of other kinds in a
        /// directory are skipped with a note); may be repeated. `-` reads stdin.
        #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// File holding the secret seed for stable certificates and passwords.
        #[arg(long, value_name = "PATH", long_help = SEED_FILE_HELP)]
        seed_file: Option<PathBuf>,
        /// An earlier render (YAML stream or ResourceList) whose certificates
        /// and passwords are kept while they still fit the spec.
        #[arg(long, value_name = "FILE")]
        previous: Option<PathBuf>,
    },
    /// Check rendered manifests for names, namespaces, selectors and SANs that no longer agree.
    ///
    /// Reads the output of `render` or of kustomize (after transformers and
    /// patches) as YAML streams or a ResourceList (then writes the
    /// ResourceList back); each fault is a KRM result naming the fix. As a
    /// KRM function (no subcommand), a function config of kind
    /// RedisSentinelCheck selects this check.
    #[command(after_help = CHECK_EXAMPLES)]
    Check {
        /// Manifest file or directory; may be repeated. Default or `-`: stdin.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(|| match &cli.command {
        None => krm_mode(&cli),
        Some(Command::Render {
            files,
            seed_file,
            previous,
        }) => render_mode(
            seed_file.as_deref().or(cli.seed_file.as_deref()),
            files,
            previous.as_deref(),
        ),
        Some(Command::Check { files }) => check_mode(files),
    });
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {}", krm::escape_text(&format!("{e:#}")));
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: internal error (a bug); please report it with the input that caused it"
            );
            ExitCode::FAILURE
        }
    }
}

fn load_seed(seed_file: Option<&Path>) -> Result<Option<Seed>, String> {
    Seed::from_environment(seed_file).map_err(|e| format!("{e:#}"))
}

fn krm_mode(cli: &Cli) -> anyhow::Result<ExitCode> {
    let input = match krm::read_limited(std::io::stdin().lock(), krm::max_input_bytes()) {
        Ok(b) => b,
        Err(e) => {
            let rl = ResourceList {
                results: vec![e.to_result()],
                ..Default::default()
            };
            rl.write(std::io::stdout().lock())?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let failed = match check::dispatch(&input) {
        Some(rl) => {
            eprint!("{}", check::human(&rl.results));
            rl.write(std::io::stdout().lock())?;
            rl.has_errors()
        }
        None => function::run_write(
            &input,
            || load_seed(cli.seed_file.as_deref()),
            function::now(),
            std::io::stdout().lock(),
            tell,
        )?,
    };
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A result on standard error (KRM mode): kustomize shows it, where it
/// drops the results of the output list.
fn tell(r: &krm::KrmResult) {
    let level = match r.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let text = match &r.field {
        Some(f) => format!("{}: {}", f.path, r.message),
        None => r.message.clone(),
    };
    eprintln!("redis-sentinel-fn: {level}: {}", krm::escape_text(&text));
}

/// A spec file to render, and whether it was found in a directory (then
/// documents that are not a RedisSentinel are skipped, not refused: a kpt
/// package holds its Kptfile, other functions' configs and earlier output).
struct SpecFile {
    path: PathBuf,
    from_dir: bool,
}

/// Spec files named on the command line; directories expand to their
/// `*.yaml`/`*.yml` files in name order.
fn spec_files(paths: &[PathBuf]) -> anyhow::Result<Vec<SpecFile>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && matches!(f.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect();
            entries.sort();
            out.extend(entries.into_iter().map(|path| SpecFile {
                path,
                from_dir: true,
            }));
        } else {
            out.push(SpecFile {
                path: p.clone(),
                from_dir: false,
            });
        }
    }
    Ok(out)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let limit = krm::max_input_bytes();
    if path == Path::new("-") {
        return Ok(krm::read_limited(std::io::stdin().lock(), limit)?);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    krm::read_limited(f, limit).with_context(|| format!("reading {}", path.display()))
}

/// Every non-empty YAML document of a file, with the explicit YAML tags
/// found in each (see `krm::tags`).
fn documents_and_tags(path: &Path) -> anyhow::Result<Vec<(Value, Vec<krm::FieldError>)>> {
    let bytes = read_input(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 at {}",
            path.display(),
            krm::Position::of(&bytes, e.valid_up_to())
        )
    })?;
    let mut docs = Vec::new();
    for d in serde_norway::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(d).map_err(|e| {
            anyhow::anyhow!(
                "{} is not valid YAML: {}",
                path.display(),
                krm::yaml_message(text, &e)
            )
        })?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let mut tags = krm::tags::document_tags(text);
    tags.resize_with(docs.len(), Vec::new);
    Ok(docs.into_iter().zip(tags).collect())
}

/// Every non-empty YAML document of a file.
fn documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    Ok(documents_and_tags(path)?
        .into_iter()
        .map(|(d, _)| d)
        .collect())
}

/// One line on standard error: `level: file: [field: ]message`, escaped.
fn report(level: &str, path: &Path, field: Option<&str>, message: &str) {
    let text = match field {
        Some(f) => format!("{}: {f}: {message}", path.display()),
        None => format!("{}: {message}", path.display()),
    };
    eprintln!("{level}: {}", krm::escape_text(&text));
}

/// What a document of a spec file is to `render`.
enum Doc {
    Spec,
    /// Not a spec, in a directory: skipped (the kind, for the note).
    Skip(String),
    /// Not a spec, in a file named on the command line: refused.
    Refuse(String),
}

fn classify(doc: &Value, from_dir: bool) -> Doc {
    let kind = doc.str_at(&["kind"]);
    match kind {
        Some(spec::model::KIND | spec::list::KIND) => Doc::Spec,
        Some("ConfigMap") if !from_dir => Doc::Spec,
        Some(k) if from_dir => Doc::Skip(k.to_string()),
        None if from_dir => Doc::Skip("no kind".into()),
        Some(k) => Doc::Refuse(format!(
            "holds a {k}, not a RedisSentinel spec: a spec is a document with apiVersion: {} and kind: {} (or a ConfigMap whose data keys are dotted spec paths)",
            spec::model::API_VERSION,
            spec::model::KIND
        )),
        None => Doc::Refuse(format!(
            "holds a document that is not a RedisSentinel spec (it has no kind): a spec is a document with apiVersion: {} and kind: {}",
            spec::model::API_VERSION,
            spec::model::KIND
        )),
    }
}

/// A field path for people: `functionConfig` is the KRM name of the
/// document itself, which on the command line is the file.
fn cli_field(field: &str) -> Option<&str> {
    match field.strip_prefix("functionConfig") {
        Some("") => None,
        Some(rest) => rest.strip_prefix('.').or(Some(field)),
        None => Some(field),
    }
}

/// What `render` has read so far.
#[derive(Default)]
struct Rendering {
    items: Vec<Value>,
    failed: bool,
    /// `file (kind)` of every document skipped in a directory.
    skipped: Vec<String>,
}

/// Renders every spec document of `file` into `r`.
fn render_file(
    file: &SpecFile,
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
    r: &mut Rendering,
) -> anyhow::Result<()> {
    let path = file.path.as_path();
    for (doc, tags) in documents_and_tags(path)? {
        match classify(&doc, file.from_dir) {
            Doc::Spec => {}
            Doc::Skip(kind) => {
                r.skipped.push(format!("{} ({kind})", path.display()));
                continue;
            }
            Doc::Refuse(msg) => {
                report("error", path, None, &msg);
                r.failed = true;
                continue;
            }
        }
        let checked = if tags.is_empty() {
            spec::instances_from_function_config(&doc).and_then(|insts| {
                let mut warnings = Vec::new();
                for inst in &insts {
                    warnings.extend(spec::check_at(inst, now, seed.is_some())?);
                }
                Ok((insts, warnings))
            })
        } else {
            Err(tags)
        };
        let insts = match checked {
            Ok((insts, warnings)) => {
                for w in warnings {
                    report("warning", path, cli_field(&w.field), &w.message);
                }
                insts
            }
            Err(errors) => {
                for e in errors {
                    report("error", path, cli_field(&e.field), &e.message);
                }
                r.failed = true;
                continue;
            }
        };
        r.items
            .extend(render_instances(path, &insts, seed, previous, now)?);
    }
    Ok(())
}

/// Renders the instances of one spec document (one, or each of a
/// `RedisSentinelList`, whose 3scale Secrets are combined), reporting
/// the render's results on standard error.
fn render_instances(
    path: &Path,
    insts: &[spec::Instance],
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
) -> anyhow::Result<Vec<Value>> {
    let (outputs, _) = function::render_instances(
        insts,
        seed,
        previous,
        now,
        |_, rendered| {
            for res in &rendered.results {
                let level = match res.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let field = res.field.as_ref().and_then(|f| cli_field(&f.path));
                report(level, path, field, &res.message);
            }
            Ok(())
        },
        |_, e| e.context(format!("rendering {}", path.display())),
    )?;
    Ok(outputs.into_iter().flatten().collect())
}

/// The items of `--previous`: a YAML stream or ResourceLists.
fn previous_items(previous: Option<&Path>) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    if let Some(p) = previous {
        for d in documents(p)? {
            if d.str_at(&["kind"]) == Some(krm::KIND) {
                items.extend(ResourceList::from_value(d)?.items);
            } else {
                items.push(d);
            }
        }
    }
    Ok(items)
}

fn render_mode(
    seed_file: Option<&Path>,
    files: &[PathBuf],
    previous: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let seed = load_seed(seed_file).map_err(anyhow::Error::msg)?;
    let previous_items = previous_items(previous)?;
    let now = function::now();
    let mut r = Rendering::default();
    let specs = spec_files(files)?;
    for file in &specs {
        render_file(file, seed.as_ref(), &previous_items, now, &mut r)?;
    }
    if !r.skipped.is_empty() {
        eprintln!(
            "note: {}",
            krm::escape_text(&format!(
                "skipped {} document(s) that are not a RedisSentinel spec: {}",
                r.skipped.len(),
                r.skipped.join(", ")
            ))
        );
    }
    if r.failed {
        return Ok(ExitCode::FAILURE);
    }
    if r.items.is_empty() {
        let named: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let why = if specs.is_empty() {
            "no *.yaml or *.yml file there"
        } else if r.skipped.is_empty() {
            "no YAML document in it"
        } else {
            "only documents of other kinds"
        };
        bail!(
            "no RedisSentinel spec found in {} ({why})",
            named.join(", ")
        );
    }
    let mut text = String::new();
    for item in &r.items {
        text.push_str("---\n");
        krm::yaml::emit(item, &mut text);
    }
    let mut w = std::io::stdout().lock();
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn check_mode(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let stdin = [PathBuf::from("-")];
    let paths: Vec<PathBuf> = if files.is_empty() {
        stdin.to_vec()
    } else {
        spec_files(files)?.into_iter().map(|f| f.path).collect()
    };
    let mut docs = Vec::new();
    for p in &paths {
        docs.extend(documents(p)?);
    }
    let (out, failed) = check::run_cli(docs)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
