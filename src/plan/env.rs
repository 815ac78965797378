//! What KubeVirt's device plugins would hand to virt-launcher: for each permitted resource
//! the environment variable `ResourceNameToEnvVar` names and the devices behind it.
//! Pure: (Config, Inventory) → variables; discovery follows KubeVirt's
//! `discoverPermittedHostPCIDevices` and `discoverPermittedHostMediatedDevices`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{model::normalize, model::Config};
use crate::host::inventory::{Inventory, PciDevice};

/// KubeVirt's `PCIResourcePrefix`.
pub(crate) const PCI_PREFIX: &str = "PCI_RESOURCE";
/// KubeVirt's `MDevResourcePrefix`.
pub(crate) const MDEV_PREFIX: &str = "MDEV_PCI_RESOURCE";

/// KubeVirt's `ResourceNameToEnvVar`, exactly: the resource name upper-cased, only `/`
/// and `.` replaced by `_`, behind the prefix and an `_`. Everything else (`-`) is kept.
pub(crate) fn resource_name_to_env_var(prefix: &str, resource_name: &str) -> String {
    // Go's strings.ToUpper on the ASCII resource names KubeVirt accepts.
    let upper = resource_name.to_ascii_uppercase().replace(['/', '.'], "_");
    format!("{prefix}_{upper}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Pci,
    Mdev,
}

/// One device behind a variable: a PCI function (`address`) or an mdev (`uuid` + `parent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EnvDevice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<String>,
    /// The mdev type ID (mdevs only).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) type_id: Option<String>,
    /// The PCI driver (PCI devices only): `vfio-pci`, or `nvidia` for a vendor-VFIO VF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) driver: Option<String>,
    pub(crate) iommu_group: String,
    /// As the kernel reports it (`-1`: no NUMA affinity); null when unknown.
    pub(crate) numa_node: Option<i32>,
    /// The device nodes a VM opens for this device that exist on this host:
    /// `/dev/vfio/<group>` and, with the vfio cdev (iommufd), `/dev/vfio/devices/vfioN` --
    /// only where the node exists (a kernel without iommufd lists `vfio-dev/vfioN` in sysfs
    /// but creates no node). Filled in by `hostdev env`, which can look at `/dev`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) device_nodes: Vec<String>,
}

impl EnvDevice {
    /// The value KubeVirt puts in the variable: the PCI address or the mdev UUID.
    pub(crate) fn id(&self) -> &str {
        self.address
            .as_deref()
            .or(self.uuid.as_deref())
            .unwrap_or_default()
    }
}

/// One environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EnvVar {
    pub(crate) name: String,
    /// Device IDs comma-joined in address/UUID order (KubeVirt's value format).
    pub(crate) value: String,
    pub(crate) resource_name: String,
    pub(crate) kind: Kind,
    /// From an `externalResourceProvider: true` entry (only with `--include-external`).
    pub(crate) external: bool,
    /// The selectors (as written) that feed this variable.
    pub(crate) selectors: Vec<String>,
    pub(crate) devices: Vec<EnvDevice>,
}

/// The result of discovery: the variables plus what the caller should tell the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Env {
    pub(crate) vars: Vec<EnvVar>,
    /// Warnings (stderr unless `-q`).
    pub(crate) warnings: Vec<String>,
    /// Devices a selector matched but KubeVirt would skip, and why (stderr with `-v`).
    pub(crate) skipped: Vec<String>,
    /// The PCI devices among `skipped`, as records (for `status`).
    pub(crate) unavailable: Vec<Unavailable>,
}

/// A PCI device a selector matched that the resource does not hand out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Unavailable {
    #[serde(skip)]
    pub(crate) resource_name: String,
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) driver: Option<String>,
    /// Why: `unbound`, `other-driver`, `no-vgpu-profile` or `no-iommu-group`.
    pub(crate) reason: &'static str,
}

/// One `permittedHostDevices` entry.
struct Entry<'a> {
    kind: Kind,
    section: &'static str,
    index: usize,
    /// The lookup key: the lower-case PCI selector, or the normalized mdev name selector.
    key: String,
    written: String,
    resource: &'a str,
    external: bool,
}

/// The selector maps: (kind, selector key) → the entry that owns it.
type SelectorMap<'e, 'a> = BTreeMap<(Kind, &'e str), &'e Entry<'a>>;

/// Discover the variables for every non-external permitted entry (and the external ones
/// with `include_external`). Variables come in configuration order, PCI entries first;
/// several selectors naming one resource feed one variable.
pub(crate) fn discover(config: &Config, inv: &Inventory, include_external: bool) -> Env {
    let entries = permitted_entries(config, include_external);
    let mut env = Env::default();
    let maps = selector_maps(&entries, &mut env.warnings);
    let mut vars = variables(&entries);
    add_pci_devices(inv, &maps, &mut vars, &mut env);
    add_mdevs(inv, &maps, &mut vars, &mut env);
    finish_variables(&mut vars, inv, &mut env.warnings);
    env.vars = vars;
    env
}

/// The `permittedHostDevices` entries, PCI first, in configuration order; the external ones
/// only with `include_external`.
fn permitted_entries(config: &Config, include_external: bool) -> Vec<Entry<'_>> {
    let permitted = &config.permitted;
    let mut entries: Vec<Entry> = Vec::new();
    for (index, d) in permitted.pci_host_devices.iter().enumerate() {
        let key = d.pci_vendor_selector.to_string();
        entries.push(Entry {
            kind: Kind::Pci,
            section: "pciHostDevices",
            index,
            written: key.clone(),
            key,
            resource: &d.resource_name.0,
            external: d.external_resource_provider,
        });
    }
    for (index, d) in permitted.mediated_devices.iter().enumerate() {
        entries.push(Entry {
            kind: Kind::Mdev,
            section: "mediatedDevices",
            index,
            key: normalize(&d.mdev_name_selector.0),
            written: d.mdev_name_selector.0.clone(),
            resource: &d.resource_name.0,
            external: d.external_resource_provider,
        });
    }
    entries.retain(|e| include_external || !e.external);
    entries
}

/// KubeVirt's selector maps: selector key → resource name, the last entry wins (with a
/// warning when that takes a selector away from another resource).
fn selector_maps<'e, 'a>(
    entries: &'e [Entry<'a>],
    warnings: &mut Vec<String>,
) -> SelectorMap<'e, 'a> {
    let mut maps: SelectorMap = BTreeMap::new();
    for e in entries {
        if let Some(prev) = maps.insert((e.kind, e.key.as_str()), e) {
            if prev.resource != e.resource {
                warnings.push(format!(
                    "permittedHostDevices.{}[{}] (selector {:?}, {}) is overridden by entry {} with the same selector: as in KubeVirt, the last entry wins and {} gets no devices from it",
                    prev.section, prev.index, prev.written, prev.resource, e.index, prev.resource
                ));
            }
        }
    }
    maps
}

/// One variable per (kind, resource name), in configuration order, still without devices.
fn variables(entries: &[Entry]) -> Vec<EnvVar> {
    let mut vars: Vec<EnvVar> = Vec::new();
    for e in entries {
        let name = resource_name_to_env_var(prefix(e.kind), e.resource);
        match vars
            .iter_mut()
            .find(|v| v.kind == e.kind && v.resource_name == e.resource)
        {
            Some(v) => {
                if !v.selectors.contains(&e.written) {
                    v.selectors.push(e.written.clone());
                }
                v.external &= e.external;
            }
            None => vars.push(EnvVar {
                name,
                value: String::new(),
                resource_name: e.resource.to_string(),
                kind: e.kind,
                external: e.external,
                selectors: vec![e.written.clone()],
                devices: Vec::new(),
            }),
        }
    }
    vars
}

/// Add `device` to the variable of (`kind`, `resource`), if there is one.
fn push_device(vars: &mut [EnvVar], kind: Kind, resource: &str, device: EnvDevice) {
    if let Some(v) = vars
        .iter_mut()
        .find(|v| v.kind == kind && v.resource_name == resource)
    {
        v.devices.push(device);
    }
}

/// Why KubeVirt would skip a matching PCI device for its driver, and the `Unavailable`
/// reason; `None` when the device is usable.
fn pci_driver_problem(dev: &PciDevice) -> Option<(String, &'static str)> {
    match dev.driver.as_deref() {
        None => Some(("is not bound to any driver".to_string(), "unbound")),
        Some("vfio-pci") => None,
        Some(_) if nvidia_vgpu_vf(dev) => None,
        Some("nvidia") if dev.nvidia.is_some() && dev.sriov_totalvfs.is_none() => Some((
            "is an NVIDIA vGPU VF without a vGPU profile (nvidia/current_vgpu_type is 0; write a type ID from nvidia/creatable_vgpu_types to it)".to_string(),
            "no-vgpu-profile",
        )),
        Some(d) => Some((format!("is bound to {d}, not vfio-pci"), "other-driver")),
    }
}

/// The record of a PCI device that matches `e` but is not handed out.
fn unavailable(e: &Entry, dev: &PciDevice, reason: &'static str) -> Unavailable {
    Unavailable {
        resource_name: e.resource.to_string(),
        address: dev.address.clone(),
        vendor_device: dev.vendor_device(),
        driver: dev.driver.clone(),
        reason,
    }
}

/// PCI devices, ascending address (KubeVirt walks /sys/bus/pci/devices lexically).
fn add_pci_devices(inv: &Inventory, maps: &SelectorMap, vars: &mut [EnvVar], env: &mut Env) {
    for dev in &inv.pci {
        let id = dev.vendor_device();
        let Some(e) = maps.get(&(Kind::Pci, id.as_str())) else {
            continue;
        };
        if let Some((why, reason)) = pci_driver_problem(dev) {
            env.unavailable.push(unavailable(e, dev, reason));
            let hint = if dev.nvidia.is_some() || !dev.virtfns.is_empty() {
                String::new()
            } else {
                format!(" (bind it with `hostdev bind vfio {}`)", dev.address)
            };
            env.skipped.push(format!(
                "{} ({id}) matches {:?} for {} but {why}: skipped, as KubeVirt does{hint}",
                dev.address, e.written, e.resource
            ));
            continue;
        }
        let Some(group) = dev.iommu_group.clone() else {
            env.unavailable.push(unavailable(e, dev, "no-iommu-group"));
            env.skipped.push(format!(
                "{} ({}) matches {:?} for {} but has no iommu_group link: skipped, as KubeVirt does (is the IOMMU enabled? see `hostdev iommu check`)",
                dev.address, dev.vendor_device(), e.written, e.resource
            ));
            continue;
        };
        let device = EnvDevice {
            address: Some(dev.address.clone()),
            uuid: None,
            parent: None,
            type_id: None,
            driver: dev.driver.clone(),
            iommu_group: group,
            numa_node: dev.numa_node,
            device_nodes: vec![],
        };
        push_device(vars, Kind::Pci, e.resource, device);
    }
}

/// mdevs, ascending UUID: the type's name (its ID when it has no name), normalized.
fn add_mdevs(inv: &Inventory, maps: &SelectorMap, vars: &mut [EnvVar], env: &mut Env) {
    for m in &inv.mdevs {
        let Some(type_id) = &m.type_id else {
            env.skipped.push(format!(
                "mdev {}: its mdev_type link cannot be read: skipped, as KubeVirt does",
                m.uuid
            ));
            continue;
        };
        let type_key = normalize(m.type_name.as_deref().unwrap_or(type_id));
        let Some(e) = maps.get(&(Kind::Mdev, type_key.as_str())) else {
            continue;
        };
        if m.parent.is_empty() {
            env.skipped.push(format!(
                "mdev {} (type {type_id}) matches {:?} for {} but its parent cannot be read: skipped, as KubeVirt does",
                m.uuid, e.written, e.resource
            ));
            continue;
        }
        let Some(group) = m.iommu_group.clone() else {
            env.skipped.push(format!(
                "mdev {} (type {type_id}) matches {:?} for {} but has no iommu_group link: skipped, as KubeVirt does (is its vendor driver's vfio side loaded?)",
                m.uuid, e.written, e.resource
            ));
            continue;
        };
        let device = EnvDevice {
            address: None,
            uuid: Some(m.uuid.clone()),
            parent: Some(m.parent.clone()),
            type_id: Some(type_id.clone()),
            driver: None,
            iommu_group: group,
            numa_node: inv.pci_device(&m.parent).and_then(|d| d.numa_node),
            device_nodes: vec![],
        };
        push_device(vars, Kind::Mdev, e.resource, device);
    }
}

/// Sort each variable's devices, set its value, and warn about empty variables and
/// mdev resources fed by several selectors.
fn finish_variables(vars: &mut [EnvVar], inv: &Inventory, warnings: &mut Vec<String>) {
    for v in vars {
        // Merged selectors visit devices in one sorted pass each; keep the whole list sorted.
        v.devices.sort_by(|a, b| a.id().cmp(b.id()));
        v.value = v
            .devices
            .iter()
            .map(EnvDevice::id)
            .collect::<Vec<_>>()
            .join(",");
        if v.devices.is_empty() {
            warnings.push(empty_warning(v, inv));
        }
        if v.kind == Kind::Mdev && v.selectors.len() > 1 {
            warnings.push(format!(
                "{} is fed by several mdevNameSelectors ({}): hostdev merges them, but KubeVirt starts one device plugin per selector and keeps only one of them",
                v.resource_name,
                v.selectors.join(", ")
            ));
        }
    }
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Pci => PCI_PREFIX,
        Kind::Mdev => MDEV_PREFIX,
    }
}

/// KubeVirt's `shouldPermitNvidia`: an SR-IOV vGPU VF on NVIDIA's vendor-specific VFIO
/// (driver `nvidia`, not a PF, a vGPU profile set in `nvidia/current_vgpu_type`).
pub(crate) fn nvidia_vgpu_vf(dev: &PciDevice) -> bool {
    dev.driver.as_deref() == Some("nvidia")
        && dev.sriov_totalvfs.is_none()
        && dev
            .nvidia
            .as_ref()
            .is_some_and(|n| n.current_vgpu_type != 0)
}

fn empty_warning(v: &EnvVar, inv: &Inventory) -> String {
    let selectors = v
        .selectors
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match v.kind {
        Kind::Pci => {
            let present = inv
                .pci
                .iter()
                .filter(|d| v.selectors.contains(&d.vendor_device()))
                .count();
            if present > 0 {
                format!("{present} matching device(s) are not usable (see -v); bind them with `hostdev bind vfio --from-config`")
            } else {
                "no such PCI device on this host".to_string()
            }
        }
        Kind::Mdev => "no mdev of that type exists; create them with `hostdev apply` (see `hostdev list-types`)".to_string(),
    };
    format!(
        "{} is empty: nothing matches {selectors} ({}): {hint}",
        v.name, v.resource_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load::parse, load::Source};
    use crate::host::inventory::{Mdev, NvidiaVf};

    #[test]
    fn names_are_kubevirts_resource_name_to_env_var() {
        let cases = [
            (
                PCI_PREFIX,
                "nvidia.com/TU104GL_Tesla_T4",
                "PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4",
            ),
            (PCI_PREFIX, "intel.com/qat", "PCI_RESOURCE_INTEL_COM_QAT"),
            (
                MDEV_PREFIX,
                "nvidia.com/GRID_T4-1Q",
                "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q",
            ),
            (PCI_PREFIX, "test-resource", "PCI_RESOURCE_TEST-RESOURCE"),
            (
                MDEV_PREFIX,
                "a.b.example.com/x.y",
                "MDEV_PCI_RESOURCE_A_B_EXAMPLE_COM_X_Y",
            ),
        ];
        for (p, r, want) in cases {
            assert_eq!(resource_name_to_env_var(p, r), want, "{r}");
        }
    }

    fn config(yaml: &str) -> Config {
        parse(yaml, &Source::File("c.yaml".into())).expect("valid config")
    }

    fn pci(address: &str, id: &str, driver: Option<&str>, group: Option<&str>) -> PciDevice {
        let (vendor, device) = id.split_once(':').unwrap();
        PciDevice {
            address: address.into(),
            vendor: vendor.into(),
            device: device.into(),
            class: "030200".into(),
            driver: driver.map(Into::into),
            iommu_group: group.map(Into::into),
            numa_node: Some(0),
            ..Default::default()
        }
    }

    fn mdev(
        uuid: &str,
        parent: &str,
        type_id: &str,
        name: Option<&str>,
        group: Option<&str>,
    ) -> Mdev {
        Mdev {
            uuid: uuid.into(),
            parent: parent.into(),
            type_id: Some(type_id.into()),
            type_name: name.map(Into::into),
            iommu_group: group.map(Into::into),
            cdevs: vec![],
        }
    }

    fn inv(pci: Vec<PciDevice>, mdevs: Vec<Mdev>) -> Inventory {
        let mut pci = pci;
        pci.sort_by(|a, b| a.address.cmp(&b.address));
        Inventory {
            pci,
            mdevs,
            ..Default::default()
        }
    }

    /// Discovery among PCI devices alone (no mdevs), external entries left out.
    fn discover_pci(c: &Config, pci: Vec<PciDevice>) -> Env {
        discover(c, &inv(pci, vec![]), false)
    }

    fn values(env: &Env) -> Vec<(String, String)> {
        env.vars
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }

    #[test]
    fn pci_only_vfio_pci_bound_devices_case_insensitive_selector() {
        let c = config("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:1EB8\"\n    resourceName: nvidia.com/TU104GL_Tesla_T4\n");
        let env = discover_pci(
            &c,
            vec![
                pci("0000:5e:00.0", "10de:1eb8", Some("vfio-pci"), Some("13")),
                pci("0000:3b:00.0", "10de:1eb8", Some("vfio-pci"), Some("11")),
                pci("0000:86:00.0", "10de:1eb8", Some("nvidia"), Some("15")),
                pci("0000:af:00.0", "10de:1eb8", None, Some("16")),
                pci("0000:d8:00.0", "10de:1db4", Some("vfio-pci"), Some("17")),
            ],
        );
        assert_eq!(
            values(&env),
            vec![(
                "PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4".to_string(),
                "0000:3b:00.0,0000:5e:00.0".to_string()
            )]
        );
        assert_eq!(env.vars[0].devices[0].iommu_group, "11");
        assert_eq!(env.skipped.len(), 2, "{:?}", env.skipped);
        assert!(env.skipped[0].starts_with("0000:86:00.0 (10de:1eb8) matches \"10de:1eb8\" for nvidia.com/TU104GL_Tesla_T4 but is bound to nvidia, not vfio-pci"), "{}", env.skipped[0]);
        assert!(env.skipped[1].contains("is not bound to any driver"));
        assert!(env.warnings.is_empty());
    }

    #[test]
    fn device_without_iommu_group_is_skipped_and_said_so() {
        let c = config("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 8086:37c8\n    resourceName: intel.com/qat\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n");
        let i = inv(
            vec![pci("0000:3d:00.0", "8086:37c8", Some("vfio-pci"), None)],
            vec![mdev(
                "u1",
                "0000:5e:00.0",
                "nvidia-230",
                Some("GRID T4-1Q"),
                None,
            )],
        );
        let env = discover(&c, &i, false);
        assert_eq!(
            values(&env),
            vec![
                ("PCI_RESOURCE_INTEL_COM_QAT".into(), String::new()),
                (
                    "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q".into(),
                    String::new()
                )
            ]
        );
        assert!(env.skipped[0].contains("0000:3d:00.0 (8086:37c8) matches \"8086:37c8\" for intel.com/qat but has no iommu_group link"), "{:?}", env.skipped);
        assert!(env.skipped[1].contains("mdev u1 (type nvidia-230)"));
        assert!(env.skipped[1].contains("has no iommu_group link"));
        assert_eq!(env.warnings.len(), 2);
        assert!(env.warnings[0].starts_with("PCI_RESOURCE_INTEL_COM_QAT is empty: nothing matches \"8086:37c8\" (intel.com/qat): 1 matching device(s) are not usable"), "{}", env.warnings[0]);
    }

    #[test]
    fn nvidia_vendor_vfio_vf_exception() {
        let c = config("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:27b8\n    resourceName: nvidia.com/AD104GL_L4\n");
        let vf = |a: &str, ty: Option<u32>| PciDevice {
            physfn: Some("0000:c1:00.0".into()),
            nvidia: ty.map(|t| NvidiaVf {
                current_vgpu_type: t,
                creatable: vec![],
            }),
            ..pci(a, "10de:27b8", Some("nvidia"), Some(a))
        };
        let mut pf = vf("0000:c1:00.0", Some(1103));
        pf.physfn = None;
        pf.sriov_totalvfs = Some(32);
        let env = discover_pci(
            &c,
            vec![
                pf,
                vf("0000:c1:00.4", Some(1103)),
                vf("0000:c1:00.5", Some(0)),
                vf("0000:c1:00.6", None),
                vf("0000:c1:00.7", Some(1101)),
            ],
        );
        assert_eq!(env.vars[0].value, "0000:c1:00.4,0000:c1:00.7");
        assert_eq!(env.vars[0].devices[0].driver.as_deref(), Some("nvidia"));
        assert_eq!(env.skipped.len(), 3);
    }

    #[test]
    fn mdev_names_are_normalized_and_nameless_types_match_by_id() {
        let c = config(concat!(
            "permittedHostDevices:\n  mediatedDevices:\n",
            "  - mdevNameSelector: GRID T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n",
            "  - mdevNameSelector: \"A  B\"\n    resourceName: example.com/ab\n",
            "  - mdevNameSelector: i915-GVTg_V5_4\n    resourceName: intel.com/gvtg4\n",
            "  - mdevNameSelector: grid t4-2q\n    resourceName: nvidia.com/lower\n",
        ));
        let i = inv(
            vec![],
            vec![
                mdev(
                    "u3",
                    "0000:5e:00.0",
                    "nvidia-230",
                    Some("GRID T4-1Q"),
                    Some("22"),
                ),
                mdev(
                    "u1",
                    "0000:5e:00.0",
                    "nvidia-230",
                    Some("GRID T4-1Q\n"),
                    Some("23"),
                ),
                mdev("u2", "0000:86:00.0", "x-1", Some("A  B"), Some("24")),
                mdev("u4", "0000:86:00.0", "x-2", Some("A B"), Some("25")),
                mdev("u5", "0000:00:02.0", "i915-GVTg_V5_4", None, Some("26")),
                mdev("u6", "0000:00:02.0", "i915-GVTg_V5_8", None, Some("27")),
                mdev(
                    "u7",
                    "0000:5e:00.0",
                    "nvidia-231",
                    Some("GRID T4-2Q"),
                    Some("28"),
                ),
            ],
        );
        let env = discover(&c, &i, false);
        assert_eq!(
            values(&env),
            vec![
                (
                    "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q".into(),
                    "u1,u3".into()
                ),
                ("MDEV_PCI_RESOURCE_EXAMPLE_COM_AB".into(), "u2".into()),
                ("MDEV_PCI_RESOURCE_INTEL_COM_GVTG4".into(), "u5".into()),
                // matching is case-sensitive, as in KubeVirt
                ("MDEV_PCI_RESOURCE_NVIDIA_COM_LOWER".into(), String::new()),
            ]
        );
        assert_eq!(
            env.vars[2].devices[0].type_id.as_deref(),
            Some("i915-GVTg_V5_4")
        );
    }

    #[test]
    fn external_entries_only_on_request_and_marked() {
        let c = config(concat!(
            "permittedHostDevices:\n  pciHostDevices:\n",
            "  - pciVendorSelector: 10de:1eb8\n    resourceName: nvidia.com/T4\n    externalResourceProvider: true\n",
            "  mediatedDevices:\n",
            "  - mdevNameSelector: GRID T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n    externalResourceProvider: true\n",
        ));
        let i = inv(
            vec![pci(
                "0000:3b:00.0",
                "10de:1eb8",
                Some("vfio-pci"),
                Some("11"),
            )],
            vec![mdev(
                "u1",
                "0000:5e:00.0",
                "nvidia-230",
                Some("GRID T4-1Q"),
                Some("22"),
            )],
        );
        let env = discover(&c, &i, false);
        assert!(env.vars.is_empty());
        assert!(env.warnings.is_empty());
        let env = discover(&c, &i, true);
        assert_eq!(
            values(&env),
            vec![
                ("PCI_RESOURCE_NVIDIA_COM_T4".into(), "0000:3b:00.0".into()),
                (
                    "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q".into(),
                    "u1".into()
                ),
            ]
        );
        assert!(env.vars.iter().all(|v| v.external));
    }

    #[test]
    fn several_selectors_for_one_resource_merge_in_address_order() {
        // The loader refuses duplicate resource names; the discovery itself follows
        // KubeVirt, whose PCI plugin merges them.
        let mut c = config("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: nvidia.com/GPU\n  - pciVendorSelector: 10de:1db4\n    resourceName: nvidia.com/other\n");
        c.permitted.pci_host_devices[1].resource_name.0 = "nvidia.com/GPU".into();
        let env = discover_pci(
            &c,
            vec![
                pci("0000:3b:00.0", "10de:1db4", Some("vfio-pci"), Some("11")),
                pci("0000:1b:00.0", "10de:1eb8", Some("vfio-pci"), Some("10")),
                pci("0000:5e:00.0", "10de:1eb8", Some("vfio-pci"), Some("12")),
            ],
        );
        assert_eq!(
            values(&env),
            vec![(
                "PCI_RESOURCE_NVIDIA_COM_GPU".into(),
                "0000:1b:00.0,0000:3b:00.0,0000:5e:00.0".into()
            )]
        );
        assert_eq!(env.vars[0].selectors, vec!["10de:1eb8", "10de:1db4"]);
    }

    #[test]
    fn same_selector_twice_last_entry_wins() {
        let c = config("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: a.com/first\n  - pciVendorSelector: 10DE:1EB8\n    resourceName: a.com/second\n");
        let env = discover_pci(
            &c,
            vec![pci(
                "0000:3b:00.0",
                "10de:1eb8",
                Some("vfio-pci"),
                Some("11"),
            )],
        );
        assert_eq!(
            values(&env),
            vec![
                ("PCI_RESOURCE_A_COM_FIRST".into(), String::new()),
                ("PCI_RESOURCE_A_COM_SECOND".into(), "0000:3b:00.0".into()),
            ]
        );
        assert!(
            env.warnings[0].contains(
                "pciHostDevices[0] (selector \"10de:1eb8\", a.com/first) is overridden by entry 1"
            ),
            "{:?}",
            env.warnings
        );
    }
}
