//! The customer's answer to a quote (accept, reject) and the representative's withdrawal.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Quote, Subscription};
use crate::db::schema::{quotes, subscriptions};
use crate::domain::event::EventType;
use crate::domain::order::QuoteStatus;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, snapshot};
use crate::services::checkout::CheckoutOutcome;
use crate::services::engine::price::Requirement;
use crate::services::engine::{self, Engine, Placed, Placement};
use crate::services::idempotency::{self, KeyState};
use crate::services::input::clean;
use crate::services::{cancellation, change_requests, purchase_orders};

use super::{
    AcceptQuote, FrozenCancellation, ensure_open, money_etag, quote_for_update, reprice, stale,
    view,
};

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
    let engine = Engine::for_request(state, caller);
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        let now = caller.now;
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
        ensure_open(&quote, caller.today())?;
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
        // The cancellations it carries: their subscriptions as they were when it was made.
        let cancellations: Vec<FrozenCancellation> =
            serde_json::from_value(quote.cancellations.clone())
                .map_err(|e| internal_error("stored quote cancellations", &e))?;
        let mut ending = Vec::with_capacity(cancellations.len());
        for cancellation in &cancellations {
            let subscription: Option<Subscription> = subscriptions::table
                .filter(subscriptions::account_id.eq(account_id))
                .filter(subscriptions::id.eq(cancellation.subscription_id))
                .select(Subscription::as_select())
                .for_no_key_update()
                .first(conn)
                .await
                .optional()?;
            match subscription {
                Some(s) if s.version == cancellation.subscription_version => {
                    ending.push((s, cancellation.at_period_end));
                }
                _ => {
                    return Err(stale(
                        &quote,
                        "a subscription to cancel changed since the quote was made.",
                    ));
                }
            }
        }
        let reason = format!("Quote {} accepted", quote.number);
        let placed = match repriced.draft {
            None => None,
            Some(draft) => {
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
                        reason: Some(reason.clone()),
                        // The quote was made by the representative: held to the
                        // representative's rules.
                        assisting: true,
                    },
                )
                .await?;
                let Placed::Completed { order_id, body, .. } = placed else {
                    return Err(internal_error("quote order awaiting a card charge", &quote_id));
                };
                Some((order_id, body))
            }
        };
        for (subscription, at_period_end) in ending {
            cancellation::carry_out(
                &engine,
                conn,
                caller,
                &account,
                subscription,
                at_period_end,
                Some(reason.clone()),
            )
            .await?;
        }
        let accepted: Quote = diesel::update(quotes::table.find(quote_id))
            .set((
                quotes::status.eq(QuoteStatus::Accepted),
                quotes::order_id.eq(placed.as_ref().map(|(order_id, _)| *order_id)),
                quotes::decided_by.eq(Some(&caller.principal.sub)),
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
                event_type: EventType::QuoteAccepted,
                subject_type: "quote",
                subject_id: Some(quote_id),
                before: snapshot(&view(quote.clone(), caller.today())),
                after: snapshot(&view(accepted.clone(), caller.today())),
                reason: None,
                notify: None,
            },
        )
        .await?;
        if let Some(request_id) = quote.change_request_id {
            change_requests::complete(conn, caller, request_id).await?;
        }
        match placed {
            Some((_, body)) => Ok(CheckoutOutcome {
                status: 201,
                body,
                replayed: false,
            }),
            // Cancellations only: no order; the answer is the accepted quote, kept for the key.
            None => {
                let body = serde_json::to_value(view(accepted, caller.today()))
                    .map_err(|e| internal_error("quote view", &e))?;
                idempotency::store_completed(conn, account_id, &key, &fingerprint, 200, &body, now)
                    .await?;
                Ok(CheckoutOutcome {
                    status: 200,
                    body,
                    replayed: false,
                })
            }
        }
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
        ensure_open(&quote, caller.today())?;
        let status = if withdraw {
            QuoteStatus::Withdrawn
        } else {
            QuoteStatus::Rejected
        };
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
                event_type: if withdraw {
                    EventType::QuoteWithdrawn
                } else {
                    EventType::QuoteRejected
                },
                subject_type: "quote",
                subject_id: Some(quote_id),
                before: snapshot(&view(quote, caller.today())),
                after: snapshot(&view(decided.clone(), caller.today())),
                reason: reason.as_deref(),
                notify: None,
            },
        )
        .await?;
        Ok(decided)
    })
    .await
}
