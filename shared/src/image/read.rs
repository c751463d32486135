//! Drivers that run the [`Scanner`] over the places an image can live: a byte slice (tools,
//! fuzzing), a blocking NOR flash (bootloader) and an async NOR flash (update service). Each one
//! reads through the caller's buffer, so RAM use is the buffer plus the scanner state.

use super::keys::KeyRing;
use super::scan::{ScannedImage, Scanner};
use super::ImageError;
use embedded_storage::nor_flash::ReadNorFlash;
use embedded_storage_async::nor_flash::ReadNorFlash as AsyncReadNorFlash;

/// Largest flash `READ_SIZE` the unaligned-read path supports.
pub const MAX_READ_SIZE: usize = 32;

/// Scan an image held in memory; the slot is `slot_size` bytes (at most `image.len()` is read).
pub fn scan_slice(image: &[u8], slot_size: u32) -> Result<ScannedImage, ImageError> {
    let mut scanner = Scanner::new(slot_size);
    while let Some(req) = scanner.request() {
        let start = usize::try_from(req.offset).map_err(|_| ImageError::Truncated)?;
        let len = usize::try_from(req.len).map_err(|_| ImageError::Truncated)?;
        let end = start.checked_add(len).ok_or(ImageError::Truncated)?;
        let bytes = image.get(start..end).ok_or(ImageError::Truncated)?;
        scanner.feed(bytes)?;
    }
    scanner.finish()
}

/// Scan and authenticate an image held in memory.
pub fn verify_slice(
    image: &[u8],
    slot_size: u32,
    keys: &KeyRing<'_>,
) -> Result<ScannedImage, ImageError> {
    let scanned = scan_slice(image, slot_size)?;
    keys.authenticate(&scanned)?;
    Ok(scanned)
}

/// Where in `buf` a read of `req` lands, and how many bytes (the buffer bounds hashing chunks).
fn chunk_len(req_len: u32, exact: bool, buf_len: usize) -> Result<usize, ImageError> {
    let want = usize::try_from(req_len).map_err(|_| ImageError::Truncated)?;
    if exact && want > buf_len {
        // Structural reads are at most 64 bytes; a smaller buffer is a caller error.
        return Err(ImageError::Truncated);
    }
    Ok(want.min(buf_len))
}

/// Scan an image in a blocking flash slot starting at `base`, reading through `buf`
/// (at least 64 bytes; larger buffers hash faster).
pub fn scan_flash<F: ReadNorFlash>(
    flash: &mut F,
    base: u32,
    slot_size: u32,
    buf: &mut [u8],
) -> Result<ScannedImage, ImageError> {
    let mut scanner = Scanner::new(slot_size);
    while let Some(req) = scanner.request() {
        let n = chunk_len(req.len, req.exact, buf.len())?;
        let out = buf.get_mut(..n).ok_or(ImageError::Truncated)?;
        let addr = base.checked_add(req.offset).ok_or(ImageError::Storage)?;
        read_blocking(flash, addr, out)?;
        scanner.feed(out)?;
    }
    scanner.finish()
}

/// Scan an image in an async flash slot starting at `base`, reading through `buf`.
pub async fn scan_flash_async<F: AsyncReadNorFlash>(
    flash: &mut F,
    base: u32,
    slot_size: u32,
    buf: &mut [u8],
) -> Result<ScannedImage, ImageError> {
    let mut scanner = Scanner::new(slot_size);
    while let Some(req) = scanner.request() {
        let n = chunk_len(req.len, req.exact, buf.len())?;
        let out = buf.get_mut(..n).ok_or(ImageError::Truncated)?;
        let addr = base.checked_add(req.offset).ok_or(ImageError::Storage)?;
        read_async(flash, addr, out).await?;
        scanner.feed(out)?;
    }
    scanner.finish()
}

/// Check only the structure (header, TLV areas) of an image in a blocking flash slot and return
/// its total size, without hashing it: for sizing swaps, not for trusting the image.
pub fn image_extent<F: ReadNorFlash>(
    flash: &mut F,
    base: u32,
    slot_size: u32,
    buf: &mut [u8],
) -> Result<u32, ImageError> {
    let mut scanner = Scanner::new(slot_size);
    while let Some(req) = scanner.request() {
        if let Some(total) = scanner.total_size() {
            return Ok(total);
        }
        let n = chunk_len(req.len, req.exact, buf.len())?;
        let out = buf.get_mut(..n).ok_or(ImageError::Truncated)?;
        let addr = base.checked_add(req.offset).ok_or(ImageError::Storage)?;
        read_blocking(flash, addr, out)?;
        scanner.feed(out)?;
    }
    scanner.total_size().ok_or(ImageError::Truncated)
}

/// Async twin of [`image_extent`].
pub async fn image_extent_async<F: AsyncReadNorFlash>(
    flash: &mut F,
    base: u32,
    slot_size: u32,
    buf: &mut [u8],
) -> Result<u32, ImageError> {
    let mut scanner = Scanner::new(slot_size);
    while let Some(req) = scanner.request() {
        if let Some(total) = scanner.total_size() {
            return Ok(total);
        }
        let n = chunk_len(req.len, req.exact, buf.len())?;
        let out = buf.get_mut(..n).ok_or(ImageError::Truncated)?;
        let addr = base.checked_add(req.offset).ok_or(ImageError::Storage)?;
        read_async(flash, addr, out).await?;
        scanner.feed(out)?;
    }
    scanner.total_size().ok_or(ImageError::Truncated)
}

/// One aligned read window covering `addr`: (window start, bytes to skip, bytes to take).
fn window(
    addr: u32,
    read_size: usize,
    remaining: usize,
) -> Result<(u32, usize, usize), ImageError> {
    if read_size == 0 || read_size > MAX_READ_SIZE {
        return Err(ImageError::Storage);
    }
    let rs = u32::try_from(read_size).map_err(|_| ImageError::Storage)?;
    let skip = addr % rs;
    let take = (read_size - skip as usize).min(remaining);
    Ok((addr - skip, skip as usize, take))
}

/// Read `out.len()` bytes at any address from a flash whose reads must be `READ_SIZE`-aligned.
pub fn read_blocking<F: ReadNorFlash>(
    flash: &mut F,
    addr: u32,
    out: &mut [u8],
) -> Result<(), ImageError> {
    if F::READ_SIZE == 1 {
        return flash.read(addr, out).map_err(|_| ImageError::Storage);
    }
    let mut block = [0u8; MAX_READ_SIZE];
    let mut done = 0usize;
    while done < out.len() {
        let at = addr
            .checked_add(u32::try_from(done).map_err(|_| ImageError::Storage)?)
            .ok_or(ImageError::Storage)?;
        let (start, skip, take) = window(at, F::READ_SIZE, out.len() - done)?;
        let blk = block.get_mut(..F::READ_SIZE).ok_or(ImageError::Storage)?;
        flash.read(start, blk).map_err(|_| ImageError::Storage)?;
        copy_window(out, done, blk, skip, take)?;
        done += take;
    }
    Ok(())
}

/// Async twin of [`read_blocking`].
pub async fn read_async<F: AsyncReadNorFlash>(
    flash: &mut F,
    addr: u32,
    out: &mut [u8],
) -> Result<(), ImageError> {
    if F::READ_SIZE == 1 {
        return flash.read(addr, out).await.map_err(|_| ImageError::Storage);
    }
    let mut block = [0u8; MAX_READ_SIZE];
    let mut done = 0usize;
    while done < out.len() {
        let at = addr
            .checked_add(u32::try_from(done).map_err(|_| ImageError::Storage)?)
            .ok_or(ImageError::Storage)?;
        let (start, skip, take) = window(at, F::READ_SIZE, out.len() - done)?;
        let blk = block.get_mut(..F::READ_SIZE).ok_or(ImageError::Storage)?;
        flash
            .read(start, blk)
            .await
            .map_err(|_| ImageError::Storage)?;
        copy_window(out, done, blk, skip, take)?;
        done += take;
    }
    Ok(())
}

fn copy_window(
    out: &mut [u8],
    done: usize,
    blk: &[u8],
    skip: usize,
    take: usize,
) -> Result<(), ImageError> {
    let dst = out.get_mut(done..done + take).ok_or(ImageError::Storage)?;
    let src = blk.get(skip..skip + take).ok_or(ImageError::Storage)?;
    dst.copy_from_slice(src);
    Ok(())
}
