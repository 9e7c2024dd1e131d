//! Orders and invoices: how they read, newest first.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Order, OrderItem, OrderLine};
use crate::db::schema::{invoices, order_items, order_lines, orders, subscriptions};
use crate::domain::catalog::Catalog;
use crate::domain::money::Currency;
use crate::domain::order::{ItemKind, OrderStatus, Settlement};
use crate::domain::period::BillingFrequency;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::checkout_summary::LineView;

mod invoice_views;

pub use invoice_views::{
    InvoiceView, build_invoice_view, get_invoice, invoice_view, list_invoices,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderItemView {
    #[serde(rename = "type")]
    pub kind: ItemKind,
    #[schema(example = "gotoassist-rs-v4")]
    pub product: String,
    #[schema(example = "premium")]
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    #[schema(example = 8)]
    pub quantity: i32,
    pub subscription_id: Uuid,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    #[schema(value_type = String, example = "468.00")]
    pub unit_price: Decimal,
    #[schema(value_type = String, example = "3744.00")]
    pub plan_price: Decimal,
    #[schema(value_type = String, example = "96.67")]
    pub proration_credit: Decimal,
    pub lines: Vec<LineView>,
}

/// The next step after an order: licences still to assign to users.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenseStatus {
    pub subscription_id: Uuid,
    #[schema(example = 8)]
    pub quantity: i32,
    #[schema(example = 2)]
    pub licenses_assigned: i32,
    #[schema(example = 6)]
    pub licenses_unassigned: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorRef {
    #[schema(example = "ada@acme.example")]
    pub sub: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    /// Human order number, e.g. `ORD-000042`.
    #[schema(example = "ORD-000042")]
    pub number: String,
    /// `pending` while the payment is under way, then `completed`.
    pub status: OrderStatus,
    /// `card`, `invoice` or `none` (nothing due).
    pub settlement: Settlement,
    pub currency: Currency,
    #[schema(value_type = String, example = "3647.33")]
    pub subtotal: Decimal,
    #[schema(value_type = String, example = "0")]
    pub tax_rate: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub tax: Decimal,
    pub reverse_charge: bool,
    #[schema(value_type = String, example = "0.00")]
    pub credit_applied: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub credit_created: Decimal,
    #[schema(value_type = String, example = "3647.33")]
    pub total_due: Decimal,
    #[schema(example = json!(null))]
    pub po_number: Option<String>,
    #[schema(example = json!(null))]
    pub reason: Option<String>,
    pub invoice_id: Option<Uuid>,
    pub items: Vec<OrderItemView>,
    pub subscriptions: Vec<LicenseStatus>,
    pub placed_by: ActorRef,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

fn line_view(line: OrderLine) -> LineView {
    LineView {
        description: line.description,
        amount: line.amount,
    }
}

/// An item of an order with what its view shows beside it: its lines, and the licence
/// status of its subscription (none while a new subscription does not exist yet).
pub struct ItemWithChildren {
    pub item: OrderItem,
    pub licences: Option<LicenseStatus>,
    pub lines: Vec<LineView>,
}

/// The items of `order_ids` with their lines and subscriptions, grouped by order, in one
/// query however many orders there are.
pub async fn items_of_orders(
    conn: &mut AsyncPgConnection,
    order_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<ItemWithChildren>>> {
    if order_ids.is_empty() {
        return Ok(HashMap::new());
    }
    type Row = (
        OrderItem,
        Option<(Uuid, i32, i32)>,
        Option<(String, Decimal)>,
    );
    // An item's subscription may not exist yet (a new subscription gets its id when the
    // order completes), and an item may have no lines: both are left joins.
    let rows: Vec<Row> = order_items::table
        .left_join(subscriptions::table.on(subscriptions::id.eq(order_items::subscription_id)))
        .left_join(
            order_lines::table.on(order_lines::order_item_id
                .eq(order_items::id)
                .and(order_lines::order_id.eq(order_items::order_id))),
        )
        .filter(order_items::order_id.eq_any(order_ids))
        .select((
            OrderItem::as_select(),
            (
                subscriptions::id,
                subscriptions::quantity,
                subscriptions::licenses_assigned,
            )
                .nullable(),
            (order_lines::description, order_lines::amount).nullable(),
        ))
        .order((
            order_items::order_id,
            order_items::position,
            order_lines::position,
        ))
        .load(conn)
        .await?;
    let mut by_order: HashMap<Uuid, Vec<ItemWithChildren>> = HashMap::new();
    for (item, subscription, line) in rows {
        let items = by_order.entry(item.order_id).or_default();
        // Rows come item by item (one row per line), so a new item starts a new entry.
        if items.last().is_none_or(|last| last.item.id != item.id) {
            items.push(ItemWithChildren {
                licences: subscription.map(|(id, quantity, assigned)| LicenseStatus {
                    subscription_id: id,
                    quantity,
                    licenses_assigned: assigned,
                    licenses_unassigned: quantity - assigned,
                }),
                lines: Vec::new(),
                item,
            });
        }
        if let (Some((description, amount)), Some(current)) = (line, items.last_mut()) {
            current.lines.push(LineView {
                description,
                amount,
            });
        }
    }
    Ok(by_order)
}

/// The view of one order from its row, its invoice and its items (pure: no queries).
pub fn build_order_view(
    catalog: &Catalog,
    order: Order,
    invoice_id: Option<Uuid>,
    items: Vec<ItemWithChildren>,
) -> ApiResult<OrderView> {
    let mut item_views = Vec::with_capacity(items.len());
    let mut licence_status = Vec::with_capacity(items.len());
    for ItemWithChildren {
        item,
        licences,
        lines,
    } in items
    {
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
            lines,
        });
        licence_status.extend(licences);
    }
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

/// The views of several orders, each with its invoice id: their items, lines and licence
/// status are read in one query for all of them.
async fn order_views(
    catalog: &Catalog,
    conn: &mut AsyncPgConnection,
    orders: Vec<(Order, Option<Uuid>)>,
) -> ApiResult<Vec<OrderView>> {
    let order_ids: Vec<Uuid> = orders.iter().map(|(order, _)| order.id).collect();
    let mut items = items_of_orders(conn, &order_ids).await?;
    orders
        .into_iter()
        .map(|(order, invoice_id)| {
            let children = items.remove(&order.id).unwrap_or_default();
            build_order_view(catalog, order, invoice_id, children)
        })
        .collect()
}

/// Reads an order with everything its view shows: items, lines, invoice, licence status.
pub async fn order_view(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    order: Order,
) -> ApiResult<OrderView> {
    order_view_in(&state.catalog.get(), conn, order).await
}

/// `order_view` with the catalog at hand.
pub async fn order_view_in(
    catalog: &Catalog,
    conn: &mut AsyncPgConnection,
    order: Order,
) -> ApiResult<OrderView> {
    let invoice_id: Option<Uuid> = invoices::table
        .filter(invoices::order_id.eq(order.id))
        .select(invoices::id)
        .first(conn)
        .await
        .optional()?;
    let order_id = order.id;
    order_views(catalog, conn, vec![(order, invoice_id)])
        .await?
        .pop()
        .ok_or_else(|| internal_error("order view missing", &order_id))
}

/// A page of the account's orders in three queries, whatever the page size: the reach
/// check, the orders with their invoice ids, and their items with lines and subscriptions.
pub async fn list_orders(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<OrderView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<(Order, Option<Uuid>)> = crate::newest_first_page!(
        &mut conn,
        orders,
        account_id,
        params,
        limit,
        (Order::as_select(), invoices::id.nullable()),
        from = orders::table.left_join(invoices::table.on(invoices::order_id.eq(orders::id)))
    );
    let views = order_views(&state.catalog.get(), &mut conn, rows).await?;
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
