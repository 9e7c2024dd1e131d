//! Billing periods: calendar arithmetic on dates, with end-of-month clamping.

use chrono::{Datelike, NaiveDate};

crate::stored_enum! {
    /// How often a subscription is billed.
    pub enum BillingFrequency {
        Monthly => "monthly",
        Annual => "annual",
    }
}

impl BillingFrequency {
    /// Length of one billing period in calendar months.
    pub fn months(self) -> u32 {
        match self {
            BillingFrequency::Monthly => 1,
            BillingFrequency::Annual => 12,
        }
    }
}

/// Adds calendar months to a date; a day that does not exist in the target month clamps to
/// that month's last day (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months as i32;
    let year = total.div_euclid(12);
    let month0 = total.rem_euclid(12) as u32;
    let last = last_day_of_month(year, month0 + 1);
    let day = date.day().min(last);
    // The day is clamped into the month, so the date exists; fall back to the input only to
    // avoid a panic path for years outside chrono's range.
    NaiveDate::from_ymd_opt(year, month0 + 1, day).unwrap_or(date)
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first_of_next| first_of_next.pred_opt())
        .map_or(28, |last| last.day())
}

/// The first and last day a date in a request may name. Billing dates outside this range
/// are typos (`20026-11-17`) or probes; refusing them keeps period arithmetic far from
/// chrono's limits and the database from dates no invoice will ever carry.
pub const REQUEST_DATE_RANGE: (NaiveDate, NaiveDate) = (
    match NaiveDate::from_ymd_opt(2000, 1, 1) {
        Some(day) => day,
        None => NaiveDate::MIN,
    },
    match NaiveDate::from_ymd_opt(2100, 12, 31) {
        Some(day) => day,
        None => NaiveDate::MAX,
    },
);

/// The same bound as a pattern for the OpenAPI document: a `YYYY-MM-DD` in 2000..=2100.
pub const REQUEST_DATE_PATTERN: &str = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$";

/// Why a date in a request is refused, if it is: outside [`REQUEST_DATE_RANGE`].
pub fn request_date_problem(date: NaiveDate) -> Option<String> {
    let (first, last) = REQUEST_DATE_RANGE;
    (date < first || date > last).then(|| format!("must be between {first} and {last}"))
}

/// A billing period `[start, end)` of calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// The period that starts on `start` and lasts one cycle of `frequency`.
    pub fn starting(start: NaiveDate, frequency: BillingFrequency) -> Period {
        Period {
            start,
            end: add_months(start, frequency.months()),
        }
    }

    /// The period that follows this one for a subscription anchored on `anchor_day`: it
    /// starts where this one ends and ends on the anchor day `frequency` later, clamped to
    /// the month's last day — so Jan 31 → Feb 28 → Mar 31, never drifting to the 28th.
    pub fn next(&self, frequency: BillingFrequency, anchor_day: u32) -> Period {
        let end = add_months(self.end, frequency.months());
        let anchored = NaiveDate::from_ymd_opt(
            end.year(),
            end.month(),
            anchor_day.min(last_day_of_month(end.year(), end.month())),
        )
        .unwrap_or(end);
        Period {
            start: self.end,
            end: anchored.max(end),
        }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day < self.end
    }

    /// Whole days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn clamps_to_the_end_of_shorter_months() {
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2028, 1, 31), 1), d(2028, 2, 29));
        assert_eq!(add_months(d(2026, 3, 31), 1), d(2026, 4, 30));
        assert_eq!(add_months(d(2028, 2, 29), 12), d(2029, 2, 28));
    }

    #[test]
    fn renewals_stay_on_their_anchor_day() {
        let mut period = Period::starting(d(2027, 1, 31), BillingFrequency::Monthly);
        let mut ends = Vec::new();
        for _ in 0..13 {
            ends.push(period.end);
            period = period.next(BillingFrequency::Monthly, 31);
        }
        assert_eq!(
            ends,
            [
                d(2027, 2, 28),
                d(2027, 3, 31),
                d(2027, 4, 30),
                d(2027, 5, 31),
                d(2027, 6, 30),
                d(2027, 7, 31),
                d(2027, 8, 31),
                d(2027, 9, 30),
                d(2027, 10, 31),
                d(2027, 11, 30),
                d(2027, 12, 31),
                d(2028, 1, 31),
                d(2028, 2, 29),
            ]
        );
        let leap = Period::starting(d(2028, 2, 29), BillingFrequency::Annual);
        assert_eq!(leap.end, d(2029, 2, 28));
        let next = leap.next(BillingFrequency::Annual, 29);
        assert_eq!((next.start, next.end), (d(2029, 2, 28), d(2030, 2, 28)));
        let next = next.next(BillingFrequency::Annual, 29);
        assert_eq!(next.end, d(2031, 2, 28));
        let next = next.next(BillingFrequency::Annual, 29);
        assert_eq!(next.end, d(2032, 2, 29));
        // Every period is one cycle long and follows the one before.
        let p = Period::starting(d(2026, 11, 17), BillingFrequency::Monthly);
        let q = p.next(BillingFrequency::Monthly, 17);
        assert_eq!((q.start, q.end), (d(2026, 12, 17), d(2027, 1, 17)));
    }

    #[test]
    fn crosses_year_boundaries() {
        assert_eq!(add_months(d(2026, 12, 15), 1), d(2027, 1, 15));
        assert_eq!(add_months(d(2026, 11, 27), 12), d(2027, 11, 27));
    }

    #[test]
    fn request_dates_are_bounded() {
        assert_eq!(request_date_problem(d(2000, 1, 1)), None);
        assert_eq!(request_date_problem(d(2100, 12, 31)), None);
        assert_eq!(
            request_date_problem(d(1999, 12, 31)).as_deref(),
            Some("must be between 2000-01-01 and 2100-12-31")
        );
        assert!(request_date_problem(d(2101, 1, 1)).is_some());
        assert!(request_date_problem(NaiveDate::MAX).is_some());
        assert!(request_date_problem(NaiveDate::MIN).is_some());
    }

    #[test]
    fn periods_are_half_open() {
        let p = Period::starting(d(2026, 11, 17), BillingFrequency::Monthly);
        assert_eq!(p.end, d(2026, 12, 17));
        assert!(p.contains(d(2026, 11, 17)));
        assert!(p.contains(d(2026, 12, 16)));
        assert!(!p.contains(d(2026, 12, 17)));
        assert_eq!(p.days(), 30);
        let annual = Period::starting(d(2028, 2, 29), BillingFrequency::Annual);
        assert_eq!(annual.days(), 365);
    }
}
