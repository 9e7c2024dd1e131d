//! Collecting an open invoice from the card on file (SPEC §13): a self-service renewal now,
//! dunning retries and `POST …/invoices/{id}/pay` next. One attempt:
//!
//! 1. read the invoice and the account's card (no lock held while charging);
//! 2. charge outside any transaction with the key `<invoice id>:attempt:<n>`, where n is the
//!    attempt being made — a crash before step 3 makes the next try the same attempt with the
//!    same key, so the gateway answers with the first charge instead of charging again;
//! 3. in one transaction, only if the invoice is still open at that attempt: paid (and its
//!    subscription active again when nothing else is overdue), or the refusal recorded and the
//!    subscription past due. No card on file is a refusal without a charge.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::db::models::{Invoice, Subscription};
use crate::db::schema::{accounts, invoices, orders, subscriptions};
use crate::domain::catalog::Catalog;
use crate::domain::dunning;
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;
use crate::domain::order::InvoiceStatus;
use crate::domain::subscription::SubscriptionStatus;
use crate::error::ApiResult;
use crate::payments::ChargeError;
use crate::services::Caller;
use crate::services::audit::{self, Event, Notify};
use crate::services::checkout_summary::LineView;
use crate::services::engine::Engine;
use crate::services::invoice_payments::PaymentView;
use crate::services::orders::{build_invoice_view, invoice_view};
use crate::services::subscription_view;

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    Paid,
    /// Refused: `code` is the gateway's reason (`card_declined`, `insufficient_funds`…) or
    /// `no_payment_method`.
    Refused {
        code: String,
    },
    /// The gateway did not answer: nothing recorded, retry the same attempt.
    Unavailable,
    /// Not open any more (paid, or settled by another attempt meanwhile).
    NotOpen,
}

/// One attempt at collecting `invoice_id` from the card on file. Automatic collection
/// (renewals, dunning retries) takes only self-service invoices collected by card;
/// `explicit` (`POST …/invoices/{id}/pay`) takes any open invoice.
pub async fn collect(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    invoice_id: Uuid,
    explicit: bool,
) -> ApiResult<Collected> {
    attempt(engine, conn, caller, invoice_id, explicit, None).await
}

/// Collects an invoice just issued, whose lines are known (`None`: read them) and which has
/// no payments yet: a renewal's.
pub async fn collect_new(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    invoice_id: Uuid,
    lines: Option<Vec<LineView>>,
) -> ApiResult<Collected> {
    let parts = lines.map(|lines| InvoiceParts {
        lines,
        payments: Vec::new(),
    });
    attempt(engine, conn, caller, invoice_id, false, parts).await
}

async fn attempt(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    invoice_id: Uuid,
    explicit: bool,
    parts: Option<InvoiceParts>,
) -> ApiResult<Collected> {
    // The invoice, the card on file, and the subscription the invoice renews as it stands.
    let (invoice, card, renews, renews_status): (
        Invoice,
        Option<String>,
        Option<Uuid>,
        Option<SubscriptionStatus>,
    ) = invoices::table
        .inner_join(accounts::table)
        .inner_join(orders::table.on(orders::id.eq(invoices::order_id)))
        .left_join(
            subscriptions::table.on(subscriptions::id
                .nullable()
                .eq(orders::renews_subscription_id)),
        )
        .filter(invoices::id.eq(invoice_id))
        .select((
            Invoice::as_select(),
            accounts::payment_method_ref,
            orders::renews_subscription_id,
            subscriptions::status.nullable(),
        ))
        .first(conn)
        .await?;
    if invoice.status != InvoiceStatus::Open || !(invoice.collected_by_card || explicit) {
        return Ok(Collected::NotOpen);
    }
    let attempt = invoice.attempt_count + 1;
    let outcome = match card {
        None => Err(ChargeError::Declined {
            reason: "no_payment_method".to_owned(),
        }),
        Some(card) => {
            engine
                .gateway
                .charge(
                    &card,
                    outstanding(&invoice),
                    invoice.currency,
                    &format!("{invoice_id}:attempt:{attempt}"),
                )
                .await
        }
    };
    // A gateway that does not answer: a `pay` request says so (503); automatic collection
    // records it as a soft decline (SPEC §13) whose next try reuses this attempt's payment
    // key, so a charge that went through unseen is answered, not made twice.
    let refusal = match &outcome {
        Ok(_) => None,
        Err(ChargeError::Declined { reason }) => Some((reason.clone(), attempt)),
        Err(ChargeError::Unavailable(why)) => {
            tracing::warn!(invoice = %invoice_id, attempt, error = %why, "card collection: gateway unavailable");
            if explicit || !invoice.collected_by_card {
                return Ok(Collected::Unavailable);
            }
            Some((GATEWAY_TIMEOUT.to_owned(), attempt - 1))
        }
    };
    let now = caller.now;
    // Recorded only if the invoice is still open at this attempt: another attempt that got
    // there first (a retry racing a new card) leaves this one nothing to record.
    let still_this_attempt = invoices::id
        .eq(invoice_id)
        .and(invoices::status.eq(InvoiceStatus::Open))
        .and(invoices::attempt_count.eq(attempt - 1));
    conn.transaction(async |conn| {
        match &outcome {
            Ok(charge) => {
                let Some(current) = diesel::update(invoices::table)
                    .filter(still_this_attempt)
                    .set((
                        invoices::status.eq(InvoiceStatus::Paid),
                        invoices::paid_at.eq(Some(now)),
                        invoices::amount_paid.eq(invoices::total_due),
                        invoices::charge_id.eq(Some(&charge.charge_id)),
                        invoices::attempt_count.eq(attempt),
                        invoices::next_payment_attempt.eq(None::<DateTime<Utc>>),
                    ))
                    .returning(Invoice::as_returning())
                    .get_result::<Invoice>(conn)
                    .await
                    .optional()?
                else {
                    return Ok(Collected::NotOpen);
                };
                // Only a past-due subscription has anything to return to.
                if let (Some(subscription_id), Some(SubscriptionStatus::PastDue)) =
                    (renews, renews_status)
                {
                    back_to_active_if_settled(conn, &engine.catalog, caller, subscription_id)
                        .await?;
                }
                record(
                    conn,
                    caller,
                    (&invoice, &current),
                    EventType::InvoicePaid,
                    parts,
                )
                .await?;
                Ok(Collected::Paid)
            }
            Err(_) => {
                let Some((reason, recorded_attempt)) = &refusal else {
                    return Ok(Collected::Unavailable);
                };
                let error = json!({"code": reason, "message": refusal_message(reason)});
                // Dunning's calendar, for the self-service invoices it collects.
                let first_failed = invoice.first_failed_at.unwrap_or(now);
                let schedule = invoice
                    .collected_by_card
                    .then(|| dunning::after_refusal(&engine.retry_days, first_failed, now, reason));
                let Some(current) = diesel::update(invoices::table)
                    .filter(still_this_attempt)
                    .set((
                        invoices::attempt_count.eq(*recorded_attempt),
                        invoices::last_payment_error.eq(Some(&error)),
                        invoices::first_failed_at.eq(Some(first_failed)),
                        invoices::next_payment_attempt.eq(schedule.and_then(|s| s.next_attempt)),
                        invoices::dunning_ends_at.eq(schedule.map(|s| s.ends_at)),
                    ))
                    .returning(Invoice::as_returning())
                    .get_result::<Invoice>(conn)
                    .await
                    .optional()?
                else {
                    return Ok(Collected::NotOpen);
                };
                record(
                    conn,
                    caller,
                    (&invoice, &current),
                    EventType::InvoicePaymentFailed,
                    parts,
                )
                .await?;
                // Only a card-collected renewal is dunned; a corporate invoice paid by card
                // on request stays on its terms.
                if let (Some(subscription_id), true) = (renews, invoice.collected_by_card) {
                    if schedule.is_some_and(|s| s.give_up) {
                        crate::services::dunning::give_up(
                            conn,
                            &engine.catalog,
                            caller,
                            &current,
                            Some(subscription_id),
                        )
                        .await?;
                    } else {
                        mark_past_due(conn, &engine.catalog, caller, subscription_id).await?;
                    }
                }
                Ok(Collected::Refused {
                    code: reason.clone(),
                })
            }
        }
    })
    .await
}

/// A past-due subscription is active again once none of its renewal invoices is overdue:
/// open and collected by card (dunning), or open past its due date (corporate terms).
pub async fn back_to_active_if_settled(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    subscription_id: Uuid,
) -> ApiResult<()> {
    let overdue = invoices::table
        .inner_join(orders::table.on(orders::id.eq(invoices::order_id)))
        .filter(invoices::status.eq(InvoiceStatus::Open))
        .filter(
            invoices::collected_by_card
                .eq(true)
                .or(invoices::due_on.lt(caller.today())),
        )
        .filter(orders::renews_subscription_id.eq(subscription_id))
        .select(invoices::id);
    let active: Option<Subscription> = diesel::update(subscriptions::table.find(subscription_id))
        .filter(subscriptions::status.eq(SubscriptionStatus::PastDue))
        .filter(diesel::dsl::not(diesel::dsl::exists(overdue)))
        .set((
            subscriptions::status.eq(SubscriptionStatus::Active),
            subscriptions::version.eq(subscriptions::version + 1),
            subscriptions::updated_at.eq(caller.now),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(active) = active {
        // The update changed its status and version only.
        let before = Subscription {
            status: SubscriptionStatus::PastDue,
            version: active.version - 1,
            ..active.clone()
        };
        subscription_event(
            conn,
            catalog,
            caller,
            &before,
            &active,
            EventType::SubscriptionUpdated,
        )
        .await?;
    }
    Ok(())
}

/// An active subscription whose renewal is unpaid becomes `past_due`, with its event.
pub async fn mark_past_due(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    subscription_id: Uuid,
) -> ApiResult<()> {
    let past_due: Option<Subscription> = diesel::update(subscriptions::table.find(subscription_id))
        .filter(subscriptions::status.eq(SubscriptionStatus::Active))
        .set((
            subscriptions::status.eq(SubscriptionStatus::PastDue),
            subscriptions::version.eq(subscriptions::version + 1),
            subscriptions::updated_at.eq(caller.now),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(past_due) = past_due {
        // The update changed its status and version only.
        let before = Subscription {
            status: SubscriptionStatus::Active,
            version: past_due.version - 1,
            ..past_due.clone()
        };
        subscription_event(
            conn,
            catalog,
            caller,
            &before,
            &past_due,
            EventType::SubscriptionPastDue,
        )
        .await?;
    }
    Ok(())
}

async fn subscription_event(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    before: &Subscription,
    after: &Subscription,
    event_type: EventType,
) -> ApiResult<()> {
    let (before, after_object) =
        subscription_view::before_and_after(conn, catalog, before, after, caller.today()).await?;
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(after.account_id),
            event_type,
            subject_type: "subscription",
            subject_id: Some(after.id),
            before,
            after: after_object,
            reason: None,
            notify: None,
        },
    )
    .await
}

/// The code a gateway that did not answer is recorded with (a soft decline).
pub const GATEWAY_TIMEOUT: &str = "gateway_timeout";

fn refusal_message(code: &str) -> &'static str {
    match code {
        GATEWAY_TIMEOUT => "The payment gateway did not answer; the charge is tried again.",
        "no_payment_method" => "No card is on file: attach one to pay this invoice.",
        "insufficient_funds" => "The card has insufficient funds.",
        _ => "The card was declined.",
    }
}

/// An invoice's lines and payments: with its row, its view.
pub struct InvoiceParts {
    pub lines: Vec<LineView>,
    pub payments: Vec<PaymentView>,
}

/// An invoice event, with the invoice as the API shows it before and after the change. Its
/// lines and payments are read unless given (`parts`).
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    (before, after): (&Invoice, &Invoice),
    event_type: EventType,
    parts: Option<InvoiceParts>,
) -> ApiResult<()> {
    let parts = match parts {
        Some(parts) => parts,
        None => {
            let view = invoice_view(conn, after.clone()).await?;
            InvoiceParts {
                lines: view.lines,
                payments: view.payments,
            }
        }
    };
    let before_view =
        build_invoice_view(before.clone(), parts.lines.clone(), parts.payments.clone());
    let after_view = build_invoice_view(after.clone(), parts.lines, parts.payments);
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(after.account_id),
            event_type,
            subject_type: "invoice",
            subject_id: Some(after.id),
            before: audit::snapshot(&before_view),
            after: audit::snapshot(&after_view),
            reason: None,
            notify: collection_notice(event_type, before, after),
        },
    )
    .await
}

/// The mail of a card collection (SPEC §16): the receipt of a renewal paid from the card on
/// file, or the notice of its first failure (with the next try's date), not one per retry.
fn collection_notice(event_type: EventType, before: &Invoice, after: &Invoice) -> Option<Notify> {
    if !after.collected_by_card {
        return None;
    }
    match event_type {
        EventType::InvoicePaid => Some(Notify::of(NotificationTemplate::RenewalReceipt, after.id)),
        EventType::InvoicePaymentFailed if before.first_failed_at.is_none() => {
            Some(Notify::of(NotificationTemplate::PaymentFailed, after.id))
        }
        _ => None,
    }
}

/// What is left to pay on an invoice.
pub fn outstanding(invoice: &Invoice) -> Decimal {
    invoice.total_due - invoice.amount_paid
}
