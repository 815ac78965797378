//! An mdev type's `description` (src/host/inventory.rs, `max_instance`: NVIDIA's
//! `num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=16`).
//! Invariants: no panic; a count is only found where the text says `max_instance=`.
#![no_main]

use hostdev::host::inventory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The attribute is read as text (`read_opt`), so only UTF-8 reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(n) = inventory::mdev::max_instance(text) {
        assert!(text.contains("max_instance="), "{n} from {text:?}");
    }
});
