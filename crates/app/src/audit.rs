//! The audit trail's one writer (shared layer: any use case calls
//! [`record`]; it names none). A row is appended inside the transaction of
//! the act it records, so the act and its record commit or fail together;
//! the chain is serialised by `AuditTx::lock_audit_head` and hashed by
//! `domain::audit::chain`. Details hold ids, counts and masked phones only:
//! [`record`] refuses anything that looks like a whole mobile number,
//! because this table can never be edited and retention could not erase it.
//!
//! Reading the trail, verifying it and its head are `App` methods here too,
//! for those who may read it (`Principal::may_read_audit`).

use crate::error::{AppError, AppResult, Code};
use crate::ports::audit::AuditFilter;
use crate::ports::prelude::*;
use crate::{App, paging};
use chrono::{DateTime, Utc};
use domain::Principal;
pub use domain::audit::{Act, AuditRow, Break, BreakReason};
use serde::Serialize;

/// Who did it, as the trail names them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub role: String,
}

impl Actor {
    pub fn of(principal: &Principal) -> Actor {
        Actor {
            // The command line and the background jobs act as user 0.
            user_id: (principal.user_id > 0).then_some(principal.user_id),
            name: principal.username.clone(),
            role: principal.role.code().to_string(),
        }
    }

    /// The command line or a background job, by name.
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_string(),
            role: "system".to_string(),
        }
    }
}

/// What an act was done to: a kind (`parcel`, `user`, `station`, …) and its
/// id when it has one.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    pub kind: &'static str,
    pub id: Option<i64>,
    /// The station the act concerns; `None` for county-wide acts.
    pub station_id: Option<i64>,
}

impl Object {
    pub fn new(kind: &'static str, id: i64) -> Object {
        Object {
            kind,
            id: Some(id),
            station_id: None,
        }
    }

    pub fn at(mut self, station_id: Option<i64>) -> Object {
        self.station_id = station_id;
        self
    }

    pub fn county(kind: &'static str) -> Object {
        Object {
            kind,
            id: None,
            station_id: None,
        }
    }
}

/// True when `text` holds a run of exactly eleven digits starting with 1 —
/// the shape of a mainland mobile number.
fn holds_whole_mobile(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 11 && bytes[start] == b'1' {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// Appends one row for `act` inside `tx`. Call it after the act's own
/// writes and before the commit.
pub async fn record(
    tx: &mut dyn Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    act: Act,
    object: Object,
    details: serde_json::Value,
) -> AppResult<()> {
    let details = details.to_string();
    if details.chars().count() > domain::audit::DETAILS_CHARS_MAX {
        // A programming error, never the caller's: the act is refused
        // rather than recorded cut short.
        return Err(AppError::Internal(format!(
            "audit details for {} are too long",
            act.code()
        )));
    }
    // The act is refused rather than its record holding personal data
    // forever (a username that is a phone number, say).
    if holds_whole_mobile(&details) || holds_whole_mobile(&actor.name) {
        return Err(AppError::new(Code::AuditPersonalData));
    }
    let head = tx.lock_audit_head().await?;
    let row = domain::audit::chain(
        head.as_ref().map(|(seq, hash)| (*seq, hash.as_str())),
        AuditRow {
            seq: 0,
            at_ms: now.timestamp_millis(),
            actor_user_id: actor.user_id,
            actor: actor.name.clone(),
            actor_role: actor.role.clone(),
            act: act.code().to_string(),
            object_kind: object.kind.to_string(),
            object_id: object.id,
            station_id: object.station_id,
            details,
            prev_hash: String::new(),
            hash: String::new(),
        },
    );
    tx.insert_audit(&row).await?;
    Ok(())
}

/// Appends one row in a transaction of its own. For reads that leave the
/// system (a whole phone, an export) this is the act itself: the row
/// commits before the answer is returned, so no record means no data. Runs
/// that span many transactions (retention, compliance, dispatch) append
/// their summary with it when they finish. A change to stored data never
/// uses it: its row goes into the change's own transaction (`record`).
pub async fn record_alone(
    store: &dyn Store,
    actor: &Actor,
    now: DateTime<Utc>,
    act: Act,
    object: Object,
    details: serde_json::Value,
) -> AppResult<()> {
    let mut tx = store.begin().await?;
    record(&mut *tx, actor, now, act, object, details).await?;
    tx.commit().await?;
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub count: u64,
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// The first row that breaks the chain, if any.
    pub broken: Option<Break>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Rows read per page while verifying.
const VERIFY_PAGE: u32 = 1_000;

impl App {
    fn must_read_audit(&self, principal: &Principal) -> AppResult<()> {
        if principal.may_read_audit() {
            Ok(())
        } else {
            Err(AppError::Forbidden("audit trail"))
        }
    }

    /// Walks the whole chain from the first row, page by page.
    pub async fn verify_audit(&self, principal: &Principal) -> AppResult<VerifyReport> {
        self.must_read_audit(principal)?;
        let mut verifier = domain::audit::Verifier::default();
        let mut after = 0;
        loop {
            let rows = self.store.audit_rows_after(after, VERIFY_PAGE).await?;
            for row in &rows {
                verifier.feed(row);
            }
            match rows.last() {
                Some(last) if rows.len() == VERIFY_PAGE as usize => after = last.seq,
                _ => break,
            }
        }
        Ok(VerifyReport {
            count: verifier.count,
            head_seq: verifier.head.as_ref().map(|(seq, _)| *seq),
            head_hash: verifier.head.map(|(_, hash)| hash),
            broken: verifier.broken,
        })
    }

    /// The last row (sequence and hash): what the daily figures print.
    pub async fn audit_head(&self, principal: &Principal) -> AppResult<Option<AuditRow>> {
        self.must_read_audit(principal)?;
        Ok(self.store.audit_head().await?)
    }

    /// Rows newest first, filtered.
    pub async fn audit_trail(
        &self,
        principal: &Principal,
        mut filter: AuditFilter,
    ) -> AppResult<Vec<AuditRow>> {
        self.must_read_audit(principal)?;
        filter.limit = paging::page_size(Some(filter.limit))?;
        if let Some(act) = &filter.act
            && Act::parse(act).is_none()
        {
            return Err(AppError::new(Code::AuditActUnknown).with("act", act.clone()));
        }
        Ok(self.store.audit_search(&filter).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_mobiles_are_spotted_and_masked_ones_and_ids_are_not() {
        assert!(super::holds_whole_mobile("{\"phone\":\"13800138000\"}"));
        assert!(!super::holds_whole_mobile("{\"phone\":\"138****8000\"}"));
        assert!(!super::holds_whole_mobile(
            "{\"parcel\":42,\"n\":12345678901234}"
        ));
    }
}
