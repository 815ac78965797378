//! Stage 2, deciding: pure functions from (configuration, node, inventory) to what should
//! change ([`mdev`], the KubeVirt round-robin planner) or to what the device plugins would
//! hand out ([`env`]), saved plans read back for `apply --plan` ([`saved`]), and the
//! [`teardown`] and [`bind`] planners. No I/O.
pub mod bind;
pub mod env;
pub mod init;
pub mod mdev;
pub mod nvidia;
pub mod saved;
pub mod status;
pub mod teardown;

pub use mdev::*;
