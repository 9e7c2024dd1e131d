//! The event stream (SPEC §14), newest first: one account's (in reach) or the whole
//! tenant's (admin), filtered by type and time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Role;
use crate::db::DbPool;
use crate::db::models::EventRow;
use crate::db::schema::events;
use crate::domain::event::{EventType, TypePattern};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::access::account_in_reach;

/// The query of an event list. `type` may be given several times.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// An event type, `prefix.*` (e.g. `subscription.*`) or `*`; repeat it for several.
    #[serde(rename = "type")]
    #[param(rename = "type", example = json!(["subscription.*"]))]
    pub types: Option<Vec<String>>,
    /// Events created at or after this time (the account's clock).
    pub created_gte: Option<DateTime<Utc>>,
    /// Events created before this time.
    pub created_lt: Option<DateTime<Utc>>,
    /// How many items to return, 1..=100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Return the items after this id (the `next_starting_after` of the previous page).
    pub starting_after: Option<Uuid>,
}

impl EventFilter {
    /// Reads the query's pairs: `type` repeats; an unknown name or a bad value is 422.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> ApiResult<EventFilter> {
        let mut filter = EventFilter::default();
        for (name, value) in pairs {
            match name.as_str() {
                "type" => filter.types.get_or_insert_with(Vec::new).push(value),
                "created_gte" => filter.created_gte = Some(time(&name, &value)?),
                "created_lt" => filter.created_lt = Some(time(&name, &value)?),
                "limit" => {
                    filter.limit = Some(value.parse().map_err(|_| {
                        ApiError::invalid_field("limit", "must be between 1 and 100")
                    })?);
                }
                "starting_after" => {
                    filter.starting_after = Some(value.parse().map_err(|_| unknown_cursor())?);
                }
                _ => {
                    return Err(ApiError::invalid_field(
                        &name,
                        "is not a parameter of this list",
                    ));
                }
            }
        }
        Ok(filter)
    }

    /// The types asked for, `None` for all.
    fn event_types(&self) -> ApiResult<Option<Vec<EventType>>> {
        let Some(texts) = &self.types else {
            return Ok(None);
        };
        let patterns = texts
            .iter()
            .map(|t| {
                TypePattern::parse(t).ok_or_else(|| {
                    ApiError::invalid_field("type", "is not an event type, `prefix.*` or `*`")
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Some(
            EventType::ALL
                .iter()
                .copied()
                .filter(|t| patterns.iter().any(|p| p.matches(*t)))
                .collect(),
        ))
    }
}

fn time(name: &str, value: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid_field(name, "must be an RFC 3339 time"))
}

/// One account's events (in reach).
pub async fn list(
    pool: &DbPool,
    caller: &Caller,
    account_id: Uuid,
    filter: EventFilter,
) -> ApiResult<(Vec<EventRow>, i64)> {
    let mut conn = pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    page(&mut conn, Some(account_id), filter).await
}

/// The whole tenant's events (admin only).
pub async fn list_all(
    pool: &DbPool,
    caller: &Caller,
    filter: EventFilter,
) -> ApiResult<(Vec<EventRow>, i64)> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    page(&mut conn, None, filter).await
}

pub fn only_admin(caller: &Caller) -> ApiResult<()> {
    if caller.principal.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only an admin reads the whole tenant's events and manages webhooks.",
        ))
    }
}

async fn page(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
    filter: EventFilter,
) -> ApiResult<(Vec<EventRow>, i64)> {
    let params = ListParams {
        limit: filter.limit,
        starting_after: filter.starting_after,
    };
    let limit = params.limit()?;
    let types = filter.event_types()?;
    let mut query = events::table.select(EventRow::as_select()).into_boxed();
    if let Some(account_id) = account_id {
        query = query.filter(events::account_id.eq(account_id));
    }
    if let Some(types) = types {
        query = query.filter(events::type_.eq_any(types));
    }
    if let Some(gte) = filter.created_gte {
        query = query.filter(events::created_at.ge(gte));
    }
    if let Some(lt) = filter.created_lt {
        query = query.filter(events::created_at.lt(lt));
    }
    if let Some(cursor) = params.starting_after {
        let mut at = events::table
            .filter(events::id.eq(cursor))
            .select((events::created_at, events::id))
            .into_boxed();
        if let Some(account_id) = account_id {
            at = at.filter(events::account_id.eq(account_id));
        }
        let (created_at, id) = at
            .first::<(DateTime<Utc>, Uuid)>(conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            events::created_at
                .lt(created_at)
                .or(events::created_at.eq(created_at).and(events::id.lt(id))),
        );
    }
    let rows = query
        .order((events::created_at.desc(), events::id.desc()))
        .limit(limit + 1)
        .load(conn)
        .await?;
    Ok((rows, limit))
}

crate::stored_enum! {
    /// Who acted: a person with a token, or time.
    pub enum ActorType {
        User => "user",
        System => "system",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    #[serde(rename = "type")]
    pub actor_type: ActorType,
    /// The token's `sub`, or `system`.
    #[schema(example = "ada@acme.example")]
    pub sub: String,
    /// `null` for `system`.
    pub role: Option<Role>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventData {
    /// The resource as the API shows it after the change.
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
    /// The fields that changed, with their old values; `null` for a creation.
    #[schema(value_type = Option<Object>)]
    pub previous_attributes: Option<serde_json::Value>,
}

/// An event: what changed, who changed it and why. Webhook deliveries send the same body.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `null` for the tenant's own events (webhook endpoints, test clocks).
    pub account_id: Option<Uuid>,
    /// When it happened, by the account's clock (a test clock's time for its accounts).
    pub created_at: DateTime<Utc>,
    pub actor: ActorView,
    /// Why an assisting role acted on the customer's behalf.
    #[schema(example = "Customer asked by phone to move to Premium")]
    pub reason: Option<String>,
    /// The `X-Request-Id` of the request that made the change (`job-…` for time).
    #[schema(example = "9b2f6a0e-4c1d-4e8a-b3f5-7d2c1e0a9f84")]
    pub request_id: String,
    /// The request's `Idempotency-Key`, if it had one.
    #[schema(example = "checkout-2027-01-15-001")]
    pub idempotency_key: Option<String>,
    pub data: EventData,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> EventView {
        EventView {
            id: e.id,
            event_type: e.event_type,
            account_id: e.account_id,
            created_at: e.created_at,
            actor: ActorView {
                actor_type: if e.actor_role.is_some() {
                    ActorType::User
                } else {
                    ActorType::System
                },
                sub: e.actor_sub,
                role: e.actor_role,
            },
            reason: e.reason,
            request_id: e.request_id,
            idempotency_key: e.idempotency_key,
            data: EventData {
                object: e.object,
                previous_attributes: e.previous_attributes,
            },
        }
    }
}
