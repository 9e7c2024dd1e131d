//! The outermost middleware: a request id on every request (taken from `X-Request-Id` when
//! the caller sends a sane one), a tracing span that carries it, one access log line, and
//! the metrics; and the security headers every response carries.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::AppState;
use crate::http::fallback::KnownRoutes;
use crate::http::rate_limit::RateLimitStatus;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served; audit events record it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| value.to_owned())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let route = match req
        .app_data::<web::Data<KnownRoutes>>()
        .and_then(|k| k.pattern_of(req.path()))
    {
        Some(pattern) => pattern.to_owned(),
        None if req.path().starts_with("/swagger-ui") => "/swagger-ui".to_owned(),
        None => "unmatched".to_owned(),
    };
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);

    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request served"
        );
    });
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    result.map(|mut response| {
        let rate = response
            .request()
            .extensions()
            .get::<RateLimitStatus>()
            .copied();
        if let Some(rate) = rate {
            rate.apply_to(&mut response);
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        response.map_into_boxed_body()
    })
}

/// The policy of the Swagger UI pages. Everything they load is a same-origin file
/// (`swagger-ui-bundle.js`, `swagger-ui-standalone-preset.js`, `swagger-initializer.js`, the
/// CSS); images include the `data:` icons of `swagger-ui.css`; "Try it out" and the document
/// are fetched from this origin. The one inline piece is the `<style>` inside the preset's
/// logo SVG, allowed by its hash (Swagger UI 5.17.14's
/// `.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`).
pub const SWAGGER_UI_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Security headers: `X-Content-Type-Options: nosniff` on every response, so no browser
/// guesses a type other than the one sent; `Cache-Control: no-store` on the authenticated
/// API (`/v1`), so no shared or browser cache keeps an account's data; and on the Swagger UI
/// pages `X-Frame-Options: DENY` with a Content-Security-Policy, since they run scripts
/// with the tokens a user pastes.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path();
    let authenticated_api = path == "/v1" || path.starts_with("/v1/");
    let docs = path == "/swagger-ui" || path.starts_with("/swagger-ui/");
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if authenticated_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if docs {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SWAGGER_UI_CSP),
        );
    }
    Ok(response)
}
