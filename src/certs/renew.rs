//! Without a seed: what a render does with the certificates an earlier
//! render left among the input items (kpt writes them back into the
//! package). In order of preference:
//!
//! 1. **keep** everything byte for byte while it fits the spec;
//! 2. **re-sign** the leaves with the current CA (its key kept with
//!    `tls.keepCaKey`) when only the leaves must change (names, usages,
//!    leaf expiry): trust does not change;
//! 3. **step** to the next CA when the leaves must move to another CA
//!    (`tls.rotation` bumped, the CA near its end, or the current CA's key
//!    unknown): the next CA is already in every `ca.crt`, so pods and
//!    clients still on the old leaves and those on the new ones trust each
//!    other during the roll. Needs the next CA's key (`tls.keepCaKey`);
//! 4. **start over** with a new CA when there is nothing to keep or no
//!    trusted CA can sign: the old CA stays in `ca.crt` as the previous one
//!    (new pods trust old ones), but pods still on the old `ca.crt` reject
//!    the new leaves until they roll, so the render warns.
//!
//! See [`super::trust`] for the bundle itself.

use serde_norway::Value;

use super::issue;
use super::reuse::{self, Earlier};
use super::seed::Seed;
use super::trust::CaPem;
use super::{Bundle, Origin};
use crate::spec::{Instance, Tls};

const DAY: i64 = 86_400;

/// The certificates of a render without a user seed (`seed` is random).
pub fn from_earlier(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    items: &[Value],
    now: i64,
) -> anyhow::Result<(Bundle, Origin)> {
    let earlier = match reuse::earlier(inst, items) {
        Ok(e) => e,
        Err(reason) => return start_over(inst, tls, seed, now, None, reason),
    };
    let cur_idx = match earlier.signer() {
        Ok(i) => i,
        Err(reason) => return start_over(inst, tls, seed, now, None, reason),
    };
    let cur = earlier.trust[cur_idx].clone();
    let prev = cur_idx.checked_sub(1).map(|i| earlier.trust[i].clone());
    let next = earlier.trust.get(cur_idx + 1).cloned();
    let ca_left = reuse::ca_fit(inst, tls, &cur, now).map(|not_after| not_after - now);
    let step = if earlier.rotation != tls.rotation.to_string() {
        Some(format!(
            "tls.rotation changed ({} -> {})",
            earlier.rotation, tls.rotation
        ))
    } else {
        match &ca_left {
            Err(reason) => Some(reason.clone()),
            Ok(left) if *left <= i64::from(tls.renew_before_days) * DAY => {
                Some("the CA certificate expires soon".into())
            }
            Ok(_) => None,
        }
    };
    let leaves = earlier.leaves_fit(inst, tls, &cur, now).err();
    // The current CA can re-sign leaves: its key is known and it covers a
    // full leaf validity.
    let resign = earlier
        .key_for(&cur)
        .zip(ca_left.clone().ok())
        .filter(|(_, left)| *left > i64::from(tls.validity_days) * DAY);
    match (step, leaves, resign) {
        (None, None, _) => {
            let next = keep_next(inst, tls, seed, now, &earlier, next)?;
            let bundle = Bundle {
                ca_key_pem: earlier.key_for(&cur),
                ca_pem: cur,
                previous_ca_pem: prev,
                next_ca: next,
                leaves: earlier.leaves,
            };
            Ok((bundle, Origin::Kept))
        }
        (None, Some(why), Some((key, left))) => {
            let next = keep_next(inst, tls, seed, now, &earlier, next)?;
            let mut bundle = issue::issue_with_kept_ca(inst, tls, seed, now, cur, key, now + left)?;
            bundle.previous_ca_pem = prev;
            bundle.next_ca = next;
            Ok((bundle, Origin::Renewed(why)))
        }
        (step, leaves, _) => {
            let why = step.or(leaves).unwrap_or_default();
            if let Some(bundle) = step_to_next(inst, tls, seed, now, &earlier, &cur, next)? {
                return Ok((bundle, Origin::Kept));
            }
            let trusted = ca_left.is_ok().then_some(cur);
            start_over(inst, tls, seed, now, trusted, why)
        }
    }
}

/// The next CA to publish beside a kept current CA: the earlier one (with
/// its key when it is known), or, with `keepCaKey` and no earlier next CA
/// whose key is known, a new one (its key kept in `<name>-ca-key`).
fn keep_next(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    now: i64,
    earlier: &Earlier,
    next: Option<String>,
) -> anyhow::Result<Option<CaPem>> {
    let next = next.map(|cert| CaPem {
        key: earlier.key_for(&cert),
        cert,
    });
    match next {
        Some(n) if n.key.is_some() || !tls.keep_ca_key => Ok(Some(n)),
        _ if tls.keep_ca_key => Ok(Some(issue::issue_ca(inst, tls, seed, now)?)),
        _ => Ok(None),
    }
}

/// Moves the leaves to the next CA when it is published in the earlier
/// `ca.crt` (so everything running trusts it), its key is known and its
/// published certificate is still valid for `renewBeforeDays` (the roll).
/// Its certificate is re-issued from now (same key and subject), so it can
/// sign leaves for a full validity however long it waited. `None` when it
/// cannot.
fn step_to_next(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    now: i64,
    earlier: &Earlier,
    cur: &str,
    next: Option<String>,
) -> anyhow::Result<Option<Bundle>> {
    let Some(next) = next else {
        return Ok(None);
    };
    let Some(key) = earlier.key_for(&next) else {
        return Ok(None);
    };
    match reuse::ca_fit(inst, tls, &next, now) {
        Ok(not_after) if not_after - now > i64::from(tls.renew_before_days) * DAY => {}
        _ => return Ok(None),
    }
    let ca = issue::reissue_ca(inst, tls, seed, now, &key)?;
    let not_after = now - 300 + i64::from(tls.ca_validity_days) * DAY;
    let mut bundle = issue::issue_with_kept_ca(inst, tls, seed, now, ca.cert, key, not_after)?;
    bundle.previous_ca_pem = Some(cur.to_string());
    bundle.next_ca = if tls.keep_ca_key {
        Some(issue::issue_ca(inst, tls, seed, now)?)
    } else {
        None
    };
    Ok(Some(bundle))
}

/// A new CA and new leaves; `trusted` (the earlier CA, still valid) stays
/// in `ca.crt` as the previous CA so new pods still accept old ones.
fn start_over(
    inst: &Instance,
    tls: &Tls,
    seed: &Seed,
    now: i64,
    trusted: Option<String>,
    reason: String,
) -> anyhow::Result<(Bundle, Origin)> {
    let mut bundle = issue::issue_all(inst, tls, seed, now)?;
    let reason = match trusted {
        Some(old) => {
            bundle.previous_ca_pem = Some(old);
            format!(
                "{reason}; no CA that the running pods trust can sign (the next CA's key is kept only with tls.keepCaKey), so the certificates moved to a new CA: until both workloads have rolled, pods still on the old ca.crt reject the new certificates (write outage, possible failover), and clients must re-read ca.crt. Safe rotations need tls.keepCaKey (render once and roll before the next rotation) or a seed"
            )
        }
        None => reason,
    };
    Ok((bundle, Origin::Generated(reason)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;
    use crate::spec::test_spec;

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    fn render(spec: &str, seed: Option<&Seed>, items: &[Value], now: i64) -> Vec<Value> {
        let inst = test_spec(spec);
        generate::render(&inst, seed, items, now)
            .expect("renders")
            .items
    }

    fn warnings(spec: &str, seed: Option<&Seed>, items: &[Value], now: i64) -> Vec<String> {
        let inst = test_spec(spec);
        generate::render(&inst, seed, items, now)
            .expect("renders")
            .results
            .iter()
            .map(|r| format!("{r:?}"))
            .filter(|m| m.contains("certificates for"))
            .collect()
    }

    fn earlier(spec: &str, items: &[Value]) -> Earlier {
        reuse::earlier(&test_spec(spec), items).expect("certificate Secrets")
    }

    /// Every leaf of `leaves_from` is signed by a CA of `trust_from`'s ca.crt.
    fn trusted(spec: &str, leaves_from: &[Value], trust_from: &[Value]) -> bool {
        let mut e = earlier(spec, leaves_from);
        e.trust = earlier(spec, trust_from).trust;
        e.signer().is_ok()
    }

    fn current(spec: &str, items: &[Value]) -> String {
        let e = earlier(spec, items);
        e.trust[e.signer().unwrap()].clone()
    }

    const KEEP: &str = "  tls:\n    keepCaKey: true\n";
    const KEEP_R1: &str = "  tls:\n    keepCaKey: true\n    rotation: 1\n";
    const KEEP_R2: &str = "  tls:\n    keepCaKey: true\n    rotation: 2\n";

    #[test]
    fn kept_rotations_step_through_published_cas() {
        let r0 = render(KEEP, None, &[], NOW);
        let e0 = earlier(KEEP, &r0);
        assert_eq!(e0.trust.len(), 2, "current and next CA");
        assert_eq!(e0.keys.len(), 2, "both keys kept");
        assert_eq!(render(KEEP, None, &r0, NOW + 86_400), r0, "kept as is");

        let r1 = render(KEEP_R1, None, &r0, NOW + 86_400);
        assert!(warnings(KEEP_R1, None, &r0, NOW).is_empty(), "a safe step");
        let e1 = earlier(KEEP_R1, &r1);
        assert_eq!(e1.trust.len(), 3, "previous, current, next");
        assert_eq!(e1.trust[0], e0.trust[0], "the old CA is the previous one");
        assert_eq!(
            e1.key_for(&e1.trust[1]),
            e0.key_for(&e0.trust[1]),
            "leaves moved to the next CA (its certificate re-issued, same key)"
        );
        assert_eq!(current(KEEP_R1, &r1), e1.trust[1]);
        assert!(trusted(KEEP, &r1, &r0), "old pods trust the new leaves");
        assert!(trusted(KEEP, &r0, &r1), "new pods trust the old leaves");
        assert_eq!(render(KEEP_R1, None, &r1, NOW + 2 * 86_400), r1, "stable");

        let r2 = render(KEEP_R2, None, &r1, NOW + 3 * 86_400);
        let e2 = earlier(KEEP_R2, &r2);
        assert_eq!(e2.trust[0], e1.trust[1], "the oldest CA left");
        assert_eq!(e2.key_for(&e2.trust[1]), e1.key_for(&e1.trust[2]));
        assert!(trusted(KEEP, &r2, &r1) && trusted(KEEP, &r1, &r2));
        assert!(
            !trusted(KEEP, &r2, &r0),
            "two steps without a roll between are not covered"
        );
    }

    #[test]
    fn kept_ca_renewal_steps_to_the_next_ca_before_the_ca_expires() {
        let spec = "  tls:\n    keepCaKey: true\n    caValidityDays: 400\n    validityDays: 100\n    renewBeforeDays: 10\n";
        let r0 = render(spec, None, &[], NOW);
        // Leaf renewal (day 95): same CA, new leaves.
        let r1 = render(spec, None, &r0, NOW + 95 * 86_400);
        assert_ne!(r1, r0);
        assert_eq!(
            current(spec, &r1),
            current(spec, &r0),
            "leaves re-signed by the same CA"
        );
        assert_eq!(earlier(spec, &r1).trust, earlier(spec, &r0).trust);
        // Day 320: the CA cannot cover a full leaf validity: the next CA
        // takes over (its certificate re-issued from now, same key).
        let r2 = render(spec, None, &r1, NOW + 320 * 86_400);
        let e0 = earlier(spec, &r0);
        assert_eq!(
            e0.key_for(&e0.trust[1]),
            earlier(spec, &r2).key_for(&current(spec, &r2)),
            "the next CA's key signs"
        );
        assert!(trusted(spec, &r2, &r1) && trusted(spec, &r1, &r2));
        assert_eq!(earlier(spec, &r2).trust[0], current(spec, &r1));
        assert_eq!(render(spec, None, &r2, NOW + 321 * 86_400), r2, "then kept");
    }

    #[test]
    fn without_keep_ca_key_a_rotation_warns_and_keeps_the_old_ca_trusted() {
        let r0 = render("", None, &[], NOW);
        assert_eq!(
            earlier("", &r0).trust.len(),
            1,
            "no next CA without its key"
        );
        let spec = "  tls:\n    rotation: 1\n";
        let r1 = render(spec, None, &r0, NOW);
        let w = warnings(spec, None, &r0, NOW);
        assert!(
            w.iter()
                .any(|m| m.contains("no CA that the running pods trust")),
            "{w:?}"
        );
        assert!(trusted("", &r0, &r1), "new pods still trust old leaves");
        assert!(!trusted("", &r1, &r0), "old pods cannot trust the new CA");
    }

    #[test]
    fn turning_keep_ca_key_on_publishes_a_next_ca_then_rotates_safely() {
        let r0 = render("", None, &[], NOW);
        let r1 = render(KEEP, None, &r0, NOW);
        assert_eq!(current(KEEP, &r1), current("", &r0), "same CA, same leaves");
        let e1 = earlier(KEEP, &r1);
        assert_eq!(e1.trust.len(), 2);
        assert!(e1.key_for(&e1.trust[1]).is_some(), "next CA key kept");
        let r2 = render(KEEP_R1, None, &r1, NOW);
        assert!(trusted(KEEP, &r2, &r1) && trusted(KEEP, &r1, &r2));
        // And off again: nothing about trust changes.
        let r3 = render("  tls:\n    rotation: 1\n", None, &r2, NOW);
        assert_eq!(earlier("", &r3).trust, earlier(KEEP, &r2).trust);
        assert_eq!(earlier("", &r3).leaves, earlier(KEEP, &r2).leaves);
    }

    #[test]
    fn seeded_rotation_and_ca_renewal_overlap_and_are_deterministic() {
        let seed = Seed::from_user(b"0123456789abcdef0123456789abcdef").unwrap();
        let s = Some(&seed);
        let spec = "  tls:\n    caValidityDays: 60\n    validityDays: 20\n    renewBeforeDays: 5\n    notBefore: \"2026-01-01T00:00:00Z\"\n";
        let spec_r1 = format!("{spec}    rotation: 1\n");
        let day = 86_400;
        let a = render(spec, s, &[], NOW + 39 * day);
        assert_eq!(
            a,
            render(spec, s, &[], NOW + 39 * day + 3600),
            "deterministic"
        );
        assert_eq!(
            earlier(spec, &a).trust.len(),
            2,
            "generation 0: current and next"
        );
        // Rotation: leaves move to the published next CA.
        let b = render(&spec_r1, s, &[], NOW + 39 * day);
        assert_eq!(current(spec, &b), earlier(spec, &a).trust[1]);
        assert!(trusted(spec, &a, &b) && trusted(spec, &b, &a));
        // CA renewal (day 40 is the CA period): the same step.
        let c = render(spec, s, &[], NOW + 40 * day + 3600);
        assert_eq!(
            earlier(spec, &c).trust.len(),
            3,
            "previous, current and next"
        );
        assert!(trusted(spec, &a, &c) && trusted(spec, &c, &a));
        // Leaf renewal inside a CA period: same CAs, new leaves.
        let d = render(spec, s, &[], NOW + 31 * day);
        let e = render(spec, s, &[], NOW + 29 * day);
        assert_ne!(earlier(spec, &d).leaves, earlier(spec, &e).leaves);
        assert_eq!(earlier(spec, &d).trust, earlier(spec, &e).trust);
    }

    #[test]
    fn seeded_output_fed_back_without_a_seed_is_kept_then_steps_safely() {
        let seed = Seed::from_user(b"0123456789abcdef0123456789abcdef").unwrap();
        for spec in [KEEP, "  tls:\n    keepCaKey: true\n    rotation: 3\n"] {
            let seeded = render(spec, Some(&seed), &[], NOW);
            assert_eq!(render(spec, None, &seeded, NOW), seeded, "kept as is");
        }
        let seeded = render(KEEP, Some(&seed), &[], NOW);
        let next = render(KEEP_R1, None, &seeded, NOW);
        assert!(trusted(KEEP, &next, &seeded) && trusted(KEEP, &seeded, &next));
    }

    #[test]
    fn a_leaf_from_another_ca_is_not_kept() {
        let a = render(KEEP, None, &[], NOW);
        let b = render(KEEP, None, &[], NOW);
        let mut mixed = a.clone();
        let name = |v: &Value| {
            v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let i = mixed
            .iter()
            .position(|v| name(v) == "cache-sentinel-tls")
            .unwrap();
        let other = b.iter().find(|v| name(v) == "cache-sentinel-tls").unwrap();
        for k in ["tls.crt", "tls.key"] {
            mixed[i]["data"][k] = other["data"][k].clone();
        }
        assert!(earlier(KEEP, &mixed).signer().is_err());
        let w = warnings(KEEP, None, &mixed, NOW);
        assert!(
            w.iter().any(|m| m.contains("not signed by a CA in ca.crt")),
            "{w:?}"
        );
        // A Secret with another ca.crt altogether is not kept either.
        mixed[i] = other.clone();
        let w = warnings(KEEP, None, &mixed, NOW);
        assert!(w.iter().any(|m| m.contains("another CA")), "{w:?}");
    }

    /// Leaves re-signed by the kept CA are reported as a renewal (info),
    /// not as certificates "newly generated" that change on every render.
    #[test]
    fn a_kept_ca_renewal_is_reported_as_one() {
        let r0 = render(KEEP, None, &[], NOW);
        let names = "  tls:\n    keepCaKey: true\n    extraDnsNames: [redis.example.com]\n";
        let inst = test_spec(names);
        let out = generate::render(&inst, None, &r0, NOW + 86_400).expect("renders");
        assert_eq!(current(names, &out.items), current(KEEP, &r0), "same CA");
        let about: Vec<_> = out
            .results
            .iter()
            .filter(|r| r.message.contains("certificates for"))
            .collect();
        assert_eq!(about.len(), 1, "{about:?}");
        assert_eq!(about[0].severity, crate::krm::Severity::Info, "{about:?}");
        assert!(
            about[0].message.contains("renewed by the kept CA"),
            "{about:?}"
        );
        assert!(!about[0].message.contains("newly generated"), "{about:?}");
    }
}
