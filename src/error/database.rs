//! Database and pool errors mapped once: a lost connection is 503 with `Retry-After`, a
//! serialisation failure or deadlock a retryable 409, anything unexpected a 500 that says
//! nothing internal.

use super::{ApiError, ErrorCode, internal_error};

/// PostgreSQL's primary messages (as the server sends them, `lc_messages` English/C) for the
/// SQLSTATEs that end the session: 57P01 `admin_shutdown` (`pg_terminate_backend`, a fast
/// shutdown), 57P02 `crash_shutdown`, 57P03 `cannot_connect_now`, 57P05
/// `idle_session_timeout` and 25P03 `idle_in_transaction_session_timeout`. diesel-async turns
/// a server error into `DatabaseErrorKind::Unknown` and keeps only its message (the SQLSTATE
/// is not exposed by `DatabaseErrorInformation`), so these are compared whole, never as
/// substrings: a message that merely contains one of them is not a lost connection.
const SESSION_ENDED_MESSAGES: [&str; 12] = [
    // 57P01
    "terminating connection due to administrator command",
    "terminating connection due to unexpected postmaster exit",
    "terminating connection due to immediate shutdown command",
    "terminating connection due to conflict with recovery",
    // 57P02
    "terminating connection because of crash of another server process",
    // 57P03
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    // 57P05, 25P03
    "terminating connection due to idle-session timeout",
    "terminating connection due to idle-in-transaction timeout",
];

/// True when `error` means the connection to PostgreSQL is gone (or the server refuses
/// sessions for now), not that the request was wrong: the request may be retried.
///
/// - `UnableToSendCommand`: diesel-async's kind for every tokio-postgres error that carries
///   no SQLSTATE — the socket closed, an I/O error, the connection task ended. Network
///   failures (SQLSTATE class 08 in libpq's terms) arrive this way with tokio-postgres.
/// - `ClosedConnection`: diesel's own kind for the same.
/// - `Unknown` with one of [`SESSION_ENDED_MESSAGES`] exactly: the server ended the session.
/// - `BrokenTransactionManager`: the connection was left unusable by an earlier failure.
/// - A failed commit whose rollback failed too: judged by the commit's error.
pub fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
            _,
        )
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            SESSION_ENDED_MESSAGES.contains(&info.message())
        }
        Error::RollbackErrorOnCommit {
            commit_error,
            rollback_error,
        } => connection_lost(commit_error) || connection_lost(rollback_error),
        _ => false,
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        if connection_lost(&error) {
            // The pool drops the connection when it comes back (`is_broken`: closed socket
            // or a transaction left open); the client retries, with the same Idempotency-Key
            // where there is one.
            tracing::warn!(error = %error, "database connection lost");
            return ApiError::unavailable();
        }
        match &error {
            Error::NotFound => ApiError::not_found(),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => ApiError::new(
                ErrorCode::Conflict,
                "A concurrent request changed the same data; retry.",
            ),
            // A deadlock victim was rolled back whole: retrying is safe.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("deadlock detected") =>
            {
                tracing::warn!(error = %error, "deadlock; the transaction was rolled back");
                ApiError::new(
                    ErrorCode::Conflict,
                    "A concurrent request touched the same data; retry.",
                )
            }
            // A row this request refers to went away in the meantime (deleted concurrently).
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                tracing::warn!(error = %error, "foreign key violation");
                ApiError::new(
                    ErrorCode::Conflict,
                    "Something this request refers to has changed; retry.",
                )
            }
            _ => internal_error("database error", &error),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> ApiError {
        tracing::warn!(error = %error, "database pool could not provide a connection");
        ApiError::unavailable()
    }
}

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(error: &diesel::result::Error) -> Option<&str> {
    match error {
        diesel::result::Error::DatabaseError(_, info) => info.constraint_name(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_lost_connection_is_503_with_retry_after() {
        let lost = [
            db_error(DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            db_error(DatabaseErrorKind::ClosedConnection, "closed"),
            db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection because of crash of another server process",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "the database system is shutting down",
            ),
            Error::BrokenTransactionManager,
            Error::RollbackErrorOnCommit {
                rollback_error: Box::new(db_error(
                    DatabaseErrorKind::UnableToSendCommand,
                    "connection closed",
                )),
                commit_error: Box::new(db_error(
                    DatabaseErrorKind::Unknown,
                    "terminating connection due to administrator command",
                )),
            },
        ];
        for error in lost {
            let api = ApiError::from(error);
            assert_eq!(api.code, ErrorCode::ServiceUnavailable);
            assert!(
                api.headers
                    .iter()
                    .any(|(name, _)| name == header::RETRY_AFTER)
            );
        }
    }

    #[test]
    fn only_the_whole_server_message_counts() {
        // User data in an error message must not turn a bug into a "retry later".
        let not_lost = [
            db_error(
                DatabaseErrorKind::Unknown,
                "invalid input: terminating connection due to administrator command",
            ),
            db_error(DatabaseErrorKind::Unknown, "division by zero"),
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key"),
        ];
        for error in &not_lost {
            assert!(!connection_lost(error), "{error}");
        }
        assert_eq!(
            ApiError::from(db_error(DatabaseErrorKind::Unknown, "division by zero")).code,
            ErrorCode::Internal
        );
    }
}
