//! The README's examples are real: every `$ hostdev ...` command in a `console` block is run
//! against the bundled fixtures, and the lines shown under it must appear in its output, in
//! order (lines reading `...`/`…` mark elided output).

mod common;

use std::process::Command;

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
            if !l.is_empty() && l != "..." && l != "…" {
                e.expected.push(l.to_string());
            }
        }
    }
    out
}

#[test]
fn readme_console_examples_match_the_binary() {
    let root = common::repo();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let examples = examples(&readme);
    assert!(
        examples.len() >= 10,
        "found only {} examples",
        examples.len()
    );
    for ex in &examples {
        let out = Command::new(env!("CARGO_BIN_EXE_hostdev"))
            .args(&ex.args)
            .current_dir(&root)
            .env_remove("HOSTDEV_ROOT")
            .output()
            .expect("run hostdev");
        let actual = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
        let mut at = 0;
        for want in &ex.expected {
            match lines[at..].iter().position(|l| l == want) {
                Some(k) => at += k + 1,
                None => panic!(
                    "README.md:{}: `hostdev {}`: line not found (in order) in the output:\n  {want}\n--- actual output\n{actual}",
                    ex.line,
                    ex.args.join(" ")
                ),
            }
        }
    }
}
