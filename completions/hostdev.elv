
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
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
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
            cand apply 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log'
            cand teardown 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers'
            cand env 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
            cand iommu 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)'
            cand bind 'Bind PCI devices to a driver for passthrough'
            cand status 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter'
            cand devices 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation'
            cand tree 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)'
            cand capture 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA''s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)'
            cand init 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl''s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the hostdev(8) man page, or write every page into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;list-types'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
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
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --detailed-exitcode 'Exit 0 when the host already matches the configuration, 2 when changes are pending, 3 when nothing can be done until a GPU is ready for vGPUs'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;apply'= {
            cand --lock-timeout 'Seconds to wait for another hostdev run to release the lock'
            cand --plan 'Apply exactly the actions of a saved plan (`hostdev plan -o json > FILE`; `-` reads stdin) instead of computing a new one; no re-plan after its removals. Refused (exit 65) when it was made for another node or leaves a creation count unknown; exit 66 when a parent it names is not on this host'
            cand --wait-for-parents 'At boot: first wait up to SECONDS for the mdev parents (every GPU bound to nvidia offers mdev types, and a parent offers a desired type), polling every 0.5 s; on timeout, continue with the parents that exist and warn [default: 0, no wait]'
            cand --jobs 'Work on at most N physical GPUs at once: one worker per GPU creates its vGPUs (and enables its VFs), each GPU''s writes in plan order; 1 makes every write in turn [default: one worker per GPU]'
            cand --vf-timeout 'How long enabling one GPU''s virtual functions (`hostdev.virtualFunctions`) may take: retries while its driver is starting, then the wait until every VF offers vGPU types'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -y 'Proceed without asking (required when stdin is not a terminal)'
            cand --yes 'Proceed without asking (required when stdin is not a terminal)'
            cand --dry-run 'Print exactly the writes (path and value) that would be made, and make none'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;teardown'= {
            cand --lock-timeout 'Seconds to wait for another hostdev run to release the lock'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -y 'Proceed without asking (required when stdin is not a terminal)'
            cand --yes 'Proceed without asking (required when stdin is not a terminal)'
            cand --dry-run 'Print exactly the writes (path and value) that would be made, and make none'
            cand --all 'Also remove every other mdev that is not in use, not only those hostdev created'
            cand --mdevs 'Only tear down mdevs'
            cand --vfio 'Only return vfio-bound devices to their original drivers'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;env'= {
            cand --format 'Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]'
            cand --provider 'Whose discovery names the variables: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA''s kubevirt-gpu-device-plugin would set, without a configuration)'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --include-external 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hostdev;iommu'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand check 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
            cand groups 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;iommu;check'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;iommu;groups'= {
            cand --device 'Only the group of this PCI device (`0000:65:00.0` or `65:00.0`)'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --gpu 'Only groups that contain a GPU (PCI class 0300 or 0302)'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;iommu;help'= {
            cand check 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
            cand groups 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;iommu;help;check'= {
        }
        &'hostdev;iommu;help;groups'= {
        }
        &'hostdev;iommu;help;help'= {
        }
        &'hostdev;bind'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand vfio 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;bind;vfio'= {
            cand --lock-timeout 'Seconds to wait for another hostdev run to release the lock'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --from-config 'Bind the devices of the non-external permittedHostDevices.pciHostDevices selectors'
            cand --with-group 'Also bind every other endpoint of the devices'' IOMMU groups'
            cand -y 'Proceed without asking (required when stdin is not a terminal)'
            cand --yes 'Proceed without asking (required when stdin is not a terminal)'
            cand --dry-run 'Print exactly the writes (path and value) that would be made, and make none'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;bind;help'= {
            cand vfio 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;bind;help;vfio'= {
        }
        &'hostdev;bind;help;help'= {
        }
        &'hostdev;status'= {
            cand --format 'Output format: `table`, `json`, `yaml` (as -o), or `prometheus` (the text exposition format: hostdev_plan_pending_actions, hostdev_mdevs, hostdev_mdevs_wanted, hostdev_device_healthy, hostdev_device_in_use, hostdev_iommu_ready, ...)'
            cand --textfile 'Write the Prometheus metrics to PATH atomically (a temporary file in the same directory, then rename), for node_exporter''s textfile collector'
            cand --provider 'Whose discovery names the resources: `kubevirt` (permittedHostDevices) or `nvidia` (what NVIDIA''s kubevirt-gpu-device-plugin would advertise)'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hostdev;devices'= {
            cand -n 'At most N devices; fewer than N is an error'
            cand --count 'At most N devices; fewer than N is an error'
            cand --numa-node 'Devices on this NUMA node first'
            cand --format 'Output format [default: table]'
            cand --provider 'Whose discovery names the resources (as for `status`)'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --free 'Only devices that are healthy and not held open'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hostdev;tree'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;capture'= {
            cand --out 'Where to write: a directory that does not exist or is empty, or `-` for a tar stream on standard output (not a terminal)'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;init'= {
            cand --type 'vGPU (mdev) type to configure, by name or type ID, repeatable, in the order of KubeVirt''s round-robin: `"GRID T4-2Q"`, `nvidia-231`, `"NVIDIA L40S-12Q"`. An unknown or ambiguous name is a usage error that lists the candidates'
            cand --passthrough 'Permit devices for passthrough (repeatable): `VENDOR:DEVICE` (the model) or a PCI address (that GPU only, named in hostdev.passthroughAddresses), each with an optional `=RESOURCE` name [default: the vendor''s domain and pci.ids'' device name, e.g. nvidia.com/TU104GL_TESLA_T4]'
            cand --from-mdevctl 'Write the equivalent of mdevctl''s persistent definitions (DIR/<parent>/<uuid>; DIR defaults to <root>/etc/mdevctl.d); what KubeVirt''s semantics cannot express is listed on stderr'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
            cand -f 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --config 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]'
            cand --from-host 'Write the configuration that keeps the mdevs, vGPU types and vfio-pci devices the host has now'
            cand --force 'Replace an existing file (its diff is shown first)'
            cand -y 'Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)'
            cand --yes 'Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)'
            cand -v 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand --verbose 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hostdev;completions'= {
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
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
            cand --dir 'Write hostdev.8 and one page per subcommand (hostdev-<command>.8) into DIR, creating it'
            cand --root 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written'
            cand -o 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --output 'Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)'
            cand --node-name 'Node identity for nodeSelector matching [default: the host name]'
            cand --label 'Extra node label KEY=VALUE for nodeSelector matching (repeatable; not kubernetes.io/hostname, which is always the node name)'
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
            cand apply 'Make the host match the configuration: remove undesired mdevs, create the planned ones, verify, and record them in the state file and the audit log'
            cand teardown 'Undo what hostdev did: remove the mdevs it created (--all: every removable mdev) and return vfio-bound devices to their original drivers'
            cand env 'Print the environment KubeVirt''s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
            cand iommu 'Host readiness for PCI passthrough, and the IOMMU groups (read-only)'
            cand bind 'Bind PCI devices to a driver for passthrough'
            cand status 'Health and drift, read-only: the mdev configuration against the plan, every permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0 when every device is healthy and the host matches the configuration, else 1 with one stderr line per problem. `--format prometheus` / `--textfile` for node_exporter'
            cand devices 'The devices of the permitted resources (healthy or not, free or in use), for libvirt, QEMU or a script; a read-only snapshot, not a reservation'
            cand tree 'What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types and the processes holding them (read-only; what `bind vfio` asks before an unbind)'
            cand capture 'Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI devices, drivers and IOMMU groups, NVIDIA''s vendor-VFIO files, the /proc and /etc facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay with --root (read-only; never config space, BARs, ROM, VPD or device memory)'
            cand init 'Write a configuration file for this host: ask on a terminal (the GPUs by model, their vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from what the host has now (--from-host) or from mdevctl''s definitions (--from-mdevctl); the file is validated, shown as a plan, and written atomically (never over an existing file without --force)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the hostdev(8) man page, or write every page into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hostdev;help;list-types'= {
        }
        &'hostdev;help;plan'= {
        }
        &'hostdev;help;apply'= {
        }
        &'hostdev;help;teardown'= {
        }
        &'hostdev;help;env'= {
        }
        &'hostdev;help;iommu'= {
            cand check 'Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel, the kernel command line, the VFIO modules, interrupt remapping, the default domain type and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL'
            cand groups 'List the IOMMU groups with their devices (address, vendor:device, class, driver) and whether each group is viable for passthrough'
        }
        &'hostdev;help;iommu;check'= {
        }
        &'hostdev;help;iommu;groups'= {
        }
        &'hostdev;help;bind'= {
            cand vfio 'Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the binding and record the original driver for `teardown`. Refuses devices the host uses, devices whose IOMMU group has other endpoints on host drivers (unless --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op'
        }
        &'hostdev;help;bind;vfio'= {
        }
        &'hostdev;help;status'= {
        }
        &'hostdev;help;devices'= {
        }
        &'hostdev;help;tree'= {
        }
        &'hostdev;help;capture'= {
        }
        &'hostdev;help;init'= {
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
