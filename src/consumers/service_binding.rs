//! Service Binding for Kubernetes (servicebinding.io): a Secret of type
//! `servicebinding.io/redis` that a ServiceBinding projects into the
//! application as files (`$SERVICE_BINDING_ROOT/<binding>/<key>`).
//!
//! The binding is **Sentinel-only**: `host`/`port` name the Sentinel Service,
//! not `<name>-redis`. A plain host:port client pointed at `<name>-redis`
//! would reach any Redis pod, and after a failover write to a replica
//! (`READONLY`); pointed at Sentinel it fails at once (`unknown command`)
//! instead of working until the first failover. Clients find the master
//! through `sentinel.master` and `sentinel.nodes` (the entries Spring Cloud
//! Bindings maps to `spring.data.redis.sentinel.*`).
//!
//! Entries: `type`, `provider`, `host`, `port`, `username`, `password`,
//! `database`, `ssl`, `sentinel.master`, `sentinel.nodes` (`host:port`
//! pairs joined by commas, the Sentinel pods' DNS names the certificate
//! covers), `sentinel.password`, and with TLS `ca.crt`, `certificates`
//! (client certificate), `private-key`. Spring Cloud Bindings maps neither
//! `username`, `sentinel.password` nor the certificates: see
//! docs/connecting.md for the properties a Spring application adds.

use super::{Entries, Materials, sentinel_hosts};
use crate::spec::consumers::{Consumer, ServiceBinding};
use crate::spec::{Component, Instance};

pub const PASSWORD: &str = "password";
/// Secret type of a Redis binding.
pub const SECRET_TYPE: &str = "servicebinding.io/redis";

/// The binding Secret of a consumer.
pub(super) fn secret(
    inst: &Instance,
    c: &Consumer,
    b: &ServiceBinding,
    m: &Materials,
) -> (String, Entries, &'static str) {
    let mut e = Entries::default();
    let port = inst.sentinel.port;
    e.text("type", "redis");
    e.text("provider", b.provider.clone());
    e.text(
        "host",
        format!(
            "{}.{}",
            inst.workload_name(Component::Sentinel),
            inst.svc_domain()
        ),
    );
    e.text("port", port.to_string());
    e.text("database", b.database.to_string());
    let (user, password) = m.login(c);
    if !user.is_empty() {
        e.text("username", user);
    }
    e.material(PASSWORD, &password, false);
    e.text("sentinel.master", inst.sentinel.master_name.clone());
    e.text(
        "sentinel.nodes",
        sentinel_hosts(inst)
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    e.material("sentinel.password", &m.sentinel_password, false);
    e.text("ssl", inst.tls_enabled().to_string());
    e.material("ca.crt", &m.ca, false);
    e.material("certificates", &m.client_cert, false);
    e.material("private-key", &m.client_key, false);
    (b.secret.clone(), e, SECRET_TYPE)
}
