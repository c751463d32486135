//! Measures the code size and RAM of the SMP server (`fwu-smp`) alone on the target CPU.
//!
//! The probe links the real [`fwu_smp::transport::serve`] (serial framing, header, CBOR
//! requests and responses, the image and OS management handlers) over a mock UART and a mock
//! update service whose every answer comes from a volatile read of a device register, so that
//! the compiler can neither constant-fold the server's branches nor drop any of its code. The
//! `serve` future is driven by a busy-poll loop with a no-op waker.
//!
//! * Default build: the probe (mocks + SMP server).
//! * `baseline`: the same mocks, driven by a loop that calls each of their methods, without the
//!   server. The flash difference between the two is the server's code (`scripts/smp-size.sh`).
//! * `future-size`: prints the sizes of the `serve` future and of the `Server` on semihosting
//!   and exits (run in QEMU); the RAM figure.
//!
//! The probe never needs to run (except `future-size`): it only has to link.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::{read_volatile, write_volatile};
use cortex_m_rt::entry;
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use fwu_shared::component::ImplInfo;
use fwu_shared::state::StagedImage;
use fwu_shared::{ComponentId, ComponentInfo, Error, FwuResult, ImageVersion};
#[cfg(feature = "baseline")]
use fwu_smp::service::UpdateService;
#[cfg(not(feature = "baseline"))]
use fwu_smp::{server::Server, service::UpdateService, transport::serve};

/// The register every mock value is read from (mps2-an386's UART0 data register).
const SOURCE: usize = 0x4000_4000;
/// The register every mock output is written to (mps2-an386's UART0 state register).
const SINK: usize = 0x4000_4004;
/// The decoder buffer of the measured server: requests of up to 1,024 bytes.
#[cfg(not(feature = "baseline"))]
const DECODER: usize = 1028;
/// The response buffer of the measured server.
#[cfg(not(feature = "baseline"))]
const RESPONSE: usize = 512;

/// A word the compiler cannot know.
fn vol() -> u32 {
    // SAFETY: a device register read; on the boards the probe is built for it is UART0's data
    // register, and the size builds never run.
    unsafe { read_volatile(SOURCE as *const u32) }
}

/// A byte the compiler cannot know.
fn vol_u8() -> u8 {
    vol() as u8
}

/// Write `v` where the compiler cannot drop it.
fn sink(v: u32) {
    // SAFETY: a device register write (UART0's state register); the size builds never run.
    unsafe { write_volatile(SINK as *mut u32, v) }
}

/// An opaque PSA error.
fn error() -> Error {
    Error::from_code(vol() as i32).unwrap_or(Error::GenericError)
}

/// An opaque FWU result (any success or error).
fn result() -> FwuResult {
    fwu_shared::status::from_status(vol() as i32).unwrap_or(Err(Error::GenericError))
}

/// An opaque digest.
fn digest() -> [u8; 32] {
    let mut d = [0u8; 32];
    d.iter_mut().for_each(|b| *b = vol_u8());
    d
}

/// An opaque version.
fn version() -> ImageVersion {
    ImageVersion {
        major: vol_u8(),
        minor: vol_u8(),
        patch: vol() as u16,
        build: vol(),
    }
}

/// A mock UART: reads bytes from [`SOURCE`], writes them to [`SINK`].
pub struct Uart;

impl ErrorType for Uart {
    type Error = ErrorKind;
}

impl Read for Uart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let n = vol() as usize;
        if n > buf.len() {
            return Err(ErrorKind::Other);
        }
        buf.iter_mut().take(n).for_each(|b| *b = vol_u8());
        Ok(n)
    }
}

impl Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if vol() == 0 {
            return Err(ErrorKind::Other);
        }
        buf.iter().for_each(|&b| sink(u32::from(b)));
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        if vol() == 0 {
            Err(ErrorKind::Other)
        } else {
            Ok(())
        }
    }
}

/// A mock update service: every answer is read from [`SOURCE`], every input written to [`SINK`].
pub struct Service;

impl UpdateService for Service {
    const WRITE_ALIGN: usize = 4;

    async fn query(&self, c: ComponentId) -> Result<ComponentInfo, Error> {
        sink(u32::from(c));
        if vol() == 0 {
            return Err(error());
        }
        Ok(ComponentInfo {
            state: vol_u8(),
            error: vol() as i32,
            version: version(),
            max_size: vol(),
            flags: vol(),
            location: vol(),
            impl_: ImplInfo {
                resume_offset: vol(),
                staged_size: vol(),
                staged_digest: digest(),
            },
        })
    }

    async fn active_digest(&self, c: ComponentId) -> Result<Option<[u8; 32]>, Error> {
        sink(u32::from(c));
        match vol() {
            0 => Err(error()),
            1 => Ok(None),
            _ => Ok(Some(digest())),
        }
    }

    async fn staged_image(&self, c: ComponentId) -> Result<Option<StagedImage>, Error> {
        sink(u32::from(c));
        match vol() {
            0 => Err(error()),
            1 => Ok(None),
            _ => Ok(Some(StagedImage {
                size: vol(),
                digest: digest(),
                version: version(),
                security_counter: vol(),
                ..StagedImage::default()
            })),
        }
    }

    async fn start(&self, c: ComponentId) -> FwuResult {
        sink(u32::from(c));
        result()
    }

    async fn write(&self, c: ComponentId, offset: usize, block: &[u8]) -> FwuResult {
        sink(u32::from(c));
        sink(offset as u32);
        block.iter().for_each(|&b| sink(u32::from(b)));
        result()
    }

    async fn finish(&self, c: ComponentId) -> FwuResult {
        sink(u32::from(c));
        result()
    }

    async fn cancel(&self, c: ComponentId) -> FwuResult {
        sink(u32::from(c));
        result()
    }

    async fn clean(&self, c: ComponentId) -> FwuResult {
        sink(u32::from(c));
        result()
    }

    async fn install(&self) -> FwuResult {
        result()
    }

    async fn accept(&self) -> FwuResult {
        result()
    }

    async fn request_reboot(&self) -> FwuResult {
        result()
    }
}

/// Poll `fut` until it completes (busy loop, no-op waker).
#[cfg(any(feature = "baseline", not(feature = "future-size")))]
fn block_on<F: core::future::Future>(fut: F) -> F::Output {
    use core::task::{Context, Poll, Waker};
    let mut fut = core::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// The image numbers the server manages (two components, as on the QEMU boards).
#[cfg(not(feature = "baseline"))]
static IMAGES: [ComponentId; 2] = [0, 1];

/// The measured server: `serve::<1028, 512>` over the mocks, until a UART error.
#[cfg(not(any(feature = "baseline", feature = "future-size")))]
fn run() {
    let mut uart = Uart;
    let svc = Service;
    let mut server = Server::new(&svc, &IMAGES, (DECODER - 4) as u16, "smp-probe 0.1.0");
    let Err(e) = block_on(serve::<DECODER, RESPONSE, _, _>(&mut uart, &mut server));
    sink(e as u32);
}

/// The RAM figure: the sizes of the `serve` future and of the `Server`, on semihosting.
#[cfg(all(not(feature = "baseline"), feature = "future-size"))]
fn run() {
    use cortex_m_semihosting::{debug, hio};
    let mut uart = Uart;
    let svc = Service;
    let mut server = Server::new(&svc, &IMAGES, (DECODER - 4) as u16, "smp-probe 0.1.0");
    let server_bytes = core::mem::size_of_val(&server);
    let fut = serve::<DECODER, RESPONSE, _, _>(&mut uart, &mut server);
    let future_bytes = core::mem::size_of_val(&fut);
    drop(fut);
    let mut line = [0u8; 96];
    let mut at = 0;
    for part in [
        Part::Text("smp-probe: serve future "),
        Part::Num(future_bytes),
        Part::Text(" bytes server "),
        Part::Num(server_bytes),
        Part::Text(" bytes\n"),
    ] {
        at = part.write(&mut line, at);
    }
    let ok = hio::hstdout()
        .and_then(|mut out| out.write_all(line.get(..at).unwrap_or(&[])))
        .is_ok();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
}

/// A piece of the `future-size` line (no `core::fmt`).
#[cfg(all(not(feature = "baseline"), feature = "future-size"))]
enum Part {
    /// Literal text.
    Text(&'static str),
    /// A decimal number.
    Num(usize),
}

#[cfg(all(not(feature = "baseline"), feature = "future-size"))]
impl Part {
    /// Append this part to `line` at `at`; the new end.
    fn write(&self, line: &mut [u8], mut at: usize) -> usize {
        let mut digits = [0u8; 20];
        let bytes: &[u8] = match *self {
            Part::Text(s) => s.as_bytes(),
            Part::Num(mut n) => {
                let mut i = digits.len();
                loop {
                    i -= 1;
                    if let Some(d) = digits.get_mut(i) {
                        *d = b'0' + (n % 10) as u8;
                    }
                    n /= 10;
                    if n == 0 || i == 0 {
                        break;
                    }
                }
                digits.get(i..).unwrap_or(&[])
            }
        };
        for &b in bytes {
            if let Some(slot) = line.get_mut(at) {
                *slot = b;
                at += 1;
            }
        }
        at
    }
}

/// Baseline: the same mocks, every method called and every output consumed, no server.
#[cfg(feature = "baseline")]
fn run() {
    let mut uart = Uart;
    let svc = Service;
    let Err(e) = block_on(drive(&mut uart, &svc));
    sink(e as u32);
}

/// The baseline's loop: what `serve` asks of the UART and the service, without the protocol.
#[cfg(feature = "baseline")]
async fn drive(io: &mut Uart, svc: &Service) -> Result<core::convert::Infallible, ErrorKind> {
    let mut input = [0u8; 64];
    loop {
        let n = io.read(&mut input).await?;
        let block = input.get(..n).unwrap_or(&[]);
        let c = black_box(vol_u8());
        let _ = black_box(svc.query(c).await);
        let _ = black_box(svc.active_digest(c).await);
        let _ = black_box(svc.staged_image(c).await);
        let _ = black_box(svc.start(c).await);
        let _ = black_box(svc.write(c, black_box(n), block).await);
        let _ = black_box(svc.finish(c).await);
        let _ = black_box(svc.cancel(c).await);
        let _ = black_box(svc.clean(c).await);
        let _ = black_box(svc.install().await);
        let _ = black_box(svc.accept().await);
        let _ = black_box(svc.request_reboot().await);
        let _ = black_box(Service::WRITE_ALIGN);
        io.write_all(block).await?;
        io.flush().await?;
    }
}

/// Work both size builds do on opaque data: copy, move, fill and compare memory, so that the
/// memory functions (`memcpy`, `memmove`, `memset`, `memcmp`) are in both and cancel out: any
/// firmware links them, the server's figure should not count them.
fn memory_work() {
    let mut a = black_box([0u8; 64]);
    let mut b = black_box([0u32; 16]);
    let mut d = black_box([0u64; 8]);
    let n = black_box(a.len());
    a.copy_within(black_box(0)..black_box(32), black_box(8));
    b.fill(black_box(0));
    d.fill(black_box(0));
    let c = black_box(a);
    if let (Some(x), Some(y)) = (a.get(..n), c.get(..n)) {
        sink(u32::from(x == y));
    }
    let _ = black_box((b, d));
}

#[entry]
fn main() -> ! {
    memory_work();
    run();
    loop {
        cortex_m::asm::nop();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::nop();
    }
}
