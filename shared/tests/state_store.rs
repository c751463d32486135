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

/// The failure the campaigns found before the erase guard existed: the map's garbage collection
/// erases its old page and power fails half-way, leaving random bytes. Every record, including
/// the one just written to the other page, must still read back.
#[test]
fn an_interrupted_page_erase_loses_no_record() {
    for model in [
        CutModel::TornBits,
        CutModel::Garbage,
        CutModel::TornPrefix,
        CutModel::Skip,
    ] {
        for seed in 0..40u64 {
            let mut f = Flash::new(Geometry {
                sectors: 8,
                erased: 0xff,
            });
            let range = 0..2 * 1024;
            // Fill the first page with versions of one record so that the next store moves to the
            // second page and erases the first.
            let mut stored = 0u32;
            let erase_at = loop {
                let before = f.op_index();
                let rec = candidate(stored);
                block_on(
                    StateStore::new(&mut f, range.clone())
                        .unwrap()
                        .set_component(1, &rec),
                )
                .unwrap();
                stored += 1;
                let erased = f.stats().erases;
                if erased > 0 {
                    // Replay that store with a cut at its erase.
                    break before;
                }
                assert!(stored < 200);
            };
            let mut g = Flash::new(Geometry {
                sectors: 8,
                erased: 0xff,
            });
            for i in 0..stored - 1 {
                block_on(
                    StateStore::new(&mut g, range.clone())
                        .unwrap()
                        .set_component(1, &candidate(i)),
                )
                .unwrap();
            }
            assert_eq!(g.op_index(), erase_at);
            // Find the erase inside the last store and cut there.
            let mut probe = g.clone();
            probe.set_tracing(true);
            block_on(
                StateStore::new(&mut probe, range.clone())
                    .unwrap()
                    .set_component(1, &candidate(stored - 1)),
            )
            .unwrap();
            let erase_op = probe
                .traced()
                .iter()
                .find(|o| o.kind == fwu_sim_flash::OpKind::Erase)
                .map(|o| o.index)
                .unwrap();
            g.arm_cut(erase_op, model, seed);
            let r = block_on(
                StateStore::new(&mut g, range.clone())
                    .unwrap()
                    .set_component(1, &candidate(stored - 1)),
            );
            assert!(r.is_err());
            g.power_on();
            let got =
                block_on(StateStore::new(&mut g, range.clone()).unwrap().component(1)).unwrap();
            assert!(
                got == candidate(stored - 1) || got == candidate(stored - 2),
                "{model:?} seed {seed}: the record was lost ({got:?})"
            );
            // And the store keeps working.
            block_on(
                StateStore::new(&mut g, range.clone())
                    .unwrap()
                    .set_component(1, &candidate(999)),
            )
            .unwrap();
            let got =
                block_on(StateStore::new(&mut g, range.clone()).unwrap().component(1)).unwrap();
            assert_eq!(got, candidate(999));
        }
    }
}

/// Every operation of a long sequence of record writes (several garbage collections of a
/// two-page partition), cut under every model: after a cold restart each record reads as its
/// value before or after the interrupted write, and the store keeps working.
#[test]
fn every_cut_in_a_long_write_sequence_keeps_each_record_old_or_new() {
    let range = 0..2 * 1024;
    let writes: Vec<(u8, u32)> = (0..45u32).map(|i| ((i % 3) as u8, i)).collect();
    let run = |f: &mut Flash, upto: usize| -> Result<(), StoreError> {
        for &(c, v) in &writes[..upto] {
            block_on(
                StateStore::new(f, range.clone())
                    .unwrap()
                    .set_component(c, &candidate(v)),
            )?;
        }
        Ok(())
    };
    let mut clean = flash();
    let mut boundaries = vec![clean.op_index()];
    for &(c, v) in &writes {
        block_on(
            StateStore::new(&mut clean, range.clone())
                .unwrap()
                .set_component(c, &candidate(v)),
        )
        .unwrap();
        boundaries.push(clean.op_index());
    }
    assert!(
        clean.stats().erases >= 4,
        "the sequence must garbage-collect several times"
    );
    let total = clean.op_index();
    let mut tried = 0;
    for model in CutModel::ALL {
        for op in 0..total {
            let mut f = flash();
            f.arm_cut(op, model, op * 7 + 1);
            let _ = run(&mut f, writes.len());
            f.power_on();
            // The write that was interrupted, and what each record may hold now.
            let i = boundaries.iter().rposition(|&b| b <= op).unwrap();
            for c in 0..3u8 {
                let before = writes[..i]
                    .iter()
                    .rev()
                    .find(|w| w.0 == c)
                    .map(|w| candidate(w.1));
                let after = writes[..=i]
                    .iter()
                    .rev()
                    .find(|w| w.0 == c)
                    .map(|w| candidate(w.1));
                let got = block_on(StateStore::new(&mut f, range.clone()).unwrap().component(c))
                    .unwrap_or_else(|e| panic!("{model:?} op {op}: {e:?}"));
                let ok = [before, after].iter().any(|x| x.unwrap_or_default() == got);
                assert!(ok, "{model:?} op {op}: component {c} holds {got:?}");
            }
            block_on(
                StateStore::new(&mut f, range.clone())
                    .unwrap()
                    .set_component(0, &candidate(77)),
            )
            .unwrap_or_else(|e| panic!("{model:?} op {op}: the store no longer works: {e:?}"));
            assert_eq!(
                block_on(StateStore::new(&mut f, range.clone()).unwrap().component(0)).unwrap(),
                candidate(77)
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 5 * total);
}
