//! The serial transport: SMP requests read from a byte stream (a UART, a USB CDC port) with
//! the console framing of [`crate::serial`], answered on the same stream. Generic over
//! `embedded-io-async`'s [`Read`] + [`Write`], so any embassy HAL's UART serves.
//!
//! ```ignore
//! let ids = [0u8];
//! let mut server = Server::new(&updater, &ids, 1024, "my-app 1.2.0");
//! serve::<1100, 512, _, _>(&mut uart, &mut server).await?;
//! ```

use crate::serial::{Decoder, Encoder, MAX_LINE};
use crate::server::{After, Server};
use crate::service::UpdateService;
use core::convert::Infallible;
use embedded_io_async::{Read, Write};

/// Serve SMP on `io` for ever: requests of up to `N - 4` bytes (a decoder buffer of `N`),
/// responses of up to `R` bytes. Returns only on an I/O error. After an OS reset request the
/// answer is sent and flushed, then the service's `request_reboot` is called.
pub async fn serve<const N: usize, const R: usize, T, S>(
    io: &mut T,
    server: &mut Server<'_, S>,
) -> Result<Infallible, T::Error>
where
    T: Read + Write,
    S: UpdateService,
{
    let mut decoder = Decoder::<N>::new();
    let mut input = [0u8; 64];
    let mut response = [0u8; R];
    loop {
        let n = io.read(&mut input).await?;
        for &byte in input.iter().take(n) {
            let Some(Ok(packet)) = decoder.push(byte) else {
                continue;
            };
            let (len, after) = server.handle(packet, &mut response).await;
            if let Some(answer) = response.get(..len).filter(|a| !a.is_empty()) {
                send(io, answer).await?;
            }
            if after == After::Reset {
                server.reset().await;
            }
        }
    }
}

/// Write `packet` as serial SMP lines and flush.
pub async fn send<T: Write>(io: &mut T, packet: &[u8]) -> Result<(), T::Error> {
    let mut encoder = Encoder::new(packet);
    let mut line = [0u8; MAX_LINE];
    while let Some(n) = encoder.next_line(&mut line) {
        io.write_all(line.get(..n).unwrap_or(&[])).await?;
    }
    io.flush().await
}
