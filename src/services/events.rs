//! The audit trail of an account, newest first.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::AuditEvent;
use crate::error::ApiResult;
use crate::http::pagination::ListParams;
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
