//! Extractor configuration: actix's own extractor errors (bad JSON, wrong types, a body too
//! large, a bad path id or query) become the same problem documents as every other error.

use actix_web::dev::Payload;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError};

/// Request bodies larger than this answer 413 (SPEC §8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Bodies are read up to this limit; larger ones stop at the `Content-Length` check or as
/// soon as the stream passes it.
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY_BYTES)
}

pub fn path_config() -> web::PathConfig {
    // A path that does not parse (an id that is not a UUID) names no resource: 404.
    web::PathConfig::default().error_handler(|_: PathError, _| ApiError::not_found().into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _| {
        let message = match &error {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::validation(vec![FieldError {
            field: "query".to_owned(),
            message,
        }])
        .into()
    })
}

/// A JSON body. Unlike actix's own extractor it tells syntax from meaning: a body that is
/// not JSON at all is 400 `malformed-request`; JSON of the wrong shape (unknown fields,
/// wrong types, out-of-range numbers) is 422 `validation-failed`.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Json<T>, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = matches!(
            req.mime_type(),
            Ok(Some(mime)) if mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON)
        );
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "Send the body as JSON with `Content-Type: application/json`.",
                ));
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
                    )
                } else {
                    ApiError::new(
                        ErrorCode::MalformedRequest,
                        format!("The body could not be read: {e}"),
                    )
                }
            })?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::new(
                    ErrorCode::MalformedRequest,
                    format!("The body is not valid JSON: {e}"),
                )
            })?;
            if let Some(path) = nul_character(&value, String::new()) {
                // PostgreSQL cannot store U+0000 in text: refuse it here, with the field.
                return Err(ApiError::invalid_field(
                    path,
                    "must not contain the NUL character",
                ));
            }
            T::deserialize(value).map(Json).map_err(|e| {
                ApiError::validation(vec![FieldError {
                    field: "body".to_owned(),
                    message: e.to_string(),
                }])
            })
        })
    }
}

/// The path of the first string (or key) in `value` that contains U+0000.
fn nul_character(value: &serde_json::Value, path: String) -> Option<String> {
    let field = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(field(&path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_character(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(field(&path))
            } else {
                nul_character(item, child)
            }
        }),
        _ => None,
    }
}
