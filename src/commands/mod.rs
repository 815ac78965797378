//! One thin file per subcommand: read, decide, render.

pub mod apply;
pub mod bind;
pub mod completions;
pub mod devices;
pub mod env;
pub mod init;
pub mod iommu;
pub mod list_types;
pub mod man;
pub mod plan;
pub mod status;
pub mod teardown;
