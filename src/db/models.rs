//! Row types, one per table, exactly as stored. Conversions into API shapes live in `http`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::schema::{accounts, audit_events, plans, prices, products, subscriptions, users};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct Product {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub struct Plan {
    pub id: Uuid,
    pub product_id: Uuid,
    pub code: String,
    pub name: String,
    pub rank: i32,
    /// The column's array type allows NULL elements; the catalog never stores one.
    pub features: Vec<Option<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = prices, check_for_backend(diesel::pg::Pg))]
pub struct Price {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: String,
    pub currency: String,
    pub amount: Decimal,
    pub effective_from: NaiveDate,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub country: String,
    pub currency: String,
    pub vat_id: Option<String>,
    pub billing_contact_name: String,
    pub billing_contact_email: String,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub region: Option<String>,
    pub representative_id: Option<String>,
    #[serde(skip)]
    pub payment_method_ref: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub card_exp_month: Option<i16>,
    pub card_exp_year: Option<i16>,
    pub credit_balance: Decimal,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub name: &'a str,
    pub country: &'a str,
    pub currency: &'a str,
    pub vat_id: Option<&'a str>,
    pub billing_contact_name: &'a str,
    pub billing_contact_email: &'a str,
    pub address_line1: Option<&'a str>,
    pub address_line2: Option<&'a str>,
    pub city: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub region: Option<&'a str>,
    pub representative_id: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: String,
    pub quantity: i32,
    pub status: String,
    pub current_period_start: Option<NaiveDate>,
    pub current_period_end: Option<NaiveDate>,
    pub period_amount: Option<Decimal>,
    pub currency: String,
    pub trial_ends_on: Option<NaiveDate>,
    pub licenses_assigned: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct NewSubscription<'a> {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: &'a str,
    pub quantity: i32,
    pub status: &'a str,
    pub current_period_start: Option<NaiveDate>,
    pub current_period_end: Option<NaiveDate>,
    pub period_amount: Option<Decimal>,
    pub currency: &'a str,
    pub trial_ends_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor_sub: String,
    pub actor_role: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub actor_sub: &'a str,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
    pub request_id: &'a str,
    pub created_at: DateTime<Utc>,
}
