# The freshly built hostdev binary (and the shared libraries it needs) runs in the guest.
step "hostdev --version"
assert_exists /usr/local/bin/hostdev
assert_exit 0 hostdev --version
assert_contains "$OUT" "hostdev" "hostdev --version"
