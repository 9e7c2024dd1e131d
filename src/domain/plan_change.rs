//! The rules of a cart item (SPEC §4): what a `change` or a `subscribe` may do, and who may
//! do it. Checked when the item is put in the cart and again at checkout, against the
//! subscription as it is then.

use super::account::AccountKind;
use super::period::BillingFrequency;
use super::subscription::SubscriptionStatus;

/// Who acts, as far as these rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Representative, support or admin: may downgrade on the customer's behalf.
    pub assisting: bool,
    pub account_kind: AccountKind,
}

/// The subscription as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub status: SubscriptionStatus,
    pub plan_rank: i32,
    pub plan_id: uuid::Uuid,
    pub quantity: i32,
    pub frequency: BillingFrequency,
    pub licenses_assigned: i32,
    /// Canceled at its period end (SPEC §13): reactivate before changing it.
    pub cancellation_pending: bool,
}

/// What the item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub plan_rank: i32,
    pub plan_id: uuid::Uuid,
    pub quantity: i32,
    pub frequency: BillingFrequency,
}

/// Who can help when a contact may not do something itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    CustomerService,
    Representative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// The item would leave the subscription exactly as it is.
    NoChange,
    /// A lower plan tier, asked for by a contact.
    DowngradeRequiresAssistance(Helper),
    /// Fewer licences than are assigned now.
    LicensesInUse { assigned: i32, requested: i32 },
    /// `change` on a trial that has ended: subscribe instead.
    TrialExpired,
    /// `change` on a running trial: subscribe instead.
    TrialActive,
    /// `subscribe` to a product that is already active.
    AlreadySubscribed,
    /// `change` on a subscription that has ended.
    NotActive,
    /// `change` by a contact while a renewal is unpaid: pay it first (SPEC §13).
    PastDue,
    /// `change` while a cancellation at period end is pending: reactivate first (SPEC §13).
    CancellationPending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
    SameTier,
}

pub fn direction(current_rank: i32, target_rank: i32) -> Direction {
    match target_rank.cmp(&current_rank) {
        std::cmp::Ordering::Greater => Direction::Upgrade,
        std::cmp::Ordering::Less => Direction::Downgrade,
        std::cmp::Ordering::Equal => Direction::SameTier,
    }
}

fn helper_for(kind: AccountKind) -> Helper {
    match kind {
        AccountKind::SelfService => Helper::CustomerService,
        AccountKind::Corporate => Helper::Representative,
    }
}

fn licences_cover_assignments(current: &Current, quantity: i32) -> Result<(), Violation> {
    if quantity < current.licenses_assigned {
        return Err(Violation::LicensesInUse {
            assigned: current.licenses_assigned,
            requested: quantity,
        });
    }
    Ok(())
}

/// A `change` item: a new plan and/or quantity and/or frequency for an active subscription.
pub fn check_change(
    actor: Actor,
    current: &Current,
    target: &Target,
) -> Result<Direction, Violation> {
    match current.status {
        SubscriptionStatus::Active => {}
        // Representative, support and admin may still change it; a contact pays first.
        SubscriptionStatus::PastDue if actor.assisting => {}
        SubscriptionStatus::PastDue => return Err(Violation::PastDue),
        SubscriptionStatus::Trialing => return Err(Violation::TrialActive),
        SubscriptionStatus::TrialExpired => return Err(Violation::TrialExpired),
        SubscriptionStatus::Canceled => return Err(Violation::NotActive),
    }
    // Never silently clears the pending cancellation.
    if current.cancellation_pending {
        return Err(Violation::CancellationPending);
    }
    if current.plan_id == target.plan_id
        && current.quantity == target.quantity
        && current.frequency == target.frequency
    {
        return Err(Violation::NoChange);
    }
    let direction = direction(current.plan_rank, target.plan_rank);
    if direction == Direction::Downgrade && !actor.assisting {
        return Err(Violation::DowngradeRequiresAssistance(helper_for(
            actor.account_kind,
        )));
    }
    licences_cover_assignments(current, target.quantity)?;
    Ok(direction)
}

/// A `subscribe` item: buy a product that has no active subscription (after or during a
/// trial, or never tried). A trial's assigned licences must fit the bought quantity.
pub fn check_subscribe(current: Option<&Current>, target: &Target) -> Result<(), Violation> {
    match current {
        None => Ok(()),
        Some(current)
            if matches!(
                current.status,
                SubscriptionStatus::Active | SubscriptionStatus::PastDue
            ) =>
        {
            Err(Violation::AlreadySubscribed)
        }
        Some(current) => licences_cover_assignments(current, target.quantity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const BASIC: Uuid = Uuid::from_u128(1);
    const PREMIUM: Uuid = Uuid::from_u128(2);

    fn contact() -> Actor {
        Actor {
            assisting: false,
            account_kind: AccountKind::SelfService,
        }
    }

    fn current(status: SubscriptionStatus) -> Current {
        Current {
            status,
            plan_rank: 2,
            plan_id: PREMIUM,
            quantity: 10,
            frequency: BillingFrequency::Monthly,
            licenses_assigned: 4,
            cancellation_pending: false,
        }
    }

    fn target(plan_id: Uuid, plan_rank: i32, quantity: i32, frequency: BillingFrequency) -> Target {
        Target {
            plan_rank,
            plan_id,
            quantity,
            frequency,
        }
    }

    #[test]
    fn contacts_upgrade_and_change_licences_and_frequency() {
        let active = current(SubscriptionStatus::Active);
        assert_eq!(
            check_change(
                contact(),
                &active,
                &target(Uuid::from_u128(3), 3, 10, BillingFrequency::Monthly)
            ),
            Ok(Direction::Upgrade)
        );
        assert_eq!(
            check_change(
                contact(),
                &active,
                &target(PREMIUM, 2, 4, BillingFrequency::Annual)
            ),
            Ok(Direction::SameTier)
        );
    }

    #[test]
    fn downgrades_need_assistance_naming_who_helps() {
        let active = current(SubscriptionStatus::Active);
        let down = target(BASIC, 1, 10, BillingFrequency::Monthly);
        assert_eq!(
            check_change(contact(), &active, &down),
            Err(Violation::DowngradeRequiresAssistance(
                Helper::CustomerService
            ))
        );
        let corporate_contact = Actor {
            assisting: false,
            account_kind: AccountKind::Corporate,
        };
        assert_eq!(
            check_change(corporate_contact, &active, &down),
            Err(Violation::DowngradeRequiresAssistance(
                Helper::Representative
            ))
        );
        let support = Actor {
            assisting: true,
            account_kind: AccountKind::SelfService,
        };
        assert_eq!(
            check_change(support, &active, &down),
            Ok(Direction::Downgrade)
        );
    }

    #[test]
    fn licences_never_go_below_the_assigned_count() {
        let active = current(SubscriptionStatus::Active);
        assert_eq!(
            check_change(
                contact(),
                &active,
                &target(PREMIUM, 2, 3, BillingFrequency::Monthly)
            ),
            Err(Violation::LicensesInUse {
                assigned: 4,
                requested: 3
            })
        );
    }

    #[test]
    fn a_change_that_changes_nothing_is_refused() {
        let active = current(SubscriptionStatus::Active);
        assert_eq!(
            check_change(
                contact(),
                &active,
                &target(PREMIUM, 2, 10, BillingFrequency::Monthly)
            ),
            Err(Violation::NoChange)
        );
    }

    #[test]
    fn trials_point_to_subscribe() {
        let t = target(PREMIUM, 2, 10, BillingFrequency::Annual);
        assert_eq!(
            check_change(contact(), &current(SubscriptionStatus::Trialing), &t),
            Err(Violation::TrialActive)
        );
        assert_eq!(
            check_change(contact(), &current(SubscriptionStatus::TrialExpired), &t),
            Err(Violation::TrialExpired)
        );
        assert_eq!(
            check_subscribe(Some(&current(SubscriptionStatus::TrialExpired)), &t),
            Ok(())
        );
        assert_eq!(check_subscribe(None, &t), Ok(()));
        assert_eq!(
            check_subscribe(Some(&current(SubscriptionStatus::Active)), &t),
            Err(Violation::AlreadySubscribed)
        );
        let too_few = target(PREMIUM, 2, 2, BillingFrequency::Annual);
        assert_eq!(
            check_subscribe(Some(&current(SubscriptionStatus::Trialing)), &too_few),
            Err(Violation::LicensesInUse {
                assigned: 4,
                requested: 2
            })
        );
    }
}
