//! Step 1, **price**: every item checked against the rules for the actor and the
//! subscriptions as they are now, then priced on one day through `domain` (SPEC §6): the new
//! periods start that day, proration credits the unused part of each replaced period, tax
//! and credit balance as the account stands. Nothing is written.

use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{DraftItem, Engine, OrderDraft, OrderSource};
use crate::db::models::Account;
use crate::domain::order::ItemKind;
use crate::domain::plan_change::Actor;
use crate::domain::quote::{Quote, quote};
use crate::domain::tax::{tax_treatment, vat_id_required};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::cart::subscription_for_product;
use crate::services::rules::{self, ItemTarget};

/// One item to price: what it asks for, and the unit price a representative's quote bound
/// (none for a cart item: the catalog price in force that day).
pub struct PricingInput {
    pub target: ItemTarget,
    pub kind: ItemKind,
    pub bound_unit_price: Option<Decimal>,
}

/// Something an order still needs from the customer before it can be placed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    PaymentMethod,
    VatId,
}

/// Items checked and priced on one day, and what the order still needs.
pub struct Priced {
    pub quote: Quote,
    pub requirements: Vec<Requirement>,
    /// Per item, the subscription it acts on as it stands (id and licences), if any.
    pub current: Vec<Option<(Uuid, i32)>>,
}

impl Priced {
    /// The order these priced items make, item by item.
    pub fn draft(&self, inputs: &[PricingInput], source: OrderSource) -> OrderDraft {
        OrderDraft {
            source,
            currency: self.quote.currency,
            quote_date: self.quote.date,
            totals: self.quote.totals,
            items: inputs
                .iter()
                .zip(&self.quote.items)
                .zip(&self.current)
                .map(|((input, quoted), current)| DraftItem {
                    kind: input.kind,
                    target: input.target,
                    period: quoted.period,
                    unit_price: quoted.unit_price,
                    plan_price: quoted.plan_price,
                    proration_credit: quoted.proration_credit,
                    lines: quoted
                        .lines
                        .iter()
                        .map(|l| (l.description.clone(), l.amount))
                        .collect(),
                    current: *current,
                })
                .collect(),
        }
    }

    /// The first open requirement as the problem that refuses the order, listing them all.
    pub fn refuse_if_required(&self) -> ApiResult<()> {
        let Some(first) = self.requirements.first() else {
            return Ok(());
        };
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
        Err(ApiError::new(code, detail)
            .with_extension("requirements", serde_json::json!(self.requirements)))
    }
}

pub fn nothing_to_price() -> ApiError {
    ApiError::new(
        ErrorCode::CartEmpty,
        "The cart has no items: add a `change` or `subscribe` item first.",
    )
}

/// Prices `inputs` for `account` today, checking every rule for `actor`. With `lock`, the
/// subscriptions are locked (`FOR NO KEY UPDATE`) for the caller's transaction.
pub async fn price(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    account: &Account,
    actor: Actor,
    inputs: &[PricingInput],
    lock: bool,
) -> ApiResult<Priced> {
    if inputs.is_empty() {
        return Err(nothing_to_price());
    }
    let today = engine.clock.today();
    let currency = account.currency;
    let mut priced = Vec::with_capacity(inputs.len());
    let mut current = Vec::with_capacity(inputs.len());
    for input in inputs {
        let target = &input.target;
        let subscription =
            subscription_for_product(conn, account.id, target.product_id, lock).await?;
        current.push(subscription.as_ref().map(|s| (s.id, s.quantity)));
        let mut item = rules::check_and_price(
            &engine.catalog,
            actor,
            currency,
            today,
            target,
            subscription.as_ref(),
        )?;
        if let Some(bound) = input.bound_unit_price {
            item.unit_price = bound;
        }
        priced.push(item);
    }
    let has_vat_id = account.vat_id.is_some();
    let treatment = tax_treatment(&engine.seller_country, &account.country, has_vat_id);
    let quote = quote(&priced, today, currency, &treatment, account.credit_balance);
    let mut requirements = Vec::new();
    if quote.totals.total_due > Decimal::ZERO {
        if !rules::settles_by_invoice(account)? && account.payment_method_ref.is_none() {
            requirements.push(Requirement::PaymentMethod);
        }
        if vat_id_required(&engine.seller_country, &account.country, has_vat_id) {
            requirements.push(Requirement::VatId);
        }
    }
    Ok(Priced {
        quote,
        requirements,
        current,
    })
}
