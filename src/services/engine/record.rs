//! Step 2, **record**: the priced order written as `pending` — the order, its items and
//! lines, the credit it applies reserved, its idempotency key claimed with a lease, its source
//! marked busy — so that whatever happens next (a charge, a crash, a retry) acts on one order.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{OrderDraft, OrderSource, Placement, Settlement};
use crate::db::models::{Account, Order, OrderItem, OrderLine};
use crate::db::schema::{accounts, carts, order_items, order_lines, orders, subscriptions};
use crate::domain::order::CartStatus;
use crate::domain::order::OrderStatus;
use crate::error::{ApiError, ApiResult, ErrorCode, violated_constraint};
use crate::services::Caller;
use crate::services::checkout_summary::LineView;
use crate::services::idempotency;
use crate::services::orders::ItemWithChildren;

/// Writes the order as `pending`, in the caller's transaction (account row locked).
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    draft: &OrderDraft,
    placement: &Placement,
    settlement: Settlement,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<(Order, Vec<ItemWithChildren>)> {
    let totals = draft.totals;
    let (cart_id, quote_id, renews_subscription_id, cancels_subscription_id) = match draft.source {
        OrderSource::Cart(id) => (Some(id), None, None, None),
        OrderSource::Quote(id) => (None, Some(id), None, None),
        OrderSource::Renewal(id) => (None, None, Some(id), None),
        OrderSource::Cancellation(id) => (None, None, None, Some(id)),
    };
    let order = Order {
        id: Uuid::now_v7(),
        account_id: account.id,
        number: String::new(),
        cart_id,
        status: OrderStatus::Pending,
        settlement,
        currency: draft.currency,
        quote_date: draft.quote_date,
        subtotal: totals.subtotal,
        tax_rate: totals.tax_rate,
        tax: totals.tax,
        reverse_charge: totals.reverse_charge,
        credit_applied: totals.credit_applied,
        credit_created: totals.credit_created,
        total_due: totals.total_due,
        po_number: placement.po_number.clone(),
        reason: placement.reason.clone(),
        placed_by_sub: caller.principal.sub.clone(),
        placed_by_role: caller.principal.role,
        idempotency_key: placement.idempotency_key.clone(),
        charge_id: None,
        created_at: now,
        completed_at: None,
        quote_id,
        payment_method_ref: (settlement == Settlement::Card)
            .then(|| account.payment_method_ref.clone())
            .flatten(),
        voided_at: None,
        void_reason: None,
        refunded_at: None,
        renews_subscription_id,
        cancels_subscription_id,
    };
    let order: Order = diesel::insert_into(orders::table)
        .values(&order)
        .returning(Order::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("one_order_per_cart") => {
                ApiError::new(ErrorCode::Conflict, "This cart has been ordered already.")
            }
            Some("orders_quote_id_key") => ApiError::new(
                ErrorCode::QuoteNotOpen,
                "This quote has been accepted already.",
            ),
            Some("one_renewal_per_period") => ApiError::new(
                ErrorCode::Conflict,
                "This period of the subscription has been renewed already.",
            ),
            Some("one_cancellation_per_subscription") => ApiError::new(
                ErrorCode::SubscriptionEnded,
                "The subscription has been canceled already.",
            ),
            _ => ApiError::from(e),
        })?;

    let mut items = Vec::with_capacity(draft.items.len());
    let mut lines = Vec::new();
    for (position, draft_item) in draft.items.iter().enumerate() {
        let target = &draft_item.target;
        // A subscribe item without an earlier trial creates the subscription with this id.
        let subscription_id = target
            .subscription_id
            .or(draft_item.current.map(|(id, _)| id))
            .unwrap_or_else(Uuid::now_v7);
        let item_id = Uuid::now_v7();
        for (description, amount) in &draft_item.lines {
            lines.push(OrderLine {
                id: Uuid::now_v7(),
                order_id: order.id,
                account_id: account.id,
                order_item_id: item_id,
                position: i32::try_from(lines.len()).unwrap_or(i32::MAX),
                description: description.clone(),
                amount: *amount,
            });
        }
        items.push(OrderItem {
            id: item_id,
            order_id: order.id,
            account_id: account.id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: draft_item.kind,
            product_id: target.product_id,
            subscription_id,
            plan_id: target.plan_id,
            billing_frequency: target.frequency,
            quantity: target.quantity,
            period_start: draft_item.period.start,
            period_end: draft_item.period.end,
            unit_price: draft_item.unit_price,
            plan_price: draft_item.plan_price,
            proration_credit: draft_item.proration_credit,
        });
    }
    diesel::insert_into(order_items::table)
        .values(&items)
        .execute(conn)
        .await?;
    diesel::insert_into(order_lines::table)
        .values(&lines)
        .execute(conn)
        .await?;
    if totals.credit_applied > Decimal::ZERO {
        // Reserved now; given back if the order does not complete.
        diesel::update(accounts::table.find(account.id))
            .set(accounts::credit_balance.eq(accounts::credit_balance - totals.credit_applied))
            .execute(conn)
            .await?;
    }
    // A renewal or a cancellation has no client to answer again: the unique renewal per
    // period, and the one cancellation per subscription, guard them.
    if renews_subscription_id.is_none() && cancels_subscription_id.is_none() {
        idempotency::claim(
            conn,
            account.id,
            &order.idempotency_key,
            &placement.fingerprint,
            order.id,
            now,
        )
        .await?;
    }
    if let Some(cart_id) = cart_id {
        diesel::update(carts::table.find(cart_id))
            .set((
                carts::status.eq(CartStatus::CheckingOut),
                carts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    if settlement == Settlement::Card {
        hold_reduced_quantities(conn, draft).await?;
    }
    // What was written, as the later steps read it: applying needs no second read.
    let recorded = items
        .into_iter()
        .map(|item| ItemWithChildren {
            lines: lines
                .iter()
                .filter(|line| line.order_item_id == item.id)
                .map(|line| LineView {
                    description: line.description.clone(),
                    amount: line.amount,
                })
                .collect(),
            item,
            licences: None,
        })
        .collect();
    Ok((order, recorded))
}

/// While the order is charged, a subscription it reduces takes no assignment beyond the
/// licences it will leave (the rule was checked against the assignments just now, with the
/// subscription locked): nothing assigned in between can invalidate a paid order.
async fn hold_reduced_quantities(
    conn: &mut AsyncPgConnection,
    draft: &OrderDraft,
) -> ApiResult<()> {
    for item in &draft.items {
        let Some((subscription_id, quantity)) = item.current else {
            continue;
        };
        let wanted = item.target.quantity;
        if wanted >= quantity {
            continue;
        }
        diesel::update(subscriptions::table.find(subscription_id))
            .set(subscriptions::quantity_pending.eq(Some(wanted)))
            .execute(conn)
            .await
            .map_err(|e| match violated_constraint(&e) {
                Some("licenses_within_pending_quantity") => ApiError::new(
                    ErrorCode::LicensesInUse,
                    format!(
                        "More than {wanted} licences are assigned; unassign users before reducing."
                    ),
                ),
                _ => ApiError::from(e),
            })?;
    }
    Ok(())
}

/// Reads and locks an order being settled.
pub async fn lock_order(conn: &mut AsyncPgConnection, order_id: Uuid) -> ApiResult<Order> {
    Ok(orders::table
        .find(order_id)
        .select(Order::as_select())
        .for_no_key_update()
        .first(conn)
        .await?)
}

/// Reads and locks an order being settled together with its account, in one statement.
/// Settling acts on the order's own facts: the account is locked by id, not by reach.
pub async fn lock_order_and_account(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> ApiResult<(Order, Account)> {
    Ok(orders::table
        .inner_join(accounts::table)
        .filter(orders::id.eq(order_id))
        .select((Order::as_select(), Account::as_select()))
        .for_no_key_update()
        .first(conn)
        .await?)
}
