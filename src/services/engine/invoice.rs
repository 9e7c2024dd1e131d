//! Step 6, **invoice**: every order gets its invoice, numbered in the account's gapless
//! series. A card-paid or zero-total invoice is `paid` on its date; an invoice on terms is
//! `open` until its due date (today + the account's payment terms).

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Engine;
use crate::db::models::{Account, Invoice, Order};
use crate::db::schema::{accounts, invoices};
use crate::domain::account::AccountKind;
use crate::domain::order::{InvoiceStatus, Settlement};
use crate::error::ApiResult;

pub async fn issue(
    engine: &Engine,
    conn: &mut AsyncPgConnection,
    account: &Account,
    order: &Order,
) -> ApiResult<Invoice> {
    let today = engine.clock.today();
    let now = engine.clock.now();
    let on_terms = order.settlement == Settlement::Invoice && order.total_due > Decimal::ZERO;
    // A self-service renewal is due on its date and collected from the card on file.
    let collected_by_card = on_terms
        && order.renews_subscription_id.is_some()
        && account.kind == AccountKind::SelfService;
    let due_on = if on_terms && !collected_by_card {
        today + Duration::days(i64::from(account.payment_terms_days))
    } else {
        today
    };
    // The account row is locked by this transaction already: its own counter makes the
    // series gapless without a lock shared by every account.
    let issued: i32 = diesel::update(accounts::table.find(account.id))
        .set(accounts::invoices_issued.eq(accounts::invoices_issued + 1))
        .returning(accounts::invoices_issued)
        .get_result(conn)
        .await?;
    let invoice = Invoice {
        id: Uuid::now_v7(),
        account_id: account.id,
        order_id: order.id,
        number: format!("INV-{:06}-{issued:04}", account.number),
        status: if on_terms {
            InvoiceStatus::Open
        } else {
            InvoiceStatus::Paid
        },
        currency: order.currency,
        subtotal: order.subtotal,
        tax_rate: order.tax_rate,
        tax: order.tax,
        reverse_charge: order.reverse_charge,
        credit_applied: order.credit_applied,
        credit_created: order.credit_created,
        total_due: order.total_due,
        amount_paid: if on_terms {
            Decimal::ZERO
        } else {
            order.total_due
        },
        issued_on: today,
        due_on,
        po_number: order.po_number.clone(),
        paid_at: (!on_terms).then_some(now),
        created_at: now,
        attempt_count: 0,
        last_payment_error: None,
        collected_by_card,
        charge_id: None,
        first_failed_at: None,
        next_payment_attempt: None,
        dunning_ends_at: None,
    };
    diesel::insert_into(invoices::table)
        .values(&invoice)
        .execute(conn)
        .await?;
    Ok(invoice)
}
