//! `fwu-updater`: the update service of fwu, an async implementation of the
//! **PSA Certified Firmware Update API 1.0** for the application side of an MCUboot-format
//! device.
//!
//! It implements the *complete* model of the API (digest §3.2): a reboot is required to
//! install, new images run on trial until accepted, and staging is **non-volatile** (WRITING,
//! CANDIDATE, FAILED and UPDATED survive a reset; a download resumes from a durable checkpoint).
//! Everything persisted follows the on-flash contract (`docs/on-flash-contract.md`) shared with
//! the bootloader through [`fwu_shared::state`]; the bootloader moves the STAGED, TRIAL and
//! REJECTED phases at boot.
//!
//! `no_std`, no heap, no panics; every method takes `&self`, so one [`Updater`] in a `static`
//! (or behind a `&'static`) serves any number of embassy tasks. An internal
//! [`embassy_sync::mutex::Mutex`] serialises the calls (one call runs at a time, in no
//! guaranteed order: the mutex is not fair, so a task should await its data source between
//! calls rather than call back to back in a tight loop).
//!
//! # Mapping to the C API
//!
//! | C | Rust |
//! |---|---|
//! | `psa_fwu_query` | [`Updater::query`] |
//! | `psa_fwu_start` | [`Updater::start`] (bundled manifests only: a detached manifest is `INVALID_ARGUMENT`) |
//! | `psa_fwu_write` | [`Updater::write`] |
//! | `psa_fwu_finish` | [`Updater::finish`] (authenticates the image, checks anti-rollback and downgrade) |
//! | `psa_fwu_cancel` | [`Updater::cancel`] (no erase: cheap) |
//! | `psa_fwu_clean` | [`Updater::clean`] (the only place that erases a whole slot) |
//! | `psa_fwu_install` | [`Updater::install`] (checks dependencies, then one record write; `PSA_SUCCESS_REBOOT`) |
//! | `psa_fwu_request_reboot` | [`Updater::request_reboot`] (calls the board's [`ResetHook`]) |
//! | `psa_fwu_reject` | [`Updater::reject`] |
//! | `psa_fwu_accept` | [`Updater::accept`] (security counters rise only now) |
//! | `PSA_FWU_MAX_WRITE_SIZE` | [`PSA_FWU_MAX_WRITE_SIZE`] |
//! | `PSA_FWU_LOG2_WRITE_ALIGN` | [`log2_write_align`] (`log2` of the flash write size) |
//!
//! Status codes are [`FwuResult`] = `Result<Success, Error>`, one-to-one with `psa_status_t`.
//!
//! # Implementation choices the spec leaves open
//!
//! * **Component information**: `version` is the version in the *active* (primary) slot's header
//!   as read at start-up; `max_size` is the primary slot size; `flags` is 0 (non-volatile staging,
//!   no encryption); `location` is the flash offset of the primary slot; `impl_` carries the
//!   resume offset of a WRITING download and the size and SHA-256 of the verified staged image
//!   (from CANDIDATE on) — see [`fwu_shared::ImplInfo`].
//! * **Writes**: image offset `o` goes to flash at `staging_offset + o` (one sector into the
//!   secondary slot). Sectors are erased lazily, the first time a block lands in them (never
//!   after `clean`, which leaves the slot known-erased). A block re-sent over identical bytes
//!   succeeds without programming (idempotent resume); a block over *different* data is
//!   `INVALID_ARGUMENT`. An unaligned final block is padded with `0xFF`. Erased flash must read
//!   as `0xFF` (NOR).
//! * **Resumable download**: each time the contiguous prefix written from offset 0 crosses a
//!   sector boundary it is checkpointed (one record write per sector). After a reset, or after
//!   a call that failed or was cancelled half-way, the download resumes from that checkpoint:
//!   `query` reports it in `impl_.resume_offset`, and sectors from it on are erased again on
//!   their first write. **A client that sees any error from `write`, or that dropped a `write`
//!   future, should query and re-send from `impl_.resume_offset`.**
//! * **Verification**: `finish` authenticates the staged image (SHA-256 and Ed25519 against
//!   the built-in keys) and applies the policy: a security counter below the stored one, or a
//!   version below the active one, is `NOT_PERMITTED`. Failures move the component to FAILED
//!   with the error code in `info.error`. The bootloader verifies again at boot.
//! * **Errors that are not in the spec's lists**: a flash or state-store failure is
//!   `STORAGE_FAILURE` from any function that touches flash, including `cancel` (digest A10);
//!   the durable state is then either unchanged or in a state the next call resolves.
//! * **Transaction phases the application never sees** (`Installing`, `Reverting`): they report
//!   STAGED and REJECTED as the contract says, but `reject` refuses to touch them
//!   (`BAD_STATE`): only the bootloader may finish a swap it started.
//!
//! # Cancellation
//!
//! Every future may be dropped at any `.await` (embassy `select`, timeouts). The durable state
//! is always one of the committed record versions, and the session state kept in RAM is only
//! trusted when the last flash-modifying call ran to completion: otherwise the next call
//! falls back to the durable checkpoint, exactly as after a reset.
//!
//! # Faults in the persisted state
//!
//! The state lives in two redundant stores (`docs/on-flash-contract.md`): the boot log (the
//! transaction table, shared with the bootloader) and the catalog (component records), each in
//! two copies, plus a checkpoint map of download resume points. A single fault of the flash at
//! rest — a flipped bit, a corrupt word, an erased or garbage sector — is masked by the other
//! copy and repaired by the next write; [`Updater::state_health`] tells how each store was
//! found.
//!
//! If both copies of a store are bad, nothing is reformatted silently: [`Updater::new`] still
//! succeeds, every component reports FAILED with `PSA_ERROR_DATA_CORRUPT` in
//! [`Updater::query`], and every change returns `PSA_ERROR_STORAGE_FAILURE` and writes
//! nothing. [`Updater::recover_state`] then rebuilds each corrupt store from what verifies on
//! flash (keeping the highest security counters any readable record showed and the verified
//! active images' counters as floors) and never touches a primary slot: the active firmware keeps
//! running. The bootloader, meanwhile, boots only images that verify and installs nothing.
//!
//! # Overhead
//!
//! `cargo run --release -p fwu-updater --example overhead` prints the size of the service and of
//! each call's future, and the flash operations of a 64 KiB download (slot and state store).
//!
//! # Example
//!
//! ```
//! use embassy_futures::{block_on, join::join};
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
//! use fwu_shared::image::KeyRing;
//! use fwu_shared::layout::{ComponentSlots, Layout};
//! use fwu_shared::state::StoredCounters;
//! use fwu_shared::version::BuildNumber;
//! use fwu_shared::{Error, ImageVersion, State, Success};
//! use fwu_updater::{Config, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};
//!
//! struct Board;
//! impl ResetHook for Board {
//!     fn reset(&mut self) { /* cortex_m::peripheral::SCB::sys_reset() on hardware */ }
//! }
//!
//! static SLOTS: [ComponentSlots; 1] =
//!     [ComponentSlots { id: 0, primary: 0x6000, secondary: 0xe000, sectors: 8 }];
//!
//! // A signed image, as `fwu-tool sign` would produce it.
//! let signer = Ed25519Signer::from_seed(&[7; 32]);
//! let keys = [signer.public_key()];
//! let mut image = vec![0u8; 3000];
//! let len = build_image(&ImageSpec::new(ImageVersion::new(1, 1, 0, 0)), &[0x5a; 2000], &signer, &mut image)
//!     .unwrap()
//!     .len;
//! image.truncate(len);
//!
//! let flash = fwu_sim_flash::SimFlash::<4096, 4>::new(fwu_sim_flash::Geometry { sectors: 23, erased: 0xff });
//! let config = Config {
//!     layout: Layout { sector_size: 4096, components: &SLOTS, state: 0..0x6000 },
//!     keys: KeyRing::new(&keys),
//!     build_number: BuildNumber::Ignore,
//! };
//!
//! block_on(async {
//!     let updater: Updater<'_, CriticalSectionRawMutex, _, _> =
//!         Updater::new(flash, config, Board, StoredCounters).await.unwrap();
//!
//!     // The update client: download, verify, install, reboot.
//!     let client = async {
//!         updater.start(0, None).await?;
//!         for (i, block) in image.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
//!             updater.write(0, i * PSA_FWU_MAX_WRITE_SIZE, block).await?;
//!         }
//!         updater.finish(0).await?;
//!         assert_eq!(updater.install().await?, Success::Reboot);
//!         updater.request_reboot().await
//!     };
//!     // Another task may query at the same time: calls are serialised.
//!     let monitor = async { updater.query(0).await.map(|info| info.state) };
//!     let (update, seen) = join(client, monitor).await;
//!     assert_eq!(update, Ok(Success::Done));
//!     assert!(seen.is_ok());
//!     assert_eq!(updater.query(0).await.unwrap().state, State::Staged as u8);
//!     assert_eq!(updater.query(9).await, Err(Error::DoesNotExist));
//! });
//! ```
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

mod service;

pub use fwu_shared;
pub use fwu_shared::state::{Health, SecurityCounters, StateError, StoredCounters};
pub use fwu_shared::{ComponentId, ComponentInfo, Error, FwuResult, PsaStatus, State, Success};
pub use service::{Config, InitError, ResetHook, StateHealth, Updater};

use embedded_storage_async::nor_flash::NorFlash;

/// `PSA_FWU_MAX_WRITE_SIZE`: the largest block [`Updater::write`] accepts.
///
/// A multiple of every supported flash write size (4 to 32 bytes), as digest §1.9 requires.
pub const PSA_FWU_MAX_WRITE_SIZE: usize = 1024;

/// `PSA_FWU_LOG2_WRITE_ALIGN` for a flash type: `log2(F::WRITE_SIZE)`.
///
/// Image offsets passed to [`Updater::write`] must be multiples of `1 << log2_write_align::<F>()`.
pub const fn log2_write_align<F: NorFlash>() -> u32 {
    F::WRITE_SIZE.trailing_zeros()
}
