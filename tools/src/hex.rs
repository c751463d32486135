//! Lower-case hex encoding.

/// `bytes` as lower-case hex, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes() {
        assert_eq!(super::hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(super::hex(&[]), "");
    }
}
