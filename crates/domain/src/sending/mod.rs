//! Sending (寄件, issue 14): the pure rules behind the kiosk, the sender's
//! phone and the station terminal — real-name documents (`identity`), the
//! inspection catalogue (`inspection`), the tariff and its quote
//! (`tariff`), and an order's states, payer and payment callbacks
//! (`order`). No IO, no clock: days and evidence are arguments.

pub mod identity;
pub mod inspection;
pub mod order;
pub mod tariff;

pub use identity::{Document, DocumentError, DocumentKind};
pub use inspection::{Evidence, Need, Refusal};
pub use order::{OrderAction, OrderState, Payer, PaymentStatus, Platform};
pub use tariff::{Division, Quote, QuoteError, QuoteRequest, Tariff, TariffVersion};
