//! One job of each kind. A job whose whole effect is in the database does it in the same
//! transaction that marks the job done, so it happens exactly once even if its worker dies
//! right after; the renewal's effects are keyed instead (the renewal order per period, the
//! payment key per attempt), since its card charge cannot share a transaction.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{Job, JobKind, succeed};
use crate::db::models::Subscription;
use crate::db::schema::{caller_idempotency_keys, idempotency_keys, jobs, subscriptions};
use crate::domain::event::EventType;
use crate::domain::job::JobStatus;
use crate::domain::notification::NotificationTemplate;
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use crate::error::{ApiError, ApiResult, internal_error};
use crate::services::audit::{self, Event, Notify};
use crate::services::collection::{self, Collected};
use crate::services::engine::{Engine, recovery};
use crate::services::renewals::{self, system_caller};
use crate::services::subscription_view;
use crate::services::{cancellation, dunning};

/// How long an idempotency key is kept after its request completed (SPEC §5: at least 24 h).
const KEY_RETENTION: Duration = Duration::hours(24);
/// How long a finished job row is kept (its dedupe key has done its work by then).
const JOB_RETENTION: Duration = Duration::days(7);

/// Runs a claimed job and marks it done; an error leaves it to the caller to record.
pub async fn run(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
) -> ApiResult<()> {
    let request_id = format!("job-{}-{}", job.id, job.attempts);
    let now = engine.clock.now();
    match job.kind {
        JobKind::RenewSubscription => {
            let subscription_id = subject(job)?;
            let period_end = job.due_at.date_naive();
            let renewed =
                renewals::renew(engine, conn, subscription_id, period_end, &request_id).await?;
            if let Some(renewed) = renewed {
                let at = engine.at(job.due_at);
                let caller = system_caller(request_id, job.due_at);
                if collection::collect_new(
                    &at,
                    conn,
                    &caller,
                    renewed.invoice_id,
                    renewed.invoice_lines,
                )
                .await?
                    == Collected::Unavailable
                {
                    // Retried with backoff; the same attempt keeps the same payment key.
                    return Err(ApiError::unavailable());
                }
            }
            succeed(conn, job, worker, now).await?;
        }
        JobKind::TrialWillEnd => {
            let subscription_id = subject(job)?;
            conn.transaction(async |conn| {
                let subscription = load(conn, subscription_id).await?;
                if subscription.status == SubscriptionStatus::Trialing {
                    let caller = system_caller(request_id.clone(), job.due_at);
                    let kind =
                        subscription_view::account_kind(conn, subscription.account_id).await?;
                    let object = subscription_view::object(
                        &engine.catalog,
                        kind,
                        &subscription,
                        caller.today(),
                    )?;
                    audit::record_all(
                        conn,
                        &caller,
                        vec![Event {
                            account_id: Some(subscription.account_id),
                            event_type: EventType::SubscriptionTrialWillEnd,
                            subject_type: "subscription",
                            subject_id: Some(subscription.id),
                            before: None,
                            after: object,
                            reason: None,
                            notify: Some(Notify::of(
                                NotificationTemplate::TrialEnding,
                                format!(
                                    "{}:{}",
                                    subscription.id,
                                    subscription.trial_ends_on.unwrap_or_default()
                                ),
                            )),
                        }],
                    )
                    .await?;
                }
                still_held(conn, job, worker, now).await
            })
            .await?;
        }
        JobKind::ExpireTrial => {
            let subscription_id = subject(job)?;
            conn.transaction(async |conn| {
                let last_day = job.due_at.date_naive() - Duration::days(1);
                let trial = load(conn, subscription_id).await?;
                if trial.status == SubscriptionStatus::Trialing
                    && trial.trial_ends_on == Some(last_day)
                {
                    let caller = system_caller(request_id.clone(), job.due_at);
                    if trial.cancel_at_period_end {
                        // Canceled at the trial's end: it ends instead of expiring.
                        let ended = cancellation::end_now(
                            conn,
                            subscription_id,
                            job.due_at.date_naive(),
                            CancellationReason::Requested,
                            None,
                            job.due_at,
                        )
                        .await?;
                        cancellation::canceled_event(
                            conn,
                            &engine.catalog,
                            &caller,
                            &trial,
                            &ended,
                        )
                        .await?;
                    } else {
                        let expired: Subscription =
                            diesel::update(subscriptions::table.find(subscription_id))
                                .set((
                                    subscriptions::status.eq(SubscriptionStatus::TrialExpired),
                                    subscriptions::version.eq(subscriptions::version + 1),
                                    subscriptions::updated_at.eq(job.due_at),
                                ))
                                .returning(Subscription::as_returning())
                                .get_result(conn)
                                .await?;
                        let (before, after) = subscription_view::before_and_after(
                            conn,
                            &engine.catalog,
                            &trial,
                            &expired,
                            caller.today(),
                        )
                        .await?;
                        audit::record_all(
                            conn,
                            &caller,
                            vec![Event {
                                account_id: Some(expired.account_id),
                                event_type: EventType::SubscriptionTrialExpired,
                                subject_type: "subscription",
                                subject_id: Some(expired.id),
                                before,
                                after,
                                reason: None,
                                notify: None,
                            }],
                        )
                        .await?;
                    }
                }
                still_held(conn, job, worker, now).await
            })
            .await?;
        }
        JobKind::RetryPayment => {
            let invoice_id = subject(job)?;
            let caller = system_caller(request_id, job.due_at);
            if dunning::retry(&engine.at(job.due_at), conn, job, &caller, invoice_id).await?
                == Collected::Unavailable
            {
                return Err(ApiError::unavailable());
            }
            succeed(conn, job, worker, now).await?;
        }
        JobKind::EndDunning => {
            let caller = system_caller(request_id, job.due_at);
            dunning::end(conn, &engine.catalog, &caller, subject(job)?).await?;
            succeed(conn, job, worker, now).await?;
        }
        JobKind::InvoiceOverdue => {
            let caller = system_caller(request_id, job.due_at);
            dunning::overdue(conn, &engine.catalog, &caller, subject(job)?).await?;
            succeed(conn, job, worker, now).await?;
        }
        JobKind::PurgeIdempotencyKeys => {
            conn.transaction(async |conn| {
                let cutoff = now - KEY_RETENTION;
                // A key still leasing a pending order is kept: recovery settles through it.
                diesel::delete(idempotency_keys::table)
                    .filter(idempotency_keys::completed_at.lt(cutoff))
                    .execute(conn)
                    .await?;
                diesel::delete(caller_idempotency_keys::table)
                    .filter(caller_idempotency_keys::created_at.lt(cutoff))
                    .execute(conn)
                    .await?;
                diesel::delete(jobs::table)
                    .filter(jobs::status.eq(JobStatus::Succeeded))
                    .filter(jobs::finished_at.lt(now - JOB_RETENTION))
                    .execute(conn)
                    .await?;
                still_held(conn, job, worker, now).await
            })
            .await?;
        }
        JobKind::RecoverPendingOrders => {
            recovery::recover_pending_orders(engine).await?;
            succeed(conn, job, worker, now).await?;
        }
        JobKind::AdvanceTestClock => {
            // It runs other jobs: the worker runs it (`test_clocks::advance`), never here.
            return Err(internal_error(
                "advance run as a plain job",
                &job.dedupe_key,
            ));
        }
    }
    Ok(())
}

/// Marks the job done inside the transaction of its effect: both or neither. A worker that
/// lost its lease meanwhile rolls its effect back.
async fn still_held(
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if succeed(conn, job, worker, now).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            crate::error::ErrorCode::Conflict,
            "the job was taken over by another worker",
        ))
    }
}

fn subject(job: &Job) -> ApiResult<uuid::Uuid> {
    job.subject_id
        .ok_or_else(|| internal_error("job without a subject", &job.dedupe_key))
}

async fn load(
    conn: &mut AsyncPgConnection,
    subscription_id: uuid::Uuid,
) -> ApiResult<Subscription> {
    Ok(subscriptions::table
        .find(subscription_id)
        .select(Subscription::as_select())
        .for_no_key_update()
        .first(conn)
        .await?)
}
