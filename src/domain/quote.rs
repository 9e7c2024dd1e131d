//! The checkout summary (SPEC §5, §6): per item, the new period starting today, its charge
//! and the credit for the unused time of the period it replaces; then the totals.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::Currency;
use super::period::{BillingFrequency, Period};
use super::proration::{Totals, period_charge, proration_credit, totals};
use super::tax::TaxTreatment;

/// The period being replaced by a `change`.
#[derive(Debug, Clone)]
pub struct ReplacedPeriod {
    pub plan_name: String,
    pub quantity: i32,
    pub period: Period,
    /// What was charged for it.
    pub period_amount: Decimal,
}

/// One cart item with the price in force today.
#[derive(Debug, Clone)]
pub struct PricedItem {
    pub item_id: Uuid,
    pub product_name: String,
    pub plan_name: String,
    pub frequency: BillingFrequency,
    pub quantity: i32,
    /// Per licence per period, in force today.
    pub unit_price: Decimal,
    /// `None` for `subscribe` items: nothing to credit.
    pub replaced: Option<ReplacedPeriod>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub description: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct QuotedItem {
    pub item_id: Uuid,
    pub period: Period,
    pub unit_price: Decimal,
    /// The charge for the whole new period: unit price × licences.
    pub plan_price: Decimal,
    /// ≥ 0; its line is negative.
    pub proration_credit: Decimal,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone)]
pub struct Quote {
    pub date: NaiveDate,
    pub currency: Currency,
    pub items: Vec<QuotedItem>,
    pub totals: Totals,
}

fn licences(quantity: i32) -> String {
    if quantity == 1 {
        "1 licence".to_owned()
    } else {
        format!("{quantity} licences")
    }
}

/// The charge for a whole period of an item: unit price × licences, one rounded line.
fn plan_line(item: &PricedItem, period: Period, currency: Currency) -> Line {
    let quantity = u32::try_from(item.quantity).unwrap_or(0);
    Line {
        description: format!(
            "{} {}, {} × {} {}, {} to {}",
            item.product_name,
            item.plan_name,
            licences(item.quantity),
            item.unit_price,
            item.frequency,
            period.start,
            period.end,
        ),
        amount: period_charge(item.unit_price, quantity, currency),
    }
}

/// A renewal (SPEC §13): the next `period` of a subscription at the unit price in force on
/// its first day — one line, no proration — with tax and the credit balance applied first,
/// as any order.
pub fn renewal_quote(
    item: &PricedItem,
    period: Period,
    currency: Currency,
    treatment: &TaxTreatment,
    credit_balance: Decimal,
) -> Quote {
    let line = plan_line(item, period, currency);
    let plan_price = line.amount;
    let totals = totals(&[plan_price], treatment, credit_balance, currency);
    Quote {
        date: period.start,
        currency,
        items: vec![QuotedItem {
            item_id: item.item_id,
            period,
            unit_price: super::money::round_to_minor(item.unit_price, currency),
            plan_price,
            proration_credit: super::money::round_to_minor(Decimal::ZERO, currency),
            lines: vec![line],
        }],
        totals,
    }
}

/// An immediate cancellation (SPEC §13): the unused part of the running period,
/// `[today, end)`, credited with §6's credit formula as one negative line; nothing is
/// charged, so the credit goes to the account's credit balance (tax is never refunded: it is
/// charged on `max(subtotal, 0)`).
pub fn cancellation_quote(
    item_id: Uuid,
    running: &ReplacedPeriod,
    today: NaiveDate,
    currency: Currency,
    treatment: &TaxTreatment,
    credit_balance: Decimal,
) -> Quote {
    let credit = proration_credit(running.period_amount, running.period, today, currency);
    let zero = super::money::round_to_minor(Decimal::ZERO, currency);
    let unused = Period {
        start: today.min(running.period.end),
        end: running.period.end,
    };
    let line = Line {
        description: format!(
            "Unused time on {} × {}, {} to {}",
            running.plan_name, running.quantity, unused.start, unused.end
        ),
        amount: -credit,
    };
    Quote {
        date: today,
        currency,
        totals: totals(&[line.amount], treatment, credit_balance, currency),
        items: vec![QuotedItem {
            item_id,
            period: unused,
            unit_price: zero,
            plan_price: zero,
            proration_credit: credit,
            lines: vec![line],
        }],
    }
}

pub fn quote(
    items: &[PricedItem],
    today: NaiveDate,
    currency: Currency,
    treatment: &TaxTreatment,
    credit_balance: Decimal,
) -> Quote {
    let mut quoted = Vec::with_capacity(items.len());
    let mut all_lines = Vec::new();
    for item in items {
        let period = Period::starting(today, item.frequency);
        let plan_line = plan_line(item, period, currency);
        let plan_price = plan_line.amount;
        let mut lines = vec![plan_line];
        let credit = match &item.replaced {
            Some(replaced) => {
                let credit =
                    proration_credit(replaced.period_amount, replaced.period, today, currency);
                lines.push(Line {
                    description: format!(
                        "Unused time on {} × {}",
                        replaced.plan_name, replaced.quantity
                    ),
                    amount: -credit,
                });
                credit
            }
            None => super::money::round_to_minor(Decimal::ZERO, currency),
        };
        all_lines.extend(lines.iter().map(|l| l.amount));
        quoted.push(QuotedItem {
            item_id: item.item_id,
            period,
            unit_price: super::money::round_to_minor(item.unit_price, currency),
            plan_price,
            proration_credit: credit,
            lines,
        });
    }
    Quote {
        date: today,
        currency,
        items: quoted,
        totals: totals(&all_lines, treatment, credit_balance, currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    const UNTAXED: TaxTreatment = TaxTreatment {
        rate: Decimal::ZERO,
        reverse_charge: false,
    };

    /// The seed walkthrough: Standard × 5 monthly at 29.00, ten days into its month, becomes
    /// Premium × 8 annual at 468.00 on 2026-11-27.
    #[test]
    fn upgrade_more_licences_and_annual_ten_days_in() {
        let item = PricedItem {
            item_id: Uuid::nil(),
            product_name: "GoToAssist Remote Support v4".into(),
            plan_name: "Premium".into(),
            frequency: BillingFrequency::Annual,
            quantity: 8,
            unit_price: dec!(468.00),
            replaced: Some(ReplacedPeriod {
                plan_name: "Standard".into(),
                quantity: 5,
                period: Period {
                    start: d(2026, 11, 17),
                    end: d(2026, 12, 17),
                },
                period_amount: dec!(145.00),
            }),
        };
        let q = quote(
            &[item],
            d(2026, 11, 27),
            Currency::Usd,
            &UNTAXED,
            Decimal::ZERO,
        );
        let quoted = &q.items[0];
        assert_eq!(
            quoted.period,
            Period {
                start: d(2026, 11, 27),
                end: d(2027, 11, 27)
            }
        );
        assert_eq!(quoted.plan_price, dec!(3744.00)); // 468 × 8
        // 145.00 × 20 / 30 = 96.666… → 96.67
        assert_eq!(quoted.proration_credit, dec!(96.67));
        assert_eq!(quoted.lines[1].amount, dec!(-96.67));
        assert_eq!(quoted.lines[1].description, "Unused time on Standard × 5");
        assert_eq!(q.totals.subtotal, dec!(3647.33));
        assert_eq!(q.totals.total_due, dec!(3647.33));
    }

    #[test]
    fn subscribe_items_have_no_credit_and_taxes_apply_to_the_subtotal() {
        let item = PricedItem {
            item_id: Uuid::nil(),
            product_name: "P".into(),
            plan_name: "Premium".into(),
            frequency: BillingFrequency::Monthly,
            quantity: 3,
            unit_price: dec!(45.00),
            replaced: None,
        };
        let vat = TaxTreatment {
            rate: dec!(0.20),
            reverse_charge: false,
        };
        let q = quote(&[item], d(2028, 1, 31), Currency::Eur, &vat, dec!(10.00));
        assert_eq!(q.items[0].period.end, d(2028, 2, 29));
        assert_eq!(q.items[0].proration_credit, dec!(0.00));
        assert_eq!(q.items[0].lines.len(), 1);
        assert_eq!(q.totals.subtotal, dec!(135.00));
        assert_eq!(q.totals.tax, dec!(27.00));
        assert_eq!(q.totals.credit_applied, dec!(10.00));
        assert_eq!(q.totals.total_due, dec!(152.00));
    }

    #[test]
    fn a_renewal_charges_the_whole_next_period_then_tax_then_credit() {
        let item = PricedItem {
            item_id: Uuid::nil(),
            product_name: "GoToAssist Remote Support v4".into(),
            plan_name: "Standard".into(),
            frequency: BillingFrequency::Monthly,
            quantity: 10,
            unit_price: dec!(31.00),
            replaced: None,
        };
        let period = Period {
            start: d(2027, 2, 28),
            end: d(2027, 3, 31),
        };
        let vat = TaxTreatment {
            rate: dec!(0.23),
            reverse_charge: false,
        };
        let q = renewal_quote(&item, period, Currency::Eur, &vat, dec!(100.00));
        assert_eq!(q.date, d(2027, 2, 28));
        assert_eq!(q.items.len(), 1);
        assert_eq!(q.items[0].plan_price, dec!(310.00));
        assert_eq!(q.items[0].proration_credit, dec!(0.00));
        assert_eq!(q.items[0].lines.len(), 1);
        assert_eq!(q.totals.subtotal, dec!(310.00));
        assert_eq!(q.totals.tax, dec!(71.30));
        assert_eq!(q.totals.credit_applied, dec!(100.00));
        assert_eq!(q.totals.total_due, dec!(281.30));
    }
}
