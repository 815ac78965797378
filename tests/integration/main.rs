//! The integration tests: the real `hostdev` binary run on the fixture trees under
//! `fixtures/`, one module per area, sharing one test environment (`util`: a host tree, a
//! run of the binary, golden files) and one diff (`diff`). Run them with
//! `cargo test --test integration [FILTER]`; `HOSTDEV_REGEN=1` rewrites the golden files
//! under `tests/golden/`, `completions/` and `man/` for review (see CONTRIBUTING.md).

mod diff;
mod util;

mod apply;
mod architecture;
mod boot;
mod bounds;
mod capture;
mod docs;
mod env;
mod generated;
mod hostile;
mod hostprep;
mod init;
mod nvidia;
mod plan;
mod status;
