//! The two halves together on one simulated device: the real update service drives downloads,
//! install, accept and reject; the real bootloader installs, hands over to the trial and rolls
//! back. Every "reboot" is a cold start: the service is dropped and rebuilt from flash.
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_bootloader::{BootAction, ERROR_TRIAL_NOT_ACCEPTED};
use fwu_shared::layout::ComponentSlots;
use fwu_shared::state::Members;
use fwu_shared::version::Dependency;
use fwu_shared::{Error, ImageVersion, State};
use fwu_sim::device::{call, download, query, DONE, REBOOT};
use fwu_sim::Device;

type Dev = Device<4096, 4>;

fn device() -> Dev {
    // 32 x 4 KiB slots for the application, 8 for a second component, 4 state sectors.
    let slots = [
        ComponentSlots {
            id: 0,
            primary: 0x10000,
            secondary: 0x30000,
            sectors: 32,
        },
        ComponentSlots {
            id: 1,
            primary: 0x60000,
            secondary: 0x70000,
            sectors: 8,
        },
    ];
    Dev::new(0x80000 / 4096, 6, &slots)
}

fn v(major: u8) -> ImageVersion {
    ImageVersion::new(major, 0, 0, 0)
}

#[test]
fn full_update_trial_accept_then_automatic_revert_then_reject() {
    let dev = device();
    let v1 = Dev::image(v(1), 40_000, 1, &[], 1);
    let v2 = Dev::image(v(2), 90_000, 2, &[], 2);
    let v3 = Dev::image(v(3), 70_000, 3, &[], 3);
    dev.factory(0, &v1);
    dev.factory(1, &Dev::image(v(1), 5_000, 1, &[], 9));
    assert_eq!(dev.boot().unwrap().action, BootAction::None);

    // Update to v2: download, install, reboot.
    {
        let svc = dev.service().unwrap();
        let info = query(&svc, 0).unwrap();
        assert_eq!((info.state, info.version), (State::Ready as u8, v(1)));
        assert_eq!(download(&svc, 0, &v2), DONE);
        assert_eq!(query(&svc, 0).unwrap().state, State::Candidate as u8);
        assert_eq!(call(svc.install()), REBOOT);
        assert_eq!(query(&svc, 0).unwrap().state, State::Staged as u8);
        assert_eq!(call(svc.request_reboot()), DONE);
        let (_, reset, _) = svc.release();
        assert!(
            reset.requested,
            "request_reboot reached the board's reset hook"
        );
    }
    let r = dev.boot().unwrap();
    assert_eq!(r.action, BootAction::Installed(Members(1)));
    assert!(r.trial);
    assert!(dev.runs(0, &v2));

    // The new firmware runs on trial, self-tests and accepts.
    {
        let svc = dev.service().unwrap();
        let info = query(&svc, 0).unwrap();
        assert_eq!((info.state, info.version), (State::Trial as u8, v(2)));
        assert_eq!(call(svc.accept()), DONE);
        assert_eq!(query(&svc, 0).unwrap().state, State::Updated as u8);
        assert_eq!(call(svc.clean(0)), DONE);
        assert_eq!(query(&svc, 0).unwrap().state, State::Ready as u8);
    }
    assert_eq!(dev.boot().unwrap().action, BootAction::None);
    assert!(dev.runs(0, &v2));

    // v3 is installed but never accepted: the second boot rolls back automatically.
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &v3), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    assert_eq!(
        dev.boot().unwrap().action,
        BootAction::Installed(Members(1))
    );
    // The trial application starts (and builds its service), then the device resets.
    drop(dev.service().unwrap());
    let r = dev.boot().unwrap();
    assert_eq!(
        r.action,
        BootAction::Reverted(Members(1), ERROR_TRIAL_NOT_ACCEPTED)
    );
    assert!(dev.runs(0, &v2));
    {
        let svc = dev.service().unwrap();
        let info = query(&svc, 0).unwrap();
        assert_eq!(
            (info.state, info.error, info.version),
            (State::Failed as u8, ERROR_TRIAL_NOT_ACCEPTED, v(2))
        );
        assert_eq!(call(svc.clean(0)), DONE);
        // The same v3 again, rejected by the application's self-test this time.
        assert_eq!(download(&svc, 0, &v3), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    dev.boot().unwrap();
    {
        let svc = dev.service().unwrap();
        assert_eq!(query(&svc, 0).unwrap().state, State::Trial as u8);
        assert_eq!(call(svc.reject(-5)), REBOOT);
        let info = query(&svc, 0).unwrap();
        assert_eq!(
            (info.state, info.error, info.version),
            (State::Rejected as u8, -5, v(3))
        );
    }
    assert_eq!(
        dev.boot().unwrap().action,
        BootAction::Reverted(Members(1), -5)
    );
    {
        let svc = dev.service().unwrap();
        let info = query(&svc, 0).unwrap();
        assert_eq!(
            (info.state, info.error, info.version),
            (State::Failed as u8, -5, v(2))
        );
        assert_eq!(call(svc.clean(0)), DONE);
    }
    assert!(dev.runs(0, &v2));
}

#[test]
fn two_components_with_a_mutual_dependency_update_and_revert_together() {
    let dev = device();
    let app1 = Dev::image(v(1), 30_000, 1, &[], 1);
    let radio1 = Dev::image(v(1), 8_000, 1, &[], 2);
    dev.factory(0, &app1);
    dev.factory(1, &radio1);
    let app2 = Dev::image(
        v(2),
        50_000,
        2,
        &[Dependency {
            component: 1,
            min_version: v(2),
        }],
        3,
    );
    let radio2 = Dev::image(
        v(2),
        20_000,
        2,
        &[Dependency {
            component: 0,
            min_version: v(2),
        }],
        4,
    );
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &app2), DONE);
        // Alone, the app's dependency on radio 2.0 is not met.
        assert_eq!(call(svc.install()), Err(Error::DependencyNeeded));
        assert_eq!(query(&svc, 0).unwrap().state, State::Candidate as u8);
        assert_eq!(download(&svc, 1, &radio2), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    assert_eq!(
        dev.boot().unwrap().action,
        BootAction::Installed(Members(0b11))
    );
    assert!(dev.runs(0, &app2));
    assert!(dev.runs(1, &radio2));
    {
        let svc = dev.service().unwrap();
        assert_eq!(query(&svc, 1).unwrap().state, State::Trial as u8);
        assert_eq!(call(svc.reject(-9)), REBOOT);
    }
    assert_eq!(
        dev.boot().unwrap().action,
        BootAction::Reverted(Members(0b11), -9)
    );
    assert!(dev.runs(0, &app1));
    assert!(dev.runs(1, &radio1));
    let svc = dev.service().unwrap();
    for c in [0, 1] {
        let info = query(&svc, c).unwrap();
        assert_eq!(
            (info.state, info.error, info.version),
            (State::Failed as u8, -9, v(1))
        );
    }
    block_on(async {
        assert_eq!(svc.clean(0).await, DONE);
        assert_eq!(svc.clean(1).await, DONE);
    });
}

#[test]
fn a_downgrade_and_a_bad_signature_are_refused_before_any_reboot() {
    let dev = device();
    dev.factory(0, &Dev::image(v(2), 30_000, 2, &[], 1));
    dev.factory(1, &Dev::image(v(1), 5_000, 1, &[], 2));
    let svc = dev.service().unwrap();
    assert_eq!(
        download(&svc, 0, &Dev::image(v(1), 30_000, 2, &[], 3)),
        Err(Error::NotPermitted)
    );
    assert_eq!(query(&svc, 0).unwrap().state, State::Failed as u8);
    assert_eq!(call(svc.clean(0)), DONE);
    let mut forged = Dev::image(v(3), 30_000, 3, &[], 4);
    forged[1000] ^= 1;
    assert_eq!(download(&svc, 0, &forged), Err(Error::InvalidSignature));
    let info = query(&svc, 0).unwrap();
    assert_eq!(
        (info.state, info.error),
        (State::Failed as u8, Error::InvalidSignature.code())
    );
}
