//! pci.ids (src/plan/nvidia.rs, `device_name`: NVIDIA's device plugin's `getDeviceName`),
//! given the text as `read_pci_ids` hands it on (invalid UTF-8 replaced). Invariants: no
//! panic; a name found is of the characters the resource name may carry.
#![no_main]

use hostdev::plan::nvidia;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first four bytes, when hexadecimal, are a device ID to look up as well.
    let own = data
        .get(..4)
        .and_then(|b| std::str::from_utf8(b).ok())
        .filter(|s| s.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase);
    let text = String::from_utf8_lossy(data);
    let ids = ["1eb8", "2236", "1db4", "26b9", "0000"];
    for id in ids.iter().copied().chain(own.as_deref()) {
        if let Some(name) = nvidia::device_name(&text, id) {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '.'),
                "{id}: {name:?}"
            );
        }
    }
});
