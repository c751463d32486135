//! What the SMP server needs from the update service: the PSA calls and two views of the
//! images (the active one's digest, the staged one's description). Implemented for
//! [`fwu_updater::Updater`]; a trait so that the protocol code is written once for any
//! mutex, flash, reset hook and counter backend.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::state::{SecurityCounters, StagedImage};
use fwu_updater::{ComponentId, ComponentInfo, Error, FwuResult, ResetHook, Updater};

/// The update service as the SMP server drives it (PSA FWU 1.0 semantics).
#[allow(async_fn_in_trait)]
pub trait UpdateService {
    /// The flash write size: image offsets of a write must be multiples of it.
    const WRITE_ALIGN: usize;
    /// `psa_fwu_query`.
    async fn query(&self, c: ComponentId) -> Result<ComponentInfo, Error>;
    /// The digest of the active image (its hash TLV), `None` if the slot holds no image.
    async fn active_digest(&self, c: ComponentId) -> Result<Option<[u8; 32]>, Error>;
    /// The verified image in the second slot (CANDIDATE on).
    async fn staged_image(&self, c: ComponentId) -> Result<Option<StagedImage>, Error>;
    /// `psa_fwu_start` with the bundled manifest.
    async fn start(&self, c: ComponentId) -> FwuResult;
    /// `psa_fwu_write`.
    async fn write(&self, c: ComponentId, offset: usize, block: &[u8]) -> FwuResult;
    /// `psa_fwu_finish`.
    async fn finish(&self, c: ComponentId) -> FwuResult;
    /// `psa_fwu_cancel`.
    async fn cancel(&self, c: ComponentId) -> FwuResult;
    /// `psa_fwu_clean`.
    async fn clean(&self, c: ComponentId) -> FwuResult;
    /// `psa_fwu_install`.
    async fn install(&self) -> FwuResult;
    /// `psa_fwu_accept`.
    async fn accept(&self) -> FwuResult;
    /// `psa_fwu_request_reboot`.
    async fn request_reboot(&self) -> FwuResult;
}

impl<M, F, R, C> UpdateService for Updater<'_, M, F, R, C>
where
    M: RawMutex,
    F: NorFlash,
    R: ResetHook,
    C: SecurityCounters,
{
    const WRITE_ALIGN: usize = F::WRITE_SIZE;

    async fn query(&self, c: ComponentId) -> Result<ComponentInfo, Error> {
        Updater::query(self, c).await
    }
    async fn active_digest(&self, c: ComponentId) -> Result<Option<[u8; 32]>, Error> {
        Updater::active_digest(self, c).await
    }
    async fn staged_image(&self, c: ComponentId) -> Result<Option<StagedImage>, Error> {
        Updater::staged_image(self, c).await
    }
    async fn start(&self, c: ComponentId) -> FwuResult {
        Updater::start(self, c, None).await
    }
    async fn write(&self, c: ComponentId, offset: usize, block: &[u8]) -> FwuResult {
        Updater::write(self, c, offset, block).await
    }
    async fn finish(&self, c: ComponentId) -> FwuResult {
        Updater::finish(self, c).await
    }
    async fn cancel(&self, c: ComponentId) -> FwuResult {
        Updater::cancel(self, c).await
    }
    async fn clean(&self, c: ComponentId) -> FwuResult {
        Updater::clean(self, c).await
    }
    async fn install(&self) -> FwuResult {
        Updater::install(self).await
    }
    async fn accept(&self) -> FwuResult {
        Updater::accept(self).await
    }
    async fn request_reboot(&self) -> FwuResult {
        Updater::request_reboot(self).await
    }
}
