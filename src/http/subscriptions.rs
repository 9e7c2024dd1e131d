//! Subscriptions: list, read (with `actions` for the caller), import (admin).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::etag;
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::cancellation::{self, CancelSubscription};
use crate::services::subscription_view::{SubscriptionView, view};
use crate::services::subscriptions::{self, ImportSubscription, SubscriptionDetail};

/// The subscription as the API shows it, with its version as the `ETag`.
fn respond(status: StatusCode, detail: SubscriptionDetail, today: NaiveDate) -> HttpResponse {
    let view = view(detail, today);
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the account's subscriptions
///
/// The account's subscriptions, newest first, each with the `actions` the caller may take now
/// (`edit`, `subscribe`, `assign_licenses`), so a portal shows the right buttons.
#[utoipa::path(
    tag = "subscriptions",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<SubscriptionView>, description = "A page of subscriptions"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<SubscriptionView>>> {
    let (rows, limit) =
        subscriptions::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    let today = caller.today();
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |d| d.row.id,
        |d| view(d, today),
    )))
}

/// Read a subscription
///
/// Plan, billing frequency, licences (bought and assigned), status, current period and its
/// amount, and the `actions` the caller may take now. The `ETag` is the version.
#[utoipa::path(
    tag = "subscriptions",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses(
        (status = 200, body = SubscriptionView, headers(("ETag" = String, description = "The subscription's version")),
         description = "The subscription"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/subscriptions/{subscription_id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, subscription_id) = path.into_inner();
    let detail = subscriptions::get(&state, &caller, account_id, subscription_id).await?;
    Ok(respond(StatusCode::OK, detail, caller.today()))
}

/// Import a subscription
///
/// Admin only; a migration from a legacy system, without charging: `trialing` with
/// `trial_ends_on`, or `active` with a `current_period_start` whose period contains today. Its
/// `period_amount` is the plan's price on that start date × quantity. One subscription per
/// account and product.
#[utoipa::path(
    tag = "subscriptions",
    params(("account_id" = Uuid, Path)),
    request_body(
        content = ImportSubscription,
        description = "A running trial (`trialing`, with `trial_ends_on`) or a paid subscription (`active`, with a `current_period_start` whose period contains today).",
        example = json!({
            "product": "gotoassist-service-desk",
            "plan": "starter",
            "quantity": 3,
            "status": "trialing",
            "trial_ends_on": "2030-06-30"
        })
    ),
    responses(
        (status = 201, body = SubscriptionView, headers(("ETag" = String, description = "The subscription's version")),
         description = "The imported subscription"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`subscription-exists`: the account has a subscription to the product"),
    )
)]
#[post("/subscriptions")]
pub async fn import_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<ImportSubscription>,
) -> ApiResult<HttpResponse> {
    let detail =
        subscriptions::import(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(respond(StatusCode::CREATED, detail, caller.today()))
}

/// Cancel a subscription
///
/// `{"at_period_end": true}` (any role that reaches the account): the subscription runs to
/// its period end and then ends ("Pending Cancellation": `cancel_at_period_end`, `cancel_at`,
/// `actions` with `reactivate` instead of `edit`); nothing is charged at that end. Canceling
/// again at the period end answers the same. `{"at_period_end": false, "reason": …}`
/// (representative, support, admin): it ends today, its licence assignments end, and the
/// unused time of the period is credited to the account's credit balance by a `cancel`
/// order. A trial has nothing to credit: it ends at its last day, or at once.
#[utoipa::path(
    tag = "subscriptions",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    request_body(
        content = CancelSubscription,
        example = json!({"at_period_end": true, "reason": "Moving to another product"})
    ),
    responses(
        (status = 200, body = SubscriptionView, headers(("ETag" = String, description = "The subscription's version")),
         description = "The subscription, canceling at its period end or canceled"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`cancel-requires-assistance`: a contact cancels at the period end only"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`subscription-ended`: it is canceled already"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`: `reason` missing for a cancellation at once, or too long"),
    )
)]
#[post("/subscriptions/{subscription_id}/cancel")]
pub async fn cancel_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<CancelSubscription>,
) -> ApiResult<HttpResponse> {
    let (account_id, subscription_id) = path.into_inner();
    let detail = cancellation::cancel(
        &state,
        &caller,
        account_id,
        subscription_id,
        body.into_inner(),
    )
    .await?;
    Ok(respond(StatusCode::OK, detail, caller.today()))
}

/// Reactivate a subscription
///
/// Clears a pending cancellation before `cancel_at`: the subscription renews again. A
/// subscription that is not canceling is answered as it is; one that has ended is 409
/// `subscription-ended` (subscribe again through the cart).
#[utoipa::path(
    tag = "subscriptions",
    params(("account_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses(
        (status = 200, body = SubscriptionView, headers(("ETag" = String, description = "The subscription's version")),
         description = "The subscription, no longer canceling"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`subscription-ended`: it has ended"),
    )
)]
#[post("/subscriptions/{subscription_id}/reactivate")]
pub async fn reactivate_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, subscription_id) = path.into_inner();
    let detail = cancellation::reactivate(&state, &caller, account_id, subscription_id).await?;
    Ok(respond(StatusCode::OK, detail, caller.today()))
}
