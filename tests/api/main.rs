//! API tests: the real application, over HTTP semantics, against real PostgreSQL — each test
//! on its own fresh database.

// A failed setup step should stop the test loudly: panicking is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod db;
mod helpers;
mod over_time;
mod receiver;
mod smtp_sink;

mod accounts;
mod auth;
mod cancellation;
mod catalog;
mod change_requests;
mod checkout;
mod constraints;
mod container;
mod corporate;
mod dunning;
mod edge;
mod enums;
mod errors;
mod event_coverage;
mod faults;
mod first_run;
mod licenses;
mod lists;
mod matrix;
mod notifications;
mod openapi;
mod ops;
mod order_settlement;
mod payments;
mod quote_acceptance;
mod reconcile;
mod renewals;
mod statements;
mod subscriptions;
mod test_clock_advances;
mod test_clocks;
mod users;
mod webhook_deliveries;
mod webhooks;
