//! A change request's items, checked as cart items held to the representative's rules.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::RequestedItem;
use crate::AppState;
use crate::db::models::{Account, Subscription};
use crate::domain::plan_change::Actor;
use crate::domain::subscription::{SubscriptionStatus, effective_status};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::Caller;
use crate::services::cart::{CartItemInput, resolve, subscription_on_account};
use crate::services::rules::{self, ItemTarget};

/// A validated request: the priced items (targets), and the cancellations with the
/// subscriptions they end.
pub struct Checked {
    pub targets: Vec<ItemTarget>,
    pub cancellations: Vec<(Subscription, bool)>,
}

/// Checks `items` as cart items held to the representative's rules (downgrades allowed; the
/// licence floor and every other rule kept), one item per product; cancellations of a
/// subscription that has not ended.
pub async fn check_items(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    items: &[RequestedItem],
) -> ApiResult<Checked> {
    if items.is_empty() || items.len() > 20 {
        return Err(ApiError::invalid_field("items", "must hold 1 to 20 items"));
    }
    let actor = Actor {
        assisting: true,
        account_kind: account.kind,
    };
    let today = caller.today();
    let mut checked = Checked {
        targets: Vec::new(),
        cancellations: Vec::new(),
    };
    let mut products = Vec::new();
    for item in items {
        let product_id = match item {
            RequestedItem::Cancel {
                subscription_id,
                at_period_end,
            } => {
                let subscription =
                    subscription_on_account(conn, account.id, *subscription_id).await?;
                let status =
                    effective_status(subscription.status, subscription.trial_ends_on, today);
                if status == SubscriptionStatus::Canceled {
                    return Err(ApiError::new(
                        ErrorCode::SubscriptionEnded,
                        "The subscription has already ended.",
                    ));
                }
                let product_id = subscription.product_id;
                checked.cancellations.push((subscription, *at_period_end));
                product_id
            }
            RequestedItem::Change {
                subscription_id,
                plan,
                quantity,
                billing_frequency,
            } => {
                let input = CartItemInput::Change {
                    subscription_id: *subscription_id,
                    plan: plan.clone(),
                    quantity: *quantity,
                    billing_frequency: *billing_frequency,
                };
                target(state, conn, caller, account, actor, &input, &mut checked).await?
            }
            RequestedItem::Subscribe {
                product,
                plan,
                quantity,
                billing_frequency,
            } => {
                let input = CartItemInput::Subscribe {
                    product: product.clone(),
                    plan: plan.clone(),
                    quantity: *quantity,
                    billing_frequency: *billing_frequency,
                };
                target(state, conn, caller, account, actor, &input, &mut checked).await?
            }
        };
        if products.contains(&product_id) {
            return Err(ApiError::invalid_field(
                "items",
                "one item per product: this product is named twice",
            ));
        }
        products.push(product_id);
    }
    Ok(checked)
}

async fn target(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    account: &Account,
    actor: Actor,
    input: &CartItemInput,
    checked: &mut Checked,
) -> ApiResult<Uuid> {
    let (target, current) = resolve(state, conn, account, input).await?;
    rules::check_and_price(
        &state.catalog.get(),
        actor,
        account.currency,
        caller.today(),
        &target,
        current.as_ref(),
    )?;
    let product_id = target.product_id;
    checked.targets.push(target);
    Ok(product_id)
}
