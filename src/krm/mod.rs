//! KRM function I/O: the `config.kubernetes.io/v1` `ResourceList` read from
//! stdin and written to stdout, and the `results` it carries.
//!
//! Items are kept as untyped YAML values so that foreign items pass through
//! unchanged (field order, tags and the orchestrator's annotations).

mod io;
pub mod passthrough;
mod results;
pub mod tags;
pub mod yaml;

pub use io::*;
pub use results::*;
