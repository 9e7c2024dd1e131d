//! Orders and invoices, and payments received against invoices.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::http::idempotent_response;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::invoice_payments::{self, RecordPayment};
use crate::services::orders::{self, InvoiceView, OrderView};

/// List the account's orders
///
/// The account's orders, newest first: `pending` while a card is being charged, `completed`, or
/// `voided` (paid but no longer applicable, refunded).
#[utoipa::path(
    tag = "orders",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<OrderView>, description = "A page of orders"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<OrderView>>> {
    let (rows, limit) =
        orders::list_orders(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |o| o.id, |o| o)))
}

/// Read an order
///
/// One order with its items, lines and totals, and per subscription the licences still to
/// assign (the next step after a purchase).
#[utoipa::path(
    tag = "orders",
    params(("account_id" = Uuid, Path), ("order_id" = Uuid, Path)),
    responses(
        (status = 200, body = OrderView, description = "The order"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{order_id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<OrderView>> {
    let (account_id, order_id) = path.into_inner();
    Ok(web::Json(
        orders::get_order(&state, &caller, account_id, order_id).await?,
    ))
}

/// List the account's invoices
///
/// The account's invoices, newest first, with their lines, tax, status and due date.
#[utoipa::path(
    tag = "invoices",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<InvoiceView>, description = "A page of invoices"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/invoices")]
pub async fn list_invoices(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<InvoiceView>>> {
    let (rows, limit) =
        orders::list_invoices(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |i| i.id, |i| i)))
}

/// Read an invoice
///
/// One invoice: lines, subtotal, tax (rate, reverse charge), credit applied, total due, status
/// (`paid`, `open`, …), due date, purchase order number and the payments received.
#[utoipa::path(
    tag = "invoices",
    params(("account_id" = Uuid, Path), ("invoice_id" = Uuid, Path)),
    responses(
        (status = 200, body = InvoiceView, description = "The invoice"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/invoices/{invoice_id}")]
pub async fn get_invoice(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<InvoiceView>> {
    let (account_id, invoice_id) = path.into_inner();
    Ok(web::Json(
        orders::get_invoice(&state, &caller, account_id, invoice_id).await?,
    ))
}

/// Record a payment received
///
/// Representative, support or admin: records money received by bank transfer or cheque against
/// an open invoice; the invoice becomes `paid` when the payments cover it. Recorded exactly
/// once per `Idempotency-Key` (a retry gets the stored answer) and once per `reference` on the
/// account.
#[utoipa::path(
    tag = "invoices",
    params(
        ("account_id" = Uuid, Path),
        ("invoice_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$", description = "Required; 1–255 visible ASCII characters, scoped to the account"),
    ),
    request_body(
        content = RecordPayment,
        example = json!({
            "amount": "1500.00",
            "method": "bank_transfer",
            "reference": "BANK-REF-2026-12-0042",
            "received_on": "2026-12-01"
        })
    ),
    responses(
        (status = 201, body = InvoiceView, description = "The invoice with the payment (also for a replayed key)",
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`idempotency-key-required`"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`duplicate-payment` (the reference is recorded on the account already), `idempotency-key-in-use`, or the invoice is paid already (`conflict`)"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`idempotency-key-reused`, `validation-failed` (e.g. more than is still due)"),
    )
)]
#[post("/invoices/{invoice_id}/payments")]
pub async fn record_invoice_payment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    body: Json<RecordPayment>,
) -> ApiResult<HttpResponse> {
    let (account_id, invoice_id) = path.into_inner();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok());
    let outcome = invoice_payments::record(
        &state,
        &caller,
        account_id,
        invoice_id,
        key,
        body.into_inner(),
    )
    .await?;
    Ok(idempotent_response(&outcome).json(outcome.body))
}

/// Pay an invoice now
///
/// Charges the card on file for an open invoice (any role that reaches the account;
/// `Idempotency-Key` required): the overdue renewal of a `past_due` subscription, typically.
/// Paid, the invoice is answered (200) and a subscription with nothing else overdue is
/// `active` again. Declined: 402 `card-declined` with the gateway's `decline_code`; the
/// attempt counts, and the dunning calendar stays as it was.
#[utoipa::path(
    tag = "invoices",
    params(
        ("account_id" = Uuid, Path),
        ("invoice_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$", description = "Required; 1–255 visible ASCII characters, scoped to the account"),
    ),
    responses(
        (status = 200, body = InvoiceView, description = "The invoice, paid (also for a replayed key)",
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`idempotency-key-required`"),
        (status = 402, body = Problem, content_type = "application/problem+json",
         description = "`card-declined`, with `decline_code` (e.g. `insufficient_funds`, `no_payment_method`)"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`invoice-not-open`: it is paid, void or uncollectible; `idempotency-key-in-use`"),
        (status = 422, body = Problem, content_type = "application/problem+json",
         description = "`idempotency-key-reused`"),
    )
)]
#[post("/invoices/{invoice_id}/pay")]
pub async fn pay_invoice(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (account_id, invoice_id) = path.into_inner();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok());
    let outcome =
        crate::services::invoice_pay::pay(&state, &caller, account_id, invoice_id, key).await?;
    Ok(idempotent_response(&outcome).json(outcome.body))
}
