//! Recovery: settles what a fault left behind — pending orders whose request is gone (their
//! lease ran out), and refunds that voided orders still owe. Run at start-up and by the
//! sweeper; safe on several instances at once (each order's lease is claimed with a
//! conditional update, and every effect is keyed by the order).

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{Engine, charge_and_finalise, settle};
use crate::auth::{Principal, Role};
use crate::db::models::Order;
use crate::db::schema::{idempotency_keys, orders};
use crate::domain::order::OrderStatus;
use crate::error::ApiResult;
use crate::services::Caller;
use crate::services::idempotency;

/// Finishes (or gives back) every pending order whose request is gone: run at start-up.
/// Each is settled as its own placer, as if that request had been retried.
pub async fn recover_pending_orders(engine: &Engine) -> ApiResult<usize> {
    let mut conn = engine.pool.get().await?;
    let now = engine.clock.now();
    let pending: Vec<(Uuid, Uuid, String, Role)> = orders::table
        .inner_join(
            idempotency_keys::table.on(idempotency_keys::account_id
                .eq(orders::account_id)
                .and(idempotency_keys::key.eq(orders::idempotency_key))),
        )
        .filter(orders::status.eq(OrderStatus::Pending))
        .filter(
            idempotency_keys::locked_until
                .is_null()
                .or(idempotency_keys::locked_until.le(now)),
        )
        .select((
            orders::id,
            orders::account_id,
            orders::placed_by_sub,
            orders::placed_by_role,
        ))
        .load(&mut conn)
        .await?;
    let mut settled = 0;
    for (order_id, account_id, sub, role) in pending {
        // Take the lease the way a retrying request would, so the two never settle together.
        let key: String = orders::table
            .find(order_id)
            .select(orders::idempotency_key)
            .first(&mut conn)
            .await?;
        let claimed = diesel::update(idempotency_keys::table.find((account_id, &key)))
            .filter(
                idempotency_keys::locked_until
                    .is_null()
                    .or(idempotency_keys::locked_until.le(now)),
            )
            .set(
                idempotency_keys::locked_until
                    .eq(now + Duration::seconds(idempotency::LEASE_SECONDS)),
            )
            .execute(&mut conn)
            .await?;
        if claimed == 0 {
            continue;
        }
        let caller = Caller {
            principal: Principal {
                sub,
                role,
                account_id: role.is_contact().then_some(account_id),
            },
            request_id: format!("recovery-{}", Uuid::new_v4()),
            idempotency_key: None,
            system: false,
            now,
        };
        let order: Order = orders::table
            .find(order_id)
            .select(Order::as_select())
            .first(&mut conn)
            .await?;
        let number = order.number.clone();
        let settlement = order.settlement;
        // Settled as the order's own facts say, whoever placed it and whatever reach they
        // have now; the events name the placer, the request id says it was recovery.
        match charge_and_finalise(engine, &mut conn, &caller, order, None).await {
            Ok(_) => {
                settled += 1;
                engine.metrics.order_placed(settlement.as_str(), "recovery");
                tracing::info!(order = %order_id, %number, "recovery completed a pending order");
            }
            Err(outcome) if outcome.code.status().is_client_error() => {
                settled += 1;
                tracing::info!(order = %order_id, %number, outcome = outcome.code.as_str(), "recovery gave a pending order back");
            }
            Err(error) => {
                tracing::warn!(order = %order_id, %number, error = %error, "pending order not completed");
            }
        }
    }
    // Voided orders whose refund was not confirmed (a crash or a gateway outage after the
    // void was recorded).
    let owed: Vec<(Uuid, Option<String>)> = orders::table
        .filter(orders::status.eq(OrderStatus::Voided))
        .filter(orders::refunded_at.is_null())
        .filter(orders::charge_id.is_not_null())
        .select((orders::id, orders::charge_id))
        .load(&mut conn)
        .await?;
    for (order_id, charge_id) in owed {
        if let Some(charge_id) = charge_id {
            settle::refund_voided(engine, &mut conn, order_id, &charge_id).await;
        }
    }
    Ok(settled)
}
