//! Human document numbers kept in counter rows (quotes): gapless, since the counter row is
//! updated inside the transaction that uses the number and a rollback gives it back.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::document_counters;
use crate::error::ApiResult;

pub async fn next_number(
    conn: &mut AsyncPgConnection,
    counter: &str,
    prefix: &str,
) -> ApiResult<String> {
    let next: i64 = diesel::update(document_counters::table.find(counter))
        .set(document_counters::next.eq(document_counters::next + 1))
        .returning(document_counters::next - 1)
        .get_result(conn)
        .await?;
    Ok(format!("{prefix}-{next:06}"))
}
