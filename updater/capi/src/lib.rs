//! `fwu-capi`: the C ABI of the fwu update service — the PSA Certified Firmware Update API 1.0
//! exactly as `include/psa/update.h` declares it, for update clients written in C.
//!
//! Built as a static library (`libfwu_capi.a`) for the host and for `thumbv7em-none-eabihf`
//! (and any other bare-metal target the updater supports). It exports:
//!
//! | symbol | header | |
//! |---|---|---|
//! | `psa_fwu_query`, `psa_fwu_start`, `psa_fwu_write`, `psa_fwu_finish`, `psa_fwu_cancel`, `psa_fwu_clean`, `psa_fwu_install`, `psa_fwu_request_reboot`, `psa_fwu_reject`, `psa_fwu_accept` | `psa/update.h` | the API, over [`fwu_updater::Updater`] |
//! | `fwu_init` | `fwu/fwu.h` | binds the service to the flash, layout, keys and reset |
//! | `fwu_state_health`, `fwu_recover_state` | `fwu/fwu.h` | how the state partition was found; rebuilding a state corrupt beyond automatic repair |
//! | `fwu_state_sectors_needed` | `fwu/fwu.h` | the smallest state partition a layout needs |
//! | `fwu_sim_init`, `fwu_sim_reboot`, `fwu_sim_last_boot`, `fwu_sim_reboot_requested`, `fwu_sim_make_image`, `fwu_sim_dev_public_key`, `fwu_sim_layout`, `fwu_sim_flash_size`, `fwu_sim_flash_read`, `fwu_sim_flash_poke` | `fwu/fwu_sim.h` | host simulation only (feature `host-sim`) |
//!
//! # Binding
//!
//! [`fwu_init`] takes one `fwu_config_t` ([`FwuConfig`]): blocking flash callbacks, the layout
//! shared with the bootloader (component slots, state partition), 1 to [`MAX_KEYS`] raw Ed25519
//! public keys, a reset callback and flags. Layout and keys are copied into static memory; the
//! one service instance lives in a static too. No heap. Until `fwu_init` succeeds every
//! `psa_fwu_*` call returns an error from its own list in the spec (PSA FWU 1.0 chapter 5):
//! `PSA_ERROR_DOES_NOT_EXIST` from `query`, `start`, `write`, `finish`, `cancel` and `clean` (no
//! component exists yet), `PSA_ERROR_BAD_STATE` from `install`, `reject` and `accept`,
//! `PSA_ERROR_NOT_PERMITTED` from `request_reboot`; `fwu_state_health` and `fwu_recover_state`
//! return `PSA_ERROR_BAD_STATE` (`FWU_ERROR_NOT_INITIALIZED`).
//!
//! The flash geometry is a build-time constant ([`WRITE_SIZE`], [`SECTOR_SIZE`]: environment
//! variables `FWU_CAPI_WRITE_SIZE`, default 4, and `FWU_CAPI_SECTOR_SIZE`, default 4096), because
//! the updater's `NorFlash` needs constants. The headers carry the same macros with the same
//! defaults; `fwu_init` refuses a configuration whose `sector_size` or `log2_write_align`
//! differs from the build (`PSA_ERROR_NOT_SUPPORTED`), so a header/library mismatch is caught at
//! start-up.
//!
//! # Calls
//!
//! Each call takes a non-blocking lock, runs the async updater method to completion with
//! `embassy_futures::block_on` (the callbacks are blocking, so the futures complete on their
//! first poll) and releases the lock. A call made while another runs — from inside a flash or
//! reset callback, from an interrupt or from another thread — returns
//! `PSA_ERROR_CONNECTION_BUSY` (`FWU_ERROR_BUSY`) and does nothing: never undefined behaviour,
//! never a deadlock. Serialise the calls in the client (one update task, or an RTOS mutex).
//!
//! Pointer and size arguments are checked before the service sees them:
//!
//! * `psa_fwu_query` with a NULL `info` is `PSA_ERROR_INVALID_ARGUMENT`; on any error a non-NULL
//!   `*info` is zeroed (the spec's recommended safe default);
//! * `psa_fwu_start` with `manifest == NULL && manifest_size == 0` is a bundled manifest (the
//!   only kind fwu supports); a detached manifest, or NULL with a non-zero size, is
//!   `PSA_ERROR_INVALID_ARGUMENT`;
//! * `psa_fwu_write` with a NULL `block` and a non-zero `block_size` is
//!   `PSA_ERROR_INVALID_ARGUMENT`; a `block_size` of 0 or above `PSA_FWU_MAX_WRITE_SIZE`, an
//!   unaligned `image_offset` or a region outside the slot is `PSA_ERROR_INVALID_ARGUMENT` from
//!   the service (which reads at most `PSA_FWU_MAX_WRITE_SIZE + 1` bytes of the block to decide);
//! * `fwu_init` checks every pointer, count and the layout (alignment to the erase size,
//!   overlaps, the device's end, the state partition's size: [`Layout::validate`]) before any
//!   flash callback runs.
//!
//! # A corrupt state partition
//!
//! The state partition keeps two copies of each store, so any single fault at rest (a flipped
//! bit, a torn or garbage word, an erased or garbage sector) is repaired at start-up. A state
//! corrupt beyond that (both copies of a store bad) does not fail `fwu_init`: every
//! `psa_fwu_query` then reports `PSA_FWU_FAILED` with `PSA_ERROR_DATA_CORRUPT`, every change is
//! refused with `PSA_ERROR_STORAGE_FAILURE`, and [`fwu_recover_state`] (or the flag
//! `FWU_CONFIG_RECOVER_CORRUPT_STATE` at `fwu_init`) rebuilds the corrupt store(s) without
//! touching a primary slot. [`fwu_state_health`] tells how each store was found.
//!
//! Everything else follows [`fwu_updater`]'s crate documentation (states, resumable downloads,
//! verification at `finish`, errors).
//!
//! # no_std
//!
//! On bare-metal targets (`target_os = "none"`) the crate is `no_std` and provides the
//! `#[panic_handler]` the static library needs (it loops; the code has no panicking paths, the
//! workspace lints deny `unwrap` and `panic!`). On hosted targets it links `std` for its panic
//! runtime, but the code outside the host simulation uses `core` only.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

// Hosted targets: the static library needs std's panic runtime; the simulation uses std.
#[cfg(not(target_os = "none"))]
extern crate std;

mod flash;
mod global;
#[cfg(feature = "host-sim")]
pub mod sim;
mod types;

/// The flash geometry the library is built for (from `build.rs`).
mod config {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}

pub use config::{DEFAULT_SECTOR_SIZE, DEFAULT_WRITE_SIZE, SECTOR_SIZE, WRITE_SIZE};
pub use flash::{CFlash, CFlashError, CReset};
pub use fwu_shared::{ComponentInfo, ImageVersion, ImplInfo, PsaStatus};
pub use fwu_updater::PSA_FWU_MAX_WRITE_SIZE;
pub use types::{
    health_code, FlashEraseFn, FlashReadFn, FlashWriteFn, FwuConfig, FwuFlash, FwuSlot,
    FwuStateHealth, ResetFn, FWU_CONFIG_ALL, FWU_CONFIG_COMPARE_BUILD_NUMBER,
    FWU_CONFIG_RECOVER_CORRUPT_STATE, FWU_HEALTH_CORRUPT, FWU_HEALTH_DEGRADED, FWU_HEALTH_FRESH,
    FWU_HEALTH_OK, FWU_HEALTH_UNKNOWN,
};

use core::ffi::c_void;
use embassy_futures::block_on;
use fwu_shared::image::{ImageIdentity, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{StateGeometry, MAX_COMPONENTS};
use fwu_shared::status::{
    to_status, PSA_ERROR_BAD_STATE, PSA_ERROR_CONNECTION_BUSY, PSA_ERROR_DOES_NOT_EXIST,
    PSA_ERROR_INVALID_ARGUMENT, PSA_ERROR_NOT_PERMITTED, PSA_ERROR_NOT_SUPPORTED,
};
use fwu_shared::version::BuildNumber;
use fwu_shared::{ComponentId, FwuResult, Success};
use global::{locked, Binding, Service};

/// `PSA_FWU_LOG2_WRITE_ALIGN` of this build: `log2(`[`WRITE_SIZE`]`)`.
pub const PSA_FWU_LOG2_WRITE_ALIGN: u32 = WRITE_SIZE.trailing_zeros();
/// `FWU_MAX_KEYS`: the most trusted keys `fwu_init` takes.
pub const MAX_KEYS: usize = 4;
/// `FWU_PUBLIC_KEY_SIZE`: bytes of one raw Ed25519 public key.
pub const PUBLIC_KEY_SIZE: usize = 32;
/// `FWU_MAX_COMPONENTS`.
pub const FWU_MAX_COMPONENTS: usize = MAX_COMPONENTS;
/// `FWU_ERROR_NOT_INITIALIZED`: what `fwu_state_health` and `fwu_recover_state` return before
/// `fwu_init` succeeded. The `psa_fwu_*` functions return a code of their own documented list
/// instead (see [`UNBOUND_COMPONENT`], [`UNBOUND_TRANSACTION`], [`UNBOUND_REBOOT`]).
pub const FWU_ERROR_NOT_INITIALIZED: PsaStatus = PSA_ERROR_BAD_STATE;
/// What `psa_fwu_query`, `start`, `write`, `finish`, `cancel` and `clean` return before
/// `fwu_init`: `PSA_ERROR_DOES_NOT_EXIST`, since no component exists until a layout is bound
/// (the one error all six list besides `NOT_PERMITTED`; `query` lists no `BAD_STATE`).
pub const UNBOUND_COMPONENT: PsaStatus = PSA_ERROR_DOES_NOT_EXIST;
/// What `psa_fwu_install`, `reject` and `accept` return before `fwu_init`:
/// `PSA_ERROR_BAD_STATE` (no component is in a state they act on), which all three list.
pub const UNBOUND_TRANSACTION: PsaStatus = PSA_ERROR_BAD_STATE;
/// What `psa_fwu_request_reboot` returns before `fwu_init`: `PSA_ERROR_NOT_PERMITTED` (no reset
/// function is bound yet), from its list of `SUCCESS`, `NOT_PERMITTED` and `NOT_SUPPORTED`.
pub const UNBOUND_REBOOT: PsaStatus = PSA_ERROR_NOT_PERMITTED;
/// `FWU_ERROR_BUSY`: what a call returns while another call runs.
pub const FWU_ERROR_BUSY: PsaStatus = PSA_ERROR_CONNECTION_BUSY;

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Unreachable in practice (no panicking paths); never unwind into C.
    loop {
        core::hint::spin_loop();
    }
}

/// Run `f` on the bound service under the lock and collapse the result to a `psa_status_t`;
/// `unbound` before `fwu_init` has succeeded.
fn call(unbound: PsaStatus, f: impl FnOnce(&Service) -> FwuResult) -> PsaStatus {
    match locked(|g| g.service.as_ref().map(f)) {
        Err(global::Busy) => FWU_ERROR_BUSY,
        Ok(None) => unbound,
        Ok(Some(r)) => to_status(r),
    }
}

/// `psa_fwu_query`: fill `*info` with the state, error, active version and slot information
/// of `component`.
///
/// `PSA_ERROR_INVALID_ARGUMENT` if `info` is NULL. On any error a non-NULL `*info` is zeroed.
///
/// # Safety
///
/// `info` is NULL or valid for writing one `psa_fwu_component_info_t` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn psa_fwu_query(
    component: ComponentId,
    info: *mut ComponentInfo,
) -> PsaStatus {
    if info.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let mut out = ComponentInfo::default();
    let status = call(UNBOUND_COMPONENT, |s| {
        block_on(s.query(component)).map(|i| {
            out = i;
            Success::Done
        })
    });
    if status < 0 {
        out = ComponentInfo::default();
    }
    // SAFETY: `info` is not NULL and the caller guarantees it is writable for one struct;
    // `write_unaligned` needs no alignment.
    unsafe { info.write_unaligned(out) };
    status
}

/// `psa_fwu_start`: READY → WRITING, bundled manifest only.
///
/// `manifest == NULL && manifest_size == 0` is the bundled case (the only one: PSA FWU 1.0
/// chapter 5, `psa_fwu_start`). A detached manifest, even an empty one (a non-NULL pointer with
/// size 0), is `PSA_ERROR_INVALID_ARGUMENT` from the service, after the state check; NULL with a
/// non-zero size is `PSA_ERROR_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `manifest` is NULL or readable for `manifest_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn psa_fwu_start(
    component: ComponentId,
    manifest: *const c_void,
    manifest_size: usize,
) -> PsaStatus {
    let manifest: Option<&[u8]> = if manifest.is_null() && manifest_size == 0 {
        None
    } else if manifest_size == 0 {
        // A non-NULL pointer is a detached manifest, even an empty one: the service refuses it.
        Some(&[])
    } else if manifest.is_null() || manifest_size > isize::MAX as usize {
        return PSA_ERROR_INVALID_ARGUMENT;
    } else {
        // SAFETY: not NULL, readable for `manifest_size` bytes (caller), and the size is at most
        // `isize::MAX`; only read during this call.
        Some(unsafe { core::slice::from_raw_parts(manifest.cast::<u8>(), manifest_size) })
    };
    call(UNBOUND_COMPONENT, |s| {
        block_on(s.start(component, manifest))
    })
}

/// `psa_fwu_write`: store `block_size` bytes of `block` at `image_offset` of the image being
/// written.
///
/// NULL `block` with a non-zero `block_size` is `PSA_ERROR_INVALID_ARGUMENT`. The service sees at
/// most `PSA_FWU_MAX_WRITE_SIZE + 1` bytes of the block: enough to refuse an oversized one.
///
/// # Safety
///
/// `block` is NULL or readable for `block_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn psa_fwu_write(
    component: ComponentId,
    image_offset: usize,
    block: *const c_void,
    block_size: usize,
) -> PsaStatus {
    let data: &[u8] = if block_size == 0 {
        &[]
    } else if block.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    } else {
        let len = block_size.min(PSA_FWU_MAX_WRITE_SIZE + 1);
        // SAFETY: not NULL and readable for `block_size >= len` bytes (caller); `len` is small,
        // far below `isize::MAX`; only read during this call.
        unsafe { core::slice::from_raw_parts(block.cast::<u8>(), len) }
    };
    call(UNBOUND_COMPONENT, |s| {
        block_on(s.write(component, image_offset, data))
    })
}

/// `psa_fwu_finish`: WRITING → CANDIDATE after authenticating the image and applying the
/// anti-rollback and downgrade policy (→ FAILED on failure).
#[no_mangle]
pub extern "C" fn psa_fwu_finish(component: ComponentId) -> PsaStatus {
    call(UNBOUND_COMPONENT, |s| block_on(s.finish(component)))
}

/// `psa_fwu_cancel`: WRITING or CANDIDATE → FAILED (error `FWU_ERROR_CANCELLED`).
#[no_mangle]
pub extern "C" fn psa_fwu_cancel(component: ComponentId) -> PsaStatus {
    call(UNBOUND_COMPONENT, |s| block_on(s.cancel(component)))
}

/// `psa_fwu_clean`: FAILED or UPDATED → READY, erasing the second image.
#[no_mangle]
pub extern "C" fn psa_fwu_clean(component: ComponentId) -> PsaStatus {
    call(UNBOUND_COMPONENT, |s| block_on(s.clean(component)))
}

/// `psa_fwu_install`: every CANDIDATE → STAGED (`PSA_SUCCESS_REBOOT`).
#[no_mangle]
pub extern "C" fn psa_fwu_install() -> PsaStatus {
    call(UNBOUND_TRANSACTION, |s| block_on(s.install()))
}

/// `psa_fwu_request_reboot`: call the reset callback; `PSA_SUCCESS` if it returns.
#[no_mangle]
pub extern "C" fn psa_fwu_request_reboot() -> PsaStatus {
    call(UNBOUND_REBOOT, |s| block_on(s.request_reboot()))
}

/// `psa_fwu_reject`: STAGED → FAILED (`PSA_SUCCESS`) or TRIAL → REJECTED
/// (`PSA_SUCCESS_REBOOT`), recording `error`.
#[no_mangle]
pub extern "C" fn psa_fwu_reject(error: PsaStatus) -> PsaStatus {
    call(UNBOUND_TRANSACTION, |s| block_on(s.reject(error)))
}

/// `psa_fwu_accept`: every TRIAL → UPDATED.
#[no_mangle]
pub extern "C" fn psa_fwu_accept() -> PsaStatus {
    call(UNBOUND_TRANSACTION, |s| block_on(s.accept()))
}

/// The binding described by a C configuration, with the slots and keys copied out.
fn binding_of<'a>(
    cfg: &FwuConfig,
    slots: &'a mut [ComponentSlots; MAX_COMPONENTS],
    keys: &'a mut [PublicKey; MAX_KEYS],
) -> Result<Binding<'a>, PsaStatus> {
    let (Some(read), Some(write), Some(erase), Some(reset)) =
        (cfg.flash.read, cfg.flash.write, cfg.flash.erase, cfg.reset)
    else {
        return Err(PSA_ERROR_INVALID_ARGUMENT);
    };
    if cfg.sector_size as usize != SECTOR_SIZE || cfg.log2_write_align != PSA_FWU_LOG2_WRITE_ALIGN {
        return Err(PSA_ERROR_NOT_SUPPORTED);
    }
    if cfg.flags & !FWU_CONFIG_ALL != 0
        || cfg.slots.is_null()
        || !(1..=MAX_COMPONENTS).contains(&cfg.slot_count)
        || cfg.keys.is_null()
        || !(1..=MAX_KEYS).contains(&cfg.key_count)
    {
        return Err(PSA_ERROR_INVALID_ARGUMENT);
    }
    // SAFETY: not NULL, and the caller of `fwu_init` guarantees `slot_count` readable entries;
    // `slot_count <= 8`. Copied now, not kept.
    let c_slots = unsafe { core::slice::from_raw_parts(cfg.slots, cfg.slot_count) };
    for (dst, s) in slots.iter_mut().zip(c_slots) {
        *dst = ComponentSlots {
            id: s.id,
            primary: s.primary,
            secondary: s.secondary,
            sectors: s.sectors,
        };
    }
    // SAFETY: not NULL, and the caller guarantees `key_count * 32` readable bytes;
    // `key_count <= 4`. Copied now, not kept.
    let c_keys = unsafe { core::slice::from_raw_parts(cfg.keys, cfg.key_count * PUBLIC_KEY_SIZE) };
    for (dst, k) in keys.iter_mut().zip(c_keys.chunks_exact(PUBLIC_KEY_SIZE)) {
        let mut raw = [0u8; PUBLIC_KEY_SIZE];
        raw.copy_from_slice(k);
        *dst = PublicKey(raw);
    }
    let state_end = cfg
        .state_offset
        .checked_add(cfg.state_size)
        .ok_or(PSA_ERROR_INVALID_ARGUMENT)?;
    // SAFETY: the callbacks and contexts come from the caller of `fwu_init`, whose contract
    // (fwu.h) is that they stay callable until the next `fwu_init`; the adapter checks bounds
    // and alignment before each call.
    let (flash, reset) = unsafe {
        (
            CFlash::new(cfg.flash.context, read, write, erase, cfg.flash.capacity),
            CReset::new(cfg.reset_context, reset),
        )
    };
    // SAFETY: NULL or, by the caller's contract, 16 readable bytes; copied now, not kept.
    let uuid =
        |p: *const u8| (!p.is_null()).then(|| unsafe { p.cast::<[u8; 16]>().read_unaligned() });
    let identity = ImageIdentity {
        vendor_id: uuid(cfg.vendor_id),
        class_id: uuid(cfg.class_id),
    };
    let slots: &'a [ComponentSlots] = slots;
    let keys: &'a [PublicKey] = keys;
    Ok(Binding {
        flash,
        reset,
        slots: slots.get(..cfg.slot_count).unwrap_or(&[]),
        state: cfg.state_offset..state_end,
        keys: keys.get(..cfg.key_count).unwrap_or(&[]),
        identity,
        build_number: if cfg.flags & FWU_CONFIG_COMPARE_BUILD_NUMBER != 0 {
            BuildNumber::Compare
        } else {
            BuildNumber::Ignore
        },
        recover_corrupt: cfg.flags & FWU_CONFIG_RECOVER_CORRUPT_STATE != 0,
    })
}

/// `fwu_init`: bind (or re-bind) the service to the flash, layout, keys and reset of `config`.
///
/// The previous instance (and a simulated device) is dropped first: on error the service is
/// unbound. Codes: see `include/fwu/fwu.h`.
///
/// # Safety
///
/// `config` is NULL or points to a valid `fwu_config_t` whose `slots` and `keys` arrays are
/// readable for their counts during the call. The flash and reset callbacks must stay safe to
/// call with their contexts until the next `fwu_init` (or `fwu_sim_init`).
#[no_mangle]
pub unsafe extern "C" fn fwu_init(config: *const FwuConfig) -> PsaStatus {
    // SAFETY: NULL or valid for reads (caller); `read_unaligned` copies it out.
    let cfg = (!config.is_null()).then(|| unsafe { config.read_unaligned() });
    let outcome = locked(|g| {
        g.unbind();
        #[cfg(feature = "host-sim")]
        {
            g.sim = None;
        }
        let Some(cfg) = cfg else {
            return PSA_ERROR_INVALID_ARGUMENT;
        };
        let mut slots = [global::NO_SLOT; MAX_COMPONENTS];
        let mut keys = [PublicKey([0; 32]); MAX_KEYS];
        match binding_of(&cfg, &mut slots, &mut keys) {
            Err(code) => code,
            Ok(b) => to_status(g.bind(b).map(|()| Success::Done)),
        }
    });
    outcome.unwrap_or(FWU_ERROR_BUSY)
}

/// `fwu_recover_state`: rebuild a state partition that is corrupt beyond automatic repair
/// ([`fwu_updater::Updater::recover_state`]).
///
/// Each corrupt store is erased and started again from what verifies on flash: the boot log with
/// no transaction and, as every component's security counter floor, the highest counter any
/// readable record showed and that of the verified active image; the catalog with every
/// component READY; the download checkpoints empty. An intact store is kept as it is. Primary
/// slots are never touched. `PSA_ERROR_BAD_STATE` if nothing is corrupt (it is not a way to
/// cancel an update), `PSA_ERROR_STORAGE_FAILURE` if the flash fails.
#[no_mangle]
pub extern "C" fn fwu_recover_state() -> PsaStatus {
    call(FWU_ERROR_NOT_INITIALIZED, |s| block_on(s.recover_state()))
}

/// `fwu_state_health`: how the boot log and the catalog were found at the last read of the
/// state partition, as `FWU_HEALTH_*` values.
///
/// `PSA_ERROR_INVALID_ARGUMENT` if `health` is NULL; on any error a non-NULL `*health` is zeroed
/// (`FWU_HEALTH_UNKNOWN`).
///
/// # Safety
///
/// `health` is NULL or valid for writing one `fwu_state_health_t` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn fwu_state_health(health: *mut FwuStateHealth) -> PsaStatus {
    if health.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let mut out = FwuStateHealth::default();
    let status = call(FWU_ERROR_NOT_INITIALIZED, |s| {
        block_on(s.state_health()).map(|h| {
            out = FwuStateHealth {
                boot: health_code(h.boot),
                catalog: health_code(h.catalog),
            };
            Success::Done
        })
    });
    if status < 0 {
        out = FwuStateHealth::default();
    }
    // SAFETY: not NULL and writable for one struct (caller); `write_unaligned` needs no
    // alignment.
    unsafe { health.write_unaligned(out) };
    status
}

/// `fwu_state_sectors_needed`: the fewest sectors the state partition of a layout with these
/// component slots needs, for this build's flash geometry ([`StateGeometry::sectors_needed`]).
///
/// Only the slots' `sectors` and their number count. `PSA_ERROR_INVALID_ARGUMENT` for a NULL
/// pointer or a `slot_count` outside `1..=FWU_MAX_COMPONENTS`; on error a non-NULL `*sectors`
/// is set to 0. Touches no flash and needs no `fwu_init`.
///
/// # Safety
///
/// `slots` is NULL or readable for `slot_count` entries; `sectors` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fwu_state_sectors_needed(
    slots: *const FwuSlot,
    slot_count: usize,
    sectors: *mut u32,
) -> PsaStatus {
    if sectors.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let mut needed = 0;
    if !slots.is_null() && (1..=MAX_COMPONENTS).contains(&slot_count) {
        // SAFETY: not NULL and readable for `slot_count <= 8` entries (caller); copied now.
        let c_slots = unsafe { core::slice::from_raw_parts(slots, slot_count) };
        let mut copied = [global::NO_SLOT; MAX_COMPONENTS];
        for (dst, s) in copied.iter_mut().zip(c_slots) {
            *dst = ComponentSlots {
                id: s.id,
                primary: s.primary,
                secondary: s.secondary,
                sectors: s.sectors,
            };
        }
        let layout = Layout {
            sector_size: SECTOR_SIZE as u32,
            components: copied.get(..slot_count).unwrap_or(&[]),
            state: 0..0,
        };
        needed = StateGeometry::sectors_needed(&layout, WRITE_SIZE as u32);
    }
    // SAFETY: not NULL and writable (caller).
    unsafe { sectors.write_unaligned(needed) };
    if needed == 0 {
        PSA_ERROR_INVALID_ARGUMENT
    } else {
        fwu_shared::status::PSA_SUCCESS
    }
}
