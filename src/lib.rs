//! hostdev: prepare hosts for PCI passthrough and configure mediated devices with
//! KubeVirt's semantics. Data flows one way:
//! cli → context/config → `Inventory::scan(&Sysfs)` → `plan()` (pure) → render | apply.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod confirm;
pub mod context;
pub mod envvars;
pub mod error;
pub mod hostcheck;
pub mod interrupt;
pub mod inventory;
pub mod journal;
pub mod lock;
pub mod mutate;
pub mod plan;
pub mod privilege;
pub mod render;
pub mod saved_plan;
pub mod state;
pub mod sysfs;
pub mod vfio;
pub mod vgpu;
pub mod wait;
