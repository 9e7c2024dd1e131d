//! Scheduling by data: every job is derived from what is due in the database — a period end,
//! a trial's days, a housekeeping time — and inserted with its dedupe key, so sweeping
//! again, from any number of workers at once, inserts nothing twice and no process has to
//! remember anything.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;

/// The schedules of subscriptions, each one `INSERT … SELECT … ON CONFLICT (dedupe_key) DO
/// NOTHING` with `$1` the sweep's "now" and `$2` the timeline: null for accounts in real time,
/// a test clock's id for the accounts bound to it (SPEC §15), whose jobs carry that id.
/// Date-driven jobs are due at 00:00 UTC of their day and are scheduled up to a day ahead,
/// so a worker finds them waiting when their time comes.
const SUBSCRIPTION_SCHEDULES: [&str; 6] = [
    // A renewal at each period end of a billed subscription.
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'renew_subscription', \
            'renew_subscription:' || s.id || ':' || s.current_period_end, s.id, \
            s.current_period_end::timestamp AT TIME ZONE 'UTC', \
            s.current_period_end::timestamp AT TIME ZONE 'UTC', $1, $2 \
     FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
     WHERE s.status IN ('active', 'past_due') \
       AND s.current_period_end <= ($1 AT TIME ZONE 'UTC')::date + 1 \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // The warning three days before a trial's last day (at once for a trial imported with
    // less than three days left).
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'trial_will_end', 'trial_will_end:' || s.id || ':' || s.trial_ends_on, s.id, \
            greatest((s.trial_ends_on - 3)::timestamp AT TIME ZONE 'UTC', s.created_at), \
            greatest((s.trial_ends_on - 3)::timestamp AT TIME ZONE 'UTC', s.created_at), $1, $2 \
     FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
     WHERE s.status = 'trialing' AND s.trial_ends_on - 3 <= ($1 AT TIME ZONE 'UTC')::date + 1 \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // `trial_expired` stored the day after the trial's last day.
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'expire_trial', 'expire_trial:' || s.id || ':' || s.trial_ends_on, s.id, \
            (s.trial_ends_on + 1)::timestamp AT TIME ZONE 'UTC', \
            (s.trial_ends_on + 1)::timestamp AT TIME ZONE 'UTC', $1, $2 \
     FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
     WHERE s.status = 'trialing' AND s.trial_ends_on + 1 <= ($1 AT TIME ZONE 'UTC')::date + 1 \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // Dunning: the next automatic attempt at an unpaid renewal invoice, one per attempt and
    // time (a timed-out attempt is tried again, with its own key, at the next retry day).
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'retry_payment', \
            'retry_payment:' || i.id || ':' || i.attempt_count || ':' || extract(epoch FROM i.next_payment_attempt)::bigint, i.id, \
            i.next_payment_attempt, i.next_payment_attempt, $1, $2 \
     FROM invoices i JOIN accounts a ON a.id = i.account_id \
     WHERE i.status = 'open' AND i.next_payment_attempt <= $1 + interval '1 day' \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // Dunning's end for an invoice nothing will retry (hard decline, no card).
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'end_dunning', 'end_dunning:' || i.id || ':' || i.attempt_count, i.id, \
            i.dunning_ends_at, i.dunning_ends_at, $1, $2 \
     FROM invoices i JOIN accounts a ON a.id = i.account_id \
     WHERE i.status = 'open' AND i.next_payment_attempt IS NULL \
       AND i.dunning_ends_at <= $1 + interval '1 day' \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // A corporate invoice still open the day after its due date.
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at, test_clock_id) \
     SELECT gen_random_uuid(), 'invoice_overdue', 'invoice_overdue:' || i.id, i.id, \
            (i.due_on + 1)::timestamp AT TIME ZONE 'UTC', \
            (i.due_on + 1)::timestamp AT TIME ZONE 'UTC', $1, $2 \
     FROM invoices i JOIN accounts a ON a.id = i.account_id \
     WHERE i.status = 'open' AND NOT i.collected_by_card \
       AND i.due_on + 1 <= ($1 AT TIME ZONE 'UTC')::date + 1 \
       AND a.test_clock_id IS NOT DISTINCT FROM $2 \
     ON CONFLICT (dedupe_key) DO NOTHING",
];

/// Housekeeping, in real time only; `$1` is "now".
const HOUSEKEEPING_SCHEDULES: [&str; 2] = [
    // Idempotency keys past their 24 hours (and finished jobs past a week), once a day.
    "INSERT INTO jobs (id, kind, dedupe_key, due_at, run_at, created_at) \
     SELECT gen_random_uuid(), 'purge_idempotency_keys', \
            'purge_idempotency_keys:' || ($1 AT TIME ZONE 'UTC')::date, $1, $1, $1 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // Orders a fault left pending, every minute: no instance needs a restart to recover.
    "INSERT INTO jobs (id, kind, dedupe_key, due_at, run_at, created_at) \
     SELECT gen_random_uuid(), 'recover_pending_orders', \
            'recover_pending_orders:' || to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI'), $1, $1, $1 \
     ON CONFLICT (dedupe_key) DO NOTHING",
];

/// The first instant after `$2` at which something of clock `$1`'s accounts falls due: a job
/// waiting (a retry), a period end, a trial's warning or expiry, a dunning retry or end, a
/// corporate invoice's day after its due date — the dates the schedules above turn into
/// jobs. An advance stops there next instead of walking every day.
const NEXT_DUE: &str = "SELECT min(at) AS at FROM ( \
       SELECT min(run_at) AS at FROM jobs \
        WHERE test_clock_id = $1 AND status = 'due' AND run_at > $2 \
       UNION ALL \
       SELECT min(v.day::timestamp AT TIME ZONE 'UTC') FROM ( \
         SELECT CASE WHEN s.status = 'trialing' THEN NULL ELSE s.current_period_end END AS d, \
                CASE WHEN s.status = 'trialing' THEN s.trial_ends_on - 3 END AS w, \
                CASE WHEN s.status = 'trialing' THEN s.trial_ends_on + 1 END AS e \
           FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
          WHERE a.test_clock_id = $1 AND s.status IN ('active', 'past_due', 'trialing') \
       ) dates CROSS JOIN LATERAL (VALUES (dates.d), (dates.w), (dates.e)) AS v(day) \
        WHERE v.day::timestamp AT TIME ZONE 'UTC' > $2 \
       UNION ALL \
       SELECT min(CASE WHEN i.next_payment_attempt IS NOT NULL THEN i.next_payment_attempt \
                       WHEN i.collected_by_card THEN i.dunning_ends_at \
                       ELSE (i.due_on + 1)::timestamp AT TIME ZONE 'UTC' END) \
         FROM invoices i JOIN accounts a ON a.id = i.account_id \
        WHERE a.test_clock_id = $1 AND i.status = 'open' \
          AND CASE WHEN i.next_payment_attempt IS NOT NULL THEN i.next_payment_attempt \
                   WHEN i.collected_by_card THEN i.dunning_ends_at \
                   ELSE (i.due_on + 1)::timestamp AT TIME ZONE 'UTC' END > $2 \
     ) due";

/// Inserts every job due by `now` (and date-driven ones due by tomorrow) that is not there
/// yet; returns how many were new.
pub async fn sweep(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> ApiResult<usize> {
    let mut inserted = sweep_subscriptions(conn, now, None).await?;
    for schedule in HOUSEKEEPING_SCHEDULES {
        inserted += diesel::sql_query(schedule)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// The same sweep for the accounts of one test clock, at the clock's time.
pub async fn sweep_clock(
    conn: &mut AsyncPgConnection,
    clock_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    sweep_subscriptions(conn, now, Some(clock_id)).await
}

async fn sweep_subscriptions(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    clock: Option<Uuid>,
) -> ApiResult<usize> {
    let mut inserted = 0;
    for schedule in SUBSCRIPTION_SCHEDULES {
        inserted += diesel::sql_query(schedule)
            .bind::<Timestamptz, _>(now)
            .bind::<Nullable<SqlUuid>, _>(clock)
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// When something of the clock's accounts falls due next, after `after` (see [`NEXT_DUE`]).
pub async fn next_due(
    conn: &mut AsyncPgConnection,
    clock_id: Uuid,
    after: DateTime<Utc>,
) -> ApiResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let row: Row = diesel::sql_query(NEXT_DUE)
        .bind::<SqlUuid, _>(clock_id)
        .bind::<Timestamptz, _>(after)
        .get_result(conn)
        .await?;
    Ok(row.at)
}
