//! The checkout summary of an account's cart: every item re-checked and priced today, the
//! totals, the open requirements and the `quote_etag` that covers everything that changes
//! the money (SPEC §5).

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Account, Cart, CartItem};
use crate::domain::money::round_to_minor;
use crate::domain::period::BillingFrequency;
use crate::domain::plan_change::Actor;
use crate::domain::quote::{Quote, quote};
use crate::domain::tax::{tax_treatment, vat_id_required};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::rules::{self, ItemTarget};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LineView {
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
    pub kind: String,
    pub product: String,
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub subscription_id: Option<Uuid>,
    /// The new billing period starts today.
    pub period_start: NaiveDate,
    /// Exclusive.
    pub period_end: NaiveDate,
    /// Per licence per period, in force today.
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    /// Unit price × licences, for the whole new period.
    #[schema(value_type = String)]
    pub plan_price: Decimal,
    /// Credit for the unused time of the replaced period (≥ 0; its line is negative).
    #[schema(value_type = String)]
    pub proration_credit: Decimal,
    pub lines: Vec<LineView>,
}

/// Something checkout still needs from the customer.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    PaymentMethod,
    VatId,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteView {
    pub date: NaiveDate,
    pub currency: String,
    pub cart_id: Uuid,
    pub cart_version: i32,
    pub items: Vec<QuoteItemView>,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    /// Decimal fraction, `"0"` when untaxed or reverse charged.
    #[schema(value_type = String, example = "0.19")]
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
    pub requirements: Vec<Requirement>,
    /// Send as `If-Match` on checkout to be charged exactly this.
    pub quote_etag: String,
}

/// A priced cart, with the targets it was built from (checkout stores them).
pub struct PricedCart {
    pub view: QuoteView,
    pub quote: Quote,
    pub targets: Vec<ItemTarget>,
    /// Per item, the subscription it acts on as it stands (id and licences), if any.
    pub current: Vec<Option<(Uuid, i32)>>,
}

pub fn target_of(item: &CartItem) -> ApiResult<ItemTarget> {
    Ok(ItemTarget {
        item_id: item.id,
        subscribe: item.kind == "subscribe",
        product_id: item.product_id,
        subscription_id: item.subscription_id,
        plan_id: item.plan_id,
        frequency: rules::frequency(&item.billing_frequency)?,
        quantity: item.quantity,
    })
}

pub fn cart_empty() -> ApiError {
    ApiError::new(
        ErrorCode::CartEmpty,
        "The cart has no items: add a `change` or `subscribe` item first.",
    )
}

/// One item to price: what it asks for, and the unit price a representative's quote bound
/// (none for a cart item: the catalog price in force today).
pub struct PricingInput {
    pub target: ItemTarget,
    pub kind: String,
    pub bound_unit_price: Option<Decimal>,
}

/// Items checked and priced on one day, with their views, and what checkout still needs.
pub struct PricedItems {
    pub quote: Quote,
    pub views: Vec<QuoteItemView>,
    pub requirements: Vec<Requirement>,
    /// Per item, the subscription it acts on as it stands (id and licences), if any.
    pub current: Vec<Option<(Uuid, i32)>>,
}

/// Checks every rule for `actor` against the subscriptions as they are now and prices the
/// items on `today` (SPEC §6): the new periods start today, proration credits the unused
/// part of each replaced period today, tax and credit balance as the account stands. With
/// `lock`, the subscriptions are locked (`FOR NO KEY UPDATE`) for the caller's transaction.
pub async fn price_items(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    account: &Account,
    actor: Actor,
    inputs: &[PricingInput],
    lock: bool,
) -> ApiResult<PricedItems> {
    if inputs.is_empty() {
        return Err(cart_empty());
    }
    let catalog = state.catalog.get();
    let today = state.clock.today();
    let currency = rules::currency(account)?;
    let mut priced = Vec::with_capacity(inputs.len());
    let mut currents = Vec::with_capacity(inputs.len());
    for input in inputs {
        let target = &input.target;
        let current = subscription_for_product(conn, account.id, target.product_id, lock).await?;
        currents.push(current.as_ref().map(|s| (s.id, s.quantity)));
        let mut item =
            rules::check_and_price(&catalog, actor, currency, today, target, current.as_ref())?;
        if let Some(bound) = input.bound_unit_price {
            item.unit_price = bound;
        }
        priced.push(item);
    }
    let has_vat_id = account.vat_id.is_some();
    let treatment = tax_treatment(&state.seller_country, &account.country, has_vat_id);
    let quote = quote(&priced, today, currency, &treatment, account.credit_balance);

    let mut views = Vec::with_capacity(inputs.len());
    for (input, quoted) in inputs.iter().zip(&quote.items) {
        let target = &input.target;
        let (product, plan) = catalog
            .plan(target.plan_id)
            .ok_or_else(|| internal_error("cart plan missing from catalog", &target.plan_id))?;
        views.push(QuoteItemView {
            item_id: target.item_id,
            kind: input.kind.clone(),
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
        });
    }
    let totals = quote.totals;
    let mut requirements = Vec::new();
    if totals.total_due > Decimal::ZERO {
        if !rules::settles_by_invoice(account)? && account.payment_method_ref.is_none() {
            requirements.push(Requirement::PaymentMethod);
        }
        if vat_id_required(&state.seller_country, &account.country, has_vat_id) {
            requirements.push(Requirement::VatId);
        }
    }
    Ok(PricedItems {
        quote,
        views,
        requirements,
        current: currents,
    })
}

/// Prices the cart's `items` for `account` today, checking every rule for the caller. With
/// `lock`, the subscriptions the items act on are locked for the caller's transaction.
pub async fn price_cart(
    state: &AppState,
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
                kind: item.kind.clone(),
                bound_unit_price: None,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let priced = price_items(state, conn, account, actor, &inputs, lock).await?;
    let totals = priced.quote.totals;
    let mut view = QuoteView {
        date: priced.quote.date,
        currency: priced.quote.currency.code().to_owned(),
        cart_id: cart.id,
        cart_version: cart.version,
        items: priced.views,
        subtotal: totals.subtotal,
        tax_rate: totals.tax_rate.normalize(),
        tax: totals.tax,
        reverse_charge: totals.reverse_charge,
        credit_applied: totals.credit_applied,
        credit_created: totals.credit_created,
        total_due: totals.total_due,
        requirements: priced.requirements,
        quote_etag: String::new(),
    };
    view.quote_etag = etag(&view, account, &state.seller_country);
    Ok(PricedCart {
        view,
        quote: priced.quote,
        targets: inputs.into_iter().map(|i| i.target).collect(),
        current: priced.current,
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
    let currency = rules::currency(account).map(|c| round_to_minor(account.credit_balance, c));
    let material = serde_json::json!({
        "quote": money,
        "country": account.country,
        "vat_id": account.vat_id,
        "credit_balance": currency.ok(),
        "seller_country": seller_country,
    });
    let digest = Sha256::digest(material.to_string().as_bytes());
    format!("\"q-{}\"", hex::encode(&digest[..16]))
}

pub async fn get_quote(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
) -> ApiResult<QuoteView> {
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    let cart = current_cart(&mut conn, account_id)
        .await?
        .ok_or_else(cart_empty)?;
    let items = items_of(&mut conn, cart.id).await?;
    Ok(
        price_cart(state, &mut conn, caller, &account, &cart, &items, false)
            .await?
            .view,
    )
}
