//! mdev `create` and `remove`, and what each type's `available_instances` reads.
//!
//! - `create` takes a UUID of 36 characters (and one more, a newline): anything else is
//!   EINVAL; a UUID any mdev of the host already has is EEXIST (mdev core).
//! - Capacity, by the parent's rule:
//!   - NVIDIA (a parent bound to `nvidia`, types `nvidia-N`): the equal-size rule of
//!     docs/nvidia.md. The GPU's first vGPU fixes its framebuffer size; types of other
//!     sizes then read 0, and the GPU holds at most the type's `max_instance` vGPUs. On
//!     SR-IOV GPUs the parents are the VFs, one vGPU each, and the rule spans the PF's
//!     VFs. A create beyond it is ENOSPC (as tests/vm/nvsim).
//!   - Everything else (the kernel's samples mtty, mdpy, mbochs; Intel GVT-g): a pool per
//!     parent that every type draws on at its own cost: `available_instances` is the pool
//!     left divided by the type's cost. Costs and pool are taken from the tree the first
//!     time (mtty 24 ports, 1 or 2 each; mbochs 64 units, 1/4/16; mdpy 4). Beyond it:
//!     ENOSPC (mtty, mbochs: their probe fails) or EUSERS (mdev core's own count: mdpy
//!     and the rest).
//! - `remove` ← 1 of an open mdev blocks (vfio_unregister_group_dev), the mdev already gone
//!   from `/sys/bus/mdev/devices` and its type's `devices/` meanwhile; ← 0 does nothing;
//!   anything that is not a number is EINVAL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::{errno, Model, Outcome};

/// An mdev on a parent: (uuid, type id).
type Instance = (String, String);

impl Model {
    pub(crate) fn mdev_create(&self, type_dir: &Path, value: &[u8]) -> Outcome {
        if !(36..=37).contains(&value.len()) {
            return Err(errno(libc::EINVAL));
        }
        let uuid = String::from_utf8_lossy(&value[..36]).to_lowercase();
        if !is_uuid(&uuid) {
            return Err(errno(libc::EINVAL));
        }
        if self
            .t
            .exists(&Path::new("sys/bus/mdev/devices").join(&uuid))
        {
            return Err(errno(libc::EEXIST));
        }
        let type_id = last(type_dir);
        let parent = parent_of_type(type_dir);
        let avail = self.capacity(&parent)?;
        if avail
            .get(&(parent.clone(), type_id.clone()))
            .copied()
            .unwrap_or(0)
            == 0
        {
            return Err(errno(self.full_errno(&parent)));
        }
        self.lay_mdev(&parent, &uuid, &type_id)?;
        self.refresh(&parent)
    }

    pub(crate) fn mdev_remove(&self, dir: &Path, value: &str) -> Outcome {
        let v = value.trim();
        let n = match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => v.parse::<u64>().ok(),
        };
        match n {
            None => return Err(errno(libc::EINVAL)),
            Some(0) => return Ok(()),
            Some(_) => {}
        }
        let uuid = last(dir);
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let type_id = self.t.link_name(&dir.join("mdev_type")).unwrap_or_default();
        if let Err(held) = self.unheld(dir) {
            // the mdev core takes it out of its type's devices/ and off the bus (device_del)
            // before the vfio driver's remove waits for the holders: a remove that blocks
            // already hides the mdev from /sys/bus/mdev/devices
            self.unlist(&parent, &type_id, &uuid)?;
            return Err(held);
        }
        let driver = self.t.link_name(&dir.join("driver"));
        let group = self.t.link_name(&dir.join("iommu_group"));
        for n in self.t.names(&dir.join("vfio-dev")) {
            self.t.remove(&Path::new("sys/class/vfio-dev").join(&n))?;
            self.t.remove(&Path::new("dev/vfio/devices").join(&n))?;
        }
        self.t.remove(dir)?;
        self.unlist(&parent, &type_id, &uuid)?;
        if let Some(d) = driver {
            self.t
                .remove(&Path::new("sys/bus/mdev/drivers").join(d).join(&uuid))?;
        }
        if let Some(g) = group {
            self.drop_group(&g)?;
        }
        self.refresh(&parent)
    }

    /// Take mdev `uuid` (of `type_id` on `parent`) off the mdev bus and out of its type's
    /// `devices/` (what the mdev core's device_del does first).
    fn unlist(&self, parent: &Path, type_id: &str, uuid: &str) -> Outcome {
        self.t
            .remove(&Path::new("sys/bus/mdev/devices").join(uuid))?;
        self.t.remove(
            &parent
                .join("mdev_supported_types")
                .join(type_id)
                .join("devices")
                .join(uuid),
        )?;
        Ok(())
    }

    /// The directory tree of a new mdev, as the kernel and fixtures/mkfixture.py lay it.
    fn lay_mdev(&self, parent: &Path, uuid: &str, type_id: &str) -> Outcome {
        let dir = parent.join(uuid);
        let t = &self.t;
        std::fs::create_dir(t.at(&dir))?;
        let type_dir = parent.join("mdev_supported_types").join(type_id);
        t.link(&dir.join("mdev_type"), &type_dir)?;
        let group = self.next_free("sys/kernel/iommu_groups", "");
        let gdir = PathBuf::from(format!("sys/kernel/iommu_groups/{group}"));
        t.link(&dir.join("iommu_group"), &gdir)?;
        t.link(&gdir.join("devices").join(uuid), &dir)?;
        t.put(&gdir.join("name"), "vfio-noiommu\n")?;
        t.put(&gdir.join("type"), "unknown\n")?;
        t.put(&gdir.join("reserved_regions"), "")?;
        t.link(&dir.join("subsystem"), Path::new("sys/bus/mdev"))?;
        t.put(&dir.join("remove"), "")?;
        let driver = self.mdev_driver(parent);
        let mut uevent = String::new();
        if let Some(d) = &driver {
            let ddir = Path::new("sys/bus/mdev/drivers").join(d);
            t.link(&dir.join("driver"), &ddir)?;
            t.link(&ddir.join(uuid), &dir)?;
            uevent.push_str(&format!("DRIVER={d}\n"));
            if d == "nvidia-vgpu-vfio" {
                t.put(&dir.join("nvidia/vgpu_params"), "")?;
                t.put(&dir.join("nvidia/placement_id"), "Not Applicable\n")?;
            }
        }
        uevent.push_str(&format!("MDEV_TYPE={type_id}\n"));
        t.put(&dir.join("uevent"), &uevent)?;
        t.link(&type_dir.join("devices").join(uuid), &dir)?;
        t.link(&Path::new("sys/bus/mdev/devices").join(uuid), &dir)?;
        self.register_vfio(&dir, &group.to_string())?;
        Ok(())
    }

    /// The mdev driver a new mdev of `parent` binds to: the parent's own (samples), NVIDIA's
    /// `nvidia-vgpu-vfio`, else the host's first mdev driver.
    fn mdev_driver(&self, parent: &Path) -> Option<String> {
        let drivers = self.t.names(Path::new("sys/bus/mdev/drivers"));
        let family = self.family(parent);
        if drivers.contains(&family) {
            return Some(family);
        }
        if family == "nvidia" {
            return Some("nvidia-vgpu-vfio".into());
        }
        drivers.into_iter().next()
    }

    /// The parent's driver (the link's name), or the parent's own name (the samples are
    /// class devices without a driver).
    pub(crate) fn family(&self, parent: &Path) -> String {
        self.t
            .link_name(&parent.join("driver"))
            .unwrap_or_else(|| last(parent))
    }

    fn full_errno(&self, parent: &Path) -> i32 {
        match self.family(parent).as_str() {
            "nvidia" | "mtty" | "mbochs" => libc::ENOSPC,
            _ => libc::EUSERS,
        }
    }

    /// The mdevs on `parent`.
    pub(crate) fn instances(&self, parent: &Path) -> Vec<Instance> {
        self.t
            .names(parent)
            .into_iter()
            .filter_map(|n| {
                let ty = self.t.link_name(&parent.join(&n).join("mdev_type"))?;
                Some((n, ty))
            })
            .collect()
    }

    /// The parents that share capacity with `parent` (NVIDIA VFs of one PF; else itself).
    fn siblings(&self, parent: &Path) -> Vec<PathBuf> {
        if self.family(parent) != "nvidia" || !self.t.exists(&parent.join("physfn")) {
            return vec![parent.to_path_buf()];
        }
        let Ok(pf) = self.t.resolve(&parent.join("physfn")) else {
            return vec![parent.to_path_buf()];
        };
        self.t
            .names(&pf)
            .into_iter()
            .filter(|n| n.starts_with("virtfn"))
            .filter_map(|n| self.t.resolve(&pf.join(n)).ok())
            .filter(|vf| self.t.exists(&vf.join("mdev_supported_types")))
            .collect()
    }

    /// What `available_instances` of every type of `parent` and its siblings reads now:
    /// (parent, type) → count.
    fn capacity(
        &self,
        parent: &Path,
    ) -> Result<BTreeMap<(PathBuf, String), u64>, crate::model::Refusal> {
        let parents = self.siblings(parent);
        let mut out = BTreeMap::new();
        if self.family(parent) == "nvidia" {
            let used: Vec<(PathBuf, Instance)> = parents
                .iter()
                .flat_map(|p| self.instances(p).into_iter().map(|i| (p.clone(), i)))
                .collect();
            let one_each = parents.len() > 1 || self.t.exists(&parent.join("physfn"));
            // the vGPUs' sizes, read once (not once per parent and type: 64 VFs × 8 types)
            let used: Vec<(PathBuf, (u64, u64))> = used
                .iter()
                .map(|(q, (_, t))| (q.clone(), self.nv_desc(q, t)))
                .collect();
            for p in &parents {
                for ty in self.t.names(&p.join("mdev_supported_types")) {
                    let d = self.nv_desc(p, &ty);
                    let n = nv_available(&d, &used, p, one_each);
                    out.insert((p.clone(), ty), n);
                }
            }
            return Ok(out);
        }
        let pool = self.pool(parent)?;
        let used: u64 = self
            .instances(parent)
            .iter()
            .map(|(_, t)| pool.cost.get(t).copied().unwrap_or(1))
            .sum();
        let left = pool.total.saturating_sub(used);
        for (ty, cost) in &pool.cost {
            out.insert((parent.to_path_buf(), ty.clone()), left / (*cost).max(1));
        }
        Ok(out)
    }

    /// Write every type's `available_instances` of `parent` and its siblings.
    pub(crate) fn refresh(&self, parent: &Path) -> Outcome {
        for ((p, ty), n) in self.capacity(parent)? {
            self.t.put(
                &p.join("mdev_supported_types")
                    .join(ty)
                    .join("available_instances"),
                &format!("{n}\n"),
            )?;
        }
        Ok(())
    }

    /// (framebuffer MB, max_instance) of NVIDIA type `ty` of `parent`, from its description.
    fn nv_desc(&self, parent: &Path, ty: &str) -> (u64, u64) {
        let d = self
            .t
            .read(
                &parent
                    .join("mdev_supported_types")
                    .join(ty)
                    .join("description"),
            )
            .unwrap_or_default();
        let field = |k: &str| {
            d.split(',').find_map(|kv| {
                let v = kv.trim().strip_prefix(k)?;
                v.trim_end_matches('M').parse::<u64>().ok()
            })
        };
        (
            field("framebuffer=").unwrap_or(0),
            field("max_instance=").unwrap_or(1),
        )
    }

    /// The pool of a non-NVIDIA parent: remembered from the first time it was asked.
    fn pool(&self, parent: &Path) -> Result<Pool, crate::model::Refusal> {
        let key = parent.to_string_lossy().replace(' ', "_");
        if let Some(v) = self.memo_get("pools", &key) {
            return Ok(Pool::parse(&v));
        }
        let types = self.t.names(&parent.join("mdev_supported_types"));
        let avail: BTreeMap<String, u64> = types
            .iter()
            .map(|t| {
                let n = self
                    .t
                    .num(
                        &parent
                            .join("mdev_supported_types")
                            .join(t)
                            .join("available_instances"),
                    )
                    .unwrap_or(0);
                (t.clone(), n)
            })
            .collect();
        let most = avail.values().copied().max().unwrap_or(0);
        let cost: BTreeMap<String, u64> = avail
            .iter()
            .map(|(t, n)| {
                (
                    t.clone(),
                    if *n == 0 {
                        most.max(1)
                    } else {
                        (most / n).max(1)
                    },
                )
            })
            .collect();
        let used: u64 = self
            .instances(parent)
            .iter()
            .map(|(_, t)| cost.get(t).copied().unwrap_or(1))
            .sum();
        let pool = Pool {
            total: most + used,
            cost,
        };
        self.memo_set("pools", &key, &pool.show())?;
        Ok(pool)
    }
}

/// A shared pool: its size, and what one instance of each type takes of it.
struct Pool {
    total: u64,
    cost: BTreeMap<String, u64>,
}

impl Pool {
    fn show(&self) -> String {
        let mut s = self.total.to_string();
        for (t, c) in &self.cost {
            s.push_str(&format!(" {t}={c}"));
        }
        s
    }

    fn parse(v: &str) -> Pool {
        let mut it = v.split_whitespace();
        let total = it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let cost = it
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect();
        Pool { total, cost }
    }
}

/// NVIDIA's equal-size rule: what a type of (`fb`, `max`) reads on parent `p`, given the
/// GPU's vGPUs `used` (their parent and (fb, max)). With one vGPU per parent (`one_each`,
/// VF parents) a parent that has one reads 0.
fn nv_available(ty: &(u64, u64), used: &[(PathBuf, (u64, u64))], p: &Path, one_each: bool) -> u64 {
    let (fb, max) = *ty;
    if one_each && used.iter().any(|(q, _)| q == p) {
        return 0;
    }
    let left = match used.first() {
        None => max,
        Some((_, (size, _))) if *size == fb => max.saturating_sub(used.len() as u64),
        Some(_) => 0,
    };
    if one_each {
        left.min(1)
    } else {
        left
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The last component of `p`.
pub(crate) fn last(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `<parent>/mdev_supported_types/<type>` → `<parent>`.
fn parent_of_type(type_dir: &Path) -> PathBuf {
    type_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
