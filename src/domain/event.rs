//! What an event says happened (SPEC §14): its type names the resource and the change.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

macro_rules! event_types {
    ($($(#[$meta:meta])* $variant:ident => $text:literal,)+) => {
        /// The type of an event: `<resource>.<change>`.
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            Serialize,
            Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum EventType {
            $($(#[$meta])* #[serde(rename = $text)] $variant,)+
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for EventType {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(EventType::$variant),)+
                    other => Err(format!("unknown event type {other:?}")),
                }
            }
        }
    };
}

event_types! {
    AccountCreated => "account.created",
    AccountUpdated => "account.updated",
    SubscriptionCreated => "subscription.created",
    SubscriptionUpdated => "subscription.updated",
    SubscriptionRenewed => "subscription.renewed",
    SubscriptionPastDue => "subscription.past_due",
    SubscriptionCancellationScheduled => "subscription.cancellation_scheduled",
    SubscriptionReactivated => "subscription.reactivated",
    SubscriptionCanceled => "subscription.canceled",
    SubscriptionTrialWillEnd => "subscription.trial_will_end",
    SubscriptionTrialExpired => "subscription.trial_expired",
    OrderPlaced => "order.placed",
    /// A checkout's card was declined: nothing changed but the order's record.
    OrderPaymentFailed => "order.payment_failed",
    OrderVoided => "order.voided",
    InvoiceCreated => "invoice.created",
    InvoicePaid => "invoice.paid",
    InvoicePaymentFailed => "invoice.payment_failed",
    /// Money received that leaves the invoice open (part of its total).
    InvoicePaymentRecorded => "invoice.payment_recorded",
    InvoiceUncollectible => "invoice.uncollectible",
    LicenseAssigned => "license.assigned",
    LicenseUnassigned => "license.unassigned",
    QuoteSent => "quote.sent",
    QuoteAccepted => "quote.accepted",
    QuoteRejected => "quote.rejected",
    QuoteWithdrawn => "quote.withdrawn",
    CartItemAdded => "cart.item_added",
    CartItemReplaced => "cart.item_replaced",
    CartItemChanged => "cart.item_changed",
    CartItemRemoved => "cart.item_removed",
    UserCreated => "user.created",
    UserDeleted => "user.deleted",
    PurchaseOrderCreated => "purchase_order.created",
    WebhookEndpointCreated => "webhook_endpoint.created",
    WebhookEndpointUpdated => "webhook_endpoint.updated",
    WebhookEndpointDeleted => "webhook_endpoint.deleted",
    WebhookEndpointSecretRotated => "webhook_endpoint.secret_rotated",
    WebhookEndpointDisabled => "webhook_endpoint.disabled",
    /// Sent by `POST /v1/webhook-endpoints/{id}/test` to that endpoint only.
    WebhookTest => "webhook.test",
    TestClockCreated => "test_clock.created",
    TestClockAdvanced => "test_clock.advanced",
    TestClockDeleted => "test_clock.deleted",
    ChangeRequestSubmitted => "change_request.submitted",
    ChangeRequestQuoted => "change_request.quoted",
    ChangeRequestDeclined => "change_request.declined",
    ChangeRequestWithdrawn => "change_request.withdrawn",
    ChangeRequestCompleted => "change_request.completed",
}

// By hand: the derive would name the variants, not the names on the wire, because the names
// reach it through `event_types!`.
impl utoipa::PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The type of an event: `<resource>.<change>`."))
            .enum_values(Some(EventType::ALL.iter().map(|t| t.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for EventType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventType")
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filter of event types: an exact type, `prefix.*` or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypePattern {
    Any,
    Prefix(String),
    Exact(EventType),
}

impl TypePattern {
    /// `None` when the text names no type and no resource of one.
    pub fn parse(text: &str) -> Option<TypePattern> {
        if text == "*" {
            return Some(TypePattern::Any);
        }
        if let Some(prefix) = text.strip_suffix(".*") {
            let known = EventType::ALL
                .iter()
                .any(|t| t.as_str().split('.').next() == Some(prefix));
            return known.then(|| TypePattern::Prefix(prefix.to_owned()));
        }
        text.parse().ok().map(TypePattern::Exact)
    }

    pub fn matches(&self, event_type: EventType) -> bool {
        match self {
            TypePattern::Any => true,
            TypePattern::Prefix(prefix) => event_type.as_str().split('.').next() == Some(prefix),
            TypePattern::Exact(t) => *t == event_type,
        }
    }
}

/// The fields of `before` whose values differ in `after`, with their old values: an event's
/// `previous_attributes`. Both are the resource as the API shows it.
pub fn previous_attributes(
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> serde_json::Value {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return before.clone();
    };
    let changed = before
        .iter()
        .filter(|(key, value)| after.get(key.as_str()) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    serde_json::Value::Object(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_attributes_keep_only_what_changed_with_old_values() {
        let before = json!({"id": 1, "quantity": 5, "plan": "standard", "version": 3});
        let after = json!({"id": 1, "quantity": 8, "plan": "standard", "version": 4});
        assert_eq!(
            previous_attributes(&before, &after),
            json!({"quantity": 5, "version": 3})
        );
    }

    #[test]
    fn a_field_that_disappears_is_a_change() {
        let before = json!({"a": 1, "b": null});
        let after = json!({"a": 1});
        assert_eq!(previous_attributes(&before, &after), json!({"b": null}));
    }

    #[test]
    fn patterns_match_types_prefixes_and_everything() {
        let exact = TypePattern::parse("invoice.paid").unwrap();
        let prefix = TypePattern::parse("subscription.*").unwrap();
        let any = TypePattern::parse("*").unwrap();
        assert!(exact.matches(EventType::InvoicePaid));
        assert!(!exact.matches(EventType::InvoiceCreated));
        assert!(prefix.matches(EventType::SubscriptionRenewed));
        assert!(!prefix.matches(EventType::OrderPlaced));
        assert!(any.matches(EventType::WebhookTest));
        assert_eq!(TypePattern::parse("subscription.nope"), None);
        assert_eq!(TypePattern::parse("nothing.*"), None);
        assert_eq!(TypePattern::parse("subscriptions"), None);
    }

    #[test]
    fn every_type_round_trips_through_its_text() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(*t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
    }
}
