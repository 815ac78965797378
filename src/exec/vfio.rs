//! Binding PCI devices to vfio-pci and returning them to their original drivers, one job
//! per file: [`bind`] (`bind vfio`'s driver_override + unbind + drivers_probe sequence),
//! [`restore`] (`teardown`'s return to the original driver) and [`hint`] (where a missing
//! VF would come from). Binding and restoring give an outcome per device
//! (`crate::outcome::DeviceResult`); the host-use facts the bind planner needs are
//! `host::usage`'s, the decisions `plan::bind`'s and `plan::teardown`'s.

use std::path::PathBuf;

use crate::host::root::Root;

pub(crate) mod bind;
pub(crate) mod hint;
pub(crate) mod restore;

/// The sysfs directory of PCI device `addr`.
fn dev_dir(fs: &Root, addr: &str) -> PathBuf {
    fs.pci_device(addr)
}

#[cfg(test)]
mod tests;
