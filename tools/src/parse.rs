//! Parsing of the values `imgtool sign` takes on its command line, with imgtool's syntax:
//! integers as Python's `int(text, 0)` reads them, versions `MAJ[.MIN[.REV[+BUILD]]]`,
//! dependencies `"(id,version), ..."` and the security counter `N|auto`.
//!
//! imgtool crashes with a Python traceback on values that overflow the header fields (major
//! version 256, image id 300, ...); these parsers refuse them with a message instead.

use fwu_shared::version::Dependency;
use fwu_shared::ImageVersion;
use std::fmt;

/// A malformed command-line value, with a one-line explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parse a non-negative integer the way Python's `int(text, 0)` does: decimal (no leading
/// zeros), or `0x`/`0o`/`0b` prefixed; surrounding whitespace and single underscores between
/// digits are allowed.
pub fn parse_int(text: &str) -> Result<u64, ParseError> {
    let invalid = || {
        ParseError(format!(
            "'{text}' is not a valid integer (use decimal, or a 0x/0o/0b prefix)"
        ))
    };
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.starts_with('-') {
        return err(format!("'{text}' must not be negative"));
    }
    let lower = t.to_ascii_lowercase();
    let after_prefix = t.get(2..).unwrap_or_default();
    let (radix, digits, prefixed) = match lower.get(..2) {
        Some("0x") => (16, after_prefix, true),
        Some("0o") => (8, after_prefix, true),
        Some("0b") => (2, after_prefix, true),
        _ => (10, t, false),
    };
    // After a base prefix one leading underscore is allowed ("0x_ff").
    let digits = if prefixed {
        digits.strip_prefix('_').unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(invalid());
    }
    if digits.contains("__") {
        return Err(invalid());
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid());
    }
    if radix == 10 && clean.len() > 1 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
        // Python refuses "017" (ambiguous with C octal).
        return Err(invalid());
    }
    u64::from_str_radix(&clean, radix).map_err(|_| ParseError(format!("'{text}' is too large")))
}

/// [`parse_int`] limited to `u32`.
pub fn parse_u32(text: &str) -> Result<u32, ParseError> {
    let v = parse_int(text)?;
    u32::try_from(v).map_err(|_| ParseError(format!("{text} does not fit in 32 bits")))
}

/// A header size (`-H`): at least 32, at most 65535 (`ih_hdr_size` is 16 bits).
pub fn parse_header_size(text: &str) -> Result<u16, ParseError> {
    let v = parse_int(text)?;
    if v < 32 {
        return err(format!("header size {text} is below the minimum of 32"));
    }
    u16::try_from(v).map_err(|_| ParseError(format!("header size {text} exceeds 65535")))
}

/// A flash write alignment (`--align`): 1, 2, 4, 8, 16 or 32.
pub fn parse_align(text: &str) -> Result<u32, ParseError> {
    match text {
        "1" | "2" | "4" | "8" | "16" | "32" => parse_u32(text),
        _ => err(format!(
            "alignment '{text}' is not one of 1, 2, 4, 8, 16, 32"
        )),
    }
}

/// A maximum flash alignment (`--max-align`): 8, 16 or 32.
pub fn parse_max_align(text: &str) -> Result<u32, ParseError> {
    match text {
        "8" | "16" | "32" => parse_u32(text),
        _ => err(format!("max alignment '{text}' is not one of 8, 16, 32")),
    }
}

/// The erased value of the flash (`-R`): `0` or `0xff`.
pub fn parse_erased_val(text: &str) -> Result<u8, ParseError> {
    match text.to_ascii_lowercase().as_str() {
        "0" => Ok(0),
        "0xff" => Ok(0xff),
        _ => err(format!("erased value '{text}' is not 0 or 0xff")),
    }
}

/// One decimal version component: no sign, no leading zeros (imgtool's `[1-9]\d*|0`).
fn version_part(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if ok {
        // More than 20 digits overflow u64; they are out of range anyway.
        Some(text.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        None
    }
}

/// Parse an image version `MAJOR[.MINOR[.REVISION[+BUILD]]]` (imgtool's syntax: the build
/// number only after a revision; missing parts are 0).
pub fn parse_version(text: &str) -> Result<ImageVersion, ParseError> {
    let bad = || {
        ParseError(format!(
            "invalid version '{text}': expected MAJOR[.MINOR[.REVISION[+BUILD]]] in decimal"
        ))
    };
    let (main, build) = match text.split_once('+') {
        Some((m, b)) => (m, Some(b)),
        None => (text, None),
    };
    let parts: Vec<&str> = main.split('.').collect();
    if parts.len() > 3 || (build.is_some() && parts.len() != 3) {
        return Err(bad());
    }
    let mut nums = [0u64; 4];
    for (slot, part) in nums.iter_mut().zip(parts.iter().copied().chain(build)) {
        *slot = version_part(part).ok_or_else(bad)?;
    }
    let range = |name: &str, v: u64, max: u64| {
        if v > max {
            err(format!(
                "invalid version '{text}': {name} {v} exceeds {max}"
            ))
        } else {
            Ok(())
        }
    };
    let [major, minor, revision, build] = nums;
    range("major", major, u8::MAX.into())?;
    range("minor", minor, u8::MAX.into())?;
    range("revision", revision, u16::MAX.into())?;
    range("build", build, u32::MAX.into())?;
    Ok(ImageVersion::new(
        major as u8,
        minor as u8,
        revision as u16,
        build as u32,
    ))
}

/// `major.minor.revision+build`, as imgtool prints versions.
pub fn format_version(v: &ImageVersion) -> String {
    format!("{}.{}.{}+{}", v.major, v.minor, v.patch, v.build)
}

/// Parse dependencies `"(ID,VERSION), (ID,VERSION) ..."` (imgtool's `-d` syntax; items may be
/// separated by commas or whitespace, and whitespace may follow the comma inside an item).
pub fn parse_dependencies(text: &str) -> Result<Vec<Dependency>, ParseError> {
    let bad = |why: &str| {
        ParseError(format!(
            "invalid dependencies '{text}': {why} (expected \"(ID,VERSION), ...\")"
        ))
    };
    let mut deps = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let inner = rest
            .strip_prefix('(')
            .ok_or_else(|| bad("an item does not start with '('"))?;
        let (item, after) = inner
            .split_once(')')
            .ok_or_else(|| bad("an item has no closing ')'"))?;
        rest = after;
        let (id, version) = item
            .split_once(',')
            .ok_or_else(|| bad("an item has no ',' between image id and version"))?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the image id is not a decimal number"));
        }
        let component = id
            .parse::<u8>()
            .map_err(|_| bad("the image id exceeds 255"))?;
        let min_version = parse_version(version.trim_start())?;
        deps.push(Dependency {
            component,
            min_version,
        });
    }
    if deps.is_empty() {
        return Err(bad("no dependency given"));
    }
    Ok(deps)
}

/// The security counter option: an explicit value or derived from the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityCounter {
    /// This value.
    Value(u32),
    /// `major << 24 | minor << 16 | revision`, as imgtool's `auto`.
    Auto,
}

impl SecurityCounter {
    /// The counter value for an image of version `v`.
    pub fn resolve(self, v: &ImageVersion) -> u32 {
        match self {
            SecurityCounter::Value(n) => n,
            SecurityCounter::Auto => {
                (u32::from(v.major) << 24) | (u32::from(v.minor) << 16) | u32::from(v.patch)
            }
        }
    }
}

/// Parse `-s/--security-counter`: `auto` (any case) or an integer.
pub fn parse_security_counter(text: &str) -> Result<SecurityCounter, ParseError> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(SecurityCounter::Auto);
    }
    parse_int(text)
        .and_then(|v| {
            u32::try_from(v).map_err(|_| ParseError(format!("'{text}' does not fit in 32 bits")))
        })
        .map(SecurityCounter::Value)
        .map_err(|e| ParseError(format!("invalid security counter: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: u8, b: u8, c: u16, d: u32) -> ImageVersion {
        ImageVersion::new(a, b, c, d)
    }

    #[test]
    fn integers_follow_python_int_base_0() {
        for (text, want) in [
            ("0", 0),
            ("00", 0),
            ("17", 17),
            (" 17 ", 17),
            ("+5", 5),
            ("0x200", 0x200),
            ("0X1F", 0x1f),
            ("0x_ff", 0xff),
            ("0o17", 0o17),
            ("0b101", 5),
            ("1_000", 1000),
            ("0xffffffff", 0xffff_ffff),
        ] {
            assert_eq!(parse_int(text), Ok(want), "{text}");
        }
        for text in [
            "", "017", "0x", "1__0", "_1", "1_", "12a", "0xg", "-1", "0b2", "1.5", "0x__1",
        ] {
            assert!(parse_int(text).is_err(), "{text}");
        }
        assert!(parse_u32("0x100000000").is_err());
        assert_eq!(parse_u32("0x10000"), Ok(0x10000));
    }

    #[test]
    fn header_size_bounds() {
        assert_eq!(parse_header_size("32"), Ok(32));
        assert_eq!(parse_header_size("0x200"), Ok(0x200));
        assert!(parse_header_size("31").is_err());
        assert!(parse_header_size("0x10000").is_err());
    }

    #[test]
    fn versions_follow_imgtool_syntax() {
        assert_eq!(parse_version("1"), Ok(v(1, 0, 0, 0)));
        assert_eq!(parse_version("1.2"), Ok(v(1, 2, 0, 0)));
        assert_eq!(parse_version("1.2.3"), Ok(v(1, 2, 3, 0)));
        assert_eq!(parse_version("1.2.3+4"), Ok(v(1, 2, 3, 4)));
        assert_eq!(
            parse_version("255.255.65535+4294967295"),
            Ok(v(255, 255, 65535, u32::MAX))
        );
        for bad in [
            "",
            "1.",
            ".1",
            "1.2+3",
            "1+3",
            "01.2",
            "1.02",
            "1.2.3.4",
            "1.2.3+",
            "a.b",
            "1.2.3+04",
            "-1",
            "1.2.3 ",
            "256",
            "1.256",
            "1.2.65536",
            "1.2.3+4294967296",
        ] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
        assert_eq!(format_version(&v(1, 2, 3, 4)), "1.2.3+4");
    }

    #[test]
    fn dependencies_follow_imgtool_syntax() {
        let deps = parse_dependencies("(1,1.2.3+0),(2, 0.1)").unwrap();
        assert_eq!(
            deps,
            vec![
                Dependency {
                    component: 1,
                    min_version: v(1, 2, 3, 0)
                },
                Dependency {
                    component: 2,
                    min_version: v(0, 1, 0, 0)
                },
            ]
        );
        assert_eq!(parse_dependencies(" (0,1) (7,2.0.0) ").unwrap().len(), 2);
        for bad in [
            "",
            "()",
            "(1)",
            "(1,1.2",
            "1,1.2",
            "(a,1.0)",
            "(256,1.0)",
            "(1,1.x)",
            "(1,1.0)x",
            "( 1,1.0)",
        ] {
            assert!(parse_dependencies(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn security_counter_auto_matches_imgtool() {
        assert_eq!(parse_security_counter("AUTO"), Ok(SecurityCounter::Auto));
        assert_eq!(
            parse_security_counter("0x10"),
            Ok(SecurityCounter::Value(16))
        );
        assert!(parse_security_counter("0x100000000").is_err());
        assert!(parse_security_counter("x").is_err());
        assert_eq!(SecurityCounter::Auto.resolve(&v(1, 2, 3, 4)), 0x0102_0003);
        assert_eq!(
            SecurityCounter::Auto.resolve(&v(255, 255, 65535, 0)),
            0xffff_ffff
        );
        assert_eq!(SecurityCounter::Value(9).resolve(&v(1, 2, 3, 4)), 9);
    }

    #[test]
    fn choices() {
        assert_eq!(parse_align("4"), Ok(4));
        assert!(parse_align("3").is_err());
        assert!(parse_align("64").is_err());
        assert_eq!(parse_max_align("16"), Ok(16));
        assert!(parse_max_align("4").is_err());
        assert_eq!(parse_erased_val("0"), Ok(0));
        assert_eq!(parse_erased_val("0xff"), Ok(0xff));
        assert!(parse_erased_val("1").is_err());
    }
}
