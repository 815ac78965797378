//! What to say when a `bind vfio` DEVICE argument names no device: the SR-IOV PFs that
//! would have it as a virtual function once more VFs are enabled, and the `sriov_numvfs`
//! write that enables them. Read-only: `bind vfio` never enables VFs (only `apply` does, for
//! `hostdev.virtualFunctions`: `exec::apply::sriov`).

use std::path::PathBuf;

use crate::host::inventory::{Inventory, PciDevice};
use crate::host::live;
use crate::host::root::Root;

/// The sysfs directory of PCI device `pf` (an SR-IOV PF here).
pub(crate) fn pf_dir(fs: &Root, pf: &PciDevice) -> PathBuf {
    fs.pci_devices().join(&pf.address)
}

/// The address VF `index` of this SR-IOV PF has (or would have once enabled): the PF's
/// routing ID + `sriov_offset` + index × `sriov_stride`, as the PCI core computes it.
pub(crate) fn vf_address(fs: &Root, pf: &PciDevice, index: u32) -> Option<String> {
    let (offset, stride) = live::sriov_routing(fs, &pf.address)?;
    let (domain, rest) = pf.address.split_once(':')?;
    let (bus, devfn) = rest.split_once(':')?;
    let (dev, func) = devfn.split_once('.')?;
    let rid = (u32::from_str_radix(bus, 16).ok()? << 8)
        | (u32::from_str_radix(dev, 16).ok()? << 3)
        | u32::from_str_radix(func, 16).ok()?;
    let vf = rid + offset + index * stride;
    Some(format!(
        "{domain}:{:02x}:{:02x}.{:x}",
        vf >> 8,
        (vf >> 3) & 0x1f,
        vf & 7
    ))
}

/// When a DEVICE argument names no device: the SR-IOV PFs that would have it as a virtual
/// function (`wanted(pf, vf_index)`) once more VFs are enabled. hostdev never changes
/// `sriov_numvfs`; it says where the administrator (or `sriov-manage`) does.
pub(crate) fn vf_hint(
    inv: &Inventory,
    fs: &Root,
    wanted: impl Fn(&PciDevice, u32) -> bool,
) -> String {
    let mut hints = Vec::new();
    for pf in inv.pci.iter().filter(|d| d.physfn.is_none()) {
        let total = pf.sriov_totalvfs.unwrap_or(0);
        let enabled = pf.sriov_numvfs.unwrap_or(0);
        if let Some(i) = (enabled..total).find(|i| wanted(pf, *i)) {
            let file = format!("{}/sriov_numvfs", fs.display(&pf_dir(fs, pf)));
            // the kernel takes a new count only from 0 (else EBUSY)
            let how = if enabled == 0 {
                format!("echo {} > {file}", i + 1)
            } else {
                format!("echo 0 > {file}; echo {} > {file}", i + 1)
            };
            hints.push(format!(
                ": it would be virtual function {i} (virtfn{i}) of the SR-IOV PF {} ({}, driver {}), which has \
                 {enabled} of {total} VFs enabled; the PF's driver creates VFs when sriov_numvfs is written \
                 (as root: `{how}`; NVIDIA GPUs: `{} -e {}`); `bind vfio` never changes sriov_numvfs",
                pf.address,
                pf.vendor_device(),
                pf.driver.as_deref().unwrap_or("none"),
                crate::host::vgpu::SRIOV_MANAGE,
                pf.address,
            ));
        }
    }
    hints.join("")
}
