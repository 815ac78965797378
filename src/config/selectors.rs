//! What the configuration asks of one node (docs/planner.md): a `nodeSelector` matches a
//! node when every one of its labels is the node's; the node's desired mdev types
//! ([`Desired`]) and passthrough addresses come from the matching node entries, else the
//! global lists; and the mdev name selectors of external providers, whose mdevs are never
//! removed.

use std::collections::{BTreeMap, HashSet};

use super::model::{normalize, Config, VfCount};
use super::node::Node;

impl Node {
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
    pub(crate) fn passthrough_for(&self, node: &Node) -> Vec<String> {
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

    /// How many VFs hostdev enables on this node's vGPU GPUs: the first matching
    /// `nodeVirtualFunctions` entry, else `virtualFunctions`; `None`: hostdev enables none.
    pub(crate) fn vfs_for(&self, node: &Node) -> Option<VfCount> {
        self.hostdev
            .node_vfs
            .iter()
            .find(|e| node.matches(&e.node_selector))
            .map(|e| e.vfs)
            .or(self.hostdev.vfs)
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
