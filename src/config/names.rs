//! Name rules shared by the command line and the configuration: the PCI address as the
//! kernel spells it, the label that is always the node name, and Kubernetes' syntax of a
//! label key and value (`--label` and a `nodeSelector` obey the same rules).

/// The label every node carries, always equal to the node name (KubeVirt's nodes have it).
pub(crate) const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// `DDDD:BB:DD.F`.
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// A PCI address argument, `0000:65:00.0` or `65:00.0`, as the kernel names it: lower-case,
/// with the domain. `Err(None)`: not of the address form (perhaps a `vendor:device`
/// selector); `Err(Some(why))`: of the form, but naming no slot a PCI bus can have (device
/// above 0x1f or function above 7), which is a usage error, not a missing device.
pub fn pci_address(s: &str) -> Result<String, Option<String>> {
    let s = s.trim().to_ascii_lowercase();
    let full = if s.len() == 7 { format!("0000:{s}") } else { s };
    if !is_pci_address(&full) {
        return Err(None);
    }
    let hex = |r: std::ops::Range<usize>| u8::from_str_radix(&full[r], 16).unwrap_or(u8::MAX);
    let (device, function) = (hex(8..10), hex(11..12));
    if device > 0x1f {
        return Err(Some(format!(
            "{full} is not a PCI address: device {:02x} is above 1f",
            device
        )));
    }
    if function > 7 {
        return Err(Some(format!(
            "{full} is not a PCI address: function {function:x} is above 7"
        )));
    }
    Ok(full)
}
/// Kubernetes' name part of a label key and a label value: at most 63 characters, letters,
/// digits, `-`, `_` and `.`, beginning and ending with a letter or digit.
fn is_label_name(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    s.len() <= 63
        && s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || "-_.".contains(c))
}

/// A DNS subdomain (RFC 1123) as Kubernetes checks a label key's prefix: at most 253
/// characters, dot-separated parts of lower-case letters, digits and `-`, each beginning
/// and ending with a letter or digit.
fn is_dns_subdomain(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.len() <= 253
        && s.split('.').all(|part| {
            part.starts_with(alnum)
                && part.ends_with(alnum)
                && part.chars().all(|c| alnum(c) || c == '-')
        })
}

/// Why `k` is not a Kubernetes label key (`[prefix/]name`: the name as
/// [`is_label_name`], the optional prefix a DNS subdomain); `None` when it is one.
pub(crate) fn label_key_error(k: &str) -> Option<String> {
    let ok = match k.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(k),
    };
    (!ok).then(|| {
        format!(
            "{k:?} is not a Kubernetes label key: expected [PREFIX/]NAME, NAME at most 63 \
             letters, digits, '-', '_' or '.' beginning and ending with a letter or digit, \
             PREFIX a DNS subdomain (e.g. kubernetes.io/hostname, topology.kubernetes.io/zone)"
        )
    })
}

/// Why `v` is not a Kubernetes label value (empty, or as [`is_label_name`]); `None` when
/// it is one.
pub(crate) fn label_value_error(v: &str) -> Option<String> {
    (!v.is_empty() && !is_label_name(v)).then(|| {
        format!(
            "{v:?} is not a Kubernetes label value: expected at most 63 letters, digits, \
             '-', '_' or '.' beginning and ending with a letter or digit (or \"\")"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12 item 10: addresses past the last device or function are usage errors.
    #[test]
    fn pci_addresses_are_checked_for_range() {
        assert_eq!(pci_address("65:00.0").as_deref(), Ok("0000:65:00.0"));
        assert_eq!(pci_address("0000:3B:1f.7").as_deref(), Ok("0000:3b:1f.7"));
        assert_eq!(
            pci_address("0000:65:00.8"),
            Err(Some(
                "0000:65:00.8 is not a PCI address: function 8 is above 7".into()
            ))
        );
        assert_eq!(
            pci_address("0000:65:20.0"),
            Err(Some(
                "0000:65:20.0 is not a PCI address: device 20 is above 1f".into()
            ))
        );
        assert_eq!(pci_address("10de:1eb8"), Err(None));
    }

    #[test]
    fn addresses_are_spelled_as_the_kernel_does() {
        assert_eq!(pci_address("65:00.0").ok().as_deref(), Some("0000:65:00.0"));
        assert_eq!(
            pci_address("0000:3B:00.1").ok().as_deref(),
            Some("0000:3b:00.1")
        );
        assert_eq!(pci_address("10de:1eb8").ok(), None);
        assert_eq!(pci_address("65:00").ok(), None);
    }

    #[test]
    fn pci_address_shape() {
        assert!(is_pci_address("0000:65:00.0"));
        assert!(!is_pci_address("00000000-0000-4000-8000-000000000001"));
        assert!(!is_pci_address("65:00.0"));
    }
}
