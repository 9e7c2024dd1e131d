//! Database access: the connection pool, embedded migrations, the generated schema and the
//! row models. Queries live with the service that owns the use case.

pub mod connect_error;
pub mod enums;
pub mod functions;
pub mod models;
pub mod query_counter;
pub mod schema;

use std::fmt;
use std::ops::Deref;

use futures_util::FutureExt;

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any number; it only has to be the same for every process migrating this database.
const MIGRATION_LOCK_KEY: i64 = 0x0062_696c_6c69_6e67;

/// One page of an account's rows of `$table`, newest first (`created_at`, then `id`), after
/// the row `starting_after` names — which must be a row of the same list, else 422. Evaluates
/// to the `limit + 1` rows fetched (the extra one tells whether there is more).
///
/// With `from = <source>` the page is read from `$table` joined to a one-row-per-row child
/// (`orders` left-joined to their invoice), so the page and that child are one query.
#[macro_export]
macro_rules! newest_first_page {
    ($conn:expr, $table:ident, $account_id:expr, $params:expr, $limit:expr, $selection:expr) => {
        $crate::newest_first_page!(
            $conn,
            $table,
            $account_id,
            $params,
            $limit,
            $selection,
            from = $crate::db::schema::$table::table
        )
    };
    ($conn:expr, $table:ident, $account_id:expr, $params:expr, $limit:expr, $selection:expr,
     from = $source:expr) => {{
        use $crate::db::schema::$table as t;
        let mut query = $source
            .filter(t::account_id.eq($account_id))
            .select($selection)
            .into_boxed();
        if let Some(cursor) = $params.starting_after {
            let (created_at, id) = t::table
                .filter(t::account_id.eq($account_id))
                .filter(t::id.eq(cursor))
                .select((t::created_at, t::id))
                .first::<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>($conn)
                .await
                .optional()?
                .ok_or_else($crate::pagination::unknown_cursor)?;
            query = query.filter(
                t::created_at
                    .lt(created_at)
                    .or(t::created_at.eq(created_at).and(t::id.lt(id))),
            );
        }
        query
            .order((t::created_at.desc(), t::id.desc()))
            .limit($limit + 1)
            .load($conn)
            .await?
    }};
}

pub use query_counter::{QueryCounter, QueryCounts};

/// The connection pool, and the count of the statements its connections have sent.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<AsyncPgConnection>,
    queries: QueryCounter,
}

impl DbPool {
    /// Statements and transactions sent by this pool's connections so far.
    pub fn queries(&self) -> &QueryCounter {
        &self.queries
    }
}

impl Deref for DbPool {
    type Target = Pool<AsyncPgConnection>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

pub type DbConn = Object<AsyncPgConnection>;

pub use connect_error::ServerAddress;

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// Says where (never with the password) and what to do next: on a first run this is
    /// the message a newcomer sees when PostgreSQL is not there.
    #[error("cannot connect to PostgreSQL at {server}: {reason}\n  next step: {next_step}")]
    Connect {
        /// `host:port (database "…", user "…")`.
        server: String,
        reason: String,
        next_step: String,
    },
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("pool: {0}")]
    Pool(String),
    #[error("invalid DATABASE_URL: {0}")]
    Url(String),
}

impl DbSetupError {
    /// A failed connection to the server `database_url` names.
    pub fn connect(database_url: &str, reason: impl fmt::Display) -> DbSetupError {
        let server = ServerAddress::from_url(database_url);
        let reason = reason.to_string();
        let next_step = connect_error::next_step(&server, &reason);
        DbSetupError::Connect {
            server: server.to_string(),
            reason,
            next_step,
        }
    }
}

pub fn build_pool(database_url: &str, max_size: usize) -> Result<DbPool, DbSetupError> {
    // `Fast` recycling skips the test query deadpool would otherwise run before every
    // checkout of a connection (one round trip per request); a connection that died is
    // reported by its first real query and dropped by the pool.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    // Every connection reports what it sends to the pool's counter.
    let queries = QueryCounter::default();
    let counter = queries.clone();
    config.custom_setup = Box::new(move |url| {
        let instrumentation = counter.instrumentation();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.set_instrumentation(instrumentation);
            Ok(conn)
        }
        .boxed()
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| DbSetupError::Pool(e.to_string()))?;
    Ok(DbPool { pool, queries })
}

/// Runs the embedded migrations that are not applied yet. Concurrent starts of several
/// instances serialise on an advisory lock, so each migration runs once.
pub async fn run_migrations(database_url: &str) -> Result<Vec<String>, DbSetupError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel::RunQueryDsl;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .map_err(|e| DbSetupError::connect(&url, e))?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .map_err(|e| DbSetupError::Migration(e.to_string()));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        applied
    })
    .await
    .map_err(|e| DbSetupError::Migration(e.to_string()))?
}

/// Creates the database named in the URL when it does not exist (local development only).
pub async fn create_database_if_missing(database_url: &str) -> Result<bool, DbSetupError> {
    let (mut conn, name) = maintenance_connection(database_url).await?;
    if named_database_exists(&mut conn, &name).await? {
        return Ok(false);
    }
    conn.batch_execute(&format!("CREATE DATABASE {}", quoted(&name)))
        .await?;
    Ok(true)
}

/// Whether the database named in the URL exists on its server.
pub async fn database_exists(database_url: &str) -> Result<bool, DbSetupError> {
    let (mut conn, name) = maintenance_connection(database_url).await?;
    named_database_exists(&mut conn, &name).await
}

/// Drops the database named in the URL, closing its open connections (`seed-demo --reset`).
pub async fn drop_database(database_url: &str) -> Result<(), DbSetupError> {
    let (mut conn, name) = maintenance_connection(database_url).await?;
    conn.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(&name)
    ))
    .await?;
    Ok(())
}

/// A connection to the `postgres` database of the URL's server, and the name of the URL's
/// own database.
async fn maintenance_connection(
    database_url: &str,
) -> Result<(AsyncPgConnection, String), DbSetupError> {
    let (server, name) = split_database_name(database_url)?;
    let maintenance_url = format!("{server}/postgres");
    let conn = AsyncPgConnection::establish(&maintenance_url)
        .await
        .map_err(|e| DbSetupError::connect(&maintenance_url, e))?;
    Ok((conn, name))
}

async fn named_database_exists(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<bool, DbSetupError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(found.exists)
}

/// A database name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Splits `postgres://user@host:port/name?opts` into the server part and the database name.
fn split_database_name(database_url: &str) -> Result<(String, String), DbSetupError> {
    let without_query = database_url.split('?').next().unwrap_or(database_url);
    let (server, name) = without_query
        .rsplit_once('/')
        .filter(|(server, name)| {
            server.contains("://") && !server.ends_with('/') && !name.is_empty()
        })
        .ok_or_else(|| DbSetupError::Url("no database name in the URL".to_owned()))?;
    Ok((server.to_owned(), name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::split_database_name;

    #[test]
    fn splits_the_database_name_off_the_url() {
        let (server, name) =
            split_database_name("postgres://postgres@127.0.0.1:5432/billing").expect("split");
        assert_eq!(server, "postgres://postgres@127.0.0.1:5432");
        assert_eq!(name, "billing");
        assert!(split_database_name("postgres://host").is_err());
    }
}
