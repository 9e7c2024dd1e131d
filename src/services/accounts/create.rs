//! Creating an account, at most once per idempotency key.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, NewAccount};
use crate::db::schema::accounts;
use crate::domain::event::EventType;
use crate::error::{ApiError, ApiResult};
use crate::services::Caller;
use crate::services::audit::{self, Event};
use crate::services::idempotency::{self, Outcome};
use crate::services::test_clocks;

use super::{AccountData, CreateAccount, validate};

/// Creates an account and answers with `render(account)` (201). With an `Idempotency-Key`
/// (scoped to the caller's `sub`: there is no account yet) the same request sent again gets
/// the stored answer instead of a second account; the same key with another body is 422.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    idempotency_key: Option<&str>,
    input: CreateAccount,
    render: impl Fn(&Account) -> ApiResult<serde_json::Value> + Sync,
) -> ApiResult<Outcome> {
    let key = idempotency_key
        .map(|key| idempotency::validate_key(Some(key)))
        .transpose()?;
    let fingerprint = idempotency::fingerprint(&input);
    if caller.principal.role != Role::Admin {
        return Err(ApiError::forbidden("Only an admin creates accounts."));
    }
    let data = validate(AccountData {
        kind: input.kind,
        name: input.name,
        country: input.country,
        vat_id: input.vat_id,
        contact_name: input.billing_contact.name,
        contact_email: input.billing_contact.email,
        address: input.address.unwrap_or_default(),
        representative_id: input.representative_id,
        representative_email: input.representative_email,
    })?;
    if input.test_clock_id.is_some() && !state.test_clocks {
        return Err(ApiError::invalid_field(
            "test_clock_id",
            "test clocks are not enabled on this server (TEST_CLOCKS=enabled)",
        ));
    }
    let sub = caller.principal.sub.as_str();
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        if let Some(key) = &key
            && let Some((status, body)) =
                idempotency::begin_for_caller(conn, sub, key, &fingerprint).await?
        {
            return Ok(Outcome {
                status,
                body,
                replayed: true,
            });
        }
        // An account on a test clock is born at the clock's time, and its event with it.
        let mut caller = caller.clone();
        if let Some(clock_id) = input.test_clock_id {
            caller.now = test_clocks::time_for_new_account(conn, clock_id).await?;
        }
        let caller = &caller;
        let account: Account = diesel::insert_into(accounts::table)
            .values(NewAccount {
                id: Uuid::now_v7(),
                kind: data.kind,
                name: &data.name,
                country: &data.country,
                currency: input.currency,
                vat_id: data.vat_id.as_deref(),
                billing_contact_name: &data.contact_name,
                billing_contact_email: &data.contact_email,
                address_line1: data.address.line1.as_deref(),
                address_line2: data.address.line2.as_deref(),
                city: data.address.city.as_deref(),
                postal_code: data.address.postal_code.as_deref(),
                region: data.address.region.as_deref(),
                representative_id: data.representative_id.as_deref(),
                representative_email: data.representative_email.as_deref(),
                test_clock_id: input.test_clock_id,
                created_at: caller.now,
                updated_at: caller.now,
            })
            .returning(Account::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account.id),
                event_type: EventType::AccountCreated,
                subject_type: "account",
                subject_id: Some(account.id),
                before: None,
                after: super::view::object(&account),
                reason: None,
                notify: None,
            },
        )
        .await?;
        let body = render(&account)?;
        if let Some(key) = &key {
            idempotency::complete_for_caller(conn, sub, key, 201, &body).await?;
        }
        Ok(Outcome {
            status: 201,
            body,
            replayed: false,
        })
    })
    .await
}
