//! Random sequences of scans, pickups, moves, expiries, problems, consents
//! and returns, driven through the use cases against a real SQLite file and
//! a real PostgreSQL schema (each case gets a fresh one). After every step
//! the stored state must equal what the domain state machine says, and the
//! database invariants must hold.

use app::AppError;
use app::inbound::InboundScan;
use app::parcels::PickupProof;
use app::ports::NewStation;
use chrono::Duration;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{
    Action, Carrier, CodeFormat, ParcelState, Phone, Principal, ProblemKind, Role, WaybillNo,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::collections::HashMap;
use std::future::Future;
use testkit::Harness;

#[derive(Debug, Clone)]
enum Op {
    Scan { parcel: usize, consent: bool },
    PickUp { parcel: usize, right_tail: bool },
    Move { parcel: usize, slot: usize },
    Expire { days: i64 },
    Problem { parcel: usize },
    Consent { parcel: usize },
    Return { parcel: usize },
}

const N_PARCELS: usize = 10;
const N_SLOTS: usize = 4;

fn op() -> impl Strategy<Value = Op> {
    let parcel = 0..N_PARCELS;
    prop_oneof![
        4 => (parcel.clone(), any::<bool>()).prop_map(|(parcel, consent)| Op::Scan { parcel, consent }),
        3 => (parcel.clone(), prop::bool::weighted(0.8)).prop_map(|(parcel, right_tail)| Op::PickUp { parcel, right_tail }),
        2 => (parcel.clone(), 0..N_SLOTS).prop_map(|(parcel, slot)| Op::Move { parcel, slot }),
        1 => (1i64..4).prop_map(|days| Op::Expire { days }),
        1 => parcel.clone().prop_map(|parcel| Op::Problem { parcel }),
        1 => parcel.clone().prop_map(|parcel| Op::Consent { parcel }),
        1 => parcel.prop_map(|parcel| Op::Return { parcel }),
    ]
}

fn waybill(parcel: usize) -> WaybillNo {
    WaybillNo::parse(&format!("7300000000{parcel:02}")).unwrap()
}

fn phone(parcel: usize) -> Phone {
    Phone::parse(&format!("1380000{:04}", 1000 + parcel)).unwrap()
}

async fn run(h: &Harness, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (app, db, clock) = (&h.app, &h.db, &h.clock);
    // Fewer places than parcels, so "station full" happens too.
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 1,
        slots_per_tier: N_SLOTS as u32,
        size: SizeClass::Small,
        slot_capacity: 2,
    }];
    let new = NewStation {
        location: None,
        name: "p".into(),
        township: "t".into(),
        division_code: None,
        code_format: CodeFormat::default(),
        holding: HoldingPolicy::default(),
        slots: lay_out(&shelves).unwrap(),
    };
    let station_id = app.store.create_station(&new, app.now()).await.unwrap().id;
    let slot_ids: Vec<i64> = app
        .store
        .slots(station_id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.slot.id)
        .collect();
    let keeper = Principal {
        user_id: 1,
        username: "k".into(),
        role: Role::StationKeeper,
        station_ids: vec![station_id],
        carrier: None,
    };
    let admin = Principal {
        role: Role::Admin,
        station_ids: vec![],
        ..keeper.clone()
    };
    // The model: each parcel's state per the domain, and its database id.
    let mut model: HashMap<usize, (i64, ParcelState)> = HashMap::new();
    // Consent, once given for a parcel, stays given.
    let mut consented: std::collections::HashSet<usize> = Default::default();
    for op in ops {
        let target = match &op {
            Op::Scan { parcel, .. }
            | Op::PickUp { parcel, .. }
            | Op::Move { parcel, .. }
            | Op::Problem { parcel }
            | Op::Consent { parcel }
            | Op::Return { parcel } => Some(*parcel),
            Op::Expire { .. } => None,
        };
        let known = target.and_then(|p| model.get(&p).copied());
        let result: Result<(i64, ParcelState), AppError> = match &op {
            Op::Scan { parcel, consent } => {
                let scan = InboundScan {
                    carrier: Carrier::Zto,
                    waybill: waybill(*parcel),
                    recipient_name: None,
                    phone: Some(phone(*parcel)),
                    size: SizeClass::Small,
                    consent: Some(*consent),
                };
                app.inbound(&keeper, station_id, scan)
                    .await
                    .map(|o| (o.parcel_id, o.state))
            }
            Op::Expire { days } => {
                clock.advance(Duration::days(*days));
                app.run_holding(&admin)
                    .await
                    .map(|_| (0, ParcelState::Announced))
            }
            _ => match known {
                None => continue, // never scanned: nothing to act on
                Some((id, _)) => match &op {
                    Op::PickUp { parcel, right_tail } => {
                        let view = app.parcel(&keeper, id).await.unwrap();
                        let tail = if *right_tail {
                            phone(*parcel).tail().to_string()
                        } else {
                            "0000".into()
                        };
                        let code = view.parcel.pickup_code.unwrap_or_else(|| "A-1-9999".into());
                        app.pick_up(
                            &keeper,
                            id,
                            PickupProof::CodeAndPhoneTail {
                                code,
                                phone_tail: tail,
                            },
                        )
                        .await
                        .map(|v| (id, v.parcel.state))
                    }
                    Op::Move { slot, .. } => app
                        .move_parcel(&keeper, id, slot_ids[*slot])
                        .await
                        .map(|v| (id, v.parcel.state)),
                    Op::Problem { .. } => app
                        .report_problem(&keeper, id, ProblemKind::Damaged, None)
                        .await
                        .map(|v| (id, v.parcel.state)),
                    Op::Consent { .. } => app
                        .grant_consent(&keeper, id, "test")
                        .await
                        .map(|v| (id, v.parcel.state)),
                    Op::Return { .. } => app
                        .return_to_carrier(&keeper, id)
                        .await
                        .map(|v| (id, v.parcel.state)),
                    _ => unreachable!(),
                },
            },
        };
        // What the domain says should have happened.
        let from = known.map_or(ParcelState::Announced, |(_, state)| state);
        let action = match &op {
            Op::Scan { consent, parcel } => Some(Action::StationInbound {
                consented: *consent || consented.contains(parcel),
            }),
            Op::PickUp { .. } => Some(Action::PickUp),
            Op::Move { .. } => Some(Action::Move),
            Op::Problem { .. } => Some(Action::ReportProblem {
                kind: ProblemKind::Damaged,
            }),
            Op::Consent { .. } => Some(Action::GrantConsent),
            Op::Return { .. } => Some(Action::ReturnToCarrier),
            Op::Expire { .. } => None,
        };
        match (action, result) {
            (None, result) => prop_assert!(result.is_ok(), "holding job failed: {result:?}"),
            (Some(action), Ok((id, state))) => {
                let duplicate_scan = matches!(op, Op::Scan { .. }) && from.occupies_slot();
                let expected = if duplicate_scan {
                    from
                } else {
                    from.apply(action).map_err(|e| {
                        TestCaseError::fail(format!(
                            "{op:?} succeeded but the domain forbids it: {e}"
                        ))
                    })?
                };
                prop_assert_eq!(state, expected, "{:?}", op);
                model.insert(target.unwrap(), (id, state));
                // A duplicate scan changes nothing, its consent flag included.
                if !duplicate_scan
                    && (matches!(op, Op::Scan { consent: true, .. } | Op::Consent { .. })
                        || (matches!(op, Op::Scan { .. }) && state == ParcelState::Stored))
                {
                    consented.insert(target.unwrap());
                }
            }
            (Some(action), Err(error)) => {
                let allowed = from.apply(action).is_ok();
                // A refusal of the request (422) or, for a move, of the
                // slot or the parcel's state (409).
                let refused = matches!(error, AppError::Refused { .. });
                let explained = matches!(error, AppError::StationFull(_))
                    || (refused && error.code().status() == 422)
                    || (refused && error.code().status() == 409 && matches!(op, Op::Move { .. }));
                prop_assert!(
                    !allowed || explained,
                    "{:?} from {} refused without reason: {}",
                    op,
                    from,
                    error
                );
            }
        }
        for (parcel, (id, state)) in &model {
            let stored = app.store.parcel(*id).await.unwrap().unwrap();
            prop_assert_eq!(stored.state, *state, "parcel {} after {:?}", parcel, op);
        }
        let problems = db.check_invariants().await.unwrap();
        prop_assert!(
            problems.is_empty(),
            "{}: after {:?}: {:?}",
            h.name(),
            op,
            problems
        );
    }
    Ok(())
}

/// Cases on PostgreSQL: each takes a fresh schema and its migrations, and
/// this half must stay around a minute in CI.
const POSTGRES_CASES: u32 = 32;

/// Runs `cases` random station days, each on a fresh database from
/// `database`. Failures are shrunk and persisted as with `proptest!`.
fn random_days<F, D>(cases: u32, database: D)
where
    D: Fn() -> F,
    F: Future<Output = Harness>,
{
    let config = ProptestConfig {
        cases,
        // Where `proptest!` would keep failing cases: property.proptest-regressions.
        source_file: Some(file!()),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let days = prop::collection::vec(op(), 1..40);
    let result = runner.run(&days, |ops| {
        runtime.block_on(async {
            let h = database().await;
            let outcome = run(&h, ops).await;
            h.cleanup().await;
            outcome
        })
    });
    if let Err(error) = result {
        panic!("{error}\n{runner}");
    }
}

#[test]
fn random_station_days_keep_the_invariants_on_sqlite() {
    random_days(48, testkit::sqlite);
}

#[test]
fn random_station_days_keep_the_invariants_on_postgres() {
    let Some(url) = testkit::database_url() else {
        return;
    };
    random_days(POSTGRES_CASES, || testkit::postgres(&url));
}
