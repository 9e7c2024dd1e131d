//! Webhook endpoints (admin): create (the secret shown once), list, read, update, delete,
//! rotate the secret. Each change is a tenant event (no `account_id`).

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::signature::new_secret;
use super::url_rules::UrlPolicy;
use super::{DisabledReason, WebhookEndpoint, WebhookEndpointView, WebhookEndpointWithSecret};
use crate::db::DbPool;
use crate::db::schema::webhook_endpoints;
use crate::domain::event::{EventType, TypePattern};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::audit::{self, Event, snapshot};
use crate::services::events::only_admin;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    /// `https://` (or `http://` with `WEBHOOKS_ALLOW_HTTP=true`); its host must not be a
    /// loopback, private or link-local address (unless `WEBHOOKS_ALLOW_PRIVATE=true`).
    #[schema(example = "https://partner.example/billing/webhooks")]
    pub url: String,
    /// `["*"]`, or event types, or `prefix.*` (e.g. `subscription.*`).
    #[schema(example = json!(["subscription.*", "invoice.paid"]))]
    pub enabled_events: Vec<String>,
    #[schema(example = "Partner portal")]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    #[schema(example = "https://partner.example/billing/webhooks")]
    pub url: Option<String>,
    #[schema(example = json!(["*"]))]
    pub enabled_events: Option<Vec<String>>,
    #[schema(example = "Partner portal")]
    pub description: Option<String>,
    /// `true` stops deliveries (they wait); `false` enables it again.
    pub disabled: Option<bool>,
}

fn check_events(events: &[String]) -> ApiResult<()> {
    if events.is_empty() || events.len() > 64 {
        return Err(ApiError::invalid_field(
            "enabled_events",
            "must list 1 to 64 event types, `prefix.*` or `*`",
        ));
    }
    if let Some(bad) = events.iter().find(|e| TypePattern::parse(e).is_none()) {
        return Err(ApiError::invalid_field(
            "enabled_events",
            format!("{bad:?} is not an event type, `prefix.*` or `*`"),
        ));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> ApiResult<()> {
    if description.is_some_and(|d| d.chars().count() > 500) {
        return Err(ApiError::invalid_field(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(())
}

async fn event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: EventType,
    before: Option<&WebhookEndpoint>,
    after: &WebhookEndpoint,
) -> ApiResult<()> {
    audit::record(
        conn,
        caller,
        Event {
            account_id: None,
            event_type,
            subject_type: "webhook_endpoint",
            subject_id: Some(after.id),
            before: before.and_then(|b| snapshot(&WebhookEndpointView::from(b))),
            after: snapshot(&WebhookEndpointView::from(after)),
            reason: None,
            notify: None,
        },
    )
    .await
}

pub async fn create(
    pool: &DbPool,
    policy: UrlPolicy,
    caller: &Caller,
    request: CreateWebhookEndpoint,
) -> ApiResult<WebhookEndpointWithSecret> {
    only_admin(caller)?;
    check_events(&request.enabled_events)?;
    check_description(request.description.as_deref())?;
    let url = policy.check(&request.url).await?;
    let endpoint = WebhookEndpoint {
        id: Uuid::now_v7(),
        url: url.to_string(),
        description: request.description,
        enabled_events: request.enabled_events,
        disabled: false,
        disabled_reason: None,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: caller.now,
        updated_at: caller.now,
    };
    let mut conn = pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // The event first: an endpoint receives the events written after it exists, not
        // the news of its own creation.
        event(
            conn,
            caller,
            EventType::WebhookEndpointCreated,
            None,
            &endpoint,
        )
        .await?;
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::id.eq(endpoint.id),
                webhook_endpoints::url.eq(&endpoint.url),
                webhook_endpoints::description.eq(&endpoint.description),
                webhook_endpoints::enabled_events.eq(&endpoint.enabled_events),
                webhook_endpoints::secret.eq(&endpoint.secret),
                webhook_endpoints::created_at.eq(endpoint.created_at),
                webhook_endpoints::updated_at.eq(endpoint.updated_at),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(WebhookEndpointWithSecret {
        endpoint: WebhookEndpointView::from(&endpoint),
        secret: endpoint.secret,
    })
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<WebhookEndpoint> {
    webhook_endpoints::table
        .find(id)
        .select(WebhookEndpoint::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub async fn get(pool: &DbPool, caller: &Caller, id: Uuid) -> ApiResult<WebhookEndpoint> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    find(&mut conn, id).await
}

pub async fn list(
    pool: &DbPool,
    caller: &Caller,
    params: ListParams,
) -> ApiResult<(Vec<WebhookEndpoint>, i64)> {
    only_admin(caller)?;
    let limit = params.limit()?;
    let mut conn = pool.get().await?;
    let mut query = webhook_endpoints::table
        .select(WebhookEndpoint::as_select())
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let at = find(&mut conn, cursor)
            .await
            .map_err(|_| unknown_cursor())?;
        query = query.filter(
            webhook_endpoints::created_at
                .lt(at.created_at)
                .or(webhook_endpoints::created_at
                    .eq(at.created_at)
                    .and(webhook_endpoints::id.lt(at.id))),
        );
    }
    let rows = query
        .order((
            webhook_endpoints::created_at.desc(),
            webhook_endpoints::id.desc(),
        ))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows, limit))
}

pub async fn update(
    pool: &DbPool,
    policy: UrlPolicy,
    caller: &Caller,
    id: Uuid,
    request: UpdateWebhookEndpoint,
) -> ApiResult<WebhookEndpoint> {
    only_admin(caller)?;
    if let Some(events) = &request.enabled_events {
        check_events(events)?;
    }
    check_description(request.description.as_deref())?;
    let url = match &request.url {
        Some(text) => Some(policy.check(text).await?),
        None => None,
    };
    let mut conn = pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before: WebhookEndpoint = webhook_endpoints::table
            .find(id)
            .select(WebhookEndpoint::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(ApiError::not_found)?;
        let (disabled, reason) = match request.disabled {
            Some(true) if !before.disabled => (true, Some(DisabledReason::Requested)),
            Some(false) => (false, None),
            _ => (before.disabled, before.disabled_reason),
        };
        let after: WebhookEndpoint = diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::url.eq(url.as_ref().map_or(before.url.as_str(), |u| u.as_str())),
                webhook_endpoints::enabled_events.eq(request
                    .enabled_events
                    .as_ref()
                    .unwrap_or(&before.enabled_events)),
                webhook_endpoints::description
                    .eq(request.description.as_ref().or(before.description.as_ref())),
                webhook_endpoints::disabled.eq(disabled),
                webhook_endpoints::disabled_reason.eq(reason),
                // Enabled again: the five days of failures start over.
                webhook_endpoints::failing_since.eq(before
                    .failing_since
                    .filter(|_| disabled || !before.disabled)),
                webhook_endpoints::updated_at.eq(caller.now),
            ))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
            .await?;
        event(
            conn,
            caller,
            EventType::WebhookEndpointUpdated,
            Some(&before),
            &after,
        )
        .await?;
        Ok(after)
    })
    .await
}

/// Deletes the endpoint and its deliveries.
pub async fn delete(pool: &DbPool, caller: &Caller, id: Uuid) -> ApiResult<()> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let endpoint: WebhookEndpoint = diesel::delete(webhook_endpoints::table.find(id))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
            .await
            .optional()?
            .ok_or_else(ApiError::not_found)?;
        event(
            conn,
            caller,
            EventType::WebhookEndpointDeleted,
            None,
            &endpoint,
        )
        .await
    })
    .await
}

/// A new secret; the previous one keeps signing for 24 hours, so receivers can switch.
pub async fn rotate_secret(
    pool: &DbPool,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<WebhookEndpointWithSecret> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    let endpoint = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = webhook_endpoints::table
                .find(id)
                .select(WebhookEndpoint::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or_else(ApiError::not_found)?;
            let after: WebhookEndpoint = diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::previous_secret.eq(Some(&before.secret)),
                    // Real time, as deliveries are signed in (not a test clock's).
                    webhook_endpoints::previous_secret_expires_at.eq(diesel::dsl::sql::<
                        Nullable<Timestamptz>,
                    >(
                        "now() + interval '24 hours'",
                    )),
                    webhook_endpoints::secret.eq(new_secret()),
                    webhook_endpoints::updated_at.eq(caller.now),
                ))
                .returning(WebhookEndpoint::as_returning())
                .get_result(conn)
                .await?;
            event(
                conn,
                caller,
                EventType::WebhookEndpointSecretRotated,
                None,
                &after,
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(WebhookEndpointWithSecret {
        endpoint: WebhookEndpointView::from(&endpoint),
        secret: endpoint.secret,
    })
}
