//! Subscriptions: read them (with what the caller may do now), and import them from a legacy
//! system without charging (admin).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::auth::reach::{AccountScope, check_reach};
use crate::db::models::{NewSubscription, Subscription};
use crate::db::schema::{accounts, subscriptions};
use crate::domain::account::AccountKind;
use crate::domain::event::EventType;
use crate::domain::money::{Currency, round_to_minor};
use crate::domain::period::{BillingFrequency, Period, request_date_problem};
use crate::domain::subscription::SubscriptionStatus;
use crate::error::{
    ApiError, ApiResult, ErrorCode, FieldError, internal_error, violated_constraint,
};
use crate::pagination::ListParams;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update};
use crate::services::audit::{self, Event};

/// The status an imported subscription starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Active,
    Trialing,
}

/// Body of `POST /v1/accounts/{account_id}/subscriptions` (admin): either
/// `{product, plan, billing_frequency, quantity, status: "active", current_period_start}` or
/// `{product, plan, quantity, status: "trialing", trial_ends_on}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportSubscription {
    /// Product code, e.g. `gotoassist-rs-v4`.
    #[schema(example = "gotoassist-rs-v4")]
    pub product: String,
    /// Plan code of that product, e.g. `standard`.
    #[schema(example = "standard")]
    pub plan: String,
    /// Required for `active`; a trial defaults to `monthly`.
    pub billing_frequency: Option<BillingFrequency>,
    #[schema(minimum = 1, maximum = 10000, example = 5)]
    pub quantity: i32,
    pub status: ImportStatus,
    /// `active` only: the start of the running period; the period must contain today.
    /// Between 2000-01-01 and 2100-12-31.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub current_period_start: Option<NaiveDate>,
    /// `trialing` only: the trial's last day. Between 2000-01-01 and 2100-12-31.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub trial_ends_on: Option<NaiveDate>,
}

/// A subscription row with the codes of its product and plan.
#[derive(Debug, Clone)]
pub struct SubscriptionDetail {
    pub row: Subscription,
    /// The account's kind: what a past-due subscription offers depends on it (SPEC §13).
    pub account_kind: AccountKind,
    pub product_code: String,
    pub plan_code: String,
}

pub fn detail(
    state: &AppState,
    account_kind: AccountKind,
    row: Subscription,
) -> ApiResult<SubscriptionDetail> {
    let catalog = state.catalog.get();
    let (product, plan) = catalog
        .plan(row.plan_id)
        .ok_or_else(|| internal_error("subscription plan missing from catalog", &row.plan_id))?;
    Ok(SubscriptionDetail {
        account_kind,
        product_code: product.code.clone(),
        plan_code: plan.code.clone(),
        row,
    })
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    params: ListParams,
) -> ApiResult<(Vec<SubscriptionDetail>, i64)> {
    let limit = params.limit()?;
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    let rows: Vec<Subscription> = crate::newest_first_page!(
        &mut conn,
        subscriptions,
        account_id,
        params,
        limit,
        Subscription::as_select()
    );
    let details = rows
        .into_iter()
        .map(|row| detail(state, account.kind, row))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((details, limit))
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    subscription_id: Uuid,
) -> ApiResult<SubscriptionDetail> {
    let mut conn = state.pool.get().await?;
    // One round trip on the hot path: the subscription with the account facts reach needs.
    let found: Option<(Subscription, AccountKind, Option<String>)> = subscriptions::table
        .inner_join(accounts::table)
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::id.eq(subscription_id))
        .select((
            Subscription::as_select(),
            accounts::kind,
            accounts::representative_id,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    match found {
        Some((row, kind, representative_id)) => {
            check_reach(
                &caller.principal,
                &AccountScope {
                    id: account_id,
                    kind,
                    representative_id: representative_id.as_deref(),
                },
            )?;
            detail(state, kind, row)
        }
        None => {
            // No such subscription here: answer exactly as for the account (404, or the
            // 403 that points a contact to its portal).
            account_in_reach(&mut conn, caller, account_id).await?;
            Err(ApiError::not_found())
        }
    }
}

/// What an import will insert, once validated against the catalog and the date.
struct ImportPlan {
    product_id: Uuid,
    plan_id: Uuid,
    frequency: BillingFrequency,
    status: SubscriptionStatus,
    period: Option<Period>,
    period_amount: Option<rust_decimal::Decimal>,
    trial_ends_on: Option<NaiveDate>,
}

fn plan_import(
    state: &AppState,
    input: &ImportSubscription,
    currency: Currency,
    today: NaiveDate,
) -> ApiResult<ImportPlan> {
    let catalog = state.catalog.get();
    let mut errors = Vec::new();
    let field = |name: &str, message: &str| FieldError {
        field: name.to_owned(),
        message: message.to_owned(),
    };
    if !(1..=10_000).contains(&input.quantity) {
        errors.push(field("quantity", "must be between 1 and 10000"));
    }
    for (name, date) in [
        ("current_period_start", input.current_period_start),
        ("trial_ends_on", input.trial_ends_on),
    ] {
        if let Some(problem) = date.and_then(request_date_problem) {
            errors.push(field(name, &problem));
        }
    }
    if !errors.is_empty() {
        // Nothing below may compute with an absurd date.
        return Err(ApiError::validation(errors));
    }
    let product = catalog.product_by_code(&input.product);
    let plan = product.and_then(|p| p.plan_by_code(&input.plan));
    if product.is_none() {
        errors.push(field("product", "no such product in the catalog"));
    } else if plan.is_none() {
        errors.push(field("plan", "no such plan for this product"));
    }
    let mut frequency = input.billing_frequency.unwrap_or(BillingFrequency::Monthly);
    let mut period = None;
    let mut period_amount = None;
    let mut trial_ends_on = None;
    match input.status {
        ImportStatus::Active => {
            if input.trial_ends_on.is_some() {
                errors.push(field(
                    "trial_ends_on",
                    "only a trialing subscription has a trial",
                ));
            }
            match input.billing_frequency {
                None => errors.push(field(
                    "billing_frequency",
                    "is required for an active subscription",
                )),
                Some(f) => frequency = f,
            }
            match input.current_period_start {
                None => errors.push(field(
                    "current_period_start",
                    "is required for an active subscription",
                )),
                Some(start) => {
                    let candidate = Period::starting(start, frequency);
                    if !candidate.contains(today) {
                        errors.push(field(
                            "current_period_start",
                            "the period that starts on this date must contain today",
                        ));
                    } else if let Some(plan) = plan {
                        match plan.price_on(frequency, currency, start) {
                            Some(price) => {
                                period_amount = Some(round_to_minor(
                                    price.amount * rust_decimal::Decimal::from(input.quantity),
                                    currency,
                                ));
                                period = Some(candidate);
                            }
                            None => errors.push(field(
                                "plan",
                                "has no price in the account's currency on that date",
                            )),
                        }
                    }
                }
            }
        }
        ImportStatus::Trialing => {
            if input.current_period_start.is_some() {
                errors.push(field(
                    "current_period_start",
                    "only an active subscription has a period",
                ));
            }
            match input.trial_ends_on {
                None => errors.push(field(
                    "trial_ends_on",
                    "is required for a trialing subscription",
                )),
                Some(last_day) => trial_ends_on = Some(last_day),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (Some(product), Some(plan)) = (product, plan) else {
        return Err(ApiError::invalid_field(
            "product",
            "no such product in the catalog",
        ));
    };
    Ok(ImportPlan {
        product_id: product.id,
        plan_id: plan.id,
        frequency,
        status: match input.status {
            ImportStatus::Active => SubscriptionStatus::Active,
            ImportStatus::Trialing => SubscriptionStatus::Trialing,
        },
        period,
        period_amount,
        trial_ends_on,
    })
}

pub async fn import(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    input: ImportSubscription,
) -> ApiResult<SubscriptionDetail> {
    let mut conn = state.pool.get().await?;
    let today = caller.today();
    let row = conn
        .transaction(async |conn| {
            let account = account_in_reach_for_update(conn, caller, account_id).await?;
            if caller.principal.role != Role::Admin {
                return Err(ApiError::forbidden("Only an admin imports subscriptions."));
            }
            let currency = account.currency;
            let plan = plan_import(state, &input, currency, today)?;
            let row: Subscription = diesel::insert_into(subscriptions::table)
                .values(NewSubscription {
                    id: Uuid::now_v7(),
                    account_id,
                    product_id: plan.product_id,
                    plan_id: plan.plan_id,
                    billing_frequency: plan.frequency,
                    quantity: input.quantity,
                    status: plan.status,
                    current_period_start: plan.period.map(|p| p.start),
                    current_period_end: plan.period.map(|p| p.end),
                    period_amount: plan.period_amount,
                    currency,
                    trial_ends_on: plan.trial_ends_on,
                    created_at: caller.now,
                    updated_at: caller.now,
                    billing_anchor_day: plan
                        .period
                        .and_then(|p| i16::try_from(chrono::Datelike::day(&p.start)).ok()),
                })
                .returning(Subscription::as_returning())
                .get_result(conn)
                .await
                .map_err(|e| match violated_constraint(&e) {
                    Some("subscriptions_account_id_product_id_key") => ApiError::new(
                        ErrorCode::SubscriptionExists,
                        format!(
                            "The account already has a subscription to {}.",
                            input.product
                        ),
                    ),
                    _ => ApiError::from(e),
                })?;
            audit::record(
                conn,
                caller,
                Event {
                    account_id: Some(account_id),
                    event_type: EventType::SubscriptionCreated,
                    subject_type: "subscription",
                    subject_id: Some(row.id),
                    before: None,
                    after: crate::services::subscription_view::object(
                        &state.catalog.get(),
                        account.kind,
                        &row,
                        caller.today(),
                    )?,
                    reason: None,
                    notify: None,
                },
            )
            .await?;
            Ok((account.kind, row))
        })
        .await?;
    detail(state, row.0, row.1)
}
