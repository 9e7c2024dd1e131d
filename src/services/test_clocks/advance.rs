//! Advancing a test clock, as a job any worker may run (SPEC §15): from the clock's
//! `frozen_time` to its target, stopping at every instant something of its accounts falls
//! due — a period end, a trial's warning or expiry, a retry — sweeping and running what is
//! due there, in due order, at that instant's time, exactly as real time would have. The
//! clock's `frozen_time` is stored at each stop, so a worker that dies mid-way leaves a clock
//! that the next holder of the job moves on from where it stopped; each job it runs is
//! keyed as in real time, so nothing acts twice.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{jobs, test_clocks};
use crate::domain::job::{JobStatus, TestClockStatus};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::engine::Engine;
use crate::services::jobs::{Job, claim_for_clock, extend_lease, fail, run, succeed, sweep};

use super::TestClock;

/// Jobs claimed at once at one stop.
const BATCH: i32 = 64;

/// Runs the `advance_test_clock` job `job`, held by `worker` under `lease` (renewed at every
/// stop: an advance over two years can outlast one lease).
pub async fn run_advance(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    job: &Job,
    worker: &str,
    lease: Duration,
) -> ApiResult<()> {
    let clock_id = job
        .subject_id
        .ok_or_else(|| internal_error("advance without a clock", &job.dedupe_key))?;
    loop {
        let clock: Option<TestClock> = test_clocks::table
            .find(clock_id)
            .select(TestClock::as_select())
            .first(conn)
            .await
            .optional()?;
        let Some(target) = clock.as_ref().and_then(|c| c.advancing_to) else {
            // Deleted, or finished by an earlier holder of this job.
            succeed(conn, job, worker, engine.clock.now()).await?;
            return Ok(());
        };
        let at = clock.map_or(target, |c| c.frozen_time);
        run_due_at(engine, conn, clock_id, at, worker, lease).await?;
        let next = if at >= target {
            None
        } else {
            Some(
                sweep::next_due(conn, clock_id, at)
                    .await?
                    .map_or(target, |next| next.min(target)),
            )
        };
        let real_now = engine.clock.now();
        let finished = next.is_none();
        conn.transaction(async |conn| {
            let moved = match next {
                Some(next) => {
                    diesel::update(test_clocks::table.find(clock_id))
                        .filter(test_clocks::status.eq(TestClockStatus::Advancing))
                        .set((
                            test_clocks::frozen_time.eq(next),
                            test_clocks::updated_at.eq(real_now),
                        ))
                        .execute(conn)
                        .await?
                }
                None => {
                    diesel::update(test_clocks::table.find(clock_id))
                        .filter(test_clocks::status.eq(TestClockStatus::Advancing))
                        .set((
                            test_clocks::frozen_time.eq(target),
                            test_clocks::status.eq(TestClockStatus::Ready),
                            test_clocks::advancing_to.eq(None::<DateTime<Utc>>),
                            test_clocks::updated_at.eq(real_now),
                        ))
                        .execute(conn)
                        .await?
                }
            };
            let held = if finished {
                succeed(conn, job, worker, real_now).await?
            } else {
                extend_lease(conn, job, worker, real_now, lease).await?
            };
            if moved == 1 && held {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorCode::Conflict,
                    "the test clock's advance was taken over by another worker",
                ))
            }
        })
        .await?;
        if finished {
            return Ok(());
        }
    }
}

/// Sweeps the clock's accounts at `at` and runs every job of the clock due by then, in due
/// order, each at `at`'s time. A job that fails is recorded as in real time: retried after
/// its backoff (in the clock's time, so a later stop runs it) or parked.
async fn run_due_at(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    clock_id: Uuid,
    at: DateTime<Utc>,
    worker: &str,
    lease: Duration,
) -> ApiResult<()> {
    let engine_at = engine.at(at);
    loop {
        let swept = sweep::sweep_clock(conn, clock_id, at).await?;
        let mut ran = 0;
        loop {
            let claimed =
                claim_for_clock(conn, worker, clock_id, at, engine.clock.now(), lease, BATCH)
                    .await?;
            if claimed.is_empty() {
                break;
            }
            ran += claimed.len();
            for due in &claimed {
                match run::run(&engine_at, conn, due, worker).await {
                    Ok(()) => engine.metrics.job_run(due.kind.as_str(), "succeeded"),
                    Err(error) => {
                        tracing::warn!(job = %due.id, kind = %due.kind, attempt = due.attempts,
                                       error = %error, "test clock job failed");
                        engine.metrics.job_run(due.kind.as_str(), "failed");
                        fail(conn, due, worker, at, &error.to_string()).await?;
                    }
                }
            }
        }
        // Sweep again only when this stop's jobs may have made more due at once.
        if swept == 0 && ran == 0 {
            break;
        }
    }
    // A job of the clock still held by a worker that stopped must finish before the clock
    // moves past it; its lease expires and the next try of the advance takes it over.
    let held_elsewhere: i64 = jobs::table
        .filter(jobs::test_clock_id.eq(clock_id))
        .filter(jobs::status.eq(JobStatus::Running))
        .count()
        .get_result(conn)
        .await?;
    if held_elsewhere > 0 {
        return Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            "a job of this test clock is held by another worker; the advance resumes after its lease",
        ));
    }
    Ok(())
}
