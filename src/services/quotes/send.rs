//! Sending a quote: the representative turns the account's cart into a quote.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::Quote;
use crate::db::schema::{cart_items, carts, quotes};
use crate::domain::event::EventType;
use crate::domain::order::CartStatus;
use crate::domain::order::QuoteStatus;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, snapshot};
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::checkout_summary::summarise_cart;
use crate::services::engine::Engine;
use crate::services::engine::price::nothing_to_price;
use crate::services::input::clean;
use crate::services::numbering::next_number;

use super::reprice::QuoteSummary;
use super::{CreateQuote, FrozenItem, corporate_only};

/// The representative (or an admin) turns the account's cart into a quote; the cart empties.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: CreateQuote,
) -> ApiResult<Quote> {
    let days = input.valid_for_days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::invalid_field(
            "valid_for_days",
            "must be between 1 and 365",
        ));
    }
    let note = clean(input.note.as_ref(), "note", 2000)?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        if !matches!(caller.principal.role, Role::Representative | Role::Admin) {
            return Err(ApiError::forbidden(
                "Quotes are prepared by the account's representative.",
            ));
        }
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
        let priced = summarise_cart(
            &Engine::for_request(state, caller),
            conn,
            caller,
            &account,
            &cart,
            &items,
            true,
        )
        .await?;
        let mut frozen = Vec::with_capacity(items.len());
        for ((input, quoted), item_view) in priced
            .inputs
            .iter()
            .zip(&priced.priced.quote.items)
            .zip(&priced.view.items)
        {
            let target = &input.target;
            let version = match target.subscription_id {
                Some(_) => subscription_for_product(conn, account_id, target.product_id, false)
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
        // The cart's summary without the cart: a quote is settled by invoice and never
        // re-checked against a cart version. Accepting it shows the same shape priced again.
        let summary =
            serde_json::to_value(QuoteSummary::of(&priced.priced.quote, &priced.view.items))
                .map_err(|e| internal_error("quote summary", &e))?;
        let today = caller.today();
        let quote: Quote = diesel::insert_into(quotes::table)
            .values(Quote {
                id: Uuid::now_v7(),
                account_id,
                number: next_number(conn, "quote", "QUO").await?,
                status: QuoteStatus::Sent,
                summary,
                items: serde_json::to_value(&frozen)
                    .map_err(|e| internal_error("quote items", &e))?,
                currency: priced.view.currency,
                total_due: priced.view.total_due,
                quote_date: today,
                expires_on: today + Duration::days(days - 1),
                note,
                created_by: caller.principal.sub.clone(),
                decided_by: None,
                decision_reason: None,
                decided_at: None,
                order_id: None,
                created_at: caller.now,
            })
            .returning(Quote::as_returning())
            .get_result(conn)
            .await?;
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
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::QuoteSent,
                subject_type: "quote",
                subject_id: Some(quote.id),
                before: None,
                after: snapshot(&super::view(quote.clone(), caller.today())),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(quote)
    })
    .await
}
