//! Ending a subscription as asked, once who may ask has been checked: by the cancel endpoint,
//! and by an accepted quote that carries a change request's cancellation.

use chrono::Duration;
use diesel_async::AsyncPgConnection;

use super::{canceled_event, credit_and_end, end_now, ended, reload, schedule};
use crate::db::models::{Account, Subscription};
use crate::domain::subscription::{CancellationReason, SubscriptionStatus, effective_status};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::engine::Engine;

/// Ends `subscription` (locked by the caller) as asked: at its period end (a trial: the day
/// after its last day), or at once — an active one through a `cancel` order crediting the
/// unused time, a trial without an order. Who may ask is the caller's to check.
pub async fn carry_out(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    subscription: Subscription,
    at_period_end: bool,
    reason: Option<String>,
) -> ApiResult<Subscription> {
    let kind = account.kind;
    let today = caller.today();
    let status = effective_status(subscription.status, subscription.trial_ends_on, today);
    if status == SubscriptionStatus::Canceled {
        return Err(ended());
    }
    match (at_period_end, status) {
        // Canceling twice at the period end changes nothing.
        (true, _) if subscription.cancel_at_period_end => Ok(subscription),
        (true, SubscriptionStatus::Active | SubscriptionStatus::PastDue) => {
            let end = subscription
                .current_period_end
                .ok_or_else(|| internal_error("billed without a period", &subscription.id))?;
            schedule(
                conn,
                &engine.catalog,
                kind,
                caller,
                subscription,
                end,
                reason.as_deref(),
            )
            .await
        }
        (true, SubscriptionStatus::Trialing) => {
            let last_day = subscription
                .trial_ends_on
                .ok_or_else(|| internal_error("trial without an end", &subscription.id))?;
            let end = last_day + Duration::days(1);
            schedule(
                conn,
                &engine.catalog,
                kind,
                caller,
                subscription,
                end,
                reason.as_deref(),
            )
            .await
        }
        (false, SubscriptionStatus::Active | SubscriptionStatus::PastDue) => {
            // Its period has ended and the renewal has not run yet (it is due at
            // 00:00): nothing of the ended period is left to credit, and the next
            // one does not exist yet.
            if subscription
                .current_period_end
                .is_some_and(|end| today >= end)
            {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "The subscription's period has just ended and its renewal is being \
                     placed; retry in a moment.",
                )
                .with_header(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("5"),
                ));
            }
            let id = subscription.id;
            credit_and_end(engine, conn, caller, account, subscription, reason).await?;
            reload(conn, id).await
        }
        // A trial (running or expired) has nothing paid to run to or credit.
        _ => {
            let before = subscription.clone();
            let ended = end_now(
                conn,
                subscription.id,
                today,
                CancellationReason::Requested,
                reason.as_deref(),
                caller.now,
            )
            .await?;
            canceled_event(conn, &engine.catalog, caller, &before, &ended).await?;
            Ok(ended)
        }
    }
}
