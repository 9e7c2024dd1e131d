//! The account's mail outbox (SPEC §16).

use actix_web::{get, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::notifications::{self, NotificationView};

/// List the account's mails
///
/// Admin, support and the account's representative: every mail the account's changes caused
/// (order confirmations, renewal invoices and receipts, failed payments, trial ends,
/// cancellations), newest first, with its recipients, subject and status — `pending`,
/// `sent`, `failed` with its error, or `skipped` when no SMTP server is configured.
#[utoipa::path(
    tag = "notifications",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<NotificationView>, description = "A page of mails"),
        (status = 403, body = Problem, content_type = "application/problem+json",
         description = "`forbidden`: a contact (mails reach the contact's inbox)"),
    )
)]
#[get("/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<NotificationView>>> {
    let (rows, limit) =
        notifications::list(&state.pool, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(rows, limit, |n| n.id, |n| n)))
}
