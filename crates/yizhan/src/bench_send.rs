//! `yizhan bench send` (issue 14): how long a sender waits. One verified
//! sender places `--orders` orders into a fresh SQLite file (or PostgreSQL
//! schema) through the use cases the pages and the API call: the quote
//! alone, then creating an order (two confirmed parties), its inspection
//! and quote, and its submission (a waybill number from the pool and a QR
//! payment) timed as one — the "quote + order creation" — then
//! the provider's signed callback that pays it, and the label rendered as
//! ZPL, TSPL and PDF. Prints percentiles; the goal is p99 under 50 ms.

use app::App;
use app::sending::{LabelFormat, OrderContents};
use domain::Carrier;
use domain::sending::Payer;
use domain::sending::inspection::Evidence;
use std::time::Instant;

struct Samples {
    name: &'static str,
    ms: Vec<f64>,
}

impl Samples {
    fn new(name: &'static str) -> Samples {
        Samples {
            name,
            ms: Vec::new(),
        }
    }

    fn time<T>(&mut self, started: Instant, value: T) -> T {
        self.ms.push(started.elapsed().as_secs_f64() * 1e3);
        value
    }

    fn print(&mut self) {
        self.ms.sort_by(f64::total_cmp);
        let mean = self.ms.iter().sum::<f64>() / self.ms.len().max(1) as f64;
        println!(
            "{:<38} n {:>5}  mean {:>8.3} ms  p50 {:>8.3}  p95 {:>8.3}  p99 {:>8.3}  max {:>8.3}",
            self.name,
            self.ms.len(),
            mean,
            crate::bench::percentile(&self.ms, 0.5),
            crate::bench::percentile(&self.ms, 0.95),
            crate::bench::percentile(&self.ms, 0.99),
            self.ms.last().copied().unwrap_or_default(),
        );
    }
}

pub async fn send(orders: u32, postgres: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!((1..=100_000).contains(&orders), "--orders 1 to 100000");
    let temp = tempfile::tempdir()?;
    let (url, schema) = match postgres.filter(|url| !url.is_empty()) {
        Some(url) => (url, Some(format!("bench_{}", rand::random::<u32>()))),
        None => (
            format!("sqlite:{}", temp.path().join("bench.db").display()),
            None,
        ),
    };
    let options = store::ConnectOptions {
        url: url.clone(),
        schema: schema.clone(),
        max_connections: 8,
        keys: std::sync::Arc::new(app::keys::Keys::ephemeral()),
    };
    let db = std::sync::Arc::new(store::Db::connect(&options).await?);
    let backend = db.backend_kind_name();
    let mut app = App::new(db.clone(), std::sync::Arc::new(app::ports::SystemClock));
    // No SMS gateway here: the code comes back as the demo's does.
    app.settings.sending.reveal_codes = true;
    let provider = std::sync::Arc::new(app::sending::SimulatedPayments::new(
        b"bench payment key".to_vec(),
    ));
    app.payments = provider.clone();
    let system = crate::wiring::system_principal();
    app.add_waybill_range(
        &system,
        Carrier::Ems,
        "",
        1_100_000_000_000,
        1_100_000_000_000 + i64::from(orders) * 2,
        13,
    )
    .await?;
    let phone = domain::Phone::parse("13912340000")?;
    let code = app
        .request_send_code(&phone)
        .await?
        .demo_code
        .ok_or_else(|| anyhow::anyhow!("the code was not revealed"))?;
    let sender = app.verify_send_code(&phone, &code).await?.sender;
    let sender = app
        .verify_sender_identity(
            &sender,
            "张三",
            domain::sending::DocumentKind::ResidentId,
            "11010519491231002X",
        )
        .await?;

    let mut quote = Samples::new("quote");
    let mut order = Samples::new("quote + order creation (goal p99<50)");
    let mut paid = Samples::new("payment callback");
    let mut labels: Vec<Samples> = vec![
        Samples::new("label ZPL"),
        Samples::new("label TSPL"),
        Samples::new("label PDF"),
    ];
    let destinations = ["330727", "510182", "110105", "440305", "650102"];
    let mut label_bytes = [0usize; 3];
    let wall = Instant::now();
    for i in 0..orders {
        let to_division = destinations[i as usize % destinations.len()];
        let weight_grams = 300 + (i % 40) * 250;
        let started = Instant::now();
        let priced = app.send_quote("510182", to_division, weight_grams, None, Some("clothing"))?;
        quote.time(started, ());

        let started = Instant::now();
        let from = app.confirm_party("张三", "13912340000", "510182", "丽春镇白果村3组12号")?;
        let to = app.confirm_party(
            "李四",
            &format!("138{:08}", i % 100_000_000),
            to_division,
            "新城路8号",
        )?;
        let created = app.create_send_order(&sender, "api", from, to).await?;
        let contents = OrderContents {
            category: "clothing".into(),
            evidence: Evidence::default(),
            weight_grams,
            size_cm: Some((30, 20, 10)),
        };
        app.set_send_contents(&sender, created.id, contents).await?;
        let submitted = app
            .submit_send_order(&sender, created.id, Payer::Sender)
            .await?;
        order.time(started, ());
        let payment = submitted
            .payment
            .ok_or_else(|| anyhow::anyhow!("no payment started"))?;
        anyhow::ensure!(
            payment.amount.0 >= priced.price_fen.0,
            "the order's price {} is below the bare quote {}",
            payment.amount,
            priced.price_fen
        );

        let started = Instant::now();
        let (body, signature) = provider.pay(&payment.merchant_order_no, payment.amount, app.now());
        app.payment_callback(&body, &signature).await?;
        paid.time(started, ());

        let label = app.send_label(&sender, created.id).await?;
        for (k, format) in LabelFormat::ALL.into_iter().enumerate() {
            let started = Instant::now();
            let bytes = format.render(&label);
            labels[k].time(started, ());
            label_bytes[k] = bytes.len();
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    println!(
        "bench send ({backend}): {orders} orders by one sender in {wall_s:.1} s ({:.0} orders/s end to end)",
        f64::from(orders) / wall_s
    );
    quote.print();
    order.print();
    paid.print();
    for samples in &mut labels {
        samples.print();
    }
    println!(
        "label sizes: ZPL {} bytes, TSPL {} bytes, PDF {} bytes",
        label_bytes[0], label_bytes[1], label_bytes[2]
    );
    if let Some(schema) = schema {
        store::Db::drop_schema(&url, &schema).await?;
    }
    Ok(())
}
