//! Books to test money against (branch `claims`, issue 15): a generated
//! county's parcels with their fees over the Shanghai days ending on
//! `last_day` (`store::generate`), spread over two new stations; the fees
//! are in `fee_ledger` and reach the ledger when the test backfills or
//! accrues them.

use app::App;
use chrono::NaiveDate;
use domain::CodeFormat;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use store::Db;
use store::generate::CountySpec;

pub async fn generated_books(
    app: &App,
    db: &Db,
    parcels: u64,
    days: u32,
    last_day: NaiveDate,
    seed: u64,
) {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 1,
        slots_per_tier: 4,
        size: SizeClass::Small,
        slot_capacity: 5,
    }];
    let mut ids = Vec::new();
    for n in 0..2 {
        let new = app::ports::NewStation {
            location: None,
            name: format!("账务{n}号驿站"),
            township: "丽春镇".into(),
            division_code: None,
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).expect("a valid layout"),
        };
        ids.push(
            app.store
                .create_station(&new, app.now())
                .await
                .expect("a station")
                .id,
        );
    }
    let spec = CountySpec {
        parcels,
        days,
        last_day,
        station_ids: ids,
        seed,
    };
    db.generate_county(&spec, &mut |_| {})
        .await
        .expect("a generated county");
}
