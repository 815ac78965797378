//! Stage 2, deciding: pure functions from (configuration, node, inventory) to what should
//! change ([`mdev`], the KubeVirt round-robin planner) or to what the device plugins would
//! hand out ([`env`]), and saved plans read back for `apply --plan` ([`saved`]). No I/O.
pub mod env;
pub mod mdev;
pub mod nvidia;
pub mod saved;
pub mod status;

pub use mdev::*;
