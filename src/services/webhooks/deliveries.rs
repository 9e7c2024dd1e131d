//! What was sent where: an endpoint's deliveries, a manual retry, a resend of one event, and
//! the test event.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::endpoints::find;
use super::{Delivery, DeliveryStatus, DeliveryView, WebhookEndpoint};
use crate::db::DbPool;
use crate::db::models::EventRow;
use crate::db::schema::{events, webhook_deliveries, webhook_endpoints};
use crate::domain::event::{EventType, TypePattern};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::audit::{self, Event};
use crate::services::events::only_admin;

/// An endpoint's deliveries, newest first.
pub async fn list(
    pool: &DbPool,
    caller: &Caller,
    endpoint_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<DeliveryView>, i64)> {
    only_admin(caller)?;
    let limit = params.limit()?;
    let mut conn = pool.get().await?;
    find(&mut conn, endpoint_id).await?;
    let mut query = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select((Delivery::as_select(), events::type_))
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (created_at, id) = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::id.eq(cursor))
            .select((webhook_deliveries::created_at, webhook_deliveries::id))
            .first::<(chrono::DateTime<chrono::Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            webhook_deliveries::created_at
                .lt(created_at)
                .or(webhook_deliveries::created_at
                    .eq(created_at)
                    .and(webhook_deliveries::id.lt(id))),
        );
    }
    let rows: Vec<(Delivery, EventType)> = query
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    let views = rows
        .into_iter()
        .map(|(d, t)| DeliveryView::of(d, t))
        .collect();
    Ok((views, limit))
}

async fn view(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> ApiResult<DeliveryView> {
    let (d, t): (Delivery, EventType) = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::id.eq(id))
        .select((Delivery::as_select(), events::type_))
        .first(conn)
        .await?;
    Ok(DeliveryView::of(d, t))
}

/// Tries a delivery again now, whatever its status: one more attempt (a failed delivery
/// whose schedule is spent fails again if this attempt fails).
pub async fn retry(
    pool: &DbPool,
    caller: &Caller,
    endpoint_id: Uuid,
    delivery_id: Uuid,
) -> ApiResult<DeliveryView> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    let updated = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery_id))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id)),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending),
        webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
    ))
    .execute(&mut conn)
    .await?;
    if updated == 0 {
        return Err(ApiError::not_found());
    }
    view(&mut conn, delivery_id).await
}

/// Queues the event again for every enabled endpoint that wants its type, including endpoints
/// created after it. Answers the deliveries queued.
pub async fn resend(
    pool: &DbPool,
    caller: &Caller,
    event_id: Uuid,
) -> ApiResult<Vec<DeliveryView>> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    let event: EventRow = events::table
        .find(event_id)
        .select(EventRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let endpoints: Vec<WebhookEndpoint> = webhook_endpoints::table
        .filter(webhook_endpoints::disabled.eq(false))
        .select(WebhookEndpoint::as_select())
        .load(&mut conn)
        .await?;
    let wanted: Vec<&WebhookEndpoint> = endpoints
        .iter()
        .filter(|e| wants(e, event.event_type))
        .collect();
    let ids = insert_for(&mut conn, &event, &wanted).await?;
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        views.push(view(&mut conn, id).await?);
    }
    Ok(views)
}

fn wants(endpoint: &WebhookEndpoint, event_type: EventType) -> bool {
    event_type != EventType::WebhookTest
        && endpoint
            .enabled_events
            .iter()
            .filter_map(|p| TypePattern::parse(p))
            .any(|p| p.matches(event_type))
}

async fn insert_for(
    conn: &mut diesel_async::AsyncPgConnection,
    event: &EventRow,
    endpoints: &[&WebhookEndpoint],
) -> ApiResult<Vec<Uuid>> {
    let ordering_key = event.subscription_id.or(event.account_id);
    let rows: Vec<_> = endpoints
        .iter()
        .map(|e| {
            (
                webhook_deliveries::id.eq(Uuid::now_v7()),
                webhook_deliveries::endpoint_id.eq(e.id),
                webhook_deliveries::event_id.eq(event.id),
                webhook_deliveries::ordering_key.eq(ordering_key.unwrap_or(e.id)),
                webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
                webhook_deliveries::created_at.eq(diesel::dsl::now),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values(rows)
        .returning(webhook_deliveries::id)
        .get_results(conn)
        .await?)
}

/// Writes a `webhook.test` event and queues it for this endpoint only, whatever its
/// `enabled_events`; 409 `webhook-endpoint-disabled` when it is disabled.
pub async fn send_test(
    pool: &DbPool,
    caller: &Caller,
    endpoint_id: Uuid,
) -> ApiResult<DeliveryView> {
    only_admin(caller)?;
    let mut conn = pool.get().await?;
    let id = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let endpoint = find(conn, endpoint_id).await?;
            if endpoint.disabled {
                return Err(ApiError::new(
                    ErrorCode::WebhookEndpointDisabled,
                    "The endpoint is disabled: enable it (`PATCH … {\"disabled\": false}`) first.",
                ));
            }
            audit::record(
                conn,
                caller,
                Event {
                    account_id: None,
                    event_type: EventType::WebhookTest,
                    subject_type: "webhook_endpoint",
                    subject_id: Some(endpoint.id),
                    before: None,
                    after: Some(serde_json::json!({
                        "id": endpoint.id,
                        "url": endpoint.url,
                        "message": "A test event from Billing Center.",
                    })),
                    reason: None,
                    notify: None,
                },
            )
            .await?;
            let event: EventRow = events::table
                .filter(events::type_.eq(EventType::WebhookTest))
                .filter(events::subject_id.eq(endpoint.id))
                .order(events::id.desc())
                .select(EventRow::as_select())
                .first(conn)
                .await?;
            let ids = insert_for(conn, &event, &[&endpoint]).await?;
            ids.into_iter()
                .next()
                .ok_or_else(|| crate::error::internal_error("test delivery", &endpoint.id))
        })
        .await?;
    view(&mut conn, id).await
}
