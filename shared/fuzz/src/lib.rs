//! Support code shared by the fuzz targets of fwu (`fuzz_targets/`): input decoding, the small
//! layouts, the signed images and the verification oracle, an address-checking flash, and the
//! painter that turns fuzz input into flash contents.
#![allow(clippy::missing_panics_doc)]

pub mod flash;
pub mod images;
pub mod input;
pub mod inspect;
pub mod layout;
pub mod paint;

/// Whether `FWU_FUZZ_TRACE` is set: the targets then print what they do (to replay a crash
/// input and read its story).
pub fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FWU_FUZZ_TRACE").is_some())
}

/// Print when tracing.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::tracing() {
            eprintln!($($arg)*);
        }
    };
}
