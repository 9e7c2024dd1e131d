//! Quotes: a representative sends one from the cart; the corporate contact accepts or
//! rejects it; the representative may withdraw it.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::cart::{count_order_request, order_placed};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::orders::OrderView;
use crate::services::quotes::{self, AcceptQuote, CreateQuote, RejectQuote, SentQuoteView};

/// Body of `POST …/quotes/{quote_id}/withdraw`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawQuote {
    #[schema(max_length = 1000, example = "Superseded by QUO-000008")]
    pub reason: Option<String>,
}

/// List the account's quotes
///
/// Corporate accounts: the quotes a representative sent, newest first, with their status.
#[utoipa::path(
    tag = "quotes",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<SentQuoteView>, description = "A page of quotes"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quotes")]
pub async fn list_quotes(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<SentQuoteView>>> {
    let (rows, limit) =
        quotes::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    let today = caller.today();
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |q| q.id,
        |q| quotes::view(q, today),
    )))
}

/// Read a quote
///
/// One quote as sent and, while it can be accepted, `current_summary`: the same items at the
/// quoted unit prices, priced today (the new period starts on the day of acceptance), with
/// `current_quote_etag` to send as `If-Match` when accepting.
#[utoipa::path(
    tag = "quotes",
    params(("account_id" = Uuid, Path), ("quote_id" = Uuid, Path)),
    responses(
        (status = 200, body = SentQuoteView, description = "The quote"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quotes/{quote_id}")]
pub async fn get_quote_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<SentQuoteView>> {
    let (account_id, quote_id) = path.into_inner();
    let (quote, current) = quotes::get(&state, &caller, account_id, quote_id).await?;
    Ok(web::Json(quotes::view_with_current(
        quote,
        caller.today(),
        current,
    )))
}

/// Send a quote
///
/// The representative sends the account's cart as a quote: priced and frozen, open until its
/// expiry date. The cart empties.
#[utoipa::path(
    tag = "quotes",
    params(("account_id" = Uuid, Path)),
    request_body(
        content = CreateQuote,
        example = json!({"valid_for_days": 30, "note": "Premium for all 250 seats, as discussed on our call."})
    ),
    responses(
        (status = 201, body = SentQuoteView, description = "The quote as sent"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "Not the representative, or not a corporate account"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "An item breaks a rule now"),
    )
)]
#[post("/quotes")]
pub async fn create_quote(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateQuote>,
) -> ApiResult<HttpResponse> {
    let quote = quotes::create(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(quotes::view(quote, caller.today())))
}

/// Accept a quote
///
/// The corporate contact accepts: places the order at the quoted unit prices, priced on the day
/// of acceptance, and opens its invoice. Exactly once per `Idempotency-Key` and once per quote.
#[utoipa::path(
    tag = "quotes",
    params(
        ("account_id" = Uuid, Path),
        ("quote_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$", description = "Required; 1–255 visible ASCII characters (no spaces), kept at least 24 hours; a retry with the same key returns the same order"),
        ("If-Match" = Option<String>, Header, pattern = r#"^(\*|"qa-[0-9a-f]{32}")$"#,
         description = "The `current_quote_etag` of the summary reviewed (or `*`); without it, the amounts as sent must still hold. Amounts that moved answer 412 `quote-changed` with the fresh summary"),
    ),
    request_body(
        content = AcceptQuote,
        description = "`{}`, or the customer's purchase order number to print on the invoice.",
        example = json!({})
    ),
    responses(
        (status = 201, body = OrderView, description = "The order (also for a replayed key); the cancellations the quote carries are carried out with it",
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 200, body = SentQuoteView, description = "A quote of cancellations only (a change request's): nothing is ordered; the accepted quote",
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`quote-expired`, `quote-not-open` (accepted, rejected or withdrawn), `quote-stale` (the subscriptions changed), `subscription-ended`, `idempotency-key-in-use`"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`vat-id-required`, `purchase-order-expired`, `purchase-order-limit-exceeded`, `idempotency-key-reused`, `validation-failed`"),
        (status = 412, body = Problem, content_type = "application/problem+json",
         description = "`quote-changed`: priced today the amounts differ from those reviewed; the problem carries the fresh `quote` and `quote_etag`"),
    )
)]
#[post("/quotes/{quote_id}/accept")]
pub async fn accept_quote(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    body: Json<AcceptQuote>,
) -> ApiResult<HttpResponse> {
    let (account_id, quote_id) = path.into_inner();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok());
    let if_match = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    let outcome = quotes::accept(
        &state,
        &caller,
        account_id,
        quote_id,
        key,
        if_match,
        body.into_inner(),
    )
    .await;
    Ok(order_placed(count_order_request(
        &state,
        "quote_acceptance",
        outcome,
    )?))
}

/// Reject a quote
///
/// The corporate contact declines the quote, with a reason for the representative.
#[utoipa::path(
    tag = "quotes",
    params(("account_id" = Uuid, Path), ("quote_id" = Uuid, Path)),
    request_body(
        content = RejectQuote,
        example = json!({"reason": "We will stay on Ultimate until the next budget year."})
    ),
    responses(
        (status = 200, body = SentQuoteView, description = "The rejected quote"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`quote-expired`, `quote-not-open`"),
    )
)]
#[post("/quotes/{quote_id}/reject")]
pub async fn reject_quote(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<RejectQuote>,
) -> ApiResult<web::Json<SentQuoteView>> {
    let (account_id, quote_id) = path.into_inner();
    let quote = quotes::decide(
        &state,
        &caller,
        account_id,
        quote_id,
        false,
        Some(body.into_inner().reason),
    )
    .await?;
    Ok(web::Json(quotes::view(quote, caller.today())))
}

/// Withdraw a quote
///
/// The representative withdraws a quote that is still open.
#[utoipa::path(
    tag = "quotes",
    params(("account_id" = Uuid, Path), ("quote_id" = Uuid, Path)),
    request_body(content = WithdrawQuote, example = json!({"reason": "Superseded by QUO-000008"})),
    responses(
        (status = 200, body = SentQuoteView, description = "The withdrawn quote"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`quote-expired`, `quote-not-open`"),
    )
)]
#[post("/quotes/{quote_id}/withdraw")]
pub async fn withdraw_quote(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<WithdrawQuote>,
) -> ApiResult<web::Json<SentQuoteView>> {
    let (account_id, quote_id) = path.into_inner();
    let quote = quotes::decide(
        &state,
        &caller,
        account_id,
        quote_id,
        true,
        body.into_inner().reason,
    )
    .await?;
    Ok(web::Json(quotes::view(quote, caller.today())))
}
