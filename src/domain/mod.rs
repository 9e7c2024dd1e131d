//! The product's rules as plain functions over plain values: no actix, no diesel. Everything
//! here is unit-tested without HTTP or SQL.

pub mod account;
pub mod catalog;
pub mod country;
pub mod money;
pub mod period;
pub mod plan_change;
pub mod proration;
pub mod quote;
pub mod subscription;
pub mod tax;
pub mod vat;
