//! The account's audit trail.

use actix_web::{get, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::events::{self, EventView};

/// List the account's audit events
///
/// Every change to the account, newest first: who (`sub` and role), what (`action`, subject,
/// before and after), why (`reason`, for changes made on the customer's behalf), and the
/// request id.
#[utoipa::path(
    tag = "events",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<EventView>, description = "A page of audit events"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<EventView>>> {
    let (rows, limit) =
        events::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |e| e.id,
        EventView::from,
    )))
}
