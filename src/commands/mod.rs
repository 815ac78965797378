//! One thin file per subcommand: read, decide, render.

pub mod env;
pub mod list_types;
pub mod plan;
