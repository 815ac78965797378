//! `bind vfio`'s writes: bind each planned device to vfio-pci (driver_override ←
//! vfio-pci, unbind with a fresh proof, drivers_probe, verify the `driver` link, put it
//! back on a failed verification), each recorded in the state file before its writes.
//! Planning and refusals are `plan::bind`'s; the job around it is `exec::bind`.

use std::path::Path;

use anyhow::Result;

use super::dev_dir;
use crate::exec::apply::Executor;
use crate::exec::journal::{now_rfc3339, Destroy, Journal, WriteError};
use crate::host::inventory::{Inventory, PciDevice, VFIO_PCI};
use crate::host::live::{self, Unheld};
use crate::host::root::Root;
use crate::outcome::{DeviceOutcome, DeviceResult, Halt, Skip};
use crate::plan::state::{State, VfioRecord};

/// Bind the planned devices, one by one, through the executor's journal. Each binding is
/// recorded in the state file *before* its writes (so it is never lost; a record of a
/// device that then stays on its driver is dropped again, and `teardown` drops records of
/// devices not on vfio-pci); the run stops before the next device once a signal arrived
/// or the run cannot be recorded.
pub(crate) fn bind_all(
    exec: &mut Executor,
    inv: &Inventory,
    addresses: &[String],
) -> Vec<DeviceResult> {
    let fs = exec.journal.root.clone();
    let mut results = Vec::new();
    for a in addresses {
        let Some(dev) = inv.pci_device(a) else {
            continue;
        };
        if let Some(why) = exec.should_stop() {
            results.push(DeviceResult::of(
                inv,
                a,
                DeviceOutcome::Skipped(Skip::Stopped(why)),
            ));
            continue;
        }
        let dry_run = exec.journal.dry_run;
        if !dry_run {
            record(exec.state, dev);
            if !exec.save_state() {
                let why = exec.should_stop().unwrap_or(Halt::StateUnwritable);
                results.push(DeviceResult::of(
                    inv,
                    a,
                    DeviceOutcome::Skipped(Skip::Stopped(why)),
                ));
                continue;
            }
        }
        let outcome = match bind_one(exec.journal, &fs, dev) {
            Ok(()) if dry_run => DeviceOutcome::WouldBind,
            Ok(()) => DeviceOutcome::Bound,
            Err(e) => {
                log::error!("binding {a} to vfio-pci failed: {e}");
                if !dry_run && exec.state.drop_vfio(a) {
                    exec.save_state();
                }
                DeviceOutcome::Failed(e)
            }
        };
        results.push(DeviceResult::of(inv, a, outcome));
    }
    results
}

/// Record a binding (replacing an older record of the same device, keeping its original).
pub(crate) fn record(state: &mut State, dev: &PciDevice) {
    if state.vfio.iter().any(|r| r.address == dev.address) {
        return;
    }
    state.vfio.push(VfioRecord {
        address: dev.address.clone(),
        original_driver: dev.driver.clone(),
        original_override: dev.driver_override.clone(),
        bound_at: now_rfc3339(),
        unknown: Default::default(),
    });
    state.vfio.sort_by(|a, b| a.address.cmp(&b.address));
}

/// Bind one device: driver_override ← vfio-pci, unbind from its driver, drivers_probe ←
/// address, then verify the `driver` link. On a failed verification the override is
/// cleared and the device re-probed, so it returns to its own driver.
pub(crate) fn bind_one(journal: &mut Journal, fs: &Root, dev: &PciDevice) -> Result<(), String> {
    let a = &dev.address;
    let dir = dev_dir(fs, a);
    let probe = fs.drivers_probe();
    // The tree may have grown since the plan: unbinding now would destroy it.
    let proof = unbind_proof(fs, dev)?;
    journal
        .write(&dir.join("driver_override"), VFIO_PCI, "vfio.override")
        .map_err(|e| format!("{e}; nothing was changed on {a}"))?;
    if let Some(proof) = proof {
        unbind_or_clear(journal, proof, &dir, a)?;
    }
    let probed = journal.write(&probe, a, "vfio.probe");
    if journal.dry_run {
        return Ok(());
    }
    let now = live::pci_driver(fs, a);
    if probed.is_ok() && now.as_deref() == Some(VFIO_PCI) {
        return Ok(());
    }
    let what = probe_failure(dev, &probed, &now);
    let state = put_back(journal, fs, dev);
    Err(format!("{what}; {state}"))
}

/// The proof that `dev` may be unbound from its driver right now (none when it has no
/// driver), or why not, in words: held open, or carrying VFs or mdevs.
fn unbind_proof(fs: &Root, dev: &PciDevice) -> Result<Option<Unheld>, String> {
    let a = &dev.address;
    if dev.driver.is_none() {
        return Ok(None);
    }
    match live::unbindable(fs, a) {
        Ok(Ok(proof)) => Ok(Some(proof)),
        Ok(Err(live::Busy::Carries(what))) => Err(format!(
            "{a} now carries {what}: unbinding its driver would destroy them; nothing was changed on {a}"
        )),
        Ok(Err(busy)) => Err(format!("{a} is in use by {busy}; nothing was changed on {a}")),
        Err(e) => Err(format!("{e:#}; nothing was changed on {a}")),
    }
}

/// Unbind `a` (sysfs directory `dir`) from its driver; when the unbind fails, clear the
/// driver_override written before it again, and say whether `a` is unchanged.
fn unbind_or_clear(
    journal: &mut Journal,
    proof: Unheld,
    dir: &Path,
    a: &str,
) -> Result<(), String> {
    if let Err(e) = journal.destroy(proof, Destroy::Unbind, &dir.join("driver/unbind"), a) {
        let undo = journal.write(&dir.join("driver_override"), "\n", "vfio.override-clear");
        return Err(format!(
            "{e}; {}",
            match undo {
                Ok(()) => format!("driver_override of {a} cleared again; {a} is unchanged"),
                Err(u) => format!("{u}: driver_override of {a} is still vfio-pci"),
            }
        ));
    }
    Ok(())
}

/// Why `dev` is not on vfio-pci after drivers_probe: the probe write failed, bound no
/// driver (the IOMMU off, when the device has no group), or bound another driver.
fn probe_failure(dev: &PciDevice, probed: &Result<(), WriteError>, now: &Option<String>) -> String {
    let a = &dev.address;
    match (probed, now) {
        (Err(e), _) => format!("{e}"),
        (Ok(()), None) => format!(
            "drivers_probe of {a} succeeded but bound no driver{}",
            if dev.iommu_group.is_none() {
                " ({a} has no IOMMU group: the IOMMU is off; see `hostdev iommu check`)"
            } else {
                ""
            }
        ),
        (Ok(()), Some(other)) => {
            format!("after drivers_probe {a} is bound to {other}, not vfio-pci")
        }
    }
}

/// After a failed bind, put `dev` back: clear the override and re-probe (the original
/// driver matches again) unless it is on a driver already; says where it ended up.
fn put_back(journal: &mut Journal, fs: &Root, dev: &PciDevice) -> String {
    let a = &dev.address;
    let dir = dev_dir(fs, a);
    let probe = fs.drivers_probe();
    let back = journal
        .write(&dir.join("driver_override"), "\n", "vfio.override-clear")
        .and_then(|_| {
            if live::pci_driver(fs, a).is_some() {
                Ok(())
            } else {
                journal.write(&probe, a, "vfio.probe")
            }
        });
    let after = live::pci_driver(fs, a);
    match (back, &after) {
        (Ok(()), d) if d == &dev.driver => {
            format!("{a} is back on {}", d.as_deref().unwrap_or("no driver"))
        }
        (Ok(()), d) => format!(
            "driver_override cleared; {a} is now on {} (was {})",
            d.as_deref().unwrap_or("no driver"),
            dev.driver.as_deref().unwrap_or("no driver")
        ),
        (Err(e), _) => format!(
            "returning it failed too: {e}; {a} is on {}",
            after.as_deref().unwrap_or("no driver")
        ),
    }
}
