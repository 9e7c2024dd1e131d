//! Row types, one per table, exactly as stored. Conversions into API shapes live in `http`.

use crate::auth::Role;
use crate::domain::account::AccountKind;
use crate::domain::change_request::ChangeRequestStatus;
use crate::domain::money::Currency;
use crate::domain::order::{
    CartStatus, InvoiceStatus, ItemKind, OrderStatus, PaymentMethodKind, QuoteStatus, Settlement,
};
use crate::domain::period::BillingFrequency;
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::schema::{
    accounts, cart_items, carts, change_requests, idempotency_keys, invoice_payments, invoices,
    license_assignments, order_items, order_lines, orders, plans, prices, products,
    purchase_orders, quotes, subscriptions, users,
};

mod event_rows;

pub use event_rows::{EventRow, NewEvent};

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
    pub billing_frequency: BillingFrequency,
    pub currency: Currency,
    pub amount: Decimal,
    pub effective_from: NaiveDate,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: Uuid,
    pub kind: AccountKind,
    pub name: String,
    pub country: String,
    pub currency: Currency,
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
    /// Days an invoice of this account is due after it is issued (corporate accounts).
    pub payment_terms_days: i32,
    /// Orders of this account must name a purchase order number.
    pub po_required: bool,
    /// Short human number of the account; prefixes its invoice series.
    pub number: i64,
    /// Invoices issued so far: the account's gapless invoice series.
    #[serde(skip)]
    pub invoices_issued: i32,
    /// The test clock whose time this account lives in (SPEC §15), bound at creation.
    pub test_clock_id: Option<Uuid>,
    /// Copied on the account's mails (corporate accounts, SPEC §16).
    pub representative_email: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub kind: AccountKind,
    pub name: &'a str,
    pub country: &'a str,
    pub currency: Currency,
    pub vat_id: Option<&'a str>,
    pub billing_contact_name: &'a str,
    pub billing_contact_email: &'a str,
    pub address_line1: Option<&'a str>,
    pub address_line2: Option<&'a str>,
    pub city: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub region: Option<&'a str>,
    pub representative_id: Option<&'a str>,
    pub representative_email: Option<&'a str>,
    pub test_clock_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub status: SubscriptionStatus,
    pub current_period_start: Option<NaiveDate>,
    pub current_period_end: Option<NaiveDate>,
    pub period_amount: Option<Decimal>,
    pub currency: Currency,
    pub trial_ends_on: Option<NaiveDate>,
    pub licenses_assigned: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The licences a pending card order will leave, while it reduces them: assignments
    /// stay within it until the order settles.
    pub quantity_pending: Option<i32>,
    /// The day of the month its periods are anchored on (Jan 31 → Feb 28 → Mar 31).
    pub billing_anchor_day: Option<i16>,
    /// Ends at `cancel_at` (its period end) instead of renewing.
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<NaiveDate>,
    /// The day it ended (canceled).
    pub ended_at: Option<NaiveDate>,
    pub cancellation_reason: Option<CancellationReason>,
    pub cancellation_comment: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct NewSubscription {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub status: SubscriptionStatus,
    pub current_period_start: Option<NaiveDate>,
    pub current_period_end: Option<NaiveDate>,
    pub period_amount: Option<Decimal>,
    pub currency: Currency,
    pub trial_ends_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub billing_anchor_day: Option<i16>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = carts, check_for_backend(diesel::pg::Pg))]
pub struct Cart {
    pub id: Uuid,
    pub account_id: Uuid,
    pub status: CartStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = cart_items, check_for_backend(diesel::pg::Pg))]
pub struct CartItem {
    pub id: Uuid,
    pub cart_id: Uuid,
    pub account_id: Uuid,
    #[diesel(column_name = type_)]
    #[serde(rename = "type")]
    pub kind: ItemKind,
    pub product_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub plan_id: Uuid,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct Order {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Drawn by the database on insert (`next_order_number()`).
    #[diesel(skip_insertion)]
    pub number: String,
    pub cart_id: Option<Uuid>,
    pub status: OrderStatus,
    pub settlement: Settlement,
    pub currency: Currency,
    pub quote_date: NaiveDate,
    pub subtotal: Decimal,
    pub tax_rate: Decimal,
    pub tax: Decimal,
    pub reverse_charge: bool,
    pub credit_applied: Decimal,
    pub credit_created: Decimal,
    pub total_due: Decimal,
    pub po_number: Option<String>,
    pub reason: Option<String>,
    pub placed_by_sub: String,
    pub placed_by_role: Role,
    pub idempotency_key: String,
    pub charge_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Set when the order comes from an accepted quote instead of a cart.
    pub quote_id: Option<Uuid>,
    /// The card it is charged to (card settlement only).
    #[serde(skip)]
    pub payment_method_ref: Option<String>,
    /// A paid order that could not be applied: voided first, refunded after.
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    pub refunded_at: Option<DateTime<Utc>>,
    /// Set on a renewal: the subscription it renews (for the period starting on its
    /// `quote_date`).
    pub renews_subscription_id: Option<Uuid>,
    /// Set on a cancellation that credits unused time: the subscription it ends.
    pub cancels_subscription_id: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub struct OrderItem {
    pub id: Uuid,
    pub order_id: Uuid,
    pub account_id: Uuid,
    pub position: i32,
    #[diesel(column_name = type_)]
    #[serde(rename = "type")]
    pub kind: ItemKind,
    pub product_id: Uuid,
    pub subscription_id: Uuid,
    pub plan_id: Uuid,
    pub billing_frequency: BillingFrequency,
    pub quantity: i32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub unit_price: Decimal,
    pub plan_price: Decimal,
    pub proration_credit: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = order_lines, check_for_backend(diesel::pg::Pg))]
pub struct OrderLine {
    pub id: Uuid,
    pub order_id: Uuid,
    pub account_id: Uuid,
    pub order_item_id: Uuid,
    pub position: i32,
    pub description: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = invoices, check_for_backend(diesel::pg::Pg))]
pub struct Invoice {
    pub id: Uuid,
    pub account_id: Uuid,
    pub order_id: Uuid,
    pub number: String,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub subtotal: Decimal,
    pub tax_rate: Decimal,
    pub tax: Decimal,
    pub reverse_charge: bool,
    pub credit_applied: Decimal,
    pub credit_created: Decimal,
    pub total_due: Decimal,
    pub amount_paid: Decimal,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub po_number: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Card collections tried (self-service renewals).
    pub attempt_count: i32,
    /// Why the last card collection failed: `{code, message}`.
    pub last_payment_error: Option<serde_json::Value>,
    /// Collected from the card on file (a self-service renewal) rather than paid on terms.
    pub collected_by_card: bool,
    pub charge_id: Option<String>,
    /// When the first collection attempt failed: dunning counts its retry days from here.
    pub first_failed_at: Option<DateTime<Utc>>,
    /// When the next automatic attempt is due; none after a hard decline or without a card.
    pub next_payment_attempt: Option<DateTime<Utc>>,
    /// When the subscription ends if the invoice is still unpaid and nothing is retried.
    pub dunning_ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyKey {
    pub account_id: Uuid,
    pub key: String,
    pub fingerprint: String,
    pub order_id: Option<Uuid>,
    pub locked_until: Option<DateTime<Utc>>,
    pub response_status: Option<i32>,
    pub response_body: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = license_assignments, check_for_backend(diesel::pg::Pg))]
pub struct LicenseAssignment {
    pub subscription_id: Uuid,
    pub account_id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = purchase_orders, check_for_backend(diesel::pg::Pg))]
pub struct PurchaseOrder {
    pub id: Uuid,
    pub account_id: Uuid,
    pub number: String,
    pub amount_limit: Option<Decimal>,
    pub expires_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = quotes, check_for_backend(diesel::pg::Pg))]
pub struct Quote {
    pub id: Uuid,
    pub account_id: Uuid,
    pub number: String,
    pub status: QuoteStatus,
    pub summary: serde_json::Value,
    pub items: serde_json::Value,
    pub currency: Currency,
    pub total_due: Decimal,
    pub quote_date: NaiveDate,
    pub expires_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The change request this quote answers (SPEC §18).
    pub change_request_id: Option<Uuid>,
    /// Cancellations carried out when the quote is accepted (`[{subscription_id, …}]`).
    pub cancellations: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = invoice_payments, check_for_backend(diesel::pg::Pg))]
pub struct InvoicePayment {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub account_id: Uuid,
    pub amount: Decimal,
    pub method: PaymentMethodKind,
    pub reference: Option<String>,
    pub received_on: NaiveDate,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = change_requests, check_for_backend(diesel::pg::Pg))]
pub struct ChangeRequest {
    pub id: Uuid,
    pub account_id: Uuid,
    pub number: String,
    pub status: ChangeRequestStatus,
    /// The items as asked for (`RequestedItem`s).
    pub items: serde_json::Value,
    pub message: Option<String>,
    pub submitted_by: String,
    pub quote_id: Option<Uuid>,
    pub decline_reason: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
