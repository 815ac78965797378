//! The configuration loader (src/config/load.rs): bytes as read from `-f FILE` through
//! `config::load::load_with` (UTF-8 check, depth check over libyaml's events, YAML → the four
//! shapes, validation). Invariants: no panic; every error is an invalid configuration
//! (exit 65); a valid configuration gives each node a duplicate-free desired list and
//! reads the same on a second parse.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use hostdev::config::{self, node::Node, selectors::Desired};
use hostdev::error::{exit_code, Code};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz/config.yaml");
    match config::load::load_with(path, &|_| Ok(data.to_vec())) {
        Err(e) => assert_eq!(exit_code(&e), Code::Config, "{e:#}"),
        Ok(cfg) => {
            for node in [
                Node::new("node1", &[]),
                Node::new("node2", &[("gpu".into(), "t4".into())]),
            ] {
                if let Desired::Types(types) = cfg.desired_for(&node) {
                    let mut seen = HashSet::new();
                    assert!(
                        types.iter().all(|t| seen.insert(t)),
                        "duplicates: {types:?}"
                    );
                }
            }
            let _ = cfg.external_mdev_selectors();
            // Deterministic: the same text reads the same again.
            let again = config::load::load_with(path, &|_| Ok(data.to_vec()))
                .expect("a configuration that parsed once parses again");
            assert_eq!(format!("{cfg:?}"), format!("{again:?}"));
        }
    }
});
