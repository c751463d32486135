//! Interoperability with MCUboot's `imgtool` 2.5.0 (path in the `IMGTOOL` environment
//! variable; `just interop` sets it up and runs these ignored tests):
//!
//! * keys: imgtool's keys sign with fwu-tool, fwu-tool's keys sign with imgtool, and both
//!   export the same public key PEM;
//! * images: each tool verifies the other's, and for the same key, input and options both
//!   produce byte-identical files over a matrix of options;
//! * the slot-size check rejects at exactly the same size in both tools;
//! * `--vid`/`--cid`: the matrix signs with names, raw and 32-hex UUIDs; both tools refuse the
//!   same bad values, and `fwu-tool verify --vid/--cid` checks imgtool's images;
//! * `imgtool dumpinfo -f json` and `fwu-tool info --json` agree on every field.
#![allow(clippy::unwrap_used, clippy::panic)]

use fwu_shared::image::{verify_slice, KeyRing};
use fwu_tool::keys::SigningKey;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The imgtool executable from `IMGTOOL`, checked to run and to be version 2.5.0.
fn imgtool() -> PathBuf {
    let Some(path) = std::env::var_os("IMGTOOL") else {
        panic!(
            "IMGTOOL is not set: run `just interop`, or \
             IMGTOOL=/path/to/imgtool cargo test -p fwu-tool --test interop -- --ignored"
        );
    };
    let path = PathBuf::from(path);
    let out = Command::new(&path)
        .arg("version")
        .output()
        .unwrap_or_else(|e| panic!("IMGTOOL={} is not runnable: {e}", path.display()));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && version == "2.5.0",
        "IMGTOOL={} must be imgtool 2.5.0 (got {:?}, {})",
        path.display(),
        version,
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn fwu_tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fwu-tool"))
}

fn run(exe: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
}

fn run_ok(exe: &Path, dir: &Path, args: &[&str]) -> String {
    let out = run(exe, dir, args);
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        exe.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Env {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    imgtool: PathBuf,
    fwu: PathBuf,
}

impl Env {
    fn new() -> Self {
        let imgtool = imgtool();
        let tmp = tempfile::tempdir().unwrap();
        Env {
            dir: tmp.path().to_path_buf(),
            _tmp: tmp,
            imgtool,
            fwu: fwu_tool(),
        }
    }

    fn imgtool(&self, args: &[&str]) -> String {
        run_ok(&self.imgtool, &self.dir, args)
    }

    fn fwu(&self, args: &[&str]) -> String {
        run_ok(&self.fwu, &self.dir, args)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.path(name), bytes).unwrap();
    }

    /// A payload of `body` bytes preceded by `zeros` zero bytes (a reserved header).
    fn payload(&self, name: &str, zeros: usize, body: usize) {
        let mut v = vec![0u8; zeros];
        v.extend((0..body).map(|i| ((i * 131 + 17) ^ (i >> 8)) as u8));
        self.write(name, v);
    }

    /// Sign `input` with both tools using the same arguments; returns (imgtool's, ours).
    fn sign_both(&self, key: &str, args: &[&str], input: &str, tag: &str) -> (Vec<u8>, Vec<u8>) {
        let theirs = format!("{tag}.imgtool.bin");
        let ours = format!("{tag}.fwu.bin");
        let mut a = vec!["sign", "-k", key];
        a.extend_from_slice(args);
        a.push(input);
        a.push(&theirs);
        self.imgtool(&a);
        a.pop();
        a.push(&ours);
        self.fwu(&a);
        (self.read(&theirs), self.read(&ours))
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn imgtool_key_signs_with_fwu_tool_and_imgtool_verifies() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    e.imgtool(&["keygen", "-k", "other.pem", "-t", "ed25519"]);
    e.payload("app.bin", 0, 2000);
    for (i, extra) in [
        &["-s", "auto"][..],
        &["-d", "(1,1.2.3+0)", "--confirm", "--align", "4"][..],
        &["--pad", "-R", "0", "--max-align", "16"][..],
    ]
    .iter()
    .enumerate()
    {
        let out = format!("img{i}.bin");
        let mut args = vec![
            "sign",
            "-k",
            "k.pem",
            "-v",
            "2.1.0+7",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x20000",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["app.bin", &out]);
        e.fwu(&args);
        let verdict = e.imgtool(&["verify", "-k", "k.pem", &out]);
        assert!(
            verdict.contains("Image was correctly validated"),
            "{verdict}"
        );
        assert!(verdict.contains("Image version: 2.1.0+7"), "{verdict}");
        // imgtool's verify really checks: another key is refused.
        let refused = run(&e.imgtool, &e.dir, &["verify", "-k", "other.pem", &out]);
        assert!(!refused.status.success());
        // Our verifier agrees.
        e.fwu(&["verify", "-k", "k.pem", &out]);
    }
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn fwu_tool_key_signs_with_imgtool_and_fwu_verifies() {
    let e = Env::new();
    e.fwu(&["keygen", "-k", "k.pem"]);
    e.payload("app.bin", 0x200, 3000);
    e.imgtool(&[
        "sign",
        "-k",
        "k.pem",
        "-v",
        "1.2.3+4",
        "-H",
        "0x200",
        "-S",
        "0x10000",
        "-s",
        "auto",
        "-d",
        "(2,0.9)",
        "--confirm",
        "app.bin",
        "img.bin",
    ]);
    let report = e.fwu(&["verify", "-k", "k.pem", "img.bin"]);
    assert!(report.contains("version:          1.2.3+4"), "{report}");
    assert!(report.contains("security counter: 16908291"), "{report}");
    assert!(report.contains("image 2 >= 0.9.0+0"), "{report}");
    // The firmware-side verifier, with the key as our library loads it.
    let key = fwu_tool::load_signing_key(&e.path("k.pem")).unwrap();
    let keys = [key.public_key()];
    let image = e.read("img.bin");
    let scanned = verify_slice(&image, 0x10000, &KeyRing::new(&keys)).unwrap();
    assert_eq!(scanned.header.img_size, 3000);
    assert_eq!(scanned.security_counter, Some(0x0102_0003));
    // And imgtool reads our key file too.
    assert!(e
        .imgtool(&["verify", "-k", "k.pem", "img.bin"])
        .contains("Image was correctly validated"));
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn public_key_pem_matches_imgtool_getpub() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "theirs.pem", "-t", "ed25519"]);
    e.fwu(&["keygen", "-k", "ours.pem"]);
    for key in ["theirs.pem", "ours.pem"] {
        let theirs = e.imgtool(&["getpub", "-k", key, "-e", "pem"]);
        let ours = e.fwu(&["getpub", "-k", key, "--lang", "pem"]);
        assert_eq!(ours, theirs, "{key}");
        // Public-only files work in both tools as well.
        e.write("pub.pem", &theirs);
        assert_eq!(e.fwu(&["getpub", "-k", "pub.pem", "--lang", "pem"]), theirs);
        assert_eq!(e.imgtool(&["getpub", "-k", "pub.pem", "-e", "pem"]), theirs);
    }
    // Our private key file is byte-identical to what imgtool would write for that seed.
    let theirs = fwu_tool::load_signing_key(&e.path("theirs.pem")).unwrap();
    assert_eq!(theirs.to_pem().as_bytes(), e.read("theirs.pem"));
}

/// (name, zero bytes reserved in the input, payload length, sign arguments after -k).
type Case = (&'static str, usize, usize, &'static [&'static str]);

const MATRIX: &[Case] = &[
    (
        "h20-reserved",
        0x20,
        1000,
        &["-v", "1.2.3", "-H", "0x20", "-S", "0x10000"],
    ),
    (
        "h20-padhdr",
        0,
        1000,
        &["-v", "1.2.3", "-H", "0x20", "--pad-header", "-S", "0x10000"],
    ),
    (
        "h200-reserved",
        0x200,
        4097,
        &["-v", "1.2.3+4", "-H", "0x200", "-S", "0x10000"],
    ),
    (
        "h200-padhdr",
        0,
        4097,
        &[
            "-v",
            "1.2.3+4",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
        ],
    ),
    (
        "h-decimal",
        0,
        10,
        &["-v", "7", "-H", "64", "--pad-header", "-S", "65536"],
    ),
    (
        "empty-payload",
        0,
        0,
        &["-v", "0.0.1", "-H", "0x200", "--pad-header", "-S", "0x1000"],
    ),
    (
        "sec-explicit",
        0,
        1000,
        &[
            "-v",
            "1.2.3",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-s",
            "7",
        ],
    ),
    (
        "sec-hex",
        0x200,
        1000,
        &[
            "-v",
            "1.2.3",
            "-H",
            "0x200",
            "-S",
            "0x10000",
            "-s",
            "0x12345678",
        ],
    ),
    (
        "sec-auto",
        0,
        1000,
        &[
            "-v",
            "3.4.5+6",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-s",
            "auto",
        ],
    ),
    (
        "sec-auto-max",
        0,
        1000,
        &[
            "-v",
            "255.255.65535+4294967295",
            "-H",
            "0x20",
            "--pad-header",
            "-S",
            "0x10000",
            "-s",
            "auto",
        ],
    ),
    (
        "deps",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-d",
            "(1,1.2.3+0),(2, 0.1)",
        ],
    ),
    (
        "deps-sec",
        0x20,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x20",
            "-S",
            "0x10000",
            "-s",
            "auto",
            "-d",
            "(0,255.255.65535+4294967295)",
        ],
    ),
    (
        "pad",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--pad",
        ],
    ),
    (
        "confirm",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--confirm",
        ],
    ),
    (
        "pad-align4",
        0x200,
        1000,
        &[
            "-v", "1.0.0", "-H", "0x200", "-S", "0x10000", "--pad", "--align", "4",
        ],
    ),
    (
        "confirm-align4",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--confirm",
            "--align",
            "4",
        ],
    ),
    (
        "pad-align8",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--pad",
            "--align",
            "8",
        ],
    ),
    (
        "confirm-align8",
        0x20,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x20",
            "-S",
            "0x10000",
            "--confirm",
            "--align",
            "8",
            "-s",
            "auto",
        ],
    ),
    (
        "erased0-padhdr",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-R",
            "0",
        ],
    ),
    (
        "erased0-pad",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-R",
            "0",
            "--pad",
            "--align",
            "4",
        ],
    ),
    (
        "erased0-confirm",
        0x200,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "-S",
            "0x10000",
            "-R",
            "0",
            "--confirm",
            "--align",
            "8",
        ],
    ),
    (
        "erasedff-confirm",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-R",
            "0xff",
            "--confirm",
        ],
    ),
    (
        "max-align16",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--confirm",
            "--max-align",
            "16",
        ],
    ),
    (
        "align32",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x20000",
            "--confirm",
            "--align",
            "32",
        ],
    ),
    (
        "max-sectors",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x2000",
            "--pad",
            "-M",
            "16",
        ],
    ),
    (
        "overwrite-only",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x2000",
            "--confirm",
            "--overwrite-only",
        ],
    ),
    (
        "load-addr",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-L",
            "0x20000000",
        ],
    ),
    (
        "vid-domain",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--vid",
            "example.com",
        ],
    ),
    (
        "vid-raw-cid-name",
        0x200,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "-S",
            "0x10000",
            "-s",
            "auto",
            "-d",
            "(1,1.2.3)",
            "--vid",
            "12345678-1234-5678-1234-567812345678",
            "--cid",
            "bootloader",
        ],
    ),
    (
        "vid-cid-hex32",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x20",
            "--pad-header",
            "-S",
            "0x10000",
            "--vid",
            "0123456789ABCDEF0123456789abcdef",
            "--cid",
            "fedcba9876543210fedcba9876543210",
            "--confirm",
        ],
    ),
    (
        "cid-raw-only",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "--cid",
            "AABBCCDD-EEFF-0011-2233-445566778899",
        ],
    ),
    (
        "vid-cid-unicode-names",
        0,
        1000,
        &[
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x10000",
            "-s",
            "3",
            "--vid",
            "Müller GmbH",
            "--cid",
            "",
        ],
    ),
    (
        "everything",
        0,
        5000,
        &[
            "-v",
            "9.8.7+6",
            "-H",
            "0x400",
            "--pad-header",
            "-S",
            "0x8000",
            "-s",
            "auto",
            "-d",
            "(1,1.0),(3,2.0.1+5)",
            "--confirm",
            "--align",
            "8",
            "-R",
            "0",
        ],
    ),
];

#[test]
#[ignore = "needs imgtool: just interop"]
fn signing_is_byte_identical_to_imgtool() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    let mut failures = Vec::new();
    for &(name, zeros, body, args) in MATRIX {
        let input = format!("{name}.in");
        e.payload(&input, zeros, body);
        let (theirs, ours) = e.sign_both("k.pem", args, &input, name);
        match first_difference(&theirs, &ours) {
            None => println!("{name}: identical ({} bytes)", ours.len()),
            Some(at) => failures.push(format!(
                "{name}: differs at 0x{at:x} (imgtool {} bytes, fwu-tool {} bytes)",
                theirs.len(),
                ours.len()
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn slot_size_limit_is_the_same_as_imgtool() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    e.payload("app.bin", 0, 1000);
    for (extra, trailer) in [
        (&[][..], 432usize),
        (&["--align", "4"][..], 1584),
        (&["--overwrite-only"][..], 32),
        (&["--max-align", "32", "-M", "10"][..], 30 + 4 * 32 + 32),
        (&["-s", "1", "-d", "(1,1.0)"][..], 432),
    ] {
        // Image length from an unpadded signature, then the smallest slot imgtool accepts.
        let mut args = vec![
            "-v",
            "1.0.0",
            "-H",
            "0x200",
            "--pad-header",
            "-S",
            "0x100000",
        ];
        args.extend_from_slice(extra);
        let (theirs, ours) = e.sign_both("k.pem", &args, "app.bin", "probe");
        assert_eq!(theirs, ours);
        let exact = (ours.len() + trailer).to_string();
        let short = (ours.len() + trailer - 1).to_string();
        for (slot, should_pass) in [(exact.as_str(), true), (short.as_str(), false)] {
            args[6] = slot;
            for (tool, exe) in [("imgtool", &e.imgtool), ("fwu-tool", &e.fwu)] {
                let mut a = vec!["sign", "-k", "k.pem"];
                a.extend_from_slice(&args);
                a.extend_from_slice(&["--pad", "app.bin", "limit.bin"]);
                let out = run(exe, &e.dir, &a);
                assert_eq!(
                    out.status.success(),
                    should_pass,
                    "{tool} {extra:?} slot {slot}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// Every field imgtool reports must be present in ours with the same value (ours may add
/// fields); arrays must have the same length.
fn assert_covers(theirs: &Value, ours: &Value, path: &str, checked: &mut usize) {
    match theirs {
        Value::Object(map) => {
            for (k, v) in map {
                let Some(o) = ours.get(k) else {
                    panic!("{path}.{k} missing in fwu-tool's output: {ours}");
                };
                assert_covers(v, o, &format!("{path}.{k}"), checked);
            }
        }
        Value::Array(items) => {
            let Some(o) = ours.as_array() else {
                panic!("{path}: fwu-tool has {ours}, imgtool an array");
            };
            assert_eq!(items.len(), o.len(), "{path}: lengths differ");
            for (i, (t, o)) in items.iter().zip(o).enumerate() {
                assert_covers(t, o, &format!("{path}[{i}]"), checked);
            }
        }
        _ => {
            assert_eq!(theirs, ours, "{path}");
            *checked += 1;
        }
    }
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn info_json_agrees_with_imgtool_dumpinfo() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    for &(name, zeros, body, args) in MATRIX {
        let input = format!("{name}.in");
        e.payload(&input, zeros, body);
        let (_, ours) = e.sign_both("k.pem", args, &input, name);
        let image = format!("{name}.fwu.bin");
        assert!(!ours.is_empty());
        let dump = format!("{name}.json");
        e.imgtool(&["dumpinfo", "-f", "json", "-o", &dump, &image]);
        let theirs: Value = serde_json::from_slice(&e.read(&dump)).unwrap();
        let mine: Value = serde_json::from_str(&e.fwu(&["info", "--json", &image])).unwrap();
        let mut checked = 0;
        assert_covers(&theirs, &mine, name, &mut checked);
        // Not vacuous: header (7), both area headers, 3 unprotected TLVs (4 fields each)...
        let tlvs = theirs["tlv_area"]["tlvs"].as_array().unwrap();
        assert_eq!(tlvs.len(), 3, "{name}");
        assert!(
            checked >= 1 + 7 + 2 + 12,
            "{name}: only {checked} fields compared"
        );
        let padded = args.contains(&"--pad") || args.contains(&"--confirm");
        assert_eq!(
            theirs["trailer"].get("image_ok").is_some(),
            padded,
            "{name}: trailer {}",
            theirs["trailer"]
        );
        if padded {
            let want_ok = if args.contains(&"--confirm") && !args.contains(&"--overwrite-only") {
                1
            } else if args.contains(&"0") {
                0
            } else {
                0xff
            };
            assert_eq!(mine["trailer"]["image_ok"], want_ok, "{name}");
        }
        println!("{name}: {checked} fields agree");
    }
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn info_agrees_with_dumpinfo_on_images_fwu_rejects() {
    // An image with a custom (vendor) TLV and one with an unknown critical TLV type: our
    // verifier refuses the latter, but info must still show both as dumpinfo does.
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    e.payload("app.bin", 0, 100);
    e.imgtool(&[
        "sign",
        "-k",
        "k.pem",
        "-v",
        "1.0.0",
        "-H",
        "0x20",
        "--pad-header",
        "-S",
        "0x10000",
        "--custom-tlv",
        "0xa0",
        "0xdeadbeef",
        "-s",
        "1",
        "--confirm",
        "app.bin",
        "custom.bin",
    ]);
    e.fwu(&["verify", "-k", "k.pem", "custom.bin"]);
    let mut critical = e.read("custom.bin");
    // The KEYHASH entry follows the SHA256 entry: retag it as unknown type 0x99.
    let info: Value = serde_json::from_str(&e.fwu(&["info", "--json", "custom.bin"])).unwrap();
    let off = info["tlv_area"]["tlvs"][1]["offset"].as_u64().unwrap() as usize;
    critical[off] = 0x99;
    e.write("critical.bin", &critical);
    let refused = run(&e.fwu, &e.dir, &["verify", "-k", "k.pem", "critical.bin"]);
    assert!(!refused.status.success());
    for image in ["custom.bin", "critical.bin"] {
        let dump = format!("{image}.json");
        e.imgtool(&["dumpinfo", "-f", "json", "-o", &dump, image]);
        let theirs: Value = serde_json::from_slice(&e.read(&dump)).unwrap();
        let mine: Value = serde_json::from_str(&e.fwu(&["info", "--json", image])).unwrap();
        let mut checked = 0;
        assert_covers(&theirs, &mine, image, &mut checked);
        assert!(checked > 20);
    }
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn identity_values_and_checks_agree_with_imgtool() {
    let e = Env::new();
    e.imgtool(&["keygen", "-k", "k.pem", "-t", "ed25519"]);
    e.payload("app.bin", 0, 500);
    let base = [
        "sign",
        "-k",
        "k.pem",
        "-v",
        "1.0.0",
        "-H",
        "0x20",
        "--pad-header",
        "-S",
        "0x10000",
    ];
    // Values both tools refuse: non-printable names, a class name without a vendor.
    for ids in [
        &["--vid", "a\tb"][..],
        &["--vid", "zero\u{200b}width"],
        &["--vid", "example.com", "--cid", "private\u{e000}use"],
        &["--cid", "bootloader"],
    ] {
        for (tool, exe) in [("imgtool", &e.imgtool), ("fwu-tool", &e.fwu)] {
            let mut a = base.to_vec();
            a.extend_from_slice(ids);
            a.extend_from_slice(&["app.bin", "bad.bin"]);
            let out = run(exe, &e.dir, &a);
            assert!(!out.status.success(), "{tool} accepted {ids:?}");
        }
    }
    // An image imgtool signed with names verifies with fwu-tool given the same names or the
    // UUIDs (as Python computes them), and not for another class.
    let mut a = base.to_vec();
    a.extend_from_slice(&[
        "--vid",
        "example.com",
        "--cid",
        "bootloader",
        "app.bin",
        "ids.bin",
    ]);
    e.imgtool(&a);
    let report = e.fwu(&[
        "verify",
        "-k",
        "k.pem",
        "--vid",
        "example.com",
        "--cid",
        "bootloader",
        "ids.bin",
    ]);
    assert!(
        report.contains("vendor UUID:      cfbff0d1-9375-5685-968c-48ce8b15ae17"),
        "{report}"
    );
    assert!(
        report.contains("class UUID:       74ae8dfa-6d17-59aa-8d41-d526fcf641b4"),
        "{report}"
    );
    e.fwu(&[
        "verify",
        "-k",
        "k.pem",
        "--vid",
        "CFBFF0D193755685968C48CE8B15AE17",
        "--cid",
        "74ae8dfa-6d17-59aa-8d41-d526fcf641b4",
        "ids.bin",
    ]);
    let refused = run(
        &e.fwu,
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
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("image class UUID"));
}

#[test]
#[ignore = "needs imgtool: just interop"]
fn library_signing_matches_imgtool() {
    // Other crates' tests sign through the library: same bytes as imgtool.
    let e = Env::new();
    let key = SigningKey::from_seed([0x5a; 32]);
    e.write("k.pem", key.to_pem());
    e.payload("app.bin", 0, 777);
    e.imgtool(&[
        "sign",
        "-k",
        "k.pem",
        "-v",
        "1.2.3+4",
        "-H",
        "0x200",
        "--pad-header",
        "-S",
        "0x8000",
        "-s",
        "auto",
        "--confirm",
        "app.bin",
        "img.bin",
    ]);
    let mut opts =
        fwu_tool::sign::SignOptions::new(fwu_shared::ImageVersion::new(1, 2, 3, 4), 0x200, 0x8000);
    opts.pad_header = true;
    opts.security_counter = Some(fwu_tool::parse::SecurityCounter::Auto);
    opts.confirm = true;
    let signed = fwu_tool::sign::sign_image(&opts, &e.read("app.bin"), &key).unwrap();
    assert_eq!(signed.bytes, e.read("img.bin"));
}
