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

/// Create an account
///
/// Admin only. Creates a customer account: its kind (`self_service` or `corporate`), name,
/// country, currency, VAT ID, billing contact and, for a corporate account, its representative.
/// With an `Idempotency-Key`, sending the same request again creates nothing and answers with
/// the first response (`Idempotent-Replayed: true`).
#[utoipa::path(
    tag = "accounts",
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$",
         description = "Optional; 1–255 visible ASCII characters, scoped to the caller (`sub`)"),
    ),
    request_body(
        content = CreateAccount,
        example = json!({
            "kind": "self_service",
            "name": "Muster Fernwartung GmbH",
            "country": "DE",
            "currency": "EUR",
            "vat_id": "DE136695976",
            "billing_contact": {"name": "Erika Mustermann", "email": "erika@muster.example"},
            "address": {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115"}
        })
    ),
    responses(
        (status = 201, body = AccountView,
         headers(
            ("ETag" = String, description = "The account's version"),
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"),
         ),
         description = "The account (also for a replayed key)"),
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

/// List the accounts in reach
///
/// The accounts the caller reaches, newest first: a representative its own corporate accounts,
/// support the self-service accounts, an admin all. Contacts are answered 403: they read their
/// own account by id.
#[utoipa::path(
    tag = "accounts",
    params(ListParams),
    responses(
        (status = 200, body = List<AccountView>, description = "A page of accounts"),
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

/// Read an account
///
/// Kind, contact, country, currency, VAT ID, card summary, credit balance and version. The
/// `ETag` is the version, for `If-Match` on the writes.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's version")),
         description = "The account"),
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

/// Update an account's billing details
///
/// Billing details: VAT ID, contact, address, name, country. `kind`, `representative_id`,
/// `payment_terms_days` and `po_required` are for an admin (the last two also for the
/// representative). Send `If-Match` with the `ETag` so that a change made meanwhile is not
/// overwritten. A VAT ID must match the account's country and pass its check digit.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = Uuid, Path), ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The account's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`")),
    request_body(
        content = PatchAccount,
        description = "Only the fields to change; `null` clears `vat_id`, `address` or `representative_id`.",
        example = json!({
            "billing_contact": {"name": "Ada Lovelace", "email": "billing@acme.example"},
            "address": {"line1": "1 Market Street", "city": "San Francisco", "postal_code": "94105", "region": "CA"}
        })
    ),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's new version")),
         description = "The updated account"),
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

/// Attach a card
///
/// Self-service accounts: attaches a card by a one-time gateway token. Only brand, last 4
/// digits and expiry are stored. Test tokens: `tok_visa` and `tok_mastercard` attach and pay,
/// `tok_chargeDeclined` and `tok_insufficientFunds` attach and are declined at checkout,
/// `tok_expired` is rejected (422 `payment-method-invalid`).
#[utoipa::path(
    tag = "accounts",
    params(
        ("account_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The account's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`; absent: attach whatever the version"),
    ),
    request_body(content = PaymentMethodInput, example = json!({"token": "tok_visa"})),
    responses(
        (status = 200, body = AccountView, headers(("ETag" = String, description = "The account's new version")),
         description = "The account with its card"),
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
