
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log')
            [CompletionResult]::new('teardown', 'teardown', [CompletionResultType]::ParameterValue, 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)')
            [CompletionResult]::new('iommu', 'iommu', [CompletionResultType]::ParameterValue, 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Bind PCI devices to a driver for passthrough')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation')
            [CompletionResult]::new('tree', 'tree', [CompletionResultType]::ParameterValue, 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)')
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA''s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl''s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the hostdev(8) man page, or write every page into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;list-types' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 0 when the host already matches the configuration, 2 when changes are pending, 3 when nothing can be done until a GPU is ready for vGPUs')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;apply' {
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for another hostdev run to release the lock')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply exactly the actions of a saved plan (`hostdev plan -o json > FILE`; `-` reads stdin) instead of computing a new one; no re-plan after its removals. Refused (exit 65) when it was made for another node or leaves a creation count unknown; exit 66 when a parent it names is not on this host')
            [CompletionResult]::new('--wait-for-parents', '--wait-for-parents', [CompletionResultType]::ParameterName, 'At boot: first wait up to SECONDS for the mdev parents (every GPU bound to nvidia offers mdev types, and a parent offers a desired type), polling every 0.5 s; on timeout, continue with the parents that exist and warn [default: 0, no wait]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Work on at most N physical GPUs at once: one worker per GPU creates its vGPUs (and enables its VFs), each GPU''s writes in plan order; 1 makes every write in turn [default: one worker per GPU]')
            [CompletionResult]::new('--vf-timeout', '--vf-timeout', [CompletionResultType]::ParameterName, 'How long enabling one GPU''s virtual functions (`hostdev.virtualFunctions`) may take: retries while its driver is starting, then the wait until every VF offers vGPU types')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print exactly the writes (path and value) that would be made, and make none')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;teardown' {
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for another hostdev run to release the lock')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print exactly the writes (path and value) that would be made, and make none')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also remove every other mdev that is not in use, not only those hostdev created')
            [CompletionResult]::new('--mdevs', '--mdevs', [CompletionResultType]::ParameterName, 'Only tear down mdevs')
            [CompletionResult]::new('--vfio', '--vfio', [CompletionResultType]::ParameterName, 'Only return vfio-bound devices to their original drivers')
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
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Whose discovery names the variables: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA''s kubevirt-gpu-device-plugin would set, without a configuration)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--include-external', '--include-external', [CompletionResultType]::ParameterName, 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hostdev;iommu' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL')
            [CompletionResult]::new('groups', 'groups', [CompletionResultType]::ParameterValue, 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;iommu;check' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
        'hostdev;iommu;groups' {
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Only the group of this PCI device (`0000:65:00.0` or `65:00.0`)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'Only groups that contain a GPU (PCI class 0300 or 0302)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;iommu;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL')
            [CompletionResult]::new('groups', 'groups', [CompletionResultType]::ParameterValue, 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;iommu;help;check' {
            break
        }
        'hostdev;iommu;help;groups' {
            break
        }
        'hostdev;iommu;help;help' {
            break
        }
        'hostdev;bind' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('vfio', 'vfio', [CompletionResultType]::ParameterValue, 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;bind;vfio' {
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for another hostdev run to release the lock')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--from-config', '--from-config', [CompletionResultType]::ParameterName, 'Bind the devices of the non-external permittedHostDevices.pciHostDevices selectors')
            [CompletionResult]::new('--with-group', '--with-group', [CompletionResultType]::ParameterName, 'Also bind every other endpoint of the devices'' IOMMU groups')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Proceed without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print exactly the writes (path and value) that would be made, and make none')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hostdev;bind;help' {
            [CompletionResult]::new('vfio', 'vfio', [CompletionResultType]::ParameterValue, 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;bind;help;vfio' {
            break
        }
        'hostdev;bind;help;help' {
            break
        }
        'hostdev;status' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: `table`, `json`, `yaml` (as -o), or `prometheus` (the text exposition format: hostdev_plan_pending_actions, hostdev_mdevs, hostdev_mdevs_wanted, hostdev_device_healthy, hostdev_device_in_use, hostdev_iommu_ready, ...)')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'Write the Prometheus metrics to PATH atomically (a temporary file in the same directory, then rename), for node_exporter''s textfile collector')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Whose discovery names the resources: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA''s kubevirt-gpu-device-plugin would advertise)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hostdev;devices' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'At most N devices; fewer than N is an error')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'At most N devices; fewer than N is an error')
            [CompletionResult]::new('--numa-node', '--numa-node', [CompletionResultType]::ParameterName, 'Devices on this NUMA node first')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Whose discovery names the resources (as for `status`)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--free', '--free', [CompletionResultType]::ParameterName, 'Only devices that are healthy and not held open')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-vv logs every sysfs path read or written)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hostdev;tree' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
        'hostdev;capture' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write: a directory that does not exist or is empty, or `-` for a tar stream on standard output (not a terminal)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
        'hostdev;init' {
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'vGPU (mdev) type to configure, by name or type ID, repeatable, in the order of KubeVirt''s round-robin: `"GRID T4-2Q"`, `nvidia-231`, `"NVIDIA L40S-12Q"`. An unknown or ambiguous name is a usage error that lists the candidates')
            [CompletionResult]::new('--passthrough', '--passthrough', [CompletionResultType]::ParameterName, 'Permit devices for passthrough (repeatable): `VENDOR:DEVICE` (the model) or a PCI address (that GPU only, named in hostdev.passthroughAddresses), each with an optional `=RESOURCE` name [default: the vendor''s domain and pci.ids'' device name, e.g. nvidia.com/TU104GL_TESLA_T4]')
            [CompletionResult]::new('--from-mdevctl', '--from-mdevctl', [CompletionResultType]::ParameterName, 'Write the equivalent of mdevctl''s persistent definitions (DIR/<parent>/<uuid>; DIR defaults to <root>/etc/mdevctl.d); what KubeVirt''s semantics cannot express is listed on stderr')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]')
            [CompletionResult]::new('--from-host', '--from-host', [CompletionResultType]::ParameterName, 'Write the configuration that keeps the mdevs, vGPU types and vfio-pci devices the host has now')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing file (its diff is shown first)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write hostdev.8 and one page per subcommand (hostdev-<command>.8) into DIR, creating it')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'Node identity for nodeSelector matching [default: the host name]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)')
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
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log')
            [CompletionResult]::new('teardown', 'teardown', [CompletionResultType]::ParameterValue, 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)')
            [CompletionResult]::new('iommu', 'iommu', [CompletionResultType]::ParameterValue, 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Bind PCI devices to a driver for passthrough')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation')
            [CompletionResult]::new('tree', 'tree', [CompletionResultType]::ParameterValue, 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)')
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA''s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl''s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the hostdev(8) man page, or write every page into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hostdev;help;list-types' {
            break
        }
        'hostdev;help;plan' {
            break
        }
        'hostdev;help;apply' {
            break
        }
        'hostdev;help;teardown' {
            break
        }
        'hostdev;help;env' {
            break
        }
        'hostdev;help;iommu' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL')
            [CompletionResult]::new('groups', 'groups', [CompletionResultType]::ParameterValue, 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough')
            break
        }
        'hostdev;help;iommu;check' {
            break
        }
        'hostdev;help;iommu;groups' {
            break
        }
        'hostdev;help;bind' {
            [CompletionResult]::new('vfio', 'vfio', [CompletionResultType]::ParameterValue, 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op')
            break
        }
        'hostdev;help;bind;vfio' {
            break
        }
        'hostdev;help;status' {
            break
        }
        'hostdev;help;devices' {
            break
        }
        'hostdev;help;tree' {
            break
        }
        'hostdev;help;capture' {
            break
        }
        'hostdev;help;init' {
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
