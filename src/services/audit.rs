//! The event stream (SPEC §14), which is also the audit trail: every change writes its events
//! in the same transaction as the change, and the same statement queues their webhook
//! deliveries (the `events_fan_out` trigger), so a change never commits without its events
//! and their deliveries, nor the other way round. An event that should reach the billing
//! contact by email names its template and cause (`notify`); the `events_notify` trigger
//! queues that mail in the same statement, once per cause (SPEC §16).

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::models::NewEvent;
use crate::db::schema::events;
use crate::domain::event::{EventType, previous_attributes};
use crate::domain::notification::{NotificationTemplate, cause_key};
use crate::error::ApiResult;
use crate::services::Caller;

pub struct Event<'a> {
    pub account_id: Option<Uuid>,
    pub event_type: EventType,
    /// What `subject_id` names: `subscription`, `order`, `invoice`, … Events of one
    /// subscription are delivered in order.
    pub subject_type: &'a str,
    pub subject_id: Option<Uuid>,
    /// The resource before the change, as the API showed it (`None` for a creation): its
    /// fields that differ in `after` become `previous_attributes`.
    pub before: Option<serde_json::Value>,
    /// The resource after the change, as the API shows it: the event's `data.object`.
    pub after: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
    /// The mail this change sends, if any.
    pub notify: Option<Notify>,
}

/// A mail caused by an event: its template, and the cause that makes it one mail however
/// often the change is retried (an order, an invoice, a subscription's trial end).
#[derive(Debug, Clone)]
pub struct Notify {
    template: NotificationTemplate,
    key: String,
}

impl Notify {
    pub fn of(template: NotificationTemplate, cause: impl std::fmt::Display) -> Notify {
        Notify {
            template,
            key: cause_key(template, cause),
        }
    }
}

/// Serialises a view for `before`/`after`; views are plain data, so this cannot fail in
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
    let rows: Vec<NewEvent<'_>> = events.into_iter().map(|e| row(caller, e)).collect();
    diesel::insert_into(events::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

fn row<'a>(caller: &'a Caller, event: Event<'a>) -> NewEvent<'a> {
    let object = event.after.unwrap_or_else(|| serde_json::json!({}));
    let previous = event
        .before
        .map(|before| previous_attributes(&before, &object));
    NewEvent {
        id: Uuid::now_v7(),
        account_id: event.account_id,
        actor_sub: &caller.principal.sub,
        actor_role: (!caller.system).then_some(caller.principal.role),
        event_type: event.event_type,
        subject_type: event.subject_type,
        subject_id: event.subject_id,
        subscription_id: event
            .subject_id
            .filter(|_| event.subject_type == "subscription"),
        object,
        previous_attributes: previous,
        reason: event.reason,
        request_id: &caller.request_id,
        idempotency_key: caller.idempotency_key.as_deref(),
        created_at: caller.now,
        notify_template: event.notify.as_ref().map(|n| n.template),
        notify_key: event.notify.map(|n| n.key),
    }
}
