//! Community pre-sale campaigns on SQLite and PostgreSQL (issue 14 point 4,
//! branch presale): an order file's good rows are shelved at their
//! stations as parcels (slot, pickup code) or listed for home delivery,
//! each bad row is named by its line, the same file imported twice changes
//! nothing, a pickup through the normal pickup flow is the order picked up,
//! and the campaign's report counts it all. Only county staff run
//! campaigns; the buyers' data is sealed.

use app::Code;
use app::parcels::PickupProof;
use app::ports::prelude::*;
use app::ports::presale::PresaleStore;
use app::presale::{CampaignInput, OrderKind};
use domain::ParcelState;
use testkit::*;

fn grid(rows: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

fn campaign_input() -> CampaignInput {
    CampaignInput {
        name: "彭州脐橙预售".into(),
        shop: "邮乐小店".into(),
        starts_on: "2026-12-01".into(),
        ends_on: "2026-12-31".into(),
    }
}

async fn acts(h: &Harness, act: &str) -> usize {
    h.db.audit_rows_after(0, 1_000)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.act == act)
        .count()
}

#[tokio::test]
async fn orders_are_shelved_once_picked_up_as_parcels_and_reported_on_both_databases() {
    for h in backends().await {
        let name = h.name();
        let staff = admin();
        let first = station(&h.app, 10, 2).await;
        let second = station(&h.app, 10, 2).await;
        // A station with one place: the second order for it is refused.
        let tiny = station(&h.app, 1, 1).await;

        let mut bad = campaign_input();
        bad.ends_on = "2026-11-30".into();
        let refused = h
            .app
            .create_presale_campaign(&staff, &bad)
            .await
            .unwrap_err();
        assert!(
            refused.is(Code::PresaleCampaignInvalid),
            "{name}: {refused}"
        );
        let campaign = h
            .app
            .create_presale_campaign(&staff, &campaign_input())
            .await
            .unwrap();
        assert_eq!(acts(&h, "presale_campaign_created").await, 1, "{name}");

        let file = grid(&[
            "订单号,收货人,手机号,商品名称,实付金额(元),自提点,收货地址",
            &format!("dd-1001,张女士,13800000001,脐橙 5kg ×1,39.90,{first},"),
            &format!("DD-1002,王先生,13800000002,猕猴桃 3kg ×2,99.80,{second},"),
            "DD-1003,李阿姨,13800000003,板鸭 2只,88,送货上门,彭州市天府东路18号",
            &format!("DD-1004,赵大爷,1380000,脐橙 5kg ×1,39.90,{first},"),
            "DD-1005,周女士,13800000005,脐橙 5kg ×1,39.90,999999,",
            "DD-1006,吴先生,13800000006,脐橙 5kg ×1,39.90,石桥村驿站,",
            &format!("DD-1001,张女士,13800000001,脐橙 5kg ×1,39.90,{first},"),
            &format!("DD-1007,陈女士,13800000007,脐橙 5kg ×1,39.90,{tiny},"),
            &format!("DD-1008,杨先生,13800000008,脐橙 5kg ×1,39.90,{tiny},"),
        ]);
        let outcome = h
            .app
            .import_presale_orders(&staff, campaign.id, &file)
            .await
            .unwrap();
        assert_eq!(outcome.n_new, 4, "{name}: {outcome:?}");
        assert_eq!(outcome.n_stored, 3, "{name}");
        assert_eq!(outcome.n_home, 1, "{name}");
        let lines: Vec<usize> = outcome.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [5, 6, 7, 8, 10], "{name}: {outcome:?}");
        assert!(outcome.rejected[0].reason.contains("phone"), "{name}");
        assert!(outcome.rejected[1].reason.contains("no station"), "{name}");
        assert!(
            outcome.rejected[2].reason.contains("more than one station"),
            "{name}: two stations share the name"
        );
        assert!(outcome.rejected[3].reason.contains("line 2"), "{name}");
        assert_eq!(acts(&h, "presale_imported").await, 1, "{name}");

        // Each station order is a parcel on a slot with a code.
        let orders =
            h.db.presale_orders(campaign.id, OrderKind::All, 0, 100)
                .await
                .unwrap();
        assert_eq!(orders.len(), 4, "{name}");
        let order = orders.iter().find(|o| o.order_no == "DD-1001").unwrap();
        assert_eq!(order.station_id, Some(first));
        assert_eq!(order.parcel_state, Some(ParcelState::Stored));
        let parcel =
            h.db.parcel(order.parcel_id.unwrap())
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            parcel.waybill.as_str(),
            format!("YS{}-DD-1001", campaign.id)
        );
        assert_eq!(parcel.carrier, domain::Carrier::Ems);
        assert_eq!(parcel.station_id, Some(first));
        assert!(parcel.slot_id.is_some() && parcel.pickup_code.is_some());

        // The same file again changes nothing.
        let parcels_before = h.db.count_by_state(None).await.unwrap();
        let again = h
            .app
            .import_presale_orders(&staff, campaign.id, &file)
            .await
            .unwrap();
        assert_eq!(again.n_new, 0, "{name}: {again:?}");
        assert_eq!(again.n_known, 4, "{name}");
        assert_eq!(h.db.count_by_state(None).await.unwrap(), parcels_before);
        let orders_again =
            h.db.presale_orders(campaign.id, OrderKind::All, 0, 100)
                .await
                .unwrap();
        assert_eq!(orders_again.len(), 4, "{name}");

        // The buyer picks it up at the station the normal way.
        h.app
            .pick_up(
                &keeper_of(first),
                parcel.id,
                PickupProof::CodeAndPhoneTail {
                    code: parcel.pickup_code.clone().unwrap(),
                    phone_tail: "0001".into(),
                },
            )
            .await
            .unwrap();
        let report = h.app.presale_report(&staff, campaign.id).await.unwrap();
        let t = report.totals;
        assert_eq!(
            (
                t.orders,
                t.stored,
                t.waiting,
                t.picked_up,
                t.home_delivery,
                t.other
            ),
            (4, 3, 2, 1, 1, 0),
            "{name}: {report:?}"
        );
        assert_eq!(t.revenue_fen, 3990 + 9980 + 8800 + 3990, "{name}");
        assert_eq!(t.picked_up_fen, 3990, "{name}");
        assert_eq!(report.stations.len(), 3, "{name}");
        assert_eq!(report.stations[0].station_id, first);
        assert_eq!(report.stations[0].figures.picked_up, 1);

        // The home delivery is listed with the buyer masked in any answer.
        let view = h.app.presale_campaign(&staff, campaign.id).await.unwrap();
        assert_eq!(view.home.len(), 1, "{name}");
        assert_eq!(view.home[0].order_no, "DD-1003");
        assert_eq!(view.home[0].name.as_deref(), Some("李阿姨"));
        let shown = serde_json::to_string(&view).unwrap();
        assert!(!shown.contains("13800000003"), "{name}: {shown}");

        // No copy of the database shows a buyer's phone, name or address.
        for (table, column, value) in h.db.text_values().await.unwrap() {
            for secret in ["13800000003", "李阿姨", "天府东路", "13800000001", "张女士"] {
                assert!(
                    !value.contains(secret),
                    "{name}: {table}.{column} shows {secret}"
                );
            }
        }

        // A keeper runs no campaign, and an unknown campaign is not found.
        let keeper = keeper_of(first);
        assert!(h.app.presale_campaigns(&keeper).await.is_err(), "{name}");
        assert!(
            h.app
                .import_presale_orders(&keeper, campaign.id, &file)
                .await
                .is_err(),
            "{name}"
        );
        let missing = h
            .app
            .import_presale_orders(&staff, campaign.id + 1000, &file)
            .await
            .unwrap_err();
        assert!(
            matches!(missing, app::AppError::NotFound(_)),
            "{name}: {missing}"
        );
        let unreadable = h
            .app
            .import_presale_orders(&staff, campaign.id, &grid(&["a,b,c", "1,2,3"]))
            .await
            .unwrap_err();
        assert!(unreadable.is(Code::PresaleImportUnreadable), "{name}");
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}
