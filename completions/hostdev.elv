
use builtin;
use str;

set edit:completion:arg-completer[hostdev] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'hostdev'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'hostdev'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list-types 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
            cand plan 'Show what `apply` would do for this node (read-only)'
            cand env 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the hostdev(1) man page, or write every page into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;list-types'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;plan'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --detailed-exitcode 'Exit 0 when the host already matches the configuration, 2 when changes are pending'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;env'= {
            cand --format 'Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --include-external 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;completions'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;man'= {
            cand --dir 'Write hostdev.1 and one page per subcommand (hostdev-<command>.1) into DIR, creating it'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout'
            cand --output 'Output format of data on stdout'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;help'= {
            cand list-types 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
            cand plan 'Show what `apply` would do for this node (read-only)'
            cand env 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the hostdev(1) man page, or write every page into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;help;list-types'= {
        }
        &'hostdev;help;plan'= {
        }
        &'hostdev;help;env'= {
        }
        &'hostdev;help;completions'= {
        }
        &'hostdev;help;man'= {
        }
        &'hostdev;help;help'= {
        }
    ]
    $completions[$command]
}
