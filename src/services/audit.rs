//! The audit trail: every mutation writes one event in the same transaction as the change.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::models::NewAuditEvent;
use crate::db::schema::audit_events;
use crate::error::ApiResult;
use crate::services::Caller;

pub struct Event<'a> {
    pub account_id: Option<Uuid>,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
}

/// Serialises a row for `before`/`after`; rows are plain data, so this cannot fail in
/// practice, and a failure records `null` rather than losing the event.
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event: Event<'_>,
) -> ApiResult<()> {
    record_all(conn, caller, vec![event]).await
}

/// Writes several events of one change in one statement, in the order given.
pub async fn record_all(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    events: Vec<Event<'_>>,
) -> ApiResult<()> {
    let rows: Vec<NewAuditEvent<'_>> = events
        .into_iter()
        .map(|event| NewAuditEvent {
            id: Uuid::now_v7(),
            account_id: event.account_id,
            actor_sub: &caller.principal.sub,
            actor_role: caller.principal.role.as_str(),
            action: event.action,
            subject_type: event.subject_type,
            subject_id: event.subject_id,
            before: event.before,
            after: event.after,
            reason: event.reason,
            request_id: &caller.request_id,
            created_at: caller.now,
        })
        .collect();
    diesel::insert_into(audit_events::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}
