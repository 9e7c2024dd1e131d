//! The catalog the migrations install (SPEC §3).

use rust_decimal::Decimal;
use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn products_plans_and_prices_are_served_from_a_fresh_database() {
    let app = TestApp::spawn().await;
    let response = app
        .get("/v1/catalog/products", &app.contact(uuid::Uuid::new_v4()))
        .await;
    response.assert_status(200);
    let products = response.body["data"].as_array().expect("data");
    assert!(products.len() >= 2);
    let flagship = products
        .iter()
        .find(|p| p["code"] == "gotoassist-rs-v4")
        .expect("flagship");
    assert_eq!(flagship["name"], json!("GoToAssist Remote Support v4"));
    let plans = flagship["plans"].as_array().expect("plans");
    assert!(plans.len() >= 3);
    let ranks: Vec<i64> = plans.iter().filter_map(|p| p["rank"].as_i64()).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] < w[1]),
        "plans are ordered by rank: {ranks:?}"
    );

    for plan in plans {
        let prices = plan["prices"].as_array().expect("prices");
        assert_eq!(prices.len(), 6, "monthly and annual in USD, EUR and GBP");
        for currency in ["USD", "EUR", "GBP"] {
            let amount = |frequency: &str| -> Decimal {
                let price = prices
                    .iter()
                    .find(|p| p["currency"] == currency && p["billing_frequency"] == frequency)
                    .expect("price");
                let text = price["amount"].as_str().expect("money is a string");
                assert_eq!(
                    text.split('.').nth(1).map(str::len),
                    Some(2),
                    "two minor digits: {text}"
                );
                text.parse().expect("decimal")
            };
            assert!(
                amount("annual") < amount("monthly") * Decimal::from(12),
                "annual is cheaper per month"
            );
        }
    }
    insta::assert_json_snapshot!("catalog", response.body);
}
