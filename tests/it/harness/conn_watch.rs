//! [`ConnectionWatch`]: which addresses open TCP connections to a set of
//! pods, counted by the kernel (nftables in each pod's network namespace),
//! so even a connection that lives a millisecond is seen. A test proves
//! with it that one deployment never contacts another (e.g. a migrated
//! topology and its old source after the migration section is removed).
//!
//! ```text
//! let watch = ConnectionWatch::start(&c, &old_pods)?;
//! // ... the operation under test ...
//! let seen = watch.sources(&c)?;            // pod -> addresses that connected
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use super::cluster::Cluster;
use super::{run_with_input, which};

const TABLE: &str = "e2e_watch";

/// nftables in each watched pod's namespace: a set of the source
/// addresses of every TCP SYN (new connection) the pod receives.
pub struct ConnectionWatch {
    pods: Vec<String>,
}

fn nft(netns: &str, input: &str) -> Result<String> {
    let out = run_with_input(
        Command::new("ip").args(["netns", "exec", netns, "nft", "-f", "-"]),
        Some(input.as_bytes()),
        Duration::from_secs(10),
    )?;
    if !out.status.success() {
        bail!(
            "nft in {netns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl ConnectionWatch {
    /// Starts counting, from now on, the connections to each of `pods`
    /// (their network namespaces: every container of the pod).
    pub fn start(c: &Cluster, pods: &[String]) -> Result<ConnectionWatch> {
        if which("nft").is_none() {
            bail!("nft (Debian's nftables) is missing: install it with .ci/install.d/20-e2e.sh");
        }
        let rules = format!(
            "table inet {TABLE} {{\n  set seen {{\n    type ipv4_addr\n    size 4096\n    flags dynamic\n  }}\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    tcp flags & (syn | ack) == syn update @seen {{ ip saddr }}\n  }}\n}}\n"
        );
        for p in pods {
            nft(&c.pod(p).netns, &rules)?;
        }
        Ok(ConnectionWatch {
            pods: pods.to_vec(),
        })
    }

    /// Every address that opened a TCP connection to each watched pod
    /// since [`ConnectionWatch::start`] (loopback included).
    pub fn sources(&self, c: &Cluster) -> Result<BTreeMap<String, BTreeSet<Ipv4Addr>>> {
        let mut out = BTreeMap::new();
        for p in &self.pods {
            let listing = nft(&c.pod(p).netns, &format!("list set inet {TABLE} seen\n"))?;
            let addrs = listing
                .split(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                .filter_map(|w| w.parse::<Ipv4Addr>().ok())
                .collect();
            out.insert(p.clone(), addrs);
        }
        Ok(out)
    }
}
