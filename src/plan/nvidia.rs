//! What NVIDIA's kubevirt-gpu-device-plugin would advertise on this host
//! (`--provider nvidia`), with its names: docs/status-and-devices.md, "NVIDIA's plugin".
//! Pure: (Inventory, the text of pci.ids) → the same [`Env`] as KubeVirt's discovery.
//!
//! - Passthrough: every NVIDIA (`10de`) function bound to `vfio-pci` or
//!   `nvgrace_gpu_vfio_pci`, resource `nvidia.com/<name>`: the
//!   device's description in pci.ids (NVIDIA's vendor block), upper-cased, `/` and `.`
//!   as `_`, whitespace runs as one `_`, every character other than `[A-Za-z0-9_.]`
//!   deleted (`TU104GL [Tesla T4]` → `TU104GL_TESLA_T4`); the device ID when pci.ids
//!   has no entry (`nvidia.com/1eb8`). Variable `PCI_RESOURCE_NVIDIA_COM_<NAME>`.
//! - vGPUs: every mdev whose type has a `name`, resource `nvidia.com/<name>` with each
//!   whitespace run as one `_` (`GRID T4-1Q` → `GRID_T4-1Q`), case kept. Variable
//!   `MDEV_PCI_RESOURCE_NVIDIA_COM_<NAME upper-cased>`.
//! - One resource per name, with every device of every ID (or type name) that has it.

use std::collections::BTreeMap;

use crate::host::inventory::{Inventory, NVIDIA_VENDOR};
use crate::plan::env::{Env, EnvDevice, EnvVar, Kind, Unavailable, MDEV_PREFIX, PCI_PREFIX};

/// The drivers NVIDIA's plugin accepts for passthrough.
pub(crate) const NVIDIA_PLUGIN_DRIVERS: [&str; 2] = ["vfio-pci", "nvgrace_gpu_vfio_pci"];

/// Go's `\s`: `[\t\n\f\r ]`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Every run of whitespace as one `_` (the plugin's `regexp.MustCompile("\\s+")`).
fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if is_go_space(c) {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The plugin's `getDeviceName`: the description of NVIDIA device `device_id` in pci.ids,
/// normalised; `None` when NVIDIA's block has no such device.
pub fn device_name(pci_ids: &str, device_id: &str) -> Option<String> {
    device_name_of(pci_ids, NVIDIA_VENDOR, device_id)
}

/// As [`device_name`], for a device of any vendor (`hostdev init` names passthrough
/// resources this way).
pub(crate) fn device_name_of(pci_ids: &str, vendor: &str, device_id: &str) -> Option<String> {
    let mut lines = pci_ids.lines();
    // locateVendor: the line that starts with the vendor ID.
    lines.by_ref().find(|l| l.starts_with(vendor))?;
    let prefix = format!("\t{device_id}");
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        if !line.starts_with('\t') {
            return None; // the next vendor's block
        }
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let upper: String = rest
            .trim_matches(is_go_space)
            .chars()
            .flat_map(char::to_uppercase)
            .collect();
        let name = collapse_whitespace(&upper.replace(['/', '.'], "_"));
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        return Some(name);
    }
    None
}

/// The plugin's `readVgpuIDFromFile`: the type name, newlines trimmed, whitespace runs as `_`.
pub(crate) fn vgpu_name(type_name: &str) -> String {
    collapse_whitespace(type_name.trim_matches('\n'))
}

/// The devices of one resource and the selectors that feed it (`10de:<device ID>` for a
/// GPU, the raw type name for a vGPU).
#[derive(Default)]
struct Group {
    selectors: Vec<String>,
    devices: Vec<EnvDevice>,
}

impl Group {
    fn add(&mut self, selector: &str, device: EnvDevice) {
        if !self.selectors.iter().any(|s| s == selector) {
            self.selectors.push(selector.to_string());
        }
        self.devices.push(device);
    }
}

/// Resources by name (the part after `nvidia.com/`). Keyed by the name, not by what it
/// was made from: two device IDs that pci.ids describes alike (`10de:118a` and
/// `10de:118d` are both `GK104GL_GRID_K520`), or two type names that differ only in
/// whitespace, are one resource with all their devices -- one variable, one `devices`
/// list, one metric series -- never two of the same name.
type Groups = BTreeMap<String, Group>;

/// Discover what the plugin would advertise. `pci_ids` is the text of pci.ids (`None`:
/// not installed, every GPU named by its device ID).
pub(crate) fn discover(inv: &Inventory, pci_ids: Option<&str>) -> Env {
    let mut env = Env::default();
    let gpus = passthrough_gpus(inv, pci_ids, &mut env);
    unusable_functions(inv, &gpus, &mut env);
    let vgpus = vgpus(inv, &mut env);
    // BTreeMap: resources in name order, GPUs first.
    env.vars = gpus
        .into_iter()
        .map(|(name, g)| var(Kind::Pci, &name, g))
        .chain(vgpus.into_iter().map(|(name, g)| var(Kind::Mdev, &name, g)))
        .collect();
    env
}

/// The device ID a resource of this host would be named after without pci.ids (for the
/// warning's example): an NVIDIA function on a passthrough driver, else any NVIDIA function.
pub(crate) fn example_device_id(inv: &Inventory) -> Option<&str> {
    let nvidia = || inv.pci.iter().filter(|d| d.vendor == NVIDIA_VENDOR);
    nvidia()
        .find(|d| on_passthrough_driver(d.driver.as_deref()))
        .or_else(|| nvidia().next())
        .map(|d| d.device.as_str())
}

/// Whether the plugin takes a function with this driver for passthrough.
fn on_passthrough_driver(driver: Option<&str>) -> bool {
    driver.is_some_and(|x| NVIDIA_PLUGIN_DRIVERS.contains(&x))
}

/// The NVIDIA functions on a passthrough driver, by resource name; those without an
/// IOMMU group are skipped (and recorded in `env`).
fn passthrough_gpus(inv: &Inventory, pci_ids: Option<&str>, env: &mut Env) -> Groups {
    let mut gpus: Groups = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let name_of = |id: &str, names: &mut BTreeMap<String, String>| -> String {
        names
            .entry(id.to_string())
            .or_insert_with(|| {
                pci_ids
                    .and_then(|t| device_name(t, id))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| id.to_string())
            })
            .clone()
    };
    for d in inv.pci.iter().filter(|d| d.vendor == NVIDIA_VENDOR) {
        if !on_passthrough_driver(d.driver.as_deref()) {
            continue;
        }
        let name = name_of(&d.device, &mut names);
        let Some(group) = d.iommu_group.clone() else {
            env.skipped.push(format!(
                "{} ({}) is on {} but has no iommu_group link: skipped, as NVIDIA's plugin does",
                d.address,
                d.vendor_device(),
                d.driver.as_deref().unwrap_or("-")
            ));
            env.unavailable.push(Unavailable {
                resource_name: format!("nvidia.com/{name}"),
                address: d.address.clone(),
                vendor_device: d.vendor_device(),
                driver: d.driver.clone(),
                reason: "no-iommu-group",
            });
            continue;
        };
        gpus.entry(name).or_default().add(
            &d.vendor_device(),
            EnvDevice {
                address: Some(d.address.clone()),
                uuid: None,
                parent: None,
                type_id: None,
                driver: d.driver.clone(),
                iommu_group: group,
                numa_node: d.numa_node,
                device_nodes: vec![],
            },
        );
    }
    gpus
}

/// Other functions with a device ID that has a resource: not handed out.
fn unusable_functions(inv: &Inventory, gpus: &Groups, env: &mut Env) {
    for d in inv.pci.iter().filter(|d| d.vendor == NVIDIA_VENDOR) {
        if on_passthrough_driver(d.driver.as_deref()) {
            continue;
        }
        let id = d.vendor_device();
        let Some((name, _)) = gpus.iter().find(|(_, g)| g.selectors.contains(&id)) else {
            continue;
        };
        env.unavailable.push(Unavailable {
            resource_name: format!("nvidia.com/{name}"),
            address: d.address.clone(),
            vendor_device: id,
            driver: d.driver.clone(),
            reason: if d.driver.is_none() {
                "unbound"
            } else {
                "other-driver"
            },
        });
    }
}

/// The mdevs with a named type, by vGPU name; the others are skipped (and recorded in
/// `env`).
fn vgpus(inv: &Inventory, env: &mut Env) -> Groups {
    let mut vgpus: Groups = BTreeMap::new();
    for m in &inv.mdevs {
        let Some(type_name) = &m.type_name else {
            env.skipped.push(format!(
                "mdev {}: its type has no name file: skipped, as NVIDIA's plugin does",
                m.uuid
            ));
            continue;
        };
        let Some(group) = m.iommu_group.clone() else {
            env.skipped
                .push(format!("mdev {} has no iommu_group link: skipped", m.uuid));
            continue;
        };
        vgpus.entry(vgpu_name(type_name)).or_default().add(
            type_name,
            EnvDevice {
                address: None,
                uuid: Some(m.uuid.clone()),
                parent: Some(m.parent.clone()),
                type_id: m.type_id.clone(),
                driver: None,
                iommu_group: group,
                numa_node: inv.pci_device(&m.parent).and_then(|d| d.numa_node),
                device_nodes: vec![],
            },
        );
    }
    vgpus
}

fn var(kind: Kind, name: &str, group: Group) -> EnvVar {
    let Group {
        mut selectors,
        mut devices,
    } = group;
    devices.sort_by(|a, b| a.id().cmp(b.id()));
    selectors.sort();
    let prefix = match kind {
        Kind::Pci => PCI_PREFIX,
        Kind::Mdev => MDEV_PREFIX,
    };
    EnvVar {
        // The plugin's own spelling: "PCI_RESOURCE_NVIDIA_COM_" + strings.ToUpper(name).
        name: format!("{prefix}_NVIDIA_COM_{}", name.to_uppercase()),
        value: devices
            .iter()
            .map(EnvDevice::id)
            .collect::<Vec<_>>()
            .join(","),
        resource_name: format!("nvidia.com/{name}"),
        kind,
        external: false,
        selectors,
        devices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::inventory::{Mdev, PciDevice};

    /// The pci.ids excerpt of the plugin's own `getDeviceName() Tests` (shared with the
    /// integration tests).
    const PLUGIN_TEST_IDS: &str = include_str!("../../tests/data/nvidia-plugin-test.pci.ids");

    #[test]
    fn device_names_as_the_plugins_own_tests_expect() {
        let n = |id| device_name(PLUGIN_TEST_IDS, id);
        assert_eq!(n("118a").as_deref(), Some("GK104GL_GRID_K520"));
        assert_eq!(n("abcd"), None);
        assert_eq!(n("118d").as_deref(), Some("GK104GL_GRID_K520"));
        assert_eq!(n("118e").as_deref(), Some("GK104_GL_GRID_K__520"));
        // another vendor's device with the same ID does not match
        assert_eq!(n("2331").as_deref(), Some("GH100_H100_PCIE"));
        assert_eq!(device_name("", "118a"), None);
    }

    #[test]
    fn debian_pci_ids_lines() {
        let ids = "# comment\n10de  NVIDIA Corporation\n\t1eb8  TU104GL [Tesla T4]\n\t\t10de 12a2  Tesla T4\n\t1db4  GV100GL [Tesla V100 PCIe 16GB]\n\t10f8  TU104 HD Audio Controller\n10df  Emulex Corporation\n\t1eb9  not NVIDIA\n";
        assert_eq!(
            device_name(ids, "1eb8").as_deref(),
            Some("TU104GL_TESLA_T4")
        );
        assert_eq!(
            device_name(ids, "1db4").as_deref(),
            Some("GV100GL_TESLA_V100_PCIE_16GB")
        );
        assert_eq!(
            device_name(ids, "10f8").as_deref(),
            Some("TU104_HD_AUDIO_CONTROLLER")
        );
        assert_eq!(device_name(ids, "1eb9"), None);
    }

    #[test]
    fn vgpu_names_collapse_whitespace_runs() {
        // the plugin's readVgpuIDFromFile test
        assert_eq!(vgpu_name("GRID P100X-1B"), "GRID_P100X-1B");
        assert_eq!(vgpu_name("GRID T4-1Q\n"), "GRID_T4-1Q");
        // KubeVirt would give Test__Double_Space (spec §10.19)
        assert_eq!(vgpu_name("Test  Double Space"), "Test_Double_Space");
    }

    fn gpu(address: &str, device: &str, driver: Option<&str>) -> PciDevice {
        PciDevice {
            address: address.into(),
            vendor: NVIDIA_VENDOR.into(),
            device: device.into(),
            class: "030200".into(),
            driver: driver.map(Into::into),
            iommu_group: Some(address[5..7].to_string()),
            ..Default::default()
        }
    }

    /// Issue 20 item 5: 10de:118a and 10de:118d are both `GK104GL_GRID_K520` in pci.ids:
    /// one resource with the devices of both IDs, not two variables of one name.
    #[test]
    fn device_ids_with_one_name_are_one_resource() {
        let inv = Inventory {
            pci: vec![
                gpu("0000:3b:00.0", "118d", Some("vfio-pci")),
                gpu("0000:5e:00.0", "118a", Some("vfio-pci")),
                gpu("0000:86:00.0", "118e", Some("vfio-pci")),
                gpu("0000:af:00.0", "118d", None),
                gpu("0000:d8:00.0", "118a", Some("vfio-pci")),
            ],
            ..Default::default()
        };
        let env = discover(&inv, Some(PLUGIN_TEST_IDS));
        let vars: Vec<(&str, &str, &[String])> = env
            .vars
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str(), v.selectors.as_slice()))
            .collect();
        assert_eq!(
            vars,
            [
                (
                    "PCI_RESOURCE_NVIDIA_COM_GK104GL_GRID_K520",
                    "0000:3b:00.0,0000:5e:00.0,0000:d8:00.0",
                    &["10de:118a".to_string(), "10de:118d".to_string()][..]
                ),
                (
                    "PCI_RESOURCE_NVIDIA_COM_GK104_GL_GRID_K__520",
                    "0000:86:00.0",
                    &["10de:118e".to_string()][..]
                ),
            ]
        );
        assert_eq!(env.vars[0].resource_name, "nvidia.com/GK104GL_GRID_K520");
        assert_eq!(env.unavailable.len(), 1);
        assert_eq!(env.unavailable[0].address, "0000:af:00.0");
        assert_eq!(
            env.unavailable[0].resource_name,
            "nvidia.com/GK104GL_GRID_K520"
        );
    }

    #[test]
    fn type_names_that_differ_in_whitespace_are_one_resource() {
        let mdev = |uuid: &str, name: &str| Mdev {
            uuid: uuid.into(),
            parent: "0000:3b:00.0".into(),
            type_id: Some("nvidia-1".into()),
            type_name: Some(name.into()),
            iommu_group: Some(uuid[35..].into()),
            cdevs: vec![],
        };
        let inv = Inventory {
            mdevs: vec![
                mdev("00000000-0000-4000-8000-000000000001", "A  B"),
                mdev("00000000-0000-4000-8000-000000000002", "A B"),
            ],
            ..Default::default()
        };
        let env = discover(&inv, None);
        assert_eq!(env.vars.len(), 1, "{:?}", env.vars);
        assert_eq!(env.vars[0].name, "MDEV_PCI_RESOURCE_NVIDIA_COM_A_B");
        assert_eq!(
            env.vars[0].value,
            "00000000-0000-4000-8000-000000000001,00000000-0000-4000-8000-000000000002"
        );
        assert_eq!(env.vars[0].selectors, ["A  B", "A B"]);
    }
}
