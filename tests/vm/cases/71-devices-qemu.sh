# vm-qemu
# vm-timeout: 300
# `hostdev devices --format qemu` proven on the real kernel: a QEMU inside the guest
# (paused, -S) started with exactly the arguments `devices RES --free -n 1 --format qemu`
# prints for an mdev resource and for a PCI resource realises both devices. While it
# runs, `status` reports both in use by QEMU's pid (and still exits 0), and `devices
# --free` leaves them out; after QEMU exits they are free again.
A=0000:00:03.0
C=/tests/files/status.yaml

step "bind $A to vfio-pci, apply 12 mtty-2"
assert_exit 0 hostdev bind vfio --yes "$A"
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 12 "$(mdev_count)" "mdevs"
U=$(first_mdev)
GM=$(iommu_group "/sys/bus/mdev/devices/$U"); GN=$(iommu_group "$PCI/$A")

step "devices RES --free -n 1 --format qemu: one mdev, one PCI function"
assert_exit 0 hostdev devices -f "$C" example.com/mtty --free -n 1 --format qemu
MDEV_ARGS=$OUT
assert_eq "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$U" "$MDEV_ARGS" "qemu arguments of example.com/mtty"
assert_exit 0 hostdev devices -f "$C" intel.com/e1000e --free -n 1 --format qemu
PCI_ARGS=$OUT
assert_eq "-device vfio-pci,host=$A" "$PCI_ARGS" "qemu arguments of intel.com/e1000e"

step "QEMU started with exactly those arguments realises both devices"
# unquoted on purpose: each printed line is "-device" and one value without blanks
# shellcheck disable=SC2086
qemu_start $MDEV_ARGS $PCI_ARGS
qemu_info_pci 'PCI device 8086:10d3'
assert_match "$INFO" 'PCI device 4348:3253' "info pci: the mtty mdev"
assert_match "$INFO" 'PCI device 8086:10d3' "info pci: the e1000e"
qemu_fds
for p in /dev/vfio/vfio /dev/vfio/$GM /dev/vfio/$GN; do
    assert_contains "$FDS" "$p" "QEMU's open files"
done

step "while QEMU runs: status shows both in use by QEMU's pid, still exit 0"
assert_exit 0 hostdev status -f "$C" -o json
for id in "$A" "$U"; do assert_status_held "$id" "$QEMU_PID" qemu-system-x86; done
assert_exit 0 hostdev status -f "$C"
assert_eq healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"
printf '%s\n' "$OUT" | grep -F -e "$A" -e "$U" | sed 's/^/  | /'
assert_exit 0 hostdev status -f "$C" --format prometheus
assert_lines "$OUT" prometheus \
    "hostdev_device_in_use{resource=\"intel.com/e1000e\",kind=\"pci\",device=\"$A\"} 1" \
    "hostdev_device_in_use{resource=\"example.com/mtty\",kind=\"mdev\",device=\"$U\"} 1"

step "while QEMU runs: devices --free leaves both out"
assert_exit 0 hostdev devices -f "$C" --free --format qemu
assert_not_contains "$OUT" "$U" "devices --free"
assert_not_contains "$OUT" "host=$A" "devices --free"
assert_eq 11 "$(printf '%s\n' "$OUT" | grep -c .)" "devices --free: the 11 other mdevs"
assert_exit 0 hostdev devices -f "$C" example.com/mtty --free -n 1 --format qemu
assert_ne "$MDEV_ARGS" "$OUT" "the next free mdev"
assert_exit 1 hostdev devices -f "$C" intel.com/e1000e --free -n 1 --format qemu
assert_contains "$ERR" "asked for 1 free device, there are 0 free" "devices intel.com/e1000e --free -n 1"
kill -0 "$QEMU_PID" || fail "QEMU died"

step "QEMU exits: both free again"
qemu_quit
assert_exit 0 hostdev devices -f "$C" example.com/mtty --free -n 1 --format qemu
assert_eq "$MDEV_ARGS" "$OUT" "qemu arguments of example.com/mtty"
assert_exit 0 hostdev devices -f "$C" intel.com/e1000e --free -n 1 --format qemu
assert_eq "$PCI_ARGS" "$OUT" "qemu arguments of intel.com/e1000e"
assert_exit 0 hostdev status -f "$C" -o json
assert_contains "$(status_device "$A")" '"in_use": false' "status -o json, device $A"
