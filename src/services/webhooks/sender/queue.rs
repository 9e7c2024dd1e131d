//! What the delivery worker reads and writes: a claimed delivery with its endpoint and
//! event, the outcome of one attempt, and the two statements (claim, record).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::auth::Role;
use crate::domain::event::EventType;

#[derive(Debug, QueryableByName)]
pub(super) struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub(super) id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(super) endpoint_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub(super) locked_until: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub(super) attempts: i32,
    #[diesel(sql_type = Text)]
    pub(super) url: String,
    #[diesel(sql_type = Text)]
    pub(super) secret: String,
    /// The previous secret while it still signs (24 h after a rotation).
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) previous_secret: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub(super) event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(super) event_type: EventType,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) account_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub(super) created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub(super) actor_sub: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) actor_role: Option<Role>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) reason: Option<String>,
    #[diesel(sql_type = Text)]
    pub(super) request_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) idempotency_key: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub(super) object: serde_json::Value,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub(super) previous_attributes: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) subscription_id: Option<Uuid>,
}

/// What one attempt came to.
#[derive(Debug)]
pub(super) enum Outcome {
    Delivered {
        status: u16,
    },
    /// 410: the endpoint is gone; it is disabled.
    Gone,
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<i64>,
    },
}

pub(super) const CLAIM: &str = "\
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id AND NOT e.disabled
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1
      AND (d.locked_until IS NULL OR d.locked_until < $1)
      AND d.endpoint_id <> ALL ($2)
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                      WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
                        AND p.status = 'pending' AND p.seq < d.seq)
    ORDER BY d.next_attempt_at, d.seq
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries d SET locked_until = $4
FROM due, events ev, webhook_endpoints e
WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, d.locked_until, d.attempts, e.url, e.secret,
          CASE WHEN e.previous_secret_expires_at > $1 THEN e.previous_secret END AS previous_secret,
          ev.id AS event_id, ev.type AS event_type, ev.account_id,
          ev.created_at, ev.actor_sub, ev.actor_role, ev.reason, ev.request_id,
          ev.idempotency_key, ev.object, ev.previous_attributes, ev.subscription_id";

/// Records an attempt, and whether the endpoint is failing since (`$9`: succeeded or not).
pub(super) const RECORD: &str = "\
WITH d AS (
    UPDATE webhook_deliveries
    SET status = $2, attempts = attempts + 1, next_attempt_at = $3, locked_until = NULL,
        last_attempt_at = $4, last_response_status = $5, last_duration_ms = $6, last_error = $7
    WHERE id = $1 AND locked_until = $8
    RETURNING endpoint_id)
UPDATE webhook_endpoints e
SET failing_since = CASE WHEN $9 THEN NULL ELSE $4 END
FROM d
WHERE e.id = d.endpoint_id AND (CASE WHEN $9 THEN e.failing_since IS NOT NULL
                                     ELSE e.failing_since IS NULL END)";
