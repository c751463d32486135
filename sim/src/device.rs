//! A simulated device: flash, layout, keys, images, and the two halves of fwu running on it.

use core::cell::{Ref, RefCell, RefMut};
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embedded_storage::nor_flash::{
    NorFlash as BlockingNorFlash, ReadNorFlash as BlockingReadNorFlash,
};
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use fwu_bootloader::{BootConfig, BootError, BootReport, Bootloader};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{BootLog, StoredCounters};
use fwu_shared::version::{BuildNumber, Dependency};
use fwu_shared::{ComponentId, ComponentInfo, Error, FwuResult, ImageVersion, Success};
use fwu_sim_flash::{FlashError, Geometry, SimFlash};
use fwu_updater::{Config, InitError, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};
use std::rc::Rc;

/// The board's reset hook in the simulator: it records the request; the scenario then reboots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RebootRecorder {
    /// Whether `request_reboot` asked for a reset.
    pub requested: bool,
}

impl ResetHook for RebootRecorder {
    fn reset(&mut self) {
        self.requested = true;
    }
}

/// A handle on a device's flash cells, as the application's flash driver: every operation
/// borrows the cells only for its own duration, so the simulator can inspect them between calls.
#[derive(Clone)]
pub struct FlashHandle<const S: usize, const W: usize>(Rc<RefCell<SimFlash<S, W>>>);

impl<const S: usize, const W: usize> ErrorType for FlashHandle<S, W> {
    type Error = FlashError;
}

impl<const S: usize, const W: usize> ReadNorFlash for FlashHandle<S, W> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        BlockingReadNorFlash::read(&mut *self.0.borrow_mut(), offset, bytes)
    }

    fn capacity(&self) -> usize {
        BlockingReadNorFlash::capacity(&*self.0.borrow())
    }
}

impl<const S: usize, const W: usize> NorFlash for FlashHandle<S, W> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = S;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        BlockingNorFlash::erase(&mut *self.0.borrow_mut(), from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        BlockingNorFlash::write(&mut *self.0.borrow_mut(), offset, bytes)
    }
}

/// The update service as the application sees it, over the device's flash.
pub type Service<const S: usize, const W: usize> =
    Updater<'static, NoopRawMutex, FlashHandle<S, W>, RebootRecorder, StoredCounters>;

/// The two-component layout the scenarios, the SMP tests and the SMP fuzz target share (4 KiB
/// sectors, 0x22000 bytes of flash, an 8-sector state partition): component 0 with 8 sectors,
/// component 1 with 4.
pub const TWO_COMPONENTS: [ComponentSlots; 2] = [
    ComponentSlots {
        id: 0,
        primary: 0x8000,
        secondary: 0x10000,
        sectors: 8,
    },
    ComponentSlots {
        id: 1,
        primary: 0x19000,
        secondary: 0x1d000,
        sectors: 4,
    },
];

/// The seed of the development signing key used by simulated devices.
pub const DEV_KEY_SEED: [u8; 32] = [0x5e; 32];

/// A simulated device with `S`-byte sectors and `W`-byte writes. Cloning it copies the cells
/// (a snapshot), not the handle.
pub struct Device<const S: usize, const W: usize> {
    cells: Rc<RefCell<SimFlash<S, W>>>,
    layout: Layout<'static>,
    keys: &'static [PublicKey],
}

impl<const S: usize, const W: usize> Clone for Device<S, W> {
    fn clone(&self) -> Self {
        Device {
            cells: Rc::new(RefCell::new(self.cells.borrow().clone())),
            layout: self.layout.clone(),
            keys: self.keys,
        }
    }
}

impl<const S: usize, const W: usize> Device<S, W> {
    /// A blank device of `sectors` sectors with the given component slots and a state partition
    /// of `state_sectors` at offset 0.
    pub fn new(sectors: usize, state_sectors: u32, components: &[ComponentSlots]) -> Self {
        let sector = u32::try_from(S).unwrap_or(u32::MAX);
        let components: &'static [ComponentSlots] =
            Box::leak(components.to_vec().into_boxed_slice());
        let keys: &'static [PublicKey] = Box::leak(Box::new([Self::signer().public_key()]));
        Device {
            cells: Rc::new(RefCell::new(SimFlash::new(Geometry {
                sectors,
                erased: 0xff,
            }))),
            layout: Layout {
                sector_size: sector,
                components,
                state: 0..state_sectors * sector,
            },
            keys,
        }
    }

    /// The signer whose key the device trusts.
    pub fn signer() -> Ed25519Signer {
        Ed25519Signer::from_seed(&DEV_KEY_SEED)
    }

    /// The keys the device trusts.
    pub fn keys(&self) -> &'static [PublicKey] {
        self.keys
    }

    /// The layout.
    pub fn layout(&self) -> &Layout<'static> {
        &self.layout
    }

    /// The slots of component `c` (panics for an unknown id: a scenario bug).
    pub fn slots(&self, c: ComponentId) -> ComponentSlots {
        *self
            .layout
            .component(c)
            .unwrap_or_else(|| panic!("no component {c}"))
    }

    /// The flash cells, for inspection.
    pub fn flash(&self) -> Ref<'_, SimFlash<S, W>> {
        self.cells.borrow()
    }

    /// The flash cells, for arming cuts, restoring power or factory programming.
    pub fn flash_mut(&self) -> RefMut<'_, SimFlash<S, W>> {
        self.cells.borrow_mut()
    }

    /// A signed image of `total` bytes with the given version, security counter and
    /// dependencies; the payload is derived from `seed` so different images differ everywhere.
    pub fn image(
        version: ImageVersion,
        total: usize,
        counter: u32,
        deps: &[Dependency],
        seed: u8,
    ) -> Vec<u8> {
        let mut spec = ImageSpec::new(version);
        spec.security_counter = Some(counter);
        spec.dependencies = deps;
        let overhead = spec.image_len(0);
        let payload: Vec<u8> = (0..total.saturating_sub(overhead))
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
            .collect();
        let mut out = vec![0u8; spec.image_len(payload.len())];
        build_image(&spec, &payload, &Self::signer(), &mut out)
            .unwrap_or_else(|e| panic!("build: {e:?}"));
        out
    }

    /// Factory-program `image` as component `c`'s active image.
    pub fn factory(&self, c: ComponentId, image: &[u8]) {
        let p = self.slots(c).primary as usize;
        self.flash_mut().load(p, image);
    }

    /// One boot: a freshly built bootloader over the cells.
    pub fn boot(&self) -> Result<BootReport, BootError> {
        let mut flash = self.flash_mut();
        let checked = self.layout.check_for(&*flash).map_err(BootError::Layout)?;
        let mut bootloader = Bootloader::new(
            checked,
            KeyRing::new(self.keys),
            BootConfig::default(),
            StoredCounters,
        );
        bootloader.boot(&mut *flash)
    }

    /// The update service, freshly built over the cells (as after the application starts).
    pub fn service(&self) -> Result<Service<S, W>, InitError> {
        let config = Config {
            layout: self.layout.clone(),
            keys: KeyRing::new(self.keys),
            build_number: BuildNumber::Ignore,
        };
        block_on(Updater::new(
            FlashHandle(self.cells.clone()),
            config,
            RebootRecorder::default(),
            StoredCounters,
        ))
    }

    /// The stored security counter floor of every component (the highest of both boot log
    /// copies), read without writing anything.
    pub fn counters(&self) -> Result<Vec<u32>, String> {
        let mut flash = self.flash_mut();
        let log =
            block_on(BootLog::open(&mut *flash, &self.layout)).map_err(|e| format!("{e:?}"))?;
        Ok(self
            .layout
            .components
            .iter()
            .map(|s| log.counter(s.id))
            .collect())
    }

    /// Whether `c`'s primary slot starts with exactly `image`.
    pub fn runs(&self, c: ComponentId, image: &[u8]) -> bool {
        let p = self.slots(c).primary as usize;
        self.flash().contents().get(p..p + image.len()) == Some(image)
    }
}

/// Download `image` into component `c` the way a client does: start, writes of
/// `PSA_FWU_MAX_WRITE_SIZE`, finish. Stops at the first error.
pub fn download<const S: usize, const W: usize>(
    svc: &Service<S, W>,
    c: ComponentId,
    image: &[u8],
) -> FwuResult {
    block_on(async {
        svc.start(c, None).await?;
        for (i, block) in image.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
            svc.write(c, i * PSA_FWU_MAX_WRITE_SIZE, block).await?;
        }
        svc.finish(c).await
    })
}

/// `query` without the async ceremony.
pub fn query<const S: usize, const W: usize>(
    svc: &Service<S, W>,
    c: ComponentId,
) -> Result<ComponentInfo, Error> {
    block_on(svc.query(c))
}

/// Run one global or per-component call synchronously.
pub fn call<Fut: core::future::Future<Output = FwuResult>>(f: Fut) -> FwuResult {
    block_on(f)
}

/// `Ok(Success::Done)`, for assertions.
pub const DONE: FwuResult = Ok(Success::Done);
/// `Ok(Success::Reboot)`, for assertions.
pub const REBOOT: FwuResult = Ok(Success::Reboot);
