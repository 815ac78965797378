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
complete -c hostdev -n "__fish_hostdev_needs_command" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_needs_command" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_needs_command" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_needs_command" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_needs_command" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_needs_command" -s V -l version -d 'Print version'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "list-types" -d 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "plan" -d 'Show what `apply` would do for this node (read-only)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "env" -d 'Print the environment KubeVirt\'s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "man" -d 'Print the hostdev(1) man page, or write every page into a directory'
complete -c hostdev -n "__fish_hostdev_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand list-types" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -l detailed-exitcode -d 'Exit 0 when the host already matches the configuration, 2 when changes are pending'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand plan" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l format -d 'Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]' -r -f -a "env\t''
json\t''
shell\t''
nul\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -l include-external -d 'Also print entries with `externalResourceProvider: true` (`"external": true` in JSON, a note on stderr in the other formats)'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand env" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand completions" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l dir -d 'Write hostdev.1 and one page per subcommand (hostdev-<command>.1) into DIR, creating it' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l root -d 'Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written' -r -f -a "(__fish_complete_directories)"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s o -l output -d 'Output format of data on stdout' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l node-name -d 'Node identity for nodeSelector matching [default: the host name]' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -l label -d 'Extra node label KEY=VALUE for nodeSelector matching (repeatable)' -r
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s f -l config -d 'Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]' -r -F
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s v -l verbose -d 'More diagnostics on stderr (-vv logs every sysfs path read or written)'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s q -l quiet -d 'Only errors on stderr'
complete -c hostdev -n "__fish_hostdev_using_subcommand man" -s h -l help -d 'Print help'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "list-types" -d 'List mdev parents and their types: ID, name, available instances, device API, description and existing instances'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "plan" -d 'Show what `apply` would do for this node (read-only)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "env" -d 'Print the environment KubeVirt\'s device plugins would hand to virt-launcher (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "man" -d 'Print the hostdev(1) man page, or write every page into a directory'
complete -c hostdev -n "__fish_hostdev_using_subcommand help; and not __fish_seen_subcommand_from list-types plan env completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
