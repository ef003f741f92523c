//! `spec.tls`: the certificate source, validity windows, ports (TLS and the
//! optional plaintext ones).

use super::*;

/// The plaintext ports beside the TLS ones, when both are on.
pub(super) fn plaintext_ports(t: &model::TlsSpec) -> Option<PlainPorts> {
    (t.plaintext.enabled && t.enabled.unwrap_or(true)).then(|| PlainPorts {
        redis: t.plaintext.redis_port.unwrap_or(defaults::PLAIN_REDIS_PORT),
        sentinel: t
            .plaintext
            .sentinel_port
            .unwrap_or(defaults::PLAIN_SENTINEL_PORT),
    })
}

/// Every port the pods listen on, with its field: none is 0, no two are
/// the same.
pub(super) fn check_ports(
    redis: &Redis,
    sentinel: &Sentinel,
    plaintext: Option<PlainPorts>,
    cx: &mut Ctx,
) -> Vec<(&'static str, u16)> {
    let mut ports = vec![("redis.port", redis.port), ("sentinel.port", sentinel.port)];
    if let Some(p) = plaintext {
        ports.push(("tls.plaintext.redisPort", p.redis));
        ports.push(("tls.plaintext.sentinelPort", p.sentinel));
    }
    for (i, (field, port)) in ports.iter().enumerate() {
        if *port == 0 {
            cx.err(field, "port 0 is not a valid port");
        } else if let Some((other, _)) = ports[..i].iter().find(|(_, p)| p == port) {
            cx.err(field, format!("port {port} is already used by {other}"));
        }
    }
    ports
}

/// `spec.tls`. With TLS off, a certificate source other than `generated`
/// is still checked (it is an error to name one).
pub(super) fn tls(spec: &Spec, name: &str, cluster_domain: &str, cx: &mut Ctx) -> Option<Tls> {
    let t = &spec.tls;
    let mut problems = Vec::new();
    if !t.enabled.unwrap_or(true) {
        if t.source != model::CertificateSource::Generated {
            crate::spec::sources::resolve(spec, name, cluster_domain, &mut problems);
        }
        cx.extend(problems);
        return None;
    }
    let ca_validity_days = t.ca_validity_days.unwrap_or(defaults::CA_VALIDITY_DAYS);
    let validity_days = t.validity_days.unwrap_or(defaults::VALIDITY_DAYS);
    let renew_before_days = t.renew_before_days.unwrap_or(defaults::RENEW_BEFORE_DAYS);
    check_validity(ca_validity_days, validity_days, renew_before_days, cx);
    let not_before = not_before(t, ca_validity_days, cx);
    for (i, n) in t.extra_dns_names.iter().enumerate() {
        if let Err(e) = dns_name(n, true) {
            cx.err(&format!("tls.extraDnsNames[{i}]"), format!("{n:?} {e}"));
        }
    }
    let source = crate::spec::sources::resolve(spec, name, cluster_domain, &mut problems);
    cx.extend(problems);
    Some(Tls {
        source,
        client_auth: t.client_auth,
        key_algorithm: t.key_algorithm,
        ca_validity_days,
        validity_days,
        renew_before_days,
        keep_ca_key: t.keep_ca_key,
        rotation: t.rotation,
        not_before,
        extra_dns_names: t.extra_dns_names.clone(),
    })
}

/// `tls.validityDays`, `tls.caValidityDays` and `tls.renewBeforeDays`.
pub(super) fn check_validity(
    ca_validity_days: u32,
    validity_days: u32,
    renew_before_days: u32,
    cx: &mut Ctx,
) {
    if !(1..=36_500).contains(&validity_days) {
        cx.err(
            "tls.validityDays",
            "tls.validityDays must be between 1 and 36500",
        );
    }
    if !(1..=36_500).contains(&ca_validity_days) {
        cx.err(
            "tls.caValidityDays",
            "tls.caValidityDays must be between 1 and 36500",
        );
    } else if ca_validity_days < validity_days {
        cx.err("tls.caValidityDays", format!("tls.caValidityDays ({ca_validity_days}) must be at least tls.validityDays ({validity_days})"));
    }
    if renew_before_days >= validity_days {
        cx.err("tls.renewBeforeDays", format!("tls.renewBeforeDays ({renew_before_days}) must be less than tls.validityDays ({validity_days})"));
    }
}

/// `tls.notBefore` as a Unix time, and the certificate window it starts.
pub(super) fn not_before(t: &model::TlsSpec, ca_validity_days: u32, cx: &mut Ctx) -> i64 {
    let not_before = match &t.not_before {
        None => DEFAULT_NOT_BEFORE,
        Some(s) => {
            match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                Ok(dt) => dt.unix_timestamp(),
                Err(e) => {
                    cx.err(
                        "tls.notBefore",
                        format!("tls.notBefore {s:?} is not an RFC 3339 time ({e})"),
                    );
                    DEFAULT_NOT_BEFORE
                }
            }
        }
    };
    if let Err(e) = crate::spec::window::check_static(not_before, ca_validity_days) {
        cx.err("tls.notBefore", e);
    }
    not_before
}
