//! Little-endian cursor helpers that never panic: every read of untrusted bytes goes through
//! these, so a short buffer is an error value, not an out-of-bounds index.

/// A forward-only reader over a byte slice; each read fails with `None` past the end.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Bytes not yet read.
    pub const fn remaining(&self) -> usize {
        self.data.len()
    }

    /// The next `n` bytes, or `None` if fewer remain.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|s| s.try_into().ok())
    }

    /// The next byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// The next little-endian `u16`.
    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next little-endian `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next little-endian `i32`.
    pub fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_le_bytes)
    }
}

/// A forward-only writer into a byte slice; each write fails with `None` past the end.
#[derive(Debug)]
pub struct Writer<'a> {
    data: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer positioned at the start of `data`.
    pub fn new(data: &'a mut [u8]) -> Self {
        Writer { data, pos: 0 }
    }

    /// Bytes written so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Append `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(bytes.len())?;
        self.data.get_mut(self.pos..end)?.copy_from_slice(bytes);
        self.pos = end;
        Some(())
    }

    /// Append one byte.
    pub fn u8(&mut self, v: u8) -> Option<()> {
        self.put(&[v])
    }

    /// Append a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> Option<()> {
        self.put(&v.to_le_bytes())
    }

    /// Append a little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> Option<()> {
        self.put(&v.to_le_bytes())
    }

    /// Append a little-endian `i32`.
    pub fn i32(&mut self, v: i32) -> Option<()> {
        self.put(&v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_stops_at_end_without_panicking() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5]);
        assert_eq!(r.u16(), Some(0x0201));
        assert_eq!(r.u32(), None);
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.take(3), None);
        assert_eq!(r.take(2), Some(&[4u8, 5][..]));
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn writer_refuses_overflow() {
        let mut buf = [0u8; 5];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u32(0x0403_0201), Some(()));
        assert_eq!(w.u16(7), None);
        assert_eq!(w.u8(9), Some(()));
        assert_eq!(w.position(), 5);
        assert_eq!(buf, [1, 2, 3, 4, 9]);
    }
}
