//! Bags are accepted whole, once, and only by their station.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bags_are_accepted_whole_once_and_only_by_their_station() {
    for h in backends().await {
        let app = &h.app;
        let c = county(app).await;
        agree(app, Carrier::Zto, today(app), 1).await;
        let rows: Vec<ManifestRow> = (0..5)
            .map(|i| row(&format!("73100000002{i}"), JOINT_ADDRESSES[0], None))
            .collect();
        app.announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        for r in &rows {
            arrive(app, Carrier::Zto, &r.waybill).await;
        }
        let bag = bag_for(app, c.baiguo).await;
        let keeper = principal(Role::StationKeeper, vec![c.baiguo], None);
        let other = principal(Role::StationKeeper, vec![c.tiane], None);
        assert!(
            matches!(
                app.accept_bag(&keeper, c.baiguo, bag).await,
                Err(ref e) if e.is(Code::BagNotDispatched)
            ),
            "an open bag has not left the centre"
        );
        app.dispatch_bag(&admin(), bag).await.unwrap();
        assert!(matches!(
            app.accept_bag(&other, c.baiguo, bag).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.accept_bag(&other, c.tiane, bag).await,
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            app.bag(&other, bag).await,
            Err(AppError::NotFound(_))
        ));
        let first = app.accept_bag(&keeper, c.baiguo, bag).await.unwrap();
        assert_eq!(
            (first.duplicate, first.inbound.stored.len(), first.n_parcels),
            (false, 5, 5)
        );
        assert!(
            first
                .inbound
                .stored
                .iter()
                .all(|s| s.state == ParcelState::Stored && s.pickup_code.is_some())
        );
        let events_before: usize = {
            let mut n = 0;
            for s in &first.inbound.stored {
                n += app.store.events(s.parcel_id).await.unwrap().len();
            }
            n
        };
        let second = app.accept_bag(&keeper, c.baiguo, bag).await.unwrap();
        assert!(second.duplicate && second.inbound.stored.is_empty());
        let mut events_after = 0;
        for s in &first.inbound.stored {
            events_after += app.store.events(s.parcel_id).await.unwrap().len();
        }
        assert_eq!(
            events_before, events_after,
            "accepting twice writes nothing"
        );
        let contents = app.bag(&keeper, bag).await.unwrap();
        assert_eq!(
            (contents.n_parcels, contents.bag.status),
            (5, BagStatus::Accepted)
        );
        // The handover list names the bag with its counts per carrier.
        let list = app
            .handover(&admin(), HandoverTo::Route(c.route), today(app))
            .await
            .unwrap();
        assert_eq!(list.n_parcels, 5);
        assert_eq!(list.per_carrier, vec![(Carrier::Zto, 5)]);
        let html = app::county::print::handover_html(&list);
        assert!(html.contains("交接单") && html.contains(&format!("YZBAG:{bag}")));
        let label = app::county::print::bag_label_html(&contents);
        assert!(label.contains("<svg") && label.contains("白果村驿站"));
        assert_eq!(
            app::county::parse_bag_label(&contents.bag.label_payload()),
            Ok(bag)
        );
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
