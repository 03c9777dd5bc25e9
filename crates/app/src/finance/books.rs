//! The ledger's accounts and transfers, its check, and the backfill.

use super::must_read_books;
use crate::error::{AppError, AppResult};
use crate::paging::{self, Page};
use crate::ports::ledger::{Account, AccountRecord, Transfer};
use crate::{App, ledger};
use domain::Fen;
use domain::Principal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Transfers read per page while checking.
const CHECK_PAGE: u32 = 2_000;
/// Fees posted per transaction by the backfill.
const BACKFILL_BATCH: u32 = 500;
/// The check lists at most this many problems (it counts them all).
const PROBLEMS_LISTED_MAX: usize = 100;

/// One thing the ledger check found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerProblem {
    /// `chain_gap`, `chain_prev_hash`, `transfer_changed`,
    /// `transfer_invalid`, `balance_mismatch`, `account_missing`,
    /// `account_unused`, `unbalanced`, `fee_unposted`.
    pub kind: &'static str,
    pub seq: Option<i64>,
    pub account: Option<String>,
    pub detail: String,
}

/// What `yizhan ledger check` prints: totals, and every break found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerCheck {
    pub transfers: u64,
    /// Σ of the transfers' amounts.
    pub transfers_total: Fen,
    pub accounts: u64,
    /// Σ of the accounts' cached debits and credits (equal when whole).
    pub debits: Fen,
    pub credits: Fen,
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    pub n_problems: u64,
    pub problems: Vec<LedgerProblem>,
}

impl LedgerCheck {
    pub fn is_whole(&self) -> bool {
        self.n_problems == 0
    }

    fn found(&mut self, problem: LedgerProblem) {
        self.n_problems += 1;
        if self.problems.len() < PROBLEMS_LISTED_MAX {
            self.problems.push(problem);
        }
    }
}

impl App {
    /// Every account with its cached totals and balance, by code.
    pub async fn ledger_accounts(&self, principal: &Principal) -> AppResult<Vec<AccountRecord>> {
        must_read_books(principal)?;
        Ok(self.store.ledger_accounts().await?)
    }

    /// One account's transfers, newest first, a page at a time (`after` is
    /// the previous page's `next_after_id`). Finance reads every account; a
    /// carrier reads its own receivable and credit; any other account is
    /// not found.
    pub async fn account_transfers(
        &self,
        principal: &Principal,
        code: &str,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<(Option<AccountRecord>, Page<Transfer>)> {
        let account = Account::parse(code).ok_or(AppError::NotFound("ledger account"))?;
        let allowed = principal.may_read_books()
            || account
                .carrier
                .is_some_and(|carrier| principal.may_act_for_carrier(carrier));
        if !allowed {
            return Err(AppError::NotFound("ledger account"));
        }
        let limit = paging::page_size(limit)?;
        let record = self.store.ledger_account(&account).await?;
        let items = self.store.account_transfers(&account, after, limit).await?;
        Ok((record, Page::of(items, limit, |t| t.seq)))
    }

    /// Verifies the whole ledger: the chain of transfers (no gap, each
    /// holding the previous hash, each hash the hash of its fields: nothing
    /// changed), each transfer's own rules, each account's cached totals
    /// against the sums of its transfers, Σ debits = Σ credits, and every
    /// accrued fee posted. Reads page by page; the figures are as of the
    /// pages read.
    pub async fn check_ledger(&self, principal: &Principal) -> AppResult<LedgerCheck> {
        must_read_books(principal)?;
        let mut check = LedgerCheck {
            transfers: 0,
            transfers_total: Fen(0),
            accounts: 0,
            debits: Fen(0),
            credits: Fen(0),
            head_seq: None,
            head_hash: None,
            n_problems: 0,
            problems: Vec::new(),
        };
        // (debits, credits, transfers) per account code, from the transfers.
        let mut sums: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        let mut prev: Option<(i64, String)> = None;
        // Read the accounts first: a transfer posted while the check runs
        // then shows as transfers beyond the cache, never the other way.
        let accounts = self.store.ledger_accounts().await?;
        let last_seq = loop {
            let after = prev.as_ref().map_or(0, |(seq, _)| *seq);
            let page = self.store.transfers_after(after, CHECK_PAGE).await?;
            for t in &page {
                if let Some(broken) =
                    domain::ledger::verify_next(prev.as_ref().map(|(s, h)| (*s, h.as_str())), t)
                {
                    let kind = match broken {
                        domain::ledger::ChainBreak::Gap => "chain_gap",
                        domain::ledger::ChainBreak::PrevHashMismatch => "chain_prev_hash",
                        domain::ledger::ChainBreak::HashMismatch => "transfer_changed",
                    };
                    check.found(LedgerProblem {
                        kind,
                        seq: Some(t.seq),
                        account: None,
                        detail: format!("transfer {}", t.id),
                    });
                }
                let request = domain::ledger::NewTransfer {
                    id: t.id.clone(),
                    debit: t.debit,
                    credit: t.credit,
                    amount: t.amount,
                    kind: t.kind,
                    reference: t.reference.clone(),
                    parcel_id: t.parcel_id,
                    reverses: t.reverses.clone(),
                    at_ms: t.at_ms,
                };
                if let Err(error) = request.check() {
                    check.found(LedgerProblem {
                        kind: "transfer_invalid",
                        seq: Some(t.seq),
                        account: None,
                        detail: error.to_string(),
                    });
                }
                check.transfers += 1;
                check.transfers_total = Fen(check.transfers_total.0 + t.amount.0);
                let debit = sums.entry(t.debit.code()).or_default();
                debit.0 += t.amount.0;
                debit.2 += 1;
                let credit = sums.entry(t.credit.code()).or_default();
                credit.1 += t.amount.0;
                credit.2 += 1;
                prev = Some((t.seq, t.hash.clone()));
            }
            if page.len() < CHECK_PAGE as usize {
                break prev.as_ref().map(|(seq, _)| *seq);
            }
        };
        check.head_seq = last_seq;
        check.head_hash = prev.map(|(_, hash)| hash);
        check.accounts = accounts.len() as u64;
        for record in &accounts {
            check.debits = Fen(check.debits.0 + record.debits.0);
            check.credits = Fen(check.credits.0 + record.credits.0);
            match sums.remove(&record.code) {
                Some((debits, credits, n)) => {
                    if (debits, credits, n)
                        != (record.debits.0, record.credits.0, record.n_transfers)
                    {
                        check.found(LedgerProblem {
                            kind: "balance_mismatch",
                            seq: None,
                            account: Some(record.code.clone()),
                            detail: format!(
                                "cached debits {} credits {} in {} transfers; the transfers sum to debits {} credits {} in {n}",
                                record.debits,
                                record.credits,
                                record.n_transfers,
                                Fen(debits),
                                Fen(credits)
                            ),
                        });
                    }
                }
                None => check.found(LedgerProblem {
                    kind: "account_unused",
                    seq: None,
                    account: Some(record.code.clone()),
                    detail: format!(
                        "cached debits {} credits {} but no transfer names it",
                        record.debits, record.credits
                    ),
                }),
            }
        }
        for code in sums.keys() {
            check.found(LedgerProblem {
                kind: "account_missing",
                seq: None,
                account: Some(code.clone()),
                detail: "transfers name it but it has no cached totals".into(),
            });
        }
        if check.debits != check.credits || check.debits != check.transfers_total {
            check.found(LedgerProblem {
                kind: "unbalanced",
                seq: None,
                account: None,
                detail: format!(
                    "Σ debits {} Σ credits {} Σ transfers {}",
                    check.debits, check.credits, check.transfers_total
                ),
            });
        }
        let unposted = self.store.fees_unposted(PROBLEMS_LISTED_MAX as u32).await?;
        for fee in unposted {
            check.found(LedgerProblem {
                kind: "fee_unposted",
                seq: None,
                account: None,
                detail: format!("fee {} of parcel {}", fee.id, fee.fee.parcel_id),
            });
        }
        Ok(check)
    }

    /// Posts one batch of fees accrued before the ledger existed (at most
    /// `batch`, oldest first) in one transaction; returns how many were
    /// posted. [`App::backfill_ledger`] runs batches until none is left.
    pub async fn backfill_ledger_step(&self, batch: u32) -> AppResult<u64> {
        Ok(self.backfill_batch(batch).await?.2)
    }

    /// (first fee id read, fees read, transfers posted).
    async fn backfill_batch(&self, batch: u32) -> AppResult<(Option<i64>, usize, u64)> {
        let fees = self.store.fees_unposted(batch.max(1)).await?;
        if fees.is_empty() {
            return Ok((None, 0, 0));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut posted = 0;
        for fee in &fees {
            if !ledger::post(&mut *tx, &ledger::fee_transfer(&fee.fee), now)
                .await?
                .repeat
            {
                posted += 1;
            }
        }
        tx.commit().await?;
        Ok((fees.first().map(|f| f.id), fees.len(), posted))
    }

    /// Posts every fee accrued before the ledger existed, a batch per
    /// transaction: interrupted, the next start goes on where it stopped,
    /// and two processes starting at once post each fee once (a fee's
    /// transfer id is its parcel's, and posting is idempotent).
    pub async fn backfill_ledger(&self) -> AppResult<u64> {
        let mut total = 0;
        let mut stuck_at = None;
        loop {
            let (first, read, posted) = self.backfill_batch(BACKFILL_BATCH).await?;
            if read == 0 {
                return Ok(total);
            }
            if posted == 0 {
                // Another process posted them meanwhile, once; twice the
                // same batch means the query and the posting disagree.
                if stuck_at == first {
                    return Err(AppError::Internal(format!(
                        "fees from {first:?} read as unposted have their transfers already"
                    )));
                }
                stuck_at = first;
            } else {
                stuck_at = None;
            }
            total += posted;
        }
    }
}
