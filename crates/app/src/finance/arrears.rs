//! Receivables and arrears (欠费台账, issue 15, point 3), first cut: every
//! issued statement is an invoice due on its due day; what is still owed on
//! it (its net — issued less resolved disputes; nothing is written off yet)
//! is aged per debtor in Shanghai days (`domain::finance::age`).

use super::must_read_books;
use crate::App;
use crate::error::AppResult;
use domain::Principal;
use domain::finance::Ageing;

/// Most statements aged at once (a county has a handful of carriers; this
/// is years of monthly statements).
const STATEMENTS_AGED_MAX: u32 = 5_000;

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
}
