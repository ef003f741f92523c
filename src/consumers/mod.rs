//! Consumer Secrets: the connection Secrets applications read, in their own
//! namespace, with the certificates and passwords of the rest of the output.
//!
//! - [`threescale`]: 3scale API Management (APIManager 2.16+): `backend-redis`
//!   and `system-redis`.
//! - [`service_binding`]: a `servicebinding.io/redis` Secret (Service Binding
//!   for Kubernetes, Spring Cloud Bindings).
//!
//! Each consumer has its own ACL user (`auth.mode: acl`), defined in Redis
//! from Secret `<name>-consumer-users`, which holds only the SHA-256 of each
//! password ([`users_secret`]): the Redis pods never see the consumers'
//! passwords, only their own copy of the hashes.
//!
//! The material (CA, client certificate, Sentinel password...) reaches the
//! generators through [`Materials`], where each piece is known, not used, or
//! held somewhere the function cannot read (certificates issued by someone
//! else, passwords from an existing Secret): such a key is left out or empty
//! and a warning says where the value is.

pub mod combine;
pub mod service_binding;
pub mod threescale;

use std::collections::BTreeMap;
use std::fmt::Write;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_norway::Value;
use sha2::{Digest, Sha256};

use crate::auth::passwords;
use crate::auth::users;
use crate::certs::seed::Seed;
use crate::krm::KrmResult;
use crate::object::ItemExt;
use crate::object::secret::secret_data;
use crate::ownership;
use crate::ownership::meta;
use crate::spec::consumers::{Consumer, ConsumerKind};
use crate::spec::model::AuthMode;
use crate::spec::{Component, Instance};

/// Annotation naming the consumer a Secret is for (`check` mode accepts
/// these Secrets outside the instance's namespace).
pub const CONSUMER_ANNOTATION: &str = "fn.redis-sentinel.dev/consumer";
/// Key of the ACL lines in Secret `<name>-consumer-users`.
pub const USERS_KEY: &str = "users.acl";

/// A value a consumer Secret carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// Known to the function.
    Known(String),
    /// Not part of this topology (TLS or authentication off).
    Off,
    /// Exists, but outside the function's reach: where to find it.
    Elsewhere(String),
}

impl Material {
    /// Entry `key` of Secret `name`: known when the render emits that
    /// Secret, else held elsewhere (a Secret the function does not write:
    /// issued by cert-manager, made by the user...). `None`: not used.
    pub fn from_secret(
        inst: &Instance,
        emitted: &[Secret],
        name: Option<&str>,
        key: &str,
    ) -> Material {
        let Some(name) = name else {
            return Material::Off;
        };
        match emitted
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
        {
            Some(s) => s
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map_or(Material::Off, |v| {
                    Material::Known(String::from_utf8_lossy(&v.0).into_owned())
                }),
            None => Material::Elsewhere(format!(
                "it is key {key} of Secret {}/{name}, which this function does not write; copy it in",
                inst.namespace
            )),
        }
    }
}

/// Everything consumer Secrets are made of, besides names and ports. The
/// fields are public: a certificate source that knows better (e.g. a CA
/// published in a ConfigMap) sets them itself.
#[derive(Debug, Clone)]
pub struct Materials {
    pub ca: Material,
    pub client_cert: Material,
    pub client_key: Material,
    /// Sentinel's own password (`requirepass` of Sentinel).
    pub sentinel_password: Material,
    /// The consumer's Redis user and password, by consumer name.
    pub logins: BTreeMap<String, (String, Material)>,
}

impl Materials {
    /// The material of a render, read from the Secrets it emits: the
    /// client certificate Secret `client_secret` (`None`: TLS off) and the
    /// password Secret `auth_secret` (`None`: authentication off); a Secret
    /// that is named but not emitted holds its values elsewhere.
    pub fn from_secrets(
        inst: &Instance,
        emitted: &[Secret],
        client_secret: Option<&str>,
        auth_secret: Option<&str>,
        consumer_passwords: &BTreeMap<String, String>,
    ) -> Materials {
        let client = |key: &str| Material::from_secret(inst, emitted, client_secret, key);
        let auth = |key: &str| Material::from_secret(inst, emitted, auth_secret, key);
        let logins = inst
            .consumers
            .iter()
            .map(|c| {
                let login = match inst.auth.as_ref().map(|a| a.mode) {
                    None => (String::new(), Material::Off),
                    Some(AuthMode::Password) => (String::new(), auth(users::REDIS_PASSWORD)),
                    Some(AuthMode::Acl) => (
                        c.user.clone(),
                        consumer_passwords
                            .get(&c.name)
                            .map_or(Material::Off, |p| Material::Known(p.clone())),
                    ),
                };
                (c.name.clone(), login)
            })
            .collect();
        Materials {
            ca: client("ca.crt"),
            client_cert: client("tls.crt"),
            client_key: client("tls.key"),
            sentinel_password: auth(users::SENTINEL_PASSWORD),
            logins,
        }
    }

    fn login(&self, c: &Consumer) -> (String, Material) {
        self.logins
            .get(&c.name)
            .cloned()
            .unwrap_or((String::new(), Material::Off))
    }
}

/// Entries of a consumer Secret, with the warnings about entries the
/// function could not fill.
#[derive(Default)]
struct Entries {
    data: BTreeMap<String, ByteString>,
    missing: Vec<(String, String)>,
}

impl Entries {
    fn text(&mut self, key: &str, value: impl Into<String>) {
        self.data
            .insert(key.to_string(), ByteString(value.into().into_bytes()));
    }

    /// `empty_if_absent`: 3scale wants every key (empty when unused); a
    /// binding leaves absent entries out.
    fn material(&mut self, key: &str, m: &Material, empty_if_absent: bool) {
        match m {
            Material::Known(v) => self.text(key, v.clone()),
            Material::Off => {
                if empty_if_absent {
                    self.text(key, "")
                }
            }
            Material::Elsewhere(w) => {
                if empty_if_absent {
                    self.text(key, "")
                }
                self.missing.push((key.to_string(), w.clone()));
            }
        }
    }
}

/// What the consumers add to a render.
pub struct Rendered {
    pub secrets: Vec<Secret>,
    pub results: Vec<KrmResult>,
}

/// Every consumer Secret of an instance.
pub fn render(inst: &Instance, m: &Materials) -> Rendered {
    let mut out = Rendered {
        secrets: Vec::new(),
        results: Vec::new(),
    };
    for (i, c) in inst.consumers.iter().enumerate() {
        let made: Vec<(String, Entries, &str)> = match &c.kind {
            ConsumerKind::ThreeScale(t) => threescale::secrets(inst, c, t, m),
            ConsumerKind::ServiceBinding(b) => {
                vec![service_binding::secret(inst, c, b, m)]
            }
        };
        for (name, entries, type_) in made {
            for (key, w) in &entries.missing {
                out.results.push(
                    KrmResult::warning(format!(
                        "consumer {}: Secret {}/{name} has no value for {key}: {w}",
                        c.name, c.namespace
                    ))
                    .with_field(format!("{}consumers[{i}]", inst.field_prefix)),
                );
            }
            out.secrets
                .push(consumer_secret(inst, c, name, type_, entries.data));
        }
    }
    out
}

fn consumer_secret(
    inst: &Instance,
    c: &Consumer,
    name: String,
    type_: &str,
    data: BTreeMap<String, ByteString>,
) -> Secret {
    let mut m = meta(inst, name, None);
    m.namespace = Some(c.namespace.clone());
    m.annotations
        .get_or_insert_with(Default::default)
        .insert(CONSUMER_ANNOTATION.into(), c.name.clone());
    Secret {
        metadata: m,
        type_: Some(type_.into()),
        data: Some(data),
        ..Default::default()
    }
}

/// Sentinel pods' DNS names (the certificates cover them), in ordinal order.
pub fn sentinel_hosts(inst: &Instance) -> Vec<String> {
    inst.pod_fqdns(Component::Sentinel)
}

/// Name of the Secret defining the consumers' ACL users.
pub fn users_secret_name(inst: &Instance) -> String {
    format!("{}-consumer-users", inst.name)
}

/// Whether the Redis pods define consumer ACL users (and mount the Secret).
pub fn has_users(inst: &Instance) -> bool {
    !inst.consumers.is_empty() && inst.auth.as_ref().is_some_and(|a| a.mode == AuthMode::Acl)
}

/// `user <name> on #<sha256> <rules>` for every consumer: Redis checks the
/// password against the hash, so only the consumer's own Secret holds it.
pub fn acl_lines(inst: &Instance, passwords: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for c in &inst.consumers {
        if let Some(p) = passwords.get(&c.name) {
            let hash = hex(&Sha256::digest(p.as_bytes()));
            writeln!(out, "user {} on #{hash} {}", c.user, c.rules).ok();
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").ok();
        s
    })
}

/// Secret `<name>-consumer-users` (instance namespace), mounted by the Redis
/// pods; `None` without consumers or outside ACL mode.
pub fn users_secret(inst: &Instance, passwords: &BTreeMap<String, String>) -> Option<Secret> {
    has_users(inst).then(|| Secret {
        metadata: meta(inst, users_secret_name(inst), Some(Component::Redis)),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            USERS_KEY.to_string(),
            ByteString(acl_lines(inst, passwords).into_bytes()),
        )])),
        ..Default::default()
    })
}

/// The Secret key holding a consumer's own password (where a later render
/// finds it to keep it).
fn password_key(c: &Consumer) -> (&str, &'static str) {
    match &c.kind {
        ConsumerKind::ThreeScale(t) => threescale::password_key(t),
        ConsumerKind::ServiceBinding(b) => (&b.secret, service_binding::PASSWORD),
    }
}

/// Consumers' passwords (ACL mode), by consumer name: seed-derived with a
/// seed, else kept from the consumer's earlier Secret, else random. The flag
/// says whether any was newly generated at random.
pub fn passwords(
    inst: &Instance,
    seed: Option<&Seed>,
    previous: &[Value],
) -> anyhow::Result<(BTreeMap<String, String>, bool)> {
    let mut out = BTreeMap::new();
    if !has_users(inst) {
        return Ok((out, false));
    }
    let purpose = |c: &Consumer| format!("consumer/{}", c.name);
    if let Some(seed) = seed.filter(|s| s.is_user_supplied()) {
        for c in &inst.consumers {
            out.insert(c.name.clone(), passwords::derive(inst, seed, &purpose(c)));
        }
        return Ok((out, false));
    }
    let seed = &*Seed::or_random(seed)?;
    let mut fresh = false;
    for c in &inst.consumers {
        let (secret, key) = password_key(c);
        let kept = previous
            .iter()
            .find(|i| {
                i.str_at(&["kind"]) == Some("Secret")
                    && i.str_at(&["metadata", "name"]) == Some(secret)
                    && i.str_at(&["metadata", "namespace"]) == Some(c.namespace.as_str())
                    && ownership::has_part(i, inst)
            })
            .and_then(|s| secret_data(s, key))
            .filter(|p| passwords::is_password(p));
        let p = kept.unwrap_or_else(|| {
            fresh = true;
            passwords::derive(inst, seed, &purpose(c))
        });
        out.insert(c.name.clone(), p);
    }
    Ok((out, fresh))
}

/// NetworkPolicy peers for consumers outside the instance's namespace (and
/// for those in it with their own pod labels): their pods, selected by
/// namespace name (`kubernetes.io/metadata.name`, set by Kubernetes on every
/// namespace) and pod labels.
pub fn network_peers(
    inst: &Instance,
    client_pod_labels: &BTreeMap<String, String>,
) -> Vec<NetworkPolicyPeer> {
    let mut peers: Vec<NetworkPolicyPeer> = Vec::new();
    for c in &inst.consumers {
        let labels = c.pod_labels.as_ref().unwrap_or(client_pod_labels);
        if c.namespace == inst.namespace && labels == client_pod_labels {
            continue; // the instance's own client rule admits them
        }
        let peer = NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: (!labels.is_empty()).then(|| labels.clone()),
                ..Default::default()
            }),
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    c.namespace.clone(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    peers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{Bundle, Role};
    use crate::spec::test_spec;

    const TWO: &str = "  consumers:\n    - {name: apim, type: 3scale, namespace: threescale, systemKeyNamespace: sys}\n    - {name: orders, type: service-binding, namespace: shop}\n";

    fn materials(inst: &Instance) -> (Materials, BTreeMap<String, String>) {
        let pw: BTreeMap<String, String> = inst
            .consumers
            .iter()
            .map(|c| (c.name.clone(), format!("pw-of-{}", c.name)))
            .collect();
        let passwords = passwords::Passwords::from([
            (users::SENTINEL_PASSWORD, "sentinel-pw".to_string()),
            (users::REDIS_PASSWORD, "redis-pw".to_string()),
        ]);
        let bundle = Bundle {
            ca_pem: "CA".into(),
            ca_key_pem: None,
            previous_ca_pem: None,
            next_ca: None,
            leaves: Role::ALL
                .iter()
                .map(|r| {
                    (
                        *r,
                        crate::certs::LeafPem {
                            cert: format!("{}-CERT", r.as_str()),
                            key: format!("{}-KEY", r.as_str()),
                        },
                    )
                })
                .collect(),
        };
        let mut emitted =
            crate::sources::generated::tls_secrets(inst, inst.tls.as_ref().unwrap(), &bundle);
        emitted.push(passwords::auth_secret(
            inst,
            inst.auth.as_ref().unwrap(),
            &passwords,
        ));
        (
            Materials::from_secrets(
                inst,
                &emitted,
                Some(&Role::Client.secret_name(inst)),
                Some(&passwords::auth_secret_name(inst)),
                &pw,
            ),
            pw,
        )
    }

    fn data(s: &Secret) -> BTreeMap<String, String> {
        s.data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
            .collect()
    }

    fn find<'a>(r: &'a Rendered, name: &str) -> &'a Secret {
        r.secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no Secret {name}"))
    }

    #[test]
    fn threescale_secrets_have_exactly_the_keys_3scale_reads() {
        let inst = test_spec(TWO);
        let (m, _) = materials(&inst);
        let r = render(&inst, &m);
        assert!(r.results.is_empty());
        let backend = find(&r, "backend-redis");
        assert_eq!(backend.metadata.namespace.as_deref(), Some("threescale"));
        let b = data(backend);
        let mut want: Vec<String> = Vec::new();
        for p in ["STORAGE", "QUEUES"] {
            for k in [
                "URL",
                "SENTINEL_HOSTS",
                "SENTINEL_ROLE",
                "USERNAME",
                "PASSWORD",
                "SENTINEL_USERNAME",
                "SENTINEL_PASSWORD",
            ] {
                want.push(format!("REDIS_{p}_{k}"));
            }
        }
        for k in [
            "CA",
            "CERT",
            "KEY",
            "QUEUES_CA",
            "QUEUES_CERT",
            "QUEUES_KEY",
        ] {
            want.push(format!("REDIS_SSL_{k}"));
        }
        want.sort();
        assert_eq!(b.keys().cloned().collect::<Vec<_>>(), want);
        let hosts = "rediss://cache-sentinel-0.cache-sentinel-headless.ns.svc.cluster.local:26379,rediss://cache-sentinel-1.cache-sentinel-headless.ns.svc.cluster.local:26379,rediss://cache-sentinel-2.cache-sentinel-headless.ns.svc.cluster.local:26379";
        for (k, v) in [
            ("REDIS_STORAGE_URL", "rediss://cache/0"),
            ("REDIS_QUEUES_URL", "rediss://cache/1"),
            ("REDIS_STORAGE_SENTINEL_HOSTS", hosts),
            ("REDIS_QUEUES_SENTINEL_HOSTS", hosts),
            ("REDIS_STORAGE_SENTINEL_ROLE", "master"),
            ("REDIS_STORAGE_USERNAME", "apim"),
            ("REDIS_STORAGE_PASSWORD", "pw-of-apim"),
            ("REDIS_QUEUES_PASSWORD", "pw-of-apim"),
            ("REDIS_STORAGE_SENTINEL_USERNAME", ""),
            ("REDIS_STORAGE_SENTINEL_PASSWORD", "sentinel-pw"),
            ("REDIS_SSL_CA", "CA\n"),
            ("REDIS_SSL_QUEUES_CERT", "client-CERT"),
            ("REDIS_SSL_KEY", "client-KEY"),
        ] {
            assert_eq!(b[k], v, "{k}");
        }
        let s = data(find(&r, "system-redis"));
        let mut keys: Vec<&str> = s.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "NAMESPACE",
                "REDIS_PASSWORD",
                "REDIS_SENTINEL_PASSWORD",
                "REDIS_SENTINEL_USERNAME",
                "REDIS_SSL_CA",
                "REDIS_SSL_CERT",
                "REDIS_SSL_KEY",
                "REDIS_USERNAME",
                "SENTINEL_HOSTS",
                "SENTINEL_ROLE",
                "URL"
            ]
        );
        assert_eq!(s["URL"], "rediss://cache/2");
        assert_eq!(s["NAMESPACE"], "sys");
        assert_eq!(
            serde_norway::to_value(backend)
                .unwrap()
                .annotation(CONSUMER_ANNOTATION),
            Some("apim")
        );
    }

    #[test]
    fn without_tls_and_in_password_mode() {
        let inst = test_spec(&format!(
            "  tls:\n    enabled: false\n  auth:\n    mode: password\n{TWO}"
        ));
        let pw = BTreeMap::new();
        let passwords =
            passwords::Passwords::from([(users::REDIS_PASSWORD, "redis-pw".to_string())]);
        let auth = passwords::auth_secret(&inst, inst.auth.as_ref().unwrap(), &passwords);
        let name = passwords::auth_secret_name(&inst);
        let m = Materials::from_secrets(&inst, &[auth], None, Some(&name), &pw);
        let r = render(&inst, &m);
        let b = data(find(&r, "backend-redis"));
        assert_eq!(b["REDIS_STORAGE_URL"], "redis://cache/0");
        assert!(b["REDIS_QUEUES_SENTINEL_HOSTS"].starts_with("redis://cache-sentinel-0."));
        assert_eq!(b["REDIS_STORAGE_USERNAME"], "");
        assert_eq!(b["REDIS_STORAGE_PASSWORD"], "redis-pw");
        assert_eq!(b["REDIS_SSL_CA"], "");
        let sb = data(find(&r, "cache-orders-binding"));
        assert_eq!(sb["ssl"], "false");
        assert!(!sb.contains_key("username") && !sb.contains_key("ca.crt"));
        assert_eq!(sb["password"], "redis-pw");
        assert!(!has_users(&inst));
        assert!(users_secret(&inst, &pw).is_none());
    }

    #[test]
    fn service_binding_is_sentinel_only() {
        let inst = test_spec(TWO);
        let (m, _) = materials(&inst);
        let r = render(&inst, &m);
        let s = find(&r, "cache-orders-binding");
        assert_eq!(s.type_.as_deref(), Some("servicebinding.io/redis"));
        assert_eq!(s.metadata.namespace.as_deref(), Some("shop"));
        let d = data(s);
        assert_eq!(
            d.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "ca.crt",
                "certificates",
                "database",
                "host",
                "password",
                "port",
                "private-key",
                "provider",
                "sentinel.master",
                "sentinel.nodes",
                "sentinel.password",
                "ssl",
                "type",
                "username"
            ]
        );
        assert_eq!(d["type"], "redis");
        assert_eq!(d["host"], "cache-sentinel.ns.svc.cluster.local");
        assert_eq!(d["port"], "26379");
        assert_eq!(d["username"], "orders");
        assert_eq!(d["password"], "pw-of-orders");
        assert_eq!(d["sentinel.master"], "cache");
        assert!(d["sentinel.nodes"].starts_with(
            "cache-sentinel-0.cache-sentinel-headless.ns.svc.cluster.local:26379,cache-sentinel-1."
        ));
        assert_eq!(
            (d["ssl"].as_str(), d["certificates"].as_str()),
            ("true", "client-CERT")
        );
    }

    #[test]
    fn acl_users_hold_hashes_only() {
        let inst = test_spec(TWO);
        let (_, pw) = materials(&inst);
        let s = users_secret(&inst, &pw).expect("ACL mode with consumers");
        assert_eq!(s.metadata.namespace.as_deref(), Some("ns"));
        let text = data(&s)[USERS_KEY].clone();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let hash = hex(&Sha256::digest(b"pw-of-apim"));
        assert_eq!(
            lines[0],
            format!(
                "user apim on #{hash} {}",
                crate::spec::consumers::THREESCALE_RULES
            )
        );
        assert!(
            lines[1].starts_with("user orders on #")
                && lines[1].ends_with("~* &* +@all -@admin -@scripting +role")
        );
        assert!(
            !text.contains("pw-of"),
            "no password in the Redis pods' Secret"
        );
    }

    #[test]
    fn material_held_elsewhere_is_reported_not_invented() {
        let inst = test_spec(TWO);
        let (mut m, _) = materials(&inst);
        m.ca = Material::Elsewhere("the CA of cert-manager Issuer x".into());
        m.sentinel_password = Material::Elsewhere("Secret ns/mine key sentinel".into());
        let r = render(&inst, &m);
        let b = data(find(&r, "backend-redis"));
        assert_eq!(b["REDIS_SSL_CA"], "");
        let sb = data(find(&r, "cache-orders-binding"));
        assert!(!sb.contains_key("ca.crt") && !sb.contains_key("sentinel.password"));
        let msgs: Vec<&str> = r.results.iter().map(|r| r.message.as_str()).collect();
        assert!(msgs.iter().any(|m| m.contains("threescale/backend-redis has no value for REDIS_SSL_CA: the CA of cert-manager Issuer x")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("shop/cache-orders-binding has no value for sentinel.password")), "{msgs:?}");
    }

    #[test]
    fn secrets_the_render_does_not_write_are_named_as_the_source() {
        let inst = test_spec(TWO);
        let m = Materials::from_secrets(
            &inst,
            &[],
            Some("my-client-cert"),
            Some("my-passwords"),
            &BTreeMap::new(),
        );
        assert_eq!(
            m.ca,
            Material::Elsewhere(
                "it is key ca.crt of Secret ns/my-client-cert, which this function does not write; copy it in".into()
            )
        );
        assert!(
            matches!(&m.sentinel_password, Material::Elsewhere(w) if w.contains("ns/my-passwords"))
        );
        let r = render(&inst, &m);
        assert!(r.results.iter().any(|x| x.message.contains(
            "Secret threescale/backend-redis has no value for REDIS_SSL_KEY: it is key tls.key of Secret ns/my-client-cert"
        )));
    }

    #[test]
    fn other_namespaces_are_admitted_by_name() {
        let inst = test_spec(TWO);
        let p = inst.network_policy.clone().unwrap();
        let peers = network_peers(&inst, &p.client_pod_labels);
        assert_eq!(peers.len(), 2);
        let ns = |i: usize| {
            peers[i]
                .namespace_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["kubernetes.io/metadata.name"]
                .clone()
        };
        assert_eq!((ns(0).as_str(), ns(1).as_str()), ("threescale", "shop"));
        assert_eq!(
            peers[0].pod_selector.as_ref().unwrap().match_labels,
            Some(p.client_pod_labels.clone())
        );
        let same = test_spec("  consumers:\n    - {name: a, type: service-binding}\n");
        assert!(network_peers(&same, &p.client_pod_labels).is_empty());
        let all = test_spec(
            "  consumers:\n    - {name: a, type: service-binding, namespace: x, podLabels: {}}\n",
        );
        let peers = network_peers(&all, &p.client_pod_labels);
        assert_eq!(
            peers[0].pod_selector.as_ref().unwrap().match_labels,
            None,
            "every pod of x"
        );
    }

    #[test]
    fn passwords_are_kept_from_the_consumer_secret_or_seeded() {
        let inst = test_spec(TWO);
        let (none, fresh) = passwords(&inst, None, &[]).unwrap();
        assert!(fresh);
        let (m, _) = materials(&inst);
        let mut m = m;
        m.logins = inst
            .consumers
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    (c.user.clone(), Material::Known(none[&c.name].clone())),
                )
            })
            .collect();
        let previous: Vec<Value> = render(&inst, &m)
            .secrets
            .iter()
            .map(|s| serde_norway::to_value(s).unwrap())
            .collect();
        let (kept, fresh) = passwords(&inst, None, &previous).unwrap();
        assert!(!fresh);
        assert_eq!(kept, none);
        let seed = Seed::from_user(b"0123456789abcdef0123").unwrap();
        let (a, fresh) = passwords(&inst, Some(&seed), &[]).unwrap();
        assert!(!fresh);
        assert_eq!(a, passwords(&inst, Some(&seed), &[]).unwrap().0);
        assert_ne!(a["apim"], a["orders"]);
    }
}
