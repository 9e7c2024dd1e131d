//! The account's audit trail.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::AuditEvent;
use crate::error::{ApiResult, Problem};
use crate::http::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::events;

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    pub sub: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor: ActorView,
    /// e.g. `account.updated`, `user.created`, `subscription.imported`.
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEvent> for EventView {
    fn from(e: AuditEvent) -> EventView {
        EventView {
            id: e.id,
            account_id: e.account_id,
            actor: ActorView {
                sub: e.actor_sub,
                role: e.actor_role,
            },
            action: e.action,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            before: e.before,
            after: e.after,
            reason: e.reason,
            request_id: e.request_id,
            created_at: e.created_at,
        }
    }
}

/// The account's audit trail, newest first.
#[utoipa::path(
    tag = "events",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<EventView>),
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
