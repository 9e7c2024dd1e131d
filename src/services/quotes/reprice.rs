//! A sent quote priced again on the day it is accepted, and the tag over its money.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::models::{Account, Quote};
use crate::domain::order::ItemKind;
use crate::domain::plan_change::Actor;
use crate::error::{ApiResult, internal_error};
use crate::services::cart::subscription_for_product;
use crate::services::checkout_summary::{QuoteItemView, item_views};
use crate::services::engine::price::{PricingInput, Requirement, price};
use crate::services::engine::{Engine, OrderDraft, OrderSource};
use crate::services::rules::ItemTarget;

use super::{FrozenItem, corporate_only, stale};

/// The checkout summary of a representative's quote (stored as it was sent, and shown
/// again priced on the day of acceptance): the cart's summary without the cart.
#[derive(Debug, Clone, Serialize)]
pub(super) struct QuoteSummary<'a> {
    date: NaiveDate,
    currency: &'a str,
    items: &'a [QuoteItemView],
    subtotal: Decimal,
    tax_rate: Decimal,
    tax: Decimal,
    reverse_charge: bool,
    credit_applied: Decimal,
    credit_created: Decimal,
    total_due: Decimal,
}

impl<'a> QuoteSummary<'a> {
    pub(super) fn of(
        quote: &'a crate::domain::quote::Quote,
        items: &'a [QuoteItemView],
    ) -> QuoteSummary<'a> {
        let totals = quote.totals;
        QuoteSummary {
            date: quote.date,
            currency: quote.currency.code(),
            items,
            subtotal: totals.subtotal,
            tax_rate: totals.tax_rate.normalize(),
            tax: totals.tax,
            reverse_charge: totals.reverse_charge,
            credit_applied: totals.credit_applied,
            credit_created: totals.credit_created,
            total_due: totals.total_due,
        }
    }
}

/// An ETag over the money of a quote summary: per item what is bought and every amount,
/// then the totals. Dates and line texts are left out, so the same amounts on another day
/// keep the tag; a proration credit that moved with the days changes it.
pub fn money_etag(summary: &serde_json::Value) -> String {
    let items: Vec<serde_json::Value> = summary["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let amounts: Vec<&serde_json::Value> = item["lines"]
                        .as_array()
                        .map(|lines| lines.iter().map(|l| &l["amount"]).collect())
                        .unwrap_or_default();
                    serde_json::json!([
                        item["product"],
                        item["plan"],
                        item["billing_frequency"],
                        item["quantity"],
                        item["unit_price"],
                        item["plan_price"],
                        item["proration_credit"],
                        amounts,
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    let material = serde_json::json!([
        items,
        summary["currency"],
        summary["subtotal"],
        summary["tax_rate"],
        summary["tax"],
        summary["reverse_charge"],
        summary["credit_applied"],
        summary["credit_created"],
        summary["total_due"],
    ]);
    let digest = Sha256::digest(material.to_string().as_bytes());
    format!("\"qa-{}\"", hex::encode(&digest[..16]))
}

/// A sent quote priced on the day it is accepted (SPEC §5, §6): its items and bound unit
/// prices, the new periods starting today, the unused time credited as of today, tax and
/// credit balance as the account stands.
pub struct Repriced {
    pub summary: serde_json::Value,
    pub etag: String,
    pub requirements: Vec<Requirement>,
    /// `None` for a quote of cancellations only: nothing is ordered.
    pub(super) draft: Option<OrderDraft>,
}

/// Prices a sent quote today; refuses it as stale when a subscription changed since it was
/// made or one of its changes no longer holds.
pub async fn reprice(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    account: &Account,
    quote: &Quote,
    lock: bool,
) -> ApiResult<Repriced> {
    corporate_only(account)?;
    let frozen: Vec<FrozenItem> = serde_json::from_value(quote.items.clone())
        .map_err(|e| internal_error("stored quote items", &e))?;
    if frozen.is_empty() {
        // Cancellations only: no money now, the summary stays as sent.
        return Ok(Repriced {
            etag: money_etag(&quote.summary),
            summary: quote.summary.clone(),
            requirements: Vec::new(),
            draft: None,
        });
    }
    // The quote was made by a representative: its items are held to the representative's rules.
    let actor = Actor {
        assisting: true,
        account_kind: account.kind,
    };
    let mut inputs = Vec::with_capacity(frozen.len());
    for (position, item) in frozen.iter().enumerate() {
        if item.subscription_version.is_some() {
            let current =
                subscription_for_product(conn, account.id, item.product_id, false).await?;
            if current.as_ref().map(|s| s.version) != item.subscription_version {
                return Err(stale(
                    quote,
                    "a subscription changed since the quote was made.",
                ));
            }
        }
        let item_id = quote.summary["items"][position]["item_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(Uuid::now_v7);
        inputs.push(PricingInput {
            target: ItemTarget {
                item_id,
                subscribe: item.kind == ItemKind::Subscribe,
                product_id: item.product_id,
                subscription_id: item.subscription_id,
                plan_id: item.plan_id,
                frequency: item.billing_frequency,
                quantity: item.quantity,
            },
            kind: item.kind,
            bound_unit_price: Some(item.unit_price),
        });
    }
    let priced = match price(engine, conn, account, actor, &inputs, lock).await {
        Ok(priced) => priced,
        Err(broken) if broken.code.status().is_client_error() => {
            return Err(stale(quote, &broken.detail)
                .with_extension("cause", serde_json::json!(broken.code.as_str())));
        }
        Err(other) => return Err(other),
    };
    let views = item_views(&engine.catalog, &inputs, &priced.quote)?;
    let summary = serde_json::to_value(QuoteSummary::of(&priced.quote, &views))
        .map_err(|e| internal_error("quote summary", &e))?;
    let draft = priced.draft(&inputs, OrderSource::Quote(quote.id));
    Ok(Repriced {
        etag: money_etag(&summary),
        summary,
        requirements: priced.requirements,
        draft: Some(draft),
    })
}
