//! Step 7, **events**: what a placed order changed, in its transaction (SPEC §14) — one event
//! per subscription it changed, then `order.placed`, `invoice.created` and, for an invoice
//! paid at once, `invoice.paid`. Each carries the resource as the API shows it.
//!
//! The mail of the order (SPEC §16) rides on one of them: the order confirmation on
//! `order.placed` (for an order on terms it shows the invoice too: one mail, not two), a
//! corporate renewal's invoice on `invoice.created`, a self-service renewal's receipt on
//! `invoice.paid`, and the notice of an immediate cancellation on `subscription.canceled`.

use diesel_async::AsyncPgConnection;

use super::apply::Change;
use crate::db::models::{Invoice, Order};
use crate::domain::account::AccountKind;
use crate::domain::catalog::Catalog;
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;
use crate::domain::order::{InvoiceStatus, ItemKind};
use crate::error::ApiResult;
use crate::services::Caller;
use crate::services::audit::{self, Event, Notify, snapshot};
use crate::services::checkout_summary::LineView;
use crate::services::orders::build_invoice_view;
use crate::services::subscription_view;

/// The order's view (its response) and its invoice with the invoice's lines.
pub struct Documents<'a> {
    pub catalog: &'a Catalog,
    pub account_kind: AccountKind,
    pub order: &'a serde_json::Value,
    pub invoice: Invoice,
    pub lines: Vec<LineView>,
}

pub async fn order_placed(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    changes: &[Change],
    documents: Documents<'_>,
) -> ApiResult<()> {
    let today = caller.today();
    let object = |row: &crate::db::models::Subscription| {
        subscription_view::object(documents.catalog, documents.account_kind, row, today)
    };
    let renewal = changes.iter().any(|c| c.kind == ItemKind::Renewal);
    let ordinary = changes
        .iter()
        .any(|c| !matches!(c.kind, ItemKind::Renewal | ItemKind::Cancel));
    let corporate = documents.account_kind == AccountKind::Corporate;
    let mut events: Vec<Event<'_>> = Vec::with_capacity(changes.len() + 3);
    for change in changes {
        events.push(Event {
            account_id: Some(order.account_id),
            event_type: match (change.kind, &change.before) {
                (ItemKind::Renewal, _) => EventType::SubscriptionRenewed,
                (ItemKind::Cancel, _) => EventType::SubscriptionCanceled,
                (_, None) => EventType::SubscriptionCreated,
                (_, Some(_)) => EventType::SubscriptionUpdated,
            },
            subject_type: "subscription",
            subject_id: Some(change.after.id),
            before: match &change.before {
                Some(before) => object(before)?,
                None => None,
            },
            after: object(&change.after)?,
            reason: order.reason.as_deref(),
            notify: (change.kind == ItemKind::Cancel)
                .then(|| Notify::of(NotificationTemplate::SubscriptionCanceled, change.after.id)),
        });
    }
    events.push(Event {
        account_id: Some(order.account_id),
        event_type: EventType::OrderPlaced,
        subject_type: "order",
        subject_id: Some(order.id),
        before: None,
        after: Some(documents.order.clone()),
        reason: order.reason.as_deref(),
        notify: ordinary.then(|| Notify::of(NotificationTemplate::OrderConfirmation, order.id)),
    });
    let paid = documents.invoice.status == InvoiceStatus::Paid;
    let invoice_id = documents.invoice.id;
    let invoice = snapshot(&build_invoice_view(
        documents.invoice,
        documents.lines,
        Vec::new(),
    ));
    events.push(Event {
        account_id: Some(order.account_id),
        event_type: EventType::InvoiceCreated,
        subject_type: "invoice",
        subject_id: Some(invoice_id),
        before: None,
        after: invoice.clone(),
        reason: None,
        notify: (renewal && corporate)
            .then(|| Notify::of(NotificationTemplate::RenewalInvoice, invoice_id)),
    });
    if paid {
        events.push(Event {
            account_id: Some(order.account_id),
            event_type: EventType::InvoicePaid,
            subject_type: "invoice",
            subject_id: Some(invoice_id),
            before: None,
            after: invoice,
            reason: None,
            notify: (renewal && !corporate)
                .then(|| Notify::of(NotificationTemplate::RenewalReceipt, invoice_id)),
        });
    }
    // One statement for all of them; ids are time-ordered, so the trail reads in this order.
    audit::record_all(conn, caller, events).await
}
