//! Anti-rollback counters kept outside the state partition.
//!
//! The security counter floor of a component is the highest of: its counter in every valid copy
//! of the boot record ([`super::BootLog::counter`]), the counter of the verified image that runs
//! (the bootloader stores it as the floor once that image is no longer on trial), and whatever a
//! [`SecurityCounters`] backend keeps outside the flash the state lives in (OTP fuses, a
//! hardware monotonic counter). The default backend, [`StoredCounters`], keeps nothing outside.
//!
//! Threat model of the default: it resists a rollback through the update API (a lower counter
//! is refused at `finish` and at boot) and any single fault of the flash, but not an attacker
//! who can rewrite the flash directly. A product that needs more supplies a backend.

use crate::ComponentId;

/// A backend could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterError;

/// Counters kept outside the state partition.
pub trait SecurityCounters {
    /// The floor the backend holds for `c` (0 if it holds none). An error never lowers the
    /// floor: the bootloader then installs nothing, and `finish` fails with
    /// `PSA_ERROR_STORAGE_FAILURE`.
    fn floor(&mut self, c: ComponentId) -> Result<u32, CounterError>;
    /// Raise the backend's floor of `c` to `value` (never lower it), once an `accept` that
    /// raised it is durable in the boot record.
    fn raise(&mut self, c: ComponentId, value: u32) -> Result<(), CounterError>;
}

/// No counters outside the state partition: the boot record's are the only stored ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoredCounters;

impl SecurityCounters for StoredCounters {
    fn floor(&mut self, _c: ComponentId) -> Result<u32, CounterError> {
        Ok(0)
    }

    fn raise(&mut self, _c: ComponentId, _value: u32) -> Result<(), CounterError> {
        Ok(())
    }
}
