//! What hostdev changed on this host, so `teardown` can undo exactly that:
//! `<root>/run/hostdev/state.json`. Written atomically (temp file in the same directory,
//! then rename); a symlink at the final path or at `run/hostdev` is refused. A missing file is an empty state.
//! Sections: `mdevs` (apply), `vfio` (bind vfio), `vgpu_vfs` (NVIDIA vendor-VFIO VFs),
//! `sriov` (GPUs whose virtual functions apply enabled; written only when not empty).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use crate::host::root::Root;
use crate::plan::SCHEMA;

/// Fields a newer hostdev wrote that this one does not know: kept, and written back.
pub(crate) type Unknown = serde_json::Map<String, serde_json::Value>;

/// The largest state file hostdev reads (a record is ~150 bytes: 100,000 records fit).
pub(crate) const STATE_MAX: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) schema: String,
    #[serde(default)]
    pub(crate) mdevs: Vec<MdevRecord>,
    #[serde(default)]
    pub(crate) vfio: Vec<VfioRecord>,
    #[serde(default)]
    pub(crate) vgpu_vfs: Vec<VgpuVfRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sriov: Vec<SriovRecord>,
    #[serde(flatten)]
    pub(crate) unknown: Unknown,
}

/// A GPU whose SR-IOV virtual functions hostdev enabled (`sriov_numvfs` was 0): teardown
/// disables them again (`sriov_numvfs` ← 0) once no VF is in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SriovRecord {
    /// The physical GPU.
    pub(crate) address: String,
    /// The VFs enabled.
    pub(crate) numvfs: u32,
    pub(crate) enabled_at: String,
    #[serde(flatten, default)]
    pub(crate) unknown: Unknown,
}

/// An mdev hostdev created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MdevRecord {
    pub(crate) uuid: String,
    pub(crate) parent: String,
    #[serde(rename = "type")]
    pub(crate) type_id: String,
    pub(crate) created_at: String,
    #[serde(flatten, default)]
    pub(crate) unknown: Unknown,
}

/// A PCI device hostdev bound to vfio-pci, with what to restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VfioRecord {
    pub(crate) address: String,
    pub(crate) original_driver: Option<String>,
    pub(crate) original_override: Option<String>,
    pub(crate) bound_at: String,
    #[serde(flatten, default)]
    pub(crate) unknown: Unknown,
}

/// An NVIDIA vendor-VFIO virtual function hostdev configured with a vGPU type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VgpuVfRecord {
    pub(crate) address: String,
    pub(crate) type_id: u32,
    pub(crate) configured_at: String,
    #[serde(flatten, default)]
    pub(crate) unknown: Unknown,
}

impl Default for State {
    fn default() -> Self {
        State {
            schema: SCHEMA.to_string(),
            mdevs: Vec::new(),
            vfio: Vec::new(),
            vgpu_vfs: Vec::new(),
            sriov: Vec::new(),
            unknown: Unknown::new(),
        }
    }
}

impl State {
    /// The state file's path under the root.
    pub(crate) fn path(fs: &Root) -> PathBuf {
        fs.state_file()
    }

    /// Read the state; a missing file is an empty state, a corrupt one an error naming
    /// the path and the fix.
    pub(crate) fn load(fs: &Root) -> Result<State> {
        let path = State::path(fs);
        let shown = fs.display(&path);
        let bytes = match fs.read_own_file(&path, STATE_MAX) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(State::default()),
            Err(e) => return Err(anyhow!("reading the state file {shown}: {e}")),
        };
        State::parse(&bytes, &shown)
    }

    /// The state file's bytes, checked: UTF-8, JSON of this shape, schema `hostdev/v1`;
    /// `shown` names the file in messages. (What [`State::load`] reads; a fuzz target's
    /// entry point, fuzz/fuzz_targets/state.rs.)
    pub fn parse(bytes: &[u8], shown: &str) -> Result<State> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            anyhow!("the state file {shown} is corrupt (not UTF-8: {e}); move it aside and re-run")
        })?;
        let state: State = serde_json::from_str(text).map_err(|e| {
            anyhow!(
                "the state file {shown} is corrupt ({e}); hostdev cannot tell what it created. \
                 Inspect it, then fix it or move it aside (e.g. `mv {shown} {shown}.bad`) and \
                 re-run; without it `teardown` only removes mdevs with --all"
            )
        })?;
        if state.schema != SCHEMA {
            return Err(anyhow!(
                "the state file {shown} has schema {:?}, expected {SCHEMA:?}; move it aside and re-run",
                state.schema
            ));
        }
        Ok(state)
    }

    /// The text [`State::save`] writes: pretty JSON and a newline.
    pub fn to_json(&self) -> Result<String> {
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        Ok(json)
    }

    /// Write the state atomically (mode 0644).
    pub(crate) fn save(&self, fs: &Root) -> Result<()> {
        let path = State::path(fs);
        let shown = fs.display(&path);
        let json = self.to_json()?;
        fs.write_atomic(&path, json.as_bytes(), 0o644)
            .map_err(|e| anyhow!("writing the state file {shown}: {e}"))
    }

    /// Record a created mdev (replacing an older record of the same UUID).
    #[cfg(test)]
    pub(crate) fn add_mdev(&mut self, rec: MdevRecord) {
        self.mdevs.retain(|m| m.uuid != rec.uuid);
        self.mdevs.push(rec);
        self.mdevs.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    }

    /// Record created mdevs (replacing older records of the same UUIDs): one sort for
    /// the batch.
    pub(crate) fn add_mdevs(&mut self, recs: Vec<MdevRecord>) {
        if recs.is_empty() {
            return;
        }
        let new: std::collections::HashSet<String> = recs.iter().map(|r| r.uuid.clone()).collect();
        self.mdevs.retain(|m| !new.contains(&m.uuid));
        self.mdevs.extend(recs);
        self.mdevs.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    }

    /// Record vendor-VFIO VFs hostdev gave a vGPU type (replacing older records): one
    /// sort for the batch.
    pub(crate) fn add_vgpu_vfs(&mut self, recs: Vec<VgpuVfRecord>) {
        if recs.is_empty() {
            return;
        }
        let new: std::collections::HashSet<String> =
            recs.iter().map(|r| r.address.clone()).collect();
        self.vgpu_vfs.retain(|v| !new.contains(&v.address));
        self.vgpu_vfs.extend(recs);
        self.vgpu_vfs.sort_by(|a, b| a.address.cmp(&b.address));
    }

    /// Record a GPU whose VFs hostdev enables (replacing an older record).
    pub(crate) fn add_sriov(&mut self, rec: SriovRecord) {
        self.sriov.retain(|r| r.address != rec.address);
        self.sriov.push(rec);
        self.sriov.sort_by(|a, b| a.address.cmp(&b.address));
    }

    /// Forget a GPU's enabled VFs (disabled again, not enabled after all, or gone).
    pub(crate) fn drop_sriov(&mut self, address: &str) -> bool {
        let n = self.sriov.len();
        self.sriov.retain(|r| r.address != address);
        n != self.sriov.len()
    }

    /// Forget a vendor-VFIO VF (its type cleared, or gone).
    pub(crate) fn drop_vgpu_vf(&mut self, address: &str) -> bool {
        let n = self.vgpu_vfs.len();
        self.vgpu_vfs.retain(|v| v.address != address);
        n != self.vgpu_vfs.len()
    }

    /// Forget a vfio binding (returned, or the device gone or moved).
    pub(crate) fn drop_vfio(&mut self, address: &str) -> bool {
        let n = self.vfio.len();
        self.vfio.retain(|v| v.address != address);
        n != self.vfio.len()
    }

    /// Forget an mdev (removed, or gone).
    pub(crate) fn drop_mdev(&mut self, uuid: &str) -> bool {
        let n = self.mdevs.len();
        self.mdevs.retain(|m| m.uuid != uuid);
        n != self.mdevs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn fs() -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir().unwrap();
        let s = Root::new(d.path());
        (d, s)
    }

    #[test]
    fn missing_is_empty_and_round_trips() {
        let (_d, fs) = fs();
        let mut s = State::load(&fs).unwrap();
        assert_eq!(s, State::default());
        s.add_mdev(MdevRecord {
            uuid: "b".into(),
            parent: "mtty".into(),
            type_id: "mtty-2".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            unknown: Unknown::new(),
        });
        s.vfio.push(VfioRecord {
            address: "0000:01:00.0".into(),
            original_driver: Some("e1000e".into()),
            original_override: None,
            bound_at: "2024-01-01T00:00:00Z".into(),
            unknown: Unknown::new(),
        });
        s.save(&fs).unwrap();
        let path = State::path(&fs);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(State::load(&fs).unwrap(), s);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"schema\": \"hostdev/v1\""));
        assert!(text.contains("\"vgpu_vfs\": []"));
        assert!(text.contains("\"type\": \"mtty-2\""));
        assert!(s.drop_mdev("b"));
        assert!(!s.drop_mdev("b"));
    }

    /// Issue 12 item 10: fields a newer hostdev wrote are kept when this one rewrites the
    /// file, at the top level and in records.
    #[test]
    fn unknown_fields_of_a_newer_version_are_kept_on_rewrite() {
        let (_d, fs) = fs();
        let path = State::path(&fs);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            r#"{"schema": "hostdev/v1", "mdevs": [{"uuid": "a", "parent": "p", "type": "t",
                "created_at": "2024-01-01T00:00:00Z", "owner": "vm-1"}],
                "vfio": [], "vgpu_vfs": [], "hugepages": {"count": 4}}"#,
        )
        .unwrap();
        let mut s = State::load(&fs).unwrap();
        s.add_mdevs(vec![MdevRecord {
            uuid: "b".into(),
            parent: "p".into(),
            type_id: "t".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            unknown: Unknown::new(),
        }]);
        s.save(&fs).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["hugepages"]["count"], 4);
        assert_eq!(v["mdevs"][0]["owner"], "vm-1");
        assert_eq!(v["mdevs"].as_array().unwrap().len(), 2);
    }

    /// Found by fuzzing (fuzz/fuzz_targets/state.rs): a number in a field of a newer
    /// hostdev that only fits a float (here 87 digits) was read one ULP off by serde_json's
    /// fast float parser, so every rewrite of the state file changed it again.
    #[test]
    fn unknown_numbers_survive_a_rewrite_exactly() {
        let text = format!(
            r#"{{"schema": "hostdev/v1", "mdevs": [], "hugepages": [{}, 0.1, 1e-300]}}"#,
            "7".repeat(87)
        );
        let state = State::parse(text.as_bytes(), "state.json").unwrap();
        let json = state.to_json().unwrap();
        let again = State::parse(json.as_bytes(), "state.json").unwrap();
        assert_eq!(again, state, "{json}");
        assert_eq!(again.to_json().unwrap(), json);
    }

    #[test]
    fn corrupt_file_names_path_and_fix() {
        let (_d, fs) = fs();
        let path = State::path(&fs);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{not json").unwrap();
        let msg = State::load(&fs).unwrap_err().to_string();
        assert!(
            msg.starts_with("the state file /run/hostdev/state.json is corrupt"),
            "{msg}"
        );
        assert!(msg.contains("mv /run/hostdev/state.json"), "{msg}");
    }

    #[test]
    fn symlink_at_final_path_is_refused() {
        let (d, fs) = fs();
        let path = State::path(&fs);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let msg = State::default().save(&fs).unwrap_err().to_string();
        assert!(msg.contains("is a symlink"), "{msg}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }
}
