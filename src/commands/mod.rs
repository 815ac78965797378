//! One thin file per subcommand: read, decide, render.

pub mod apply;
pub mod bind;
pub mod completions;
pub mod env;
pub mod iommu;
pub mod list_types;
pub mod man;
pub mod plan;
pub mod teardown;
