//! Orders and invoices: how they read, newest first.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Invoice, Order, OrderItem, OrderLine, Subscription};
use crate::db::schema::{invoices, order_items, order_lines, orders, subscriptions};
use crate::domain::catalog::Catalog;
use crate::domain::money::Currency;
use crate::domain::order::{InvoiceStatus, ItemKind, OrderStatus, Settlement};
use crate::domain::period::BillingFrequency;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::checkout_summary::LineView;
use crate::services::invoice_payments::{PaymentView, payments_of};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderItemView {
    #[serde(rename = "type")]
    pub kind: ItemKind,
    pub product: String,
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub subscription_id: Uuid,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    #[schema(value_type = String)]
    pub plan_price: Decimal,
    #[schema(value_type = String)]
    pub proration_credit: Decimal,
    pub lines: Vec<LineView>,
}

/// The next step after an order: licences still to assign to users.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenseStatus {
    pub subscription_id: Uuid,
    pub quantity: i32,
    pub licenses_assigned: i32,
    pub licenses_unassigned: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorRef {
    pub sub: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    /// Human order number, e.g. `ORD-000042`.
    pub number: String,
    /// `pending` while the payment is under way, then `completed`.
    pub status: OrderStatus,
    /// `card`, `invoice` or `none` (nothing due).
    pub settlement: Settlement,
    pub currency: Currency,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub tax_rate: Decimal,
    #[schema(value_type = String)]
    pub tax: Decimal,
    pub reverse_charge: bool,
    #[schema(value_type = String)]
    pub credit_applied: Decimal,
    #[schema(value_type = String)]
    pub credit_created: Decimal,
    #[schema(value_type = String)]
    pub total_due: Decimal,
    pub po_number: Option<String>,
    pub reason: Option<String>,
    pub invoice_id: Option<Uuid>,
    pub items: Vec<OrderItemView>,
    pub subscriptions: Vec<LicenseStatus>,
    pub placed_by: ActorRef,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// Gapless human number, e.g. `INV-000042`.
    pub number: String,
    pub order_id: Uuid,
    /// `paid` (card-paid or nothing due) or `open` (payable on terms).
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub lines: Vec<LineView>,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub tax_rate: Decimal,
    #[schema(value_type = String)]
    pub tax: Decimal,
    /// VAT is due from the customer (EU reverse charge); noted on the invoice.
    pub reverse_charge: bool,
    #[schema(value_type = String)]
    pub credit_applied: Decimal,
    #[schema(value_type = String)]
    pub credit_created: Decimal,
    #[schema(value_type = String)]
    pub total_due: Decimal,
    #[schema(value_type = String)]
    pub amount_paid: Decimal,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub po_number: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Payments received by transfer or cheque (invoices on terms).
    pub payments: Vec<PaymentView>,
    pub created_at: DateTime<Utc>,
}

fn lines_of(lines: &[OrderLine], item_id: Option<Uuid>) -> Vec<LineView> {
    lines
        .iter()
        .filter(|l| item_id.is_none_or(|id| l.order_item_id == id))
        .map(|l| LineView {
            description: l.description.clone(),
            amount: l.amount,
        })
        .collect()
}

/// Reads an order with everything its view shows.
pub async fn order_view(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    order: Order,
) -> ApiResult<OrderView> {
    order_view_with(&state.catalog.get(), conn, order).await
}

/// The order as the API shows it, with its items, lines, invoice and licence status.
pub async fn order_view_with(
    catalog: &Catalog,
    conn: &mut AsyncPgConnection,
    order: Order,
) -> ApiResult<OrderView> {
    let items: Vec<OrderItem> = order_items::table
        .filter(order_items::order_id.eq(order.id))
        .select(OrderItem::as_select())
        .order(order_items::position)
        .load(conn)
        .await?;
    let lines: Vec<OrderLine> = order_lines::table
        .filter(order_lines::order_id.eq(order.id))
        .select(OrderLine::as_select())
        .order(order_lines::position)
        .load(conn)
        .await?;
    let invoice_id: Option<Uuid> = invoices::table
        .filter(invoices::order_id.eq(order.id))
        .select(invoices::id)
        .first(conn)
        .await
        .optional()?;
    let subscription_ids: Vec<Uuid> = items.iter().map(|i| i.subscription_id).collect();
    let subscriptions: Vec<Subscription> = subscriptions::table
        .filter(subscriptions::id.eq_any(&subscription_ids))
        .select(Subscription::as_select())
        .load(conn)
        .await?;
    let mut item_views = Vec::with_capacity(items.len());
    for item in &items {
        let (product, plan) = catalog
            .plan(item.plan_id)
            .ok_or_else(|| internal_error("order plan missing from catalog", &item.plan_id))?;
        item_views.push(OrderItemView {
            kind: item.kind,
            product: product.code.clone(),
            plan: plan.code.clone(),
            billing_frequency: item.billing_frequency,
            quantity: item.quantity,
            subscription_id: item.subscription_id,
            period_start: item.period_start,
            period_end: item.period_end,
            unit_price: item.unit_price,
            plan_price: item.plan_price,
            proration_credit: item.proration_credit,
            lines: lines_of(&lines, Some(item.id)),
        });
    }
    let licence_status = subscription_ids
        .iter()
        .filter_map(|id| subscriptions.iter().find(|s| s.id == *id))
        .map(|s| LicenseStatus {
            subscription_id: s.id,
            quantity: s.quantity,
            licenses_assigned: s.licenses_assigned,
            licenses_unassigned: s.quantity - s.licenses_assigned,
        })
        .collect();
    Ok(OrderView {
        id: order.id,
        number: order.number,
        status: order.status,
        settlement: order.settlement,
        currency: order.currency,
        subtotal: order.subtotal,
        tax_rate: order.tax_rate.normalize(),
        tax: order.tax,
        reverse_charge: order.reverse_charge,
        credit_applied: order.credit_applied,
        credit_created: order.credit_created,
        total_due: order.total_due,
        po_number: order.po_number,
        reason: order.reason,
        invoice_id,
        items: item_views,
        subscriptions: licence_status,
        placed_by: ActorRef {
            sub: order.placed_by_sub,
            role: order.placed_by_role,
        },
        created_at: order.created_at,
        completed_at: order.completed_at,
    })
}

pub async fn invoice_view(
    conn: &mut AsyncPgConnection,
    invoice: Invoice,
) -> ApiResult<InvoiceView> {
    let lines: Vec<OrderLine> = order_lines::table
        .filter(order_lines::order_id.eq(invoice.order_id))
        .select(OrderLine::as_select())
        .order(order_lines::position)
        .load(conn)
        .await?;
    Ok(InvoiceView {
        id: invoice.id,
        number: invoice.number,
        order_id: invoice.order_id,
        status: invoice.status,
        currency: invoice.currency,
        lines: lines_of(&lines, None),
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
        payments: payments_of(conn, invoice.id).await?,
        created_at: invoice.created_at,
    })
}

pub async fn list_orders(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<OrderView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<Order> = crate::newest_first_page!(
        &mut conn,
        orders,
        account_id,
        params,
        limit,
        Order::as_select()
    );
    let mut views = Vec::with_capacity(rows.len());
    for order in rows {
        views.push(order_view(state, &mut conn, order).await?);
    }
    Ok((views, limit))
}

pub async fn get_order(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    order_id: Uuid,
) -> ApiResult<OrderView> {
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let order = orders::table
        .filter(orders::account_id.eq(account_id))
        .filter(orders::id.eq(order_id))
        .select(Order::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    order_view(state, &mut conn, order).await
}

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
    let mut views = Vec::with_capacity(rows.len());
    for invoice in rows {
        views.push(invoice_view(&mut conn, invoice).await?);
    }
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
