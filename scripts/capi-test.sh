#!/usr/bin/env bash
# The C ABI (fwu-capi, include/psa/update.h) end to end, with the system C compiler:
#
#   1. host static library with the simulated device (feature host-sim), the crate's cargo
#      tests (header/Rust drift check, FFI tests) and clippy on the host-sim code;
#   2. C test programs linked against it and run: cycle.c (complete update cycle with the real
#      bootloader at each reboot, and the digest §2.1 error matrix), embedded.c (fwu_init with C
#      flash callbacks, layout checks, the corrupt state and its recovery), faults.c (faults at
#      rest injected through the simulation's raw flash access, judged through the PSA API),
#      client_run.c (the documentation's example client, run);
#   3. header hygiene: psa/update.h beside a platform psa/error.h (C99, C11) and as C++; the
#      example client compiled for two geometries, and identical to its copy in the README;
#   4. the same suite for a non-default geometry (FWU_CAPI_WRITE_SIZE=8,
#      FWU_CAPI_SECTOR_SIZE=8192);
#   5. the static libraries for thumbv7em-none-eabihf (debug and release) and
#      thumbv8m.main-none-eabihf: exported symbols listed and checked, and the release archive
#      linked with rust-lld --gc-sections to prove it needs nothing from outside.
#
# Each C program and cargo test binary contributes its own counts; every other step counts as
# one. The last line is "N passed, M failed"; the exit status is 1 if anything failed.
#
# Builds go to $CARGO_TARGET_DIR if it is set (the C programs link the libraries there), else to
# target/.
set -uo pipefail
# A relative CARGO_TARGET_DIR means what it means to cargo: relative to the caller's directory.
[[ -n ${CARGO_TARGET_DIR:-} ]] && CARGO_TARGET_DIR=$(realpath -m -- "$CARGO_TARGET_DIR")
cd "$(dirname "$0")/.."
[[ :$PATH: == *":$HOME/.cargo/bin:"* ]] || export PATH="$HOME/.cargo/bin:$PATH"

CC=${CC:-cc}
CXX=${CXX:-c++}
# Cargo's target directory: an externally set CARGO_TARGET_DIR is respected (the libraries are
# then looked for there), otherwise the workspace's target/.
TARGET=${CARGO_TARGET_DIR:-target}
export CARGO_TARGET_DIR=$TARGET
OUT=$TARGET/capi-test
mkdir -p "$OUT"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -Iupdater/capi/tests/c)
# What the host static library needs (cargo rustc -- --print native-static-libs).
LIBS=(-lpthread -ldl -lm -lrt -lutil)
# The exact exports of the embedded archive.
EXPECTED_SYMBOLS="fwu_init fwu_recover_state fwu_state_health fwu_state_sectors_needed psa_fwu_accept psa_fwu_cancel psa_fwu_clean psa_fwu_finish psa_fwu_install psa_fwu_query psa_fwu_reject psa_fwu_request_reboot psa_fwu_start psa_fwu_write"

passed=0
failed=0

# step NAME CMD...: one check.
step() {
    local name=$1
    shift
    if "$@" >"$OUT/step.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        tail -n 40 "$OUT/step.log" | sed 's/^/     /'
    fi
}

# counted NAME CMD...: run a program whose output has "N passed, M failed" (C tests) or
# cargo's "test result: ... N passed; M failed" lines, and add its counts.
counted() {
    local name=$1
    shift
    local log="$OUT/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-').log"
    "$@" >"$log" 2>&1
    local rc=$?
    local p=0 f=0 found=0 line
    while IFS= read -r line; do
        if [[ $line =~ ([0-9]+)\ passed[,\;]\ ([0-9]+)\ failed ]]; then
            p=$((p + BASH_REMATCH[1]))
            f=$((f + BASH_REMATCH[2]))
            found=1
        fi
    done < <(grep -E '[0-9]+ passed[,;] [0-9]+ failed' "$log")
    if ((rc != 0 && f == 0)); then
        f=$((f + 1)) # crashed, or failed without counting
    fi
    if ((found == 0 && rc == 0)); then
        f=$((f + 1)) # ran no counted test
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if ((f == 0)); then
        echo "ok   $name ($p passed)"
    else
        echo "FAIL $name ($p passed, $f failed; log: $log)"
        grep -E '^FAIL|panicked|^error|assert' "$log" | head -n 30 | sed 's/^/     /'
        ((rc != 0)) && tail -n 10 "$log" | sed 's/^/     /'
    fi
}

# suite TAG LIBDIR CPPFLAGS...: compile and run the C programs against LIBDIR/libfwu_capi.a.
suite() {
    local tag=$1 lib=$2/libfwu_capi.a
    shift 2
    local t
    for t in cycle embedded faults; do
        step "$tag: compile tests/c/$t.c" \
            "$CC" "${CFLAGS[@]}" "$@" "updater/capi/tests/c/$t.c" "$lib" "${LIBS[@]}" -o "$OUT/$tag-$t"
        [[ -x $OUT/$tag-$t ]] && counted "$tag: run $t" "$OUT/$tag-$t"
    done
}

echo "== host: static library with the simulated device, cargo tests"
rm -f "$OUT"/*-cycle "$OUT"/*-embedded "$OUT"/*-faults "$OUT"/*-client_run
step "cargo build -p fwu-capi --features host-sim" cargo build -p fwu-capi --features host-sim
counted "cargo test -p fwu-capi --features host-sim" cargo test -p fwu-capi --features host-sim
counted "cargo test -p fwu-capi (embedded-style build: no sim)" cargo test -p fwu-capi
# `just lint` covers the default features; the simulation code only builds with host-sim.
step "cargo clippy -p fwu-capi --features host-sim --all-targets" \
    cargo clippy -p fwu-capi --no-deps --features host-sim --all-targets -- -D warnings

echo "== C tests (default geometry: 4-byte writes, 4 KiB sectors)"
suite default "$TARGET/debug"
step "default: compile examples/client.c + tests/c/client_run.c" \
    "$CC" "${CFLAGS[@]}" updater/capi/examples/client.c updater/capi/tests/c/client_run.c \
    "$TARGET/debug/libfwu_capi.a" "${LIBS[@]}" -o "$OUT/default-client_run"
[[ -x $OUT/default-client_run ]] && counted "default: run the example client" "$OUT/default-client_run"

echo "== headers and the example client"
step "psa/error.h first, then psa/update.h (C99)" bash -c \
    "$CC ${CFLAGS[*]} -DERROR_H_FIRST updater/capi/tests/c/coexist.c -o $OUT/coexist99 && $OUT/coexist99"
step "psa/update.h first, then psa/error.h (C11)" bash -c \
    "$CC ${CFLAGS[*]/-std=c99/-std=c11} updater/capi/tests/c/coexist.c -o $OUT/coexist11 && $OUT/coexist11"
step "headers as C++ (extern \"C\")" bash -c \
    "$CXX -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -Iupdater/capi/tests/c updater/capi/tests/c/coexist.c -o $OUT/coexistxx && $OUT/coexistxx"
step "example client compiles (default geometry)" \
    "$CC" "${CFLAGS[@]}" -c updater/capi/examples/client.c -o "$OUT/client.o"
step "example client compiles (FWU_CAPI_WRITE_SIZE=32, FWU_CAPI_SECTOR_SIZE=131072)" \
    "$CC" "${CFLAGS[@]}" -DFWU_CAPI_WRITE_SIZE=32 -DFWU_CAPI_SECTOR_SIZE=131072 \
    -c updater/capi/examples/client.c -o "$OUT/client32.o"
readme_example() {
    awk '/<!-- example: examples\/client.c -->/{on=1; next} on && /^```c$/{body=1; next} body && /^```$/{exit} body' \
        updater/capi/README.md | diff -u updater/capi/examples/client.c -
}
step "README's example is examples/client.c" readme_example

echo "== non-default geometry: FWU_CAPI_WRITE_SIZE=8, FWU_CAPI_SECTOR_SIZE=8192"
W8=(env FWU_CAPI_WRITE_SIZE=8 FWU_CAPI_SECTOR_SIZE=8192 CARGO_TARGET_DIR="$TARGET/capi-w8")
step "w8: cargo build -p fwu-capi --features host-sim" "${W8[@]}" cargo build -p fwu-capi --features host-sim
counted "w8: cargo test -p fwu-capi --features host-sim --test header" \
    "${W8[@]}" cargo test -p fwu-capi --features host-sim --test header
suite w8 "$TARGET/capi-w8/debug" -DFWU_CAPI_WRITE_SIZE=8 -DFWU_CAPI_SECTOR_SIZE=8192

echo "== embedded static libraries"
host=$(rustc -vV | sed -n 's/^host: //p')
lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
NM=${NM:-llvm-nm}
# Rust's objects embed LLVM bitcode newer than the system llvm-nm reads: list the ELF symbols.
exports() { "$NM" --no-llvm-bc -g --defined-only "$1" 2>/dev/null | awk '$2 == "T" && $3 ~ /^(psa_|fwu_)/ {print $3}' | sort; }
check_exports() {
    local got
    got=$(exports "$1" | tr '\n' ' ' | sed 's/ $//')
    echo "exported: $got"
    [[ $got == "$EXPECTED_SYMBOLS" ]]
}
link_closure() {
    local args=() s
    for s in $EXPECTED_SYMBOLS; do args+=(-u "$s"); done
    "$lld" -flavor gnu --gc-sections --entry=fwu_init "${args[@]}" "$1" -o "$OUT/$2-closure.elf" &&
        llvm-size "$OUT/$2-closure.elf"
}
step "cargo build -p fwu-capi --target thumbv7em-none-eabihf" \
    cargo build -p fwu-capi --target thumbv7em-none-eabihf
for t in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
    a="$TARGET/$t/release/libfwu_capi.a"
    step "cargo build -p fwu-capi --target $t --release" cargo build -p fwu-capi --target "$t" --release
    step "$t: exports exactly the 10 psa_fwu_* functions and the 4 fwu_* functions" check_exports "$a"
    step "$t: links with rust-lld --gc-sections, nothing undefined" link_closure "$a" "$t"
done
a=$TARGET/thumbv7em-none-eabihf/release/libfwu_capi.a
if [[ -f $a ]]; then
    echo "-- $NM --no-llvm-bc -g --defined-only $a | grep -E ' T (psa_|fwu_)'"
    "$NM" --no-llvm-bc -g --defined-only "$a" 2>/dev/null | grep -E ' T (psa_|fwu_)' | sed 's/^/   /'
    [[ -f $OUT/thumbv7em-none-eabihf-closure.elf ]] &&
        llvm-size "$OUT/thumbv7em-none-eabihf-closure.elf" | sed 's/^/   /'
fi

echo "$passed passed, $failed failed"
((failed == 0))
