//! The event stream (SPEC §14): one account's (in reach) and the whole tenant's (admin).

use actix_web::{get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::pagination::List;
use crate::services::Caller;
use crate::services::events::{self, EventFilter, EventView};
use crate::services::webhooks::{DeliveryView, deliveries};

fn page(rows: Vec<crate::db::models::EventRow>, limit: i64) -> List<EventView> {
    List::from_rows(rows, limit, |e| e.id, EventView::from)
}

/// List the account's events
///
/// Every change to the account, newest first: its `type`, who made it (`actor`: a token's
/// `sub` and role, or `system` for what time does), why (`reason`), the request id and
/// idempotency key, and `data`: the resource as the API shows it after the change, with the
/// fields that changed and their old values (`previous_attributes`). Filter by `type`
/// (repeatable; `subscription.*` matches a resource's events) and by `created_gte` /
/// `created_lt`.
#[utoipa::path(
    tag = "events",
    params(("account_id" = Uuid, Path), EventFilter),
    responses(
        (status = 200, body = List<EventView>, description = "A page of events"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`: an unknown type, a bad time or page"),
    )
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<Vec<(String, String)>>,
) -> ApiResult<web::Json<List<EventView>>> {
    let filter = EventFilter::from_pairs(query.into_inner())?;
    let (rows, limit) = events::list(&state.pool, &caller, path.into_inner(), filter).await?;
    Ok(web::Json(page(rows, limit)))
}

/// List the tenant's events
///
/// Admin only: every account's events and the tenant's own (webhook endpoints, test clocks),
/// newest first, with the filters of the account's list.
#[utoipa::path(
    tag = "events",
    params(EventFilter),
    responses(
        (status = 200, body = List<EventView>, description = "A page of events"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`: an unknown type, a bad time or page"),
    )
)]
#[get("/events")]
pub async fn list_all_events(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Vec<(String, String)>>,
) -> ApiResult<web::Json<List<EventView>>> {
    let filter = EventFilter::from_pairs(query.into_inner())?;
    let (rows, limit) = events::list_all(&state.pool, &caller, filter).await?;
    Ok(web::Json(page(rows, limit)))
}

/// Resend an event
///
/// Admin only. Queues the event again for every enabled webhook endpoint that wants its type
/// — endpoints created after it included — and answers the deliveries queued. Receivers see
/// the same `webhook-id` again.
#[utoipa::path(
    tag = "webhooks",
    params(("event_id" = Uuid, Path)),
    responses(
        (status = 200, body = List<DeliveryView>, description = "The deliveries queued (one page)"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event_id}/resend")]
pub async fn resend_event(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<List<DeliveryView>>> {
    let queued = deliveries::resend(&state.pool, &caller, path.into_inner()).await?;
    Ok(web::Json(List {
        data: queued,
        has_more: false,
        next_starting_after: None,
    }))
}
