//! Saved plans (`hostdev plan -o json > plan.json`, then `hostdev apply --plan plan.json`):
//! read the document back, and check it before anything is touched: a `hostdev/v1` plan
//! document ([`parse`], exit 65), made for this node ([`check_node`], exit 65), with every
//! creation count known (exit 65), naming only parents and types that exist under the
//! root ([`check_host`], exit 66). Values that end up in sysfs paths are validated here,
//! so a crafted plan cannot write outside `/sys/class/mdev_bus/<parent>/...` or
//! `/sys/bus/mdev/devices/<uuid>/`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use crate::config::Node;
use crate::error::{fail, Code};
use crate::host::sysfs::{self, Sysfs};
use crate::plan::{
    Action, ActionKind, Blocked, CardKind, CardPlan, ParentPlan, Plan, Problem, Status, SCHEMA,
};

/// The plan document as `plan -o json` (or `-o yaml`) writes it. Unknown fields are
/// ignored: later versions may add fields, never rename them.
#[derive(Debug, Deserialize)]
struct Doc {
    node: DocNode,
    #[serde(default)]
    mdev_handling: Option<String>,
    #[serde(default)]
    desired_types: Vec<String>,
    parents: Vec<DocParent>,
    actions: Vec<DocAction>,
    #[serde(default)]
    blocked: Vec<DocBlocked>,
    #[serde(default)]
    cards: Vec<DocCard>,
    #[serde(default)]
    problems: Vec<DocProblem>,
}

#[derive(Debug, Deserialize)]
struct DocCard {
    address: String,
    kind: String,
    #[serde(rename = "type", default)]
    type_id: Option<String>,
    #[serde(default)]
    type_name: Option<String>,
    #[serde(default)]
    existing: u32,
    /// Required, as for parents.
    create: serde_json::Value,
    #[serde(default)]
    create_is_upper_bound: bool,
    #[serde(default)]
    remove: u32,
    status: String,
    #[serde(default)]
    vfs: Option<u32>,
    #[serde(default)]
    free_vfs: Option<u32>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DocProblem {
    address: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct DocNode {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct DocParent {
    address: String,
    #[serde(rename = "type", default)]
    type_id: Option<String>,
    #[serde(default)]
    type_name: Option<String>,
    #[serde(default)]
    existing: u32,
    /// Required: a missing count must not read as "unknown" (`null`).
    create: serde_json::Value,
    #[serde(default)]
    remove: u32,
    status: String,
}

#[derive(Debug, Deserialize)]
struct DocAction {
    action: String,
    #[serde(default)]
    uuid: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    gpu: Option<String>,
    #[serde(rename = "type")]
    type_id: String,
    #[serde(default)]
    type_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DocBlocked {
    #[serde(default)]
    uuid: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    gpu: Option<String>,
    #[serde(rename = "type")]
    type_id: String,
    reason: String,
}

/// Read a saved plan from `path` (`-`: stdin). Exit 66 when it cannot be read.
pub fn read(path: &Path) -> Result<(String, String)> {
    let stdin = path == Path::new("-");
    let shown = if stdin {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let bytes = match crate::host::sysfs::read_user_file(path, PLAN_MAX) {
        Ok(b) => b,
        Err(e) if crate::host::sysfs::is_too_large(&e) => {
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
    let text = String::from_utf8(bytes).map_err(|_| {
        let what = if stdin {
            "cannot read the plan from stdin".to_string()
        } else {
            format!("cannot read the plan file {shown}")
        };
        fail(
            Code::NotFound,
            format!("{what}: stream did not contain valid UTF-8"),
        )
    })?;
    Ok((shown, text))
}

/// The largest saved plan hostdev reads: 16 MiB (a plan of 10,000 actions is ~3 MiB).
pub const PLAN_MAX: usize = 16 << 20;

fn bad(shown: &str, what: impl std::fmt::Display) -> anyhow::Error {
    fail(
        Code::Config,
        format!(
            "plan {shown} is not a usable hostdev plan: {what}; save one with `hostdev plan -o json > FILE`"
        ),
    )
}

/// A name used as one sysfs path component (parent address or type ID).
fn component_ok(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0', '\n'])
}

/// An mdev UUID as the kernel accepts it: 36 characters, hyphenated.
fn uuid_ok(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// `create`: a count, or `null` (unknown before the removals run).
fn count(v: &serde_json::Value, shown: &str, what: &str) -> Result<Option<u32>> {
    match v {
        serde_json::Value::Null => Ok(None),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(shown, format!("{what}: create {v} is not a count or null"))),
    }
}

fn card_kind(s: &str) -> Option<CardKind> {
    Some(match s {
        "mdev-parent" => CardKind::MdevParent,
        "mdev-vf-gpu" => CardKind::MdevVfGpu,
        "vendor-vfio-gpu" => CardKind::VendorVfioGpu,
        _ => return None,
    })
}

fn status(s: &str) -> Option<Status> {
    Some(match s {
        "create" => Status::Create,
        "top-up" => Status::TopUp,
        "keep" => Status::Keep,
        "unsupported" => Status::Unsupported,
        "unassigned" => Status::Unassigned,
        "blocked" => Status::Blocked,
        _ => return None,
    })
}

fn handling(s: Option<&str>) -> Option<&'static str> {
    Some(match s {
        None | Some("enabled") => "enabled",
        Some("disabled") => "disabled",
        Some("not-configured") => "not-configured",
        Some(_) => return None,
    })
}

/// Parse and validate a saved plan document (JSON or YAML); `shown` names it in
/// messages. Exit 65 for anything that is not a complete `hostdev/v1` plan.
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
    let doc: Doc = serde_json::from_value(value).map_err(|e| bad(shown, e))?;
    if doc.node.name.is_empty() {
        return Err(bad(shown, "node.name is empty"));
    }
    let mut plan = Plan {
        schema: SCHEMA,
        node: Node {
            name: doc.node.name,
            labels: doc.node.labels,
        },
        mdev_handling: handling(doc.mdev_handling.as_deref()).ok_or_else(|| {
            bad(
                shown,
                format!(
                    "mdev_handling {:?} is not enabled, disabled or not-configured",
                    doc.mdev_handling.as_deref().unwrap_or_default()
                ),
            )
        })?,
        desired_types: doc.desired_types,
        parents: Vec::new(),
        actions: Vec::new(),
        blocked: Vec::new(),
        cards: Vec::new(),
        problems: doc
            .problems
            .into_iter()
            .map(|p| Problem {
                address: p.address,
                message: p.message,
            })
            .collect(),
    };
    for c in doc.cards {
        let what = format!("card {}", c.address);
        let kind = card_kind(&c.kind)
            .ok_or_else(|| bad(shown, format!("{what}: unknown kind {:?}", c.kind)))?;
        let st = status(&c.status)
            .ok_or_else(|| bad(shown, format!("{what}: unknown status {:?}", c.status)))?;
        plan.cards.push(CardPlan {
            create: count(&c.create, shown, &what)?,
            address: c.address,
            kind,
            type_id: c.type_id,
            type_name: c.type_name,
            existing: c.existing,
            create_is_upper_bound: c.create_is_upper_bound,
            remove: c.remove,
            status: st,
            vfs: c.vfs,
            free_vfs: c.free_vfs,
            note: c.note,
        });
    }
    for p in doc.parents {
        if !component_ok(&p.address) {
            return Err(bad(
                shown,
                format!("parent address {:?} is not valid", p.address),
            ));
        }
        let st = status(&p.status).ok_or_else(|| {
            bad(
                shown,
                format!("parent {}: unknown status {:?}", p.address, p.status),
            )
        })?;
        let create = count(&p.create, shown, &format!("parent {}", p.address))?;
        plan.parents.push(ParentPlan {
            address: p.address,
            type_id: p.type_id,
            type_name: p.type_name,
            existing: p.existing,
            create,
            remove: p.remove,
            status: st,
        });
    }
    let mut seen_create = false;
    for (i, a) in doc.actions.into_iter().enumerate() {
        let at = |msg: String| bad(shown, format!("actions[{i}]: {msg}"));
        let kind = match a.action.as_str() {
            "remove" => ActionKind::Remove,
            "create" => ActionKind::Create,
            "set-vgpu-type" => ActionKind::SetVgpuType,
            "clear-vgpu-type" => ActionKind::ClearVgpuType,
            other => {
                return Err(at(format!(
                    "unknown action {other:?} (remove, create, set-vgpu-type or clear-vgpu-type)"
                )))
            }
        };
        let creates = matches!(kind, ActionKind::Create | ActionKind::SetVgpuType);
        if !creates && seen_create {
            return Err(at("a removal after a creation (removals come first)".into()));
        }
        seen_create |= creates;
        if a.gpu.as_deref().is_some_and(|g| !component_ok(g)) {
            return Err(at(format!("gpu {:?} is not a valid PCI address", a.gpu)));
        }
        match kind {
            ActionKind::Remove | ActionKind::Create => {
                if !uuid_ok(&a.uuid) {
                    return Err(at(format!("{:?} is not a UUID", a.uuid)));
                }
                if !component_ok(&a.parent) || !component_ok(&a.type_id) {
                    return Err(at(format!(
                        "parent {:?} / type {:?} is not a valid sysfs name",
                        a.parent, a.type_id
                    )));
                }
                if plan.actions.iter().any(|b: &Action| b.uuid == a.uuid) {
                    return Err(at(format!("UUID {} appears twice", a.uuid)));
                }
            }
            ActionKind::SetVgpuType | ActionKind::ClearVgpuType => {
                if !a.address.as_deref().is_some_and(component_ok) {
                    return Err(at(format!(
                        "virtual function address {:?} is not valid",
                        a.address
                    )));
                }
                if a.type_id.parse::<u32>().is_err() {
                    return Err(at(format!(
                        "vGPU type {:?} is not a numeric type ID",
                        a.type_id
                    )));
                }
            }
        }
        plan.actions.push(Action {
            action: kind,
            uuid: a.uuid,
            parent: a.parent,
            address: a.address,
            gpu: a.gpu,
            type_id: a.type_id,
            type_name: a.type_name,
        });
    }
    plan.blocked = doc
        .blocked
        .into_iter()
        .map(|b| Blocked {
            uuid: b.uuid,
            parent: b.parent,
            address: b.address,
            gpu: b.gpu,
            type_id: b.type_id,
            reason: format!("{} (when the plan was made)", b.reason),
        })
        .collect();
    Ok(plan)
}

/// The plan must have been made for this node (its UUIDs and nodeSelector matching
/// depend on the node name), and must not leave creation counts to a re-plan.
pub fn check_node_and_counts(plan: &Plan, node: &Node, shown: &str) -> Result<()> {
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
pub fn check_host(fs: &Sysfs, plan: &Plan, shown: &str) -> Result<()> {
    let bus = fs.path(sysfs::MDEV_BUS_CLASS);
    let parents = plan
        .parents
        .iter()
        .map(|p| p.address.as_str())
        .chain(plan.actions.iter().map(|a| a.parent.as_str()))
        .filter(|p| !p.is_empty());
    for p in parents {
        if !fs.exists(&bus.join(p)) {
            return Err(fail(
                Code::NotFound,
                format!(
                    "plan {shown} names mdev parent {p}, which is not on this host ({} does not exist); re-run `hostdev plan`",
                    fs.display(&bus.join(p))
                ),
            ));
        }
    }
    for a in &plan.actions {
        let Some(vf) = a.address.as_deref() else {
            continue;
        };
        let nv = fs.path(sysfs::PCI_DEVICES).join(vf).join("nvidia");
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
    for a in plan
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Create)
    {
        let t = bus
            .join(&a.parent)
            .join("mdev_supported_types")
            .join(&a.type_id);
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
        assert_eq!(p.actions[0].action, ActionKind::Remove);
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
            (
                GOOD.replace("\"status\": \"create\"", "\"status\": \"maybe\""),
                "unknown status \"maybe\"",
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
