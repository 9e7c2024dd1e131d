//! Loads an account for a caller, or answers as SPEC §2 says: 404 out of reach, 403 for a
//! contact on its own account of the other kind. Every account-scoped use case starts here.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::reach::{AccountScope, check_reach};
use crate::db::models::{Account, Subscription};
use crate::db::schema::{accounts, subscriptions, test_clocks};
use crate::domain::job::TestClockStatus;
use crate::error::{ApiError, ApiResult};
use crate::services::Caller;

/// Reads the account when the caller reaches it.
pub async fn account_in_reach(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
) -> ApiResult<Account> {
    let account = accounts::table
        .find(account_id)
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    ensure_reach(caller, &account)?;
    if let Some(clock_id) = account.test_clock_id {
        still_on_the_clock(conn, caller, clock_id).await?;
    }
    Ok(account)
}

/// Reads and locks the account when the caller reaches it; use inside the transaction that
/// changes it or decides on its data. `FOR NO KEY UPDATE` serialises the account's use cases
/// without blocking the key-share locks that foreign keys to the account take (audit events).
pub async fn account_in_reach_for_update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
) -> ApiResult<Account> {
    let account = accounts::table
        .find(account_id)
        .select(Account::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    ensure_reach(caller, &account)?;
    if let Some(clock_id) = account.test_clock_id {
        still_on_the_clock(conn, caller, clock_id).await?;
    }
    Ok(account)
}

/// Locks the account (the caller must reach it), then one of its subscriptions — the order
/// every use case locks in; 404 for a subscription that is not the account's.
pub async fn subscription_in_reach_for_update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
) -> ApiResult<(Account, Subscription)> {
    let account = account_in_reach_for_update(conn, caller, account_id).await?;
    let subscription = subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::id.eq(subscription_id))
        .select(Subscription::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    Ok((account, subscription))
}

/// A request on an account on a test clock holds the clock in share mode until its
/// transaction ends, and acts only at the time the request read from it: an advance that started (or ran)
/// since makes it 409 `test-clock-advancing`, and an advance waits for the change to
/// commit before it moves the clock.
async fn still_on_the_clock(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    clock_id: Uuid,
) -> ApiResult<()> {
    let (frozen_time, status): (chrono::DateTime<chrono::Utc>, TestClockStatus) =
        test_clocks::table
            .find(clock_id)
            .select((test_clocks::frozen_time, test_clocks::status))
            .for_share()
            .first(conn)
            .await?;
    if status == TestClockStatus::Advancing || frozen_time != caller.now {
        return Err(crate::services::test_clocks::advancing());
    }
    Ok(())
}

/// Reads and locks an account by id alone, for work that acts on facts already authorised:
/// settling an order recorded by a caller who reached the account then.
pub async fn account_for_update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> ApiResult<Account> {
    Ok(accounts::table
        .find(account_id)
        .select(Account::as_select())
        .for_no_key_update()
        .first(conn)
        .await?)
}

fn ensure_reach(caller: &Caller, account: &Account) -> ApiResult<()> {
    let scope = AccountScope {
        id: account.id,
        kind: account.kind,
        representative_id: account.representative_id.as_deref(),
    };
    check_reach(&caller.principal, &scope)
}
