//! The `repr(C)` types of `include/fwu/fwu.h` (the PSA types are `fwu_shared`'s).

use core::ffi::{c_int, c_void};
use fwu_shared::ComponentId;

/// `fwu_flash_read_fn`: read `size` bytes at `offset` into `data`; 0 on success.
pub type FlashReadFn = unsafe extern "C" fn(
    context: *mut c_void,
    offset: u32,
    data: *mut c_void,
    size: usize,
) -> c_int;
/// `fwu_flash_write_fn`: program `size` bytes at `offset` (both write-size aligned, target
/// erased); 0 on success.
pub type FlashWriteFn = unsafe extern "C" fn(
    context: *mut c_void,
    offset: u32,
    data: *const c_void,
    size: usize,
) -> c_int;
/// `fwu_flash_erase_fn`: erase the sector at `offset`; 0 on success.
pub type FlashEraseFn = unsafe extern "C" fn(context: *mut c_void, offset: u32) -> c_int;
/// `fwu_reset_fn`: reset the system.
pub type ResetFn = unsafe extern "C" fn(context: *mut c_void);

/// `fwu_flash_t`: the device's NOR flash as blocking callbacks.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FwuFlash {
    /// Passed to every callback.
    pub context: *mut c_void,
    /// Read callback (required: NULL is `None`).
    pub read: Option<FlashReadFn>,
    /// Program callback (required).
    pub write: Option<FlashWriteFn>,
    /// Sector erase callback (required).
    pub erase: Option<FlashEraseFn>,
    /// Device size in bytes.
    pub capacity: u32,
}

/// `fwu_slot_t`: one component's primary and secondary slots.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuSlot {
    /// Component id, `0..8`.
    pub id: ComponentId,
    /// Sectors in the primary slot.
    pub sectors: u16,
    /// Flash offset of the primary slot.
    pub primary: u32,
    /// Flash offset of the secondary slot (`sectors + 1` sectors).
    pub secondary: u32,
}

/// `fwu_config_t`: everything `fwu_init` binds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FwuConfig {
    /// The flash callbacks.
    pub flash: FwuFlash,
    /// Must equal [`crate::SECTOR_SIZE`].
    pub sector_size: u32,
    /// Must equal `log2(`[`crate::WRITE_SIZE`]`)`.
    pub log2_write_align: u32,
    /// `slot_count` component slots.
    pub slots: *const FwuSlot,
    /// `1..=8`.
    pub slot_count: usize,
    /// Start of the state partition.
    pub state_offset: u32,
    /// Size of the state partition.
    pub state_size: u32,
    /// `key_count * 32` bytes of raw Ed25519 public keys.
    pub keys: *const u8,
    /// `1..=`[`crate::MAX_KEYS`].
    pub key_count: usize,
    /// Reset callback (required).
    pub reset: Option<ResetFn>,
    /// Passed to `reset`.
    pub reset_context: *mut c_void,
    /// `FWU_CONFIG_*` bits.
    pub flags: u32,
    /// 16 bytes: the vendor UUID every image must carry (copied), or NULL: not checked.
    pub vendor_id: *const u8,
    /// 16 bytes: the image class UUID every image must carry (copied), or NULL: not checked.
    pub class_id: *const u8,
}

/// `FWU_CONFIG_COMPARE_BUILD_NUMBER`: build numbers take part in version comparisons.
pub const FWU_CONFIG_COMPARE_BUILD_NUMBER: u32 = 0x1;
/// `FWU_CONFIG_RECOVER_CORRUPT_STATE`: at `fwu_init`, rebuild a state that is corrupt beyond
/// automatic repair (`fwu_recover_state`) instead of starting in the corrupt mode.
pub const FWU_CONFIG_RECOVER_CORRUPT_STATE: u32 = 0x2;
/// Every defined `FWU_CONFIG_*` bit.
pub const FWU_CONFIG_ALL: u32 = FWU_CONFIG_COMPARE_BUILD_NUMBER | FWU_CONFIG_RECOVER_CORRUPT_STATE;

/// `FWU_HEALTH_UNKNOWN`: not a health; what `fwu_state_health` writes on error.
pub const FWU_HEALTH_UNKNOWN: u8 = 0;
/// `FWU_HEALTH_OK`: both copies of the store hold the current state.
pub const FWU_HEALTH_OK: u8 = 1;
/// `FWU_HEALTH_DEGRADED`: one copy lacks the current state; the state is intact and the next
/// write repairs the copy.
pub const FWU_HEALTH_DEGRADED: u8 = 2;
/// `FWU_HEALTH_FRESH`: the store holds nothing yet (a new device, or a store never written).
pub const FWU_HEALTH_FRESH: u8 = 3;
/// `FWU_HEALTH_CORRUPT`: neither copy holds a valid state and they are not blank: corrupt
/// beyond automatic repair (`fwu_recover_state`).
pub const FWU_HEALTH_CORRUPT: u8 = 4;

/// The `FWU_HEALTH_*` value of a store's health.
pub fn health_code(h: fwu_shared::state::Health) -> u8 {
    use fwu_shared::state::Health;
    match h {
        Health::Ok => FWU_HEALTH_OK,
        Health::Degraded => FWU_HEALTH_DEGRADED,
        Health::Fresh => FWU_HEALTH_FRESH,
        Health::Corrupt => FWU_HEALTH_CORRUPT,
    }
}

/// `fwu_state_health_t`: how each redundant store of the state partition was found.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwuStateHealth {
    /// The boot log (transaction table and security counter floors): an `FWU_HEALTH_*` value.
    pub boot: u8,
    /// The catalog (component records): an `FWU_HEALTH_*` value.
    pub catalog: u8,
}

// The C layouts on 32-bit targets (Cortex-M), checked by every embedded build; the host layouts
// are compared with the C compiler's by tests/header.rs.
#[cfg(target_pointer_width = "32")]
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<FwuFlash>() == 20);
    assert!(size_of::<FwuSlot>() == 12);
    assert!(size_of::<FwuConfig>() == 72);
    assert!(size_of::<FwuStateHealth>() == 2);
    assert!(offset_of!(FwuConfig, slots) == 28);
    assert!(offset_of!(FwuConfig, keys) == 44);
    assert!(offset_of!(FwuConfig, flags) == 60);
    assert!(offset_of!(FwuConfig, vendor_id) == 64);
    assert!(offset_of!(FwuConfig, class_id) == 68);
    assert!(size_of::<fwu_shared::ComponentInfo>() == 68);
    assert!(size_of::<fwu_shared::ImplInfo>() == 40);
    assert!(size_of::<fwu_shared::ImageVersion>() == 8);
};
