//! Purchase orders on file for an account.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::purchase_orders::{self, CreatePurchaseOrder, PurchaseOrderView};

/// The account's purchase orders with what has been ordered under each, newest first.
#[utoipa::path(
    tag = "purchase-orders",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<PurchaseOrderView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/purchase-orders")]
pub async fn list_purchase_orders(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<PurchaseOrderView>>> {
    let (rows, limit) =
        purchase_orders::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |p| p.id, |p| p)))
}

/// Keep a purchase order on file: orders naming its number must come before its expiry and
/// stay within its amount limit.
#[utoipa::path(
    tag = "purchase-orders",
    params(("account_id" = Uuid, Path)),
    request_body = CreatePurchaseOrder,
    responses(
        (status = 201, body = PurchaseOrderView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`purchase-order-exists`"),
    )
)]
#[post("/purchase-orders")]
pub async fn create_purchase_order(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreatePurchaseOrder>,
) -> ApiResult<HttpResponse> {
    let po = purchase_orders::create(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(po))
}
