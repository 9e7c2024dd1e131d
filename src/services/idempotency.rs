//! Idempotency keys, as SPEC §5 sets them out: a key is scoped to the account; its
//! fingerprint covers the request body (and the resource it acts on), not the headers; once
//! the request completed, the stored response is returned before any other check; a key whose
//! request is still at work answers 409; 4xx outcomes are not stored, so the key can be
//! retried once the problem is fixed.
//!
//! Requests that place orders (checkout, quote acceptance) may stop half-way (a card charge
//! between two transactions): they `claim` the key with a lease and `complete` it later.
//! Requests that finish in one transaction keep no lease: recording a payment stores its
//! response with `store_completed` under the account's key; creating an account, which has
//! no account to scope the key to yet, uses a key scoped to the caller (`begin_for_caller`,
//! `complete_for_caller`).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::models::IdempotencyKey;
use crate::db::schema::{caller_idempotency_keys, idempotency_keys};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};

/// How long a request may work on a key before another may take it over.
pub const LEASE_SECONDS: i64 = 60;

/// What an incoming key means for the request.
pub enum KeyState {
    /// First use: go ahead and `claim` it with the order.
    New,
    /// The order completed: send this response again.
    Replay(u16, serde_json::Value),
    /// An earlier attempt stopped half-way (crash, gateway outage): finish this order.
    Resume(Uuid),
}

/// The response to an idempotent request: sent now, or the stored one sent again.
pub struct Outcome {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

pub fn validate_key(key: Option<&str>) -> ApiResult<String> {
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::IdempotencyKeyRequired,
                "Send an `Idempotency-Key` header (e.g. a UUID) so that a retry cannot act twice.",
            )
        })?;
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyRequired,
            "The Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ));
    }
    Ok(key.to_owned())
}

/// A canonical hash of what the request asks for.
pub fn fingerprint(request: &impl Serialize) -> String {
    let canonical = serde_json::to_value(request)
        .unwrap_or_default()
        .to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Looks the key up (locking it) and says what to do. Call with the account row locked.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> ApiResult<KeyState> {
    let existing: Option<IdempotencyKey> = idempotency_keys::table
        .find((account_id, key))
        .select(IdempotencyKey::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(existing) = existing else {
        return Ok(KeyState::New);
    };
    if existing.fingerprint != fingerprint {
        return Err(reused());
    }
    if let (Some(status), Some(body)) = (existing.response_status, existing.response_body) {
        return Ok(KeyState::Replay(u16::try_from(status).unwrap_or(201), body));
    }
    if existing.locked_until.is_some_and(|until| until > now) {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyInUse,
            "A request with this Idempotency-Key is being processed; retry shortly.",
        )
        .with_header(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("2"),
        ));
    }
    let order_id = existing
        .order_id
        .ok_or_else(|| internal_error("idempotency key without order", &key))?;
    diesel::update(idempotency_keys::table.find((account_id, key)))
        .set(idempotency_keys::locked_until.eq(now + Duration::seconds(LEASE_SECONDS)))
        .execute(conn)
        .await?;
    Ok(KeyState::Resume(order_id))
}

/// Binds a new key to the order being placed, with a lease.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
    fingerprint: &str,
    order_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::order_id.eq(order_id),
            idempotency_keys::locked_until.eq(now + Duration::seconds(LEASE_SECONDS)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a new key with the response of a request that completed in this transaction (the
/// account row locked, so a concurrent duplicate waits and then finds the response).
pub async fn store_completed(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
    fingerprint: &str,
    status: u16,
    body: &serde_json::Value,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::response_status.eq(Some(i32::from(status))),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::completed_at.eq(Some(now)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes a key scoped to the caller for a request that completes in this transaction, or
/// says which stored response to send again. The key row is inserted first: a concurrent
/// request with the same key waits on it until this transaction ends, then finds the stored
/// response (or, after a rollback, the key free).
pub async fn begin_for_caller(
    conn: &mut AsyncPgConnection,
    caller_sub: &str,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<(u16, serde_json::Value)>> {
    let inserted = diesel::insert_into(caller_idempotency_keys::table)
        .values((
            caller_idempotency_keys::caller_sub.eq(caller_sub),
            caller_idempotency_keys::key.eq(key),
            caller_idempotency_keys::fingerprint.eq(fingerprint),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let (stored, status, body): (String, Option<i32>, Option<serde_json::Value>) =
        caller_idempotency_keys::table
            .find((caller_sub, key))
            .select((
                caller_idempotency_keys::fingerprint,
                caller_idempotency_keys::response_status,
                caller_idempotency_keys::response_body,
            ))
            .first(conn)
            .await?;
    if stored != fingerprint {
        return Err(reused());
    }
    match (status, body) {
        (Some(status), Some(body)) => Ok(Some((u16::try_from(status).unwrap_or(201), body))),
        _ => Err(internal_error(
            "caller idempotency key without response",
            &key,
        )),
    }
}

/// Stores the response of a request that took a caller-scoped key.
pub async fn complete_for_caller(
    conn: &mut AsyncPgConnection,
    caller_sub: &str,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> ApiResult<()> {
    diesel::update(caller_idempotency_keys::table.find((caller_sub, key)))
        .set((
            caller_idempotency_keys::response_status.eq(Some(i32::from(status))),
            caller_idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

fn reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "This Idempotency-Key was used with another request; use a new key for a new request.",
    )
}

/// Stores the response of the completed order under its key.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
    status: u16,
    body: &serde_json::Value,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    diesel::update(idempotency_keys::table.find((account_id, key)))
        .set((
            idempotency_keys::response_status.eq(Some(i32::from(status))),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::completed_at.eq(Some(now)),
            idempotency_keys::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends the lease early: nothing is in flight, the same key may resume at once.
pub async fn release(conn: &mut AsyncPgConnection, account_id: Uuid, key: &str) -> ApiResult<()> {
    diesel::update(idempotency_keys::table.find((account_id, key)))
        .set(idempotency_keys::locked_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the key: the request ended in a 4xx that the client may fix and retry.
pub async fn forget(conn: &mut AsyncPgConnection, account_id: Uuid, key: &str) -> ApiResult<()> {
    diesel::delete(idempotency_keys::table.find((account_id, key)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored response of a completed order.
pub async fn stored_response(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
) -> ApiResult<serde_json::Value> {
    let body: Option<serde_json::Value> = idempotency_keys::table
        .find((account_id, key))
        .select(idempotency_keys::response_body)
        .first(conn)
        .await?;
    body.ok_or_else(|| internal_error("completed order without stored response", &key))
}
