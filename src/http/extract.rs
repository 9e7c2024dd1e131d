//! Extractor configuration: actix's own extractor errors (bad JSON, wrong types, a body too
//! large, a bad path id or query) become the same problem documents as every other error.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};

use crate::error::{ApiError, ErrorCode, FieldError};

/// Request bodies larger than this answer 413 (SPEC §8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(json_error)
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

fn json_error(error: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api_error = match &error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonPayloadError::Deserialize(e) => match e.classify() {
            serde_json::error::Category::Data => ApiError::validation(vec![FieldError {
                field: "body".to_owned(),
                message: e.to_string(),
            }]),
            _ => ApiError::new(
                ErrorCode::MalformedRequest,
                format!("The body is not valid JSON: {e}"),
            ),
        },
        other => ApiError::new(
            ErrorCode::MalformedRequest,
            format!("The body could not be read: {other}"),
        ),
    };
    api_error.into()
}

/// Deserialises a field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
/// PATCH bodies use it to tell "leave as is" from "clear".
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Some)
}
