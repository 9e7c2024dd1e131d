//! Cursor pagination (SPEC §8): `limit` 1..=100 (default 20), `starting_after` an id from the
//! same list, newest first.

use serde::{Deserialize, Serialize};
use utoipa::openapi::{Ref, schema::ArrayBuilder};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many items to return, 1..=100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Return the items after this id (the `next_starting_after` of the previous page).
    pub starting_after: Option<Uuid>,
}

impl ListParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(limit) if (1..=100).contains(&limit) => Ok(limit),
            Some(_) => Err(ApiError::invalid_field(
                "limit",
                "must be between 1 and 100",
            )),
        }
    }
}

pub fn unknown_cursor() -> ApiError {
    ApiError::invalid_field("starting_after", "is not an id of this list")
}

/// A page of a list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// By reference to the item's own schema, so that a generated client has one type per
    /// resource whether it reads one item or a page.
    #[schema(schema_with = items_by_reference::<T>)]
    pub data: Vec<T>,
    pub has_more: bool,
    /// The id to pass as `starting_after` for the next page, when `has_more`.
    pub next_starting_after: Option<Uuid>,
}

/// `data` of `List<T>` in the document: an array of references to `T`'s schema. utoipa
/// would otherwise copy `T`'s schema into every `List_*` schema.
fn items_by_reference<T: ToSchema>() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(T::name()))
        .description(Some("The page's items, newest first."))
}

impl<T> List<T> {
    /// Builds a page from `limit + 1` rows fetched newest first.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        id: impl Fn(&R) -> Uuid,
        view: impl Fn(R) -> T,
    ) -> List<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_starting_after = if has_more { rows.last().map(&id) } else { None };
        List {
            data: rows.into_iter().map(view).collect(),
            has_more,
            next_starting_after,
        }
    }
}
