//! Trust bundles: what `ca.crt` holds, so that no certificate change ever
//! leaves two pods (or a pod and a running client) distrusting each other.
//!
//! CAs come in *generations*. `ca.crt` (in every certificate Secret and in
//! the CA ConfigMap) holds up to three of them, oldest first:
//! - the **previous** CA: leaves it signed may still be in use (pods not
//!   rolled yet, clients that have not re-read their files);
//! - the **current** CA: it signs the leaves of this render;
//! - the **next** CA: trusted now, signs nothing yet. A rotation or a CA
//!   renewal moves the leaves to it, and since every pod and client already
//!   trusts it, pods still on the old leaves and pods already on the new ones
//!   accept each other during the roll.
//!
//! One step (a `tls.rotation` bump, a CA renewal) moves every generation by
//! one: previous <- current <- next <- a new next. The old previous leaves
//! the bundle then, when no leaf it signed remains (leaves move one
//! generation per step). Each step must have reached every pod, and
//! applications must re-read `ca.crt` and their client certificate, before
//! the next step.
//!
//! A step reaches the pods by a roll, or, where the server reloads its
//! certificate files (Valkey 9.1+, [`crate::pod_files::renewal`]), by the
//! kubelet updating each pod's Secret volume at its own time, in any order
//! and up to minutes apart. The overlap holds either way: a pod on the old
//! files (leaf of CA `g`, trusting `g-1, g, g+1`) and one on the new files
//! (leaf of `g+1`, trusting `g, g+1, g+2`) accept each other, whichever
//! moves first. "Reached every pod" then means every pod serves the new
//! leaf (`check` names its serial), not a finished rollout.
//!
//! Every generation has the same subject (`O=redis-sentinel-fn,
//! CN=<name>-ca.<namespace>`); they differ by key, and leaves name theirs by
//! authority key identifier. OpenSSL (Redis, Sentinel, `redis-cli`, Python's
//! `ssl`) picks, among the trusted certificates with the issuer's name, the
//! one whose key identifier matches; checked with `openssl verify`, redis-cli
//! and redis-py against bundles of same-subject CAs in either order
//! (`tests/it/certificates.rs`, `tests/it/day2_rotation.rs`).
//!
//! Where the keys come from:
//! - with a seed, generation `g` is a pure function of the seed:
//!   `g = tls.rotation + (CA renewal periods since tls.notBefore)`; see
//!   [`super::issue`];
//! - kept from the input (kpt), the function needs the next CA's key when
//!   the step comes. With `tls.keepCaKey` it keeps the keys of the current
//!   and the next CA in Secret `<name>-ca-key`; without it (and without a
//!   seed) the key of a published CA is gone after the render, so a step
//!   has to start a CA that nobody trusts yet, and the render warns; see
//!   [`super::renew`].

/// One CA generation: its certificate and, where the function holds it,
/// its private key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPem {
    pub cert: String,
    pub key: Option<String>,
}

/// The certificates of a PEM bundle, each as its own PEM text ending in a
/// newline, in file order. Text outside certificate blocks is dropped.
pub fn split(bundle: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = bundle;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        out.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    out
}

/// A bundle of the given certificates, in order, each ending in a newline.
pub fn join<'a>(certs: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for c in certs {
        out.push_str(c.trim_end_matches('\n'));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const B: &str = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";

    #[test]
    fn split_and_join_round_trip() {
        let bundle = join([A, B]);
        assert_eq!(bundle, format!("{A}{B}"));
        assert_eq!(split(&bundle), vec![A.to_string(), B.to_string()]);
        assert_eq!(join(split(&bundle).iter().map(String::as_str)), bundle);
    }

    #[test]
    fn split_tolerates_comments_and_missing_newlines() {
        let text = format!("# comment\n{}{}", A.trim_end(), B.trim_end());
        assert_eq!(split(&text), vec![A.to_string(), B.to_string()]);
        assert!(split("no certificates").is_empty());
        assert!(split("-----BEGIN CERTIFICATE-----\nunterminated").is_empty());
    }
}
