//! Saved plans (src/plan/saved.rs): `hostdev apply --plan FILE`, JSON or YAML. Invariants:
//! no panic; every error is an invalid plan (exit 65); an accepted plan only names sysfs
//! components and lower-case UUIDs it checked, and survives plan → JSON → plan with the
//! same actions, parents and node (`hostdev plan -o json` writes exactly that JSON).
#![no_main]

use hostdev::error::{exit_code, Code};
use hostdev::plan::saved;
use hostdev::plan::Action;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As `saved::read` hands it on: only UTF-8 text reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plan = match saved::parse(text, "fuzz.json") {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(exit_code(&e), Code::Config, "{e:#}");
            return;
        }
    };
    for a in &plan.actions {
        if let Action::Remove(m) | Action::Create(m) = a {
            assert!(saved::uuid_ok(&m.uuid), "{:?}", m.uuid);
            assert!(
                !m.uuid.chars().any(|c| c.is_ascii_uppercase()),
                "{:?}",
                m.uuid
            );
            for name in [&m.parent, &m.type_id] {
                assert!(
                    !name.contains('/') && name != "." && name != "..",
                    "{name:?}"
                );
            }
        }
    }
    let json = serde_json::to_string_pretty(&plan).expect("a parsed plan serializes");
    let again = saved::parse(&json, "fuzz.json")
        .unwrap_or_else(|e| panic!("the plan's own JSON does not read back: {e:#}\n{json}"));
    assert_eq!(plan.actions, again.actions);
    assert_eq!(plan.node, again.node);
    assert_eq!(plan.blocked.len(), again.blocked.len());
    assert_eq!(
        serde_json::to_value(&plan.parents).ok(),
        serde_json::to_value(&again.parents).ok()
    );
});
