//! `Principal` as an actix extractor: a handler that takes one cannot forget authentication.

use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::Principal;
use crate::AppState;
use crate::error::ApiError;

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| crate::error::internal_error("auth", &"application state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("Send `Authorization: Bearer <token>`."))?;
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        ApiError::unauthenticated("The Authorization header must be `Bearer <token>`.")
    })?;
    state
        .jwt
        .verify(token)
        .map_err(|e| ApiError::unauthenticated(e.to_string()))
}

/// The token of an `Authorization: Bearer <token>` value. The scheme name is
/// case-insensitive (RFC 9110 §11.1: `bearer`, `BEARER`…); spaces separate it from the token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc "] {
            assert_eq!(bearer_token(value), Some("abc"), "{value}");
        }
        for value in [
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Basic abc",
            "Bearer\tabc",
            "",
        ] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
