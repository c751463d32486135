//! The one service instance behind the C functions, and the lock that serialises them.
//!
//! A C function first takes the lock with a compare-and-swap on [`BUSY`]. It never waits: if the
//! lock is held (a call from inside a flash or reset callback, from an interrupt, or from
//! another thread) the call returns `PSA_ERROR_CONNECTION_BUSY` and touches nothing. Holding the
//! lock is the only way to reach [`GLOBAL`] (through [`locked`]) or to write [`STORAGE`], so each
//! is accessed by one caller at a time and never aliased mutably.
//!
//! The service borrows its layout and keys (`Updater<'static, ...>`): they live in [`STORAGE`],
//! which is written only by [`Global::bind`] after it has dropped the previous instance, the
//! only holder of references into it.

use crate::flash::{CFlash, CReset};
use crate::MAX_KEYS;
use core::cell::UnsafeCell;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embedded_storage_async::nor_flash::ReadNorFlash;
use fwu_shared::image::{ImageIdentity, KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{StateError, StoredCounters, MAX_COMPONENTS};
use fwu_shared::version::BuildNumber;
use fwu_shared::Error;
use fwu_updater::{Config, InitError, Updater};

/// The service type the C functions drive.
pub(crate) type Service = Updater<'static, NoopRawMutex, CFlash, CReset, StoredCounters>;

/// A cell reachable only while the lock is held.
struct Exclusive<T>(UnsafeCell<T>);

// SAFETY: the contents are only reached through `locked` (which holds `BUSY`) or by
// `Global::bind` (which runs inside `locked`), so no two threads or re-entrant calls ever access
// them at the same time. The acquire/release pair on `BUSY` orders the accesses. The raw
// pointers inside (C callback contexts) are used from whichever thread calls, as documented in
// `fwu.h`.
unsafe impl<T> Sync for Exclusive<T> {}

/// Set while a C call runs.
static BUSY: AtomicBool = AtomicBool::new(false);

/// What the service instance borrows.
struct Storage {
    slots: [ComponentSlots; MAX_COMPONENTS],
    keys: [PublicKey; MAX_KEYS],
}

/// An unused slot entry.
pub(crate) const NO_SLOT: ComponentSlots = ComponentSlots {
    id: 0,
    primary: 0,
    secondary: 0,
    sectors: 0,
};

static STORAGE: Exclusive<Storage> = Exclusive(UnsafeCell::new(Storage {
    slots: [NO_SLOT; MAX_COMPONENTS],
    keys: [PublicKey([0; 32]); MAX_KEYS],
}));

/// Everything the lock protects.
pub(crate) struct Global {
    /// The service, once bound.
    pub(crate) service: Option<Service>,
    /// The simulated device of the host simulation.
    #[cfg(feature = "host-sim")]
    pub(crate) sim: Option<crate::sim::SimDevice>,
}

static GLOBAL: Exclusive<Global> = Exclusive(UnsafeCell::new(Global {
    service: None,
    #[cfg(feature = "host-sim")]
    sim: None,
}));

/// The lock was held by another call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Busy;

/// Releases [`BUSY`] when dropped.
struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        BUSY.store(false, Ordering::Release);
    }
}

/// Run `f` with exclusive access to the global state, or return [`Busy`] at once.
pub(crate) fn locked<R>(f: impl FnOnce(&mut Global) -> R) -> Result<R, Busy> {
    BUSY.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .map_err(|_| Busy)?;
    let _held = Held;
    // SAFETY: `BUSY` was false and is now ours until `_held` drops after `f` returns: this is the
    // only live reference to the contents of `GLOBAL` (see the `Sync` impl).
    let global = unsafe { &mut *GLOBAL.0.get() };
    Ok(f(global))
}

/// What the service is bound to.
pub(crate) struct Binding<'a> {
    /// The flash.
    pub(crate) flash: CFlash,
    /// The reset.
    pub(crate) reset: CReset,
    /// Component slots (copied, at most `MAX_COMPONENTS`).
    pub(crate) slots: &'a [ComponentSlots],
    /// The state partition.
    pub(crate) state: Range<u32>,
    /// Trusted keys (copied, at most `MAX_KEYS`).
    pub(crate) keys: &'a [PublicKey],
    /// The vendor and class UUIDs images must carry (PSA FWU 1.0 §4.3.1).
    pub(crate) identity: ImageIdentity,
    /// Version comparison policy.
    pub(crate) build_number: BuildNumber,
    /// Rebuild a state that is corrupt beyond automatic repair at start-up
    /// ([`Updater::recover_state`]) instead of starting in the corrupt mode.
    pub(crate) recover_corrupt: bool,
}

/// The PSA code `fwu_init` reports for a start-up failure.
fn init_error(e: InitError) -> Error {
    match e {
        InitError::Layout(_) | InitError::State(StateError::Layout) => Error::InvalidArgument,
        InitError::State(StateError::Flash | StateError::WriteFailed) => Error::StorageFailure,
        InitError::State(StateError::Corrupt) => Error::DataCorrupt,
    }
}

impl Global {
    /// Drop the service instance (and with it every reference into `STORAGE`).
    pub(crate) fn unbind(&mut self) {
        self.service = None;
    }

    /// Replace the service with one bound to `b`. On error the service stays unbound.
    ///
    /// The layout is validated against the flash ([`Layout::validate`]: geometry, alignment to
    /// the erase size, overlaps, the device's end, the state partition's size) before any flash
    /// callback runs: a layout error is `INVALID_ARGUMENT` with the flash untouched.
    pub(crate) fn bind(&mut self, b: Binding<'_>) -> Result<(), Error> {
        self.unbind();
        if b.slots.len() > MAX_COMPONENTS || b.keys.len() > MAX_KEYS {
            return Err(Error::InvalidArgument);
        }
        {
            // SAFETY: we run inside `locked` (we have `&mut Global`) and the only references
            // into `STORAGE` were held by the instance `unbind` just dropped, so this is the only
            // reference to it.
            let storage = unsafe { &mut *STORAGE.0.get() };
            for (dst, src) in storage.slots.iter_mut().zip(b.slots) {
                *dst = *src;
            }
            for (dst, src) in storage.keys.iter_mut().zip(b.keys) {
                *dst = *src;
            }
        }
        // SAFETY: from here until the next `bind`, which first drops the instance holding these
        // references, `STORAGE` is only read.
        let storage: &'static Storage = unsafe { &*STORAGE.0.get() };
        let layout = Layout {
            sector_size: crate::SECTOR_SIZE as u32,
            components: storage.slots.get(..b.slots.len()).unwrap_or(&[]),
            state: b.state,
        };
        // Explicitly here, not only inside `Updater::new`: nothing may be written to a flash
        // whose layout is wrong.
        let capacity = u64::try_from(b.flash.capacity()).unwrap_or(u64::MAX);
        layout
            .validate(
                capacity,
                crate::SECTOR_SIZE as u32,
                crate::WRITE_SIZE as u32,
            )
            .map_err(|_| Error::InvalidArgument)?;
        let config = Config {
            layout,
            keys: KeyRing::new(storage.keys.get(..b.keys.len()).unwrap_or(&[]))
                .with_identity(b.identity),
            build_number: b.build_number,
        };
        let service =
            block_on(Updater::new(b.flash, config, b.reset, StoredCounters)).map_err(init_error)?;
        if b.recover_corrupt && block_on(service.state_health())?.corrupt() {
            block_on(service.recover_state())?;
        }
        self.service = Some(service);
        Ok(())
    }
}
