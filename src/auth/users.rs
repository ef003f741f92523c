//! Who authenticates as whom: the keys of the auth Secret, the Redis ACL
//! users, and which credential each process uses.
//!
//! With `auth.mode: acl` (the default) Redis has no usable default user and
//! four users with least privilege:
//!
//! | user | used by | rules |
//! |---|---|---|
//! | `replication` | replicas (`masteruser`), Redis probes | `+psync +replconf +ping` |
//! | `sentinel` | Sentinels, start scripts asking `ROLE` | the commands the Redis Sentinel docs list |
//! | `<appUser>` (`app`) | applications | `auth.appUserRules` (`~* &* +@all -@admin -@scripting +role`) |
//! | `admin` | operators | `~* &* +@all` |
//!
//! Sentinel itself has one password (`requirepass`), which clients and peer
//! Sentinels use. With `auth.mode: password` Redis has one password
//! (`requirepass`/`masterauth`) and Sentinel another.

use crate::spec::{Auth, Component, model::AuthMode};

pub const APP_PASSWORD: &str = "app-password";
pub const ADMIN_PASSWORD: &str = "admin-password";
pub const REPLICATION_PASSWORD: &str = "replication-password";
pub const SENTINEL_USER_PASSWORD: &str = "sentinel-user-password";
pub const SENTINEL_PASSWORD: &str = "sentinel-password";
pub const REDIS_PASSWORD: &str = "redis-password";

pub const REPLICATION_USER: &str = "replication";
pub const SENTINEL_USER: &str = "sentinel";
pub const ADMIN_USER: &str = "admin";

pub const REPLICATION_RULES: &str = "+psync +replconf +ping";
/// From the Redis Sentinel documentation ("Redis Access Control List authentication").
pub const SENTINEL_RULES: &str = "allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill";
pub const ADMIN_RULES: &str = "~* &* +@all";

/// Every key of the auth Secret.
pub fn secret_keys(auth: &Auth) -> Vec<&'static str> {
    match auth.mode {
        AuthMode::Acl => vec![
            ADMIN_PASSWORD,
            APP_PASSWORD,
            REPLICATION_PASSWORD,
            SENTINEL_PASSWORD,
            SENTINEL_USER_PASSWORD,
        ],
        AuthMode::Password => vec![REDIS_PASSWORD, SENTINEL_PASSWORD],
    }
}

/// The keys a component's pods mount: Redis pods define every user;
/// Sentinels only need their own credentials.
pub fn mounted_keys(auth: &Auth, c: Component) -> Vec<&'static str> {
    match (c, auth.mode) {
        (Component::Redis, _) => secret_keys(auth),
        (Component::Sentinel, AuthMode::Acl) => vec![SENTINEL_PASSWORD, SENTINEL_USER_PASSWORD],
        (Component::Sentinel, AuthMode::Password) => vec![REDIS_PASSWORD, SENTINEL_PASSWORD],
    }
}

/// A user (`None`: the default user) and the Secret key of its password.
pub type Credential = (Option<&'static str>, &'static str);

/// What a process uses to talk to Redis as a peer (ROLE, probes of Sentinel).
pub fn redis_peer_credential(auth: &Auth) -> Credential {
    match auth.mode {
        AuthMode::Acl => (Some(SENTINEL_USER), SENTINEL_USER_PASSWORD),
        AuthMode::Password => (None, REDIS_PASSWORD),
    }
}

/// What a pod's probe authenticates with against its own process.
pub fn probe_credential(auth: &Auth, c: Component) -> Credential {
    match (c, auth.mode) {
        (Component::Redis, AuthMode::Acl) => (Some(REPLICATION_USER), REPLICATION_PASSWORD),
        (Component::Redis, AuthMode::Password) => (None, REDIS_PASSWORD),
        (Component::Sentinel, _) => (None, SENTINEL_PASSWORD),
    }
}

/// `user:file` for the start scripts' `cli` helper (empty user: default).
pub fn script_credential(cred: Credential, dir: &str) -> String {
    format!("{}:{dir}/{}", cred.0.unwrap_or_default(), cred.1)
}
