//! The configuration file: KubeVirt's `mediatedDevicesConfiguration` and
//! `permittedHostDevices`, in any of the four accepted shapes (docs/configuration.md), validated
//! strictly before anything on the host is read. Errors name file, line, column and field.
//! The name rules the command line shares (PCI addresses, the hostname label) are in
//! `config/names.rs`; the file's bytes are handed in ([`load_with`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::error::{fail, Code};

mod depth;
mod names;

pub use names::{is_pci_address, pci_address, HOSTNAME_LABEL};

/// Where the configuration came from, for messages.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stdin => f.write_str("<stdin>"),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub source: Option<String>,
    pub mdev: Option<MdevConfig>,
    pub permitted: PermittedHostDevices,
    /// hostdev's own extensions (the top-level `hostdev:` section; KubeVirt has none).
    pub hostdev: HostdevExtensions,
    /// Non-fatal findings (deprecated spellings), printed on stderr by the caller.
    pub warnings: Vec<String>,
}

/// `mediatedDevicesConfiguration`, with the deprecated spelling already resolved.
#[derive(Debug, Clone, Default)]
pub struct MdevConfig {
    pub enabled: bool,
    pub types: Vec<String>,
    pub node_types: Vec<NodeTypes>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeTypes {
    pub node_selector: BTreeMap<String, String>,
    pub types: Vec<String>,
}

/// The top-level `hostdev:` section: what KubeVirt's CR cannot say
/// (docs/kubevirt-differences.md).
#[derive(Debug, Clone, Default)]
pub struct HostdevExtensions {
    /// `passthroughAddresses`: devices for passthrough on every node (unless a matching
    /// node entry names its own).
    pub passthrough: Vec<String>,
    /// `nodePassthroughAddresses`: per node, by label selector.
    pub node_passthrough: Vec<NodeAddresses>,
}

/// One `nodePassthroughAddresses` entry.
#[derive(Debug, Clone, Default)]
pub struct NodeAddresses {
    pub node_selector: BTreeMap<String, String>,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PermittedHostDevices {
    #[serde(default)]
    pub pci_host_devices: Vec<PciHostDevice>,
    #[serde(default)]
    pub mediated_devices: Vec<MediatedHostDevice>,
    /// Accepted for compatibility with KubeVirt CRs; hostdev does nothing with USB devices.
    #[serde(default)]
    pub usb: Option<yaml_serde::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PciHostDevice {
    pub pci_vendor_selector: PciSelector,
    pub resource_name: ResourceName,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub external_resource_provider: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MediatedHostDevice {
    pub mdev_name_selector: MdevNameSelector,
    pub resource_name: ResourceName,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub external_resource_provider: bool,
}

/// `vvvv:dddd`, hexadecimal, stored lower-case (KubeVirt matches case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciSelector {
    pub vendor: String,
    pub device: String,
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

fn yaml11_bool_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    yaml11_bool(d).map(Some)
}

/// A KubeVirt resource name, `domain/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceName(pub String);

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
pub struct MdevNameSelector(pub String);

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
pub struct TypeName(pub String);

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
pub struct LabelKey(pub String);

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
pub struct LabelValue(pub String);

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

/// Kubernetes' name part of a label key and a label value: at most 63 characters, letters,
/// digits, `-`, `_` and `.`, beginning and ending with a letter or digit.
fn is_label_name(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    s.len() <= 63
        && s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || "-_.".contains(c))
}

/// A DNS subdomain (RFC 1123) as Kubernetes checks a label key's prefix: at most 253
/// characters, dot-separated parts of lower-case letters, digits and `-`, each beginning
/// and ending with a letter or digit.
fn is_dns_subdomain(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.len() <= 253
        && s.split('.').all(|part| {
            part.starts_with(alnum)
                && part.ends_with(alnum)
                && part.chars().all(|c| alnum(c) || c == '-')
        })
}

/// Why `k` is not a Kubernetes label key (`[prefix/]name`: the name as
/// [`is_label_name`], the optional prefix a DNS subdomain); `None` when it is one.
pub fn label_key_error(k: &str) -> Option<String> {
    let ok = match k.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(k),
    };
    (!ok).then(|| {
        format!(
            "{k:?} is not a Kubernetes label key: expected [PREFIX/]NAME, NAME at most 63 \
             letters, digits, '-', '_' or '.' beginning and ending with a letter or digit, \
             PREFIX a DNS subdomain (e.g. kubernetes.io/hostname, topology.kubernetes.io/zone)"
        )
    })
}

/// Why `v` is not a Kubernetes label value (empty, or as [`is_label_name`]); `None` when
/// it is one.
pub fn label_value_error(v: &str) -> Option<String> {
    (!v.is_empty() && !is_label_name(v)).then(|| {
        format!(
            "{v:?} is not a Kubernetes label value: expected at most 63 letters, digits, \
             '-', '_' or '.' beginning and ending with a letter or digit (or \"\")"
        )
    })
}

/// A PCI address in the configuration (`0000:3b:00.0`, or `3b:00.0`), stored canonical.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PciAddress(pub String);

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

// ---- the raw YAML model ----------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMdevConfig {
    #[serde(default, deserialize_with = "yaml11_bool_opt")]
    enabled: Option<bool>,
    #[serde(rename = "mediatedDeviceTypes")]
    current: Option<Vec<TypeName>>,
    #[serde(rename = "mediatedDevicesTypes")]
    deprecated: Option<Vec<TypeName>>,
    #[serde(rename = "nodeMediatedDeviceTypes", default)]
    node: Vec<RawNodeTypes>,
}

/// The fields of `mediatedDevicesConfiguration`, for "did you mean".
const MDEV_FIELDS: &[&str] = &[
    "enabled",
    "mediatedDeviceTypes",
    "mediatedDevicesTypes",
    "nodeMediatedDeviceTypes",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeTypes {
    #[serde(rename = "nodeSelector")]
    node_selector: Option<BTreeMap<LabelKey, LabelValue>>,
    #[serde(rename = "mediatedDeviceTypes")]
    current: Option<Vec<TypeName>>,
    #[serde(rename = "mediatedDevicesTypes")]
    deprecated: Option<Vec<TypeName>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawHostdev {
    #[serde(default)]
    passthrough_addresses: Vec<PciAddress>,
    #[serde(default)]
    node_passthrough_addresses: Vec<RawNodeAddresses>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawNodeAddresses {
    node_selector: Option<BTreeMap<LabelKey, LabelValue>>,
    addresses: Vec<PciAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfiguration {
    mediated_devices_configuration: Option<RawMdevConfig>,
    permitted_host_devices: Option<PermittedHostDevices>,
}

#[derive(Debug, Default, Deserialize)]
struct RawSpec {
    configuration: Option<RawConfiguration>,
}

/// Any of the four shapes; which one is decided by content.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTop {
    api_version: Option<yaml_serde::Value>,
    kind: Option<String>,
    spec: Option<RawSpec>,
    configuration: Option<RawConfiguration>,
    mediated_devices_configuration: Option<RawMdevConfig>,
    permitted_host_devices: Option<PermittedHostDevices>,
    /// hostdev's extensions, beside any of the four shapes.
    hostdev: Option<RawHostdev>,
    #[serde(flatten)]
    other: BTreeMap<String, yaml_serde::Value>,
}

const TOP_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "status",
    "configuration",
    "mediatedDevicesConfiguration",
    "permittedHostDevices",
    "hostdev",
];

// ---- loading -------------------------------------------------------------------

/// The largest configuration hostdev reads: 1 MiB, far above any real one (a config
/// listing every NVIDIA type of every GPU is under 100 KiB).
pub const CONFIG_MAX: usize = 1 << 20;

/// Read and validate the configuration, reading the file with `read` (`Context::load_config`
/// passes the root's read for the default configuration, `host::root::read_user_file` for
/// `-f FILE`, where `path` `-` reads stdin). At most [`CONFIG_MAX`] bytes; a FIFO, a device
/// or a directory is refused without blocking.
pub fn load_with(
    path: &Path,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> anyhow::Result<Config> {
    let stdin = path == Path::new("-");
    let shown = if stdin {
        "configuration from stdin".to_string()
    } else {
        format!("configuration file {}", path.display())
    };
    let bytes = match read(path) {
        Ok(b) => b,
        Err(e) if crate::error::is_too_large(&e) => {
            return Err(fail(Code::Config, format!("the {shown} is {e}")))
        }
        Err(e) if !stdin && e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                Code::NotFound,
                format!(
                    "configuration file {} not found: create it (see `man hostdev` or the README's config reference) or pass -f FILE",
                    path.display()
                ),
            ))
        }
        Err(e) => return Err(fail(Code::NotFound, format!("cannot read {shown}: {e}"))),
    };
    let source = if stdin {
        Source::Stdin
    } else {
        Source::File(path.to_path_buf())
    };
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(&source, e.as_bytes(), e.utf8_error()))?;
    parse(&text, &source)
}

/// Text that is not UTF-8 is an invalid configuration (65), at the line and column of the
/// first bad byte (the column counts the characters before it on its line).
fn not_utf8(source: &Source, bytes: &[u8], e: std::str::Utf8Error) -> anyhow::Error {
    let at = e.valid_up_to();
    // The prefix up to `at` is valid UTF-8 by definition.
    let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    fail(
        Code::Config,
        format!(
            "{source}:{line}:{col}: not UTF-8 (byte 0x{:02x} at offset {at}): the configuration must be UTF-8 text",
            bytes.get(at).copied().unwrap_or_default()
        ),
    )
}

/// Parse and validate configuration text; `source` names it in messages.
pub fn parse(text: &str, source: &Source) -> anyhow::Result<Config> {
    let mut raw = parse_raw(text, source)?;
    let hostdev = raw.hostdev.take().map(extensions).unwrap_or_default();
    let (prefix, conf) = configuration_shape(raw, text, source)?;

    let mut warnings = Vec::new();
    let mdev = conf
        .mediated_devices_configuration
        .map(|m| mdev_config(m, prefix, &mut warnings));
    let permitted = conf.permitted_host_devices.unwrap_or_default();
    check_resource_names(&permitted, prefix, text, source)?;

    Ok(Config {
        source: Some(source.to_string()),
        mdev,
        permitted,
        hostdev,
        warnings,
    })
}

fn extensions(raw: RawHostdev) -> HostdevExtensions {
    HostdevExtensions {
        passthrough: raw.passthrough_addresses.into_iter().map(|a| a.0).collect(),
        node_passthrough: raw
            .node_passthrough_addresses
            .into_iter()
            .map(|n| NodeAddresses {
                node_selector: n
                    .node_selector
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.0, v.0))
                    .collect(),
                addresses: n.addresses.into_iter().map(|a| a.0).collect(),
            })
            .collect(),
    }
}

/// An invalid configuration (65) at `line`:`col` of `source`.
fn config_error(source: &Source, line: usize, col: usize, msg: String) -> anyhow::Error {
    fail(Code::Config, format!("{source}:{line}:{col}: {msg}"))
}

/// The YAML document, deserialized: refuses empty and too deeply nested text first.
fn parse_raw(text: &str, source: &Source) -> anyhow::Result<RawTop> {
    let cfg_err = |line: usize, col: usize, msg: String| config_error(source, line, col, msg);
    if text.trim().is_empty() {
        return Err(cfg_err(
            1,
            1,
            "the configuration is empty: add mediatedDevicesConfiguration and/or permittedHostDevices".into(),
        ));
    }
    if let Some((line, col)) = depth::too_deep(text) {
        return Err(cfg_err(
            line + 1,
            col + 1,
            format!(
                "nested more than {} levels deep: a configuration is a few levels deep",
                depth::MAX_DEPTH
            ),
        ));
    }
    let yaml_err = |e: yaml_serde::Error, fallback: (usize, usize)| {
        let mut msg = e.to_string();
        if let Some(i) = msg.rfind(" at line ") {
            msg.truncate(i);
        }
        let (line, col) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .or_else(|| unknown_field(&msg).and_then(|f| find_key(text, f)))
            .unwrap_or(fallback);
        cfg_err(line, col, with_hint(&msg))
    };
    let raw: RawTop = match with_merge_keys(text) {
        // Merge keys are resolved on the document tree, whose errors carry no position: the
        // unknown field's line, else the first `<<`.
        Some(value) => {
            let first = find_merge_key(text).unwrap_or((1, 1));
            let value = value.map_err(|e| yaml_err(e, first))?;
            yaml_serde::from_value(value).map_err(|e| yaml_err(e, first))?
        }
        None => yaml_serde::from_str(text).map_err(|e| yaml_err(e, (1, 1)))?,
    };
    Ok(raw)
}

/// Decide the shape: a KubeVirt CR, `spec`, `configuration`, or the bare configuration.
/// Returns the field-path prefix for messages and the one configuration given.
fn configuration_shape(
    raw: RawTop,
    text: &str,
    source: &Source,
) -> anyhow::Result<(&'static str, RawConfiguration)> {
    let cfg_err = |line: usize, col: usize, msg: String| config_error(source, line, col, msg);
    let is_cr = raw.kind.is_some() || raw.api_version.is_some();
    if let Some(kind) = &raw.kind {
        if kind != "KubeVirt" {
            return Err(cfg_err(1, 1, format!("kind: {kind:?} is not a KubeVirt CR: use kind: KubeVirt, or give just the configuration")));
        }
    }
    if !is_cr {
        if let Some(unknown) = raw.other.keys().find(|k| !TOP_FIELDS.contains(&k.as_str())) {
            let (line, col) = find_key(text, unknown).unwrap_or((1, 1));
            return Err(cfg_err(
                line,
                col,
                format!(
                    "unknown top-level field `{unknown}`{}; expected a KubeVirt CR, `spec`, `configuration`, or `mediatedDevicesConfiguration`/`permittedHostDevices`",
                    did_you_mean(unknown, TOP_FIELDS)
                ),
            ));
        }
    }
    // (field-path prefix for messages, the configuration)
    let mut shapes: Vec<(&'static str, RawConfiguration)> = Vec::new();
    if let Some(spec) = raw.spec {
        shapes.push((
            "spec.configuration.",
            spec.configuration.unwrap_or_default(),
        ));
    }
    if let Some(c) = raw.configuration {
        shapes.push(("configuration.", c));
    }
    if raw.mediated_devices_configuration.is_some() || raw.permitted_host_devices.is_some() {
        shapes.push((
            "",
            RawConfiguration {
                mediated_devices_configuration: raw.mediated_devices_configuration,
                permitted_host_devices: raw.permitted_host_devices,
            },
        ));
    }
    if shapes.len() > 1 {
        return Err(cfg_err(1, 1, "the configuration is given in more than one place (spec.configuration, configuration, top level): keep exactly one".into()));
    }
    shapes.pop().ok_or_else(|| {
        cfg_err(
            1,
            1,
            "no mediatedDevicesConfiguration or permittedHostDevices found: nothing to do".into(),
        )
    })
}

/// `mediatedDevicesConfiguration`, with the deprecated lists resolved (warnings for them).
fn mdev_config(m: RawMdevConfig, prefix: &str, warnings: &mut Vec<String>) -> MdevConfig {
    let types = pick(
        m.current,
        m.deprecated,
        &format!("{prefix}mediatedDevicesConfiguration.mediatedDevicesTypes"),
        warnings,
    );
    let node_types = m
        .node
        .into_iter()
        .enumerate()
        .map(|(i, n)| NodeTypes {
            node_selector: n
                .node_selector
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.0, v.0))
                .collect(),
            types: pick(
                n.current,
                n.deprecated,
                &format!("{prefix}mediatedDevicesConfiguration.nodeMediatedDeviceTypes[{i}].mediatedDevicesTypes"),
                warnings,
            ),
        })
        .collect();
    MdevConfig {
        enabled: m.enabled.unwrap_or(true),
        types,
        node_types,
    }
}

/// Cross-entry checks: duplicate resource names.
fn check_resource_names(
    permitted: &PermittedHostDevices,
    prefix: &str,
    text: &str,
    source: &Source,
) -> anyhow::Result<()> {
    check_duplicates(
        permitted
            .pci_host_devices
            .iter()
            .map(|d| &d.resource_name.0),
        &format!("{prefix}permittedHostDevices.pciHostDevices"),
        text,
        source,
    )?;
    check_duplicates(
        permitted
            .mediated_devices
            .iter()
            .map(|d| &d.resource_name.0),
        &format!("{prefix}permittedHostDevices.mediatedDevices"),
        text,
        source,
    )
}

/// KubeVirt's precedence: the deprecated list is used only when the current one is empty.
fn pick(
    current: Option<Vec<TypeName>>,
    deprecated: Option<Vec<TypeName>>,
    deprecated_path: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let current = current.unwrap_or_default();
    let deprecated = deprecated.unwrap_or_default();
    if !deprecated.is_empty() {
        if current.is_empty() {
            warnings.push(format!(
                "{deprecated_path} is deprecated, use mediatedDeviceTypes"
            ));
        } else {
            warnings.push(format!(
                "{deprecated_path} is deprecated and ignored because mediatedDeviceTypes is set"
            ));
        }
    }
    let list = if current.is_empty() {
        deprecated
    } else {
        current
    };
    list.into_iter().map(|t| t.0).collect()
}

fn check_duplicates<'a>(
    names: impl Iterator<Item = &'a String>,
    path: &str,
    text: &str,
    source: &Source,
) -> anyhow::Result<()> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in names.enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            let (line, col) =
                find_value_occurrence(text, "resourceName", name, 2).unwrap_or((1, 1));
            return Err(fail(
                Code::Config,
                format!(
                    "{source}:{line}:{col}: {path}[{i}].resourceName: duplicate resource name {name:?} (also used by entry {first}); give each entry its own resourceName"
                ),
            ));
        }
    }
    Ok(())
}

/// `Some(document with its merge keys applied)` when the text uses YAML merge keys
/// (`<<: *anchor`), which KubeVirt's YAML 1.1 reader resolves; `None` otherwise (the common
/// case: typed parsing with exact error positions).
fn with_merge_keys(text: &str) -> Option<Result<yaml_serde::Value, yaml_serde::Error>> {
    if !text.contains("<<") {
        return None;
    }
    let mut value: yaml_serde::Value = yaml_serde::from_str(text).ok()?;
    if !has_merge_key(&value) {
        return None;
    }
    // Each pass resolves one level of merges within merged mappings; nesting is bounded.
    for _ in 0..depth::MAX_DEPTH {
        if !has_merge_key(&value) {
            break;
        }
        if let Err(e) = value.apply_merge() {
            return Some(Err(e));
        }
    }
    Some(Ok(value))
}

fn has_merge_key(v: &yaml_serde::Value) -> bool {
    match v {
        yaml_serde::Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(v)),
        yaml_serde::Value::Sequence(s) => s.iter().any(has_merge_key),
        yaml_serde::Value::Tagged(t) => has_merge_key(&t.value),
        _ => false,
    }
}

fn find_merge_key(text: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find("<<:").map(|c| (i + 1, c + 1)))
}

/// The field of serde's "unknown field `x`" message.
fn unknown_field(msg: &str) -> Option<&str> {
    let rest = &msg[msg.find("unknown field `")? + "unknown field `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// Line and column (1-based) of the first `key:`.
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let t2 = t.trim_start_matches("- ");
        if t2.starts_with(&format!("{key}:")) || t2.starts_with(&format!("\"{key}\":")) {
            return Some((i + 1, line.len() - t2.len() + 1));
        }
    }
    None
}

/// Line and column of the n-th (1-based) `key: value` line.
fn find_value_occurrence(text: &str, key: &str, value: &str, n: usize) -> Option<(usize, usize)> {
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        if let Some(k) = line.find(&format!("{key}:")) {
            if line[k..].contains(value) {
                count += 1;
                if count == n {
                    return Some((i + 1, k + 1));
                }
            }
        }
    }
    None
}

/// Add "did you mean" to serde's unknown-field messages.
fn with_hint(msg: &str) -> String {
    let Some(start) = msg.find("unknown field `") else {
        return msg.to_string();
    };
    let rest = &msg[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return msg.to_string();
    };
    let field = &rest[..end];
    let expected: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
    let candidates: Vec<&str> = if expected.is_empty() {
        MDEV_FIELDS.to_vec()
    } else {
        expected
    };
    format!("{msg}{}", did_you_mean(field, &candidates))
}

fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---- node selection (docs/planner.md) ---------------------------------------------------

/// The node identity used for `nodeSelector` matching.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Node {
    /// `kubernetes.io/hostname=<name>` is always set; extra labels are added beside it.
    pub fn new(name: &str, extra: &[(String, String)]) -> Self {
        let mut labels = BTreeMap::new();
        for (k, v) in extra {
            labels.insert(k.clone(), v.clone());
        }
        // Last, so that no extra label can change it (the CLI refuses one anyway).
        labels.insert(HOSTNAME_LABEL.to_string(), name.to_string());
        Node {
            name: name.to_string(),
            labels,
        }
    }

    fn matches(&self, selector: &BTreeMap<String, String>) -> bool {
        selector
            .iter()
            .all(|(k, v)| self.labels.get(k).is_some_and(|l| l == v))
    }
}

/// What the configuration asks of this node's mdevs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// No `mediatedDevicesConfiguration`: nothing created or removed.
    NotConfigured,
    /// `enabled: false`: nothing created or removed.
    Disabled,
    /// The ordered, de-duplicated list for this node (may be empty: remove everything removable).
    Types(Vec<String>),
}

impl Config {
    /// The node's desired list: the union of every matching node entry (entry order, then
    /// list order, duplicates dropped); if that is empty, the global list.
    pub fn desired_for(&self, node: &Node) -> Desired {
        let Some(m) = &self.mdev else {
            return Desired::NotConfigured;
        };
        if !m.enabled {
            return Desired::Disabled;
        }
        // Linear: a set remembers what is already in the list (100,000 types took 25 s).
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out: Vec<String> = Vec::new();
        for t in m
            .node_types
            .iter()
            .filter(|e| node.matches(&e.node_selector))
            .flat_map(|e| &e.types)
        {
            if seen.insert(t) {
                out.push(t.clone());
            }
        }
        if out.is_empty() {
            for t in &m.types {
                if seen.insert(t) {
                    out.push(t.clone());
                }
            }
        }
        Desired::Types(out)
    }

    /// The addresses this node keeps for passthrough (`hostdev.nodePassthroughAddresses`
    /// of every matching entry; if none match, `hostdev.passthroughAddresses`), ascending.
    pub fn passthrough_for(&self, node: &Node) -> Vec<String> {
        let mut out: std::collections::BTreeSet<String> = self
            .hostdev
            .node_passthrough
            .iter()
            .filter(|e| node.matches(&e.node_selector))
            .flat_map(|e| e.addresses.iter().cloned())
            .collect();
        if out.is_empty() {
            out = self.hostdev.passthrough.iter().cloned().collect();
        }
        out.into_iter().collect()
    }

    /// Normalized `mdevNameSelector`s of external providers: their mdevs are never removed.
    pub fn external_mdev_selectors(&self) -> Vec<String> {
        self.permitted
            .mediated_devices
            .iter()
            .filter(|d| d.external_resource_provider)
            .map(|d| normalize(&d.mdev_name_selector.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        let e = parse(yaml, &Source::File("c.yaml".into())).expect_err("must fail");
        assert_eq!(crate::error::exit_code(&e).as_i32(), 65, "{e}");
        e.to_string()
    }

    fn ok(yaml: &str) -> Config {
        parse(yaml, &Source::File("c.yaml".into())).expect("valid")
    }

    #[test]
    fn four_shapes_are_equivalent() {
        let body = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\npermittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10DE:1EB8\n    resourceName: nvidia.com/T4\n";
        let indent = |n: usize| {
            body.lines()
                .map(|l| format!("{}{l}\n", " ".repeat(n)))
                .collect::<String>()
        };
        let shapes = [
            format!("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata: {{name: kubevirt}}\nspec:\n  configuration:\n{}", indent(4)),
            format!("spec:\n  configuration:\n{}", indent(4)),
            format!("configuration:\n{}", indent(2)),
            body.to_string(),
        ];
        for s in &shapes {
            let c = ok(s);
            assert_eq!(
                c.desired_for(&Node::new("n", &[])),
                Desired::Types(vec!["nvidia-222".into()]),
                "{s}"
            );
            assert_eq!(
                c.permitted.pci_host_devices[0]
                    .pci_vendor_selector
                    .to_string(),
                "10de:1eb8"
            );
        }
    }

    #[test]
    fn other_kubevirt_fields_are_ignored() {
        let c = ok("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nspec:\n  certificateRotateStrategy: {}\n  configuration:\n    developerConfiguration: {featureGates: [GPU]}\n    mediatedDevicesConfiguration: {mediatedDeviceTypes: [a]}\n");
        assert!(c.mdev.is_some());
    }

    #[test]
    fn deprecated_spelling_used_only_when_current_is_empty() {
        let c = ok("mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [old]\n");
        assert_eq!(c.mdev.as_ref().unwrap().types, vec!["old"]);
        assert_eq!(c.warnings, vec!["mediatedDevicesConfiguration.mediatedDevicesTypes is deprecated, use mediatedDeviceTypes"]);
        let c = ok("mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [old]\n  mediatedDeviceTypes: [new]\n");
        assert_eq!(c.mdev.as_ref().unwrap().types, vec!["new"]);
        assert_eq!(c.warnings.len(), 1);
        let c = ok("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {a: b}\n    mediatedDevicesTypes: [old]\n");
        assert_eq!(c.mdev.as_ref().unwrap().node_types[0].types, vec!["old"]);
        assert_eq!(
            c.warnings,
            vec!["mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].mediatedDevicesTypes is deprecated, use mediatedDeviceTypes"]
        );
    }

    #[test]
    fn unknown_field_names_line_column_and_suggests() {
        let e = err("spec:\n  configuration:\n    mediatedDevicesConfiguration:\n      mediatedDeviceType: [nvidia-222]\n");
        assert!(e.starts_with("c.yaml:4:7: spec.configuration.mediatedDevicesConfiguration: unknown field `mediatedDeviceType`"), "{e}");
        assert!(e.ends_with("(did you mean `mediatedDeviceTypes`?)"), "{e}");
        let e = err("mediatedDevicesConfig:\n  mediatedDeviceTypes: [a]\n");
        assert_eq!(e, "c.yaml:1:1: unknown top-level field `mediatedDevicesConfig` (did you mean `mediatedDevicesConfiguration`?); expected a KubeVirt CR, `spec`, `configuration`, or `mediatedDevicesConfiguration`/`permittedHostDevices`");
        let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: a.com/b\n    externalResourceProvidr: true\n");
        assert!(e.contains("unknown field `externalResourceProvidr`"), "{e}");
        assert!(e.contains("did you mean `externalResourceProvider`"), "{e}");
    }

    #[test]
    fn wrong_types_are_reported_with_location() {
        let e = err("mediatedDevicesConfiguration:\n  enabled: yes-please\n");
        assert!(
            e.starts_with("c.yaml:2:12: mediatedDevicesConfiguration.enabled: invalid type"),
            "{e}"
        );
        let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: nvidia-222\n");
        assert!(e.contains("mediatedDevicesConfiguration.mediatedDeviceTypes: invalid type: string \"nvidia-222\", expected a sequence"), "{e}");
        let e = err("mediatedDevicesConfiguration: [\n");
        assert!(e.starts_with("c.yaml:"), "{e}");
    }

    #[test]
    fn bad_selectors_and_names_are_refused() {
        let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:1EB\"\n    resourceName: a.com/b\n");
        assert!(
            e.contains("pciVendorSelector \"10DE:1EB\" is invalid"),
            "{e}"
        );
        assert!(e.starts_with("c.yaml:3:"), "{e}");
        let e = err("permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n    resourceName: GRID_T4-1Q\n");
        assert!(
            e.contains("resourceName \"GRID_T4-1Q\" is invalid: expected domain/name"),
            "{e}"
        );
        let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"../x\"]\n");
        assert!(e.contains("may not contain '/'"), "{e}");
        let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"..\"]\n");
        assert!(e.contains("invalid mdev type \"..\""), "{e}");
        let e = err("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {\"bad key\": x}\n");
        assert!(
            e.contains("invalid nodeSelector key: \"bad key\" is not a Kubernetes label key"),
            "{e}"
        );
    }

    /// Issue 20 item 9: a null selector value and an empty key were a selector that never
    /// matched (the plan then removed every removable mdev); numbers and booleans where
    /// KubeVirt's CRD has strings were taken as text. Each is 65 at its line and column,
    /// naming the field.
    #[test]
    fn selectors_are_label_syntax_and_strings_are_strings() {
        let sel = |s: &str| {
            err(&format!(
                "mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector:\n      {s}\n    mediatedDeviceTypes: [nvidia-223]\n"
            ))
        };
        let field = "mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelector";
        let e = sel("kubernetes.io/hostname: null");
        assert!(
            e.starts_with(&format!("c.yaml:4:31: {field}.kubernetes.io/hostname: invalid type: unit value, expected a string")),
            "{e}"
        );
        let e = sel("\"\": \"\"");
        assert!(
            e.starts_with(&format!(
                "c.yaml:4:7: {field}: invalid nodeSelector key: \"\" is not a Kubernetes label key"
            )),
            "{e}"
        );
        let e = sel("zone: 5");
        assert!(
            e.starts_with(&format!(
                "c.yaml:4:13: {field}.zone: invalid type: integer `5`, expected a string"
            )),
            "{e}"
        );
        for bad_key in [
            "-a",
            "a_",
            "Kubernetes.io/x",
            "x/",
            "/x",
            "a/b/c",
            &"k".repeat(64),
        ] {
            let e = sel(&format!("\"{bad_key}\": x"));
            assert!(
                e.contains("is not a Kubernetes label key"),
                "{bad_key}: {e}"
            );
        }
        for bad_value in ["a b", "-x", "x.", &"v".repeat(64), "\\u202e"] {
            let e = sel(&format!("zone: \"{bad_value}\""));
            assert!(
                e.contains("is not a Kubernetes label value"),
                "{bad_value}: {e}"
            );
        }
        // what Kubernetes accepts: an empty value, a prefixed key, dots and underscores
        let c = ok("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {kubernetes.io/hostname: node-1.example.com, topology.kubernetes.io/zone: \"\", my_label.x: A-1}\n    mediatedDeviceTypes: [\"222\"]\n");
        let n = &c.mdev.as_ref().unwrap().node_types[0];
        assert_eq!(n.node_selector["topology.kubernetes.io/zone"], "");
        assert_eq!(n.types, vec!["222"]);
        let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [222]\n");
        assert!(
            e.starts_with("c.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: invalid type: integer `222`, expected a string"),
            "{e}"
        );
        let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [true]\n");
        assert!(
            e.contains("invalid type: boolean `true`, expected a string"),
            "{e}"
        );
        let e = err("permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: 1.5\n    resourceName: a.com/b\n");
        assert!(
            e.contains("permittedHostDevices.mediatedDevices[0].mdevNameSelector: invalid type: floating point `1.5`, expected a string"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_resource_names_are_refused_at_the_second_entry() {
        let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: a.com/x\n  - pciVendorSelector: 10de:1db4\n    resourceName: a.com/x\n");
        assert_eq!(e, "c.yaml:6:5: permittedHostDevices.pciHostDevices[1].resourceName: duplicate resource name \"a.com/x\" (also used by entry 0); give each entry its own resourceName");
    }

    #[test]
    fn empty_or_meaningless_documents_are_refused() {
        assert!(err("").contains("the configuration is empty"));
        assert!(err("kind: KubeVirt\napiVersion: kubevirt.io/v1\n")
            .contains("no mediatedDevicesConfiguration or permittedHostDevices"));
        assert!(err("kind: Pod\n").contains("is not a KubeVirt CR"));
        assert!(err("configuration: {}\nmediatedDevicesConfiguration: {}\n")
            .contains("more than one place"));
    }

    /// Issue 12 item 5: 100,000 desired types (each twice) are de-duplicated in order, in
    /// linear time (the Vec::contains version took 25 s; bench/large-input.sh times it).
    #[test]
    fn a_hundred_thousand_desired_types_dedup_in_order() {
        let n = 100_000;
        let items: String = (0..2 * n)
            .map(|i| format!("  - nvidia-{}\n", i % n))
            .collect();
        let cfg = ok(&format!(
            "mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n{items}"
        ));
        let Desired::Types(types) = cfg.desired_for(&Node::new("n", &[])) else {
            panic!("types expected");
        };
        assert_eq!(types.len(), n);
        assert_eq!(types[0], "nvidia-0");
        assert_eq!(types[n - 1], format!("nvidia-{}", n - 1));
    }

    /// Issue 12 item 5: absurd nesting is refused with exit 65 and its position (it took
    /// seconds per 40 KB, quadratic, inside libyaml).
    #[test]
    fn absurd_nesting_is_refused_with_a_position() {
        let e = err(&format!("a: {}", "[".repeat(200_000)));
        assert_eq!(
            e,
            "c.yaml:1:67: nested more than 64 levels deep: a configuration is a few levels deep"
        );
    }

    /// Issue 12 item 10: non-UTF-8 text is an invalid configuration (65, was 66) with the
    /// line and column of the first bad byte, from a file and from stdin alike.
    #[test]
    fn non_utf8_is_65_with_a_position() {
        let bytes =
            b"mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\xc3\xa9, nvi\xffdia]\n";
        for path in ["c.yaml", "-"] {
            let e = load_with(Path::new(path), &|_| Ok(bytes.to_vec())).unwrap_err();
            assert_eq!(crate::error::exit_code(&e).as_i32(), 65, "{e}");
            assert!(
                e.to_string()
                    .ends_with(":2:31: not UTF-8 (byte 0xff at offset 61): the configuration must be UTF-8 text"),
                "{e}"
            );
        }
    }

    /// Issue 12 item 10 (YAML parity): KubeVirt's reader (go-yaml v2, YAML 1.1) takes
    /// yes/no, on/off, y/n as booleans; so does hostdev, for its boolean fields.
    #[test]
    fn yaml_1_1_booleans_are_accepted() {
        let node = Node::new("n", &[]);
        for (word, on) in [
            ("yes", true),
            ("No", false),
            ("ON", true),
            ("off", false),
            ("y", true),
            ("N", false),
            ("True", true),
        ] {
            let cfg = ok(&format!(
                "mediatedDevicesConfiguration:\n  enabled: {word}\n  mediatedDeviceTypes: [nvidia-222]\npermittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n    externalResourceProvider: {word}\n"
            ));
            assert_eq!(cfg.desired_for(&node) != Desired::Disabled, on, "{word}");
            assert_eq!(
                cfg.permitted.mediated_devices[0].external_resource_provider, on,
                "{word}"
            );
        }
        let e = err("mediatedDevicesConfiguration:\n  enabled: yes-please\n");
        assert!(e.starts_with("c.yaml:2:12: mediatedDevicesConfiguration.enabled: invalid type: string \"yes-please\", expected a boolean"), "{e}");
    }

    /// Issue 12 item 10 (YAML parity): merge keys (`<<: *anchor`), which KubeVirt's reader
    /// resolves, are resolved (explicit keys win), also merges inside merged mappings.
    #[test]
    fn merge_keys_are_resolved() {
        let cfg = ok("mediatedDevicesConfiguration:
  nodeMediatedDeviceTypes:
  - &n1
    nodeSelector: {kubernetes.io/hostname: node1}
    mediatedDeviceTypes: [nvidia-222]
  - &n2
    <<: *n1
    nodeSelector: {kubernetes.io/hostname: node2}
  - <<: [*n2]
    nodeSelector: {kubernetes.io/hostname: node3}
permittedHostDevices:
  pciHostDevices:
  - &t4
    pciVendorSelector: 10DE:1EB8
    resourceName: nvidia.com/T4
  - <<: *t4
    resourceName: nvidia.com/T4-again
");
        for n in ["node1", "node2", "node3"] {
            assert_eq!(
                cfg.desired_for(&Node::new(n, &[])),
                Desired::Types(vec!["nvidia-222".into()]),
                "{n}"
            );
        }
        assert_eq!(
            cfg.permitted.pci_host_devices[1].pci_vendor_selector.device,
            "1eb8"
        );
        assert_eq!(
            cfg.permitted.pci_host_devices[1].resource_name.0,
            "nvidia.com/T4-again"
        );
        // An unknown field in a merged document is still named with its line.
        let e = err("permittedHostDevices:\n  pciHostDevices:\n  - &a\n    pciVendorSelector: 10de:1eb8\n    resourceName: a.com/b\n  - <<: *a\n    resourceNam: a.com/c\n");
        assert!(
            e.starts_with("c.yaml:7:5: unknown field `resourceNam`"),
            "{e}"
        );
        assert!(e.contains("did you mean `resourceName`"), "{e}");
    }

    #[test]
    fn normalization_is_kubevirts() {
        assert_eq!(normalize("GRID T4-1B\n"), "GRID_T4-1B");
        assert_eq!(normalize("A  B"), "A__B");
        assert_eq!(normalize(" X "), "_X_");
        assert_eq!(normalize("\tX\n"), "X");
    }

    #[test]
    fn missing_file_exits_66() {
        let e = load_with(Path::new("/nonexistent/hostdev.yaml"), &|p| {
            std::fs::read(p)
        })
        .expect_err("missing");
        assert_eq!(crate::error::exit_code(&e).as_i32(), 66);
    }
}
