//! Payments received against an open invoice (transfer or cheque), recorded by the
//! representative, customer service (support) or an admin (SPEC §9); the invoice is paid once
//! they cover it. Each is recorded once:
//! per `Idempotency-Key` (a retry gets the stored response) and per reference on the account
//! (the same transfer entered twice under two keys is 409 `duplicate-payment`).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::functions::{btrim, lower};
use crate::db::models::{Invoice, InvoicePayment};
use crate::db::schema::{invoice_payments, invoices, orders};
use crate::domain::event::EventType;
use crate::domain::money::{AMOUNT_RULE, parse_amount};
use crate::domain::order::InvoiceStatus;
use crate::domain::period::request_date_problem;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error, violated_constraint};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, snapshot};
use crate::services::idempotency::{self, KeyState, Outcome};
use crate::services::input::clean;
use crate::services::orders::{build_invoice_view, invoice_view};

pub use crate::domain::order::PaymentMethodKind;

/// Body of `POST /v1/accounts/{account_id}/invoices/{invoice_id}/payments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPayment {
    /// At most what is still due; a positive amount, at most 12 digits before the point and
    /// 2 after it.
    #[schema(
        example = "1500.00",
        pattern = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?)$"
    )]
    pub amount: String,
    pub method: PaymentMethodKind,
    /// The bank reference or cheque number; recorded once per account (any case, spaces
    /// around it ignored).
    #[schema(max_length = 200, example = "BANK-REF-2026-12-0042")]
    pub reference: Option<String>,
    /// Defaults to today. Between 2000-01-01 and 2100-12-31.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub received_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    #[schema(value_type = String, example = "1500.00")]
    pub amount: Decimal,
    pub method: PaymentMethodKind,
    #[schema(example = "BANK-REF-2026-12-0042")]
    pub reference: Option<String>,
    pub received_on: NaiveDate,
    #[schema(example = "rep-jane-doe")]
    pub recorded_by: String,
}

impl From<InvoicePayment> for PaymentView {
    fn from(p: InvoicePayment) -> PaymentView {
        PaymentView {
            id: p.id,
            amount: p.amount,
            method: p.method,
            reference: p.reference,
            received_on: p.received_on,
            recorded_by: p.recorded_by,
        }
    }
}

pub async fn payments_of(
    conn: &mut AsyncPgConnection,
    invoice_id: Uuid,
) -> QueryResult<Vec<PaymentView>> {
    Ok(invoice_payments::table
        .filter(invoice_payments::invoice_id.eq(invoice_id))
        .select(InvoicePayment::as_select())
        .order((invoice_payments::created_at, invoice_payments::id))
        .load(conn)
        .await?
        .into_iter()
        .map(PaymentView::from)
        .collect())
}

/// The fingerprint of a payment covers the invoice it pays and the body.
#[derive(Serialize)]
struct PaymentRequest<'a> {
    invoice_id: Uuid,
    body: &'a RecordPayment,
}

fn duplicate_payment(reference: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DuplicatePayment,
        format!("A payment with reference {reference} is recorded on this account already."),
    )
}

/// Records a payment, once per `Idempotency-Key`, and answers with the invoice as it stands
/// after it (201), or with the stored answer of the request that used the key first.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    invoice_id: Uuid,
    idempotency_key: Option<&str>,
    input: RecordPayment,
) -> ApiResult<Outcome> {
    let key = idempotency::validate_key(idempotency_key)?;
    let fingerprint = idempotency::fingerprint(&PaymentRequest {
        invoice_id,
        body: &input,
    });
    let amount = parse_amount(&input.amount)
        .ok_or_else(|| ApiError::invalid_field("amount", AMOUNT_RULE))?;
    if let Some(problem) = input.received_on.and_then(request_date_problem) {
        return Err(ApiError::invalid_field("received_on", problem));
    }
    let reference = clean(input.reference.as_ref(), "reference", 200)?;
    let catalog = state.catalog.get();
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        // The account lock serialises the account's payments: a concurrent duplicate waits,
        // then finds the key (or the reference) recorded.
        account_in_reach_for_update(conn, caller, account_id).await?;
        match idempotency::begin(conn, account_id, &key, &fingerprint, caller.now).await? {
            KeyState::Replay(status, body) => {
                return Ok(Outcome { status, body, replayed: true });
            }
            // Payments complete in one transaction: their keys never wait half-way.
            KeyState::Resume(order_id) => {
                return Err(internal_error("payment key bound to a pending order", &order_id));
            }
            KeyState::New => {}
        }
        if !matches!(caller.principal.role, Role::Representative | Role::Support | Role::Admin) {
            return Err(ApiError::forbidden("Payments received by transfer or cheque are recorded by the representative or customer service."));
        }
        let before: Invoice = invoices::table
            .filter(invoices::account_id.eq(account_id))
            .filter(invoices::id.eq(invoice_id))
            .select(Invoice::as_select())
            .for_no_key_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(ApiError::not_found)?;
        if before.status != InvoiceStatus::Open {
            return Err(ApiError::new(ErrorCode::Conflict, format!("Invoice {} is paid already.", before.number)));
        }
        let outstanding = before.total_due - before.amount_paid;
        if amount > outstanding {
            return Err(ApiError::invalid_field(
                "amount",
                format!("is more than the {outstanding} {} still due", before.currency),
            ));
        }
        if let Some(reference) = &reference {
            let recorded: i64 = invoice_payments::table
                .filter(invoice_payments::account_id.eq(account_id))
                .filter(lower(btrim(invoice_payments::reference)).eq(lower(btrim(Some(reference.as_str())))))
                .count()
                .get_result(conn)
                .await?;
            if recorded > 0 {
                return Err(duplicate_payment(reference));
            }
        }
        let today = caller.today();
        let payment: InvoicePayment = diesel::insert_into(invoice_payments::table)
            .values(InvoicePayment {
                id: Uuid::now_v7(),
                invoice_id,
                account_id,
                amount,
                method: input.method,
                reference: reference.clone(),
                received_on: input.received_on.unwrap_or(today),
                recorded_by: caller.principal.sub.clone(),
                created_at: caller.now,
            })
            .returning(InvoicePayment::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| match violated_constraint(&e) {
                Some("invoice_payments_reference_key") => {
                    duplicate_payment(reference.as_deref().unwrap_or_default())
                }
                _ => ApiError::from(e),
            })?;
        let paid = before.amount_paid + amount;
        let settled = paid == before.total_due;
        let after: Invoice = diesel::update(invoices::table.find(invoice_id))
            .set((
                invoices::amount_paid.eq(paid),
                invoices::status.eq(if settled {
                    InvoiceStatus::Paid
                } else {
                    InvoiceStatus::Open
                }),
                invoices::paid_at.eq(settled.then_some(caller.now)),
                invoices::next_payment_attempt.eq(if settled {
                    None
                } else {
                    before.next_payment_attempt
                }),
            ))
            .returning(Invoice::as_returning())
            .get_result(conn)
            .await?;
        if settled {
            // A corporate subscription past due for this renewal is active again once
            // nothing of it is overdue (SPEC §13).
            let renews: Option<Option<Uuid>> = orders::table
                .find(after.order_id)
                .select(orders::renews_subscription_id)
                .first(conn)
                .await
                .optional()?;
            if let Some(Some(subscription_id)) = renews {
                crate::services::collection::back_to_active_if_settled(
                    conn,
                    &catalog,
                    caller,
                    subscription_id,
                )
                    .await?;
            }
        }
        let view = invoice_view(conn, after).await?;
        // Before this payment: the same invoice without it.
        let mut before_view = build_invoice_view(before, view.lines.clone(), view.payments.clone());
        before_view.payments.retain(|p| p.id != payment.id);
        audit::record(conn, caller, Event {
            account_id: Some(account_id),
            event_type: if settled { EventType::InvoicePaid } else { EventType::InvoicePaymentRecorded },
            subject_type: "invoice",
            subject_id: Some(invoice_id),
            before: snapshot(&before_view),
            after: snapshot(&view),
            reason: None,
            notify: None,
        })
        .await?;
        let body = serde_json::to_value(view).map_err(|e| internal_error("invoice view", &e))?;
        idempotency::store_completed(conn, account_id, &key, &fingerprint, 201, &body, caller.now)
            .await?;
        Ok(Outcome { status: 201, body, replayed: false })
    })
    .await
}
