# shellcheck shell=bash
# Helpers shared by scripts/qemu-smoke.sh and scripts/qemu-faults-smoke.sh (source it).
#
#   qemu_board an386|an505      sets MACHINE TARGET PKG FLASH_BASE
#   qemu_build_bootloader       -> $WORK/bootloader.elf (the instrumented bootloader-test),
#                               $WORK/bootloader-production.elf, $WORK/selftest.elf
#   qemu_build_app NAME VERSION [FEATURE] [PAD]  -> $WORK/NAME.elf, $WORK/NAME.bin (zero-padded
#                               to PAD bytes, so that images span several sectors)
#   qemu_sign IN OUT VERSION COUNTER SLOT_SIZE HEADER
#   qemu_run FLASH LOG [TIMEOUT]  runs the bootloader on FLASH; returns QEMU's exit code
#   qemu_run_elf ELF FLASH LOG [TIMEOUT]   the same with another program
#   qemu_cut FLASH AT MODEL SEED / qemu_nocut FLASH   the control block, as scripts/flashimg.py
#
# Flash layout (boards/qemu-mps2/src/map.rs): state 0x0..0x8000; component 0 primary 0x10000
# (128 sectors), secondary 0x90000 (129, staged image at 0x91000); component 1 primary
# 0x111000 (16 sectors), secondary 0x121000 (17). The control block is the last sector.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLASHIMG=(python3 "$ROOT/scripts/flashimg.py")
DEV_KEY=$ROOT/boards/keys/dev-ed25519.pem
APP_PRIMARY=0x10000
APP_STAGING=0x91000
APP_SLOT_SIZE=0x80000
DATA_PRIMARY=0x111000
DATA_SLOT_SIZE=0x10000
[[ :$PATH: == *":$HOME/.cargo/bin:"* ]] || export PATH="$HOME/.cargo/bin:$PATH"

qemu_board() {
    case $1 in
    an386)
        MACHINE=mps2-an386 TARGET=thumbv7em-none-eabihf PKG=fwu-board-mps2-an386
        ;;
    an505)
        MACHINE=mps2-an505 TARGET=thumbv8m.main-none-eabihf PKG=fwu-board-mps2-an505
        ;;
    *)
        echo "usage: $0 an386|an505" >&2
        exit 2
        ;;
    esac
    BOARD=$1
    WORK=${WORK:-$ROOT/target/qemu/$BOARD}
    mkdir -p "$WORK"
}

objcopy_bin() {
    local tool
    if command -v llvm-objcopy >/dev/null; then
        tool=llvm-objcopy
    else
        tool=$(find "$(rustc --print sysroot)" -name rust-objcopy -type f | head -n 1)
    fi
    "$tool" -O binary "$1" "$2"
}

fwu_tool() {
    if [[ ! -x $ROOT/target/release/fwu-tool || -z ${FWU_TOOL_BUILT:-} ]]; then
        (cd "$ROOT" && cargo build --quiet --release -p fwu-tool)
        FWU_TOOL_BUILT=1
    fi
    "$ROOT/target/release/fwu-tool" "$@"
}

qemu_build_bootloader() {
    (cd "$ROOT/boards" && cargo build --quiet --release -p "$PKG" --target "$TARGET" --bin bootloader-test --bin bootloader --bin selftest)
    cp "$ROOT/boards/target/$TARGET/release/bootloader-test" "$WORK/bootloader.elf"
    cp "$ROOT/boards/target/$TARGET/release/bootloader" "$WORK/bootloader-production.elf"
    cp "$ROOT/boards/target/$TARGET/release/selftest" "$WORK/selftest.elf"
}

# qemu_build_app NAME VERSION [FEATURE] [PAD]
qemu_build_app() {
    local name=$1 version=$2 features=()
    [[ -n ${3:-} ]] && features=(--features "$3")
    (cd "$ROOT/boards" && FWU_APP_VERSION=$version cargo build --quiet --release -p "$PKG" \
        --target "$TARGET" --bin testapp "${features[@]}")
    cp "$ROOT/boards/target/$TARGET/release/testapp" "$WORK/$name.elf"
    objcopy_bin "$WORK/$name.elf" "$WORK/$name.bin"
    if [[ -n ${4:-} ]]; then
        (($(stat -c %s "$WORK/$name.bin") <= $4)) || { echo "qemu: $name.bin is larger than $4 bytes" >&2; exit 1; }
        truncate -s "$4" "$WORK/$name.bin"
    fi
}

# The image identity of the QEMU boards (boards/qemu-mps2/src/identity.rs): every image is signed
# for it, and their bootloaders and the demo application refuse images for another class.
QEMU_VENDOR=fwu.example.org
QEMU_CLASS=qemu-mps2-demo

# qemu_sign IN OUT VERSION COUNTER SLOT_SIZE HEADER [CLASS]   (CLASS: another image class)
qemu_sign() {
    fwu_tool sign -k "$DEV_KEY" -v "$3" -s "$4" -S "$5" -H "$6" --pad-header \
        --vid "$QEMU_VENDOR" --cid "${7:-$QEMU_CLASS}" "$1" "$2" >/dev/null
}

# le32 N: N as 4 little-endian bytes in printf escapes
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

# qemu_cut FLASH AT MODEL SEED: the control block of scripts/flashimg.py cut, without Python
# (the sweeps call it hundreds of times).
qemu_cut() {
    local code
    case $3 in
    Skip) code=0 ;; TornPrefix) code=1 ;; TornBits) code=2 ;; Garbage) code=3 ;; After) code=4 ;;
    *) echo "qemu_cut: unknown model $3" >&2; return 2 ;;
    esac
    # shellcheck disable=SC2059
    printf "FWUCUT01$(le32 "$2")$(le32 $code)$(le32 "$4")" |
        dd of="$1" bs=1 seek=$((16 * 1024 * 1024 - 4096)) conv=notrunc status=none
}

# qemu_nocut FLASH: erase the control block.
qemu_nocut() {
    head -c 4096 /dev/zero | tr '\0' '\377' |
        dd of="$1" bs=4096 seek=$((4 * 1024 - 1)) conv=notrunc status=none
}

# qemu_run FLASH LOG [TIMEOUT_SECONDS]: boot the bootloader; the console (UART0) goes to LOG.
qemu_run() {
    qemu_run_elf "$WORK/bootloader.elf" "$@"
}

# qemu_run_elf ELF FLASH LOG [TIMEOUT_SECONDS]   ($QEMU_EXTRA: more QEMU options, e.g.
# "-icount shift=0" to make the bootloader's boot_ns count instructions)
qemu_run_elf() {
    local rc=0 elf=$1 extra=()
    shift
    read -r -a extra <<<"${QEMU_EXTRA:-}"
    timeout "${3:-60}" qemu-system-arm "${extra[@]}" -machine "$MACHINE,memory-backend=fl" \
        -object "memory-backend-file,id=fl,mem-path=$1,size=16M,share=on" \
        -display none -monitor none -serial stdio \
        -semihosting-config enable=on,target=native \
        -kernel "$elf" </dev/null >"$2" 2>&1 || rc=$?
    return "$rc"
}
