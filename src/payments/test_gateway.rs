//! The built-in `test` gateway: behaves like a card processor's test mode, with documented
//! tokens. It keeps its charges in memory so that a repeated idempotency key returns the first
//! outcome, as a real processor does.
//!
//! | token | attach | charge |
//! |---|---|---|
//! | `tok_visa` | Visa 4242, 12/2030 | succeeds |
//! | `tok_mastercard` | Mastercard 4444, 12/2030 | succeeds |
//! | `tok_chargeDeclined` | Visa 0002, 12/2030 | declined: generic decline |
//! | `tok_insufficientFunds` | Visa 9995, 12/2030 | declined: insufficient funds |
//! | `tok_chargeCustomerFail` | Visa 0341, 12/2030 | every charge declined softly: `card_declined` |
//! | `tok_chargeCustomerFailHard` | Visa 0119, 12/2030 | every charge declined hard: `stolen_card` |
//! | `tok_expired` | rejected: expired card | — |

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rust_decimal::Decimal;

use super::{AttachError, AttachedCard, BoxFuture, Charge, ChargeError, PaymentGateway};
use crate::domain::money::Currency;

/// Work to run while the next charge is in flight (a fault to inject between the moment an
/// order is recorded and the moment it is completed).
pub type ChargeHook = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

#[derive(Default)]
pub struct TestGateway {
    charges: Mutex<HashMap<String, Result<Charge, ChargeError>>>,
    refunds: Mutex<Vec<String>>,
    /// Charges to answer as "gateway unavailable" before behaving normally again.
    outages: AtomicUsize,
    /// Refunds to answer as "gateway unavailable" before behaving normally again.
    refund_outages: AtomicUsize,
    during_next_charge: Mutex<Option<ChargeHook>>,
}

impl std::fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGateway").finish_non_exhaustive()
    }
}

impl TestGateway {
    pub fn new() -> TestGateway {
        TestGateway::default()
    }

    /// Number of distinct successful charges, for tests that prove nothing is charged twice.
    pub fn successful_charges(&self) -> usize {
        self.charges
            .lock()
            .map(|c| c.values().filter(|r| r.is_ok()).count())
            .unwrap_or(0)
    }

    /// Makes the next `count` charges fail as if the gateway timed out (nothing charged).
    pub fn fail_next_charges(&self, count: usize) {
        self.outages.store(count, Ordering::SeqCst);
    }

    /// Makes the next `count` refunds fail as if the gateway timed out (nothing refunded).
    pub fn fail_next_refunds(&self, count: usize) {
        self.refund_outages.store(count, Ordering::SeqCst);
    }

    /// Runs `hook` while the next charge is in flight, before it succeeds.
    pub fn during_next_charge(&self, hook: ChargeHook) {
        if let Ok(mut slot) = self.during_next_charge.lock() {
            *slot = Some(hook);
        }
    }

    /// The charge ids refunded so far.
    pub fn refunds(&self) -> Vec<String> {
        self.refunds.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

const BEHAVIOURS: [(&str, &str, &str, Option<&str>); 6] = [
    ("tok_visa", "visa", "4242", None),
    ("tok_mastercard", "mastercard", "4444", None),
    (
        "tok_chargeDeclined",
        "visa",
        "0002",
        Some("generic_decline"),
    ),
    (
        "tok_insufficientFunds",
        "visa",
        "9995",
        Some("insufficient_funds"),
    ),
    // Attach fine; every later charge declines, softly or hard (SPEC §13: dunning).
    (
        "tok_chargeCustomerFail",
        "visa",
        "0341",
        Some("card_declined"),
    ),
    (
        "tok_chargeCustomerFailHard",
        "visa",
        "0119",
        Some("stolen_card"),
    ),
];

impl PaymentGateway for TestGateway {
    fn attach<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AttachedCard, AttachError>> {
        Box::pin(async move {
            if token == "tok_expired" {
                return Err(AttachError::Expired);
            }
            let (token, brand, last4, _) = BEHAVIOURS
                .iter()
                .find(|(known, ..)| *known == token)
                .ok_or(AttachError::UnknownToken)?;
            Ok(AttachedCard {
                // The reference names the behaviour, as test-mode cards do.
                reference: format!(
                    "card_test_{}_{}",
                    token.trim_start_matches("tok_"),
                    uuid::Uuid::new_v4().simple()
                ),
                brand: (*brand).to_owned(),
                last4: (*last4).to_owned(),
                exp_month: 12,
                exp_year: 2030,
            })
        })
    }

    fn charge<'a>(
        &'a self,
        card_reference: &'a str,
        amount: Decimal,
        currency: Currency,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Charge, ChargeError>> {
        Box::pin(async move {
            let hook = self
                .during_next_charge
                .lock()
                .ok()
                .and_then(|mut slot| slot.take());
            if let Some(hook) = hook {
                hook().await;
            }
            let mut charges = self
                .charges
                .lock()
                .map_err(|_| ChargeError::Unavailable("test gateway state poisoned".to_owned()))?;
            let outage = self
                .outages
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if outage {
                return Err(ChargeError::Unavailable("test gateway outage".to_owned()));
            }
            if let Some(previous) = charges.get(idempotency_key) {
                return previous.clone();
            }
            let decline = BEHAVIOURS
                .iter()
                .find(|(token, ..)| {
                    card_reference
                        .starts_with(&format!("card_test_{}_", token.trim_start_matches("tok_")))
                })
                .map(|(_, _, _, decline)| *decline);
            let outcome = match decline {
                None => Err(ChargeError::Declined {
                    reason: "unknown_card".to_owned(),
                }),
                Some(Some(reason)) => Err(ChargeError::Declined {
                    reason: reason.to_owned(),
                }),
                Some(None) => Ok(Charge {
                    charge_id: format!(
                        "ch_test_{}_{}_{}",
                        uuid::Uuid::new_v4().simple(),
                        amount,
                        currency
                    ),
                }),
            };
            charges.insert(idempotency_key.to_owned(), outcome.clone());
            outcome
        })
    }

    fn refund<'a>(&'a self, charge_id: &'a str) -> BoxFuture<'a, Result<(), ChargeError>> {
        Box::pin(async move {
            if self
                .refund_outages
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(ChargeError::Unavailable("test gateway outage".to_owned()));
            }
            let mut refunds = self
                .refunds
                .lock()
                .map_err(|_| ChargeError::Unavailable("test gateway state poisoned".to_owned()))?;
            if !refunds.iter().any(|r| r == charge_id) {
                refunds.push(charge_id.to_owned());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[tokio::test]
    async fn documented_tokens_behave_as_documented() {
        let gateway = TestGateway::new();
        let visa = gateway.attach("tok_visa").await.expect("visa attaches");
        assert_eq!((visa.brand.as_str(), visa.last4.as_str()), ("visa", "4242"));
        assert_eq!(
            gateway.attach("tok_expired").await,
            Err(AttachError::Expired)
        );
        assert_eq!(
            gateway.attach("tok_unknown").await,
            Err(AttachError::UnknownToken)
        );

        let first = gateway
            .charge(&visa.reference, dec!(10.00), Currency::Usd, "k1")
            .await;
        let again = gateway
            .charge(&visa.reference, dec!(10.00), Currency::Usd, "k1")
            .await;
        assert!(first.is_ok());
        assert_eq!(first, again);
        assert_eq!(gateway.successful_charges(), 1);

        let declined = gateway
            .attach("tok_insufficientFunds")
            .await
            .expect("attaches");
        assert_eq!(
            gateway
                .charge(&declined.reference, dec!(1.00), Currency::Eur, "k2")
                .await,
            Err(ChargeError::Declined {
                reason: "insufficient_funds".into()
            })
        );

        // Attach fine, then decline every charge: softly, or hard.
        for (token, reason) in [
            ("tok_chargeCustomerFail", "card_declined"),
            ("tok_chargeCustomerFailHard", "stolen_card"),
        ] {
            let card = gateway.attach(token).await.expect("attaches");
            for key in ["k3", "k4"] {
                assert_eq!(
                    gateway
                        .charge(
                            &card.reference,
                            dec!(1.00),
                            Currency::Usd,
                            &format!("{token}{key}")
                        )
                        .await,
                    Err(ChargeError::Declined {
                        reason: reason.into()
                    }),
                    "{token}"
                );
            }
        }
    }
}
