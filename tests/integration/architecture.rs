//! The crate's shape: imports run downward only. Every `crate::…` path in `src/` (in `use`
//! lines, `use crate::{a, b::c}` groups included, and inline in code) is read as text and
//! mapped to the file it names; each file belongs to the layer of its module group
//! ([`LAYERS`], which must be the numbered list under "## Layers" in docs/architecture.md).
//! The test fails, naming both files, on an import of a higher layer and on any circle of
//! imports between files.
//!
//! What is read: comments and string literals are skipped; unit tests (`#[cfg(test)]`
//! modules and sibling `tests.rs` files) are read like the rest, so a test keeps the order
//! too. `super::` and `self::` paths are not read: they stay inside their own group, and a
//! `super::super::` (which could climb out) is refused. `main.rs` reaches the library as
//! `hostdev::`, and `lib.rs` only declares the modules: both are at the top.
//! `HOSTDEV_ARCH_SRC=DIR` reads another `src/` (an old checkout, to see the test fail).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::repo;

/// The module groups, lowest first: a file may import from its own group and from the
/// groups before it. Keep in step with docs/architecture.md ("## Layers").
const LAYERS: &[&str] = &[
    "error", "logger", "config", "host", "plan", "outcome", "cli", "render", "context", "exec",
    "commands", "main",
];

/// One `crate::` path and the file it came from.
struct Import {
    from: String,
    path: Vec<String>,
}

#[test]
fn the_layer_table_is_architecture_md_s() {
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let mut listed = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Layers";
            continue;
        }
        if !inside {
            continue;
        }
        // `1. **error** (`src/error.rs`): why`
        let Some((num, rest)) = line.split_once(". **") else {
            continue;
        };
        if num.parse::<usize>().is_err() {
            continue;
        }
        let name = rest.split("**").next().unwrap_or_default();
        listed.push(name.to_string());
    }
    assert_eq!(
        listed,
        LAYERS,
        "docs/architecture.md's \"## Layers\" list and LAYERS in {} disagree",
        file!()
    );
}

/// One diagnostics channel: messages for people go through the `log` facade; only
/// `main.rs` and `logger.rs` write to the terminal themselves, and stdout carries data
/// through the writer each command is handed (comments and strings are not code).
#[test]
fn only_main_and_the_logger_print() {
    let src = std::env::var_os("HOSTDEV_ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("src"));
    let mut offenders = Vec::new();
    for (file, text) in rust_files(&src) {
        if file == "main.rs" || file == "logger.rs" {
            continue;
        }
        let code = strip(&text);
        for m in ["eprintln!", "eprint!", "println!", "print!", "dbg!"] {
            if code.match_indices(m).any(|(i, _)| {
                // `print!` inside `eprint!`/`println!` is the same call, counted once
                !code[..i].ends_with('e') && !code[..i].ends_with("_")
            }) {
                offenders.push(format!("src/{file}: {m}"));
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert!(
        offenders.is_empty(),
        "print through log:: (stderr) or the command's writer (stdout), not directly:\n{}",
        offenders.join("\n")
    );
}

/// Private by default: every `pub` item of `src/` (an item, a field, a `pub mod`, a `pub
/// use`; `pub(crate)` and `pub(super)` are not `pub`) is listed under its file in
/// docs/architecture.md's "## Public surface", and everything listed there is `pub`. So an
/// item cannot become public unnoticed, and the list cannot go stale. Names as the list
/// writes them: `item`, `Type::item` (in `impl Type`), `Type.field` (of `struct Type`),
/// `module::*` (a glob re-export).
#[test]
fn the_public_surface_is_listed() {
    let src = std::env::var_os("HOSTDEV_ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("src"));
    let mut public = BTreeSet::new();
    for (file, text) in rust_files(&src) {
        for name in pub_items(&strip(&text)) {
            public.insert((format!("src/{file}"), name));
        }
    }
    assert!(!public.is_empty(), "no pub items under {}", src.display());
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let listed = listed_surface(&doc);
    assert!(
        !listed.is_empty(),
        "docs/architecture.md has no \"## Public surface\" list"
    );
    let show = |set: Vec<&(String, String)>| -> String {
        set.iter().map(|(f, n)| format!("\n  {f}: `{n}`")).collect()
    };
    let unlisted = show(public.difference(&listed).collect());
    let stale = show(listed.difference(&public).collect());
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "docs/architecture.md (\"## Public surface\") and the pub items of src/ disagree.\n\
         pub, not listed (make it pub(crate), or list it with the reason an outside crate \
         needs it):{unlisted}\nlisted, not pub:{stale}"
    );
}

/// The `pub` items of one file's code (comments and strings stripped), named as the
/// "## Public surface" list names them.
fn pub_items(code: &str) -> Vec<String> {
    // Longest first: `const fn` before `const`.
    const KINDS: &[&str] = &[
        "const fn",
        "async fn",
        "unsafe fn",
        "fn",
        "struct",
        "enum",
        "const",
        "static",
        "type",
        "trait",
        "mod",
        "use",
    ];
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut owner = String::new(); // the type of the `impl` block the line is in
    let mut strukt = String::new(); // the struct whose fields the line may declare
    for line in code.lines() {
        let indented = line.starts_with(char::is_whitespace);
        let t = line.trim_start();
        if !indented {
            if let Some(rest) = t.strip_prefix("impl") {
                // `impl<'a, T> Type<'a> {`: skip the generics, take the type.
                let mut depth = 0;
                let rest = rest.trim_start_matches(|c| match c {
                    '<' => {
                        depth += 1;
                        true
                    }
                    '>' => {
                        depth -= 1;
                        true
                    }
                    _ => depth > 0,
                });
                owner = ident(rest);
            } else if !t.is_empty() && !t.starts_with('#') && !t.starts_with('}') {
                owner.clear();
            }
        }
        let unvis = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some(rest) = unvis.strip_prefix("struct ") {
            strukt = ident(rest);
        }
        let Some(rest) = t.strip_prefix("pub ") else {
            continue;
        };
        let kind = KINDS
            .iter()
            .find(|k| rest.strip_prefix(**k).is_some_and(|r| r.starts_with(' ')));
        let name = match kind {
            Some(&"use") => rest["use".len()..].trim().trim_end_matches(';').to_string(),
            Some(k) => {
                let name = ident(&rest[k.len()..]);
                let member = !matches!(*k, "struct" | "enum" | "trait" | "mod" | "type");
                if indented && member && !owner.is_empty() {
                    format!("{owner}::{name}")
                } else {
                    name
                }
            }
            // A field: `pub name: Type,`.
            None if rest
                .split_once(':')
                .is_some_and(|(n, _)| ident(n) == n.trim()) =>
            {
                format!("{strukt}.{}", ident(rest))
            }
            // Anything else public (`pub extern crate`, …) is named by its line.
            None => rest.trim().to_string(),
        };
        out.push(name);
    }
    out
}

/// The names listed under "## Public surface": one bullet per file,
/// `` - `src/FILE`: `name`, `name` — why ``, as (file, name).
fn listed_surface(doc: &str) -> BTreeSet<(String, String)> {
    let mut section = String::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Public surface";
            continue;
        }
        if inside {
            section.push_str(line);
            section.push('\n');
        }
    }
    let mut out = BTreeSet::new();
    for bullet in section.split("\n- ").skip(1) {
        let names = bullet.split(" — ").next().unwrap_or_default();
        let mut ticked = names.split('`').skip(1).step_by(2);
        let Some(file) = ticked.next().filter(|f| f.starts_with("src/")) else {
            continue;
        };
        for name in ticked {
            out.insert((file.to_string(), name.to_string()));
        }
    }
    out
}

#[test]
fn imports_run_downward() {
    let src = std::env::var_os("HOSTDEV_ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("src"));
    let files = rust_files(&src);
    assert!(!files.is_empty(), "no .rs files under {}", src.display());
    let modules: BTreeMap<Vec<String>, String> =
        files.keys().map(|f| (module_path(f), f.clone())).collect();
    let mut problems = Vec::new();
    let mut imports = Vec::new();
    for (file, text) in &files {
        let code = strip(text);
        if code.contains("super::super") {
            problems.push(format!(
                "{file}: `super::super::` climbs out of its group; write `crate::`"
            ));
        }
        for path in crate_paths(&code) {
            imports.push(Import {
                from: file.clone(),
                path,
            });
        }
    }
    // file -> file, with the paths that tie them
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for i in &imports {
        let Some(to) = target(&modules, &files, &i.path) else {
            continue;
        };
        if to == i.from {
            continue;
        }
        edges
            .entry(i.from.clone())
            .or_default()
            .entry(to)
            .or_default()
            .insert(format!("crate::{}", i.path.join("::")));
    }
    for file in files.keys() {
        if layer(file).is_none() {
            problems.push(format!(
                "src/{file}: its group {:?} has no layer: add it to docs/architecture.md's \"## Layers\" and to LAYERS",
                group(file)
            ));
        }
    }
    for (from, tos) in &edges {
        for (to, paths) in tos {
            if let (Some(a), Some(b)) = (layer(from), layer(to)) {
                if b > a {
                    problems.push(format!(
                        "upward import: src/{from} ({}, layer {}) imports src/{to} ({}, layer {}): {}",
                        group(from),
                        a + 1,
                        group(to),
                        b + 1,
                        paths.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    for circle in circles(&edges) {
        let mut steps = Vec::new();
        for from in &circle {
            for (to, paths) in &edges[from] {
                if circle.contains(to) {
                    steps.push(format!(
                        "src/{from} -> src/{to} ({})",
                        paths.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        problems.push(format!(
            "import circle between {}: {}",
            circle
                .iter()
                .map(|f| format!("src/{f}"))
                .collect::<Vec<_>>()
                .join(" and "),
            steps.join("; ")
        ));
    }
    assert!(
        problems.is_empty(),
        "imports must run downward (docs/architecture.md, \"## Layers\"):\n{}",
        problems.join("\n")
    );
}

/// Every `.rs` file under `src`, by its path relative to `src` (with `/`).
fn rust_files(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// `exec/apply.rs` → `[exec, apply]`; `plan/mod.rs` → `[plan]`; `lib.rs`, `main.rs` → `[]`.
fn module_path(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(String::from).collect();
    if parts.last().is_some_and(|l| l == "mod") || matches!(stem, "lib" | "main") {
        parts.pop();
    }
    parts
}

/// The module group of a file: its first path component (`exec/vfio.rs` → `exec`).
fn group(file: &str) -> String {
    file.trim_end_matches(".rs")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn layer(file: &str) -> Option<usize> {
    let g = group(file);
    if g == "lib" {
        return Some(LAYERS.len() - 1);
    }
    LAYERS.iter().position(|l| *l == g)
}

/// The file a path names: the longest module prefix that is a file; a name a module face
/// re-exports with `pub use child::*` (`crate::plan::Plan`) is the child's.
fn target(
    modules: &BTreeMap<Vec<String>, String>,
    files: &BTreeMap<String, String>,
    path: &[String],
) -> Option<String> {
    let k = (1..=path.len())
        .rev()
        .find(|k| modules.contains_key(&path[..*k]))?;
    let file = &modules[&path[..k]];
    if let Some(name) = path.get(k) {
        for line in strip(&files[file]).lines() {
            let line = line.trim();
            if let Some(child) = line
                .strip_prefix("pub use ")
                .and_then(|l| l.strip_suffix("::*;"))
            {
                let mut p = path[..k].to_vec();
                p.push(child.trim_start_matches("self::").to_string());
                if let Some(f) = modules.get(&p) {
                    if !modules.contains_key(&[&path[..k], std::slice::from_ref(name)].concat()) {
                        return Some(f.clone());
                    }
                }
            }
        }
    }
    Some(file.clone())
}

/// The text without comments and without the contents of string and char literals.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            'r' if (c.get(i + 1) == Some(&'"') || c.get(i + 1) == Some(&'#'))
                && !(i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')) =>
            {
                // raw string: r"…", r#"…"#
                let mut j = i + 1;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) != Some(&'"') {
                    out.push(c[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                while j < c.len() {
                    if c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            '"' => {
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            '\'' if c.get(i + 1) == Some(&'\\') => {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            '\'' if c.get(i + 2) == Some(&'\'') => {
                i += 3;
                out.push_str("' '");
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// Every path that starts with `crate::`, groups expanded: `crate::{a, b::{c, d}}` gives
/// `a`, `b::c`, `b::d`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = find(&c, i, "crate::") {
        let before = pos.checked_sub(1).map(|p| c[p]);
        i = pos + "crate::".len();
        if before.is_some_and(|b| b.is_alphanumeric() || b == '_' || b == '$') {
            continue;
        }
        tree(&c, &mut i, &mut Vec::new(), &mut out);
    }
    out
}

fn find(c: &[char], from: usize, needle: &str) -> Option<usize> {
    let n: Vec<char> = needle.chars().collect();
    (from..c.len().saturating_sub(n.len() - 1)).find(|&p| c[p..p + n.len()] == n[..])
}

fn skip_ws(c: &[char], i: &mut usize) {
    while *i < c.len() && c[*i].is_whitespace() {
        *i += 1;
    }
}

/// One use-tree at `i` under `prefix`: `name`, `name::tree`, `{tree, …}`, `*`, `self`.
fn tree(c: &[char], i: &mut usize, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    skip_ws(c, i);
    if c.get(*i) == Some(&'{') {
        *i += 1;
        loop {
            skip_ws(c, i);
            match c.get(*i) {
                None => return,
                Some('}') => {
                    *i += 1;
                    return;
                }
                Some(',') => *i += 1,
                _ => {
                    let depth = prefix.len();
                    tree(c, i, prefix, out);
                    prefix.truncate(depth);
                    // `as name`
                    skip_ws(c, i);
                    while *i < c.len() && !matches!(c[*i], ',' | '}') {
                        *i += 1;
                    }
                }
            }
        }
    }
    if c.get(*i) == Some(&'*') {
        *i += 1;
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    let start = *i;
    while *i < c.len() && (c[*i].is_alphanumeric() || c[*i] == '_') {
        *i += 1;
    }
    let name: String = c[start..*i].iter().collect();
    if name.is_empty() {
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    if name != "self" {
        prefix.push(name);
    }
    if c.get(*i) == Some(&':') && c.get(*i + 1) == Some(&':') {
        *i += 2;
        tree(c, i, prefix, out);
    } else if !prefix.is_empty() {
        out.push(prefix.clone());
    }
}

/// The circles of the file graph: each set of more than one file that reach each other
/// (a strongly connected component).
fn circles(edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(a, tos)| std::iter::once(a).chain(tos.keys()))
        .collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for to in edges.get(&n).into_iter().flat_map(|t| t.keys()) {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for n in nodes {
        if done.contains(n) || !reach(n).contains(n) {
            continue;
        }
        let component: BTreeSet<String> = reach(n)
            .into_iter()
            .filter(|m| reach(m).contains(n))
            .collect();
        done.extend(component.iter().cloned());
        out.push(component);
    }
    out
}
