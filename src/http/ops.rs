//! Operations endpoints, unauthenticated: liveness, readiness, metrics, and the API docs.

use actix_web::{HttpResponse, get, web};
use diesel_async::SimpleAsyncConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::AppState;
use crate::error::{ApiError, Problem};

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness
///
/// The process is alive and serving requests. Needs no token and touches no database.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses((status = 200, body = Health, description = "Alive", example = json!({"status": "ok"})))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness
///
/// The database is reachable: 200 when a query succeeds, 503 otherwise. Needs no token.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses(
        (status = 200, body = Health, description = "Ready", example = json!({"status": "ready"})),
        (status = 503, body = Problem, content_type = "application/problem+json",
         description = "`service-unavailable`: the database is not reachable"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let mut conn = state.pool.get().await?;
    conn.batch_execute("SELECT 1")
        .await
        .map_err(|_| ApiError::unavailable())?;
    Ok(web::Json(Health { status: "ready" }))
}

/// Prometheus metrics
///
/// Prometheus text exposition (format 0.0.4): requests and latency by route, the process, the
/// database pool and its statements, orders placed and order request outcomes. Needs no token.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses((status = 200, content_type = "text/plain", body = String, description = "The metrics, in Prometheus' text format"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.metrics.render())
}

/// Swagger UI, served from the binary itself, and the document at `/openapi.json`. A pasted
/// token is kept in the page only, not in the browser's local storage, where it would
/// outlive the tab and be readable by any script of this origin.
pub fn swagger_ui(api: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/swagger-ui/{_:.*}")
        .url("/openapi.json", api)
        .config(
            Config::new(["/openapi.json"])
                .validator_url("none")
                .persist_authorization(false),
        )
}
