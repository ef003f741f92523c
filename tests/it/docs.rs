//! The documents are true:
//! - the field table of the spec reference (docs/reference.md) and of the
//!   catalog README are the same, and every field of the model is in it;
//! - every shell block of README.md, docs/*.md, CONTRIBUTING.md, the catalog
//!   README and every example README runs as written, in a fresh copy of
//!   the repository (tracked and new files, `target/` shared so the builds
//!   are cached), one document after the other with a scratch `$HOME`.
//!   Blocks that need what a test machine has not (a cluster, the internet,
//!   the whole CI) say so on their first line (`# needs ...`) and are
//!   listed, not run; `# file:` snippets are run by tests/it/consumers.rs.
//!
//! Needs what the documents use: cargo, openssl, docker (a running engine),
//! kubectl and kpt (.ci/install.d/30-gitops.sh). The first run builds the
//! release and the static binaries: several minutes on a cold target
//! directory.

use crate::harness;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use harness::{BlockKind, as_checked_script, cli, shell_blocks, static_build};

fn table(path: &str) -> String {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("readable");
    let start = text
        .find("| Field | Default | Meaning |")
        .unwrap_or_else(|| panic!("{path} has the field table"));
    text[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every field name in the model source (`pub snake_case: ...` in the spec structs).
fn model_fields() -> BTreeSet<String> {
    let src = include_str!("../../src/spec/model.rs");
    let mut out = BTreeSet::new();
    let mut in_struct = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("pub struct") {
            in_struct = !t.contains("RedisSentinelResource")
                && !t.contains("ResourceMeta")
                && !t.contains("Toleration")
                && !t.contains("struct Resources");
            continue;
        }
        if t == "}" {
            in_struct = false;
        }
        if in_struct
            && let Some(rest) = t.strip_prefix("pub ")
            && let Some((name, _)) = rest.split_once(':')
        {
            // snake_case -> camelCase as serde renames it
            let mut camel = String::new();
            let mut up = false;
            for ch in name.chars() {
                if ch == '_' {
                    up = true;
                } else if up {
                    camel.push(ch.to_ascii_uppercase());
                    up = false;
                } else {
                    camel.push(ch);
                }
            }
            out.insert(camel);
        }
    }
    out
}

/// Where the spec reference lives.
const REFERENCE: &str = "docs/reference.md";

#[test]
fn reference_and_catalog_document_the_same_fields() {
    assert_eq!(
        table(REFERENCE),
        table("functions/redis-sentinel/README.md")
    );
}

#[test]
fn every_spec_field_is_documented() {
    let t = table(REFERENCE);
    let fields = model_fields();
    assert!(fields.len() > 30, "parsed the model: {fields:?}");
    for f in fields {
        assert!(
            [
                format!(".{f}`"),
                format!(".{f}."),
                format!("`{f}`"),
                format!(".{f} ")
            ]
            .iter()
            .any(|p| t.contains(p.as_str())),
            "field {f} is not in the table of {REFERENCE}"
        );
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose commands run, in order: the README builds the
/// binary, docs/gitops.md the container image the later ones use.
fn documents() -> Vec<String> {
    let mut docs: Vec<String> = ["README.md", "docs/gitops.md"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rest = Vec::new();
    for dir in ["docs", "examples"] {
        for e in std::fs::read_dir(root().join(dir)).expect(dir).flatten() {
            let p = e.path();
            let rel = |p: &Path| p.strip_prefix(root()).unwrap().display().to_string();
            if p.extension().is_some_and(|x| x == "md") {
                rest.push(rel(&p));
            } else if p.join("README.md").is_file() {
                rest.push(rel(&p.join("README.md")));
            }
        }
    }
    rest.sort();
    rest.extend([
        "CONTRIBUTING.md".into(),
        "functions/redis-sentinel/README.md".into(),
    ]);
    for d in rest {
        if !docs.contains(&d) {
            docs.push(d);
        }
    }
    docs
}

/// Every example folder has a README, and the examples index links it.
#[test]
fn every_example_has_a_readme_reachable_from_the_docs() {
    let index =
        std::fs::read_to_string(root().join("examples/README.md")).expect("examples/README.md");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains("(examples/README.md)"),
        "README.md links the examples index"
    );
    for e in std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
    {
        if !e.path().is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        assert!(
            e.path().join("README.md").is_file(),
            "examples/{name} has no README.md"
        );
        assert!(
            index.contains(&format!("({name}/README.md)")),
            "examples/README.md does not link {name}"
        );
    }
}

/// A copy of the repository's tracked and new files as a fresh git
/// repository, sharing cargo's build directories with the real target.
fn fresh_copy(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let files = Command::new("git")
        .current_dir(root())
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git ls-files");
    assert!(files.status.success(), "git ls-files failed");
    for f in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(f).unwrap());
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
        // The source's modification time too: cargo then finds the
        // crate's builds in the shared directories fresh (its fingerprints
        // hold paths relative to the package) instead of compiling the
        // crate again for every copy.
        let mtime = std::fs::metadata(&from).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&to)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
    // `target/` itself is a directory (Docker sends a symlink as a link, so
    // `target/docker/` must be real); cargo's output directories are links
    // to the real ones, so the builds are cached.
    let target = dir.join("target");
    std::fs::create_dir_all(target.join("docker")).unwrap();
    for sub in ["debug", "release", "x86_64-unknown-linux-gnu"] {
        let real = cli::target_dir().join(sub);
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, target.join(sub)).unwrap();
    }
    // A repository, as a clone is (documents may use git).
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=docs", "-c", "user.email=docs@localhost"])
            .args(args)
            .output()
            .expect("git");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(dir.join(".git/info/exclude"), "/target\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "copy"]);
}

/// Runs every shell block of every document; prints how many ran and
/// which were not run and why.
#[test]
fn every_command_in_the_documents_runs_as_written() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs");
    let home = work.join("home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let (mut ran, mut snippets, mut needs) = (0, 0, Vec::new());
    for doc in documents() {
        let blocks = shell_blocks(&root().join(&doc)).unwrap();
        let mut script = String::from("set -euo pipefail\n");
        let mut count = 0;
        for b in &blocks {
            match &b.kind {
                BlockKind::Run => {
                    script.push_str(&format!("echo '### {doc}:{}' >&2\n", b.line));
                    script.push_str(&as_checked_script(&b.text));
                    count += 1;
                }
                BlockKind::Snippet(_) => snippets += 1,
                BlockKind::Needs(why) => needs.push(format!("{doc}:{}: needs {why}", b.line)),
            }
        }
        if count == 0 {
            continue;
        }
        let copy = work.join("copy");
        fresh_copy(&copy);
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(&script)
            .current_dir(&copy)
            .env("HOME", &home)
            .env_remove("REDIS_SENTINEL_FN_SEED")
            .env_remove("REDIS_SENTINEL_FN_SEED_FILE")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS");
        // docs/gitops.md's static build and image are the gitops tests' too:
        // one at a time.
        let lock = (script.contains("crt-static") || script.contains("docker build"))
            .then(|| static_build::lock().unwrap());
        let out = harness::run(&mut cmd, Duration::from_secs(1800)).unwrap();
        drop(lock);
        assert!(
            out.status.success(),
            "a command of {doc} failed ({}; the last `###` line names its block):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("docs: {doc}: {count} shell blocks ran");
        ran += count;
    }
    eprintln!(
        "docs: {ran} shell blocks ran; {snippets} named snippets run by tests/it/consumers.rs; {} not run:\n  {}",
        needs.len(),
        needs.join("\n  ")
    );
    assert!(ran >= 20, "only {ran} blocks found: is the parser broken?");
    for n in &needs {
        assert!(
            ["a cluster", "Docker Hub", "root", "a standalone kustomize"]
                .iter()
                .any(|ok| n.contains(&format!("needs {ok}"))),
            "a block is not run for a reason this test does not know: {n}"
        );
    }
}

/// The GitHub anchor of a heading: lower case, punctuation dropped,
/// spaces to dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every relative link of every document leads to a file that exists,
/// and to a heading of it when it names one.
#[test]
fn every_link_between_documents_resolves() {
    let mut docs = documents();
    docs.extend(["CHANGELOG.md".to_string(), "BENCHMARKS.md".to_string()]);
    let mut checked = 0;
    for doc in docs {
        let text = std::fs::read_to_string(root().join(&doc)).unwrap();
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                continue;
            }
            for part in line.split("](").skip(1) {
                let Some(link) = part.split(')').next() else {
                    continue;
                };
                if link.starts_with("http") || link.contains(' ') {
                    continue;
                }
                let (file, heading) = link.split_once('#').unwrap_or((link, ""));
                let base = root().join(&doc);
                let target = if file.is_empty() {
                    base.clone()
                } else {
                    base.parent().unwrap().join(file)
                };
                assert!(target.exists(), "{doc}: link {link} leads nowhere");
                if !heading.is_empty() {
                    let t = std::fs::read_to_string(&target).unwrap();
                    assert!(
                        t.lines()
                            .filter_map(|l| l
                                .trim_start_matches('#')
                                .strip_prefix(' ')
                                .filter(|_| l.starts_with('#')))
                            .any(|h| anchor(h) == heading),
                        "{doc}: link {link}: no heading #{heading} there"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} links found");
}

/// The README's client check is the redis-cli block of docs/connecting.md
/// that tests/it/consumers.rs runs on real Redis.
#[test]
fn the_readme_client_check_is_the_tested_redis_cli_block() {
    let blocks = shell_blocks(&root().join("docs/connecting.md")).unwrap();
    let block = blocks
        .iter()
        .find(|b| b.kind == BlockKind::Snippet("redis-cli.sh".into()))
        .expect("docs/connecting.md has the redis-cli.sh block");
    let script = std::fs::read_to_string(root().join("examples/basic/redis-cli.sh")).unwrap();
    assert_eq!(
        script, block.text,
        "examples/basic/redis-cli.sh differs from the block"
    );
}
