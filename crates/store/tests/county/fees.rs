//! Fees accrue once per parcel, in the right mode, bracket and agreement version.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_accrue_once_per_parcel_in_the_right_mode_bracket_and_version() {
    for h in backends().await {
        let app = &h.app;
        let c = county(app).await;
        let day0 = today(app);
        assert_eq!(
            agree(app, Carrier::Zto, day0 - Duration::days(30), 1).await,
            1
        );
        // Version 2 doubles the fees from tomorrow; today stays on version 1.
        assert_eq!(
            agree(app, Carrier::Zto, day0 + Duration::days(1), 2).await,
            2
        );
        let rows = [
            row("731000000001", JOINT_ADDRESSES[0], Some(800)),
            row("731000000002", JOINT_ADDRESSES[1], Some(4000)),
            row("731000000003", CONTRACTOR_ADDRESS, Some(2500)),
            row("731000000004", STATION_ADDRESS, None),
        ];
        let announced = app
            .announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        assert_eq!(announced.n_announced, 4, "{:?}", announced.rejected);
        let mut parcels = Vec::new();
        for r in &rows {
            let outcome = arrive(app, Carrier::Zto, &r.waybill).await;
            assert_eq!(outcome.state, ParcelState::Sorted, "{outcome:?}");
            assert!(outcome.announced && !outcome.duplicate);
            parcels.push(outcome);
        }
        // The route decision, per mode.
        let targets: Vec<Target> = parcels
            .iter()
            .map(|p| p.routing.as_ref().unwrap().target)
            .collect();
        assert_eq!(
            targets,
            vec![
                Target::Route {
                    route_id: c.route,
                    station_id: c.baiguo
                },
                Target::Route {
                    route_id: c.route,
                    station_id: c.tiane
                },
                Target::Contractor {
                    contractor_id: c.contractor
                },
                Target::Station {
                    station_id: c.tianbao,
                    route_id: Some(c.route)
                },
            ]
        );
        // A repeated arrival scan changes nothing.
        let again = arrive(app, Carrier::Zto, &rows[0].waybill).await;
        assert!(again.duplicate && again.routing.is_some());
        assert_eq!(app.bags(&admin(), day0).await.unwrap().len(), 4);

        dispatch_all(app).await;
        // Contractor mode: delivered when handed to the contractor.
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        let fees = app
            .fee_ledger(
                &zto,
                Carrier::Zto,
                day0,
                day0 + Duration::days(1),
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(fees.len(), 1);
        assert_eq!(
            (
                fees[0].fee.parcel_id,
                fees[0].fee.mode,
                fees[0].fee.amount,
                fees[0].fee.agreement_version,
                fees[0].fee.bracket
            ),
            (parcels[2].parcel_id, Mode::Contractor, Fen(100), 1, 0)
        );
        // Dispatching again neither dispatches nor accrues.
        let bag_ids: Vec<i64> = app
            .bags(&admin(), day0)
            .await
            .unwrap()
            .iter()
            .map(|b| b.id)
            .collect();
        for bag_id in &bag_ids {
            assert!(app.dispatch_bag(&admin(), *bag_id).await.unwrap().duplicate);
        }

        // Station mode: delivered when shelved; no weight → lowest bracket.
        let tianbao_keeper = principal(Role::StationKeeper, vec![c.tianbao], None);
        let bag = bag_for(app, c.tianbao).await;
        let accepted = app
            .accept_bag(&tianbao_keeper, c.tianbao, bag)
            .await
            .unwrap();
        assert_eq!(
            (accepted.duplicate, accepted.inbound.stored.len()),
            (false, 1)
        );
        let again = app
            .accept_bag(&tianbao_keeper, c.tianbao, bag)
            .await
            .unwrap();
        assert!(again.duplicate && again.inbound.stored.is_empty());

        // Joint mode: delivered when picked up, not when shelved.
        let baiguo_keeper = principal(Role::StationKeeper, vec![c.baiguo], None);
        let bag = bag_for(app, c.baiguo).await;
        app.accept_bag(&baiguo_keeper, c.baiguo, bag).await.unwrap();
        let n_before_pickup = app
            .fee_ledger(&zto, Carrier::Zto, day0, day0, None, None)
            .await
            .unwrap()
            .len();
        assert_eq!(
            n_before_pickup, 2,
            "shelving a joint parcel earns nothing yet"
        );
        pick_up(app, c.baiguo, parcels[0].parcel_id).await;

        // Tomorrow version 2 applies: 4000 g is the second joint bracket, doubled.
        h.clock.advance(Duration::days(1));
        let tiane_keeper = principal(Role::StationKeeper, vec![c.tiane], None);
        let bag = app
            .bags(&admin(), day0)
            .await
            .unwrap()
            .into_iter()
            .find(|b| b.target.station_id() == Some(c.tiane))
            .unwrap()
            .id;
        app.accept_bag(&tiane_keeper, c.tiane, bag).await.unwrap();
        pick_up(app, c.tiane, parcels[1].parcel_id).await;

        let fees = app
            .fee_ledger(
                &zto,
                Carrier::Zto,
                day0,
                day0 + Duration::days(1),
                None,
                None,
            )
            .await
            .unwrap();
        let by_parcel: BTreeMap<i64, (Mode, Fen, u32, u32, String)> = fees
            .iter()
            .map(|f| {
                (
                    f.fee.parcel_id,
                    (
                        f.fee.mode,
                        f.fee.amount,
                        f.fee.agreement_version,
                        f.fee.bracket,
                        f.fee.event_kind.clone(),
                    ),
                )
            })
            .collect();
        assert_eq!(
            by_parcel,
            BTreeMap::from([
                (
                    parcels[0].parcel_id,
                    (Mode::Joint, Fen(50), 1, 0, "picked_up".into())
                ),
                (
                    parcels[1].parcel_id,
                    (Mode::Joint, Fen(160), 2, 1, "picked_up".into())
                ),
                (
                    parcels[2].parcel_id,
                    (Mode::Contractor, Fen(100), 1, 0, "dispatched".into())
                ),
                (
                    parcels[3].parcel_id,
                    (Mode::Station, Fen(30), 1, 0, "stored".into())
                ),
            ])
        );
        let summary = app
            .fee_summary(&zto, Carrier::Zto, day0, day0 + Duration::days(1))
            .await
            .unwrap();
        assert_eq!((summary.n_parcels, summary.total), (4, Fen(340)));

        // Never twice: the same parcel cannot accrue again through the port.
        let mut tx = app.store.begin().await.unwrap();
        let mut duplicate = fees[0].fee.clone();
        duplicate.event_key = "another-event".into();
        assert!(!tx.insert_fee(&duplicate).await.unwrap());
        drop(tx);
        // Append-only even to a raw connection.
        let mut raw = h.raw().await;
        assert!(
            sqlx::query("UPDATE fee_ledger SET amount_fen = 0")
                .execute(&mut raw)
                .await
                .is_err()
        );
        assert!(
            sqlx::query("DELETE FROM fee_ledger")
                .execute(&mut raw)
                .await
                .is_err()
        );
        raw.close().await.unwrap();

        // Carriers see only their own ledger.
        let sf = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Sf));
        assert!(matches!(
            app.fee_ledger(&sf, Carrier::Zto, day0, day0, None, None)
                .await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.agreements(&sf, Carrier::Zto).await,
            Err(AppError::Forbidden(_))
        ));
        assert_eq!(app.agreements(&zto, Carrier::Zto).await.unwrap().len(), 2);
        assert!(matches!(
            app.create_agreement(
                &zto,
                Carrier::Zto,
                AgreementRequest {
                    effective_from: day0,
                    effective_to: None,
                    terms: terms(1)
                }
            )
            .await,
            Err(AppError::Forbidden(_))
        ));
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
