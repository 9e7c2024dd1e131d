//! Dunning (SPEC §13): what follows a renewal that could not be collected. The calendar is
//! `domain::dunning`; here are its jobs and its end.
//!
//! - `retry_payment` (scheduled at the invoice's `next_payment_attempt`, or at once when a
//!   card is attached) collects the invoice again — the attempt's payment key makes a retry
//!   racing a new card charge once;
//! - `end_dunning` ends a subscription whose invoice nothing will retry (hard decline, no
//!   card) once the last retry day has passed;
//! - `invoice_overdue` makes a corporate subscription `past_due` the day after its renewal
//!   invoice's due date.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::{Invoice, Subscription};
use crate::db::schema::{invoices, orders, subscriptions};
use crate::domain::catalog::Catalog;
use crate::domain::event::EventType;
use crate::domain::order::InvoiceStatus;
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use crate::error::ApiResult;
use crate::services::Caller;
use crate::services::cancellation::{canceled_event, end_now};
use crate::services::collection::{self, Collected, mark_past_due};
use crate::services::engine::Engine;
use crate::services::jobs::Job;

/// Dunning is over: the invoice is `uncollectible` and the subscription it renews ends
/// (`payment_failed`), its licence assignments with it. In the caller's transaction.
pub async fn give_up(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    invoice: &Invoice,
    subscription_id: Option<Uuid>,
) -> ApiResult<()> {
    let closed: Option<Invoice> = diesel::update(invoices::table.find(invoice.id))
        .filter(invoices::status.eq(InvoiceStatus::Open))
        .set((
            invoices::status.eq(InvoiceStatus::Uncollectible),
            invoices::next_payment_attempt.eq(None::<DateTime<Utc>>),
        ))
        .returning(Invoice::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    let Some(closed) = closed else {
        return Ok(());
    };
    collection::record(
        conn,
        caller,
        (invoice, &closed),
        EventType::InvoiceUncollectible,
        None,
    )
    .await?;
    let Some(subscription_id) = subscription_id else {
        return Ok(());
    };
    let before: Subscription = subscriptions::table
        .find(subscription_id)
        .select(Subscription::as_select())
        .for_no_key_update()
        .first(conn)
        .await?;
    if matches!(
        before.status,
        SubscriptionStatus::Active | SubscriptionStatus::PastDue
    ) {
        let ended = end_now(
            conn,
            subscription_id,
            caller.today(),
            CancellationReason::PaymentFailed,
            None,
            caller.now,
        )
        .await?;
        canceled_event(conn, catalog, caller, &before, &ended).await?;
    }
    Ok(())
}

/// A `retry_payment` job: one more attempt, unless the invoice moved on since it was
/// scheduled (paid, or retried meanwhile). A scheduled retry runs only while it is still
/// the invoice's `next_payment_attempt`; a new card's retry runs whatever the calendar says.
pub async fn retry(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    job: &Job,
    caller: &Caller,
    invoice_id: Uuid,
) -> ApiResult<Collected> {
    let on_new_card = job.dedupe_key.contains(":card:");
    if !on_new_card {
        let next: Option<Option<DateTime<Utc>>> = invoices::table
            .find(invoice_id)
            .select(invoices::next_payment_attempt)
            .first(conn)
            .await
            .optional()?;
        if next.flatten() != Some(job.due_at) {
            return Ok(Collected::NotOpen);
        }
    }
    collection::collect(engine, conn, caller, invoice_id, false).await
}

/// An `end_dunning` job: ends the invoice's subscription if the invoice is still unpaid,
/// nothing is scheduled to retry it, and its last day has come.
pub async fn end(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    invoice_id: Uuid,
) -> ApiResult<()> {
    conn.transaction(async |conn| {
        let found: Option<(Invoice, Option<Uuid>)> = invoices::table
            .inner_join(orders::table.on(orders::id.eq(invoices::order_id)))
            .filter(invoices::id.eq(invoice_id))
            .select((Invoice::as_select(), orders::renews_subscription_id))
            .for_no_key_update()
            .first(conn)
            .await
            .optional()?;
        let Some((invoice, subscription_id)) = found else {
            return Ok(());
        };
        let due = invoice.status == InvoiceStatus::Open
            && invoice.collected_by_card
            && invoice.next_payment_attempt.is_none()
            && invoice.dunning_ends_at.is_some_and(|at| at <= caller.now);
        if due {
            give_up(conn, catalog, caller, &invoice, subscription_id).await?;
        }
        Ok(())
    })
    .await
}

/// An `invoice_overdue` job: a corporate renewal invoice still open the day after its due
/// date makes its subscription `past_due` (never canceled automatically: the
/// representative decides).
pub async fn overdue(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    caller: &Caller,
    invoice_id: Uuid,
) -> ApiResult<()> {
    conn.transaction(async |conn| {
        let found: Option<(InvoiceStatus, chrono::NaiveDate, Option<Uuid>)> = invoices::table
            .inner_join(orders::table.on(orders::id.eq(invoices::order_id)))
            .filter(invoices::id.eq(invoice_id))
            .select((
                invoices::status,
                invoices::due_on,
                orders::renews_subscription_id,
            ))
            .first(conn)
            .await
            .optional()?;
        if let Some((InvoiceStatus::Open, due_on, Some(subscription_id))) = found
            && due_on < caller.today()
        {
            mark_past_due(conn, catalog, caller, subscription_id).await?;
        }
        Ok(())
    })
    .await
}

/// A new card retries every past-due invoice of the account at once (SPEC §13): one job
/// per invoice and card, in the transaction that attaches the card; the request does not
/// wait for the charge.
pub async fn retry_on_new_card(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    account_version: i32,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    Ok(diesel::sql_query(
        "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
         SELECT gen_random_uuid(), 'retry_payment', \
                'retry_payment:' || i.id || ':card:' || $3, i.id, $2, $2, $2, a.test_clock_id \
         FROM invoices i JOIN accounts a ON a.id = i.account_id \
         WHERE i.account_id = $1 AND i.status = 'open' AND i.collected_by_card \
           AND i.attempt_count > 0 \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<SqlUuid, _>(account_id)
    .bind::<Timestamptz, _>(now)
    .bind::<diesel::sql_types::Integer, _>(account_version)
    .execute(conn)
    .await?)
}
