//! Step 4, **apply**: every item of a paid (or invoiced) order re-checked against its
//! subscription as it is now, locked, then the change made: plan, licences, frequency, the
//! new period from the order's day, the amount charged for it. A subscribe item without a
//! subscription creates it. Any licence hold the order placed is released.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Engine;
use crate::db::models::{Account, Order, OrderItem, Subscription};
use crate::db::schema::subscriptions;
use crate::domain::order::ItemKind;
use crate::domain::plan_change::Actor;
use crate::domain::subscription::SubscriptionStatus;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::cart::subscription_for_product;
use crate::services::orders::{ItemWithChildren, LicenseStatus, items_of_orders};
use crate::services::rules::{self, ItemTarget};

/// One subscription the order changed: as it was (none when created) and as it is now.
pub struct Change {
    pub kind: ItemKind,
    pub before: Option<Subscription>,
    pub after: Subscription,
}

/// What applying an order did: the subscriptions it changed, and its items with their lines
/// and the licence status they leave (what the order's view shows).
pub struct Applied {
    pub changes: Vec<Change>,
    pub items: Vec<ItemWithChildren>,
}

/// Applies the order's items; a rule broken since it was recorded fails the whole step.
pub async fn apply(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    account: &Account,
    order: &Order,
    recorded: Option<Vec<ItemWithChildren>>,
    assisting: bool,
) -> ApiResult<Applied> {
    // The items with their lines — as recorded in this request, or read in one query: the
    // order's view is built from them.
    let mut items = match recorded {
        Some(items) => items,
        None => items_of_orders(conn, &[order.id])
            .await?
            .remove(&order.id)
            .unwrap_or_default(),
    };
    let actor = Actor {
        assisting,
        account_kind: account.kind,
    };
    let currency = account.currency;
    let mut changes = Vec::with_capacity(items.len());
    for ItemWithChildren { item, licences, .. } in &mut items {
        let current = subscription_for_product(conn, account.id, item.product_id, true).await?;
        if item.kind == ItemKind::Renewal {
            // Nothing changes but the period: it must still be the one this order renews.
            still_due(current.as_ref(), item)?;
        } else if item.kind == ItemKind::Cancel {
            // It ends the period it credits, which must still be the running one.
            still_running(current.as_ref(), item)?;
        } else {
            let target = ItemTarget {
                item_id: item.id,
                subscribe: item.kind == ItemKind::Subscribe,
                product_id: item.product_id,
                subscription_id: (item.kind == ItemKind::Change).then_some(item.subscription_id),
                plan_id: item.plan_id,
                frequency: item.billing_frequency,
                quantity: item.quantity,
            };
            // The order's day is the day the rules and prices were agreed on.
            rules::check_and_price(
                &engine.catalog,
                actor,
                currency,
                order.quote_date,
                &target,
                current.as_ref(),
            )?;
        }
        let after = if item.kind == ItemKind::Cancel {
            let ending = current
                .as_ref()
                .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "The subscription is gone."))?;
            let reason = order.reason.as_deref();
            crate::services::cancellation::end_now(
                conn,
                ending.id,
                order.quote_date,
                crate::domain::subscription::CancellationReason::Requested,
                reason,
                engine.clock.now(),
            )
            .await?
        } else {
            change_subscription(engine, conn, order, item, current.as_ref()).await?
        };
        *licences = Some(LicenseStatus {
            subscription_id: after.id,
            quantity: after.quantity,
            licenses_assigned: after.licenses_assigned,
            licenses_unassigned: after.quantity - after.licenses_assigned,
        });
        changes.push(Change {
            kind: item.kind,
            before: current,
            after,
        });
    }
    Ok(Applied { changes, items })
}

/// A renewal applies to the subscription whose current period ends where the renewed one
/// starts, while it is still billed (active or past due).
fn still_due(current: Option<&Subscription>, item: &OrderItem) -> ApiResult<()> {
    let due = current.is_some_and(|s| {
        s.id == item.subscription_id
            && s.current_period_end == Some(item.period_start)
            && matches!(
                s.status,
                SubscriptionStatus::Active | SubscriptionStatus::PastDue
            )
    });
    if due {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Conflict,
            "The subscription is no longer due for this renewal.",
        ))
    }
}

/// An immediate cancellation credits `[order day, period end)` of the period still running.
fn still_running(current: Option<&Subscription>, item: &OrderItem) -> ApiResult<()> {
    let running = current.is_some_and(|s| {
        s.id == item.subscription_id
            && s.current_period_end == Some(item.period_end)
            && matches!(
                s.status,
                SubscriptionStatus::Active | SubscriptionStatus::PastDue
            )
    });
    if running {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Conflict,
            "The subscription's period changed since the cancellation was priced.",
        ))
    }
}

async fn change_subscription(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    order: &Order,
    item: &OrderItem,
    current: Option<&Subscription>,
) -> ApiResult<Subscription> {
    Ok(match current {
        Some(existing) => {
            // A renewal keeps the status (an unpaid earlier renewal stays past due) and the
            // anchor; a change starts a new period, anchored on its first day.
            let (status, anchor_day) = if item.kind == ItemKind::Renewal {
                (existing.status, existing.billing_anchor_day)
            } else {
                (SubscriptionStatus::Active, anchor_day_of(item.period_start))
            };
            diesel::update(subscriptions::table.find(existing.id))
                .set((
                    subscriptions::plan_id.eq(item.plan_id),
                    subscriptions::billing_frequency.eq(&item.billing_frequency),
                    subscriptions::quantity.eq(item.quantity),
                    subscriptions::status.eq(status),
                    subscriptions::billing_anchor_day.eq(anchor_day),
                    subscriptions::current_period_start.eq(Some(item.period_start)),
                    subscriptions::current_period_end.eq(Some(item.period_end)),
                    subscriptions::period_amount.eq(Some(item.plan_price)),
                    subscriptions::quantity_pending.eq(None::<i32>),
                    // Subscribing again after a cancellation starts afresh; a renewal never
                    // runs on a canceled or canceling subscription.
                    subscriptions::cancel_at_period_end.eq(false),
                    subscriptions::cancel_at.eq(None::<chrono::NaiveDate>),
                    subscriptions::ended_at.eq(None::<chrono::NaiveDate>),
                    subscriptions::cancellation_reason
                        .eq(None::<crate::domain::subscription::CancellationReason>),
                    subscriptions::cancellation_comment.eq(None::<String>),
                    subscriptions::version.eq(subscriptions::version + 1),
                    subscriptions::updated_at.eq(engine.clock.now()),
                ))
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await?
        }
        None => {
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::id.eq(item.subscription_id),
                    subscriptions::account_id.eq(order.account_id),
                    subscriptions::product_id.eq(item.product_id),
                    subscriptions::plan_id.eq(item.plan_id),
                    subscriptions::billing_frequency.eq(&item.billing_frequency),
                    subscriptions::quantity.eq(item.quantity),
                    subscriptions::status.eq(SubscriptionStatus::Active),
                    subscriptions::current_period_start.eq(Some(item.period_start)),
                    subscriptions::current_period_end.eq(Some(item.period_end)),
                    subscriptions::period_amount.eq(Some(item.plan_price)),
                    subscriptions::currency.eq(&order.currency),
                    subscriptions::billing_anchor_day.eq(anchor_day_of(item.period_start)),
                    subscriptions::created_at.eq(engine.clock.now()),
                    subscriptions::updated_at.eq(engine.clock.now()),
                ))
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await?
        }
    })
}

fn anchor_day_of(day: chrono::NaiveDate) -> Option<i16> {
    i16::try_from(chrono::Datelike::day(&day)).ok()
}
