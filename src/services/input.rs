//! Small helpers for free-text request fields shared by several use cases.

use crate::error::{ApiError, ApiResult};

/// Trims an optional text field; empty means absent; longer than `max` characters is 422.
pub fn clean(value: Option<&String>, field: &str, max: usize) -> ApiResult<Option<String>> {
    match value.map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(ApiError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}
