//! The certificate validity window, checked before anything is issued, so
//! that a window no certificate can hold is an error at its field instead of
//! a failed render, and certificates that are not valid yet are reported.
//!
//! Windows (see `certs::issue::windows`): with a seed they start at
//! `tls.notBefore` plus whole renewal periods, never before `notBefore`;
//! without one they start now. Either way they end at most `caValidityDays`
//! after `max(now, notBefore)`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Instance;
use crate::krm::FieldError;

const DAY: i64 = 86_400;
/// 9999-12-31T23:59:59Z: the last time an X.509 certificate can hold.
pub const LAST_TIME: i64 = 253_402_300_799;
/// A seeded `tls.notBefore` at most this far ahead is a warning (the
/// certificates become valid then); further ahead, an error.
pub const MAX_FUTURE_DAYS: i64 = 7;

fn show(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// The clock-free part: `notBefore` and the CA's lifetime fit in what a
/// certificate can hold.
pub fn check_static(not_before: i64, ca_validity_days: u32) -> Result<(), String> {
    if not_before < 0 {
        return Err(format!(
            "tls.notBefore {} is before 1970-01-01T00:00:00Z",
            show(not_before)
        ));
    }
    let end = not_before + i64::from(ca_validity_days) * DAY;
    if end > LAST_TIME {
        return Err(format!(
            "tls.notBefore {} plus tls.caValidityDays ({ca_validity_days}) ends after 9999-12-31T23:59:59Z, the last time a certificate can hold",
            show(not_before)
        ));
    }
    Ok(())
}

/// The checks that need the clock (`now`, Unix seconds) and whether the
/// certificates are derived from a seed. Returns the warnings (the
/// instance's own first) or the errors.
pub fn check_at(
    inst: &Instance,
    now: i64,
    seeded: bool,
) -> Result<Vec<FieldError>, Vec<FieldError>> {
    let mut warnings = inst.warnings.clone();
    let Some(tls) = &inst.tls else {
        return Ok(warnings);
    };
    let field = |f: &str| format!("{}tls.{f}", inst.field_prefix);
    let start = if seeded { now.max(tls.not_before) } else { now };
    let end = start.saturating_add(i64::from(tls.ca_validity_days) * DAY);
    if end > LAST_TIME {
        return Err(vec![FieldError::new(
            field("caValidityDays"),
            format!(
                "certificates issued at {} for tls.caValidityDays ({}) would end after 9999-12-31T23:59:59Z, the last time a certificate can hold",
                show(start),
                tls.ca_validity_days
            ),
        )]);
    }
    if seeded && tls.not_before > now {
        let ahead = tls.not_before - now;
        let when = show(tls.not_before);
        if ahead > MAX_FUTURE_DAYS * DAY {
            return Err(vec![FieldError::new(
                field("notBefore"),
                format!(
                    "tls.notBefore is {when}, {} days from now: the certificates would not be valid until then (at most {MAX_FUTURE_DAYS} days ahead is accepted)",
                    ahead / DAY
                ),
            )]);
        }
        warnings.push(FieldError::new(
            field("notBefore"),
            format!(
                "tls.notBefore is in the future: the certificates become valid at {when} (in {} hours); clients refuse them until then",
                (ahead + 3599) / 3600
            ),
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::test_spec;

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    #[test]
    fn windows_that_no_certificate_holds_are_errors() {
        assert!(check_static(0, 3650).is_ok());
        assert!(check_static(-1, 1).is_err());
        assert!(check_static(LAST_TIME - 10 * DAY, 9).is_ok());
        assert!(check_static(LAST_TIME - 10 * DAY, 11).is_err());
        let inst = test_spec("  tls:\n    caValidityDays: 36500\n    validityDays: 365\n");
        assert!(check_at(&inst, NOW, true).is_ok());
        let e = check_at(&inst, LAST_TIME - 1000 * DAY, false).unwrap_err();
        assert_eq!(e[0].field, "spec.tls.caValidityDays");
    }

    #[test]
    fn a_future_not_before_warns_then_fails() {
        let soon = test_spec("  tls:\n    notBefore: \"2026-01-03T00:00:00Z\"\n");
        let w = check_at(&soon, NOW, true).expect("two days ahead: a warning");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].field, "spec.tls.notBefore");
        assert!(
            w[0].message.contains("2026-01-03T00:00:00Z"),
            "{}",
            w[0].message
        );
        assert!(check_at(&soon, NOW, false).expect("unseeded").is_empty());
        let late = test_spec("  tls:\n    notBefore: \"2026-03-01T00:00:00Z\"\n");
        let e = check_at(&late, NOW, true).unwrap_err();
        assert_eq!(e[0].field, "spec.tls.notBefore");
        assert!(e[0].message.contains("59 days"), "{}", e[0].message);
    }
}
