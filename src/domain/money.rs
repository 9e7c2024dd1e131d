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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

/// The amounts a client may send (a PO's limit, a payment received): a positive decimal
/// string with at most 12 digits before the point (below 10^12) and at most 2 after it, in
/// plain notation — no sign, exponent, separator, leading zero or JSON number. The OpenAPI
/// document gives the same rule as this pattern, so what it allows the server accepts.
pub const AMOUNT_PATTERN: &str = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?)$";

/// What [`parse_amount`] refuses, said to the client.
pub const AMOUNT_RULE: &str = "must be a positive amount string with at most 12 digits before the point and 2 after it, e.g. \"1500.00\"";

/// The value of an amount a client sent, if it follows [`AMOUNT_PATTERN`].
pub fn parse_amount(text: &str) -> Option<Decimal> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = digits(whole) && whole.len() <= 12 && (whole == "0" || !whole.starts_with('0'));
    let fraction_ok = fraction.is_none_or(|f| digits(f) && f.len() <= 2);
    if !(whole_ok && fraction_ok) {
        return None;
    }
    Decimal::from_str(text)
        .ok()
        .filter(|amount| *amount > Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn client_amounts_follow_the_documented_pattern() {
        for (text, value) in [
            ("1500.00", dec!(1500.00)),
            ("1500", dec!(1500)),
            ("0.5", dec!(0.5)),
            ("0.05", dec!(0.05)),
            ("0.50", dec!(0.50)),
            ("10.1", dec!(10.1)),
            ("999999999999.99", dec!(999999999999.99)),
        ] {
            assert_eq!(parse_amount(text), Some(value), "{text}");
        }
        for text in [
            "",
            "0",
            "0.0",
            "0.00",
            "00.50",
            "01",
            "-5",
            "+5",
            "1.",
            ".5",
            "1.005",
            "1e3",
            "1_000",
            " 1",
            "1 ",
            "1,00",
            "1000000000000",
            "1000000000000.00",
            "NaN",
            "١",
        ] {
            assert_eq!(parse_amount(text), None, "{text}");
        }
    }

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
