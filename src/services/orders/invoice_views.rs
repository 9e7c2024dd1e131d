//! Invoices: how they read, newest first, with their lines and the payments received.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Invoice, InvoicePayment, OrderLine};
use crate::db::schema::{invoice_payments, invoices, order_lines};
use crate::domain::money::Currency;
use crate::domain::order::InvoiceStatus;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::checkout_summary::LineView;
use crate::services::invoice_payments::PaymentView;

use super::line_view;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// Human number: the account's number, then a gapless series per account.
    #[schema(example = "INV-000042-0001")]
    pub number: String,
    pub order_id: Uuid,
    /// `paid` (card-paid or nothing due) or `open` (payable on terms).
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub lines: Vec<LineView>,
    #[schema(value_type = String, example = "3647.33")]
    pub subtotal: Decimal,
    #[schema(value_type = String, example = "0")]
    pub tax_rate: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub tax: Decimal,
    /// VAT is due from the customer (EU reverse charge); noted on the invoice.
    pub reverse_charge: bool,
    #[schema(value_type = String, example = "0.00")]
    pub credit_applied: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub credit_created: Decimal,
    #[schema(value_type = String, example = "3647.33")]
    pub total_due: Decimal,
    #[schema(value_type = String, example = "3647.33")]
    pub amount_paid: Decimal,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    #[schema(example = json!(null))]
    pub po_number: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Payments received by transfer or cheque (invoices on terms).
    pub payments: Vec<PaymentView>,
    /// Collected from the card on file (a self-service renewal), not paid on terms.
    pub collected_by_card: bool,
    /// Card collections tried so far (SPEC §13).
    #[schema(example = 1)]
    pub attempt_count: i32,
    /// When the card is next tried automatically; null when no retry is scheduled.
    pub next_payment_attempt: Option<DateTime<Utc>>,
    /// Why the last card collection failed.
    pub last_payment_error: Option<PaymentErrorView>,
    pub created_at: DateTime<Utc>,
}

/// Why a card collection failed: the gateway's decline code (or `no_payment_method`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct PaymentErrorView {
    #[schema(example = "card_declined")]
    pub code: String,
    #[schema(example = "The card was declined.")]
    pub message: String,
}

/// The views of several invoices: their lines and payments are read in one query each for
/// all of them.
async fn invoice_views(
    conn: &mut AsyncPgConnection,
    invoices: Vec<Invoice>,
) -> ApiResult<Vec<InvoiceView>> {
    if invoices.is_empty() {
        return Ok(Vec::new());
    }
    let order_ids: Vec<Uuid> = invoices.iter().map(|i| i.order_id).collect();
    let invoice_ids: Vec<Uuid> = invoices.iter().map(|i| i.id).collect();
    let mut lines: HashMap<Uuid, Vec<LineView>> = HashMap::new();
    let line_rows: Vec<OrderLine> = order_lines::table
        .filter(order_lines::order_id.eq_any(&order_ids))
        .select(OrderLine::as_select())
        .order((order_lines::order_id, order_lines::position))
        .load(conn)
        .await?;
    for line in line_rows {
        lines
            .entry(line.order_id)
            .or_default()
            .push(line_view(line));
    }
    let mut payments: HashMap<Uuid, Vec<PaymentView>> = HashMap::new();
    let payment_rows: Vec<InvoicePayment> = invoice_payments::table
        .filter(invoice_payments::invoice_id.eq_any(&invoice_ids))
        .select(InvoicePayment::as_select())
        .order((invoice_payments::created_at, invoice_payments::id))
        .load(conn)
        .await?;
    for payment in payment_rows {
        payments
            .entry(payment.invoice_id)
            .or_default()
            .push(PaymentView::from(payment));
    }
    Ok(invoices
        .into_iter()
        .map(|invoice| {
            let invoice_lines = lines.remove(&invoice.order_id).unwrap_or_default();
            let invoice_payments = payments.remove(&invoice.id).unwrap_or_default();
            build_invoice_view(invoice, invoice_lines, invoice_payments)
        })
        .collect())
}

/// The view of one invoice from its row, its lines and its payments (pure: no queries).
pub fn build_invoice_view(
    invoice: Invoice,
    lines: Vec<LineView>,
    payments: Vec<PaymentView>,
) -> InvoiceView {
    InvoiceView {
        lines,
        payments,
        id: invoice.id,
        number: invoice.number,
        order_id: invoice.order_id,
        status: invoice.status,
        currency: invoice.currency,
        subtotal: invoice.subtotal,
        tax_rate: invoice.tax_rate.normalize(),
        tax: invoice.tax,
        reverse_charge: invoice.reverse_charge,
        credit_applied: invoice.credit_applied,
        credit_created: invoice.credit_created,
        total_due: invoice.total_due,
        amount_paid: invoice.amount_paid,
        issued_on: invoice.issued_on,
        due_on: invoice.due_on,
        po_number: invoice.po_number,
        paid_at: invoice.paid_at,
        collected_by_card: invoice.collected_by_card,
        attempt_count: invoice.attempt_count,
        next_payment_attempt: invoice.next_payment_attempt,
        last_payment_error: invoice
            .last_payment_error
            .and_then(|error| serde_json::from_value(error).ok()),
        created_at: invoice.created_at,
    }
}

pub async fn invoice_view(
    conn: &mut AsyncPgConnection,
    invoice: Invoice,
) -> ApiResult<InvoiceView> {
    let invoice_id = invoice.id;
    invoice_views(conn, vec![invoice])
        .await?
        .pop()
        .ok_or_else(|| internal_error("invoice view missing", &invoice_id))
}

/// A page of the account's invoices in four queries, whatever the page size: the reach
/// check, the invoices, their lines and their payments.
pub async fn list_invoices(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<InvoiceView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<Invoice> = crate::newest_first_page!(
        &mut conn,
        invoices,
        account_id,
        params,
        limit,
        Invoice::as_select()
    );
    let views = invoice_views(&mut conn, rows).await?;
    Ok((views, limit))
}

pub async fn get_invoice(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    invoice_id: Uuid,
) -> ApiResult<InvoiceView> {
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let invoice = invoices::table
        .filter(invoices::account_id.eq(account_id))
        .filter(invoices::id.eq(invoice_id))
        .select(Invoice::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    invoice_view(&mut conn, invoice).await
}
