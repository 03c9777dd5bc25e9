//! The manifest fast path (multi-row inserts that let the database decide
//! which waybills are new) on real SQLite and PostgreSQL: counts, refusals
//! by row, one event per announced parcel, idempotent re-import, and a
//! refused chunk that leaves nothing behind.

use app::manifest::ManifestRow;
use app::ports::{NewStation, ParcelFilter};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Principal, Role};

use testkit::*;

fn operator() -> Principal {
    Principal {
        user_id: 1,
        username: "op".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

fn row(waybill: String, station_id: Option<i64>) -> ManifestRow {
    ManifestRow {
        waybill,
        recipient_name: Some("张三".into()),
        phone: Some("13812345678".into()),
        address: Some("石桥村3组".into()),
        station_id,
        size: Some("small".into()),
        consent: Some(true),
        weight_grams: None,
    }
}

#[tokio::test]
async fn bulk_announce_keeps_every_guarantee_of_row_by_row() {
    for h in backends().await {
        let (app, db) = (&h.app, &h.db);
        let shelves = [ShelfSpec {
            label: "A".into(),
            tiers: 1,
            slots_per_tier: 2,
            size: SizeClass::Small,
            slot_capacity: 1,
        }];
        let station = app
            .store
            .create_station(
                &NewStation {
                    location: None,
                    name: "石桥村驿站".into(),
                    township: "石桥镇".into(),
                    division_code: None,
                    code_format: CodeFormat::default(),
                    holding: HoldingPolicy::default(),
                    slots: lay_out(&shelves).unwrap(),
                },
                app.now(),
            )
            .await
            .unwrap()
            .id;
        // 2,400 rows: across the 1,000-row statement boundary, with a
        // waybill repeated within the chunk, bad rows and an unknown station.
        let mut rows: Vec<ManifestRow> = (0..2_400)
            .map(|idx| row(format!("73{idx:010}"), Some(station)))
            .collect();
        rows[1_500] = row("730000000007".into(), Some(station)); // repeats row 8
        rows[10].waybill = "bad;".into();
        rows[1_200].phone = Some("12345".into());
        rows[2_000].station_id = Some(station + 99);
        let outcome = app
            .announce_file_chunk(&operator(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        assert_eq!(outcome.n_announced, 2_396, "{:?}", outcome.rejected);
        // The repeat within the manifest is refused at its own row, naming
        // the first (issue 13), not counted as already known.
        assert_eq!(outcome.n_already_known, 0);
        let refused: Vec<usize> = outcome.rejected.iter().map(|r| r.row).collect();
        assert_eq!(refused, [11, 1_201, 1_501, 2_001]);
        assert!(
            outcome.rejected[2]
                .reason
                .contains("the same waybill as row 8")
        );
        assert!(outcome.rejected[3].reason.contains("no station"));
        // Every announced parcel has its one event; the stored state is the
        // event's.
        assert!(db.check_invariants().await.unwrap().is_empty());
        let first = app
            .store
            .parcels(&ParcelFilter {
                waybill: Some("730000002399".into()),
                limit: 5,
                ..ParcelFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].phone.as_ref().unwrap().full(), "13812345678");
        assert_eq!(first[0].station_id, Some(station));
        let events = app.store.events(first[0].id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "announced");
        assert_eq!(
            events[0].idempotency_key,
            format!("parcel:{}:v0", first[0].id)
        );
        // Again: nothing new, nothing written.
        let again = app
            .announce_file_chunk(&operator(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        assert_eq!((again.n_announced, again.n_already_known), (0, 2_396));
        // The same waybill for another carrier is another parcel.
        let other = app
            .announce_file_chunk(&operator(), Carrier::Sf, &rows[..5], 1)
            .await
            .unwrap();
        assert_eq!(other.n_announced, 5);
        // Too many rows for one chunk: refused whole, nothing written.
        let too_many: Vec<ManifestRow> = (0..domain::limits::MANIFEST_CHUNK_ROWS + 1)
            .map(|idx| row(format!("74{idx:010}"), None))
            .collect();
        assert!(
            app.announce_file_chunk(&operator(), Carrier::Zto, &too_many, 1)
                .await
                .is_err()
        );
        let none = app
            .store
            .parcels(&ParcelFilter {
                waybill: Some("740000000000".into()),
                limit: 5,
                ..ParcelFilter::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());
        // The file import's path: rows parsed beforehand (on its reader
        // thread). Known waybills are counted, an unknown station is refused
        // by its index, a parcel of another carrier refuses the chunk.
        let parse =
            |carrier, row: &ManifestRow| app::manifest::parse_row_for(carrier, row).unwrap();
        let parsed = vec![
            parse(Carrier::Zto, &row("750000000001".into(), Some(station))),
            parse(Carrier::Zto, &rows[0]),
            parse(
                Carrier::Zto,
                &row("750000000002".into(), Some(station + 99)),
            ),
            parse(Carrier::Zto, &row("750000000001".into(), None)),
        ];
        let outcome = app
            .announce_parsed_chunk(&operator(), Carrier::Zto, parsed, 10)
            .await
            .unwrap();
        assert_eq!((outcome.n_announced, outcome.n_already_known), (1, 2));
        let refused: Vec<usize> = outcome.rejected.iter().map(|r| r.row).collect();
        assert_eq!(refused, [12]);
        assert!(
            app.announce_parsed_chunk(
                &operator(),
                Carrier::Zto,
                vec![parse(Carrier::Sf, &row("750000000003".into(), None))],
                1
            )
            .await
            .is_err()
        );
        assert!(db.check_invariants().await.unwrap().is_empty());
        h.cleanup().await;
    }
}
