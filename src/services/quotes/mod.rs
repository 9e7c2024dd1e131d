//! Quotes a representative sends and a corporate contact accepts (issue: corporate accounts).
//!
//! A quote is the checkout summary of the account's cart, frozen: the amounts, lines and
//! totals as of the day it was made, with the version of every subscription it acts on. The
//! contact accepts it (placing the order at the quoted amounts, exactly once, under the same
//! idempotency rules as checkout) or rejects it; the representative may withdraw it. It
//! expires after its last day. If the subscriptions changed since (another order, licences
//! now in use), acceptance is refused rather than charging a stale price.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{Account, Quote};
use crate::db::schema::quotes;
use crate::domain::account::AccountKind;
use crate::domain::money::Currency;
use crate::domain::order::ItemKind;
use crate::domain::period::BillingFrequency;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::checkout_summary::LineView;
use crate::services::engine::Engine;

mod decide;
mod reprice;
mod send;

pub use decide::{accept, decide};
pub use reprice::{Repriced, money_etag, reprice};
pub use send::{Terms, create, create_for_request};

/// Body of `POST /v1/accounts/{account_id}/quotes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQuote {
    /// Days the quote stays open, counting today (default 30).
    #[schema(minimum = 1, maximum = 365, example = 30)]
    pub valid_for_days: Option<i64>,
    /// A message to the customer.
    #[schema(
        max_length = 2000,
        example = "Premium for all 250 seats, as discussed on our call."
    )]
    pub note: Option<String>,
}

/// Body of `POST …/quotes/{quote_id}/accept`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptQuote {
    /// The customer's purchase order number, printed on the invoice.
    #[schema(max_length = 100, example = "PO-2026-0042")]
    pub po_number: Option<String>,
}

/// Body of `POST …/quotes/{quote_id}/reject`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectQuote {
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "We will stay on Ultimate until the next budget year."
    )]
    pub reason: String,
}

/// One quoted item, as stored: enough to record the order without re-pricing.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FrozenItem {
    kind: ItemKind,
    product_id: Uuid,
    subscription_id: Option<Uuid>,
    /// The subscription's version when the quote was made; acceptance needs the same.
    subscription_version: Option<i32>,
    plan_id: Uuid,
    billing_frequency: BillingFrequency,
    quantity: i32,
    unit_price: Decimal,
    plan_price: Decimal,
    proration_credit: Decimal,
    lines: Vec<LineView>,
}

/// A cancellation a quote carries out when it is accepted (a change request's `cancel`
/// item), with the subscription's version when the quote was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FrozenCancellation {
    pub subscription_id: Uuid,
    pub subscription_version: i32,
    pub at_period_end: bool,
}

/// A cancellation the quote carries out when accepted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuotedCancellation {
    pub subscription_id: Uuid,
    /// At the period end, or at once (the unused time credited by a `cancel` order).
    pub at_period_end: bool,
}

pub use crate::domain::order::QuoteStatus;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentQuoteView {
    pub id: Uuid,
    /// Human number, e.g. `QUO-000007`.
    #[schema(example = "QUO-000007")]
    pub number: String,
    pub status: QuoteStatus,
    /// The checkout summary as quoted (amounts fixed).
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub currency: Currency,
    #[schema(value_type = String, example = "18900.00")]
    pub total_due: Decimal,
    pub quote_date: NaiveDate,
    /// The last day it can be accepted.
    pub expires_on: NaiveDate,
    #[schema(example = "Premium for all 250 seats, as discussed on our call.")]
    pub note: Option<String>,
    #[schema(example = "rep-jane-doe")]
    pub created_by: String,
    #[schema(example = json!(null))]
    pub decided_by: Option<String>,
    #[schema(example = json!(null))]
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The order an acceptance placed.
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// While the quote can be accepted (one quote read, not lists): the same items at the
    /// quoted unit prices, priced today — the new period starts on the day of acceptance,
    /// so the unused time credited, tax and credit balance are today's. This is what an
    /// acceptance today places.
    #[schema(value_type = Option<Object>)]
    pub current_summary: Option<serde_json::Value>,
    /// Send as `If-Match` when accepting to be invoiced exactly `current_summary`.
    #[schema(example = "\"qa-3f0c4c9e1b7d4a52a1e6d0b8c2f4e917\"")]
    pub current_quote_etag: Option<String>,
    /// Subscriptions the quote ends when accepted (asked for in a change request).
    pub cancellations: Vec<QuotedCancellation>,
    /// The change request this quote answers; accepting it completes the request.
    pub change_request_id: Option<Uuid>,
}

fn status_of(quote: &Quote, today: NaiveDate) -> QuoteStatus {
    match quote.status {
        QuoteStatus::Sent if today > quote.expires_on => QuoteStatus::Expired,
        stored => stored,
    }
}

pub fn view(quote: Quote, today: NaiveDate) -> SentQuoteView {
    let cancellations: Vec<FrozenCancellation> =
        serde_json::from_value(quote.cancellations.clone()).unwrap_or_default();
    SentQuoteView {
        cancellations: cancellations
            .into_iter()
            .map(|c| QuotedCancellation {
                subscription_id: c.subscription_id,
                at_period_end: c.at_period_end,
            })
            .collect(),
        change_request_id: quote.change_request_id,
        status: status_of(&quote, today),
        id: quote.id,
        number: quote.number,
        summary: quote.summary,
        currency: quote.currency,
        total_due: quote.total_due,
        quote_date: quote.quote_date,
        expires_on: quote.expires_on,
        note: quote.note,
        created_by: quote.created_by,
        decided_by: quote.decided_by,
        decision_reason: quote.decision_reason,
        decided_at: quote.decided_at,
        order_id: quote.order_id,
        created_at: quote.created_at,
        current_summary: None,
        current_quote_etag: None,
    }
}

/// One quote, with its summary priced today while it can be accepted.
pub fn view_with_current(
    quote: Quote,
    today: NaiveDate,
    current: Option<Repriced>,
) -> SentQuoteView {
    let mut view = view(quote, today);
    if let Some(current) = current {
        view.current_summary = Some(current.summary);
        view.current_quote_etag = Some(current.etag);
    }
    view
}

fn corporate_only(account: &Account) -> ApiResult<()> {
    if account.kind != AccountKind::Corporate {
        return Err(ApiError::forbidden(
            "Quotes are for corporate accounts; self-service customers check out in the Billing Center.",
        ));
    }
    Ok(())
}

async fn quote_for_update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    quote_id: Uuid,
) -> ApiResult<Quote> {
    quotes::table
        .filter(quotes::account_id.eq(account_id))
        .filter(quotes::id.eq(quote_id))
        .select(Quote::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// A quote can be decided while it is sent and not past its last day.
fn ensure_open(quote: &Quote, today: NaiveDate) -> ApiResult<()> {
    match status_of(quote, today) {
        QuoteStatus::Sent => Ok(()),
        QuoteStatus::Expired => Err(ApiError::new(
            ErrorCode::QuoteExpired,
            format!(
                "Quote {} expired on {}; ask your representative for a new one.",
                quote.number, quote.expires_on
            ),
        )),
        other => Err(ApiError::new(
            ErrorCode::QuoteNotOpen,
            format!(
                "Quote {} is {} already.",
                quote.number,
                serde_json::to_value(other)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("decided")
            ),
        )),
    }
}

fn stale(quote: &Quote, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::QuoteStale,
        format!(
            "Quote {} no longer fits the subscriptions: {why} Ask your representative for a fresh quote.",
            quote.number
        ),
    )
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<Quote>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<Quote> = crate::newest_first_page!(
        &mut conn,
        quotes,
        account_id,
        params,
        limit,
        Quote::as_select()
    );
    Ok((rows, limit))
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    quote_id: Uuid,
) -> ApiResult<(Quote, Option<Repriced>)> {
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    let quote: Quote = quotes::table
        .filter(quotes::account_id.eq(account_id))
        .filter(quotes::id.eq(quote_id))
        .select(Quote::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let current = if status_of(&quote, caller.today()) == QuoteStatus::Sent {
        // A quote that no longer fits shows no current summary; accepting it says why.
        match reprice(
            &Engine::for_request(state, caller),
            &mut conn,
            &account,
            &quote,
            false,
        )
        .await
        {
            Ok(current) => Some(current),
            Err(refused) if refused.code.status().is_client_error() => None,
            Err(other) => return Err(other),
        }
    } else {
        None
    };
    Ok((quote, current))
}
