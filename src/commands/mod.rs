//! One thin file per subcommand: read, decide, render.

pub mod completions;
pub mod env;
pub mod list_types;
pub mod man;
pub mod plan;
