//! Webhooks (SPEC §14): endpoints an admin registers, and the deliveries of the event stream
//! to them — signed, in order per subscription, at least once, from every instance.

pub mod deliveries;
pub mod endpoints;
pub mod sender;
pub mod signature;
pub mod url_rules;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::domain::event::EventType;
pub use crate::domain::webhook::{DeliveryStatus, DisabledReason};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub enabled_events: Vec<String>,
    pub disabled: bool,
    pub disabled_reason: Option<DisabledReason>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_response_status: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A webhook endpoint, without its secret (shown only when created or rotated).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    pub id: Uuid,
    #[schema(example = "https://partner.example/billing/webhooks")]
    pub url: String,
    #[schema(example = "Partner portal")]
    pub description: Option<String>,
    /// `*`, event types, or `prefix.*`.
    #[schema(example = json!(["subscription.*", "invoice.paid"]))]
    pub enabled_events: Vec<String>,
    pub disabled: bool,
    /// Why it is disabled: `requested`, `gone` (it answered 410) or `failing` (5 days).
    pub disabled_reason: Option<DisabledReason>,
    /// Since when every attempt has failed, if they have.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WebhookEndpoint> for WebhookEndpointView {
    fn from(e: &WebhookEndpoint) -> WebhookEndpointView {
        WebhookEndpointView {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            enabled_events: e.enabled_events.clone(),
            disabled: e.disabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret: the answer of creation and rotation, and the only
/// time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// `whsec_` + base64 of 32 random bytes: the key of the `webhook-signature` HMAC.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    #[schema(example = 1)]
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status, `null` when no answer came (timeout, refused).
    #[schema(example = 200)]
    pub last_response_status: Option<i32>,
    #[schema(example = 42)]
    pub last_duration_ms: Option<i32>,
    /// What went wrong with the last attempt, if it failed.
    #[schema(example = "connection refused")]
    pub last_error: Option<String>,
    /// When it is tried next, while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl DeliveryView {
    pub fn of(d: Delivery, event_type: EventType) -> DeliveryView {
        DeliveryView {
            id: d.id,
            event_id: d.event_id,
            event_type,
            status: d.status,
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at,
            last_response_status: d.last_response_status,
            last_duration_ms: d.last_duration_ms,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}
