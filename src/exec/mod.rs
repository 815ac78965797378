//! Stage 3, changing the host: one [`pipeline`] for every mutating command (show,
//! confirm, lock, re-plan, execute, verify, report), the jobs it runs ([`apply`],
//! [`teardown`], [`bind`]), the preamble ([`mutate`]: root check, signals, lock),
//! confirmation, the one write helper ([`journal`]), the executor of mdev/vGPU writes
//! ([`apply`]) and of vfio bindings ([`vfio`]), the progress bar ([`progress`]) and the
//! boot-time wait for mdev parents ([`wait`]). What a run did is `crate::outcome`; what was
//! changed, `crate::plan::state`.
pub mod apply;
pub(crate) mod bind;
pub(crate) mod confirm;
pub(crate) mod interrupt;
pub mod journal;
pub(crate) mod lock;
pub(crate) mod mutate;
pub(crate) mod pipeline;
pub mod privilege;
pub(crate) mod progress;
pub(crate) mod teardown;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod vfio;
pub(crate) mod wait;
