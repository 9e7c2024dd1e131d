//! The worker: sweep what is due into jobs, claim them, run them, record failures — on every
//! instance at once (`serve` runs it unless `JOBS=off`; `billing-center worker` runs only
//! it). Nothing is remembered between rounds: the jobs table is the whole state.

use std::collections::BTreeMap;

use chrono::Duration;
use futures_util::StreamExt;
use uuid::Uuid;

use super::{Job, JobKind, claim, claim_lapsed, fail, run, stats, sweep};
use crate::error::ApiResult;
use crate::services::engine::Engine;
use crate::services::test_clocks::advance;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Names the worker in `locked_by` (host, process and a random part).
    pub id: String,
    /// How long a claimed job is this worker's (`JOB_LEASE_SECONDS`).
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: i32,
    /// Subjects worked on at once, each on its own connection (`JOB_CONCURRENCY`).
    pub concurrency: usize,
}

impl WorkerOptions {
    pub fn new(lease_seconds: i64) -> WorkerOptions {
        WorkerOptions {
            id: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            lease: Duration::seconds(lease_seconds),
            batch: 64,
            concurrency: 4,
        }
    }
}

/// Sweeps, then claims and runs jobs until none is due at the engine's "now"; returns how
/// many ran to completion. A job that fails is recorded (retried later, or parked).
///
/// A claimed batch is split by subject: one subject's jobs run in due order, one after the
/// other (a trial's warning before its expiry), while different subjects run side by side,
/// each on its own connection.
pub async fn run_due(engine: &Engine, options: &WorkerOptions) -> ApiResult<usize> {
    let mut completed = 0;
    loop {
        // One sweep per pass, not per batch: sweeping re-reads every due row, which is the
        // whole backlog while thousands of renewals fall due at once.
        let (swept, lapsed) = {
            let mut conn = engine.pool.get().await?;
            let now = engine.clock.now();
            let swept = sweep::sweep(&mut conn, now).await?;
            let lapsed =
                claim_lapsed(&mut conn, &options.id, now, options.lease, options.batch).await?;
            (swept, lapsed)
        };
        if !lapsed.is_empty() {
            completed += run_batch(engine, options, lapsed).await?;
        }
        loop {
            let now = engine.clock.now();
            let claimed = {
                let mut conn = engine.pool.get().await?;
                claim(&mut conn, &options.id, now, options.lease, options.batch).await?
            };
            if claimed.is_empty() {
                break;
            }
            completed += run_batch(engine, options, claimed).await?;
        }
        // What this pass did may have made more due (a period rolled onto a day that has
        // passed already): sweep again until a sweep finds nothing new.
        if swept == 0 {
            return Ok(completed);
        }
    }
}

/// Runs a claimed batch, split by subject: one subject's jobs in due order, different
/// subjects side by side, each on its own connection.
async fn run_batch(
    engine: &Engine,
    options: &WorkerOptions,
    claimed: Vec<Job>,
) -> ApiResult<usize> {
    // Claimed in due order; a subject's jobs keep that order in its group.
    let mut by_subject: BTreeMap<Uuid, Vec<Job>> = BTreeMap::new();
    for job in claimed {
        by_subject
            .entry(job.subject_id.unwrap_or(job.id))
            .or_default()
            .push(job);
    }
    let results: Vec<ApiResult<usize>> = futures_util::stream::iter(by_subject.into_values())
        .map(|jobs| run_in_order(engine, options, jobs))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut completed = 0;
    for result in results {
        completed += result?;
    }
    Ok(completed)
}

/// Runs one subject's jobs in due order on one connection.
async fn run_in_order(
    engine: &Engine,
    options: &WorkerOptions,
    jobs: Vec<Job>,
) -> ApiResult<usize> {
    let mut conn = engine.pool.get().await?;
    let mut completed = 0;
    for job in &jobs {
        let outcome = if job.kind == JobKind::AdvanceTestClock {
            advance::run_advance(engine, &mut conn, job, &options.id, options.lease).await
        } else {
            run::run(engine, &mut conn, job, &options.id).await
        };
        match outcome {
            Ok(()) => {
                completed += 1;
                engine.metrics.job_run(job.kind.as_str(), "succeeded");
            }
            Err(error) => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job failed");
                engine.metrics.job_run(job.kind.as_str(), "failed");
                fail(
                    &mut conn,
                    job,
                    &options.id,
                    engine.clock.now(),
                    &error.to_string(),
                )
                .await?;
            }
        }
    }
    Ok(completed)
}

/// Runs [`run_due`] every `interval` until the process stops, and refreshes the job gauges.
pub async fn run_forever(engine: Engine, options: WorkerOptions, interval: std::time::Duration) {
    tracing::info!(worker = %options.id, "background jobs: worker started");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = run_due(&engine, &options).await {
            tracing::warn!(worker = %options.id, error = %error, "background jobs: round failed");
        }
        match engine.pool.get().await {
            Ok(mut conn) => match stats(&mut conn, engine.clock.now()).await {
                Ok(stats) => engine.metrics.set_jobs(&stats),
                Err(error) => tracing::warn!(error = %error, "background jobs: stats failed"),
            },
            Err(error) => tracing::warn!(error = %error, "background jobs: no connection"),
        }
    }
}
