//! PSA status codes (`psa_status_t`) and the Rust `Result` model that maps onto them 1:1.
//!
//! Values are those of `psa/error.h` and `psa/update.h` (digest §1.1, §1.2). Success is `>= 0`,
//! errors are negative; [`Success`] and [`Error`] keep every code distinct so that the C ABI can
//! return exactly what the spec names.

/// The C `psa_status_t`: `0` or positive is success, negative is an error.
pub type PsaStatus = i32;

/// `PSA_SUCCESS`.
pub const PSA_SUCCESS: PsaStatus = 0;
/// `PSA_SUCCESS_REBOOT`: success, a system reboot is needed to finish.
pub const PSA_SUCCESS_REBOOT: PsaStatus = 1;
/// `PSA_SUCCESS_RESTART`: success, a component restart is needed to finish.
pub const PSA_SUCCESS_RESTART: PsaStatus = 2;

/// The three success outcomes the FWU API distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Success {
    /// `PSA_SUCCESS`: the requested action is done.
    Done = PSA_SUCCESS,
    /// `PSA_SUCCESS_REBOOT`: done, and a system reboot must follow (install or rollback).
    Reboot = PSA_SUCCESS_REBOOT,
    /// `PSA_SUCCESS_RESTART`: done, and a component restart must follow.
    Restart = PSA_SUCCESS_RESTART,
}

macro_rules! psa_errors {
    ($( $(#[$doc:meta])* $variant:ident = $value:literal, $cname:ident; )*) => {
        /// Every PSA error code, with its exact `psa_status_t` value as discriminant.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum Error {
            $( $(#[$doc])* $variant = $value, )*
        }

        $( $(#[$doc])* pub const $cname: PsaStatus = $value; )*

        impl Error {
            /// Every error, in code order (useful for exhaustive tests and C header generation).
            pub const ALL: &'static [Error] = &[$(Error::$variant),*];

            /// The error for a negative `psa_status_t`, or `None` for a code PSA does not define.
            pub const fn from_code(code: PsaStatus) -> Option<Error> {
                match code {
                    $( $value => Some(Error::$variant), )*
                    _ => None,
                }
            }

            /// The C macro name of this error (`PSA_ERROR_...`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Error::$variant => stringify!($cname), )*
                }
            }
        }
    };
}

psa_errors! {
    /// `PSA_ERROR_PROGRAMMER_ERROR` (-129): the caller broke the API contract.
    ProgrammerError = -129, PSA_ERROR_PROGRAMMER_ERROR;
    /// `PSA_ERROR_CONNECTION_REFUSED` (-130).
    ConnectionRefused = -130, PSA_ERROR_CONNECTION_REFUSED;
    /// `PSA_ERROR_CONNECTION_BUSY` (-131).
    ConnectionBusy = -131, PSA_ERROR_CONNECTION_BUSY;
    /// `PSA_ERROR_GENERIC_ERROR` (-132).
    GenericError = -132, PSA_ERROR_GENERIC_ERROR;
    /// `PSA_ERROR_NOT_PERMITTED` (-133): not authorized, or a valid image that violates policy.
    NotPermitted = -133, PSA_ERROR_NOT_PERMITTED;
    /// `PSA_ERROR_NOT_SUPPORTED` (-134): an optional function is not implemented.
    NotSupported = -134, PSA_ERROR_NOT_SUPPORTED;
    /// `PSA_ERROR_INVALID_ARGUMENT` (-135): bad parameters, or an invalid image or manifest.
    InvalidArgument = -135, PSA_ERROR_INVALID_ARGUMENT;
    /// `PSA_ERROR_INVALID_HANDLE` (-136).
    InvalidHandle = -136, PSA_ERROR_INVALID_HANDLE;
    /// `PSA_ERROR_BAD_STATE` (-137): the operation is not allowed in the current state.
    BadState = -137, PSA_ERROR_BAD_STATE;
    /// `PSA_ERROR_BUFFER_TOO_SMALL` (-138).
    BufferTooSmall = -138, PSA_ERROR_BUFFER_TOO_SMALL;
    /// `PSA_ERROR_ALREADY_EXISTS` (-139).
    AlreadyExists = -139, PSA_ERROR_ALREADY_EXISTS;
    /// `PSA_ERROR_DOES_NOT_EXIST` (-140): unknown component id.
    DoesNotExist = -140, PSA_ERROR_DOES_NOT_EXIST;
    /// `PSA_ERROR_INSUFFICIENT_MEMORY` (-141).
    InsufficientMemory = -141, PSA_ERROR_INSUFFICIENT_MEMORY;
    /// `PSA_ERROR_INSUFFICIENT_STORAGE` (-142).
    InsufficientStorage = -142, PSA_ERROR_INSUFFICIENT_STORAGE;
    /// `PSA_ERROR_INSUFFICIENT_DATA` (-143).
    InsufficientData = -143, PSA_ERROR_INSUFFICIENT_DATA;
    /// `PSA_ERROR_SERVICE_FAILURE` (-144).
    ServiceFailure = -144, PSA_ERROR_SERVICE_FAILURE;
    /// `PSA_ERROR_COMMUNICATION_FAILURE` (-145).
    CommunicationFailure = -145, PSA_ERROR_COMMUNICATION_FAILURE;
    /// `PSA_ERROR_STORAGE_FAILURE` (-146): the flash failed.
    StorageFailure = -146, PSA_ERROR_STORAGE_FAILURE;
    /// `PSA_ERROR_HARDWARE_FAILURE` (-147).
    HardwareFailure = -147, PSA_ERROR_HARDWARE_FAILURE;
    /// `PSA_ERROR_INVALID_SIGNATURE` (-149): a signature or integrity check failed.
    InvalidSignature = -149, PSA_ERROR_INVALID_SIGNATURE;
    /// `PSA_ERROR_CORRUPTION_DETECTED` (-151).
    CorruptionDetected = -151, PSA_ERROR_CORRUPTION_DETECTED;
    /// `PSA_ERROR_DATA_CORRUPT` (-152).
    DataCorrupt = -152, PSA_ERROR_DATA_CORRUPT;
    /// `PSA_ERROR_DATA_INVALID` (-153).
    DataInvalid = -153, PSA_ERROR_DATA_INVALID;
    /// `PSA_ERROR_DEPENDENCY_NEEDED` (-156): another component must be updated first or together.
    DependencyNeeded = -156, PSA_ERROR_DEPENDENCY_NEEDED;
    /// `PSA_ERROR_FLASH_ABUSE` (-160): I/O is throttled to protect the flash.
    FlashAbuse = -160, PSA_ERROR_FLASH_ABUSE;
    /// `PSA_ERROR_INSUFFICIENT_POWER` (-161): not enough power to finish reliably.
    InsufficientPower = -161, PSA_ERROR_INSUFFICIENT_POWER;
}

impl Error {
    /// The `psa_status_t` value of this error.
    pub const fn code(self) -> PsaStatus {
        self as PsaStatus
    }
}

impl Success {
    /// The `psa_status_t` value of this success.
    pub const fn code(self) -> PsaStatus {
        self as PsaStatus
    }

    /// The success for a non-negative `psa_status_t`, or `None` for a code FWU does not define.
    pub const fn from_code(code: PsaStatus) -> Option<Success> {
        match code {
            PSA_SUCCESS => Some(Success::Done),
            PSA_SUCCESS_REBOOT => Some(Success::Reboot),
            PSA_SUCCESS_RESTART => Some(Success::Restart),
            _ => None,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// The result of an FWU operation: a success variant or a PSA error.
pub type FwuResult = Result<Success, Error>;

/// Collapse a Rust result into the C `psa_status_t`.
pub const fn to_status(result: FwuResult) -> PsaStatus {
    match result {
        Ok(s) => s.code(),
        Err(e) => e.code(),
    }
}

/// Expand a C `psa_status_t` into the Rust model; an undefined code is `Err(code)`.
pub const fn from_status(code: PsaStatus) -> Result<FwuResult, PsaStatus> {
    if code >= 0 {
        match Success::from_code(code) {
            Some(s) => Ok(Ok(s)),
            None => Err(code),
        }
    } else {
        match Error::from_code(code) {
            Some(e) => Ok(Err(e)),
            None => Err(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fwu_specific_codes_have_spec_values() {
        assert_eq!(PSA_SUCCESS, 0);
        assert_eq!(PSA_SUCCESS_REBOOT, 1);
        assert_eq!(PSA_SUCCESS_RESTART, 2);
        assert_eq!(PSA_ERROR_DEPENDENCY_NEEDED, -156);
        assert_eq!(PSA_ERROR_FLASH_ABUSE, -160);
        assert_eq!(PSA_ERROR_INSUFFICIENT_POWER, -161);
    }

    #[test]
    fn generic_codes_have_spec_values() {
        let expected = [
            (Error::NotPermitted, -133),
            (Error::NotSupported, -134),
            (Error::InvalidArgument, -135),
            (Error::BadState, -137),
            (Error::DoesNotExist, -140),
            (Error::InsufficientMemory, -141),
            (Error::InsufficientStorage, -142),
            (Error::CommunicationFailure, -145),
            (Error::StorageFailure, -146),
            (Error::InvalidSignature, -149),
            (Error::ProgrammerError, -129),
            (Error::GenericError, -132),
            (Error::DataCorrupt, -152),
        ];
        for (e, v) in expected {
            assert_eq!(e.code(), v, "{e:?}");
        }
    }

    #[test]
    fn every_code_round_trips_one_to_one() {
        let mut seen = std::collections::BTreeSet::new();
        for &e in Error::ALL {
            assert!(e.code() < 0);
            assert!(seen.insert(e.code()), "duplicate code {}", e.code());
            assert_eq!(Error::from_code(e.code()), Some(e));
            assert_eq!(from_status(to_status(Err(e))), Ok(Err(e)));
            assert!(e.name().starts_with("PSA_ERROR_"));
        }
        for s in [Success::Done, Success::Reboot, Success::Restart] {
            assert_eq!(from_status(to_status(Ok(s))), Ok(Ok(s)));
        }
        assert_eq!(from_status(3), Err(3));
        assert_eq!(from_status(-1), Err(-1));
        assert_eq!(from_status(-155), Err(-155));
    }
}
