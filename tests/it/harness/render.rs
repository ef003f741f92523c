//! The function's output, parsed, and the pod templates of its StatefulSets.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::run;

/// `spec` with the image of the server under test when it names none or
/// the default (a copy in the scratch directory), else `spec` itself. In a
/// `RedisSentinelList`, each instance's spec is set the same way.
fn for_server_under_test(spec: &Path) -> Result<std::path::PathBuf> {
    let text =
        std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    let mut v: Value =
        serde_norway::from_str(&text).with_context(|| format!("parsing {}", spec.display()))?;
    let image = super::Server::from_env()?.image()?;
    let changed = match v
        .pointer_mut("/spec/instances")
        .and_then(Value::as_array_mut)
    {
        Some(instances) => {
            // Every instance, not only up to the first that changed.
            let mut any = false;
            for i in instances {
                any |= set_default_image(i, &image);
            }
            any
        }
        None => set_default_image(&mut v, &image),
    };
    if !changed {
        return Ok(spec.to_path_buf());
    }
    let dir = super::scratch_root().join(format!("specs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let n = SPEC_COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let out = dir.join(format!(
        "{n}-{}",
        spec.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default()
    ));
    std::fs::write(&out, serde_norway::to_string(&v)?)?;
    Ok(out)
}

/// Sets `spec.image` of one RedisSentinel document to `image` when it
/// names none or the default; whether it did.
fn set_default_image(doc: &mut Value, image: &str) -> bool {
    let default = redis_sentinel_fn::spec::model::defaults::IMAGE;
    let named = doc["spec"]["image"].as_str();
    if named.is_some_and(|i| i != default) || !doc["spec"].is_object() {
        return false;
    }
    doc["spec"]["image"] = image.into();
    true
}

static SPEC_COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Every object of one render, in output order.
pub struct Render {
    pub items: Vec<Value>,
}

impl Render {
    /// Runs `redis-sentinel-fn render -f SPEC` (the binary of this package).
    pub fn spec(spec: &Path) -> Result<Render> {
        Render::spec_with_seed(spec, None)
    }

    /// Like [`Render::spec`] with `REDIS_SENTINEL_FN_SEED` set: two
    /// renders of specs that differ in a setting keep the same keys,
    /// certificates and passwords (a re-render as GitOps does it).
    ///
    /// A spec that leaves `spec.image` to the default (or names the
    /// default) is rendered for the server the pods run
    /// ([`super::Server::from_env`]): the image must say what runs, since
    /// configuration depends on the server (Valkey 9's
    /// `rdb-version-check`). A spec naming another image is rendered as
    /// written.
    pub fn spec_with_seed(spec: &Path, seed: Option<&str>) -> Result<Render> {
        Render::run_cli(&for_server_under_test(spec)?, seed)
    }

    /// Like [`Render::spec_with_seed`], the spec exactly as written: its
    /// image (the default, when it names none) is what the pods run, so
    /// the cluster must map it to a server ([`super::ClusterOptions::images`]).
    /// For a document's spec that a test may not change.
    pub fn spec_as_written(spec: &Path, seed: Option<&str>) -> Result<Render> {
        Render::run_cli(spec, seed)
    }

    fn run_cli(spec: &Path, seed: Option<&str>) -> Result<Render> {
        let mut cmd = Command::new(super::cli::bin());
        cmd.arg("render").arg("-f").arg(spec);
        if let Some(s) = seed {
            cmd.env_remove("REDIS_SENTINEL_FN_SEED_FILE")
                .env("REDIS_SENTINEL_FN_SEED", s);
        }
        let out = run(&mut cmd, Duration::from_secs(60))?;
        if !out.status.success() {
            bail!(
                "render of {} failed ({}): {}",
                spec.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Render::parse(&String::from_utf8(out.stdout)?)
    }

    /// Parses a YAML stream of Kubernetes objects.
    pub fn parse(yaml: &str) -> Result<Render> {
        let mut items = Vec::new();
        for doc in serde_norway::Deserializer::from_str(yaml) {
            let v = Value::deserialize(doc).context("parsing the rendered YAML")?;
            if !v.is_null() {
                items.push(v);
            }
        }
        Ok(Render { items })
    }

    /// The object of `kind` named `name`, if rendered.
    pub fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.items
            .iter()
            .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
    }

    pub fn kinds(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.items.iter().filter(move |v| v["kind"] == kind)
    }

    /// `data` (and `binaryData`) of a ConfigMap, as the files a volume shows.
    pub fn configmap_data(&self, name: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let cm = self
            .find("ConfigMap", name)
            .ok_or_else(|| anyhow!("ConfigMap {name} is not in the render"))?;
        let mut files = BTreeMap::new();
        for (k, v) in cm["data"].as_object().into_iter().flatten() {
            let s = v
                .as_str()
                .ok_or_else(|| anyhow!("ConfigMap {name} data.{k} is not a string"))?;
            files.insert(k.clone(), s.as_bytes().to_vec());
        }
        for (k, v) in cm["binaryData"].as_object().into_iter().flatten() {
            files.insert(
                k.clone(),
                b64(v, &format!("ConfigMap {name} binaryData.{k}"))?,
            );
        }
        Ok(files)
    }

    /// `data` (base64-decoded) and `stringData` of a Secret.
    pub fn secret_data(&self, name: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let s = self
            .find("Secret", name)
            .ok_or_else(|| anyhow!("Secret {name} is not in the render"))?;
        let mut files = BTreeMap::new();
        for (k, v) in s["data"].as_object().into_iter().flatten() {
            files.insert(k.clone(), b64(v, &format!("Secret {name} data.{k}"))?);
        }
        for (k, v) in s["stringData"].as_object().into_iter().flatten() {
            let t = v
                .as_str()
                .ok_or_else(|| anyhow!("Secret {name} stringData.{k} is not a string"))?;
            files.insert(k.clone(), t.as_bytes().to_vec());
        }
        Ok(files)
    }

    /// The items of one instance (`<namespace>/<name>`) of a render with
    /// several (a RedisSentinelList): what a render of that instance alone
    /// holds, consumer Secrets with parts of other instances aside.
    pub fn instance(&self, key: &str) -> Render {
        Render {
            items: self
                .items
                .iter()
                .filter(|i| {
                    i["metadata"]["annotations"]["fn.redis-sentinel.dev/instance"].as_str()
                        == Some(key)
                })
                .cloned()
                .collect(),
        }
    }

    /// One key of a Secret as text.
    pub fn secret_text(&self, name: &str, key: &str) -> Result<Option<String>> {
        if self.find("Secret", name).is_none() {
            return Ok(None);
        }
        let data = self.secret_data(name)?;
        data.get(key)
            .map(|v| String::from_utf8(v.clone()).context("secret value is not UTF-8"))
            .transpose()
    }

    /// One key of a Secret as text; an error naming both when it is missing.
    pub fn secret_key(&self, name: &str, key: &str) -> Result<String> {
        self.secret_text(name, key)?
            .with_context(|| format!("Secret {name} has no {key}"))
    }

    /// The StatefulSet whose pods carry `app.kubernetes.io/component: COMPONENT`.
    pub fn workload_of(&self, component: &str) -> Result<Workload> {
        let sts = self
            .kinds("StatefulSet")
            .find(|v| v["metadata"]["labels"]["app.kubernetes.io/component"] == component)
            .ok_or_else(|| anyhow!("no StatefulSet for component {component} in the render"))?;
        Workload::from_statefulset(self, sts)
    }

    /// Every StatefulSet of the render.
    pub fn workloads(&self) -> Result<Vec<Workload>> {
        self.kinds("StatefulSet")
            .map(|sts| Workload::from_statefulset(self, sts))
            .collect()
    }
}

fn b64(v: &Value, what: &str) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("{what} is not a string"))?;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .with_context(|| format!("{what} is not base64"))
}

/// Where a volume's content comes from.
#[derive(Debug, Clone)]
pub enum MountSource {
    /// ConfigMap or Secret files (already projected through `items`), with
    /// their file mode; group-owned by the pod's fsGroup when it sets one.
    Files {
        files: BTreeMap<String, (Vec<u8>, u32)>,
        from: String,
    },
    /// An emptyDir (or, with `persistent`, a volumeClaimTemplate: kept when
    /// the pod is deleted and recreated).
    Dir { persistent: bool },
}

/// One volumeMount of the container with its volume.
#[derive(Debug, Clone)]
pub struct Mount {
    pub volume: String,
    pub path: String,
    pub read_only: bool,
    pub source: MountSource,
}

/// An environment variable of the container.
#[derive(Debug, Clone)]
pub enum EnvValue {
    Literal(String),
    /// `fieldRef.fieldPath`.
    Field(String),
}

/// The pod template of a StatefulSet as the harness runs it: the fields
/// below are those of the main (first) container; `sidecars` holds the
/// same template as each further container sees it (its own command,
/// environment, mounts, ports and security context).
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    /// Name of the container these fields describe.
    pub container: String,
    /// The pod's other containers (each with no sidecars of its own).
    pub sidecars: Vec<Workload>,
    pub namespace: String,
    pub component: String,
    pub service_name: String,
    pub replicas: u32,
    pub ordered_ready: bool,
    pub command: Vec<String>,
    /// The container's image ([`super::ClusterOptions::images`] maps it to
    /// host binaries).
    pub image: String,
    pub working_dir: Option<String>,
    pub env: Vec<(String, EnvValue)>,
    /// Named container ports.
    pub ports: BTreeMap<String, u16>,
    pub mounts: Vec<Mount>,
    pub readiness: Option<Vec<String>>,
    /// `lifecycle.preStop.exec.command` of the container.
    pub pre_stop: Option<Vec<String>>,
    /// The StatefulSet as rendered (its `spec.template` is what a rollout
    /// compares; [`Workload::with_data_from`] re-reads its volumes).
    pub statefulset: Value,
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub fs_group: Option<u32>,
    pub read_only_root: bool,
    pub no_new_privs: bool,
    pub drop_all_caps: bool,
    pub termination_grace: Duration,
}

/// The strings of a JSON array (none for anything else).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

fn id(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

impl Workload {
    fn from_statefulset(render: &Render, sts: &Value) -> Result<Workload> {
        let name = sts["metadata"]["name"]
            .as_str()
            .ok_or_else(|| anyhow!("StatefulSet without a name"))?
            .to_string();
        let spec = &sts["spec"];
        let pod = &spec["template"]["spec"];
        let containers = pod["containers"].as_array().cloned().unwrap_or_default();
        if containers.is_empty() {
            bail!("StatefulSet {name}: no container");
        }
        let mut main = Workload::from_container(render, sts, &containers[0])?;
        for c in &containers[1..] {
            main.sidecars
                .push(Workload::from_container(render, sts, c)?);
        }
        Ok(main)
    }

    /// The pod template of `sts` as one of its containers `c` sees it.
    fn from_container(render: &Render, sts: &Value, c: &Value) -> Result<Workload> {
        let name = sts["metadata"]["name"]
            .as_str()
            .ok_or_else(|| anyhow!("StatefulSet without a name"))?
            .to_string();
        let container = c["name"].as_str().unwrap_or_default().to_string();
        let ctx = |what: &str| format!("StatefulSet {name} container {container}: {what}");
        let spec = &sts["spec"];
        let pod = &spec["template"]["spec"];
        let command: Vec<String> = strings(&c["command"])
            .into_iter()
            .chain(strings(&c["args"]))
            .collect();
        if command.is_empty() {
            bail!(ctx(
                "the container has no command (the image default is not emulated)"
            ));
        }
        let mut env = Vec::new();
        for e in c["env"].as_array().into_iter().flatten() {
            let n = e["name"].as_str().unwrap_or_default().to_string();
            let v = if let Some(s) = e["value"].as_str() {
                EnvValue::Literal(s.to_string())
            } else if let Some(f) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                EnvValue::Field(f.to_string())
            } else if let Some(r) = e["valueFrom"]["secretKeyRef"].as_object() {
                let secret = r["name"].as_str().unwrap_or_default();
                let key = r["key"].as_str().unwrap_or_default();
                let v = render.secret_text(secret, key)?.ok_or_else(|| {
                    anyhow!(ctx(&format!("env {n}: no Secret {secret} key {key}")))
                })?;
                EnvValue::Literal(v)
            } else {
                bail!(ctx(&format!("env {n}: this kind of value is not emulated")));
            };
            env.push((n, v));
        }
        let ports = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p["name"].as_str()?.to_string(),
                    u16::try_from(p["containerPort"].as_u64()?).ok()?,
                ))
            })
            .collect();

        let claims: Vec<&str> = spec["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["metadata"]["name"].as_str())
            .collect();
        let volumes: BTreeMap<&str, &Value> = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| Some((v["name"].as_str()?, v)))
            .collect();
        let fs_group = id(&pod["securityContext"]["fsGroup"]);
        let mut mounts = Vec::new();
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let vol = m["name"].as_str().unwrap_or_default().to_string();
            let path = m["mountPath"].as_str().unwrap_or_default().to_string();
            if !m["subPath"].is_null() {
                bail!(ctx(&format!("volumeMount {vol}: subPath is not emulated")));
            }
            let source = if claims.contains(&vol.as_str()) {
                MountSource::Dir { persistent: true }
            } else {
                let v = volumes
                    .get(vol.as_str())
                    .ok_or_else(|| anyhow!(ctx(&format!("volumeMount {vol} has no volume"))))?;
                if !v["emptyDir"].is_null() {
                    MountSource::Dir { persistent: false }
                } else if !v["configMap"].is_null() {
                    let cm = v["configMap"]["name"].as_str().unwrap_or_default();
                    files_source(
                        render.configmap_data(cm)?,
                        &v["configMap"],
                        format!("ConfigMap/{cm}"),
                    )?
                } else if !v["secret"].is_null() {
                    let s = v["secret"]["secretName"].as_str().unwrap_or_default();
                    files_source(render.secret_data(s)?, &v["secret"], format!("Secret/{s}"))?
                } else if !v["projected"].is_null() {
                    projected_source(render, &v["projected"])?
                } else {
                    bail!(ctx(&format!(
                        "volume {vol}: this kind of volume is not emulated"
                    )));
                }
            };
            mounts.push(Mount {
                volume: vol,
                path,
                read_only: m["readOnly"].as_bool().unwrap_or(false),
                source,
            });
        }
        let readiness = c["readinessProbe"]["exec"]["command"]
            .as_array()
            .map(|_| strings(&c["readinessProbe"]["exec"]["command"]));
        let pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
            .as_array()
            .map(|_| strings(&c["lifecycle"]["preStop"]["exec"]["command"]));
        let psc = &pod["securityContext"];
        let csc = &c["securityContext"];
        let pick = |k: &str| id(&csc[k]).or_else(|| id(&psc[k]));
        Ok(Workload {
            image: c["image"].as_str().unwrap_or_default().to_string(),
            namespace: sts["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string(),
            component: sts["metadata"]["labels"]["app.kubernetes.io/component"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            service_name: spec["serviceName"]
                .as_str()
                .ok_or_else(|| anyhow!(ctx("no serviceName")))?
                .to_string(),
            replicas: spec["replicas"].as_u64().map_or(1, |n| n as u32),
            ordered_ready: spec["podManagementPolicy"].as_str() != Some("Parallel"),
            command,
            working_dir: c["workingDir"].as_str().map(String::from),
            env,
            ports,
            mounts,
            readiness,
            pre_stop,
            statefulset: sts.clone(),
            run_as_user: pick("runAsUser"),
            run_as_group: pick("runAsGroup"),
            fs_group,
            read_only_root: csc["readOnlyRootFilesystem"].as_bool().unwrap_or(false),
            no_new_privs: csc["allowPrivilegeEscalation"].as_bool() == Some(false),
            drop_all_caps: strings(&csc["capabilities"]["drop"])
                .iter()
                .any(|c| c == "ALL"),
            termination_grace: Duration::from_secs(
                pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30),
            ),
            name,
            container,
            sidecars: Vec::new(),
        })
    }

    /// Every volume mount of the pod: the main container's, then each
    /// sidecar's (a volume may appear more than once).
    pub fn all_mounts(&self) -> impl Iterator<Item = &Mount> {
        self.mounts
            .iter()
            .chain(self.sidecars.iter().flat_map(|s| s.mounts.iter()))
    }

    /// The same pod template with its ConfigMap/Secret volumes read from
    /// `render`: what kubelet shows a running pod once the objects it
    /// mounts were updated (the template itself does not change).
    pub fn with_data_from(&self, render: &Render) -> Result<Workload> {
        Workload::from_statefulset(render, &self.statefulset)
    }

    /// The pod template (`spec.template`): a StatefulSet rolls a pod whose
    /// template differs from the current one.
    pub fn template(&self) -> &Value {
        &self.statefulset["spec"]["template"]
    }

    /// Pod `i` of this StatefulSet.
    pub fn pod_name(&self, i: u32) -> String {
        format!("{}-{i}", self.name)
    }

    /// A named container port.
    pub fn port(&self, name: &str) -> Result<u16> {
        self.ports
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("StatefulSet {}: no container port {name}", self.name))
    }
}

/// A projected volume of Secret and ConfigMap sources, in one directory
/// (the service CA's serving certificate beside its CA bundle).
fn projected_source(render: &Render, vol: &Value) -> Result<MountSource> {
    let mut files = BTreeMap::new();
    let mut from = Vec::new();
    for src in vol["sources"].as_array().into_iter().flatten() {
        let mut part = src.clone();
        if part["defaultMode"].is_null() {
            part["defaultMode"] = vol["defaultMode"].clone();
        }
        let (data, what) = if let Some(n) = src["secret"]["name"].as_str() {
            part["items"] = src["secret"]["items"].clone();
            (render.secret_data(n)?, format!("Secret/{n}"))
        } else if let Some(n) = src["configMap"]["name"].as_str() {
            part["items"] = src["configMap"]["items"].clone();
            (render.configmap_data(n)?, format!("ConfigMap/{n}"))
        } else {
            bail!("projected volume source {src}: only secret and configMap are emulated");
        };
        if let MountSource::Files { files: f, .. } = files_source(data, &part, what.clone())? {
            files.extend(f);
        }
        from.push(what);
    }
    Ok(MountSource::Files {
        files,
        from: from.join("+"),
    })
}

/// Projects ConfigMap/Secret data through `items` and `defaultMode`.
fn files_source(data: BTreeMap<String, Vec<u8>>, vol: &Value, from: String) -> Result<MountSource> {
    let default_mode = vol["defaultMode"].as_u64().map_or(0o644, |m| m as u32);
    let mut files = BTreeMap::new();
    match vol["items"].as_array() {
        Some(items) => {
            for it in items {
                let key = it["key"].as_str().unwrap_or_default();
                let path = it["path"].as_str().unwrap_or(key);
                let mode = it["mode"].as_u64().map_or(default_mode, |m| m as u32);
                let v = data
                    .get(key)
                    .ok_or_else(|| anyhow!("{from}: no key {key}"))?;
                files.insert(path.to_string(), (v.clone(), mode));
            }
        }
        None => {
            for (k, v) in data {
                files.insert(k, (v, default_mode));
            }
        }
    }
    Ok(MountSource::Files { files, from })
}
