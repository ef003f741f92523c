//! Output means the same to YAML 1.1 readers (PyYAML here; sigs.k8s.io/yaml
//! in kubectl and Argo CD behaves alike) as the input did: strings such as
//! `yes`, `on`, `1:20` or `2001-12-14` stay strings.

use std::process::Command;

use crate::harness::cli::*;

const TRICKY: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  namespace: other
  labels:
    enabled: 'yes'
    country: 'NO'
    flag: 'on'
data:
  a: 'yes'
  b: 'no'
  c: 'off'
  d: 'y'
  e: '1:20'
  f: '2001-12-14'
  g: '1_000'
  h: '0777'
  i: '1e3'
  j: '~'
  k: '<<'
  l: '='
  m: "multi\nline\n"
  n: "  leading"
  o: "tab\there"
  p: '0x1F'
  q: '.5'
  r: '+1'
  s: 'True'
  t: "x: y"
  u: '#comment'
  v: "bell\a"
  w: ''
  x: "no trailing newline\nsecond"
  z: '2001-12-14 21:59:43.10 -5'
"#;

#[test]
fn yaml_1_1_readers_see_the_same_values() {
    let probe = Command::new("python3").args(["-c", "import yaml"]).status();
    assert!(
        matches!(probe, Ok(s) if s.success()),
        "python3 with PyYAML is required (.ci/install.d/15-python.sh installs it)"
    );
    let spec = parse(
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\n  namespace: cache\nspec:\n  labels:\n    tier: 'on'\n",
    );
    let out = krm(&spec, &[parse(TRICKY)], &[]);
    assert!(out.status.success());
    let dir = temp_dir("yaml11");
    let input = temp_file(&dir, "in.yaml", TRICKY);
    let output = temp_file(&dir, "out.yaml", std::str::from_utf8(&out.stdout).unwrap());
    let script = r#"
import sys, yaml
src = yaml.safe_load(open(sys.argv[1]))
out = yaml.safe_load(open(sys.argv[2]))
item = out["items"][0]
assert item == src, (item, src)
for i in out["items"][1:]:
    labels = i["metadata"].get("labels", {})
    assert labels.get("tier") == "on", labels
    for v in (i.get("data") or {}).values():
        assert isinstance(v, str), v
print("ok", len(out["items"]))
"#;
    let res = Command::new("python3")
        .args([
            "-c",
            script,
            input.to_str().unwrap(),
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    // The CLI stream too.
    let spec_path = temp_file(
        &dir,
        "spec.yaml",
        "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: cache\nspec:\n  labels:\n    tier: 'on'\n    'y': 'n'\n",
    );
    let out = render(&spec_path, &[]);
    let stream = temp_file(
        &dir,
        "stream.yaml",
        std::str::from_utf8(&out.stdout).unwrap(),
    );
    let script = r#"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    l = d["metadata"]["labels"]
    assert l["tier"] == "on" and l["y"] == "n", l
print("ok", len(docs))
"#;
    let res = Command::new("python3")
        .args(["-c", script, stream.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
