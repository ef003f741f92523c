//! The pod-template hash: SHA-256 over exactly what a pod reads (its config
//! files and scripts, the certificates and passwords it mounts), so that a
//! change to any of them, and only to them, rolls that workload.

use sha2::{Digest, Sha256};

/// Accumulates named inputs; order-independent (inputs are sorted).
#[derive(Default)]
pub struct PodInputs {
    entries: Vec<(String, Vec<u8>)>,
}

impl PodInputs {
    /// Adds one file the pod reads, named by its source (e.g.
    /// `ConfigMap/cache-redis/redis.conf`).
    pub fn add(&mut self, source: impl Into<String>, content: impl AsRef<[u8]>) {
        self.entries
            .push((source.into(), content.as_ref().to_vec()));
    }

    /// Hex SHA-256 of the inputs, each length-prefixed so that no two
    /// different sets of inputs hash alike.
    pub fn digest(&self) -> String {
        let mut sorted: Vec<&(String, Vec<u8>)> = self.entries.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut h = Sha256::new();
        for (name, content) in sorted {
            h.update((name.len() as u64).to_be_bytes());
            h.update(name.as_bytes());
            h.update((content.len() as u64).to_be_bytes());
            h.update(content);
        }
        let out = h.finalize();
        let mut hex = String::with_capacity(64);
        for b in out.iter() {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_independent_and_content_sensitive() {
        let mut a = PodInputs::default();
        a.add("x", "1");
        a.add("y", "2");
        let mut b = PodInputs::default();
        b.add("y", "2");
        b.add("x", "1");
        assert_eq!(a.digest(), b.digest());
        let mut c = PodInputs::default();
        c.add("x", "1");
        c.add("y", "3");
        assert_ne!(a.digest(), c.digest());
        // Boundaries matter: ("ab","c") differs from ("a","bc").
        let mut d = PodInputs::default();
        d.add("ab", "c");
        let mut e = PodInputs::default();
        e.add("a", "bc");
        assert_ne!(d.digest(), e.digest());
        assert_eq!(a.digest().len(), 64);
    }
}
