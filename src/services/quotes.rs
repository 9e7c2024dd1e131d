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
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, Quote};
use crate::db::schema::{cart_items, carts, quotes};
use crate::domain::account::AccountKind;
use crate::domain::period::{BillingFrequency, Period};
use crate::domain::plan_change::Actor;
use crate::domain::proration::Totals;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::http::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update, account_kind};
use crate::services::audit::{self, Event};
use crate::services::cart::{current_cart, items_of, subscription_for_product};
use crate::services::checkout::{
    CheckoutOutcome, DraftItem, OrderDraft, OrderSource, clean, finalise, insert_pending_order,
    next_number, settlement_for,
};
use crate::services::idempotency::{self, KeyState};
use crate::services::purchase_orders;
use crate::services::quote::{LineView, cart_empty, price_cart};
use crate::services::rules::{self, ItemTarget};

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
    }
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
        let cart = current_cart(conn, account_id).await?.ok_or_else(cart_empty)?;
        if cart.status != "open" {
            return Err(ApiError::new(ErrorCode::Conflict, "An order is being placed from this cart."));
        }
        let items = items_of(conn, cart.id).await?;
        let priced = price_cart(state, conn, caller, &account, &cart, &items, true).await?;
        let mut frozen = Vec::with_capacity(items.len());
        for ((target, quoted), item_view) in priced.targets.iter().zip(&priced.quote.items).zip(&priced.view.items) {
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
                created_at: Utc::now(),
            })
            .returning(Quote::as_returning())
            .get_result(conn)
            .await?;
        // The cart became the quote: start the next one empty.
        diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart.id))).execute(conn).await?;
        diesel::update(carts::table.find(cart.id))
            .set((carts::version.eq(carts::version + 1), carts::updated_at.eq(diesel::dsl::now)))
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

fn totals_of(summary: &serde_json::Value) -> ApiResult<Totals> {
    let money = |key: &str| -> ApiResult<Decimal> {
        summary[key]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| internal_error("quote summary field", &key))
    };
    Ok(Totals {
        subtotal: money("subtotal")?,
        tax_rate: money("tax_rate")?,
        tax: money("tax")?,
        reverse_charge: summary["reverse_charge"].as_bool().unwrap_or(false),
        credit_applied: money("credit_applied")?,
        credit_created: money("credit_created")?,
        total_due: money("total_due")?,
    })
}

/// Checks a sent quote against the account as it is now and drafts its order.
async fn draft_from_quote(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    account: &Account,
    quote: &Quote,
) -> ApiResult<OrderDraft> {
    let frozen: Vec<FrozenItem> = serde_json::from_value(quote.items.clone())
        .map_err(|e| internal_error("stored quote items", &e))?;
    let catalog = state.catalog.get();
    let today = state.clock.today();
    let currency = rules::currency(account)?;
    // The quote was made by a representative: its items are held to the representative's rules.
    let actor = Actor {
        assisting: true,
        account_kind: account_kind(account)?,
    };
    let mut items = Vec::with_capacity(frozen.len());
    for item in frozen {
        let current = subscription_for_product(conn, account.id, item.product_id, true).await?;
        if item.subscription_version.is_some()
            && current.as_ref().map(|s| s.version) != item.subscription_version
        {
            return Err(stale(
                quote,
                "a subscription changed since the quote was made.",
            ));
        }
        let target = ItemTarget {
            item_id: Uuid::now_v7(),
            subscribe: item.kind == "subscribe",
            product_id: item.product_id,
            subscription_id: item.subscription_id,
            plan_id: item.plan_id,
            frequency: item.billing_frequency,
            quantity: item.quantity,
        };
        if let Err(broken) =
            rules::check_and_price(&catalog, actor, currency, today, &target, current.as_ref())
        {
            return Err(stale(quote, &broken.detail)
                .with_extension("cause", serde_json::json!(broken.code.as_str())));
        }
        items.push(DraftItem {
            kind: item.kind,
            target,
            // The new period starts the day the quote is accepted, at the quoted amounts.
            period: Period::starting(today, item.billing_frequency),
            unit_price: item.unit_price,
            plan_price: item.plan_price,
            proration_credit: item.proration_credit,
            lines: item
                .lines
                .into_iter()
                .map(|l| (l.description, l.amount))
                .collect(),
        });
    }
    let totals = totals_of(&quote.summary)?;
    if totals.credit_applied > account.credit_balance {
        return Err(stale(
            quote,
            "the account's credit balance no longer covers the credit it applies.",
        ));
    }
    Ok(OrderDraft {
        source: OrderSource::Quote(quote.id),
        currency: quote.currency.clone(),
        quote_date: today,
        totals,
        items,
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
    input: AcceptQuote,
) -> ApiResult<CheckoutOutcome> {
    let key = idempotency::validate_key(idempotency_key)?;
    let fingerprint = idempotency::fingerprint(&AcceptRequest {
        quote_id,
        body: &input,
    });
    let mut conn = state.pool.get().await?;
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
        let draft = draft_from_quote(state, conn, &account, &quote).await?;
        purchase_orders::check_po(
            conn,
            &account,
            po_number.as_deref(),
            draft.totals.total_due,
            draft.quote_date,
        )
        .await?;
        let settlement = settlement_for(&account, draft.totals.total_due)?;
        let reason = Some(format!("Quote {} accepted", quote.number));
        let order = insert_pending_order(
            conn, caller, &account, &draft, &key, settlement, po_number, reason,
        )
        .await?;
        idempotency::claim(conn, account_id, &key, &fingerprint, order.id, now).await?;
        let order_id = order.id;
        let body = finalise(state, conn, caller, &account, order, None, true).await?;
        diesel::update(quotes::table.find(quote_id))
            .set((
                quotes::status.eq("accepted"),
                quotes::order_id.eq(Some(order_id)),
                quotes::decided_by.eq(Some(&caller.principal.sub)),
                quotes::decided_at.eq(Some(Utc::now())),
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
                quotes::decided_at.eq(Some(Utc::now())),
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
) -> ApiResult<Quote> {
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    quotes::table
        .filter(quotes::account_id.eq(account_id))
        .filter(quotes::id.eq(quote_id))
        .select(Quote::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}
