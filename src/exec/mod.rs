//! Stage 3, changing the host: one [`pipeline`] for every mutating command (show,
//! confirm, lock, re-plan, execute, verify, report), the jobs it runs ([`apply`],
//! [`teardown`], [`bind`]), the preamble ([`mutate`]: root check, signals, lock),
//! confirmation, the one write helper ([`journal`]), the executor of mdev/vGPU writes
//! ([`apply`]) and of vfio bindings ([`vfio`]), the progress bar ([`progress`]) and the
//! boot-time wait for mdev parents ([`wait`]). What a run did is `crate::outcome`; what was
//! changed, `crate::plan::state`.
pub mod apply;
pub mod bind;
pub mod confirm;
pub mod interrupt;
pub mod journal;
pub mod lock;
pub mod mutate;
pub mod pipeline;
pub mod privilege;
pub mod progress;
pub mod teardown;
pub mod vfio;
pub mod wait;
