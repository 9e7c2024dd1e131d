//! Accounts: create, list, read, patch billing details, attach a card.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem, internal_error};
use crate::http::extract::Json;
use crate::http::{etag, idempotent_response, if_match_version};
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::accounts::{
    self, AccountView, CreateAccount, PatchAccount, PaymentMethodInput,
};

fn with_etag(status: actix_web::http::StatusCode, view: AccountView) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// Create an account (admin). With an `Idempotency-Key`, sending the same request again
/// creates nothing and answers with the first response.
#[utoipa::path(
    tag = "accounts",
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$",
         description = "Optional; 1–255 visible ASCII characters, scoped to the caller (`sub`)"),
    ),
    request_body = CreateAccount,
    responses(
        (status = 201, body = AccountView, headers(("ETag" = String)),
         description = "The account (also for a replayed key, with `Idempotent-Replayed: true`)"),
        (status = 400, body = Problem, content_type = "application/problem+json",
         description = "`idempotency-key-required`: the key is not 1–255 visible ASCII characters"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`validation-failed`, `idempotency-key-reused`"),
    )
)]
#[post("/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<CreateAccount>,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or_default());
    let outcome = accounts::create(&state, &caller, key, body.into_inner(), |account| {
        serde_json::to_value(AccountView::try_from(account.clone())?)
            .map_err(|e| internal_error("account view", &e))
    })
    .await?;
    let mut response = idempotent_response(&outcome);
    if let Some(version) = outcome.body["version"].as_i64() {
        response.insert_header((header::ETAG, format!("\"{version}\"")));
    }
    Ok(response.json(outcome.body))
}

/// List the accounts in the caller's reach (representative: its own; support: self-service;
/// admin: all), newest first.
#[utoipa::path(
    tag = "accounts",
    params(ListParams),
    responses(
        (status = 200, body = List<AccountView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<AccountView>>> {
    let (rows, limit) = accounts::list(&state, &caller, params.into_inner()).await?;
    let views = rows
        .into_iter()
        .map(AccountView::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(List::from_rows(views, limit, |v| v.id, |v| v)))
}

/// Read an account.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let account = accounts::get(&state, &caller, path.into_inner()).await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        account.try_into()?,
    ))
}

/// Update billing details (VAT ID, contact, address, name, country). `kind` and
/// `representative_id`: admin only. Send `If-Match` with the ETag to avoid lost updates.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = Uuid, Path), ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The account's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`")),
    request_body = PatchAccount,
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("")]
pub async fn patch_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<PatchAccount>,
) -> ApiResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let account = accounts::patch(
        &state,
        &caller,
        path.into_inner(),
        if_match,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        account.try_into()?,
    ))
}

/// Attach a card by gateway token (self-service accounts). Only brand, last 4 and expiry
/// are stored. Test tokens: `tok_visa`, `tok_mastercard`, `tok_chargeDeclined`,
/// `tok_insufficientFunds` attach; `tok_expired` is rejected.
#[utoipa::path(
    tag = "accounts",
    params(
        ("account_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The account's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`; absent: attach whatever the version"),
    ),
    request_body = PaymentMethodInput,
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "`version-mismatch`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`payment-method-invalid`, `validation-failed`"),
    )
)]
#[put("/payment-method")]
pub async fn put_payment_method(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<PaymentMethodInput>,
) -> ApiResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let account = accounts::set_payment_method(
        &state,
        &caller,
        path.into_inner(),
        if_match,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        account.try_into()?,
    ))
}
