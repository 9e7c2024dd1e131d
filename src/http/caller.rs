//! `Caller` as an extractor: the verified principal plus the request id.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::AppState;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::middleware::RequestId;
use crate::services::Caller;

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = match Principal::from_request(req, payload).into_inner() {
            Ok(principal) => principal,
            Err(error) => return ready(Err(error)),
        };
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.0.clone());
        let now = match req.app_data::<web::Data<AppState>>() {
            Some(state) => state.clock.now(),
            None => {
                return ready(Err(crate::error::internal_error(
                    "application state",
                    &"missing",
                )));
            }
        };
        ready(Ok(Caller {
            principal,
            request_id,
            now,
        }))
    }
}
