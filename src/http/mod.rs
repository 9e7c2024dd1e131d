//! The HTTP layer: handlers parse the request, call one service, and shape the response.
//! One module per resource; each handler carries its `#[utoipa::path]`.

pub mod accounts;
pub mod assignments;
pub mod caller;
pub mod cart;
pub mod catalog;
pub mod change_requests;
pub mod events;
pub mod extract;
pub mod fallback;
pub mod jobs;
pub mod me;
pub mod middleware;
pub mod notifications;
pub mod ops;
pub mod orders;
pub mod purchase_orders;
pub mod quotes;
pub mod rate_limit;
pub mod subscriptions;
pub mod test_clocks;
pub mod users;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::rate_limit::CallerRateLimiter;

/// What the HTTP edge enforces beside authentication: the browser origins allowed to call
/// the API (CORS; none by default) and the rate per caller (none when unset).
#[derive(Default)]
pub struct HttpPolicy {
    pub cors_allowed_origins: Vec<String>,
    pub rate_limiter: Option<CallerRateLimiter>,
}

impl HttpPolicy {
    /// CORS for the configured origins: the methods and headers the API uses, and the
    /// response headers a browser client needs to read (`ETag`, `Location`, request id,
    /// replay and rate-limit headers). Tokens travel in `Authorization`, never in cookies,
    /// so credentials mode stays off.
    pub fn cors(&self) -> actix_cors::Cors {
        let mut cors = actix_cors::Cors::default()
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allowed_headers([
                "authorization",
                "content-type",
                "idempotency-key",
                "if-match",
                "x-request-id",
            ])
            .expose_headers([
                "etag",
                "location",
                "x-request-id",
                "idempotent-replayed",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
            ])
            .max_age(3600)
            // A request from another origin is still served (a server-side client sends
            // an Origin too); the browser withholds the answer when no header allows it.
            .block_on_origin_mismatch(false);
        for origin in &self.cors_allowed_origins {
            cors = cors.allowed_origin(origin);
        }
        cors
    }
}

/// Every route of the API. Registering a handler here is what puts it in the OpenAPI
/// document, so the document cannot list a route that does not exist, nor miss one.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(
            utoipa_actix_web::scope("/v1")
                .service(catalog::list_products)
                .service(me::get_me)
                .service(jobs::list_jobs)
                .service(accounts::create_account)
                .service(accounts::list_accounts)
                .service(test_clocks::create_test_clock)
                .service(test_clocks::list_test_clocks)
                .service(test_clocks::get_test_clock)
                .service(test_clocks::delete_test_clock)
                .service(test_clocks::advance_test_clock)
                .service(events::list_all_events)
                .service(change_requests::list_my_change_requests)
                .service(events::resend_event)
                .service(webhooks::create_webhook_endpoint)
                .service(webhooks::list_webhook_endpoints)
                .service(webhooks::get_webhook_endpoint)
                .service(webhooks::patch_webhook_endpoint)
                .service(webhooks::delete_webhook_endpoint)
                .service(webhooks::rotate_webhook_secret)
                .service(webhooks::test_webhook_endpoint)
                .service(webhooks::list_webhook_deliveries)
                .service(webhooks::retry_webhook_delivery)
                // Everything about one account lives under its prefix: the router matches the
                // account id once, then compares the rest (mostly static) instead of trying
                // every route's pattern in turn. Hot routes come first in their scope.
                .service(
                    utoipa_actix_web::scope("/accounts/{account_id}")
                        .service(subscriptions::get_subscription)
                        .service(cart::get_quote)
                        .service(cart::add_cart_item)
                        .service(cart::checkout_cart)
                        .service(assignments::put_assignment)
                        .service(assignments::delete_assignment)
                        .service(accounts::get_account)
                        .service(accounts::patch_account)
                        .service(accounts::put_payment_method)
                        .service(subscriptions::list_subscriptions)
                        .service(subscriptions::import_subscription)
                        .service(subscriptions::cancel_subscription)
                        .service(subscriptions::reactivate_subscription)
                        .service(assignments::list_assignments)
                        .service(assignments::bulk_assignments)
                        .service(users::list_users)
                        .service(users::create_user)
                        .service(users::delete_user)
                        .service(cart::get_cart)
                        .service(cart::patch_cart_item)
                        .service(cart::delete_cart_item)
                        .service(orders::list_orders)
                        .service(orders::get_order)
                        .service(orders::list_invoices)
                        .service(orders::get_invoice)
                        .service(orders::record_invoice_payment)
                        .service(orders::pay_invoice)
                        .service(purchase_orders::list_purchase_orders)
                        .service(purchase_orders::create_purchase_order)
                        .service(quotes::list_quotes)
                        .service(quotes::create_quote)
                        .service(quotes::get_quote_document)
                        .service(quotes::accept_quote)
                        .service(quotes::reject_quote)
                        .service(quotes::withdraw_quote)
                        .service(events::list_events)
                        .service(notifications::list_notifications)
                        .service(change_requests::submit_change_request)
                        .service(change_requests::list_change_requests)
                        .service(change_requests::get_change_request)
                        .service(change_requests::quote_change_request)
                        .service(change_requests::decline_change_request)
                        .service(change_requests::withdraw_change_request),
                ),
        );
}

/// The answer to an idempotent request, marked `Idempotent-Replayed: true` when it is the
/// stored answer of an earlier request with the same key.
pub fn idempotent_response(
    outcome: &crate::services::idempotency::Outcome,
) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::build(
        actix_web::http::StatusCode::from_u16(outcome.status)
            .unwrap_or(actix_web::http::StatusCode::CREATED),
    );
    if outcome.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response
}

/// The `ETag` of a versioned resource.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Reads `If-Match: "<version>"` (weak or strong); a header that names no version is a 412.
pub fn if_match_version(req: &actix_web::HttpRequest) -> crate::error::ApiResult<Option<i32>> {
    let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .map(Some)
        .ok_or_else(|| {
            crate::error::ApiError::new(
                crate::error::ErrorCode::VersionMismatch,
                "If-Match must be the resource's ETag, e.g. \"3\".",
            )
        })
}
