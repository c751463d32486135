//! Helpers shared by the simulator's regression tests: a small two-component device, images,
//! and the update steps the tests build on.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use embassy_futures::block_on;
use fwu_bootloader::BootAction;
use fwu_shared::state::plan::swap_sectors;
use fwu_shared::state::{
    slots, staged_set_digest, BootLog, BootRecord, Members, Phase, StateGeometry,
};
use fwu_shared::{ImageVersion, State};
use fwu_sim::device::{call, download, query, DONE, REBOOT};
use fwu_sim::oracle::RawView;
use fwu_sim::Device;

pub const SECTOR: usize = 4096;
pub const WORD: usize = 4;
pub type Dev = Device<SECTOR, WORD>;

/// 8-sector slots for component 0, 4 for component 1, the smallest state partition.
pub fn device() -> Dev {
    let slots = fwu_sim::device::TWO_COMPONENTS;
    let dev = Dev::new(0x22000 / SECTOR, 8, &slots);
    dev.factory(1, &Dev::image(v(1), 3_000, 1, &[], 90));
    dev
}

pub fn v(major: u8) -> ImageVersion {
    ImageVersion::new(major, 0, 0, 0)
}

pub fn img(major: u8, counter: u32, seed: u8) -> Vec<u8> {
    Dev::image(
        v(major),
        12_000 + usize::from(seed) * 100,
        counter,
        &[],
        seed,
    )
}

pub fn geo(dev: &Dev) -> StateGeometry {
    StateGeometry::new(dev.layout(), WORD as u32).unwrap()
}

/// The boot log as the raw cells hold it.
pub fn log(dev: &Dev) -> BootLog {
    let flash = dev.flash();
    block_on(BootLog::open(
        &mut RawView::<SECTOR, WORD>(flash.contents()),
        dev.layout(),
    ))
    .unwrap()
}

/// Update component 0 from its factory image to `image` and accept it (then clean).
pub fn update_and_accept(dev: &Dev, image: &[u8]) {
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, image), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    assert!(matches!(
        dev.boot().unwrap().action,
        BootAction::Installed(_)
    ));
    let svc = dev.service().unwrap();
    assert_eq!(call(svc.accept()), DONE);
    assert_eq!(call(svc.clean(0)), DONE);
}

/// A device that booted v1 (counter 1) in component 0, with v2 (counter 2) at hand. Returns
/// the device, v1 and v2.
pub fn running_v1() -> (Dev, Vec<u8>, Vec<u8>) {
    let dev = device();
    let v1 = img(1, 1, 1);
    let v2 = img(2, 2, 2);
    dev.factory(0, &v1);
    dev.boot().unwrap();
    (dev, v1, v2)
}

/// A device running v1 (counter 1) in component 0 with v2 (counter 2) downloaded and
/// installed: the next boot is v2's install boot. Returns the device, v1 and v2.
pub fn install_pending() -> (Dev, Vec<u8>, Vec<u8>) {
    let (dev, v1, v2) = running_v1();
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &v2), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    (dev, v1, v2)
}

/// Download and install `image` into component 0, then boot it into its trial (booted once).
pub fn into_trial(dev: &Dev, image: &[u8]) {
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, image), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    assert!(matches!(
        dev.boot().unwrap().action,
        BootAction::Installed(_)
    ));
    let svc = dev.service().unwrap();
    assert_eq!(query(&svc, 0).unwrap().state, State::Trial as u8);
}

/// Append `rec` (any generation, correct CRC) to the next blank slot of the given boot log
/// copies, as `BootLog::commit` places records.
pub fn append_raw(dev: &Dev, rec: &BootRecord, copies: &[usize]) {
    let g = geo(dev);
    let (frame, len) = slots::encode(rec, WORD).unwrap();
    for &i in copies {
        let copy = g.boot[i];
        let end = block_on(slots::end_of(&mut *dev.flash_mut(), &copy)).unwrap();
        assert!(end < copy.slots, "no blank slot left in copy {i}");
        dev.flash_mut().load(copy.slot(end) as usize, &frame[..len]);
    }
}

/// The slot of the newest record of boot log copy `i`.
pub fn newest_slot(dev: &Dev, i: usize) -> u32 {
    let copy = geo(dev).boot[i];
    let end = block_on(slots::end_of(&mut *dev.flash_mut(), &copy)).unwrap();
    copy.slot(end - 1)
}

/// Stage `image` for component 0 behind the service's back: the image at the staging offset
/// and a valid `Staged` record committed through the boot log.
pub fn stage_directly(dev: &Dev, image: &[u8]) {
    let s = dev.slots(0);
    let ss = SECTOR as u32;
    dev.flash_mut().load(s.staging_offset(ss) as usize, image);
    let scanned = fwu_shared::image::scan_slice(image, image.len() as u32).unwrap();
    let mut flash = dev.flash_mut();
    let n = block_on(swap_sectors(&mut *flash, &s, ss, scanned.total_size)).unwrap();
    let mut l = block_on(BootLog::open(&mut *flash, dev.layout())).unwrap();
    let txn = l.state();
    let mut sectors = [0u16; 8];
    sectors[0] = n;
    let rec = BootRecord {
        seq: txn.seq + 1,
        phase: Phase::Staged,
        members: Members(1),
        sectors,
        digest: staged_set_digest([(0u8, scanned.digest)].into_iter()),
        ..txn
    };
    block_on(l.commit(&mut *flash, &rec)).unwrap();
}
