//! A subscription as the API shows it — in responses and in events' `data.object`.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::Subscription;
use crate::db::schema::accounts;
use crate::domain::account::AccountKind;
use crate::domain::catalog::Catalog;
use crate::domain::money::Currency;
use crate::domain::period::BillingFrequency;
use crate::domain::subscription::{
    CancellationReason, SubscriptionAction, SubscriptionStatus, actions, effective_status,
};
use crate::error::{ApiResult, internal_error};
use crate::services::audit::snapshot;
use crate::services::subscriptions::SubscriptionDetail;

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Product code.
    #[schema(example = "gotoassist-rs-v4")]
    pub product: String,
    /// Plan code.
    #[schema(example = "standard")]
    pub plan: String,
    pub billing_frequency: BillingFrequency,
    /// Licences, 1..=10000.
    #[schema(example = 5)]
    pub quantity: i32,
    pub status: SubscriptionStatus,
    pub current_period_start: Option<NaiveDate>,
    /// Exclusive: the period is `[start, end)`.
    pub current_period_end: Option<NaiveDate>,
    /// What was charged for the current period.
    #[schema(value_type = Option<String>, example = "490.00")]
    pub period_amount: Option<Decimal>,
    pub currency: Currency,
    /// The trial's last day.
    pub trial_ends_on: Option<NaiveDate>,
    #[schema(example = 2)]
    pub licenses_assigned: i32,
    /// What the caller may do now (`subscribe`, `edit`, `reactivate`, `assign_licenses`,
    /// `pay`, `update_payment_method`).
    pub actions: Vec<SubscriptionAction>,
    #[schema(example = 1)]
    pub version: i32,
    /// Ends at `cancel_at` instead of renewing ("Pending Cancellation").
    pub cancel_at_period_end: bool,
    /// The first day it no longer runs: its period end (the day after a trial's last day).
    #[schema(example = "2027-01-17")]
    pub cancel_at: Option<NaiveDate>,
    /// The day it ended, once `canceled`.
    #[schema(example = json!(null))]
    pub ended_at: Option<NaiveDate>,
    /// Why it ended: `requested` or `payment_failed`.
    pub cancellation_reason: Option<CancellationReason>,
    /// The text given when it was canceled.
    #[schema(example = "Moving to another product")]
    pub cancellation_comment: Option<String>,
}

pub fn view(detail: SubscriptionDetail, today: NaiveDate) -> SubscriptionView {
    let row = detail.row;
    let status = effective_status(row.status, row.trial_ends_on, today);
    SubscriptionView {
        id: row.id,
        account_id: row.account_id,
        product: detail.product_code,
        plan: detail.plan_code,
        billing_frequency: row.billing_frequency,
        quantity: row.quantity,
        status,
        current_period_start: row.current_period_start,
        current_period_end: row.current_period_end,
        period_amount: row.period_amount,
        currency: row.currency,
        trial_ends_on: row.trial_ends_on,
        licenses_assigned: row.licenses_assigned,
        actions: actions(status, row.cancel_at_period_end, detail.account_kind),
        version: row.version,
        cancel_at_period_end: row.cancel_at_period_end,
        cancel_at: row.cancel_at,
        ended_at: row.ended_at,
        cancellation_reason: row.cancellation_reason,
        cancellation_comment: row.cancellation_comment,
    }
}

/// The view of a row, with its product and plan codes from the catalog.
pub fn view_of(
    catalog: &Catalog,
    account_kind: AccountKind,
    row: Subscription,
    today: NaiveDate,
) -> ApiResult<SubscriptionView> {
    let (product, plan) = catalog
        .plan(row.plan_id)
        .ok_or_else(|| internal_error("subscription plan missing from catalog", &row.plan_id))?;
    let detail = SubscriptionDetail {
        account_kind,
        product_code: product.code.clone(),
        plan_code: plan.code.clone(),
        row,
    };
    Ok(view(detail, today))
}

/// The subscription as the API shows it, for an event's `data.object`.
pub fn object(
    catalog: &Catalog,
    account_kind: AccountKind,
    row: &Subscription,
    today: NaiveDate,
) -> ApiResult<Option<serde_json::Value>> {
    Ok(snapshot(&view_of(
        catalog,
        account_kind,
        row.clone(),
        today,
    )?))
}

/// The views before and after a change, for `data.object` and `previous_attributes`, when
/// the account's kind is not at hand (one read of it).
pub async fn before_and_after(
    conn: &mut AsyncPgConnection,
    catalog: &Catalog,
    before: &Subscription,
    after: &Subscription,
    today: NaiveDate,
) -> ApiResult<(Option<serde_json::Value>, Option<serde_json::Value>)> {
    let kind = account_kind(conn, after.account_id).await?;
    Ok((
        object(catalog, kind, before, today)?,
        object(catalog, kind, after, today)?,
    ))
}

pub async fn account_kind(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> ApiResult<AccountKind> {
    Ok(accounts::table
        .find(account_id)
        .select(accounts::kind)
        .first(conn)
        .await?)
}
