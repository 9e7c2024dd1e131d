//! Test clocks (SPEC §15): admin only, and only with `TEST_CLOCKS=enabled`.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::test_clocks::{self, AdvanceTestClock, CreateTestClock, TestClockView};

/// Create a test clock
///
/// Admin only, with `TEST_CLOCKS=enabled` (404 otherwise). A clock holds a simulated
/// `frozen_time`; accounts created with its `test_clock_id` live in that time: their
/// checkout summaries, orders, renewals, trial ends and events all read it.
#[utoipa::path(
    tag = "test-clocks",
    request_body(
        content = CreateTestClock,
        example = json!({"name": "Renewals of a monthly plan", "frozen_time": "2027-01-31T00:00:00Z"})
    ),
    responses(
        (status = 201, body = TestClockView,
         headers(("Location" = String, description = "The clock's URL")),
         description = "The clock, `ready` at its `frozen_time`"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json",
         description = "`not-found`: test clocks are not enabled on this server"),
    )
)]
#[post("/test-clocks")]
pub async fn create_test_clock(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateTestClock>,
) -> ApiResult<HttpResponse> {
    let clock = test_clocks::create(&state, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/test-clocks/{}", clock.id)))
        .json(TestClockView::from(clock)))
}

/// List test clocks
///
/// Admin only, with `TEST_CLOCKS=enabled` (404 otherwise). Newest first.
#[utoipa::path(
    tag = "test-clocks",
    params(ListParams),
    responses(
        (status = 200, body = List<TestClockView>, description = "A page of test clocks"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json",
         description = "`not-found`: test clocks are not enabled on this server"),
    )
)]
#[get("/test-clocks")]
pub async fn list_test_clocks(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<TestClockView>>> {
    let (rows, limit) = test_clocks::list(&state, &caller, params.into_inner()).await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |c| c.id,
        TestClockView::from,
    )))
}

/// Read a test clock
///
/// Admin only. Poll it after an advance: `status` is `advancing` until every job due up to
/// the new time has run, then `ready`.
#[utoipa::path(
    tag = "test-clocks",
    params(("test_clock_id" = Uuid, Path, description = "The clock")),
    responses(
        (status = 200, body = TestClockView, description = "The clock"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
    )
)]
#[get("/test-clocks/{test_clock_id}")]
pub async fn get_test_clock(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<TestClockView>> {
    let clock = test_clocks::get(&state, &caller, path.into_inner()).await?;
    Ok(web::Json(TestClockView::from(clock)))
}

/// Delete a test clock
///
/// Admin only. Deletes the clock and its accounts with everything they hold (subscriptions,
/// carts, orders, invoices, quotes, users, events). 409 `test-clock-advancing` while it
/// advances.
#[utoipa::path(
    tag = "test-clocks",
    params(("test_clock_id" = Uuid, Path, description = "The clock")),
    responses(
        (status = 204, description = "Deleted, with its accounts' data"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`test-clock-advancing`: wait until the clock is `ready`"),
    )
)]
#[delete("/test-clocks/{test_clock_id}")]
pub async fn delete_test_clock(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    test_clocks::delete(&state, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Advance a test clock
///
/// Admin only. Moves the clock forward (strictly, at most two years at once) and answers at
/// once with the clock `advancing`; a background worker then runs every job due on the way
/// — renewals, trial warnings and expiries, retries — in time order, each at its own due
/// time, and the clock becomes `ready` at the new `frozen_time`. Until then every request on
/// the clock's accounts answers 409 `test-clock-advancing`.
#[utoipa::path(
    tag = "test-clocks",
    params(("test_clock_id" = Uuid, Path, description = "The clock")),
    request_body(
        content = AdvanceTestClock,
        example = json!({"frozen_time": "2027-04-30T00:00:00Z"})
    ),
    responses(
        (status = 200, body = TestClockView, description = "The clock, `advancing`"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`test-clock-advancing`: an advance is still running"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`: `frozen_time` is not after the clock's time, or more than two years after it"),
    )
)]
#[post("/test-clocks/{test_clock_id}/advance")]
pub async fn advance_test_clock(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<AdvanceTestClock>,
) -> ApiResult<web::Json<TestClockView>> {
    let clock = test_clocks::advance(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(web::Json(TestClockView::from(clock)))
}
