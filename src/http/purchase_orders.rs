//! Purchase orders on file for an account.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::purchase_orders::{self, CreatePurchaseOrder, PurchaseOrderView};

/// List the account's purchase orders
///
/// The purchase orders on file, newest first, with what has been ordered under each.
#[utoipa::path(
    tag = "purchase-orders",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<PurchaseOrderView>, description = "A page of purchase orders"),
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

/// Keep a purchase order on file
///
/// Corporate accounts: orders that name its number must come before its expiry and stay within
/// its amount limit. Numbers match in any case.
#[utoipa::path(
    tag = "purchase-orders",
    params(("account_id" = Uuid, Path)),
    request_body(
        content = CreatePurchaseOrder,
        example = json!({"number": "PO-2026-0042", "amount_limit": "50000.00", "expires_on": "2027-12-31"})
    ),
    responses(
        (status = 201, body = PurchaseOrderView, description = "The purchase order"),
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
