//! Corporate change requests (SPEC §18): a corporate contact asks for changes its portal does
//! not allow (a downgrade, a cancellation, a negotiated price); the account's representative
//! answers once, with a quote (the quotes of `services::quotes`) or a reason to decline.
//! Every step is an event, and a mail to the other side.

mod answer;
mod items;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, ChangeRequest};
use crate::db::schema::change_requests;
use crate::domain::account::AccountKind;
use crate::domain::change_request::ChangeRequestStatus;
use crate::domain::period::BillingFrequency;
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::access::account_in_reach;

pub use answer::{complete, decline, quote, submit, withdraw};
pub use items::{Checked, check_items};

/// One thing a change request asks for: a cart item request (SPEC §12; downgrades allowed
/// here) or a cancellation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestedItem {
    /// Change a subscription: another plan (a lower tier too), quantity or billing frequency.
    #[schema(title = "RequestedChange")]
    Change {
        subscription_id: Uuid,
        /// Plan code of the subscription's product.
        #[schema(example = "standard")]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<String>,
        #[schema(minimum = 1, maximum = 10000, example = 40)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantity: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        billing_frequency: Option<BillingFrequency>,
    },
    /// Buy a product the account has no subscription to.
    #[schema(title = "RequestedSubscribe")]
    Subscribe {
        #[schema(example = "gotoassist-service-desk")]
        product: String,
        #[schema(example = "starter")]
        plan: String,
        #[schema(minimum = 1, maximum = 10000, example = 3)]
        quantity: i32,
        billing_frequency: BillingFrequency,
    },
    /// End a subscription: at its period end, or at once (the unused time credited).
    #[schema(title = "RequestedCancel")]
    Cancel {
        subscription_id: Uuid,
        at_period_end: bool,
    },
}

/// Body of `POST /v1/accounts/{account_id}/change-requests`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitChangeRequest {
    /// 1 to 20 items, one per product.
    #[schema(min_items = 1, max_items = 20)]
    pub items: Vec<RequestedItem>,
    /// What the representative should know.
    #[schema(
        max_length = 2000,
        example = "We are 40 people now: Standard is enough for us from next month."
    )]
    pub message: Option<String>,
}

/// Body of `POST …/change-requests/{change_request_id}/quote`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteChangeRequest {
    /// The items to quote, when they differ from the ones asked for (the representative's
    /// edit); absent: the request's items.
    #[schema(min_items = 1, max_items = 20)]
    pub items: Option<Vec<RequestedItem>>,
    /// Days the quote stays open, counting today (default 30).
    #[schema(minimum = 1, maximum = 365, example = 30)]
    pub valid_for_days: Option<i64>,
    /// A message to the customer.
    #[schema(
        max_length = 2000,
        example = "Standard for 40 seats from today, as asked."
    )]
    pub note: Option<String>,
}

/// Body of `POST …/change-requests/{change_request_id}/decline`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineChangeRequest {
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Your contract runs to June; let us talk about it in May."
    )]
    pub reason: String,
}

/// What kind of thing an item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestedItemKind {
    Change,
    Subscribe,
    Cancel,
}

/// One item of a change request as asked for; the fields of its kind are set, the others
/// null.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestedItemView {
    #[serde(rename = "type")]
    pub kind: RequestedItemKind,
    /// `change` and `cancel`.
    pub subscription_id: Option<Uuid>,
    /// `subscribe`: the product code.
    #[schema(example = json!(null))]
    pub product: Option<String>,
    #[schema(example = "standard")]
    pub plan: Option<String>,
    #[schema(example = 40)]
    pub quantity: Option<i32>,
    pub billing_frequency: Option<BillingFrequency>,
    /// `cancel`: at the period end, or at once.
    #[schema(example = json!(null))]
    pub at_period_end: Option<bool>,
}

impl From<RequestedItem> for RequestedItemView {
    fn from(item: RequestedItem) -> RequestedItemView {
        let empty = RequestedItemView {
            kind: RequestedItemKind::Change,
            subscription_id: None,
            product: None,
            plan: None,
            quantity: None,
            billing_frequency: None,
            at_period_end: None,
        };
        match item {
            RequestedItem::Change {
                subscription_id,
                plan,
                quantity,
                billing_frequency,
            } => RequestedItemView {
                subscription_id: Some(subscription_id),
                plan,
                quantity,
                billing_frequency,
                ..empty
            },
            RequestedItem::Subscribe {
                product,
                plan,
                quantity,
                billing_frequency,
            } => RequestedItemView {
                kind: RequestedItemKind::Subscribe,
                product: Some(product),
                plan: Some(plan),
                quantity: Some(quantity),
                billing_frequency: Some(billing_frequency),
                ..empty
            },
            RequestedItem::Cancel {
                subscription_id,
                at_period_end,
            } => RequestedItemView {
                kind: RequestedItemKind::Cancel,
                subscription_id: Some(subscription_id),
                at_period_end: Some(at_period_end),
                ..empty
            },
        }
    }
}

/// A change request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeRequestView {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Human number, e.g. `CR-000007`.
    #[schema(example = "CR-000007")]
    pub number: String,
    pub status: ChangeRequestStatus,
    pub items: Vec<RequestedItemView>,
    #[schema(example = "We are 40 people now: Standard is enough for us from next month.")]
    pub message: Option<String>,
    /// The contact who asked (its token's `sub`).
    #[schema(example = "hank@globex.example")]
    pub submitted_by: String,
    /// The quote that answered it (`quoted`, `completed`).
    pub quote_id: Option<Uuid>,
    #[schema(example = json!(null))]
    pub decline_reason: Option<String>,
    /// Who answered (or withdrew) it.
    #[schema(example = json!(null))]
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    #[schema(example = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

pub fn view(row: ChangeRequest) -> ApiResult<ChangeRequestView> {
    let items: Vec<RequestedItem> = serde_json::from_value(row.items)
        .map_err(|e| internal_error("stored change request items", &e))?;
    Ok(ChangeRequestView {
        items: items.into_iter().map(RequestedItemView::from).collect(),
        id: row.id,
        account_id: row.account_id,
        number: row.number,
        status: row.status,
        message: row.message,
        submitted_by: row.submitted_by,
        quote_id: row.quote_id,
        decline_reason: row.decline_reason,
        answered_by: row.answered_by,
        answered_at: row.answered_at,
        version: row.version,
        created_at: row.created_at,
    })
}

/// The query of the representative's list.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RepresentativeFilter {
    /// Only requests with this status (e.g. `submitted`: waiting for an answer).
    pub status: Option<ChangeRequestStatus>,
    /// How many items to return, 1..=100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Return the items after this id (the `next_starting_after` of the previous page).
    pub starting_after: Option<Uuid>,
}

/// Change requests are for corporate accounts: a self-service contact changes its
/// subscription itself (SPEC §2's answer for the other portal comes from the reach check).
fn corporate_only(account: &Account) -> ApiResult<()> {
    if account.kind != AccountKind::Corporate {
        return Err(ApiError::forbidden(
            "Change requests are for corporate accounts; self-service customers change their subscription in the Billing Center.",
        ));
    }
    Ok(())
}

/// The request, locked for the caller's transaction.
async fn request_for_update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> ApiResult<ChangeRequest> {
    change_requests::table
        .filter(change_requests::account_id.eq(account_id))
        .filter(change_requests::id.eq(id))
        .select(ChangeRequest::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

fn closed(request: &ChangeRequest) -> ApiError {
    ApiError::new(
        ErrorCode::ChangeRequestClosed,
        format!(
            "Change request {} is already {}; submit a new one.",
            request.number, request.status
        ),
    )
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<ChangeRequestView>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    corporate_only(&account)?;
    let rows: Vec<ChangeRequest> = crate::newest_first_page!(
        &mut conn,
        change_requests,
        account_id,
        params,
        limit,
        ChangeRequest::as_select()
    );
    Ok((rows.into_iter().map(view).collect::<ApiResult<_>>()?, limit))
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    id: Uuid,
) -> ApiResult<ChangeRequestView> {
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    corporate_only(&account)?;
    let row: ChangeRequest = change_requests::table
        .filter(change_requests::account_id.eq(account_id))
        .filter(change_requests::id.eq(id))
        .select(ChangeRequest::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    view(row)
}

/// The representative's requests across its accounts (admin: every account's), newest first.
pub async fn list_for_representative(
    state: &AppState,
    caller: &Caller,
    filter: RepresentativeFilter,
) -> ApiResult<(Vec<ChangeRequestView>, i64)> {
    use crate::db::schema::accounts;
    let params = ListParams {
        limit: filter.limit,
        starting_after: filter.starting_after,
    };
    let limit = params.limit()?;
    let mut query = change_requests::table
        .inner_join(accounts::table)
        .select(ChangeRequest::as_select())
        .into_boxed();
    match caller.principal.role {
        Role::Representative => {
            query = query.filter(accounts::representative_id.eq(caller.principal.sub.clone()));
        }
        Role::Admin => {}
        _ => {
            return Err(ApiError::forbidden(
                "This list is the representatives' own; a contact lists its account's requests.",
            ));
        }
    }
    if let Some(status) = filter.status {
        query = query.filter(change_requests::status.eq(status));
    }
    let mut conn = state.pool.get().await?;
    if let Some(cursor) = params.starting_after {
        let (created_at, id): (DateTime<Utc>, Uuid) = change_requests::table
            .find(cursor)
            .select((change_requests::created_at, change_requests::id))
            .first(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            change_requests::created_at
                .lt(created_at)
                .or(change_requests::created_at
                    .eq(created_at)
                    .and(change_requests::id.lt(id))),
        );
    }
    let rows: Vec<ChangeRequest> = query
        .order((
            change_requests::created_at.desc(),
            change_requests::id.desc(),
        ))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows.into_iter().map(view).collect::<ApiResult<_>>()?, limit))
}
