//! Receivables and the arrears ledger (欠费台账, issue 15, point 3). Every
//! issued statement is an invoice due on its due day, dated by the debtor's
//! payment terms (资金缴纳时限); what is still owed on it (its net — issued
//! less resolved disputes; nothing is written off yet) is aged per debtor
//! in Shanghai days (`domain::finance::age`). Each debtor has a responsible
//! person (明确欠费收缴责任人: a county staff user and the phone they are
//! reached on) and the history of contacts and promises made to pay.
//! Changing a debtor's terms is audited in the change's transaction.

use super::{must_keep_books, must_read_books};
use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::ledger::{ContactRecord, DebtorTerms, Responsible};
use crate::ports::ledger::{NewDebtorTerms, StatementRecord};
use chrono::NaiveDate;
use domain::finance::{Ageing, Bucket, ContactChannel};
use domain::{Carrier, Fen, Principal, Role};
use serde::{Deserialize, Serialize};

/// Most statements aged at once (a county has a handful of carriers; this
/// is years of monthly statements).
const STATEMENTS_AGED_MAX: u32 = 5_000;
/// Most contacts a debtor's page shows.
const CONTACTS_SHOWN_MAX: u32 = 200;

/// One row of the arrears ledger: what a debtor owes by age, who is
/// chasing it, and the last word from the debtor.
#[derive(Debug, Clone, Serialize)]
pub struct DebtorRow {
    #[serde(flatten)]
    pub ageing: Ageing,
    /// The debtor's terms; `None` until finance sets them (default payment
    /// terms, nobody responsible).
    pub terms: Option<DebtorTerms>,
    /// The latest contact, if any.
    pub last_contact: Option<ContactRecord>,
}

impl DebtorRow {
    pub fn responsible(&self) -> Option<&Responsible> {
        self.terms.as_ref().and_then(|t| t.responsible.as_ref())
    }

    pub fn payment_days(&self) -> u32 {
        payment_days_of(self.terms.as_ref())
    }
}

fn payment_days_of(terms: Option<&DebtorTerms>) -> u32 {
    terms.map_or(domain::finance::PAYMENT_DAYS_DEFAULT, |t| t.payment_days)
}

/// A debtor's page: its ageing, terms, open invoices and contact history.
#[derive(Debug, Clone, Serialize)]
pub struct DebtorView {
    pub row: DebtorRow,
    /// Its statements still owed on (net above zero), oldest due first,
    /// each with its bucket today.
    pub invoices: Vec<(StatementRecord, Bucket)>,
    /// Newest first.
    pub contacts: Vec<ContactRecord>,
}

/// New terms for a debtor.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TermsRequest {
    /// The responsible person's username; `None` leaves nobody responsible.
    pub responsible: Option<String>,
    /// The phone the responsible person is reached on (a mobile number).
    pub phone: Option<String>,
    pub payment_days: u32,
}

/// A contact with a debtor, as logged.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// The person reached at the debtor.
    pub contacted: String,
    pub channel: ContactChannel,
    /// What was said.
    pub note: String,
    /// A promise to pay this much by `promised_by`; both or neither.
    pub promised: Option<Fen>,
    pub promised_by: Option<NaiveDate>,
}

impl App {
    /// Each debtor's open invoices by how overdue they are today (Shanghai
    /// days), the largest debtor first: finance staff and the auditor.
    pub async fn arrears_ageing(&self, principal: &Principal) -> AppResult<Vec<Ageing>> {
        must_read_books(principal)?;
        let statements = self.store.statements(None, STATEMENTS_AGED_MAX).await?;
        Ok(domain::finance::age(
            statements.iter().map(|s| (s.carrier, s.net, s.due_day)),
            self.today(),
        ))
    }

    /// The arrears ledger (欠费台账): each debtor owing something, the
    /// largest first, with its responsible person and latest contact.
    pub async fn arrears_ledger(&self, principal: &Principal) -> AppResult<Vec<DebtorRow>> {
        let ageing = self.arrears_ageing(principal).await?;
        let terms = self.store.debtor_terms_all().await?;
        let mut rows = Vec::with_capacity(ageing.len());
        for ageing in ageing {
            let last_contact = self
                .store
                .debtor_contacts(ageing.carrier, 1)
                .await?
                .into_iter()
                .next();
            rows.push(DebtorRow {
                terms: terms.iter().find(|t| t.carrier == ageing.carrier).cloned(),
                ageing,
                last_contact,
            });
        }
        Ok(rows)
    }

    /// One debtor's page, owing or not: finance staff and the auditor.
    pub async fn debtor(&self, principal: &Principal, carrier: Carrier) -> AppResult<DebtorView> {
        must_read_books(principal)?;
        let today = self.today();
        let statements = self
            .store
            .statements(Some(carrier), STATEMENTS_AGED_MAX)
            .await?;
        let mut ageing = Ageing::new(carrier);
        let mut invoices = Vec::new();
        for s in statements {
            if s.net.0 > 0 {
                ageing.add(s.net, s.due_day, today);
                let bucket = Bucket::of(s.due_day, today);
                invoices.push((s, bucket));
            }
        }
        invoices.sort_by_key(|(s, _)| (s.due_day, s.id));
        let terms = self
            .store
            .debtor_terms_all()
            .await?
            .into_iter()
            .find(|t| t.carrier == carrier);
        let contacts = self
            .store
            .debtor_contacts(carrier, CONTACTS_SHOWN_MAX)
            .await?;
        Ok(DebtorView {
            row: DebtorRow {
                ageing,
                terms,
                last_contact: contacts.first().cloned(),
            },
            invoices,
            contacts,
        })
    }

    /// Sets a debtor's responsible person and payment terms: county staff
    /// and the administrator. The person must be an enabled county staff or
    /// administrator account. Audited (`debtor_terms_set`) with the terms
    /// before and after, in the change's transaction. New statements are
    /// due by the new terms; issued ones keep their due day.
    pub async fn set_debtor_terms(
        &self,
        principal: &Principal,
        carrier: Carrier,
        request: &TermsRequest,
    ) -> AppResult<DebtorTerms> {
        must_keep_books(principal)?;
        if request.payment_days > domain::finance::PAYMENT_DAYS_MAX {
            return Err(AppError::new(Code::PaymentDaysInvalid)
                .with("max", domain::finance::PAYMENT_DAYS_MAX));
        }
        let responsible = match request.responsible.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(username) => {
                let refused = || AppError::new(Code::ResponsibleInvalid).with("username", username);
                let user = self
                    .store
                    .user_by_name(username)
                    .await?
                    .ok_or_else(refused)?;
                let staff = matches!(user.role, Role::Admin | Role::CountyOperator);
                if !staff || user.disabled_at.is_some() {
                    return Err(refused());
                }
                Some(user)
            }
        };
        let phone = match request.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match domain::Phone::parse(text) {
                Ok(phone) if phone.is_reachable() => Some(phone),
                _ => return Err(AppError::new(Code::ResponsiblePhoneInvalid)),
            },
        };
        if phone.is_some() && responsible.is_none() {
            // A phone belongs to the responsible person; alone it names
            // nobody to call.
            return Err(AppError::new(Code::ResponsibleInvalid).with("username", "-"));
        }
        let now = self.now();
        let new = NewDebtorTerms {
            carrier,
            responsible_user_id: responsible.as_ref().map(|u| u.id),
            responsible_phone: phone.as_ref().map(|p| p.full()),
            payment_days: request.payment_days,
            updated_at_ms: now.timestamp_millis(),
            updated_by: principal.username.clone(),
        };
        let mut tx = self.store.begin().await?;
        let before = tx.debtor_terms_in(carrier).await?;
        tx.put_debtor_terms(&new).await?;
        let after = tx
            .debtor_terms_in(carrier)
            .await?
            .ok_or_else(|| AppError::Internal("debtor terms not read back".into()))?;
        let describe = |terms: Option<&DebtorTerms>| {
            serde_json::json!({
                "responsible": terms.and_then(|t| t.responsible.as_ref()).map(|r| r.username.clone()),
                "phone": terms.and_then(|t| t.responsible.as_ref()).and_then(|r| r.phone.as_ref()).map(|p| p.masked()),
                "payment_days": payment_days_of(terms),
            })
        };
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::DebtorTermsSet,
            Object::county("debtor"),
            serde_json::json!({
                "carrier": carrier.code(),
                "before": describe(before.as_ref()),
                "after": describe(Some(&after)),
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            carrier = carrier.code(),
            payment_days = after.payment_days,
            "debtor terms set"
        );
        Ok(after)
    }

    /// Logs a contact with a debtor (who called whom, how, what was said,
    /// what was promised by when): county staff and the administrator. The
    /// history is append-only.
    pub async fn log_debtor_contact(
        &self,
        principal: &Principal,
        carrier: Carrier,
        request: &ContactRequest,
    ) -> AppResult<ContactRecord> {
        must_keep_books(principal)?;
        let invalid =
            |detail: &str| AppError::new(Code::ContactInvalid).with("detail", detail.to_string());
        let promise = match (request.promised, request.promised_by) {
            (Some(amount), Some(by)) => Some((amount, by)),
            (None, None) => None,
            _ => return Err(invalid("a promise names both an amount and a day")),
        };
        domain::finance::check_contact(&request.contacted, &request.note, promise, self.today())
            .map_err(|problem| invalid(problem.detail()))?;
        let mut contact = ContactRecord {
            id: 0,
            carrier,
            at_ms: self.now().timestamp_millis(),
            by: principal.username.clone(),
            contacted: request.contacted.trim().to_string(),
            channel: request.channel,
            note: request.note.trim().to_string(),
            promised: request.promised,
            promised_by: request.promised_by,
        };
        let mut tx = self.store.begin().await?;
        contact.id = tx.insert_debtor_contact(&contact).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// The payment terms a new statement of `carrier` is due by.
    pub(super) async fn payment_days_for(&self, carrier: Carrier) -> AppResult<u32> {
        let terms = self.store.debtor_terms_all().await?;
        Ok(payment_days_of(terms.iter().find(|t| t.carrier == carrier)))
    }
}
