//! The image identity of the QEMU boards (PSA FWU 1.0 §4.3.1): the vendor and class UUIDs every
//! image for them carries, checked by their bootloaders and by the demo application's update
//! service. `fwu-tool sign --vid fwu.example.org --cid qemu-mps2-demo` (or imgtool's same
//! options) writes exactly these: UUIDv5 of the domain in the DNS namespace, then of the class
//! name in the vendor's namespace (`scripts/qemu-lib.sh` signs every QEMU image so).

use fwu_shared::image::ImageIdentity;

/// The vendor id and image class signed into `--vid` and `--cid` by `scripts/qemu-lib.sh`.
pub const VENDOR: &str = "fwu.example.org";
/// See [`VENDOR`].
pub const CLASS: &str = "qemu-mps2-demo";

/// UUIDv5(NAMESPACE_DNS, [`VENDOR`]) = 99360ce4-22bc-501f-bcc7-0d497cd0bedc, and
/// UUIDv5(that, [`CLASS`]) = c263ccf5-8cb7-5b33-81f0-ddd560b38014.
pub const IDENTITY: ImageIdentity = ImageIdentity {
    vendor_id: Some([
        0x99, 0x36, 0x0c, 0xe4, 0x22, 0xbc, 0x50, 0x1f, 0xbc, 0xc7, 0x0d, 0x49, 0x7c, 0xd0, 0xbe,
        0xdc,
    ]),
    class_id: Some([
        0xc2, 0x63, 0xcc, 0xf5, 0x8c, 0xb7, 0x5b, 0x33, 0x81, 0xf0, 0xdd, 0xd5, 0x60, 0xb3, 0x80,
        0x14,
    ]),
};
