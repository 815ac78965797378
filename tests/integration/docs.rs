//! The documentation's examples are real: every `$ hostdev ...` command in a `console`
//! block of README.md and docs/*.md is run from the repository's top directory against the
//! bundled fixtures, and the lines shown under it must appear in its output, in order
//! (lines reading `...`/`…`, indented or not, mark elided output). `$ hostdev-sim ...`
//! commands run too, in order with the others of their document (the README's demo serves a
//! fixture, runs hostdev on the mount, stops it), with their mountpoint `/tmp/demo` made a
//! private directory; they need the hostdev-sim binary (`cargo test --workspace` builds it;
//! without it the document's demo is skipped, saying so). The exit-code table of
//! docs/exit-codes.md is generated from `Code::ALL`.

use std::path::PathBuf;

use hostdev::error::Code;

use crate::util::{ensure_file_contents, repo, Cmd};

struct Example {
    line: usize,
    /// `hostdev` or `hostdev-sim`.
    program: String,
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
            let program = cmd.split_whitespace().next().unwrap_or("");
            if matches!(program, "hostdev" | "hostdev-sim")
                && !cmd.contains(['|', '>', '#', '\'', '"'])
            {
                current = Some(Example {
                    line: i + 1,
                    program: program.to_string(),
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
        let demo = Demo::new();
        if examples.iter().any(|e| e.program == "hostdev-sim") && !demo.sim.exists() {
            eprintln!(
                "{doc}: skipped (the hostdev-sim demo needs {}: cargo build -p hostdev-sim, or cargo test --workspace)",
                demo.sim.display()
            );
            continue;
        }
        for ex in &examples {
            check_example(&doc, ex, &demo);
        }
    }
    assert!(count >= 10, "found only {count} examples");
}

/// The demo's mountpoint (`/tmp/demo` in the documents) as a private directory, taken down
/// when done, whatever happened.
struct Demo {
    dir: tempfile::TempDir,
    sim: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        Demo {
            dir: tempfile::tempdir().expect("tempdir"),
            sim: std::path::Path::new(crate::util::BIN).with_file_name("hostdev-sim"),
        }
    }

    fn mountpoint(&self) -> String {
        self.dir.path().join("demo").display().to_string()
    }

    fn local(&self, s: &str) -> String {
        s.replace("/tmp/demo", &self.mountpoint())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let mp = PathBuf::from(self.mountpoint());
        if hostdev_sim::serve::is_mounted(&mp) {
            let _ = hostdev_sim::serve::unmount(&mp);
        }
    }
}

fn check_example(doc: &str, ex: &Example, demo: &Demo) {
    let args: Vec<String> = ex.args.iter().map(|a| demo.local(a)).collect();
    let out = if ex.program == "hostdev-sim" {
        let o = std::process::Command::new(&demo.sim)
            .args(&args)
            .current_dir(repo())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run hostdev-sim");
        assert!(
            o.status.success(),
            "{doc}:{}: `hostdev-sim {}` failed: {}",
            ex.line,
            ex.args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        );
        crate::util::Run {
            code: 0,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    } else {
        Cmd::default().args(&args).current_dir(repo()).run()
    };
    let actual = format!("{}{}", out.stderr, out.stdout);
    let lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in &ex.expected {
        let want = &demo.local(want);
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
