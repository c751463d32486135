//! Ed25519 key files in the exact formats `imgtool keygen -t ed25519` writes and reads:
//! unencrypted PKCS#8 private keys (`-----BEGIN PRIVATE KEY-----`, RFC 8410) and
//! SubjectPublicKeyInfo public keys (`-----BEGIN PUBLIC KEY-----`).
//!
//! Anything else (encrypted keys, RSA or EC keys, malformed base64 or DER) is refused with a
//! [`KeyError`] that says what was found.

use crate::der::{self, tag, Der, DerError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fwu_shared::image::build::{Ed25519Signer, Signer};
use fwu_shared::image::PublicKey;
use std::fmt;

/// DER prefix of an imgtool/OpenSSL Ed25519 PKCS#8 v1 private key; the 32-byte seed follows.
pub const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// PEM label of a PKCS#8 private key.
pub const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// PEM label of a SubjectPublicKeyInfo public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// Why a key file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No `-----BEGIN ...-----` line.
    NoPem,
    /// A BEGIN line without its END line.
    UnterminatedPem(String),
    /// A password-protected key.
    Encrypted,
    /// A key for another algorithm (the algorithm is named).
    NotEd25519(String),
    /// A PEM block that holds no key we know.
    UnsupportedPem(String),
    /// The PEM body is not valid base64.
    Base64(String),
    /// The DER structure is malformed.
    Der(String),
    /// The PKCS#8 file embeds a public key that does not belong to its private key.
    PublicKeyMismatch,
    /// A private key was needed but the file holds only a public key.
    PublicOnly,
    /// The operating system's random source failed.
    Random(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NoPem => write!(
                f,
                "no PEM block found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN PUBLIC KEY-----)"
            ),
            KeyError::UnterminatedPem(label) => {
                write!(f, "PEM block \"{label}\" has no -----END {label}----- line")
            }
            KeyError::Encrypted => write!(
                f,
                "encrypted (password-protected) keys are not supported; export the key without a password"
            ),
            KeyError::NotEd25519(alg) => {
                write!(f, "not an Ed25519 key: {alg}; fwu signs with Ed25519 only")
            }
            KeyError::UnsupportedPem(label) => write!(
                f,
                "unsupported PEM block \"{label}\" (expected PRIVATE KEY or PUBLIC KEY)"
            ),
            KeyError::Base64(e) => write!(f, "malformed base64 in PEM body: {e}"),
            KeyError::Der(e) => write!(f, "malformed key DER: {e}"),
            KeyError::PublicKeyMismatch => write!(
                f,
                "the public key embedded in the PKCS#8 file does not match its private key"
            ),
            KeyError::PublicOnly => write!(
                f,
                "this is a public key; signing needs the private key (-----BEGIN PRIVATE KEY-----)"
            ),
            KeyError::Random(e) => write!(f, "cannot generate random key material: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<DerError> for KeyError {
    fn from(e: DerError) -> Self {
        KeyError::Der(e.to_string())
    }
}

/// An Ed25519 private key (its 32-byte seed).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    seed: [u8; 32],
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key from its 32-byte seed (the RFC 8032 private key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey { seed }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SigningKey { seed })
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// A signer for `fwu_shared::image::build`.
    pub fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::from_seed(&self.seed)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.signer().public_key()
    }

    /// The 48-byte PKCS#8 v1 DER encoding, as imgtool and OpenSSL write it.
    pub fn to_pkcs8_der(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        let (prefix, seed) = out.split_at_mut(ED25519_PKCS8_PREFIX.len());
        prefix.copy_from_slice(&ED25519_PKCS8_PREFIX);
        seed.copy_from_slice(&self.seed);
        out
    }

    /// The private key file content (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> String {
        pem_encode(PRIVATE_KEY_LABEL, &self.to_pkcs8_der())
    }
}

/// The content of a key file: a private key (which also gives the public key) or a public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFile {
    /// A PKCS#8 private key.
    Private(SigningKey),
    /// A SubjectPublicKeyInfo public key.
    Public(PublicKey),
}

impl KeyFile {
    /// Parse a PEM key file (the first PEM block decides).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            PRIVATE_KEY_LABEL => parse_pkcs8(&der).map(KeyFile::Private),
            PUBLIC_KEY_LABEL => parse_spki(&der).map(KeyFile::Public),
            _ => Err(KeyError::UnsupportedPem(label)),
        }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            KeyFile::Private(k) => k.public_key(),
            KeyFile::Public(p) => *p,
        }
    }

    /// The private key, or [`KeyError::PublicOnly`].
    pub fn into_signing_key(self) -> Result<SigningKey, KeyError> {
        match self {
            KeyFile::Private(k) => Ok(k),
            KeyFile::Public(_) => Err(KeyError::PublicOnly),
        }
    }
}

/// The public key file content (`-----BEGIN PUBLIC KEY-----`), byte-identical to
/// `imgtool getpub -e pem`.
pub fn public_key_pem(key: &PublicKey) -> String {
    pem_encode(PUBLIC_KEY_LABEL, &key.spki_der())
}

/// PEM-encode `der` under `label`, base64 in 64-character lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, after) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = after;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decode the first PEM block of `text`: `(label, DER bytes)`. Labels of keys we cannot use
/// are refused here with a precise error.
pub fn pem_decode(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| {
            l.strip_prefix("-----BEGIN ")
                .and_then(|r| r.strip_suffix("-----"))
        })
        .ok_or(KeyError::NoPem)?
        .to_string();
    classify_label(&label)?;
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut terminated = false;
    for line in lines {
        if line == end {
            terminated = true;
            break;
        }
        if line.contains(':') {
            // RFC 1421 headers only appear in legacy (possibly encrypted) PEM.
            if line.contains("ENCRYPTED") {
                return Err(KeyError::Encrypted);
            }
            continue;
        }
        body.push_str(line);
    }
    if !terminated {
        return Err(KeyError::UnterminatedPem(label));
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| KeyError::Base64(e.to_string()))?;
    Ok((label, der))
}

/// Refuse PEM labels that can never hold a usable key, naming what they are.
fn classify_label(label: &str) -> Result<(), KeyError> {
    match label {
        PRIVATE_KEY_LABEL | PUBLIC_KEY_LABEL => Ok(()),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => Err(KeyError::NotEd25519("RSA".into())),
        "EC PRIVATE KEY" | "EC PARAMETERS" => Err(KeyError::NotEd25519("EC".into())),
        "DSA PRIVATE KEY" => Err(KeyError::NotEd25519("DSA".into())),
        other => Err(KeyError::UnsupportedPem(other.to_string())),
    }
}

/// Check an AlgorithmIdentifier: it must be Ed25519 with absent parameters (RFC 8410).
fn check_algorithm(alg: &[u8]) -> Result<(), KeyError> {
    let mut d = Der::new(alg);
    let oid = d.read(tag::OID)?;
    if oid != der::OID_ED25519 {
        return Err(KeyError::NotEd25519(der::algorithm_name(oid)));
    }
    d.finish()?;
    Ok(())
}

/// Parse a PKCS#8 (v1, or v2 with an embedded public key) Ed25519 private key.
pub fn parse_pkcs8(der_bytes: &[u8]) -> Result<SigningKey, KeyError> {
    let mut outer = Der::new(der_bytes);
    let mut seq = Der::new(outer.read(tag::SEQUENCE)?);
    outer.finish()?;
    let version = seq.read(tag::INTEGER)?;
    if version != [0] && version != [1] {
        return Err(KeyError::Der("unsupported PKCS#8 version".into()));
    }
    check_algorithm(seq.read(tag::SEQUENCE)?)?;
    let mut wrapped = Der::new(seq.read(tag::OCTET_STRING)?);
    let seed = wrapped.read(tag::OCTET_STRING)?;
    wrapped.finish()?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| KeyError::Der(format!("Ed25519 seed has {} bytes, not 32", seed.len())))?;
    let key = SigningKey::from_seed(seed);
    if seq.peek_tag() == Some(0xa0) {
        // [0] attributes: carry nothing we use.
        seq.read_any()?;
    }
    if matches!(seq.peek_tag(), Some(0x81 | 0xa1)) {
        // [1] publicKey (PKCS#8 v2 / RFC 5958): must belong to the seed.
        let (t, content) = seq.read_any()?;
        let bits = if t == 0xa1 {
            let mut inner = Der::new(content);
            let b = inner.read(tag::BIT_STRING)?;
            inner.finish()?;
            b
        } else {
            content
        };
        let expected = key.public_key();
        match bits.split_first() {
            Some((0, pk)) if pk == expected.0 => {}
            _ => return Err(KeyError::PublicKeyMismatch),
        }
    }
    seq.finish()?;
    Ok(key)
}

/// Parse a SubjectPublicKeyInfo Ed25519 public key.
pub fn parse_spki(der_bytes: &[u8]) -> Result<PublicKey, KeyError> {
    let mut outer = Der::new(der_bytes);
    let mut seq = Der::new(outer.read(tag::SEQUENCE)?);
    outer.finish()?;
    check_algorithm(seq.read(tag::SEQUENCE)?)?;
    let bits = seq.read(tag::BIT_STRING)?;
    seq.finish()?;
    match bits.split_first() {
        Some((0, key)) => key.try_into().map(PublicKey).map_err(|_| {
            KeyError::Der(format!(
                "Ed25519 public key has {} bytes, not 32",
                key.len()
            ))
        }),
        _ => Err(KeyError::Der(
            "public key BIT STRING has unused bits".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated by `imgtool keygen -t ed25519` (imgtool 2.5.0).
    const IMGTOOL_PRIV: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIEdDkRLuScHPAPmvC72kt0yLTZvHZG9awOdfLgbFQ8JE\n\
        -----END PRIVATE KEY-----\n";
    // `imgtool getpub -e pem` of the key above.
    const IMGTOOL_PUB: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAyid3X59if7EHQ514tbhVNyYvkiLlx/nXGSDnJtAdUwc=\n\
        -----END PUBLIC KEY-----\n";

    fn seed() -> [u8; 32] {
        core::array::from_fn(|i| i as u8 * 3 + 1)
    }

    #[test]
    fn pkcs8_pem_round_trip_is_imgtool_format() {
        let key = SigningKey::from_seed(seed());
        let pem = key.to_pem();
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "-----BEGIN PRIVATE KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2], "-----END PRIVATE KEY-----");
        assert!(pem.ends_with("-----\n"));
        let der = key.to_pkcs8_der();
        assert_eq!(&der[..16], &ED25519_PKCS8_PREFIX);
        assert_eq!(&der[16..], &seed());
        assert_eq!(KeyFile::from_pem(&pem), Ok(KeyFile::Private(key)));
    }

    #[test]
    fn imgtool_files_parse_and_public_pem_matches() {
        let private = KeyFile::from_pem(IMGTOOL_PRIV).unwrap();
        let public = KeyFile::from_pem(IMGTOOL_PUB).unwrap();
        assert!(matches!(private, KeyFile::Private(_)));
        assert_eq!(private.public_key(), public.public_key());
        assert_eq!(public_key_pem(&public.public_key()), IMGTOOL_PUB);
        assert_eq!(public.clone().into_signing_key(), Err(KeyError::PublicOnly));
        // Re-encoding reproduces the imgtool file byte for byte.
        assert_eq!(private.into_signing_key().unwrap().to_pem(), IMGTOOL_PRIV);
    }

    #[test]
    fn pem_tolerates_crlf_and_surrounding_text() {
        let text = format!("comment\r\n{}", IMGTOOL_PRIV.replace('\n', "\r\n"));
        assert!(matches!(KeyFile::from_pem(&text), Ok(KeyFile::Private(_))));
    }

    #[test]
    fn pkcs8_v2_with_public_key_is_checked() {
        let key = SigningKey::from_seed(seed());
        let public = key.public_key().0;
        let build = |pk: &[u8; 32]| {
            let mut der = vec![0x30, 0x51, 0x02, 0x01, 0x01];
            der.extend_from_slice(&[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]);
            der.extend_from_slice(&[0x04, 0x22, 0x04, 0x20]);
            der.extend_from_slice(&seed());
            der.extend_from_slice(&[0x81, 0x21, 0x00]);
            der.extend_from_slice(pk);
            der
        };
        assert_eq!(parse_pkcs8(&build(&public)), Ok(key));
        let mut wrong = public;
        wrong[0] ^= 1;
        assert_eq!(
            parse_pkcs8(&build(&wrong)),
            Err(KeyError::PublicKeyMismatch)
        );
    }

    #[test]
    fn refuses_other_keys_precisely() {
        let pem = |label: &str, der: &[u8]| pem_encode(label, der);
        assert_eq!(
            KeyFile::from_pem(&pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00])),
            Err(KeyError::Encrypted)
        );
        assert_eq!(
            KeyFile::from_pem(&pem("RSA PRIVATE KEY", &[0x30, 0x00])),
            Err(KeyError::NotEd25519("RSA".into()))
        );
        assert_eq!(
            KeyFile::from_pem(&pem("EC PRIVATE KEY", &[0x30, 0x00])),
            Err(KeyError::NotEd25519("EC".into()))
        );
        assert_eq!(
            KeyFile::from_pem(&pem("CERTIFICATE", &[0x30, 0x00])),
            Err(KeyError::UnsupportedPem("CERTIFICATE".into()))
        );
        // PKCS#8 of an EC key: algorithm id-ecPublicKey with a curve parameter.
        let mut ec = vec![0x30, 0x1c, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07];
        ec.extend_from_slice(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        ec.extend_from_slice(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
        ec.extend_from_slice(&[0x04, 0x02, 0x30, 0x00]);
        assert_eq!(
            KeyFile::from_pem(&pem(PRIVATE_KEY_LABEL, &ec)),
            Err(KeyError::NotEd25519("EC (1.2.840.10045.2.1)".into()))
        );
        assert_eq!(KeyFile::from_pem("hello"), Err(KeyError::NoPem));
        assert!(matches!(
            KeyFile::from_pem("-----BEGIN PRIVATE KEY-----\nMC4C\n"),
            Err(KeyError::UnterminatedPem(_))
        ));
        assert!(matches!(
            KeyFile::from_pem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::Base64(_))
        ));
        assert!(matches!(
            KeyFile::from_pem(&pem(PRIVATE_KEY_LABEL, &[0x30, 0x03, 0x02, 0x01])),
            Err(KeyError::Der(_))
        ));
        let mut trailing = SigningKey::from_seed(seed()).to_pkcs8_der().to_vec();
        trailing.push(0);
        assert!(matches!(
            KeyFile::from_pem(&pem(PRIVATE_KEY_LABEL, &trailing)),
            Err(KeyError::Der(_))
        ));
        let mut short = SigningKey::from_seed(seed()).to_pkcs8_der().to_vec();
        short.truncate(47);
        assert!(matches!(
            KeyFile::from_pem(&pem(PRIVATE_KEY_LABEL, &short)),
            Err(KeyError::Der(_))
        ));
    }

    #[test]
    fn errors_are_one_line() {
        let errors = [
            KeyError::NoPem,
            KeyError::Encrypted,
            KeyError::NotEd25519("RSA".into()),
            KeyError::PublicOnly,
            KeyError::PublicKeyMismatch,
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
