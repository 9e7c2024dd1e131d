//! Email notification rules (SPEC §16) as plain functions: which mails exist, when a failed
//! one is tried again, and the `Message-ID` that makes a resend recognisably the same mail.

use chrono::Duration;
use uuid::Uuid;

crate::stored_enum! {
    /// The mails the billing contact gets (the representative in copy on corporate accounts);
    /// each is a template under `templates/email/`.
    pub enum NotificationTemplate {
        /// After "Place order"; for an order paid on terms it carries the invoice, its due
        /// date and PO number.
        OrderConfirmation => "order_confirmation",
        /// A corporate renewal's invoice, payable on terms.
        RenewalInvoice => "renewal_invoice",
        /// A self-service renewal paid by card.
        RenewalReceipt => "renewal_receipt",
        /// The first failed collection of an invoice, with the next try's date.
        PaymentFailed => "payment_failed",
        /// Three days before a trial ends.
        TrialEnding => "trial_ending",
        /// The subscription will end at its period end.
        CancellationScheduled => "cancellation_scheduled",
        /// The subscription ended, with the reason.
        SubscriptionCanceled => "subscription_canceled",
        /// To the representative: a corporate contact asks for a change (SPEC §18).
        ChangeRequestSubmitted => "change_request_submitted",
        /// To the representative: the contact withdrew its request.
        ChangeRequestWithdrawn => "change_request_withdrawn",
        /// To the contact: the representative answered with a quote.
        ChangeRequestQuoted => "change_request_quoted",
        /// To the contact: the representative declined, with the reason.
        ChangeRequestDeclined => "change_request_declined",
    }
}

/// Who a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The billing contact, the representative in copy on corporate accounts.
    Contact,
    /// The account's representative (`representative_email`).
    Representative,
}

impl NotificationTemplate {
    pub fn audience(self) -> Audience {
        match self {
            NotificationTemplate::ChangeRequestSubmitted
            | NotificationTemplate::ChangeRequestWithdrawn => Audience::Representative,
            _ => Audience::Contact,
        }
    }
}

crate::stored_enum! {
    /// Where a mail of the outbox stands.
    pub enum NotificationStatus {
        /// Waiting to be sent: due at `next_attempt_at`.
        Pending => "pending",
        /// Accepted by the SMTP server.
        Sent => "sent",
        /// Refused for good, or still failing after the last retry.
        Failed => "failed",
        /// Not sent because no SMTP server is configured (`SMTP_URL` unset).
        Skipped => "skipped",
    }
}

/// The waits after the 1st, 2nd, … transient failure; after the last, the mail fails.
pub const RETRY_SCHEDULE_SECONDS: [i64; 5] = [60, 300, 1_800, 7_200, 21_600];

/// The wait before the next try after `attempts` failed ones, `None` once the mail has
/// failed for good.
pub fn retry_delay(attempts: i32) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_SCHEDULE_SECONDS
        .get(index)
        .map(|seconds| Duration::seconds(*seconds))
}

/// The `Message-ID` of the outbox row `id` (without the angle brackets): every attempt sends
/// the same one, so a mail resent after a crash is recognisably the same mail.
pub fn message_id(id: Uuid, from_address: &str) -> String {
    let domain = from_address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim_end_matches('>'))
        .filter(|domain| !domain.is_empty())
        .unwrap_or("billing-center.invalid");
    format!("{}@{domain}", id.simple())
}

/// The outbox key of a mail: one mail per template and cause (an order, an invoice, a
/// subscription's trial or cancellation), whatever retries write its event again.
pub fn cause_key(template: NotificationTemplate, cause: impl std::fmt::Display) -> String {
    format!("{template}:{cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let waits: Vec<_> = (1..=6).map(retry_delay).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::minutes(1)),
                Some(Duration::minutes(5)),
                Some(Duration::minutes(30)),
                Some(Duration::hours(2)),
                Some(Duration::hours(6)),
                None,
            ]
        );
        assert_eq!(retry_delay(0), None);
    }

    #[test]
    fn the_message_id_is_the_rows_and_the_senders_domain() {
        let id = Uuid::parse_str("0192f0c1-0000-7000-8000-000000000001").unwrap_or_default();
        assert_eq!(
            message_id(id, "Billing <billing@vendor.example>"),
            "0192f0c1000070008000000000000001@vendor.example"
        );
        assert_eq!(
            message_id(id, "nobody"),
            "0192f0c1000070008000000000000001@billing-center.invalid"
        );
    }

    #[test]
    fn a_cause_names_its_template() {
        assert_eq!(
            cause_key(NotificationTemplate::OrderConfirmation, "order:42"),
            "order_confirmation:order:42"
        );
    }
}
