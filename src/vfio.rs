//! Binding PCI devices to vfio-pci and returning them to their original drivers: device
//! selection, refusal rules (group viability, host use, NVIDIA vendor-VFIO VFs) and the
//! driver_override + unbind + drivers_probe sequence.

/// `0000:65:00.0` or `65:00.0` → `0000:65:00.0` (lower-case); `None` if not an address.
pub fn normalize_address(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let full = if s.len() == 7 { format!("0000:{s}") } else { s };
    crate::hostcheck::is_pci_address(&full).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            normalize_address("65:00.0").as_deref(),
            Some("0000:65:00.0")
        );
        assert_eq!(
            normalize_address("0000:3B:00.1").as_deref(),
            Some("0000:3b:00.1")
        );
        assert_eq!(normalize_address("10de:1eb8"), None);
        assert_eq!(normalize_address("65:00"), None);
    }
}
