# vm-timeout: 240
# hostdev status on the real kernel: healthy after `bind vfio` + `apply` (exit 0, last line
# "healthy", Prometheus series at 0/1, --textfile written); a device held open is in use
# with the holder's pid, left out of `devices --free`, and still healthy; drift after one
# mdev is removed by hand (exit 1, one stderr line, 1 pending action) until apply
# converges; a device unbound from vfio-pci by hand is named on stderr (exit 1) until
# `bind vfio` binds it again.
A=0000:00:03.0
C=/tests/files/status.yaml
PROM_PCI="{resource=\"intel.com/e1000e\",kind=\"pci\",device=\"$A\"}"

step "bind $A to vfio-pci, apply 12 mtty-2"
assert_exit 0 hostdev bind vfio --yes "$A"
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 12 "$(mdev_count)" "mdevs"
G=$(iommu_group "$PCI/$A")
U=$(first_mdev)
P=$(basename "$(dirname "$(readlink -f "/sys/bus/mdev/devices/$U")")")
note "first mdev $U on parent $P; $A in IOMMU group $G"

step "status: healthy, exit 0, last line 'healthy'"
assert_exit 0 hostdev status -f "$C"
printf '%s\n' "$OUT"
assert_eq healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"
assert_eq "" "$ERR" "stderr of a healthy status"
assert_match "$OUT" "intel.com/e1000e +pci +$A +$G .* vfio-pci +ok" "the NIC's row"
assert_match "$OUT" "example.com/mtty +mdev +$U .* ok" "the first mdev's row"
assert_match "$OUT" "mtty-2 .* 12 +12 +ok" "mtty-2 present/wanted"

step "status --format prometheus: nothing pending, the NIC and the mdevs healthy"
assert_exit 0 hostdev status -f "$C" --format prometheus
printf '%s\n' "$OUT" | grep -v '^#' | grep -E 'pending|mdevs|e1000e|iommu_ready|problems' | sed 's/^/  prom| /'
assert_lines "$OUT" prometheus \
    "hostdev_plan_pending_actions 0" \
    "hostdev_device_healthy$PROM_PCI 1" \
    "hostdev_device_in_use$PROM_PCI 0" \
    "hostdev_device_healthy{resource=\"example.com/mtty\",kind=\"mdev\",device=\"$U\"} 1" \
    "hostdev_mdevs{parent=\"$P\",type=\"mtty-2\"} 12" \
    "hostdev_mdevs_wanted{parent=\"$P\",type=\"mtty-2\"} 12" \
    "hostdev_iommu_ready 1"
assert_eq 0 "$(printf '%s\n' "$OUT" | grep -c '^hostdev_device_healthy{.*} 0$')" "unhealthy devices"

step "status --textfile /tmp/h.prom writes the file atomically, stdout empty"
assert_exit 0 hostdev status -f "$C" --textfile /tmp/h.prom
assert_eq "" "$OUT" "stdout with --textfile"
assert_exists /tmp/h.prom
H=$(cat /tmp/h.prom)
assert_contains "$H" "# TYPE hostdev_plan_pending_actions gauge"
assert_lines "$H" /tmp/h.prom "hostdev_plan_pending_actions 0" "hostdev_device_healthy$PROM_PCI 1"
assert_match "$H" '^hostdev_status_last_run_timestamp_seconds [0-9]+' "/tmp/h.prom"
for s in plan_pending_actions mdevs mdevs_wanted device_healthy device_in_use iommu_ready status_last_run_timestamp_seconds; do
    assert_match "$H" "^# HELP hostdev_$s " "/tmp/h.prom"
    assert_match "$H" "^# TYPE hostdev_$s gauge" "/tmp/h.prom"
done
assert_eq "" "$(ls -A /tmp | grep '^\.h\.prom' || true)" "temporary files left beside /tmp/h.prom"
assert_eq 644 "$(stat -c %a /tmp/h.prom)" "mode of /tmp/h.prom"

step "a process holds /dev/vfio/$G open: in use with its pid, not free, still healthy"
hold_open "/dev/vfio/$G"
assert_exit 0 hostdev status -f "$C" -o json
assert_status_held "$A" "$HOLD_PID" vmtool
assert_contains "$(status_device "$U")" '"in_use": false' "status -o json, device $U"
assert_exit 0 hostdev status -f "$C"
assert_eq healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"
assert_match "$OUT" "intel.com/e1000e +pci +$A .* ok +pid $HOLD_PID \\(vmtool\\)" "the NIC's row"
assert_exit 0 hostdev status -f "$C" --format prometheus
assert_lines "$OUT" prometheus "hostdev_device_in_use$PROM_PCI 1"
assert_exit 0 hostdev devices -f "$C" --free --format qemu
assert_not_contains "$OUT" "host=$A" "devices --free"
assert_contains "$OUT" "sysfsdev=/sys/bus/mdev/devices/$U" "devices --free"
assert_eq 12 "$(printf '%s\n' "$OUT" | grep -c .)" "devices --free: the 12 mdevs only"
assert_exit 0 hostdev devices -f "$C" --format qemu
assert_contains "$OUT" "-device vfio-pci,host=$A" "devices (not only free ones)"
assert_exit 1 hostdev devices -f "$C" intel.com/e1000e --free -n 1
printf '%s\n' "$ERR"
assert_contains "$ERR" "asked for 1 free device, there are 0 free" "devices --free -n 1"
release
assert_exit 0 hostdev devices -f "$C" intel.com/e1000e --free -n 1 --format qemu
assert_eq "-device vfio-pci,host=$A" "$OUT" "devices --free -n 1 after the holder exited"

step "one mdev removed by hand: drift, exit 1, one pending action"
assert_write_ok "/sys/bus/mdev/devices/$U/remove" 1
assert_eq 11 "$(mdev_count)" "mdevs"
assert_exit 1 hostdev status -f "$C"
printf '%s\n' "$ERR"
assert_contains "$ERR" "hostdev: drift on $P: 11 mtty-2 (Dual port serial) present, 12 wanted" "stderr"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" "problem lines on stderr"
assert_ne healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"
assert_exit 1 hostdev status -f "$C" --format prometheus
assert_lines "$OUT" prometheus \
    "hostdev_plan_pending_actions 1" \
    "hostdev_mdevs{parent=\"$P\",type=\"mtty-2\"} 11" \
    "hostdev_mdevs_wanted{parent=\"$P\",type=\"mtty-2\"} 12"
assert_exit 1 hostdev status -f "$C" --textfile /tmp/h.prom
assert_lines "$(cat /tmp/h.prom)" "/tmp/h.prom after the drift" "hostdev_plan_pending_actions 1"

step "apply converges: healthy again"
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 12 "$(mdev_count)" "mdevs"
assert_exit 0 hostdev status -f "$C"
assert_eq healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"

step "$A unbound from vfio-pci by hand: exit 1, stderr names it"
assert_write_ok /sys/bus/pci/drivers/vfio-pci/unbind "$A"
assert_eq "" "$(pci_driver $A)" "driver of $A"
assert_exit 1 hostdev status -f "$C"
printf '%s\n' "$OUT" | grep -E "$A|e1000e" | sed 's/^/  | /'
printf '%s\n' "$ERR"
assert_contains "$ERR" "hostdev: intel.com/e1000e: $A (8086:10d3) matches but is not bound to any driver" "stderr"
assert_match "$OUT" "UNBOUND" "status table"
assert_exit 1 hostdev status -f "$C" --format prometheus
assert_not_contains "$OUT" "device=\"$A\"" "prometheus (an unbound device is not handed out)"
assert_lines "$OUT" prometheus "hostdev_plan_pending_actions 0"

step "bind vfio binds it again: healthy"
assert_exit 0 hostdev bind vfio --yes "$A"
assert_eq vfio-pci "$(pci_driver $A)" "driver of $A"
assert_exit 0 hostdev status -f "$C"
assert_eq healthy "$(printf '%s\n' "$OUT" | tail -1)" "last line of status"
