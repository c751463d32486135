//! Host simulation (feature `host-sim`): the C ABI over a simulated device, for C test programs.
//!
//! The service runs over a [`SimFlash`] *through the same C flash adapter as `fwu_init`* (the
//! callbacks here are Rust `extern "C"` functions over the simulated cells), so the C tests
//! exercise the real binding path. [`fwu_sim_reboot`] drops the service, runs the real
//! [`Bootloader`] over the cells and binds a new service, as a device reset does.
//!
//! Layout, in sectors of [`SECTOR_SIZE`] bytes (46 in all): state partition 0..4; component 0
//! primary at 4 (16 sectors) and secondary at 20 (17 sectors); component 1 primary at 37
//! (4 sectors) and secondary at 41 (5 sectors). One trusted key: [`DEV_KEY_SEED`]'s.

// std's critical-section implementation, for embassy-sync's unused CriticalSectionRawMutex.
use critical_section as _;

use crate::flash::{CFlash, CReset};
use crate::global::{locked, Binding};
use crate::{FWU_ERROR_BUSY, PUBLIC_KEY_SIZE, SECTOR_SIZE, WRITE_SIZE};
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use fwu_bootloader::{BootAction, BootConfig, BootError, Bootloader};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::StoredCounters;
use fwu_shared::status::{
    to_status, PSA_ERROR_BAD_STATE, PSA_ERROR_BUFFER_TOO_SMALL, PSA_ERROR_INVALID_ARGUMENT,
    PSA_SUCCESS,
};
use fwu_shared::version::{BuildNumber, Dependency};
use fwu_shared::{ComponentId, Error, ImageVersion, PsaStatus, Success};
use fwu_sim_flash::{Geometry, SimFlash};
use std::boxed::Box;
use std::vec::Vec;

/// The simulated flash.
pub type Flash = SimFlash<SECTOR_SIZE, WRITE_SIZE>;

/// Seed of the development signing key (the same as the `fwu-sim` simulator's).
pub const DEV_KEY_SEED: [u8; 32] = [0x5e; 32];
/// `FWU_SIM_SECTORS`.
pub const SECTORS: usize = 46;
/// `FWU_SIM_COMPONENTS`.
pub const COMPONENTS: usize = 2;
/// `FWU_SIM_MAX_DEPENDENCIES`.
pub const MAX_DEPENDENCIES: usize = 4;

/// `FWU_SIM_BOOT_NONE`.
pub const FWU_SIM_BOOT_NONE: i32 = 0;
/// `FWU_SIM_BOOT_INSTALLED`.
pub const FWU_SIM_BOOT_INSTALLED: i32 = 1;
/// `FWU_SIM_BOOT_INSTALL_REFUSED`.
pub const FWU_SIM_BOOT_INSTALL_REFUSED: i32 = 2;
/// `FWU_SIM_BOOT_REVERTED`.
pub const FWU_SIM_BOOT_REVERTED: i32 = 3;
/// `FWU_SIM_BOOT_RECOVERED`.
pub const FWU_SIM_BOOT_RECOVERED: i32 = 4;

const S: u32 = SECTOR_SIZE as u32;

/// The simulated device's component slots.
pub const SLOTS: [ComponentSlots; COMPONENTS] = [
    ComponentSlots {
        id: 0,
        primary: 4 * S,
        secondary: 20 * S,
        sectors: 16,
    },
    ComponentSlots {
        id: 1,
        primary: 37 * S,
        secondary: 41 * S,
        sectors: 4,
    },
];

/// The simulated device's layout.
pub fn layout() -> Layout<'static> {
    Layout {
        sector_size: S,
        components: &SLOTS,
        state: 0..4 * S,
    }
}

fn dev_signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&DEV_KEY_SEED)
}

/// Set by the simulated reset callback.
static REBOOT_REQUESTED: AtomicBool = AtomicBool::new(false);

/// A simulated device: the flash cells (owned through a raw pointer, because the service's
/// flash adapter holds that pointer as its callback context) and the trusted key.
pub struct SimDevice {
    flash: NonNull<Flash>,
    key: PublicKey,
}

impl Drop for SimDevice {
    fn drop(&mut self) {
        // SAFETY: `flash` came from `Box::into_raw` in `SimDevice::new` and is freed only here;
        // the device is dropped only after the service that used the pointer (see `fwu_init`
        // and `fwu_sim_init`, which unbind first).
        drop(unsafe { Box::from_raw(self.flash.as_ptr()) });
    }
}

unsafe extern "C" fn sim_read(
    ctx: *mut c_void,
    offset: u32,
    data: *mut c_void,
    size: usize,
) -> c_int {
    // SAFETY: `ctx` is the live `SimDevice` flash (the adapter is dropped before the device)
    // and the lock serialises every access; `data` is writable for `size` bytes (adapter).
    let (flash, buf) = unsafe {
        (
            &mut *ctx.cast::<Flash>(),
            core::slice::from_raw_parts_mut(data.cast::<u8>(), size),
        )
    };
    c_int::from(ReadNorFlash::read(flash, offset, buf).is_err())
}

unsafe extern "C" fn sim_write(
    ctx: *mut c_void,
    offset: u32,
    data: *const c_void,
    size: usize,
) -> c_int {
    // SAFETY: as in `sim_read`; `data` is readable for `size` bytes.
    let (flash, buf) = unsafe {
        (
            &mut *ctx.cast::<Flash>(),
            core::slice::from_raw_parts(data.cast::<u8>(), size),
        )
    };
    c_int::from(NorFlash::write(flash, offset, buf).is_err())
}

unsafe extern "C" fn sim_erase(ctx: *mut c_void, offset: u32) -> c_int {
    // SAFETY: as in `sim_read`.
    let flash = unsafe { &mut *ctx.cast::<Flash>() };
    c_int::from(NorFlash::erase(flash, offset, offset.saturating_add(S)).is_err())
}

unsafe extern "C" fn sim_reset(_: *mut c_void) {
    REBOOT_REQUESTED.store(true, Ordering::Relaxed);
}

fn boot_error(e: BootError) -> PsaStatus {
    match e {
        BootError::Layout(_) => PSA_ERROR_INVALID_ARGUMENT,
        BootError::Flash => Error::StorageFailure.code(),
        BootError::State => Error::InsufficientStorage.code(),
    }
}

impl SimDevice {
    fn new() -> Self {
        let flash = Box::new(Flash::new(Geometry {
            sectors: SECTORS,
            erased: 0xff,
        }));
        SimDevice {
            flash: NonNull::from(Box::leak(flash)),
            key: dev_signer().public_key(),
        }
    }

    /// The cells, for factory programming and the bootloader.
    ///
    /// # Safety
    ///
    /// No service may be bound to the device (it holds the same pointer).
    unsafe fn cells(&mut self) -> &mut Flash {
        // SAFETY: owned by `self`; the caller guarantees the service's copy is not in use.
        unsafe { self.flash.as_mut() }
    }

    /// One boot: the fwu bootloader over the cells. The service must be unbound.
    fn boot(&mut self) -> Result<i32, PsaStatus> {
        let keys = [self.key];
        let mut bootloader = Bootloader::new(
            layout(),
            KeyRing::new(&keys),
            BootConfig::default(),
            StoredCounters,
        );
        // SAFETY: callers unbind the service first.
        let report = bootloader
            .boot(unsafe { self.cells() })
            .map_err(boot_error)?;
        Ok(match report.action {
            BootAction::None => FWU_SIM_BOOT_NONE,
            BootAction::Installed(_) => FWU_SIM_BOOT_INSTALLED,
            BootAction::InstallRefused(..) => FWU_SIM_BOOT_INSTALL_REFUSED,
            BootAction::Reverted(..) => FWU_SIM_BOOT_REVERTED,
            BootAction::Recovered(_) => FWU_SIM_BOOT_RECOVERED,
        })
    }

    /// The flash and reset the service is bound to.
    fn adapters(&self) -> (CFlash, CReset) {
        let capacity = u32::try_from(SECTORS * SECTOR_SIZE).unwrap_or(u32::MAX);
        // SAFETY: the callbacks above accept the device pointer as context for as long as the
        // device lives, and the device outlives every service bound to it (it is dropped only
        // after unbinding).
        unsafe {
            (
                CFlash::new(
                    self.flash.as_ptr().cast(),
                    sim_read,
                    sim_write,
                    sim_erase,
                    capacity,
                ),
                CReset::new(core::ptr::null_mut(), sim_reset),
            )
        }
    }
}

/// Boot the current simulated device and bind a service to it.
fn boot_and_bind(g: &mut crate::global::Global) -> PsaStatus {
    g.unbind();
    REBOOT_REQUESTED.store(false, Ordering::Relaxed);
    let Some(dev) = g.sim.as_mut() else {
        return PSA_ERROR_BAD_STATE;
    };
    let action = match dev.boot() {
        Ok(a) => a,
        Err(e) => return e,
    };
    let (flash, reset) = dev.adapters();
    let keys = [dev.key];
    let bound = g.bind(Binding {
        flash,
        reset,
        slots: &SLOTS,
        state: layout().state,
        keys: &keys,
        build_number: BuildNumber::Ignore,
        format_corrupt: false,
    });
    match bound {
        Ok(()) => action,
        Err(e) => e.code(),
    }
}

/// `fwu_sim_factory_t`: an image factory-programmed by [`fwu_sim_init`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FwuSimFactory {
    /// Component whose primary slot receives the image.
    pub component: ComponentId,
    /// The image bytes.
    pub image: *const c_void,
    /// Image size.
    pub size: usize,
}

/// `fwu_sim_dependency_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FwuSimDependency {
    /// The component depended upon.
    pub component: ComponentId,
    /// Its lowest acceptable version.
    pub min_version: ImageVersion,
}

/// `fwu_sim_image_spec_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FwuSimImageSpec {
    /// Image version.
    pub version: ImageVersion,
    /// Security counter TLV value.
    pub security_counter: u32,
    /// Total image size.
    pub size: u32,
    /// Payload pattern seed.
    pub seed: u8,
    /// Entries of `dependencies` used.
    pub dependency_count: u8,
    /// Dependency TLVs.
    pub dependencies: [FwuSimDependency; MAX_DEPENDENCIES],
}

/// `fwu_sim_init`: a new simulated device with `count` factory images, booted, service bound.
///
/// # Safety
///
/// `images` is NULL (with `count == 0`) or readable for `count` entries, each `image` readable
/// for its `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_init(images: *const FwuSimFactory, count: usize) -> PsaStatus {
    let images: &[FwuSimFactory] = if count == 0 {
        &[]
    } else if images.is_null() || count > isize::MAX as usize / size_of::<FwuSimFactory>() {
        return PSA_ERROR_INVALID_ARGUMENT;
    } else {
        // SAFETY: not NULL and readable for `count` entries (caller); the size fits `isize`.
        unsafe { core::slice::from_raw_parts(images, count) }
    };
    locked(|g| {
        g.unbind();
        g.sim = None;
        let mut dev = SimDevice::new();
        for f in images {
            let Some(slot) = SLOTS.iter().find(|s| s.id == f.component) else {
                return PSA_ERROR_INVALID_ARGUMENT;
            };
            if f.image.is_null() || f.size > slot.max_image_size(S) as usize {
                return PSA_ERROR_INVALID_ARGUMENT;
            }
            // SAFETY: not NULL and readable for `size` bytes (caller), `size` is at most a slot.
            let bytes = unsafe { core::slice::from_raw_parts(f.image.cast::<u8>(), f.size) };
            // SAFETY: no service is bound (unbound above).
            unsafe { dev.cells() }.load(slot.primary as usize, bytes);
        }
        g.sim = Some(dev);
        let code = boot_and_bind(g);
        if code >= 0 {
            PSA_SUCCESS
        } else {
            code
        }
    })
    .unwrap_or(FWU_ERROR_BUSY)
}

/// `fwu_sim_reboot`: reset the simulated device (bootloader, then a new service). Returns a
/// `FWU_SIM_BOOT_*` value, or a negative PSA status.
#[no_mangle]
pub extern "C" fn fwu_sim_reboot() -> i32 {
    locked(boot_and_bind).unwrap_or(FWU_ERROR_BUSY)
}

/// `fwu_sim_reboot_requested`: 1 if `psa_fwu_request_reboot` ran since the last boot.
#[no_mangle]
pub extern "C" fn fwu_sim_reboot_requested() -> c_int {
    c_int::from(REBOOT_REQUESTED.load(Ordering::Relaxed))
}

/// `fwu_sim_dev_public_key`: copy the development public key (32 bytes) to `out`.
///
/// # Safety
///
/// `out` is NULL or writable for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_dev_public_key(out: *mut u8) -> PsaStatus {
    if out.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let key = dev_signer().public_key();
    // SAFETY: not NULL and writable for 32 bytes (caller); `key` is a separate local.
    unsafe { core::ptr::copy_nonoverlapping(key.0.as_ptr(), out, PUBLIC_KEY_SIZE) };
    PSA_SUCCESS
}

/// The payload byte `i` of an image with `seed` (as `fwu-sim`'s images).
fn payload_byte(i: usize, seed: u8) -> u8 {
    (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8
}

/// `fwu_sim_make_image`: build an image signed with the development key into `out`.
///
/// # Safety
///
/// `spec` is NULL or valid; `out` is NULL or writable for `out_size` bytes; `out_len` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_make_image(
    spec: *const FwuSimImageSpec,
    out: *mut c_void,
    out_size: usize,
    out_len: *mut usize,
) -> PsaStatus {
    if spec.is_null() || out.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    // SAFETY: not NULL and valid for reads (caller); copied.
    let spec = unsafe { spec.read_unaligned() };
    let Some(deps) = spec.dependencies.get(..usize::from(spec.dependency_count)) else {
        return PSA_ERROR_INVALID_ARGUMENT;
    };
    let deps: Vec<Dependency> = deps
        .iter()
        .map(|d| Dependency {
            component: d.component,
            min_version: d.min_version,
        })
        .collect();
    let mut image = ImageSpec::new(spec.version);
    image.security_counter = Some(spec.security_counter);
    image.dependencies = &deps;
    let size = spec.size as usize;
    let overhead = image.image_len(0);
    if size < overhead {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    if out_size < size {
        return PSA_ERROR_BUFFER_TOO_SMALL;
    }
    let payload: Vec<u8> = (0..size - overhead)
        .map(|i| payload_byte(i, spec.seed))
        .collect();
    // SAFETY: not NULL and writable for `out_size >= size` bytes (caller); `size` fits a u32.
    let dst = unsafe { core::slice::from_raw_parts_mut(out.cast::<u8>(), size) };
    let built = match build_image(&image, &payload, &dev_signer(), dst) {
        Ok(b) => b,
        Err(_) => return PSA_ERROR_INVALID_ARGUMENT,
    };
    if !out_len.is_null() {
        // SAFETY: not NULL and writable (caller).
        unsafe { out_len.write_unaligned(built.len) };
    }
    to_status(Ok(Success::Done))
}
