//! What an admin sees of the background work: jobs by status (failed ones with their last
//! error), newest due first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Job, JobKind, JobStatus};
use crate::auth::Role;
use crate::db::DbPool;
use crate::db::schema::jobs;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// Jobs in this status (default `failed`).
    pub status: Option<JobStatus>,
    /// How many items to return, 1..=100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Return the items after this id (the `next_starting_after` of the previous page).
    pub starting_after: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub kind: JobKind,
    pub status: JobStatus,
    /// What it acts on (a subscription), if anything.
    #[schema(example = "00000000-0000-4000-8100-000000010001")]
    pub subject_id: Option<Uuid>,
    /// When what it does was due; its effects carry this time.
    pub due_at: DateTime<Utc>,
    /// When it is (or was last) tried.
    pub run_at: DateTime<Utc>,
    #[schema(example = 8)]
    pub attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    /// The worker holding it: process id and a random part.
    #[schema(example = "4242-1f3a9c2e")]
    pub locked_by: Option<String>,
    #[schema(example = "service-unavailable: the payment gateway did not answer")]
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> JobView {
        JobView {
            id: job.id,
            kind: job.kind,
            status: job.status,
            subject_id: job.subject_id,
            due_at: job.due_at,
            run_at: job.run_at,
            attempts: job.attempts,
            locked_until: job.locked_until,
            locked_by: job.locked_by,
            last_error: job.last_error,
            finished_at: job.finished_at,
        }
    }
}

/// A page of jobs in one status, the latest `run_at` first (admin only).
pub async fn list(pool: &DbPool, caller: &Caller, filter: JobFilter) -> ApiResult<(Vec<Job>, i64)> {
    let params = ListParams {
        limit: filter.limit,
        starting_after: filter.starting_after,
    };
    if caller.principal.role != Role::Admin {
        return Err(ApiError::forbidden(
            "Only an admin sees the background jobs.",
        ));
    }
    let limit = params.limit()?;
    let status = filter.status.unwrap_or(JobStatus::Failed);
    let mut conn = pool.get().await?;
    let mut query = jobs::table
        .filter(jobs::status.eq(status))
        .select(Job::as_select())
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (run_at, id) = jobs::table
            .filter(jobs::status.eq(status))
            .filter(jobs::id.eq(cursor))
            .select((jobs::run_at, jobs::id))
            .first::<(DateTime<Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            jobs::run_at
                .lt(run_at)
                .or(jobs::run_at.eq(run_at).and(jobs::id.lt(id))),
        );
    }
    let rows = query
        .order((jobs::run_at.desc(), jobs::id.desc()))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows, limit))
}
