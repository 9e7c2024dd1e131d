//! `Caller` as an extractor: the verified principal plus the request id.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::AppState;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
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
        if let Err(refused) = count_against_rate(req, &principal) {
            return ready(Err(refused));
        }
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

/// Counts the request against its verified caller's rate (when a limit is configured) and
/// leaves the caller's standing for the response headers (`middleware::observe`); over the
/// rate, 429 `rate-limited`. Every handler takes one `Caller`, so a request counts once.
fn count_against_rate(req: &HttpRequest, principal: &Principal) -> Result<(), ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(());
    };
    let Some(limiter) = &state.http.rate_limiter else {
        return Ok(());
    };
    let status = limiter.check(&principal.sub);
    req.extensions_mut().insert(status);
    match status.retry_after_seconds {
        None => Ok(()),
        Some(seconds) => {
            state.metrics.rate_limited();
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "This token sent more than {} requests at once; retry in {seconds} s.",
                    status.limit
                ),
            ))
        }
    }
}
