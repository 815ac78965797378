//! Stage 2, deciding: pure functions from (configuration, node, inventory) to what should
//! change ([`mdev`], the KubeVirt round-robin planner, which builds the plan [`document`],
//! with the GPUs' VF counts from [`sriov`])
//! or to what the device plugins would hand out ([`env`]), saved plans read back for
//! `apply --plan` ([`saved`]), and the [`teardown`] and [`bind`] planners, and the state
//! file they read ([`state`]); and the pure parts of `list-types` ([`types`]), `init`
//! ([`init`]), `status` and `devices` ([`status`]) and `--provider nvidia` ([`nvidia`]).
//! The planners do no I/O; [`saved`] and [`state`] read (and `state` writes) their files.
pub(crate) mod bind;
pub(crate) mod document;
pub(crate) mod env;
pub(crate) mod init;
pub(crate) mod mdev;
pub mod nvidia;
pub mod saved;
pub(crate) mod sriov;
pub mod state;
pub(crate) mod status;
pub(crate) mod teardown;
pub(crate) mod types;

pub use document::*;
pub(crate) use mdev::*;
