//! Licence assignment (SPEC §7): enabling a product for a user holds one of the
//! subscription's licences. The subscription row is locked for every change, and the
//! database keeps `licenses_assigned` equal to the assignment rows (trigger) and never above
//! the quantity (CHECK), so the cap holds under any concurrency.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{LicenseAssignment, Subscription, User};
use crate::db::schema::{license_assignments, subscriptions, users};
use crate::domain::event::EventType;
use crate::domain::subscription::{SubscriptionStatus, effective_status};
use crate::error::{ApiError, ApiResult, ErrorCode, violated_constraint};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::access::{account_in_reach, subscription_in_reach_for_update};
use crate::services::audit::{self, Event, snapshot};

mod bulk;

pub use bulk::{BulkAction, BulkInput, BulkOperation, BulkOutcome, BulkResponse, BulkResult, bulk};

/// A user who holds a licence of the subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    pub subscription_id: Uuid,
    pub user_id: Uuid,
    #[schema(example = "Grace Hopper")]
    pub name: String,
    #[schema(example = "grace@acme.example")]
    pub email: String,
    pub assigned_at: DateTime<Utc>,
}

/// Locks the account in reach, then its subscription.
async fn lock_subscription(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
) -> ApiResult<Subscription> {
    let (_, subscription) =
        subscription_in_reach_for_update(conn, caller, account_id, subscription_id).await?;
    Ok(subscription)
}

/// Only active subscriptions, and trials while they run, take new assignments.
fn ensure_assignable(caller: &Caller, subscription: &Subscription) -> ApiResult<()> {
    match effective_status(
        subscription.status,
        subscription.trial_ends_on,
        caller.today(),
    ) {
        // Service continues while a renewal is unpaid (SPEC §13).
        SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing => {
            Ok(())
        }
        SubscriptionStatus::TrialExpired => Err(ApiError::new(
            ErrorCode::TrialExpired,
            "The trial has ended: subscribe to the product before assigning licences.",
        )
        .with_extension("actions", serde_json::json!(["subscribe"]))),
        SubscriptionStatus::Canceled => Err(ApiError::new(
            ErrorCode::Conflict,
            "The subscription has ended; its licences cannot be assigned.",
        )),
    }
}

/// How many licences may be assigned now: the quantity, or less while a pending order
/// reduces it (the order was checked against the assignments when it was placed).
fn assignable(subscription: &Subscription) -> i32 {
    subscription
        .quantity_pending
        .map_or(subscription.quantity, |pending| {
            pending.min(subscription.quantity)
        })
}

fn no_licenses(subscription: &Subscription, available: i32) -> ApiError {
    ApiError::new(
        ErrorCode::NoLicensesAvailable,
        match subscription.quantity_pending {
            Some(pending) if pending < subscription.quantity => format!(
                "An order being placed reduces the subscription to {pending} licences ({available} free); unassign a user or wait for the order to complete."
            ),
            _ => format!(
                "All {} licences are assigned ({available} free); unassign a user or buy more licences.",
                subscription.quantity
            ),
        },
    )
    .with_extension("licenses_available", serde_json::json!(available))
    .with_extension("quantity", serde_json::json!(subscription.quantity))
}

fn is_licence_cap(constraint: Option<&str>) -> bool {
    matches!(
        constraint,
        Some("licenses_within_quantity" | "licenses_within_pending_quantity")
    )
}

async fn user_of_account(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    user_id: Uuid,
) -> ApiResult<User> {
    users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq(user_id))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub(super) fn view(assignment: &LicenseAssignment, user: &User) -> AssignmentView {
    AssignmentView {
        subscription_id: assignment.subscription_id,
        user_id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        assigned_at: assignment.created_at,
    }
}

/// Enables the product for one user. Returns `true` when the assignment is new.
pub async fn assign(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
    user_id: Uuid,
) -> ApiResult<(bool, AssignmentView)> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let subscription = lock_subscription(conn, caller, account_id, subscription_id).await?;
        let user = user_of_account(conn, account_id, user_id).await?;
        let existing: Option<LicenseAssignment> = license_assignments::table
            .find((subscription_id, user_id))
            .select(LicenseAssignment::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(existing) = existing {
            return Ok((false, view(&existing, &user)));
        }
        ensure_assignable(caller, &subscription)?;
        if subscription.licenses_assigned >= assignable(&subscription) {
            return Err(no_licenses(&subscription, 0));
        }
        let assignment: LicenseAssignment = diesel::insert_into(license_assignments::table)
            .values(LicenseAssignment {
                subscription_id,
                account_id,
                user_id,
                created_at: caller.now,
            })
            .returning(LicenseAssignment::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                if is_licence_cap(violated_constraint(&e)) {
                    no_licenses(&subscription, 0)
                } else {
                    ApiError::from(e)
                }
            })?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::LicenseAssigned,
                subject_type: "subscription",
                subject_id: Some(subscription_id),
                before: None,
                after: snapshot(&view(&assignment, &user)),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok((true, view(&assignment, &user)))
    })
    .await
}

/// Disables the product for one user; nothing happens when the user holds no licence.
pub async fn unassign(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
    user_id: Uuid,
) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        lock_subscription(conn, caller, account_id, subscription_id).await?;
        let user = user_of_account(conn, account_id, user_id).await?;
        let removed: Option<LicenseAssignment> =
            diesel::delete(license_assignments::table.find((subscription_id, user_id)))
                .returning(LicenseAssignment::as_returning())
                .get_result(conn)
                .await
                .optional()?;
        if let Some(removed) = removed {
            audit::record(
                conn,
                caller,
                Event {
                    account_id: Some(account_id),
                    event_type: EventType::LicenseUnassigned,
                    subject_type: "subscription",
                    subject_id: Some(subscription_id),
                    // The licence as it was: a deletion shows what was deleted.
                    before: None,
                    after: snapshot(&view(&removed, &user)),
                    reason: None,
                    notify: None,
                },
            )
            .await?;
        }
        Ok(())
    })
    .await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<AssignmentView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::id.eq(subscription_id))
        .select(subscriptions::id)
        .first::<Uuid>(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let mut query = license_assignments::table
        .inner_join(users::table.on(users::id.eq(license_assignments::user_id)))
        .filter(license_assignments::subscription_id.eq(subscription_id))
        .select((LicenseAssignment::as_select(), User::as_select()))
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (created_at, user_id) = license_assignments::table
            .find((subscription_id, cursor))
            .select((
                license_assignments::created_at,
                license_assignments::user_id,
            ))
            .first::<(DateTime<Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            license_assignments::created_at
                .lt(created_at)
                .or(license_assignments::created_at
                    .eq(created_at)
                    .and(license_assignments::user_id.lt(user_id))),
        );
    }
    let rows: Vec<(LicenseAssignment, User)> = query
        .order((
            license_assignments::created_at.desc(),
            license_assignments::user_id.desc(),
        ))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows.iter().map(|(a, u)| view(a, u)).collect(), limit))
}
