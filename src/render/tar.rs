//! `hostdev capture --out -`: a capture as a POSIX tar stream (ustar headers; a pax
//! extended header for a path or link target too long for them), reproducible: entries in
//! path order, owner root, mtime 0, mode 0755 for directories and 0644 for files.

use std::io::{self, Write};
use std::path::Path;

use crate::host::capture::{Capture, Node};

const BLOCK: usize = 512;

/// Write the whole capture as a tar stream, ended by two zero blocks.
pub(crate) fn write(out: &mut dyn Write, cap: &Capture) -> io::Result<()> {
    for (path, node) in &cap.nodes {
        entry(out, path, node)?;
    }
    out.write_all(&[0u8; 2 * BLOCK])?;
    out.flush()
}

fn entry(out: &mut dyn Write, path: &Path, node: &Node) -> io::Result<()> {
    let mut name = path.to_string_lossy().into_owned();
    let (flag, mode, data, link): (u8, u32, &[u8], String) = match node {
        Node::Dir => {
            name.push('/');
            (b'5', 0o755, &[], String::new())
        }
        Node::File(b) => (b'0', 0o644, b.as_slice(), String::new()),
        Node::Link(t) => (b'2', 0o777, &[], t.to_string_lossy().into_owned()),
    };
    let split = split_name(&name);
    if split.is_none() || link.len() > 100 {
        let mut records = Vec::new();
        if split.is_none() {
            records.extend(pax_record("path", &name));
        }
        if link.len() > 100 {
            records.extend(pax_record("linkpath", &link));
        }
        let h = header("pax_header", b'x', 0o644, records.len(), "", "")?;
        out.write_all(&h)?;
        body(out, &records)?;
    }
    let (prefix, short) = split.unwrap_or(("", truncate(&name, 100)));
    let h = header(short, flag, mode, data.len(), truncate(&link, 100), prefix)?;
    out.write_all(&h)?;
    body(out, data)
}

/// The data, padded to a whole block.
fn body(out: &mut dyn Write, data: &[u8]) -> io::Result<()> {
    out.write_all(data)?;
    let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
    out.write_all(&vec![0u8; pad])
}

/// The longest prefix of `s` of at most `n` bytes that ends on a character boundary.
fn truncate(s: &str, n: usize) -> &str {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `(prefix, name)` for ustar: the name at most 100 bytes, the prefix at most 155, split
/// at a `/`; `None` when no split fits.
fn split_name(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    // a directory's trailing slash stays with the name
    let body = path.trim_end_matches('/');
    path.char_indices()
        .filter(|&(i, c)| c == '/' && i < body.len())
        .map(|(i, _)| (&path[..i], &path[i + 1..]))
        .find(|(p, n)| p.len() <= 155 && n.len() <= 100 && !n.is_empty())
}

/// One pax record: `<len> <key>=<value>\n`, the length counting itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

fn octal(field: &mut [u8], value: u64) -> io::Result<()> {
    let digits = format!("{value:o}");
    let width = field.len() - 1;
    if digits.len() > width {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{value} does not fit a tar header field"),
        ));
    }
    let s = format!("{digits:0>width$}\0");
    field.copy_from_slice(s.as_bytes());
    Ok(())
}

fn header(
    name: &str,
    flag: u8,
    mode: u32,
    size: usize,
    link: &str,
    prefix: &str,
) -> io::Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode))?;
    octal(&mut h[108..116], 0)?;
    octal(&mut h[116..124], 0)?;
    octal(&mut h[124..136], size as u64)?;
    octal(&mut h[136..148], 0)?;
    h[156] = flag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // the checksum is computed with its own field as spaces
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        let r = pax_record("path", "a");
        assert_eq!(r, b"9 path=a\n");
        let long = "x".repeat(95);
        let r = pax_record("path", &long);
        assert_eq!(
            r.len(),
            String::from_utf8(r.clone()).unwrap()[..3]
                .parse::<usize>()
                .unwrap()
        );
    }

    #[test]
    fn long_names_split_at_a_slash() {
        let p = format!("{}/{}", "a".repeat(120), "b".repeat(90));
        assert_eq!(
            split_name(&p).map(|(a, b)| (a.len(), b.len())),
            Some((120, 90))
        );
        assert_eq!(split_name(&"c".repeat(101)), None);
        assert_eq!(split_name("short"), Some(("", "short")));
    }

    #[test]
    fn tar_extracts_long_names_and_link_targets_through_pax() {
        let mut cap = Capture::default();
        let long = format!("sys/{}/{}", "d".repeat(160), "f".repeat(110));
        let target = format!("../{}", "t".repeat(150));
        cap.put(Path::new(&long), Node::File(b"1\n".to_vec()))
            .unwrap();
        cap.put(Path::new("sys/link"), Node::Link(target.clone().into()))
            .unwrap();
        let mut bytes = Vec::new();
        write(&mut bytes, &cap).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let tar = tmp.path().join("t.tar");
        std::fs::write(&tar, &bytes).unwrap();
        let x = tmp.path().join("x");
        std::fs::create_dir(&x).unwrap();
        let ok = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap();
        assert!(ok.success());
        assert_eq!(std::fs::read_to_string(x.join(&long)).unwrap(), "1\n");
        assert_eq!(
            std::fs::read_link(x.join("sys/link")).unwrap(),
            Path::new(&target)
        );
    }

    #[test]
    fn a_header_has_a_valid_checksum() {
        let h = header("sys/x", b'0', 0o644, 3, "", "").unwrap();
        let mut sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        sum -= h[148..156].iter().map(|&b| u32::from(b)).sum::<u32>();
        sum += 8 * u32::from(b' ');
        let field = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(field, 8).unwrap(), sum);
        assert_eq!(&h[257..263], b"ustar\0");
    }
}
