//! Cancellation (SPEC §13): at the period end ("Pending Cancellation", any role in reach) or
//! at once (representative, support, admin; the unused time credited through the order
//! engine), and reactivation before the end. Ending a subscription — by request, at its
//! period end, or after dunning — always does the same: `canceled` with its end date and
//! reason, and every licence assignment of it ended.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Account, Subscription};
use crate::db::schema::{license_assignments, subscriptions};
use crate::domain::account::AccountKind;
use crate::domain::catalog::Catalog;
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;
use crate::domain::order::ItemKind;
use crate::domain::period::Period;
use crate::domain::quote::{ReplacedPeriod, cancellation_quote};
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use crate::domain::tax::tax_treatment;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::subscription_in_reach_for_update;
use crate::services::audit::{self, Event, Notify};
use crate::services::engine::{
    self, DraftItem, Engine, OrderDraft, OrderSource, Placed, Placement,
};
use crate::services::subscription_view;
use crate::services::subscriptions::{SubscriptionDetail, detail};

mod carry_out;

pub use carry_out::carry_out;

/// Body of `POST …/subscriptions/{subscription_id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscription {
    /// `true`: it runs to its period end, then ends (any role). `false`: it ends now and its
    /// unused time is credited (representative, support and admin; `reason` required).
    pub at_period_end: bool,
    /// Why; kept as the subscription's `cancellation_comment`.
    #[schema(max_length = 500, example = "Moving to another product")]
    pub reason: Option<String>,
}

fn comment(reason: Option<String>) -> ApiResult<Option<String>> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid_field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    Ok(reason)
}

pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
    input: CancelSubscription,
) -> ApiResult<SubscriptionDetail> {
    let reason = comment(input.reason)?;
    let mut conn = state.pool.get().await?;
    let engine = Engine::for_request(state, caller);
    let (kind, row) = conn
        .transaction(async |conn| {
            let (account, subscription) =
                subscription_in_reach_for_update(conn, caller, account_id, subscription_id).await?;
            let kind = account.kind;
            if !input.at_period_end {
                if !caller.principal.role.is_assisting() {
                    return Err(ApiError::new(
                        ErrorCode::CancelRequiresAssistance,
                        "Only a representative, customer service or an admin cancels a \
                         subscription at once; cancel at the period end, or ask them.",
                    ));
                }
                if reason.is_none() {
                    return Err(ApiError::invalid_field(
                        "reason",
                        "is required to cancel at once",
                    ));
                }
            }
            let row = carry_out(
                &engine,
                conn,
                caller,
                &account,
                subscription,
                input.at_period_end,
                reason.clone(),
            )
            .await?;
            Ok((kind, row))
        })
        .await?;
    detail(state, kind, row)
}

/// Clears a pending cancellation; 409 `subscription-ended` once it has ended (or its end
/// day has come). Reactivating one that is not canceling changes nothing.
pub async fn reactivate(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
) -> ApiResult<SubscriptionDetail> {
    let mut conn = state.pool.get().await?;
    let (kind, row) = conn
        .transaction(async |conn| {
            let (account, subscription) =
                subscription_in_reach_for_update(conn, caller, account_id, subscription_id).await?;
            let kind = account.kind;
            let over = subscription
                .cancel_at
                .is_some_and(|end| caller.today() >= end);
            if subscription.status == SubscriptionStatus::Canceled || over {
                return Err(ended());
            }
            if !subscription.cancel_at_period_end {
                return Ok((kind, subscription));
            }
            let before = subscription.clone();
            let after: Subscription = diesel::update(subscriptions::table.find(subscription.id))
                .set((
                    subscriptions::cancel_at_period_end.eq(false),
                    subscriptions::cancel_at.eq(None::<NaiveDate>),
                    subscriptions::cancellation_comment.eq(None::<String>),
                    subscriptions::version.eq(subscriptions::version + 1),
                    subscriptions::updated_at.eq(caller.now),
                ))
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                caller,
                subscription_event(
                    &state.catalog.get(),
                    kind,
                    caller.today(),
                    EventType::SubscriptionReactivated,
                    &before,
                    &after,
                    None,
                )?,
            )
            .await?;
            Ok((kind, after))
        })
        .await?;
    detail(state, kind, row)
}

fn ended() -> ApiError {
    ApiError::new(
        ErrorCode::SubscriptionEnded,
        "The subscription has ended; subscribe again through the cart.",
    )
}

async fn reload(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<Subscription> {
    Ok(subscriptions::table
        .find(id)
        .select(Subscription::as_select())
        .first(conn)
        .await?)
}

async fn schedule(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    kind: AccountKind,
    caller: &Caller,
    subscription: Subscription,
    cancel_at: NaiveDate,
    reason: Option<&str>,
) -> ApiResult<Subscription> {
    let after: Subscription = diesel::update(subscriptions::table.find(subscription.id))
        .set((
            subscriptions::cancel_at_period_end.eq(true),
            subscriptions::cancel_at.eq(Some(cancel_at)),
            subscriptions::cancellation_comment.eq(reason),
            subscriptions::version.eq(subscriptions::version + 1),
            subscriptions::updated_at.eq(caller.now),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        caller,
        subscription_event(
            catalog,
            kind,
            caller.today(),
            EventType::SubscriptionCancellationScheduled,
            &subscription,
            &after,
            reason,
        )?,
    )
    .await?;
    Ok(after)
}

/// Ends an active subscription now through the order engine: a `cancel` order whose one
/// line credits the unused part of the running period (§6's credit formula) to the credit
/// balance; nothing is charged or paid out.
async fn credit_and_end(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    subscription: Subscription,
    reason: Option<String>,
) -> ApiResult<()> {
    let today = caller.today();
    let broken = |what: &str| internal_error("billed subscription without", &what);
    let period = match (
        subscription.current_period_start,
        subscription.current_period_end,
    ) {
        (Some(start), Some(end)) => Period { start, end },
        _ => return Err(broken("a period")),
    };
    let period_amount = subscription
        .period_amount
        .ok_or_else(|| broken("a period amount"))?;
    let (_, plan) = engine
        .catalog
        .plan(subscription.plan_id)
        .ok_or_else(|| broken("a plan in the catalog"))?;
    let item_id = Uuid::now_v7();
    let treatment = tax_treatment(
        &engine.seller_country,
        &account.country,
        account.vat_id.is_some(),
    );
    let quote = cancellation_quote(
        item_id,
        &ReplacedPeriod {
            plan_name: plan.name.clone(),
            quantity: subscription.quantity,
            period,
            period_amount,
        },
        today,
        account.currency,
        &treatment,
        account.credit_balance,
    );
    let [quoted] = quote.items.as_slice() else {
        return Err(internal_error(
            "cancellation quote",
            &"not exactly one item",
        ));
    };
    let draft = OrderDraft {
        source: OrderSource::Cancellation(subscription.id),
        currency: account.currency,
        quote_date: today,
        totals: quote.totals,
        items: vec![DraftItem::for_subscription(
            ItemKind::Cancel,
            item_id,
            &subscription,
            quoted,
        )],
    };
    let placement = Placement {
        idempotency_key: format!("cancellation:{}", subscription.id),
        fingerprint: format!("cancellation:{}", subscription.id),
        po_number: None,
        reason,
        assisting: true,
    };
    match engine::place(engine, conn, caller, account, &draft, placement).await? {
        Placed::Completed { .. } => Ok(()),
        Placed::AwaitingCharge(..) => Err(internal_error(
            "cancellation",
            &"a cancellation order charges nothing",
        )),
    }
}

/// Ends a subscription on `ended_at`: `canceled` with its reason (and the comment, when one
/// is given), every licence assignment of it ended. Returns the row as it is now; the
/// caller writes the event.
pub async fn end_now(
    conn: &mut AsyncPgConnection,
    subscription_id: Uuid,
    ended_at: NaiveDate,
    reason: CancellationReason,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Subscription> {
    diesel::delete(license_assignments::table)
        .filter(license_assignments::subscription_id.eq(subscription_id))
        .execute(conn)
        .await?;
    let ended: Subscription = diesel::update(subscriptions::table.find(subscription_id))
        .set((
            subscriptions::status.eq(SubscriptionStatus::Canceled),
            subscriptions::ended_at.eq(Some(ended_at)),
            subscriptions::cancellation_reason.eq(Some(reason)),
            subscriptions::licenses_assigned.eq(0),
            subscriptions::version.eq(subscriptions::version + 1),
            subscriptions::updated_at.eq(now),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await?;
    if let Some(comment) = comment {
        return Ok(diesel::update(subscriptions::table.find(subscription_id))
            .set(subscriptions::cancellation_comment.eq(Some(comment)))
            .returning(Subscription::as_returning())
            .get_result(conn)
            .await?);
    }
    Ok(ended)
}

/// `subscription.canceled` for a subscription ended outside an order.
pub async fn canceled_event(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    before: &Subscription,
    after: &Subscription,
) -> ApiResult<()> {
    let kind = subscription_view::account_kind(conn, after.account_id).await?;
    let event = subscription_event(
        catalog,
        kind,
        caller.today(),
        EventType::SubscriptionCanceled,
        before,
        after,
        after.cancellation_comment.as_deref(),
    )?;
    audit::record(conn, caller, event).await
}

fn subscription_event<'a>(
    catalog: &Catalog,
    kind: AccountKind,
    today: NaiveDate,
    event_type: EventType,
    before: &Subscription,
    after: &Subscription,
    reason: Option<&'a str>,
) -> ApiResult<Event<'a>> {
    Ok(Event {
        account_id: Some(after.account_id),
        event_type,
        subject_type: "subscription",
        subject_id: Some(after.id),
        before: subscription_view::object(catalog, kind, before, today)?,
        after: subscription_view::object(catalog, kind, after, today)?,
        reason,
        // A subscription ends once; it may be scheduled to end, reactivated and scheduled
        // again: each scheduling (a new version) is a mail.
        notify: match event_type {
            EventType::SubscriptionCancellationScheduled => Some(Notify::of(
                NotificationTemplate::CancellationScheduled,
                format!("{}:{}", after.id, after.version),
            )),
            EventType::SubscriptionCanceled => Some(Notify::of(
                NotificationTemplate::SubscriptionCanceled,
                after.id,
            )),
            _ => None,
        },
    })
}
