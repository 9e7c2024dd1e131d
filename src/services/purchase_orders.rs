//! Purchase orders: the customer's PO numbers, with an optional amount limit and expiry, and
//! the rule an order's `po_number` must pass. A PO number is the same PO in any case
//! (`po-lim` is `PO-LIM`), for the lookup, for what has been ordered under it, and for the
//! unique index that keeps one of each on file.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::functions::lower;
use crate::db::models::{Account, PurchaseOrder};
use crate::db::schema::{orders, purchase_orders};
use crate::domain::event::EventType;
use crate::domain::money::{
    AMOUNT_RULE, Currency, parse_amount, round_to_minor, to_currency_scale,
};
use crate::domain::period::request_date_problem;
use crate::error::{ApiError, ApiResult, ErrorCode, violated_constraint};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update};
use crate::services::audit::{self, Event, snapshot};

/// Body of `POST /v1/accounts/{account_id}/purchase-orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePurchaseOrder {
    #[schema(min_length = 1, max_length = 100, example = "PO-2026-0042")]
    pub number: String,
    /// The most that orders under this PO may add up to, in the account's currency.
    /// A positive amount: at most 12 digits before the point and 2 after it.
    #[schema(
        example = "50000.00",
        pattern = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?)$"
    )]
    pub amount_limit: Option<String>,
    /// The last day the PO may be used. Between 2000-01-01 and 2100-12-31.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseOrderView {
    pub id: Uuid,
    #[schema(example = "PO-2026-0042")]
    pub number: String,
    #[schema(value_type = Option<String>, example = "50000.00")]
    pub amount_limit: Option<Decimal>,
    /// Total due of the orders placed under this PO so far.
    #[schema(value_type = String, example = "3647.33")]
    pub amount_used: Decimal,
    pub expires_on: Option<NaiveDate>,
    pub created_at: chrono::DateTime<Utc>,
}

async fn amount_used(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    number: &str,
) -> QueryResult<Decimal> {
    let used: Option<Decimal> = orders::table
        .filter(orders::account_id.eq(account_id))
        .filter(lower(orders::po_number).eq(lower(Some(number))))
        .select(diesel::dsl::sum(orders::total_due))
        .first(conn)
        .await?;
    Ok(used.unwrap_or(Decimal::ZERO))
}

/// What is ordered under each of `po_ids` (matched by number in any case), in one query.
async fn amounts_used(
    conn: &mut AsyncPgConnection,
    po_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Decimal>> {
    let rows: Vec<(Uuid, Option<Decimal>)> = purchase_orders::table
        .left_join(
            orders::table.on(orders::account_id
                .eq(purchase_orders::account_id)
                .and(lower(orders::po_number).eq(lower(purchase_orders::number.nullable())))),
        )
        .filter(purchase_orders::id.eq_any(po_ids))
        .group_by(purchase_orders::id)
        .select((
            purchase_orders::id,
            diesel::dsl::sum(orders::total_due.nullable()),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, used)| (id, used.unwrap_or(Decimal::ZERO)))
        .collect())
}

/// The rule for an order's PO number (run with the account locked, so two orders cannot both
/// fit under the same limit): required when the account says so; a registered PO must not be
/// expired and its limit must cover the order; an unregistered number is kept as the
/// customer's reference.
pub async fn check_po(
    conn: &mut AsyncPgConnection,
    account: &Account,
    po_number: Option<&str>,
    total_due: Decimal,
    today: NaiveDate,
) -> ApiResult<()> {
    let Some(number) = po_number else {
        if account.po_required {
            return Err(ApiError::invalid_field(
                "po_number",
                "this account requires a purchase order number",
            ));
        }
        return Ok(());
    };
    let po: Option<PurchaseOrder> = purchase_orders::table
        .filter(purchase_orders::account_id.eq(account.id))
        .filter(lower(purchase_orders::number.nullable()).eq(lower(Some(number))))
        .select(PurchaseOrder::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(po) = po else { return Ok(()) };
    if po.expires_on.is_some_and(|last| today > last) {
        return Err(ApiError::new(
            ErrorCode::PurchaseOrderExpired,
            format!(
                "Purchase order {number} expired on {}; use a current one.",
                po.expires_on.unwrap_or(today)
            ),
        ));
    }
    if let Some(limit) = po.amount_limit {
        let used = amount_used(conn, account.id, number).await?;
        let remaining = limit - used;
        if total_due > remaining {
            let currency = account.currency;
            return Err(ApiError::new(
                ErrorCode::PurchaseOrderLimitExceeded,
                format!(
                    "Purchase order {number} has {} {currency} left; the order is {} {currency}.",
                    round_to_minor(remaining, currency),
                    total_due
                ),
            )
            .with_extension(
                "amount_remaining",
                serde_json::json!(round_to_minor(remaining, currency)),
            ));
        }
    }
    Ok(())
}

/// Amounts carry the currency's minor units (SPEC §6), also when nothing is used yet.
async fn view(
    conn: &mut AsyncPgConnection,
    po: PurchaseOrder,
    currency: Currency,
) -> ApiResult<PurchaseOrderView> {
    let used = amount_used(conn, po.account_id, &po.number).await?;
    Ok(view_with(po, used, currency))
}

fn view_with(po: PurchaseOrder, used: Decimal, currency: Currency) -> PurchaseOrderView {
    PurchaseOrderView {
        id: po.id,
        number: po.number,
        amount_limit: po
            .amount_limit
            .map(|limit| to_currency_scale(limit, currency)),
        amount_used: to_currency_scale(used, currency),
        expires_on: po.expires_on,
        created_at: po.created_at,
    }
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: CreatePurchaseOrder,
) -> ApiResult<PurchaseOrderView> {
    let number = input.number.trim().to_owned();
    if number.is_empty() || number.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "number",
            "must be 1 to 100 characters",
        ));
    }
    let amount_limit = match input.amount_limit.as_deref() {
        None => None,
        Some(text) => Some(
            parse_amount(text)
                .ok_or_else(|| ApiError::invalid_field("amount_limit", AMOUNT_RULE))?,
        ),
    };
    if let Some(problem) = input.expires_on.and_then(request_date_problem) {
        return Err(ApiError::invalid_field("expires_on", problem));
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        let currency = account.currency;
        let po: PurchaseOrder = diesel::insert_into(purchase_orders::table)
            .values(PurchaseOrder {
                id: Uuid::now_v7(),
                account_id,
                number: number.clone(),
                amount_limit,
                expires_on: input.expires_on,
                created_at: caller.now,
            })
            .returning(PurchaseOrder::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| match violated_constraint(&e) {
                Some("purchase_orders_number_key") => ApiError::new(
                    ErrorCode::PurchaseOrderExists,
                    format!("Purchase order {number} is already on file."),
                ),
                _ => ApiError::from(e),
            })?;
        let po_id = po.id;
        let view = view(conn, po, currency).await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::PurchaseOrderCreated,
                subject_type: "purchase_order",
                subject_id: Some(po_id),
                before: None,
                after: snapshot(&view),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(view)
    })
    .await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<PurchaseOrderView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    let currency = account.currency;
    let rows: Vec<PurchaseOrder> = crate::newest_first_page!(
        &mut conn,
        purchase_orders,
        account_id,
        params,
        limit,
        PurchaseOrder::as_select()
    );
    // What each PO of the page has used, in one query whatever the page size.
    let ids: Vec<Uuid> = rows.iter().map(|po| po.id).collect();
    let mut used = amounts_used(&mut conn, &ids).await?;
    let views = rows
        .into_iter()
        .map(|po| {
            let used = used.remove(&po.id).unwrap_or(Decimal::ZERO);
            view_with(po, used, currency)
        })
        .collect();
    Ok((views, limit))
}
