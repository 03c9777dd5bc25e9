//! Concurrent arrivals for one target share one bag.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_arrivals_for_one_target_share_one_bag() {
    for h in backends().await {
        let app = &h.app;
        let c = county(app).await;
        agree(app, Carrier::Zto, today(app), 1).await;
        let rows: Vec<ManifestRow> = (0..16)
            .map(|i| row(&format!("7310000001{i:02}"), JOINT_ADDRESSES[0], None))
            .collect();
        app.announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        let arrivals = rows.iter().map(|r| {
            let app = app.clone();
            let waybill = r.waybill.clone();
            tokio::spawn(async move { arrive(&app, Carrier::Zto, &waybill).await })
        });
        let outcomes = futures::future::join_all(arrivals).await;
        let bag_ids: std::collections::BTreeSet<i64> = outcomes
            .into_iter()
            .map(|o| o.unwrap().routing.unwrap().bag_id)
            .collect();
        assert_eq!(bag_ids.len(), 1, "{bag_ids:?}");
        let bag = *bag_ids.iter().next().unwrap();
        assert_eq!(bag, bag_for(app, c.baiguo).await);
        assert_eq!(app.store.bag_parcels(bag).await.unwrap().len(), 16);
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
