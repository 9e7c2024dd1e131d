//! Webhook endpoints and their deliveries (SPEC §14): admin only.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::webhooks::endpoints::{self, CreateWebhookEndpoint, UpdateWebhookEndpoint};
use crate::services::webhooks::{
    DeliveryView, WebhookEndpointView, WebhookEndpointWithSecret, deliveries,
};

/// Create a webhook endpoint
///
/// Admin only. The endpoint receives the events written after it is created whose type its
/// `enabled_events` name, signed per Standard Webhooks 1.0 with the `secret` of this answer
/// — the only time the secret is shown. The URL must be `https://` and its host must not
/// resolve to a loopback, private or link-local address (`WEBHOOKS_ALLOW_HTTP` and
/// `WEBHOOKS_ALLOW_PRIVATE` lift these rules for development).
#[utoipa::path(
    tag = "webhooks",
    request_body(
        content = CreateWebhookEndpoint,
        example = json!({"url": "https://partner.example/billing/webhooks",
                         "enabled_events": ["subscription.*", "invoice.paid"],
                         "description": "Partner portal"})
    ),
    responses(
        (status = 201, body = WebhookEndpointWithSecret,
         headers(("Location" = String, description = "The endpoint's URL")),
         description = "The endpoint, with its signing secret"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`webhook-url-not-allowed` or `validation-failed`"),
    )
)]
#[post("/webhook-endpoints")]
pub async fn create_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateWebhookEndpoint>,
) -> ApiResult<HttpResponse> {
    let created =
        endpoints::create(&state.pool, state.webhook_urls, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/webhook-endpoints/{}", created.endpoint.id),
        ))
        .json(created))
}

/// List webhook endpoints
///
/// Admin only. Newest first, without their secrets.
#[utoipa::path(
    tag = "webhooks",
    params(ListParams),
    responses(
        (status = 200, body = List<WebhookEndpointView>, description = "A page of endpoints"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
    )
)]
#[get("/webhook-endpoints")]
pub async fn list_webhook_endpoints(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<WebhookEndpointView>>> {
    let (rows, limit) = endpoints::list(&state.pool, &caller, params.into_inner()).await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |e| e.id,
        |e| WebhookEndpointView::from(&e),
    )))
}

/// Read a webhook endpoint
///
/// Admin only; without its secret.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookEndpointView, description = "The endpoint"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhook-endpoints/{endpoint_id}")]
pub async fn get_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<WebhookEndpointView>> {
    let endpoint = endpoints::get(&state.pool, &caller, path.into_inner()).await?;
    Ok(web::Json(WebhookEndpointView::from(&endpoint)))
}

/// Update a webhook endpoint
///
/// Admin only. Change its `url` (checked as when created), `enabled_events` or
/// `description`; `disabled: true` holds its deliveries, `false` resumes them (also after
/// it was disabled for a 410 or five days of failures).
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    request_body(content = UpdateWebhookEndpoint, example = json!({"disabled": false})),
    responses(
        (status = 200, body = WebhookEndpointView, description = "The endpoint"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`webhook-url-not-allowed` or `validation-failed`"),
    )
)]
#[patch("/webhook-endpoints/{endpoint_id}")]
pub async fn patch_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<UpdateWebhookEndpoint>,
) -> ApiResult<web::Json<WebhookEndpointView>> {
    let endpoint = endpoints::update(
        &state.pool,
        state.webhook_urls,
        &caller,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(WebhookEndpointView::from(&endpoint)))
}

/// Delete a webhook endpoint
///
/// Admin only. Its pending deliveries are dropped.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhook-endpoints/{endpoint_id}")]
pub async fn delete_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    endpoints::delete(&state.pool, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook endpoint's secret
///
/// Admin only. Answers the new secret (shown only here). For 24 hours every delivery carries
/// two signatures, one per secret, so the receiver can switch without missing one.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookEndpointWithSecret, description = "The endpoint, with its new secret"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{endpoint_id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<WebhookEndpointWithSecret>> {
    Ok(web::Json(
        endpoints::rotate_secret(&state.pool, &caller, path.into_inner()).await?,
    ))
}

/// Send a test event
///
/// Admin only. Writes a `webhook.test` event and queues it for this endpoint alone, whatever
/// its `enabled_events`; answers the delivery (follow it in the endpoint's deliveries).
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 200, body = DeliveryView, description = "The test event's delivery, pending"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`webhook-endpoint-disabled`"),
    )
)]
#[post("/webhook-endpoints/{endpoint_id}/test")]
pub async fn test_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<DeliveryView>> {
    Ok(web::Json(
        deliveries::send_test(&state.pool, &caller, path.into_inner()).await?,
    ))
}

/// List an endpoint's deliveries
///
/// Admin only. Newest first: each event's status (`pending`, `succeeded`, `failed`), its
/// attempts, the last answer's HTTP status and duration, and the next attempt.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<DeliveryView>, description = "A page of deliveries"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhook-endpoints/{endpoint_id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<DeliveryView>>> {
    let (rows, limit) =
        deliveries::list(&state.pool, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |d| d.id, |d| d)))
}

/// Retry a delivery
///
/// Admin only. Makes the delivery due now, whatever its status: one more attempt.
#[utoipa::path(
    tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 200, body = DeliveryView, description = "The delivery, pending"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: admin only"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<DeliveryView>> {
    let (endpoint_id, delivery_id) = path.into_inner();
    Ok(web::Json(
        deliveries::retry(&state.pool, &caller, endpoint_id, delivery_id).await?,
    ))
}
