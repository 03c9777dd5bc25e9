//! The store contract: the use cases run against real SQLite and real
//! PostgreSQL (when `YIZHAN_TEST_DATABASE_URL` is set) and must behave the
//! same. Each test gets a fresh database file or a fresh schema.

use app::parcels::{PickupProof, ShownProof};
use app::ports::{NewStation, ParcelFilter, Store};
use app::{AppError, Code};
use chrono::Duration;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, ParcelState, Phone};

use testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inbound_assigns_slot_and_code_and_rescans_are_idempotent() {
    for h in backends().await {
        let station_id = station(&h.app, 10, 1).await;
        let keeper = keeper_of(station_id);
        let first = h
            .app
            .inbound(&keeper, station_id, scan("731234567890", "13812345678"))
            .await
            .unwrap();
        assert_eq!(first.state, ParcelState::Stored);
        // The shelf and tier a keeper reads, then six random digits.
        let code = first.pickup_code.clone().unwrap();
        assert!(
            code.len() == 10
                && code.starts_with("A-1-")
                && code[4..].bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
        assert_eq!(first.slot.as_deref(), Some("A-1-01"));
        assert!(!first.duplicate);
        let again = h
            .app
            .inbound(&keeper, station_id, scan("731234567890", "13812345678"))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(
            (
                again.parcel_id,
                again.slot.clone(),
                again.pickup_code.clone()
            ),
            (
                first.parcel_id,
                first.slot.clone(),
                first.pickup_code.clone()
            )
        );
        let second = h
            .app
            .inbound(&keeper, station_id, scan("731234567891", "13812345678"))
            .await
            .unwrap();
        assert_ne!(second.pickup_code, first.pickup_code);
        assert_eq!(second.slot.as_deref(), Some("A-1-02"));
        let events = h.app.parcel_events(&keeper, first.parcel_id).await.unwrap();
        assert_eq!(events.len(), 1, "a duplicate scan leaves no second event");
        assert_eq!(events[0].kind, "stored");
        let by_code = ParcelFilter {
            pickup_code: Some(code.to_lowercase()),
            limit: 10,
            ..Default::default()
        };
        let found = h
            .app
            .station_parcels(&keeper, station_id, by_code)
            .await
            .unwrap()
            .parcels;
        assert_eq!(
            found
                .iter()
                .map(|v| (v.parcel.id, v.slot.clone()))
                .collect::<Vec<_>>(),
            vec![(first.parcel_id, Some("A-1-01".to_string()))]
        );
        // Both arrivals for one recipient leave as one merged message.
        h.clock.advance(Duration::minutes(1));
        let sender = testkit::RecordingSender::default();
        let report = h.app.relay_once(&sender, 100).await.unwrap();
        assert_eq!((report.n_sent, report.n_merged), (1, 1));
        let sent = sender.sent.lock().unwrap().clone();
        assert!(
            sent[0].1.contains("2个包裹")
                && sent[0].1.contains(&code)
                && sent[0].1.contains(second.pickup_code.as_deref().unwrap()),
            "{}",
            sent[0].1
        );
        assert_eq!(
            h.app.relay_once(&sender, 100).await.unwrap().n_sent,
            0,
            "sent once only"
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_scans_fill_fifty_slots_exactly() {
    for h in backends().await {
        let station_id = station(&h.app, 50, 1).await;
        let keeper = keeper_of(station_id);
        let tasks: Vec<_> = (0..64)
            .map(|idx| {
                let app = h.app.clone();
                let keeper = keeper.clone();
                tokio::spawn(async move {
                    app.inbound(
                        &keeper,
                        station_id,
                        scan(&format!("7300000000{idx:02}"), "13912345678"),
                    )
                    .await
                })
            })
            .collect();
        let results: Vec<_> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let stored: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let full = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::StationFull(_))))
            .count();
        assert_eq!(
            stored.len(),
            50,
            "{}: {:?}",
            h.db.backend(),
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .collect::<Vec<_>>()
        );
        assert_eq!(full, 14);
        let mut codes: Vec<_> = stored
            .iter()
            .map(|o| o.pickup_code.clone().unwrap())
            .collect();
        let mut slots: Vec<_> = stored.iter().map(|o| o.slot.clone().unwrap()).collect();
        codes.sort();
        codes.dedup();
        slots.sort();
        slots.dedup();
        assert_eq!(
            (codes.len(), slots.len()),
            (50, 50),
            "no code or slot given twice"
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pickup_needs_the_recipients_own_proof() {
    for h in backends().await {
        let station_id = station(&h.app, 5, 2).await;
        let keeper = keeper_of(station_id);
        let parcel = h
            .app
            .inbound(&keeper, station_id, scan("731234567890", "13812345678"))
            .await
            .unwrap();
        let code = parcel.pickup_code.clone().unwrap();
        let wrong = PickupProof::CodeAndPhoneTail {
            code: code.clone(),
            phone_tail: "0000".into(),
        };
        assert!(matches!(
            h.app.pick_up(&keeper, parcel.parcel_id, wrong).await,
            Err(ref e) if e.is(Code::PickupProofMismatch)
        ));
        let other_keeper = keeper_of(station_id + 1000);
        let right = PickupProof::CodeAndPhoneTail {
            code: code.to_lowercase(),
            phone_tail: "5678".into(),
        };
        assert!(matches!(
            h.app
                .pick_up(&other_keeper, parcel.parcel_id, right.clone())
                .await,
            Err(AppError::NotFound(_))
        ));
        let done = h
            .app
            .pick_up(&keeper, parcel.parcel_id, right.clone())
            .await
            .unwrap();
        assert_eq!(done.parcel.state, ParcelState::PickedUp);
        assert!(
            matches!(
                h.app.pick_up(&keeper, parcel.parcel_id, right).await,
                Err(ref e) if e.is(Code::ConflictState)
            ),
            "a second pickup is refused"
        );
        // The code is free again for a new parcel, and staff-assisted pickup records what was shown.
        let next = h
            .app
            .inbound(&keeper, station_id, scan("731234567899", "13812345678"))
            .await
            .unwrap();
        let staff = PickupProof::StaffAssisted {
            shown: ShownProof::IdCard,
            note: None,
        };
        h.app.pick_up(&keeper, next.parcel_id, staff).await.unwrap();
        let events = h.app.parcel_events(&admin(), next.parcel_id).await.unwrap();
        assert_eq!(events.last().unwrap().details["proof"], "staff_assisted");
        assert_eq!(events.last().unwrap().details["shown"], "id_card");
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_consent_a_parcel_waits_without_a_code() {
    for h in backends().await {
        let station_id = station(&h.app, 5, 1).await;
        let keeper = keeper_of(station_id);
        let mut no_consent = scan("731234567890", "13812345678");
        no_consent.consent = None;
        let outcome = h
            .app
            .inbound(&keeper, station_id, no_consent)
            .await
            .unwrap();
        assert_eq!(outcome.state, ParcelState::AwaitingConsent);
        assert_eq!(outcome.pickup_code, None);
        let stored = h
            .app
            .grant_consent(&keeper, outcome.parcel_id, "recipient_reply")
            .await
            .unwrap();
        assert_eq!(stored.parcel.state, ParcelState::Stored);
        assert!(stored.parcel.pickup_code.is_some());
        // A standing preference counts as consent for later parcels.
        h.app
            .store
            .set_standing_consent(
                &Phone::parse("13700001111").unwrap(),
                true,
                "test",
                h.app.now(),
            )
            .await
            .unwrap();
        let mut standing = scan("731234567891", "13700001111");
        standing.consent = None;
        assert_eq!(
            h.app
                .inbound(&keeper, station_id, standing)
                .await
                .unwrap()
                .state,
            ParcelState::Stored
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_keeps_good_rows_and_reports_each_refused_one() {
    for h in backends().await {
        let station_id = station(&h.app, 3, 1).await;
        let keeper = keeper_of(station_id);
        let mut scans: Vec<_> = (0..4)
            .map(|idx| scan(&format!("73000000000{idx}"), "13812345678"))
            .collect();
        scans[1].recipient_name = Some("x".repeat(100));
        let outcome = h
            .app
            .inbound_batch(&keeper, station_id, scans)
            .await
            .unwrap();
        assert_eq!(outcome.stored.len(), 3);
        assert_eq!(outcome.rejected.len(), 1);
        assert_eq!(outcome.rejected[0].index, 1);
        assert!(
            outcome.rejected[0].reason.contains("recipient name"),
            "{}",
            outcome.rejected[0].reason
        );
        // The station is now full: a further batch row is refused with a reason.
        let full = h
            .app
            .inbound_batch(
                &keeper,
                station_id,
                vec![scan("739999999999", "13812345678")],
            )
            .await
            .unwrap();
        assert!(
            full.rejected[0].reason.contains("no free slot"),
            "{}",
            full.rejected[0].reason
        );
        let filter = ParcelFilter {
            station_id: Some(station_id),
            limit: 50,
            ..Default::default()
        };
        assert_eq!(
            h.app.search(&keeper, filter).await.unwrap().parcels.len(),
            3,
            "a refused row leaves nothing behind"
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holding_job_reminds_on_days_three_and_six_then_lists_returns() {
    for h in backends().await {
        let station_id = station(&h.app, 5, 1).await;
        let keeper = keeper_of(station_id);
        let parcel = h
            .app
            .inbound(&keeper, station_id, scan("731234567890", "13812345678"))
            .await
            .unwrap();
        let sender = testkit::RecordingSender::default();
        let mut n_reminders = Vec::new();
        for _day in 1..=8 {
            h.clock.advance(Duration::days(1));
            let report = h.app.run_holding(&admin()).await.unwrap();
            assert_eq!(
                h.app.run_holding(&admin()).await.unwrap().n_reminders,
                0,
                "a second run the same day reminds nobody"
            );
            n_reminders.push(report.n_reminders);
        }
        assert_eq!(n_reminders, vec![0, 0, 1, 0, 0, 1, 0, 0]);
        h.app.relay_once(&sender, 100).await.unwrap();
        let texts: Vec<String> = sender
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|(_, text)| text.clone())
            .collect();
        assert_eq!(
            texts.iter().filter(|t| t.contains("已存放")).count(),
            2,
            "{texts:?}"
        );
        let returns = h.app.return_list(&keeper, station_id).await.unwrap();
        assert_eq!(
            returns.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![parcel.parcel_id]
        );
        h.app
            .return_to_carrier(&keeper, parcel.parcel_id)
            .await
            .unwrap();
        assert!(
            h.app
                .return_list(&keeper, station_id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn move_keeps_the_code_and_respects_capacity() {
    for h in backends().await {
        let station_id = station(&h.app, 2, 1).await;
        let keeper = keeper_of(station_id);
        let a = h
            .app
            .inbound(&keeper, station_id, scan("731234567890", "13812345678"))
            .await
            .unwrap();
        let slots = h.app.store.slots(station_id).await.unwrap();
        let (first, second) = (slots[0].slot.id, slots[1].slot.id);
        let moved = h
            .app
            .move_parcel(&keeper, a.parcel_id, second)
            .await
            .unwrap();
        assert_eq!(moved.slot.as_deref(), Some("A-1-02"));
        assert_eq!(moved.parcel.pickup_code, a.pickup_code);
        let b = h
            .app
            .inbound(&keeper, station_id, scan("731234567891", "13812345678"))
            .await
            .unwrap();
        assert_eq!(b.slot.as_deref(), Some("A-1-01"));
        assert!(
            matches!(
                h.app.move_parcel(&keeper, b.parcel_id, second).await,
                Err(ref e) if e.is(Code::SlotFull)
            ),
            "slot is full"
        );
        assert!(
            h.app
                .move_parcel(&keeper, b.parcel_id, first)
                .await
                .is_err(),
            "already there"
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dispatch_plans_every_waiting_parcel_once_and_fills_compartments() {
    use app::dispatch::{DispatchRequest, Fleet};
    use app::manifest::ManifestRow;
    use app::ports::GeoPoint;
    for h in backends().await {
        let centre = GeoPoint {
            lat: 30.70,
            lon: 103.90,
        };
        let mut station_ids = Vec::new();
        for (idx, (lat, lon)) in [
            (30.75, 103.92),
            (30.66, 103.95),
            (30.72, 103.84),
            (30.80, 104.00),
        ]
        .into_iter()
        .enumerate()
        {
            let shelves = [ShelfSpec {
                label: "A".into(),
                tiers: 1,
                slots_per_tier: 5,
                size: SizeClass::Small,
                slot_capacity: 1,
            }];
            let new = NewStation {
                location: (idx < 3).then_some(GeoPoint { lat, lon }),
                name: format!("站{idx}"),
                township: "镇".into(),
                division_code: None,
                code_format: CodeFormat::default(),
                holding: HoldingPolicy::default(),
                slots: lay_out(&shelves).unwrap(),
            };
            station_ids.push(
                h.app
                    .store
                    .create_station(&new, h.app.now())
                    .await
                    .unwrap()
                    .id,
            );
        }
        // 3 + 5 + 2 parcels for the located stations, 1 for the one without a location.
        let counts = [3usize, 5, 2, 1];
        let mut rows = Vec::new();
        for (station_idx, n) in counts.iter().enumerate() {
            for parcel_idx in 0..*n {
                rows.push(ManifestRow {
                    waybill: format!("7399{station_idx}{parcel_idx:07}"),
                    station_id: Some(station_ids[station_idx]),
                    ..Default::default()
                });
            }
        }
        h.app
            .announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        let waiting = h
            .app
            .store
            .parcels(&ParcelFilter {
                carrier: Some(Carrier::Zto),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        for parcel in &waiting {
            h.app
                .centre_scan(&admin(), parcel.id, domain::Action::ArriveAtCentre)
                .await
                .unwrap();
            h.app
                .centre_scan(&admin(), parcel.id, domain::Action::Sort)
                .await
                .unwrap();
        }
        let request = DispatchRequest {
            centre,
            fleet: Fleet {
                vans: 1,
                van_parcels_max: 8,
                van_volume_max: 100,
                unmanned: 1,
                unmanned_compartments: 4,
                unmanned_range_km: 60,
            },
            iterations: 300,
            seed: 1,
            start_minutes: None,
        };
        let keeper = keeper_of(station_ids[0]);
        assert!(matches!(
            h.app.plan_dispatch(&keeper, &request).await,
            Err(AppError::Forbidden(_))
        ));
        let plan = h.app.plan_dispatch(&admin(), &request).await.unwrap();
        assert!(plan.feasible, "{:?}", plan.unserved);
        assert_eq!(plan.unlocated.len(), 1);
        assert_eq!(plan.unlocated[0].station_id, station_ids[3]);
        let mut planned: Vec<i64> = plan
            .routes
            .iter()
            .flat_map(|r| r.stops.iter().flat_map(|s| s.parcel_ids.clone()))
            .collect();
        let n_served: u32 = plan
            .routes
            .iter()
            .flat_map(|r| &r.stops)
            .map(|s| s.n_parcels)
            .sum();
        let n_unserved: u32 = plan.unserved.iter().map(|u| u.n_parcels).sum();
        assert_eq!(
            n_served + n_unserved,
            10,
            "every located parcel is planned or listed with a reason"
        );
        planned.sort();
        planned.dedup();
        assert_eq!(planned.len() as u32, n_served, "no parcel planned twice");
        for route in &plan.routes {
            let n_aboard: u32 = route.stops.iter().map(|s| s.n_parcels).sum();
            if route.kind == "unmanned" {
                assert!(
                    n_aboard <= 4,
                    "an unmanned vehicle carries one parcel per compartment"
                );
                let mut compartments: Vec<u32> = route
                    .stops
                    .iter()
                    .flat_map(|s| s.compartments.iter().map(|c| c.compartment))
                    .collect();
                assert_eq!(
                    compartments.len() as u32,
                    n_aboard,
                    "every parcel aboard has a compartment"
                );
                compartments.sort();
                compartments.dedup();
                assert_eq!(
                    compartments.len() as u32,
                    n_aboard,
                    "no compartment holds two parcels"
                );
            } else {
                assert!(n_aboard <= 8, "the van's capacity holds");
            }
        }
        assert_eq!(plan.centre, centre, "the plan says where its routes start");
        for route in &plan.routes {
            for stop in &route.stops {
                assert!(
                    stop.location.is_valid(),
                    "every stop has its station's location"
                );
            }
        }
        assert_eq!(
            h.app
                .plan_dispatch(&admin(), &request)
                .await
                .unwrap()
                .distance_km,
            plan.distance_km,
            "same parcels, same plan"
        );
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_county_makes_one_dispatch_plan_at_a_time_within_its_deadline() {
    use app::blocking::BlockingPool;
    use app::dispatch::DispatchRequest;
    use app::manifest::ManifestRow;
    use app::ports::GeoPoint;
    for mut h in backends().await {
        let shelves = [ShelfSpec {
            label: "A".into(),
            tiers: 1,
            slots_per_tier: 5,
            size: SizeClass::Small,
            slot_capacity: 1,
        }];
        let new = NewStation {
            location: Some(GeoPoint {
                lat: 30.75,
                lon: 103.92,
            }),
            name: "站".into(),
            township: "镇".into(),
            division_code: None,
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).unwrap(),
        };
        let station_id = h
            .app
            .store
            .create_station(&new, h.app.now())
            .await
            .unwrap()
            .id;
        let rows: Vec<ManifestRow> = (0..2)
            .map(|parcel_idx| ManifestRow {
                waybill: format!("73985{parcel_idx:07}"),
                station_id: Some(station_id),
                ..Default::default()
            })
            .collect();
        h.app
            .announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        let announced = h
            .app
            .store
            .parcels(&ParcelFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        for parcel in announced {
            h.app
                .centre_scan(&admin(), parcel.id, domain::Action::ArriveAtCentre)
                .await
                .unwrap();
        }
        let request = DispatchRequest {
            centre: GeoPoint {
                lat: 30.70,
                lon: 103.90,
            },
            fleet: Default::default(),
            iterations: 50,
            seed: 1,
            start_minutes: None,
        };

        // The blocking pool has one place, and a closure holds it until the
        // test lets go: a plan that takes the county's planning place then
        // waits for the pool, so the other request arrives while it runs.
        h.app.blocking = BlockingPool::new(1);
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn({
            let pool = h.app.blocking.clone();
            async move {
                pool.run(move || {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            }
        });
        entered_rx.await.unwrap();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..2 {
            let (app, request, done_tx) = (h.app.clone(), request.clone(), done_tx.clone());
            tokio::spawn(async move {
                done_tx
                    .send(app.plan_dispatch(&admin(), &request).await)
                    .unwrap();
            });
        }
        // The first to finish can only be the refused one: the other cannot
        // finish before the pool's place is released.
        // A refusal is immediate; if none comes, both plans are waiting for
        // the pool, which is the failure this test exists for. The bound
        // turns that hang into a failure; it measures nothing.
        let first = tokio::time::timeout(std::time::Duration::from_secs(120), done_rx.recv())
            .await
            .expect("no refusal: a second plan was let in while one was running")
            .unwrap();
        match first {
            Err(error) if error.code() == app::Code::DispatchRunning => {}
            other => panic!("expected a refusal, got {:?}", other.map(|p| p.routes)),
        }
        release_tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        let plan = done_rx.recv().await.unwrap().unwrap();
        assert_eq!(plan.n_parcels_planned, 2);
        assert!(!plan.stopped_at_deadline, "50 iterations end in time");
        // The place is free again once a plan is made.
        h.app.plan_dispatch(&admin(), &request).await.unwrap();

        // A deadline already past stops the search before its budget, and
        // the plan says so.
        h.app.settings.dispatch_solve_seconds_max = 0;
        let rushed = h
            .app
            .plan_dispatch(
                &admin(),
                &DispatchRequest {
                    iterations: 20_000,
                    ..request.clone()
                },
            )
            .await
            .unwrap();
        assert!(rushed.stopped_at_deadline);
        h.cleanup().await;
    }
}
