//! The shell blocks of a Markdown document, as `tests/it/docs.rs` runs them.
//!
//! A fenced block whose info string is `sh` (or `bash`, `shell`) is a
//! command a reader may copy. Its first line says how the tests treat it:
//! - `# file: NAME`: a named snippet that another test runs on real Redis
//!   (see [`super::extract_code_blocks`]);
//! - `# needs ...`: needs what a test machine does not have (a cluster, the
//!   internet, root for the whole CI); the reader sees why;
//! - anything else: run as written.

use std::path::Path;

use anyhow::{Context, Result};

/// How the tests treat a shell block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    Run,
    /// `# file: NAME`: run by the test that reads that snippet.
    Snippet(String),
    /// `# needs ...`: not run, with the reason.
    Needs(String),
}

#[derive(Debug, Clone)]
pub struct ShellBlock {
    /// 1-based line of the opening fence.
    pub line: usize,
    pub kind: BlockKind,
    pub text: String,
}

/// Every shell block of `doc`, in order.
pub fn shell_blocks(doc: &Path) -> Result<Vec<ShellBlock>> {
    let text =
        std::fs::read_to_string(doc).with_context(|| format!("reading {}", doc.display()))?;
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        if !matches!(info.trim(), "sh" | "bash" | "shell") {
            continue;
        }
        let first = body.first().copied().unwrap_or_default();
        let kind = if let Some(name) = first.strip_prefix("# file: ") {
            BlockKind::Snippet(name.trim().to_string())
        } else if let Some(why) = first.strip_prefix("# needs ") {
            BlockKind::Needs(why.trim().to_string())
        } else {
            BlockKind::Run
        };
        out.push(ShellBlock {
            line: i + 1,
            kind,
            text: body.join("\n") + "\n",
        });
    }
    Ok(out)
}

/// A block as a script under `set -euo pipefail`: continuation lines
/// joined, and a line `! cmd` (a command that must fail, which `set -e`
/// would not check) made to stop the script when `cmd` succeeds.
pub fn as_checked_script(block: &str) -> String {
    let mut out = String::new();
    let mut pending = String::new();
    for line in block.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        if full.trim_start().starts_with("! ") {
            out.push_str(&format!(
                "{full} || {{ echo 'expected to fail, but succeeded' >&2; exit 1; }}\n"
            ));
        } else {
            out.push_str(&full);
            out.push('\n');
        }
    }
    out.push_str(&pending);
    out
}
