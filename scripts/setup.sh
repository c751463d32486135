#!/usr/bin/env bash
# Idempotent developer/CI machine setup for fwu (Debian, run as root or with sudo rights).
#
# Installs only what is missing:
#   * Debian packages: a C/C++ compiler, llvm (llvm-size/llvm-nm), python3 with venv;
#   * the pinned Rust toolchain (rust-toolchain.toml) with rustfmt, clippy and both embedded
#     targets;
#   * the nightly toolchain check (cargo-fuzz needs it; it is part of the machine image);
#   * `just` and `cargo-fuzz` (cargo install --locked);
#   * a Python venv at .venv/ with MCUboot's imgtool (pinned) for the interop tests, and the
#     mcumgr tools smpclient and smpmgr (pinned) for the SMP tests.
#
# One line per step. When everything is present it finishes in a few seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

IMGTOOL_VERSION=2.5.0
# The stock mcumgr tools the SMP tests and the demo drive a fwu device with (issue 14).
SMPCLIENT_VERSION=7.3.0
SMPMGR_VERSION=0.19.1
TARGETS=(thumbv7em-none-eabihf thumbv8m.main-none-eabihf)
COMPONENTS=(rustfmt clippy)
TOOLCHAIN=$(sed -n 's/^channel[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' rust-toolchain.toml)

step() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: ERROR: %s\n' "$*" >&2
    exit 1
}

[[ -n $TOOLCHAIN ]] || die "cannot read the toolchain channel from rust-toolchain.toml"

# cargo/rustup live in ~/.cargo/bin on a rustup install; make sure a non-login shell sees them.
if [[ -d $HOME/.cargo/bin && :$PATH: != *":$HOME/.cargo/bin:"* ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

apt_install() {
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    step "apt-get install -y $*"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@"
}

ensure_system_packages() {
    local missing=()
    command -v cc >/dev/null 2>&1 || missing+=(build-essential)
    command -v c++ >/dev/null 2>&1 || missing+=(g++)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    # llvm-size / llvm-nm: scripts/size-verifier.sh (just bench).
    { command -v llvm-size && command -v llvm-nm; } >/dev/null 2>&1 || missing+=(llvm)
    if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    else
        step "system packages: C/C++ compiler, llvm-size/llvm-nm, python3 with venv: present"
    fi
}

ensure_rustup() {
    command -v rustup >/dev/null 2>&1 ||
        die "rustup not found; install it (https://rustup.rs) and re-run this script"
    step "rustup: $(rustup --version 2>/dev/null | head -n1)"
}

ensure_toolchain() {
    if rustup toolchain list | grep -q "^${TOOLCHAIN}-"; then
        step "toolchain $TOOLCHAIN: present"
    else
        step "toolchain $TOOLCHAIN: installing (minimal profile, rustfmt, clippy)"
        rustup toolchain install "$TOOLCHAIN" --profile minimal -c rustfmt -c clippy
    fi

    local installed missing=()
    installed=$(rustup +"$TOOLCHAIN" component list --installed)
    for c in "${COMPONENTS[@]}"; do
        grep -q "^${c}-" <<<"$installed" || missing+=("$c")
    done
    if ((${#missing[@]})); then
        step "components ${missing[*]}: installing"
        rustup component add --toolchain "$TOOLCHAIN" "${missing[@]}"
    else
        step "components ${COMPONENTS[*]}: present"
    fi

    installed=$(rustup +"$TOOLCHAIN" target list --installed)
    missing=()
    for t in "${TARGETS[@]}"; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    if ((${#missing[@]})); then
        step "targets ${missing[*]}: installing"
        rustup target add --toolchain "$TOOLCHAIN" "${missing[@]}"
    else
        step "targets ${TARGETS[*]}: present"
    fi
}

ensure_nightly() {
    if rustup toolchain list | grep -q '^nightly-'; then
        step "nightly toolchain: present ($(rustup run nightly rustc --version))"
    else
        die "the nightly toolchain is missing; cargo-fuzz needs it and it is part of this machine image
       (rustup toolchain install nightly --profile minimal)"
    fi
}

ensure_cargo_tool() { # <binary> <crate>
    local bin=$1 crate=$2
    if command -v "$bin" >/dev/null 2>&1; then
        step "$crate: present ($("$bin" --version 2>/dev/null | head -n1))"
    else
        step "$crate: installing with cargo install --locked (takes a few minutes)"
        cargo +"$TOOLCHAIN" install --locked "$crate"
    fi
}

ensure_imgtool() {
    local venv=$ROOT/.venv have=
    if [[ -x $venv/bin/imgtool ]]; then
        have=$("$venv/bin/imgtool" version 2>/dev/null | tail -n1 || true)
    fi
    if [[ $have == "$IMGTOOL_VERSION" ]]; then
        step "imgtool $IMGTOOL_VERSION in .venv: present"
        return
    fi
    if [[ ! -x $venv/bin/python ]]; then
        step "python venv .venv: creating"
        python3 -m venv "$venv"
    fi
    step "imgtool $IMGTOOL_VERSION in .venv: installing from PyPI"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "imgtool==$IMGTOOL_VERSION"
    have=$("$venv/bin/imgtool" version 2>/dev/null | tail -n1 || true)
    [[ $have == "$IMGTOOL_VERSION" ]] ||
        die "imgtool in .venv reports version '$have', expected $IMGTOOL_VERSION"
}

ensure_smp_tools() {
    local venv=$ROOT/.venv
    if "$venv/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('smpclient') != '$SMPCLIENT_VERSION' or m.version('smpmgr') != '$SMPMGR_VERSION')" \
        2>/dev/null; then
        step "smpclient $SMPCLIENT_VERSION and smpmgr $SMPMGR_VERSION in .venv: present"
        return
    fi
    step "smpclient $SMPCLIENT_VERSION and smpmgr $SMPMGR_VERSION in .venv: installing from PyPI"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "smpclient==$SMPCLIENT_VERSION" "smpmgr==$SMPMGR_VERSION"
}

# Needed by the QEMU runs (mps2-an386 / mps2-an505), which do not exist yet. Not called today;
# enable it in the step list below when the QEMU demo lands.
ensure_qemu() {
    if command -v qemu-system-arm >/dev/null 2>&1; then
        step "qemu-system-arm: present ($(qemu-system-arm --version | head -n1))"
    else
        apt_install qemu-system-arm
    fi
}

ensure_system_packages
ensure_rustup
ensure_toolchain
ensure_nightly
ensure_cargo_tool just just
ensure_cargo_tool cargo-fuzz cargo-fuzz
ensure_imgtool
ensure_smp_tools
ensure_qemu
step "done"
