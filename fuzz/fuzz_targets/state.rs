//! The state file (src/plan/state.rs, `<root>/run/hostdev/state.json`): `State::parse` is
//! what `State::load` reads. Invariants: no panic; an accepted state survives
//! state → `to_json` (what `save` writes) → state unchanged, unknown fields included.
#![no_main]

use hostdev::plan::state::State;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = State::parse(data, "/run/hostdev/state.json") else {
        return;
    };
    let json = state.to_json().expect("a parsed state serializes");
    let again = State::parse(json.as_bytes(), "/run/hostdev/state.json")
        .unwrap_or_else(|e| panic!("the state's own JSON does not read back: {e:#}\n{json}"));
    assert_eq!(state, again, "{json}");
    // And the writer is a fixed point.
    assert_eq!(json, again.to_json().expect("serializes"));
});
