//! County co-delivery against real SQLite and real PostgreSQL (when
//! `YIZHAN_TEST_DATABASE_URL` is set): agreements and their versions, fee
//! accrual (right bracket, mode and version, never twice, append-only), the
//! route decision per mode, the manual queue, bags, reconciliation, and the
//! seven-carrier county day end to end.

mod arrears;
mod bags;
mod concurrency;
mod day;
mod fees;
mod ledger;
mod manual;
mod receipts;
mod reconcile;
mod statements;

use app::App;
use app::county::{AgreementRequest, ArrivalScan, BagStatus, HandoverTo, Resolution};
use app::manifest::ManifestRow;
use app::parcels::{PickupProof, ShownProof};
use app::ports::NewStation;
use app::{AppError, Code};
use chrono::{Duration, NaiveDate};
use domain::county::{Bracket, Mode, ModeFees, Target, Terms, TownshipTerm, Unresolved};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Fen, ParcelState, Principal, Role, WaybillNo};
use sqlx::Connection;
use std::collections::BTreeMap;

use testkit::*;

fn principal(role: Role, station_ids: Vec<i64>, carrier: Option<Carrier>) -> Principal {
    Principal {
        user_id: 1,
        username: role.code().into(),
        role,
        station_ids,
        carrier,
    }
}

/// The test county: three townships of 彭州市, one per mode.
pub const JOINT_TOWNSHIP: &str = "510182103"; // 丽春镇
pub const CONTRACTOR_TOWNSHIP: &str = "510182101"; // 龙门山镇
pub const STATION_TOWNSHIP: &str = "510182104"; // 九尺镇

/// Addresses per mode, each resolving to a village of its township.
pub const JOINT_ADDRESSES: [&str; 2] = [
    "四川省成都市彭州市丽春镇白果村3组",
    "张三 13812345678 丽春镇天鹅村",
];
pub const CONTRACTOR_ADDRESS: &str = "彭州市龙门山镇宝山村5组12号";
pub const STATION_ADDRESS: &str = "彭州九尺镇天宝村2组";

pub struct County {
    pub baiguo: i64,
    pub tiane: i64,
    pub tianbao: i64,
    pub route: i64,
    pub contractor: i64,
}

async fn county(app: &App) -> County {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 2,
        slots_per_tier: 10,
        size: SizeClass::Small,
        slot_capacity: 5,
    }];
    let mut ids = Vec::new();
    for (name, village) in [
        ("白果村驿站", "510182103237"),
        ("天鹅村驿站", "510182103239"),
        ("天宝村驿站", "510182104213"),
    ] {
        let new = NewStation {
            location: None,
            name: name.into(),
            township: "镇".into(),
            division_code: Some(village.into()),
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).unwrap(),
        };
        ids.push(app.store.create_station(&new, app.now()).await.unwrap().id);
    }
    let route = app
        .create_route(
            &admin(),
            "丽春—九尺线",
            &[JOINT_TOWNSHIP.into(), STATION_TOWNSHIP.into()],
        )
        .await
        .unwrap();
    let contractor = app
        .create_contractor(&admin(), "王师傅", CONTRACTOR_TOWNSHIP, None)
        .await
        .unwrap();
    County {
        baiguo: ids[0],
        tiane: ids[1],
        tianbao: ids[2],
        route: route.id,
        contractor: contractor.id,
    }
}

/// Terms handing the three townships over, one per mode, with the joint
/// fees scaled by `scale` so versions and carriers differ.
pub fn terms(scale: i64) -> Terms {
    let brackets = |fens: &[(Option<u32>, i64)]| {
        fens.iter()
            .map(|(up_to_grams, fen)| Bracket {
                up_to_grams: *up_to_grams,
                fen: Fen(fen * scale),
            })
            .collect()
    };
    Terms {
        townships: vec![
            TownshipTerm {
                township: JOINT_TOWNSHIP.into(),
                mode: Mode::Joint,
            },
            TownshipTerm {
                township: CONTRACTOR_TOWNSHIP.into(),
                mode: Mode::Contractor,
            },
            TownshipTerm {
                township: STATION_TOWNSHIP.into(),
                mode: Mode::Station,
            },
        ],
        fees: vec![
            ModeFees {
                mode: Mode::Joint,
                brackets: brackets(&[(Some(1000), 50), (Some(5000), 80), (None, 150)]),
            },
            ModeFees {
                mode: Mode::Contractor,
                brackets: brackets(&[(Some(3000), 100), (None, 200)]),
            },
            ModeFees {
                mode: Mode::Station,
                brackets: brackets(&[(Some(2000), 30), (None, 60)]),
            },
        ],
    }
}

fn today(app: &App) -> NaiveDate {
    app.today()
}

async fn agree(app: &App, carrier: Carrier, from: NaiveDate, scale: i64) -> u32 {
    app.create_agreement(
        &admin(),
        carrier,
        AgreementRequest {
            effective_from: from,
            effective_to: None,
            terms: terms(scale),
        },
    )
    .await
    .unwrap()
    .version
}

fn row(waybill: &str, address: &str, weight_grams: Option<u32>) -> ManifestRow {
    ManifestRow {
        waybill: waybill.into(),
        recipient_name: Some("李四".into()),
        phone: Some("13900001111".into()),
        address: Some(address.into()),
        consent: Some(true),
        weight_grams,
        ..Default::default()
    }
}

async fn arrive(app: &App, carrier: Carrier, waybill: &str) -> app::county::ArrivalOutcome {
    app.centre_arrival(
        &admin(),
        ArrivalScan {
            carrier,
            waybill: WaybillNo::parse(waybill).unwrap(),
            weight_grams: None,
            address: None,
            recipient_name: None,
            phone: None,
        },
    )
    .await
    .unwrap()
}

async fn pick_up(app: &App, station_id: i64, parcel_id: i64) {
    app.pick_up(
        &principal(Role::StationKeeper, vec![station_id], None),
        parcel_id,
        PickupProof::StaffAssisted {
            shown: ShownProof::IdCard,
            note: None,
        },
    )
    .await
    .unwrap();
}

async fn dispatch_all(app: &App) {
    for bag in app.bags(&admin(), today(app)).await.unwrap() {
        if bag.status == BagStatus::Open {
            app.dispatch_bag(&admin(), bag.id).await.unwrap();
        }
    }
}

async fn bag_for(app: &App, station_id: i64) -> i64 {
    app.bags(&admin(), today(app))
        .await
        .unwrap()
        .into_iter()
        .find(|bag| bag.target.station_id() == Some(station_id))
        .expect("a bag for the station")
        .id
}

/// The seven carriers the demo county and the end-to-end test run.
pub const CARRIERS: [Carrier; 7] = [
    Carrier::Ems,
    Carrier::Sf,
    Carrier::Zto,
    Carrier::Yto,
    Carrier::Sto,
    Carrier::Yunda,
    Carrier::Jt,
];

fn waybill_of(carrier: Carrier, n: usize) -> String {
    match carrier {
        Carrier::Sf => format!("SF{:013}", 1_000_000 + n),
        Carrier::Jt => format!("JT{:013}", 2_000_000 + n),
        Carrier::Yto => format!("YT{:013}", 3_000_000 + n),
        Carrier::Ems => format!("98{:011}", 4_000_000 + n),
        Carrier::Sto => format!("77{:013}", 5_000_000 + n),
        Carrier::Zto => format!("7{:013}", 6_000_000 + n),
        _ => format!("43{:011}", 7_000_000 + n),
    }
}

/// What one county day produced, for the checks (and for later checks of
/// what each carrier was told).
pub struct CountyDay {
    pub county: County,
    /// Each carrier's parcels with the mode they went by and their weight.
    pub parcels: BTreeMap<Carrier, Vec<(i64, Mode, Option<u32>)>>,
    pub day: NaiveDate,
}

/// One county day: the seven carriers' agreements and manifests (three
/// parcels per mode each), arrival and sorting at the centre, bags handed
/// over, the stations accepting their bags, and every shelved parcel picked
/// up.
pub async fn run_county_day(app: &App) -> CountyDay {
    let county = county(app).await;
    let day = today(app);
    let weights = [Some(600), Some(2600), None];
    let mut parcels = BTreeMap::new();
    for (carrier_idx, carrier) in CARRIERS.iter().enumerate() {
        agree(
            app,
            *carrier,
            day - Duration::days(10),
            carrier_idx as i64 + 1,
        )
        .await;
        let mut rows = Vec::new();
        let mut modes = Vec::new();
        for (mode_idx, (mode, address)) in [
            (Mode::Joint, JOINT_ADDRESSES[0]),
            (Mode::Contractor, CONTRACTOR_ADDRESS),
            (Mode::Station, STATION_ADDRESS),
        ]
        .into_iter()
        .enumerate()
        {
            for (weight_idx, weight) in weights.iter().enumerate() {
                rows.push(row(
                    &waybill_of(*carrier, mode_idx * 10 + weight_idx),
                    address,
                    *weight,
                ));
                modes.push((mode, *weight));
            }
        }
        let outcome = app.announce(&admin(), *carrier, &rows, 1).await.unwrap();
        assert_eq!(outcome.n_announced, rows.len(), "{:?}", outcome.rejected);
        let mut ids = Vec::new();
        for (r, (mode, weight)) in rows.iter().zip(modes) {
            let arrival = arrive(app, *carrier, &r.waybill).await;
            assert_eq!(
                arrival.routing.as_ref().map(|r| r.mode),
                Some(mode),
                "{arrival:?}"
            );
            ids.push((arrival.parcel_id, mode, weight));
        }
        parcels.insert(*carrier, ids);
    }
    dispatch_all(app).await;
    for station in [county.baiguo, county.tianbao] {
        let keeper = principal(Role::StationKeeper, vec![station], None);
        let bag = bag_for(app, station).await;
        let accepted = app.accept_bag(&keeper, station, bag).await.unwrap();
        assert!(
            accepted.inbound.rejected.is_empty(),
            "{:?}",
            accepted.inbound.rejected
        );
        for stored in &accepted.inbound.stored {
            pick_up(app, station, stored.parcel_id).await;
        }
    }
    CountyDay {
        county,
        parcels,
        day,
    }
}
