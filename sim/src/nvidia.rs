//! NVIDIA's vendor-specific VFIO framework: a VF's `nvidia/current_vgpu_type`.
//!
//! - ← a type ID that is in the VF's `creatable_vgpu_types` now: the VF gets that vGPU and
//!   becomes a VFIO device (`vfio-dev/vfioN`, `/dev/vfio/<group>`); an ID that is not
//!   creatable now: EINVAL; a VF that already has a type: EBUSY; not a number: EINVAL.
//! - ← 0: the vGPU goes (EBUSY while the VF is open); 0 on a VF without one does nothing.
//! - After either, every VF of the GPU lists what it can create under the equal-size rule
//!   (docs/nvidia.md): none on a VF that has a type; with vGPUs of F GB on the GPU, the
//!   types of F GB while fewer than (GPU memory / F) exist; with none, every type. The
//!   GPU's type table (ID, name) is remembered in `.hostdev-sim/vgpu-types/<PF>` from the
//!   first listings the model sees, of its VFs and of the VFs of every GPU of the same
//!   vendor/device ID (a fixture whose GPUs are all partly full carries it); the GPU's
//!   memory is the largest type's.

use std::path::Path;

use crate::mdev::last;
use crate::model::{errno, Model, Outcome};

/// The first line of `creatable_vgpu_types`.
pub const HEADER: &str = "ID    : vGPU Name";

impl Model {
    pub(crate) fn set_vgpu_type(&self, vf: &Path, value: &str) -> Outcome {
        let id: u32 = value.trim().parse().map_err(|_| errno(libc::EINVAL))?;
        let cur_path = vf.join("nvidia/current_vgpu_type");
        let cur = self.t.read(&cur_path).unwrap_or_else(|| "0".into());
        let pf = self
            .t
            .resolve(&vf.join("physfn"))
            .map_err(|_| errno(libc::ENODEV))?;
        self.vgpu_table(&pf)?;
        if id == 0 {
            if cur == "0" {
                return Ok(());
            }
            if !self.holders(vf).is_empty() {
                return Err(errno(libc::EBUSY));
            }
            self.t.put(&cur_path, "0\n")?;
            self.unregister_vfio(vf)?;
            return self.refresh_vgpu_types(&pf);
        }
        if cur != "0" {
            return Err(errno(libc::EBUSY));
        }
        let creatable = parse(
            &self
                .t
                .read(&vf.join("nvidia/creatable_vgpu_types"))
                .unwrap_or_default(),
        );
        if !creatable.iter().any(|(i, _)| *i == id) {
            return Err(errno(libc::EINVAL));
        }
        self.t.put(&cur_path, &format!("{id}\n"))?;
        if let Some(g) = self.t.link_name(&vf.join("iommu_group")) {
            self.register_vfio(vf, &g)?;
        }
        self.refresh_vgpu_types(&pf)
    }

    /// The GPU's type table: remembered, or read from its VFs' listings the first time.
    fn vgpu_table(&self, pf: &Path) -> Result<Vec<(u32, String)>, crate::model::Refusal> {
        let rel = Path::new(crate::model::MEMO)
            .join("vgpu-types")
            .join(last(pf));
        if let Some(text) = self.t.read(&rel) {
            return Ok(parse(&text));
        }
        let mut all: Vec<(u32, String)> = Vec::new();
        // the GPU's own VFs, and those of every GPU of its model (a GPU that already holds
        // vGPUs lists only the types of their size; an empty sibling lists them all)
        let id = |d: &Path| {
            (
                self.t.read(&d.join("vendor")),
                self.t.read(&d.join("device")),
            )
        };
        let mine = id(pf);
        let mut gpus = vec![pf.to_path_buf()];
        for n in self.t.names(Path::new("sys/bus/pci/devices")) {
            let Ok(d) = self.t.resolve(&Path::new("sys/bus/pci/devices").join(n)) else {
                continue;
            };
            if d != pf && mine.1.is_some() && id(&d) == mine && !self.vfs(&d).is_empty() {
                gpus.push(d);
            }
        }
        for vf in gpus.iter().flat_map(|g| self.vfs(g)) {
            for row in parse(
                &self
                    .t
                    .read(&vf.join("nvidia/creatable_vgpu_types"))
                    .unwrap_or_default(),
            ) {
                if !all.contains(&row) {
                    all.push(row);
                }
            }
        }
        all.sort();
        self.t.put(&rel, &(show(&all) + "\n"))?;
        Ok(all)
    }

    /// Every VF's `creatable_vgpu_types` under the equal-size rule.
    pub(crate) fn refresh_vgpu_types(&self, pf: &Path) -> Outcome {
        let table = self.vgpu_table(pf)?;
        let total = table.iter().map(|(_, n)| size_gb(n)).max().unwrap_or(0);
        let vfs = self.vfs(pf);
        let used: Vec<u64> = vfs
            .iter()
            .filter_map(|vf| self.t.read(&vf.join("nvidia/current_vgpu_type")))
            .filter_map(|c| c.parse::<u32>().ok())
            .filter(|c| *c != 0)
            .map(|c| {
                table
                    .iter()
                    .find(|(i, _)| *i == c)
                    .map_or(0, |(_, n)| size_gb(n))
            })
            .collect();
        let offered: Vec<(u32, String)> = match used.first() {
            None => table
                .iter()
                .filter(|(_, n)| size_gb(n) > 0 && total / size_gb(n) >= 1)
                .cloned()
                .collect(),
            Some(&f) if f > 0 && total / f > used.len() as u64 => table
                .iter()
                .filter(|(_, n)| size_gb(n) == f)
                .cloned()
                .collect(),
            Some(_) => Vec::new(),
        };
        for vf in &vfs {
            if !self.t.exists(&vf.join("nvidia")) {
                continue;
            }
            let mine = self
                .t
                .read(&vf.join("nvidia/current_vgpu_type"))
                .unwrap_or_default();
            let rows: &[(u32, String)] = if mine == "0" || mine.is_empty() {
                &offered
            } else {
                &[]
            };
            self.t.put(
                &vf.join("nvidia/creatable_vgpu_types"),
                &(show(rows) + "\n"),
            )?;
        }
        Ok(())
    }
}

/// The rows of a `creatable_vgpu_types` text: (ID, name).
pub fn parse(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|l| {
            let (id, name) = l.split_once(':')?;
            Some((id.trim().parse().ok()?, name.trim().to_string()))
        })
        .collect()
}

/// A `creatable_vgpu_types` text without its final newline (the attribute reads it with
/// one, as fixtures/mkfixture.py lays it out).
fn show(rows: &[(u32, String)]) -> String {
    let mut lines = vec![HEADER.to_string()];
    lines.extend(rows.iter().map(|(i, n)| format!("{i:<6}: {n}")));
    lines.join("\n")
}

/// The framebuffer in GB a type's name gives: "NVIDIA L40S-4Q" → 4, "H200X-1-18C" → 18.
fn size_gb(name: &str) -> u64 {
    let word = name.rsplit(' ').next().unwrap_or("");
    let last = word.rsplit('-').next().unwrap_or("");
    last.trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0)
}
