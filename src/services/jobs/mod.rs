//! Background work as data (SPEC §17): a job is a row of `jobs` with a unique dedupe key, a
//! due time, attempts and a lease. Any number of workers, on any number of instances, claim
//! due jobs with `FOR UPDATE SKIP LOCKED`, each under a lease (`JOB_LEASE_SECONDS`); a job
//! whose worker died is claimed again when its lease has passed. Every effect of a job is
//! keyed (the renewal order per subscription and period, the payment key per invoice and
//! attempt), so a job run twice acts once. A failure is retried with backoff and parked as
//! `failed`, with its error, after [`MAX_ATTEMPTS`].
//!
//! - `sweep.rs` turns due data (period ends, trial ends, housekeeping times) into jobs,
//!   idempotently: `INSERT … ON CONFLICT (dedupe_key) DO NOTHING`.
//! - `run.rs` does one job of each kind.
//! - `worker.rs` is the loop `serve` and `billing-center worker` run.

pub mod admin;
pub mod run;
pub mod sweep;
pub mod worker;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::jobs;
use crate::error::ApiResult;

pub use crate::domain::job::{JobKind, JobStatus};

/// After this many attempts a failing job is parked as `failed`.
pub const MAX_ATTEMPTS: i32 = 8;

/// A claimed job.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub dedupe_key: String,
    pub subject_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
    pub status: JobStatus,
    pub attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The test clock whose time the job is due in; only that clock's advance runs it.
    pub test_clock_id: Option<Uuid>,
}

/// Claims up to `limit` jobs due at `now`, in due order, for `worker`, for `lease`. Rows
/// another worker is claiming are skipped, not waited for. The index on `(run_at, id)` of
/// due jobs gives them in order without reading the rest of a backlog.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i32,
) -> ApiResult<Vec<Job>> {
    claim_where(
        conn,
        "status = 'due' AND run_at <= $1 ORDER BY run_at, id",
        worker,
        now,
        lease,
        limit,
    )
    .await
}

/// Claims up to `limit` jobs still `running` under a lease that has passed: their worker
/// died (or stalled), and they are taken over. Asked once per round, not per batch: the
/// running jobs' index carries every claim of a busy round until it is vacuumed.
pub async fn claim_lapsed(
    conn: &mut AsyncPgConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i32,
) -> ApiResult<Vec<Job>> {
    claim_where(
        conn,
        "status = 'running' AND locked_until <= $1 ORDER BY run_at, id",
        worker,
        now,
        lease,
        limit,
    )
    .await
}

async fn claim_where(
    conn: &mut AsyncPgConnection,
    which: &str,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i32,
) -> ApiResult<Vec<Job>> {
    let mut claimed: Vec<Job> = diesel::sql_query(format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE test_clock_id IS NULL AND {which} \
                      LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING *"
    ))
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + lease)
    .bind::<Text, _>(worker)
    .bind::<Integer, _>(limit)
    .load(conn)
    .await?;
    claimed.sort_by_key(|job| (job.run_at, job.id));
    Ok(claimed)
}

/// Claims up to `limit` jobs of a test clock's accounts due by `due_by` (the clock's time),
/// in due order, for the worker advancing it. Leases are real time (`now`): they are about
/// workers that die, not about the simulated calendar.
pub async fn claim_for_clock(
    conn: &mut AsyncPgConnection,
    worker: &str,
    clock_id: Uuid,
    due_by: DateTime<Utc>,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i32,
) -> ApiResult<Vec<Job>> {
    let mut claimed: Vec<Job> = diesel::sql_query(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $3, locked_by = $4 \
         WHERE id IN (SELECT id FROM jobs \
                      WHERE test_clock_id = $1 \
                        AND ((status = 'due' AND run_at <= $2) \
                             OR (status = 'running' AND locked_until <= $5)) \
                      ORDER BY run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind::<diesel::sql_types::Uuid, _>(clock_id)
    .bind::<Timestamptz, _>(due_by)
    .bind::<Timestamptz, _>(now + lease)
    .bind::<Text, _>(worker)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(limit)
    .load(conn)
    .await?;
    claimed.sort_by_key(|job| (job.run_at, job.id));
    Ok(claimed)
}

/// Keeps a long job (a test clock's advance) the worker's for another `lease`; false when
/// another worker has taken it over meanwhile.
pub async fn extend_lease(
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
) -> ApiResult<bool> {
    let updated = diesel::update(jobs::table.find(job.id))
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::locked_by.eq(worker))
        .filter(jobs::attempts.eq(job.attempts))
        .set(jobs::locked_until.eq(Some(now + lease)))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Marks a job done — only while `worker` still holds it, so a worker whose lease passed
/// cannot overwrite the outcome of the one that took over.
pub async fn succeed(
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let updated = diesel::update(jobs::table.find(job.id))
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::locked_by.eq(worker))
        .filter(jobs::attempts.eq(job.attempts))
        .set((
            jobs::status.eq(JobStatus::Succeeded),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::finished_at.eq(Some(now)),
            jobs::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Records a failure: due again after a backoff, or parked as `failed` after the last
/// attempt.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
    now: DateTime<Utc>,
    error: &str,
) -> ApiResult<()> {
    let parked = job.attempts >= MAX_ATTEMPTS;
    diesel::update(jobs::table.find(job.id))
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::locked_by.eq(worker))
        .filter(jobs::attempts.eq(job.attempts))
        .set((
            jobs::status.eq(if parked {
                JobStatus::Failed
            } else {
                JobStatus::Due
            }),
            jobs::run_at.eq(now + backoff(job.attempts)),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::finished_at.eq(parked.then_some(now)),
            jobs::last_error.eq(Some(error.chars().take(2000).collect::<String>())),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// 10 s, 20 s, 40 s … doubling after each failed attempt, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::seconds((10_i64 << exponent).min(3600))
}

/// Due, running and failed jobs, and how long the oldest due one has waited (`/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobStats {
    pub due: i64,
    pub running: i64,
    pub failed: i64,
    pub oldest_due_seconds: f64,
}

pub async fn stats(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> ApiResult<JobStats> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        due: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        running: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        failed: i64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        oldest_due_seconds: f64,
    }
    let row: Row = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE status = 'due' AND run_at <= $1) AS due, \
                count(*) FILTER (WHERE status = 'running') AS running, \
                count(*) FILTER (WHERE status = 'failed') AS failed, \
                coalesce(extract(epoch FROM $1 - min(run_at) FILTER (WHERE status = 'due' AND run_at <= $1)), 0)::float8 \
                  AS oldest_due_seconds \
         FROM jobs WHERE status <> 'succeeded' AND (test_clock_id IS NULL OR status <> 'due')",
    )
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(JobStats {
        due: row.due,
        running: row.running,
        failed: row.failed,
        oldest_due_seconds: row.oldest_due_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let seconds: Vec<i64> = (1..=11).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(
            seconds,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
    }
}
