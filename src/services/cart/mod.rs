//! The cart (SPEC §5): at most one open cart per account, one item per product, every edit
//! checked against the rules and bumping the version.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Cart, CartItem, Subscription};
use crate::db::schema::{cart_items, carts, subscriptions};
use crate::domain::catalog::Catalog;
use crate::domain::order::{CartStatus, ItemKind};
use crate::domain::period::BillingFrequency;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach;

mod edit;

pub(crate) use edit::resolve;
pub use edit::{add_item, delete_item, patch_item};

/// Body of `POST /v1/accounts/{account_id}/cart/items`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CartItemInput {
    /// Change an active subscription: a new plan and/or quantity and/or billing frequency.
    #[schema(title = "CartItemChange")]
    Change {
        subscription_id: Uuid,
        /// Plan code of the subscription's product.
        #[schema(example = "premium")]
        plan: Option<String>,
        #[schema(minimum = 1, maximum = 10000, example = 8)]
        quantity: Option<i32>,
        billing_frequency: Option<BillingFrequency>,
    },
    /// Buy a product that has no active subscription (e.g. after a trial).
    #[schema(title = "CartItemSubscribe")]
    Subscribe {
        /// Product code.
        #[schema(example = "gotoassist-service-desk")]
        product: String,
        /// Plan code.
        #[schema(example = "starter")]
        plan: String,
        #[schema(minimum = 1, maximum = 10000, example = 3)]
        quantity: i32,
        billing_frequency: BillingFrequency,
    },
}

/// Body of `PATCH /v1/accounts/{account_id}/cart/items/{item_id}` ("Change order").
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemPatch {
    #[schema(example = "premium")]
    pub plan: Option<String>,
    #[schema(minimum = 1, maximum = 10000, example = 10)]
    pub quantity: Option<i32>,
    pub billing_frequency: Option<BillingFrequency>,
}

pub struct CartDetail {
    pub cart: Cart,
    pub items: Vec<CartItem>,
}

/// The account's cart that is not yet ordered (open, or being checked out).
pub async fn current_cart(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<Option<Cart>> {
    carts::table
        .filter(carts::account_id.eq(account_id))
        .filter(carts::status.ne(CartStatus::CheckedOut))
        .select(Cart::as_select())
        .first(conn)
        .await
        .optional()
}

/// The account's open cart with its items, created empty when there is none.
async fn current_or_new_cart(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<(Cart, Vec<CartItem>)> {
    if let Some(found) = current_cart_with_items(conn, account_id).await? {
        return Ok(found);
    }
    // The partial unique index keeps this to one cart when two requests race: the loser
    // inserts nothing and reads the winner's cart.
    let created: Option<Cart> = diesel::insert_into(carts::table)
        .values((
            carts::id.eq(Uuid::now_v7()),
            carts::account_id.eq(account_id),
            carts::status.eq(CartStatus::Open),
            carts::created_at.eq(now),
            carts::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .returning(Cart::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(cart) = created {
        return Ok((cart, Vec::new()));
    }
    current_cart_with_items(conn, account_id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The account's subscription `id`; one of another account, or none, is a 422 on
/// `subscription_id` (what a cart item or a change request names).
pub async fn subscription_on_account(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> ApiResult<Subscription> {
    subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::id.eq(id))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| {
            ApiError::invalid_field("subscription_id", "no such subscription on this account")
        })
}

/// The account's open cart with its items, in one query.
pub async fn current_cart_with_items(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<Option<(Cart, Vec<CartItem>)>> {
    let rows: Vec<(Cart, Option<CartItem>)> = carts::table
        .left_join(cart_items::table.on(cart_items::cart_id.eq(carts::id)))
        .filter(carts::account_id.eq(account_id))
        .filter(carts::status.ne(CartStatus::CheckedOut))
        .select((Cart::as_select(), Option::<CartItem>::as_select()))
        .order((cart_items::created_at, cart_items::id))
        .load(conn)
        .await?;
    let mut found: Option<(Cart, Vec<CartItem>)> = None;
    for (cart, item) in rows {
        let (_, items) = found.get_or_insert_with(|| (cart, Vec::new()));
        items.extend(item);
    }
    Ok(found)
}

pub async fn items_of(conn: &mut AsyncPgConnection, cart_id: Uuid) -> QueryResult<Vec<CartItem>> {
    cart_items::table
        .filter(cart_items::cart_id.eq(cart_id))
        .select(CartItem::as_select())
        .order((cart_items::created_at, cart_items::id))
        .load(conn)
        .await
}

pub async fn subscription_for_product(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    product_id: Uuid,
    lock: bool,
) -> QueryResult<Option<Subscription>> {
    let query = subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::product_id.eq(product_id))
        .select(Subscription::as_select());
    if lock {
        query.for_no_key_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn get(state: &AppState, caller: &Caller, account_id: Uuid) -> ApiResult<CartDetail> {
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let (cart, items) = current_or_new_cart(&mut conn, account_id, caller.now).await?;
    Ok(CartDetail { cart, items })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemView {
    pub id: Uuid,
    /// `change` or `subscribe`.
    #[serde(rename = "type")]
    pub kind: ItemKind,
    #[schema(example = "gotoassist-rs-v4")]
    pub product: String,
    pub subscription_id: Option<Uuid>,
    #[schema(example = "premium")]
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    #[schema(example = 8)]
    pub quantity: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub id: Uuid,
    /// `open`, or `checking_out` while an order is being placed from it.
    pub status: CartStatus,
    /// Bumped by every edit; also the `ETag`.
    #[schema(example = 2)]
    pub version: i32,
    /// Lets a portal offer "Add to cart" instead of "Checkout" when items are waiting.
    #[schema(example = 1)]
    pub item_count: usize,
    pub items: Vec<CartItemView>,
}

/// The cart as the API shows it.
pub fn cart_view(catalog: &Catalog, detail: CartDetail) -> ApiResult<CartView> {
    let items = detail
        .items
        .into_iter()
        .map(|item: CartItem| {
            let (product, plan) = catalog
                .plan(item.plan_id)
                .ok_or_else(|| internal_error("cart plan missing from catalog", &item.plan_id))?;
            Ok(CartItemView {
                id: item.id,
                kind: item.kind,
                product: product.code.clone(),
                subscription_id: item.subscription_id,
                plan: plan.code.clone(),
                billing_frequency: item.billing_frequency,
                quantity: item.quantity,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(CartView {
        id: detail.cart.id,
        status: detail.cart.status,
        version: detail.cart.version,
        item_count: items.len(),
        items,
    })
}
