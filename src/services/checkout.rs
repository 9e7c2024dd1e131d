//! Placing an order (SPEC §5), exactly once.
//!
//! 1. **Record** (one transaction, account row locked): replay a completed idempotency key,
//!    or refuse a reused / in-use one; re-check every rule and price the cart; compare
//!    `If-Match`; check requirements; write the order as `pending` with its items and lines,
//!    reserve the credit it applies, claim the key with a lease, and mark the cart
//!    `checking_out`. Orders with nothing to charge by card (invoice settlement, or nothing
//!    due) are finalised in this same transaction.
//! 2. **Charge** the card, outside any transaction, with the order id as the gateway's
//!    idempotency key: a retry can never charge twice.
//! 3. **Finalise** (one transaction): re-check the rules against the subscriptions as they
//!    are now, apply every change with the new period starting on the quote date, issue the
//!    invoice, complete the order, close the cart, store the response under the key, and
//!    write the audit events. A declined card removes the pending order and gives the cart
//!    and the key back. A rule broken in the meantime (rare: licences cannot be assigned
//!    beyond what a pending order leaves) rolls finalising back whole; the order is then
//!    recorded `voided` with its charge before the refund is asked for.
//!
//! Settling acts on the order's own facts (who placed it, its card, its settlement), not on
//! the placer's reach now. A pending order left behind by a fault is finished by the next
//! request with the same key (the failing request gives its lease back when it still can),
//! or by `recover_pending_orders`, which also makes the refunds voided orders still owe.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::db::models::{Account, Invoice, Order, OrderItem, OrderLine, Subscription};
use crate::db::schema::{
    accounts, carts, document_counters, idempotency_keys, invoices, order_items, order_lines,
    orders, subscriptions,
};
use crate::domain::money::Currency;
use crate::domain::period::Period;
use crate::domain::plan_change::Actor;
use crate::domain::proration::Totals;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::payments::ChargeError;
use crate::services::Caller;
use crate::services::access::{account_for_update, account_in_reach_for_update};
use crate::services::audit::{self, Event, snapshot};
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::idempotency::{self, KeyState};
use crate::services::orders::order_view;
use crate::services::purchase_orders;
use crate::services::quote::{PricedCart, Requirement, cart_empty, price_cart};
use crate::services::rules::{self, ItemTarget};

/// Body of `POST /v1/accounts/{account_id}/cart/checkout`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The customer's purchase order number (corporate accounts), printed on the invoice.
    #[schema(max_length = 100)]
    pub po_number: Option<String>,
    /// Why the order is placed on the customer's behalf: required for representatives,
    /// support and admins; recorded in the audit event.
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// The response to send: the order (201), possibly replayed from an earlier request.
pub struct CheckoutOutcome {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

enum Recorded {
    Replay(u16, serde_json::Value),
    Done(serde_json::Value),
    /// The order to charge, as recorded (or as left by an earlier attempt).
    Charge(Box<Order>),
}

pub(crate) fn clean(value: Option<&String>, field: &str, max: usize) -> ApiResult<Option<String>> {
    match value.map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(ApiError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

pub async fn checkout(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    idempotency_key: Option<&str>,
    if_match: Option<&str>,
    input: CheckoutInput,
) -> ApiResult<CheckoutOutcome> {
    let key = idempotency::validate_key(idempotency_key)?;
    let fingerprint = idempotency::fingerprint(&input);
    let mut conn = state.pool.get().await?;
    let recorded = conn
        .transaction(async |conn| {
            record(
                state,
                conn,
                caller,
                account_id,
                &key,
                &fingerprint,
                if_match,
                &input,
            )
            .await
        })
        .await?;
    match recorded {
        Recorded::Replay(status, body) => Ok(CheckoutOutcome {
            status,
            body,
            replayed: true,
        }),
        Recorded::Done(body) => Ok(CheckoutOutcome {
            status: 201,
            body,
            replayed: false,
        }),
        Recorded::Charge(order) => {
            let body = charge_and_finalise(state, &mut conn, caller, account_id, *order).await?;
            Ok(CheckoutOutcome {
                status: 201,
                body,
                replayed: false,
            })
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one use case with its request parts"
)]
async fn record(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    key: &str,
    fingerprint: &str,
    if_match: Option<&str>,
    input: &CheckoutInput,
) -> ApiResult<Recorded> {
    // The account lock serialises everything that places orders for this account.
    let account = account_in_reach_for_update(conn, caller, account_id).await?;
    let now = state.clock.now();
    match idempotency::begin(conn, account_id, key, fingerprint, now).await? {
        KeyState::Replay(status, body) => return Ok(Recorded::Replay(status, body)),
        KeyState::Resume(order_id) => {
            let order: Order = orders::table
                .find(order_id)
                .select(Order::as_select())
                .first(conn)
                .await?;
            return Ok(Recorded::Charge(Box::new(order)));
        }
        KeyState::New => {}
    }

    let po_number = clean(input.po_number.as_ref(), "po_number", 100)?;
    let reason = clean(input.reason.as_ref(), "reason", 1000)?;
    if matches!(caller.principal.role, Role::Representative | Role::Support) && reason.is_none() {
        return Err(ApiError::invalid_field(
            "reason",
            "is required when an order is placed on the customer's behalf",
        ));
    }

    let cart = current_cart(conn, account_id)
        .await?
        .ok_or_else(cart_empty)?;
    if cart.status != "open" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "An order is already being placed from this cart.",
        ));
    }
    let items = items_of(conn, cart.id).await?;
    let priced = price_cart(state, conn, caller, &account, &cart, &items, true).await?;
    if let Some(expected) = if_match
        && expected.trim() != "*"
        && expected.trim() != priced.view.quote_etag
    {
        return Err(ApiError::new(
            ErrorCode::QuoteChanged,
            "The checkout summary changed since it was reviewed; review the fresh quote and retry with its quote_etag.",
        )
        .with_extension("quote", serde_json::to_value(&priced.view).unwrap_or_default()));
    }
    if let Some(first) = <[Requirement]>::first(&priced.view.requirements) {
        let (code, detail) = match first {
            Requirement::PaymentMethod => (
                ErrorCode::PaymentMethodRequired,
                "Attach a card before placing the order.",
            ),
            Requirement::VatId => (
                ErrorCode::VatIdRequired,
                "Add the account's VAT ID before placing the order.",
            ),
        };
        return Err(ApiError::new(code, detail).with_extension(
            "requirements",
            serde_json::to_value(&priced.view.requirements).unwrap_or_default(),
        ));
    }

    let settlement = settlement_for(&account, priced.view.total_due)?;
    purchase_orders::check_po(
        conn,
        &account,
        po_number.as_deref(),
        priced.view.total_due,
        priced.quote.date,
    )
    .await?;
    let draft = OrderDraft::from_cart(&priced);
    let order = insert_pending_order(
        conn, caller, &account, &draft, key, settlement, po_number, reason,
    )
    .await?;
    idempotency::claim(conn, account_id, key, fingerprint, order.id, now).await?;
    if settlement == "card" {
        hold_reduced_quantities(conn, &priced).await?;
    }
    diesel::update(carts::table.find(cart.id))
        .set((
            carts::status.eq("checking_out"),
            carts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    if settlement == "card" {
        return Ok(Recorded::Charge(Box::new(order)));
    }
    let assisting = caller.principal.role.is_assisting();
    finalise(state, conn, caller, &account, order, None, assisting)
        .await
        .map(Recorded::Done)
}

/// While the order is charged, a subscription it reduces takes no assignment beyond the
/// licences it will leave (the rule was checked against the assignments just now, with the
/// subscription locked): nothing assigned in between can invalidate a paid order.
async fn hold_reduced_quantities(
    conn: &mut AsyncPgConnection,
    priced: &PricedCart,
) -> ApiResult<()> {
    for (target, current) in priced.targets.iter().zip(&priced.current) {
        if let Some((subscription_id, quantity)) = current
            && target.quantity < *quantity
        {
            diesel::update(subscriptions::table.find(subscription_id))
                .set(subscriptions::quantity_pending.eq(Some(target.quantity)))
                .execute(conn)
                .await
                .map_err(|e| match crate::error::violated_constraint(&e) {
                    Some("licenses_within_pending_quantity") => ApiError::new(
                        ErrorCode::LicensesInUse,
                        format!(
                            "More than {} licences are assigned; unassign users before reducing.",
                            target.quantity
                        ),
                    ),
                    _ => ApiError::from(e),
                })?;
        }
    }
    Ok(())
}

/// Order numbers come from a sequence: no row lock, gaps allowed (removed orders).
async fn next_order_number(conn: &mut AsyncPgConnection) -> ApiResult<String> {
    let next: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('order_number_seq')",
    ))
    .get_result(conn)
    .await?;
    Ok(format!("ORD-{next:06}"))
}

pub(crate) async fn next_number(
    conn: &mut AsyncPgConnection,
    counter: &str,
    prefix: &str,
) -> ApiResult<String> {
    // Updating the counter row inside the transaction keeps numbers gapless: a rollback
    // gives the number back.
    let next: i64 = diesel::update(document_counters::table.find(counter))
        .set(document_counters::next.eq(document_counters::next + 1))
        .returning(document_counters::next - 1)
        .get_result(conn)
        .await?;
    Ok(format!("{prefix}-{next:06}"))
}

/// Where an order comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OrderSource {
    Cart(Uuid),
    Quote(Uuid),
}

/// One item of an order about to be recorded.
pub(crate) struct DraftItem {
    pub kind: String,
    pub target: ItemTarget,
    pub period: Period,
    pub unit_price: Decimal,
    pub plan_price: Decimal,
    pub proration_credit: Decimal,
    pub lines: Vec<(String, Decimal)>,
}

/// An order about to be recorded: what it charges, item by item, and where it comes from.
pub(crate) struct OrderDraft {
    pub source: OrderSource,
    pub currency: String,
    /// The day the rules and prices were agreed on.
    pub quote_date: NaiveDate,
    pub totals: Totals,
    pub items: Vec<DraftItem>,
}

impl OrderDraft {
    fn from_cart(priced: &PricedCart) -> OrderDraft {
        let items = priced
            .targets
            .iter()
            .zip(&priced.quote.items)
            .zip(&priced.view.items)
            .map(|((target, quoted), view)| DraftItem {
                kind: view.kind.clone(),
                target: *target,
                period: quoted.period,
                unit_price: quoted.unit_price,
                plan_price: quoted.plan_price,
                proration_credit: quoted.proration_credit,
                lines: quoted
                    .lines
                    .iter()
                    .map(|l| (l.description.clone(), l.amount))
                    .collect(),
            })
            .collect();
        OrderDraft {
            source: OrderSource::Cart(priced.view.cart_id),
            currency: priced.view.currency.clone(),
            quote_date: priced.quote.date,
            totals: priced.quote.totals,
            items,
        }
    }
}

/// How an order is paid: corporate accounts by invoice, others by card when something is due.
pub(crate) fn settlement_for(account: &Account, total_due: Decimal) -> ApiResult<&'static str> {
    Ok(if rules::settles_by_invoice(account)? {
        "invoice"
    } else if total_due > Decimal::ZERO {
        "card"
    } else {
        "none"
    })
}

#[expect(clippy::too_many_arguments, reason = "an order row is many facts")]
pub(crate) async fn insert_pending_order(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    draft: &OrderDraft,
    key: &str,
    settlement: &str,
    po_number: Option<String>,
    reason: Option<String>,
) -> ApiResult<Order> {
    let totals = draft.totals;
    let (cart_id, quote_id) = match draft.source {
        OrderSource::Cart(id) => (Some(id), None),
        OrderSource::Quote(id) => (None, Some(id)),
    };
    let order = Order {
        id: Uuid::now_v7(),
        account_id: account.id,
        number: next_order_number(conn).await?,
        cart_id,
        status: "pending".to_owned(),
        settlement: settlement.to_owned(),
        currency: draft.currency.clone(),
        quote_date: draft.quote_date,
        subtotal: totals.subtotal,
        tax_rate: totals.tax_rate,
        tax: totals.tax,
        reverse_charge: totals.reverse_charge,
        credit_applied: totals.credit_applied,
        credit_created: totals.credit_created,
        total_due: totals.total_due,
        po_number,
        reason,
        placed_by_sub: caller.principal.sub.clone(),
        placed_by_role: caller.principal.role.as_str().to_owned(),
        idempotency_key: key.to_owned(),
        charge_id: None,
        created_at: Utc::now(),
        completed_at: None,
        quote_id,
        payment_method_ref: (settlement == "card")
            .then(|| account.payment_method_ref.clone())
            .flatten(),
        voided_at: None,
        void_reason: None,
        refunded_at: None,
    };
    let order: Order = diesel::insert_into(orders::table)
        .values(&order)
        .returning(Order::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match crate::error::violated_constraint(&e) {
            Some("one_order_per_cart") => {
                ApiError::new(ErrorCode::Conflict, "This cart has been ordered already.")
            }
            Some("orders_quote_id_key") => ApiError::new(
                ErrorCode::QuoteNotOpen,
                "This quote has been accepted already.",
            ),
            _ => ApiError::from(e),
        })?;
    let mut line_position = 0;
    for (position, draft_item) in draft.items.iter().enumerate() {
        let target = &draft_item.target;
        // A subscribe item without an earlier trial creates the subscription with this id.
        let subscription_id = match target.subscription_id {
            Some(id) => id,
            None => subscription_for_product(conn, account.id, target.product_id, false)
                .await?
                .map_or_else(Uuid::now_v7, |s| s.id),
        };
        let item = OrderItem {
            id: Uuid::now_v7(),
            order_id: order.id,
            account_id: account.id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: draft_item.kind.clone(),
            product_id: target.product_id,
            subscription_id,
            plan_id: target.plan_id,
            billing_frequency: target.frequency.as_str().to_owned(),
            quantity: target.quantity,
            period_start: draft_item.period.start,
            period_end: draft_item.period.end,
            unit_price: draft_item.unit_price,
            plan_price: draft_item.plan_price,
            proration_credit: draft_item.proration_credit,
        };
        diesel::insert_into(order_items::table)
            .values(&item)
            .execute(conn)
            .await?;
        for (description, amount) in &draft_item.lines {
            diesel::insert_into(order_lines::table)
                .values(OrderLine {
                    id: Uuid::now_v7(),
                    order_id: order.id,
                    account_id: account.id,
                    order_item_id: item.id,
                    position: line_position,
                    description: description.clone(),
                    amount: *amount,
                })
                .execute(conn)
                .await?;
            line_position += 1;
        }
    }
    if totals.credit_applied > Decimal::ZERO {
        // Reserved now; given back if the order does not complete.
        diesel::update(accounts::table.find(account.id))
            .set(accounts::credit_balance.eq(accounts::credit_balance - totals.credit_applied))
            .execute(conn)
            .await?;
    }
    Ok(order)
}

enum Settled {
    Done(serde_json::Value),
    Refused(ApiError),
}

/// Whether the order's placer acted on the customer's behalf (may downgrade): a fact of the
/// order, recorded with it.
fn placed_assisting(order: &Order) -> ApiResult<bool> {
    let role: Role = order
        .placed_by_role
        .parse()
        .map_err(|e: String| internal_error("stored role", &e))?;
    Ok(role.is_assisting())
}

/// Charges a recorded card order and completes it. Settling acts on the order's own facts:
/// reach and role were checked when it was recorded, so a placer who lost reach since (the
/// account changed kind) cannot leave a paid order pending.
async fn charge_and_finalise(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    order: Order,
) -> ApiResult<serde_json::Value> {
    let order_id = order.id;
    if order.status == "completed" {
        return idempotency::stored_response(conn, order.account_id, &order.idempotency_key).await;
    }
    let card = order.payment_method_ref.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::PaymentMethodRequired,
            "Attach a card before placing the order.",
        )
    })?;
    let currency: Currency = order
        .currency
        .parse()
        .map_err(|e| internal_error("stored order currency", &e))?;
    let assisting = placed_assisting(&order)?;
    let charge = state
        .gateway
        .charge(&card, order.total_due, currency, &order.id.to_string())
        .await;

    let settled = conn
        .transaction(async |conn| {
            let account = account_for_update(conn, account_id).await?;
            let order: Order = orders::table
                .find(order_id)
                .select(Order::as_select())
                .for_no_key_update()
                .first(conn)
                .await?;
            if order.status == "completed" {
                return idempotency::stored_response(
                    conn,
                    order.account_id,
                    &order.idempotency_key,
                )
                .await
                .map(Settled::Done);
            }
            match &charge {
                Err(ChargeError::Declined { reason }) => {
                    abandon(conn, caller, &order, "order.payment_declined", reason).await?;
                    Ok(Settled::Refused(
                        ApiError::new(
                            ErrorCode::CardDeclined,
                            "The card was declined; nothing was charged or changed.",
                        )
                        .with_extension("decline_code", serde_json::json!(reason)),
                    ))
                }
                Err(ChargeError::Unavailable(why)) => {
                    tracing::warn!(order = %order.id, error = %why, "payment gateway unavailable");
                    // Nothing is in flight any more: the same key may resume at once.
                    idempotency::release(conn, order.account_id, &order.idempotency_key).await?;
                    Ok(Settled::Refused(ApiError::new(
                        ErrorCode::ServiceUnavailable,
                        "The payment service did not answer; retry with the same Idempotency-Key.",
                    )))
                }
                // A rule broken since the order was recorded rolls this transaction back
                // whole; the order is then voided and refunded below.
                Ok(charge) => finalise(
                    state,
                    conn,
                    caller,
                    &account,
                    order,
                    Some(&charge.charge_id),
                    assisting,
                )
                .await
                .map(Settled::Done),
            }
        })
        .await;
    match (settled, charge) {
        (Ok(Settled::Done(body)), _) => Ok(body),
        (Ok(Settled::Refused(error)), _) => Err(error),
        (Err(broken), Ok(charge)) if broken.code.status().is_client_error() => {
            void_and_refund(
                state,
                conn,
                caller,
                account_id,
                order_id,
                &charge.charge_id,
                &broken,
            )
            .await?;
            Err(broken)
        }
        (Err(fault), _) => {
            release_after_fault(state, &order).await;
            Err(fault)
        }
    }
}

/// A request that failed on a fault (the database went away mid-way) gives its lease back
/// when the database can still be reached, so that a retry with the same key, or recovery,
/// settles the order at once instead of after the lease runs out.
async fn release_after_fault(state: &AppState, order: &Order) {
    let released = match state.pool.get().await {
        Ok(mut conn) => {
            idempotency::release(&mut conn, order.account_id, &order.idempotency_key).await
        }
        Err(e) => Err(ApiError::from(e)),
    };
    match released {
        Ok(()) => {
            tracing::warn!(order = %order.id, "order left pending by a fault; its key can resume at once")
        }
        Err(e) => {
            tracing::warn!(order = %order.id, error = %e, "order left pending by a fault; resumes once its lease runs out")
        }
    }
}

/// A paid order that can no longer be applied: recorded as `voided` (with its charge, its
/// cart, key and credit given back) in one transaction *before* the refund is asked for, so a
/// crash in between leaves a refund that recovery still owes, never a lost one.
async fn void_and_refund(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    order_id: Uuid,
    charge_id: &str,
    broken: &ApiError,
) -> ApiResult<()> {
    let now = state.clock.now();
    let why = broken.code.as_str();
    conn.transaction(async |conn| {
        account_for_update(conn, account_id).await?;
        let order: Order = orders::table
            .find(order_id)
            .select(Order::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        if order.status != "pending" {
            // Settled meanwhile by another attempt: nothing to void.
            return Ok(());
        }
        diesel::update(orders::table.find(order_id))
            .set((
                orders::status.eq("voided"),
                orders::voided_at.eq(Some(now)),
                orders::void_reason.eq(Some(why)),
                orders::charge_id.eq(Some(charge_id)),
            ))
            .execute(conn)
            .await?;
        give_back(conn, &order).await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(order.account_id),
                action: "order.voided",
                subject_type: "order",
                subject_id: Some(order.id),
                before: snapshot(&order),
                after: Some(
                    serde_json::json!({"status": "voided", "why": why, "charge_id": charge_id}),
                ),
                reason: None,
            },
        )
        .await
    })
    .await?;
    refund_voided(state, conn, order_id, charge_id).await;
    Ok(())
}

/// Asks the gateway to refund a voided order's charge (idempotent per charge) and records
/// it; a failure is left for recovery to retry.
async fn refund_voided(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    charge_id: &str,
) {
    if let Err(e) = state.gateway.refund(charge_id).await {
        tracing::warn!(order = %order_id, error = %e, "refund of a voided order failed; recovery retries it");
        return;
    }
    let recorded = diesel::update(orders::table.find(order_id))
        .filter(orders::refunded_at.is_null())
        .set(orders::refunded_at.eq(Some(state.clock.now())))
        .execute(conn)
        .await;
    match recorded {
        Ok(_) => tracing::info!(order = %order_id, charge = charge_id, "voided order refunded"),
        Err(e) => {
            tracing::warn!(order = %order_id, error = %e, "refund made but not recorded; recovery records it")
        }
    }
}

/// Gives back what a pending order held: its credit reservation, its key, its cart and the
/// licences it held back.
async fn give_back(conn: &mut AsyncPgConnection, order: &Order) -> ApiResult<()> {
    if order.credit_applied > Decimal::ZERO {
        diesel::update(accounts::table.find(order.account_id))
            .set(accounts::credit_balance.eq(accounts::credit_balance + order.credit_applied))
            .execute(conn)
            .await?;
    }
    idempotency::forget(conn, order.account_id, &order.idempotency_key).await?;
    if let Some(cart_id) = order.cart_id {
        diesel::update(carts::table.find(cart_id))
            .set((
                carts::status.eq("open"),
                carts::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    diesel::update(subscriptions::table)
        .filter(
            subscriptions::id.eq_any(
                order_items::table
                    .filter(order_items::order_id.eq(order.id))
                    .select(order_items::subscription_id),
            ),
        )
        .filter(subscriptions::quantity_pending.is_not_null())
        .set(subscriptions::quantity_pending.eq(None::<i32>))
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a pending order that was never paid (declined card): what it held goes back to
/// where it was; an audit event says why.
async fn abandon(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    action: &str,
    why: &str,
) -> ApiResult<()> {
    give_back(conn, order).await?;
    diesel::delete(orders::table.find(order.id))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(order.account_id),
            action,
            subject_type: "order",
            subject_id: Some(order.id),
            before: snapshot(order),
            after: Some(serde_json::json!({"why": why})),
            reason: None,
        },
    )
    .await
}

/// Applies a recorded order: every rule re-checked against the locked subscriptions (for an
/// actor who may downgrade when `assisting`), the changes made, the invoice issued, the order
/// completed and its response stored.
pub(crate) async fn finalise(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    order: Order,
    charge_id: Option<&str>,
    assisting: bool,
) -> ApiResult<serde_json::Value> {
    let items: Vec<OrderItem> = order_items::table
        .filter(order_items::order_id.eq(order.id))
        .select(OrderItem::as_select())
        .order(order_items::position)
        .load(conn)
        .await?;
    let catalog = state.catalog.get();
    let actor = Actor {
        assisting,
        ..rules::actor(&caller.principal, account)?
    };
    let currency = rules::currency(account)?;
    for item in &items {
        let current = subscription_for_product(conn, account.id, item.product_id, true).await?;
        let target = ItemTarget {
            item_id: item.id,
            subscribe: item.kind == "subscribe",
            product_id: item.product_id,
            subscription_id: (item.kind == "change").then_some(item.subscription_id),
            plan_id: item.plan_id,
            frequency: rules::frequency(&item.billing_frequency)?,
            quantity: item.quantity,
        };
        // The quote date is the day the rules and prices were agreed on.
        rules::check_and_price(
            &catalog,
            actor,
            currency,
            order.quote_date,
            &target,
            current.as_ref(),
        )?;
        apply_item(conn, caller, &order, item, current).await?;
    }
    if order.credit_created > Decimal::ZERO {
        diesel::update(accounts::table.find(account.id))
            .set(accounts::credit_balance.eq(accounts::credit_balance + order.credit_created))
            .execute(conn)
            .await?;
    }
    let completed: Order = diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq("completed"),
            orders::completed_at.eq(Some(Utc::now())),
            orders::charge_id.eq(charge_id),
        ))
        .returning(Order::as_returning())
        .get_result(conn)
        .await?;
    if let Some(cart_id) = order.cart_id {
        diesel::update(carts::table.find(cart_id))
            .set((
                carts::status.eq("checked_out"),
                carts::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    let invoice_id = Uuid::now_v7();
    let mut view = order_view(state, conn, completed.clone()).await?;
    view.invoice_id = Some(invoice_id);
    let body = serde_json::to_value(&view).map_err(|e| internal_error("order view", &e))?;
    idempotency::complete(conn, order.account_id, &order.idempotency_key, 201, &body).await?;
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(order.account_id),
            action: "order.placed",
            subject_type: "order",
            subject_id: Some(order.id),
            before: None,
            after: Some(serde_json::json!({
                "number": completed.number,
                "total_due": completed.total_due,
                "settlement": completed.settlement,
                "invoice_id": invoice_id,
                "po_number": completed.po_number,
            })),
            reason: completed.reason.as_deref(),
        },
    )
    .await?;
    issue_invoice(conn, account, &order, invoice_id, state.clock.today()).await?;
    Ok(body)
}

async fn apply_item(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: &Order,
    item: &OrderItem,
    current: Option<Subscription>,
) -> ApiResult<()> {
    let after: Subscription = match &current {
        Some(existing) => {
            diesel::update(subscriptions::table.find(existing.id))
                .set((
                    subscriptions::plan_id.eq(item.plan_id),
                    subscriptions::billing_frequency.eq(&item.billing_frequency),
                    subscriptions::quantity.eq(item.quantity),
                    subscriptions::status.eq("active"),
                    subscriptions::current_period_start.eq(Some(item.period_start)),
                    subscriptions::current_period_end.eq(Some(item.period_end)),
                    subscriptions::period_amount.eq(Some(item.plan_price)),
                    subscriptions::quantity_pending.eq(None::<i32>),
                    subscriptions::version.eq(subscriptions::version + 1),
                    subscriptions::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await?
        }
        None => {
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::id.eq(item.subscription_id),
                    subscriptions::account_id.eq(order.account_id),
                    subscriptions::product_id.eq(item.product_id),
                    subscriptions::plan_id.eq(item.plan_id),
                    subscriptions::billing_frequency.eq(&item.billing_frequency),
                    subscriptions::quantity.eq(item.quantity),
                    subscriptions::status.eq("active"),
                    subscriptions::current_period_start.eq(Some(item.period_start)),
                    subscriptions::current_period_end.eq(Some(item.period_end)),
                    subscriptions::period_amount.eq(Some(item.plan_price)),
                    subscriptions::currency.eq(&order.currency),
                ))
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await?
        }
    };
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(order.account_id),
            action: if current.as_ref().is_some_and(|s| s.status == "active") {
                "subscription.changed"
            } else {
                "subscription.subscribed"
            },
            subject_type: "subscription",
            subject_id: Some(after.id),
            before: current.as_ref().and_then(snapshot),
            after: snapshot(&after),
            reason: order.reason.as_deref(),
        },
    )
    .await
}

async fn issue_invoice(
    conn: &mut AsyncPgConnection,
    account: &Account,
    order: &Order,
    invoice_id: Uuid,
    today: NaiveDate,
) -> ApiResult<Invoice> {
    let on_terms = order.settlement == "invoice" && order.total_due > Decimal::ZERO;
    let due_on = if on_terms {
        today + Duration::days(i64::from(account.payment_terms_days))
    } else {
        today
    };
    // The account row is locked by this transaction already: its own counter makes the
    // series gapless without a lock shared by every account.
    let issued: i32 = diesel::update(accounts::table.find(account.id))
        .set(accounts::invoices_issued.eq(accounts::invoices_issued + 1))
        .returning(accounts::invoices_issued)
        .get_result(conn)
        .await?;
    let invoice = Invoice {
        id: invoice_id,
        account_id: account.id,
        order_id: order.id,
        number: format!("INV-{:06}-{issued:04}", account.number),
        status: if on_terms { "open" } else { "paid" }.to_owned(),
        currency: order.currency.clone(),
        subtotal: order.subtotal,
        tax_rate: order.tax_rate,
        tax: order.tax,
        reverse_charge: order.reverse_charge,
        credit_applied: order.credit_applied,
        credit_created: order.credit_created,
        total_due: order.total_due,
        amount_paid: if on_terms {
            Decimal::ZERO
        } else {
            order.total_due
        },
        issued_on: today,
        due_on,
        po_number: order.po_number.clone(),
        paid_at: (!on_terms).then(Utc::now),
        created_at: Utc::now(),
    };
    diesel::insert_into(invoices::table)
        .values(&invoice)
        .execute(conn)
        .await?;
    Ok(invoice)
}

/// Finishes (or gives back) every pending order whose request is gone: run at start-up.
/// Each is settled as its own placer, as if that request had been retried.
pub async fn recover_pending_orders(state: &AppState) -> ApiResult<usize> {
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let pending: Vec<(Uuid, Uuid, String, String)> = orders::table
        .inner_join(
            idempotency_keys::table.on(idempotency_keys::account_id
                .eq(orders::account_id)
                .and(idempotency_keys::key.eq(orders::idempotency_key))),
        )
        .filter(orders::status.eq("pending"))
        .filter(
            idempotency_keys::locked_until
                .is_null()
                .or(idempotency_keys::locked_until.le(now)),
        )
        .select((
            orders::id,
            orders::account_id,
            orders::placed_by_sub,
            orders::placed_by_role,
        ))
        .load(&mut conn)
        .await?;
    let mut settled = 0;
    for (order_id, account_id, sub, role) in pending {
        // Take the lease the way a retrying request would, so the two never settle together.
        let key: String = orders::table
            .find(order_id)
            .select(orders::idempotency_key)
            .first(&mut conn)
            .await?;
        let claimed = diesel::update(idempotency_keys::table.find((account_id, &key)))
            .filter(
                idempotency_keys::locked_until
                    .is_null()
                    .or(idempotency_keys::locked_until.le(now)),
            )
            .set(
                idempotency_keys::locked_until
                    .eq(now + Duration::seconds(idempotency::LEASE_SECONDS)),
            )
            .execute(&mut conn)
            .await?;
        if claimed == 0 {
            continue;
        }
        let role: Role = role
            .parse()
            .map_err(|e: String| internal_error("stored role", &e))?;
        let caller = Caller {
            principal: Principal {
                sub,
                role,
                account_id: role.is_contact().then_some(account_id),
            },
            request_id: format!("recovery-{}", Uuid::new_v4()),
        };
        let order: Order = orders::table
            .find(order_id)
            .select(Order::as_select())
            .first(&mut conn)
            .await?;
        let number = order.number.clone();
        // Settled as the order's own facts say, whoever placed it and whatever reach they
        // have now; the events name the placer, the request id says it was recovery.
        match charge_and_finalise(state, &mut conn, &caller, account_id, order).await {
            Ok(_) => {
                settled += 1;
                tracing::info!(order = %order_id, %number, "recovery completed a pending order");
            }
            Err(outcome) if outcome.code.status().is_client_error() => {
                settled += 1;
                tracing::info!(order = %order_id, %number, outcome = outcome.code.as_str(), "recovery gave a pending order back");
            }
            Err(error) => {
                tracing::warn!(order = %order_id, %number, error = %error, "pending order not completed");
            }
        }
    }
    // Voided orders whose refund was not confirmed (a crash or a gateway outage after the
    // void was recorded).
    let owed: Vec<(Uuid, Option<String>)> = orders::table
        .filter(orders::status.eq("voided"))
        .filter(orders::refunded_at.is_null())
        .filter(orders::charge_id.is_not_null())
        .select((orders::id, orders::charge_id))
        .load(&mut conn)
        .await?;
    for (order_id, charge_id) in owed {
        if let Some(charge_id) = charge_id {
            refund_voided(state, &mut conn, order_id, &charge_id).await;
        }
    }
    Ok(settled)
}
