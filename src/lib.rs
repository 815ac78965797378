//! hostdev: prepare hosts for PCI passthrough and configure mediated devices with
//! KubeVirt's semantics. Data flows one way, and the module tree follows it:
//!
//! ```text
//! cli → context/config → host (Inventory::scan) → plan (pure) → render | exec
//! ```
//!
//! `cli` and `config` read the user's intent, `host` reads the machine, `plan` decides,
//! `render` shows, `exec` changes the host through one write helper, and `commands` holds
//! one thin file per subcommand; `outcome` is what a run did. Imports run downward only,
//! in the layer order of docs/architecture.md ("Layers", kept by the test
//! `architecture::imports_run_downward`); it has the map and the invariants. Everything is
//! `pub(crate)` unless `main.rs`, the integration tests or the fuzz targets need it: the
//! library's surface is listed, with reasons, under "Public surface" there (kept by
//! `architecture::the_public_surface_is_listed`).

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod exec;
pub mod host;
pub mod logger;
pub mod outcome;
pub mod plan;
pub mod render;
