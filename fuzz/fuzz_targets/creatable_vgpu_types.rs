//! NVIDIA's vendor-VFIO `creatable_vgpu_types` (src/host/inventory.rs, `parse_creatable`):
//! `ID    : vGPU Name` header, then `1145  : NVIDIA L40S-1B` lines. Invariants: no panic;
//! at most one entry per line; names are trimmed and single-line.
#![no_main]

use hostdev::host::inventory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let types = inventory::pci::parse_creatable(text);
    assert!(types.len() <= text.lines().count());
    for (_, name) in &types {
        assert_eq!(name.trim(), name);
        assert!(!name.contains('\n'), "{name:?}");
    }
});
