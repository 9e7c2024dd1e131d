//! Step 3, **settle**: how the order is paid. Corporate orders settle by invoice on terms
//! (nothing to do here); card orders are charged through the gateway outside any
//! transaction, with the order id as the gateway's idempotency key. This module also gives a
//! pending order back when its charge is declined, voids (then refunds) a paid order that can
//! no longer be applied, and gives the lease back after a fault.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::{Engine, Settlement};
use crate::db::models::{Account, Order};
use crate::db::schema::{accounts, carts, order_items, orders, subscriptions};
use crate::domain::event::EventType;
use crate::domain::order::{CartStatus, OrderStatus};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payments::{Charge, ChargeError};
use crate::services::Caller;
use crate::services::access::account_for_update;
use crate::services::audit::{self, Event, snapshot};
use crate::services::idempotency;
use crate::services::orders::order_view_in;
use crate::services::rules;

/// Corporate accounts settle by invoice; others by card when something is due.
pub fn settlement_for(account: &Account, total_due: Decimal) -> ApiResult<Settlement> {
    Ok(if rules::settles_by_invoice(account)? {
        Settlement::Invoice
    } else if total_due > Decimal::ZERO {
        Settlement::Card
    } else {
        Settlement::None
    })
}

/// A renewal is never held back by its charge: the period rolls and its invoice opens at
/// once (service continues, SPEC §13); a self-service invoice is then collected from the
/// card on file (`collect`), a corporate one is paid on terms.
pub fn renewal_settlement(total_due: Decimal) -> Settlement {
    if total_due > Decimal::ZERO {
        Settlement::Invoice
    } else {
        Settlement::None
    }
}

/// Charges the card fixed on the order; the same order never charges twice.
pub async fn charge(engine: &Engine, order: &Order) -> ApiResult<Result<Charge, ChargeError>> {
    let card = order.payment_method_ref.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::PaymentMethodRequired,
            "Attach a card before placing the order.",
        )
    })?;
    Ok(engine
        .gateway
        .charge(card, order.total_due, order.currency, &order.id.to_string())
        .await)
}

pub fn declined(reason: &str) -> ApiError {
    ApiError::new(
        ErrorCode::CardDeclined,
        "The card was declined; nothing was charged or changed.",
    )
    .with_extension("decline_code", serde_json::json!(reason))
}

/// The gateway did not answer: the order stays pending, and since nothing is in flight any
/// more the same key may resume it at once.
pub async fn gateway_unavailable(
    conn: &mut AsyncPgConnection,
    order: &Order,
    why: &str,
) -> ApiResult<ApiError> {
    tracing::warn!(order = %order.id, error = %why, "payment gateway unavailable");
    idempotency::release(conn, order.account_id, &order.idempotency_key).await?;
    Ok(ApiError::new(
        ErrorCode::ServiceUnavailable,
        "The payment service did not answer; retry with the same Idempotency-Key.",
    ))
}

/// Removes a pending order that was never paid (declined card): what it held goes back to
/// where it was; an audit event says why.
pub async fn abandon(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    why: &str,
) -> ApiResult<()> {
    // The order as it stood, with why its card was refused: it is removed below.
    let mut object = snapshot(&order_view_in(&engine.catalog, conn, order.clone()).await?);
    if let Some(serde_json::Value::Object(fields)) = object.as_mut() {
        fields.insert(
            "payment_error".to_owned(),
            serde_json::json!({ "code": why }),
        );
    }
    give_back(conn, order, caller.now).await?;
    diesel::delete(orders::table.find(order.id))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(order.account_id),
            event_type: EventType::OrderPaymentFailed,
            subject_type: "order",
            subject_id: Some(order.id),
            before: None,
            after: object,
            reason: None,
            notify: None,
        },
    )
    .await
}

/// A paid order that can no longer be applied: recorded as `voided` (with its charge, its
/// cart, key and credit given back) in one transaction *before* the refund is asked for, so a
/// crash in between leaves a refund that recovery still owes, never a lost one.
pub async fn void_and_refund(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    charge_id: &str,
    broken: &ApiError,
) -> ApiResult<()> {
    let now = engine.clock.now();
    let why = broken.code.as_str();
    conn.transaction(async |conn| {
        account_for_update(conn, order.account_id).await?;
        let order = super::record::lock_order(conn, order.id).await?;
        if order.status != OrderStatus::Pending {
            // Settled meanwhile by another attempt: nothing to void.
            return Ok(());
        }
        let voided: Order = diesel::update(orders::table.find(order.id))
            .set((
                orders::status.eq(OrderStatus::Voided),
                orders::voided_at.eq(Some(now)),
                orders::void_reason.eq(Some(why)),
                orders::charge_id.eq(Some(charge_id)),
            ))
            .returning(Order::as_returning())
            .get_result(conn)
            .await?;
        let before = snapshot(&order_view_in(&engine.catalog, conn, order.clone()).await?);
        let after = snapshot(&order_view_in(&engine.catalog, conn, voided).await?);
        give_back(conn, &order, now).await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(order.account_id),
                event_type: EventType::OrderVoided,
                subject_type: "order",
                subject_id: Some(order.id),
                before,
                after,
                reason: None,
                notify: None,
            },
        )
        .await
    })
    .await?;
    refund_voided(engine, conn, order.id, charge_id).await;
    Ok(())
}

/// Asks the gateway to refund a voided order's charge (idempotent per charge) and records
/// it; a failure is left for recovery to retry.
pub async fn refund_voided(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    order_id: uuid::Uuid,
    charge_id: &str,
) {
    if let Err(e) = engine.gateway.refund(charge_id).await {
        tracing::warn!(order = %order_id, error = %e, "refund of a voided order failed; recovery retries it");
        return;
    }
    let recorded = diesel::update(orders::table.find(order_id))
        .filter(orders::refunded_at.is_null())
        .set(orders::refunded_at.eq(Some(engine.clock.now())))
        .execute(conn)
        .await;
    match recorded {
        Ok(_) => tracing::info!(order = %order_id, charge = charge_id, "voided order refunded"),
        Err(e) => {
            tracing::warn!(order = %order_id, error = %e, "refund made but not recorded; recovery records it")
        }
    }
}

/// A request that failed on a fault (the database went away mid-way) gives its lease back
/// when the database can still be reached, so that a retry with the same key, or recovery,
/// settles the order at once instead of after the lease runs out.
pub async fn release_after_fault(engine: &Engine, order: &Order) {
    let released = match engine.pool.get().await {
        Ok(mut conn) => {
            idempotency::release(&mut conn, order.account_id, &order.idempotency_key).await
        }
        Err(e) => Err(ApiError::from(e)),
    };
    match released {
        Ok(()) => {
            tracing::warn!(order = %order.id, "order left pending by a fault; its key can resume at once")
        }
        Err(e) => {
            tracing::warn!(order = %order.id, error = %e, "order left pending by a fault; resumes once its lease runs out")
        }
    }
}

/// Gives back what a pending order held: its credit reservation, its key, its cart and the
/// licences it held back.
async fn give_back(
    conn: &mut AsyncPgConnection,
    order: &Order,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    if order.credit_applied > Decimal::ZERO {
        diesel::update(accounts::table.find(order.account_id))
            .set(accounts::credit_balance.eq(accounts::credit_balance + order.credit_applied))
            .execute(conn)
            .await?;
    }
    idempotency::forget(conn, order.account_id, &order.idempotency_key).await?;
    if let Some(cart_id) = order.cart_id {
        diesel::update(carts::table.find(cart_id))
            .set((
                carts::status.eq(CartStatus::Open),
                carts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    diesel::update(subscriptions::table)
        .filter(
            subscriptions::id.eq_any(
                order_items::table
                    .filter(order_items::order_id.eq(order.id))
                    .select(order_items::subscription_id),
            ),
        )
        .filter(subscriptions::quantity_pending.is_not_null())
        .set(subscriptions::quantity_pending.eq(None::<i32>))
        .execute(conn)
        .await?;
    Ok(())
}
