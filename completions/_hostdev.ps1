
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'hostdev' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'hostdev'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'hostdev' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list-types', 'list-types', [CompletionResultType]::ParameterValue, 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `apply` would do for this node (read-only)')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the hostdev(1) man page, or write every page into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;list-types' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;plan' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 0 when the host already matches the configuration, 2 when changes are pending')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;env' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--include-external', '--include-external', [CompletionResultType]::ParameterName, 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;completions' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write hostdev.1 and one page per subcommand (hostdev-<command>.1) into DIR, creating it')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;help' {
            [CompletionResult]::new('list-types', 'list-types', [CompletionResultType]::ParameterValue, 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `apply` would do for this node (read-only)')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the hostdev(1) man page, or write every page into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;help;list-types' {
            break
        }
        'hostdev;help;plan' {
            break
        }
        'hostdev;help;env' {
            break
        }
        'hostdev;help;completions' {
            break
        }
        'hostdev;help;man' {
            break
        }
        'hostdev;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
