//! Loading and validating the configuration: the file's bytes (handed in, [`load_with`]),
//! UTF-8 and nesting checks, the raw YAML model of the four accepted shapes, which shape
//! was given, the deprecated spellings resolved into warnings, duplicate resource names,
//! and every error at file:line:column with a "did you mean". It reads nothing itself;
//! the types it fills in are [`super::model`]'s.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::depth;
use super::model::{
    yaml11_bool_opt, Config, HostdevExtensions, LabelKey, LabelValue, MdevConfig, NodeAddresses,
    NodeTypes, NodeVfs, PciAddress, PermittedHostDevices, TypeName, VfCount,
};
use crate::error::{fail, Code};

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
    virtual_functions: Option<VfCount>,
    #[serde(default)]
    node_virtual_functions: Vec<RawNodeVfs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawNodeVfs {
    node_selector: Option<BTreeMap<LabelKey, LabelValue>>,
    virtual_functions: VfCount,
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
pub(crate) const CONFIG_MAX: usize = 1 << 20;

/// Read and validate the configuration, reading the file with `read` (`Context::load_config`
/// passes the root's read for the default configuration, `host::root::read::read_user_file` for
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
        mdev,
        permitted,
        hostdev,
        warnings,
    })
}

/// A validated `nodeSelector` as plain strings (an absent one selects every node).
fn labels(raw: Option<BTreeMap<LabelKey, LabelValue>>) -> BTreeMap<String, String> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.0, v.0))
        .collect()
}

fn extensions(raw: RawHostdev) -> HostdevExtensions {
    HostdevExtensions {
        passthrough: raw.passthrough_addresses.into_iter().map(|a| a.0).collect(),
        node_passthrough: raw
            .node_passthrough_addresses
            .into_iter()
            .map(|n| NodeAddresses {
                node_selector: labels(n.node_selector),
                addresses: n.addresses.into_iter().map(|a| a.0).collect(),
            })
            .collect(),
        vfs: raw.virtual_functions,
        node_vfs: raw
            .node_virtual_functions
            .into_iter()
            .map(|n| NodeVfs {
                node_selector: labels(n.node_selector),
                vfs: n.virtual_functions,
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
            node_selector: labels(n.node_selector),
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
