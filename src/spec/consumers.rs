//! `spec.consumers`: applications that get a connection Secret in their own
//! namespace (3scale's `backend-redis`/`system-redis`, a Service Binding
//! Secret), each with its own ACL user. The model, its defaults and its
//! validation; the Secrets themselves are made by [`crate::consumers`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::validate::{acl_user_name, dns_name, dns1123_label, label_key, label_value};
use crate::krm::FieldError;

/// Most consumers one instance serves.
pub const MAX_CONSUMERS: usize = 32;
/// Logical databases of a Redis server with the default `databases 16`.
pub const MAX_DATABASE: u32 = 15;

/// One entry of `spec.consumers`, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ConsumerSpec {
    /// Consumer name (DNS-1123 label, unique): names its ACL user.
    pub name: Option<String>,
    /// `3scale` or `service-binding`.
    #[serde(rename = "type")]
    pub type_: Option<ConsumerType>,
    /// Namespace of the consumer: its Secrets go there (default: the
    /// instance's namespace); the NetworkPolicies admit its pods.
    pub namespace: Option<String>,
    /// ACL user of the consumer (default: the consumer name).
    pub user: Option<String>,
    /// ACL rules of that user (default: per type, see docs/reference.md).
    pub rules: Option<String>,
    /// Labels of the consumer's pods the NetworkPolicies admit (default:
    /// `networkPolicy.clientPodLabels`; `{}` admits every pod of the
    /// consumer's namespace).
    pub pod_labels: Option<BTreeMap<String, String>>,
    // --- 3scale
    /// Name of the backend Secret (default `backend-redis`).
    pub backend_secret_name: Option<String>,
    /// Name of the system Secret (default `system-redis`).
    pub system_secret_name: Option<String>,
    /// Database of backend storage (default 0).
    pub storage_database: Option<u32>,
    /// Database of backend queues (default 1).
    pub queues_database: Option<u32>,
    /// Database of system (default 2).
    pub system_database: Option<u32>,
    /// `NAMESPACE` key of `system-redis` (a key prefix for system); unset: no key.
    pub system_key_namespace: Option<String>,
    /// The parts of 3scale this instance serves: `storage`, `queues`,
    /// `system` (default all three). The other parts come from other
    /// instances of the same `RedisSentinelList`, whose consumer of the
    /// same namespace and Secret names serves them.
    pub parts: Option<Vec<String>>,
    // --- service-binding
    /// Name of the binding Secret (default `<instance>-<consumer>-binding`).
    pub secret_name: Option<String>,
    /// `database` entry of the binding (default 0).
    pub database: Option<u32>,
    /// `provider` entry of the binding (default `redis-sentinel-fn`).
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ConsumerType {
    #[serde(rename = "3scale")]
    ThreeScale,
    #[serde(rename = "service-binding")]
    ServiceBinding,
}

impl ConsumerType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerType::ThreeScale => "3scale",
            ConsumerType::ServiceBinding => "service-binding",
        }
    }
}

/// A validated consumer.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub name: String,
    pub namespace: String,
    /// ACL user (used in `auth.mode: acl` only).
    pub user: String,
    pub rules: String,
    /// `None`: the instance's client pod labels.
    pub pod_labels: Option<BTreeMap<String, String>>,
    pub kind: ConsumerKind,
}

#[derive(Debug, Clone)]
pub enum ConsumerKind {
    ThreeScale(ThreeScale),
    ServiceBinding(ServiceBinding),
}

#[derive(Debug, Clone)]
pub struct ThreeScale {
    pub backend_secret: String,
    pub system_secret: String,
    pub storage_db: u32,
    pub queues_db: u32,
    pub system_db: u32,
    pub key_namespace: Option<String>,
    /// The parts this instance serves (`spec.consumers[].parts`).
    pub parts: Parts,
}

/// One part of 3scale's Redis use: where its keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// apisonator's storage (`backend-redis`, `REDIS_STORAGE_*`).
    Storage,
    /// apisonator's queues (`backend-redis`, `REDIS_QUEUES_*`).
    Queues,
    /// porta (`system-redis`).
    System,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Storage, Part::Queues, Part::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Storage => "storage",
            Part::Queues => "queues",
            Part::System => "system",
        }
    }

    fn parse(s: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The parts of 3scale one instance serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub storage: bool,
    pub queues: bool,
    pub system: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        storage: true,
        queues: true,
        system: true,
    };

    pub fn has(self, p: Part) -> bool {
        match p {
            Part::Storage => self.storage,
            Part::Queues => self.queues,
            Part::System => self.system,
        }
    }

    pub fn iter(self) -> impl Iterator<Item = Part> {
        Part::ALL.into_iter().filter(move |p| self.has(*p))
    }

    pub fn is_all(self) -> bool {
        self == Parts::ALL
    }
}

impl ThreeScale {
    /// The Secret a part's keys go to.
    pub fn secret_of(&self, p: Part) -> &str {
        match p {
            Part::Storage | Part::Queues => &self.backend_secret,
            Part::System => &self.system_secret,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceBinding {
    pub secret: String,
    pub database: u32,
    pub provider: String,
}

impl Consumer {
    /// Names of the Secrets this consumer gets (in its namespace).
    pub fn secret_names(&self) -> Vec<&str> {
        self.secret_fields().into_iter().map(|(_, s)| s).collect()
    }

    /// The Secrets this consumer gets, with the field naming each: a 3scale
    /// consumer gets `backend-redis` when it serves storage or queues, and
    /// `system-redis` when it serves system.
    pub fn secret_fields(&self) -> Vec<(&'static str, &str)> {
        match &self.kind {
            ConsumerKind::ThreeScale(t) => {
                let mut v = Vec::new();
                if t.parts.storage || t.parts.queues {
                    v.push(("backendSecretName", t.backend_secret.as_str()));
                }
                if t.parts.system {
                    v.push(("systemSecretName", t.system_secret.as_str()));
                }
                v
            }
            ConsumerKind::ServiceBinding(b) => vec![("secretName", b.secret.as_str())],
        }
    }
}

/// Rules of a 3scale consumer: what apisonator (storage, queues) and porta
/// (system, Sidekiq) send. Every key and channel; no administrative
/// command (`-@admin`) and none of the dangerous ones either (`KEYS`,
/// `FLUSHALL`, `SORT`, `MIGRATE`, `CLIENT KILL` ...), but `INFO` (Sidekiq
/// reads the Redis version at boot) and `ROLE` (Sentinel-aware clients
/// check the master they were given).
pub const THREESCALE_RULES: &str = "~* &* +@all -@admin -@dangerous +info +role";

/// What the rest of the spec tells the consumers' validation.
pub struct Context<'a> {
    pub instance: &'a str,
    pub namespace: &'a str,
    pub master_name: &'a str,
    /// Default application rules (`auth.appUserRules`).
    pub app_rules: &'a str,
    /// ACL users already taken (default, replication, ..., the app user).
    pub taken_users: &'a [&'a str],
    /// Secrets the instance generates in its own namespace.
    pub instance_secrets: &'a [String],
    /// Redis version whose command table the rules are checked against.
    pub redis_version: Option<super::server::CommandTable>,
}

fn database(v: Option<u32>, default: u32) -> Result<u32, String> {
    let v = v.unwrap_or(default);
    if v > MAX_DATABASE {
        return Err(format!(
            "database {v} does not exist: Redis has databases 0-{MAX_DATABASE}"
        ));
    }
    Ok(v)
}

/// Resolves `spec.consumers`, each error naming its field.
pub fn resolve(
    specs: &[ConsumerSpec],
    cx: &Context<'_>,
    prefix: &str,
) -> Result<Vec<Consumer>, Vec<FieldError>> {
    if specs.len() > MAX_CONSUMERS {
        return Err(vec![FieldError::new(
            format!("{prefix}consumers"),
            format!("{} consumers; at most {MAX_CONSUMERS}", specs.len()),
        )]);
    }
    let mut taken = Taken {
        names: BTreeSet::new(),
        users: cx.taken_users.iter().map(|u| u.to_string()).collect(),
        secrets: cx
            .instance_secrets
            .iter()
            .map(|s| (cx.namespace.to_string(), s.clone()))
            .collect(),
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let mut one = One {
            spec: s,
            prefix,
            index: i,
            errs: Vec::new(),
        };
        let c = one.resolve(cx, &mut taken);
        errors.extend(one.errs);
        out.extend(c);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Consumer names, ACL users and (namespace, Secret) pairs already used.
struct Taken {
    names: BTreeSet<String>,
    users: BTreeSet<String>,
    secrets: BTreeSet<(String, String)>,
}

/// One entry of `spec.consumers` being resolved, with its errors.
struct One<'s> {
    spec: &'s ConsumerSpec,
    prefix: &'s str,
    index: usize,
    errs: Vec<FieldError>,
}

impl One<'_> {
    fn field(&self, f: &str) -> String {
        format!("{}consumers[{}].{f}", self.prefix, self.index)
    }

    fn err(&mut self, f: &str, msg: impl Into<String>) {
        let field = self.field(f);
        self.errs.push(FieldError::new(field, msg));
    }

    /// The consumer, or `None` when its name or type is missing.
    fn resolve(&mut self, cx: &Context<'_>, taken: &mut Taken) -> Option<Consumer> {
        let s = self.spec;
        let Some(name) = s.name.clone() else {
            self.err("name", "every consumer needs a name (a DNS-1123 label)");
            return None;
        };
        if let Err(e) = dns1123_label(&name) {
            self.err("name", format!("consumer name {name:?} {e}"));
        } else if !taken.names.insert(name.clone()) {
            self.err("name", format!("consumer name {name:?} is used twice"));
        }
        let Some(ty) = s.type_ else {
            self.err("type", "set the consumer type: 3scale or service-binding");
            return None;
        };
        let namespace = s
            .namespace
            .clone()
            .unwrap_or_else(|| cx.namespace.to_string());
        if let Err(e) = dns1123_label(&namespace) {
            self.err("namespace", format!("namespace {namespace:?} {e}"));
        }
        let user = self.user(&name, &mut taken.users);
        let rules = self.rules(ty, cx);
        self.check_pod_labels();
        self.check_foreign_fields(ty);
        let kind = match ty {
            ConsumerType::ThreeScale => self.threescale(&name, cx),
            ConsumerType::ServiceBinding => self.service_binding(&name, cx),
        };
        let c = Consumer {
            name,
            namespace,
            user,
            rules,
            pod_labels: s.pod_labels.clone(),
            kind,
        };
        self.check_secret_names(&c, &mut taken.secrets);
        Some(c)
    }

    /// The ACL user (default: the consumer name), not taken yet.
    fn user(&mut self, name: &str, users: &mut BTreeSet<String>) -> String {
        let user = self.spec.user.clone().unwrap_or_else(|| name.to_string());
        if let Err(e) = acl_user_name(&user) {
            self.err("user", format!("user {user:?} {e}"));
        } else if !users.insert(user.clone()) {
            self.err("user", format!("ACL user {user:?} is already taken (by the function's own users, auth.appUser or another consumer): set another user"));
        }
        user
    }

    /// The ACL rules (default per type), checked against Redis' commands.
    fn rules(&mut self, ty: ConsumerType, cx: &Context<'_>) -> String {
        let default_rules = match ty {
            ConsumerType::ThreeScale => THREESCALE_RULES,
            ConsumerType::ServiceBinding => cx.app_rules,
        };
        let rules = self
            .spec
            .rules
            .clone()
            .unwrap_or_else(|| default_rules.to_string());
        if let Err(e) = super::acl::check_rules(&rules, cx.redis_version) {
            self.err("rules", e.replace("appUserRules", "rules"));
        }
        rules
    }

    fn check_pod_labels(&mut self) {
        for (k, v) in self.spec.pod_labels.iter().flatten() {
            if let Err(e) = label_key(k).and_then(|_| label_value(v)) {
                self.err(&format!("podLabels.{k}"), format!("label {k:?}: {v:?} {e}"));
            }
        }
    }

    /// Fields of the other consumer type are errors, not silently ignored.
    fn check_foreign_fields(&mut self, ty: ConsumerType) {
        let s = self.spec;
        let three = [
            ("parts", s.parts.is_some()),
            ("backendSecretName", s.backend_secret_name.is_some()),
            ("systemSecretName", s.system_secret_name.is_some()),
            ("storageDatabase", s.storage_database.is_some()),
            ("queuesDatabase", s.queues_database.is_some()),
            ("systemDatabase", s.system_database.is_some()),
            ("systemKeyNamespace", s.system_key_namespace.is_some()),
        ];
        let binding = [
            ("secretName", s.secret_name.is_some()),
            ("database", s.database.is_some()),
            ("provider", s.provider.is_some()),
        ];
        let foreign = match ty {
            ConsumerType::ThreeScale => &binding[..],
            ConsumerType::ServiceBinding => &three[..],
        };
        for (f, set) in foreign {
            if *set {
                self.err(
                    f,
                    format!("{f} does not apply to a consumer of type {}", ty.as_str()),
                );
            }
        }
    }

    /// A logical database (`default` when unset).
    fn db(&mut self, f: &str, v: Option<u32>, default: u32) -> u32 {
        database(v, default).unwrap_or_else(|e| {
            self.err(f, e);
            default
        })
    }

    /// `parts` (default all three): known names, each once, at least one.
    fn parts(&mut self) -> Parts {
        let Some(list) = &self.spec.parts else {
            return Parts::ALL;
        };
        let mut parts = Parts {
            storage: false,
            queues: false,
            system: false,
        };
        for (i, w) in list.iter().enumerate() {
            match Part::parse(w) {
                Some(p) if parts.has(p) => self.err(
                    &format!("parts[{i}]"),
                    format!("part {w:?} is listed twice"),
                ),
                Some(Part::Storage) => parts.storage = true,
                Some(Part::Queues) => parts.queues = true,
                Some(Part::System) => parts.system = true,
                None => self.err(
                    &format!("parts[{i}]"),
                    format!(
                        "unknown part {w:?}: the parts of 3scale are storage, queues and system"
                    ),
                ),
            }
        }
        if list.is_empty() {
            self.err(
                "parts",
                "parts must name at least one of storage, queues, system",
            );
        }
        parts
    }

    /// A 3scale consumer: storage, queues and system on their own databases
    /// (those of the parts this instance serves).
    fn threescale(&mut self, name: &str, cx: &Context<'_>) -> ConsumerKind {
        let s = self.spec;
        let parts = self.parts();
        for (f, set, part) in [
            (
                "storageDatabase",
                s.storage_database.is_some(),
                parts.storage,
            ),
            ("queuesDatabase", s.queues_database.is_some(), parts.queues),
            ("systemDatabase", s.system_database.is_some(), parts.system),
            (
                "systemKeyNamespace",
                s.system_key_namespace.is_some(),
                parts.system,
            ),
        ] {
            if set && !part {
                self.err(
                    f,
                    format!("{f} does not apply: this consumer does not serve that part (parts)"),
                );
            }
        }
        let storage_db = self.db("storageDatabase", s.storage_database, 0);
        let queues_db = self.db("queuesDatabase", s.queues_database, 1);
        let system_db = self.db("systemDatabase", s.system_database, 2);
        if parts.storage && parts.queues && queues_db == storage_db {
            self.err("queuesDatabase", format!("queues and storage share database {storage_db}: 3scale keeps them on separate databases"));
        }
        if parts.system
            && ((parts.storage && system_db == storage_db)
                || (parts.queues && system_db == queues_db))
        {
            self.err(
                "systemDatabase",
                format!("system shares database {system_db} with backend: give it its own"),
            );
        }
        if cx.master_name.chars().any(|c| c.is_ascii_uppercase()) {
            self.errs.push(FieldError::new(
                format!("{}sentinel.masterName", self.prefix),
                format!("masterName {:?} has capital letters: 3scale reads it from a URL host, which URL parsers lower-case, and would then ask Sentinel for another master group; use a lower-case masterName (consumer {name})", cx.master_name),
            ));
        }
        if let Some(k) = &s.system_key_namespace
            && (k.is_empty()
                || k.len() > 128
                || k.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            self.err(
                "systemKeyNamespace",
                "systemKeyNamespace must be 1-128 characters without spaces",
            );
        }
        ConsumerKind::ThreeScale(ThreeScale {
            backend_secret: s
                .backend_secret_name
                .clone()
                .unwrap_or_else(|| "backend-redis".into()),
            system_secret: s
                .system_secret_name
                .clone()
                .unwrap_or_else(|| "system-redis".into()),
            storage_db,
            queues_db,
            system_db,
            key_namespace: s.system_key_namespace.clone(),
            parts,
        })
    }

    /// A Service Binding consumer.
    fn service_binding(&mut self, name: &str, cx: &Context<'_>) -> ConsumerKind {
        let s = self.spec;
        let database = self.db("database", s.database, 0);
        let provider = s
            .provider
            .clone()
            .unwrap_or_else(|| "redis-sentinel-fn".into());
        if provider.is_empty() || provider.len() > 253 || provider.chars().any(char::is_control) {
            self.err("provider", "provider must be 1-253 characters");
        }
        ConsumerKind::ServiceBinding(ServiceBinding {
            secret: s
                .secret_name
                .clone()
                .unwrap_or_else(|| format!("{}-{name}-binding", cx.instance)),
            database,
            provider,
        })
    }

    /// The consumer's Secret names: valid, and not made twice in one
    /// namespace.
    fn check_secret_names(&mut self, c: &Consumer, secrets: &mut BTreeSet<(String, String)>) {
        for (f, secret) in c.secret_fields() {
            if let Err(e) = dns_name(secret, false) {
                self.err(f, format!("Secret name {secret:?} {e}"));
            } else if !secrets.insert((c.namespace.clone(), secret.to_string())) {
                self.err(f, format!("Secret {}/{secret} is already generated (by the instance or another consumer): choose another name", c.namespace));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::{from_function_config, model, test_spec};

    fn errors(spec_body: &str) -> Vec<(String, String)> {
        let yaml = format!(
            "apiVersion: {}\nkind: {}\nmetadata:\n  name: cache\n  namespace: ns\nspec:\n{spec_body}",
            model::API_VERSION,
            model::KIND
        );
        let v: serde_norway::Value = serde_norway::from_str(&yaml).expect("yaml");
        match from_function_config(&v) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| (e.field, e.message)).collect(),
        }
    }

    fn has(errs: &[(String, String)], field: &str, words: &str) -> bool {
        errs.iter().any(|(f, m)| f == field && m.contains(words))
    }

    #[test]
    fn defaults_of_each_type() {
        let inst = test_spec(
            "  consumers:\n    - {name: apim, type: 3scale, namespace: threescale}\n    - {name: orders, type: service-binding}\n",
        );
        let [a, b] = &inst.consumers[..] else {
            panic!("two consumers")
        };
        assert_eq!(
            (a.namespace.as_str(), a.user.as_str()),
            ("threescale", "apim")
        );
        assert_eq!(a.rules, super::THREESCALE_RULES);
        match &a.kind {
            super::ConsumerKind::ThreeScale(t) => {
                assert_eq!((t.storage_db, t.queues_db, t.system_db), (0, 1, 2));
                assert_eq!(
                    (t.backend_secret.as_str(), t.system_secret.as_str()),
                    ("backend-redis", "system-redis")
                );
            }
            _ => panic!("3scale"),
        }
        assert_eq!(b.namespace, "ns", "default: the instance's namespace");
        assert_eq!(b.rules, crate::spec::DEFAULT_APP_USER_RULES);
        assert_eq!(b.secret_names(), vec!["cache-orders-binding"]);
    }

    #[test]
    fn errors_name_their_field() {
        let e = errors("  consumers:\n    - {type: 3scale}\n");
        assert!(has(&e, "spec.consumers[0].name", "needs a name"), "{e:?}");
        let e = errors("  consumers:\n    - {name: a}\n");
        assert!(
            has(&e, "spec.consumers[0].type", "3scale or service-binding"),
            "{e:?}"
        );
        // A bad name is reported with a missing type, not hidden by it.
        let e = errors("  consumers:\n    - {name: A_b}\n");
        assert!(has(&e, "spec.consumers[0].name", "A_b"), "{e:?}");
        assert!(has(&e, "spec.consumers[0].type", "3scale"), "{e:?}");
        let e = errors("  consumers:\n    - {name: a, type: redis}\n");
        assert!(
            e.iter().any(|(f, _)| f.starts_with("spec.consumers[0]")),
            "{e:?}"
        );
        let e = errors(
            "  consumers:\n    - {name: a, type: 3scale, storageDatabase: 16, queuesDatabase: 0}\n",
        );
        assert!(
            has(&e, "spec.consumers[0].storageDatabase", "0-15"),
            "{e:?}"
        );
        let e = errors("  consumers:\n    - {name: a, type: 3scale, queuesDatabase: 0}\n");
        assert!(
            has(&e, "spec.consumers[0].queuesDatabase", "separate"),
            "{e:?}"
        );
        let e = errors("  consumers:\n    - {name: a, type: 3scale, systemDatabase: 1}\n");
        assert!(has(&e, "spec.consumers[0].systemDatabase", "own"), "{e:?}");
        let e =
            errors("  consumers:\n    - {name: a, type: service-binding, storageDatabase: 3}\n");
        assert!(
            has(&e, "spec.consumers[0].storageDatabase", "does not apply"),
            "{e:?}"
        );
        let e = errors("  consumers:\n    - {name: a, type: 3scale, database: 3}\n");
        assert!(
            has(&e, "spec.consumers[0].database", "does not apply"),
            "{e:?}"
        );
        let e = errors(
            "  consumers:\n    - {name: a, type: service-binding}\n    - {name: a, type: service-binding, secretName: other}\n",
        );
        assert!(has(&e, "spec.consumers[1].name", "used twice"), "{e:?}");
        let e = errors("  consumers:\n    - {name: app, type: service-binding}\n");
        assert!(has(&e, "spec.consumers[0].user", "already taken"), "{e:?}");
        let e = errors("  consumers:\n    - {name: a, type: service-binding, user: sentinel}\n");
        assert!(has(&e, "spec.consumers[0].user", "already taken"), "{e:?}");
        let e = errors(
            "  consumers:\n    - {name: a, type: service-binding, secretName: cache-auth}\n",
        );
        assert!(
            has(&e, "spec.consumers[0].secretName", "already generated"),
            "{e:?}"
        );
        let e = errors(
            "  consumers:\n    - {name: a, type: service-binding, secretName: cache-auth, namespace: other}\n",
        );
        assert!(e.is_empty(), "another namespace has no such Secret: {e:?}");
        let e =
            errors("  consumers:\n    - {name: a, type: 3scale}\n    - {name: b, type: 3scale}\n");
        assert!(
            has(
                &e,
                "spec.consumers[1].backendSecretName",
                "already generated"
            ),
            "{e:?}"
        );
        let e =
            errors("  consumers:\n    - {name: a, type: service-binding, rules: \">pw +@all\"}\n");
        assert!(
            has(&e, "spec.consumers[0].rules", "not allowed in rules"),
            "{e:?}"
        );
        let e = errors("  consumers:\n    - {name: a, type: service-binding, namespace: Shop}\n");
        assert!(has(&e, "spec.consumers[0].namespace", "lowercase"), "{e:?}");
        let e = errors(
            "  consumers:\n    - {name: a, type: service-binding, podLabels: {\"bad key!\": x}}\n",
        );
        assert!(
            e.iter()
                .any(|(f, _)| f.starts_with("spec.consumers[0].podLabels")),
            "{e:?}"
        );
    }

    #[test]
    fn master_names_with_capitals_are_refused_for_3scale_only() {
        let e = errors(
            "  sentinel:\n    masterName: MyMaster\n  consumers:\n    - {name: a, type: 3scale}\n",
        );
        assert!(has(&e, "spec.sentinel.masterName", "lower-case"), "{e:?}");
        let e = errors(
            "  sentinel:\n    masterName: MyMaster\n  consumers:\n    - {name: a, type: service-binding}\n",
        );
        assert!(e.is_empty(), "{e:?}");
    }
}
