//! Money: currencies, their minor units, and the one rounding rule of the product.
//!
//! Every amount is a `rust_decimal::Decimal`. Rounding happens once per line, half away from
//! zero, to the currency's minor unit; totals are sums of rounded lines and are never rounded
//! again.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// A currency the catalog sells in (ISO 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Usd, Currency::Eur, Currency::Gbp];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
        }
    }

    /// Digits after the decimal point of the currency's minor unit.
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Usd | Currency::Eur | Currency::Gbp => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency `{0}`")]
pub struct UnknownCurrency(pub String);

impl FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "USD" => Ok(Currency::Usd),
            "EUR" => Ok(Currency::Eur),
            "GBP" => Ok(Currency::Gbp),
            other => Err(UnknownCurrency(other.to_owned())),
        }
    }
}

/// Rounds an amount to the currency's minor unit, half away from zero, and fixes its scale so
/// that it serialises with exactly the minor-unit digits (`149` becomes `"149.00"`).
pub fn round_to_minor(amount: Decimal, currency: Currency) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(
        currency.minor_units(),
        RoundingStrategy::MidpointAwayFromZero,
    );
    rounded.rescale(currency.minor_units());
    rounded
}

/// Gives an already-exact amount (a stored price or total) the currency's scale for display,
/// without changing its value. Panics never: amounts with more digits are rounded by the rule.
pub fn to_currency_scale(amount: Decimal, currency: Currency) -> Decimal {
    round_to_minor(amount, currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_to_minor(dec!(1.005), Currency::Usd), dec!(1.01));
        assert_eq!(round_to_minor(dec!(-1.005), Currency::Usd), dec!(-1.01));
        assert_eq!(round_to_minor(dec!(1.0049), Currency::Eur), dec!(1.00));
        assert_eq!(round_to_minor(dec!(2.675), Currency::Gbp), dec!(2.68));
    }

    #[test]
    fn fixes_the_scale_to_minor_units() {
        assert_eq!(
            round_to_minor(dec!(149), Currency::Usd).to_string(),
            "149.00"
        );
        assert_eq!(round_to_minor(dec!(0), Currency::Usd).to_string(), "0.00");
        assert_eq!(
            round_to_minor(dec!(12.5), Currency::Usd).to_string(),
            "12.50"
        );
    }

    #[test]
    fn parses_iso_codes_only() {
        assert_eq!("EUR".parse::<Currency>(), Ok(Currency::Eur));
        assert!("eur".parse::<Currency>().is_err());
        assert!("JPY".parse::<Currency>().is_err());
    }
}
