//! `GET /v1/catalog/products`: products with plans and the prices in force today.

use actix_web::{get, web};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::domain::money::{Currency, to_currency_scale};
use crate::domain::period::BillingFrequency;
use crate::error::ApiResult;
use crate::services::Caller;

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceView {
    pub billing_frequency: BillingFrequency,
    pub currency: Currency,
    /// Per licence per period, in force today.
    #[schema(value_type = String, example = "49.00")]
    pub amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    #[schema(example = "premium")]
    pub code: String,
    #[schema(example = "Premium")]
    pub name: String,
    /// Higher rank = more features.
    #[schema(example = 2)]
    pub rank: i32,
    #[schema(example = json!(["Unattended access", "Remote support sessions", "File transfer", "Mobile device support", "Session recording"]))]
    pub features: Vec<String>,
    pub prices: Vec<PriceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    #[schema(example = "gotoassist-rs-v4")]
    pub code: String,
    #[schema(example = "GoToAssist Remote Support v4")]
    pub name: String,
    pub plans: Vec<PlanView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    pub data: Vec<ProductView>,
}

/// List products, plans and prices
///
/// Every product with its plans (ranked: a higher rank has more features) and, per billing
/// frequency and currency, the price per licence per period in force today.
#[utoipa::path(
    tag = "catalog",
    operation_id = "list_products",
    responses((status = 200, body = ProductList, description = "The catalog"))
)]
#[get("/catalog/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    _caller: Caller,
) -> ApiResult<web::Json<ProductList>> {
    let today = state.clock.today();
    let catalog = state.catalog.get();
    let data = catalog
        .products
        .iter()
        .map(|product| ProductView {
            code: product.code.clone(),
            name: product.name.clone(),
            plans: product
                .plans
                .iter()
                .map(|plan| PlanView {
                    code: plan.code.clone(),
                    name: plan.name.clone(),
                    rank: plan.rank,
                    features: plan.features.clone(),
                    prices: [BillingFrequency::Monthly, BillingFrequency::Annual]
                        .into_iter()
                        .flat_map(|frequency| {
                            Currency::ALL
                                .into_iter()
                                .map(move |currency| (frequency, currency))
                        })
                        .filter_map(|(frequency, currency)| {
                            plan.price_on(frequency, currency, today)
                                .map(|price| PriceView {
                                    billing_frequency: frequency,
                                    currency,
                                    amount: to_currency_scale(price.amount, currency),
                                })
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Ok(web::Json(ProductList { data }))
}
