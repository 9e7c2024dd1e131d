//! Subscription status as clients see it, and what the caller may do with one now (SPEC §4).

use chrono::NaiveDate;

use super::account::AccountKind;
use serde::Serialize;

crate::stored_enum! {
    /// The status of a subscription. `trial_expired` is stored by the job that runs the
    /// day after the trial's last day, and derived on read until it has run, so a read
    /// never disagrees with the calendar.
    pub enum SubscriptionStatus {
        Trialing => "trialing",
        TrialExpired => "trial_expired",
        Active => "active",
        /// A renewal is unpaid; service continues (SPEC §13).
        PastDue => "past_due",
        Canceled => "canceled",
    }
}

crate::stored_enum! {
    /// Why a subscription ended (SPEC §13).
    pub enum CancellationReason {
        /// Someone canceled it (at its period end or at once).
        Requested => "requested",
        /// Its renewal could not be collected by the end of dunning.
        PaymentFailed => "payment_failed",
    }
}

/// What a caller may do with a subscription now; portals show buttons from this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionAction {
    /// "Subscribe now": buy the product after (or during) a trial.
    Subscribe,
    /// "Edit subscription": change plan, licences or billing frequency.
    Edit,
    /// Enable the product for users.
    AssignLicenses,
    /// Pay the overdue renewal invoice now.
    Pay,
    /// Attach a new card, which retries the overdue invoice.
    UpdatePaymentMethod,
    /// Undo a pending cancellation ("Pending Cancellation" → active again).
    Reactivate,
}

/// Maps the stored status to the one clients see. `trial_ends_on` is the trial's last day.
pub fn effective_status(
    stored: SubscriptionStatus,
    trial_ends_on: Option<NaiveDate>,
    today: NaiveDate,
) -> SubscriptionStatus {
    match stored {
        SubscriptionStatus::Trialing => match trial_ends_on {
            Some(last_day) if today > last_day => SubscriptionStatus::TrialExpired,
            _ => SubscriptionStatus::Trialing,
        },
        other => other,
    }
}

/// The actions of SPEC §4's table. Every role that reaches an account may take them; rules
/// that depend on the role (downgrades) are checked on the change itself. While a
/// cancellation at period end is pending, `reactivate` takes the place of `edit` (SPEC §13).
pub fn actions(
    status: SubscriptionStatus,
    cancel_pending: bool,
    account_kind: AccountKind,
) -> Vec<SubscriptionAction> {
    let mut actions = status_actions(status);
    if account_kind == AccountKind::Corporate {
        // A corporate invoice is paid on terms, by transfer: no card to pay or replace.
        actions.retain(|a| {
            !matches!(
                a,
                SubscriptionAction::Pay | SubscriptionAction::UpdatePaymentMethod
            )
        });
    }
    if cancel_pending && status != SubscriptionStatus::Canceled {
        actions.retain(|a| *a != SubscriptionAction::Edit);
        actions.insert(0, SubscriptionAction::Reactivate);
    }
    actions
}

fn status_actions(status: SubscriptionStatus) -> Vec<SubscriptionAction> {
    match status {
        SubscriptionStatus::Trialing => {
            vec![
                SubscriptionAction::Subscribe,
                SubscriptionAction::AssignLicenses,
            ]
        }
        SubscriptionStatus::TrialExpired => vec![SubscriptionAction::Subscribe],
        SubscriptionStatus::Active => {
            vec![SubscriptionAction::Edit, SubscriptionAction::AssignLicenses]
        }
        SubscriptionStatus::PastDue => vec![
            SubscriptionAction::Pay,
            SubscriptionAction::UpdatePaymentMethod,
            SubscriptionAction::AssignLicenses,
        ],
        SubscriptionStatus::Canceled => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn a_trial_runs_through_its_last_day() {
        let last = Some(d(2026, 11, 30));
        assert_eq!(
            effective_status(SubscriptionStatus::Trialing, last, d(2026, 11, 30)),
            SubscriptionStatus::Trialing
        );
        assert_eq!(
            effective_status(SubscriptionStatus::Trialing, last, d(2026, 12, 1)),
            SubscriptionStatus::TrialExpired
        );
    }

    #[test]
    fn actions_follow_the_status_table() {
        use SubscriptionAction::*;
        assert_eq!(
            actions(SubscriptionStatus::Trialing, false, SS),
            vec![Subscribe, AssignLicenses]
        );
        assert_eq!(
            actions(SubscriptionStatus::TrialExpired, false, SS),
            vec![Subscribe]
        );
        assert_eq!(
            actions(SubscriptionStatus::Active, false, SS),
            vec![Edit, AssignLicenses]
        );
        assert!(actions(SubscriptionStatus::Canceled, false, SS).is_empty());
        assert_eq!(
            actions(SubscriptionStatus::Active, true, SS),
            vec![Reactivate, AssignLicenses]
        );
        assert_eq!(
            actions(SubscriptionStatus::PastDue, true, SS),
            vec![Reactivate, Pay, UpdatePaymentMethod, AssignLicenses]
        );
        assert!(actions(SubscriptionStatus::Canceled, true, SS).is_empty());
        assert_eq!(
            actions(SubscriptionStatus::PastDue, false, AccountKind::Corporate),
            vec![AssignLicenses]
        );
    }

    const SS: AccountKind = AccountKind::SelfService;
}
