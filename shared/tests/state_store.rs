//! The state store on the simulated NOR flash: defaults, persistence across cold restarts,
//! garbage collection over many records, settling, and power cuts at every operation of a settle.
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_shared::state::records::{Direction, StagedImage};
use fwu_shared::state::{
    ComponentRecord, Members, Phase, StateStore, StoreError, StoredCounters, SwapProgress,
    TxnRecord,
};
use fwu_shared::State;
use fwu_sim_flash::{CutModel, Geometry, SimFlash};

type Flash = SimFlash<1024, 4>;
const STATE: core::ops::Range<u32> = 0..4 * 1024;

fn flash() -> Flash {
    Flash::new(Geometry {
        sectors: 8,
        erased: 0xff,
    })
}

fn open(f: &mut Flash) -> StateStore<'_, Flash> {
    StateStore::new(f, STATE.clone()).unwrap()
}

fn candidate(counter: u32) -> ComponentRecord {
    ComponentRecord {
        state: State::Candidate,
        staged: StagedImage {
            size: 100,
            security_counter: counter,
            ..StagedImage::default()
        },
        ..ComponentRecord::default()
    }
}

#[test]
fn a_fresh_partition_reads_as_defaults() {
    let mut f = flash();
    let mut s = open(&mut f);
    block_on(async {
        assert_eq!(s.txn().await.unwrap(), TxnRecord::default());
        assert_eq!(s.component(3).await.unwrap(), ComponentRecord::default());
        assert_eq!(s.progress().await.unwrap(), None);
        assert_eq!(s.stored_counter(0).await.unwrap(), 0);
        assert_eq!(s.component(8).await, Err(StoreError::Config));
    });
}

#[test]
fn bad_partition_ranges_are_refused() {
    let mut f = flash();
    assert!(matches!(
        StateStore::new(&mut f, 0..1024),
        Err(StoreError::Config)
    ));
    assert!(matches!(
        StateStore::new(&mut f, 100..4096),
        Err(StoreError::Config)
    ));
}

#[test]
fn records_survive_a_cold_restart_and_many_rewrites() {
    let mut f = flash();
    block_on(async {
        let mut s = open(&mut f);
        // Far more records than fit in the partition: the map must garbage-collect.
        for step in 0..2000u16 {
            s.set_progress(&SwapProgress {
                seq: 1,
                direction: Direction::Install,
                member: 0,
                steps: step,
            })
            .await
            .unwrap();
            if step % 100 == 0 {
                s.set_component(1, &candidate(u32::from(step)))
                    .await
                    .unwrap();
            }
        }
        s.raise_stored_counter(2, 9).await.unwrap();
        s.raise_stored_counter(2, 4).await.unwrap();
    });
    assert!(
        f.stats().erases > 4,
        "garbage collection must have erased pages"
    );
    let mut s = open(&mut f);
    block_on(async {
        assert_eq!(s.progress().await.unwrap().unwrap().steps, 1999);
        assert_eq!(s.component(1).await.unwrap(), candidate(1900));
        assert_eq!(
            s.stored_counter(2).await.unwrap(),
            9,
            "a counter never falls"
        );
    });
}

fn staged_txn(members: u8) -> TxnRecord {
    TxnRecord {
        seq: 4,
        phase: Phase::Updated,
        members: Members(members),
        ..TxnRecord::default()
    }
}

#[test]
fn settle_folds_updated_and_failed_transactions() {
    let mut f = flash();
    let mut s = open(&mut f);
    block_on(async {
        s.set_component(0, &candidate(7)).await.unwrap();
        s.set_component(2, &candidate(3)).await.unwrap();
        s.raise_stored_counter(2, 5).await.unwrap();
        s.set_txn(&staged_txn(0b101)).await.unwrap();
        assert!(s.settle(&mut StoredCounters).await.unwrap());
        assert_eq!(
            s.txn().await.unwrap(),
            TxnRecord {
                seq: 4,
                ..TxnRecord::default()
            }
        );
        assert_eq!(s.component(0).await.unwrap().state, State::Updated);
        assert_eq!(s.component(2).await.unwrap().state, State::Updated);
        assert_eq!(s.stored_counter(0).await.unwrap(), 7);
        assert_eq!(s.stored_counter(2).await.unwrap(), 5);
        assert!(
            !s.settle(&mut StoredCounters).await.unwrap(),
            "nothing left to settle"
        );

        s.set_component(1, &candidate(99)).await.unwrap();
        s.set_txn(&TxnRecord {
            seq: 5,
            phase: Phase::Failed,
            members: Members(0b10),
            error: -42,
            ..TxnRecord::default()
        })
        .await
        .unwrap();
        assert!(s.settle(&mut StoredCounters).await.unwrap());
        let c1 = s.component(1).await.unwrap();
        assert_eq!((c1.state, c1.error), (State::Failed, -42));
        assert_eq!(
            s.stored_counter(1).await.unwrap(),
            0,
            "a failed update raises nothing"
        );
    });
}

/// The states a reader derives: the transaction overrides its members' records.
fn effective(s: &mut StateStore<'_, Flash>) -> Vec<(State, i32)> {
    block_on(async {
        let txn = s.txn().await.unwrap();
        let mut out = Vec::new();
        for c in 0..3u8 {
            let rec = s.component(c).await.unwrap();
            out.push(txn.member_state(c).unwrap_or((rec.state, rec.error)));
        }
        out
    })
}

#[test]
fn a_cut_at_any_operation_of_a_settle_changes_no_reported_state() {
    let mut base = flash();
    block_on(async {
        let mut s = open(&mut base);
        // Fill the map close to a page boundary so that some settles trigger garbage collection.
        for i in 0..40u16 {
            s.set_progress(&SwapProgress {
                seq: 1,
                direction: Direction::Revert,
                member: 1,
                steps: i,
            })
            .await
            .unwrap();
        }
        s.set_component(0, &candidate(7)).await.unwrap();
        s.set_component(1, &candidate(8)).await.unwrap();
        s.set_txn(&staged_txn(0b011)).await.unwrap();
    });
    let before = effective(&mut open(&mut base.clone()));
    assert_eq!(
        before,
        vec![(State::Updated, 0), (State::Updated, 0), (State::Ready, 0)]
    );

    let mut clean = base.clone();
    let start = clean.op_index();
    block_on(open(&mut clean).settle(&mut StoredCounters)).unwrap();
    let ops = clean.op_index() - start;
    assert!(ops >= 3);
    let mut tried = 0;
    for model in CutModel::ALL {
        for k in 0..ops {
            for seed in 0..3 {
                let mut f = base.clone();
                f.arm_cut(start + k, model, seed);
                let r = block_on(open(&mut f).settle(&mut StoredCounters));
                assert!(r.is_err() || !f.is_cut(), "cut must surface as an error");
                f.power_on();
                let mut s = open(&mut f);
                assert_eq!(effective(&mut s), before, "{model:?} at op {k} seed {seed}");
                let counter = block_on(s.stored_counter(0)).unwrap();
                assert!(counter == 0 || counter == 7);
                block_on(s.settle(&mut StoredCounters)).unwrap();
                assert_eq!(effective(&mut s), before);
                assert_eq!(block_on(s.stored_counter(0)).unwrap(), 7);
                assert_eq!(block_on(s.stored_counter(1)).unwrap(), 8);
                assert_eq!(block_on(s.txn()).unwrap().phase, Phase::Idle);
                tried += 1;
            }
        }
    }
    assert!(tried > 30);
}

#[test]
fn garbage_in_the_partition_is_an_error_or_a_default_never_a_panic() {
    for seed in 0..50u64 {
        let mut f = flash();
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let junk: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        f.load(0, &junk);
        let mut s = open(&mut f);
        let _ = block_on(s.txn());
        let _ = block_on(s.component(0));
        let _ = block_on(s.set_txn(&staged_txn(1)));
    }
}
