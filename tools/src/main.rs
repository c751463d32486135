//! `fwu-tool`: key generation, imgtool-compatible signing, verification and inspection of fwu
//! (MCUboot-format) images. Flags mirror `imgtool`'s; errors are one `error: ...` line on
//! stderr with a non-zero exit code.

use clap::{Args, Parser, Subcommand, ValueEnum};
use fwu_shared::image::ImageIdentity;
use fwu_shared::version::Dependency;
use fwu_shared::ImageVersion;
use fwu_tool::getpub::{self, KeyFormat};
use fwu_tool::parse::{self, SecurityCounter};
use fwu_tool::sign::{sign_image, SignOptions};
use fwu_tool::trailer::TrailerLayout;
use fwu_tool::uuid::{self as ids, UuidValue};
use fwu_tool::{info, verify, Error};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fwu-tool",
    version,
    about = "Sign, verify and inspect fwu firmware images (MCUboot format, imgtool-compatible)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 private key (PKCS#8 PEM, as `imgtool keygen -t ed25519`).
    Keygen {
        /// Key file to create (never overwritten).
        #[arg(short, long, value_name = "FILE")]
        key: PathBuf,
        /// Key type (only ed25519; accepted for imgtool compatibility).
        #[arg(short = 't', long = "type", value_enum, default_value = "ed25519")]
        key_type: KeyType,
    },
    /// Print the public key of a key file.
    Getpub {
        /// Private or public key file.
        #[arg(short, long, value_name = "FILE")]
        key: PathBuf,
        /// Output format.
        #[arg(
            short,
            long,
            value_enum,
            default_value = "rust",
            short_alias = 'e',
            alias = "encoding"
        )]
        lang: Lang,
        /// Name of the Rust constant (`--lang rust`).
        #[arg(long, default_value = getpub::DEFAULT_CONST_NAME, value_parser = parse_const_name)]
        name: String,
        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Sign a raw binary (same options and output as `imgtool sign`).
    Sign(Box<SignArgs>),
    /// Verify an image's hash and signature with a key (and, with --vid/--cid, its identity).
    Verify {
        /// Private or public key file.
        #[arg(short, long, value_name = "FILE")]
        key: PathBuf,
        #[command(flatten)]
        ids: IdArgs,
        /// Signed image.
        image: PathBuf,
    },
    /// Describe an image: header, TLVs, trailer (accepts images fwu would reject).
    Info {
        /// Print JSON (field names as `imgtool dumpinfo -f json`).
        #[arg(long)]
        json: bool,
        /// Image file.
        image: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyType {
    Ed25519,
}

#[derive(Clone, Copy, ValueEnum)]
enum Lang {
    /// Rust source for the built-in key list.
    #[value(alias = "lang-rust")]
    Rust,
    /// SubjectPublicKeyInfo PEM.
    Pem,
    /// The 32 key bytes in hex.
    Raw,
}

#[derive(Args)]
struct SignArgs {
    /// Private key (Ed25519 PKCS#8 PEM).
    #[arg(short, long, value_name = "FILE")]
    key: PathBuf,
    /// Image version MAJ[.MIN[.REV[+BUILD]]].
    #[arg(short = 'v', long, value_parser = parse::parse_version)]
    version: ImageVersion,
    /// Header size, at least 32 (decimal or 0x hex).
    #[arg(short = 'H', long, value_parser = parse::parse_header_size)]
    header_size: u16,
    /// Prepend the header (filled with the erased value) instead of overwriting the input's
    /// zeroed first header-size bytes.
    #[arg(long)]
    pad_header: bool,
    /// Slot size (the secondary slot's, if they differ).
    #[arg(short = 'S', long, value_parser = parse::parse_u32)]
    slot_size: u32,
    /// Security counter: a number, or `auto` (major<<24 | minor<<16 | revision).
    #[arg(short = 's', long, value_parser = parse::parse_security_counter, allow_negative_numbers = true)]
    security_counter: Option<SecurityCounter>,
    /// Dependencies "(ID,VERSION), ...".
    #[arg(short = 'd', long, value_parser = parse_dependencies)]
    dependencies: Option<DependencyList>,
    /// Flash write alignment used by the swap status area.
    #[arg(long, value_parser = parse::parse_align, default_value = "1")]
    align: u32,
    /// Maximum flash alignment (default max(8, align)).
    #[arg(long, value_parser = parse::parse_max_align)]
    max_align: Option<u32>,
    /// Erased value of the flash: 0 or 0xff.
    #[arg(short = 'R', long, value_parser = parse::parse_erased_val)]
    erased_val: Option<u8>,
    /// Sectors the swap status area must cover.
    #[arg(short = 'M', long, default_value_t = fwu_tool::trailer::DEFAULT_MAX_SECTORS)]
    max_sectors: u32,
    /// Pad to the slot size and add the trailer magic.
    #[arg(long)]
    pad: bool,
    /// Like --pad, and mark the image confirmed (image_ok).
    #[arg(long)]
    confirm: bool,
    /// Reserve the overwrite-only trailer instead of the swap one.
    #[arg(long)]
    overwrite_only: bool,
    /// RAM load address (sets the RAM_LOAD flag).
    #[arg(short = 'L', long, value_parser = parse::parse_u32)]
    load_addr: Option<u32>,
    #[command(flatten)]
    ids: IdArgs,
    /// Raw input binary.
    infile: PathBuf,
    /// Signed output image.
    outfile: PathBuf,
}

/// `--vid`/`--cid`, as imgtool's: a raw UUID, 32 hex digits, or a printable name (a version 5
/// UUID: the vendor's in the DNS namespace, the class's in the vendor UUID).
#[derive(Args)]
struct IdArgs {
    /// Vendor UUID: a UUID, 32 hex digits, or a domain name (UUIDv5 in the DNS namespace).
    #[arg(long, value_name = "VALUE", value_parser = ids::parse_uuid_value)]
    vid: Option<UuidValue>,
    /// Image class UUID: a UUID, 32 hex digits, or a class name (UUIDv5 in the vendor UUID,
    /// so a name needs --vid).
    #[arg(long, value_name = "VALUE", value_parser = ids::parse_uuid_value)]
    cid: Option<UuidValue>,
}

impl IdArgs {
    fn identity(&self) -> Result<ImageIdentity, Error> {
        ids::resolve_identity(self.vid.as_ref(), self.cid.as_ref()).map_err(Error::Identity)
    }
}

#[derive(Clone)]
struct DependencyList(Vec<Dependency>);

fn parse_dependencies(text: &str) -> Result<DependencyList, parse::ParseError> {
    parse::parse_dependencies(text).map(DependencyList)
}

fn parse_const_name(text: &str) -> Result<String, String> {
    if getpub::is_valid_const_name(text) {
        Ok(text.to_string())
    } else {
        Err(format!("'{text}' is not a valid Rust constant name"))
    }
}

/// What a successful command prints.
enum Output {
    Text(String),
    Nothing,
}

fn run(command: Command) -> Result<Output, Error> {
    match command {
        Command::Keygen { key, key_type: _ } => {
            let k = fwu_tool::keygen(&key)?;
            Ok(Output::Text(format!(
                "wrote {} (key hash {})\n",
                key.display(),
                fwu_tool::hex::hex(&k.public_key().key_hash())
            )))
        }
        Command::Getpub {
            key,
            lang,
            name,
            output,
        } => {
            let public = fwu_tool::load_key(&key)?.public_key();
            let format = match lang {
                Lang::Rust => KeyFormat::Rust,
                Lang::Pem => KeyFormat::Pem,
                Lang::Raw => KeyFormat::Raw,
            };
            let text = getpub::render(&public, format, &name);
            match output {
                Some(path) => {
                    fwu_tool::write_file(&path, text.as_bytes(), "write output file")?;
                    Ok(Output::Nothing)
                }
                None => Ok(Output::Text(text)),
            }
        }
        Command::Sign(args) => sign(&args),
        Command::Verify { key, ids, image } => {
            let identity = ids.identity()?;
            let public = fwu_tool::load_key(&key)?.public_key();
            let bytes = fwu_tool::read_file(&image, "read image")?;
            let scanned = verify::verify_image_for(&bytes, &public, identity)?;
            Ok(Output::Text(verify::report(&scanned)))
        }
        Command::Info { json, image } => {
            let bytes = fwu_tool::read_file(&image, "read image")?;
            let described = info::describe(&bytes).map_err(Error::Info)?;
            let name = file_name(&image);
            let text = if json {
                format!("{:#}\n", described.to_json(&name))
            } else {
                described.to_text(&name)
            };
            Ok(Output::Text(text))
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn sign(args: &SignArgs) -> Result<Output, Error> {
    fwu_tool::reject_hex(&args.infile)?;
    fwu_tool::reject_hex(&args.outfile)?;
    let identity = args.ids.identity()?;
    let input = fwu_tool::read_file(&args.infile, "read input file")?;
    let key = fwu_tool::load_signing_key(&args.key)?;
    let mut opts = SignOptions::new(args.version, args.header_size, args.slot_size);
    opts.pad_header = args.pad_header;
    opts.security_counter = args.security_counter;
    opts.dependencies = args
        .dependencies
        .as_ref()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    opts.trailer = TrailerLayout::new(
        args.align,
        args.max_align,
        args.max_sectors,
        args.overwrite_only,
    );
    opts.erased_val = args.erased_val.unwrap_or(0xff);
    opts.pad = args.pad;
    opts.confirm = args.confirm;
    opts.load_addr = args.load_addr.unwrap_or(0);
    opts.vendor_id = identity.vendor_id;
    opts.class_id = identity.class_id;
    if opts.dependencies.len() > fwu_shared::version::MAX_DEPENDENCIES {
        eprintln!(
            "warning: {} dependencies; fwu accepts at most {}",
            opts.dependencies.len(),
            fwu_shared::version::MAX_DEPENDENCIES
        );
    }
    if opts.load_addr != 0 {
        eprintln!("warning: --load-addr sets the RAM_LOAD flag, which fwu does not support");
    }
    let signed = sign_image(&opts, &input, &key)?;
    fwu_tool::write_file(&args.outfile, &signed.bytes, "write output file")?;
    Ok(Output::Nothing)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One line: clap's first paragraph ("error: ..." and, for missing arguments, their
            // list), joined.
            let rendered = e.render().to_string();
            let first: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            eprintln!("{}", first.join(" "));
            return ExitCode::from(2);
        }
    };
    match run(cli.command) {
        Ok(Output::Text(text)) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Ok(Output::Nothing) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
