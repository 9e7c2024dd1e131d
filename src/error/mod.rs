//! One error type for the whole API, rendered in one place as an RFC 9457 problem
//! (`application/problem+json`) with a stable `code`. Database and pool errors are mapped here
//! too, so no handler decides on its own how a failure looks; a 500 says nothing internal and
//! is logged once, with everything, where it is rendered.

mod database;
mod problem_schema;

pub use database::{connection_lost, violated_constraint};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Stable problem codes (SPEC §12). Clients switch on these, never on `title` or `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    NotFound,
    Forbidden,
    DowngradeRequiresAssistance,
    UseCorporatePortal,
    UseBillingCenter,
    ValidationFailed,
    NoChange,
    CartEmpty,
    TrialExpired,
    TrialActive,
    AlreadySubscribed,
    LicensesInUse,
    NoLicensesAvailable,
    PaymentMethodRequired,
    PaymentMethodInvalid,
    VatIdRequired,
    CardDeclined,
    QuoteChanged,
    VersionMismatch,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    SubscriptionExists,
    DuplicateEmail,
    DuplicatePayment,
    MalformedRequest,
    PayloadTooLarge,
    RateLimited,
    SubscriptionPastDue,
    UnsupportedMediaType,
    MethodNotAllowed,
    PurchaseOrderExpired,
    PurchaseOrderLimitExceeded,
    PurchaseOrderExists,
    QuoteExpired,
    QuoteNotOpen,
    QuoteStale,
    TestClockAdvancing,
    CancelRequiresAssistance,
    SubscriptionEnded,
    CancellationPending,
    InvoiceNotOpen,
    WebhookUrlNotAllowed,
    WebhookEndpointDisabled,
    ChangeRequestClosed,
    Conflict,
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (listed in the OpenAPI document's `Problem.code`).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Unauthenticated,
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::DowngradeRequiresAssistance,
        ErrorCode::UseCorporatePortal,
        ErrorCode::UseBillingCenter,
        ErrorCode::ValidationFailed,
        ErrorCode::NoChange,
        ErrorCode::CartEmpty,
        ErrorCode::TrialExpired,
        ErrorCode::TrialActive,
        ErrorCode::AlreadySubscribed,
        ErrorCode::LicensesInUse,
        ErrorCode::NoLicensesAvailable,
        ErrorCode::PaymentMethodRequired,
        ErrorCode::PaymentMethodInvalid,
        ErrorCode::VatIdRequired,
        ErrorCode::CardDeclined,
        ErrorCode::QuoteChanged,
        ErrorCode::VersionMismatch,
        ErrorCode::IdempotencyKeyRequired,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::IdempotencyKeyInUse,
        ErrorCode::SubscriptionExists,
        ErrorCode::DuplicateEmail,
        ErrorCode::DuplicatePayment,
        ErrorCode::MalformedRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::SubscriptionPastDue,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PurchaseOrderExpired,
        ErrorCode::PurchaseOrderLimitExceeded,
        ErrorCode::PurchaseOrderExists,
        ErrorCode::QuoteExpired,
        ErrorCode::QuoteNotOpen,
        ErrorCode::QuoteStale,
        ErrorCode::TestClockAdvancing,
        ErrorCode::CancelRequiresAssistance,
        ErrorCode::SubscriptionEnded,
        ErrorCode::CancellationPending,
        ErrorCode::InvoiceNotOpen,
        ErrorCode::WebhookUrlNotAllowed,
        ErrorCode::WebhookEndpointDisabled,
        ErrorCode::ChangeRequestClosed,
        ErrorCode::Conflict,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthenticated => "unauthenticated",
            NotFound => "not-found",
            Forbidden => "forbidden",
            DowngradeRequiresAssistance => "downgrade-requires-assistance",
            UseCorporatePortal => "use-corporate-portal",
            UseBillingCenter => "use-billing-center",
            ValidationFailed => "validation-failed",
            NoChange => "no-change",
            CartEmpty => "cart-empty",
            TrialExpired => "trial-expired",
            TrialActive => "trial-active",
            AlreadySubscribed => "already-subscribed",
            LicensesInUse => "licenses-in-use",
            NoLicensesAvailable => "no-licenses-available",
            PaymentMethodRequired => "payment-method-required",
            PaymentMethodInvalid => "payment-method-invalid",
            VatIdRequired => "vat-id-required",
            CardDeclined => "card-declined",
            QuoteChanged => "quote-changed",
            VersionMismatch => "version-mismatch",
            IdempotencyKeyRequired => "idempotency-key-required",
            IdempotencyKeyReused => "idempotency-key-reused",
            IdempotencyKeyInUse => "idempotency-key-in-use",
            SubscriptionExists => "subscription-exists",
            DuplicateEmail => "duplicate-email",
            DuplicatePayment => "duplicate-payment",
            MalformedRequest => "malformed-request",
            PayloadTooLarge => "payload-too-large",
            RateLimited => "rate-limited",
            SubscriptionPastDue => "subscription-past-due",
            UnsupportedMediaType => "unsupported-media-type",
            MethodNotAllowed => "method-not-allowed",
            PurchaseOrderExpired => "purchase-order-expired",
            PurchaseOrderLimitExceeded => "purchase-order-limit-exceeded",
            PurchaseOrderExists => "purchase-order-exists",
            QuoteExpired => "quote-expired",
            QuoteNotOpen => "quote-not-open",
            QuoteStale => "quote-stale",
            TestClockAdvancing => "test-clock-advancing",
            CancelRequiresAssistance => "cancel-requires-assistance",
            SubscriptionEnded => "subscription-ended",
            CancellationPending => "cancellation-pending",
            InvoiceNotOpen => "invoice-not-open",
            WebhookUrlNotAllowed => "webhook-url-not-allowed",
            WebhookEndpointDisabled => "webhook-endpoint-disabled",
            ChangeRequestClosed => "change-request-closed",
            Conflict => "conflict",
            ServiceUnavailable => "service-unavailable",
            Internal => "internal-error",
        }
    }

    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            Unauthenticated => StatusCode::UNAUTHORIZED,
            NotFound => StatusCode::NOT_FOUND,
            Forbidden
            | DowngradeRequiresAssistance
            | UseCorporatePortal
            | UseBillingCenter
            | CancelRequiresAssistance => StatusCode::FORBIDDEN,
            ValidationFailed
            | NoChange
            | CartEmpty
            | PaymentMethodRequired
            | PaymentMethodInvalid
            | VatIdRequired
            | IdempotencyKeyReused
            | PurchaseOrderExpired
            | PurchaseOrderLimitExceeded
            | WebhookUrlNotAllowed => StatusCode::UNPROCESSABLE_ENTITY,
            TrialExpired
            | TrialActive
            | AlreadySubscribed
            | LicensesInUse
            | NoLicensesAvailable
            | IdempotencyKeyInUse
            | SubscriptionExists
            | DuplicateEmail
            | DuplicatePayment
            | PurchaseOrderExists
            | QuoteExpired
            | QuoteNotOpen
            | QuoteStale
            | TestClockAdvancing
            | SubscriptionEnded
            | CancellationPending
            | InvoiceNotOpen
            | WebhookEndpointDisabled
            | ChangeRequestClosed
            | Conflict => StatusCode::CONFLICT,
            CardDeclined => StatusCode::PAYMENT_REQUIRED,
            QuoteChanged | VersionMismatch => StatusCode::PRECONDITION_FAILED,
            IdempotencyKeyRequired | MalformedRequest => StatusCode::BAD_REQUEST,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            SubscriptionPastDue => StatusCode::CONFLICT,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, constant summary of the problem type.
    pub fn title(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthenticated => "Authentication required",
            NotFound => "Not found",
            Forbidden => "Not allowed",
            DowngradeRequiresAssistance => "A downgrade needs assistance",
            UseCorporatePortal => "Use the Corporate Billing Portal",
            UseBillingCenter => "Use the Billing Center",
            ValidationFailed => "The request is not valid",
            NoChange => "The item changes nothing",
            CartEmpty => "The cart is empty",
            TrialExpired => "The trial has expired",
            TrialActive => "The trial is still running",
            AlreadySubscribed => "Already subscribed",
            LicensesInUse => "Licences are in use",
            NoLicensesAvailable => "No licences available",
            PaymentMethodRequired => "A payment method is required",
            PaymentMethodInvalid => "The payment method is not valid",
            VatIdRequired => "A VAT ID is required",
            CardDeclined => "The card was declined",
            QuoteChanged => "The quote has changed",
            VersionMismatch => "The resource has changed",
            IdempotencyKeyRequired => "An Idempotency-Key header is required",
            IdempotencyKeyReused => "The Idempotency-Key was used with another request",
            IdempotencyKeyInUse => "A request with this Idempotency-Key is in progress",
            SubscriptionExists => "The subscription exists already",
            DuplicateEmail => "The email is already used",
            DuplicatePayment => "The payment is recorded already",
            MalformedRequest => "The request is malformed",
            PayloadTooLarge => "The request body is too large",
            RateLimited => "Too many requests",
            SubscriptionPastDue => "The subscription is past due",
            UnsupportedMediaType => "Unsupported media type",
            MethodNotAllowed => "Method not allowed",
            PurchaseOrderExpired => "The purchase order has expired",
            PurchaseOrderLimitExceeded => "The purchase order's limit would be exceeded",
            PurchaseOrderExists => "The purchase order exists already",
            QuoteExpired => "The quote has expired",
            QuoteNotOpen => "The quote is no longer open",
            QuoteStale => "The subscriptions changed since the quote was made",
            TestClockAdvancing => "The account's test clock is advancing",
            CancelRequiresAssistance => "Canceling at once needs assistance",
            SubscriptionEnded => "The subscription has ended",
            CancellationPending => "The subscription is canceled at its period end",
            InvoiceNotOpen => "The invoice is not open",
            WebhookUrlNotAllowed => "The webhook URL is not allowed",
            WebhookEndpointDisabled => "The webhook endpoint is disabled",
            ChangeRequestClosed => "The change request is already answered",
            Conflict => "Conflict",
            ServiceUnavailable => "Service unavailable",
            Internal => "Internal error",
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer-like path of the field, e.g. `billing_contact.email`.
    #[schema(example = "billing_contact.email")]
    pub field: String,
    #[schema(example = "must be an email address")]
    pub message: String,
}

/// The body of every error response (RFC 9457). Its schema in the document is written out in
/// `problem_schema`, extensions included.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// URI reference that identifies the problem type: `/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra members some problems carry (`requirements`, `quote`, `licenses_to_unassign`…).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        }
    }

    pub fn not_found() -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            "The resource does not exist or is out of your reach.",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthenticated, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"billing-center\""),
        )
    }

    /// A 422 with one invalid field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} fields are not valid.", errors.len()),
        };
        ApiError {
            errors,
            ..ApiError::new(ErrorCode::ValidationFailed, detail)
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "The server could not complete the request; it has been logged.",
        )
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The database is not reachable right now; retry shortly.",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    pub fn with_extension(mut self, key: &str, value: serde_json::Value) -> ApiError {
        self.extensions
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value);
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> ApiError {
        self.headers.push((name, value));
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: format!("/problems/{}", self.code.as_str()),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Logs an unexpected failure once, with its cause, and answers a 500 that reveals nothing.
pub fn internal_error(context: &str, cause: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %cause, "{context}");
    ApiError::internal()
}

pub type ApiResult<T> = Result<T, ApiError>;
