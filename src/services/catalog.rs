//! Loads the catalog from the database into memory (see `domain::catalog`).

use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::{Plan, Price, Product};
use crate::db::schema::{plans, prices, products};
use crate::domain::catalog::{Catalog, CatalogPlan, CatalogProduct, PriceVersion};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("catalog row is not valid: {0}")]
    Invalid(String),
}

pub async fn load(conn: &mut AsyncPgConnection) -> Result<Catalog, CatalogError> {
    let product_rows = products::table
        .select(Product::as_select())
        .order(products::code)
        .load(conn)
        .await?;
    let plan_rows = plans::table
        .select(Plan::as_select())
        .order(plans::rank)
        .load(conn)
        .await?;
    let price_rows = prices::table.select(Price::as_select()).load(conn).await?;

    let mut catalog = Catalog::default();
    for product in product_rows {
        let mut plans = Vec::new();
        for plan in plan_rows.iter().filter(|p| p.product_id == product.id) {
            let mut versions = Vec::new();
            for price in price_rows.iter().filter(|p| p.plan_id == plan.id) {
                versions.push(PriceVersion {
                    frequency: price.billing_frequency,
                    currency: price.currency,
                    amount: price.amount,
                    effective_from: price.effective_from,
                });
            }
            plans.push(CatalogPlan {
                id: plan.id,
                product_id: plan.product_id,
                code: plan.code.clone(),
                name: plan.name.clone(),
                rank: plan.rank,
                features: plan.features.iter().flatten().cloned().collect(),
                prices: versions,
            });
        }
        catalog.products.push(CatalogProduct {
            id: product.id,
            code: product.code,
            name: product.name,
            plans,
        });
    }
    Ok(catalog)
}

/// The loaded catalog, shared by all workers; `reload` swaps it whole.
#[derive(Debug, Clone, Default)]
pub struct CatalogCache(Arc<RwLock<Arc<Catalog>>>);

impl CatalogCache {
    pub fn new(catalog: Catalog) -> CatalogCache {
        CatalogCache(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    pub fn get(&self) -> Arc<Catalog> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub async fn reload(&self, conn: &mut AsyncPgConnection) -> Result<(), CatalogError> {
        let fresh = Arc::new(load(conn).await?);
        match self.0.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}
