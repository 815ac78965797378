//! hostdev: prepare hosts for PCI passthrough and configure mediated devices with
//! KubeVirt's semantics. Data flows one way:
//! cli → context/config → `Inventory::scan(&Sysfs)` → `plan()` (pure) → render | apply.

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod envvars;
pub mod error;
pub mod inventory;
pub mod plan;
pub mod render;
pub mod sysfs;
pub mod vgpu;
