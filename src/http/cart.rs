//! The cart, its checkout summary, and placing the order.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::http::{etag, if_match_version};
use crate::services::Caller;
use crate::services::cart::{self, CartDetail, CartItemInput, CartItemPatch, CartView, cart_view};
use crate::services::checkout::{self, CheckoutInput};
use crate::services::checkout_summary::{self, QuoteView};
use crate::services::orders::OrderView;

fn respond(state: &AppState, detail: CartDetail) -> ApiResult<HttpResponse> {
    let view = cart_view(&state.catalog.get(), detail)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Read the account's cart
///
/// The account's open cart, created empty when there is none. `item_count` lets a portal offer
/// "Add to cart" instead of "Checkout" while other items wait. The `ETag` is the cart's
/// version, for `If-Match` on the edits.
#[utoipa::path(
    tag = "cart",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, body = CartView, headers(("ETag" = String, description = "The cart's version, quotes included")),
         description = "The open cart"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cart")]
pub async fn get_cart(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let detail = cart::get(&state, &caller, path.into_inner()).await?;
    respond(&state, detail)
}

/// Add an item to the cart
///
/// Adds an item, or replaces the item of the same product: `change` an active subscription
/// (plan, licences, billing frequency) or `subscribe` to a product that has no active
/// subscription (e.g. after a trial). Every rule is checked now and again at checkout: an
/// upgrade is open to every role that reaches the account, a downgrade only to a representative
/// or support, and licences never go below those assigned. Every edit bumps the cart's version.
#[utoipa::path(
    tag = "cart",
    params(("account_id" = Uuid, Path), ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The cart's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`")),
    request_body(
        content = CartItemInput,
        description = "A `change` of an active subscription or a `subscribe` to a product. The example upgrades the demo account's subscription (`scripts/dev`) to Premium × 8, billed annually.",
        example = json!({
            "type": "change",
            "subscription_id": "00000000-0000-4000-8100-000000010001",
            "plan": "premium",
            "quantity": 8,
            "billing_frequency": "annual"
        })
    ),
    responses(
        (status = 200, body = CartView, headers(("ETag" = String, description = "The cart's new version")),
         description = "The cart with the item"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`downgrade-requires-assistance`, `use-corporate-portal`, `use-billing-center`"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`licenses-in-use`, `trial-expired`, `trial-active`, `already-subscribed`, or the cart is being checked out"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "`version-mismatch`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`no-change`, `validation-failed`"),
    )
)]
#[post("/cart/items")]
pub async fn add_cart_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<CartItemInput>,
) -> ApiResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let detail = cart::add_item(
        &state,
        &caller,
        path.into_inner(),
        if_match,
        body.into_inner(),
    )
    .await?;
    respond(&state, detail)
}

/// Change a cart item
///
/// "Change order": a new plan, licence count and/or billing frequency for an item, checked
/// against the same rules as when it was added.
#[utoipa::path(
    tag = "cart",
    params(("account_id" = Uuid, Path), ("item_id" = Uuid, Path), ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The cart's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`")),
    request_body(
        content = CartItemPatch,
        description = "Only the fields to change.",
        example = json!({"quantity": 10})
    ),
    responses(
        (status = 200, body = CartView, headers(("ETag" = String, description = "The cart's new version")),
         description = "The cart with the changed item"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/cart/items/{item_id}")]
pub async fn patch_cart_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    body: Json<CartItemPatch>,
) -> ApiResult<HttpResponse> {
    let (account_id, item_id) = path.into_inner();
    let if_match = if_match_version(&req)?;
    let detail = cart::patch_item(
        &state,
        &caller,
        account_id,
        item_id,
        if_match,
        body.into_inner(),
    )
    .await?;
    respond(&state, detail)
}

/// Remove a cart item
///
/// Removes the item; the cart's version moves on.
#[utoipa::path(
    tag = "cart",
    params(("account_id" = Uuid, Path), ("item_id" = Uuid, Path), ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"[0-9]{1,9}"$"#, description = "The cart's `ETag`, quotes included (`\"3\"`); a stale one is 412 `version-mismatch`")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/cart/items/{item_id}")]
pub async fn delete_cart_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (account_id, item_id) = path.into_inner();
    let if_match = if_match_version(&req)?;
    cart::delete_item(&state, &caller, account_id, item_id, if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Read the checkout summary
///
/// The checkout summary: per item the new billing period (starting today), licences, unit and
/// plan price, the credit for the unused time of the replaced period, and its lines; then the
/// subtotal, tax (rate, reverse charge), credit balance applied and total due; the requirements
/// still open (`payment_method`, `vat_id`); and the `quote_etag` to send as `If-Match` when
/// placing the order, so that what was reviewed is what is charged.
#[utoipa::path(
    tag = "cart",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, body = QuoteView, headers(("ETag" = String, description = "The `quote_etag`")),
         description = "The checkout summary"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "An item breaks a rule now (`licenses-in-use`, `trial-expired`…)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`cart-empty`"),
    )
)]
#[get("/cart/quote")]
pub async fn get_quote(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = checkout_summary::get_checkout_summary(&state, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, view.quote_etag.clone()))
        .json(view))
}

/// Place the order
///
/// Places the cart as an order: re-checks every rule, charges the card (self-service) or opens
/// an invoice with its due date (corporate), applies every change with a new period starting
/// today, records the order, its invoice and an audit event, and closes the cart. Exactly once
/// per `Idempotency-Key`: a retry with the same key returns the same order
/// (`Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency-key-reused`. A representative or support must give a `reason`; a body of `{}`
/// places a contact's order.
#[utoipa::path(
    tag = "cart",
    params(
        ("account_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$", description = "Required; 1–255 visible ASCII characters (no spaces), kept at least 24 hours; a retry with the same key returns the same order"),
        ("If-Match" = Option<String>, Header, pattern = r#"^(\*|"q-[0-9a-f]{32}")$"#, description = "The `quote_etag` that was reviewed, quotes included (`\"q-…\"`), or `*`; a different one is 412 `quote-changed`"),
    ),
    request_body(
        content = CheckoutInput,
        description = "`{}` for a contact's own order. `reason` is required when a representative or support places the order; `po_number` names the customer's purchase order (corporate accounts).",
        example = json!({})
    ),
    responses(
        (status = 201, body = OrderView, description = "The order (also for a replayed key)",
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 402, body = Problem, content_type = "application/problem+json", description = "`card-declined`: nothing changed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`idempotency-key-in-use`, a rule broken now, or the cart is being ordered"),
        (status = 412, body = Problem, content_type = "application/problem+json",
         description = "`quote-changed`, with the fresh quote in `quote`"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`payment-method-required`, `vat-id-required` (with `requirements`), `cart-empty`, `idempotency-key-reused`, `validation-failed`"),
    )
)]
#[post("/cart/checkout")]
pub async fn checkout_cart(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<CheckoutInput>,
) -> ApiResult<HttpResponse> {
    let header_text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let outcome = checkout::checkout(
        &state,
        &caller,
        path.into_inner(),
        header_text("idempotency-key"),
        header_text("if-match"),
        body.into_inner(),
    )
    .await;
    Ok(order_placed(count_order_request(
        &state, "checkout", outcome,
    )?))
}

/// Counts how a request that places an order ended (`/metrics`): placed (and the order by
/// its settlement and source), replayed, or the problem code that refused it.
pub fn count_order_request(
    state: &AppState,
    operation: &str,
    outcome: ApiResult<checkout::CheckoutOutcome>,
) -> ApiResult<checkout::CheckoutOutcome> {
    let label = match &outcome {
        Ok(placed) if placed.replayed => "replayed",
        // A quote of cancellations only: accepted, nothing ordered.
        Ok(placed) if placed.status != 201 => "accepted",
        Ok(placed) => {
            let settlement = placed.body["settlement"].as_str().unwrap_or("unknown");
            let source = if operation == "checkout" {
                "cart"
            } else {
                "quote"
            };
            state.metrics.order_placed(settlement, source);
            "placed"
        }
        Err(refused) => refused.code.as_str(),
    };
    state.metrics.order_request(operation, label);
    outcome
}

/// The response to a request that places an order (checkout, quote acceptance): the order,
/// marked `Idempotent-Replayed` when it is the stored response of an earlier request.
pub fn order_placed(outcome: checkout::CheckoutOutcome) -> HttpResponse {
    let mut response =
        HttpResponse::build(StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::CREATED));
    if outcome.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(outcome.body)
}
