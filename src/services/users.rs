//! The people of an account who may use its products.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::db::models::{NewUser, User};
use crate::db::schema::users;
use crate::domain::account::is_plausible_email;
use crate::domain::event::EventType;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, violated_constraint};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update};
use crate::services::audit::{self, Event, snapshot};

/// Body of `POST /v1/accounts/{account_id}/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(min_length = 1, max_length = 200, example = "Grace Hopper")]
    pub name: String,
    #[schema(
        min_length = 3,
        max_length = 254,
        format = "email",
        example = "grace@acme.example"
    )]
    pub email: String,
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<User>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<User> = crate::newest_first_page!(
        &mut conn,
        users,
        account_id,
        params,
        limit,
        User::as_select()
    );
    Ok((rows, limit))
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: CreateUser,
) -> ApiResult<User> {
    let name = input.name.trim().to_owned();
    let email = input.email.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError {
            field: "name".into(),
            message: "must be 1 to 200 characters".into(),
        });
    }
    if !is_plausible_email(&email) {
        errors.push(FieldError {
            field: "email".into(),
            message: "must be an email address".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        account_in_reach(conn, caller, account_id).await?;
        let user: User = diesel::insert_into(users::table)
            .values(NewUser {
                id: Uuid::now_v7(),
                account_id,
                name: &name,
                email: &email,
                created_at: caller.now,
            })
            .returning(User::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| match violated_constraint(&e) {
                Some("users_email_per_account_idx") => ApiError::new(
                    ErrorCode::DuplicateEmail,
                    format!("{email} is already a user of this account."),
                ),
                _ => ApiError::from(e),
            })?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::UserCreated,
                subject_type: "user",
                subject_id: Some(user.id),
                before: None,
                after: snapshot(&UserView::from(user.clone())),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(user)
    })
    .await
}

pub async fn delete(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    user_id: Uuid,
) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        // Account first: the lock order of every use case (deleting the user frees its licences).
        account_in_reach_for_update(conn, caller, account_id).await?;
        let user: User = diesel::delete(
            users::table
                .filter(users::account_id.eq(account_id))
                .filter(users::id.eq(user_id)),
        )
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::UserDeleted,
                subject_type: "user",
                subject_id: Some(user.id),
                // A deletion shows what was deleted.
                before: None,
                after: snapshot(&UserView::from(user.clone())),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(())
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    #[schema(example = "Grace Hopper")]
    pub name: String,
    #[schema(example = "grace@acme.example")]
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id,
            name: u.name,
            email: u.email,
            created_at: u.created_at,
        }
    }
}
