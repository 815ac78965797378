#!/usr/bin/env bash
# Fuzz the parsers (part of tests/run-all.sh; CONTRIBUTING.md, "Fuzzing"): builds the
# cargo-fuzz targets of fuzz/ and runs each for a bounded time from its committed seed
# corpus (fuzz/corpus/TARGET). Fails on any crash, panic, timeout or out-of-memory,
# printing the reproducer's path and the command that replays it.
#
#   bash tests/fuzz.sh                 # every target, $HOSTDEV_FUZZ_SECONDS (15) each
#   bash tests/fuzz.sh config state    # only these targets
#
# The toolchain: nightly (`cargo +nightly`, installed beside stable by rustup). Without a
# nightly toolchain the stable one builds the targets with RUSTC_BOOTSTRAP=1, which lets it
# take the -Z flags cargo-fuzz passes (the sanitizer); said so on the output.
# Caches (never in the repo): $HOSTDEV_FUZZ_CACHE, default /var/cache/hostdev-fuzz:
# cargo-fuzz (`cargo install --locked`, pinned) in cargo/, the build in target/ (the
# targets' dependencies compile once per machine; only hostdev recompiles).
# New inputs libFuzzer finds go to a scratch directory, never into the committed corpus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

CARGO_FUZZ_VERSION=0.13.2
cache="${HOSTDEV_FUZZ_CACHE:-/var/cache/hostdev-fuzz}"
seconds="${HOSTDEV_FUZZ_SECONDS:-15}"
tools="$cache/cargo"
target_dir="$cache/target"
export PATH="$tools/bin:$PATH"

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: FAIL: %s\n' "$*" >&2; exit 1; }

all_targets=(config saved_plan state pci_ids description creatable_vgpu_types pci_address uuid selectors)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
    [[ -f fuzz/fuzz_targets/$t.rs ]] || die "no fuzz target $t (fuzz/fuzz_targets/$t.rs)"
    [[ -d fuzz/corpus/$t ]] || die "no seed corpus fuzz/corpus/$t"
done

# -- the toolchain and cargo-fuzz ------------------------------------------------------------
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo=(cargo +nightly)
else
    say "no nightly toolchain: building with the stable one and RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    say "cargo install --locked cargo-fuzz@$CARGO_FUZZ_VERSION into $tools (once)"
    mkdir -p "$tools"
    CARGO_TARGET_DIR="$tools/build" nice -n 10 cargo install --quiet --locked --root "$tools" \
        "cargo-fuzz@$CARGO_FUZZ_VERSION"
    rm -rf "$tools/build"
fi

# -- build -----------------------------------------------------------------------------------
say "build (${cargo[*]} fuzz build, sanitizer address, target dir $target_dir)"
nice -n 10 "${cargo[@]}" fuzz build --fuzz-dir fuzz --target-dir "$target_dir" \
    || die "cargo fuzz build failed"

# -- run -------------------------------------------------------------------------------------
scratch="$(mktemp -d /tmp/hostdev-fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "fuzz/artifacts/$t"
    log="$scratch/$t.log"
    # The scratch directory first: libFuzzer writes what it finds into the first corpus.
    # -timeout: one input taking longer is a hang; -rss_limit_mb: a runaway allocation.
    if "${cargo[@]}" fuzz run --fuzz-dir fuzz --target-dir "$target_dir" "$t" \
        "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$repo/fuzz/artifacts/$t/" >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
        rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
        cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1)"
        say "$t: ok, ${runs:-?} inputs in ${seconds}s (${rate:-?}/s, $cov)"
    else
        failed+=("$t")
        tail -n 40 "$log" >&2
        artifact="$(grep -o "Test unit written to [^ ]*" "$log" | tail -n1 | sed 's/^Test unit written to //')"
        if [[ -n $artifact ]]; then
            printf 'fuzz: FAIL: %s: reproducer %s\n' "$t" "$artifact" >&2
            printf 'fuzz:   replay: (cd fuzz && cargo +nightly fuzz run %s %s)\n' "$t" "$artifact" >&2
        else
            printf 'fuzz: FAIL: %s (no reproducer written; log above)\n' "$t" >&2
        fi
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    die "${#failed[@]} target(s) failed: ${failed[*]}; each crash becomes a regression test in its parser's module (CONTRIBUTING.md, \"Fuzzing\")"
fi
say "${#targets[@]} target(s), ${seconds}s each: no crash, hang or OOM"
