//! Scheduling by data: every job is derived from what is due in the database — a period end,
//! a trial's days, a housekeeping time — and inserted with its dedupe key, so sweeping
//! again, from any number of workers at once, inserts nothing twice and no process has to
//! remember anything.

use chrono::{DateTime, Utc};
use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::ApiResult;

/// The schedules, each one `INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING` with `$1`
/// the sweep's "now". Date-driven jobs are due at 00:00 UTC of their day and are scheduled
/// up to a day ahead, so a worker finds them waiting when their time comes.
const SCHEDULES: [&str; 5] = [
    // A renewal at each period end of a billed subscription.
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at) \
     SELECT gen_random_uuid(), 'renew_subscription', \
            'renew_subscription:' || id || ':' || current_period_end, id, \
            current_period_end::timestamp AT TIME ZONE 'UTC', \
            current_period_end::timestamp AT TIME ZONE 'UTC', $1 \
     FROM subscriptions \
     WHERE status IN ('active', 'past_due') \
       AND current_period_end <= ($1 AT TIME ZONE 'UTC')::date + 1 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // The warning three days before a trial's last day (at once for a trial imported with
    // less than three days left).
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at) \
     SELECT gen_random_uuid(), 'trial_will_end', 'trial_will_end:' || id || ':' || trial_ends_on, id, \
            greatest((trial_ends_on - 3)::timestamp AT TIME ZONE 'UTC', created_at), \
            greatest((trial_ends_on - 3)::timestamp AT TIME ZONE 'UTC', created_at), $1 \
     FROM subscriptions \
     WHERE status = 'trialing' AND trial_ends_on - 3 <= ($1 AT TIME ZONE 'UTC')::date + 1 \
     ON CONFLICT (dedupe_key) DO NOTHING",
    // `trial_expired` stored the day after the trial's last day.
    "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at) \
     SELECT gen_random_uuid(), 'expire_trial', 'expire_trial:' || id || ':' || trial_ends_on, id, \
            (trial_ends_on + 1)::timestamp AT TIME ZONE 'UTC', \
            (trial_ends_on + 1)::timestamp AT TIME ZONE 'UTC', $1 \
     FROM subscriptions \
     WHERE status = 'trialing' AND trial_ends_on + 1 <= ($1 AT TIME ZONE 'UTC')::date + 1 \
     ON CONFLICT (dedupe_key) DO NOTHING",
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

/// Inserts every job due by `now` (and date-driven ones due by tomorrow) that is not there
/// yet; returns how many were new.
pub async fn sweep(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> ApiResult<usize> {
    let mut inserted = 0;
    for schedule in SCHEDULES {
        inserted += diesel::sql_query(schedule)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}
