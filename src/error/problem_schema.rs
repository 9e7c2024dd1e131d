//! How a [`Problem`] looks in the OpenAPI document: one plain object with the members every
//! problem has and, as optional members, the extensions some problems carry. The runtime
//! `Problem` keeps its extensions in a map flattened into the body; derived, that map became
//! an `allOf` over an empty object, which code generators turn into unusable types
//! (`Record<string, never> & {…}`).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::{ErrorCode, FieldError, Problem};
use crate::domain::subscription::SubscriptionAction;
use crate::services::engine::price::Requirement;

impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        let mut schema = ProblemSchema::schema();
        if let RefOr::T(Schema::Object(problem)) = &mut schema
            && let Some(RefOr::T(Schema::Object(code))) = problem.properties.get_mut("code")
        {
            code.description = Some(code_description());
        }
        schema
    }
}

impl ToSchema for Problem {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        ProblemSchema::schemas(schemas);
    }
}

/// The `code` member's description: every code the API answers with.
fn code_description() -> String {
    let codes = ErrorCode::ALL
        .iter()
        .map(|code| format!("`{}`", code.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Stable machine-readable code; switch on it, never on `title` or `detail`. A string \
rather than an enum so that a client built today still reads a problem with a code added \
later. The codes: {codes}."
    )
}

/// The body of every error response (RFC 9457, `application/problem+json`). `errors` comes
/// with `validation-failed`; the other optional members come with the codes named in their
/// descriptions.
#[derive(ToSchema)]
#[schema(
    description = "The body of every error response (RFC 9457, `application/problem+json`). \
`errors` comes with `validation-failed`; the other optional members come with the codes named \
in their descriptions."
)]
#[expect(
    dead_code,
    reason = "never built: it only describes `Problem` in the document"
)]
struct ProblemSchema {
    /// URI reference that identifies the problem type: `/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(example = "/problems/licenses-in-use")]
    type_uri: String,
    /// A short, constant summary of the problem type.
    #[schema(example = "Licences are in use")]
    title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599, example = 409)]
    status: u16,
    /// What happened in this case, for people.
    #[schema(example = "5 licences are assigned; unassign 2 before reducing to 3.")]
    detail: String,
    /// Stable machine-readable code (the list: `code_description`).
    #[schema(example = "licenses-in-use")]
    code: String,
    /// `validation-failed`: one entry per invalid field.
    #[schema(required = false)]
    errors: Vec<FieldError>,
    /// `payment-method-required`, `vat-id-required`: everything still open, in the order to
    /// resolve it.
    #[schema(required = false)]
    requirements: Vec<Requirement>,
    /// `trial-expired`, `trial-active`, `already-subscribed`: what to do instead.
    #[schema(required = false)]
    actions: Vec<SubscriptionAction>,
    /// `quote-changed`: the fresh checkout summary (for a checkout, a `QuoteView`; for a
    /// quote's acceptance, the quote's summary priced today). Review it, then retry with its
    /// `quote_etag`.
    #[schema(required = false, value_type = Object)]
    quote: serde_json::Value,
    /// `quote-changed` on a quote's acceptance: the `If-Match` to send with the retry.
    #[schema(required = false, example = "\"qa-3f0c4c9e1b7d4a52a1e6d0b8c2f4e917\"")]
    quote_etag: String,
    /// `quote-stale`: the code of the rule the quote breaks now.
    #[schema(required = false, example = "licenses-in-use")]
    cause: String,
    /// `card-declined`: the gateway's reason.
    #[schema(required = false, example = "insufficient_funds")]
    decline_code: String,
    /// `licenses-in-use`: licences assigned now.
    #[schema(required = false, example = 5)]
    licenses_assigned: i32,
    /// `licenses-in-use`: how many to unassign before the change can be made.
    #[schema(required = false, example = 2)]
    licenses_to_unassign: i32,
    /// `no-licenses-available`: licences free now.
    #[schema(required = false, example = 0)]
    licenses_available: i32,
    /// `no-licenses-available` on a bulk change: the assignments asked for.
    #[schema(required = false, example = 3)]
    licenses_requested: i32,
    /// `no-licenses-available`: the subscription's licences.
    #[schema(required = false, example = 5)]
    quantity: i32,
    /// `version-mismatch`: the resource's version now; read it again and retry.
    #[schema(required = false, example = 4)]
    current_version: i32,
    /// `purchase-order-limit-exceeded`: what is left under the purchase order.
    #[schema(required = false, example = "1200.00")]
    amount_remaining: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code added to `ErrorCode` does not compile here until it has a place in `ALL` too.
    fn position(code: ErrorCode) -> usize {
        use ErrorCode::*;
        match code {
            Unauthenticated => 0,
            NotFound => 1,
            Forbidden => 2,
            DowngradeRequiresAssistance => 3,
            UseCorporatePortal => 4,
            UseBillingCenter => 5,
            ValidationFailed => 6,
            NoChange => 7,
            CartEmpty => 8,
            TrialExpired => 9,
            TrialActive => 10,
            AlreadySubscribed => 11,
            LicensesInUse => 12,
            NoLicensesAvailable => 13,
            PaymentMethodRequired => 14,
            PaymentMethodInvalid => 15,
            VatIdRequired => 16,
            CardDeclined => 17,
            QuoteChanged => 18,
            VersionMismatch => 19,
            IdempotencyKeyRequired => 20,
            IdempotencyKeyReused => 21,
            IdempotencyKeyInUse => 22,
            SubscriptionExists => 23,
            DuplicateEmail => 24,
            DuplicatePayment => 25,
            MalformedRequest => 26,
            PayloadTooLarge => 27,
            RateLimited => 28,
            SubscriptionPastDue => 29,
            UnsupportedMediaType => 30,
            MethodNotAllowed => 31,
            PurchaseOrderExpired => 32,
            PurchaseOrderLimitExceeded => 33,
            PurchaseOrderExists => 34,
            QuoteExpired => 35,
            QuoteNotOpen => 36,
            QuoteStale => 37,
            TestClockAdvancing => 38,
            CancelRequiresAssistance => 39,
            SubscriptionEnded => 40,
            CancellationPending => 41,
            InvoiceNotOpen => 42,
            WebhookUrlNotAllowed => 43,
            WebhookEndpointDisabled => 44,
            ChangeRequestClosed => 45,
            Conflict => 46,
            ServiceUnavailable => 47,
            Internal => 48,
        }
    }

    #[test]
    fn all_lists_every_code_once() {
        for (index, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(position(*code), index, "{}", code.as_str());
        }
        assert_eq!(ErrorCode::ALL.len(), position(ErrorCode::Internal) + 1);
    }

    #[test]
    fn the_code_description_names_every_code() {
        let description = code_description();
        for code in ErrorCode::ALL {
            assert!(description.contains(&format!("`{}`", code.as_str())));
        }
    }
}
