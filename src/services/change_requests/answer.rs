//! The steps of a change request: the contact submits or withdraws it; the representative
//! answers once, with a quote or a reason to decline; accepting the quote completes it.
//! Each step locks the account, then the request, so two answers racing find one winner and
//! the other `change-request-closed`.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, ChangeRequest, Quote};
use crate::db::schema::change_requests;
use crate::domain::change_request::ChangeRequestStatus;
use crate::domain::event::EventType;
use crate::domain::notification::NotificationTemplate;
use crate::error::{ApiError, ApiResult, internal_error};
use crate::services::Caller;
use crate::services::access::account_in_reach_for_update;
use crate::services::audit::{self, Event, Notify, snapshot};
use crate::services::input::clean;
use crate::services::numbering::next_number;
use crate::services::quotes::{self, Terms};

use super::{
    ChangeRequestView, DeclineChangeRequest, QuoteChangeRequest, RequestedItem,
    SubmitChangeRequest, check_items, closed, corporate_only, request_for_update, view,
};

fn record<'a>(
    event_type: EventType,
    before: Option<&ChangeRequest>,
    after: &ChangeRequest,
    reason: Option<&'a str>,
    notify: Option<NotificationTemplate>,
) -> ApiResult<Event<'a>> {
    Ok(Event {
        account_id: Some(after.account_id),
        event_type,
        subject_type: "change_request",
        subject_id: Some(after.id),
        before: before
            .map(|b| view(b.clone()))
            .transpose()?
            .and_then(|v| snapshot(&v)),
        after: snapshot(&view(after.clone())?),
        reason,
        notify: notify.map(|template| Notify::of(template, after.id)),
    })
}

/// The corporate contact (or an admin) asks for changes; the representative is told.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: SubmitChangeRequest,
) -> ApiResult<ChangeRequestView> {
    let message = clean(input.message.as_ref(), "message", 2000)?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let account = account_in_reach_for_update(conn, caller, account_id).await?;
        corporate_only(&account)?;
        if !matches!(caller.principal.role, Role::CorporateContact | Role::Admin) {
            return Err(ApiError::forbidden(
                "The customer asks for changes; the representative answers them.",
            ));
        }
        check_items(state, conn, caller, &account, &input.items).await?;
        let request: ChangeRequest = diesel::insert_into(change_requests::table)
            .values(ChangeRequest {
                id: Uuid::now_v7(),
                account_id,
                number: next_number(conn, "change_request", "CR").await?,
                status: ChangeRequestStatus::Submitted,
                items: serde_json::to_value(&input.items)
                    .map_err(|e| internal_error("change request items", &e))?,
                message,
                submitted_by: caller.principal.sub.clone(),
                quote_id: None,
                decline_reason: None,
                answered_by: None,
                answered_at: None,
                version: 1,
                created_at: caller.now,
                updated_at: caller.now,
            })
            .returning(ChangeRequest::as_returning())
            .get_result(conn)
            .await?;
        let event = record(
            EventType::ChangeRequestSubmitted,
            None,
            &request,
            None,
            Some(NotificationTemplate::ChangeRequestSubmitted),
        )?;
        audit::record(conn, caller, event).await?;
        view(request)
    })
    .await
}

/// Moves an open request to `status`, answered by the caller now.
async fn close(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    request: &ChangeRequest,
    status: ChangeRequestStatus,
    quote_id: Option<Uuid>,
    decline_reason: Option<&str>,
) -> ApiResult<ChangeRequest> {
    Ok(diesel::update(change_requests::table.find(request.id))
        .set((
            change_requests::status.eq(status),
            change_requests::quote_id.eq(quote_id),
            change_requests::decline_reason.eq(decline_reason),
            change_requests::answered_by.eq(Some(&caller.principal.sub)),
            change_requests::answered_at.eq(Some(caller.now)),
            change_requests::version.eq(change_requests::version + 1),
            change_requests::updated_at.eq(caller.now),
        ))
        .returning(ChangeRequest::as_returning())
        .get_result(conn)
        .await?)
}

fn answered_by_the_representative(caller: &Caller) -> ApiResult<()> {
    if !matches!(caller.principal.role, Role::Representative | Role::Admin) {
        return Err(ApiError::forbidden(
            "The account's representative answers change requests.",
        ));
    }
    Ok(())
}

/// Locks the account and the request, for a caller `may` lets act; the request must still
/// wait for an answer.
async fn open_request(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account_id: Uuid,
    id: Uuid,
    may: fn(&Caller) -> ApiResult<()>,
) -> ApiResult<(Account, ChangeRequest)> {
    let account = account_in_reach_for_update(conn, caller, account_id).await?;
    corporate_only(&account)?;
    may(caller)?;
    let request = request_for_update(conn, account_id, id).await?;
    if !request.status.is_open() {
        return Err(closed(&request));
    }
    Ok((account, request))
}

/// Closes an open request without a quote (declined or withdrawn) and tells the other side.
async fn close_and_tell(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    request: &ChangeRequest,
    status: ChangeRequestStatus,
    reason: Option<&str>,
    (event_type, template): (EventType, NotificationTemplate),
) -> ApiResult<ChangeRequestView> {
    let after = close(conn, caller, request, status, None, reason).await?;
    let event = record(event_type, Some(request), &after, reason, Some(template))?;
    audit::record(conn, caller, event).await?;
    view(after)
}

fn withdrawn_by_the_customer(caller: &Caller) -> ApiResult<()> {
    if !matches!(caller.principal.role, Role::CorporateContact | Role::Admin) {
        return Err(ApiError::forbidden(
            "The customer withdraws its requests; the representative declines them.",
        ));
    }
    Ok(())
}

/// The representative answers with a quote of the requested items, or of its own edit of
/// them; the contact accepts or rejects it like any quote.
pub async fn quote(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    id: Uuid,
    input: QuoteChangeRequest,
) -> ApiResult<Quote> {
    let terms = Terms::of(input.valid_for_days, input.note.as_ref())?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (account, request) =
            open_request(conn, caller, account_id, id, answered_by_the_representative).await?;
        let items: Vec<RequestedItem> = match &input.items {
            Some(edited) => edited.clone(),
            None => serde_json::from_value(request.items.clone())
                .map_err(|e| internal_error("stored change request items", &e))?,
        };
        let checked = check_items(state, conn, caller, &account, &items).await?;
        let quote = quotes::create_for_request(
            state,
            conn,
            caller,
            &account,
            request.id,
            &checked.targets,
            &checked.cancellations,
            terms,
        )
        .await?;
        let after = close(
            conn,
            caller,
            &request,
            ChangeRequestStatus::Quoted,
            Some(quote.id),
            None,
        )
        .await?;
        // The contact's mail rides on the quote's event (it shows the quote).
        let event = record(
            EventType::ChangeRequestQuoted,
            Some(&request),
            &after,
            None,
            None,
        )?;
        audit::record(conn, caller, event).await?;
        Ok(quote)
    })
    .await
}

/// The representative declines, saying why; the contact is told.
pub async fn decline(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    id: Uuid,
    input: DeclineChangeRequest,
) -> ApiResult<ChangeRequestView> {
    let reason = clean(Some(&input.reason), "reason", 1000)?
        .ok_or_else(|| ApiError::invalid_field("reason", "must be 1 to 1000 characters"))?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (_, request) =
            open_request(conn, caller, account_id, id, answered_by_the_representative).await?;
        close_and_tell(
            conn,
            caller,
            &request,
            ChangeRequestStatus::Declined,
            Some(&reason),
            (
                EventType::ChangeRequestDeclined,
                NotificationTemplate::ChangeRequestDeclined,
            ),
        )
        .await
    })
    .await
}

/// The contact takes back a request not yet answered; the representative is told.
pub async fn withdraw(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    id: Uuid,
) -> ApiResult<ChangeRequestView> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (_, request) =
            open_request(conn, caller, account_id, id, withdrawn_by_the_customer).await?;
        close_and_tell(
            conn,
            caller,
            &request,
            ChangeRequestStatus::Withdrawn,
            None,
            (
                EventType::ChangeRequestWithdrawn,
                NotificationTemplate::ChangeRequestWithdrawn,
            ),
        )
        .await
    })
    .await
}

/// The request's quote was accepted: it is `completed` (inside the acceptance's transaction).
pub async fn complete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> ApiResult<()> {
    let before: ChangeRequest = change_requests::table
        .find(id)
        .select(ChangeRequest::as_select())
        .for_no_key_update()
        .first(conn)
        .await?;
    let after: ChangeRequest = diesel::update(change_requests::table.find(id))
        .set((
            change_requests::status.eq(ChangeRequestStatus::Completed),
            change_requests::version.eq(change_requests::version + 1),
            change_requests::updated_at.eq(caller.now),
        ))
        .returning(ChangeRequest::as_returning())
        .get_result(conn)
        .await?;
    let event = record(
        EventType::ChangeRequestCompleted,
        Some(&before),
        &after,
        None,
        None,
    )?;
    audit::record(conn, caller, event).await
}
