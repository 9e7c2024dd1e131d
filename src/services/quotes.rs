//! Quotes a representative sends and a corporate contact accepts (issue: corporate accounts).
//!
//! A quote is the checkout summary of the account's cart, frozen: the amounts, lines and
//! totals as of the day it was made, with the version of every subscription it acts on. The
//! contact accepts it (placing the order at the quoted amounts, exactly once, under the same
//! idempotency rules as checkout) or rejects it; the representative may withdraw it. It
//! expires after its last day. If the subscriptions changed since (another order, licences
//! now in use), acceptance is refused rather than charging a stale price.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, Quote};
use crate::db::schema::{cart_items, carts, quotes};
use crate::domain::account::AccountKind;
use crate::domain::period::BillingFrequency;
use crate::domain::plan_change::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update, account_kind};
use crate::services::audit::{self, Event};
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::checkout::CheckoutOutcome;
use crate::services::checkout_summary::{LineView, QuoteItemView, item_views, summarise_cart};
use crate::services::engine::price::{PricingInput, Requirement, nothing_to_price, price};
use crate::services::engine::{self, Engine, OrderDraft, OrderSource, Placed, Placement};
use crate::services::idempotency::{self, KeyState};
use crate::services::input::clean;
use crate::services::numbering::next_number;
use crate::services::purchase_orders;
use crate::services::rules::ItemTarget;

/// Body of `POST /v1/accounts/{account_id}/quotes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQuote {
    /// Days the quote stays open, counting today (default 30).
    #[schema(minimum = 1, maximum = 365)]
    pub valid_for_days: Option<i64>,
    /// A message to the customer.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Body of `POST …/quotes/{quote_id}/accept`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptQuote {
    /// The customer's purchase order number, printed on the invoice.
    #[schema(max_length = 100)]
    pub po_number: Option<String>,
}

/// Body of `POST …/quotes/{quote_id}/reject`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectQuote {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// One quoted item, as stored: enough to record the order without re-pricing.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FrozenItem {
    kind: String,
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

/// `sent`, `accepted`, `rejected`, `withdrawn`, or `expired` (sent, past its last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Sent,
    Accepted,
    Rejected,
    Expired,
    Withdrawn,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentQuoteView {
    pub id: Uuid,
    /// Human number, e.g. `QUO-000007`.
    pub number: String,
    pub status: QuoteStatus,
    /// The checkout summary as quoted (amounts fixed).
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub currency: String,
    #[schema(value_type = String)]
    pub total_due: Decimal,
    pub quote_date: NaiveDate,
    /// The last day it can be accepted.
    pub expires_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: String,
    pub decided_by: Option<String>,
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
    pub current_quote_etag: Option<String>,
}

fn status_of(quote: &Quote, today: NaiveDate) -> QuoteStatus {
    match quote.status.as_str() {
        "sent" if today > quote.expires_on => QuoteStatus::Expired,
        "sent" => QuoteStatus::Sent,
        "accepted" => QuoteStatus::Accepted,
        "rejected" => QuoteStatus::Rejected,
        _ => QuoteStatus::Withdrawn,
    }
}

pub fn view(quote: Quote, today: NaiveDate) -> SentQuoteView {
    SentQuoteView {
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
    if account_kind(account)? != AccountKind::Corporate {
        return Err(ApiError::forbidden(
            "Quotes are for corporate accounts; self-service customers check out in the Billing Center.",
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
            return Err(ApiError::forbidden("Quotes are prepared by the account's representative."));
        }
        corporate_only(&account)?;
        let cart = current_cart(conn, account_id).await?.ok_or_else(nothing_to_price)?;
        if cart.status != "open" {
            return Err(ApiError::new(ErrorCode::Conflict, "An order is being placed from this cart."));
        }
        let items = items_of(conn, cart.id).await?;
        let priced = summarise_cart(&Engine::of(state), conn, caller, &account, &cart, &items, true).await?;
        let mut frozen = Vec::with_capacity(items.len());
        for ((input, quoted), item_view) in priced.inputs.iter().zip(&priced.priced.quote.items).zip(&priced.view.items) {
            let target = &input.target;
            let version = match target.subscription_id {
                Some(_) => subscription_for_product(conn, account_id, target.product_id, false).await?.map(|s| s.version),
                None => None,
            };
            frozen.push(FrozenItem {
                kind: item_view.kind.clone(),
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
        let mut summary = serde_json::to_value(&priced.view).map_err(|e| internal_error("quote summary", &e))?;
        if let Some(object) = summary.as_object_mut() {
            // A quote is settled by invoice and never re-checked against a cart version.
            for key in ["requirements", "quote_etag", "cart_id", "cart_version"] {
                object.remove(key);
            }
        }
        let today = state.clock.today();
        let quote: Quote = diesel::insert_into(quotes::table)
            .values(Quote {
                id: Uuid::now_v7(),
                account_id,
                number: next_number(conn, "quote", "QUO").await?,
                status: "sent".to_owned(),
                summary,
                items: serde_json::to_value(&frozen).map_err(|e| internal_error("quote items", &e))?,
                currency: priced.view.currency.clone(),
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
        diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart.id))).execute(conn).await?;
        diesel::update(carts::table.find(cart.id))
            .set((carts::version.eq(carts::version + 1), carts::updated_at.eq(caller.now)))
            .execute(conn)
            .await?;
        audit::record(conn, caller, Event {
            account_id: Some(account_id),
            action: "quote.sent",
            subject_type: "quote",
            subject_id: Some(quote.id),
            before: None,
            after: Some(serde_json::json!({"number": quote.number, "total_due": quote.total_due, "expires_on": quote.expires_on})),
            reason: None,
        })
        .await?;
        Ok(quote)
    })
    .await
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

/// The checkout summary of a representative's quote (stored as it was sent, and shown
/// again priced on the day of acceptance): the cart's summary without the cart.
#[derive(Debug, Clone, Serialize)]
struct QuoteSummary<'a> {
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
    fn of(quote: &'a crate::domain::quote::Quote, items: &'a [QuoteItemView]) -> QuoteSummary<'a> {
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
    draft: OrderDraft,
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
    // The quote was made by a representative: its items are held to the representative's rules.
    let actor = Actor {
        assisting: true,
        account_kind: account_kind(account)?,
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
                subscribe: item.kind == "subscribe",
                product_id: item.product_id,
                subscription_id: item.subscription_id,
                plan_id: item.plan_id,
                frequency: item.billing_frequency,
                quantity: item.quantity,
            },
            kind: item.kind.clone(),
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
        draft,
    })
}

/// The fingerprint of an acceptance covers the quote it accepts and the body.
#[derive(Serialize)]
struct AcceptRequest<'a> {
    quote_id: Uuid,
    body: &'a AcceptQuote,
}

/// The corporate contact (or an admin) accepts the quote: the order is placed at the quoted
/// amounts and invoiced, exactly once per idempotency key and once per quote.
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    quote_id: Uuid,
    idempotency_key: Option<&str>,
    if_match: Option<&str>,
    input: AcceptQuote,
) -> ApiResult<CheckoutOutcome> {
    let key = idempotency::validate_key(idempotency_key)?;
    let fingerprint = idempotency::fingerprint(&AcceptRequest {
        quote_id,
        body: &input,
    });
    let mut conn = state.pool.get().await?;
    let engine = Engine::of(state);
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        let now = state.clock.now();
        match idempotency::begin(conn, account_id, &key, &fingerprint, now).await? {
            KeyState::Replay(status, body) => {
                return Ok(CheckoutOutcome {
                    status,
                    body,
                    replayed: true,
                });
            }
            // Quotes are invoiced in one transaction: nothing is ever left half-way.
            KeyState::Resume(order_id) => {
                return Err(internal_error("pending order of a quote", &order_id));
            }
            KeyState::New => {}
        }
        if !matches!(caller.principal.role, Role::CorporateContact | Role::Admin) {
            return Err(ApiError::forbidden(
                "The customer accepts its quotes; a representative can withdraw one.",
            ));
        }
        let quote = quote_for_update(conn, account_id, quote_id).await?;
        ensure_open(&quote, state.clock.today())?;
        let po_number = clean(input.po_number.as_ref(), "po_number", 100)?;
        let repriced = reprice(&engine, conn, &account, &quote, true).await?;
        // What the contact reviewed: the quote as sent, or the fresh summary it was shown.
        let reviewed = match if_match.map(str::trim) {
            Some("*") => repriced.etag.clone(),
            Some(tag) => tag.to_owned(),
            None => money_etag(&quote.summary),
        };
        if reviewed != repriced.etag {
            return Err(ApiError::new(
                ErrorCode::QuoteChanged,
                "Priced today, the quote's amounts differ from the ones reviewed (the unused time credited, tax or credit balance moved); review the fresh summary and accept again with its quote_etag as If-Match.",
            )
            .with_extension("quote", repriced.summary)
            .with_extension("quote_etag", serde_json::json!(repriced.etag)));
        }
        if repriced.requirements.contains(&Requirement::VatId) {
            return Err(ApiError::new(
                ErrorCode::VatIdRequired,
                "Add the account's VAT ID before accepting the quote.",
            )
            .with_extension("requirements", serde_json::json!(repriced.requirements)));
        }
        let draft = repriced.draft;
        purchase_orders::check_po(
            conn,
            &account,
            po_number.as_deref(),
            draft.totals.total_due,
            draft.quote_date,
        )
        .await?;
        let placed = engine::place(
            &engine,
            conn,
            caller,
            &account,
            &draft,
            Placement {
                idempotency_key: key.clone(),
                fingerprint: fingerprint.clone(),
                po_number,
                reason: Some(format!("Quote {} accepted", quote.number)),
                // The quote was made by the representative: held to the representative's rules.
                assisting: true,
            },
        )
        .await?;
        let Placed::Completed { order_id, body } = placed else {
            return Err(internal_error("quote order awaiting a card charge", &quote_id));
        };
        diesel::update(quotes::table.find(quote_id))
            .set((
                quotes::status.eq("accepted"),
                quotes::order_id.eq(Some(order_id)),
                quotes::decided_by.eq(Some(&caller.principal.sub)),
                quotes::decided_at.eq(Some(caller.now)),
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                action: "quote.accepted",
                subject_type: "quote",
                subject_id: Some(quote_id),
                before: Some(serde_json::json!({"status": "sent"})),
                after: Some(serde_json::json!({"status": "accepted", "order_id": order_id})),
                reason: None,
            },
        )
        .await?;
        Ok(CheckoutOutcome {
            status: 201,
            body,
            replayed: false,
        })
    })
    .await
}

/// The contact rejects (with a reason) or the representative withdraws a sent quote.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    quote_id: Uuid,
    withdraw: bool,
    reason: Option<String>,
) -> ApiResult<Quote> {
    let reason = clean(reason.as_ref(), "reason", 1000)?;
    if !withdraw && reason.is_none() {
        return Err(ApiError::invalid_field(
            "reason",
            "tell the representative why the quote is rejected",
        ));
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        account_in_reach_for_update(conn, caller, account_id).await?;
        let allowed = if withdraw {
            matches!(caller.principal.role, Role::Representative | Role::Admin)
        } else {
            matches!(caller.principal.role, Role::CorporateContact | Role::Admin)
        };
        if !allowed {
            return Err(ApiError::forbidden(if withdraw {
                "Only the representative withdraws a quote."
            } else {
                "The customer rejects its quotes; a representative can withdraw one."
            }));
        }
        let quote = quote_for_update(conn, account_id, quote_id).await?;
        ensure_open(&quote, state.clock.today())?;
        let status = if withdraw { "withdrawn" } else { "rejected" };
        let decided: Quote = diesel::update(quotes::table.find(quote_id))
            .set((
                quotes::status.eq(status),
                quotes::decided_by.eq(Some(&caller.principal.sub)),
                quotes::decision_reason.eq(reason.as_deref()),
                quotes::decided_at.eq(Some(caller.now)),
            ))
            .returning(Quote::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                action: if withdraw {
                    "quote.withdrawn"
                } else {
                    "quote.rejected"
                },
                subject_type: "quote",
                subject_id: Some(quote_id),
                before: Some(serde_json::json!({"status": "sent"})),
                after: Some(serde_json::json!({"status": status})),
                reason: reason.as_deref(),
            },
        )
        .await?;
        Ok(decided)
    })
    .await
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
    let current = if status_of(&quote, state.clock.today()) == QuoteStatus::Sent {
        // A quote that no longer fits shows no current summary; accepting it says why.
        match reprice(&Engine::of(state), &mut conn, &account, &quote, false).await {
            Ok(current) => Some(current),
            Err(refused) if refused.code.status().is_client_error() => None,
            Err(other) => return Err(other),
        }
    } else {
        None
    };
    Ok((quote, current))
}
