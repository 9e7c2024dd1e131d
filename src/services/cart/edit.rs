//! Editing the cart ("Change order"): every edit checked against the rules for the caller,
//! with the account locked, bumping the cart's version.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Account, Cart, CartItem, Subscription};
use crate::db::schema::{cart_items, carts};
use crate::domain::event::EventType;
use crate::domain::order::{CartStatus, ItemKind};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::accounts::version_mismatch;
use crate::services::audit::{self, Event, snapshot};
use crate::services::rules::{self, ItemTarget};

use super::{
    CartDetail, CartItemInput, CartItemPatch, cart_view, current_or_new_cart,
    subscription_for_product, subscription_on_account,
};

fn quantity_in_range(quantity: i32) -> ApiResult<i32> {
    if (1..=10_000).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(ApiError::invalid_field(
            "quantity",
            "must be between 1 and 10000",
        ))
    }
}

/// Turns a request into a target with catalog ids, filling a `change` from the subscription;
/// returns the account's subscription to the item's product too (one per product), which the
/// rules are checked against.
pub(crate) async fn resolve(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    account: &Account,
    input: &CartItemInput,
) -> ApiResult<(ItemTarget, Option<Subscription>)> {
    let catalog = state.catalog.get();
    match input {
        CartItemInput::Change {
            subscription_id,
            plan,
            quantity,
            billing_frequency,
        } => {
            let subscription = subscription_on_account(conn, account.id, *subscription_id).await?;
            let plan_id = match plan {
                None => subscription.plan_id,
                Some(code) => catalog
                    .product(subscription.product_id)
                    .and_then(|p| p.plan_by_code(code))
                    .map(|p| p.id)
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            "plan",
                            "no such plan for the subscription's product",
                        )
                    })?,
            };
            let target = ItemTarget {
                item_id: Uuid::now_v7(),
                subscribe: false,
                product_id: subscription.product_id,
                subscription_id: Some(subscription.id),
                plan_id,
                frequency: match billing_frequency {
                    Some(f) => *f,
                    None => subscription.billing_frequency,
                },
                quantity: quantity_in_range(quantity.unwrap_or(subscription.quantity))?,
            };
            Ok((target, Some(subscription)))
        }
        CartItemInput::Subscribe {
            product,
            plan,
            quantity,
            billing_frequency,
        } => {
            let product = catalog.product_by_code(product).ok_or_else(|| {
                ApiError::invalid_field("product", "no such product in the catalog")
            })?;
            let plan = product
                .plan_by_code(plan)
                .ok_or_else(|| ApiError::invalid_field("plan", "no such plan for this product"))?;
            let target = ItemTarget {
                item_id: Uuid::now_v7(),
                subscribe: true,
                product_id: product.id,
                subscription_id: None,
                plan_id: plan.id,
                frequency: *billing_frequency,
                quantity: quantity_in_range(*quantity)?,
            };
            let current = subscription_for_product(conn, account.id, product.id, false).await?;
            Ok((target, current))
        }
    }
}

/// Checks the target against the rules for this caller, now, with `current` the account's
/// subscription to the target's product.
fn check(
    state: &AppState,
    caller: &Caller,
    account: &Account,
    target: &ItemTarget,
    current: Option<&Subscription>,
) -> ApiResult<()> {
    rules::check_and_price(
        &state.catalog.get(),
        rules::actor(&caller.principal, account)?,
        account.currency,
        caller.today(),
        target,
        current,
    )?;
    Ok(())
}

/// Locks the account and returns its open cart, refusing edits while an order is placed.
async fn editable_cart(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    if_match: Option<i32>,
) -> ApiResult<(Account, Cart, Vec<CartItem>)> {
    let account = account_in_reach_for_update(conn, caller, account_id).await?;
    let (cart, items) = current_or_new_cart(conn, account_id, caller.now).await?;
    if cart.status != CartStatus::Open {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "An order is being placed from this cart; retry in a moment.",
        ));
    }
    if let Some(expected) = if_match
        && expected != cart.version
    {
        return Err(version_mismatch(cart.version));
    }
    Ok((account, cart, items))
}

/// The cart as the API shows it, for an event's `data.object`.
fn object(
    state: &AppState,
    cart: &Cart,
    items: &[CartItem],
) -> ApiResult<Option<serde_json::Value>> {
    let detail = CartDetail {
        cart: cart.clone(),
        items: items.to_vec(),
    };
    Ok(snapshot(&cart_view(&state.catalog.get(), detail)?))
}

async fn bump(
    conn: &mut AsyncPgConnection,
    cart_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Cart> {
    Ok(diesel::update(carts::table.find(cart_id))
        .set((
            carts::version.eq(carts::version + 1),
            carts::updated_at.eq(now),
        ))
        .returning(Cart::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn add_item(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    if_match: Option<i32>,
    input: CartItemInput,
) -> ApiResult<CartDetail> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (account, cart, mut items) = editable_cart(conn, caller, account_id, if_match).await?;
        let before = object(state, &cart, &items)?;
        let (target, current) = resolve(state, conn, &account, &input).await?;
        check(state, caller, &account, &target, current.as_ref())?;
        // One item per product: a second replaces the first (the row is rewritten in place,
        // as a new item at the end of the cart).
        let replaced: Option<CartItem> = items
            .iter()
            .position(|i| i.product_id == target.product_id)
            .map(|at| items.remove(at));
        let item = CartItem {
            id: target.item_id,
            cart_id: cart.id,
            account_id,
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
        };
        diesel::insert_into(cart_items::table)
            .values(&item)
            .on_conflict((cart_items::cart_id, cart_items::product_id))
            .do_update()
            .set((
                cart_items::id.eq(item.id),
                cart_items::type_.eq(item.kind),
                cart_items::subscription_id.eq(item.subscription_id),
                cart_items::plan_id.eq(item.plan_id),
                cart_items::billing_frequency.eq(item.billing_frequency),
                cart_items::quantity.eq(item.quantity),
                cart_items::created_at.eq(item.created_at),
            ))
            .execute(conn)
            .await?;
        let cart = bump(conn, cart.id, caller.now).await?;
        items.push(item);
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: if replaced.is_some() {
                    EventType::CartItemReplaced
                } else {
                    EventType::CartItemAdded
                },
                subject_type: "cart",
                subject_id: Some(cart.id),
                before,
                after: object(state, &cart, &items)?,
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(CartDetail { cart, items })
    })
    .await
}

async fn item_in_cart(
    conn: &mut AsyncPgConnection,
    cart_id: Uuid,
    item_id: Uuid,
) -> ApiResult<CartItem> {
    cart_items::table
        .filter(cart_items::cart_id.eq(cart_id))
        .filter(cart_items::id.eq(item_id))
        .select(CartItem::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub async fn patch_item(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    item_id: Uuid,
    if_match: Option<i32>,
    patch: CartItemPatch,
) -> ApiResult<CartDetail> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (account, cart, items) = editable_cart(conn, caller, account_id, if_match).await?;
        let cart_before = object(state, &cart, &items)?;
        let before = item_in_cart(conn, cart.id, item_id).await?;
        let catalog = state.catalog.get();
        let plan_id = match &patch.plan {
            None => before.plan_id,
            Some(code) => catalog
                .product(before.product_id)
                .and_then(|p| p.plan_by_code(code))
                .map(|p| p.id)
                .ok_or_else(|| ApiError::invalid_field("plan", "no such plan for this product"))?,
        };
        let target = ItemTarget {
            item_id,
            subscribe: before.kind == ItemKind::Subscribe,
            product_id: before.product_id,
            subscription_id: before.subscription_id,
            plan_id,
            frequency: match patch.billing_frequency {
                Some(f) => f,
                None => before.billing_frequency,
            },
            quantity: quantity_in_range(patch.quantity.unwrap_or(before.quantity))?,
        };
        let current = subscription_for_product(conn, account_id, target.product_id, false).await?;
        check(state, caller, &account, &target, current.as_ref())?;
        let after: CartItem = diesel::update(cart_items::table.find(item_id))
            .set((
                cart_items::plan_id.eq(target.plan_id),
                cart_items::billing_frequency.eq(target.frequency),
                cart_items::quantity.eq(target.quantity),
            ))
            .returning(CartItem::as_returning())
            .get_result(conn)
            .await?;
        let cart = bump(conn, cart.id, caller.now).await?;
        let items: Vec<CartItem> = items
            .into_iter()
            .map(|i| if i.id == after.id { after.clone() } else { i })
            .collect();
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::CartItemChanged,
                subject_type: "cart",
                subject_id: Some(cart.id),
                before: cart_before,
                after: object(state, &cart, &items)?,
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(CartDetail { cart, items })
    })
    .await
}

pub async fn delete_item(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    item_id: Uuid,
    if_match: Option<i32>,
) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (_, cart, mut items) = editable_cart(conn, caller, account_id, if_match).await?;
        let item = item_in_cart(conn, cart.id, item_id).await?;
        let before = object(state, &cart, &items)?;
        diesel::delete(cart_items::table.find(item_id))
            .execute(conn)
            .await?;
        items.retain(|i| i.id != item.id);
        let cart = bump(conn, cart.id, caller.now).await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::CartItemRemoved,
                subject_type: "cart",
                subject_id: Some(cart.id),
                before,
                after: object(state, &cart, &items)?,
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(())
    })
    .await
}
