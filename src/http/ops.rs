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

/// The process is alive.
#[utoipa::path(tag = "ops", security(()), responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database is reachable.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses(
        (status = 200, body = Health),
        (status = 503, body = Problem, content_type = "application/problem+json"),
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

/// Prometheus text exposition (format 0.0.4): requests and latency by route, the process,
/// the database pool and its statements, orders placed and order request outcomes.
#[utoipa::path(tag = "ops", security(()), responses((status = 200, content_type = "text/plain", body = String)))]
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
