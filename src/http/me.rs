//! The caller itself.

use actix_web::{get, web};

use crate::AppState;
use crate::error::ApiResult;
use crate::services::Caller;
use crate::services::me::{self, MeView};

/// Who the caller is
///
/// The caller's `sub` and role, what it reaches, and — for a contact — its account (id, kind,
/// the portal that serves it), so a portal needs nothing but the token to start.
#[utoipa::path(
    tag = "accounts",
    operation_id = "get_me",
    responses((status = 200, body = MeView, description = "The caller")),
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<MeView>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(me::me(&mut conn, &caller).await?))
}
