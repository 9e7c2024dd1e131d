//! `POST /v1/accounts/{account_id}/invoices/{invoice_id}/pay` (SPEC §13): charge the card on
//! file for an open invoice now. Any role in reach; `Idempotency-Key` required. The charge
//! is one collection attempt (`collection.rs`), keyed by invoice and attempt, so a retry of
//! the request, or a dunning retry racing it, charges once.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::db::models::Invoice;
use crate::db::schema::invoices;
use crate::domain::order::InvoiceStatus;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::collection::{self, Collected};
use crate::services::engine::Engine;
use crate::services::engine::settle::declined;
use crate::services::idempotency::{self, KeyState, Outcome};
use crate::services::orders::invoice_view;

pub async fn pay(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    invoice_id: Uuid,
    idempotency_key: Option<&str>,
) -> ApiResult<Outcome> {
    let key = idempotency::validate_key(idempotency_key)?;
    let fingerprint = idempotency::fingerprint(&("pay", invoice_id));
    let mut conn = state.pool.get().await?;
    let replay = conn
        .transaction(async |conn| {
            account_in_reach_for_update(conn, caller, account_id).await?;
            match idempotency::begin(conn, account_id, &key, &fingerprint, caller.now).await? {
                KeyState::Replay(status, body) => {
                    return Ok(Some(Outcome {
                        status,
                        body,
                        replayed: true,
                    }));
                }
                KeyState::Resume(order_id) => {
                    return Err(internal_error("pay key bound to an order", &order_id));
                }
                KeyState::New => {}
            }
            let invoice = load(conn, account_id, invoice_id).await?;
            if invoice.status != InvoiceStatus::Open {
                return Err(not_open(&invoice));
            }
            Ok(None)
        })
        .await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let engine = Engine::for_request(state, caller);
    match collection::collect(&engine, &mut conn, caller, invoice_id, true).await? {
        Collected::Paid => {
            conn.transaction(async |conn| {
                let invoice = load(conn, account_id, invoice_id).await?;
                let body = serde_json::to_value(invoice_view(conn, invoice).await?)
                    .map_err(|e| internal_error("invoice view", &e))?;
                idempotency::store_completed(
                    conn,
                    account_id,
                    &key,
                    &fingerprint,
                    200,
                    &body,
                    caller.now,
                )
                .await?;
                Ok(Outcome {
                    status: 200,
                    body,
                    replayed: false,
                })
            })
            .await
        }
        Collected::Refused { code } => Err(declined(&code)),
        Collected::NotOpen => {
            let invoice = load(&mut conn, account_id, invoice_id).await?;
            Err(not_open(&invoice))
        }
        Collected::Unavailable => Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The payment gateway did not answer; nothing was charged. Retry with the same key.",
        )),
    }
}

async fn load(
    conn: &mut diesel_async::AsyncPgConnection,
    account_id: Uuid,
    invoice_id: Uuid,
) -> ApiResult<Invoice> {
    invoices::table
        .filter(invoices::account_id.eq(account_id))
        .filter(invoices::id.eq(invoice_id))
        .select(Invoice::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

fn not_open(invoice: &Invoice) -> ApiError {
    ApiError::new(
        ErrorCode::InvoiceNotOpen,
        format!(
            "Invoice {} is {}; only an open invoice is paid.",
            invoice.number, invoice.status
        ),
    )
}
