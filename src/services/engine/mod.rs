//! The order engine: every change of money — a checkout, an accepted quote, and next a
//! renewal, an immediate cancellation credit, a dunning retry — runs through the same steps,
//! each a module with one job. The steps never call one another: the functions of this
//! module run them in order, each step taking the previous one's output.
//!
//! ```text
//!  price ──► record ──► settle ──► apply ──► complete ──► invoice ──► events
//!  price.rs  record.rs  settle.rs  apply.rs  complete.rs  invoice.rs  events.rs
//!  (pure     pending    card charge subscrip- order done,  the gapless  audit trail
//!   rules)   order,key  (outside a  tions     cart closed, number and
//!            and holds  transaction changed   response     its invoice
//!                       ) or terms            stored
//! ```
//!
//! A caller (checkout, quote acceptance) chooses the inputs — what is priced, who places
//! it, where it comes from — and calls [`place`] in its transaction; a card order then goes
//! through [`charge_and_finalise`]. `recovery.rs` settles what a fault left pending.

pub mod apply;
pub mod complete;
pub mod events;
pub mod invoice;
pub mod price;
pub mod record;
pub mod recovery;
pub mod settle;

use std::sync::Arc;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::AppState;
use crate::clock::Clock;
use crate::db::DbPool;
use crate::db::models::{Account, Order};
use crate::domain::catalog::Catalog;
use crate::domain::money::Currency;
pub use crate::domain::order::Settlement;
use crate::domain::order::{ItemKind, OrderStatus};
use crate::domain::period::Period;
use crate::domain::proration::Totals;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::payments::{ChargeError, PaymentGateway};
use crate::services::Caller;
use crate::services::checkout_summary::LineView;
use crate::services::orders::ItemWithChildren;
use crate::services::rules::ItemTarget;

/// What the engine needs from the application, and nothing more.
#[derive(Clone)]
pub struct Engine {
    pub pool: DbPool,
    pub catalog: Arc<Catalog>,
    pub clock: Arc<dyn Clock>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub seller_country: String,
    pub metrics: Arc<Metrics>,
    /// Dunning's retry days (SPEC §13, `DUNNING_RETRY_DAYS`).
    pub retry_days: Arc<[i64]>,
}

impl Engine {
    pub fn of(state: &AppState) -> Engine {
        Engine {
            pool: state.pool.clone(),
            catalog: state.catalog.get(),
            clock: state.clock.clone(),
            gateway: state.gateway.clone(),
            seller_country: state.seller_country.clone(),
            metrics: state.metrics.clone(),
            retry_days: state.dunning_retry_days.clone(),
        }
    }

    /// The engine for one request: its clock fixed at the request's "now", so every step
    /// of the order (and its events) carries the same instant the request's rules used.
    pub fn for_request(state: &AppState, caller: &Caller) -> Engine {
        Engine::of(state).at(caller.now)
    }

    /// The engine as of an instant: a renewal due on 2027-03-31 is priced, invoiced and
    /// recorded at 00:00 UTC that day, however late its job runs.
    pub fn at(&self, now: chrono::DateTime<chrono::Utc>) -> Engine {
        Engine {
            clock: Arc::new(crate::clock::FixedClock::new(now)),
            ..self.clone()
        }
    }
}

/// Where an order comes from.
#[derive(Debug, Clone, Copy)]
pub enum OrderSource {
    Cart(Uuid),
    Quote(Uuid),
    /// The next period of this subscription (SPEC §13), placed by the renewal job.
    Renewal(Uuid),
    /// This subscription ended at once, its unused time credited (SPEC §13).
    Cancellation(Uuid),
}

/// One item of an order about to be recorded.
pub struct DraftItem {
    pub kind: ItemKind,
    pub target: ItemTarget,
    pub period: Period,
    pub unit_price: Decimal,
    pub plan_price: Decimal,
    pub proration_credit: Decimal,
    pub lines: Vec<(String, Decimal)>,
    /// The licences of the subscription it acts on now, when it has one.
    pub current: Option<(Uuid, i32)>,
}

impl DraftItem {
    /// An item acting on an existing subscription as it is (a renewal of it, its
    /// cancellation), priced by a quote of one item.
    pub fn for_subscription(
        kind: ItemKind,
        item_id: Uuid,
        subscription: &crate::db::models::Subscription,
        quoted: &crate::domain::quote::QuotedItem,
    ) -> DraftItem {
        DraftItem {
            kind,
            target: ItemTarget {
                item_id,
                subscribe: false,
                product_id: subscription.product_id,
                subscription_id: Some(subscription.id),
                plan_id: subscription.plan_id,
                frequency: subscription.billing_frequency,
                quantity: subscription.quantity,
            },
            period: quoted.period,
            unit_price: quoted.unit_price,
            plan_price: quoted.plan_price,
            proration_credit: quoted.proration_credit,
            lines: quoted
                .lines
                .iter()
                .map(|l| (l.description.clone(), l.amount))
                .collect(),
            current: Some((subscription.id, subscription.quantity)),
        }
    }
}

/// An order about to be recorded: what it charges, item by item, and where it comes from.
pub struct OrderDraft {
    pub source: OrderSource,
    pub currency: Currency,
    /// The day the rules and prices were agreed on; the new periods start on it.
    pub quote_date: NaiveDate,
    pub totals: Totals,
    pub items: Vec<DraftItem>,
}

/// Who places the order and on what terms: facts recorded with it, which settling it later
/// relies on instead of the placer's reach at that time.
pub struct Placement {
    pub idempotency_key: String,
    /// What the key's request asked for (SPEC §5: body, not headers).
    pub fingerprint: String,
    pub po_number: Option<String>,
    pub reason: Option<String>,
    /// Held to the rules of an assisting role (may downgrade): the placer's own role, or
    /// the representative who made the quote being accepted.
    pub assisting: bool,
}

/// What [`place`] leaves: a completed order (its response) or one that awaits its charge.
pub enum Placed {
    Completed {
        order_id: Uuid,
        invoice_id: Uuid,
        body: serde_json::Value,
        /// The invoice's lines (its events show them; collecting it at once needs no
        /// second read).
        invoice_lines: Vec<LineView>,
    },
    /// A card order recorded, with its items (none when resumed from the database).
    AwaitingCharge(Box<Order>, Option<Vec<ItemWithChildren>>),
}

/// Records a priced order in the caller's transaction and, when nothing is charged by card
/// (invoice terms, or nothing due), settles and applies it in the same transaction.
pub async fn place(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    draft: &OrderDraft,
    placement: Placement,
) -> ApiResult<Placed> {
    let settlement = match draft.source {
        OrderSource::Renewal(_) | OrderSource::Cancellation(_) => {
            settle::renewal_settlement(draft.totals.total_due)
        }
        OrderSource::Cart(_) | OrderSource::Quote(_) => {
            settle::settlement_for(account, draft.totals.total_due)?
        }
    };
    let now = engine.clock.now();
    let (order, items) =
        record::record(conn, caller, account, draft, &placement, settlement, now).await?;
    if settlement == Settlement::Card {
        return Ok(Placed::AwaitingCharge(Box::new(order), Some(items)));
    }
    let order_id = order.id;
    finalise(
        engine,
        conn,
        caller,
        account,
        (order, Some(items)),
        None,
        placement.assisting,
    )
    .await
    .map(|(body, invoice_id, invoice_lines)| Placed::Completed {
        order_id,
        invoice_id,
        body,
        invoice_lines,
    })
}

/// Applies a recorded order that is paid for (or needs no card): apply → complete →
/// invoice → events, in the caller's transaction.
async fn finalise(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    (order, items): (Order, Option<Vec<ItemWithChildren>>),
    charge_id: Option<&str>,
    assisting: bool,
) -> ApiResult<(serde_json::Value, Uuid, Vec<LineView>)> {
    let applied = apply::apply(engine, conn, account, &order, items, assisting).await?;
    let completed = complete::complete(engine, conn, order, charge_id).await?;
    let invoice = invoice::issue(engine, conn, account, &completed).await?;
    let (body, lines) =
        complete::respond(engine, conn, &completed, invoice.id, applied.items).await?;
    let invoice_id = invoice.id;
    events::order_placed(
        conn,
        caller,
        &completed,
        &applied.changes,
        events::Documents {
            catalog: &engine.catalog,
            account_kind: account.kind,
            order: &body,
            invoice,
            lines: lines.clone(),
        },
    )
    .await?;
    Ok((body, invoice_id, lines))
}

/// Whether the order's placer acted on the customer's behalf (may downgrade): a fact of the
/// order, recorded with it.
fn placed_assisting(order: &Order) -> ApiResult<bool> {
    Ok(order.placed_by_role.is_assisting())
}

enum Settled {
    Done(serde_json::Value),
    Refused(ApiError),
}

/// Charges a recorded card order (outside any transaction) and finalises it. Settling acts
/// on the order's own facts: reach and role were checked when it was recorded, so a placer
/// who lost reach since (the account changed kind) cannot leave a paid order pending. A
/// rule broken since voids the order before it is refunded; a fault gives the lease back.
pub async fn charge_and_finalise(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    order: Order,
    items: Option<Vec<ItemWithChildren>>,
) -> ApiResult<serde_json::Value> {
    if order.status == OrderStatus::Completed {
        return complete::stored_response(conn, &order).await;
    }
    let assisting = placed_assisting(&order)?;
    let charge = settle::charge(engine, &order).await?;
    let order_id = order.id;
    let settled = conn
        .transaction(async |conn| {
            let (order, account) = record::lock_order_and_account(conn, order_id).await?;
            if order.status == OrderStatus::Completed {
                return complete::stored_response(conn, &order)
                    .await
                    .map(Settled::Done);
            }
            match &charge {
                Err(ChargeError::Declined { reason }) => {
                    settle::abandon(engine, conn, caller, &order, reason).await?;
                    Ok(Settled::Refused(settle::declined(reason)))
                }
                Err(ChargeError::Unavailable(why)) => {
                    settle::gateway_unavailable(conn, &order, why)
                        .await
                        .map(Settled::Refused)
                }
                // A rule broken since the order was recorded rolls this transaction back
                // whole; the order is then voided and refunded below.
                Ok(charge) => finalise(
                    engine,
                    conn,
                    caller,
                    &account,
                    (order, items),
                    Some(&charge.charge_id),
                    assisting,
                )
                .await
                .map(|(body, _, _)| body)
                .map(Settled::Done),
            }
        })
        .await;
    match (settled, charge) {
        (Ok(Settled::Done(body)), _) => Ok(body),
        (Ok(Settled::Refused(error)), _) => Err(error),
        (Err(broken), Ok(charge)) if broken.code.status().is_client_error() => {
            settle::void_and_refund(engine, conn, caller, &order, &charge.charge_id, &broken)
                .await?;
            Err(broken)
        }
        (Err(fault), _) => {
            settle::release_after_fault(engine, &order).await;
            Err(fault)
        }
    }
}
