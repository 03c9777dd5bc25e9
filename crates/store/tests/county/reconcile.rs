//! Reconciliation: announced but never arrived, arrived but never announced.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_lists_missing_and_unannounced_parcels() {
    for h in backends().await {
        let app = &h.app;
        county(app).await;
        let day0 = today(app);
        agree(app, Carrier::Zto, day0, 1).await;
        let rows: Vec<ManifestRow> = (0..4)
            .map(|i| row(&format!("73100000003{i}"), JOINT_ADDRESSES[0], None))
            .collect();
        app.announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        // Two of four arrive, plus one the carrier never announced.
        arrive(app, Carrier::Zto, &rows[0].waybill).await;
        arrive(app, Carrier::Zto, &rows[2].waybill).await;
        let stray = app
            .centre_arrival(
                &admin(),
                ArrivalScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse("731999999999").unwrap(),
                    weight_grams: Some(1200),
                    address: Some(JOINT_ADDRESSES[1].into()),
                    recipient_name: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        assert!(!stray.announced);
        assert_eq!(
            stray.state,
            ParcelState::Sorted,
            "an unannounced parcel with an address is sorted too"
        );
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        let report = app.reconcile(&zto, Carrier::Zto, day0, day0).await.unwrap();
        let missing: Vec<&str> = report.missing.iter().map(|p| p.waybill.as_str()).collect();
        assert_eq!(
            missing,
            vec![rows[1].waybill.as_str(), rows[3].waybill.as_str()]
        );
        let unannounced: Vec<&str> = report
            .unannounced
            .iter()
            .map(|p| p.waybill.as_str())
            .collect();
        assert_eq!(unannounced, vec!["731999999999"]);
        // Another day's range sees none of it; another carrier may not look.
        let yesterday = app
            .reconcile(
                &admin(),
                Carrier::Zto,
                day0 - Duration::days(1),
                day0 - Duration::days(1),
            )
            .await
            .unwrap();
        assert!(yesterday.missing.is_empty() && yesterday.unannounced.is_empty());
        let sf = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Sf));
        assert!(matches!(
            app.reconcile(&sf, Carrier::Zto, day0, day0).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.reconcile(&zto, Carrier::Zto, day0, day0 - Duration::days(1))
                .await,
            Err(ref e) if e.is(Code::DateRange)
        ));
        h.cleanup().await;
    }
}
