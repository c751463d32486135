//! End-to-end tests of the `fwu-tool` binary in a temporary directory: the keygen → sign →
//! verify → info path, the public key exports, and every kind of bad input giving one
//! `error: ...` line on stderr and a non-zero exit code, never a panic.
#![allow(clippy::unwrap_used, clippy::panic)]

use fwu_shared::image::build::UNPROTECTED_TLV_SIZE;
use fwu_shared::image::{verify_slice, KeyRing, PublicKey};
use fwu_tool::keys::SigningKey;
use fwu_tool::trailer::TrailerLayout;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn tool(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fwu-tool"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run and require success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let r = tool(dir, args);
    assert_eq!(r.code, Some(0), "{args:?} failed: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
    r.stdout
}

/// Run and require a clean failure: non-zero exit, exactly one stderr line starting with
/// `error: `, no panic. Returns that line.
fn fails(dir: &Path, args: &[&str]) -> String {
    let r = tool(dir, args);
    assert!(
        matches!(r.code, Some(c) if c != 0),
        "{args:?} should fail, got {:?}; stdout: {}",
        r.code,
        r.stdout
    );
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: stderr not one line: {:?}",
        r.stderr
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {:?}", r.stderr);
    lines[0].to_string()
}

fn fails_with(dir: &Path, args: &[&str], needle: &str) {
    let line = fails(dir, args);
    assert!(line.contains(needle), "{args:?}: {line:?} lacks {needle:?}");
}

struct Env {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        Env { _tmp: tmp, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap()
    }

    /// A payload whose first `hdr` bytes are zero (room reserved for the header).
    fn payload(&self, name: &str, hdr: usize, body: usize) {
        let mut v = vec![0u8; hdr];
        v.extend((0..body).map(|i| (i * 31 + 7) as u8));
        self.write(name, v);
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&self.dir, args)
    }

    fn fails_with(&self, args: &[&str], needle: &str) {
        fails_with(&self.dir, args, needle);
    }

    fn raw_public(&self, key: &str) -> PublicKey {
        let hex = self.ok(&["getpub", "-k", key, "--lang", "raw"]);
        let hex = hex.trim();
        assert_eq!(hex.len(), 64);
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        PublicKey(bytes.try_into().unwrap())
    }
}

const SIGN_BASE: [&str; 8] = ["sign", "-k", "k.pem", "-v", "1.2.3+4", "-H", "0x200", "-S"];

fn sign_args<'a>(
    slot: &'a str,
    extra: &[&'a str],
    input: &'a str,
    output: &'a str,
) -> Vec<&'a str> {
    let mut a: Vec<&str> = SIGN_BASE.to_vec();
    a.push(slot);
    a.extend_from_slice(extra);
    a.push(input);
    a.push(output);
    a
}

#[test]
fn keygen_sign_verify_info_happy_path() {
    let e = Env::new();
    let r = tool(&e.dir, &["keygen", "-k", "k.pem"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let pem = String::from_utf8(e.read("k.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    e.payload("app.bin", 0x200, 3000);
    e.ok(&sign_args(
        "0x8000",
        &[
            "-s",
            "auto",
            "-d",
            "(1,1.2.3+0), (2,0.1)",
            "--confirm",
            "--align",
            "4",
        ],
        "app.bin",
        "app.signed",
    ));
    let image = e.read("app.signed");
    assert_eq!(image.len(), 0x8000);

    let report = e.ok(&["verify", "-k", "k.pem", "app.signed"]);
    assert!(report.contains("version:          1.2.3+4"), "{report}");
    assert!(
        report.contains("security counter: 16908291 (0x01020003)"),
        "{report}"
    );
    assert!(
        report.contains("dependencies:     image 1 >= 1.2.3+0, image 2 >= 0.1.0+0"),
        "{report}"
    );
    let public = e.raw_public("k.pem");
    assert!(report.contains(&fwu_tool::hex::hex(&public.key_hash())));

    // The same bytes pass the firmware-side verifier with the exported key.
    let keys = [public];
    let scanned = verify_slice(&image, 0x8000, &KeyRing::new(&keys)).unwrap();
    assert_eq!(scanned.header.img_size, 3000);
    assert_eq!(scanned.security_counter, Some(0x0102_0003));
    assert!(report.contains(&fwu_tool::hex::hex(&scanned.digest)));

    // A public key file verifies too.
    e.write("pub.pem", e.ok(&["getpub", "-k", "k.pem", "--lang", "pem"]));
    e.ok(&["verify", "-k", "pub.pem", "app.signed"]);

    let text = e.ok(&["info", "app.signed"]);
    for needle in [
        "version:            1.2.3+4",
        "SEC_CNT (0x50), len 4: security counter 16908291",
        "DEPENDENCY (0x40), len 12: image 2 >= 0.1.0+0",
        "ED25519 (0x24), len 64",
        "matches the SHA256 TLV",
        "image_ok:   0x01 (set)",
        "magic:      77c295f360d2ef7f3552500f2cb67980 (valid, max_align 8)",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    let json: Value = serde_json::from_str(&e.ok(&["info", "--json", "app.signed"])).unwrap();
    assert_eq!(json["filename"], "app.signed");
    assert_eq!(json["file_size"], 0x8000);
    assert_eq!(json["header"]["hdr_size"], 0x200);
    assert_eq!(json["header"]["img_size"], 3000);
    assert_eq!(json["header"]["version"], "1.2.3+4");
    assert_eq!(json["header"]["protected_tlv_size"], 4 + 8 + 16 + 16);
    let prot = json["tlv_area"]["tlvs_prot"].as_array().unwrap();
    assert_eq!(prot.len(), 3);
    assert_eq!(prot[0]["decoded"]["security_counter"], 0x0102_0003);
    assert_eq!(prot[2]["decoded"]["image_id"], 2);
    let tlvs = json["tlv_area"]["tlvs"].as_array().unwrap();
    assert_eq!(tlvs[0]["type_name"], "SHA256");
    assert_eq!(tlvs[0]["data"], fwu_tool::hex::hex(&scanned.digest));
    assert_eq!(json["hash_matches"], true);
    assert_eq!(json["trailer"]["image_ok"], 1);
    assert_eq!(json["trailer"]["copy_done"], 0xff);
    assert_eq!(json["trailer"]["swap_size"], 0xffff_ffffu32);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn sign_without_pad_keeps_image_length_and_reports_exact_slot_limit() {
    let e = Env::new();
    e.ok(&["keygen", "-k", "k.pem"]);
    e.payload("app.bin", 0x200, 1000);
    e.ok(&sign_args("0x10000", &[], "app.bin", "out.bin"));
    let image_len = 1000 + 0x200 + UNPROTECTED_TLV_SIZE;
    assert_eq!(e.read("out.bin").len(), image_len);
    // The slot must hold the image and imgtool's reserved trailer, padded or not.
    let trailer = TrailerLayout::default().size() as usize;
    let exact = format!("{}", image_len + trailer);
    let short = format!("{}", image_len + trailer - 1);
    e.ok(&sign_args(&exact, &["--pad"], "app.bin", "exact.bin"));
    assert_eq!(e.read("exact.bin").len(), image_len + trailer);
    e.fails_with(
        &sign_args(&short, &[], "app.bin", "short.bin"),
        "exceeds slot size",
    );
    assert!(!e.path("short.bin").exists());
}

#[test]
fn getpub_formats_and_output_file() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([9; 32]).to_pem());
    let expected = SigningKey::from_seed([9; 32]).public_key();
    assert_eq!(e.raw_public("k.pem"), expected);
    let rust = e.ok(&["getpub", "-k", "k.pem"]);
    assert!(rust.contains("pub const FWU_PUBLIC_KEYS: &[fwu_shared::image::PublicKey]"));
    assert!(rust.contains(&fwu_tool::hex::hex(&expected.key_hash())));
    let named = e.ok(&["getpub", "-k", "k.pem", "--name", "BOOT_KEYS"]);
    assert!(named.contains("pub const BOOT_KEYS:"));
    let pem = e.ok(&["getpub", "-k", "k.pem", "-e", "pem"]);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    e.write("pub.pem", &pem);
    assert_eq!(e.raw_public("pub.pem"), expected);
    assert_eq!(e.ok(&["getpub", "-k", "pub.pem", "--lang", "pem"]), pem);
    assert_eq!(e.ok(&["getpub", "-k", "k.pem", "-o", "keys.rs"]), "");
    assert_eq!(String::from_utf8(e.read("keys.rs")).unwrap(), rust);
    fails_with(
        &e.dir,
        &["getpub", "-k", "k.pem", "--name", "not-an-ident"],
        "not a valid Rust constant name",
    );
    fails_with(
        &e.dir,
        &["getpub", "-k", "k.pem", "--lang", "c"],
        "invalid value",
    );
}

mod generated {
    include!("fixtures/public_keys.rs");
}

#[test]
fn generated_rust_source_compiles_and_is_current() {
    // tests/fixtures/public_keys.rs was written by `fwu-tool getpub` for the seed [0x42; 32];
    // including it proves the emitted source compiles against fwu_shared.
    let key = SigningKey::from_seed([0x42; 32]);
    assert_eq!(generated::FWU_PUBLIC_KEYS, &[key.public_key()]);
    let e = Env::new();
    e.write("k.pem", key.to_pem());
    assert_eq!(
        e.ok(&["getpub", "-k", "k.pem"]),
        include_str!("fixtures/public_keys.rs")
    );
}

#[test]
fn keygen_never_overwrites() {
    let e = Env::new();
    e.write("k.pem", "precious");
    fails_with(&e.dir, &["keygen", "-k", "k.pem"], "already exists");
    assert_eq!(e.read("k.pem"), b"precious");
    fails_with(
        &e.dir,
        &["keygen", "-k", "no/such/dir/k.pem"],
        "cannot write key file",
    );
}

const RSA_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAw6mZAI7hQ1LO8D2I
/8PTs4CaTdBiOs53HMYH8YA0wMVTVhUWjPVfoKuHZLcQEdKEmPowiFWVW6frAyJr
SLHU4QIDAQABAkEAuJbT5ZbmJaGF4VfsW37fxkTZTff99AS8ksSw0cFmA0V+fHXg
kiad/P4uKpd5t75CqUVJ4iMJklai3xcPjaVWwQIhAPD4d9ozeTnpGzd+OxKTCXG7
sowSDPVgV3JS2PtDSX7lAiEAz920K4F8WHLDn/mKXWSVlrvKoqi+mQlXcGaC6eHH
Yk0CIGtbZ5pRQHsqfbO1i3/0/korg5qgGCHiMFOA0abwDXh5AiA62s80skj+0h/J
n+IpZ11jfHB3dcfhlN+JF71hc2f80QIgCcPxqmDlQj/EyOH/JVUqLFcl6zJiLidA
s9lhTfoAkFE=
-----END PRIVATE KEY-----
";

const EC_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmtWmsg4vMQYTb9m6
WgcUzkOuzPRC9fD8kb7zr5CHgF6hRANCAATKBZVS1jysM1Mi675nWBM8H/Cm0eR8
sll2Vz0EM9EE+DOdcowM8tiSDZKP7TSGqa90AhDfdwqRXlZn6zfw3Xxo
-----END PRIVATE KEY-----
";

const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEygWVUtY8rDNTIuu+Z1gTPB/wptHk
fLJZdlc9BDPRBPgznXKMDPLYkg2Sj+00hqmvdAIQ33cKkV5WZ+s38N18aA==
-----END PUBLIC KEY-----
";

const EC_TRADITIONAL: &str = "-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBZfteP5miIggZUeDGZgruot+fHe3XhvwkNpZRR5irH1oAoGCCqGSM49
AwEHoUQDQgAE5B3rNE2lHtEgAb4aWqsw5vf++SayLnip1hgCdsuV10gwedqVWO4d
0+uNqaz32L9pzt3rr72mmTmiNnIHM10qtg==
-----END EC PRIVATE KEY-----
";

const ENCRYPTED_ED25519: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgz3nXCdUaGYgICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEECTU3Jgj9Srki00FFbpzH+0EQCg0
W6wTu43qJ1x1DO3GP8jYwh2Mt8o4gZWdJlEKSfqW43mOnZ2ywTVOuT87dmjbz9Ic
a8XYg5rLxIzLjTRw9+0=
-----END ENCRYPTED PRIVATE KEY-----
";

const X25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIJiOUR2y3oLHXCS7C7gG2kBijvbrBWA06UuKIr2fFXpg
-----END PRIVATE KEY-----
";

#[test]
fn bad_keys_are_refused_with_the_reason() {
    let e = Env::new();
    e.payload("app.bin", 0x200, 100);
    let cases: [(&str, &str, &str); 10] = [
        ("rsa.pem", RSA_PKCS8, "not an Ed25519 key: RSA"),
        ("ec.pem", EC_PKCS8, "not an Ed25519 key: EC"),
        ("ecpub.pem", EC_PUBLIC, "not an Ed25519 key: EC"),
        ("ectrad.pem", EC_TRADITIONAL, "not an Ed25519 key: EC"),
        ("enc.pem", ENCRYPTED_ED25519, "encrypted"),
        ("x.pem", X25519_PKCS8, "not an Ed25519 key: X25519"),
        (
            "b64.pem",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAw$$$$\n-----END PRIVATE KEY-----\n",
            "malformed base64",
        ),
        (
            "der.pem",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw\n-----END PRIVATE KEY-----\n",
            "malformed key DER",
        ),
        ("empty.pem", "", "no PEM block"),
        (
            "open.pem",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw\n",
            "no -----END PRIVATE KEY----- line",
        ),
    ];
    for (name, content, reason) in cases {
        e.write(name, content);
        e.fails_with(&["getpub", "-k", name], reason);
        e.fails_with(&["verify", "-k", name, "app.bin"], reason);
        let mut args = sign_args("0x10000", &[], "app.bin", "out.bin");
        args[2] = name;
        e.fails_with(&args, reason);
        assert!(!e.path("out.bin").exists());
    }
    e.fails_with(
        &["getpub", "-k", "missing.pem"],
        "cannot read key file 'missing.pem'",
    );
    // Signing needs the private half.
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.write("pub.pem", e.ok(&["getpub", "-k", "k.pem", "--lang", "pem"]));
    let mut args = sign_args("0x10000", &[], "app.bin", "out.bin");
    args[2] = "pub.pem";
    e.fails_with(&args, "this is a public key");
}

#[test]
fn bad_sign_arguments_are_one_line_errors() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.payload("app.bin", 0x200, 100);
    let base = |flag: &'static str, value: &'static str| -> Vec<&'static str> {
        let mut a = vec![
            "sign", "-k", "k.pem", "-v", "1.0.0", "-H", "0x200", "-S", "0x10000",
        ];
        if let Some(i) = a.iter().position(|&x| x == flag) {
            a[i + 1] = value;
        } else {
            a.push(flag);
            a.push(value);
        }
        a.extend_from_slice(&["app.bin", "out.bin"]);
        a
    };
    for (flag, value, needle) in [
        ("-v", "1.x", "invalid version '1.x'"),
        ("-v", "256.0.0", "major 256 exceeds 255"),
        ("-v", "1.2+3", "invalid version"),
        ("-v", "01.2", "invalid version"),
        ("-H", "16", "below the minimum of 32"),
        ("-H", "0x10000", "exceeds 65535"),
        ("-H", "12abc", "not a valid integer"),
        ("-S", "big", "not a valid integer"),
        ("-S", "0", "slot size must not be zero"),
        ("-s", "-1", "must not be negative"),
        ("-s", "0x100000000", "does not fit in 32 bits"),
        ("-d", "(1,2", "no closing ')'"),
        ("-d", "(300,1.0)", "exceeds 255"),
        ("-d", "(1,1.x)", "invalid version"),
        ("--align", "3", "not one of 1, 2, 4, 8, 16, 32"),
        ("--max-align", "4", "not one of 8, 16, 32"),
        ("-R", "1", "not 0 or 0xff"),
        ("-M", "x", "invalid value"),
        ("--bogus", "1", "unexpected argument"),
    ] {
        e.fails_with(&base(flag, value), needle);
    }
    assert!(!e.path("out.bin").exists());
    e.fails_with(&["sign"], "required arguments were not provided");
}

#[test]
fn bad_sign_inputs_are_one_line_errors() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.payload("app.bin", 0x200, 100);
    e.fails_with(
        &sign_args("0x10000", &[], "missing.bin", "out.bin"),
        "cannot read input file 'missing.bin'",
    );
    // The reserved header must be zero: imgtool's rule, checked over all header-size bytes.
    let mut data = e.read("app.bin");
    data[0x1ff] = 1;
    e.write("dirty.bin", &data);
    e.fails_with(
        &sign_args("0x10000", &[], "dirty.bin", "out.bin"),
        "are not zero; use --pad-header",
    );
    e.ok(&sign_args(
        "0x10000",
        &["--pad-header"],
        "dirty.bin",
        "out.bin",
    ));
    e.write("short.bin", [0u8; 0x100]);
    e.fails_with(
        &sign_args("0x10000", &[], "short.bin", "out2.bin"),
        "shorter than the 512-byte header",
    );
    e.fails_with(
        &sign_args("0x400", &[], "app.bin", "out2.bin"),
        "exceeds slot size 0x400",
    );
    e.fails_with(
        &sign_args("0x10000", &[], "app.hex", "out2.bin"),
        "Intel HEX files are not supported",
    );
    e.fails_with(
        &sign_args("0x10000", &[], "app.bin", "out2.HEX"),
        "Intel HEX files are not supported",
    );
    e.fails_with(
        &sign_args("0x10000", &[], "app.bin", "no/such/dir/out.bin"),
        "cannot write output file",
    );
    assert!(!e.path("out2.bin").exists());
}

#[test]
fn bad_images_fail_verify_precisely_and_info_cleanly() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.write("other.pem", SigningKey::from_seed([2; 32]).to_pem());
    e.payload("app.bin", 0x200, 1000);
    e.ok(&sign_args("0x10000", &["-s", "3"], "app.bin", "good.bin"));
    let good = e.read("good.bin");

    let verify = |file: &str, needle: &str| {
        e.fails_with(
            &["verify", "-k", "k.pem", file],
            &format!("verification failed: {needle}"),
        );
    };
    e.write(
        "garbage.bin",
        (0..5000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    verify("garbage.bin", "bad image magic");
    e.write("empty.bin", []);
    verify("empty.bin", "image is truncated");
    e.write("trunc.bin", &good[..good.len() - 10]);
    let (needed, cut) = (good.len(), good.len() - 10);
    verify(
        "trunc.bin",
        &format!("image needs {needed} bytes but the slot has {cut}"),
    );
    let mut tampered = good.clone();
    tampered[0x300] ^= 1;
    e.write("tampered.bin", &tampered);
    verify("tampered.bin", "image hash does not match");
    e.fails_with(
        &["verify", "-k", "other.pem", "good.bin"],
        "verification failed: image is signed by an unknown key",
    );
    let mut bad_sig = good.clone();
    let n = bad_sig.len();
    bad_sig[n - 1] ^= 1;
    e.write("badsig.bin", &bad_sig);
    verify("badsig.bin", "Ed25519 signature does not verify");
    // The signature's S + L twin (RFC 8032 §5.1.7), which salty 0.3.0's own verify accepts.
    let mut twin = good.clone();
    assert!(fwu_shared::image::build::malleate_signature(&mut twin));
    e.write("twin.bin", &twin);
    verify("twin.bin", "Ed25519 signature is not canonical (S >= L");
    e.fails_with(
        &["verify", "-k", "k.pem", "missing.bin"],
        "cannot read image",
    );

    // A TLV fwu does not know: verify names it, info still describes the image.
    let info: Value = serde_json::from_str(&e.ok(&["info", "--json", "good.bin"])).unwrap();
    let keyhash_off = info["tlv_area"]["tlvs"][1]["offset"].as_u64().unwrap() as usize;
    let mut unknown = good.clone();
    unknown[keyhash_off] = 0x99;
    e.write("unknown.bin", &unknown);
    verify("unknown.bin", "unsupported critical TLV 0x99");
    let text = e.ok(&["info", "unknown.bin"]);
    assert!(text.contains("UNKNOWN (0x99), len 32"), "{text}");

    // info: garbage and empty files are refused; a truncated image is described with warnings.
    e.fails_with(&["info", "garbage.bin"], "not an MCUboot image");
    e.fails_with(&["info", "empty.bin"], "not an MCUboot image");
    e.fails_with(&["info", "missing.bin"], "cannot read image");
    let text = e.ok(&["info", "trunc.bin"]);
    assert!(text.contains("warning: unprotected TLV 0x24"), "{text}");
}

#[test]
fn warnings_do_not_fail_signing() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.payload("app.bin", 0x200, 10);
    let r = tool(
        &e.dir,
        &sign_args(
            "0x10000",
            &["-L", "0x20000000", "-d", "(0,1),(1,1),(2,1),(3,1),(4,1)"],
            "app.bin",
            "out.bin",
        ),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("warning: 5 dependencies"));
    assert!(r
        .stderr
        .contains("warning: --load-addr sets the RAM_LOAD flag"));
    let text = e.ok(&["info", "out.bin"]);
    assert!(
        text.contains("flags:              0x20 (RAM_LOAD)"),
        "{text}"
    );
    assert!(text.contains("warning: header flags 0x20 are not supported by fwu"));
    e.fails_with(
        &["verify", "-k", "k.pem", "out.bin"],
        "unsupported header flags 0x00000020",
    );
}

/// `uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")` and, in that namespace, "bootloader"
/// (Python).
const VENDOR_UUID: &str = "cfbff0d1-9375-5685-968c-48ce8b15ae17";
const CLASS_UUID: &str = "74ae8dfa-6d17-59aa-8d41-d526fcf641b4";

#[test]
fn vendor_and_class_ids_sign_verify_and_info() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.payload("app.bin", 0x200, 100);
    e.ok(&sign_args(
        "0x10000",
        &["-s", "1", "--vid", "example.com", "--cid", "bootloader"],
        "app.bin",
        "ids.bin",
    ));
    e.ok(&sign_args("0x10000", &[], "app.bin", "plain.bin"));

    // Matching ids, given as names, raw UUIDs (any case) or 32 hex digits, or only one of them.
    let upper = CLASS_UUID.to_uppercase();
    let hex32 = VENDOR_UUID.replace('-', "");
    for ids in [
        &["--vid", "example.com", "--cid", "bootloader"][..],
        &["--vid", VENDOR_UUID, "--cid", "bootloader"],
        &["--vid", &hex32, "--cid", &upper],
        &["--cid", CLASS_UUID],
        &["--vid", "example.com"],
        &[],
    ] {
        let mut a = vec!["verify", "-k", "k.pem"];
        a.extend_from_slice(ids);
        a.push("ids.bin");
        let report = e.ok(&a);
        assert!(report.starts_with("image verified\n"), "{ids:?}: {report}");
        assert!(
            report.contains(&format!("vendor UUID:      {VENDOR_UUID}\n")),
            "{report}"
        );
        assert!(
            report.contains(&format!("class UUID:       {CLASS_UUID}\n")),
            "{report}"
        );
    }

    // A different class: refused, saying which UUID differs.
    let line = fails(
        &e.dir,
        &[
            "verify",
            "-k",
            "k.pem",
            "--vid",
            "example.com",
            "--cid",
            "application",
            "ids.bin",
        ],
    );
    assert!(
        line.contains(
            "image is not for this device (its vendor or class UUID is missing or differs)"
        ),
        "{line}"
    );
    assert!(
        line.contains(&format!("image class UUID {CLASS_UUID}, expected ")),
        "{line}"
    );
    assert!(!line.contains("vendor UUID cfbff0d1"), "{line}");
    // A different vendor: the class name is then in another namespace, so both differ.
    let line = fails(
        &e.dir,
        &[
            "verify",
            "-k",
            "k.pem",
            "--vid",
            "example.org",
            "--cid",
            "bootloader",
            "ids.bin",
        ],
    );
    assert!(
        line.contains(&format!("image vendor UUID {VENDOR_UUID}, expected ")),
        "{line}"
    );
    assert!(line.contains("; image class UUID "), "{line}");

    // An image signed without ids is refused when ids are asked for, accepted otherwise.
    e.fails_with(
        &["verify", "-k", "k.pem", "--vid", "example.com", "plain.bin"],
        &format!("image vendor UUID none, expected {VENDOR_UUID}"),
    );
    e.fails_with(
        &["verify", "-k", "k.pem", "--cid", CLASS_UUID, "plain.bin"],
        &format!("image class UUID none, expected {CLASS_UUID}"),
    );
    let report = e.ok(&["verify", "-k", "k.pem", "plain.bin"]);
    assert!(!report.contains("UUID"), "{report}");

    // info shows both UUIDs, in text and JSON.
    let text = e.ok(&["info", "ids.bin"]);
    for needle in [
        format!("UUID_VID (0x74), len 16: vendor {VENDOR_UUID}"),
        format!("UUID_CID (0x75), len 16: class {CLASS_UUID}"),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in\n{text}");
    }
    let json: Value = serde_json::from_str(&e.ok(&["info", "--json", "ids.bin"])).unwrap();
    let prot = json["tlv_area"]["tlvs_prot"].as_array().unwrap();
    let names: Vec<&str> = prot
        .iter()
        .map(|t| t["type_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["SEC_CNT", "UUID_VID", "UUID_CID"]);
    assert_eq!(prot[1]["decoded"]["vendor_id"], VENDOR_UUID);
    assert_eq!(prot[2]["decoded"]["class_id"], CLASS_UUID);
    assert_eq!(prot[1]["data"], hex32);
    assert_eq!(json["header"]["protected_tlv_size"], 4 + 8 + 20 + 20);
}

#[test]
fn bad_vendor_and_class_ids_are_one_line_errors() {
    let e = Env::new();
    e.write("k.pem", SigningKey::from_seed([1; 32]).to_pem());
    e.payload("app.bin", 0x200, 100);
    for (ids, needle) in [
        (&["--vid", "a\tb"][..], "unknown UUID format \"a\\tb\""),
        (&["--vid", "x\u{200b}y"], "unknown UUID format"),
        (&["--cid", "bad\nname"], "unknown UUID format"),
        (
            &["--cid", "bootloader"],
            "unknown namespace for UUID \"bootloader\": a class name in --cid needs --vid",
        ),
    ] {
        for command in ["sign", "verify"] {
            let a = if command == "sign" {
                sign_args("0x10000", ids, "app.bin", "out.bin")
            } else {
                let mut v = vec!["verify", "-k", "k.pem"];
                v.extend_from_slice(ids);
                v.push("app.bin");
                v
            };
            e.fails_with(&a, needle);
        }
    }
    assert!(!e.path("out.bin").exists());
    // A raw class UUID needs no vendor.
    e.ok(&sign_args(
        "0x10000",
        &["--cid", CLASS_UUID],
        "app.bin",
        "out.bin",
    ));
    e.ok(&["verify", "-k", "k.pem", "--cid", CLASS_UUID, "out.bin"]);
}
