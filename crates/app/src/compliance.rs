//! Compliance checks as code (issue 12, point 6): the catalogue of
//! `domain::compliance` run against the store, daily by `serve`'s job and on
//! demand (`yizhan compliance run`, the officer's button). Each breach
//! becomes a finding with its evidence, the person responsible (the rule's
//! owner role at the station) and a due date; a breach already found and
//! not yet fixed is seen again, not found twice. The compliance officer
//! assigns, records explanations, closes and escalates; the auditor reads.
//! Runs and finding changes are audited acts.

use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::ports::compliance::{FindingEvent, FindingRecord, NewFinding};
use chrono::Duration;
use domain::Principal;
use domain::compliance::{FindingStatus, Rule, Thresholds};
use serde::Serialize;

pub use crate::ports::compliance::{FindingEvent as FindingHistoryEntry, FindingRecord as Finding};

/// Most characters of a note on a finding.
pub const FINDING_NOTE_CHARS_MAX: usize = 500;

/// Most findings one list shows.
pub const FINDINGS_LIST_MAX: u32 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome {
    pub rule: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub owner: &'static str,
    /// Breaches the rule's query saw now.
    pub seen: usize,
    /// Of those, new findings (the rest were already open).
    pub new: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComplianceRun {
    pub rules: Vec<RuleOutcome>,
    pub new_findings: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingDetail {
    pub finding: FindingRecord,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub owner: &'static str,
    pub history: Vec<FindingEvent>,
}

/// What the officer changes on a finding; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct FindingUpdate {
    pub status: Option<FindingStatus>,
    /// Username of the person who answers for it now.
    pub responsible: Option<String>,
    pub note: Option<String>,
}

impl App {
    /// Runs every rule now and stores what it finds.
    pub async fn run_compliance(&self, principal: &Principal) -> AppResult<ComplianceRun> {
        if !principal.may_manage_findings() {
            return Err(AppError::Forbidden("compliance checks"));
        }
        let thresholds = Thresholds::default();
        let now = self.now();
        let mut outcomes = Vec::new();
        let mut new_total = 0;
        for rule in Rule::ALL {
            let candidates = self.store.rule_candidates(rule, now, &thresholds).await?;
            let mut new = 0;
            for candidate in &candidates {
                let responsible = match candidate.user_id {
                    Some(user_id) => Some(user_id),
                    None => {
                        self.store
                            .responsible_for(rule.owner(), candidate.station_id)
                            .await?
                    }
                };
                let evidence = candidate.evidence.to_string();
                let mut tx = self.store.begin().await?;
                match tx.unfixed_finding(rule, &candidate.subject).await? {
                    Some(finding_id) => tx.touch_finding(finding_id, &evidence, now).await?,
                    None => {
                        let finding_id = tx
                            .insert_finding(&NewFinding {
                                rule,
                                subject: candidate.subject.clone(),
                                station_id: candidate.station_id,
                                evidence,
                                responsible_user_id: responsible,
                                due_at: now + Duration::days(rule.due_days()),
                                found_at: now,
                            })
                            .await?;
                        tx.insert_finding_event(
                            finding_id,
                            &FindingEvent {
                                at: now,
                                actor: principal.username.clone(),
                                status: FindingStatus::Open,
                                responsible_user_id: responsible,
                                note: None,
                            },
                        )
                        .await?;
                        new += 1;
                    }
                }
                tx.commit().await?;
            }
            new_total += new;
            outcomes.push(RuleOutcome {
                rule: rule.code(),
                title_zh: rule.title_zh(),
                title_en: rule.title_en(),
                owner: rule.owner().code(),
                seen: candidates.len(),
                new,
            });
        }
        audit::record_alone(
            &*self.store,
            &Actor::of(principal),
            now,
            Act::ComplianceRun,
            Object::county("compliance"),
            serde_json::json!({
                "new_findings": new_total,
                "seen": outcomes.iter().map(|o| o.seen).sum::<usize>(),
            }),
        )
        .await?;
        tracing::info!(new_findings = new_total, user = %principal.username, "compliance checks run");
        Ok(ComplianceRun {
            rules: outcomes,
            new_findings: new_total,
        })
    }

    /// Findings, oldest first; `status` narrows.
    pub async fn findings(
        &self,
        principal: &Principal,
        status: Option<FindingStatus>,
    ) -> AppResult<Vec<FindingRecord>> {
        if !principal.may_read_findings() {
            return Err(AppError::Forbidden("compliance findings"));
        }
        Ok(self.store.findings(status, FINDINGS_LIST_MAX).await?)
    }

    pub async fn finding(
        &self,
        principal: &Principal,
        finding_id: i64,
    ) -> AppResult<FindingDetail> {
        if !principal.may_read_findings() {
            return Err(AppError::Forbidden("compliance findings"));
        }
        let finding = self
            .store
            .finding(finding_id)
            .await?
            .ok_or(AppError::NotFound("compliance finding"))?;
        let rule = Rule::parse(&finding.rule)
            .ok_or_else(|| AppError::Internal(format!("stored rule {:?}", finding.rule)))?;
        Ok(FindingDetail {
            history: self.store.finding_history(finding_id).await?,
            finding,
            title_zh: rule.title_zh(),
            title_en: rule.title_en(),
            owner: rule.owner().code(),
        })
    }

    /// The officer assigns, explains, closes or escalates a finding; each
    /// change is a line of its history and a row of the audit trail.
    pub async fn update_finding(
        &self,
        principal: &Principal,
        finding_id: i64,
        update: FindingUpdate,
    ) -> AppResult<FindingDetail> {
        if !principal.may_manage_findings() {
            return Err(AppError::Forbidden("compliance findings"));
        }
        let note = match update.note.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(note) => Some(
                domain::limits::text_field("note", note, FINDING_NOTE_CHARS_MAX)
                    .map_err(crate::error::text_invalid("note", FINDING_NOTE_CHARS_MAX))?
                    .to_string(),
            ),
        };
        let finding = self
            .store
            .finding(finding_id)
            .await?
            .ok_or(AppError::NotFound("compliance finding"))?;
        let responsible = match update.responsible.as_deref().map(str::trim) {
            Some("") | None => finding.responsible_user_id,
            Some(username) => Some(
                self.store
                    .user_by_name(username)
                    .await?
                    .ok_or_else(|| {
                        AppError::new(Code::FindingAssigneeUnknown).with("username", username)
                    })?
                    .id,
            ),
        };
        let status = update.status.unwrap_or(finding.status);
        if finding.status.is_closed() {
            return Err(AppError::new(Code::FindingClosed));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.set_finding(finding_id, status, responsible, now).await?;
        tx.insert_finding_event(
            finding_id,
            &FindingEvent {
                at: now,
                actor: principal.username.clone(),
                status,
                responsible_user_id: responsible,
                note: note.clone(),
            },
        )
        .await?;
        // The note is free text: its length goes to the trail, not the text.
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::FindingUpdated,
            Object::new("finding", finding_id).at(finding.station_id),
            serde_json::json!({
                "status": status.code(),
                "responsible": responsible,
                "note_chars": note.as_ref().map(|n| n.chars().count()),
            }),
        )
        .await?;
        tx.commit().await?;
        self.finding(principal, finding_id).await
    }
}
