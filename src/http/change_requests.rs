//! Corporate change requests (SPEC §18): the contact asks, the representative answers with a
//! quote or declines.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::change_requests::{
    self, ChangeRequestView, DeclineChangeRequest, QuoteChangeRequest, RepresentativeFilter,
    SubmitChangeRequest,
};
use crate::services::quotes::{self, SentQuoteView};

/// Ask for a change
///
/// A corporate contact asks its representative for changes the portal does not allow: a
/// lower tier, fewer licences than the contract, a cancellation, a negotiated price. The
/// items are checked like cart items, with the representative's rules (downgrades allowed;
/// the licences in use still count); `cancel` items end a subscription at its period end or
/// at once. The representative is told by mail.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path)),
    request_body(
        content = SubmitChangeRequest,
        example = json!({"items": [{"type": "change", "subscription_id": "0192f0c1-5b6e-7c3d-9a1f-3e2d4c5b6a70", "plan": "standard", "quantity": 40}], "message": "We are 40 people now: Standard is enough for us from next month."})
    ),
    responses(
        (status = 201, body = ChangeRequestView, description = "The request, `submitted`"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: not the corporate contact, or a self-service account; `use-corporate-portal` / `use-billing-center` (SPEC §2)"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "An item breaks a rule: `licenses-in-use`, `already-subscribed`, `subscription-ended`, …"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed` (an unknown subscription, plan or product, two items for one product), `no-change`"),
    )
)]
#[post("/change-requests")]
pub async fn submit_change_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<SubmitChangeRequest>,
) -> ApiResult<HttpResponse> {
    let request =
        change_requests::submit(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(request))
}

/// List the account's change requests
///
/// Corporate accounts: every request, newest first, with its status and answer.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<ChangeRequestView>, description = "A page of change requests"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/change-requests")]
pub async fn list_change_requests(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<ChangeRequestView>>> {
    let (rows, limit) =
        change_requests::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |r| r.id, |r| r)))
}

/// Read a change request
///
/// The request as asked for, its status, and its answer: the quote (`quote_id`), or the
/// reason it was declined.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path), ("change_request_id" = Uuid, Path)),
    responses(
        (status = 200, body = ChangeRequestView, description = "The change request"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/change-requests/{change_request_id}")]
pub async fn get_change_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<ChangeRequestView>> {
    let (account_id, id) = path.into_inner();
    Ok(web::Json(
        change_requests::get(&state, &caller, account_id, id).await?,
    ))
}

/// Answer a change request with a quote
///
/// The representative (or an admin) quotes the requested items — or its own edit of them,
/// in `items` — priced today; the request is `quoted` and the contact is told by mail. The
/// contact accepts or rejects the quote like any other; accepting it places the order,
/// carries out the cancellations asked for, and completes the request. A request is answered
/// once.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path), ("change_request_id" = Uuid, Path)),
    request_body(
        content = QuoteChangeRequest,
        example = json!({"valid_for_days": 14, "note": "Standard for 40 seats from today, as asked."})
    ),
    responses(
        (status = 201, body = SentQuoteView, description = "The quote, linked to the request"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: not the account's representative"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`change-request-closed`: already answered or withdrawn; or an item breaks a rule now"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`, `no-change`"),
    )
)]
#[post("/change-requests/{change_request_id}/quote")]
pub async fn quote_change_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<QuoteChangeRequest>,
) -> ApiResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let quote = change_requests::quote(&state, &caller, account_id, id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(quotes::view(quote, caller.today())))
}

/// Decline a change request
///
/// The representative (or an admin) says no, and why; the contact is told by mail.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path), ("change_request_id" = Uuid, Path)),
    request_body(
        content = DeclineChangeRequest,
        example = json!({"reason": "Your contract runs to June; let us talk about it in May."})
    ),
    responses(
        (status = 200, body = ChangeRequestView, description = "The request, `declined`"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`change-request-closed`"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`: no reason"),
    )
)]
#[post("/change-requests/{change_request_id}/decline")]
pub async fn decline_change_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<DeclineChangeRequest>,
) -> ApiResult<web::Json<ChangeRequestView>> {
    let (account_id, id) = path.into_inner();
    Ok(web::Json(
        change_requests::decline(&state, &caller, account_id, id, body.into_inner()).await?,
    ))
}

/// Withdraw a change request
///
/// The contact takes back a request that is still `submitted`; the representative is told.
#[utoipa::path(
    tag = "change-requests",
    params(("account_id" = Uuid, Path), ("change_request_id" = Uuid, Path)),
    responses(
        (status = 200, body = ChangeRequestView, description = "The request, `withdrawn`"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`change-request-closed`: already answered"),
    )
)]
#[post("/change-requests/{change_request_id}/withdraw")]
pub async fn withdraw_change_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<ChangeRequestView>> {
    let (account_id, id) = path.into_inner();
    Ok(web::Json(
        change_requests::withdraw(&state, &caller, account_id, id).await?,
    ))
}

/// List the representative's change requests
///
/// A representative's requests across the accounts it represents (admin: every account's),
/// newest first; `status=submitted` lists those waiting for an answer.
#[utoipa::path(
    tag = "change-requests",
    params(RepresentativeFilter),
    responses(
        (status = 200, body = List<ChangeRequestView>, description = "A page of change requests"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: not a representative or an admin"),
    )
)]
#[get("/change-requests")]
pub async fn list_my_change_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RepresentativeFilter>,
) -> ApiResult<web::Json<List<ChangeRequestView>>> {
    let (rows, limit) =
        change_requests::list_for_representative(&state, &caller, query.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |r| r.id, |r| r)))
}
