//! Use cases. Each opens one transaction, locks the rows it decides on, calls the domain
//! rules, persists, and writes the audit event — so a failed request leaves nothing behind.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod cancellation;
pub mod cart;
pub mod catalog;
pub mod change_requests;
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
pub mod notifications;
pub mod numbering;
pub mod orders;
pub mod purchase_orders;
pub mod quotes;
pub mod renewals;
pub mod rules;
pub mod subscription_view;
pub mod subscriptions;
pub mod test_clocks;
pub mod users;
pub mod webhooks;

use crate::auth::Principal;

/// Who is acting, and in which request: every mutation records both in its audit event.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    /// The request's `Idempotency-Key`, recorded on the events it writes.
    pub idempotency_key: Option<String>,
    /// `true` for what time does (jobs): its events name the actor `system`, with no role.
    pub system: bool,
    /// The time of the request, read once from the application's clock: every row and event
    /// the request writes carries it.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Caller {
    /// The actor of everything time does: `sub` "system". It acts with the whole tenant's
    /// reach; its events carry no role.
    pub fn system(request_id: String, now: chrono::DateTime<chrono::Utc>) -> Caller {
        Caller {
            principal: Principal {
                sub: "system".to_owned(),
                role: crate::auth::Role::Admin,
                account_id: None,
            },
            request_id,
            idempotency_key: None,
            system: true,
            now,
        }
    }

    /// The calendar date (UTC) of this request's "now": every rule of the request uses it.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now.date_naive()
    }
}
