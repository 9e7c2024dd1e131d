//! Step 5, **complete**: the order marked completed with its charge, the credit it creates
//! added to the account's balance, its cart closed; then its response stored under its
//! idempotency key, so a retry gets exactly this answer.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Engine;
use crate::db::models::Order;
use crate::db::schema::{accounts, carts, orders};
use crate::domain::order::CartStatus;
use crate::domain::order::OrderStatus;
use crate::error::{ApiResult, internal_error};
use crate::services::checkout_summary::LineView;
use crate::services::idempotency;
use crate::services::orders::{ItemWithChildren, build_order_view};

pub async fn complete(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    order: Order,
    charge_id: Option<&str>,
) -> ApiResult<Order> {
    let now = engine.clock.now();
    if order.credit_created > Decimal::ZERO {
        diesel::update(accounts::table.find(order.account_id))
            .set(accounts::credit_balance.eq(accounts::credit_balance + order.credit_created))
            .execute(conn)
            .await?;
    }
    let completed: Order = diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(OrderStatus::Completed),
            orders::completed_at.eq(Some(now)),
            orders::charge_id.eq(charge_id),
        ))
        .returning(Order::as_returning())
        .get_result(conn)
        .await?;
    if let Some(cart_id) = order.cart_id {
        diesel::update(carts::table.find(cart_id))
            .set((
                carts::status.eq(CartStatus::CheckedOut),
                carts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(completed)
}

/// The placed order as the API shows it (built from what the steps before hold, without
/// reading it back), stored under its key.
pub async fn respond(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    completed: &Order,
    invoice_id: Uuid,
    items: Vec<ItemWithChildren>,
) -> ApiResult<(serde_json::Value, Vec<LineView>)> {
    let view = build_order_view(&engine.catalog, completed.clone(), Some(invoice_id), items)?;
    // The invoice's lines are the order's, item by item.
    let lines: Vec<LineView> = view.items.iter().flat_map(|i| i.lines.clone()).collect();
    let body = serde_json::to_value(&view).map_err(|e| internal_error("order view", &e))?;
    if completed.renews_subscription_id.is_some() {
        // Placed by a job, answered to no one: nothing to replay.
        return Ok((body, lines));
    }
    idempotency::complete(
        conn,
        completed.account_id,
        &completed.idempotency_key,
        201,
        &body,
        engine.clock.now(),
    )
    .await?;
    Ok((body, lines))
}

/// The response a completed order stored under its key.
pub async fn stored_response(
    conn: &mut AsyncPgConnection,
    order: &Order,
) -> ApiResult<serde_json::Value> {
    idempotency::stored_response(conn, order.account_id, &order.idempotency_key).await
}
