//! The committed `completions/` and `man/` equal what the binary generates
//! (`HOSTDEV_REGEN=1 cargo test --test integration generated` rewrites them), and the bash
//! completion completes subcommands, `--output` values and PCI addresses for `bind vfio`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::ValueEnum;
use clap_complete::Shell;

use crate::util::{ensure_file_contents, fixture, hostdev, repo, REGEN_VAR};

const REGEN: &str = "HOSTDEV_REGEN=1 cargo test --test integration generated";

#[test]
fn completions_are_up_to_date() {
    for shell in Shell::value_variants() {
        let run = hostdev(&["completions", &shell.to_string()]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("list-types"), "{shell}: no subcommands");
        let name = hostdev::commands::completions::file_name(*shell);
        ensure_file_contents(&format!("completions/{name}"), run.stdout.as_bytes(), REGEN);
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn man_pages_are_up_to_date() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("man8");
    let run = hostdev(&["man", "--dir", out.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "", "--dir writes files, prints nothing");

    let generated = names(&out);
    // One page per subcommand, nested ones included, named after the command path.
    for sub in hostdev_subcommand_pages() {
        assert!(generated.contains(&sub), "no {sub} among {generated:?}");
    }
    for name in &generated {
        let text = std::fs::read(out.join(name)).expect("read page");
        ensure_file_contents(&format!("man/{name}"), &text, REGEN);
    }
    let committed = names(&repo().join("man"));
    let stale: Vec<_> = committed.difference(&generated).collect();
    if !stale.is_empty() {
        if std::env::var_os(REGEN_VAR).is_some() {
            for name in stale {
                std::fs::remove_file(repo().join("man").join(name)).expect("remove stale page");
            }
        } else {
            panic!("man/ holds pages the binary no longer generates: {stale:?}\nRegenerate with: {REGEN}");
        }
    }
}

/// `hostdev-<path>.8` for every subcommand, from the clap model.
fn hostdev_subcommand_pages() -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}-{}", sub.get_name());
            out.push(format!("{name}.8"));
            walk(sub, &name, out);
        }
    }
    let mut out = vec!["hostdev.8".to_string()];
    walk(
        &<hostdev::cli::Cli as clap::CommandFactory>::command(),
        "hostdev",
        &mut out,
    );
    out
}

#[test]
fn man_without_dir_prints_hostdev_8_with_the_extra_sections() {
    let run = hostdev(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = std::fs::read_to_string(repo().join("man/hostdev.8")).unwrap_or_default();
    assert_eq!(
        run.stdout, committed,
        "`hostdev man` must print man/hostdev.8 ({REGEN})"
    );
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH CONFIGURATION",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(run.stdout.contains(section), "no {section} in hostdev.8");
    }
    for needle in [
        "HOSTDEV_ROOT",
        "/etc/hostdev/config.yaml",
        "/run/hostdev/state.json",
        "/run/hostdev/lock",
        "/var/log/hostdev/audit.jsonl",
        "mediatedDevicesConfiguration.nodeMediatedDeviceTypes",
        "pciVendorSelector",
    ] {
        let escaped = needle.replace('-', "\\-");
        assert!(
            run.stdout.contains(needle) || run.stdout.contains(&escaped),
            "no {needle} in hostdev.8"
        );
    }
    for code in ["0", "1", "2", "64", "65", "66", "75", "77"] {
        assert!(
            run.stdout.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code} missing from EXIT STATUS"
        );
    }
}

#[test]
fn man_dir_that_cannot_be_created_names_the_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "").expect("write");
    let dir = file.join("man8");
    let run = hostdev(&["man", "--dir", dir.to_str().expect("utf-8")]);
    run.assert_stderr(
        1,
        &format!("creating the man page directory {}", dir.display()),
    );
}

#[test]
fn completions_reject_an_unknown_shell() {
    let run = hostdev(&["completions", "tcsh"]);
    run.assert_stderr(64, "tcsh");
}

/// Complete `words` (the last one is the word under the cursor) with the generated bash
/// script (equal to the committed one, see above), as bash would after `hostdev <words><TAB>`.
fn bash_complete(words: &[&str], env_root: Option<&Path>) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    bash_complete_in(words, env_root, tmp.path())
}

/// [`bash_complete`] with bash's working directory `cwd` (the script is written there too).
fn bash_complete_in(words: &[&str], env_root: Option<&Path>, cwd: &Path) -> Vec<String> {
    let script = cwd.join("hostdev.bash");
    let run = hostdev(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(&script, run.stdout).expect("write script");
    let mut all = vec!["hostdev"];
    all.extend_from_slice(words);
    let quoted: Vec<String> = all.iter().map(|w| format!("'{w}'")).collect();
    let cword = all.len() - 1;
    let prev = all[cword - 1];
    let cur = all[cword];
    let prog = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\n_hostdev_pci_devices hostdev '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" ")
    );
    let mut cmd = Command::new("bash");
    cmd.current_dir(cwd)
        .arg("--norc")
        .arg("-c")
        .arg(prog)
        .env_remove("HOSTDEV_ROOT");
    if let Some(root) = env_root {
        cmd.env("HOSTDEV_ROOT", root);
    }
    let out = cmd.output().expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_output_values() {
    assert_eq!(bash_complete(&["pl"], None), ["plan"]);
    assert_eq!(bash_complete(&["-o", ""], None), ["table", "json", "yaml"]);
    assert!(
        bash_complete(&["plan", "--detailed"], None).contains(&"--detailed-exitcode".to_string())
    );
}

#[test]
fn bash_completes_pci_addresses_for_bind_vfio_under_root() {
    let root = fixture("t4-3x");
    let root_s = root.to_str().expect("utf-8");
    assert_eq!(
        bash_complete(&["--root", root_s, "bind", "vfio", "0000:3"], None),
        ["0000:3a:00.0", "0000:3b:00.0"]
    );
    assert_eq!(
        bash_complete(
            &[
                &format!("--root={root_s}"),
                "bind",
                "vfio",
                "0000:3b:00.0",
                "0000:8"
            ],
            None
        ),
        ["0000:85:00.0", "0000:86:00.0"]
    );
    // HOSTDEV_ROOT, as the binary reads it.
    assert_eq!(
        bash_complete(&["bind", "vfio", "0000:5"], Some(&root)),
        ["0000:5d:00.0", "0000:5e:00.0"]
    );
    // An option's value is not a device; nor is anything outside `bind vfio`.
    assert!(
        !bash_complete(&["--root", root_s, "bind", "vfio", "-f", "0000:3"], None)
            .iter()
            .any(|w| w.starts_with("0000:"))
    );
    assert!(!bash_complete(&["--root", root_s, "plan", "0000:3"], None)
        .iter()
        .any(|w| w.starts_with("0000:")));
}

/// Issue 12 item 2: device directory names are host data. Names with command substitutions
/// (`$(...)`, backquotes) or other junk run nothing and are not offered; only PCI addresses are.
#[test]
fn bash_pci_completion_runs_nothing_from_device_names() {
    let tree = tempfile::tempdir().expect("tempdir");
    let devices = tree.path().join("sys/bus/pci/devices");
    let hostile = [
        "0000:00:01.0$(touch pwned-dollar)",
        "0000:00:01.1`touch pwned-backquote`",
        "$(touch pwned-bare)",
        "0000:00:02.0;touch pwned-semicolon",
        "0000:00:03.0 0000:00:04.0",
        "0000:00:20.0",
        "0000:00:05.8",
        "*",
    ];
    for name in hostile.iter().chain(&["0000:00:01.2", "0000:65:00.0"]) {
        std::fs::create_dir_all(devices.join(name)).expect("mkdir");
    }
    let cwd = tempfile::tempdir().expect("tempdir");
    let root = tree.path().to_str().expect("utf-8");
    for cur in ["", "0000:00", "$(touch pwned-cur)"] {
        let offered = bash_complete_in(&["--root", root, "bind", "vfio", cur], None, cwd.path());
        let expected: Vec<&str> = ["0000:00:01.2", "0000:65:00.0"]
            .into_iter()
            .filter(|a| a.starts_with(cur))
            .collect();
        assert_eq!(offered, expected, "completing {cur:?}");
    }
    let made: Vec<String> = names(cwd.path())
        .into_iter()
        .filter(|n| n != "hostdev.bash")
        .collect();
    assert!(
        made.is_empty(),
        "completion ran commands from the tree: {made:?}"
    );
}
