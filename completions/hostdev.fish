# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hostdev_global_optspecs
    string join \n root= o/output= v/verbose q/quiet node-name= label= f/config= h/help V/version
end

function __fish_hostdev_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hostdev_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hostdev_using_subcommand
    set -l cmd (__fish_hostdev_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hostdev -n "__fish_hostdev_needs_command" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_needs_command" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_needs_command" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_needs_command" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_needs_command" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_needs_command" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_needs_command" -s V -l version -d 'Print version'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "list-types" -d 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "plan" -d 'Show what `apply` would do for this node (read-only)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "apply" -d 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "teardown" -d 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "env" -d 'Print the environment KubeVirt\'s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "iommu" -d 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "bind" -d 'Bind PCI devices to a driver for passthrough'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "status" -d 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "devices" -d 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "tree" -d 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "capture" -d 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA\'s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "init" -d 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl\'s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "man" -d 'Print the hostdev(8) man page, or write every page into a directory'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l detailed-exitcode -d 'Exit 0 when the host already matches the configuration, 2 when changes are pending, 3 when nothing can be done until a GPU is ready for vGPUs'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l lock-timeout -d 'Seconds to wait for another hostdev run to release the lock' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l plan -d 'Apply exactly the actions of a saved plan (`hostdev plan -o json > FILE`; `-` reads stdin) instead of computing a new one; no re-plan after its removals. Refused (exit 65) when it was made for another node or leaves a creation count unknown; exit 66 when a parent it names is not on this host' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l wait-for-parents -d 'At boot: first wait up to SECONDS for the mdev parents (every GPU bound to nvidia offers mdev types, and a parent offers a desired type), polling every 0.5 s; on timeout, continue with the parents that exist and warn [default: 0, no wait]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l jobs -d 'Work on at most N physical GPUs at once: one worker per GPU creates its vGPUs (and enables its VFs), each GPU\'s writes in plan order; 1 makes every write in turn [default: one worker per GPU]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l vf-timeout -d 'How long enabling one GPU\'s virtual functions (`hostdev.virtualFunctions`) may take: retries while its driver is starting, then the wait until every VF offers vGPU types' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s y -l yes -d 'Proceed without asking (required when stdin is not a terminal)'
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -l dry-run -d 'Print exactly the writes (path and value) that would be made, and make none'
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand apply" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l lock-timeout -d 'Seconds to wait for another hostdev run to release the lock' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s y -l yes -d 'Proceed without asking (required when stdin is not a terminal)'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l dry-run -d 'Print exactly the writes (path and value) that would be made, and make none'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l all -d 'Also remove every other mdev that is not in use, not only those hostdev created'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l mdevs -d 'Only tear down mdevs'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -l vfio -d 'Only return vfio-bound devices to their original drivers'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand teardown" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l format -d 'Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]' -r -f -a "env\t''
json\t''
shell\t''
nul\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l provider -d 'Whose discovery names the variables: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA\'s kubevirt-gpu-device-plugin would set, without a configuration)' -r -f -a "kubevirt\t'KubeVirt\'s device plugins for permittedHostDevices (the configuration)'
nvidia\t'NVIDIA\'s kubevirt-gpu-device-plugin: every NVIDIA function on vfio-pci, named from pci.ids, and every vGPU, named after its type (no permittedHostDevices needed)'"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l include-external -d 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -f -a "check" -d 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -f -a "groups" -d 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and not __fish_seen_subcommand_from check groups help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -l device -d 'Only the group of this PCI device (`0000:65:00.0` or `65:00.0`)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -l gpu -d 'Only groups that contain a GPU (PCI class 0300 or 0302)'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from groups" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from help" -f -a "groups" -d 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
complete -c hostdev -n "__fish_hostdev_using_subcommand iommu; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -f -a "vfio" -d 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and not __fish_seen_subcommand_from vfio help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l lock-timeout -d 'Seconds to wait for another hostdev run to release the lock' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l from-config -d 'Bind the devices of the non-external permittedHostDevices.pciHostDevices selectors'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l with-group -d 'Also bind every other endpoint of the devices\' IOMMU groups'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s y -l yes -d 'Proceed without asking (required when stdin is not a terminal)'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -l dry-run -d 'Print exactly the writes (path and value) that would be made, and make none'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from vfio" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from help" -f -a "vfio" -d 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
complete -c hostdev -n "__fish_hostdev_using_subcommand bind; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l format -d 'Output format: `table`, `json`, `yaml` (as -o), or `prometheus` (the text exposition format: hostdev_plan_pending_actions, hostdev_mdevs, hostdev_mdevs_wanted, hostdev_device_healthy, hostdev_device_in_use, hostdev_iommu_ready, ...)' -r -f -a "table\t''
json\t''
yaml\t''
prometheus\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l textfile -d 'Write the Prometheus metrics to PATH atomically (a temporary file in the same directory, then rename), for node_exporter\'s textfile collector' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l provider -d 'Whose discovery names the resources: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA\'s kubevirt-gpu-device-plugin would advertise)' -r -f -a "kubevirt\t'KubeVirt\'s device plugins for permittedHostDevices (the configuration)'
nvidia\t'NVIDIA\'s kubevirt-gpu-device-plugin: every NVIDIA function on vfio-pci, named from pci.ids, and every vGPU, named after its type (no permittedHostDevices needed)'"
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s n -l count -d 'At most N devices; fewer than N is an error' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l numa-node -d 'Devices on this NUMA node first' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l format -d 'Output format [default: table]' -r -f -a "table\t''
json\t''
env\t''
libvirt\t''
qemu\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l provider -d 'Whose discovery names the resources (as for `status`)' -r -f -a "kubevirt\t'KubeVirt\'s device plugins for permittedHostDevices (the configuration)'
nvidia\t'NVIDIA\'s kubevirt-gpu-device-plugin: every NVIDIA function on vfio-pci, named from pci.ids, and every vGPU, named after its type (no permittedHostDevices needed)'"
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -l free -d 'Only devices that are healthy and not held open'
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand devices" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand tree" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -l out -d 'Where to write: a directory that does not exist or is empty, or `-` for a tar stream on standard output (not a terminal)' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand capture" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l type -d 'vGPU (mdev) type to configure, by name or type ID, repeatable, in the order of KubeVirt\'s round-robin: `"GRID T4-2Q"`, `nvidia-231`, `"NVIDIA L40S-12Q"`. An unknown or ambiguous name is a usage error that lists the candidates' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l passthrough -d 'Permit devices for passthrough (repeatable): `VENDOR:DEVICE` (the model) or a PCI address (that GPU only, named in hostdev.passthroughAddresses), each with an optional `=RESOURCE` name [default: the vendor\'s domain and pci.ids\' device name, e.g. nvidia.com/TU104GL_TESLA_T4]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l from-mdevctl -d 'Write the equivalent of mdevctl\'s persistent definitions (DIR/<parent>/<uuid>; DIR defaults to <root>/etc/mdevctl.d); what KubeVirt\'s semantics cannot express is listed on stderr' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l from-host -d 'Write the configuration that keeps the mdevs, vGPU types and vfio-pci devices the host has now'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -l force -d 'Replace an existing file (its diff is shown first)'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s y -l yes -d 'Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand init" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l dir -d 'Write hostdev.8 and one page per subcommand (hostdev-<command>.8) into DIR, creating it' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s o -l output -d 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "list-types" -d 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "plan" -d 'Show what `apply` would do for this node (read-only)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "apply" -d 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "teardown" -d 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "env" -d 'Print the environment KubeVirt\'s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "iommu" -d 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "bind" -d 'Bind PCI devices to a driver for passthrough'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "status" -d 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "devices" -d 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "tree" -d 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "capture" -d 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA\'s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "init" -d 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl\'s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "man" -d 'Print the hostdev(8) man page, or write every page into a directory'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan apply teardown env iommu bind status devices tree capture init completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and __fish_seen_subcommand_from iommu" -f -a "check" -d 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and __fish_seen_subcommand_from iommu" -f -a "groups" -d 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and __fish_seen_subcommand_from bind" -f -a "vfio" -d 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
