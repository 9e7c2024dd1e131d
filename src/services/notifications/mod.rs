//! Email notifications (SPEC §16): the outbox an account's mails go through, and what an
//! admin, support or the account's representative sees of it. Mails are queued by the
//! `events_notify` trigger with the event that causes them; the mailer sends them.

pub mod mailer;
pub mod render;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::DbPool;
use crate::db::schema::notifications;
use crate::domain::notification::{NotificationStatus, NotificationTemplate};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::access::account_in_reach;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
struct NotificationRow {
    id: Uuid,
    event_id: Uuid,
    template: NotificationTemplate,
    status: NotificationStatus,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    to_address: Option<String>,
    cc_addresses: Vec<String>,
    subject: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// One mail of the account's outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// Which mail: the order confirmation, a renewal invoice or receipt, a failed payment,
    /// a trial's end, a cancellation scheduled, a subscription ended.
    pub template: NotificationTemplate,
    /// `pending` (queued or waiting to be retried), `sent`, `failed` (refused for good or
    /// out of retries) or `skipped` (no SMTP server configured).
    pub status: NotificationStatus,
    /// The event that caused the mail; the mail shows its resource as it was then.
    pub event_id: Uuid,
    /// The billing contact, once the mail was rendered.
    #[schema(example = "hank@globex.example")]
    pub to: Option<String>,
    /// The representative, on a corporate account's mails.
    #[schema(example = json!(["jane.doe@vendor.example"]))]
    pub cc: Vec<String>,
    #[schema(example = "Order ORD-000042 confirmed: invoice INV-000042-0001 due 2027-01-02")]
    pub subject: Option<String>,
    /// Sending attempts so far.
    #[schema(example = 1)]
    pub attempts: i32,
    /// When a `pending` mail is (next) tried.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    #[schema(example = json!(null))]
    pub last_error: Option<String>,
    /// When the SMTP server took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When its cause happened (the account's clock).
    pub created_at: DateTime<Utc>,
}

impl From<NotificationRow> for NotificationView {
    fn from(row: NotificationRow) -> NotificationView {
        NotificationView {
            id: row.id,
            template: row.template,
            status: row.status,
            event_id: row.event_id,
            to: row.to_address,
            cc: row.cc_addresses,
            subject: row.subject,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            sent_at: row.sent_at,
            created_at: row.created_at,
        }
    }
}

/// The account's mails, newest first (`limit + 1` of them, and `limit`): admin, support and
/// the account's representative (a contact reads its mails in its inbox).
pub async fn list(
    pool: &DbPool,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<NotificationView>, i64)> {
    let limit = params.limit()?;
    let mut conn = pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await?;
    if !matches!(
        caller.principal.role,
        Role::Admin | Role::Support | Role::Representative
    ) {
        return Err(ApiError::forbidden(
            "The mail outbox is for admin, support and the account's representative.",
        ));
    }
    let mut query = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .select(NotificationRow::as_select())
        .into_boxed();
    if let Some(cursor) = params.starting_after {
        let (created_at, id) = notifications::table
            .filter(notifications::id.eq(cursor))
            .filter(notifications::account_id.eq(account_id))
            .select((notifications::created_at, notifications::id))
            .first::<(DateTime<Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            notifications::created_at
                .lt(created_at)
                .or(notifications::created_at
                    .eq(created_at)
                    .and(notifications::id.lt(id))),
        );
    }
    let rows: Vec<NotificationRow> = query
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((
        rows.into_iter().map(NotificationView::from).collect(),
        limit,
    ))
}
