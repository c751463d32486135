//! `fwu-tool`: the host side of fwu images, compatible with MCUboot's `imgtool` 2.5.0.
//!
//! * [`keys`]: Ed25519 key files (PKCS#8 / SPKI PEM) as imgtool writes and reads them;
//! * [`sign`]: `imgtool sign` semantics, byte-identical output for the same key and options;
//! * [`verify`]: authentication through `fwu_shared`'s scanner and key ring;
//! * [`info`]: a lenient description of any image (header, TLVs, trailer), as text or JSON;
//! * [`getpub`]: public key export (Rust source for the built-in key list, PEM, raw);
//! * [`parse`] and [`trailer`]: imgtool's command-line syntax and trailer layout;
//! * [`uuid`]: the vendor and class UUIDs of `--vid`/`--cid` (raw, or version 5 from a name).
//!
//! The binary `fwu-tool` is a thin command-line front end; other crates' tests can sign
//! images directly with [`sign::sign_image`].

pub mod der;
pub mod getpub;
pub mod hex;
pub mod info;
pub mod keys;
pub mod parse;
pub mod sign;
pub mod trailer;
pub mod uuid;
pub mod verify;

use fwu_shared::image::ImageError;
use keys::{KeyError, KeyFile, SigningKey};
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// A failed tool operation; its `Display` is one line naming the file and the cause.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read or written.
    Io {
        /// What was being done ("read key file", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A key file is unusable.
    Key {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: KeyError,
    },
    /// `keygen` refuses to overwrite a file.
    Exists(PathBuf),
    /// Intel HEX input or output (imgtool switches format on the `.hex` extension).
    HexUnsupported(PathBuf),
    /// Signing failed.
    Sign(sign::SignError),
    /// The image does not verify.
    Verify(ImageError),
    /// The image is authentic but its vendor or class UUID is missing or differs from the one
    /// asked for ([`ImageError::WrongDevice`]); the detail says which.
    WrongDevice(String),
    /// A `--vid`/`--cid` value cannot be turned into a UUID.
    Identity(uuid::UuidError),
    /// The file cannot be described as an image.
    Info(info::InfoError),
    /// Generating a key failed.
    Keygen(KeyError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} '{}': {source}", path.display()),
            Error::Key { path, source } => write!(f, "key file '{}': {source}", path.display()),
            Error::Exists(path) => write!(
                f,
                "'{}' already exists; refusing to overwrite it",
                path.display()
            ),
            Error::HexUnsupported(path) => write!(
                f,
                "'{}': Intel HEX files are not supported, use raw binaries",
                path.display()
            ),
            Error::Sign(e) => write!(f, "{e}"),
            Error::Verify(e) => write!(f, "verification failed: {e}"),
            Error::WrongDevice(detail) => write!(
                f,
                "verification failed: {}: {detail}",
                ImageError::WrongDevice
            ),
            Error::Identity(e) => write!(f, "{e}"),
            Error::Info(e) => write!(f, "{e}"),
            Error::Keygen(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Key { source, .. } => Some(source),
            Error::Sign(e) => Some(e),
            Error::Identity(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sign::SignError> for Error {
    fn from(e: sign::SignError) -> Self {
        Error::Sign(e)
    }
}

/// Read a whole file, naming it in the error.
pub fn read_file(path: &Path, action: &'static str) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    })
}

/// Write a whole file (replacing it), naming it in the error.
pub fn write_file(path: &Path, bytes: &[u8], action: &'static str) -> Result<(), Error> {
    fs::write(path, bytes).map_err(|source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    })
}

/// Load a PEM key file (private or public).
pub fn load_key(path: &Path) -> Result<KeyFile, Error> {
    let bytes = read_file(path, "read key file")?;
    KeyFile::from_pem(&String::from_utf8_lossy(&bytes)).map_err(|source| Error::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// Load a private key file (a public key is refused).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, Error> {
    load_key(path)?
        .into_signing_key()
        .map_err(|source| Error::Key {
            path: path.to_path_buf(),
            source,
        })
}

/// Generate a key and write it to `path` as PKCS#8 PEM; never overwrites an existing file.
/// On Unix the file is created readable by its owner only.
pub fn keygen(path: &Path) -> Result<SigningKey, Error> {
    let key = SigningKey::generate().map_err(Error::Keygen)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let io_err = |source: io::Error| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists(path.to_path_buf())
        } else {
            Error::Io {
                action: "write key file",
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let mut file = options.open(path).map_err(io_err)?;
    file.write_all(key.to_pem().as_bytes()).map_err(io_err)?;
    Ok(key)
}

/// Refuse a path that imgtool would treat as Intel HEX.
pub fn reject_hex(path: &Path) -> Result<(), Error> {
    let is_hex = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hex"));
    if is_hex {
        Err(Error::HexUnsupported(path.to_path_buf()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_loadable_key_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = keygen(&path).unwrap();
        assert_eq!(load_signing_key(&path).unwrap(), key);
        let before = fs::read(&path).unwrap();
        assert!(matches!(keygen(&path), Err(Error::Exists(_))));
        assert_eq!(fs::read(&path).unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Two generated keys differ (the random source is used).
        let other = keygen(&dir.path().join("k2.pem")).unwrap();
        assert_ne!(other, key);
    }

    #[test]
    fn errors_name_the_file_on_one_line() {
        let e = load_key(Path::new("/nonexistent/key.pem")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("cannot read key file '/nonexistent/key.pem': "));
        assert!(!msg.contains('\n'));
        assert!(reject_hex(Path::new("a.HEX")).is_err());
        assert!(reject_hex(Path::new("a.bin")).is_ok());
    }
}
