//! PCI driver binding and SR-IOV, as drivers/base and drivers/pci answer them.
//!
//! - `driver_override` ← NAME sets it (reads `NAME`), ← "" or "\n" clears it (reads
//!   `(null)`).
//! - `drivers_probe` ← ADDR: ENODEV for no such device; a bound device stays as it is;
//!   otherwise it binds to its `driver_override` when set, else to the driver whose ID table
//!   matches (the driver it had when the model first saw it). A probe that fails (vfio-pci
//!   on a device without an IOMMU group) leaves it unbound, and the write still succeeds.
//! - `drivers/D/bind` ← ADDR: ENODEV unless D matches (override, or its own driver);
//!   EBUSY when bound; EINVAL when vfio-pci's probe fails.
//! - `drivers/D/unbind` ← ADDR: ENODEV unless bound to D; blocks while the device (or, for a
//!   PF, one of its VFs, or one of its mdevs) is open. An mdev parent's mdevs and types go
//!   with its driver (and come back when it binds again); a PF's VFs go with it.
//! - A vfio driver registers the device: `vfio-dev/vfioN`, `/dev/vfio/<group>`,
//!   `/dev/vfio/devices/vfioN`.
//! - `sriov_numvfs` ← N: EINVAL for no number, ERANGE above `sriov_totalvfs`, nothing for
//!   the current count, ENOENT without a driver or with one that cannot (an NVIDIA GPU whose
//!   vGPUs are on the PF: the T4), EBUSY to change a non-zero count. ← 0 removes the VFs:
//!   NVIDIA refuses (EBUSY) while one carries a vGPU or is open; other drivers block while
//!   one is open. VFs appear at `sriov_offset`/`sriov_stride` with their links and IOMMU
//!   groups, bound to their VF driver (igb's VFs to igbvf, ixgbe's to ixgbevf, i40e's and
//!   ice's to iavf, NVIDIA's to nvidia; `.hostdev-sim/vf-driver`: `PF driver` lines) when `sriov_drivers_autoprobe` is 1, with what
//!   `.hostdev-sim/vf-template/<PF>/` holds (their vGPU types), which the model keeps from
//!   the VFs it removes.

use std::path::{Path, PathBuf};

use crate::mdev::last;
use crate::model::{errno, Model, Outcome, Refusal};

const DEVICES: &str = "sys/bus/pci/devices";
const DRIVERS: &str = "sys/bus/pci/drivers";

impl Model {
    pub(crate) fn set_override(&self, dev: &Path, value: &str) -> Outcome {
        let v = value.trim_end_matches('\n');
        let shown = if v.is_empty() { "(null)" } else { v };
        Ok(self
            .t
            .put(&dev.join("driver_override"), &format!("{shown}\n"))?)
    }

    fn pci_dev(&self, addr: &str) -> Result<PathBuf, Refusal> {
        if addr.is_empty() || addr.contains('/') || addr.starts_with('.') {
            return Err(errno(libc::ENODEV));
        }
        let link = Path::new(DEVICES).join(addr);
        if !self.t.exists(&link) {
            return Err(errno(libc::ENODEV));
        }
        Ok(self.t.resolve(&link)?)
    }

    fn override_of(&self, dev: &Path) -> Option<String> {
        self.t
            .read(&dev.join("driver_override"))
            .filter(|o| !o.is_empty() && o != "(null)")
    }

    /// The driver whose ID table matches `addr`: the one it had when the model first saw
    /// it (remembered).
    pub(crate) fn native(&self, addr: &str, dev: &Path) -> Option<String> {
        match self.memo_get("native", addr) {
            Some(d) if d == "-" => None,
            Some(d) => Some(d),
            None => {
                let d = self.t.link_name(&dev.join("driver"));
                let _ = self.memo_set("native", addr, d.as_deref().unwrap_or("-"));
                d
            }
        }
    }

    pub(crate) fn probe(&self, addr: &str) -> Outcome {
        let dev = self.pci_dev(addr)?;
        self.native(addr, &dev);
        if self.t.exists(&dev.join("driver")) {
            return Ok(());
        }
        let target = match self.override_of(&dev) {
            Some(o) => Some(o),
            None => self.native(addr, &dev),
        };
        if let Some(d) = target {
            if self.t.exists(&Path::new(DRIVERS).join(&d)) {
                // a probe that fails leaves the device unbound; the write succeeds
                let _ = self.attach(&dev, addr, &d);
            }
        }
        Ok(())
    }

    pub(crate) fn bind(&self, driver_dir: &Path, addr: &str) -> Outcome {
        let driver = last(driver_dir);
        let dev = self.pci_dev(addr)?;
        let matches = match self.override_of(&dev) {
            Some(o) => o == driver,
            None => self.native(addr, &dev).as_deref() == Some(driver.as_str()),
        };
        if !matches {
            return Err(errno(libc::ENODEV));
        }
        if self.t.exists(&dev.join("driver")) {
            return Err(errno(libc::EBUSY));
        }
        self.attach(&dev, addr, &driver)
    }

    /// Bind `dev` to `driver` (its probe): vfio-pci registers it as a VFIO device and fails
    /// (EINVAL) without an IOMMU group; the native driver brings back its mdev types.
    fn attach(&self, dev: &Path, addr: &str, driver: &str) -> Outcome {
        let vfio = driver == "vfio-pci";
        let group = self.t.link_name(&dev.join("iommu_group"));
        if vfio && group.is_none() {
            return Err(errno(libc::EINVAL));
        }
        let ddir = Path::new(DRIVERS).join(driver);
        for f in ["bind", "unbind", "new_id", "remove_id", "uevent"] {
            if !self.t.exists(&ddir.join(f)) {
                self.t.put(&ddir.join(f), "")?;
            }
        }
        self.t.link(&dev.join("driver"), &ddir)?;
        self.t.link(&ddir.join(addr), dev)?;
        if let (true, Some(g)) = (vfio, group) {
            self.register_vfio(dev, &g)?;
        }
        let kept = Path::new(crate::model::MEMO).join("parents").join(addr);
        if self.native(addr, dev).as_deref() == Some(driver) && self.t.exists(&kept) {
            std::fs::rename(
                self.t.at(&kept),
                self.t.at(&dev.join("mdev_supported_types")),
            )?;
            self.t
                .link(&Path::new("sys/class/mdev_bus").join(addr), dev)?;
        }
        Ok(())
    }

    pub(crate) fn unbind(&self, driver_dir: &Path, addr: &str) -> Outcome {
        let driver = last(driver_dir);
        let dev = self.pci_dev(addr)?;
        if self.t.link_name(&dev.join("driver")).as_deref() != Some(driver.as_str()) {
            return Err(errno(libc::ENODEV));
        }
        self.native(addr, &dev);
        self.unheld(&dev)?;
        let vfs = self.vfs(&dev);
        for vf in &vfs {
            self.unheld_tree(vf)?;
        }
        for (uuid, _) in self.instances(&dev) {
            self.unheld(&dev.join(uuid))?;
        }
        if !vfs.is_empty() {
            self.remove_vfs(&dev)?;
        }
        if self.t.exists(&dev.join("mdev_supported_types")) {
            for (uuid, _) in self.instances(&dev) {
                self.mdev_remove(&dev.join(uuid), "1")?;
            }
            let kept = Path::new(crate::model::MEMO).join("parents").join(addr);
            self.t.put(&kept.join(".keep"), "")?;
            self.t.remove(&kept)?;
            std::fs::create_dir_all(self.t.at(kept.parent().unwrap_or(Path::new(""))))?;
            std::fs::rename(
                self.t.at(&dev.join("mdev_supported_types")),
                self.t.at(&kept),
            )?;
            self.t.remove(&Path::new("sys/class/mdev_bus").join(addr))?;
        }
        if driver == "vfio-pci" {
            self.unregister_vfio(&dev)?;
        }
        self.t.remove(&dev.join("driver"))?;
        self.t
            .remove(&Path::new(DRIVERS).join(&driver).join(addr))?;
        Ok(())
    }

    /// Refuse while `dev` or one of its mdevs is open.
    fn unheld_tree(&self, dev: &Path) -> Outcome {
        self.unheld(dev)?;
        for (uuid, _) in self.instances(dev) {
            self.unheld(&dev.join(uuid))?;
        }
        Ok(())
    }

    /// The VFs of the PF `pf` (their directories).
    pub(crate) fn vfs(&self, pf: &Path) -> Vec<PathBuf> {
        let mut v: Vec<(u32, PathBuf)> = self
            .t
            .names(pf)
            .into_iter()
            .filter_map(|n| {
                let i = n.strip_prefix("virtfn")?.parse::<u32>().ok()?;
                Some((i, self.t.resolve(&pf.join(&n)).ok()?))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }

    /// Register `dev` (in IOMMU group `group`) as a VFIO device, as mkfixture.py lays it.
    pub(crate) fn register_vfio(&self, dev: &Path, group: &str) -> Outcome {
        let t = &self.t;
        let n = self.next_free("sys/class/vfio-dev", "vfio");
        let name = format!("vfio{n}");
        let vp = dev.join("vfio-dev").join(&name);
        t.raw_link(&vp.join("device"), &format!("../../../{}", last(dev)))?;
        t.link(&vp.join("subsystem"), Path::new("sys/class/vfio-dev"))?;
        t.put(&vp.join("dev"), &format!("510:{n}\n"))?;
        t.put(
            &vp.join("uevent"),
            &format!("MAJOR=510\nMINOR={n}\nDEVNAME=vfio/devices/{name}\n"),
        )?;
        t.link(&Path::new("sys/class/vfio-dev").join(&name), &vp)?;
        t.put(&Path::new("dev/vfio/devices").join(&name), "")?;
        t.put(&Path::new("dev/vfio").join(group), "")?;
        let v = PathBuf::from("sys/devices/virtual/vfio").join(group);
        t.put(&v.join("dev"), &format!("511:{group}\n"))?;
        t.put(
            &v.join("uevent"),
            &format!("MAJOR=511\nMINOR={group}\nDEVNAME=vfio/{group}\n"),
        )?;
        t.link(&Path::new("sys/class/vfio").join(group), &v)?;
        Ok(())
    }

    /// Undo [`Model::register_vfio`]; the group's node goes when no member is a VFIO
    /// device any more.
    pub(crate) fn unregister_vfio(&self, dev: &Path) -> Outcome {
        for n in self.t.names(&dev.join("vfio-dev")) {
            self.t.remove(&Path::new("sys/class/vfio-dev").join(&n))?;
            self.t.remove(&Path::new("dev/vfio/devices").join(&n))?;
        }
        self.t.remove(&dev.join("vfio-dev"))?;
        if let Some(g) = self.t.link_name(&dev.join("iommu_group")) {
            let gdir = Path::new("sys/kernel/iommu_groups")
                .join(&g)
                .join("devices");
            let still = self.t.names(&gdir).into_iter().any(|m| {
                self.t
                    .resolve(&gdir.join(m))
                    .map(|d| self.t.exists(&d.join("vfio-dev")))
                    .unwrap_or(false)
            });
            if !still {
                self.t.remove(&Path::new("dev/vfio").join(&g))?;
                self.t.remove(&Path::new("sys/class/vfio").join(&g))?;
                self.t
                    .remove(&Path::new("sys/devices/virtual/vfio").join(&g))?;
                self.drop_vfio_glue()?;
            }
        }
        Ok(())
    }

    /// The kernel removes the class glue directory `sys/devices/virtual/vfio` with its
    /// last group device (cleanup_glue_dir); a host without VFIO groups has none.
    fn drop_vfio_glue(&self) -> Outcome {
        let glue = Path::new("sys/devices/virtual/vfio");
        if self.t.exists(glue) && self.t.names(glue).is_empty() {
            self.t.remove(glue)?;
        }
        Ok(())
    }

    /// Remove IOMMU group `g` and its VFIO nodes.
    pub(crate) fn drop_group(&self, g: &str) -> Outcome {
        self.t
            .remove(&Path::new("sys/kernel/iommu_groups").join(g))?;
        self.t.remove(&Path::new("dev/vfio").join(g))?;
        self.t.remove(&Path::new("sys/class/vfio").join(g))?;
        self.t
            .remove(&Path::new("sys/devices/virtual/vfio").join(g))?;
        self.drop_vfio_glue()
    }

    pub(crate) fn sriov_numvfs(&self, pf: &Path, value: &str) -> Outcome {
        let v = value.trim();
        let n: u16 = match v.strip_prefix("0x") {
            Some(h) => u16::from_str_radix(h, 16).ok(),
            None => v.parse().ok(),
        }
        .ok_or(errno(libc::EINVAL))?;
        let total = self.t.num(&pf.join("sriov_totalvfs")).unwrap_or(0);
        if u64::from(n) > total {
            return Err(errno(libc::ERANGE));
        }
        let now = self.vfs(pf).len();
        if usize::from(n) == now {
            return Ok(());
        }
        let Some(driver) = self.t.link_name(&pf.join("driver")) else {
            return Err(errno(libc::ENOENT));
        };
        let configurable = match driver.as_str() {
            // the T4 trap: vGPUs on the PF, no sriov_configure
            "nvidia" => !self.t.exists(&pf.join("mdev_supported_types")),
            "vfio-pci" => {
                self.t
                    .read(Path::new("sys/module/vfio_pci/parameters/enable_sriov"))
                    .as_deref()
                    == Some("Y")
            }
            _ => true,
        };
        if !configurable {
            return Err(errno(libc::ENOENT));
        }
        if n == 0 {
            return self.disable_vfs(pf, &driver);
        }
        if now != 0 {
            return Err(errno(libc::EBUSY));
        }
        self.enable_vfs(pf, &driver, n)
    }

    fn disable_vfs(&self, pf: &Path, driver: &str) -> Outcome {
        for vf in self.vfs(pf) {
            let busy = !self.instances(&vf).is_empty()
                || self
                    .t
                    .read(&vf.join("nvidia/current_vgpu_type"))
                    .is_some_and(|c| c != "0");
            if driver == "nvidia" && (busy || !self.holders(&vf).is_empty()) {
                return Err(errno(libc::EBUSY));
            }
            self.unheld_tree(&vf)?;
        }
        self.remove_vfs(pf)
    }

    /// Remove every VF of `pf` (keeping the first one's vGPU types as the template).
    fn remove_vfs(&self, pf: &Path) -> Outcome {
        let addr = last(pf);
        let tpl = Path::new(crate::model::MEMO)
            .join("vf-template")
            .join(&addr);
        let vfs = self.vfs(pf);
        if let (Some(first), false) = (vfs.first(), self.t.exists(&tpl)) {
            self.keep_template(first, &tpl)?;
        }
        for name in self.t.names(pf) {
            if name.starts_with("virtfn") {
                self.t.remove(&pf.join(name))?;
            }
        }
        for vf in vfs {
            let a = last(&vf);
            for (uuid, _) in self.instances(&vf) {
                self.mdev_remove(&vf.join(uuid), "1")?;
            }
            if let Some(d) = self.t.link_name(&vf.join("driver")) {
                self.t.remove(&Path::new(DRIVERS).join(d).join(&a))?;
            }
            self.unregister_vfio(&vf)?;
            if let Some(g) = self.t.link_name(&vf.join("iommu_group")) {
                self.drop_group(&g)?;
            }
            self.t.remove(&Path::new(DEVICES).join(&a))?;
            self.t.remove(&Path::new("sys/class/mdev_bus").join(&a))?;
            self.t.remove(&vf)?;
        }
        Ok(self.t.put(&pf.join("sriov_numvfs"), "0\n")?)
    }

    /// What a VF of this PF carries beyond its PCI attributes (mdev types, `nvidia/`),
    /// reset to a fresh VF's values.
    fn keep_template(&self, vf: &Path, tpl: &Path) -> Outcome {
        if self.t.exists(&vf.join("mdev_supported_types")) {
            let to = tpl.join("mdev_supported_types");
            self.t.copy(&vf.join("mdev_supported_types"), &to)?;
            for ty in self.t.names(&to) {
                let d = to.join(&ty).join("devices");
                self.t.remove(&d)?;
                std::fs::create_dir_all(self.t.at(&d))?;
            }
        }
        if self.t.exists(&vf.join("nvidia")) {
            let to = tpl.join("nvidia");
            self.t.copy(&vf.join("nvidia"), &to)?;
            self.t.put(&to.join("current_vgpu_type"), "0\n")?;
        }
        Ok(())
    }

    fn enable_vfs(&self, pf: &Path, driver: &str, n: u16) -> Outcome {
        let addr = last(pf);
        let (dom, rid) = routing_id(&addr).ok_or(errno(libc::EINVAL))?;
        let offset = self.t.num(&pf.join("sriov_offset")).unwrap_or(1);
        let stride = self.t.num(&pf.join("sriov_stride")).unwrap_or(1);
        let vf_device = self.t.read(&pf.join("sriov_vf_device")).unwrap_or_default();
        let autoprobe = self.t.read(&pf.join("sriov_drivers_autoprobe")).as_deref() != Some("0");
        let tpl = Path::new(crate::model::MEMO)
            .join("vf-template")
            .join(&addr);
        let above = pf.parent().map(Path::to_path_buf).unwrap_or_default();
        let group_type = self.t.link_name(&pf.join("iommu_group")).and_then(|g| {
            self.t
                .read(&Path::new("sys/kernel/iommu_groups").join(g).join("type"))
        });
        for i in 0..u64::from(n) {
            let r = rid + offset + i * stride;
            let vaddr = format!("{dom}:{:02x}:{:02x}.{}", r >> 8, (r >> 3) & 0x1f, r & 7);
            let vf = above.join(&vaddr);
            self.lay_vf(pf, &vf, &vaddr, &vf_device)?;
            self.t.link(&pf.join(format!("virtfn{i}")), &vf)?;
            self.t.link(&Path::new(DEVICES).join(&vaddr), &vf)?;
            if let Some(ty) = &group_type {
                let g = self.next_free("sys/kernel/iommu_groups", "").to_string();
                let gdir = Path::new("sys/kernel/iommu_groups").join(&g);
                self.t.link(&vf.join("iommu_group"), &gdir)?;
                self.t.link(&gdir.join("devices").join(&vaddr), &vf)?;
                self.t.put(&gdir.join("type"), &format!("{ty}\n"))?;
                self.t.put(
                    &gdir.join("reserved_regions"),
                    "0x00000000fee00000 0x00000000feefffff msi\n",
                )?;
            }
            let vf_driver = self.vf_driver(&addr, driver);
            let _ = self.memo_set("native", &vaddr, if autoprobe { &vf_driver } else { "-" });
            if autoprobe {
                self.attach(&vf, &vaddr, &vf_driver)?;
            }
            if self.t.exists(&tpl) {
                self.t.copy(&tpl, &vf)?;
                if self.t.exists(&vf.join("mdev_supported_types")) {
                    self.t
                        .link(&Path::new("sys/class/mdev_bus").join(&vaddr), &vf)?;
                }
            }
        }
        self.t.put(&pf.join("sriov_numvfs"), &format!("{n}\n"))?;
        if let Some(first) = self.vfs(pf).first() {
            if self.t.exists(&first.join("mdev_supported_types")) {
                self.refresh(first)?;
            }
            if self.t.exists(&first.join("nvidia")) {
                self.refresh_vgpu_types(pf)?;
            }
        }
        Ok(())
    }

    /// The driver whose ID table matches the VFs of PF `addr` (on `pf_driver`): the one
    /// `.hostdev-sim/vf-driver` names for it, else the NIC drivers' VF drivers (igb: igbvf,
    /// ixgbe: ixgbevf, i40e/ice: iavf), else the PF's own (NVIDIA: nvidia, mlx5_core).
    fn vf_driver(&self, addr: &str, pf_driver: &str) -> String {
        if let Some(d) = self.memo_get("vf-driver", addr) {
            return d;
        }
        match pf_driver {
            "igb" => "igbvf",
            "ixgbe" => "ixgbevf",
            "i40e" | "ice" => "iavf",
            d => d,
        }
        .to_string()
    }

    /// A VF's PCI attributes, taken from its PF.
    fn lay_vf(&self, pf: &Path, vf: &Path, vaddr: &str, vf_device: &str) -> Outcome {
        let t = &self.t;
        std::fs::create_dir_all(t.at(vf))?;
        for a in [
            "vendor",
            "subsystem_vendor",
            "subsystem_device",
            "class",
            "revision",
            "numa_node",
        ] {
            if let Some(v) = t.read(&pf.join(a)) {
                t.put(&vf.join(a), &format!("{v}\n"))?;
            }
        }
        let dev = format!("0x{}", vf_device.trim_start_matches("0x"));
        t.put(&vf.join("device"), &format!("{dev}\n"))?;
        t.put(&vf.join("driver_override"), "(null)\n")?;
        t.put(&vf.join("enable"), "1\n")?;
        t.put(&vf.join("ari_enabled"), "0\n")?;
        t.put(&vf.join("reset"), "")?;
        let hex = |a: &str| {
            t.read(&pf.join(a))
                .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0)
        };
        let cls = hex("class");
        let d = u32::from_str_radix(vf_device.trim_start_matches("0x"), 16).unwrap_or(0);
        let modalias = format!(
            "pci:v{:08X}d{:08X}sv{:08X}sd{:08X}bc{:02X}sc{:02X}i{:02X}",
            hex("vendor"),
            d,
            hex("subsystem_vendor"),
            hex("subsystem_device"),
            cls >> 16,
            (cls >> 8) & 0xff,
            cls & 0xff
        );
        t.put(&vf.join("modalias"), &format!("{modalias}\n"))?;
        t.put(
            &vf.join("uevent"),
            &format!(
                "PCI_CLASS={cls:X}\nPCI_ID={:04X}:{d:04X}\nPCI_SUBSYS_ID={:04X}:{:04X}\nPCI_SLOT_NAME={vaddr}\nMODALIAS={modalias}\n",
                hex("vendor"),
                hex("subsystem_vendor"),
                hex("subsystem_device")
            ),
        )?;
        t.link(&vf.join("subsystem"), Path::new("sys/bus/pci"))?;
        if let Ok(iommu) = t.resolve(&pf.join("iommu")) {
            if t.exists(&pf.join("iommu")) {
                t.link(&vf.join("iommu"), &iommu)?;
            }
        }
        t.link(&vf.join("physfn"), pf)?;
        Ok(())
    }
}

/// ("0000", bus << 8 | devfn) of a PCI address "0000:3b:00.0".
fn routing_id(addr: &str) -> Option<(String, u64)> {
    let (dom, rest) = addr.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    let bus = u64::from_str_radix(bus, 16).ok()?;
    let dev = u64::from_str_radix(dev, 16).ok()?;
    let func = u64::from_str_radix(func, 16).ok()?;
    Some((dom.to_string(), bus << 8 | dev << 3 | func))
}
