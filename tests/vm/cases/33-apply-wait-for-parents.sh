# hostdev apply --wait-for-parents on the real kernel: the boot race, where the vendor
# driver publishes its mdev types only after hostdev.service has started.
C=/tests/files/wait-mtty.yaml

step "mtty not loaded: no parent offers the desired type"
rmmod mtty
assert_missing /sys/class/mdev_bus/mtty

step "the driver appears 3 s after apply started: apply waits, then creates"
( sleep 3; modprobe mtty ) &
LOADER=$!
assert_exit 0 hostdev apply -f "$C" --yes --wait-for-parents 60
wait "$LOADER"
assert_contains "$ERR" "mdev parents ready after"
assert_eq 12 "$(mdev_count)" "mtty-2 mdevs created after the wait"
assert_exit 0 hostdev plan -f "$C" --detailed-exitcode

step "teardown, unload, and a short wait that times out: warned, nothing to do, exit 0"
assert_exit 0 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
rmmod mtty
assert_exit 0 hostdev apply -f "$C" --yes --wait-for-parents 1
assert_contains "$ERR" "mdev parents not ready after"
assert_contains "$ERR" "no mdev parent offers any of the desired types [mtty-2]"
assert_eq 0 "$(mdev_count)" "nothing created without the driver"
