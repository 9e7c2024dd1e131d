//! The checkout summary (`GET …/cart/quote`, SPEC §5) of an account's cart: every item
//! re-checked and priced today by the order engine's pricing step, the totals, the open
//! requirements and the `quote_etag` that covers everything that changes the money. (Not
//! to be confused with a representative's quote: `services::quotes`.)

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Account, Cart, CartItem};
use crate::domain::catalog::Catalog;
use crate::domain::money::Currency;
use crate::domain::money::round_to_minor;
use crate::domain::order::ItemKind;
use crate::domain::period::BillingFrequency;
use crate::domain::quote::Quote;
use crate::error::{ApiResult, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::cart::{current_cart, items_of};
use crate::services::engine::Engine;
pub use crate::services::engine::price::Requirement;
use crate::services::engine::price::{Priced, PricingInput, nothing_to_price, price};
use crate::services::rules::{self, ItemTarget};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LineView {
    #[schema(example = "Unused time on Standard × 5")]
    pub description: String,
    /// Negative for credits.
    #[schema(value_type = String, example = "-96.67")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteItemView {
    pub item_id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "change")]
    pub kind: ItemKind,
    #[schema(example = "gotoassist-rs-v4")]
    pub product: String,
    #[schema(example = "premium")]
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    #[schema(example = 8)]
    pub quantity: i32,
    pub subscription_id: Option<Uuid>,
    /// The new billing period starts today.
    pub period_start: NaiveDate,
    /// Exclusive.
    pub period_end: NaiveDate,
    /// Per licence per period, in force today.
    #[schema(value_type = String, example = "468.00")]
    pub unit_price: Decimal,
    /// Unit price × licences, for the whole new period.
    #[schema(value_type = String, example = "3744.00")]
    pub plan_price: Decimal,
    /// Credit for the unused time of the replaced period (≥ 0; its line is negative).
    #[schema(value_type = String, example = "96.67")]
    pub proration_credit: Decimal,
    pub lines: Vec<LineView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteView {
    pub date: NaiveDate,
    pub currency: Currency,
    pub cart_id: Uuid,
    #[schema(example = 2)]
    pub cart_version: i32,
    pub items: Vec<QuoteItemView>,
    #[schema(value_type = String, example = "3647.33")]
    pub subtotal: Decimal,
    /// Decimal fraction, `"0"` when untaxed or reverse charged.
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
    pub requirements: Vec<Requirement>,
    /// Send as `If-Match` on checkout to be charged exactly this.
    #[schema(example = "\"q-5d41402abc4b2a76b9719d911017c592\"")]
    pub quote_etag: String,
}

/// A priced cart: its summary, the engine's pricing, and the inputs it was priced from.
pub struct PricedCart {
    pub view: QuoteView,
    pub priced: Priced,
    pub inputs: Vec<PricingInput>,
}

pub fn target_of(item: &CartItem) -> ApiResult<ItemTarget> {
    Ok(ItemTarget {
        item_id: item.id,
        subscribe: item.kind == ItemKind::Subscribe,
        product_id: item.product_id,
        subscription_id: item.subscription_id,
        plan_id: item.plan_id,
        frequency: item.billing_frequency,
        quantity: item.quantity,
    })
}

/// The per-item views of priced items.
pub fn item_views(
    catalog: &Catalog,
    inputs: &[PricingInput],
    quote: &Quote,
) -> ApiResult<Vec<QuoteItemView>> {
    inputs
        .iter()
        .zip(&quote.items)
        .map(|(input, quoted)| {
            let target = &input.target;
            let (product, plan) = catalog
                .plan(target.plan_id)
                .ok_or_else(|| internal_error("cart plan missing from catalog", &target.plan_id))?;
            Ok(QuoteItemView {
                item_id: target.item_id,
                kind: input.kind,
                product: product.code.clone(),
                plan: plan.code.clone(),
                billing_frequency: target.frequency,
                quantity: target.quantity,
                subscription_id: target.subscription_id,
                period_start: quoted.period.start,
                period_end: quoted.period.end,
                unit_price: quoted.unit_price,
                plan_price: quoted.plan_price,
                proration_credit: quoted.proration_credit,
                lines: quoted
                    .lines
                    .iter()
                    .map(|l| LineView {
                        description: l.description.clone(),
                        amount: l.amount,
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Prices the cart's `items` for `account` today, checking every rule for the caller. With
/// `lock`, the subscriptions the items act on are locked for the caller's transaction.
pub async fn summarise_cart(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    cart: &Cart,
    items: &[CartItem],
    lock: bool,
) -> ApiResult<PricedCart> {
    let actor = rules::actor(&caller.principal, account)?;
    let inputs = items
        .iter()
        .map(|item| {
            Ok(PricingInput {
                target: target_of(item)?,
                kind: item.kind,
                bound_unit_price: None,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let priced = price(engine, conn, account, actor, &inputs, lock).await?;
    let totals = priced.quote.totals;
    let mut view = QuoteView {
        date: priced.quote.date,
        currency: priced.quote.currency,
        cart_id: cart.id,
        cart_version: cart.version,
        items: item_views(&engine.catalog, &inputs, &priced.quote)?,
        subtotal: totals.subtotal,
        tax_rate: totals.tax_rate.normalize(),
        tax: totals.tax,
        reverse_charge: totals.reverse_charge,
        credit_applied: totals.credit_applied,
        credit_created: totals.credit_created,
        total_due: totals.total_due,
        requirements: priced.requirements.clone(),
        quote_etag: String::new(),
    };
    view.quote_etag = etag(&view, account, &engine.seller_country);
    Ok(PricedCart {
        view,
        priced,
        inputs,
    })
}

/// A strong ETag over everything that changes the money: the cart (id and version), the
/// date, every price and amount of the quote, the account's country, VAT ID and credit
/// balance, and the seller's country. Open requirements are left out on purpose: adding a
/// card does not change what is charged.
fn etag(view: &QuoteView, account: &Account, seller_country: &str) -> String {
    let mut money = serde_json::to_value(view).unwrap_or_default();
    if let Some(object) = money.as_object_mut() {
        object.remove("requirements");
        object.remove("quote_etag");
    }
    let currency = Some(round_to_minor(account.credit_balance, account.currency));
    let material = serde_json::json!({
        "quote": money,
        "country": account.country,
        "vat_id": account.vat_id,
        "credit_balance": currency,
        "seller_country": seller_country,
    });
    let digest = Sha256::digest(material.to_string().as_bytes());
    format!("\"q-{}\"", hex::encode(&digest[..16]))
}

pub async fn get_checkout_summary(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
) -> ApiResult<QuoteView> {
    let engine = Engine::for_request(state, caller);
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    let cart = current_cart(&mut conn, account_id)
        .await?
        .ok_or_else(nothing_to_price)?;
    let items = items_of(&mut conn, cart.id).await?;
    Ok(
        summarise_cart(&engine, &mut conn, caller, &account, &cart, &items, false)
            .await?
            .view,
    )
}
