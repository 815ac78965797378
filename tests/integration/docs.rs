//! The documentation's examples are real: every `$ hostdev ...` command in a `console`
//! block of README.md and docs/*.md is run from the repository's top directory against the
//! bundled fixtures, and the lines shown under it must appear in its output, in order
//! (lines reading `...`/`…`, indented or not, mark elided output). The exit-code table of
//! docs/exit-codes.md is generated from `Code::ALL`.

use std::path::PathBuf;

use hostdev::error::Code;

use crate::util::{ensure_file_contents, repo, Cmd};

struct Example {
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    let mut current: Option<Example> = None;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            if let Some(e) = current.take() {
                out.push(e);
            }
            in_console = line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            if let Some(e) = current.take() {
                out.push(e);
            }
            // only plain hostdev invocations: no pipes, redirections or comments
            if cmd.starts_with("hostdev ") && !cmd.contains(['|', '>', '#', '\'', '"']) {
                current = Some(Example {
                    line: i + 1,
                    args: cmd.split_whitespace().skip(1).map(String::from).collect(),
                    expected: Vec::new(),
                });
            }
        } else if let Some(e) = current.as_mut() {
            let l = line.trim_end();
            if !l.is_empty() && !matches!(l.trim(), "..." | "…") {
                e.expected.push(l.to_string());
            }
        }
    }
    out
}

/// README.md, then docs/*.md in name order (relative paths).
fn documents() -> Vec<String> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .map(|rd| {
            rd.map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    let mut out = vec!["README.md".to_string()];
    out.extend(docs.iter().map(|p| {
        p.strip_prefix(repo())
            .expect("under the repository")
            .display()
            .to_string()
    }));
    out
}

#[test]
fn readme_and_docs_console_examples_match_the_binary() {
    let root = repo();
    let mut count = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(root.join(&doc)).expect("read document");
        let examples = examples(&text);
        count += examples.len();
        for ex in &examples {
            check_example(&doc, ex);
        }
    }
    assert!(count >= 10, "found only {count} examples");
}

fn check_example(doc: &str, ex: &Example) {
    let out = Cmd::default().args(&ex.args).current_dir(repo()).run();
    let actual = format!("{}{}", out.stderr, out.stdout);
    let lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in &ex.expected {
        match lines[at..].iter().position(|l| l == want) {
            Some(k) => at += k + 1,
            None => panic!(
                "{doc}:{}: `hostdev {}`: line not found (in order) in the output:\n  {want}\n--- actual output\n{actual}",
                ex.line,
                ex.args.join(" ")
            ),
        }
    }
}

const TABLE_BEGIN: &str = "<!-- generated from src/error.rs Code::ALL; do not edit by hand -->\n";
const TABLE_END: &str = "<!-- end of generated table -->\n";

/// The exit-code table, one row per [`Code::ALL`] entry.
fn exit_code_table() -> String {
    let mut table = String::from("| code | meaning |\n|---|---|\n");
    for code in Code::ALL {
        table.push_str(&format!("| {} | {} |\n", code.as_i32(), code.description()));
    }
    table
}

#[test]
fn exit_code_table_matches_code_all() {
    let rel = "docs/exit-codes.md";
    let text = std::fs::read_to_string(repo().join(rel)).expect("docs/exit-codes.md");
    let start = text
        .find(TABLE_BEGIN)
        .unwrap_or_else(|| panic!("{rel} has no line {TABLE_BEGIN:?}"))
        + TABLE_BEGIN.len();
    let end = start
        + text[start..]
            .find(TABLE_END)
            .unwrap_or_else(|| panic!("{rel} has no line {TABLE_END:?}"));
    let wanted = format!("{}{}{}", &text[..start], exit_code_table(), &text[end..]);
    ensure_file_contents(
        rel,
        wanted.as_bytes(),
        "HOSTDEV_REGEN=1 cargo test --test integration docs",
    );
}
