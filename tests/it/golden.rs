//! Golden files: the full output of every example in `examples/*/spec.yaml`
//! (seeded and with a fixed clock, Secret data masked to digests) must match
//! `examples/*/expected.yaml`. `UPDATE_GOLDEN=1 cargo nextest run` rewrites them.

use crate::harness::cli::*;

fn examples() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("spec.yaml").is_file())
        .collect();
    v.sort();
    v
}

fn check(expected_path: &std::path::Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with UPDATE_GOLDEN=1",
            expected_path.display()
        )
    });
    if expected != actual {
        let diff_line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the render at line {}:\n  expected: {:?}\n  actual:   {:?}\n(UPDATE_GOLDEN=1 rewrites it after review)",
            expected_path.display(),
            diff_line + 1,
            expected.lines().nth(diff_line),
            actual.lines().nth(diff_line)
        );
    }
}

#[test]
fn every_example_matches_its_golden_file() {
    let examples = examples();
    assert!(
        examples.len() >= 4,
        "expected the bundled examples, found {examples:?}"
    );
    for dir in examples {
        let out = render(&dir.join("spec.yaml"), &[]);
        assert!(
            out.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut items = parse_stream(&out.stdout);
        mask_secrets(&mut items);
        check(&dir.join("expected.yaml"), &to_stream(&items));
    }
}

#[test]
fn krm_mode_output_matches_golden_file() {
    let dir = root().join("examples/basic");
    let spec = read_spec(&dir.join("spec.yaml"));
    let foreign = parse(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\n  annotations:\n    config.kubernetes.io/index: '0'\n    config.kubernetes.io/path: app.yaml\ndata:\n  LOG_LEVEL: debug\n",
    );
    let out = krm(&spec, std::slice::from_ref(&foreign), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut rl = parse(std::str::from_utf8(&out.stdout).expect("utf-8"));
    let items = rl
        .get_mut("items")
        .and_then(|i| i.as_sequence_mut())
        .expect("items");
    assert_eq!(
        items[0], foreign,
        "foreign items pass through unchanged and first"
    );
    mask_secrets(items);
    check(
        &dir.join("expected-resourcelist.yaml"),
        &serde_norway::to_string(&rl).expect("yaml"),
    );
}

#[test]
fn same_input_gives_byte_identical_output() {
    for dir in examples() {
        let a = render(&dir.join("spec.yaml"), &[]);
        let b = render(&dir.join("spec.yaml"), &[]);
        assert!(a.status.success());
        assert_eq!(
            a.stdout,
            b.stdout,
            "{} renders differently twice",
            dir.display()
        );
    }
}
