//! KRM function I/O: the `config.kubernetes.io/v1` `ResourceList` read from
//! stdin and written to stdout, and the `results` it carries.
//!
//! Items are kept as untyped YAML values so that foreign items pass through
//! unchanged (field order, tags and the orchestrator's annotations).

mod block_scalar;
mod input;
mod lexer;
mod limits;
pub mod passthrough;
mod resource_list;
mod results;
pub mod tags;
pub mod yaml;

pub use input::*;
pub use lexer::check_flow_depth;
pub use limits::*;
pub use resource_list::*;
pub use results::*;
