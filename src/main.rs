//! Command line: wires clap to the library. See `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use redis_sentinel_fn::certs::seed::Seed;
use redis_sentinel_fn::krm::{self, ItemExt, ResourceList, Severity};
use redis_sentinel_fn::{check, function, generate, spec};
use serde_norway::Value;

const ABOUT: &str = "Renders a complete Redis + Sentinel topology with TLS on every link from a small RedisSentinel spec.";

const LONG_ABOUT: &str = "\
Renders a complete Redis + Sentinel topology with TLS on every link (certificates, Services,
ConfigMaps, StatefulSets, PodDisruptionBudgets) from a small RedisSentinel spec.

Two modes:

  KRM function (no subcommand): reads a config.kubernetes.io/v1 ResourceList on standard input
  and writes one on standard output. The functionConfig is the RedisSentinel spec (or a
  ConfigMap whose data keys are dotted spec paths). Items the function does not own pass
  through unchanged. This is how kustomize (generators), kpt (fn render / fn eval) and the
  Argo CD plugin run it. Exits 1 with `severity: error` results on bad input.

  render: renders spec files for people who just want YAML:
      redis-sentinel-fn render -f spec.yaml > manifests.yaml

Stable certificates: set REDIS_SENTINEL_FN_SEED_FILE (or --seed-file, or REDIS_SENTINEL_FN_SEED)
to a secret of at least 16 bytes kept outside git; keys, certificates and passwords are then
derived from it and every render gives the same bytes. Without a seed, certificates found among
the input items (kpt writes them back) are kept while they fit the spec; otherwise new ones
are made and a warning says so.";

#[derive(Parser)]
#[command(name = "redis-sentinel-fn", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// File holding the secret seed for stable certificates and passwords
    /// (default: $REDIS_SENTINEL_FN_SEED_FILE, then $REDIS_SENTINEL_FN_SEED).
    #[arg(long, global = true, value_name = "PATH")]
    seed_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Render RedisSentinel spec files (or directories of them) to a YAML stream on stdout.
    Render {
        /// Spec file or directory (*.yaml, *.yml); may be repeated. `-` reads stdin.
        #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// An earlier render (YAML stream or ResourceList) whose certificates
        /// and passwords are kept while they still fit the spec.
        #[arg(long, value_name = "FILE")]
        previous: Option<PathBuf>,
    },
    /// Check rendered manifests (after kustomize transformers, patches, ...)
    /// for names, namespaces, selectors and certificate SANs that no longer
    /// match each other; each fault is a KRM result naming the fix. Reads
    /// YAML streams or a ResourceList (then writes the ResourceList back).
    /// As a KRM function (no subcommand), a functionConfig of kind
    /// RedisSentinelCheck selects this check.
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
        Some(Command::Render { files, previous }) => render_mode(&cli, files, previous.as_deref()),
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

fn load_seed(cli: &Cli) -> Result<Option<Seed>, String> {
    Seed::from_environment(cli.seed_file.as_deref()).map_err(|e| format!("{e:#}"))
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
            || load_seed(cli),
            function::now(),
            std::io::stdout().lock(),
        )?,
    };
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Spec files named on the command line; directories expand to their
/// `*.yaml`/`*.yml` files in name order.
fn spec_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
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
            out.extend(entries);
        } else {
            out.push(p.clone());
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

/// Renders the instances of one spec document (one, or each of a
/// `RedisSentinelList`), reporting results on standard error. `None`: the
/// spec has errors (reported).
fn render_document(
    path: &Path,
    doc: &Value,
    tags: Vec<krm::FieldError>,
    seed: Option<&Seed>,
    previous: &[Value],
    now: i64,
) -> anyhow::Result<Option<Vec<Value>>> {
    let checked = if tags.is_empty() {
        spec::instances_from_function_config(doc).and_then(|insts| {
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
                report("warning", path, Some(&w.field), &w.message);
            }
            insts
        }
        Err(errors) => {
            for e in errors {
                report("error", path, Some(&e.field), &e.message);
            }
            return Ok(None);
        }
    };
    let mut outputs = Vec::new();
    for inst in &insts {
        let rendered = generate::render(inst, seed, previous, now)
            .with_context(|| format!("rendering {}", path.display()))?;
        for r in &rendered.results {
            let level = match r.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            report(level, path, None, &r.message);
        }
        outputs.push(rendered.items);
    }
    redis_sentinel_fn::consumers::combine::combine(&insts, &mut outputs);
    Ok(Some(outputs.into_iter().flatten().collect()))
}

fn render_mode(cli: &Cli, files: &[PathBuf], previous: Option<&Path>) -> anyhow::Result<ExitCode> {
    let seed = load_seed(cli).map_err(anyhow::Error::msg)?;
    let mut previous_items = Vec::new();
    if let Some(p) = previous {
        for d in documents(p)? {
            if d.str_at(&["kind"]) == Some(krm::KIND) {
                previous_items.extend(ResourceList::from_value(d)?.items);
            } else {
                previous_items.push(d);
            }
        }
    }
    let now = function::now();
    let mut out = Vec::new();
    let mut failed = false;
    for path in spec_files(files)? {
        for (doc, tags) in documents_and_tags(&path)? {
            match render_document(&path, &doc, tags, seed.as_ref(), &previous_items, now)? {
                Some(items) => out.extend(items),
                None => failed = true,
            }
        }
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    if out.is_empty() {
        bail!("no RedisSentinel spec found in the given files");
    }
    let mut text = String::new();
    for item in &out {
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
    let paths = if files.is_empty() {
        stdin.to_vec()
    } else {
        spec_files(files)?
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
