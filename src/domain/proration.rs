//! The money of a cart: one line per item (the new period's charge, the credit for unused time
//! of the period being replaced) and the totals of the checkout summary.
//!
//! Each line is rounded once, half away from zero, to the currency's minor unit. Totals are
//! sums of rounded lines and are never rounded again; the only other rounding is the tax,
//! `round(max(subtotal, 0) × rate)`. Then, with `gross = subtotal + tax`:
//! - `gross > 0`: the account's credit balance pays what it can,
//!   `credit_applied = min(balance, gross)`, and `total_due = gross − credit_applied`;
//! - `gross ≤ 0`: nothing is due or applied, and `credit_created = −gross` goes to the
//!   account's credit balance (nothing is paid out).
//!
//! So `total_due = max(subtotal + tax, 0) − credit_applied ≥ 0` always holds exactly.
//!
//! A change starts a new period today. The credit for the old period counts whole unused days,
//! `[today, end)`, out of the period's days `[start, end)`; the change day itself is unused,
//! so a change on the first day credits the full amount. Day fractions stay in `Decimal`:
//! the amount is multiplied by the unused days first and divided by the period's days last.
//! Amounts are far below `Decimal`'s range (about 7.9 × 10²⁸), so the arithmetic cannot
//! overflow.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::money::{Currency, round_to_minor};
use super::period::Period;
use super::tax::TaxTreatment;

/// Credit for the unused part of `period` when the subscription changes on `today`:
/// `round(period_amount × (end − today) / (end − start))` in days.
///
/// `period_amount` is what was charged for the period (≥ 0, in minor units), so the credit is
/// between 0 and `period_amount`. From `end` on nothing is left (0); a `today` before `start`
/// leaves the whole period unused (the full amount).
pub fn proration_credit(
    period_amount: Decimal,
    period: Period,
    today: NaiveDate,
    currency: Currency,
) -> Decimal {
    let period_days = period.days();
    if period_days <= 0 || today >= period.end {
        return round_to_minor(Decimal::ZERO, currency);
    }
    let unused_days = (period.end - today).num_days().min(period_days);
    round_to_minor(
        period_amount * Decimal::from(unused_days) / Decimal::from(period_days),
        currency,
    )
}

/// The charge for a whole period: `round(unit_price × quantity)`.
pub fn period_charge(unit_price: Decimal, quantity: u32, currency: Currency) -> Decimal {
    round_to_minor(unit_price * Decimal::from(quantity), currency)
}

/// The totals of a checkout summary. Every amount has the currency's minor-unit scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Σ lines: charges minus credits; may be negative.
    pub subtotal: Decimal,
    /// Decimal fraction; `0` when untaxed or reverse charged.
    pub tax_rate: Decimal,
    pub tax: Decimal,
    pub reverse_charge: bool,
    /// Taken from the account's credit balance.
    pub credit_applied: Decimal,
    /// Added to the account's credit balance (only when `subtotal + tax ≤ 0`).
    pub credit_created: Decimal,
    pub total_due: Decimal,
}

/// Adds up the cart's `lines` (each already rounded; credits negative), taxes the result per
/// `treatment` and settles it against `credit_balance` (in minor units; a negative balance
/// counts as none).
pub fn totals(
    lines: &[Decimal],
    treatment: &TaxTreatment,
    credit_balance: Decimal,
    currency: Currency,
) -> Totals {
    let zero = round_to_minor(Decimal::ZERO, currency);
    let subtotal = round_to_minor(lines.iter().sum(), currency);
    let tax = round_to_minor(subtotal.max(Decimal::ZERO) * treatment.rate, currency);
    let gross = subtotal + tax;
    let (credit_applied, credit_created, total_due) = if gross > Decimal::ZERO {
        let balance = round_to_minor(credit_balance.max(Decimal::ZERO), currency);
        let applied = balance.min(gross);
        (applied, zero, gross - applied)
    } else {
        (zero, zero - gross, zero)
    };
    Totals {
        subtotal,
        tax_rate: treatment.rate,
        tax,
        reverse_charge: treatment.reverse_charge,
        credit_applied,
        credit_created,
        total_due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::BillingFrequency;
    use proptest::prelude::*;
    use rust_decimal::dec;

    const EUR: Currency = Currency::Eur;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad test date {y}-{m}-{day}"))
    }

    fn period(start: NaiveDate, end: NaiveDate) -> Period {
        Period { start, end }
    }

    fn taxed(rate: Decimal) -> TaxTreatment {
        TaxTreatment {
            rate,
            reverse_charge: false,
        }
    }

    #[test]
    fn change_ten_days_into_a_thirty_day_month_credits_two_thirds() {
        let p = period(d(2026, 11, 17), d(2026, 12, 17));
        let credit = proration_credit(dec!(300.00), p, d(2026, 11, 27), EUR);
        assert_eq!(credit.to_string(), "200.00");
    }

    #[test]
    fn change_on_the_first_day_credits_the_full_amount() {
        let p = period(d(2026, 11, 17), d(2026, 12, 17));
        assert_eq!(
            proration_credit(dec!(149.99), p, p.start, EUR),
            dec!(149.99)
        );
        assert_eq!(
            proration_credit(dec!(149), p, p.start, EUR).to_string(),
            "149.00"
        );
    }

    #[test]
    fn change_on_the_last_day_credits_one_day() {
        let p = period(d(2026, 11, 17), d(2026, 12, 17));
        assert_eq!(
            proration_credit(dec!(300.00), p, d(2026, 12, 16), EUR),
            dec!(10.00)
        );
    }

    #[test]
    fn no_credit_from_the_end_of_the_period_on() {
        let p = period(d(2026, 11, 17), d(2026, 12, 17));
        assert_eq!(
            proration_credit(dec!(300.00), p, p.end, EUR).to_string(),
            "0.00"
        );
        assert_eq!(
            proration_credit(dec!(300.00), p, d(2027, 3, 1), EUR),
            dec!(0)
        );
        assert_eq!(
            proration_credit(dec!(300.00), p, d(2026, 1, 1), EUR),
            dec!(300.00)
        );
        let empty = period(p.start, p.start);
        assert_eq!(proration_credit(dec!(300.00), empty, p.start, EUR), dec!(0));
    }

    #[test]
    fn credit_rounds_half_away_from_zero_once() {
        // 0.15 × 1/30 = 0.005 exactly.
        let p = period(d(2026, 11, 17), d(2026, 12, 17));
        assert_eq!(
            proration_credit(dec!(0.15), p, d(2026, 12, 16), EUR),
            dec!(0.01)
        );
        // 100 × 2/3 = 66.666…
        let p = period(d(2026, 1, 1), d(2026, 1, 4));
        assert_eq!(
            proration_credit(dec!(100.00), p, d(2026, 1, 2), EUR),
            dec!(66.67)
        );
    }

    #[test]
    fn leap_day_periods() {
        // 2028-02-29 + 1 month = 2028-03-29: 29 days, 19 unused from 2028-03-10.
        let p = Period::starting(d(2028, 2, 29), BillingFrequency::Monthly);
        assert_eq!(p.days(), 29);
        assert_eq!(
            proration_credit(dec!(100.00), p, d(2028, 3, 10), EUR),
            dec!(65.52)
        );
        // 2028-01-31 + 1 month clamps to 2028-02-29: 29 days, 1 unused on the leap day.
        let p = Period::starting(d(2028, 1, 31), BillingFrequency::Monthly);
        assert_eq!(p.end, d(2028, 2, 29));
        assert_eq!(
            proration_credit(dec!(29.00), p, d(2028, 2, 28), EUR),
            dec!(1.00)
        );
    }

    #[test]
    fn annual_period() {
        // 2028-02-29 + 12 months = 2029-02-28: 365 days, 272 unused from 2028-06-01.
        let p = Period::starting(d(2028, 2, 29), BillingFrequency::Annual);
        assert_eq!(p.days(), 365);
        assert_eq!(
            proration_credit(dec!(1200.00), p, d(2028, 6, 1), EUR),
            dec!(894.25)
        );
    }

    #[test]
    fn period_charge_is_one_rounded_line() {
        assert_eq!(period_charge(dec!(149), 3, EUR).to_string(), "447.00");
        assert_eq!(period_charge(dec!(0.3333), 3, EUR), dec!(1.00));
        assert_eq!(period_charge(dec!(0.0025), 2, EUR), dec!(0.01));
        assert_eq!(period_charge(dec!(12.50), 0, EUR).to_string(), "0.00");
    }

    #[test]
    fn totals_of_a_plain_taxed_order() {
        let t = totals(
            &[dec!(447.00), dec!(-200.00)],
            &taxed(dec!(0.23)),
            dec!(0),
            EUR,
        );
        assert_eq!(t.subtotal, dec!(247.00));
        assert_eq!(t.tax, dec!(56.81));
        assert_eq!(t.tax_rate, dec!(0.23));
        assert_eq!(t.credit_applied, dec!(0));
        assert_eq!(t.credit_created, dec!(0));
        assert_eq!(t.total_due.to_string(), "303.81");
        assert!(!t.reverse_charge);
    }

    #[test]
    fn tax_rounds_half_away_from_zero() {
        // 0.50 × 0.21 = 0.105; 10.05 × 0.255 = 2.56275.
        assert_eq!(
            totals(&[dec!(0.50)], &taxed(dec!(0.21)), dec!(0), EUR).tax,
            dec!(0.11)
        );
        assert_eq!(
            totals(&[dec!(10.05)], &taxed(dec!(0.255)), dec!(0), EUR).tax,
            dec!(2.56)
        );
    }

    #[test]
    fn negative_subtotal_creates_credit_and_is_not_taxed() {
        let t = totals(
            &[dec!(100.00), dec!(-250.00)],
            &taxed(dec!(0.23)),
            dec!(20.00),
            EUR,
        );
        assert_eq!(t.subtotal, dec!(-150.00));
        assert_eq!(t.tax.to_string(), "0.00");
        assert_eq!(t.credit_applied.to_string(), "0.00");
        assert_eq!(t.total_due.to_string(), "0.00");
        assert_eq!(t.credit_created.to_string(), "150.00");
    }

    #[test]
    fn zero_gross_creates_nothing() {
        let t = totals(
            &[dec!(200.00), dec!(-200.00)],
            &taxed(dec!(0.23)),
            dec!(5),
            EUR,
        );
        assert_eq!(t.credit_created.to_string(), "0.00");
        assert_eq!(t.credit_applied.to_string(), "0.00");
        assert_eq!(t.total_due.to_string(), "0.00");
        let empty = totals(&[], &taxed(dec!(0.19)), dec!(0), EUR);
        assert_eq!(empty.subtotal.to_string(), "0.00");
        assert_eq!(empty.total_due.to_string(), "0.00");
    }

    #[test]
    fn credit_balance_partly_covers_the_gross() {
        // 149.00 + 19 % = 177.31.
        let t = totals(&[dec!(149.00)], &taxed(dec!(0.19)), dec!(50.00), EUR);
        assert_eq!(t.tax, dec!(28.31));
        assert_eq!(t.credit_applied, dec!(50.00));
        assert_eq!(t.total_due, dec!(127.31));
        assert_eq!(t.credit_created, dec!(0));
    }

    #[test]
    fn credit_balance_fully_covers_the_gross() {
        let t = totals(&[dec!(149.00)], &taxed(dec!(0.19)), dec!(500), EUR);
        assert_eq!(t.credit_applied, dec!(177.31));
        assert_eq!(t.total_due.to_string(), "0.00");
        assert_eq!(t.credit_created, dec!(0));
        let negative_balance = totals(&[dec!(149.00)], &taxed(dec!(0.19)), dec!(-10), EUR);
        assert_eq!(negative_balance.credit_applied, dec!(0));
        assert_eq!(negative_balance.total_due, dec!(177.31));
    }

    #[test]
    fn reverse_charge_is_untaxed_and_flagged() {
        let reverse = TaxTreatment {
            rate: Decimal::ZERO,
            reverse_charge: true,
        };
        let t = totals(&[dec!(298.00), dec!(-100.00)], &reverse, dec!(0), EUR);
        assert!(t.reverse_charge);
        assert_eq!(t.tax_rate.to_string(), "0");
        assert_eq!(t.tax.to_string(), "0.00");
        assert_eq!(t.total_due, dec!(198.00));
    }

    fn money(max_cents: i64) -> impl Strategy<Value = Decimal> {
        (-max_cents..=max_cents).prop_map(|cents| Decimal::new(cents, 2))
    }

    fn rate() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            Just(Decimal::ZERO),
            Just(dec!(0.17)),
            Just(dec!(0.19)),
            Just(dec!(0.21)),
            Just(dec!(0.23)),
            Just(dec!(0.255)),
            Just(dec!(0.27)),
        ]
    }

    fn frequency() -> impl Strategy<Value = BillingFrequency> {
        prop_oneof![
            Just(BillingFrequency::Monthly),
            Just(BillingFrequency::Annual)
        ]
    }

    /// A date between 2000-01-01 and about 2054.
    fn date() -> impl Strategy<Value = NaiveDate> {
        (0_i64..20_000).prop_map(|days| d(2000, 1, 1) + chrono::Duration::days(days))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        #[test]
        fn total_due_is_gross_minus_credit_and_never_negative(
            lines in prop::collection::vec(money(100_000_000), 0..8),
            rate in rate(),
            reverse_charge in any::<bool>(),
            balance in money(50_000_000),
        ) {
            let t = totals(&lines, &TaxTreatment { rate, reverse_charge }, balance, EUR);
            let gross = t.subtotal + t.tax;
            prop_assert_eq!(t.subtotal, lines.iter().sum::<Decimal>());
            prop_assert_eq!(t.total_due, gross.max(Decimal::ZERO) - t.credit_applied);
            prop_assert!(t.total_due >= Decimal::ZERO);
            prop_assert!(t.credit_applied >= Decimal::ZERO);
            prop_assert!(t.credit_applied <= balance.max(Decimal::ZERO));
            prop_assert_eq!(t.credit_created, (-gross).max(Decimal::ZERO));
            prop_assert!(t.tax >= Decimal::ZERO);
            for amount in [t.subtotal, t.tax, t.credit_applied, t.credit_created, t.total_due] {
                prop_assert_eq!(amount.scale(), 2);
            }
        }

        #[test]
        fn credit_stays_between_zero_and_the_period_amount(
            cents in 0_i64..=1_000_000_000,
            start in date(),
            frequency in frequency(),
            offset in -10_i64..400,
        ) {
            let period_amount = Decimal::new(cents, 2);
            let today = start + chrono::Duration::days(offset);
            let credit = proration_credit(period_amount, Period::starting(start, frequency), today, EUR);
            prop_assert!(credit >= Decimal::ZERO);
            prop_assert!(credit <= period_amount);
            prop_assert_eq!(credit.scale(), 2);
            let next_day = proration_credit(
                period_amount, Period::starting(start, frequency), today + chrono::Duration::days(1), EUR,
            );
            prop_assert!(next_day <= credit, "credit grows from {} to {}", credit, next_day);
        }

        #[test]
        fn same_change_on_the_first_day_nets_zero(
            unit_price in (0_i64..=10_000_000).prop_map(|v| Decimal::new(v, 4)),
            quantity in 1_u32..=10_000,
            start in date(),
            frequency in frequency(),
        ) {
            let period_amount = period_charge(unit_price, quantity, EUR);
            let credit = proration_credit(period_amount, Period::starting(start, frequency), start, EUR);
            let charge = period_charge(unit_price, quantity, EUR);
            prop_assert_eq!(charge - credit, Decimal::ZERO);
        }
    }
}
