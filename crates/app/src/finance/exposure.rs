//! Exposure control (issue 15 point 5; branch `money2`, session 10). Each
//! carrier may have a credit limit and a rule. A carrier whose exposure —
//! its receivable less its credit, read from the ledger — passes its limit,
//! or that owes on an invoice more than 90 days overdue, gets an *incident*:
//! its alerts go to the debtor's responsible person and the county manager
//! once (outbox dedup key `exposure:<incident>:<who>`), and when the rule
//! says hold, new manifests from the carrier are refused (`carrier_held`;
//! decided: refused rather than parked, so nothing waits unseen and the
//! carrier's system sends the same manifest again after the release) until
//! finance releases it. Parcels already announced or in the county are never
//! held: only `write_announcements` reads the hold. The incident is cleared
//! when the carrier is back within its terms; a later breach opens a new
//! one. Held and released are audited (`carrier_held`, `carrier_released`),
//! like changing a rule (`credit_limit_set`).

use super::{must_keep_books, must_read_books};
use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::ports::OutboxMessage;
pub use crate::ports::claims::{CreditRule, IncidentRecord};
use domain::ledger::Account;
use domain::{Carrier, Fen, Principal};
use serde::{Deserialize, Serialize};

/// Most statements aged for exposure.
const STATEMENTS_MAX: u32 = 5_000;
/// The message template (`notify::render`).
pub const TEMPLATE_EXPOSURE_ALERT: &str = "exposure_alert";

/// A rule as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreditRequest {
    /// `None`: no limit.
    pub limit: Option<Fen>,
    #[serde(default)]
    pub hold: bool,
}

/// A carrier's exposure now, with its rule and open incident.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureRow {
    pub carrier: Carrier,
    /// Receivable less credit.
    pub exposure: Fen,
    pub over_90: Fen,
    pub rule: Option<CreditRule>,
    pub incident: Option<IncidentRecord>,
}

impl ExposureRow {
    /// Past the limit or owing over 90 days.
    pub fn breached(&self) -> bool {
        let past_limit = self
            .rule
            .as_ref()
            .and_then(|r| r.limit)
            .is_some_and(|limit| self.exposure > limit);
        past_limit || self.over_90.0 > 0
    }
}

/// What one exposure check did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExposureRun {
    pub opened: u32,
    pub held: u32,
    pub cleared: u32,
    pub alerts: u32,
}

impl App {
    /// Every carrier's exposure with its rule and open incident: finance
    /// staff and the auditor.
    pub async fn exposure(&self, principal: &Principal) -> AppResult<Vec<ExposureRow>> {
        must_read_books(principal)?;
        self.exposure_rows().await
    }

    /// One carrier's exposure, limit, rule and whether it is held: finance,
    /// and that carrier's own staff (the portal); another carrier's are
    /// refused.
    pub async fn carrier_exposure(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<ExposureRow> {
        let own =
            principal.role == domain::Role::CarrierIntegrator && principal.carrier == Some(carrier);
        if !principal.may_read_books() && !own {
            return Err(AppError::Forbidden("ledger"));
        }
        self.exposure_rows()
            .await?
            .into_iter()
            .find(|r| r.carrier == carrier)
            .ok_or_else(|| AppError::Internal("a carrier without a row".into()))
    }

    async fn exposure_rows(&self) -> AppResult<Vec<ExposureRow>> {
        let today = self.today();
        let ageing = domain::finance::age(
            self.store
                .statements(None, STATEMENTS_MAX)
                .await?
                .iter()
                .map(|s| (s.carrier, s.net, s.due_day)),
            today,
        );
        let rules = self.store.credit_rules().await?;
        let incidents = self.store.open_exposure_incidents().await?;
        let accounts = self.store.ledger_accounts().await?;
        let balance = |account: Account| {
            accounts
                .iter()
                .find(|a| a.account == account)
                .map_or(0, |a| a.balance.0)
        };
        Ok(Carrier::ALL
            .iter()
            .map(|&carrier| ExposureRow {
                carrier,
                exposure: Fen(
                    balance(Account::receivable(carrier)) - balance(Account::credit_of(carrier))
                ),
                over_90: ageing
                    .iter()
                    .find(|a| a.carrier == carrier)
                    .map_or(Fen(0), |a| a.bucket(domain::finance::Bucket::Over90)),
                rule: rules.iter().find(|r| r.carrier == carrier).cloned(),
                incident: incidents.iter().find(|i| i.carrier == carrier).cloned(),
            })
            .collect())
    }

    /// Sets a carrier's credit limit and rule: county staff and the
    /// administrator. Audited `credit_limit_set`.
    pub async fn set_credit_limit(
        &self,
        principal: &Principal,
        carrier: Carrier,
        request: &CreditRequest,
    ) -> AppResult<CreditRule> {
        must_keep_books(principal)?;
        if let Some(limit) = request.limit
            && (limit.0 < 0 || limit > domain::ledger::AMOUNT_MAX)
        {
            return Err(AppError::new(Code::CreditLimitInvalid));
        }
        let now = self.now();
        let rule = CreditRule {
            carrier,
            limit: request.limit,
            hold: request.hold,
            updated_at_ms: now.timestamp_millis(),
            updated_by: principal.username.clone(),
        };
        let mut tx = self.store.begin().await?;
        let before = tx.credit_rule_in(carrier).await?;
        tx.put_credit_rule(&rule).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::CreditLimitSet,
            Object::county("credit_limit"),
            serde_json::json!({
                "carrier": carrier.code(),
                "before": before.as_ref().map(|r| serde_json::json!({"limit_fen": r.limit.map(|f| f.0), "hold": r.hold})),
                "after": {"limit_fen": rule.limit.map(|f| f.0), "hold": rule.hold},
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Opens, holds and clears incidents from every carrier's exposure now:
    /// county staff, the administrator and the system's hourly job. A new
    /// incident's alerts are written once; a hold is audited.
    pub async fn check_exposure(&self, principal: &Principal) -> AppResult<ExposureRun> {
        must_keep_books(principal)?;
        let rows = self.exposure_rows().await?;
        let terms = self.store.debtor_terms_all().await?;
        let now = self.now();
        let mut run = ExposureRun::default();
        for row in rows {
            let breached = row.breached();
            if !breached && row.incident.is_none() {
                continue;
            }
            let hold_rule = row.rule.as_ref().is_some_and(|r| r.hold);
            let mut tx = self.store.begin().await?;
            let open = tx.open_exposure_incident_in(row.carrier).await?;
            let mut held_now = None;
            match open {
                Some(mut incident) if !breached => {
                    incident.cleared_at_ms = Some(now.timestamp_millis());
                    tx.update_exposure_incident(&incident).await?;
                    run.cleared += 1;
                }
                // The rule turned to hold after the incident opened.
                Some(mut incident)
                    if hold_rule && !incident.held && incident.released_at_ms.is_none() =>
                {
                    incident.held = true;
                    tx.update_exposure_incident(&incident).await?;
                    held_now = Some(incident);
                }
                Some(_) => {}
                None if breached => {
                    let mut incident = IncidentRecord {
                        id: 0,
                        carrier: row.carrier,
                        exposure: row.exposure,
                        over_90: row.over_90,
                        limit: row.rule.as_ref().and_then(|r| r.limit),
                        held: hold_rule,
                        opened_at_ms: now.timestamp_millis(),
                        released_at_ms: None,
                        released_by: None,
                        cleared_at_ms: None,
                    };
                    if let Some(id) = tx.insert_exposure_incident(&incident).await? {
                        incident.id = id;
                        run.opened += 1;
                        let responsible = terms
                            .iter()
                            .find(|t| t.carrier == row.carrier)
                            .and_then(|t| t.responsible.as_ref())
                            .and_then(|r| r.phone.as_ref())
                            .map(|p| ("responsible", p.full()));
                        let manager = self
                            .settings
                            .county_manager_phone
                            .clone()
                            .map(|p| ("manager", p));
                        for (who, phone) in responsible.into_iter().chain(manager) {
                            let written = tx
                                .enqueue(
                                    &OutboxMessage {
                                        topic: crate::effects::notices::TOPIC_SMS.into(),
                                        dedup_key: format!("exposure:{id}:{who}"),
                                        merge_key: None,
                                        payload: serde_json::json!({
                                            "template": TEMPLATE_EXPOSURE_ALERT,
                                            "to": phone,
                                            "carrier": row.carrier.code(),
                                            "carrier_zh": row.carrier.name_zh(),
                                            "exposure": row.exposure.to_string(),
                                            "over_90": row.over_90.to_string(),
                                            "limit": incident.limit.map(|l| l.to_string()),
                                            "held": incident.held,
                                        }),
                                        available_at: now,
                                    },
                                    now,
                                )
                                .await?;
                            if written {
                                run.alerts += 1;
                            }
                        }
                        if incident.held {
                            held_now = Some(incident);
                        }
                    }
                }
                None => {}
            }
            if let Some(incident) = held_now {
                run.held += 1;
                audit::record(
                    &mut *tx,
                    &Actor::of(principal),
                    now,
                    Act::CarrierHeld,
                    Object::new("exposure_incident", incident.id),
                    serde_json::json!({
                        "carrier": incident.carrier.code(),
                        "exposure_fen": row.exposure.0,
                        "over_90_fen": row.over_90.0,
                        "limit_fen": incident.limit.map(|l| l.0),
                    }),
                )
                .await?;
            }
            tx.commit().await?;
        }
        if run != ExposureRun::default() {
            tracing::info!(
                opened = run.opened,
                held = run.held,
                cleared = run.cleared,
                "exposure checked"
            );
        }
        Ok(run)
    }

    /// Releases a held carrier: its new manifests are accepted again while
    /// the incident stays open until the debt is back within terms. County
    /// staff and the administrator; audited `carrier_released`.
    pub async fn release_carrier(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<IncidentRecord> {
        must_keep_books(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut incident = match tx.open_exposure_incident_in(carrier).await? {
            Some(incident) if incident.holds() => incident,
            _ => {
                return Err(AppError::new(Code::CarrierNotHeld).with_words(
                    "carrier",
                    carrier.name_zh(),
                    carrier.code(),
                ));
            }
        };
        incident.released_at_ms = Some(now.timestamp_millis());
        incident.released_by = Some(principal.username.clone());
        tx.update_exposure_incident(&incident).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::CarrierReleased,
            Object::new("exposure_incident", incident.id),
            serde_json::json!({
                "carrier": carrier.code(),
                "opened_at_ms": incident.opened_at_ms,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = carrier.code(), "carrier released");
        Ok(incident)
    }
}
