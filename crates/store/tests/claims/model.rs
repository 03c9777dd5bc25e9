//! The model check (issue 15): random accruals, statements, receipts,
//! claims (some by two people at once), write-offs (some repeated), and
//! disputes settled by reversing or adjusting transfers — on each database,
//! with the books proved after every step: Σ debits = Σ credits over the
//! cached accounts; every cached account equals a replay of the transfers
//! read so far; no receipt claimed twice; no invoice paid beyond what it
//! owes; each debtor's credit, receivable and unapplied cash equal what the
//! operations that succeeded say they must. A few thousand operations by
//! default; `YIZHAN_MODEL_OPS=100000` for the long run (docs/finance.md).

use super::*;
use app::finance::{LineAnswer, Resolution, Transfer, TransferKind};
use std::collections::{BTreeMap, BTreeSet};

/// splitmix64, seeded: the same seed runs the same operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }
}

const CARRIERS: [Carrier; 4] = [Carrier::Zto, Carrier::Yto, Carrier::Sto, Carrier::Jt];
const MONTHS: [&str; 3] = ["2026-03", "2026-04", "2026-05"];

/// What the operations that succeeded say the books must show.
#[derive(Default)]
struct Expected {
    /// Receipts imported: id → amount.
    receipts: BTreeMap<i64, i64>,
    /// Claimed receipts: id → carrier.
    claimed: BTreeMap<i64, Carrier>,
    /// Σ claims per carrier.
    claims: BTreeMap<Carrier, i64>,
    /// Write-off keys used, with their carrier.
    keys: Vec<(String, Carrier)>,
    serial: u64,
}

/// The replay: every account's debits and credits from the transfers read
/// so far, and the last sequence read.
#[derive(Default)]
struct Replay {
    seq: i64,
    sums: BTreeMap<String, (i64, i64)>,
    /// Fee accruals per carrier.
    fees: BTreeMap<Carrier, i64>,
    ids: BTreeSet<String>,
}

impl Replay {
    fn add(&mut self, t: &Transfer) {
        assert_eq!(t.seq, self.seq + 1, "transfers follow each other");
        assert!(self.ids.insert(t.id.clone()), "transfer id {} twice", t.id);
        self.seq = t.seq;
        self.sums.entry(t.debit.code()).or_default().0 += t.amount.0;
        self.sums.entry(t.credit.code()).or_default().1 += t.amount.0;
        if t.kind == TransferKind::FeeAccrual {
            *self.fees.entry(t.debit.carrier.unwrap()).or_default() += t.amount.0;
        }
    }
}

fn ops() -> usize {
    std::env::var("YIZHAN_MODEL_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

async fn step(h: &Harness, rng: &mut Rng, want: &mut Expected) -> &'static str {
    let app = &h.app;
    let boss = admin();
    match rng.below(100) {
        // Accruals: a few of the generated fees posted.
        0..=14 => {
            app.backfill_ledger_step(1 + rng.below(30) as u32)
                .await
                .unwrap();
            "accrue"
        }
        // A statement: refused when it exists or has nothing to state.
        15..=22 => {
            let carrier = *rng.pick(&CARRIERS).unwrap();
            let m = month(rng.pick(&MONTHS).unwrap());
            match app
                .issue_statement(&boss, carrier, m, Some(rng.below(40) as u32))
                .await
            {
                Ok(_) => {}
                Err(e) => assert!(
                    matches!(e.code(), Code::StatementExists | Code::StatementEmpty),
                    "{e:?}"
                ),
            }
            "statement"
        }
        // Money in: one new bank line, sometimes with a known one again.
        23..=40 => {
            want.serial += 1;
            let fen = 1 + rng.below(40_000) as i64;
            let day =
                NaiveDate::from_ymd_opt(2026, 5, 1).unwrap() + Duration::days(rng.below(33) as i64);
            let serial = format!("M{}", want.serial);
            let file = bank_file(&[(day, fen, "快递公司", serial.as_str())]);
            let report = app
                .import_bank_statement(&boss, "m.csv", &file)
                .await
                .unwrap();
            if rng.below(4) == 0 {
                // The same file again: nothing new.
                let again = app
                    .import_bank_statement(&boss, "m.csv", &file)
                    .await
                    .unwrap();
                assert!(again.new.is_empty(), "a bank line once");
            }
            for r in &report.new {
                want.receipts.insert(r.id, r.amount.0);
            }
            "receipt"
        }
        // A claim, by one person or by two at once.
        41..=62 => {
            let ids: Vec<i64> = want.receipts.keys().copied().collect();
            let Some(&id) = rng.pick(&ids) else {
                return "claim";
            };
            let a = *rng.pick(&CARRIERS).unwrap();
            let b = *rng.pick(&CARRIERS).unwrap();
            let (first, second) = if rng.below(3) == 0 {
                let (x, y) = tokio::join!(
                    app.claim_receipt(&boss, id, a),
                    app.claim_receipt(&boss, id, b)
                );
                (x, Some(y))
            } else {
                (app.claim_receipt(&boss, id, a).await, None)
            };
            let mut won = Vec::new();
            for result in std::iter::once(first).chain(second) {
                match result {
                    Ok(claim) => won.push(claim),
                    Err(e) => assert_eq!(e.code(), Code::ReceiptClaimed, "{e:?}"),
                }
            }
            assert!(won.len() <= 1, "claimed twice: {won:?}");
            let before = want.claimed.contains_key(&id);
            if let Some(claim) = won.pop() {
                assert!(!before, "receipt {id} claimed again");
                want.claimed.insert(id, claim.carrier);
                *want.claims.entry(claim.carrier).or_default() += claim.amount.0;
            } else {
                assert!(before, "receipt {id} refused but never claimed");
            }
            "claim"
        }
        // A write-off: oldest first, or one invoice, perhaps capped; now
        // and then a key used before.
        63..=84 => {
            let carrier = *rng.pick(&CARRIERS).unwrap();
            let (key, carrier) = if rng.below(8) == 0 && !want.keys.is_empty() {
                rng.pick(&want.keys).unwrap().clone()
            } else {
                (format!("m{}", rng.next()), carrier)
            };
            let statements = if rng.below(3) == 0 {
                let open: Vec<i64> = app
                    .statements(&boss, Some(carrier))
                    .await
                    .unwrap()
                    .iter()
                    .filter(|s| s.net.0 > 0)
                    .map(|s| s.id)
                    .collect();
                rng.pick(&open).map(|id| vec![*id]).unwrap_or_default()
            } else {
                Vec::new()
            };
            let amount = (rng.below(3) == 0).then(|| Fen(1 + rng.below(30_000) as i64));
            let request = WriteOffRequest {
                key: key.clone(),
                carrier,
                statements,
                amount,
            };
            match app.write_off(&boss, &request).await {
                Ok(done) => {
                    if !done.repeat {
                        want.keys.push((key, carrier));
                    }
                    for p in &done.payments {
                        assert!(p.amount.0 > 0);
                    }
                }
                Err(e) => assert_eq!(e.code(), Code::WriteOffNothing, "{e:?}"),
            }
            "write_off"
        }
        // A dispute settled by a reversing or adjusting transfer, paid
        // invoices included (the money paid for it goes back to credit).
        _ => {
            let all = app.statements(&boss, None).await.unwrap();
            let Some(s) = rng.pick(&all) else {
                return "reversal";
            };
            let lines = app.statement(&boss, s.id).await.unwrap().lines;
            let open: Vec<_> = lines.iter().filter(|l| l.status.answerable()).collect();
            let Some(line) = rng.pick(&open) else {
                return "reversal";
            };
            app.answer_statement(
                &boss,
                s.id,
                &[LineAnswer::Dispute {
                    line_id: line.id,
                    reason: "不是本月".into(),
                }],
            )
            .await
            .unwrap();
            let resolution = if line.amount.0 > 1 && rng.below(2) == 0 {
                Resolution::Adjust {
                    amount: Fen(1 + rng.below(line.amount.0 as u64 - 1) as i64),
                }
            } else {
                Resolution::Reverse
            };
            app.resolve_statement_line(&boss, s.id, line.id, resolution, "核实")
                .await
                .unwrap();
            "reversal"
        }
    }
}

async fn prove(h: &Harness, replay: &mut Replay, want: &Expected, what: &str, n: usize) {
    let app = &h.app;
    loop {
        let page = app.store.transfers_after(replay.seq, 1_000).await.unwrap();
        for t in &page {
            replay.add(t);
        }
        if page.len() < 1_000 {
            break;
        }
    }
    let accounts = app.store.ledger_accounts().await.unwrap();
    let (mut debits, mut credits) = (0, 0);
    for a in &accounts {
        debits += a.debits.0;
        credits += a.credits.0;
        assert_eq!(
            replay.sums.get(&a.code).copied().unwrap_or_default(),
            (a.debits.0, a.credits.0),
            "{} step {n} ({what}): {} against the replay",
            h.name(),
            a.code
        );
    }
    assert_eq!(
        debits,
        credits,
        "{} step {n} ({what}): Σ debits = Σ credits",
        h.name()
    );
    assert_eq!(accounts.len(), replay.sums.len());
    let get = |account: Account| {
        let (d, c) = replay
            .sums
            .get(&account.code())
            .copied()
            .unwrap_or_default();
        account.balance(Fen(d), Fen(c)).0
    };
    let received: i64 = want.receipts.values().sum();
    let claimed: i64 = want.claims.values().sum();
    assert_eq!(
        get(Account::of(AccountKind::UnappliedCash)),
        received - claimed,
        "step {n} ({what}): unapplied cash"
    );
    let statements = app.store.statements(None, 10_000).await.unwrap();
    for carrier in CARRIERS {
        let mine: Vec<_> = statements.iter().filter(|s| s.carrier == carrier).collect();
        for s in &mine {
            assert!(
                s.net.0 >= 0 && s.paid.0 >= 0,
                "step {n} ({what}): overpaid {s:?}"
            );
        }
        let paid: i64 = mine.iter().map(|s| s.paid.0).sum();
        let issued: i64 = mine.iter().map(|s| s.issued.0).sum();
        let net: i64 = mine.iter().map(|s| s.net.0).sum();
        let credit = get(Account::credit_of(carrier));
        assert!(
            credit >= 0,
            "step {n} ({what}): {carrier:?} credit {credit}"
        );
        assert_eq!(
            credit,
            want.claims.get(&carrier).copied().unwrap_or(0) - paid,
            "step {n} ({what}): {carrier:?} credit"
        );
        let fees = replay.fees.get(&carrier).copied().unwrap_or(0);
        assert_eq!(
            get(Account::receivable(carrier)),
            fees - issued + net,
            "step {n} ({what}): {carrier:?} receivable"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_books_hold_under_random_operations_on_both_databases() {
    let n_ops = ops();
    for h in backends().await {
        let started = std::time::Instant::now();
        books(&h, 1_500, 29).await;
        let mut rng = Rng(0x5EED_0015);
        let mut want = Expected::default();
        let mut replay = Replay::default();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in 0..n_ops {
            let what = step(&h, &mut rng, &mut want).await;
            *counts.entry(what).or_default() += 1;
            prove(&h, &mut replay, &want, what, n).await;
            if n % 1_000 == 999 {
                let check = h.app.check_ledger(&admin()).await.unwrap();
                assert!(
                    check.is_whole(),
                    "{} step {n}: {:?}",
                    h.name(),
                    check.problems
                );
            }
        }
        let claims = h.app.store.all_claims().await.unwrap();
        assert_eq!(claims.len(), want.claimed.len(), "each claim once");
        let check = h.app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        // Disputes settled after payment gave money back to credit: the
        // run reached that path.
        let mut refunds = 0;
        let mut payments = 0;
        for carrier in CARRIERS {
            for p in h
                .app
                .store
                .payments_of(carrier, u32::MAX / 2)
                .await
                .unwrap()
            {
                payments += 1;
                refunds += usize::from(p.amount.0 < 0);
            }
        }
        assert!(
            refunds > 0 && payments > refunds,
            "{payments} payments, {refunds} refunds"
        );
        eprintln!(
            "model check on {}: {n_ops} operations in {:.1} s: {counts:?}; {} transfers, {payments} payments of which {refunds} given back by a dispute",
            h.name(),
            started.elapsed().as_secs_f64(),
            check.transfers
        );
        h.cleanup().await;
    }
}
