//! Small implementations of the C memory functions the compiler calls (`memcpy`, `memmove`,
//! `memset`, `memcmp`, `bcmp`) and of their ARM EABI forms (`__aeabi_memcpy4`, ...), for the
//! production bootloader, where `compiler_builtins`' versions (about 2.8 KB on thumbv7em,
//! unrolled for speed) are a sixth of the 16 KiB budget. Word loops when the pointers and the
//! length are word aligned, byte loops otherwise: a few hundred bytes in all.
//!
//! Linking this crate (`use fwu_tiny_mem as _;` in a binary) replaces `compiler_builtins`'
//! symbols on bare-metal targets (`target_os = "none"`); on a host the functions are plain
//! Rust functions, tested against the standard library. `#![no_builtins]` keeps the compiler
//! from turning these loops back into calls to the functions they implement.
#![no_std]
#![no_builtins]
#![allow(clippy::missing_safety_doc)]

const WORD: usize = core::mem::size_of::<u32>();

/// Whether every address and the length are multiples of the word size.
fn aligned(a: usize, b: usize, n: usize) -> bool {
    (a | b | n).is_multiple_of(WORD)
}

/// Copy `n` bytes from `src` to `dst`, lowest address first (safe for `dst <= src` overlaps).
unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    if aligned(dst as usize, src as usize, n) {
        let (d, s) = (dst.cast::<u32>(), src.cast::<u32>());
        for i in 0..n / WORD {
            // SAFETY: the caller's range, word aligned (checked above).
            unsafe { *d.add(i) = *s.add(i) };
        }
    } else {
        for i in 0..n {
            // SAFETY: the caller's range.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
}

/// Copy `n` bytes from `src` to `dst`, highest address first (safe for `dst > src` overlaps).
unsafe fn copy_backward(dst: *mut u8, src: *const u8, n: usize) {
    if aligned(dst as usize, src as usize, n) {
        let (d, s) = (dst.cast::<u32>(), src.cast::<u32>());
        for i in (0..n / WORD).rev() {
            // SAFETY: the caller's range, word aligned (checked above).
            unsafe { *d.add(i) = *s.add(i) };
        }
    } else {
        for i in (0..n).rev() {
            // SAFETY: the caller's range.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
}

/// Copy `n` bytes from `src` to `dst`, both word aligned (the `__aeabi_memcpy4/8` contract):
/// whole words, then the last `n % 4` bytes.
#[cfg(any(test, target_os = "none"))]
unsafe fn copy_aligned(dst: *mut u8, src: *const u8, n: usize) {
    let (d, s) = (dst.cast::<u32>(), src.cast::<u32>());
    for i in 0..n / WORD {
        // SAFETY: the caller's range, word aligned by the EABI contract.
        unsafe { *d.add(i) = *s.add(i) };
    }
    for i in n / WORD * WORD..n {
        // SAFETY: the caller's range.
        unsafe { *dst.add(i) = *src.add(i) };
    }
}

/// Fill `n` bytes at the word-aligned `dst` with `c`: whole words, then the last `n % 4`.
#[cfg(any(test, target_os = "none"))]
unsafe fn fill_aligned(dst: *mut u8, c: u8, n: usize) {
    let d = dst.cast::<u32>();
    let w = u32::from_ne_bytes([c; WORD]);
    for i in 0..n / WORD {
        // SAFETY: the caller's range, word aligned by the EABI contract.
        unsafe { *d.add(i) = w };
    }
    for i in n / WORD * WORD..n {
        // SAFETY: the caller's range.
        unsafe { *dst.add(i) = c };
    }
}

/// Fill `n` bytes at `dst` with `c`.
unsafe fn fill(dst: *mut u8, c: u8, n: usize) {
    if aligned(dst as usize, 0, n) {
        let d = dst.cast::<u32>();
        let w = u32::from_ne_bytes([c; WORD]);
        for i in 0..n / WORD {
            // SAFETY: the caller's range, word aligned (checked above).
            unsafe { *d.add(i) = w };
        }
    } else {
        for i in 0..n {
            // SAFETY: the caller's range.
            unsafe { *dst.add(i) = c };
        }
    }
}

/// `memcpy`: copy `n` bytes from `src` to `dst` (the ranges do not overlap).
#[cfg_attr(target_os = "none", no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the C contract of memcpy.
    unsafe { copy_forward(dst, src, n) };
    dst
}

/// `memmove`: copy `n` bytes from `src` to `dst`; the ranges may overlap.
#[cfg_attr(target_os = "none", no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the C contract of memmove; the direction keeps overlapping bytes intact.
    unsafe {
        if (dst as usize).wrapping_sub(src as usize) >= n {
            copy_forward(dst, src, n)
        } else {
            copy_backward(dst, src, n)
        }
    };
    dst
}

/// `memset`: fill `n` bytes at `dst` with the low byte of `c`.
#[cfg_attr(target_os = "none", no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the C contract of memset.
    unsafe { fill(dst, c as u8, n) };
    dst
}

/// `memcmp`: compare `n` bytes; negative, zero or positive as `a` sorts before, equal to or
/// after `b`.
#[cfg_attr(target_os = "none", no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: the C contract of memcmp.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// `bcmp`: zero if the `n` bytes are equal.
#[cfg_attr(target_os = "none", no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the C contract of bcmp.
    unsafe { memcmp(a, b, n) }
}

/// The ARM EABI forms (RTABI §4.3.4): `memcpy`/`memmove` with the 4- and 8-byte aligned
/// variants, `memset` with the arguments `(dst, n, c)`, and `memclr`.
#[cfg(target_os = "none")]
mod aeabi {
    use super::{copy_aligned, copy_forward, fill, fill_aligned, memmove};

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memcpy(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memcpy).
        unsafe { copy_forward(dst, src, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memcpy4(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memcpy, both pointers word aligned).
        unsafe { copy_aligned(dst, src, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memcpy8(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memcpy, both pointers word aligned).
        unsafe { copy_aligned(dst, src, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memmove(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memmove).
        unsafe { memmove(dst, src, n) };
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memmove4(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memmove).
        unsafe { memmove(dst, src, n) };
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memmove8(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the EABI contract (as memmove).
        unsafe { memmove(dst, src, n) };
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memset(dst: *mut u8, n: usize, c: i32) {
        // SAFETY: the EABI contract (as memset).
        unsafe { fill(dst, c as u8, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memset4(dst: *mut u8, n: usize, c: i32) {
        // SAFETY: the EABI contract (as memset, `dst` word aligned).
        unsafe { fill_aligned(dst, c as u8, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memset8(dst: *mut u8, n: usize, c: i32) {
        // SAFETY: the EABI contract (as memset, `dst` word aligned).
        unsafe { fill_aligned(dst, c as u8, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memclr(dst: *mut u8, n: usize) {
        // SAFETY: the EABI contract (as memset with 0).
        unsafe { fill(dst, 0, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memclr4(dst: *mut u8, n: usize) {
        // SAFETY: the EABI contract (as memset with 0, `dst` word aligned).
        unsafe { fill_aligned(dst, 0, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn __aeabi_memclr8(dst: *mut u8, n: usize) {
        // SAFETY: the EABI contract (as memset with 0, `dst` word aligned).
        unsafe { fill_aligned(dst, 0, n) }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn copies_moves_fills_and_compares_like_the_standard_library() {
        for n in 0..40 {
            for (da, sa) in [(0, 0), (1, 0), (0, 3), (4, 8), (2, 2)] {
                // memcpy into a separate buffer.
                let src = pattern(n + 8, 1);
                let mut dst = std::vec![0u8; n + 8];
                unsafe { memcpy(dst.as_mut_ptr().add(da), src.as_ptr().add(sa), n) };
                assert_eq!(&dst[da..da + n], &src[sa..sa + n], "memcpy {n} {da} {sa}");
                // memmove within one buffer, both directions.
                for (d, s) in [(da, sa), (sa, da)] {
                    let mut buf = pattern(n + 16, 5);
                    let mut want = buf.clone();
                    want.copy_within(s..s + n, d);
                    unsafe { memmove(buf.as_mut_ptr().add(d), buf.as_ptr().add(s), n) };
                    assert_eq!(buf, want, "memmove {n} {d} {s}");
                }
                // memset.
                let mut buf = pattern(n + 8, 9);
                let mut want = buf.clone();
                want[da..da + n].fill(0xa5);
                unsafe { memset(buf.as_mut_ptr().add(da), 0x1a5, n) };
                assert_eq!(buf, want, "memset {n} {da}");
            }
            // memcmp's sign and bcmp's zero.
            let a = pattern(n, 3);
            for i in 0..n {
                let mut b = a.clone();
                b[i] = b[i].wrapping_add(1);
                let got = unsafe { memcmp(a.as_ptr(), b.as_ptr(), n) };
                assert_eq!(got.signum(), a.cmp(&b) as i32, "memcmp {n} {i}");
                assert_ne!(unsafe { bcmp(a.as_ptr(), b.as_ptr(), n) }, 0);
            }
            assert_eq!(unsafe { memcmp(a.as_ptr(), a.as_ptr(), n) }, 0);
            // The word-aligned helpers of the `__aeabi_*4/8` forms, on aligned buffers.
            let src: Vec<u32> = (0..16)
                .map(|i| 0x0102_0304u32.wrapping_mul(i + 7))
                .collect();
            let mut dst = [0u32; 16];
            let bytes = |w: &[u32]| -> Vec<u8> { w.iter().flat_map(|x| x.to_ne_bytes()).collect() };
            unsafe { copy_aligned(dst.as_mut_ptr().cast(), src.as_ptr().cast(), n) };
            assert_eq!(&bytes(&dst)[..n], &bytes(&src)[..n], "copy_aligned {n}");
            assert!(
                bytes(&dst)[n..].iter().all(|&b| b == 0),
                "copy_aligned {n} overran"
            );
            unsafe { fill_aligned(dst.as_mut_ptr().cast(), 0x5a, n) };
            assert!(
                bytes(&dst)[..n].iter().all(|&b| b == 0x5a),
                "fill_aligned {n}"
            );
        }
    }
}
