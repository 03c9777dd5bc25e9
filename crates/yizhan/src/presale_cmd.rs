//! Community pre-sale in the binary (issue 14 point 4, branch presale):
//! the demo's campaign (a few hundred orders of local produce across the
//! demo's stations, some home deliveries, some picked up already, imported
//! through the same use case as a shop's file) and `yizhan report presale
//! --campaign ID [--json]`.

use crate::config::Config;
use crate::wiring;
use anyhow::Context;
use app::App;
use app::parcels::PickupProof;
use app::presale::{CampaignInput, OrderKind};
use chrono::Duration;
use domain::presale::CampaignReport;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Orders in the demo's campaign.
const DEMO_ORDERS: usize = 320;

/// Local produce of 彭州 and its price in fen.
const PRODUCE: [(&str, i64); 6] = [
    ("龙门山红心猕猴桃 3kg", 4990),
    ("彭州脐橙 5kg", 3990),
    ("九尺板鸭 2只", 8800),
    ("丽春韭黄 2kg", 2600),
    ("高山土鸡蛋 30枚", 4500),
    ("川芎养生礼盒", 6800),
];

/// Seeds the demo's pre-sale campaign; returns its id.
pub async fn seed_demo(app: &App) -> anyhow::Result<i64> {
    let system = wiring::system_principal();
    let today = app.today();
    let campaign = app
        .create_presale_campaign(
            &system,
            &CampaignInput {
                name: "彭州冬季农特产预售".into(),
                shop: "邮乐小店·彭州农特产馆".into(),
                starts_on: (today - Duration::days(10)).to_string(),
                ends_on: (today + Duration::days(20)).to_string(),
            },
        )
        .await?;
    let stations = app.store.stations().await?;
    anyhow::ensure!(!stations.is_empty(), "the demo has no stations");
    let mut rng = StdRng::seed_from_u64(144);
    let surnames = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"];
    let mut grid = vec![
        vec!["彭州冬季农特产预售 订单导出".to_string()],
        [
            "订单号",
            "收货人",
            "手机号",
            "商品名称",
            "实付金额(元)",
            "自提点",
            "收货地址",
        ]
        .map(str::to_string)
        .to_vec(),
    ];
    for idx in 0..DEMO_ORDERS {
        let (product, price) = PRODUCE[rng.gen_range(0..PRODUCE.len())];
        let quantity = rng.gen_range(1..4);
        let home = idx % 12 == 5;
        let station = &stations[idx % stations.len()];
        grid.push(vec![
            format!("PZ{:06}", 100_001 + idx),
            format!(
                "{}{}",
                surnames[rng.gen_range(0..surnames.len())],
                ["先生", "女士", "阿姨", "大爷"][rng.gen_range(0..4)]
            ),
            format!(
                "1{}{:09}",
                rng.gen_range(3..10),
                rng.gen_range(0..1_000_000_000u64)
            ),
            format!("{product} ×{quantity}"),
            format!("{:.2}", (price * quantity) as f64 / 100.0),
            if home {
                "送货上门".into()
            } else {
                station.name.clone()
            },
            if home {
                format!(
                    "四川省成都市彭州市天府东路{}号{}栋",
                    rng.gen_range(1..300),
                    rng.gen_range(1..20)
                )
            } else {
                String::new()
            },
        ]);
    }
    let outcome = app
        .import_presale_orders(&system, campaign.id, &grid)
        .await?;
    anyhow::ensure!(
        outcome.rejected.is_empty(),
        "the demo's orders were refused: {:?}",
        outcome.rejected
    );
    // Two in five picked up already, at the counter with the code and the
    // phone's last four, through the normal pickup.
    let orders = app
        .store
        .presale_orders(campaign.id, OrderKind::All, 0, DEMO_ORDERS as u32)
        .await?;
    for (idx, order) in orders.iter().enumerate() {
        let Some(parcel_id) = order.parcel_id else {
            continue;
        };
        if idx % 5 >= 2 {
            continue;
        }
        let parcel = app
            .store
            .parcel(parcel_id)
            .await?
            .context("a pre-sale parcel just stored")?;
        if let (Some(code), Some(phone)) = (parcel.pickup_code, parcel.phone) {
            app.pick_up(
                &system,
                parcel_id,
                PickupProof::CodeAndPhoneTail {
                    code,
                    phone_tail: phone.tail().to_string(),
                },
            )
            .await?;
        }
    }
    Ok(campaign.id)
}

pub async fn report(config: &Config, campaign_id: i64, json: bool) -> anyhow::Result<()> {
    let app = wiring::build(config).await?;
    let system = wiring::system_principal();
    let view = app.presale_campaign(&system, campaign_id).await?;
    if json {
        let mut document = serde_json::to_value(&view.report)?;
        if let Some(object) = document.as_object_mut() {
            object.insert("campaign".into(), serde_json::to_value(&view.campaign)?);
        }
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{}", text(&view.campaign.name, &view.report));
    }
    Ok(())
}

fn text(name: &str, r: &CampaignReport) -> String {
    let f = &r.totals;
    let mut out = format!(
        "pre-sale campaign {} ({name}): orders {}, stored {} (waiting {}, picked up {}, returned or problem {}), \
         home delivery {}, revenue {}, picked up {}\n",
        r.campaign_id,
        f.orders,
        f.stored,
        f.waiting,
        f.picked_up,
        f.other,
        f.home_delivery,
        domain::Fen(f.revenue_fen),
        domain::Fen(f.picked_up_fen),
    );
    for line in &r.stations {
        let s = &line.figures;
        out.push_str(&format!(
            "  {}: orders {}, waiting {}, picked up {}, revenue {}\n",
            line.station,
            s.orders,
            s.waiting,
            s.picked_up,
            domain::Fen(s.revenue_fen)
        ));
    }
    out
}
