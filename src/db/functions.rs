//! PostgreSQL functions the queries use, typed for diesel.

use diesel::declare_sql_function;
use diesel::sql_types::{Nullable, Text};

#[declare_sql_function]
extern "SQL" {
    /// `lower(text)`: identifiers the customer writes in any case (PO numbers, payment
    /// references) are compared with it, as their unique indexes are.
    fn lower(text: Nullable<Text>) -> Nullable<Text>;

    /// `btrim(text)`: without surrounding spaces.
    fn btrim(text: Nullable<Text>) -> Nullable<Text>;
}
