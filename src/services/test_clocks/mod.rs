//! Test clocks (SPEC §15): simulated time for the accounts bound to them. A clock is a row
//! with its `frozen_time`; every rule of its accounts — requests, renewals, trial ends,
//! events — reads that time instead of the real one. Advancing it is a job
//! (`advance.rs`) that steps through every job due on the way, in due order, as real time
//! would have run them.
//!
//! Only an admin uses clocks, and only when `TEST_CLOCKS=enabled`; otherwise every path
//! answers 404 as if it did not exist.

pub mod advance;
mod delete;

use chrono::{DateTime, Months, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::auth::reach::{AccountScope, check_reach};
use crate::db::DbPool;
use crate::db::schema::{accounts, jobs, test_clocks};
use crate::domain::account::AccountKind;
use crate::domain::event::EventType;
use crate::domain::job::{JobKind, JobStatus, TestClockStatus};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::audit::{self, Event, snapshot};

pub use delete::delete;

/// The longest single advance (SPEC §15).
const MAX_ADVANCE: Months = Months::new(24);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = test_clocks, check_for_backend(diesel::pg::Pg))]
pub struct TestClock {
    pub id: Uuid,
    pub name: String,
    pub frozen_time: DateTime<Utc>,
    pub status: TestClockStatus,
    pub advancing_to: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A test clock: the time its accounts live in.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestClockView {
    #[schema(example = "0193a5f0-7c1e-7000-8000-00000000c10c")]
    pub id: Uuid,
    #[schema(example = "Renewals of a yearly plan")]
    pub name: String,
    /// "Now" for every rule of the clock's accounts (RFC 3339, whole seconds).
    #[schema(example = "2027-01-31T00:00:00Z")]
    pub frozen_time: DateTime<Utc>,
    /// `advancing` until every job due up to `advancing_to` has run, then `ready`.
    pub status: TestClockStatus,
    /// The `frozen_time` an advance in progress is heading to; null when `ready`.
    #[schema(example = "2027-04-30T00:00:00Z")]
    pub advancing_to: Option<DateTime<Utc>>,
    /// When the clock was created (real time).
    #[schema(example = "2026-12-03T09:30:00Z")]
    pub created_at: DateTime<Utc>,
}

impl From<TestClock> for TestClockView {
    fn from(clock: TestClock) -> TestClockView {
        TestClockView {
            id: clock.id,
            name: clock.name,
            frozen_time: clock.frozen_time,
            status: clock.status,
            advancing_to: clock.advancing_to,
            created_at: clock.created_at,
        }
    }
}

/// Body of `POST /v1/test-clocks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTestClock {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Renewals of a yearly plan"
    )]
    pub name: String,
    /// Where the clock starts (RFC 3339; fractions of a second are dropped).
    #[schema(example = "2027-01-31T00:00:00Z")]
    pub frozen_time: DateTime<Utc>,
}

/// Body of `POST /v1/test-clocks/{test_clock_id}/advance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceTestClock {
    /// The new time: after the clock's `frozen_time`, at most two years later.
    #[schema(example = "2027-04-30T00:00:00Z")]
    pub frozen_time: DateTime<Utc>,
}

/// Test clocks are off unless `TEST_CLOCKS=enabled`: then their paths do not exist (404),
/// and they are an admin's tool (403 for everyone else).
fn authorize(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if !state.test_clocks {
        return Err(ApiError::not_found());
    }
    if caller.principal.role != Role::Admin {
        return Err(ApiError::forbidden("Only an admin uses test clocks."));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: CreateTestClock,
) -> ApiResult<TestClock> {
    authorize(state, caller)?;
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 200 characters",
        ));
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let clock: TestClock = diesel::insert_into(test_clocks::table)
            .values((
                test_clocks::id.eq(Uuid::now_v7()),
                test_clocks::name.eq(&name),
                test_clocks::frozen_time.eq(input.frozen_time.trunc_subsecs(0)),
                test_clocks::status.eq(TestClockStatus::Ready),
                test_clocks::created_at.eq(caller.now),
                test_clocks::updated_at.eq(caller.now),
            ))
            .returning(TestClock::as_returning())
            .get_result(conn)
            .await?;
        event(conn, caller, EventType::TestClockCreated, None, &clock).await?;
        Ok(clock)
    })
    .await
}

/// A tenant event of a clock (no `account_id`): created, advanced, deleted.
pub(super) async fn event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: EventType,
    before: Option<&TestClock>,
    after: &TestClock,
) -> ApiResult<()> {
    audit::record(
        conn,
        caller,
        Event {
            account_id: None,
            event_type,
            subject_type: "test_clock",
            subject_id: Some(after.id),
            before: before.and_then(|b| snapshot(&TestClockView::from(b.clone()))),
            after: snapshot(&TestClockView::from(after.clone())),
            reason: None,
            notify: None,
        },
    )
    .await
}

pub async fn get(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<TestClock> {
    authorize(state, caller)?;
    let mut conn = state.pool.get().await?;
    test_clocks::table
        .find(id)
        .select(TestClock::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// A page of clocks, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    params: ListParams,
) -> ApiResult<(Vec<TestClock>, i64)> {
    authorize(state, caller)?;
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    let mut query = test_clocks::table
        .select(TestClock::as_select())
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (created_at, id) = test_clocks::table
            .find(cursor)
            .select((test_clocks::created_at, test_clocks::id))
            .first::<(DateTime<Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            test_clocks::created_at
                .lt(created_at)
                .or(test_clocks::created_at
                    .eq(created_at)
                    .and(test_clocks::id.lt(id))),
        );
    }
    let rows = query
        .order((test_clocks::created_at.desc(), test_clocks::id.desc()))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows, limit))
}

/// Starts moving the clock to `frozen_time`: the clock is `advancing` from this answer on,
/// and a job (any worker, any instance) runs everything due on the way, then makes it
/// `ready` at the new time.
pub async fn advance(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: AdvanceTestClock,
) -> ApiResult<TestClock> {
    authorize(state, caller)?;
    let target = input.frozen_time.trunc_subsecs(0);
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let clock = lock(conn, id).await?;
        if clock.status == TestClockStatus::Advancing {
            return Err(advancing());
        }
        check_target(&clock, target)?;
        let before = clock;
        let clock: TestClock = diesel::update(test_clocks::table.find(id))
            .set((
                test_clocks::status.eq(TestClockStatus::Advancing),
                test_clocks::advancing_to.eq(Some(target)),
                test_clocks::updated_at.eq(caller.now),
            ))
            .returning(TestClock::as_returning())
            .get_result(conn)
            .await?;
        diesel::insert_into(jobs::table)
            .values((
                jobs::id.eq(Uuid::now_v7()),
                jobs::kind.eq(JobKind::AdvanceTestClock),
                jobs::dedupe_key.eq(format!(
                    "advance_test_clock:{id}:{}",
                    target.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
                jobs::subject_id.eq(Some(id)),
                jobs::due_at.eq(caller.now),
                jobs::run_at.eq(caller.now),
                jobs::status.eq(JobStatus::Due),
                jobs::created_at.eq(caller.now),
            ))
            .execute(conn)
            .await?;
        event(
            conn,
            caller,
            EventType::TestClockAdvanced,
            Some(&before),
            &clock,
        )
        .await?;
        Ok(clock)
    })
    .await
}

/// Strictly forward, at most two years at once (SPEC §15).
fn check_target(clock: &TestClock, target: DateTime<Utc>) -> ApiResult<()> {
    let message = if target <= clock.frozen_time {
        format!(
            "must be after the clock's frozen_time ({}): a clock only moves forward",
            clock.frozen_time.to_rfc3339()
        )
    } else if clock
        .frozen_time
        .checked_add_months(MAX_ADVANCE)
        .is_some_and(|limit| target > limit)
    {
        format!(
            "must be at most two years after the clock's frozen_time ({}); advance in steps",
            clock.frozen_time.to_rfc3339()
        )
    } else {
        return Ok(());
    };
    Err(ApiError::validation(vec![FieldError {
        field: "frozen_time".into(),
        message,
    }]))
}

async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<TestClock> {
    test_clocks::table
        .find(id)
        .select(TestClock::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub fn advancing() -> ApiError {
    ApiError::new(
        ErrorCode::TestClockAdvancing,
        "The account's test clock is advancing; retry when its status is `ready`.",
    )
}

/// The time an account lives in when it is bound to a test clock: the clock's
/// `frozen_time`, or 409 `test-clock-advancing` while the clock moves — for a caller who
/// reaches the account; anyone else learns nothing here (the request's own reach check
/// answers). `None` for an account in real time, or no such account.
pub async fn time_of_account(
    pool: &DbPool,
    principal: &crate::auth::Principal,
    account_id: Uuid,
) -> ApiResult<Option<DateTime<Utc>>> {
    let mut conn = pool.get().await?;
    let clock: Option<(AccountKind, Option<String>, DateTime<Utc>, TestClockStatus)> =
        accounts::table
            .inner_join(test_clocks::table)
            .filter(accounts::id.eq(account_id))
            .select((
                accounts::kind,
                accounts::representative_id,
                test_clocks::frozen_time,
                test_clocks::status,
            ))
            .first(&mut conn)
            .await
            .optional()?;
    let Some((kind, representative_id, frozen_time, status)) = clock else {
        return Ok(None);
    };
    let scope = AccountScope {
        id: account_id,
        kind,
        representative_id: representative_id.as_deref(),
    };
    if check_reach(principal, &scope).is_err() {
        return Ok(None);
    }
    match status {
        TestClockStatus::Advancing => Err(advancing()),
        TestClockStatus::Ready => Ok(Some(frozen_time)),
    }
}

/// The time of the clock an account is being created on, locked against an advance
/// starting meanwhile: 404 for an unknown clock, 409 while it advances.
pub async fn time_for_new_account(
    conn: &mut AsyncPgConnection,
    clock_id: Uuid,
) -> ApiResult<DateTime<Utc>> {
    let clock = test_clocks::table
        .find(clock_id)
        .select(TestClock::as_select())
        .for_share()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::invalid_field("test_clock_id", "is not a test clock"))?;
    if clock.status == TestClockStatus::Advancing {
        return Err(advancing());
    }
    Ok(clock.frozen_time)
}
