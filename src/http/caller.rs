//! `Caller` as an extractor: the verified principal plus the request id.

use std::future::{Ready, ready};

use futures_util::future::{Either, LocalBoxFuture};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::AppState;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::http::middleware::RequestId;
use crate::services::Caller;
use crate::services::test_clocks;

impl FromRequest for Caller {
    type Error = ApiError;
    /// Ready at once, unless the request's account may live on a test clock: then one
    /// lookup of the clock's time (only with `TEST_CLOCKS=enabled`).
    type Future =
        Either<Ready<Result<Caller, ApiError>>, LocalBoxFuture<'static, Result<Caller, ApiError>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = match verified_caller(req, payload) {
            Ok(caller) => caller,
            Err(error) => return Either::Left(ready(Err(error))),
        };
        let account = req
            .app_data::<web::Data<AppState>>()
            .filter(|state| state.test_clocks)
            .zip(req.match_info().get("account_id"))
            .and_then(|(state, id)| Some((state.pool.clone(), uuid::Uuid::parse_str(id).ok()?)));
        match account {
            None => Either::Left(ready(Ok(caller))),
            Some((pool, account_id)) => Either::Right(Box::pin(async move {
                let mut caller = caller;
                // Every rule of an account on a test clock reads the clock's time; while
                // the clock advances, its accounts answer 409 (SPEC §15).
                if let Some(frozen_time) =
                    test_clocks::time_of_account(&pool, &caller.principal, account_id).await?
                {
                    caller.now = frozen_time;
                }
                Ok(caller)
            })),
        }
    }
}

/// The verified principal, counted against its rate, with the request id and the
/// application clock's "now".
fn verified_caller(req: &HttpRequest, payload: &mut Payload) -> Result<Caller, ApiError> {
    let principal = Principal::from_request(req, payload).into_inner()?;
    count_against_rate(req, &principal)?;
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.0.clone());
    let now = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.clock.now(),
        None => {
            return Err(crate::error::internal_error(
                "application state",
                &"missing",
            ));
        }
    };
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok(Caller {
        principal,
        request_id,
        idempotency_key,
        system: false,
        now,
    })
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
