//! Use cases. Each opens one transaction, locks the rows it decides on, calls the domain
//! rules, persists, and writes the audit event — so a failed request leaves nothing behind.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod cancellation;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod checkout_summary;
pub mod collection;
pub mod dunning;
pub mod engine;
pub mod events;
pub mod idempotency;
pub mod input;
pub mod invoice_pay;
pub mod invoice_payments;
pub mod jobs;
pub mod licenses;
pub mod me;
pub mod numbering;
pub mod orders;
pub mod purchase_orders;
pub mod quotes;
pub mod renewals;
pub mod rules;
pub mod subscriptions;
pub mod test_clocks;
pub mod users;

use crate::auth::Principal;

/// Who is acting, and in which request: every mutation records both in its audit event.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    /// The time of the request, read once from the application's clock: every row and event
    /// the request writes carries it.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Caller {
    /// The calendar date (UTC) of this request's "now": every rule of the request uses it.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now.date_naive()
    }
}
