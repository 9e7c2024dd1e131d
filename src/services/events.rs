//! The audit trail of an account, newest first.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::AuditEvent;
use crate::db::schema::audit_events;
use crate::error::ApiResult;
use crate::http::pagination::{ListParams, unknown_cursor};
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
    let mut query = audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (created_at, id) = audit_events::table
            .filter(audit_events::account_id.eq(account_id))
            .filter(audit_events::id.eq(cursor))
            .select((audit_events::created_at, audit_events::id))
            .first::<(chrono::DateTime<chrono::Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            audit_events::created_at
                .lt(created_at)
                .or(audit_events::created_at
                    .eq(created_at)
                    .and(audit_events::id.lt(id))),
        );
    }
    let rows = query
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows, limit))
}
