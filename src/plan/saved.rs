//! Saved plans (`hostdev plan -o json > plan.json`, then `hostdev apply --plan plan.json`):
//! read the document back, and check it before anything is touched: a `hostdev/v1` plan
//! document ([`parse`], exit 65), made for this node with every creation count known
//! ([`check_node_and_counts`], exit 65), naming only parents and types that exist under
//! the root ([`check_host`], exit 66). Values that end up in sysfs paths are validated here,
//! so a crafted plan cannot write outside `/sys/class/mdev_bus/<parent>/...` or
//! `/sys/bus/mdev/devices/<uuid>/`.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Result;

use crate::config::node::Node;
use crate::error::{fail, Code};
use crate::host::root::Root;
use crate::plan::{Action, ActionKind, MdevAction, Plan, SCHEMA};

/// Read a saved plan from `path` (`-`: stdin). Exit 66 when it cannot be read.
pub(crate) fn read(path: &Path) -> Result<(String, String)> {
    let stdin = path == Path::new("-");
    let shown = if stdin {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let bytes = match crate::host::root::read::read_user_file(path, PLAN_MAX) {
        Ok(b) => b,
        Err(e) if crate::error::is_too_large(&e) => {
            return Err(fail(Code::Config, format!("the plan {shown} is {e}")))
        }
        Err(e) if stdin => {
            return Err(fail(
                Code::NotFound,
                format!("cannot read the plan from stdin: {e}"),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan file {shown} not found: save one with `hostdev plan -o json > {shown}`"
                ),
            ))
        }
        Err(e) => {
            return Err(fail(
                Code::NotFound,
                format!("cannot read the plan file {shown}: {e}"),
            ))
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        // The prefix up to `at` is valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        fail(
            Code::Config,
            format!(
                "{shown}:{line}:{col}: not UTF-8 (byte 0x{:02x} at offset {at}): a saved plan is the JSON text of `hostdev plan -o json`",
                bytes.get(at).copied().unwrap_or_default()
            ),
        )
    })?;
    Ok((shown, text))
}

/// The largest saved plan hostdev reads: 16 MiB (a plan of 10,000 actions is ~3 MiB).
pub(crate) const PLAN_MAX: usize = 16 << 20;

fn bad(shown: &str, what: impl std::fmt::Display) -> anyhow::Error {
    fail(
        Code::Config,
        format!(
            "plan {shown} is not a usable hostdev plan: {what}; save one with `hostdev plan -o json > FILE`"
        ),
    )
}

/// A name used as one sysfs path component (parent address or type ID): no `/`, not `.`
/// or `..`, and no control or invisible format character (NUL, newline, a trailing `\r`,
/// a bidi override), which no kernel device or type name holds.
fn component_ok(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.contains('/')
        && !s
            .chars()
            .any(|c| c.is_control() || crate::logger::is_escaped(c))
}

/// An mdev UUID as the kernel accepts it: 36 characters, hyphenated.
pub fn uuid_ok(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// Parse and validate a saved plan document (JSON or YAML); `shown` names it in
/// messages. Exit 65 for anything that is not a complete `hostdev/v1` plan. The document
/// is deserialized into [`Plan`] (unknown fields are ignored: later versions may add
/// fields, never rename them), then checked by [`validate`].
pub fn parse(text: &str, shown: &str) -> Result<Plan> {
    if text.trim().is_empty() {
        return Err(bad(shown, "it is empty"));
    }
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| bad(shown, format!("invalid JSON: {e}")))?
    } else {
        yaml_serde::from_str(text).map_err(|e| bad(shown, format!("invalid JSON/YAML: {e}")))?
    };
    let Some(obj) = value.as_object() else {
        return Err(bad(shown, "the document is not an object"));
    };
    match obj.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(bad(
                shown,
                format!("schema is {other:?}, this hostdev reads {SCHEMA:?}"),
            ))
        }
        None => return Err(bad(shown, format!("no \"schema\": {SCHEMA:?} field"))),
    }
    if obj.contains_key("result") && obj.get("plan").is_some_and(|p| p.is_object()) {
        return Err(bad(
            shown,
            "this is the output of `hostdev apply -o json`, not of `hostdev plan -o json`",
        ));
    }
    // Each action on its own first, so an error names its index.
    if let Some(actions) = obj.get("actions").and_then(|a| a.as_array()) {
        for (i, a) in actions.iter().enumerate() {
            if let Err(e) = <Action as serde::Deserialize>::deserialize(a) {
                return Err(bad(shown, format!("actions[{i}]: {}", action_error(a, e))));
            }
        }
    }
    let mut plan: Plan = serde_json::from_value(value).map_err(|e| bad(shown, e))?;
    validate(&mut plan).map_err(|e| bad(shown, e))?;
    Ok(plan)
}

/// A deserialization error of one action, with the accepted actions when the tag is wrong.
fn action_error(a: &serde_json::Value, e: serde_json::Error) -> String {
    match a.get("action").and_then(|t| t.as_str()) {
        Some(t) if !KINDS.iter().any(|k| k.as_str() == t) => {
            format!("unknown action {t:?} (remove, create, set-vgpu-type or clear-vgpu-type)")
        }
        _ => e.to_string(),
    }
}

const KINDS: [ActionKind; 4] = [
    ActionKind::Remove,
    ActionKind::Create,
    ActionKind::SetVgpuType,
    ActionKind::ClearVgpuType,
];

/// Check a deserialized plan for what its types cannot say: names that end up as sysfs
/// path components, UUIDs (normalised to lower case, each at most once), removals before
/// creations. Blocked entries are marked as stale information.
fn validate(plan: &mut Plan) -> Result<(), String> {
    if plan.node.name.is_empty() {
        return Err("node.name is empty".into());
    }
    for p in &plan.parents {
        if !component_ok(&p.address) {
            return Err(format!("parent address {:?} is not valid", p.address));
        }
    }
    let mut seen_create = false;
    let mut uuids: HashSet<String> = HashSet::with_capacity(plan.actions.len());
    for (i, a) in plan.actions.iter_mut().enumerate() {
        let at = |msg: String| format!("actions[{i}]: {msg}");
        let creates = !a.kind().is_removal();
        if !creates && seen_create {
            return Err(at("a removal after a creation (removals come first)".into()));
        }
        seen_create |= creates;
        if let Some(g) = a.gpu().filter(|g| !component_ok(g)) {
            return Err(at(format!("gpu {g:?} is not a valid PCI address")));
        }
        match a {
            Action::Remove(m) | Action::Create(m) => {
                check_mdev(m).map_err(at)?;
                if !uuids.insert(m.uuid.clone()) {
                    return Err(at(format!("UUID {} appears twice", m.uuid)));
                }
            }
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => {
                if !component_ok(&v.address) {
                    return Err(at(format!(
                        "virtual function address {:?} is not valid",
                        v.address
                    )));
                }
            }
            Action::EnableVfs(s) | Action::DisableVfs(s) => {
                if !component_ok(&s.address) {
                    return Err(at(format!("GPU address {:?} is not valid", s.address)));
                }
            }
        }
    }
    for b in &mut plan.blocked {
        let r = b.reason_mut();
        *r = format!("{r} (when the plan was made)");
    }
    Ok(())
}

/// An mdev action's UUID (normalised to lower case, as the kernel names mdevs), parent
/// and type.
fn check_mdev(m: &mut MdevAction) -> Result<(), String> {
    if !uuid_ok(&m.uuid) {
        return Err(format!("{:?} is not a UUID", m.uuid));
    }
    m.uuid.make_ascii_lowercase();
    if !component_ok(&m.parent) || !component_ok(&m.type_id) {
        return Err(format!(
            "parent {:?} / type {:?} is not a valid sysfs name",
            m.parent, m.type_id
        ));
    }
    Ok(())
}

/// The plan must have been made for this node (its UUIDs and nodeSelector matching
/// depend on the node name), and must not leave creation counts to a re-plan.
pub(crate) fn check_node_and_counts(plan: &Plan, node: &Node, shown: &str) -> Result<()> {
    if plan.node.name != node.name {
        return Err(fail(
            Code::Config,
            format!(
                "plan {shown}: plan was made for node {}, this is node {}; use --node-name or re-run plan",
                plan.node.name, node.name
            ),
        ));
    }
    let mut unknown: Vec<&str> = Vec::new();
    let rows = plan
        .parents
        .iter()
        .map(|p| (p.address.as_str(), p.create))
        .chain(plan.cards.iter().map(|c| (c.address.as_str(), c.create)));
    for (address, create) in rows {
        if create.is_none() && !unknown.contains(&address) {
            unknown.push(address);
        }
    }
    if !unknown.is_empty() {
        return Err(fail(
            Code::Config,
            format!(
                "plan {shown}: how many mdevs fit on {} is known only after the removals run, so the plan lists no creations there (`create: null`); run `hostdev apply` without --plan (it re-plans after the removals), or apply the removals first and save a new plan",
                unknown.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every parent the plan names must exist under the root, and every type it creates
/// must exist on its parent (exit 66 naming it).
pub(crate) fn check_host(fs: &Root, plan: &Plan, shown: &str) -> Result<()> {
    let parents = plan.parents.iter().map(|p| p.address.as_str()).chain(
        plan.actions
            .iter()
            .filter_map(|a| a.mdev().map(|m| m.parent.as_str())),
    );
    for p in parents {
        if !fs.exists(&fs.mdev_parent(p)) {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan {shown} names mdev parent {p}, which is not on this host ({} does not exist); re-run `hostdev plan`",
                    fs.display(&fs.mdev_parent(p))
                ),
            ));
        }
    }
    for vf in plan
        .actions
        .iter()
        .filter_map(|a| a.vf())
        .map(|v| &v.address)
    {
        let nv = fs.vgpu_dir(vf);
        if !fs.exists(&nv) {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan {shown} names virtual function {vf}, which is not a vendor-VFIO VF on this host ({} does not exist); re-run `hostdev plan`",
                    fs.display(&nv)
                ),
            ));
        }
    }
    for gpu in plan.actions.iter().filter_map(|a| match a {
        Action::EnableVfs(s) | Action::DisableVfs(s) => Some(&s.address),
        _ => None,
    }) {
        let numvfs = fs.pci_device(gpu).join("sriov_numvfs");
        if !fs.exists(&numvfs) {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan {shown} names GPU {gpu}, which is not an SR-IOV device on this host ({} does not exist); re-run `hostdev plan`",
                    fs.display(&numvfs)
                ),
            ));
        }
    }
    for a in plan.actions.iter().filter_map(|a| match a {
        Action::Create(m) => Some(m),
        _ => None,
    }) {
        let t = fs.mdev_type(&a.parent, &a.type_id);
        if !fs.exists(&t) {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan {shown} creates {} mdevs on {}, which does not support that type ({} does not exist); re-run `hostdev plan`",
                    a.type_id,
                    a.parent,
                    fs.display(&t)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;
    use crate::plan::Status;

    const GOOD: &str = r#"{
  "schema": "hostdev/v1",
  "node": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
  "mdev_handling": "enabled",
  "desired_types": ["nvidia-222"],
  "parents": [{"address": "0000:3b:00.0", "type": "nvidia-222", "type_name": "GRID T4-1Q",
               "existing": 0, "create": 1, "remove": 1, "status": "create"}],
  "actions": [
    {"action": "remove", "uuid": "00000000-0000-4000-8000-000000000001", "parent": "0000:3b:00.0", "type": "nvidia-230"},
    {"action": "create", "uuid": "11111111-0000-4000-8000-000000000001", "parent": "0000:3b:00.0", "type": "nvidia-222"}
  ],
  "blocked": [],
  "added_later": {"ignored": true}
}"#;

    fn code(r: Result<Plan>) -> (i32, String) {
        let e = r.unwrap_err();
        (exit_code(&e).as_i32(), e.to_string())
    }

    #[test]
    fn parses_a_plan_document() {
        let p = parse(GOOD, "p.json").unwrap();
        assert_eq!(p.node.name, "node1");
        assert_eq!(p.actions.len(), 2);
        assert_eq!(p.actions[0].kind(), ActionKind::Remove);
        assert_eq!(p.parents[0].status, Status::Create);
        assert_eq!(p.parents[0].create, Some(1));
        let node = Node::new("node1", &[]);
        check_node_and_counts(&p, &node, "p.json").unwrap();
    }

    #[test]
    fn yaml_is_accepted_too() {
        let v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        let y = yaml_serde::to_string(&v).unwrap();
        assert_eq!(parse(&y, "p.yaml").unwrap().actions.len(), 2);
    }

    #[test]
    fn malformed_documents_are_65_and_say_what_is_wrong() {
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "it is empty"),
            ("{not json".into(), "invalid JSON"),
            ("[1, 2]".into(), "not an object"),
            ("a: [b".into(), "invalid JSON/YAML"),
            (
                GOOD.replace("hostdev/v1", "hostdev/v2"),
                "schema is \"hostdev/v2\"",
            ),
            (
                GOOD.replace("\"schema\": \"hostdev/v1\",", ""),
                "no \"schema\"",
            ),
            (
                GOOD.replace("\"actions\"", "\"actionz\""),
                "missing field `actions`",
            ),
            (
                GOOD.replace("\"create\", \"uuid\"", "\"destroy\", \"uuid\""),
                "unknown action \"destroy\"",
            ),
            (GOOD.replace("11111111-0000", "1111-0000"), "is not a UUID"),
            (
                GOOD.replace("\"type\": \"nvidia-222\"}", "\"type\": \"../../x\"}"),
                "not a valid sysfs name",
            ),
            (
                GOOD.replace(
                    "\"parent\": \"0000:3b:00.0\", \"type\": \"nvidia-230\"",
                    "\"parent\": \"..\", \"type\": \"nvidia-230\"",
                ),
                "not a valid sysfs name",
            ),
            // issue 20 item 9: a trailing \r (a plan edited on Windows) was 66, "not on
            // this host"; control and bidi characters are not sysfs names either
            (
                GOOD.replace(
                    "\"address\": \"0000:3b:00.0\"",
                    "\"address\": \"0000:3b:00.0\\r\"",
                ),
                "parent address \"0000:3b:00.0\\r\" is not valid",
            ),
            (
                GOOD.replace(
                    "\"parent\": \"0000:3b:00.0\", \"type\": \"nvidia-222\"",
                    "\"parent\": \"0000:3b:00.0\\r\", \"type\": \"nvidia-222\"",
                ),
                "not a valid sysfs name",
            ),
            (
                GOOD.replace(
                    "\"type\": \"nvidia-222\"}",
                    "\"type\": \"nvidia-\\u202e222\"}",
                ),
                "not a valid sysfs name",
            ),
            (
                GOOD.replace("\"status\": \"create\"", "\"status\": \"maybe\""),
                "unknown variant `maybe`, expected one of `create`",
            ),
            (
                GOOD.replace(
                    "11111111-0000-4000-8000-000000000001",
                    "00000000-0000-4000-8000-000000000001",
                ),
                "appears twice",
            ),
            (
                r#"{"schema":"hostdev/v1","result":"applied","plan":{}}"#.into(),
                "output of `hostdev apply -o json`",
            ),
        ];
        for (text, want) in cases {
            let (c, msg) = code(parse(&text, "p.json"));
            assert_eq!(c, 65, "{msg}");
            assert!(
                msg.starts_with("plan p.json is not a usable hostdev plan: "),
                "{msg}"
            );
            assert!(msg.contains(want), "{msg} should contain {want}");
        }
    }

    #[test]
    fn upper_case_uuids_are_normalised_and_then_checked_for_duplicates() {
        let up = GOOD.replace(
            "11111111-0000-4000-8000-000000000001",
            "ABCDEF11-0000-4000-8000-00000000000A",
        );
        let p = parse(&up, "p.json").unwrap();
        assert_eq!(
            p.actions[1].uuid(),
            Some("abcdef11-0000-4000-8000-00000000000a")
        );
        let dup = GOOD.replace(
            "11111111-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-00000000000A",
        );
        let dup = dup.replace(
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-00000000000a",
        );
        let (c, msg) = code(parse(&dup, "p.json"));
        assert_eq!(c, 65);
        assert!(msg.contains("appears twice"), "{msg}");
    }

    /// The duplicate check is linear: 100,000 creations parse in well under a second in
    /// a release build (quadratic, this took minutes). Not timed: a large-input benchmark.
    #[test]
    fn many_actions_parse_in_linear_time() {
        let n = 100_000u32;
        let actions: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                serde_json::json!({"action": "create", "uuid": format!("00000000-0000-4000-8000-{i:012}"),
                    "parent": "0000:3b:00.0", "type": "nvidia-222"})
            })
            .collect();
        let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        v["actions"] = serde_json::Value::Array(actions);
        assert_eq!(
            parse(&v.to_string(), "p.json").unwrap().actions.len(),
            n as usize
        );
    }

    /// Every golden plan document reads back into the same plan: serializing it again
    /// gives the same document (blocked reasons gain "(when the plan was made)").
    #[test]
    fn golden_plans_round_trip() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("plan-") && name.ends_with(".json")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut plan = parse(&text, &name).unwrap();
            for b in &mut plan.blocked {
                let r = b.reason_mut();
                *r = r.trim_end_matches(" (when the plan was made)").to_string();
            }
            let again = serde_json::to_string_pretty(&plan).unwrap() + "\n";
            assert_eq!(again, text, "{name}");
            n += 1;
        }
        assert!(n >= 10);
    }

    #[test]
    fn removal_after_creation_is_refused() {
        let v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        let mut v = v;
        let a = v["actions"].as_array_mut().unwrap();
        a.reverse();
        let (c, msg) = code(parse(&v.to_string(), "p.json"));
        assert_eq!(c, 65);
        assert!(msg.contains("a removal after a creation"), "{msg}");
    }

    #[test]
    fn wrong_node_is_65_with_the_fix() {
        let p = parse(GOOD, "p.json").unwrap();
        let e = check_node_and_counts(&p, &Node::new("node2", &[]), "p.json").unwrap_err();
        assert_eq!(exit_code(&e).as_i32(), 65);
        assert_eq!(
            e.to_string(),
            "plan p.json: plan was made for node node1, this is node node2; use --node-name or re-run plan"
        );
    }

    #[test]
    fn unknown_count_is_refused_with_the_alternatives() {
        let p = parse(&GOOD.replace("\"create\": 1", "\"create\": null"), "p.json").unwrap();
        let e = check_node_and_counts(&p, &Node::new("node1", &[]), "p.json").unwrap_err();
        assert_eq!(exit_code(&e).as_i32(), 65);
        let msg = e.to_string();
        assert!(msg.contains("0000:3b:00.0"), "{msg}");
        assert!(msg.contains("`create: null`"), "{msg}");
        assert!(msg.contains("run `hostdev apply` without --plan"), "{msg}");
        assert!(msg.contains("apply the removals first"), "{msg}");
    }
}
