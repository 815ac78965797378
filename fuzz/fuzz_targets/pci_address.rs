//! PCI address arguments (src/config/names.rs, `pci_address`: `0000:65:00.0` or `65:00.0`).
//! Invariants: no panic; an accepted address is the kernel's spelling (12 characters,
//! lower case, with the domain: `config::names::is_pci_address`), device ≤ 1f, function ≤ 7, and
//! accepted again unchanged.
#![no_main]

use hostdev::config::{names::is_pci_address, names::pci_address};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Arguments reach clap as OS strings; hostdev takes them as UTF-8.
    let Ok(arg) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(full) = pci_address(arg) else {
        return;
    };
    assert!(is_pci_address(&full), "{arg:?} → {full:?}");
    assert_eq!(full, full.to_ascii_lowercase());
    let device = u8::from_str_radix(&full[8..10], 16).expect("hex");
    let function = u8::from_str_radix(&full[11..12], 16).expect("hex");
    assert!(device <= 0x1f && function <= 7, "{full}");
    assert_eq!(pci_address(&full), Ok(full.clone()));
});
