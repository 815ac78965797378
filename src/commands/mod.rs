//! One thin file per subcommand: read, decide, render.

pub mod bind;
pub mod iommu;
pub mod list_types;
pub mod plan;
