//! 3scale API Management (APIManager 2.16 and later): Secrets
//! `backend-redis` (apisonator: storage and queues) and `system-redis`
//! (porta: Sidekiq and caches), in the keys and formats 3scale reads.
//!
//! Formats, as the consumers' own parsing code reads them:
//! - URL (`REDIS_STORAGE_URL`, `REDIS_QUEUES_URL`, `URL`):
//!   `redis[s]://<masterName>/<db>`: in Sentinel mode the host is the master
//!   group name; the db comes from the path (never empty); the scheme
//!   `rediss` turns TLS on. No credentials in the URL (Ruby takes them raw,
//!   Go percent-decodes them): they are in the `*_USERNAME`/`*_PASSWORD` keys.
//! - Sentinel hosts: `rediss://<pod>.<headless>.<ns>.svc.<domain>:<port>`
//!   joined by commas without spaces (porta splits on `,` and does not trim),
//!   names the Sentinel certificate covers.
//! - Sentinel has no user names, only its password: `*_SENTINEL_USERNAME` is
//!   empty.
//! - `REDIS_SSL_*`: PEM (the operator mounts them as files).

use super::{Entries, Materials, sentinel_hosts};
use crate::spec::Instance;
use crate::spec::consumers::{Consumer, ThreeScale};

pub const STORAGE_PASSWORD: &str = "REDIS_STORAGE_PASSWORD";

/// `redis[s]://<masterName>/<db>`
pub fn url(inst: &Instance, db: u32) -> String {
    format!("{}://{}/{db}", scheme(inst), inst.sentinel.master_name)
}

fn scheme(inst: &Instance) -> &'static str {
    if inst.tls_enabled() {
        "rediss"
    } else {
        "redis"
    }
}

/// `redis[s]://<sentinel pod>:<port>,...`
pub fn sentinel_hosts_list(inst: &Instance) -> String {
    sentinel_hosts(inst)
        .iter()
        .map(|h| format!("{}://{h}:{}", scheme(inst), inst.sentinel.port))
        .collect::<Vec<_>>()
        .join(",")
}

/// The six connection keys of one Redis use (`prefix` `REDIS_STORAGE_`,
/// `REDIS_QUEUES_`, or none for system, whose keys differ).
struct Keys {
    url: &'static str,
    hosts: &'static str,
    role: &'static str,
    user: &'static str,
    password: &'static str,
    sentinel_user: &'static str,
    sentinel_password: &'static str,
    ca: &'static str,
    cert: &'static str,
    key: &'static str,
}

const STORAGE: Keys = Keys {
    url: "REDIS_STORAGE_URL",
    hosts: "REDIS_STORAGE_SENTINEL_HOSTS",
    role: "REDIS_STORAGE_SENTINEL_ROLE",
    user: "REDIS_STORAGE_USERNAME",
    password: STORAGE_PASSWORD,
    sentinel_user: "REDIS_STORAGE_SENTINEL_USERNAME",
    sentinel_password: "REDIS_STORAGE_SENTINEL_PASSWORD",
    ca: "REDIS_SSL_CA",
    cert: "REDIS_SSL_CERT",
    key: "REDIS_SSL_KEY",
};

const QUEUES: Keys = Keys {
    url: "REDIS_QUEUES_URL",
    hosts: "REDIS_QUEUES_SENTINEL_HOSTS",
    role: "REDIS_QUEUES_SENTINEL_ROLE",
    user: "REDIS_QUEUES_USERNAME",
    password: "REDIS_QUEUES_PASSWORD",
    sentinel_user: "REDIS_QUEUES_SENTINEL_USERNAME",
    sentinel_password: "REDIS_QUEUES_SENTINEL_PASSWORD",
    ca: "REDIS_SSL_QUEUES_CA",
    cert: "REDIS_SSL_QUEUES_CERT",
    key: "REDIS_SSL_QUEUES_KEY",
};

const SYSTEM: Keys = Keys {
    url: "URL",
    hosts: "SENTINEL_HOSTS",
    role: "SENTINEL_ROLE",
    user: "REDIS_USERNAME",
    password: "REDIS_PASSWORD",
    sentinel_user: "REDIS_SENTINEL_USERNAME",
    sentinel_password: "REDIS_SENTINEL_PASSWORD",
    ca: "REDIS_SSL_CA",
    cert: "REDIS_SSL_CERT",
    key: "REDIS_SSL_KEY",
};

fn connection(e: &mut Entries, inst: &Instance, k: &Keys, db: u32, c: &Consumer, m: &Materials) {
    let (user, password) = m.login(c);
    e.text(k.url, url(inst, db));
    e.text(k.hosts, sentinel_hosts_list(inst));
    e.text(k.role, "master");
    e.text(k.user, user);
    e.material(k.password, &password, true);
    e.text(k.sentinel_user, "");
    e.material(k.sentinel_password, &m.sentinel_password, true);
    e.material(k.ca, &m.ca, true);
    e.material(k.cert, &m.client_cert, true);
    e.material(k.key, &m.client_key, true);
}

/// `backend-redis` and `system-redis` of a 3scale consumer.
pub(super) fn secrets(
    inst: &Instance,
    c: &Consumer,
    t: &ThreeScale,
    m: &Materials,
) -> Vec<(String, Entries, &'static str)> {
    let mut out = Vec::new();
    if t.parts.storage || t.parts.queues {
        let mut backend = Entries::default();
        if t.parts.storage {
            connection(&mut backend, inst, &STORAGE, t.storage_db, c, m);
        }
        if t.parts.queues {
            connection(&mut backend, inst, &QUEUES, t.queues_db, c, m);
        }
        out.push((t.backend_secret.clone(), backend, "Opaque"));
    }
    if t.parts.system {
        let mut system = Entries::default();
        connection(&mut system, inst, &SYSTEM, t.system_db, c, m);
        if let Some(ns) = &t.key_namespace {
            system.text("NAMESPACE", ns.clone());
        }
        out.push((t.system_secret.clone(), system, "Opaque"));
    }
    out
}

/// The key holding the consumer's own password for the first part this
/// instance serves, and the Secret it is in (where a later render finds it
/// to keep it).
pub fn password_key(t: &ThreeScale) -> (&str, &'static str) {
    if t.parts.storage {
        (&t.backend_secret, STORAGE.password)
    } else if t.parts.queues {
        (&t.backend_secret, QUEUES.password)
    } else {
        (&t.system_secret, SYSTEM.password)
    }
}
