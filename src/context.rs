//! The per-run context built from the global options: root, node identity, output.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{GlobalArgs, Output};
use crate::config::{self, model::Config, node::Node};
use crate::error::{fail, Code};
use crate::host::root::read::read_user_file;
use crate::host::root::Root;

pub struct Context {
    pub root: Root,
    pub(crate) output: Output,
    /// `-o -`: print the file (`init`) on stdout instead of writing it.
    pub(crate) print_file: bool,
    pub(crate) quiet: bool,
    node_name: Option<String>,
    labels: Vec<(String, String)>,
    config_path: Option<PathBuf>,
}

impl Context {
    pub fn new(g: &GlobalArgs) -> Result<Context> {
        if !g.root.is_dir() {
            return Err(fail(
                Code::NotFound,
                format!("--root {}: no such directory", g.root.display()),
            ));
        }
        Ok(Context {
            root: Root::new(&g.root),
            output: g.output.format(),
            print_file: g.output == crate::cli::OutputArg::Stdout,
            quiet: g.quiet,
            node_name: g.node_name.clone(),
            labels: g.labels.clone(),
            config_path: g.config.clone(),
        })
    }

    /// The configuration path: `-f`, else `<root>/etc/hostdev/config.yaml`.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.config_path
            .clone()
            .unwrap_or_else(|| self.root.default_config())
    }

    /// Whether the configuration was named with `-f` (not the default path).
    pub(crate) fn config_given(&self) -> bool {
        self.config_path.is_some()
    }

    /// Load and validate the configuration; warnings go to stderr.
    pub(crate) fn load_config(&self) -> Result<Config> {
        let cfg = match &self.config_path {
            // `-f FILE` (or `-` for stdin) is the user's file, outside the root
            Some(p) => {
                config::load::load_with(p, &|p| read_user_file(p, config::load::CONFIG_MAX))?
            }
            // the default configuration lives under the root: read it inside the root
            None => config::load::load_with(&self.config_path(), &|p| {
                self.root.read_own(p, config::load::CONFIG_MAX)
            })?,
        };
        for w in &cfg.warnings {
            log::warn!("{w}");
        }
        Ok(cfg)
    }

    /// The node identity: `--node-name`, else the host name under the root.
    pub(crate) fn node(&self) -> Result<Node> {
        let name = match &self.node_name {
            Some(n) => n.clone(),
            None => self.host_name()?,
        };
        if name.is_empty() {
            return Err(fail(Code::Usage, "--node-name must not be empty"));
        }
        Ok(Node::new(&name, &self.labels))
    }

    /// The node identity with `name` when the host's name cannot be told (`init`'s preview).
    pub(crate) fn node_named(&self, name: &str) -> Node {
        Node::new(self.node_name.as_deref().unwrap_or(name), &self.labels)
    }

    /// The node selector `--node-name` and `--label` spell (`init` writes node-specific
    /// sections with it); `None` when neither is given.
    pub(crate) fn node_selector(&self) -> Option<std::collections::BTreeMap<String, String>> {
        if self.node_name.is_none() && self.labels.is_empty() {
            return None;
        }
        let mut sel: std::collections::BTreeMap<String, String> =
            self.labels.iter().cloned().collect();
        if let Some(n) = &self.node_name {
            sel.insert(crate::config::names::HOSTNAME_LABEL.to_string(), n.clone());
        }
        Some(sel)
    }

    fn host_name(&self) -> Result<String> {
        for file in self.root.hostname_files() {
            if let Ok(Some(s)) = self.root.read_opt(&file) {
                let s = s.trim();
                if !s.is_empty() {
                    return Ok(s.to_string());
                }
            }
        }
        if self.root.is_real_root() {
            if let Ok(h) = nix::unistd::gethostname() {
                return Ok(h.to_string_lossy().into_owned());
            }
        }
        Err(fail(
            Code::Usage,
            format!(
                "cannot tell the node name: no proc/sys/kernel/hostname or etc/hostname under {}; pass --node-name NAME",
                self.root.root().display()
            ),
        ))
    }
}
