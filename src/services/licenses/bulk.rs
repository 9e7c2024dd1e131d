//! Several licence changes at once: all or nothing, never beyond the licences bought.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{LicenseAssignment, Subscription, User};
use crate::db::schema::{license_assignments, subscriptions, users};
use crate::domain::event::EventType;
use crate::error::{ApiError, ApiResult, FieldError, violated_constraint};
use crate::services::Caller;
use crate::services::audit::{self, Event, snapshot};

use super::{assignable, ensure_assignable, is_licence_cap, lock_subscription, no_licenses, view};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Assign,
    Unassign,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOperation {
    pub user_id: Uuid,
    pub action: BulkAction,
}

/// Body of `POST …/assignments/bulk`: applied all together or not at all.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    #[schema(min_items = 1, max_items = 1000)]
    pub operations: Vec<BulkOperation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    Assigned,
    AlreadyAssigned,
    Unassigned,
    NotAssigned,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResult {
    pub user_id: Uuid,
    pub action: BulkAction,
    pub outcome: BulkOutcome,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResponse {
    pub subscription_id: Uuid,
    #[schema(example = 8)]
    pub quantity: i32,
    #[schema(example = 2)]
    pub licenses_assigned: i32,
    #[schema(example = 6)]
    pub licenses_available: i32,
    pub results: Vec<BulkResult>,
}

/// Applies assign/unassign operations for one subscription atomically.
pub async fn bulk(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
    input: BulkInput,
) -> ApiResult<BulkResponse> {
    if input.operations.is_empty() || input.operations.len() > 1000 {
        return Err(ApiError::invalid_field(
            "operations",
            "must hold 1 to 1000 operations",
        ));
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<FieldError> = input
        .operations
        .iter()
        .enumerate()
        .filter(|(_, op)| !seen.insert(op.user_id))
        .map(|(i, _)| FieldError {
            field: format!("operations[{i}].user_id"),
            message: "appears twice".into(),
        })
        .collect();
    if !duplicates.is_empty() {
        return Err(ApiError::validation(duplicates));
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let subscription = lock_subscription(conn, caller, account_id, subscription_id).await?;
        let ids: Vec<Uuid> = input.operations.iter().map(|op| op.user_id).collect();
        let known: HashMap<Uuid, User> = users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq_any(&ids))
            .select(User::as_select())
            .load::<User>(conn)
            .await?
            .into_iter()
            .map(|user| (user.id, user))
            .collect();
        let unknown: Vec<FieldError> = input
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| !known.contains_key(&op.user_id))
            .map(|(i, _)| FieldError {
                field: format!("operations[{i}].user_id"),
                message: "no such user in this account".into(),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::validation(unknown));
        }
        let holders: HashSet<Uuid> = license_assignments::table
            .filter(license_assignments::subscription_id.eq(subscription_id))
            .filter(license_assignments::user_id.eq_any(&ids))
            .select(license_assignments::user_id)
            .load::<Uuid>(conn)
            .await?
            .into_iter()
            .collect();
        let mut results = Vec::with_capacity(input.operations.len());
        let (mut to_assign, mut to_unassign) = (Vec::new(), Vec::new());
        for op in &input.operations {
            let holds = holders.contains(&op.user_id);
            let outcome = match (op.action, holds) {
                (BulkAction::Assign, true) => BulkOutcome::AlreadyAssigned,
                (BulkAction::Assign, false) => {
                    to_assign.push(op.user_id);
                    BulkOutcome::Assigned
                }
                (BulkAction::Unassign, true) => {
                    to_unassign.push(op.user_id);
                    BulkOutcome::Unassigned
                }
                (BulkAction::Unassign, false) => BulkOutcome::NotAssigned,
            };
            results.push(BulkResult {
                user_id: op.user_id,
                action: op.action,
                outcome,
            });
        }
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        if !to_assign.is_empty() {
            ensure_assignable(caller, &subscription)?;
            let available = assignable(&subscription) - subscription.licenses_assigned
                + count(to_unassign.len());
            if count(to_assign.len()) > available {
                return Err(no_licenses(&subscription, available)
                    .with_extension("licenses_requested", serde_json::json!(to_assign.len())));
            }
        }
        // Unassign first, so the licences they free can be taken by the assignments.
        let removed: Vec<LicenseAssignment> = diesel::delete(
            license_assignments::table
                .filter(license_assignments::subscription_id.eq(subscription_id))
                .filter(license_assignments::user_id.eq_any(&to_unassign)),
        )
        .returning(LicenseAssignment::as_returning())
        .get_results(conn)
        .await?;
        let now = caller.now;
        let rows: Vec<LicenseAssignment> = to_assign
            .iter()
            .map(|user_id| LicenseAssignment {
                subscription_id,
                account_id,
                user_id: *user_id,
                created_at: now,
            })
            .collect();
        let added: Vec<LicenseAssignment> = diesel::insert_into(license_assignments::table)
            .values(&rows)
            .returning(LicenseAssignment::as_returning())
            .get_results(conn)
            .await
            .map_err(|e| {
                if is_licence_cap(violated_constraint(&e)) {
                    no_licenses(&subscription, 0)
                } else {
                    ApiError::from(e)
                }
            })?;
        let after: Subscription = subscriptions::table
            .find(subscription_id)
            .select(Subscription::as_select())
            .first(conn)
            .await?;
        // One event per licence that changed hands (SPEC §14).
        let event = |event_type, assignment: &LicenseAssignment| Event {
            account_id: Some(account_id),
            event_type,
            subject_type: "subscription",
            subject_id: Some(subscription_id),
            before: None,
            after: known
                .get(&assignment.user_id)
                .and_then(|user| snapshot(&view(assignment, user))),
            reason: None,
            notify: None,
        };
        let events = removed
            .iter()
            .map(|a| event(EventType::LicenseUnassigned, a))
            .chain(added.iter().map(|a| event(EventType::LicenseAssigned, a)))
            .collect();
        audit::record_all(conn, caller, events).await?;
        Ok(BulkResponse {
            subscription_id,
            quantity: after.quantity,
            licenses_assigned: after.licenses_assigned,
            licenses_available: after.quantity - after.licenses_assigned,
            results,
        })
    })
    .await
}
