//! The C ABI driven from Rust through `fwu_init` with `extern "C"` flash callbacks: the cases
//! a C test cannot set up easily. One test function: the service instance is process-global.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::ffi::{c_int, c_void};
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use fwu_capi::*;
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::StateGeometry;
use fwu_shared::status::{
    PSA_ERROR_BAD_STATE, PSA_ERROR_DATA_CORRUPT, PSA_ERROR_INVALID_ARGUMENT,
    PSA_ERROR_STORAGE_FAILURE, PSA_SUCCESS,
};
use fwu_shared::{ImageVersion, State};
use fwu_sim_flash::{Geometry, SimFlash};

type Flash = SimFlash<SECTOR_SIZE, WRITE_SIZE>;
const S: u32 = SECTOR_SIZE as u32;

unsafe extern "C" fn read(ctx: *mut c_void, off: u32, data: *mut c_void, n: usize) -> c_int {
    // SAFETY: the test passes its flash as context; the adapter passes a valid buffer.
    let (f, buf) = unsafe {
        (
            &mut *ctx.cast::<Flash>(),
            core::slice::from_raw_parts_mut(data.cast::<u8>(), n),
        )
    };
    c_int::from(ReadNorFlash::read(f, off, buf).is_err())
}

unsafe extern "C" fn write(ctx: *mut c_void, off: u32, data: *const c_void, n: usize) -> c_int {
    // SAFETY: as in `read`.
    let (f, buf) = unsafe {
        (
            &mut *ctx.cast::<Flash>(),
            core::slice::from_raw_parts(data.cast::<u8>(), n),
        )
    };
    c_int::from(NorFlash::write(f, off, buf).is_err())
}

unsafe extern "C" fn erase(ctx: *mut c_void, off: u32) -> c_int {
    // SAFETY: as in `read`.
    let f = unsafe { &mut *ctx.cast::<Flash>() };
    c_int::from(NorFlash::erase(f, off, off + S).is_err())
}

unsafe extern "C" fn reset(_: *mut c_void) {}

fn health() -> (i32, FwuStateHealth) {
    let mut h = FwuStateHealth::default();
    // SAFETY: `h` is a valid out-parameter.
    let s = unsafe { fwu_state_health(&mut h) };
    (s, h)
}

fn state(c: u8) -> (i32, u8) {
    let mut info = ComponentInfo::default();
    // SAFETY: `info` is a valid out-parameter.
    let s = unsafe { psa_fwu_query(c, &mut info) };
    (s, info.state)
}

#[test]
fn a_corrupt_state_partition_is_reported_and_recovered_on_request() {
    let flash: *mut Flash = Box::into_raw(Box::new(Flash::new(Geometry {
        sectors: 23,
        erased: 0xff,
    })));
    let signer = Ed25519Signer::from_seed(&[3; 32]);
    let key = signer.public_key().0;
    let spec = ImageSpec::new(ImageVersion::new(1, 0, 0, 0));
    let mut image = vec![0u8; spec.image_len(4000)];
    build_image(&spec, &[0x33; 4000], &signer, &mut image).unwrap();
    // SAFETY: nothing else uses the flash yet.
    unsafe { &mut *flash }.load(6 * S as usize, &image);

    let slots = [FwuSlot {
        id: 0,
        sectors: 8,
        primary: 6 * S,
        secondary: 14 * S,
    }];
    let mut cfg = FwuConfig {
        flash: FwuFlash {
            context: flash.cast(),
            read: Some(read),
            write: Some(write),
            erase: Some(erase),
            capacity: 23 * S,
        },
        sector_size: S,
        log2_write_align: PSA_FWU_LOG2_WRITE_ALIGN,
        slots: slots.as_ptr(),
        slot_count: 1,
        state_offset: 0,
        state_size: 6 * S,
        keys: key.as_ptr(),
        key_count: 1,
        reset: Some(reset),
        reset_context: core::ptr::null_mut(),
        flags: 0,
        vendor_id: core::ptr::null(),
        class_id: core::ptr::null(),
    };
    // Where the boot log copies are: the carving the service and the bootloader use.
    let comps = [ComponentSlots {
        id: 0,
        primary: 6 * S,
        secondary: 14 * S,
        sectors: 8,
    }];
    let geo = StateGeometry::new(
        &Layout {
            sector_size: S,
            components: &comps,
            state: 0..6 * S,
        },
        WRITE_SIZE as u32,
    )
    .unwrap();
    let boot_log = geo.boot[0].base as usize..geo.boot[1].range().end as usize;

    // SAFETY (every call below): `cfg` and its arrays are valid; the callbacks accept `flash`.
    assert_eq!(fwu_recover_state(), PSA_ERROR_BAD_STATE, "not initialised");
    assert_eq!(unsafe { fwu_init(&cfg) }, PSA_SUCCESS);
    assert_eq!(
        health(),
        (
            PSA_SUCCESS,
            FwuStateHealth {
                boot: FWU_HEALTH_OK,
                catalog: FWU_HEALTH_FRESH
            }
        ),
        "a new device: the first boot record is written, the catalog is still blank"
    );
    assert_eq!(
        fwu_recover_state(),
        PSA_ERROR_BAD_STATE,
        "nothing is corrupt"
    );
    assert_eq!(
        unsafe { psa_fwu_start(0, core::ptr::null(), 0) },
        PSA_SUCCESS
    );
    assert_eq!(state(0), (PSA_SUCCESS, State::Writing as u8));

    // Unbind (a failed fwu_init drops the instance), then fill both copies of the boot log with
    // garbage: two faults, beyond automatic repair.
    assert_eq!(
        unsafe { fwu_init(core::ptr::null()) },
        PSA_ERROR_INVALID_ARGUMENT
    );
    {
        // SAFETY: the service is unbound: nothing else uses the flash.
        let cells = unsafe { &mut *flash };
        let junk: Vec<u8> = boot_log.clone().map(|i| (i * 89 % 253) as u8).collect();
        cells.load(boot_log.start, &junk);
    }
    let primary = unsafe { &*flash }.contents()[6 * S as usize..14 * S as usize].to_vec();

    // The service binds, reports the corruption and refuses changes.
    assert_eq!(unsafe { fwu_init(&cfg) }, PSA_SUCCESS);
    let mut info = ComponentInfo::default();
    assert_eq!(unsafe { psa_fwu_query(0, &mut info) }, PSA_SUCCESS);
    assert_eq!(
        (info.state, info.error),
        (State::Failed as u8, PSA_ERROR_DATA_CORRUPT)
    );
    assert_eq!(
        unsafe { psa_fwu_start(0, core::ptr::null(), 0) },
        PSA_ERROR_STORAGE_FAILURE
    );
    assert_eq!(psa_fwu_cancel(0), PSA_ERROR_STORAGE_FAILURE);
    assert_eq!(psa_fwu_install(), PSA_ERROR_STORAGE_FAILURE);
    let (status, h) = health();
    assert_eq!((status, h.boot), (PSA_SUCCESS, FWU_HEALTH_CORRUPT));
    assert_ne!(h.catalog, FWU_HEALTH_CORRUPT, "only the boot log was hit");
    // FWU_CONFIG_RECOVER_CORRUPT_STATE recovers at fwu_init.
    cfg.flags = FWU_CONFIG_RECOVER_CORRUPT_STATE;
    assert_eq!(unsafe { fwu_init(&cfg) }, PSA_SUCCESS);
    assert_eq!(health().1.boot, FWU_HEALTH_OK);
    assert_eq!(
        fwu_recover_state(),
        PSA_ERROR_BAD_STATE,
        "nothing is corrupt any more"
    );
    // Only the boot log was lost: the catalog kept the download in progress.
    assert_eq!(state(0), (PSA_SUCCESS, State::Writing as u8));
    assert_eq!(psa_fwu_cancel(0), PSA_SUCCESS);
    assert_eq!(psa_fwu_clean(0), PSA_SUCCESS);
    assert_eq!(
        &unsafe { &*flash }.contents()[6 * S as usize..14 * S as usize],
        &primary[..],
        "the active image is untouched"
    );
    // The device updates again.
    assert_eq!(
        unsafe { psa_fwu_start(0, core::ptr::null(), 0) },
        PSA_SUCCESS
    );
    assert_eq!(psa_fwu_cancel(0), PSA_SUCCESS);
    assert_eq!(psa_fwu_clean(0), PSA_SUCCESS);

    // fwu_recover_state() without the flag: the same corruption, recovered on request.
    cfg.flags = 0;
    assert_eq!(
        unsafe { fwu_init(core::ptr::null()) },
        PSA_ERROR_INVALID_ARGUMENT
    );
    {
        // SAFETY: the service is unbound: nothing else uses the flash.
        let cells = unsafe { &mut *flash };
        let junk: Vec<u8> = boot_log.clone().map(|i| (i * 31 % 251) as u8).collect();
        cells.load(boot_log.start, &junk);
    }
    assert_eq!(unsafe { fwu_init(&cfg) }, PSA_SUCCESS);
    assert_eq!(health().1.boot, FWU_HEALTH_CORRUPT);
    assert_eq!(state(0), (PSA_SUCCESS, State::Failed as u8));
    assert_eq!(fwu_recover_state(), PSA_SUCCESS);
    assert_eq!(health().1.boot, FWU_HEALTH_OK);
    assert_eq!(state(0), (PSA_SUCCESS, State::Ready as u8));
    assert_eq!(
        unsafe { psa_fwu_start(0, core::ptr::null(), 0) },
        PSA_SUCCESS
    );
    assert_eq!(
        &unsafe { &*flash }.contents()[6 * S as usize..14 * S as usize],
        &primary[..],
        "the active image is untouched"
    );
    // NULL out-parameters.
    // SAFETY: NULL is allowed.
    assert_eq!(
        unsafe { fwu_state_health(core::ptr::null_mut()) },
        PSA_ERROR_INVALID_ARGUMENT
    );

    assert_eq!(
        unsafe { fwu_init(core::ptr::null()) },
        PSA_ERROR_INVALID_ARGUMENT
    );
    assert_eq!(health(), (PSA_ERROR_BAD_STATE, FwuStateHealth::default()));
    // SAFETY: unbound: the last user of the flash is gone.
    drop(unsafe { Box::from_raw(flash) });
}
