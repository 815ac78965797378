//! Stage 3, changing the host: the preamble of every mutating command ([`mutate`]: root
//! check, signals, lock), confirmation, the one write helper ([`journal`]), the executors
//! of mdev plans ([`apply`]) and of vfio bindings ([`vfio`]), what was changed ([`state`])
//! and the boot-time wait for mdev parents ([`wait`]).
pub mod apply;
pub mod confirm;
pub mod interrupt;
pub mod journal;
pub mod lock;
pub mod mutate;
pub mod privilege;
pub mod state;
pub mod vfio;
pub mod wait;
