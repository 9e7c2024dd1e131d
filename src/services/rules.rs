//! Glue between stored rows and the pure rules of `domain::plan_change` and `domain::quote`:
//! one place that turns a cart item and its subscription into a checked, priced item, used
//! when an item is put in the cart, for the checkout summary, and again at checkout.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::{Account, Subscription};
use crate::domain::account::AccountKind;
use crate::domain::catalog::{Catalog, CatalogPlan, CatalogProduct};
use crate::domain::money::Currency;
use crate::domain::period::{BillingFrequency, Period};
use crate::domain::plan_change::{
    Actor, Current, Helper, Target, Violation, check_change, check_subscribe,
};
use crate::domain::quote::{PricedItem, ReplacedPeriod};
use crate::domain::subscription::{SubscriptionStatus, effective_status};
use crate::error::{ApiError, ApiResult, ErrorCode, internal_error};

/// What a cart item asks for, with everything resolved to catalog ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemTarget {
    pub item_id: Uuid,
    pub subscribe: bool,
    pub product_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub plan_id: Uuid,
    pub frequency: BillingFrequency,
    pub quantity: i32,
}

pub fn actor(principal: &Principal, account: &Account) -> ApiResult<Actor> {
    Ok(Actor {
        assisting: principal.role.is_assisting(),
        account_kind: account.kind,
    })
}

fn current_of(
    catalog: &Catalog,
    subscription: &Subscription,
    today: NaiveDate,
) -> ApiResult<Current> {
    let (_, plan) = catalog.plan(subscription.plan_id).ok_or_else(|| {
        internal_error(
            "subscription plan missing from catalog",
            &subscription.plan_id,
        )
    })?;
    Ok(Current {
        status: effective_status(subscription.status, subscription.trial_ends_on, today),
        plan_rank: plan.rank,
        plan_id: plan.id,
        quantity: subscription.quantity,
        frequency: subscription.billing_frequency,
        licenses_assigned: subscription.licenses_assigned,
        cancellation_pending: subscription.cancel_at_period_end
            && subscription.status != SubscriptionStatus::Canceled,
    })
}

/// The problem a broken rule answers with.
pub fn violation_error(violation: Violation) -> ApiError {
    match violation {
        Violation::NoChange => ApiError::new(
            ErrorCode::NoChange,
            "The item asks for the plan, licences and billing frequency the subscription already has.",
        ),
        Violation::DowngradeRequiresAssistance(Helper::CustomerService) => ApiError::new(
            ErrorCode::DowngradeRequiresAssistance,
            "A lower plan tier cannot be ordered online: contact customer service, who can downgrade the subscription for you.",
        ),
        Violation::DowngradeRequiresAssistance(Helper::Representative) => ApiError::new(
            ErrorCode::DowngradeRequiresAssistance,
            "A lower plan tier cannot be ordered online: ask your representative, who can downgrade the subscription for you.",
        ),
        Violation::LicensesInUse {
            assigned,
            requested,
        } => ApiError::new(
            ErrorCode::LicensesInUse,
            format!(
                "{assigned} licences are assigned; unassign {} before reducing to {requested}.",
                assigned - requested
            ),
        )
        .with_extension("licenses_assigned", serde_json::json!(assigned))
        .with_extension(
            "licenses_to_unassign",
            serde_json::json!(assigned - requested),
        ),
        Violation::TrialExpired => ApiError::new(
            ErrorCode::TrialExpired,
            "The trial has ended: add a `subscribe` item to buy the product.",
        )
        .with_extension("actions", serde_json::json!(["subscribe"])),
        Violation::TrialActive => ApiError::new(
            ErrorCode::TrialActive,
            "The subscription is a running trial: add a `subscribe` item to buy the product.",
        )
        .with_extension("actions", serde_json::json!(["subscribe"])),
        Violation::AlreadySubscribed => ApiError::new(
            ErrorCode::AlreadySubscribed,
            "The product is already subscribed: add a `change` item to edit the subscription.",
        )
        .with_extension("actions", serde_json::json!(["edit"])),
        Violation::NotActive => ApiError::new(
            ErrorCode::Conflict,
            "The subscription has ended and cannot be changed; subscribe again instead.",
        ),
        Violation::CancellationPending => ApiError::new(
            ErrorCode::CancellationPending,
            "The subscription is canceled at its period end; reactivate it before changing it.",
        ),
        Violation::PastDue => ApiError::new(
            ErrorCode::SubscriptionPastDue,
            "A renewal invoice of this subscription is unpaid: pay it (or attach a new card) before changing the subscription.",
        )
        .with_extension("actions", serde_json::json!(["pay", "update_payment_method"])),
    }
}

fn product_and_plan<'a>(
    catalog: &'a Catalog,
    target: &ItemTarget,
) -> ApiResult<(&'a CatalogProduct, &'a CatalogPlan)> {
    let product = catalog
        .product(target.product_id)
        .ok_or_else(|| internal_error("unknown product", &target.product_id))?;
    let plan = product
        .plans
        .iter()
        .find(|p| p.id == target.plan_id)
        .ok_or_else(|| internal_error("unknown plan", &target.plan_id))?;
    Ok((product, plan))
}

/// Checks an item's rules against the subscription as it is now (`current` is the
/// account's subscription to the item's product, if any) and prices it on `today`.
pub fn check_and_price(
    catalog: &Catalog,
    actor: Actor,
    currency: Currency,
    today: NaiveDate,
    target: &ItemTarget,
    current: Option<&Subscription>,
) -> ApiResult<PricedItem> {
    let (product, plan) = product_and_plan(catalog, target)?;
    let wanted = Target {
        plan_rank: plan.rank,
        plan_id: plan.id,
        quantity: target.quantity,
        frequency: target.frequency,
    };
    let current_state = current.map(|s| current_of(catalog, s, today)).transpose()?;
    let replaced = if target.subscribe {
        check_subscribe(current_state.as_ref(), &wanted).map_err(violation_error)?;
        None
    } else {
        let (subscription, state) = match (current, current_state.as_ref()) {
            (Some(s), Some(state)) if Some(s.id) == target.subscription_id => (s, state),
            _ => {
                return Err(ApiError::invalid_field(
                    "subscription_id",
                    "no such subscription on this account",
                ));
            }
        };
        check_change(actor, state, &wanted).map_err(violation_error)?;
        let (_, old_plan) = catalog.plan(subscription.plan_id).ok_or_else(|| {
            internal_error(
                "subscription plan missing from catalog",
                &subscription.plan_id,
            )
        })?;
        match (
            subscription.current_period_start,
            subscription.current_period_end,
            subscription.period_amount,
        ) {
            (Some(start), Some(end), Some(amount)) => Some(ReplacedPeriod {
                plan_name: old_plan.name.clone(),
                quantity: subscription.quantity,
                period: Period { start, end },
                period_amount: amount,
            }),
            _ => {
                return Err(internal_error(
                    "active subscription without a period",
                    &subscription.id,
                ));
            }
        }
    };
    let price = plan
        .price_on(target.frequency, currency, today)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "plan",
                format!("has no {} price in {currency} today", target.frequency),
            )
        })?;
    Ok(PricedItem {
        item_id: target.item_id,
        product_name: product.name.clone(),
        plan_name: plan.name.clone(),
        frequency: target.frequency,
        quantity: target.quantity,
        unit_price: price.amount,
        replaced,
    })
}

/// Whether the account may be charged by card, or settles by invoice.
pub fn settles_by_invoice(account: &Account) -> ApiResult<bool> {
    Ok(account.kind == AccountKind::Corporate)
}
