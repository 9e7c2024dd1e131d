//! The payment gateway seam (SPEC §10): attach a card from a gateway token, and charge a
//! stored card with an idempotency key. Only display data (brand, last 4, expiry) and the
//! gateway's own reusable reference are kept; card numbers never reach this service.

mod test_gateway;

use std::future::Future;
use std::pin::Pin;

use rust_decimal::Decimal;

pub use test_gateway::{ChargeHook, TestGateway};

use crate::domain::money::Currency;

/// What the gateway returns for an attached card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedCard {
    /// The gateway's reusable reference to charge later.
    pub reference: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i16,
    pub exp_year: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("the token is not known to the gateway")]
    UnknownToken,
    #[error("the card has expired")]
    Expired,
}

/// A successful charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub charge_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    /// The issuer refused; nothing was charged. `reason` is safe to show.
    #[error("the card was declined: {reason}")]
    Declined { reason: String },
    /// The outcome is unknown (timeout, gateway down): retry with the same idempotency key.
    #[error("the gateway did not answer: {0}")]
    Unavailable(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync + 'static {
    /// Exchanges a one-time token from the client for a stored card.
    fn attach<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AttachedCard, AttachError>>;

    /// Charges `amount` to a stored card. The same `idempotency_key` never charges twice.
    fn charge<'a>(
        &'a self,
        card_reference: &'a str,
        amount: Decimal,
        currency: Currency,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Charge, ChargeError>>;

    /// Gives a charge back in full (an order that could not be applied after payment).
    fn refund<'a>(&'a self, charge_id: &'a str) -> BoxFuture<'a, Result<(), ChargeError>>;
}
