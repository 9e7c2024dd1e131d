//! Checkout (SPEC §5): the account's cart placed as an order, exactly once, through the order
//! engine (`services::engine`).
//!
//! 1. One transaction, the account row locked: the idempotency key (replay a completed one,
//!    refuse a reused or in-use one, resume an order an earlier attempt left pending); the
//!    reason and PO rules; the cart priced with every rule re-checked and its subscriptions
//!    locked; `If-Match`; the open requirements; then the engine records the order (and
//!    completes it at once when nothing is charged by card).
//! 2. A card order is charged outside any transaction and finalised by the engine.
//!
//! See docs/CHECKOUT.md for why this never charges twice and never loses an order.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::Order;
use crate::db::schema::orders;
use crate::domain::order::CartStatus;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::cart::current_cart_with_items;
use crate::services::checkout_summary::summarise_cart;
use crate::services::engine::price::nothing_to_price;
use crate::services::engine::{self, Engine, OrderSource, Placed, Placement};
use crate::services::idempotency::{self, KeyState};
use crate::services::input::clean;
use crate::services::purchase_orders;

/// Body of `POST /v1/accounts/{account_id}/cart/checkout`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The customer's purchase order number (corporate accounts), printed on the invoice.
    #[schema(max_length = 100, example = "PO-2026-0042")]
    pub po_number: Option<String>,
    /// Why the order is placed on the customer's behalf: required for representatives,
    /// support and admins; recorded in the audit event.
    #[schema(
        max_length = 1000,
        example = "Customer asked by phone to move to Premium"
    )]
    pub reason: Option<String>,
}

/// The response to send: the order (201), possibly replayed from an earlier request.
pub struct CheckoutOutcome {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

enum Step {
    Replay(u16, serde_json::Value),
    Placed(Placed),
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
    let engine = Engine::for_request(state, caller);
    let mut conn = state.pool.get().await?;
    let step = conn
        .transaction(async |conn| {
            record(
                &engine,
                conn,
                caller,
                account_id,
                Placement {
                    idempotency_key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    po_number: clean(input.po_number.as_ref(), "po_number", 100)?,
                    reason: clean(input.reason.as_ref(), "reason", 1000)?,
                    assisting: caller.principal.role.is_assisting(),
                },
                if_match,
            )
            .await
        })
        .await?;
    let body = match step {
        Step::Replay(status, body) => {
            return Ok(CheckoutOutcome {
                status,
                body,
                replayed: true,
            });
        }
        Step::Placed(Placed::Completed { body, .. }) => body,
        Step::Placed(Placed::AwaitingCharge(order, items)) => {
            engine::charge_and_finalise(&engine, &mut conn, caller, *order, items).await?
        }
    };
    Ok(CheckoutOutcome {
        status: 201,
        body,
        replayed: false,
    })
}

async fn record(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    placement: Placement,
    if_match: Option<&str>,
) -> ApiResult<Step> {
    // The account lock serialises everything that places orders for this account.
    let account = account_in_reach_for_update(conn, caller, account_id).await?;
    let key = &placement.idempotency_key;
    match idempotency::begin(conn, account_id, key, &placement.fingerprint, caller.now).await? {
        KeyState::Replay(status, body) => return Ok(Step::Replay(status, body)),
        KeyState::Resume(order_id) => {
            let order: Order = orders::table
                .find(order_id)
                .select(Order::as_select())
                .first(conn)
                .await?;
            return Ok(Step::Placed(Placed::AwaitingCharge(Box::new(order), None)));
        }
        KeyState::New => {}
    }
    if matches!(caller.principal.role, Role::Representative | Role::Support)
        && placement.reason.is_none()
    {
        return Err(ApiError::invalid_field(
            "reason",
            "is required when an order is placed on the customer's behalf",
        ));
    }

    let (cart, items) = current_cart_with_items(conn, account_id)
        .await?
        .ok_or_else(nothing_to_price)?;
    if cart.status != CartStatus::Open {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "An order is already being placed from this cart.",
        ));
    }
    let summary = summarise_cart(engine, conn, caller, &account, &cart, &items, true).await?;
    if let Some(expected) = if_match
        && expected.trim() != "*"
        && expected.trim() != summary.view.quote_etag
    {
        return Err(ApiError::new(
            ErrorCode::QuoteChanged,
            "The checkout summary changed since it was reviewed; review the fresh quote and retry with its quote_etag.",
        )
        .with_extension("quote", serde_json::to_value(&summary.view).unwrap_or_default()));
    }
    summary.priced.refuse_if_required()?;
    purchase_orders::check_po(
        conn,
        &account,
        placement.po_number.as_deref(),
        summary.view.total_due,
        summary.priced.quote.date,
    )
    .await?;
    let draft = summary
        .priced
        .draft(&summary.inputs, OrderSource::Cart(cart.id));
    engine::place(engine, conn, caller, &account, &draft, placement)
        .await
        .map(Step::Placed)
}

/// Finishes (or gives back) every pending order whose request is gone, and makes the refunds
/// voided orders still owe: run at start-up and by the sweeper.
pub async fn recover_pending_orders(state: &AppState) -> ApiResult<usize> {
    engine::recovery::recover_pending_orders(&Engine::of(state)).await
}
