//! The embassy demo application's flow, shared by both boards (feature `app`): the update
//! service ([`fwu_updater::Updater`]) over [`EmulatedFlash`], a watchdog feeder, the trial
//! self-test, and on UART0 both an SMP server ([`fwu_smp`]: stock mcumgr tools such as
//! `smpmgr` and `smpclient` update the device) and a text line protocol (below) through which
//! the demo and fault scripts drive updates. Lines opened by SMP's `0x06 0x09` / `0x04 0x14`
//! go to the SMP server, the others are commands.
//!
//! # Console (device → host), one line each
//! ```text
//! fwu-app: version=2.0.0 selftest=pass boots=3 ops=412
//! fwu-app: states state[0]=TRIAL error[0]=0 active[0]=2.0.0+0 state[1]=READY error[1]=0 active[1]=1.0.0+0
//! fwu-app: selftest result=pass
//! fwu-app: accept -> PSA_SUCCESS
//! fwu-app: ready
//! ```
//! Every operation prints `fwu-app: <op> [args] -> <PSA status name>`.
//!
//! # Commands (host → device), text lines ending in `\n`
//! * `QUERY`: `query c=N state=.. error=.. active=.. resume=.. staged_size=..` per component,
//!   then the `states` line;
//! * `UPDATE <c> <size>`: `start`, then the image in blocks of [`CHUNK`] bytes: the device
//!   prints `fwu-app: send off=O len=L` before it reads each block, and
//!   `fwu-app: write c=N off=O -> <status>` after writing it (the host sends a block only after
//!   the `send` line, so the UART's one-byte receive buffer never overflows); on an error the
//!   transfer stops (`fwu-app: update aborted`); after the last block, `finish`;
//! * `LOAD <c> <path>`: the same with the image read from a host file through semihosting
//!   (QEMU `-semihosting-config enable=on`; much faster than the UART, for fault campaigns),
//!   with a `write` line per block and `load c=N bytes=B ms=T` (start to finish, SysTick
//!   time) at the end;
//! * `INSTALL`, `REBOOT` (`request_reboot`), `ACCEPT`, `REJECT <code>`, `CLEAN <c>`,
//!   `CANCEL <c>`;
//! * after each command: `fwu-app: ready`.
//!
//! At boot, if component 0 is TRIAL the self-test runs: [`SelfTest::Pass`] accepts,
//! [`SelfTest::Fail`] rejects with `PSA_ERROR_GENERIC_ERROR` and requests a reboot,
//! [`SelfTest::Hang`] spins without feeding the watchdog (the bootloader's trial watchdog
//! resets the machine and the bootloader reverts), [`SelfTest::Host`] leaves the trial to the
//! host (an SMP `confirm`, or a reboot that rolls it back).

use crate::console::Uart;
use crate::flash::EmulatedFlash;
use crate::map::{layout, MemoryMap};
use crate::session::Session;
use crate::watchdog::Watchdog;
use core::fmt::Write as _;
use embassy_futures::{join::join, yield_now};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Duration, Timer};
use fwu_shared::image::{KeyRing, PublicKey};
use fwu_shared::version::BuildNumber;
use fwu_shared::{ComponentId, FwuResult, ImageVersion, Success};
use fwu_updater::{Config, Error, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};

/// Bytes per block of an `UPDATE` transfer (one `write` call each).
pub const CHUNK: usize = PSA_FWU_MAX_WRITE_SIZE;
/// Watchdog feeding period (the trial watchdog expires after 2 s, its NMI after 1 s).
pub const FEED_PERIOD_MS: u64 = 100;
/// Longest command line.
const LINE: usize = 256;
/// Largest SMP request packet (MCUmgr parameters' `buf_size`).
const SMP_BUF: usize = 1024;
/// Largest SMP response packet (the image state of two components fits in 400 bytes).
const SMP_RESPONSE: usize = 512;
/// Error code the failing self-test rejects with.
pub const REJECT_CODE: Error = Error::GenericError;

/// Outcome of the trial self-test (a build-time choice of the demo images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Accept the trial image.
    Pass,
    /// Reject it and reboot.
    Fail,
    /// Stop feeding the watchdog and spin.
    Hang,
    /// Leave the decision to the host (it confirms over SMP, or a reboot rolls back).
    Host,
}

impl SelfTest {
    /// `pass`, `fail`, `hang` or `host` (anything else: pass).
    pub const fn parse(s: Option<&str>) -> SelfTest {
        match s {
            Some(v) => match v.as_bytes() {
                b"fail" => SelfTest::Fail,
                b"hang" => SelfTest::Hang,
                b"host" => SelfTest::Host,
                _ => SelfTest::Pass,
            },
            None => SelfTest::Pass,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SelfTest::Pass => "pass",
            SelfTest::Fail => "fail",
            SelfTest::Hang => "hang",
            SelfTest::Host => "host",
        }
    }
}

/// The board's reset: `SYSRESETREQ`.
pub struct ScbReset;

impl ResetHook for ScbReset {
    fn reset(&mut self) {
        crate::reset()
    }
}

type Service = Updater<'static, NoopRawMutex, EmulatedFlash, ScbReset>;

const STATE_NAMES: [&str; 8] = [
    "READY",
    "WRITING",
    "CANDIDATE",
    "STAGED",
    "FAILED",
    "TRIAL",
    "REJECTED",
    "UPDATED",
];

fn state_name(s: u8) -> &'static str {
    STATE_NAMES
        .get(usize::from(s))
        .copied()
        .unwrap_or("UNKNOWN")
}

fn status(r: FwuResult) -> &'static str {
    match r {
        Ok(Success::Done) => "PSA_SUCCESS",
        Ok(Success::Reboot) => "PSA_SUCCESS_REBOOT",
        Ok(Success::Restart) => "PSA_SUCCESS_RESTART",
        Err(e) => e.name(),
    }
}

struct V(ImageVersion);

impl core::fmt::Display for V {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let v = self.0;
        write!(f, "{}.{}.{}+{}", v.major, v.minor, v.patch, v.build)
    }
}

struct App {
    con: Uart,
}

impl App {
    fn line(&mut self, args: core::fmt::Arguments<'_>) {
        let _ = self.con.write_str("fwu-app: ");
        let _ = self.con.write_fmt(args);
        let _ = self.con.write_str("\n");
    }

    async fn byte(&mut self) -> u8 {
        loop {
            // Poll a few times before yielding: the next byte usually follows quickly.
            for _ in 0..64 {
                if let Some(b) = self.con.read_byte() {
                    return b;
                }
            }
            yield_now().await;
        }
    }

    /// Serve the host for ever on UART0: SMP packets (the mcumgr serial framing: lines opened by
    /// `0x06 0x09` / `0x04 0x14`, answered by [`fwu_smp`]) and the text commands above, told
    /// apart by the first byte of each line.
    async fn serve(&mut self, fwu: &Service, version: &str) -> ! {
        let ids: [ComponentId; 2] = [0, 1];
        let mut smp = fwu_smp::server::Server::new(fwu, &ids, SMP_BUF as u16, version);
        let mut decoder = fwu_smp::serial::Decoder::<{ SMP_BUF + 4 }>::new();
        let mut response = [0u8; SMP_RESPONSE];
        let mut buf = [0u8; LINE];
        let mut n = 0;
        let mut line_start = true;
        let mut smp_line = false;
        self.line(format_args!("ready"));
        loop {
            let b = self.byte().await;
            if let Some(Ok(packet)) = decoder.push(b) {
                let (len, after) = smp.handle(packet, &mut response).await;
                let mut lines = fwu_smp::serial::Encoder::new(response.get(..len).unwrap_or(&[]));
                let mut out = [0u8; fwu_smp::serial::MAX_LINE];
                while let Some(k) = lines.next_line(&mut out) {
                    self.con.write_bytes(out.get(..k).unwrap_or(&[]));
                }
                if after == fwu_smp::server::After::Reset {
                    self.line(format_args!("smp reset"));
                    smp.reset().await;
                }
            }
            if line_start {
                smp_line = b == fwu_smp::serial::START[0] || b == fwu_smp::serial::CONTINUE[0];
            }
            line_start = b == b'\n';
            if smp_line {
                continue;
            }
            match b {
                b'\n' => {
                    let line = buf
                        .get(..n)
                        .and_then(|l| core::str::from_utf8(l).ok())
                        .unwrap_or("")
                        .trim();
                    self.command(fwu, line).await;
                    n = 0;
                    self.line(format_args!("ready"));
                }
                b'\r' => {}
                _ => {
                    if let Some(slot) = buf.get_mut(n) {
                        *slot = b;
                        n += 1;
                    }
                }
            }
        }
    }

    async fn states(&mut self, fwu: &Service) {
        let _ = self.con.write_str("fwu-app: states");
        for c in 0..2u8 {
            match fwu.query(c).await {
                Ok(i) => {
                    let _ = write!(
                        self.con,
                        " state[{c}]={} error[{c}]={} active[{c}]={}",
                        state_name(i.state),
                        i.error,
                        V(i.version)
                    );
                }
                Err(e) => {
                    let _ = write!(self.con, " state[{c}]=?{}", e.name());
                }
            }
        }
        let _ = self.con.write_str("\n");
    }

    async fn query(&mut self, fwu: &Service) {
        for c in 0..2u8 {
            match fwu.query(c).await {
                Ok(i) => self.line(format_args!(
                    "query c={c} state={} error={} active={} resume={} staged_size={} -> PSA_SUCCESS",
                    state_name(i.state),
                    i.error,
                    V(i.version),
                    i.impl_.resume_offset,
                    i.impl_.staged_size
                )),
                Err(e) => self.line(format_args!("query c={c} -> {}", e.name())),
            }
        }
        self.states(fwu).await;
    }

    async fn update(&mut self, fwu: &Service, c: ComponentId, size: usize) {
        let r = fwu.start(c, None).await;
        self.line(format_args!("start c={c} size={size} -> {}", status(r)));
        if r.is_err() {
            return;
        }
        let mut block = [0u8; CHUNK];
        let mut off = 0;
        while off < size {
            let len = (size - off).min(CHUNK);
            self.line(format_args!("send off={off} len={len}"));
            for slot in block.iter_mut().take(len) {
                *slot = self.byte().await;
            }
            let r = fwu.write(c, off, block.get(..len).unwrap_or(&[])).await;
            self.line(format_args!("write c={c} off={off} -> {}", status(r)));
            if r.is_err() {
                self.line(format_args!("update aborted"));
                return;
            }
            off += len;
        }
        let r = fwu.finish(c).await;
        self.line(format_args!("finish c={c} -> {}", status(r)));
    }

    async fn load(&mut self, fwu: &Service, c: ComponentId, path: &str) {
        let Some(fd) = host_open(path) else {
            self.line(format_args!("load error=open"));
            return;
        };
        let t0 = embassy_time::Instant::now();
        // SAFETY: SYS_FLEN on the handle just opened.
        let size = unsafe { cortex_m_semihosting::syscall!(FLEN, fd) };
        let r = fwu.start(c, None).await;
        self.line(format_args!("start c={c} size={size} -> {}", status(r)));
        let mut block = [0u8; CHUNK];
        let mut off = 0;
        while r.is_ok() && off < size {
            let len = (size - off).min(CHUNK);
            // SAFETY: SYS_READ into `block`, at most its length.
            let left = unsafe { cortex_m_semihosting::syscall!(READ, fd, block.as_mut_ptr(), len) };
            if left != 0 {
                self.line(format_args!("load error=read"));
                break;
            }
            let r = fwu.write(c, off, block.get(..len).unwrap_or(&[])).await;
            self.line(format_args!("write c={c} off={off} -> {}", status(r)));
            if r.is_err() {
                self.line(format_args!("update aborted"));
                break;
            }
            off += len;
            yield_now().await;
        }
        // SAFETY: SYS_CLOSE of the handle opened above.
        unsafe { cortex_m_semihosting::syscall!(CLOSE, fd) };
        if off == size {
            let r = fwu.finish(c).await;
            self.line(format_args!("finish c={c} -> {}", status(r)));
            // Virtual milliseconds (under `-icount shift=0`: millions of instructions).
            let ms = t0.elapsed().as_millis();
            self.line(format_args!("load c={c} bytes={size} ms={ms}"));
        }
    }

    async fn command(&mut self, fwu: &Service, line: &str) {
        if let Some(rest) = line.strip_prefix("LOAD ") {
            let (c, path) = rest.trim().split_once(' ').unwrap_or(("", ""));
            match c.parse() {
                Ok(c) if !path.is_empty() => self.load(fwu, c, path.trim()).await,
                _ => self.line(format_args!("error bad-arguments")),
            }
            return;
        }
        let mut words = line.split_ascii_whitespace();
        let cmd = words.next().unwrap_or("");
        let a: Option<i64> = words.next().and_then(|w| w.parse().ok());
        let b: Option<usize> = words.next().and_then(|w| w.parse().ok());
        let comp = a.and_then(|v| u8::try_from(v).ok());
        match (cmd, comp, b) {
            ("QUERY", _, _) => self.query(fwu).await,
            ("UPDATE", Some(c), Some(size)) => self.update(fwu, c, size).await,
            ("INSTALL", _, _) => {
                let r = fwu.install().await;
                self.line(format_args!("install -> {}", status(r)));
            }
            ("REBOOT", _, _) => {
                self.line(format_args!("request_reboot"));
                let r = fwu.request_reboot().await;
                self.line(format_args!("request_reboot -> {}", status(r)));
            }
            ("ACCEPT", _, _) => {
                let r = fwu.accept().await;
                self.line(format_args!("accept -> {}", status(r)));
            }
            ("REJECT", _, _) => {
                let code = a.and_then(|v| i32::try_from(v).ok()).unwrap_or(0);
                let r = fwu.reject(code).await;
                self.line(format_args!("reject code={code} -> {}", status(r)));
            }
            ("CLEAN", Some(c), _) => {
                let r = fwu.clean(c).await;
                self.line(format_args!("clean c={c} -> {}", status(r)));
            }
            ("CANCEL", Some(c), _) => {
                let r = fwu.cancel(c).await;
                self.line(format_args!("cancel c={c} -> {}", status(r)));
            }
            ("", _, _) => {}
            _ => self.line(format_args!("error unknown-command")),
        }
    }
}

/// Open a host file for reading through semihosting.
fn host_open(path: &str) -> Option<usize> {
    let mut z = [0u8; LINE];
    z.get_mut(..path.len())?.copy_from_slice(path.as_bytes());
    if path.len() >= z.len() {
        return None;
    }
    // SAFETY: SYS_OPEN with a NUL-terminated path of the given length.
    let fd = unsafe {
        cortex_m_semihosting::syscall!(
            OPEN,
            z.as_ptr(),
            cortex_m_semihosting::nr::open::R_BINARY,
            path.len()
        )
    };
    (fd != usize::MAX).then_some(fd)
}

async fn feed_watchdog(map: &MemoryMap) {
    // SAFETY: the machine's watchdog; only this task touches it after the hand-over.
    let mut wdog = unsafe { Watchdog::new(map.watchdog, map.watchdog_hz) };
    loop {
        wdog.feed();
        Timer::after(Duration::from_millis(FEED_PERIOD_MS)).await;
    }
}

/// Run the demo application: print the version and the states, run the self-test on a trial,
/// then serve the host's commands forever, feeding the watchdog meanwhile.
///
/// Call from the embassy main task after [`crate::time::init`].
pub async fn run(
    map: &'static MemoryMap,
    keys: &'static [PublicKey],
    version: &str,
    selftest: SelfTest,
) -> ! {
    // SAFETY: the console UART of this machine.
    let mut con = unsafe { Uart::new(map.uart0) };
    con.init();
    let mut app = App { con };
    // SAFETY: the session block is reserved by every program's memory.x.
    let (session, _) = unsafe { Session::attach(map.session_block) };
    let s = session.stats();
    app.line(format_args!(
        "version={version} selftest={} boots={} ops={}",
        selftest.name(),
        s.boots,
        s.ops
    ));
    // SAFETY: the flash file is mapped at `map.flash_base`; the service is its only writer.
    let flash = unsafe { EmulatedFlash::new(map, session) };
    let config = Config {
        layout: layout(),
        keys: KeyRing::new(keys).with_identity(crate::identity::IDENTITY),
        build_number: BuildNumber::Ignore,
    };
    let service = match Updater::new(flash, config, ScbReset, fwu_updater::StoredCounters).await {
        Ok(s) => s,
        Err(e) => {
            app.line(format_args!("init-error {e:?}"));
            crate::fatal(map, format_args!("update service init"))
        }
    };
    let fwu: &Service = &service;
    let main = async {
        app.states(fwu).await;
        if fwu.query(0).await.map(|i| i.state) == Ok(fwu_shared::State::Trial as u8) {
            app.line(format_args!("selftest result={}", selftest.name()));
            match selftest {
                SelfTest::Pass => {
                    let r = fwu.accept().await;
                    app.line(format_args!("accept -> {}", status(r)));
                    app.states(fwu).await;
                }
                SelfTest::Fail => {
                    let code = REJECT_CODE as i32;
                    let r = fwu.reject(code).await;
                    app.line(format_args!("reject code={code} -> {}", status(r)));
                    app.line(format_args!("request_reboot"));
                    let r = fwu.request_reboot().await;
                    app.line(format_args!("request_reboot -> {}", status(r)));
                }
                SelfTest::Hang => {
                    app.line(format_args!("hanging without feeding the watchdog"));
                    loop {
                        cortex_m::asm::nop();
                    }
                }
                SelfTest::Host => app.line(format_args!("trial: waiting for the host")),
            }
        }
        app.serve(fwu, version).await
    };
    join(main, feed_watchdog(map)).await;
    crate::fatal(map, format_args!("fwu-app: main loop ended"))
}
