//! The catalog in memory: products, their ranked plans, and every price version. It is small
//! and changes only with a migration, so it is loaded once at start-up and every lookup
//! (including "the price in force on a date") is a pure function here.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::Currency;
use super::period::BillingFrequency;

#[derive(Debug, Clone)]
pub struct PriceVersion {
    pub frequency: BillingFrequency,
    pub currency: Currency,
    /// Per licence per period.
    pub amount: Decimal,
    pub effective_from: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct CatalogPlan {
    pub id: Uuid,
    pub product_id: Uuid,
    pub code: String,
    pub name: String,
    pub rank: i32,
    pub features: Vec<String>,
    pub prices: Vec<PriceVersion>,
}

impl CatalogPlan {
    /// The price per licence per period in force on `date`: the latest version that took
    /// effect on or before it.
    pub fn price_on(
        &self,
        frequency: BillingFrequency,
        currency: Currency,
        date: NaiveDate,
    ) -> Option<&PriceVersion> {
        self.prices
            .iter()
            .filter(|p| {
                p.frequency == frequency && p.currency == currency && p.effective_from <= date
            })
            .max_by_key(|p| p.effective_from)
    }
}

#[derive(Debug, Clone)]
pub struct CatalogProduct {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// Ordered by rank, lowest first.
    pub plans: Vec<CatalogPlan>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub products: Vec<CatalogProduct>,
}

impl Catalog {
    pub fn product(&self, id: Uuid) -> Option<&CatalogProduct> {
        self.products.iter().find(|p| p.id == id)
    }

    pub fn product_by_code(&self, code: &str) -> Option<&CatalogProduct> {
        self.products.iter().find(|p| p.code == code)
    }

    pub fn plan(&self, id: Uuid) -> Option<(&CatalogProduct, &CatalogPlan)> {
        self.products.iter().find_map(|product| {
            product
                .plans
                .iter()
                .find(|plan| plan.id == id)
                .map(|plan| (product, plan))
        })
    }
}

impl CatalogProduct {
    pub fn plan_by_code(&self, code: &str) -> Option<&CatalogPlan> {
        self.plans.iter().find(|p| p.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn the_latest_version_in_force_wins() {
        let version = |amount, from| PriceVersion {
            frequency: BillingFrequency::Monthly,
            currency: Currency::Usd,
            amount,
            effective_from: from,
        };
        let plan = CatalogPlan {
            id: Uuid::new_v4(),
            product_id: Uuid::new_v4(),
            code: "standard".into(),
            name: "Standard".into(),
            rank: 1,
            features: vec![],
            prices: vec![
                version(dec!(29.00), d(2000, 1, 1)),
                version(dec!(31.00), d(2027, 1, 1)),
            ],
        };
        let on = |date| {
            plan.price_on(BillingFrequency::Monthly, Currency::Usd, date)
                .map(|p| p.amount)
        };
        assert_eq!(on(d(2026, 12, 31)), Some(dec!(29.00)));
        assert_eq!(on(d(2027, 1, 1)), Some(dec!(31.00)));
        assert_eq!(on(d(1999, 12, 31)), None);
        assert!(
            plan.price_on(BillingFrequency::Annual, Currency::Usd, d(2026, 1, 1))
                .is_none()
        );
    }
}
