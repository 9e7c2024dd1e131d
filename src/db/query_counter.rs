//! Counts the SQL the application sends, through diesel's instrumentation: every statement
//! (a query, an insert, an update…) and every transaction. `/metrics` exports both, the
//! benchmark divides them by the operations it ran, and tests assert how many statements a
//! request needs. The cost is one relaxed atomic increment per event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// Totals shared by every connection of one pool.
#[derive(Clone, Debug, Default)]
pub struct QueryCounter(Arc<Totals>);

#[derive(Debug, Default)]
struct Totals {
    statements: AtomicU64,
    transactions: AtomicU64,
}

/// What the counter has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCounts {
    /// Statements sent, not counting the transaction control itself (`BEGIN`, `COMMIT`,
    /// `ROLLBACK`, savepoints).
    pub statements: u64,
    /// Transactions begun (top level; savepoints are not counted).
    pub transactions: u64,
}

impl QueryCounts {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: QueryCounts) -> QueryCounts {
        QueryCounts {
            statements: self.statements.saturating_sub(earlier.statements),
            transactions: self.transactions.saturating_sub(earlier.transactions),
        }
    }
}

impl QueryCounter {
    pub fn counts(&self) -> QueryCounts {
        QueryCounts {
            statements: self.0.statements.load(Ordering::Relaxed),
            transactions: self.0.transactions.load(Ordering::Relaxed),
        }
    }

    /// The instrumentation to install on one connection.
    pub fn instrumentation(&self) -> CountingInstrumentation {
        CountingInstrumentation {
            totals: self.0.clone(),
            transaction_control_next: false,
        }
    }
}

/// Installed on each connection (`set_instrumentation`); feeds the pool's counter.
#[derive(Debug)]
pub struct CountingInstrumentation {
    totals: Arc<Totals>,
    /// diesel reports a transaction event just before it sends the `BEGIN`/`COMMIT`/
    /// `ROLLBACK`/savepoint statement on the same connection: that next statement is
    /// transaction control, not one of ours.
    transaction_control_next: bool,
}

impl Instrumentation for CountingInstrumentation {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                if self.transaction_control_next {
                    self.transaction_control_next = false;
                } else {
                    self.totals.statements.fetch_add(1, Ordering::Relaxed);
                }
            }
            InstrumentationEvent::BeginTransaction { depth, .. } => {
                self.transaction_control_next = true;
                if depth.get() == 1 {
                    self.totals.transactions.fetch_add(1, Ordering::Relaxed);
                }
            }
            InstrumentationEvent::CommitTransaction { .. }
            | InstrumentationEvent::RollbackTransaction { .. } => {
                self.transaction_control_next = true;
            }
            _ => {}
        }
    }
}
