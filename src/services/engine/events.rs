//! Step 7, **events**: the audit trail of a placed order, in its transaction — one event per
//! subscription it changed, then the order itself.

use diesel_async::AsyncPgConnection;

use super::apply::Change;
use crate::db::models::{Invoice, Order};
use crate::domain::order::ItemKind;
use crate::domain::subscription::SubscriptionStatus;
use crate::error::ApiResult;
use crate::services::Caller;
use crate::services::audit::{self, Event, snapshot};

pub async fn order_placed(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    changes: &[Change],
    invoice: &Invoice,
) -> ApiResult<()> {
    let mut events: Vec<Event<'_>> = changes
        .iter()
        .map(|change| {
            let was_active = change
                .before
                .as_ref()
                .is_some_and(|s| s.status == SubscriptionStatus::Active);
            Event {
                account_id: Some(order.account_id),
                action: if change.kind == ItemKind::Renewal {
                    "subscription.renewed"
                } else if change.kind == ItemKind::Cancel {
                    "subscription.canceled"
                } else if was_active {
                    "subscription.changed"
                } else {
                    "subscription.subscribed"
                },
                subject_type: "subscription",
                subject_id: Some(change.after.id),
                before: change.before.as_ref().and_then(snapshot),
                after: snapshot(&change.after),
                reason: order.reason.as_deref(),
            }
        })
        .collect();
    events.push(Event {
        account_id: Some(order.account_id),
        action: "order.placed",
        subject_type: "order",
        subject_id: Some(order.id),
        before: None,
        after: Some(serde_json::json!({
            "number": order.number,
            "total_due": order.total_due,
            "settlement": order.settlement,
            "invoice_id": invoice.id,
            "po_number": order.po_number,
        })),
        reason: order.reason.as_deref(),
    });
    // One statement for all of them; ids are time-ordered, so the trail reads in this order.
    audit::record_all(conn, caller, events).await
}
