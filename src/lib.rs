//! Billing Center API: a headless REST API for subscription changes, carts, checkout,
//! orders, invoices and licence assignment.
//!
//! Data flows one way: `http` (parse, respond) → `services` (one transaction per use case)
//! → `domain` (pure rules) and `db` (rows and queries). `build_app` is the one place where
//! routes are assembled; `main` and the tests both use it.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod payments;
pub mod seed;
pub mod services;
pub mod telemetry;

use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, middleware, web};
use utoipa_actix_web::AppExt;

use crate::auth::jwt::JwtVerifier;
use crate::clock::Clock;
use crate::db::DbPool;
use crate::metrics::Metrics;
use crate::payments::PaymentGateway;
use crate::services::catalog::CatalogCache;

/// Everything a request may need, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub jwt: Arc<JwtVerifier>,
    pub clock: Arc<dyn Clock>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub metrics: Arc<Metrics>,
    /// Products, plans and every price version, loaded at start-up.
    pub catalog: CatalogCache,
    /// ISO country of the seller, for VAT (SPEC §6).
    pub seller_country: String,
    /// CORS origins and the rate per caller.
    pub http: Arc<http::HttpPolicy>,
    /// `TEST_CLOCKS=enabled`: requests on an account bound to a test clock read its time.
    pub test_clocks: bool,
    /// `DUNNING_RETRY_DAYS`: days after a renewal's first refused charge on which it is
    /// retried (SPEC §13).
    pub dunning_retry_days: Arc<[i64]>,
    /// `WEBHOOKS_ALLOW_HTTP` / `WEBHOOKS_ALLOW_PRIVATE` (SPEC §14).
    pub webhook_urls: crate::services::webhooks::url_rules::UrlPolicy,
}

/// The whole application: routes, extractor error handling, observability, OpenAPI and
/// Swagger UI.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let state_http = state.http.clone();
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .app_data(web::Data::new(state))
        .app_data(http::extract::payload_config())
        .app_data(http::extract::path_config())
        .app_data(http::extract::query_config())
        .configure(http::routes)
        .split_for_parts();
    let api = openapi::finish(api);
    let cors = middleware::Condition::new(
        !state_http.cors_allowed_origins.is_empty(),
        state_http.cors(),
    );
    let known_routes = http::fallback::KnownRoutes::from_openapi(&api);
    app.app_data(web::Data::new(known_routes))
        .service(http::ops::swagger_ui(api))
        .service(web::redirect("/swagger-ui", "/swagger-ui/"))
        .default_service(web::to(http::fallback::not_found_or_method_not_allowed))
        .wrap(middleware::from_fn(
            http::fallback::reject_non_canonical_ids,
        ))
        // Outside the id check, so a preflight is answered before any route rule.
        .wrap(cors)
        .wrap(middleware::from_fn(http::middleware::security_headers))
        .wrap(middleware::from_fn(http::middleware::observe))
}

/// The OpenAPI document the handlers describe, exactly as `/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .configure(http::routes)
        .split_for_parts();
    openapi::finish(api)
}
