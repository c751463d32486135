//! The MCUboot image trailer as `imgtool sign --pad/--confirm` writes it, and the trailer size
//! imgtool reserves when it checks that an image fits its slot.
//!
//! Layout from the end of the slot (`A` = max alignment, `w` = write alignment, `M` = max
//! sectors): magic (16 bytes, padded to a multiple of `A`), then one `A`-sized field each for
//! image_ok, copy_done, swap_info and swap_size, then the swap status area of `M * 3 * w` bytes
//! (overwrite-only: just the magic and two fields). Everything but the magic (and image_ok for
//! `--confirm`) is left at the erased value.

/// The trailer magic for `max_align == 8`.
pub const BOOT_MAGIC: [u8; 16] = [
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
];

/// The last 14 bytes of the magic for other max alignments (the first two hold `max_align`).
pub const BOOT_MAGIC_TAIL: [u8; 14] = [
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
];

/// Size of the magic field before alignment padding.
pub const MAGIC_SIZE: u32 = 16;

/// Default `--max-sectors`.
pub const DEFAULT_MAX_SECTORS: u32 = 128;

/// Default max alignment.
pub const DEFAULT_MAX_ALIGN: u32 = 8;

/// Value written to image_ok by `--confirm`.
pub const IMAGE_OK_SET: u8 = 0x01;

/// The trailer geometry options of `imgtool sign`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrailerLayout {
    /// Flash write alignment (`--align`): 1, 2, 4, 8, 16 or 32.
    pub align: u32,
    /// Maximum flash alignment (`--max-align`): 8, 16 or 32.
    pub max_align: u32,
    /// Sectors the swap status area must cover (`-M/--max-sectors`).
    pub max_sectors: u32,
    /// Overwrite-only upgrades: no swap status area (`--overwrite-only`).
    pub overwrite_only: bool,
}

impl Default for TrailerLayout {
    fn default() -> Self {
        TrailerLayout {
            align: 1,
            max_align: DEFAULT_MAX_ALIGN,
            max_sectors: DEFAULT_MAX_SECTORS,
            overwrite_only: false,
        }
    }
}

/// Round `n` up to a multiple of `align` (a power of two, or any non-zero value).
fn align_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align.max(1)) * align.max(1)
}

impl TrailerLayout {
    /// A layout as imgtool derives it: `max_align` defaults to `max(8, align)`.
    pub fn new(align: u32, max_align: Option<u32>, max_sectors: u32, overwrite_only: bool) -> Self {
        TrailerLayout {
            align,
            max_align: max_align.unwrap_or(DEFAULT_MAX_ALIGN.max(align)),
            max_sectors,
            overwrite_only,
        }
    }

    /// Size of the magic field including its alignment padding.
    pub fn magic_area(&self) -> u64 {
        align_up(MAGIC_SIZE.into(), self.max_align.into())
    }

    /// Bytes imgtool reserves for the trailer at the end of the slot.
    pub fn size(&self) -> u64 {
        let a = u64::from(self.max_align);
        if self.overwrite_only {
            a * 2 + self.magic_area()
        } else {
            u64::from(self.max_sectors) * 3 * u64::from(self.align) + a * 4 + self.magic_area()
        }
    }

    /// The 16-byte trailer magic for this max alignment.
    pub fn magic(&self) -> [u8; 16] {
        if self.max_align == DEFAULT_MAX_ALIGN {
            return BOOT_MAGIC;
        }
        let mut m = [0u8; 16];
        let (head, tail) = m.split_at_mut(2);
        // max_align is at most 32, so it fits the 16-bit field.
        head.copy_from_slice(&(self.max_align as u16).to_le_bytes());
        tail.copy_from_slice(&BOOT_MAGIC_TAIL);
        m
    }

    /// Distance of the image_ok byte from the end of the slot.
    pub fn image_ok_from_end(&self) -> u64 {
        self.magic_area() + u64::from(self.max_align)
    }

    /// The trailer bytes (`size()` of them): erased, the magic at the very end, and image_ok set
    /// when `confirm` (never in overwrite-only mode, as imgtool).
    pub fn bytes(&self, erased: u8, confirm: bool) -> Vec<u8> {
        let size = usize::try_from(self.size()).unwrap_or(usize::MAX);
        let mut t = vec![erased; size];
        let magic = self.magic();
        if let Some(at) = size.checked_sub(magic.len()) {
            if let Some(dst) = t.get_mut(at..) {
                dst.copy_from_slice(&magic);
            }
        }
        if confirm && !self.overwrite_only {
            let ok_at = usize::try_from(self.image_ok_from_end())
                .ok()
                .and_then(|d| size.checked_sub(d));
            if let Some(b) = ok_at.and_then(|i| t.get_mut(i)) {
                *b = IMAGE_OK_SET;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_mcuboot_reference_figures() {
        // reference/mcuboot.md §1.1: 432 B (w=1), 1584 B (w=4), 3120 B (w=8) at A=8.
        assert_eq!(TrailerLayout::new(1, None, 128, false).size(), 432);
        assert_eq!(TrailerLayout::new(4, None, 128, false).size(), 1584);
        assert_eq!(TrailerLayout::new(8, None, 128, false).size(), 3120);
        assert_eq!(TrailerLayout::new(1, None, 32, false).size(), 96 + 48);
        assert_eq!(TrailerLayout::new(1, None, 128, true).size(), 32);
        // align 32 raises max_align to 32: magic area 32, four 32-byte fields.
        let l = TrailerLayout::new(32, None, 128, false);
        assert_eq!(l.max_align, 32);
        assert_eq!(l.size(), 128 * 3 * 32 + 128 + 32);
        assert_eq!(
            TrailerLayout::new(1, Some(16), 128, false).size(),
            384 + 64 + 16
        );
    }

    #[test]
    fn magic_encodes_max_align() {
        assert_eq!(TrailerLayout::new(1, None, 128, false).magic(), BOOT_MAGIC);
        let m16 = TrailerLayout::new(1, Some(16), 128, false).magic();
        assert_eq!(&m16[..2], &[16, 0]);
        assert_eq!(&m16[2..], &BOOT_MAGIC_TAIL);
        let m32 = TrailerLayout::new(32, None, 128, false).magic();
        assert_eq!(&m32[..2], &[32, 0]);
    }

    #[test]
    fn trailer_bytes_layout() {
        let l = TrailerLayout::new(4, None, 128, false);
        let t = l.bytes(0xff, true);
        assert_eq!(t.len(), 1584);
        assert_eq!(&t[t.len() - 16..], &BOOT_MAGIC);
        assert_eq!(t[t.len() - 24], IMAGE_OK_SET);
        let set: Vec<usize> = (0..t.len() - 16).filter(|&i| t[i] != 0xff).collect();
        assert_eq!(set, vec![t.len() - 24]);

        let pad = l.bytes(0, false);
        assert!(pad[..pad.len() - 16].iter().all(|&b| b == 0));

        let l32 = TrailerLayout::new(1, Some(32), 128, false);
        let t32 = l32.bytes(0xff, true);
        assert_eq!(t32[t32.len() - 64], IMAGE_OK_SET);
        assert!(t32[t32.len() - 32..t32.len() - 16]
            .iter()
            .all(|&b| b == 0xff));

        let ow = TrailerLayout::new(1, None, 128, true).bytes(0xff, true);
        assert_eq!(ow.len(), 32);
        assert!(
            ow[..16].iter().all(|&b| b == 0xff),
            "no image_ok in overwrite-only"
        );
    }
}
