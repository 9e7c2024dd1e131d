//! Tax treatment of an order: which VAT rate applies and when the customer reverse-charges.
//!
//! The seller is established in one country (configured, `IE` by default). For a customer:
//! - in the seller's own country: that country's standard rate, even with a VAT ID (a
//!   domestic sale is never reverse charged);
//! - in another EU member state with a valid VAT ID: rate 0 and reverse charge — the customer
//!   accounts for the VAT itself, and the invoice says so;
//! - in another EU member state without one: the customer's own country's standard rate;
//! - outside the EU: not taxed (rate 0, no reverse charge).
//!
//! Rates are the EU standard VAT rates in force in 2025 (after Finland's 25.5 % of September
//! 2024, Slovakia's 23 % of January 2025, Estonia's 24 % of July 2025 and Romania's 21 % of
//! August 2025), as decimal fractions. A country without an entry is not taxed. Reduced rates
//! do not apply to the software licences sold here.

use rust_decimal::Decimal;

use super::vat::is_eu;

/// `rate(19, 2)` is 0.19 (19 × 10⁻²), built at compile time.
const fn rate(digits: u32, scale: u32) -> Decimal {
    Decimal::from_parts(digits, 0, 0, false, scale)
}

/// Standard VAT rate per EU member state (ISO 3166-1 alpha-2).
const STANDARD_RATES: [(&str, Decimal); 27] = [
    ("AT", rate(20, 2)),
    ("BE", rate(21, 2)),
    ("BG", rate(20, 2)),
    ("CY", rate(19, 2)),
    ("CZ", rate(21, 2)),
    ("DE", rate(19, 2)),
    ("DK", rate(25, 2)),
    ("EE", rate(24, 2)),
    ("ES", rate(21, 2)),
    ("FI", rate(255, 3)),
    ("FR", rate(20, 2)),
    ("GR", rate(24, 2)),
    ("HR", rate(25, 2)),
    ("HU", rate(27, 2)),
    ("IE", rate(23, 2)),
    ("IT", rate(22, 2)),
    ("LT", rate(21, 2)),
    ("LU", rate(17, 2)),
    ("LV", rate(21, 2)),
    ("MT", rate(18, 2)),
    ("NL", rate(21, 2)),
    ("PL", rate(23, 2)),
    ("PT", rate(23, 2)),
    ("RO", rate(21, 2)),
    ("SE", rate(25, 2)),
    ("SI", rate(22, 2)),
    ("SK", rate(23, 2)),
];

/// The standard VAT rate of an EU member state as a fraction (`0.19`); `None` elsewhere.
pub fn standard_vat_rate(country: &str) -> Option<Decimal> {
    STANDARD_RATES
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(country))
        .map(|&(_, rate)| rate)
}

/// The rate an order is taxed at, and whether the customer reverse-charges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxTreatment {
    /// Decimal fraction; `0` when untaxed or reverse charged.
    pub rate: Decimal,
    pub reverse_charge: bool,
}

impl TaxTreatment {
    const UNTAXED: TaxTreatment = TaxTreatment {
        rate: Decimal::ZERO,
        reverse_charge: false,
    };
}

/// The tax treatment of a sale from `seller_country` to a customer in `customer_country`.
/// `valid_vat_id` says whether the customer's VAT ID passed [`super::vat::validate_vat_id`].
pub fn tax_treatment(
    seller_country: &str,
    customer_country: &str,
    valid_vat_id: bool,
) -> TaxTreatment {
    if seller_country.eq_ignore_ascii_case(customer_country) {
        return standard_vat_rate(seller_country).map_or(TaxTreatment::UNTAXED, |rate| {
            TaxTreatment {
                rate,
                reverse_charge: false,
            }
        });
    }
    if !is_eu(customer_country) {
        return TaxTreatment::UNTAXED;
    }
    if valid_vat_id {
        return TaxTreatment {
            rate: Decimal::ZERO,
            reverse_charge: true,
        };
    }
    standard_vat_rate(customer_country).map_or(TaxTreatment::UNTAXED, |rate| TaxTreatment {
        rate,
        reverse_charge: false,
    })
}

/// Whether checkout must ask for a VAT ID: the customer is in the EU but not in the seller's
/// country and has none. (Checkout asks only when the total due is above zero.)
pub fn vat_id_required(seller_country: &str, customer_country: &str, has_vat_id: bool) -> bool {
    is_eu(customer_country) && !seller_country.eq_ignore_ascii_case(customer_country) && !has_vat_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vat::vat_prefix;
    use rust_decimal::dec;

    #[test]
    fn every_member_state_has_exactly_one_rate_and_nothing_else_does() {
        for (code, rate) in STANDARD_RATES {
            assert!(is_eu(code), "{code} is not a member state");
            assert!(rate > dec!(0.15) && rate < dec!(0.30), "{code}: {rate}");
            assert_eq!(STANDARD_RATES.iter().filter(|(c, _)| *c == code).count(), 1);
            assert!(vat_prefix(code).is_some());
        }
        for country in ["GB", "US", "CH", "NO", "EL", "", "XX"] {
            assert_eq!(standard_vat_rate(country), None, "{country}");
        }
    }

    #[test]
    fn current_standard_rates() {
        let expected = [
            ("DE", dec!(0.19)),
            ("FR", dec!(0.20)),
            ("IE", dec!(0.23)),
            ("NL", dec!(0.21)),
            ("FI", dec!(0.255)),
            ("EE", dec!(0.24)),
            ("SK", dec!(0.23)),
            ("RO", dec!(0.21)),
            ("HU", dec!(0.27)),
            ("LU", dec!(0.17)),
            ("GR", dec!(0.24)),
        ];
        for (country, rate) in expected {
            assert_eq!(standard_vat_rate(country), Some(rate), "{country}");
        }
        assert_eq!(standard_vat_rate("de"), Some(dec!(0.19)));
        assert_eq!(
            standard_vat_rate("FI").map(|r| r.to_string()),
            Some("0.255".to_owned())
        );
    }

    fn taxed(rate: Decimal) -> TaxTreatment {
        TaxTreatment {
            rate,
            reverse_charge: false,
        }
    }

    #[test]
    fn domestic_customer_pays_the_seller_rate_even_with_a_vat_id() {
        assert_eq!(tax_treatment("IE", "IE", false), taxed(dec!(0.23)));
        assert_eq!(tax_treatment("IE", "IE", true), taxed(dec!(0.23)));
        assert_eq!(tax_treatment("DE", "de", true), taxed(dec!(0.19)));
    }

    #[test]
    fn eu_business_in_another_state_is_reverse_charged() {
        let reverse = TaxTreatment {
            rate: Decimal::ZERO,
            reverse_charge: true,
        };
        assert_eq!(tax_treatment("IE", "DE", true), reverse);
        assert_eq!(tax_treatment("IE", "GR", true), reverse);
        assert_eq!(tax_treatment("IE", "DE", true).rate.to_string(), "0");
    }

    #[test]
    fn eu_customer_without_vat_id_pays_its_own_rate() {
        assert_eq!(tax_treatment("IE", "DE", false), taxed(dec!(0.19)));
        assert_eq!(tax_treatment("IE", "FI", false), taxed(dec!(0.255)));
        assert_eq!(tax_treatment("DE", "IE", false), taxed(dec!(0.23)));
    }

    #[test]
    fn customers_outside_the_eu_are_not_taxed() {
        for (country, vat_id) in [("US", false), ("US", true), ("GB", true), ("CH", false)] {
            assert_eq!(tax_treatment("IE", country, vat_id), TaxTreatment::UNTAXED);
        }
    }

    #[test]
    fn vat_id_is_required_only_for_other_eu_states() {
        assert!(vat_id_required("IE", "DE", false));
        assert!(vat_id_required("IE", "gr", false));
        assert!(!vat_id_required("IE", "DE", true));
        assert!(!vat_id_required("IE", "IE", false));
        assert!(!vat_id_required("IE", "ie", false));
        assert!(!vat_id_required("IE", "US", false));
        assert!(!vat_id_required("IE", "GB", false));
    }
}
