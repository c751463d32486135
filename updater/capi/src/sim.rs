//! Host simulation (feature `host-sim`): the C ABI over a simulated device, for C test programs.
//!
//! The service runs over a [`SimFlash`] *through the same C flash adapter as `fwu_init`* (the
//! callbacks here are Rust `extern "C"` functions over the simulated cells), so the C tests
//! exercise the real binding path. [`fwu_sim_reboot`] drops the service, runs the real
//! [`Bootloader`] over the cells and binds a new service, as a device reset does.
//!
//! Layout, in sectors of [`SECTOR_SIZE`] bytes (50 in all): state partition 0..8; component 0
//! primary at 8 (16 sectors) and secondary at 24 (17 sectors); component 1 primary at 41
//! (4 sectors) and secondary at 45 (5 sectors). One trusted key: [`DEV_KEY_SEED`]'s.
//!
//! For fault injection at rest, [`fwu_sim_layout`] describes where everything lives (the state
//! partition's carving from [`StateGeometry::new`], the slots), and [`fwu_sim_flash_read`] /
//! [`fwu_sim_flash_poke`] read and overwrite the raw cells, bypassing the NOR rules.

// std's critical-section implementation, for embassy-sync's unused CriticalSectionRawMutex.
use critical_section as _;

use crate::flash::{CFlash, CReset};
use crate::global::{locked, Binding};
use crate::{FWU_ERROR_BUSY, PUBLIC_KEY_SIZE, SECTOR_SIZE, WRITE_SIZE};
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use fwu_bootloader::{BootAction, BootConfig, BootError, BootReport, Bootloader, StateReport};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{ImageIdentity, KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::geometry::CopyRegion;
use fwu_shared::state::{StateGeometry, StoredCounters};
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
pub const SECTORS: usize = 50;
/// `FWU_SIM_STATE_SECTORS`: sectors of the state partition (from sector 0).
pub const STATE_SECTORS: usize = 8;
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
/// `FWU_SIM_BOOT_REVERT_REFUSED`.
pub const FWU_SIM_BOOT_REVERT_REFUSED: i32 = 5;
/// `FWU_SIM_BOOT_DEFERRED`: an install or rollback was due but the flash could not be read.
pub const FWU_SIM_BOOT_DEFERRED: i32 = 6;

/// `FWU_SIM_STATE_OK`: the bootloader found both copies of the boot log current.
pub const FWU_SIM_STATE_OK: u32 = 0;
/// `FWU_SIM_STATE_REPAIRED`: one copy lacked the current state and was rewritten.
pub const FWU_SIM_STATE_REPAIRED: u32 = 1;
/// `FWU_SIM_STATE_FRESH`: a new device; the first state was written.
pub const FWU_SIM_STATE_FRESH: u32 = 2;
/// `FWU_SIM_STATE_CORRUPT`: the boot log could not be trusted: nothing was installed or
/// reverted, the active images were only checked.
pub const FWU_SIM_STATE_CORRUPT: u32 = 3;
/// `FWU_SIM_STATE_DEGRADED`: one copy lacked the state and could not be rewritten.
pub const FWU_SIM_STATE_DEGRADED: u32 = 4;
/// `FWU_SIM_STATE_UNREADABLE`: no read of the boot log succeeded (or the counter backend
/// failed): as for `FWU_SIM_STATE_CORRUPT`, the active images were only checked.
pub const FWU_SIM_STATE_UNREADABLE: u32 = 5;

const S: u32 = SECTOR_SIZE as u32;

/// The simulated device's component slots.
pub const SLOTS: [ComponentSlots; COMPONENTS] = [
    ComponentSlots {
        id: 0,
        primary: 8 * S,
        secondary: 24 * S,
        sectors: 16,
    },
    ComponentSlots {
        id: 1,
        primary: 41 * S,
        secondary: 45 * S,
        sectors: 4,
    },
];

/// The simulated device's layout.
pub fn layout() -> Layout<'static> {
    Layout {
        sector_size: S,
        components: &SLOTS,
        state: 0..STATE_SECTORS as u32 * S,
    }
}

/// Bytes of the simulated flash.
const FLASH_SIZE: u32 = (SECTORS * SECTOR_SIZE) as u32;

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
    /// What the last boot reported (`None` if it failed).
    last_boot: Option<FwuSimBoot>,
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
            last_boot: None,
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

    /// The cells while a service may be bound, for the raw fault-injection accessors.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of [`locked`] and no flash callback is running (the service
    /// reaches the cells only inside a call, which holds the same lock), so this is the only
    /// reference to them.
    unsafe fn cells_locked(&mut self) -> &mut Flash {
        // SAFETY: the caller's contract.
        unsafe { self.flash.as_mut() }
    }

    /// One boot: the fwu bootloader over the cells. The service must be unbound.
    fn boot(&mut self) -> Result<i32, PsaStatus> {
        self.last_boot = None;
        let keys = [self.key];
        // SAFETY: callers unbind the service first.
        let cells = unsafe { self.cells() };
        let layout = layout();
        let checked = layout
            .check_for(&*cells)
            .map_err(|e| boot_error(BootError::Layout(e)))?;
        let mut bootloader = Bootloader::new(
            checked,
            KeyRing::new(&keys),
            BootConfig::default(),
            StoredCounters,
        );
        let report = bootloader.boot(cells).map_err(boot_error)?;
        let boot = FwuSimBoot::of(&report);
        self.last_boot = Some(boot);
        Ok(boot.action)
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
        identity: ImageIdentity::ANY,
        build_number: BuildNumber::Ignore,
        recover_corrupt: false,
    });
    match bound {
        Ok(()) => action,
        Err(e) => e.code(),
    }
}

/// `fwu_sim_boot_t`: what the bootloader reported at the last boot of the simulated device.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSimBoot {
    /// What it did: an `FWU_SIM_BOOT_*` value (what `fwu_sim_reboot` returned).
    pub action: i32,
    /// How it found the boot log: an `FWU_SIM_STATE_*` value.
    pub state: u32,
    /// 1 if the images about to run are on trial.
    pub trial: u8,
    /// Bit `c` set: component `c`'s active image failed authentication or anti-rollback and
    /// must not run (0 when every image boots).
    pub refused: u8,
}

impl FwuSimBoot {
    fn of(report: &BootReport) -> Self {
        let action = match report.action {
            BootAction::None => FWU_SIM_BOOT_NONE,
            BootAction::Installed(_) => FWU_SIM_BOOT_INSTALLED,
            BootAction::InstallRefused(..) => FWU_SIM_BOOT_INSTALL_REFUSED,
            BootAction::Reverted(..) => FWU_SIM_BOOT_REVERTED,
            BootAction::Recovered(_) => FWU_SIM_BOOT_RECOVERED,
            BootAction::RevertRefused(_) => FWU_SIM_BOOT_REVERT_REFUSED,
            BootAction::Deferred(_) => FWU_SIM_BOOT_DEFERRED,
        };
        let state = match report.state {
            StateReport::Ok => FWU_SIM_STATE_OK,
            StateReport::Repaired => FWU_SIM_STATE_REPAIRED,
            StateReport::Fresh => FWU_SIM_STATE_FRESH,
            StateReport::Corrupt => FWU_SIM_STATE_CORRUPT,
            StateReport::Degraded => FWU_SIM_STATE_DEGRADED,
            StateReport::Unreadable => FWU_SIM_STATE_UNREADABLE,
        };
        FwuSimBoot {
            action,
            state,
            trial: u8::from(report.trial),
            refused: report.invalid.0,
        }
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
    /// Non-zero: write `vendor_id` as the protected `UUID_VID` TLV.
    pub has_vendor_id: u8,
    /// Non-zero: write `class_id` as the protected `UUID_CID` TLV.
    pub has_class_id: u8,
    /// Vendor UUID.
    pub vendor_id: [u8; 16],
    /// Image class UUID.
    pub class_id: [u8; 16],
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
    image.vendor_id = (spec.has_vendor_id != 0).then_some(spec.vendor_id);
    image.class_id = (spec.has_class_id != 0).then_some(spec.class_id);
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

/// `fwu_sim_last_boot`: what the bootloader reported at the last boot ([`fwu_sim_init`] or
/// [`fwu_sim_reboot`]).
///
/// `PSA_ERROR_INVALID_ARGUMENT` if `out` is NULL; `PSA_ERROR_BAD_STATE` without a device or if
/// the last boot failed (on error a non-NULL `*out` is zeroed).
///
/// # Safety
///
/// `out` is NULL or valid for writing one `fwu_sim_boot_t` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_last_boot(out: *mut FwuSimBoot) -> PsaStatus {
    if out.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let got = locked(|g| g.sim.as_ref().and_then(|d| d.last_boot));
    let (status, boot) = match got {
        Err(_) => (FWU_ERROR_BUSY, FwuSimBoot::default()),
        Ok(None) => (PSA_ERROR_BAD_STATE, FwuSimBoot::default()),
        Ok(Some(b)) => (PSA_SUCCESS, b),
    };
    // SAFETY: not NULL and writable for one struct (caller); no alignment needed.
    unsafe { out.write_unaligned(boot) };
    status
}

/// `fwu_sim_range_t`: `size` bytes of the simulated flash from `offset`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSimRange {
    /// First byte.
    pub offset: u32,
    /// Bytes.
    pub size: u32,
}

impl FwuSimRange {
    fn of(r: core::ops::Range<u32>) -> Self {
        FwuSimRange {
            offset: r.start,
            size: r.end.saturating_sub(r.start),
        }
    }
}

/// `fwu_sim_log_t`: one redundant store of the state partition (boot log or catalog): two
/// copies of `slots` fixed slots of `slot_size` bytes, each slot starting with a record of
/// `record_size` bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSimLog {
    /// Copy A and copy B.
    pub copies: [FwuSimRange; 2],
    /// Bytes of one slot.
    pub slot_size: u32,
    /// Slots in each copy.
    pub slots: u32,
    /// Bytes of the record frame at the start of each slot (padded to the write size); in the
    /// boot log the flag and swap progress words follow it.
    pub record_size: u32,
}

impl FwuSimLog {
    fn of(copies: &[CopyRegion; 2], record_size: u32) -> Self {
        FwuSimLog {
            copies: copies.map(|c| FwuSimRange::of(c.range())),
            slot_size: copies[0].slot_len,
            slots: copies[0].slots,
            record_size,
        }
    }
}

/// `fwu_sim_component_t`: one component's slots on the simulated device.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSimComponent {
    /// Component id.
    pub id: ComponentId,
    /// The primary slot (the active image).
    pub primary: FwuSimRange,
    /// The secondary slot (one sector larger).
    pub secondary: FwuSimRange,
    /// Where image offset 0 of a download is stored (one sector into the secondary slot);
    /// after an install the previous image (the backup) is at `secondary.offset`.
    pub staging: u32,
}

/// `fwu_sim_layout_t`: where everything lives on the simulated flash.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSimLayout {
    /// Bytes of the simulated flash.
    pub flash_size: u32,
    /// Erase sector size (`FWU_CAPI_SECTOR_SIZE`).
    pub sector_size: u32,
    /// Write size (`FWU_CAPI_WRITE_SIZE`).
    pub write_size: u32,
    /// The whole state partition.
    pub state: FwuSimRange,
    /// The boot log (transaction table, security counter floors).
    pub boot_log: FwuSimLog,
    /// The catalog (component records).
    pub catalog: FwuSimLog,
    /// The download checkpoint map.
    pub checkpoints: FwuSimRange,
    /// Entries of `components` used.
    pub component_count: u32,
    /// Each component's slots, by id.
    pub components: [FwuSimComponent; COMPONENTS],
}

/// The layout of the simulated device, or `None` if this build's flash geometry needs a larger
/// state partition than the device has.
fn sim_layout() -> Option<FwuSimLayout> {
    let l = layout();
    let geo = StateGeometry::new(&l, WRITE_SIZE as u32).ok()?;
    let mut components = [FwuSimComponent::default(); COMPONENTS];
    for (dst, c) in components.iter_mut().zip(&SLOTS) {
        *dst = FwuSimComponent {
            id: c.id,
            primary: FwuSimRange::of(c.primary_range(S)),
            secondary: FwuSimRange::of(c.secondary_range(S)),
            staging: c.staging_offset(S),
        };
    }
    Some(FwuSimLayout {
        flash_size: FLASH_SIZE,
        sector_size: S,
        write_size: WRITE_SIZE as u32,
        state: FwuSimRange::of(l.state.clone()),
        boot_log: FwuSimLog::of(&geo.boot, geo.boot_slot.record),
        catalog: FwuSimLog::of(&geo.catalog, geo.catalog[0].slot_len),
        checkpoints: FwuSimRange::of(geo.checkpoints.0..geo.checkpoints.1),
        component_count: COMPONENTS as u32,
        components,
    })
}

/// `fwu_sim_layout`: describe the simulated device's flash (needs no device).
///
/// `PSA_ERROR_INVALID_ARGUMENT` if `out` is NULL; `PSA_ERROR_NOT_SUPPORTED` if this build's
/// flash geometry needs more than [`STATE_SECTORS`] state sectors (then `fwu_sim_init` fails
/// too). On error a non-NULL `*out` is zeroed.
///
/// # Safety
///
/// `out` is NULL or valid for writing one `fwu_sim_layout_t` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_layout(out: *mut FwuSimLayout) -> PsaStatus {
    if out.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    let (status, l) = match sim_layout() {
        Some(l) => (PSA_SUCCESS, l),
        None => (Error::NotSupported.code(), FwuSimLayout::default()),
    };
    // SAFETY: not NULL and writable for one struct (caller); no alignment needed.
    unsafe { out.write_unaligned(l) };
    status
}

/// `fwu_sim_flash_size`: bytes of the simulated flash (constant; needs no device).
#[no_mangle]
pub extern "C" fn fwu_sim_flash_size() -> u32 {
    FLASH_SIZE
}

/// `offset..offset + len` as a range inside the simulated flash.
fn flash_range(offset: u32, len: usize) -> Option<core::ops::Range<usize>> {
    let start = offset as usize;
    let end = start.checked_add(len)?;
    (end <= FLASH_SIZE as usize).then_some(start..end)
}

/// `fwu_sim_flash_read`: copy `len` raw bytes of the simulated flash from `offset` to `buf`.
///
/// `PSA_ERROR_INVALID_ARGUMENT` for a NULL `buf` with `len > 0` or a range outside the flash,
/// `PSA_ERROR_BAD_STATE` without a device, `FWU_ERROR_BUSY` during another call.
///
/// # Safety
///
/// `buf` is NULL or writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_flash_read(
    offset: u32,
    buf: *mut c_void,
    len: usize,
) -> PsaStatus {
    let Some(range) = flash_range(offset, len) else {
        return PSA_ERROR_INVALID_ARGUMENT;
    };
    if len == 0 {
        return PSA_SUCCESS;
    }
    if buf.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    // SAFETY: not NULL and writable for `len` bytes (caller); `len` is at most the flash size.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    locked(|g| {
        let Some(dev) = g.sim.as_mut() else {
            return PSA_ERROR_BAD_STATE;
        };
        // SAFETY: we hold the lock and run no flash callback.
        let cells = unsafe { dev.cells_locked() };
        match cells.contents().get(range) {
            Some(src) => {
                out.copy_from_slice(src);
                PSA_SUCCESS
            }
            None => PSA_ERROR_INVALID_ARGUMENT,
        }
    })
    .unwrap_or(FWU_ERROR_BUSY)
}

/// Overwrite `bytes` at `start` as a fault at rest would: each sector touched is rebuilt so that
/// every byte reads as given and each write word that reads all `0xFF` is erased (programmable
/// again), every other word programmed.
fn poke(cells: &mut Flash, start: usize, bytes: &[u8]) -> Result<(), PsaStatus> {
    let Some(last) = (start + bytes.len()).checked_sub(1) else {
        return Ok(());
    };
    for sector in start / SECTOR_SIZE..=last / SECTOR_SIZE {
        let base = sector * SECTOR_SIZE;
        let mut image = cells
            .contents()
            .get(base..base + SECTOR_SIZE)
            .ok_or(PSA_ERROR_INVALID_ARGUMENT)?
            .to_vec();
        let lo = start.max(base);
        let hi = (start + bytes.len()).min(base + SECTOR_SIZE);
        let (Some(dst), Some(src)) = (
            image.get_mut(lo - base..hi - base),
            bytes.get(lo - start..hi - start),
        ) else {
            return Err(PSA_ERROR_INVALID_ARGUMENT);
        };
        dst.copy_from_slice(src);
        let from = u32::try_from(base).map_err(|_| PSA_ERROR_INVALID_ARGUMENT)?;
        NorFlash::erase(cells, from, from + S).map_err(|_| Error::StorageFailure.code())?;
        for (i, word) in image.chunks(WRITE_SIZE).enumerate() {
            if word.iter().any(|&b| b != 0xff) {
                cells.load(base + i * WRITE_SIZE, word);
            }
        }
    }
    Ok(())
}

/// `fwu_sim_flash_poke`: overwrite `len` raw bytes of the simulated flash at `offset` with
/// `buf`, bypassing the NOR rules, as a fault at rest does (flipped bits, garbage, erasure).
///
/// Afterwards the bytes read as given; in each sector touched, a write word that reads all
/// `0xFF` counts as erased (programmable again) and any other word as programmed. The service
/// bound now keeps what it already read (as a device keeps its RAM): the fault takes effect at
/// the next read of those bytes, at the latest at the next [`fwu_sim_reboot`].
///
/// `PSA_ERROR_INVALID_ARGUMENT` for a NULL `buf` with `len > 0` or a range outside the flash,
/// `PSA_ERROR_BAD_STATE` without a device, `FWU_ERROR_BUSY` during another call.
///
/// # Safety
///
/// `buf` is NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fwu_sim_flash_poke(
    offset: u32,
    buf: *const c_void,
    len: usize,
) -> PsaStatus {
    let Some(range) = flash_range(offset, len) else {
        return PSA_ERROR_INVALID_ARGUMENT;
    };
    if len == 0 {
        return PSA_SUCCESS;
    }
    if buf.is_null() {
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    // SAFETY: not NULL and readable for `len` bytes (caller); `len` is at most the flash size.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    locked(|g| {
        let Some(dev) = g.sim.as_mut() else {
            return PSA_ERROR_BAD_STATE;
        };
        // SAFETY: we hold the lock and run no flash callback.
        let cells = unsafe { dev.cells_locked() };
        match poke(cells, range.start, bytes) {
            Ok(()) => PSA_SUCCESS,
            Err(e) => e,
        }
    })
    .unwrap_or(FWU_ERROR_BUSY)
}
