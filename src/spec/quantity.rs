//! Kubernetes resource quantities, read the way the API server reads them
//! (`ParseQuantity` in k8s.io/apimachinery `pkg/api/resource`).
//! `k8s-openapi`'s `Quantity` is only a string wrapper, so the grammar is
//! implemented here:
//!
//! ```text
//! quantity  ::= sign? number suffix
//! sign      ::= "+" | "-"
//! number    ::= digits | digits "." digits? | "." digits    (also "", "." : zero)
//! suffix    ::= binary | decimal | exponent
//! binary    ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"      (2^10 .. 2^60)
//! decimal   ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
//! exponent  ::= ("e" | "E") sign? digits                    (10^n)
//! ```
//!
//! Like the API server, `1.` is accepted, and so are a lone sign, `.` and
//! a bare suffix (`Mi`), which it reads as zero. Beyond the grammar, a value must fit what Kubernetes holds as
//! an integer (`Quantity.Value()`: at most 2^63-1 base units); the API
//! server keeps larger decimal values as written but the scheduler and
//! kubelet cannot use them.

/// Largest magnitude in base units: 2^63 - 1.
pub const MAX: u128 = i64::MAX as u128;

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    pub negative: bool,
    /// The value in nano-units (10^-9), rounded up away from zero as the
    /// API server rounds.
    pub nanos: u128,
}

impl Quantity {
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

/// Why a string is not a quantity.
pub fn parse(s: &str) -> Result<Quantity, String> {
    let scan = scan(s)?;
    let (base2, exp) = suffix(scan.suffix)?;
    // Significant digits: integer part without leading zeros, fraction
    // without trailing zeros; value = digits * 10^e10 * 2^base2.
    let mut digits = format!("{}{}", scan.int, scan.frac);
    let mut e10: i64 = -(scan.frac.len() as i64) + if base2 { 0 } else { exp };
    let b2: u32 = if base2 { exp as u32 } else { 0 };
    let trimmed = digits.trim_end_matches('0');
    e10 += (digits.len() - trimmed.len()) as i64;
    digits = trimmed.trim_start_matches('0').to_string();
    if digits.is_empty() {
        return Ok(Quantity {
            negative: scan.negative,
            nanos: 0,
        });
    }
    let too_big =
        || format!("{s:?} is larger than Kubernetes can hold (at most 2^63-1 = {MAX} base units)");
    // Integer digits of digits * 10^e10 (before the binary factor).
    let int_digits = digits.len() as i64 + e10;
    if int_digits > 20 {
        return Err(too_big());
    }
    let nanos = nanos(&digits, e10, b2).ok_or_else(too_big)?;
    if nanos > MAX * 1_000_000_000 {
        return Err(too_big());
    }
    Ok(Quantity {
        negative: scan.negative,
        nanos,
    })
}

/// Whether `s` is a quantity (grammar and magnitude).
pub fn is_quantity(s: &str) -> bool {
    parse(s).is_ok()
}

struct Scan<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    suffix: &'a str,
}

const FORMAT: &str = "must match the Kubernetes quantity form ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$, e.g. 100m, 128Mi, 1.5, 1e3";

/// The scanner of `parseQuantityString`: sign, integer digits, optional
/// fraction, then suffix characters, an optional sign and digits.
fn scan(s: &str) -> Result<Scan<'_>, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(format!("an empty string {FORMAT}"));
    }
    let mut pos = 0;
    let negative = b[0] == b'-';
    if b[0] == b'-' || b[0] == b'+' {
        pos = 1;
    }
    let digits_from = |p: usize| p + b[p..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_end = digits_from(pos);
    let int = &s[pos..int_end];
    pos = int_end;
    let mut frac = "";
    if pos < b.len() && b[pos] == b'.' {
        let end = digits_from(pos + 1);
        frac = &s[pos + 1..end];
        pos = end;
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'+' || b[pos] == b'-') {
        pos += 1;
    }
    pos = digits_from(pos);
    if pos != b.len() {
        return Err(format!("{s:?} {FORMAT}"));
    }
    Ok(Scan {
        negative,
        int,
        frac,
        suffix: &s[suffix_start..],
    })
}

/// `(binary, exponent)` of a suffix: 2^exponent or 10^exponent.
fn suffix(suf: &str) -> Result<(bool, i64), String> {
    let decimal = [
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("", 0),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    let binary = [
        ("Ki", 10),
        ("Mi", 20),
        ("Gi", 30),
        ("Ti", 40),
        ("Pi", 50),
        ("Ei", 60),
    ];
    if let Some((_, e)) = decimal.iter().find(|(n, _)| *n == suf) {
        return Ok((false, *e));
    }
    if let Some((_, e)) = binary.iter().find(|(n, _)| *n == suf) {
        return Ok((true, *e));
    }
    let bad = || {
        format!(
            "suffix {suf:?} is not a Kubernetes quantity suffix (Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E or an exponent e<n>)"
        )
    };
    let rest = suf
        .strip_prefix(['e', 'E'])
        .filter(|r| !r.is_empty())
        .ok_or_else(bad)?;
    // Go's ParseInt(.., 64): an optional sign and digits.
    let exp: i64 = rest.parse().map_err(|_| bad())?;
    // Kubernetes keeps the exponent as an int32.
    if exp.abs() > i64::from(i32::MAX) {
        return Err(format!("exponent {exp} is out of range"));
    }
    Ok((false, exp))
}

/// `digits * 10^e10 * 2^b2` in nano-units, rounded up; `None` if too big.
fn nanos(digits: &str, e10: i64, b2: u32) -> Option<u128> {
    let k = e10 + 9;
    if k >= 0 {
        let mut v: u128 = digits.parse().ok()?;
        for _ in 0..k {
            v = v.checked_mul(10)?;
        }
        return v.checked_mul(1u128 << b2);
    }
    // A fraction of a nano-unit: split off the digits below 10^-9.
    let m = usize::try_from(-k).ok()?;
    let (high, low) = if digits.len() > m {
        digits.split_at(digits.len() - m)
    } else {
        ("", digits)
    };
    let high: u128 = if high.is_empty() {
        0
    } else {
        high.parse().ok()?
    };
    let whole = high.checked_mul(1u128 << b2)?;
    // low / 10^m (low has at most m digits, the last one non-zero) times
    // 2^b2, rounded up. The first 20 digits below the point are enough:
    // what follows adds less than 2^60 / 10^20 < 1.
    let zeros = m - low.len();
    let part = if zeros >= 20 {
        1
    } else {
        let take = low.len().min(20 - zeros);
        let head: u128 = low[..take].parse().ok()?;
        let scale = 10u128.pow(u32::try_from(zeros + take).ok()?);
        let scaled = head.checked_mul(1u128 << b2)?;
        let more = take < low.len();
        scaled / scale + u128::from(scaled % scale != 0 || more)
    };
    whole.checked_add(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> u128 {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).nanos
    }

    #[test]
    fn grammar_as_the_api_server_reads_it() {
        for ok in [
            "0", "1", "100m", "128Mi", "0.5", "1e3", "1E3", "1e-3", "1e+3", "2Gi", "+1", "-1",
            "1.", ".5", ".", "+", "1Ei", "7Ei", "1n", "1u", "5E", "1.5Gi", "Mi", "m",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
        for bad in [
            "",
            "abc",
            "1.2.3",
            "12XB",
            "1e",
            "1K",
            "1ki",
            "1 ",
            " 1",
            "1m3",
            "1Mi3",
            "--1",
            "1e1.5",
            "1e999",
            "1e19",
            "9Ei",
            "10E",
            "1e99999999999",
            "1Ki-",
            "0x10",
            "1_000",
            "٣",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn values_and_limits() {
        assert_eq!(n("1"), 1_000_000_000);
        assert_eq!(n("100m"), 100_000_000);
        assert_eq!(n("1Ki"), 1024 * 1_000_000_000);
        assert_eq!(n("1.5Gi"), 1_610_612_736 * 1_000_000_000);
        assert_eq!(n("1e-12"), 1, "rounded up to a nano-unit");
        assert_eq!(n("0.0000000015"), 2);
        assert_eq!(n("."), 0);
        assert_eq!(n("0.5Ki"), 512 * 1_000_000_000);
        assert_eq!(n("9223372036854775807"), MAX * 1_000_000_000);
        assert!(parse("9223372036854775808").is_err());
        assert!(parse("7Ei").is_ok() && parse("8Ei").is_err());
        assert_eq!(n("1Gi"), n("1073741824"));
        assert!(parse("-1").is_ok_and(|q| q.negative));
    }
}
