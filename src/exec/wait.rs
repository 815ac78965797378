//! Waiting for mdev parents at boot (`apply --wait-for-parents SECONDS`): the vendor driver
//! (NVIDIA's vGPU manager, `sriov-manage`, i915 GVT-g) registers mdev parents some time
//! after the module loads, and `apply` must not plan against a half-registered host.
//!
//! The host is ready when both hold:
//! 1. no NVIDIA GPU is pending: every PCI device bound to `nvidia` with a display class
//!    (`03xx`) that is not itself a virtual function either offers mdev types, or has
//!    virtual functions bound to `nvidia` that all offer mdev types or carry NVIDIA's
//!    vendor-specific VFIO directory (`nvidia/`, no mdevs by design);
//! 2. some mdev parent offers a desired type (by ID, or by name after KubeVirt's
//!    normalization), or at least one NVIDIA GPU is settled (waiting would not make a
//!    settled driver offer other types; `plan` then reports the parents as unsupported).
//!
//! The check is repeated every `poll` up to `timeout`; on timeout `apply` continues with
//! the parents that exist and warns, naming what it was waiting for. SIGINT, SIGTERM or
//! SIGHUP ends the wait within a fraction of a second with exit 1 (nothing was changed).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::config::model::normalize;
use crate::exec::interrupt;
use crate::host::inventory::{Inventory, PciDevice, Scope};
use crate::host::root::Root;
use crate::plan::sriov::takes_vfs;

/// The default poll interval.
pub(crate) const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitOutcome {
    /// Nothing desired: nothing to wait for.
    NotNeeded,
    /// The host was ready after `waited` (zero when it was at the first look).
    Ready {
        waited: Duration,
        /// Parents offering a desired type.
        offering: Vec<String>,
    },
    /// Still not ready after `waited`.
    TimedOut {
        waited: Duration,
        /// NVIDIA GPUs still without mdev types.
        pending: Vec<String>,
        /// Parents offering a desired type (may be some, if only condition 1 failed).
        offering: Vec<String>,
    },
}

impl WaitOutcome {
    /// A one-line account for stderr (a warning on timeout, a note otherwise).
    pub(crate) fn message(&self, desired: &[String]) -> String {
        match self {
            WaitOutcome::NotNeeded => "no mdev types desired: not waiting for mdev parents".into(),
            WaitOutcome::Ready { waited, offering } => format!(
                "mdev parents ready after {:.1} s ({} offering a desired type)",
                waited.as_secs_f64(),
                offering.len()
            ),
            WaitOutcome::TimedOut {
                waited,
                pending,
                offering,
            } => {
                let mut why = Vec::new();
                if !pending.is_empty() {
                    why.push(format!(
                        "NVIDIA GPU(s) bound to nvidia without mdev types yet: {} (is nvidia-vgpu-mgr running? for SR-IOV GPUs, were the VFs enabled with sriov-manage?)",
                        pending.join(", ")
                    ));
                }
                if offering.is_empty() {
                    why.push(format!(
                        "no mdev parent offers any of the desired types [{}]",
                        desired.join(", ")
                    ));
                }
                format!(
                    "mdev parents not ready after {:.1} s: {}; continuing with the {} parent(s) that offer a desired type",
                    waited.as_secs_f64(),
                    why.join("; "),
                    offering.len()
                )
            }
        }
    }
}

/// One look at the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Parents offering at least one desired type, ascending.
    pub(crate) offering: Vec<String>,
    /// NVIDIA GPUs bound to `nvidia` that offer no types yet (condition 1), ascending.
    pub(crate) pending: Vec<String>,
    /// NVIDIA GPUs whose types are registered (or that use vendor-specific VFIO).
    pub(crate) settled: Vec<String>,
}

impl Probe {
    pub(crate) fn ready(&self) -> bool {
        self.pending.is_empty() && (!self.offering.is_empty() || !self.settled.is_empty())
    }
}

/// Poll `probe` every `poll` until the host is ready or `timeout` has passed.
pub(crate) fn wait_for_parents(
    fs: &Root,
    desired: &[String],
    enables_vfs: bool,
    timeout: Duration,
    poll: Duration,
) -> Result<WaitOutcome> {
    if desired.is_empty() {
        return Ok(WaitOutcome::NotNeeded);
    }
    // Also in a dry run, which takes no lock: a signal ends the wait, not the process.
    interrupt::install()?;
    let start = Instant::now();
    let mut slept = false;
    loop {
        // a device appearing while it is read (VFs being enabled) fails one look, not the wait
        let p = match probe(fs, desired, enables_vfs) {
            Ok(p) => p,
            Err(e) if start.elapsed() < timeout => {
                log::debug!("mdev parents not readable yet: {e:#}");
                Probe::default()
            }
            Err(e) => return Err(e),
        };
        let waited = start.elapsed();
        if p.ready() {
            return Ok(WaitOutcome::Ready {
                // Ready at the first look: no wait at all.
                waited: if slept { waited } else { Duration::ZERO },
                offering: p.offering,
            });
        }
        if waited >= timeout {
            return Ok(WaitOutcome::TimedOut {
                waited,
                pending: p.pending,
                offering: p.offering,
            });
        }
        if !interrupt::sleep(poll.min(timeout - waited)) {
            return Err(interrupt::interrupted_while(&format!(
                "waiting for mdev parents ({:.1} s of {} s)",
                start.elapsed().as_secs_f64(),
                timeout.as_secs()
            )));
        }
        slept = true;
    }
}

/// Read the parents and the NVIDIA GPUs once, through the inventory's [`Scope::Offers`]
/// view (type IDs and the names needed to match, no counts, no `/proc`). With
/// `enables_vfs` (the configuration's `hostdev.virtualFunctions`), a GPU whose VFs hostdev
/// will enable is not waited for here: `apply` enables them and waits for their types.
pub(crate) fn probe(fs: &Root, desired: &[String], enables_vfs: bool) -> Result<Probe> {
    let inv = Inventory::scan_for(
        fs,
        &Scope::Offers {
            desired: desired.to_vec(),
        },
    )?;
    let wanted: Vec<String> = desired.iter().map(|d| normalize(d)).collect();
    let parents: BTreeSet<&str> = inv.parents.iter().map(|p| p.name.as_str()).collect();
    let mut out = Probe::default();
    for p in &inv.parents {
        let offers = p.types.iter().any(|t| {
            desired.contains(&t.id)
                || t.name
                    .as_deref()
                    .is_some_and(|n| wanted.contains(&normalize(n)))
        });
        if offers {
            out.offering.push(p.name.clone());
        }
    }
    for d in &inv.pci {
        if !is_nvidia_display(d) || d.physfn.is_some() {
            continue;
        }
        let enabled_later = enables_vfs && takes_vfs(d) && d.sriov_numvfs.unwrap_or(0) == 0;
        if enabled_later || nvidia_settled(&inv, d, &parents) {
            out.settled.push(d.address.clone());
        } else {
            out.pending.push(d.address.clone());
        }
    }
    Ok(out)
}

/// Bound to `nvidia` with a display class (`0x03xxxx`).
fn is_nvidia_display(d: &PciDevice) -> bool {
    d.driver.as_deref() == Some("nvidia") && d.class.starts_with("03")
}

/// The GPU offers types itself, or its VFs bound to `nvidia` all do (or are vendor-VFIO VFs).
fn nvidia_settled(inv: &Inventory, d: &PciDevice, parents: &BTreeSet<&str>) -> bool {
    if parents.contains(d.address.as_str()) {
        return true;
    }
    let mut nvidia_vfs = 0;
    for vf in &d.virtfns {
        let Some(v) = inv.pci_device(vf) else {
            continue;
        };
        if v.driver.as_deref() != Some("nvidia") {
            continue;
        }
        nvidia_vfs += 1;
        if !parents.contains(vf.as_str()) && !v.nvidia_dir {
            return false;
        }
    }
    nvidia_vfs > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    /// A minimal kernel-shaped tree: PCI devices with class and driver, mdev parents
    /// registered under sys/class/mdev_bus with their types.
    struct Host {
        dir: tempfile::TempDir,
    }

    impl Host {
        fn new() -> Host {
            let h = Host {
                dir: tempfile::tempdir().expect("tempdir"),
            };
            for d in [
                "sys/bus/pci/devices",
                "sys/bus/pci/drivers/nvidia",
                "sys/bus/pci/drivers/i915",
                "sys/class/mdev_bus",
            ] {
                fs::create_dir_all(h.root().join(d)).expect("mkdir");
            }
            h
        }

        fn root(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }

        fn sysfs(&self) -> Root {
            Root::new(self.root())
        }

        fn dev_dir(&self, addr: &str) -> PathBuf {
            self.root().join("sys/devices/pci0000:00").join(addr)
        }

        fn pci(&self, addr: &str, class: &str, driver: &str) {
            let dir = self.dev_dir(addr);
            fs::create_dir_all(&dir).expect("mkdir");
            fs::write(dir.join("class"), format!("{class}\n")).expect("class");
            fs::write(dir.join("vendor"), "0x10de\n").expect("vendor");
            fs::write(dir.join("device"), "0x2235\n").expect("device");
            symlink(
                format!("../../../bus/pci/drivers/{driver}"),
                dir.join("driver"),
            )
            .expect("driver link");
            symlink(
                format!("../../../devices/pci0000:00/{addr}"),
                self.root().join("sys/bus/pci/devices").join(addr),
            )
            .expect("device link");
        }

        fn vf(&self, pf: &str, n: u32, vf: &str, driver: &str) {
            self.pci(vf, "0x030200", driver);
            symlink(format!("../{pf}"), self.dev_dir(vf).join("physfn")).expect("physfn");
            symlink(
                format!("../{vf}"),
                self.dev_dir(pf).join(format!("virtfn{n}")),
            )
            .expect("virtfn");
        }

        /// Register `addr` as an mdev parent offering `types` (id, name).
        fn parent(&self, addr: &str, types: &[(&str, &str)]) {
            let types_dir = self.dev_dir(addr).join("mdev_supported_types");
            for (id, name) in types {
                fs::create_dir_all(types_dir.join(id)).expect("mkdir type");
                fs::write(types_dir.join(id).join("name"), format!("{name}\n")).expect("name");
            }
            symlink(
                format!("../../devices/pci0000:00/{addr}"),
                self.root().join("sys/class/mdev_bus").join(addr),
            )
            .expect("mdev_bus link");
        }
    }

    fn desired(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const T4: &[(&str, &str)] = &[("nvidia-222", "GRID T4-1B"), ("nvidia-228", "GRID T4-8Q")];

    #[test]
    fn nothing_desired_needs_no_wait() {
        let h = Host::new();
        let out =
            wait_for_parents(&h.sysfs(), &[], false, Duration::from_secs(5), POLL).expect("wait");
        assert_eq!(out, WaitOutcome::NotNeeded);
    }

    #[test]
    fn ready_at_once_when_parents_exist() {
        let h = Host::new();
        h.pci("0000:3b:00.0", "0x030200", "nvidia");
        h.parent("0000:3b:00.0", T4);
        let start = Instant::now();
        let out = wait_for_parents(
            &h.sysfs(),
            &desired(&["nvidia-228"]),
            false,
            Duration::from_secs(5),
            Duration::from_millis(20),
        )
        .expect("wait");
        assert!(start.elapsed() < Duration::from_secs(1));
        match out {
            WaitOutcome::Ready { waited, offering } => {
                assert_eq!(waited, Duration::ZERO);
                assert_eq!(offering, ["0000:3b:00.0"]);
            }
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn waits_until_every_nvidia_gpu_has_types() {
        let h = Host::new();
        h.pci("0000:3b:00.0", "0x030200", "nvidia");
        h.pci("0000:5e:00.0", "0x030200", "nvidia");
        h.pci("0000:00:1f.3", "0x040300", "nvidia"); // not a display device: ignored
        h.parent("0000:3b:00.0", T4);
        let root = h.root();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            // The vendor driver registers the second card.
            let types_dir = root.join("sys/devices/pci0000:00/0000:5e:00.0/mdev_supported_types");
            fs::create_dir_all(types_dir.join("nvidia-222")).expect("mkdir");
            fs::write(types_dir.join("nvidia-222/name"), "GRID T4-1B\n").expect("name");
            symlink(
                "../../devices/pci0000:00/0000:5e:00.0",
                root.join("sys/class/mdev_bus/0000:5e:00.0"),
            )
            .expect("link");
        });
        let out = wait_for_parents(
            &h.sysfs(),
            &desired(&["GRID T4-1B"]),
            false,
            Duration::from_secs(10),
            Duration::from_millis(20),
        )
        .expect("wait");
        late.join().expect("thread");
        match out {
            WaitOutcome::Ready { waited, offering } => {
                assert!(waited >= Duration::from_millis(300), "{waited:?}");
                assert!(waited < Duration::from_secs(5), "{waited:?}");
                // Matched by normalized name.
                assert_eq!(offering, ["0000:3b:00.0", "0000:5e:00.0"]);
            }
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn times_out_naming_the_pending_gpu_and_continues() {
        let h = Host::new();
        h.pci("0000:3b:00.0", "0x030200", "nvidia");
        h.pci("0000:5e:00.0", "0x030200", "nvidia");
        h.parent("0000:3b:00.0", T4);
        let d = desired(&["nvidia-222"]);
        let out = wait_for_parents(
            &h.sysfs(),
            &d,
            false,
            Duration::from_millis(200),
            Duration::from_millis(20),
        )
        .expect("wait");
        let WaitOutcome::TimedOut {
            waited,
            ref pending,
            ref offering,
        } = out
        else {
            panic!("expected a timeout: {out:?}");
        };
        assert!(waited >= Duration::from_millis(200));
        assert_eq!(pending, &["0000:5e:00.0"]);
        assert_eq!(offering, &["0000:3b:00.0"]);
        let msg = out.message(&d);
        assert!(msg.starts_with("mdev parents not ready after "), "{msg}");
        assert!(
            msg.contains(" s: NVIDIA GPU(s) bound to nvidia without mdev types yet: 0000:5e:00.0 (is nvidia-vgpu-mgr running?"),
            "{msg}"
        );
        assert!(
            msg.ends_with("continuing with the 1 parent(s) that offer a desired type"),
            "{msg}"
        );
    }

    #[test]
    fn sriov_gpu_waits_for_its_vfs() {
        let h = Host::new();
        h.pci("0000:41:00.0", "0x030200", "nvidia");
        let d = desired(&["nvidia-558"]);
        let a40: &[(&str, &str)] = &[("nvidia-558", "NVIDIA A40-8Q")];
        // No types on the PF and no VFs yet: pending (sriov-manage has not run).
        let p = probe(&h.sysfs(), &d, false).expect("probe");
        assert_eq!(p.pending, ["0000:41:00.0"]);
        assert!(!p.ready());
        // VFs enabled, one registered, one still probing: still pending.
        h.vf("0000:41:00.0", 0, "0000:41:00.4", "nvidia");
        h.vf("0000:41:00.0", 1, "0000:41:00.5", "nvidia");
        h.parent("0000:41:00.4", a40);
        let p = probe(&h.sysfs(), &d, false).expect("probe");
        assert_eq!(p.pending, ["0000:41:00.0"]);
        assert_eq!(p.offering, ["0000:41:00.4"]);
        // All VFs registered: ready (the VFs themselves are not counted as GPUs).
        h.parent("0000:41:00.5", a40);
        let p = probe(&h.sysfs(), &d, false).expect("probe");
        assert_eq!(p.pending, Vec::<String>::new());
        assert_eq!(p.settled, ["0000:41:00.0"]);
        assert!(p.ready());
    }

    #[test]
    fn vendor_specific_vfio_gpu_is_settled_without_mdevs() {
        let h = Host::new();
        h.pci("0000:c1:00.0", "0x030200", "nvidia");
        h.vf("0000:c1:00.0", 0, "0000:c1:00.4", "nvidia");
        fs::create_dir_all(h.dev_dir("0000:c1:00.4").join("nvidia")).expect("mkdir");
        let p = probe(&h.sysfs(), &desired(&["nvidia-222"]), false).expect("probe");
        assert_eq!(p.settled, ["0000:c1:00.0"]);
        assert!(p.offering.is_empty());
        assert!(p.ready(), "waiting would not make mdevs appear: {p:?}");
    }

    #[test]
    fn without_nvidia_waits_for_a_parent_offering_a_desired_type() {
        let h = Host::new();
        h.pci("0000:00:02.0", "0x030000", "i915");
        let d = desired(&["i915-GVTg_V5_4"]);
        assert!(!probe(&h.sysfs(), &d, false).expect("probe").ready());
        h.parent("0000:00:02.0", &[("i915-GVTg_V5_8", "")]);
        assert!(
            !probe(&h.sysfs(), &d, false).expect("probe").ready(),
            "only an undesired type"
        );
        let types = h.dev_dir("0000:00:02.0").join("mdev_supported_types");
        fs::create_dir_all(types.join("i915-GVTg_V5_4")).expect("mkdir");
        assert!(probe(&h.sysfs(), &d, false).expect("probe").ready());
    }

    #[test]
    fn fixtures_are_ready() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for (name, want) in [
            ("t4-3x", "nvidia-222"),
            ("a40-sriov", "nvidia-558"),
            ("gvtg", "i915-GVTg_V5_4"),
            ("env-vendor-vfio", "nvidia-222"),
        ] {
            let p = probe(&Root::new(repo.join(name)), &desired(&[want]), false).expect("probe");
            assert!(p.ready(), "{name}: {p:?}");
        }
    }

    /// Issue 23 item 5: at boot with `hostdev.virtualFunctions`, an A40 with no VF enabled
    /// is not waited for (hostdev enables its VFs and waits for their types itself); without
    /// the extension it is, as before (its VFs would have to come from sriov-manage).
    #[test]
    fn gpus_whose_vfs_hostdev_enables_are_not_waited_for() {
        let a40 = Root::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/a40-novfs"));
        let d = desired(&["nvidia-558"]);
        let before = probe(&a40, &d, false).expect("probe");
        assert_eq!(before.pending, vec!["0000:41:00.0".to_string()]);
        let with = probe(&a40, &d, true).expect("probe");
        assert!(with.pending.is_empty() && with.ready(), "{with:?}");
    }
}
