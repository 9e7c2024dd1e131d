//! Licence assignment: who holds a licence of a subscription.

use actix_web::{HttpResponse, delete, get, post, put, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::licenses::{self, AssignmentView, BulkInput, BulkResponse};

/// List who holds a licence
///
/// Users holding a licence of the subscription, newest first (`starting_after` is a user id).
#[utoipa::path(
    tag = "licenses",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<AssignmentView>, description = "A page of assignments"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/subscriptions/{subscription_id}/assignments")]
pub async fn list_assignments(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<AssignmentView>>> {
    let (account_id, subscription_id) = path.into_inner();
    let (rows, limit) = licenses::list(
        &state,
        &caller,
        account_id,
        subscription_id,
        params.into_inner(),
    )
    .await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |a| a.user_id,
        |a| a,
    )))
}

/// Assign a licence to a user
///
/// Enables the product for the user. Idempotent: 201 when the licence is new, 200 when the user
/// already held it. Never beyond the licences bought, also under concurrent requests (409
/// `no-licenses-available`); `active` subscriptions, and `trialing` ones within their trial
/// quantity.
#[utoipa::path(
    tag = "licenses",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 201, body = AssignmentView, description = "Assigned"),
        (status = 200, body = AssignmentView, description = "The user already held a licence"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`no-licenses-available` (with `licenses_available`), `trial-expired`, or the subscription has ended"),
    )
)]
#[put("/subscriptions/{subscription_id}/assignments/{user_id}")]
pub async fn put_assignment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, subscription_id, user_id) = path.into_inner();
    let (created, view) =
        licenses::assign(&state, &caller, account_id, subscription_id, user_id).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Unassign a user's licence
///
/// Disables the product for the user and frees the licence. Idempotent: 204 whether or not the
/// user held one.
#[utoipa::path(
    tag = "licenses",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "The user holds no licence of this subscription"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/subscriptions/{subscription_id}/assignments/{user_id}")]
pub async fn delete_assignment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, subscription_id, user_id) = path.into_inner();
    licenses::unassign(&state, &caller, account_id, subscription_id, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Assign and unassign in bulk
///
/// Applies many assign/unassign operations to one subscription, all or nothing. Unassignments
/// free licences for the assignments of the same batch.
#[utoipa::path(
    tag = "licenses",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    request_body(
        content = BulkInput,
        description = "The operations, applied in one transaction; unassignments first.",
        example = json!({
            "operations": [
                {"user_id": "00000000-0000-4000-8100-000000020001", "action": "assign"},
                {"user_id": "00000000-0000-4000-8100-000000020002", "action": "assign"}
            ]
        })
    ),
    responses(
        (status = 200, body = BulkResponse, description = "Each operation's outcome, and the licences now assigned and free"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`no-licenses-available`: nothing was applied; `licenses_available` says how many are free"),
    )
)]
#[post("/subscriptions/{subscription_id}/assignments/bulk")]
pub async fn bulk_assignments(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<BulkInput>,
) -> ApiResult<web::Json<BulkResponse>> {
    let (account_id, subscription_id) = path.into_inner();
    Ok(web::Json(
        licenses::bulk(
            &state,
            &caller,
            account_id,
            subscription_id,
            body.into_inner(),
        )
        .await?,
    ))
}
