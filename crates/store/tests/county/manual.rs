//! Parcels the route decision cannot place wait in the manual queue with their reason.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_parcels_wait_in_the_manual_queue_with_their_reason() {
    for h in backends().await {
        let app = &h.app;
        let c = county(app).await;
        let day0 = today(app);
        agree(app, Carrier::Zto, day0, 1).await;
        let cases = [
            ("731000000011", Some("石桥镇"), Unresolved::Ambiguous),
            (
                "731000000012",
                Some("四川省成都市彭州市"),
                Unresolved::NoTownship,
            ),
            (
                "731000000013",
                Some("四川省成都市彭州市丹景山镇双松村"),
                Unresolved::TownshipNotHandedOver,
            ),
            ("731000000014", None, Unresolved::NoAddress),
        ];
        let rows: Vec<ManifestRow> = cases
            .iter()
            .map(|(waybill, address, _)| ManifestRow {
                waybill: (*waybill).into(),
                address: address.map(String::from),
                ..Default::default()
            })
            .collect();
        app.announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (waybill, _, reason) in &cases {
            let outcome = arrive(app, Carrier::Zto, waybill).await;
            assert_eq!(outcome.state, ParcelState::ArrivedAtCentre);
            assert!(outcome.routing.is_none());
            assert_eq!(
                outcome.manual.as_ref().map(|m| m.reason),
                Some(*reason),
                "{waybill}"
            );
            ids.push(outcome.parcel_id);
        }
        // A carrier without an agreement: every parcel is queued.
        app.announce(
            &admin(),
            Carrier::Sf,
            &[row("SF1000000000001", JOINT_ADDRESSES[0], None)],
            1,
        )
        .await
        .unwrap();
        let sf = arrive(app, Carrier::Sf, "SF1000000000001").await;
        assert_eq!(sf.manual.map(|m| m.reason), Some(Unresolved::NoAgreement));
        assert!(
            app.bags(&admin(), day0).await.unwrap().is_empty(),
            "nothing went to a default bag"
        );
        let queue = app.manual_queue(&admin()).await.unwrap();
        assert_eq!(queue.len(), 5);

        // A choice that still cannot be routed is refused; the parcel stays queued.
        let refused = app
            .resolve_manual(
                &admin(),
                ids[0],
                Resolution {
                    division: "510182107".into(),
                },
            )
            .await;
        assert!(
            matches!(refused, Err(ref e) if e.is(Code::StillUnroutable) && e.to_string().contains("township_not_handed_over")),
            "{refused:?}"
        );
        assert!(matches!(
            app.resolve_manual(
                &admin(),
                ids[0],
                Resolution {
                    division: "5101".into()
                }
            )
            .await,
            Err(ref e) if e.is(Code::DivisionInvalid)
        ));
        // The operator picks the village; the parcel continues.
        let resolved = app
            .resolve_manual(
                &admin(),
                ids[0],
                Resolution {
                    division: "510182103239".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(resolved.state, ParcelState::Sorted);
        assert_eq!(
            resolved.routing.unwrap().target,
            Target::Route {
                route_id: c.route,
                station_id: c.tiane
            }
        );
        assert!(resolved.manual.is_none());
        assert!(matches!(
            app.resolve_manual(
                &admin(),
                ids[0],
                Resolution {
                    division: "510182103239".into()
                }
            )
            .await,
            Err(ref e) if e.is(Code::NotInManualQueue)
        ));
        let resolved = app
            .resolve_manual(
                &admin(),
                ids[1],
                Resolution {
                    division: CONTRACTOR_TOWNSHIP.into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            resolved.routing.unwrap().target,
            Target::Contractor {
                contractor_id: c.contractor
            }
        );
        assert_eq!(app.manual_queue(&admin()).await.unwrap().len(), 3);
        // Keepers and carriers do not run the queue.
        let keeper = principal(Role::StationKeeper, vec![c.tiane], None);
        assert!(matches!(
            app.manual_queue(&keeper).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.resolve_manual(
                &keeper,
                ids[2],
                Resolution {
                    division: JOINT_TOWNSHIP.into()
                }
            )
            .await,
            Err(AppError::Forbidden(_))
        ));
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
