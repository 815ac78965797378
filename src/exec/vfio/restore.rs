//! `teardown`'s vfio writes: return each recorded device the teardown planner chose to
//! its original driver (driver_override restored, unbind from vfio-pci with a fresh
//! proof, drivers_probe, verify), and drop the records of devices returned, gone or
//! moved. The choice is `plan::teardown`'s; the job around it is `exec::teardown`.

use super::dev_dir;
use crate::exec::apply::Executor;
use crate::exec::journal::{Destroy, Journal};
use crate::host::inventory::{Inventory, VFIO_PCI};
use crate::host::live;
use crate::host::root::Root;
use crate::outcome::{DeviceOutcome, DeviceResult, Skip};
use crate::plan::state::VfioRecord;
use crate::plan::teardown::Restore;

/// The vfio part of `teardown`: every recorded device the plan returns goes back to its
/// original driver; records of devices gone or moved are dropped; devices in use are
/// skipped. One result per record; the state is written once at the end.
pub(crate) fn restore_all(
    exec: &mut Executor,
    inv: &Inventory,
    plan: &[Restore],
) -> Vec<DeviceResult> {
    let fs = exec.journal.root.clone();
    let dry_run = exec.journal.dry_run;
    let mut results = Vec::new();
    let mut changed = false;
    for r in plan {
        let rec = r.record();
        let outcome = match r {
            Restore::Gone(_) => DeviceOutcome::Skipped(Skip::Gone),
            Restore::Moved(_, d) => DeviceOutcome::Skipped(Skip::Moved(d.clone())),
            Restore::InUse(_, who) => DeviceOutcome::Skipped(Skip::InUse(who.clone())),
            Restore::Return(_) => match exec.should_stop() {
                Some(why) => DeviceOutcome::Skipped(Skip::Stopped(why)),
                // re-checked right before the unbind (restore_one's proof): a VM may have
                // opened it since the plan
                None => match restore_one(exec.journal, &fs, rec) {
                    Ok(()) if dry_run => DeviceOutcome::WouldRestore,
                    Ok(()) => DeviceOutcome::Restored,
                    Err(RestoreError::InUse(who)) => DeviceOutcome::Skipped(Skip::InUse(who)),
                    Err(RestoreError::Failed(e)) => DeviceOutcome::Failed(e),
                },
            },
        };
        if !dry_run
            && matches!(
                outcome,
                DeviceOutcome::Restored
                    | DeviceOutcome::Skipped(Skip::Gone)
                    | DeviceOutcome::Skipped(Skip::Moved(_))
            )
        {
            changed |= exec.state.drop_vfio(&rec.address);
        }
        results.push(DeviceResult {
            address: rec.address.clone(),
            vendor_device: inv
                .pci_device(&rec.address)
                .map(|d| d.vendor_device())
                .unwrap_or_default(),
            original_driver: rec.original_driver.clone(),
            outcome,
        });
    }
    if changed {
        exec.save_state();
    }
    results
}

/// Why a device was not returned to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RestoreError {
    /// Held open (by whom) right before the unbind: left on vfio-pci, nothing written.
    InUse(String),
    /// A write failed, or the device did not end up on its driver.
    Failed(String),
}

/// Return one recorded device to its original driver: clear `driver_override` (or restore
/// the original one), unbind from vfio-pci, drivers_probe, verify.
pub(crate) fn restore_one(
    journal: &mut Journal,
    fs: &Root,
    rec: &VfioRecord,
) -> Result<(), RestoreError> {
    let a = &rec.address;
    let dir = dev_dir(fs, a);
    let probe = fs.drivers_probe();
    let ov = rec.original_override.clone().unwrap_or_else(|| "\n".into());
    // held since the plan (a VM started): it stays on vfio-pci, untouched
    let proof = if live::pci_driver(fs, a).as_deref() == Some(VFIO_PCI) {
        // vfio-pci can enable SR-IOV too: the same proof as any unbind
        match live::unbindable(fs, a).map_err(|e| RestoreError::Failed(format!("{e:#}")))? {
            Ok(proof) => Some(proof),
            Err(live::Busy::Carries(what)) => {
                return Err(RestoreError::Failed(format!(
                    "{a} now carries {what}: unbinding it from vfio-pci would destroy them; left on vfio-pci"
                )))
            }
            Err(busy) => return Err(RestoreError::InUse(busy.to_string())),
        }
    } else {
        None
    };
    journal
        .write(&dir.join("driver_override"), &ov, "vfio.override-restore")
        .map_err(|e| RestoreError::Failed(e.to_string()))?;
    if let Some(proof) = proof {
        journal
            .destroy(proof, Destroy::Unbind, &dir.join("driver/unbind"), a)
            .map_err(|e| RestoreError::Failed(e.to_string()))?;
    }
    journal
        .write(&probe, a, "vfio.probe")
        .map_err(|e| RestoreError::Failed(e.to_string()))?;
    if journal.dry_run {
        return Ok(());
    }
    let now = live::pci_driver(fs, a);
    if now == rec.original_driver {
        Ok(())
    } else {
        Err(RestoreError::Failed(format!(
            "after drivers_probe {a} is on {}, expected {}",
            now.as_deref().unwrap_or("no driver"),
            rec.original_driver.as_deref().unwrap_or("no driver")
        )))
    }
}
