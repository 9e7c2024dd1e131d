//! The event stream's rows (SPEC §14): as read, and as written with the mail it causes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::schema::events;
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor_sub: String,
    /// `None` for `system` (time).
    pub actor_role: Option<Role>,
    #[diesel(column_name = type_)]
    pub event_type: EventType,
    pub object: serde_json::Value,
    pub previous_attributes: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    pub subscription_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor_sub: &'a str,
    pub actor_role: Option<Role>,
    #[diesel(column_name = type_)]
    pub event_type: EventType,
    pub subject_type: &'a str,
    pub subject_id: Option<Uuid>,
    pub object: serde_json::Value,
    pub previous_attributes: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
    pub request_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub subscription_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The mail this event causes (SPEC §16), queued by the `events_notify` trigger once per
    /// `notify_key`.
    pub notify_template: Option<NotificationTemplate>,
    pub notify_key: Option<String>,
}
