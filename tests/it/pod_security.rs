//! Least privilege: every pod template the function renders must pass the
//! Kubernetes Pod Security Standards (baseline and restricted, latest
//! version), OpenShift's `restricted-v2` SCC, and a few project rules.
//!
//! The rules are encoded here as named checks over the rendered YAML (not
//! over the generator's Rust types), so that the test sees exactly what a
//! cluster would admit. Sources:
//! - PSS: <https://kubernetes.io/docs/concepts/security/pod-security-standards/>
//!   (baseline incl. the v1.34 host probe/lifecycle control; restricted).
//! - OpenShift `restricted-v2` SCC: no privileged, no host
//!   namespaces/ports/paths, `requiredDropCapabilities: [ALL]`,
//!   `allowedCapabilities: [NET_BIND_SERVICE]`, no privilege escalation,
//!   `seccompProfiles: [runtime/default]`, `runAsUser: MustRunAsRange`,
//!   `fsGroup: MustRunAs`, SELinux `MustRunAs`, and the volume list below.
//!
//! `docs/security.md` lists every rule id; a test keeps the two in step.
//! The self-tests at the bottom feed deliberately bad pods to the checker
//! and require every rule to fire, so a checker that passes everything
//! fails the build.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::harness::cli::*;
use serde_norway::Value;

// ---------------------------------------------------------------- model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Kubernetes,
    Openshift,
}

/// One pod template (or Pod) of a rendered object.
struct Pod<'a> {
    /// `Kind namespace/name` of the object that holds the template.
    object: String,
    /// YAML path of the pod spec inside the object, e.g. `spec.template.spec`.
    path: &'static str,
    /// Pod (template) metadata; `Null` when absent.
    meta: &'a Value,
    spec: &'a Value,
}

/// A container of any of the three lists.
struct Ctr<'a> {
    /// `containers[0](redis)`
    at: String,
    v: &'a Value,
}

/// A rule violation: which rule, where, what.
#[derive(Debug, Clone)]
struct Finding {
    rule: &'static str,
    message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

struct Rule {
    id: &'static str,
    /// Where the rule comes from (PSS level, SCC, project).
    source: &'static str,
    check: fn(&Pod, Platform, &mut Report),
}

/// Collects the findings of one rule on one pod.
struct Report<'r> {
    rule: &'static str,
    object: String,
    /// YAML path of the pod spec, e.g. `spec.template.spec`.
    path: &'static str,
    out: &'r mut Vec<Finding>,
}

impl Report<'_> {
    /// `field` is relative to the pod spec, e.g.
    /// `containers[0](redis).securityContext.privileged`.
    fn fail(&mut self, field: &str, problem: impl std::fmt::Display) {
        let at = format!("{}.{field}", self.path);
        self.push(&at, problem);
    }

    /// `field` is relative to the pod (template) metadata.
    fn fail_meta(&mut self, field: &str, problem: impl std::fmt::Display) {
        let base = self.path.strip_suffix("spec").unwrap_or(self.path);
        let at = format!("{base}metadata.{field}");
        self.push(&at, problem);
    }

    fn push(&mut self, at: &str, problem: impl std::fmt::Display) {
        self.out.push(Finding {
            rule: self.rule,
            message: format!("{}: {at}: {problem}", self.object),
        });
    }
}

// ------------------------------------------------------------ YAML access

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.get(key)?;
        if cur.is_null() {
            return None;
        }
    }
    Some(cur)
}

fn get_bool(v: &Value, path: &str) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

fn get_i64(v: &Value, path: &str) -> Option<i64> {
    get(v, path).and_then(Value::as_i64)
}

fn get_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

fn seq<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn strings(v: &Value, path: &str) -> Vec<String> {
    seq(v, path)
        .iter()
        .map(|s| s.as_str().map_or_else(|| format!("{s:?}"), str::to_string))
        .collect()
}

fn present(v: &Value, path: &str) -> bool {
    get(v, path).is_some()
}

impl Pod<'_> {
    /// Every container of `containers`, `initContainers` and `ephemeralContainers`.
    fn containers(&self) -> Vec<Ctr<'_>> {
        let mut out = Vec::new();
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for (i, c) in seq(self.spec, list).iter().enumerate() {
                let name = get_str(c, "name").unwrap_or("?");
                out.push(Ctr {
                    at: format!("{list}[{i}]({name})"),
                    v: c,
                });
            }
        }
        out
    }

    fn volumes(&self) -> Vec<(String, &Value)> {
        seq(self.spec, "volumes")
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = get_str(v, "name").unwrap_or("?");
                (format!("volumes[{i}]({name})"), v)
            })
            .collect()
    }
}

/// Pod templates of every workload kind in `items`.
fn pods(items: &[Value]) -> Vec<Pod<'_>> {
    let mut out = Vec::new();
    for item in items {
        let object = format!(
            "{} {}/{}",
            kind(item),
            get_str(item, "metadata.namespace").unwrap_or("-"),
            name(item)
        );
        let (path, meta, spec): (&'static str, Option<&Value>, Option<&Value>) = match kind(item) {
            "Pod" => ("spec", get(item, "metadata"), get(item, "spec")),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job" => (
                "spec.template.spec",
                get(item, "spec.template.metadata"),
                get(item, "spec.template.spec"),
            ),
            "PodTemplate" => (
                "template.spec",
                get(item, "template.metadata"),
                get(item, "template.spec"),
            ),
            "CronJob" => (
                "spec.jobTemplate.spec.template.spec",
                get(item, "spec.jobTemplate.spec.template.metadata"),
                get(item, "spec.jobTemplate.spec.template.spec"),
            ),
            _ => continue,
        };
        let spec = spec.unwrap_or_else(|| panic!("{object} has no pod spec at {path}"));
        out.push(Pod {
            object,
            path,
            meta: meta.unwrap_or(&Value::Null),
            spec,
        });
    }
    out
}

// ------------------------------------------------------------------ rules

/// Capabilities that PSS baseline allows in `capabilities.add`.
const BASELINE_CAPS: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Sysctls that PSS baseline allows ("safe": namespaced and isolated).
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// SELinux types that PSS baseline allows in `seLinuxOptions.type`.
const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Volume sources that PSS restricted allows. The SCC list is the same
/// (configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim,
/// projected, secret).
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Most permissive mode a mounted Secret file may have.
const SECRET_MODE_MAX: i64 = 0o440;

const RULES: &[Rule] = &[
    // ---- PSS baseline
    Rule {
        id: "pss-baseline/host-process",
        source: "PSS baseline: HostProcess",
        check: |p, _, r| {
            if get_bool(p.spec, "securityContext.windowsOptions.hostProcess") == Some(true) {
                r.fail(
                    "securityContext.windowsOptions.hostProcess",
                    "is true; allowed: false or unset",
                );
            }
            for c in p.containers() {
                if get_bool(c.v, "securityContext.windowsOptions.hostProcess") == Some(true) {
                    r.fail(
                        &format!("{}.securityContext.windowsOptions.hostProcess", c.at),
                        "is true; allowed: false or unset",
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/host-namespaces",
        source: "PSS baseline: Host Namespaces; SCC allowHostNetwork/PID/IPC false",
        check: |p, _, r| {
            for f in ["hostNetwork", "hostPID", "hostIPC"] {
                if get_bool(p.spec, f) == Some(true) {
                    r.fail(f, "is true: sharing a host namespace is forbidden");
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/privileged",
        source: "PSS baseline: Privileged Containers; SCC allowPrivilegedContainer false",
        check: |p, _, r| {
            for c in p.containers() {
                if get_bool(c.v, "securityContext.privileged") == Some(true) {
                    r.fail(
                        &format!("{}.securityContext.privileged", c.at),
                        "is true; allowed: false or unset",
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/capabilities",
        source: "PSS baseline: Capabilities (only the default set may be added)",
        check: |p, _, r| {
            for c in p.containers() {
                for cap in strings(c.v, "securityContext.capabilities.add") {
                    if !BASELINE_CAPS.contains(&cap.as_str()) {
                        r.fail(
                            &format!("{}.securityContext.capabilities.add", c.at),
                            format!(
                                "adds {cap}, which is outside the baseline set {BASELINE_CAPS:?}"
                            ),
                        );
                    }
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/host-path",
        source: "PSS baseline: HostPath Volumes; SCC allowHostDirVolumePlugin false",
        check: |p, _, r| {
            for (at, v) in p.volumes() {
                if present(v, "hostPath") {
                    r.fail(&format!("{at}.hostPath"), "hostPath volumes are forbidden");
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/host-ports",
        source: "PSS baseline: Host Ports; SCC allowHostPorts false",
        check: |p, _, r| {
            for c in p.containers() {
                for (i, port) in seq(c.v, "ports").iter().enumerate() {
                    if let Some(hp) = get_i64(port, "hostPort")
                        && hp != 0
                    {
                        r.fail(
                            &format!("{}.ports[{i}].hostPort", c.at),
                            format!("is {hp}; allowed: 0 or unset"),
                        );
                    }
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/apparmor",
        source: "PSS baseline: AppArmor (RuntimeDefault or Localhost only)",
        check: |p, _, r| {
            let ok = |t: &str| t == "RuntimeDefault" || t == "Localhost";
            if let Some(t) = get_str(p.spec, "securityContext.appArmorProfile.type")
                && !ok(t)
            {
                r.fail(
                    "securityContext.appArmorProfile.type",
                    format!("is {t}; allowed: RuntimeDefault, Localhost or unset"),
                );
            }
            for c in p.containers() {
                if let Some(t) = get_str(c.v, "securityContext.appArmorProfile.type")
                    && !ok(t)
                {
                    r.fail(
                        &format!("{}.securityContext.appArmorProfile.type", c.at),
                        format!("is {t}; allowed: RuntimeDefault, Localhost or unset"),
                    );
                }
            }
            if let Some(ann) = get(p.meta, "annotations").and_then(Value::as_mapping) {
                for (k, v) in ann {
                    let k = k.as_str().unwrap_or_default();
                    if !k.starts_with("container.apparmor.security.beta.kubernetes.io/") {
                        continue;
                    }
                    let v = v.as_str().unwrap_or_default();
                    if v != "runtime/default" && !v.starts_with("localhost/") {
                        r.fail_meta(
                            &format!("annotations[{k}]"),
                            format!("is {v:?}; allowed: runtime/default, localhost/* or unset"),
                        );
                    }
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/selinux",
        source: "PSS baseline: SELinux (no custom user/role, type from the container_* set)",
        check: |p, platform, r| {
            let mut check = |at: String, o: &Value| {
                if let Some(t) = get_str(o, "type")
                    && !t.is_empty()
                    && !SELINUX_TYPES.contains(&t)
                {
                    r.fail(
                        &format!("{at}.type"),
                        format!("is {t}; allowed: {SELINUX_TYPES:?} or unset"),
                    );
                }
                for f in ["user", "role"] {
                    if let Some(v) = get_str(o, f)
                        && !v.is_empty()
                    {
                        r.fail(&format!("{at}.{f}"), format!("is {v:?}; must be unset"));
                    }
                }
                // restricted-v2: seLinuxContext MustRunAs assigns the
                // namespace's MCS level; a fixed level would be rejected.
                if platform == Platform::Openshift
                    && let Some(l) = get_str(o, "level")
                    && !l.is_empty()
                {
                    r.fail(
                        &format!("{at}.level"),
                        format!("is {l:?}; on OpenShift the SCC assigns the level"),
                    );
                }
            };
            if let Some(o) = get(p.spec, "securityContext.seLinuxOptions") {
                check("securityContext.seLinuxOptions".into(), o);
            }
            for c in p.containers() {
                if let Some(o) = get(c.v, "securityContext.seLinuxOptions") {
                    check(format!("{}.securityContext.seLinuxOptions", c.at), o);
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/proc-mount",
        source: "PSS baseline: /proc Mount Type (Default only)",
        check: |p, _, r| {
            for c in p.containers() {
                if let Some(m) = get_str(c.v, "securityContext.procMount")
                    && m != "Default"
                {
                    r.fail(
                        &format!("{}.securityContext.procMount", c.at),
                        format!("is {m}; allowed: Default or unset"),
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/seccomp",
        source: "PSS baseline: Seccomp (never Unconfined)",
        check: |p, _, r| {
            if get_str(p.spec, "securityContext.seccompProfile.type") == Some("Unconfined") {
                r.fail(
                    "securityContext.seccompProfile.type",
                    "is Unconfined; seccomp must not be disabled",
                );
            }
            for c in p.containers() {
                if get_str(c.v, "securityContext.seccompProfile.type") == Some("Unconfined") {
                    r.fail(
                        &format!("{}.securityContext.seccompProfile.type", c.at),
                        "is Unconfined; seccomp must not be disabled",
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/sysctls",
        source: "PSS baseline: Sysctls (safe subset only)",
        check: |p, _, r| {
            for (i, s) in seq(p.spec, "securityContext.sysctls").iter().enumerate() {
                let n = get_str(s, "name").unwrap_or_default();
                if !SAFE_SYSCTLS.contains(&n) {
                    r.fail(
                        &format!("securityContext.sysctls[{i}].name"),
                        format!("{n:?} is not one of the safe sysctls {SAFE_SYSCTLS:?}"),
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-baseline/host-probes",
        source: "PSS baseline (v1.34+): Host Probes / Lifecycle Hooks (no .host)",
        check: |p, _, r| {
            for c in p.containers() {
                for handler in [
                    "livenessProbe",
                    "readinessProbe",
                    "startupProbe",
                    "lifecycle.postStart",
                    "lifecycle.preStop",
                ] {
                    for action in ["httpGet", "tcpSocket"] {
                        let f = format!("{handler}.{action}.host");
                        if let Some(h) = get_str(c.v, &f)
                            && !h.is_empty()
                        {
                            r.fail(
                                &format!("{}.{f}", c.at),
                                format!("is {h:?}; probes and hooks may only target the pod"),
                            );
                        }
                    }
                }
            }
        },
    },
    // ---- PSS restricted
    Rule {
        id: "pss-restricted/volume-types",
        source: "PSS restricted: Volume Types; SCC volumes list",
        check: |p, _, r| {
            for (at, v) in p.volumes() {
                let sources: Vec<String> = v
                    .as_mapping()
                    .map(|m| {
                        m.keys()
                            .filter_map(Value::as_str)
                            .filter(|k| *k != "name")
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if sources.len() != 1 {
                    r.fail(
                        &at,
                        format!(
                            "has {} volume sources {sources:?}; need exactly one",
                            sources.len()
                        ),
                    );
                }
                for s in sources {
                    if !RESTRICTED_VOLUMES.contains(&s.as_str()) {
                        r.fail(
                            &format!("{at}.{s}"),
                            format!(
                                "volume type {s} is not allowed; allowed: {RESTRICTED_VOLUMES:?}"
                            ),
                        );
                    }
                }
            }
        },
    },
    Rule {
        id: "pss-restricted/privilege-escalation",
        source: "PSS restricted: Privilege Escalation; SCC allowPrivilegeEscalation false",
        check: |p, _, r| {
            for c in p.containers() {
                match get_bool(c.v, "securityContext.allowPrivilegeEscalation") {
                    Some(false) => {}
                    other => r.fail(
                        &format!("{}.securityContext.allowPrivilegeEscalation", c.at),
                        format!("is {other:?}; must be explicitly false"),
                    ),
                }
            }
        },
    },
    Rule {
        id: "pss-restricted/run-as-non-root",
        source: "PSS restricted: Running as Non-root",
        check: |p, _, r| {
            let pod = get_bool(p.spec, "securityContext.runAsNonRoot");
            if pod == Some(false) {
                r.fail("securityContext.runAsNonRoot", "is false; must be true");
            }
            for c in p.containers() {
                match (pod, get_bool(c.v, "securityContext.runAsNonRoot")) {
                    (_, Some(true)) | (Some(true), None) => {}
                    (_, other) => r.fail(
                        &format!("{}.securityContext.runAsNonRoot", c.at),
                        format!("is {other:?} and the pod does not set it to true; must be true"),
                    ),
                }
            }
        },
    },
    Rule {
        id: "pss-restricted/run-as-user",
        source: "PSS restricted: Running as Non-root user (runAsUser != 0)",
        check: |p, _, r| {
            if get_i64(p.spec, "securityContext.runAsUser") == Some(0) {
                r.fail("securityContext.runAsUser", "is 0 (root)");
            }
            for c in p.containers() {
                if get_i64(c.v, "securityContext.runAsUser") == Some(0) {
                    r.fail(
                        &format!("{}.securityContext.runAsUser", c.at),
                        "is 0 (root)",
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-restricted/seccomp",
        source: "PSS restricted: Seccomp (RuntimeDefault or Localhost, set for every container)",
        check: |p, _, r| {
            let ok = |t: Option<&str>| matches!(t, Some("RuntimeDefault" | "Localhost"));
            let pod = get_str(p.spec, "securityContext.seccompProfile.type");
            if pod.is_some() && !ok(pod) {
                r.fail(
                    "securityContext.seccompProfile.type",
                    format!("is {pod:?}; allowed: RuntimeDefault or Localhost"),
                );
            }
            for c in p.containers() {
                let t = get_str(c.v, "securityContext.seccompProfile.type");
                let fine = if t.is_some() { ok(t) } else { ok(pod) };
                if !fine {
                    r.fail(
                        &format!("{}.securityContext.seccompProfile.type", c.at),
                        format!("is {t:?} (pod: {pod:?}); RuntimeDefault or Localhost required"),
                    );
                }
            }
        },
    },
    Rule {
        id: "pss-restricted/capabilities",
        source: "PSS restricted: Capabilities (drop ALL, add only NET_BIND_SERVICE); SCC restricted-v2",
        check: |p, _, r| {
            for c in p.containers() {
                let drop = strings(c.v, "securityContext.capabilities.drop");
                if !drop.iter().any(|d| d == "ALL") {
                    r.fail(
                        &format!("{}.securityContext.capabilities.drop", c.at),
                        format!("is {drop:?}; must contain ALL"),
                    );
                }
                for cap in strings(c.v, "securityContext.capabilities.add") {
                    if cap != "NET_BIND_SERVICE" {
                        r.fail(
                            &format!("{}.securityContext.capabilities.add", c.at),
                            format!("adds {cap}; only NET_BIND_SERVICE may be added"),
                        );
                    }
                }
            }
        },
    },
    // ---- OpenShift restricted-v2 SCC (beyond what PSS restricted covers)
    Rule {
        id: "scc-restricted-v2/seccomp",
        source: "OpenShift restricted-v2: seccompProfiles [runtime/default]",
        check: |p, _, r| {
            if let Some(t) = get_str(p.spec, "securityContext.seccompProfile.type")
                && t != "RuntimeDefault"
            {
                r.fail(
                    "securityContext.seccompProfile.type",
                    format!("is {t}; restricted-v2 admits RuntimeDefault only"),
                );
            }
            for c in p.containers() {
                if let Some(t) = get_str(c.v, "securityContext.seccompProfile.type")
                    && t != "RuntimeDefault"
                {
                    r.fail(
                        &format!("{}.securityContext.seccompProfile.type", c.at),
                        format!("is {t}; restricted-v2 admits RuntimeDefault only"),
                    );
                }
            }
        },
    },
    Rule {
        id: "scc-restricted-v2/no-fixed-ids",
        source: "OpenShift restricted-v2: runAsUser MustRunAsRange, fsGroup MustRunAs (IDs come from the namespace range)",
        check: |p, platform, r| {
            if platform != Platform::Openshift {
                return;
            }
            for f in ["runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"] {
                if present(p.spec, &format!("securityContext.{f}")) {
                    r.fail(
                        &format!("securityContext.{f}"),
                        "is set; on OpenShift the SCC assigns it from the namespace's range",
                    );
                }
            }
            for c in p.containers() {
                for f in ["runAsUser", "runAsGroup"] {
                    if present(c.v, &format!("securityContext.{f}")) {
                        r.fail(
                            &format!("{}.securityContext.{f}", c.at),
                            "is set; on OpenShift the SCC assigns it from the namespace's range",
                        );
                    }
                }
            }
        },
    },
    // ---- project rules
    Rule {
        id: "project/non-root-groups",
        source: "project (PSS's former optional control): no GID 0 anywhere",
        check: |p, _, r| {
            for f in ["runAsGroup", "fsGroup"] {
                if get_i64(p.spec, &format!("securityContext.{f}")) == Some(0) {
                    r.fail(&format!("securityContext.{f}"), "is 0 (root group)");
                }
            }
            for (i, g) in seq(p.spec, "securityContext.supplementalGroups")
                .iter()
                .enumerate()
            {
                if g.as_i64() == Some(0) {
                    r.fail(
                        &format!("securityContext.supplementalGroups[{i}]"),
                        "is 0 (root group)",
                    );
                }
            }
            for c in p.containers() {
                if get_i64(c.v, "securityContext.runAsGroup") == Some(0) {
                    r.fail(
                        &format!("{}.securityContext.runAsGroup", c.at),
                        "is 0 (root group)",
                    );
                }
            }
        },
    },
    Rule {
        id: "project/read-only-root-filesystem",
        source: "project: every container has a read-only root filesystem",
        check: |p, _, r| {
            for c in p.containers() {
                if get_bool(c.v, "securityContext.readOnlyRootFilesystem") != Some(true) {
                    r.fail(
                        &format!("{}.securityContext.readOnlyRootFilesystem", c.at),
                        "must be true",
                    );
                }
            }
        },
    },
    Rule {
        id: "project/no-service-account-token",
        source: "project: pods get no API token (Redis never calls the API server)",
        check: |p, _, r| {
            if get_bool(p.spec, "automountServiceAccountToken") != Some(false) {
                r.fail("automountServiceAccountToken", "must be false");
            }
            for (at, v) in p.volumes() {
                for (i, s) in seq(v, "projected.sources").iter().enumerate() {
                    if present(s, "serviceAccountToken") {
                        r.fail(
                            &format!("{at}.projected.sources[{i}].serviceAccountToken"),
                            "projects an API token",
                        );
                    }
                }
            }
        },
    },
    Rule {
        id: "project/resources",
        source: "project: CPU and memory requests and a memory limit on every container",
        check: |p, _, r| {
            for c in p.containers() {
                for f in ["requests.cpu", "requests.memory", "limits.memory"] {
                    if !present(c.v, &format!("resources.{f}")) {
                        r.fail(&format!("{}.resources.{f}", c.at), "is missing");
                    }
                }
            }
        },
    },
    Rule {
        id: "project/secret-file-mode",
        source: "project: mounted Secret files are at most 0440 (no write, exec or world bits)",
        check: |p, _, r| {
            let mut check_mode = |at: String, mode: Option<i64>, what: &str| {
                // Kubernetes' default for Secret volumes is 0644.
                let m = mode.unwrap_or(0o644);
                if m & !SECRET_MODE_MAX != 0 {
                    r.fail(
                        &at,
                        format!(
                            "{what} {m:#o} exceeds {SECRET_MODE_MAX:#o}{}",
                            if mode.is_none() {
                                " (unset: Kubernetes uses 0644)"
                            } else {
                                ""
                            }
                        ),
                    );
                }
            };
            for (at, v) in p.volumes() {
                if let Some(s) = get(v, "secret") {
                    check_mode(
                        format!("{at}.secret.defaultMode"),
                        get_i64(s, "defaultMode"),
                        "defaultMode",
                    );
                    for (i, it) in seq(s, "items").iter().enumerate() {
                        if let Some(m) = get_i64(it, "mode") {
                            check_mode(format!("{at}.secret.items[{i}].mode"), Some(m), "mode");
                        }
                    }
                }
                if let Some(pr) = get(v, "projected") {
                    let default = get_i64(pr, "defaultMode");
                    for (i, s) in seq(pr, "sources").iter().enumerate() {
                        let Some(sec) = get(s, "secret") else {
                            continue;
                        };
                        let items = seq(sec, "items");
                        if items.is_empty() {
                            check_mode(
                                format!("{at}.projected.defaultMode"),
                                default,
                                "defaultMode",
                            );
                        }
                        for (j, it) in items.iter().enumerate() {
                            check_mode(
                                format!("{at}.projected.sources[{i}].secret.items[{j}].mode"),
                                get_i64(it, "mode").or(default),
                                "mode",
                            );
                        }
                    }
                }
            }
        },
    },
];

/// Every finding of every rule on every pod template of `items`, plus the
/// object-level checks (ServiceAccounts).
fn check_items(items: &[Value], platform: Platform) -> Vec<Finding> {
    let mut out = Vec::new();
    for pod in pods(items) {
        for rule in RULES {
            let mut report = Report {
                rule: rule.id,
                object: pod.object.clone(),
                path: pod.path,
                out: &mut out,
            };
            (rule.check)(&pod, platform, &mut report);
        }
    }
    for sa in items.iter().filter(|i| kind(i) == "ServiceAccount") {
        if get_bool(sa, "automountServiceAccountToken") != Some(false) {
            out.push(Finding {
                rule: "project/no-service-account-token",
                message: format!(
                    "ServiceAccount {}: automountServiceAccountToken must be false",
                    name(sa)
                ),
            });
        }
    }
    out
}

// ------------------------------------------------------------ the renders

struct Case {
    label: String,
    path: PathBuf,
    platform: Platform,
}

fn platform_of(spec: &Value) -> Platform {
    let p = if kind(spec) == "ConfigMap" {
        get_str(spec, "data.platform")
    } else {
        get_str(spec, "spec.platform")
    };
    match p {
        Some("openshift") => Platform::Openshift,
        _ => Platform::Kubernetes,
    }
}

/// Specs beyond the examples: the switches that change pod templates.
const EXTRA_SPECS: [(&str, &str); 5] = [
    (
        "persistence",
        "redis:\n    persistence:\n      enabled: true\n      size: 2Gi\n",
    ),
    ("auth", "auth:\n    enabled: true\n"),
    ("tls-off", "tls:\n    enabled: false\n"),
    ("openshift", "platform: openshift\n"),
    (
        "openshift-everything",
        "platform: openshift\n  auth:\n    enabled: true\n  tls:\n    enabled: false\n  redis:\n    persistence:\n      enabled: true\n  podDisruptionBudget: false\n  networkPolicy:\n    enabled: false\n",
    ),
];

fn cases(tmp: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("spec.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 4,
        "expected the bundled examples, found {dirs:?}"
    );
    for d in dirs {
        let path = d.join("spec.yaml");
        out.push(Case {
            label: format!(
                "examples/{}",
                d.file_name().unwrap_or_default().to_string_lossy()
            ),
            platform: platform_of(&read_spec(&path)),
            path,
        });
    }
    for (label, body) in EXTRA_SPECS {
        let text = format!(
            "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: sec\n  namespace: sec\nspec:\n  {body}"
        );
        let path = temp_file(tmp, &format!("{label}.yaml"), &text);
        out.push(Case {
            label: format!("extra/{label}"),
            platform: platform_of(&parse(&text)),
            path,
        });
    }
    out
}

fn render_items(case: &Case) -> Vec<Value> {
    let out = render(&case.path, &[]);
    assert!(
        out.status.success(),
        "{}: render failed: {}",
        case.label,
        String::from_utf8_lossy(&out.stderr)
    );
    parse_stream(&out.stdout)
}

#[test]
fn every_render_passes_pod_security_restricted_scc_and_project_rules() {
    let tmp = temp_dir("pod-security");
    let mut failures = String::new();
    let mut openshift_seen = false;
    for case in cases(&tmp) {
        let items = render_items(&case);
        let templates = pods(&items);
        assert!(
            templates.len() >= 2,
            "{}: expected the Redis and Sentinel pod templates, found {}",
            case.label,
            templates.len()
        );
        for t in &templates {
            assert!(
                !t.containers().is_empty(),
                "{}: {} has no containers: the checks would be vacuous",
                case.label,
                t.object
            );
        }
        openshift_seen |= case.platform == Platform::Openshift;
        for f in check_items(&items, case.platform) {
            let _ = writeln!(failures, "  {} ({:?}): {f}", case.label, case.platform);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(openshift_seen, "no OpenShift render was checked");
    assert!(failures.is_empty(), "pod security violations:\n{failures}");
}

#[test]
fn docs_list_every_rule() {
    let doc = std::fs::read_to_string(root().join("docs/security.md")).expect("docs/security.md");
    let missing: Vec<_> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !doc.contains(&format!("`{id}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/security.md does not list the rules {missing:?}"
    );
    let ids: BTreeSet<_> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), RULES.len(), "rule ids must be unique");
    for r in RULES {
        assert!(!r.source.is_empty(), "{} has no source", r.id);
    }
}

// ------------------------------------------------------------ self-tests

/// A StatefulSet whose pod breaks every rule at least once.
const BAD: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: bad, namespace: t}
spec:
  template:
    metadata:
      annotations:
        container.apparmor.security.beta.kubernetes.io/app: unconfined
    spec:
      hostNetwork: true
      hostPID: true
      automountServiceAccountToken: true
      securityContext:
        runAsUser: 0
        runAsGroup: 0
        fsGroup: 1000
        runAsNonRoot: false
        seccompProfile: {type: Unconfined}
        sysctls: [{name: kernel.msgmax, value: "65536"}]
        windowsOptions: {hostProcess: true}
        seLinuxOptions: {user: system_u, type: spc_t, level: "s0:c1,c2"}
      initContainers:
      - name: init
        image: busybox
        securityContext:
          seccompProfile: {type: Localhost, localhostProfile: x.json}
          runAsGroup: 5
      containers:
      - name: app
        image: busybox
        ports: [{containerPort: 80, hostPort: 80}]
        livenessProbe: {httpGet: {host: 10.0.0.1, port: 80, path: /}}
        lifecycle: {preStop: {tcpSocket: {host: node, port: 1}}}
        securityContext:
          privileged: true
          allowPrivilegeEscalation: true
          procMount: Unmasked
          appArmorProfile: {type: Unconfined}
          capabilities: {add: [SYS_ADMIN, CHOWN]}
          readOnlyRootFilesystem: false
      volumes:
      - {name: host, hostPath: {path: /}}
      - {name: nfs, nfs: {server: x, path: /}}
      - {name: token, projected: {sources: [{serviceAccountToken: {path: t}}]}}
      - {name: creds, secret: {secretName: s}}
      - {name: creds2, secret: {secretName: s, defaultMode: 256, items: [{key: k, path: k, mode: 438}]}}
"#;

/// A pod that follows every rule on both platforms.
const GOOD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: t}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: app
        image: busybox
        ports: [{containerPort: 8080}]
        livenessProbe: {httpGet: {port: 8080, path: /}}
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {memory: 32Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
      volumes:
      - {name: cfg, configMap: {name: c}}
      - {name: s, secret: {secretName: s, defaultMode: 256}}
      - {name: tmp, emptyDir: {}}
"#;

fn fired(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

fn has(findings: &[Finding], rule: &str, needle: &str) -> bool {
    findings
        .iter()
        .any(|f| f.rule == rule && f.message.contains(needle))
}

#[test]
fn checker_reports_every_violation_of_a_bad_pod() {
    let items = parse_stream(BAD.as_bytes());
    let findings = check_items(&items, Platform::Openshift);
    let all = findings
        .iter()
        .map(|f| format!("  {f}\n"))
        .collect::<String>();
    // Every rule fires at least once: none of them is vacuous.
    let missing: Vec<_> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !fired(&findings).contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules that did not fire: {missing:?}\nfindings:\n{all}"
    );
    // The three violations the brief names, with their locations.
    for (rule, needle) in [
        (
            "pss-baseline/privileged",
            "containers[0](app).securityContext.privileged: is true",
        ),
        ("pss-baseline/host-path", "volumes[0](host).hostPath"),
        (
            "pss-restricted/volume-types",
            "volumes[0](host).hostPath: volume type hostPath",
        ),
        (
            "pss-restricted/run-as-user",
            "spec.template.spec.securityContext.runAsUser: is 0",
        ),
        // And some of the finer points.
        ("pss-restricted/volume-types", "volumes[1](nfs).nfs"),
        ("pss-baseline/capabilities", "adds SYS_ADMIN"),
        ("pss-restricted/capabilities", "adds CHOWN"),
        (
            "pss-restricted/capabilities",
            "initContainers[0](init).securityContext.capabilities.drop",
        ),
        (
            "pss-restricted/privilege-escalation",
            "initContainers[0](init)",
        ),
        (
            "pss-restricted/seccomp",
            "containers[0](app).securityContext.seccompProfile.type",
        ),
        ("scc-restricted-v2/seccomp", "is Localhost"),
        (
            "scc-restricted-v2/no-fixed-ids",
            "spec.template.spec.securityContext.fsGroup",
        ),
        (
            "scc-restricted-v2/no-fixed-ids",
            "initContainers[0](init).securityContext.runAsGroup",
        ),
        ("pss-baseline/host-namespaces", "hostPID: is true"),
        ("pss-baseline/host-probes", "livenessProbe.httpGet.host"),
        (
            "pss-baseline/host-probes",
            "lifecycle.preStop.tcpSocket.host",
        ),
        (
            "pss-baseline/apparmor",
            "container.apparmor.security.beta.kubernetes.io/app",
        ),
        (
            "pss-baseline/apparmor",
            "appArmorProfile.type: is Unconfined",
        ),
        ("pss-baseline/selinux", "seLinuxOptions.type: is spc_t"),
        ("pss-baseline/selinux", "seLinuxOptions.user"),
        ("pss-baseline/selinux", "seLinuxOptions.level"),
        (
            "project/secret-file-mode",
            "volumes[3](creds).secret.defaultMode: defaultMode 0o644",
        ),
        (
            "project/secret-file-mode",
            "volumes[4](creds2).secret.items[0].mode: mode 0o666",
        ),
        ("project/no-service-account-token", "serviceAccountToken"),
        (
            "project/resources",
            "containers[0](app).resources.requests.cpu: is missing",
        ),
        (
            "project/non-root-groups",
            "securityContext.runAsGroup: is 0",
        ),
    ] {
        assert!(
            has(&findings, rule, needle),
            "expected [{rule}] ... {needle:?}; findings:\n{all}"
        );
    }
    // The secret volume with a restrictive defaultMode (256 = 0o400) is not reported.
    assert!(!has(
        &findings,
        "project/secret-file-mode",
        "volumes[4](creds2).secret.defaultMode"
    ));
}

#[test]
fn checker_accepts_a_good_pod_on_both_platforms() {
    let items = parse_stream(GOOD.as_bytes());
    for platform in [Platform::Kubernetes, Platform::Openshift] {
        let findings = check_items(&items, platform);
        assert!(
            findings.is_empty(),
            "{platform:?}: false positives:\n{}",
            findings
                .iter()
                .map(|f| format!("  {f}\n"))
                .collect::<String>()
        );
    }
}

#[test]
fn fixed_ids_are_fine_on_kubernetes_but_not_on_openshift() {
    let text = GOOD.replace(
        "        runAsNonRoot: true\n",
        "        runAsNonRoot: true\n        runAsUser: 10001\n        fsGroup: 10001\n",
    );
    let items = parse_stream(text.as_bytes());
    assert!(check_items(&items, Platform::Kubernetes).is_empty());
    let os = check_items(&items, Platform::Openshift);
    assert_eq!(
        fired(&os),
        BTreeSet::from(["scc-restricted-v2/no-fixed-ids"]),
        "{os:?}"
    );
    assert_eq!(os.len(), 2, "runAsUser and fsGroup: {os:?}");
}

#[test]
fn a_missing_pod_level_setting_is_caught_per_container() {
    // Without the pod-level runAsNonRoot and seccomp profile, a container
    // that does not set them itself violates restricted.
    let text = GOOD.replace("        runAsNonRoot: true\n", "").replace(
        "        seccompProfile: {type: RuntimeDefault}\n",
        "        fsGroupChangePolicy: OnRootMismatch\n",
    );
    let items = parse_stream(text.as_bytes());
    let f = check_items(&items, Platform::Kubernetes);
    assert_eq!(
        fired(&f),
        BTreeSet::from(["pss-restricted/run-as-non-root", "pss-restricted/seccomp"]),
        "{f:?}"
    );
    // A ServiceAccount that mounts its token is reported too.
    let sa = parse_stream(b"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n");
    assert_eq!(
        fired(&check_items(&sa, Platform::Kubernetes)),
        BTreeSet::from(["project/no-service-account-token"])
    );
}
