//! The background jobs, for an admin.

use actix_web::{get, web};

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::pagination::List;
use crate::services::Caller;
use crate::services::jobs::admin::{self, JobFilter, JobView};

/// List background jobs (admin)
///
/// Background jobs in one status (default `failed`, each with its last error), the latest
/// first: renewals, trial ends and housekeeping, as the workers of every instance see them.
#[utoipa::path(
    tag = "ops",
    operation_id = "list_jobs",
    params(JobFilter),
    responses(
        (status = 200, body = List<JobView>, description = "A page of jobs"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
    )
)]
#[get("/jobs")]
pub async fn list_jobs(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<JobFilter>,
) -> ApiResult<web::Json<List<JobView>>> {
    let (rows, limit) = admin::list(&state.pool, &caller, filter.into_inner()).await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |j| j.id,
        JobView::from,
    )))
}
