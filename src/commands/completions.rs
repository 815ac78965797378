//! `hostdev completions SHELL`: the completion script generated from the clap model, plus
//! (bash only) PCI addresses for `hostdev bind vfio`, read from the host at completion time.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Code;

pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<Code> {
    let script = script(args.shell)?;
    out.write_all(&script)
        .with_context(|| format!("writing the {} completion script to stdout", args.shell))?;
    Ok(Code::Ok)
}

/// The complete script for `shell`, exactly as committed under `completions/`.
pub(crate) fn script(shell: Shell) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hostdev", &mut buf);
    if shell == Shell::Bash {
        buf = add_bash_pci_devices(buf)?;
    }
    Ok(buf)
}

/// The file name of the script for `shell` (`hostdev.bash`, `_hostdev`, `hostdev.fish`, ...).
pub fn file_name(shell: Shell) -> String {
    use clap_complete::Generator;
    shell.file_name("hostdev")
}

/// Wraps clap's `_hostdev` so that the positional arguments of `hostdev bind vfio` complete
/// to the PCI addresses under `<root>/sys/bus/pci/devices` (`--root` on the line, else
/// `$HOSTDEV_ROOT`, else `/`); everything else is clap's completion unchanged. Directory
/// names are host data: only names of the PCI address form are offered, and they are never
/// passed through anything that expands them (`compgen -W` would run `$(...)` in them).
/// The zsh, fish, elvish and PowerShell scripts are clap's static ones: they read nothing
/// from the host.
const BASH_PCI_DEVICES: &str = r#"
# Added by hostdev (not clap): PCI addresses for `hostdev bind vfio DEVICE...`.
_hostdev_pci_devices() {
    local i root="${HOSTDEV_ROOT:-/}" seen_bind=0 seen_vfio=0 cur="${COMP_WORDS[COMP_CWORD]}"
    for (( i = 1; i < COMP_CWORD; i++ )); do
        case "${COMP_WORDS[i]}" in
            --root) root="${COMP_WORDS[i+1]}" ;;
            --root=*) root="${COMP_WORDS[i]#--root=}" ;;
            bind) [[ $seen_bind == 0 ]] && seen_bind=1 ;;
            vfio) [[ $seen_bind == 1 ]] && seen_vfio=1 ;;
        esac
    done
    local prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ $seen_vfio == 1 && $cur != -* ]] && ! _hostdev_takes_value "$prev"; then
        local devices=("${root%/}"/sys/bus/pci/devices/*) device name
        if [[ -e ${devices[0]} ]]; then
            # Names come from the tree: only PCI addresses are offered, and they are matched
            # here, never handed to `compgen -W` (which would expand `$(...)` in them).
            COMPREPLY=()
            for device in "${devices[@]}"; do
                name="${device##*/}"
                [[ $name =~ ^[0-9a-f]{4,8}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$ ]] || continue
                [[ $name == "$cur"* ]] && COMPREPLY+=("$name")
            done
            return 0
        fi
    fi
    _hostdev "$@"
}

# Options whose next word is their value, not a DEVICE.
_hostdev_takes_value() {
    case "$1" in
        --root|-o|--output|--node-name|--label|-f|--config|--lock-timeout|--wait-for-parents) return 0 ;;
        *) return 1 ;;
    esac
}
"#;

fn add_bash_pci_devices(script: Vec<u8>) -> Result<Vec<u8>> {
    let text = String::from_utf8(script).context("clap_complete's bash script is not UTF-8")?;
    let mut out = String::with_capacity(text.len() + BASH_PCI_DEVICES.len());
    let mut replaced = 0;
    for line in text.lines() {
        if line.trim_start().starts_with("complete ") && line.contains(" -F _hostdev ") {
            out.push_str(&line.replacen(" -F _hostdev ", " -F _hostdev_pci_devices ", 1));
            replaced += 1;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    anyhow::ensure!(
        replaced > 0,
        "clap_complete's bash script has no `complete -F _hostdev` line to wrap (its output changed): update add_bash_pci_devices"
    );
    out.push_str(BASH_PCI_DEVICES);
    Ok(out.into_bytes())
}
