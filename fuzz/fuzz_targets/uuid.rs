//! mdev UUIDs as a saved plan gives them (src/plan/saved.rs, `uuid_ok`: 36 characters,
//! hyphenated, as the kernel accepts them). Invariants: no panic; an accepted UUID is
//! accepted in lower case too (the plan stores it so) and has the 8-4-4-4-12 shape.
#![no_main]

use hostdev::plan::saved::uuid_ok;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if !uuid_ok(s) {
        return;
    }
    assert!(uuid_ok(&s.to_ascii_lowercase()), "{s:?}");
    let groups: Vec<usize> = s.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{s:?}");
    assert!(
        s.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{s:?}"
    );
});
