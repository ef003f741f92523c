//! Structured specs: a tree built from a dictionary of the spec's field
//! names and interesting values (and arbitrary ones), as a RedisSentinel
//! resource, a kpt ConfigMap or any map (a RedisSentinelList among them),
//! into spec::instances_from_function_config and, when the spec is
//! accepted, generate::render and consumers::combine.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use redis_sentinel_fn::spec::{self, KeyAlgorithm};
use redis_sentinel_fn::{consumers, generate, ownership};
use redis_sentinel_fn_fuzz::{NOW, check_generated, seed};
use serde_norway::{Mapping, Number, Value};

const KEYS: &[&str] = &[
    "name",
    "namespace",
    "clusterDomain",
    "image",
    "imagePullPolicy",
    "platform",
    "redis",
    "sentinel",
    "tls",
    "auth",
    "labels",
    "annotations",
    "placement",
    "security",
    "serviceAccountName",
    "podDisruptionBudget",
    "networkPolicy",
    "replicas",
    "port",
    "resources",
    "persistence",
    "minReplicasToWrite",
    "minReplicasMaxLag",
    "maxmemory",
    "maxmemoryPolicy",
    "quorum",
    "masterName",
    "downAfterMilliseconds",
    "failoverTimeout",
    "parallelSyncs",
    "requests",
    "limits",
    "enabled",
    "size",
    "storageClassName",
    "source",
    "plaintext",
    "clientAuth",
    "keyAlgorithm",
    "caValidityDays",
    "validityDays",
    "renewBeforeDays",
    "keepCaKey",
    "rotation",
    "notBefore",
    "extraDnsNames",
    "redisPort",
    "sentinelPort",
    "nodeSelector",
    "tolerations",
    "antiAffinity",
    "topologyKey",
    "priorityClassName",
    "key",
    "operator",
    "value",
    "effect",
    "tolerationSeconds",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "clientPodLabels",
    "clientNamespaceLabels",
    "cpu",
    "memory",
    "ephemeral-storage",
    "hugepages-2Mi",
    "app.kubernetes.io/name",
    "example.com/tier",
    "kind",
    "apiVersion",
    "metadata",
    "spec",
    "data",
    // auth and consumers: the ACL rules parser (spec::acl) sits behind
    // appUserRules and consumers[].rules.
    "mode",
    "appUser",
    "appUserRules",
    "existingSecret",
    "consumers",
    "type",
    "user",
    "rules",
    "podLabels",
    "backendSecretName",
    "systemSecretName",
    "storageDatabase",
    "queuesDatabase",
    "systemDatabase",
    "systemKeyNamespace",
    "secretName",
    "database",
    "provider",
    "version",
    // RedisSentinelList and 3scale parts.
    "instances",
    "parts",
    "storage",
    "queues",
    "system",
];

const WORDS: &[&str] = &[
    "cache",
    "a",
    "redis",
    "default",
    "kube-system",
    "cluster.local",
    "example.com",
    "RedisSentinel",
    "ConfigMap",
    "fn.redis-sentinel.dev/v1alpha1",
    "v1",
    "kubernetes",
    "openshift",
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
    "rsa-2048",
    "yes",
    "no",
    "optional",
    "generated",
    "required",
    "preferred",
    "none",
    "Exists",
    "Equal",
    "NoSchedule",
    "NoExecute",
    "Always",
    "IfNotPresent",
    "Never",
    "1Gi",
    "100m",
    "128Mi",
    "1e3",
    "0.5",
    "+1",
    "256mb",
    "allkeys-lru",
    "noeviction",
    "2025-01-01T00:00:00Z",
    "2030-06-01T12:00:00+02:00",
    "*.example.com",
    "redis.example.com",
    "kubernetes.io/hostname",
    "",
    " ",
    "-",
    "A",
    "0",
    "true",
    "null",
    "~",
    "[1, 2]",
    "{a: b}",
    "a-very-long-name-that-goes-on-and-on-and-on-x",
    "with space",
    "UPPER",
    "ünïcödé",
    "a.b.c",
    "..",
    "x\ny",
    "\"quoted\"",
    "$(reboot)",
    "acl",
    "password",
    "3scale",
    "service-binding",
    "~* &* +@all -@admin +role",
    "+get +set %R~cache:* &*",
    // Multi-byte first characters of an ACL rule ("éx" once panicked:
    // "end byte index 1 is not a char boundary").
    "éx",
    "+get éx",
    "\u{1F600}~*",
    "\u{2003}+get",
    "~é* +@é",
    "%é~x",
    "+select|é",
    "RedisSentinelList",
    "storage",
    "queues",
    "system",
];

#[derive(Arbitrary, Debug)]
enum Word {
    Known(u8),
    Raw(String),
    Repeat(u8, u8),
}

impl Word {
    fn text(&self, dict: &[&str]) -> String {
        match self {
            Word::Known(i) => dict[*i as usize % dict.len()].to_string(),
            Word::Raw(s) => s.clone(),
            // Long names: a dictionary word repeated.
            Word::Repeat(i, n) => dict[*i as usize % dict.len()].repeat(*n as usize % 40 + 1),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Small(u8),
    Float(f64),
    Str(Word),
    Seq(Vec<Node>),
    Map(Vec<(Word, Node)>),
    Tagged(Word, Box<Node>),
}

const MAX_DEPTH: usize = 8;

impl Node {
    fn value(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Number(Number::from(*i)),
            Node::Small(i) => Value::Number(Number::from(u64::from(*i))),
            Node::Float(f) => Value::Number(Number::from(*f)),
            Node::Str(w) => Value::String(w.text(WORDS)),
            Node::Seq(v) => Value::Sequence(v.iter().map(|n| n.value(depth + 1)).collect()),
            Node::Map(v) => Value::Mapping(mapping(v, depth)),
            Node::Tagged(t, n) => Value::Tagged(Box::new(serde_norway::value::TaggedValue {
                tag: serde_norway::value::Tag::new(match t.text(WORDS) {
                    t if t.is_empty() => "!".to_string(),
                    t => t,
                }),
                value: n.value(depth + 1),
            })),
        }
    }
}

fn mapping(v: &[(Word, Node)], depth: usize) -> Mapping {
    let mut m = Mapping::new();
    for (k, n) in v {
        m.insert(Value::String(k.text(KEYS)), n.value(depth + 1));
    }
    m
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// kind RedisSentinel with metadata and a spec tree.
    Resource {
        name: Option<Word>,
        namespace: Option<Word>,
        spec: Vec<(Word, Node)>,
        extra: Vec<(Word, Node)>,
    },
    /// A kpt ConfigMap: dotted keys, string values.
    ConfigMap {
        name: Option<Word>,
        data: Vec<(Vec<Word>, Word)>,
    },
    /// Anything at all as the functionConfig.
    Other(Vec<(Word, Node)>),
}

fn function_config(input: &Input) -> Value {
    let s = |x: &str| Value::String(x.to_string());
    let mut fc = Mapping::new();
    match input {
        Input::Resource {
            name,
            namespace,
            spec,
            extra,
        } => {
            fc.insert(s("apiVersion"), s(spec::model::API_VERSION));
            fc.insert(s("kind"), s(spec::model::KIND));
            let mut meta = Mapping::new();
            if let Some(n) = name {
                meta.insert(s("name"), Value::String(n.text(WORDS)));
            }
            if let Some(n) = namespace {
                meta.insert(s("namespace"), Value::String(n.text(WORDS)));
            }
            fc.insert(s("metadata"), Value::Mapping(meta));
            fc.insert(s("spec"), Value::Mapping(mapping(spec, 0)));
            for (k, v) in extra.iter().take(2) {
                fc.insert(Value::String(k.text(KEYS)), v.value(1));
            }
        }
        Input::ConfigMap { name, data } => {
            fc.insert(s("apiVersion"), s("v1"));
            fc.insert(s("kind"), s("ConfigMap"));
            let mut meta = Mapping::new();
            if let Some(n) = name {
                meta.insert(s("name"), Value::String(n.text(WORDS)));
            }
            fc.insert(s("metadata"), Value::Mapping(meta));
            let mut d = Mapping::new();
            for (path, v) in data {
                let key: Vec<String> = path.iter().take(4).map(|w| w.text(KEYS)).collect();
                d.insert(Value::String(key.join(".")), Value::String(v.text(WORDS)));
            }
            fc.insert(s("data"), Value::Mapping(d));
        }
        Input::Other(v) => fc = mapping(v, 0),
    }
    Value::Mapping(fc)
}

fuzz_target!(|input: Input| {
    let fc = function_config(&input);
    let Ok(mut insts) = spec::instances_from_function_config(&fc) else {
        return;
    };
    let seed = seed();
    let mut outputs = Vec::new();
    for inst in &mut insts {
        // Invariants of an accepted spec.
        assert!(inst.sentinel.quorum >= 1 && inst.sentinel.quorum <= inst.sentinel.replicas);
        assert!(inst.redis.replicas >= 1);
        // Key generation dominates a render and does not depend on anything
        // else in the spec: Ed25519 (the cheapest) keeps the loop fast. The
        // resourcelist target renders with the algorithms as written.
        if let Some(tls) = &mut inst.tls {
            tls.key_algorithm = KeyAlgorithm::Ed25519;
        }
        let rendered =
            generate::render(inst, Some(&seed), &[], NOW).expect("an accepted spec renders");
        check_generated(&rendered.items);
        outputs.push(rendered.items);
    }
    // A RedisSentinelList: consumer Secrets with parts of several instances
    // become one; every item stays owned by an instance of the run.
    consumers::combine::combine(&insts, &mut outputs);
    for (inst, items) in insts.iter().zip(&outputs) {
        for item in items {
            assert!(ownership::is_owned(item, inst));
        }
    }
});
