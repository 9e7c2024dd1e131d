//! Sending a quote: the representative turns the account's cart — or a change request's
//! items — into a quote.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, Cart, CartItem, Quote, Subscription};
use crate::db::schema::{cart_items, carts, quotes};
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;
use crate::domain::order::CartStatus;
use crate::domain::order::{ItemKind, QuoteStatus};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, Notify, snapshot};
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::checkout_summary::summarise_cart;
use crate::services::engine::Engine;
use crate::services::engine::price::nothing_to_price;
use crate::services::input::clean;
use crate::services::numbering::next_number;
use crate::services::rules::ItemTarget;

use super::reprice::QuoteSummary;
use super::{CreateQuote, FrozenCancellation, FrozenItem, corporate_only};

/// How long a quote stays open, and its message.
pub struct Terms {
    days: i64,
    note: Option<String>,
}

impl Terms {
    pub fn of(valid_for_days: Option<i64>, note: Option<&String>) -> ApiResult<Terms> {
        let days = valid_for_days.unwrap_or(30);
        if !(1..=365).contains(&days) {
            return Err(ApiError::invalid_field(
                "valid_for_days",
                "must be between 1 and 365",
            ));
        }
        Ok(Terms {
            days,
            note: clean(note, "note", 2000)?,
        })
    }
}

fn prepared_by_the_representative(caller: &Caller) -> ApiResult<()> {
    if !matches!(caller.principal.role, Role::Representative | Role::Admin) {
        return Err(ApiError::forbidden(
            "Quotes are prepared by the account's representative.",
        ));
    }
    Ok(())
}

/// The representative (or an admin) turns the account's cart into a quote; the cart empties.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: CreateQuote,
) -> ApiResult<Quote> {
    let terms = Terms::of(input.valid_for_days, input.note.as_ref())?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        prepared_by_the_representative(caller)?;
        corporate_only(&account)?;
        let cart = current_cart(conn, account_id)
            .await?
            .ok_or_else(nothing_to_price)?;
        if cart.status != CartStatus::Open {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "An order is being placed from this cart.",
            ));
        }
        let items = items_of(conn, cart.id).await?;
        if items.is_empty() {
            return Err(nothing_to_price());
        }
        let quote = write(state, conn, caller, &account, &cart, &items, terms, None).await?;
        // The cart became the quote: start the next one empty.
        diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart.id)))
            .execute(conn)
            .await?;
        diesel::update(carts::table.find(cart.id))
            .set((
                carts::version.eq(carts::version + 1),
                carts::updated_at.eq(caller.now),
            ))
            .execute(conn)
            .await?;
        Ok(quote)
    })
    .await
}

/// The quote answering a change request (SPEC §18), inside the caller's transaction (the
/// account and the request locked): its items priced now as the representative's, and its
/// cancellations carried out when it is accepted. The account's cart is left alone.
#[allow(clippy::too_many_arguments)]
pub async fn create_for_request(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    change_request_id: Uuid,
    targets: &[ItemTarget],
    cancellations: &[(Subscription, bool)],
    terms: Terms,
) -> ApiResult<Quote> {
    prepared_by_the_representative(caller)?;
    corporate_only(account)?;
    // The items as a cart of the request's own (never stored): priced like a cart.
    let cart = Cart {
        id: change_request_id,
        account_id: account.id,
        status: CartStatus::Open,
        version: 0,
        created_at: caller.now,
        updated_at: caller.now,
    };
    let items: Vec<CartItem> = targets
        .iter()
        .map(|target| CartItem {
            id: target.item_id,
            cart_id: cart.id,
            account_id: account.id,
            kind: if target.subscribe {
                ItemKind::Subscribe
            } else {
                ItemKind::Change
            },
            product_id: target.product_id,
            subscription_id: target.subscription_id,
            plan_id: target.plan_id,
            billing_frequency: target.frequency,
            quantity: target.quantity,
            created_at: caller.now,
        })
        .collect();
    let frozen_cancellations = cancellations
        .iter()
        .map(|(subscription, at_period_end)| FrozenCancellation {
            subscription_id: subscription.id,
            subscription_version: subscription.version,
            at_period_end: *at_period_end,
        })
        .collect();
    write(
        state,
        conn,
        caller,
        account,
        &cart,
        &items,
        terms,
        Some((change_request_id, frozen_cancellations)),
    )
    .await
}

/// Prices `items` now and writes the quote with its `quote.sent` event; `request` links it
/// to a change request, with the cancellations it carries.
#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    cart: &Cart,
    items: &[CartItem],
    terms: Terms,
    request: Option<(Uuid, Vec<FrozenCancellation>)>,
) -> ApiResult<Quote> {
    let today = caller.today();
    let mut frozen = Vec::with_capacity(items.len());
    // The cart's summary without the cart: a quote is settled by invoice and never
    // re-checked against a cart version. Accepting it shows the same shape priced again.
    let (summary, total_due) = if items.is_empty() {
        // Only cancellations: nothing is priced now (an immediate one credits the unused
        // time when it is carried out).
        (
            serde_json::json!({
                "date": today, "currency": account.currency.code(), "items": [],
                "subtotal": "0.00", "tax_rate": "0", "tax": "0.00", "reverse_charge": false,
                "credit_applied": "0.00", "credit_created": "0.00", "total_due": "0.00",
            }),
            rust_decimal::Decimal::ZERO,
        )
    } else {
        let priced = summarise_cart(
            &Engine::for_request(state, caller),
            conn,
            caller,
            account,
            cart,
            items,
            true,
        )
        .await?;
        for ((input, quoted), item_view) in priced
            .inputs
            .iter()
            .zip(&priced.priced.quote.items)
            .zip(&priced.view.items)
        {
            let target = &input.target;
            let version = match target.subscription_id {
                Some(_) => subscription_for_product(conn, account.id, target.product_id, false)
                    .await?
                    .map(|s| s.version),
                None => None,
            };
            frozen.push(FrozenItem {
                kind: item_view.kind,
                product_id: target.product_id,
                subscription_id: target.subscription_id,
                subscription_version: version,
                plan_id: target.plan_id,
                billing_frequency: target.frequency,
                quantity: target.quantity,
                unit_price: quoted.unit_price,
                plan_price: quoted.plan_price,
                proration_credit: quoted.proration_credit,
                lines: item_view.lines.clone(),
            });
        }
        (
            serde_json::to_value(QuoteSummary::of(&priced.priced.quote, &priced.view.items))
                .map_err(|e| internal_error("quote summary", &e))?,
            priced.view.total_due,
        )
    };
    let (change_request_id, cancellations) = match request {
        Some((id, cancellations)) => (Some(id), cancellations),
        None => (None, Vec::new()),
    };
    let quote: Quote = diesel::insert_into(quotes::table)
        .values(Quote {
            id: Uuid::now_v7(),
            account_id: account.id,
            number: next_number(conn, "quote", "QUO").await?,
            status: QuoteStatus::Sent,
            summary,
            items: serde_json::to_value(&frozen).map_err(|e| internal_error("quote items", &e))?,
            currency: account.currency,
            total_due,
            quote_date: today,
            expires_on: today + Duration::days(terms.days - 1),
            note: terms.note,
            created_by: caller.principal.sub.clone(),
            decided_by: None,
            decision_reason: None,
            decided_at: None,
            order_id: None,
            created_at: caller.now,
            change_request_id,
            cancellations: serde_json::to_value(&cancellations)
                .map_err(|e| internal_error("quote cancellations", &e))?,
        })
        .returning(Quote::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        caller,
        Event {
            account_id: Some(account.id),
            event_type: EventType::QuoteSent,
            subject_type: "quote",
            subject_id: Some(quote.id),
            before: None,
            after: snapshot(&super::view(quote.clone(), today)),
            reason: None,
            // The contact learns of the answer to its request by mail.
            notify: change_request_id
                .map(|id| Notify::of(NotificationTemplate::ChangeRequestQuoted, id)),
        },
    )
    .await?;
    Ok(quote)
}
