//! The audit trail of an account, newest first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::AuditEvent;
use crate::error::ApiResult;
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::account_in_reach;

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<AuditEvent>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<AuditEvent> = crate::newest_first_page!(
        &mut conn,
        audit_events,
        account_id,
        params,
        limit,
        AuditEvent::as_select()
    );
    Ok((rows, limit))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// The token's `sub`.
    #[schema(example = "ada@acme.example")]
    pub sub: String,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor: ActorView,
    /// e.g. `account.updated`, `user.created`, `subscription.imported`.
    #[schema(example = "order.placed")]
    pub action: String,
    /// What `subject_id` names, e.g. `order`, `user`, `subscription`.
    #[schema(example = "order")]
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// Why an assisting role acted on the customer's behalf.
    #[schema(example = "Customer asked by phone to move to Premium")]
    pub reason: Option<String>,
    /// The `X-Request-Id` of the request that made the change.
    #[schema(example = "9b2f6a0e-4c1d-4e8a-b3f5-7d2c1e0a9f84")]
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
