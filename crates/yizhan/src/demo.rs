//! The demo county: a county centre, three townships, eight village
//! stations, seven carriers and about 2,000 parcels in every state, created
//! through the same use cases the API calls, so every parcel has its events.

use anyhow::Context;
use app::App;
use app::auth::NewUser;
use app::inbound::InboundScan;
use app::manifest::ManifestRow;
use app::parcels::{PickupProof, ShownProof};
use app::ports::{Clock, GeoPoint, NewStation};
use chrono::{DateTime, Duration, Utc};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Action, Carrier, CodeFormat, Phone, Principal, ProblemKind, Role, WaybillNo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

pub const DEMO_PASSWORD: &str = "yizhan-demo-2026";
pub(crate) const CARRIERS: [Carrier; 7] = [
    Carrier::Ems,
    Carrier::Sf,
    Carrier::Zto,
    Carrier::Yto,
    Carrier::Sto,
    Carrier::Yunda,
    Carrier::Jt,
];
const PARCELS_PER_STATION: usize = 250;
/// Where the demo county's co-delivery centre stands (a made-up county).
pub const COUNTY_CENTRE: GeoPoint = GeoPoint {
    lat: 30.70,
    lon: 103.90,
};

struct ShiftedClock(Duration);

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() - self.0
    }
}

pub(crate) fn waybill(carrier: Carrier, rng: &mut StdRng) -> WaybillNo {
    let digits = |n: usize, rng: &mut StdRng| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect()
    };
    let text = match carrier {
        Carrier::Sf => format!("SF{}", digits(13, rng)),
        Carrier::Jt => format!("JT{}", digits(13, rng)),
        Carrier::Yto => format!("YT{}", digits(13, rng)),
        Carrier::Ems => format!("98{}", digits(11, rng)),
        Carrier::Sto => format!("77{}", digits(13, rng)),
        Carrier::Zto => format!("7{}", digits(13, rng)),
        _ => format!("43{}", digits(11, rng)),
    };
    WaybillNo::parse(&text).expect("generated waybills are valid")
}

fn shelves() -> Vec<ShelfSpec> {
    let shelf = |label: &str, tiers, slots, size, capacity| ShelfSpec {
        label: label.into(),
        tiers,
        slots_per_tier: slots,
        size,
        slot_capacity: capacity,
    };
    vec![
        shelf("A", 4, 10, SizeClass::Small, 2),
        shelf("B", 4, 10, SizeClass::Small, 2),
        shelf("C", 4, 10, SizeClass::Small, 2),
        shelf("D", 3, 8, SizeClass::Medium, 2),
        shelf("E", 2, 10, SizeClass::Large, 2),
    ]
}

/// Seeds the county on first run; later runs only print the credentials.
pub async fn seed(app: &App) -> anyhow::Result<String> {
    // Printed last, after the server's own lines, so it is what a first
    // run ends with ({URL} is the address the server listens on).
    let credentials = format!(
        "\n────────────────────────────────────────────────────────────\n\
         yizhan demo county: {{URL}}\n\
         every demo account's password: {DEMO_PASSWORD}\n\
         \n\
         \x20 admin              {{URL}}console     all stations and the county\n\
         \x20 operator           {{URL}}centre      county centre (县级中心)\n\
         \x20 keeper1 … keeper8  {{URL}}console     one village station each (驿站控制台)\n\
         \x20 zto                {{URL}}carrier     ZTO's staff (快递公司门户)\n\
         \x20 officer, auditor   {{URL}}compliance  compliance (合规管理)\n\
         \x20 courier1 … 5       {{URL}}centre/collect  collection from the kiosks (揽收)\n\
         \x20 a sender's phone   {{URL}}send        sending (寄件; the page shows the demo's one-time code)\n\
         \x20 door terminal      {{URL}}terminal    pair it first: a keeper's console → 自助终端\n\
         \x20 API                {{URL}}api/docs\n\
         \n\
         logs: warnings only (YIZHAN_LOG=info for more); Ctrl-C stops the server\n\
         ────────────────────────────────────────────────────────────"
    );
    if !app.store.stations().await?.is_empty() {
        return Ok(credentials);
    }
    let started = std::time::Instant::now();
    // Three real townships of 彭州市 (NBS 2023 codes, so the address
    // parser resolves the demo's addresses), one per operating mode.
    let townships = [
        ("丽春镇", "510182103"),
        ("龙门山镇", "510182101"),
        ("九尺镇", "510182104"),
    ];
    let villages = [
        ("白果村", "510182103237"),
        ("天鹅村", "510182103239"),
        ("黄鹤村", "510182103220"),
        ("宝山村", "510182101202"),
        ("团山村", "510182101203"),
        ("九峰村", "510182101204"),
        ("天宝村", "510182104213"),
        ("宝马村", "510182104215"),
    ];
    let mut station_ids = Vec::new();
    for (idx, (village, village_code)) in villages.iter().enumerate() {
        let (township, _) = townships[idx * 3 / villages.len()];
        // Villages spread 6–18 km around the county centre.
        let bearing = idx as f64 * std::f64::consts::TAU / villages.len() as f64;
        let km = 6.0 + 12.0 * ((idx * 7) % villages.len()) as f64 / villages.len() as f64;
        let location = GeoPoint {
            lat: COUNTY_CENTRE.lat + km / 111.0 * bearing.cos(),
            lon: COUNTY_CENTRE.lon + km / 96.0 * bearing.sin(),
        };
        let new = NewStation {
            location: Some(location),
            name: format!("{village}驿站"),
            township: township.into(),
            division_code: Some((*village_code).into()),
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves())?,
        };
        station_ids.push(
            app.create_station(&crate::wiring::system_principal(), &new)
                .await?
                .id,
        );
    }
    // Each station's devices (what `simulate devices` runs) in its
    // registry, and a public number the door terminal shows when the door
    // cannot open.
    let system = crate::wiring::system_principal();
    for (idx, station_id) in station_ids.iter().enumerate() {
        for (kind, device_id) in [
            ("door", "front"),
            ("lights", "shelves"),
            ("scanner", "checkout"),
        ] {
            app.register_device(
                &system,
                *station_id,
                &app::devices::DeviceRegistration { kind, device_id },
            )
            .await?;
        }
        app.set_station_contact_phone(
            &system,
            *station_id,
            Some(&format!("0571-8800 {:04}", idx + 1)),
        )
        .await?;
    }
    let user = |username: &str, role: Role, stations: Vec<i64>, carrier: Option<Carrier>| NewUser {
        username: username.into(),
        display_name: username.into(),
        password: DEMO_PASSWORD.into(),
        role,
        carrier,
        station_ids: stations,
    };
    app.create_user(user("admin", Role::Admin, vec![], None))
        .await?;
    app.create_user(user("operator", Role::CountyOperator, vec![], None))
        .await?;
    // The second and third lines (issue 12): they sign in to /compliance.
    app.create_user(user("officer", Role::ComplianceOfficer, vec![], None))
        .await?;
    app.create_user(user("auditor", Role::Auditor, vec![], None))
        .await?;
    for (idx, station_id) in station_ids.iter().enumerate() {
        app.create_user(user(
            &format!("keeper{}", idx + 1),
            Role::StationKeeper,
            vec![*station_id],
            None,
        ))
        .await?;
    }
    app.create_user(user(
        "zto",
        Role::CarrierIntegrator,
        vec![],
        Some(Carrier::Zto),
    ))
    .await?;

    let admin = Principal {
        user_id: 0,
        username: "demo".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    let mut rng = StdRng::seed_from_u64(2026);
    let surnames = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"];
    // Quiet seeding: one progress bar on stderr (hidden when stderr is not
    // a terminal), not a log line per parcel or message.
    eprintln!("seeding the demo county (first run only; about a minute)…");
    let progress = indicatif::ProgressBar::new(station_ids.len() as u64 + 1);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
    {
        progress.set_style(style);
    }
    for (station_idx, station_id) in station_ids.iter().enumerate() {
        progress.set_message(format!("station {}", station_idx + 1));
        // Who receives here: a few households get several parcels at once.
        let phones: Vec<String> = (0..120)
            .map(|_| {
                format!(
                    "1{}{:09}",
                    rng.gen_range(3..10),
                    rng.gen_range(0..1_000_000_000u64)
                )
            })
            .collect();
        let mut by_carrier: Vec<(Carrier, Vec<ManifestRow>)> =
            CARRIERS.iter().map(|c| (*c, Vec::new())).collect();
        for parcel_idx in 0..PARCELS_PER_STATION {
            let carrier_idx = parcel_idx % CARRIERS.len();
            let name = format!(
                "{}{}",
                surnames[rng.gen_range(0..surnames.len())],
                ["先生", "女士", "阿姨", "大爷"][rng.gen_range(0..4)]
            );
            by_carrier[carrier_idx].1.push(ManifestRow {
                waybill: waybill(CARRIERS[carrier_idx], &mut rng).to_string(),
                recipient_name: Some(name),
                phone: Some(phones[rng.gen_range(0..phones.len())].clone()),
                address: Some(format!(
                    "四川省成都市彭州市{}{}{}组{}号",
                    townships[station_idx * 3 / villages.len()].0,
                    villages[station_idx].0,
                    rng.gen_range(1..9),
                    rng.gen_range(1..60)
                )),
                station_id: Some(*station_id),
                size: Some(
                    ["small", "small", "small", "small", "medium", "large"][rng.gen_range(0..6)]
                        .into(),
                ),
                consent: Some(rng.gen_bool(0.9)),
                weight_grams: Some(rng.gen_range(100..8_000)),
            });
        }
        for (carrier, rows) in &by_carrier {
            app.announce(&admin, *carrier, rows, 1).await?;
        }
        let parcels: Vec<(Carrier, ManifestRow)> = by_carrier
            .into_iter()
            .flat_map(|(c, rows)| rows.into_iter().map(move |r| (c, r)))
            .collect();
        seed_station(app, &admin, *station_id, &parcels, &mut rng)
            .await
            .with_context(|| format!("seeding station {station_id}"))?;
        progress.inc(1);
    }
    progress.set_message("county centre");
    crate::county::seed_demo_county(app, &admin, &townships, &villages, &station_ids, &mut rng)
        .await
        .context("seeding the county centre")?;
    progress.set_message("kiosks");
    crate::kiosks_cmd::seed_demo(app)
        .await
        .context("seeding the kiosk fleet")?;
    progress.set_message("sorting hub");
    crate::hub_cmd::seed_demo(app)
        .await
        .context("seeding the sorting hub")?;
    // Branch claims (issue 15): money received waiting to be claimed.
    progress.set_message("money received");
    crate::finance_cmd::seed_demo_receipts(app)
        .await
        .context("seeding the money received")?;
    // The post office's pool of EMS numbers, so a demo sender's order gets
    // one (the fleet's history orders are numbered 98…, outside it).
    app.add_waybill_range(
        &crate::wiring::system_principal(),
        Carrier::Ems,
        "",
        1_100_000_000_000,
        1_100_000_999_999,
        13,
    )
    .await
    .context("the demo's EMS waybill numbers")?;
    progress.set_message("pre-sale");
    crate::presale_cmd::seed_demo(app)
        .await
        .context("seeding the pre-sale campaign")?;
    progress.finish_and_clear();
    let counts = app.store.count_by_state(None).await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    tracing::info!(
        n_stations = station_ids.len(),
        n_parcels = total,
        seconds = started.elapsed().as_secs_f32(),
        "demo county created"
    );
    Ok(credentials)
}

async fn seed_station(
    app: &App,
    admin: &Principal,
    station_id: i64,
    parcels: &[(Carrier, ManifestRow)],
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let find = |carrier: Carrier, waybill: &str| {
        let filter = app::ports::ParcelFilter {
            carrier: Some(carrier),
            waybill: Some(waybill.to_string()),
            limit: 1,
            ..Default::default()
        };
        async move {
            app.store
                .parcels(&filter)
                .await
                .map(|mut found| found.pop().map(|p| p.id))
        }
    };
    // Parcels by fate: still at the centre in each of its states, then
    // shelved at various ages so reminders and overdue lists have content.
    let (centre, shelved) = parcels.split_at(40);
    for (idx, (carrier, row)) in centre.iter().enumerate() {
        let Some(parcel_id) = find(*carrier, &row.waybill).await? else {
            continue;
        };
        let steps = [Action::ArriveAtCentre, Action::Sort, Action::Dispatch];
        for action in steps.iter().take(idx % 4) {
            app.centre_scan(admin, parcel_id, *action).await?;
        }
    }
    let ages = [
        Duration::days(8),
        Duration::days(4),
        Duration::days(1),
        Duration::hours(2),
    ];
    for (chunk_idx, chunk) in shelved
        .chunks(shelved.len().div_ceil(ages.len()))
        .enumerate()
    {
        let aged = App {
            clock: Arc::new(ShiftedClock(ages[chunk_idx])),
            ..app.clone()
        };
        let scans: Vec<InboundScan> = chunk
            .iter()
            .map(|(carrier, row)| InboundScan {
                carrier: *carrier,
                waybill: WaybillNo::parse(&row.waybill).expect("valid"),
                recipient_name: None,
                phone: None,
                size: SizeClass::Small,
                consent: None,
            })
            .collect();
        let outcome = aged.inbound_batch(admin, station_id, scans).await?;
        for (idx, stored) in outcome.stored.iter().enumerate() {
            let fate = (idx + chunk_idx) % 10;
            let result = match (stored.pickup_code.as_ref(), fate) {
                (Some(code), 0..=3) => {
                    let parcel = app
                        .store
                        .parcel(stored.parcel_id)
                        .await?
                        .expect("just stored");
                    let tail = parcel
                        .phone
                        .as_ref()
                        .map(Phone::tail)
                        .unwrap_or("0000")
                        .to_string();
                    aged.pick_up(
                        admin,
                        stored.parcel_id,
                        PickupProof::CodeAndPhoneTail {
                            code: code.clone(),
                            phone_tail: tail,
                        },
                    )
                    .await
                    .map(|_| ())
                }
                (Some(_), 4) if rng.gen_bool(0.5) => aged
                    .pick_up(
                        admin,
                        stored.parcel_id,
                        PickupProof::StaffAssisted {
                            shown: ShownProof::Message,
                            note: None,
                        },
                    )
                    .await
                    .map(|_| ()),
                (Some(_), 5) if chunk_idx == 0 => aged
                    .return_to_carrier(admin, stored.parcel_id)
                    .await
                    .map(|_| ()),
                (Some(_), 6) if rng.gen_bool(0.3) => {
                    let kind = [
                        ProblemKind::Damaged,
                        ProblemKind::WrongAddress,
                        ProblemKind::Refused,
                    ][rng.gen_range(0..3)];
                    aged.report_problem(admin, stored.parcel_id, kind, Some("演示数据".into()))
                        .await
                        .map(|_| ())
                }
                _ => Ok(()),
            };
            result?;
        }
    }
    Ok(())
}

/// One breach for each compliance rule, so the compliance page has
/// something to show on a fresh demo (issue 12): more whole phones revealed
/// by the last station's keeper in a day than the threshold, through the real use case (the
/// audit trail is chained), and the rest written behind the use cases'
/// backs by `store::Db::plant_breaches` on the last station — a pickup
/// without proof, a parcel stored without consent, one held past the limit
/// unreminded, a failing webhook subscription, an offline door, a burst of
/// wrong codes and an account nobody has used for 100 days. The daily
/// compliance run at start-up finds them.
pub async fn plant_breaches(app: &App, database_url: &str) -> anyhow::Result<()> {
    use app::ports::ParcelFilter;
    use domain::ParcelState;
    // The last station, whose keeper is keeper{N}: the first ones are where
    // a visitor (and the browser test) tries the terminal, and a planted
    // burst of wrong codes would throttle it for them.
    let stations = app.store.stations().await?;
    let station_id = stations
        .last()
        .map(|s| s.id)
        .context("the demo has a station")?;
    let keeper_name = format!("keeper{}", stations.len());
    let stored = app
        .store
        .parcels(&ParcelFilter {
            station_id: Some(station_id),
            state: Some(ParcelState::Stored),
            limit: 4,
            ..Default::default()
        })
        .await?;
    let [a, b, c, d] = stored.as_slice() else {
        anyhow::bail!("the demo's last station has fewer than four stored parcels");
    };
    let keeper = app
        .store
        .user_by_name(&keeper_name)
        .await?
        .with_context(|| format!("the demo has {keeper_name}"))?;
    let keeper = Principal {
        user_id: keeper.id,
        username: keeper.username,
        role: keeper.role,
        station_ids: keeper.station_ids,
        carrier: None,
    };
    // Planted around the maker–checker gate (which the served demo keeps
    // on): a breach the gate would have stopped, for the rule to find.
    let mut ungated = app.clone();
    ungated.settings.approvals = domain::approval::Thresholds::off();
    for _ in 0..=domain::compliance::Thresholds::default().phone_reveals_per_day {
        ungated.parcel_phone(&keeper, d.id).await?;
    }
    let system = crate::wiring::system_principal();
    let subscription = app
        .create_webhook(
            &system,
            Carrier::Zto,
            "https://hooks.zto.example/yizhan-demo",
            &[],
        )
        .await?
        .subscription
        .id;
    // Paused, so the relay does not keep trying a host that does not exist;
    // its failed delivery still counts.
    app.update_webhook(
        &system,
        subscription,
        app::webhooks::SubscriptionPatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .await?;
    let mut password = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut password);
    let idle = app
        .create_user(NewUser {
            username: "former_operator".into(),
            display_name: "已调岗的操作员".into(),
            password: hex::encode(password),
            role: Role::CountyOperator,
            carrier: None,
            station_ids: vec![],
        })
        .await?;
    let db = crate::wiring::connect(database_url, 1, app.keys.clone()).await?;
    db.plant_breaches(
        &store::BreachPlan {
            station_id,
            parcels: [a.id, b.id, c.id],
            idle_user_id: idle,
            subscription_id: subscription,
        },
        app.now(),
    )
    .await?;
    db.close().await;
    Ok(())
}
