//! Primitives of the redundant slot logs (boot log and catalog): records in fixed slots of a
//! copy, appended in order; pattern words that mark flags and swap steps.
//!
//! Every write is checked before and after: a slot or word is only programmed when it reads
//! fully erased (so a bit flipped at rest, or a write torn by an earlier cut, is never
//! programmed over, which NOR flash with ECC forbids), and it is read back afterwards (so a
//! write that did not stick, as on a worn-out sector, is detected). A check that fails moves
//! the writer to the next slot, or makes it rewrite the copy.

use super::geometry::CopyRegion;
use crate::image::read::read_async;
use crate::record::Record;
use embedded_storage_async::nor_flash::NorFlash;

/// Largest record frame, padded to the largest write size.
pub const MAX_FRAME: usize = 160;
/// Largest flash write size (one word).
pub const MAX_WORD: usize = crate::layout::MAX_WRITE_SIZE as usize;
/// Value of an erased byte.
pub const ERASED: u8 = 0xff;

/// Why the persisted state could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The flash reported an error (read, write or erase).
    Flash,
    /// A write did not read back as written, and no other place could take it.
    WriteFailed,
    /// Neither copy of a log holds a valid record, and they are not blank: the state is lost
    /// beyond automatic repair (see `docs/on-flash-contract.md`, "When recovery is
    /// impossible").
    Corrupt,
    /// The layout does not give the state partition the room it needs.
    Layout,
}

/// Read `out.len()` bytes at `addr`.
pub async fn read<F: NorFlash>(flash: &mut F, addr: u32, out: &mut [u8]) -> Result<(), StateError> {
    read_async(flash, addr, out)
        .await
        .map_err(|_| StateError::Flash)
}

/// Whether the `len` bytes at `addr` read fully erased.
pub async fn is_blank<F: NorFlash>(flash: &mut F, addr: u32, len: u32) -> Result<bool, StateError> {
    let mut buf = [0u8; 64];
    let mut off = 0;
    while off < len {
        let n = (len - off).min(buf.len() as u32);
        let chunk = buf.get_mut(..n as usize).ok_or(StateError::Flash)?;
        read(flash, addr + off, chunk).await?;
        if chunk.iter().any(|&b| b != ERASED) {
            return Ok(false);
        }
        off += n;
    }
    Ok(true)
}

/// The pattern word that marks flag or step `index` of kind `kind` for the record of
/// generation `gen`: a 32-bit mix with at least two zero bits (never within one flipped bit of
/// an erased word), repeated over a write word. A flipped, torn or garbage word matches only
/// with probability `2^-30`, and a torn write never matches (it programs a strict subset of the
/// pattern's zero bits).
#[inline(never)]
pub fn pattern(gen: u32, kind: u8, index: u32) -> u32 {
    let mut x = (u64::from(gen) << 32) ^ (u64::from(kind) << 24) ^ u64::from(index);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x as u32) & !0x8000_0001
}

/// `pattern` as a `w`-byte word.
pub(super) fn word_of(p: u32, w: usize) -> [u8; MAX_WORD] {
    let mut out = [ERASED; MAX_WORD];
    let bytes = p.to_le_bytes();
    for (i, b) in out.iter_mut().enumerate().take(w) {
        *b = bytes.get(i % 4).copied().unwrap_or(ERASED);
    }
    out
}

/// Whether the word at `addr` holds pattern `p`.
pub async fn word_is<F: NorFlash>(flash: &mut F, addr: u32, p: u32) -> Result<bool, StateError> {
    let w = F::WRITE_SIZE.clamp(1, MAX_WORD);
    let mut buf = [0u8; MAX_WORD];
    let got = buf.get_mut(..w).ok_or(StateError::Flash)?;
    read(flash, addr, got).await?;
    let want = word_of(p, w);
    Ok(want.get(..w) == Some(&*got))
}

/// Program pattern `p` at the word `addr` if that word reads erased, then read it back.
/// `Ok(false)` if the word was not erased, could not be read, or did not take the pattern: the
/// caller must record the fact elsewhere (a read error is no reason to give up a write that a
/// full record in fresh slots can still make).
pub async fn put_word<F: NorFlash>(flash: &mut F, addr: u32, p: u32) -> Result<bool, StateError> {
    let w = F::WRITE_SIZE.clamp(1, MAX_WORD);
    if !matches!(is_blank(flash, addr, w as u32).await, Ok(true)) {
        return Ok(false);
    }
    let word = word_of(p, w);
    let bytes = word.get(..w).ok_or(StateError::Flash)?;
    if flash.write(addr, bytes).await.is_err() {
        return Ok(false);
    }
    Ok(matches!(word_is(flash, addr, p).await, Ok(true)))
}

/// Read and decode the record at `addr` (a frame of `R::ENCODED_LEN` bytes); `None` if it does
/// not decode (erased, torn, flipped, garbage or a record of another kind).
pub async fn read_record<F: NorFlash, R: Record>(
    flash: &mut F,
    addr: u32,
) -> Result<Option<R>, StateError> {
    let mut buf = [0u8; MAX_FRAME];
    let frame = buf.get_mut(..R::ENCODED_LEN).ok_or(StateError::Layout)?;
    read(flash, addr, frame).await?;
    Ok(R::decode_from(frame).ok())
}

/// Index one past the last slot of `copy` whose first word is not erased: where the next
/// append starts looking.
pub async fn end_of<F: NorFlash>(flash: &mut F, copy: &CopyRegion) -> Result<u32, StateError> {
    let w = F::WRITE_SIZE.clamp(4, MAX_WORD);
    let mut word = [0u8; MAX_WORD];
    let head = word.get_mut(..w).ok_or(StateError::Layout)?;
    let mut end = 0;
    for i in 0..copy.slots {
        read(flash, copy.slot(i), head).await?;
        if head.iter().any(|&b| b != ERASED) {
            end = i + 1;
        }
    }
    Ok(end)
}

/// `w`-byte word `i` of `bytes` equals pattern `p` (repeated over the word).
#[inline(never)]
pub fn word_matches(bytes: &[u8], i: usize, w: usize, p: u32) -> bool {
    let want = p.to_le_bytes();
    bytes
        .get(i * w..(i + 1) * w)
        .is_some_and(|word| word.chunks(4).all(|c| want.get(..c.len()) == Some(c)))
}

/// Encode `record` into a frame padded with erased bytes to the write size `w`; returns the
/// frame and its padded length.
pub fn encode<R: Record>(record: &R, w: usize) -> Result<([u8; MAX_FRAME], usize), StateError> {
    let mut frame = [ERASED; MAX_FRAME];
    let n = record
        .encode_into(&mut frame)
        .map_err(|_| StateError::Layout)?;
    let padded = n.div_ceil(w.max(1)) * w.max(1);
    if padded > MAX_FRAME {
        return Err(StateError::Layout);
    }
    Ok((frame, padded))
}

/// Append `frame` (already padded) to `copy` at the first slot from `from` that is entirely
/// blank and takes the write (read back equal). Returns the slot used, or `None` when no slot
/// is left.
pub async fn append<F: NorFlash>(
    flash: &mut F,
    copy: &CopyRegion,
    from: u32,
    frame: &[u8],
) -> Result<Option<u32>, StateError> {
    let mut i = from;
    while i < copy.slots {
        let at = copy.slot(i);
        if is_blank(flash, at, copy.slot_len).await? && write_verified(flash, at, frame).await? {
            return Ok(Some(i));
        }
        i += 1;
    }
    Ok(None)
}

/// Program `frame` at `addr` and read it back.
async fn write_verified<F: NorFlash>(
    flash: &mut F,
    addr: u32,
    frame: &[u8],
) -> Result<bool, StateError> {
    if flash.write(addr, frame).await.is_err() {
        return Ok(false);
    }
    let mut back = [0u8; MAX_FRAME];
    let got = back.get_mut(..frame.len()).ok_or(StateError::Layout)?;
    // A read-back that fails proves nothing: the caller writes the frame elsewhere.
    if read(flash, addr, got).await.is_err() {
        return Ok(false);
    }
    Ok(got == frame)
}

/// Erase `copy` and write `frame` into its first slot: the compaction of a full copy, or the
/// rewrite of a copy that cannot take a write. `Ok(false)` if the copy did not take it.
pub async fn rewrite<F: NorFlash>(
    flash: &mut F,
    copy: &CopyRegion,
    frame: &[u8],
) -> Result<bool, StateError> {
    let r = copy.range();
    if flash.erase(r.start, r.end).await.is_err() {
        return Ok(false);
    }
    write_verified(flash, copy.slot(0), frame).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_far_from_erased_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for gen in 0..64 {
            for kind in [0x10u8, 0x20, 0xf0] {
                for i in 0..64 {
                    let p = pattern(gen, kind, i);
                    assert!((!p).count_ones() >= 2, "{p:08x}");
                    assert!(seen.insert(p), "collision at {gen} {kind} {i}");
                }
            }
        }
        assert_eq!(
            &word_of(0x1234_5678, 8)[..8],
            &[0x78, 0x56, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12]
        );
    }
}
