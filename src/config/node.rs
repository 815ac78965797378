//! The node's identity as the configuration's `nodeSelector`s see it: its name and its
//! labels, `kubernetes.io/hostname` always among them. Matching a selector against it is
//! [`super::selectors`]'s; what a label may be is [`super::names`]'s.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::names::HOSTNAME_LABEL;

/// The node identity used for `nodeSelector` matching.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Node {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, String>,
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
}
