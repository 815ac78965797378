# vm-kernels: 6.12
# vm-iommufd
# vm-qemu
# vm-timeout: 300
# iommufd and the vfio cdev (6.12 with iommufd.ko and the vfio modules rebuilt with
# CONFIG_IOMMUFD=m CONFIG_VFIO_DEVICE_CDEV=y): QEMU opens /dev/iommu and
# /dev/vfio/devices/vfioN -- no group file -- and hostdev still sees the devices in use.
C=/tests/files/consume.yaml
D=/tests/files/consume-drop.yaml
NIC=0000:00:03.0

step "/dev/iommu and the vfio cdev of a bound NIC and of an mdev"
assert_exists /dev/iommu
assert_exit 0 hostdev bind vfio --yes $NIC
N=$(ls "$PCI/$NIC/vfio-dev")
assert_match "$N" '^vfio[0-9]+$' "vfio-dev of $NIC"
assert_exists "/dev/vfio/devices/$N"
G=$(iommu_group "$PCI/$NIC")
assert_exit 0 hostdev apply -f "$C" --yes
hostdev env -f "$C" --format shell >/tmp/env.sh
. /tmp/env.sh
U=${MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY%%,*}
MN=$(ls "/sys/bus/mdev/devices/$U/vfio-dev")
assert_match "$MN" '^vfio[0-9]+$' "vfio-dev of mdev $U"
assert_exists "/dev/vfio/devices/$MN"
GM=$(iommu_group "/sys/bus/mdev/devices/$U")

step "env -o json lists the cdev nodes beside the group nodes"
assert_exit 0 hostdev env -f "$C" -o json
printf '%s\n' "$OUT" | grep -A3 device_nodes | head -12
assert_contains "$OUT" "\"/dev/vfio/$G\""
assert_contains "$OUT" "\"/dev/vfio/devices/$N\""
assert_contains "$OUT" "\"/dev/vfio/devices/$MN\""

step "status (NIC + mtty-2 config): healthy; the cdev nodes are listed (they exist on this kernel)"
assert_exit 0 hostdev status -f /tests/files/env-e1000e-mtty.yaml -o json
assert_contains "$OUT" "\"/dev/vfio/devices/$N\""

step "QEMU with -object iommufd realises the NIC and the mdev through their cdevs"
qemu_start -object iommufd,id=iommufd0 \
    -device "vfio-pci,host=$NIC,id=nic0,iommufd=iommufd0,romfile=" \
    -device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$U,id=mdev0,iommufd=iommufd0"
qemu_info_pci 'id "mdev0"'
assert_match "$INFO" 'PCI device 4348:3253' "info pci: the mtty mdev"
assert_match "$INFO" 'PCI device 8086:10d3' "info pci: the e1000e"
qemu_fds
assert_contains "$FDS" /dev/iommu "QEMU's open files"
assert_contains "$FDS" "/dev/vfio/devices/$N" "QEMU's open files"
assert_contains "$FDS" "/dev/vfio/devices/$MN" "QEMU's open files"
for g in $G $GM; do
    ! printf '%s\n' "$FDS" | grep -qx "/dev/vfio/$g" || fail "QEMU holds the group file /dev/vfio/$g"
done
assert_eq "" "$(printf '%s\n' "$FDS" | grep -x '/dev/vfio/[0-9]*')" "group files QEMU holds"

step "while QEMU runs: apply without mtty-2 and teardown see the cdev holder, exit 1"
assert_exit 1 timeout 60 hostdev apply -f "$D" --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "$U"
assert_contains "$OUT" "in use by pid $QEMU_PID (qemu-system-x86"
assert_exists "/sys/bus/mdev/devices/$U"
assert_exit 1 timeout 60 hostdev teardown --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "$NIC: skipped: in use by pid $QEMU_PID (qemu-system-x86"
assert_exists "/sys/bus/mdev/devices/$U"
assert_eq vfio-pci "$(pci_driver $NIC)" "driver of $NIC"
# status sees both held through their cdevs (exit 1: the apply above removed the 11
# mtty-2 nobody held, so the NIC + mtty-2 configuration has drifted)
assert_exit 1 timeout 60 hostdev status -f /tests/files/env-e1000e-mtty.yaml
printf '%s\n' "$OUT" | grep 'qemu-system' | sed 's/^/  status| /'
assert_match "$OUT" "$NIC .* ok +pid $QEMU_PID \(qemu-system-x86\)" "status of $NIC"
assert_match "$OUT" "$U .* ok +pid $QEMU_PID \(qemu-system-x86\)" "status of $U"

step "QEMU exits: apply and teardown succeed"
qemu_quit
assert_exit 0 timeout 60 hostdev apply -f "$D" --yes
assert_missing "/sys/bus/mdev/devices/$U"
assert_exit 0 timeout 60 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_eq e1000e "$(pci_driver $NIC)" "driver of $NIC"
assert_missing "/dev/vfio/devices/$N"
