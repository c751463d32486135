//! The erase guard: makes interrupted erases of the checkpoint map's pages harmless to the map
//! above it, and tells them apart from bits flipped at rest.
//!
//! `sequential-storage` infers a page's state from its first and last bytes. An erase cut by a
//! power loss leaves a sector *undefined* (embedded-storage's own words): random or partly
//! erased content whose markers can read as "partially open" and mislead the map into losing
//! records stored intact on another page (found by the `sim` campaigns). So every map page
//! carries a hidden 64-byte header the map never sees:
//!
//! ```text
//! [0..32)   OK marker      written after an erase completed
//! [32..64)  DOOMED marker  written (all zeros) just before an erase starts
//! [64..)    the map's page (ERASE_SIZE - 64 bytes)
//! ```
//!
//! A page is trusted when its OK slot is within [`TOLERANCE`] bits of the OK pattern and its
//! DOOMED slot has at most [`TOLERANCE`] programmed bits: a few bits flipped at rest change
//! neither verdict. A DOOMED slot with more programmed bits means an erase was decided (and
//! perhaps started): the guard completes it before any access to the page. An OK slot far from
//! the pattern means an erase ran and was cut before the OK marker was written (an erase that
//! progressed far enough to touch the header, or a torn OK write): the guard completes that too.
//! A fully erased page (factory fresh) just gets its OK marker.
//!
//! The map also marks pages by writing zeros over the first and last word of a page, and after
//! a cut during such a write it writes the same word again — legal on classic NOR (AND
//! programming), forbidden by the `NorFlash` contract and by ECC flash. The guard therefore
//! completes torn marker writes too: a marker word with any programmed bit reads as fully
//! marked, and marking it again is absorbed instead of programming the word twice. (A bit
//! flipped at rest in an erased marker word therefore reads as a mark; the map only holds
//! download checkpoints, whose loss costs a re-sent download, never state.)

use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Bytes of the hidden header at the start of every state page.
pub const HEADER: usize = 64;
const SLOT: usize = 32;
/// Content of the OK slot.
const OK: [u8; SLOT] = *b"fwu/state page erased, v1 \x00\x00\x00\x00\x00\x00";
/// Content written to the DOOMED slot before an erase.
const DOOMED: [u8; SLOT] = [0; SLOT];
/// Largest number of pages the guard covers (one `u64` bitmask of checked pages).
pub const MAX_PAGES: u32 = 64;
/// Bits that may differ in a header slot before it stops counting as what it was written as.
pub const TOLERANCE: u32 = 8;

/// Bits in which `a` and `b` differ.
fn distance(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Errors of the guarded view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardError<E> {
    /// The underlying flash failed.
    Flash(E),
    /// An access outside the guarded range or not aligned.
    OutOfBounds,
}

impl<E: NorFlashError> NorFlashError for GuardError<E> {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            GuardError::Flash(e) => e.kind(),
            GuardError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
        }
    }
}

/// One page-sized piece of a guarded access.
struct Segment {
    page: u32,
    off: u32,
    phys: u32,
    range: core::ops::Range<usize>,
}

/// The state partition as the map sees it: pages of `ERASE_SIZE - HEADER` bytes at virtual
/// addresses `0..pages * (ERASE_SIZE - HEADER)`.
pub struct Guarded<'f, F: NorFlash> {
    inner: &'f mut F,
    base: u32,
    pages: u32,
    checked: u64,
}

impl<'f, F: NorFlash> Guarded<'f, F> {
    /// Guard `pages` sectors starting at physical address `base`.
    pub fn new(inner: &'f mut F, base: u32, pages: u32) -> Self {
        Guarded {
            inner,
            base,
            pages: pages.min(MAX_PAGES),
            checked: 0,
        }
    }

    /// The underlying flash.
    pub fn inner(&mut self) -> &mut F {
        self.inner
    }

    /// Forget which pages were checked (after the pages were changed underneath the guard).
    pub fn forget(&mut self) {
        self.checked = 0;
    }

    /// Size of one virtual page.
    pub const fn page_size() -> u32 {
        (F::ERASE_SIZE - HEADER) as u32
    }

    fn physical(&self, page: u32) -> u32 {
        self.base + page * F::ERASE_SIZE as u32
    }

    /// The next piece of an access of `len` bytes at virtual `offset` after `done` bytes: the
    /// page, the offset in it, the physical address and the length that stays in that page.
    /// Accesses are served page by page, as a plain flash would: the map may cross a page end.
    fn segment(
        &self,
        offset: u32,
        len: usize,
        done: usize,
    ) -> Result<Segment, GuardError<F::Error>> {
        let at = offset
            .checked_add(done as u32)
            .ok_or(GuardError::OutOfBounds)?;
        let (page, off) = self.locate(at, 1)?;
        let n = (len - done).min((Self::page_size() - off) as usize);
        let phys = self.physical(page) + HEADER as u32 + off;
        Ok(Segment {
            page,
            off,
            phys,
            range: done..done + n,
        })
    }

    /// Split a virtual address into (page, offset within the virtual page).
    fn locate(&self, addr: u32, len: usize) -> Result<(u32, u32), GuardError<F::Error>> {
        let ps = Self::page_size();
        let page = addr / ps;
        let off = addr % ps;
        let end = u64::from(off) + len as u64;
        if page >= self.pages || end > u64::from(ps) {
            return Err(GuardError::OutOfBounds);
        }
        Ok((page, off))
    }

    /// Bytes of one map word (the unit of the map's page markers).
    const fn word() -> u32 {
        let w = if F::READ_SIZE > F::WRITE_SIZE {
            F::READ_SIZE
        } else {
            F::WRITE_SIZE
        };
        w as u32
    }

    /// Whether the virtual word at `off` of a page is one of the map's two page markers.
    fn marker_at(off: u32) -> bool {
        off < Self::word() || off >= Self::page_size() - Self::word()
    }

    /// Complete an interrupted erase of `page`, if its header says there was one.
    async fn ensure(&mut self, page: u32) -> Result<(), GuardError<F::Error>> {
        if self.checked & (1 << page) != 0 {
            return Ok(());
        }
        let start = self.physical(page);
        let mut header = [0u8; HEADER];
        self.inner
            .read(start, &mut header)
            .await
            .map_err(GuardError::Flash)?;
        let (ok, doomed) = header.split_at(SLOT);
        let ok = distance(ok, &OK) <= TOLERANCE;
        let doomed = distance(doomed, &[0xff; SLOT]) > TOLERANCE;
        if !ok || doomed {
            if header.iter().all(|&b| b == 0xff) && self.blank_after_header(start).await? {
                self.mark_ok(start).await?;
            } else {
                self.erase_page(page).await?;
            }
        }
        self.checked |= 1 << page;
        Ok(())
    }

    /// Present every marker word inside `chunk` (page `page`, virtual offset `off`) as fully
    /// marked if any of its bits is programmed.
    async fn normalise_markers(
        &mut self,
        page: u32,
        off: u32,
        chunk: &mut [u8],
    ) -> Result<(), GuardError<F::Error>> {
        let word = Self::word();
        let end = off + chunk.len() as u32;
        for start in [0, Self::page_size() - word] {
            if start >= end || start + word <= off {
                continue;
            }
            let mut w = [0u8; 32];
            let w = w.get_mut(..word as usize).ok_or(GuardError::OutOfBounds)?;
            let phys = self.physical(page) + HEADER as u32 + start;
            self.inner.read(phys, w).await.map_err(GuardError::Flash)?;
            if w.iter().any(|&b| b != 0xff) {
                for i in start.max(off)..(start + word).min(end) {
                    if let Some(b) = chunk.get_mut((i - off) as usize) {
                        *b = 0;
                    }
                }
            }
        }
        Ok(())
    }

    async fn blank_after_header(&mut self, start: u32) -> Result<bool, GuardError<F::Error>> {
        let mut buf = [0u8; 64];
        let mut off = HEADER as u32;
        while off < F::ERASE_SIZE as u32 {
            self.inner
                .read(start + off, &mut buf)
                .await
                .map_err(GuardError::Flash)?;
            if buf.iter().any(|&b| b != 0xff) {
                return Ok(false);
            }
            off += buf.len() as u32;
        }
        Ok(true)
    }

    async fn mark_ok(&mut self, start: u32) -> Result<(), GuardError<F::Error>> {
        self.inner
            .write(start, &OK)
            .await
            .map_err(GuardError::Flash)
    }

    /// Doom, erase, bless: a cut anywhere in between leaves a page that is not trusted.
    async fn erase_page(&mut self, page: u32) -> Result<(), GuardError<F::Error>> {
        let start = self.physical(page);
        let mut doomed = [0u8; SLOT];
        self.inner
            .read(start + SLOT as u32, &mut doomed)
            .await
            .map_err(GuardError::Flash)?;
        if doomed.iter().all(|&b| b == 0xff) {
            self.inner
                .write(start + SLOT as u32, &DOOMED)
                .await
                .map_err(GuardError::Flash)?;
        }
        self.inner
            .erase(start, start + F::ERASE_SIZE as u32)
            .await
            .map_err(GuardError::Flash)?;
        self.mark_ok(start).await?;
        self.checked |= 1 << page;
        Ok(())
    }
}

impl<F: NorFlash> ErrorType for Guarded<'_, F> {
    type Error = GuardError<F::Error>;
}

impl<F: NorFlash> ReadNorFlash for Guarded<'_, F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let mut done = 0;
        while done < bytes.len() {
            let seg = self.segment(offset, bytes.len(), done)?;
            self.ensure(seg.page).await?;
            done = seg.range.end;
            let chunk = bytes.get_mut(seg.range).ok_or(GuardError::OutOfBounds)?;
            self.inner
                .read(seg.phys, chunk)
                .await
                .map_err(GuardError::Flash)?;
            self.normalise_markers(seg.page, seg.off, chunk).await?;
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.pages as usize * Self::page_size() as usize
    }
}

impl<F: NorFlash> NorFlash for Guarded<'_, F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE - HEADER;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let ps = Self::page_size();
        if !from.is_multiple_of(ps) || !to.is_multiple_of(ps) || to < from || to / ps > self.pages {
            return Err(GuardError::OutOfBounds);
        }
        for page in from / ps..to / ps {
            self.erase_page(page).await?;
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let mut done = 0;
        while done < bytes.len() {
            let seg = self.segment(offset, bytes.len(), done)?;
            self.ensure(seg.page).await?;
            done = seg.range.end;
            let chunk = bytes.get(seg.range).ok_or(GuardError::OutOfBounds)?;
            if chunk.len() as u32 == Self::word() && Self::marker_at(seg.off) {
                // Marking a page: a marker word already partly programmed by a torn write is
                // complete as far as the map can tell; programming it twice is not allowed.
                let mut w = [0u8; 32];
                let w = w.get_mut(..chunk.len()).ok_or(GuardError::OutOfBounds)?;
                self.inner
                    .read(seg.phys, w)
                    .await
                    .map_err(GuardError::Flash)?;
                if w.iter().any(|&b| b != 0xff) {
                    continue;
                }
            }
            self.inner
                .write(seg.phys, chunk)
                .await
                .map_err(GuardError::Flash)?;
        }
        Ok(())
    }
}
