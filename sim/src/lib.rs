//! hostdev-sim: a simulated Linux host for hostdev's tests and for newcomers. A fixture tree
//! (fixtures/, or one `hostdev capture` made) is served through FUSE
//! ([`serve`]); every write under `sys/` is answered by one model of the kernel
//! ([`model::Model`]), the same model hostdev's unit tests use in process. The model is
//! checked against the real kernel: `tests/model/*.yaml` ([`scenario`]) runs against the
//! simulated host in CI and against Debian's 6.1 and 6.12 kernels in the VM suite.

pub mod fs;
mod mdev;
pub mod model;
mod nvidia;
mod pci;
pub mod scenario;
pub mod serve;
pub mod tree;

pub use model::{Model, Outcome, Refusal};
