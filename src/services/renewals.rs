//! Renewal (SPEC §13): at its period end an active (or past-due) subscription is placed as a
//! renewal order through the order engine — the third caller, after checkout and quote
//! acceptance — priced on the renewal date, with tax and the credit balance first; its period
//! rolls at once, anchored on the original day of the month. The invoice opens on the renewal
//! date: a corporate one is paid on terms, a self-service one is then collected from the card
//! on file (`collection.rs`), and a refusal leaves it open and the subscription past due.
//!
//! Exactly once per (subscription, period start): the renewal order carries a unique key
//! (`one_renewal_per_period`), so a job run twice, by two workers or after a crash, finds the
//! renewal done and only finishes its collection.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::{Account, Subscription};
use crate::db::schema::{accounts, invoices, orders, subscriptions};
use crate::domain::order::ItemKind;
use crate::domain::period::Period;
use crate::domain::quote::{PricedItem, renewal_quote};
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use crate::domain::tax::tax_treatment;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::services::checkout_summary::LineView;
use crate::services::engine::{
    self, DraftItem, Engine, OrderDraft, OrderSource, Placed, Placement,
};
use crate::services::{Caller, cancellation};

/// The actor of everything time does (see `Caller::system`).
pub fn system_caller(request_id: String, now: DateTime<Utc>) -> Caller {
    Caller::system(request_id, now)
}

/// The renewal's invoice, with its lines when this call placed it (collecting it then reads
/// nothing more to show it in its events).
pub struct Renewed {
    pub invoice_id: Uuid,
    pub invoice_lines: Option<Vec<LineView>>,
}

/// 00:00 UTC of a day: when a date-driven job is due.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Renews the subscription for the period that starts on `period_end`, unless it is done or
/// no longer due. Returns the renewal's invoice when there is one (new or found).
pub async fn renew(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    subscription_id: Uuid,
    period_end: NaiveDate,
    request_id: &str,
) -> ApiResult<Option<Renewed>> {
    let at = engine.at(start_of(period_end));
    let caller = system_caller(request_id.to_owned(), start_of(period_end));
    conn.transaction(async |conn| {
        // The account and the subscription in one statement, both locked — the account's
        // row first (the join's first table), as every use case that places orders locks
        // them (DECISIONS: locks).
        let Some((account, subscription)) = accounts::table
            .inner_join(subscriptions::table)
            .filter(subscriptions::id.eq(subscription_id))
            .select((Account::as_select(), Subscription::as_select()))
            .for_no_key_update()
            .first::<(Account, Subscription)>(conn)
            .await
            .optional()?
        else {
            return Ok(None);
        };
        let billed = matches!(
            subscription.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        );
        if billed
            && subscription.cancel_at_period_end
            && subscription.cancel_at == Some(period_end)
            && subscription.current_period_end == Some(period_end)
        {
            // Canceled at its period end: it ends instead of renewing; nothing is charged.
            let ended = cancellation::end_now(
                conn,
                subscription_id,
                period_end,
                CancellationReason::Requested,
                None,
                caller.now,
            )
            .await?;
            cancellation::canceled_event(conn, &engine.catalog, &caller, &subscription, &ended)
                .await?;
            return Ok(None);
        }
        if !billed || subscription.current_period_end != Some(period_end) {
            // Renewed already (the period rolled in the renewal's transaction), or ended:
            // the renewal's invoice, if any, may still need collecting.
            return Ok(renewal_invoice(conn, subscription_id, period_end)
                .await?
                .map(|invoice_id| Renewed {
                    invoice_id,
                    invoice_lines: None,
                }));
        }
        let draft = price(&at, &account, &subscription)?;
        let placement = Placement {
            idempotency_key: format!("renewal:{subscription_id}:{period_end}"),
            fingerprint: format!("renewal:{subscription_id}:{period_end}"),
            po_number: None,
            reason: None,
            assisting: true,
        };
        match engine::place(&at, conn, &caller, &account, &draft, placement).await? {
            Placed::Completed {
                invoice_id,
                invoice_lines,
                ..
            } => Ok(Some(Renewed {
                invoice_id,
                invoice_lines: Some(invoice_lines),
            })),
            Placed::AwaitingCharge(..) => Err(internal_error(
                "renewal",
                &"a renewal order must complete in its transaction",
            )),
        }
    })
    .await
}

/// The invoice of the renewal for (subscription, period start), if it was placed.
async fn renewal_invoice(
    conn: &mut AsyncPgConnection,
    subscription_id: Uuid,
    period_start: NaiveDate,
) -> ApiResult<Option<Uuid>> {
    Ok(invoices::table
        .inner_join(orders::table.on(orders::id.eq(invoices::order_id)))
        .filter(orders::renews_subscription_id.eq(subscription_id))
        .filter(orders::quote_date.eq(period_start))
        .select(invoices::id)
        .first(conn)
        .await
        .optional()?)
}

/// The renewal as an order draft: one item, the next anchored period at the price in force
/// on its first day, tax as the account stands, the credit balance applied first.
fn price(engine: &Engine, account: &Account, subscription: &Subscription) -> ApiResult<OrderDraft> {
    let broken = |what: &str| internal_error("renewal of a subscription without a period", &what);
    let (Some(start), Some(end)) = (
        subscription.current_period_start,
        subscription.current_period_end,
    ) else {
        return Err(broken("period"));
    };
    let anchor = subscription
        .billing_anchor_day
        .and_then(|d| u32::try_from(d).ok())
        .ok_or_else(|| broken("anchor day"))?;
    let frequency = subscription.billing_frequency;
    let period = Period { start, end }.next(frequency, anchor);
    let (product, plan) = engine.catalog.plan(subscription.plan_id).ok_or_else(|| {
        internal_error(
            "subscription plan missing from catalog",
            &subscription.plan_id,
        )
    })?;
    let currency = account.currency;
    let price = plan
        .price_on(frequency, currency, period.start)
        .ok_or_else(|| {
            ApiError::new(
                crate::error::ErrorCode::Conflict,
                format!(
                    "The plan {} has no {frequency} price in {currency} on {}.",
                    plan.code, period.start
                ),
            )
        })?;
    let item_id = Uuid::now_v7();
    let item = PricedItem {
        item_id,
        product_name: product.name.clone(),
        plan_name: plan.name.clone(),
        frequency,
        quantity: subscription.quantity,
        unit_price: price.amount,
        replaced: None,
    };
    let treatment = tax_treatment(
        &engine.seller_country,
        &account.country,
        account.vat_id.is_some(),
    );
    let quote = renewal_quote(&item, period, currency, &treatment, account.credit_balance);
    let [quoted] = quote.items.as_slice() else {
        return Err(internal_error("renewal quote", &"not exactly one item"));
    };
    Ok(OrderDraft {
        source: OrderSource::Renewal(subscription.id),
        currency,
        quote_date: period.start,
        totals: quote.totals,
        items: vec![DraftItem::for_subscription(
            ItemKind::Renewal,
            item_id,
            subscription,
            quoted,
        )],
    })
}
