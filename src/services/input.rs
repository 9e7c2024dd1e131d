//! Small helpers for request fields shared by several use cases.

use serde::Deserialize;

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

/// Deserialises a field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
/// PATCH bodies use it to tell "leave as is" from "clear".
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
