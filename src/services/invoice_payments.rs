//! Payments received against an open invoice (transfer or cheque), recorded by the
//! representative or an admin; the invoice is paid once they cover it.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Invoice, InvoicePayment};
use crate::db::schema::{invoice_payments, invoices};
use crate::domain::money::{AMOUNT_RULE, parse_amount};
use crate::domain::period::request_date_problem;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, snapshot};
use crate::services::checkout::clean;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodKind {
    BankTransfer,
    Cheque,
}

impl PaymentMethodKind {
    fn as_str(self) -> &'static str {
        match self {
            PaymentMethodKind::BankTransfer => "bank_transfer",
            PaymentMethodKind::Cheque => "cheque",
        }
    }
}

/// Body of `POST /v1/accounts/{account_id}/invoices/{invoice_id}/payments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
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
    /// The bank reference or cheque number.
    #[schema(max_length = 200)]
    pub reference: Option<String>,
    /// Defaults to today. Between 2000-01-01 and 2100-12-31.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub received_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub method: String,
    pub reference: Option<String>,
    pub received_on: NaiveDate,
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

/// Records a payment and returns the invoice as it stands after it.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    invoice_id: Uuid,
    input: RecordPayment,
) -> ApiResult<Invoice> {
    let amount = parse_amount(&input.amount)
        .ok_or_else(|| ApiError::invalid_field("amount", AMOUNT_RULE))?;
    if let Some(problem) = input.received_on.and_then(request_date_problem) {
        return Err(ApiError::invalid_field("received_on", problem));
    }
    let reference = clean(input.reference.as_ref(), "reference", 200)?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        account_in_reach_for_update(conn, caller, account_id).await?;
        if !matches!(caller.principal.role, Role::Representative | Role::Admin) {
            return Err(ApiError::forbidden("Payments received by transfer or cheque are recorded by the representative."));
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
        if before.status != "open" {
            return Err(ApiError::new(ErrorCode::Conflict, format!("Invoice {} is paid already.", before.number)));
        }
        let outstanding = before.total_due - before.amount_paid;
        if amount > outstanding {
            return Err(ApiError::invalid_field(
                "amount",
                format!("is more than the {outstanding} {} still due", before.currency),
            ));
        }
        let today = state.clock.today();
        let payment: InvoicePayment = diesel::insert_into(invoice_payments::table)
            .values(InvoicePayment {
                id: Uuid::now_v7(),
                invoice_id,
                account_id,
                amount,
                method: input.method.as_str().to_owned(),
                reference,
                received_on: input.received_on.unwrap_or(today),
                recorded_by: caller.principal.sub.clone(),
                created_at: Utc::now(),
            })
            .returning(InvoicePayment::as_returning())
            .get_result(conn)
            .await?;
        let paid = before.amount_paid + amount;
        let settled = paid == before.total_due;
        let after: Invoice = diesel::update(invoices::table.find(invoice_id))
            .set((
                invoices::amount_paid.eq(paid),
                invoices::status.eq(if settled { "paid" } else { "open" }),
                invoices::paid_at.eq(settled.then(Utc::now)),
            ))
            .returning(Invoice::as_returning())
            .get_result(conn)
            .await?;
        audit::record(conn, caller, Event {
            account_id: Some(account_id),
            action: if settled { "invoice.paid" } else { "invoice.payment_recorded" },
            subject_type: "invoice",
            subject_id: Some(invoice_id),
            before: Some(serde_json::json!({"status": before.status, "amount_paid": before.amount_paid})),
            after: Some(serde_json::json!({"status": after.status, "amount_paid": after.amount_paid, "payment": snapshot(&payment)})),
            reason: None,
        })
        .await?;
        Ok(after)
    })
    .await
}
