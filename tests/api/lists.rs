//! Account-owned lists read their children for the whole page at once: the number of SQL
//! statements a list request sends does not grow with the page size.

use billing_center::db::QueryCounts;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

/// An account with a card and `orders` completed orders, each flipping the billing
/// frequency of its one subscription (two lines and an invoice per order).
pub async fn account_with_orders(app: &TestApp, orders: usize) -> Uuid {
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    for n in 0..orders {
        let frequency = if n % 2 == 0 { "annual" } else { "monthly" };
        app.add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": subscription, "billing_frequency": frequency}),
        )
        .await
        .assert_status(200);
        app.checkout(
            account,
            &contact,
            Some(&format!("order-{n}")),
            None,
            json!({}),
        )
        .await
        .assert_status(201);
    }
    account
}

/// Sends one GET and returns its body with the statements and transactions it cost.
async fn counted_get(app: &TestApp, path: &str, token: &str) -> (Value, QueryCounts) {
    let before = app.state.pool.queries().counts();
    let response = app.get(path, token).await;
    response.assert_status(200);
    (
        response.body,
        app.state.pool.queries().counts().since(before),
    )
}

#[actix_web::test]
async fn listing_orders_and_invoices_costs_the_same_statements_for_1_or_20_on_the_page() {
    let app = TestApp::spawn().await;
    let one = account_with_orders(&app, 1).await;
    let twenty = account_with_orders(&app, 20).await;
    let admin = app.admin();

    let (page_of_one, orders_1) =
        counted_get(&app, &format!("/v1/accounts/{one}/orders"), &admin).await;
    let (page_of_twenty, orders_20) = counted_get(
        &app,
        &format!("/v1/accounts/{twenty}/orders?limit=20"),
        &admin,
    )
    .await;
    assert_eq!(page_of_one["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page_of_twenty["data"].as_array().map(Vec::len), Some(20));
    assert_eq!(
        page_of_twenty["data"][0]["items"][0]["lines"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // The reach check, the page of orders with their invoice ids, and their items with
    // lines and subscriptions; no transaction.
    assert_eq!(
        orders_1,
        QueryCounts {
            statements: 3,
            transactions: 0
        },
        "one order on the page"
    );
    assert_eq!(orders_20, orders_1, "twenty orders on the page");

    let (invoices_of_one, invoices_1) =
        counted_get(&app, &format!("/v1/accounts/{one}/invoices"), &admin).await;
    let (invoices_of_twenty, invoices_20) = counted_get(
        &app,
        &format!("/v1/accounts/{twenty}/invoices?limit=20"),
        &admin,
    )
    .await;
    assert_eq!(invoices_of_one["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        invoices_of_twenty["data"].as_array().map(Vec::len),
        Some(20)
    );
    // The reach check, the page of invoices, their lines, their payments.
    assert_eq!(
        invoices_1,
        QueryCounts {
            statements: 4,
            transactions: 0
        },
        "one invoice on the page"
    );
    assert_eq!(invoices_20, invoices_1, "twenty invoices on the page");

    // A page reads exactly as each of its rows does on its own.
    for (list, item) in [
        ("orders", &page_of_twenty),
        ("invoices", &invoices_of_twenty),
    ] {
        for row in item["data"].as_array().expect("rows") {
            let id = row["id"].as_str().expect("id");
            let single = app
                .get(&format!("/v1/accounts/{twenty}/{list}/{id}"), &admin)
                .await;
            single.assert_status(200);
            assert_eq!(&single.body, row, "{list} {id}");
        }
    }
}

#[actix_web::test]
async fn listing_purchase_orders_costs_the_same_statements_for_1_or_5_on_the_page() {
    let app = TestApp::spawn().await;
    let mut counts = Vec::new();
    for pos in [1, 5] {
        let account = app.corporate_account("rep-1").await;
        let contact = app.corporate_contact(account);
        let path = format!("/v1/accounts/{account}/purchase-orders");
        for n in 0..pos {
            app.post(
                &path,
                &contact,
                json!({"number": format!("PO-{n}"), "amount_limit": "100.00"}),
            )
            .await
            .assert_status(201);
        }
        let (page, cost) = counted_get(&app, &path, &contact).await;
        assert_eq!(page["data"].as_array().map(Vec::len), Some(pos));
        assert_eq!(page["data"][0]["amount_used"], json!("0.00"));
        counts.push(cost.statements);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    assert!(counts[0] <= 3, "{counts:?}");
}
