//! Stage 1, reading the host: the root every path is resolved in ([`root`]), one sorted
//! snapshot of parents, types, mdevs and PCI devices ([`inventory`]), the IOMMU and boot
//! facts behind `iommu check` ([`iommu`]), the vGPU framework of each GPU ([`vgpu`]), what
//! the host itself uses a device for ([`usage`]), what lives under a device ([`tree`]) and
//! the facts re-read right before a write ([`live`]).
//! Nothing here writes to the host except through [`root::Root::write`], which only the
//! journal calls.
pub(crate) mod capture;
pub mod inventory;
pub(crate) mod iommu;
pub(crate) mod live;
pub mod root;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod tree;
pub(crate) mod usage;
pub(crate) mod vgpu;
