//! County centre commands: reconciliation and handover lists, run as a
//! county operator from the command line.

use app::App;
use app::county::{HandoverTo, print};
use chrono::NaiveDate;
use domain::{Carrier, Principal, Role};

fn operator() -> Principal {
    Principal {
        user_id: 0,
        username: "cli-county".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

pub async fn reconcile(
    app: &App,
    carrier: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let carrier = Carrier::parse(carrier).map_err(anyhow::Error::msg)?;
    let (from, to) = app.report_days(from, to)?;
    let report = app.reconcile(&operator(), carrier, from, to).await?;
    eprintln!(
        "{carrier} {from}..={to}: {} missing (announced, not arrived), {} unannounced (arrived, never announced)",
        report.missing.len(),
        report.unannounced.len()
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub async fn handover(
    app: &App,
    route: Option<i64>,
    contractor: Option<i64>,
    day: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let to = match (route, contractor) {
        (Some(route), None) => HandoverTo::Route(route),
        (None, Some(contractor)) => HandoverTo::Contractor(contractor),
        _ => anyhow::bail!("name one of --route or --contractor"),
    };
    let day = app.day_or_today(day)?;
    let list = app.handover(&operator(), to, day).await?;
    println!("{}", print::handover_html(&list));
    Ok(())
}

/// The demo county's centre: a joint route, a contractor, agreements for
/// the seven carriers (ZTO with a second version from today), a day of
/// manifests through arrival and sorting, bags handed over and accepted,
/// parcels picked up, fees accrued, a few parcels in the manual queue, a
/// few never arrived or never announced, and a second wave still in open
/// bags.
pub async fn seed_demo_county(
    app: &App,
    admin: &Principal,
    townships: &[(&str, &str); 3],
    villages: &[(&str, &str); 8],
    station_ids: &[i64],
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<()> {
    use app::county::{AgreementRequest, ArrivalScan, BagStatus};
    use app::manifest::ManifestRow;
    use app::parcels::{PickupProof, ShownProof};
    use domain::Fen;
    use domain::county::{Bracket, Mode, ModeFees, Terms, TownshipTerm};
    use rand::Rng;

    let [
        (joint_name, joint),
        (contractor_name, contractor_township),
        (_, station_township),
    ] = *townships;
    let route = app
        .create_route(
            admin,
            "丽春—九尺共配线",
            &[joint.into(), station_township.into()],
        )
        .await?;
    app.create_contractor(
        admin,
        "王建国",
        contractor_township,
        Some(domain::Phone::parse("13912345678").map_err(anyhow::Error::msg)?),
    )
    .await?;
    let today = app.today();
    let terms = |base: i64| Terms {
        townships: vec![
            TownshipTerm {
                township: joint.into(),
                mode: Mode::Joint,
            },
            TownshipTerm {
                township: contractor_township.into(),
                mode: Mode::Contractor,
            },
            TownshipTerm {
                township: station_township.into(),
                mode: Mode::Station,
            },
        ],
        fees: vec![
            ModeFees {
                mode: Mode::Joint,
                brackets: vec![
                    Bracket {
                        up_to_grams: Some(1_000),
                        fen: Fen(base),
                    },
                    Bracket {
                        up_to_grams: Some(5_000),
                        fen: Fen(base + 30),
                    },
                    Bracket {
                        up_to_grams: None,
                        fen: Fen(base + 100),
                    },
                ],
            },
            ModeFees {
                mode: Mode::Contractor,
                brackets: vec![
                    Bracket {
                        up_to_grams: Some(3_000),
                        fen: Fen(base + 50),
                    },
                    Bracket {
                        up_to_grams: None,
                        fen: Fen(base + 150),
                    },
                ],
            },
            ModeFees {
                mode: Mode::Station,
                brackets: vec![
                    Bracket {
                        up_to_grams: Some(2_000),
                        fen: Fen(base / 2),
                    },
                    Bracket {
                        up_to_grams: None,
                        fen: Fen(base),
                    },
                ],
            },
        ],
    };
    for (idx, carrier) in crate::demo::CARRIERS.iter().enumerate() {
        app.create_agreement(
            admin,
            *carrier,
            AgreementRequest {
                effective_from: today - chrono::Duration::days(30),
                effective_to: None,
                terms: terms(40 + 5 * idx as i64),
            },
        )
        .await?;
    }
    // A renegotiated ZTO agreement from today: fees accrue under version 2.
    app.create_agreement(
        admin,
        Carrier::Zto,
        AgreementRequest {
            effective_from: today,
            effective_to: None,
            terms: terms(60),
        },
    )
    .await?;

    let unroutable = [
        "石桥镇中街8号",                    // ambiguous
        "四川省成都市彭州市",               // no township
        "四川省成都市彭州市丹景山镇双松村", // not handed over
    ];
    let address = |village_idx: usize, rng: &mut rand::rngs::StdRng| {
        let township = townships[village_idx * 3 / villages.len()].0;
        format!(
            "四川省成都市彭州市{township}{}{}组{}号",
            villages[village_idx].0,
            rng.gen_range(1..9),
            rng.gen_range(1..60)
        )
    };
    let mut waves: Vec<Vec<(Carrier, String)>> = vec![Vec::new(), Vec::new()];
    for (carrier_idx, carrier) in crate::demo::CARRIERS.iter().enumerate() {
        let mut rows = Vec::new();
        for n in 0..16 {
            let text = if n == 15 {
                unroutable[carrier_idx % unroutable.len()].to_string()
            } else {
                address((carrier_idx + n) % villages.len(), rng)
            };
            rows.push(ManifestRow {
                waybill: crate::demo::waybill(*carrier, rng).to_string(),
                recipient_name: Some("王女士".into()),
                phone: Some(format!("139{:08}", rng.gen_range(0..100_000_000u32))),
                address: Some(text),
                consent: Some(true),
                weight_grams: if n % 5 == 4 {
                    None
                } else {
                    Some(rng.gen_range(200..9_000))
                },
                ..Default::default()
            });
        }
        app.announce(admin, *carrier, &rows, 1).await?;
        // One announced parcel never arrives (reconciliation's "missing");
        // two arrive after the first bags left.
        for (n, row) in rows.iter().enumerate().take(15) {
            let wave = usize::from(n >= 13);
            if n != 12 {
                waves[wave].push((*carrier, row.waybill.clone()));
            }
        }
        waves[0].push((*carrier, rows[15].waybill.clone()));
    }
    let scan = |carrier: Carrier, waybill: &str, address: Option<String>| ArrivalScan {
        carrier,
        waybill: domain::WaybillNo::parse(waybill).expect("generated waybills are valid"),
        weight_grams: None,
        address,
        recipient_name: None,
        phone: None,
    };
    for (carrier, waybill) in &waves[0] {
        app.centre_arrival(admin, scan(*carrier, waybill, None))
            .await?;
    }
    // Parcels the carriers never announced, with the address from the label.
    for carrier in [Carrier::Sf, Carrier::Yunda] {
        let waybill = crate::demo::waybill(carrier, rng).to_string();
        app.centre_arrival(admin, scan(carrier, &waybill, Some(address(0, rng))))
            .await?;
    }
    for bag in app.bags(admin, today).await? {
        app.dispatch_bag(admin, bag.id).await?;
    }
    for bag in app.bags(admin, today).await? {
        let Some(station_id) = bag.target.station_id() else {
            continue;
        };
        if bag.status != BagStatus::Dispatched || !station_ids.contains(&station_id) {
            continue;
        }
        let accepted = app.accept_bag(admin, station_id, bag.id).await?;
        // Half of the joint parcels are collected at once; station parcels
        // accrue when shelved, so they may wait.
        for stored in accepted.inbound.stored.iter().step_by(2) {
            if stored.pickup_code.is_some() {
                app.pick_up(
                    admin,
                    stored.parcel_id,
                    PickupProof::StaffAssisted {
                        shown: ShownProof::Message,
                        note: None,
                    },
                )
                .await?;
            }
        }
    }
    for (carrier, waybill) in &waves[1] {
        app.centre_arrival(admin, scan(*carrier, waybill, None))
            .await?;
    }
    tracing::info!(
        joint = joint_name,
        contractor = contractor_name,
        route = route.id,
        n_manual = app.manual_queue(admin).await?.len(),
        n_bags = app.bags(admin, today).await?.len(),
        "demo county centre"
    );
    Ok(())
}
