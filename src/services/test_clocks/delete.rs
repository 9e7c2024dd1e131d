//! Deleting a test clock deletes its accounts and everything they hold (SPEC §15): the
//! clock's world goes away as a whole, in one transaction.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::event::EventType;

use crate::AppState;
use crate::db::schema::jobs;
use crate::domain::job::{JobKind, JobStatus, TestClockStatus};
use crate::error::ApiResult;
use crate::services::Caller;

use super::{advancing, authorize, lock};

/// Each table that holds account data, children before parents (the foreign keys say the
/// order); `$1` is the clock. Jobs of the clock go with it (`ON DELETE CASCADE`).
const DELETES: [&str; 15] = [
    "DELETE FROM license_assignments WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM invoice_payments WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM invoices WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM orders WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM carts WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM quotes WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM purchase_orders WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM jobs WHERE subject_id IN (SELECT s.id FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE a.test_clock_id = $1)",
    "DELETE FROM subscriptions WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM users WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM events WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM idempotency_keys WHERE account_id IN (SELECT id FROM accounts WHERE test_clock_id = $1)",
    "DELETE FROM accounts WHERE test_clock_id = $1",
    "DELETE FROM jobs WHERE kind = 'advance_test_clock' AND subject_id = $1",
    "DELETE FROM test_clocks WHERE id = $1",
];

/// Deletes the clock with its accounts' data; 409 while it advances (its jobs are acting on
/// that data).
pub async fn delete(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<()> {
    authorize(state, caller)?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let clock = lock(conn, id).await?;
        // While its advance runs, its jobs act on the data; an advance whose job was parked
        // as failed (see `GET /v1/jobs`) no longer does, and its clock may go.
        if clock.status == TestClockStatus::Advancing && advance_in_flight(conn, id).await? {
            return Err(advancing());
        }
        for statement in DELETES {
            diesel::sql_query(statement)
                .bind::<SqlUuid, _>(id)
                .execute(conn)
                .await?;
        }
        super::event(conn, caller, EventType::TestClockDeleted, None, &clock).await
    })
    .await
}

async fn advance_in_flight(conn: &mut AsyncPgConnection, clock_id: Uuid) -> ApiResult<bool> {
    let pending: i64 = jobs::table
        .filter(jobs::kind.eq(JobKind::AdvanceTestClock))
        .filter(jobs::subject_id.eq(clock_id))
        .filter(jobs::status.eq_any([JobStatus::Due, JobStatus::Running]))
        .count()
        .get_result(conn)
        .await?;
    Ok(pending > 0)
}
