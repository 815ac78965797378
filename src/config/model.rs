//! The configuration's model: the validated [`Config`] the rest of hostdev reads, and the
//! serde types of its fields, each refusing what KubeVirt's CRD refuses as it is
//! deserialized (selectors, resource names, type names, label keys and values, PCI
//! addresses; strings that must be strings, YAML 1.1 booleans). It does not read, shape
//! or cross-check a document ([`super::load`]) nor match nodes ([`super::selectors`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::names::{label_key_error, label_value_error, pci_address};

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub mdev: Option<MdevConfig>,
    pub(crate) permitted: PermittedHostDevices,
    /// hostdev's own extensions (the top-level `hostdev:` section; KubeVirt has none).
    pub(crate) hostdev: HostdevExtensions,
    /// Non-fatal findings (deprecated spellings), printed on stderr by the caller.
    pub(crate) warnings: Vec<String>,
}

/// `mediatedDevicesConfiguration`, with the deprecated spelling already resolved.
#[derive(Debug, Clone, Default)]
pub struct MdevConfig {
    pub(crate) enabled: bool,
    pub(crate) types: Vec<String>,
    pub node_types: Vec<NodeTypes>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeTypes {
    pub node_selector: BTreeMap<String, String>,
    pub(crate) types: Vec<String>,
}

/// The top-level `hostdev:` section: what KubeVirt's CR cannot say
/// (docs/kubevirt-differences.md).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostdevExtensions {
    /// `passthroughAddresses`: devices for passthrough on every node (unless a matching
    /// node entry names its own).
    pub(crate) passthrough: Vec<String>,
    /// `nodePassthroughAddresses`: per node, by label selector.
    pub(crate) node_passthrough: Vec<NodeAddresses>,
    /// `virtualFunctions`: enable the SR-IOV VFs of vGPU GPUs on every node (unless a
    /// matching node entry says otherwise).
    pub(crate) vfs: Option<VfCount>,
    /// `nodeVirtualFunctions`: per node, by label selector.
    pub(crate) node_vfs: Vec<NodeVfs>,
}

/// How many SR-IOV virtual functions hostdev enables on each vGPU GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VfCount {
    /// `all`: `sriov_totalvfs`.
    All,
    /// A count (at least 1).
    Count(u32),
}

impl<'de> Deserialize<'de> for VfCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Word(String),
        }
        let bad = |what: String| {
            de::Error::custom(format!(
                "{what} is not a number of virtual functions: expected `all` or a count from 1 to 65535"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(VfCount::All),
            Raw::Word(w) => Err(bad(format!("{w:?}"))),
            Raw::Count(n) => match u32::try_from(n) {
                Ok(n) if (1..=65535).contains(&n) => Ok(VfCount::Count(n)),
                _ => Err(bad(n.to_string())),
            },
        }
    }
}

/// One `nodeVirtualFunctions` entry.
#[derive(Debug, Clone)]
pub(crate) struct NodeVfs {
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) vfs: VfCount,
}

/// One `nodePassthroughAddresses` entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeAddresses {
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PermittedHostDevices {
    #[serde(default)]
    pub(crate) pci_host_devices: Vec<PciHostDevice>,
    #[serde(default)]
    pub(crate) mediated_devices: Vec<MediatedHostDevice>,
    /// Accepted for compatibility with KubeVirt CRs; hostdev does nothing with USB devices
    /// (parsed, never read).
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) usb: Option<yaml_serde::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PciHostDevice {
    pub(crate) pci_vendor_selector: PciSelector,
    pub(crate) resource_name: ResourceName,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub(crate) external_resource_provider: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MediatedHostDevice {
    pub(crate) mdev_name_selector: MdevNameSelector,
    pub(crate) resource_name: ResourceName,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub(crate) external_resource_provider: bool,
}

/// `vvvv:dddd`, hexadecimal, stored lower-case (KubeVirt matches case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciSelector {
    pub(crate) vendor: String,
    pub(crate) device: String,
}

impl PciSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "pciVendorSelector {s:?} is invalid: expected vendor:device in hexadecimal, e.g. \"10DE:1EB8\""
            )
        };
        let (v, d) = s.split_once(':').ok_or_else(bad)?;
        let hex4 = |x: &str| x.len() == 4 && x.chars().all(|c| c.is_ascii_hexdigit());
        if !hex4(v) || !hex4(d) {
            return Err(bad());
        }
        Ok(PciSelector {
            vendor: v.to_ascii_lowercase(),
            device: d.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for PciSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.vendor, self.device)
    }
}

impl<'de> Deserialize<'de> for PciSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        PciSelector::parse(&s).map_err(de::Error::custom)
    }
}

/// A boolean as KubeVirt's configuration reaches it: `kubectl` reads YAML with go-yaml v2
/// (YAML 1.1), where `yes`/`no`, `on`/`off` and `y`/`n` (in lower, Capitalised or UPPER
/// case) are booleans too; the YAML 1.2 reader here sees them as strings. See
/// docs/configuration.md ("YAML dialect").
fn yaml11_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (true/false; YAML 1.1's yes/no, on/off, y/n are accepted)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True"
                | "TRUE" => Ok(true),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
                | "FALSE" => Ok(false),
                _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_any(V)
}

pub(super) fn yaml11_bool_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    yaml11_bool(d).map(Some)
}

/// A KubeVirt resource name, `domain/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ResourceName(pub String);

impl<'de> Deserialize<'de> for ResourceName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        let ok = match s.split_once('/') {
            Some((domain, name)) => {
                !domain.is_empty()
                    && !name.is_empty()
                    && !name.contains('/')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !ok {
            return Err(de::Error::custom(format!(
                "resourceName {s:?} is invalid: expected domain/name without spaces, e.g. \"nvidia.com/GRID_T4-1Q\""
            )));
        }
        Ok(ResourceName(s))
    }
}

/// An mdev type name selector (matched after KubeVirt's normalization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdevNameSelector(pub String);

impl<'de> Deserialize<'de> for MdevNameSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        if normalize(&s).is_empty() || s.contains('\0') {
            return Err(de::Error::custom(format!(
                "mdevNameSelector {s:?} is invalid: expected a type name such as \"GRID T4-1Q\""
            )));
        }
        Ok(MdevNameSelector(s))
    }
}

/// A desired mdev type (ID such as `nvidia-222`, or a type name). It becomes a sysfs
/// directory name, so anything that could escape that directory is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeName(pub String);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        if s.trim().is_empty() {
            return Err(de::Error::custom("empty mdev type name: use a type ID such as \"nvidia-222\" (see `hostdev list-types`)"));
        }
        if s.contains('/') || s.contains('\0') || s == "." || s == ".." {
            return Err(de::Error::custom(format!(
                "invalid mdev type {s:?}: a type is a sysfs directory name and may not contain '/', NUL, or be '.' or '..'"
            )));
        }
        Ok(TypeName(s))
    }
}

/// A string, and only a string: KubeVirt's CRD fields (type names, selectors, resource
/// names, node labels) are strings, so a plain `5`, `true`, `1.5` or `null`, which the
/// YAML reader would otherwise hand over as text (or as ""), is an error; quote it.
fn strict_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a string (KubeVirt's field is a string: quote a number or boolean, e.g. \"222\")",
            )
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
    }
    d.deserialize_any(V)
}

/// A label key in a nodeSelector (Kubernetes label syntax, see [`label_key_error`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LabelKey(pub String);

impl<'de> Deserialize<'de> for LabelKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        match label_key_error(&s) {
            Some(why) => Err(de::Error::custom(format!(
                "invalid nodeSelector key: {why}"
            ))),
            None => Ok(LabelKey(s)),
        }
    }
}

/// A label value in a nodeSelector (Kubernetes label syntax, see [`label_value_error`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LabelValue(pub String);

impl<'de> Deserialize<'de> for LabelValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = strict_string(d)?;
        match label_value_error(&s) {
            Some(why) => Err(de::Error::custom(format!(
                "invalid nodeSelector value: {why}"
            ))),
            None => Ok(LabelValue(s)),
        }
    }
}

/// A PCI address in the configuration (`0000:3b:00.0`, or `3b:00.0`), stored canonical.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PciAddress(pub String);

impl<'de> Deserialize<'de> for PciAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match pci_address(&s) {
            Ok(a) if !s.chars().any(char::is_control) => Ok(PciAddress(a)),
            Err(Some(why)) => Err(de::Error::custom(why)),
            _ => Err(de::Error::custom(format!(
                "{s:?} is not a PCI address: expected domain:bus:device.function, e.g. \"0000:3b:00.0\""
            ))),
        }
    }
}

/// KubeVirt's normalization of type names and selectors: every space becomes `_`,
/// then surrounding whitespace is trimmed (`"GRID T4-1B\n"` → `"GRID_T4-1B"`).
pub fn normalize(s: &str) -> String {
    s.replace(' ', "_").trim().to_string()
}
