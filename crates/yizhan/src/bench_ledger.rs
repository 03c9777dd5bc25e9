//! `yizhan bench ledger` (issue 15): transfers posted per second through the
//! ledger's one writer (`app::ledger::post`: the chain's lock, the id looked
//! up, the hash chained, the transfer and both accounts' totals written) in
//! transactions of 100 and one at a time, against the raw rate of the same
//! rows — each transfer and its two accounts' totals — written with no lock,
//! no look-up and no hashing, into a fresh SQLite file and (when a URL is
//! given) a fresh PostgreSQL schema. Goal: posting at least half the raw
//! rate. Figures in docs/benchmarks.md.

use app::App;
use app::ledger::{Account, AccountKind, NewTransfer, Transfer, TransferKind};
use app::ports::SystemClock;
use chrono::Utc;
use domain::{Carrier, Fen};
use std::sync::Arc;
use std::time::Instant;
use store::{ConnectOptions, Db};

const BATCH: u32 = 100;

fn transfer(prefix: &str, n: u32, at_ms: i64) -> NewTransfer {
    let carrier = Carrier::ALL[n as usize % 7];
    NewTransfer {
        id: format!("{prefix}:{n}"),
        debit: Account::receivable(carrier),
        credit: Account::of(AccountKind::CoDeliveryRevenue),
        amount: Fen(100 + i64::from(n % 500)),
        kind: TransferKind::FeeAccrual,
        reference: format!("7{:013}", n),
        parcel_id: None,
        reverses: None,
        at_ms,
    }
}

pub async fn ledger(transfers: u32, postgres: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        (BATCH..=10_000_000).contains(&transfers),
        "--transfers must be {BATCH} to 10000000"
    );
    let temp = tempfile::tempdir()?;
    let mut targets = vec![(
        format!("sqlite:{}", temp.path().join("ledger.db").display()),
        None,
    )];
    if let Some(url) = postgres {
        targets.push((url, Some(format!("bench_{}", rand::random::<u32>()))));
    }
    for (url, schema) in targets {
        let options = ConnectOptions {
            url: url.clone(),
            schema: schema.clone(),
            max_connections: 4,
            keys: Arc::new(app::keys::Keys::ephemeral()),
        };
        let db = Arc::new(Db::connect(&options).await?);
        let outcome = run(&db, transfers).await;
        db.close().await;
        if let Some(schema) = schema {
            Db::drop_schema(&url, &schema).await?;
        }
        outcome?;
    }
    Ok(())
}

async fn run(db: &Arc<Db>, n: u32) -> anyhow::Result<()> {
    let app = App::new(db.clone(), Arc::new(SystemClock));
    let store = &app.store;
    println!("backend: {} ({n} transfers each)", db.backend_kind_name());

    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = store.begin().await?;
        for k in i..(i + BATCH).min(n) {
            let now = Utc::now();
            app::ledger::post(&mut *tx, &transfer("post", k, now.timestamp_millis()), now).await?;
        }
        tx.commit().await?;
        i += BATCH;
    }
    let posted = f64::from(n) / started.elapsed().as_secs_f64();
    println!("posted, {BATCH} per transaction: {posted:>9.0} transfers/s");

    let singles = (n / 10).max(1);
    let started = Instant::now();
    for k in 0..singles {
        let mut tx = store.begin().await?;
        let now = Utc::now();
        app::ledger::post(&mut *tx, &transfer("one", k, now.timestamp_millis()), now).await?;
        tx.commit().await?;
    }
    let single = f64::from(singles) / started.elapsed().as_secs_f64();
    println!("posted, one per transaction:  {single:>9.0} transfers/s ({singles} transfers)");

    // The same rows raw: the transfer and its two accounts' totals, with
    // the sequence and a hash made up front.
    let head = {
        let mut tx = store.begin().await?;
        let head = tx.lock_ledger_head().await?.map_or(0, |(seq, _)| seq);
        tx.commit().await?;
        head
    };
    let rows: Vec<Transfer> = (0..n)
        .map(|k| {
            let t = transfer("raw", k, Utc::now().timestamp_millis());
            Transfer {
                seq: head + 1 + i64::from(k),
                id: t.id,
                debit: t.debit,
                credit: t.credit,
                amount: t.amount,
                kind: t.kind,
                reference: t.reference,
                parcel_id: None,
                reverses: None,
                at_ms: t.at_ms,
                posted_ms: t.at_ms,
                prev_hash: "-".into(),
                hash: "-".into(),
            }
        })
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(BATCH as usize) {
        let mut tx = store.begin().await?;
        for t in chunk {
            tx.insert_transfer(t).await?;
        }
        tx.commit().await?;
    }
    let raw = f64::from(n) / started.elapsed().as_secs_f64();
    println!(
        "raw rows, {BATCH} per transaction:  {raw:>9.0} transfers/s (transfer + two account totals; no lock, look-up or hash)"
    );
    println!("posted / raw: {:.2} (goal ≥ 0.50)", posted / raw);
    Ok(())
}
