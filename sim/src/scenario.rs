//! Scenarios: what a device does, as a list of steps that are each one API call or one reboot,
//! so that a power cut inside a step has exactly two acceptable outcomes (before or after it).

use crate::device::{Device, Service};
use embassy_futures::block_on;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::StateGeometry;
use fwu_shared::version::Dependency;
use fwu_shared::{ComponentId, FwuResult, ImageVersion, PsaStatus};
use fwu_updater::PSA_FWU_MAX_WRITE_SIZE;

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Cold restart: the service is dropped, the bootloader runs, the service is rebuilt.
    Reboot,
    /// `start(c, None)`.
    Start(ComponentId),
    /// `write(c, offset, image[offset..offset + len])` of image `image`.
    Write {
        /// Component.
        c: ComponentId,
        /// Index into the scenario's images.
        image: usize,
        /// Image offset of the block.
        offset: usize,
    },
    /// `finish(c)`.
    Finish(ComponentId),
    /// `cancel(c)`.
    Cancel(ComponentId),
    /// `clean(c)`.
    Clean(ComponentId),
    /// `install()`.
    Install,
    /// `accept()`.
    Accept,
    /// `reject(error)`.
    Reject(PsaStatus),
}

/// A named scenario over a device layout.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name for the summary table.
    pub name: &'static str,
    /// Signed images the scenario uses; index 0.. per component as the factory images first.
    pub images: Vec<Vec<u8>>,
    /// Factory images: (component, image index).
    pub factory: Vec<(ComponentId, usize)>,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Steps that download image `image` into `c` from offset `from` (0 for a fresh download).
    pub fn download_steps(
        c: ComponentId,
        image: usize,
        len: usize,
        from: usize,
        start: bool,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        if start {
            steps.push(Step::Start(c));
        }
        let mut offset = from;
        while offset < len {
            steps.push(Step::Write { c, image, offset });
            offset += PSA_FWU_MAX_WRITE_SIZE;
        }
        steps.push(Step::Finish(c));
        steps
    }
}

/// Run one API step on a service; `Reboot` is handled by the runner.
pub fn run_call<const S: usize, const W: usize>(
    svc: &Service<S, W>,
    step: &Step,
    images: &[Vec<u8>],
) -> FwuResult {
    block_on(async {
        match *step {
            Step::Reboot => Ok(fwu_shared::Success::Done),
            Step::Start(c) => svc.start(c, None).await,
            Step::Write { c, image, offset } => {
                let data = images.get(image).map(|i| i.as_slice()).unwrap_or(&[]);
                let end = (offset + PSA_FWU_MAX_WRITE_SIZE).min(data.len());
                svc.write(c, offset, data.get(offset..end).unwrap_or(&[]))
                    .await
            }
            Step::Finish(c) => svc.finish(c).await,
            Step::Cancel(c) => svc.cancel(c).await,
            Step::Clean(c) => svc.clean(c).await,
            Step::Install => svc.install().await,
            Step::Accept => svc.accept().await,
            Step::Reject(e) => svc.reject(e).await,
        }
    })
}

/// A device shape for the campaigns: sector and write size are the type parameters of
/// [`Device`]; this gives the slots and image sizes.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Name for the summary table.
    pub name: &'static str,
    /// Total sectors of the device.
    pub sectors: usize,
    /// State partition sectors (at offset 0).
    pub state_sectors: u32,
    /// Component slots.
    pub slots: Vec<ComponentSlots>,
    /// Size of the new images as a fraction of their slot (old images are two thirds of it).
    pub fill: f64,
}

impl Shape {
    /// A device of this shape.
    pub fn device<const S: usize, const W: usize>(&self) -> Device<S, W> {
        Device::new(self.sectors, self.state_sectors, &self.slots)
    }

    /// Bytes of `c`'s primary slot.
    pub fn slot_bytes(&self, c: ComponentId, sector: usize) -> usize {
        self.slots
            .iter()
            .find(|s| s.id == c)
            .map_or(0, |s| usize::from(s.sectors) * sector)
    }
}

fn v(major: u8) -> ImageVersion {
    ImageVersion::new(major, 0, 0, 0)
}

/// Image sizes used by a shape: old and new images that differ in length and leave the last
/// sector they use partly filled, so every swap has a partial sector.
fn sizes(slot: usize, sector: usize, fill: f64) -> (usize, usize) {
    let new = ((slot as f64 * fill) as usize)
        .saturating_sub(sector / 3)
        .max(600);
    let old = ((slot as f64 * fill * 2.0 / 3.0) as usize)
        .saturating_sub(sector / 5)
        .max(500);
    (old, new)
}

/// Every scenario of the campaign for a shape with `S`-byte sectors.
pub fn all<const S: usize, const W: usize>(shape: &Shape) -> Vec<Scenario> {
    let slot0 = shape.slot_bytes(0, S);
    let (old_len, new_len) = sizes(slot0, S, shape.fill);
    let img = |major: u8, len: usize, deps: &[Dependency], seed: u8| {
        Device::<S, W>::image(v(major), len, u32::from(major), deps, seed)
    };
    let v1 = img(1, old_len, &[], 1);
    let v2 = img(2, new_len, &[], 2);
    let base_images = vec![v1, v2];
    let factory0 = vec![(0, 0)];
    let mut out = Vec::new();

    let download = Scenario::download_steps(0, 1, new_len, 0, true);
    let with = |name, mut tail: Vec<Step>| {
        let mut steps = download.clone();
        steps.push(Step::Install);
        steps.append(&mut tail);
        Scenario {
            name,
            images: base_images.clone(),
            factory: factory0.clone(),
            steps,
        }
    };
    out.push(with(
        "full update",
        vec![Step::Reboot, Step::Accept, Step::Clean(0), Step::Reboot],
    ));
    out.push(with(
        "automatic revert",
        vec![Step::Reboot, Step::Reboot, Step::Clean(0)],
    ));
    out.push(with(
        "reject in trial",
        vec![Step::Reboot, Step::Reject(-7), Step::Reboot, Step::Clean(0)],
    ));
    out.push(with(
        "reject in staged",
        vec![Step::Reject(-8), Step::Reboot, Step::Clean(0)],
    ));

    // Cancel a half-done download, then clean.
    let mut steps = Scenario::download_steps(0, 1, new_len / 2, 0, true);
    steps.pop();
    steps.extend([Step::Cancel(0), Step::Clean(0), Step::Reboot]);
    out.push(Scenario {
        name: "cancel and clean",
        images: base_images.clone(),
        factory: factory0.clone(),
        steps,
    });

    // A download interrupted by a reset resumes from the sector-aligned checkpoint.
    let half = new_len / 2;
    let mut steps = Scenario::download_steps(0, 1, half, 0, true);
    steps.pop();
    steps.push(Step::Reboot);
    let resume = (half / S) * S;
    steps.extend(Scenario::download_steps(0, 1, new_len, resume, false));
    steps.extend([Step::Install, Step::Reboot, Step::Accept]);
    out.push(Scenario {
        name: "resumed download",
        images: base_images.clone(),
        factory: factory0,
        steps,
    });

    // Multi-component atomic install and revert with dependencies (as many components as fit).
    let comps: Vec<ComponentId> = shape.slots.iter().map(|s| s.id).collect();
    if comps.len() >= 2 {
        let mut images = Vec::new();
        let mut factory = Vec::new();
        let mut steps = Vec::new();
        for (i, &c) in comps.iter().enumerate() {
            let (o, n) = sizes(shape.slot_bytes(c, S), S, shape.fill);
            // Each new image needs the next component's new version (a ring of dependencies),
            // so none can be installed alone.
            let next = comps[(i + 1) % comps.len()];
            let deps = [Dependency {
                component: next,
                min_version: v(2),
            }];
            images.push(img(1, o, &[], 10 + c));
            images.push(img(2, n, &deps, 20 + c));
            factory.push((c, 2 * i));
            steps.extend(Scenario::download_steps(c, 2 * i + 1, n, 0, true));
        }
        steps.extend([Step::Install, Step::Reboot, Step::Reboot]);
        for &c in &comps {
            steps.push(Step::Clean(c));
        }
        let name = if comps.len() >= 3 {
            "three components, revert"
        } else {
            "two components, revert"
        };
        out.push(Scenario {
            name,
            images: images.clone(),
            factory: factory.clone(),
            steps,
        });
        let mut steps: Vec<Step> = Vec::new();
        for (i, &c) in comps.iter().enumerate() {
            let (_, n) = sizes(shape.slot_bytes(c, S), S, shape.fill);
            steps.extend(Scenario::download_steps(c, 2 * i + 1, n, 0, true));
        }
        steps.extend([Step::Install, Step::Reboot, Step::Accept, Step::Reboot]);
        let name = if comps.len() >= 3 {
            "three components, accept"
        } else {
            "two components, accept"
        };
        out.push(Scenario {
            name,
            images,
            factory,
            steps,
        });
    }
    out
}

/// A shape with the state partition first (as large as the layout needs, plus `spare` sectors
/// for the checkpoint map) and then each component's primary and secondary slot, in order.
fn packed(
    name: &'static str,
    sector: u32,
    write: u32,
    comps: &[(ComponentId, u16)],
    spare: u32,
    fill: f64,
) -> Shape {
    let mut slots: Vec<ComponentSlots> = comps
        .iter()
        .map(|&(id, sectors)| ComponentSlots {
            id,
            primary: 0,
            secondary: 0,
            sectors,
        })
        .collect();
    let probe = Layout {
        sector_size: sector,
        components: &slots,
        state: 0..0,
    };
    let state_sectors = StateGeometry::sectors_needed(&probe, write) + spare;
    let mut at = state_sectors * sector;
    for s in slots.iter_mut() {
        s.primary = at;
        at += u32::from(s.sectors) * sector;
        s.secondary = at;
        at += (u32::from(s.sectors) + 1) * sector;
    }
    Shape {
        name,
        sectors: (at / sector) as usize,
        state_sectors,
        slots,
        fill,
    }
}

/// 32 x 4 KiB application slots with 4-byte writes (and a second, 8-sector component).
pub fn shape_4k() -> Shape {
    packed("32x4KiB w4", 4096, 4, &[(0, 32), (1, 8)], 2, 0.75)
}

/// 8 x 128 KiB slots with 16-byte writes (STM32F4-like); images use about three sectors.
pub fn shape_128k() -> Shape {
    packed("8x128KiB w16", 128 * 1024, 16, &[(0, 8)], 0, 0.33)
}

/// 2 KiB sectors with 8-byte writes and three components.
pub fn shape_2k() -> Shape {
    packed("2KiB w8", 2048, 8, &[(0, 16), (1, 6), (2, 4)], 0, 0.75)
}

/// 1 KiB sectors with the smallest state partition the layout allows, so the boot log is
/// compacted and the checkpoint map wraps several times per scenario.
pub fn shape_1k() -> Shape {
    packed(
        "1KiB w4 (state wraps)",
        1024,
        4,
        &[(0, 12), (1, 4)],
        0,
        0.75,
    )
}
