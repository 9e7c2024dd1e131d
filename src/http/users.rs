//! The account's users.

use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::http::extract::Json;
use crate::pagination::{List, ListParams};
use crate::services::Caller;
use crate::services::users::{self, CreateUser, UserView};

/// List the account's users
///
/// The people of the account who may be given a licence, newest first.
#[utoipa::path(
    tag = "users",
    params(("account_id" = Uuid, Path), ListParams),
    responses(
        (status = 200, body = List<UserView>, description = "A page of users"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<List<UserView>>> {
    let (rows, limit) =
        users::list(&state, &caller, path.into_inner(), params.into_inner()).await?;
    Ok(web::Json(List::from_rows(
        rows,
        limit,
        |u| u.id,
        UserView::from,
    )))
}

/// Add a user
///
/// Adds a person to the account; the email is unique within the account (409
/// `duplicate-email`).
#[utoipa::path(
    tag = "users",
    params(("account_id" = Uuid, Path)),
    request_body(content = CreateUser, example = json!({"name": "Linus Torvalds", "email": "linus@acme.example"})),
    responses(
        (status = 201, body = UserView, description = "The user"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json",
         description = "`duplicate-email`: the email is already used in the account"),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let user = users::create(&state, &caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// Remove a user
///
/// Removes the user; the licences the user held are freed.
#[utoipa::path(
    tag = "users",
    params(("account_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{user_id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, user_id) = path.into_inner();
    users::delete(&state, &caller, account_id, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
