//! Seven carriers, one county, one day, end to end.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_carriers_one_county_day_end_to_end() {
    for h in backends().await {
        let app = &h.app;
        // Every carrier listens for every public event of its parcels.
        let mut subscriptions = BTreeMap::new();
        for carrier in CARRIERS {
            let created = app
                .create_webhook(
                    &admin(),
                    carrier,
                    &format!("https://{}.example/yizhan", carrier.code().to_lowercase()),
                    &[],
                )
                .await
                .unwrap();
            subscriptions.insert(carrier, created.subscription.id);
        }
        let day = run_county_day(app).await;
        let handover = app
            .handover(
                &admin(),
                HandoverTo::Contractor(day.county.contractor),
                day.day,
            )
            .await
            .unwrap();
        assert_eq!(
            handover.n_parcels, 21,
            "three contractor parcels per carrier"
        );
        assert_eq!(handover.per_carrier.len(), 7);
        for (carrier_idx, carrier) in CARRIERS.iter().enumerate() {
            let scale = carrier_idx as i64 + 1;
            let fees = app
                .fee_ledger(&admin(), *carrier, day.day, day.day, None, None)
                .await
                .unwrap();
            let by_parcel: BTreeMap<i64, Fen> = fees
                .iter()
                .map(|f| (f.fee.parcel_id, f.fee.amount))
                .collect();
            let expected: BTreeMap<i64, Fen> = day.parcels[carrier]
                .iter()
                .map(|(id, mode, weight)| {
                    let (_, fen) = terms(scale).fee(*mode, *weight).unwrap();
                    (*id, fen)
                })
                .collect();
            assert_eq!(by_parcel, expected, "{carrier}");
            for (id, mode, _) in &day.parcels[carrier] {
                let state = app.store.parcel(*id).await.unwrap().unwrap().state;
                let want = match mode {
                    Mode::Contractor => ParcelState::Dispatched,
                    _ => ParcelState::PickedUp,
                };
                assert_eq!(state, want, "{carrier} parcel {id}");
                let kinds: Vec<String> = app
                    .store
                    .events(*id)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.kind)
                    .collect();
                let mut want_kinds = vec!["announced", "arrived_at_centre", "sorted", "dispatched"];
                if *mode != Mode::Contractor {
                    want_kinds.extend(["stored", "picked_up"]);
                }
                assert_eq!(kinds, want_kinds);
            }
            // Tracking back to the carrier: its webhook outbox holds the full
            // public sequence for each of its parcels, once each, and nothing
            // for other carriers' parcels. (Delivery over HTTP with retries and
            // signatures is tested in crates/yizhan/src/webhook_tests.rs.)
            let deliveries = app
                .store
                .webhook_deliveries(subscriptions[carrier], 0, 500)
                .await
                .unwrap();
            let mut by_parcel: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for delivery in &deliveries {
                let parcel_id: i64 = delivery
                    .delivery_key
                    .strip_prefix("parcel:")
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(|| panic!("delivery key {}", delivery.delivery_key));
                by_parcel
                    .entry(parcel_id)
                    .or_default()
                    .push(delivery.event_kind.clone());
            }
            for (id, mode, _) in &day.parcels[carrier] {
                let mut want = vec!["arrived", "sorted", "dispatched"];
                if *mode != Mode::Contractor {
                    want.extend(["stored", "picked_up"]);
                }
                assert_eq!(
                    by_parcel.get(id).cloned().unwrap_or_default(),
                    want,
                    "{carrier} parcel {id}: webhook events"
                );
            }
            for id in by_parcel.keys() {
                let parcel = app.store.parcel(*id).await.unwrap().unwrap();
                assert_eq!(
                    parcel.carrier, *carrier,
                    "another carrier's parcel {id} in {carrier}'s webhooks"
                );
            }
        }
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
