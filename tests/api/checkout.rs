//! Changing a subscription end to end: cart, checkout summary, order — with the amounts
//! worked out by hand in each test.

use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::reconcile::assert_reconciled;

fn money(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("money is a string: {value}"))
        .parse()
        .expect("decimal")
}

/// A self-service US account (untaxed: outside the EU) with Standard × 5 monthly, started
/// 2026-11-17 (ten days before "today", 2026-11-27), and a card on file.
async fn walkthrough_account(app: &TestApp) -> (Uuid, Uuid) {
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    (account, subscription)
}

#[actix_web::test]
async fn upgrade_more_licences_and_annual_ten_days_into_the_month() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);

    let cart = app
        .add_item(account, &contact, json!({"type": "change", "subscription_id": subscription,
                                            "plan": "premium", "quantity": 8, "billing_frequency": "annual"}))
        .await;
    cart.assert_status(200);
    assert_eq!(cart.body["item_count"], json!(1));
    assert_eq!(cart.body["items"][0]["plan"], json!("premium"));

    // By hand: the period [2026-11-17, 2026-12-17) has 30 days, 20 unused from 2026-11-27.
    // Standard was charged 29.00 × 5 = 145.00; credit = 145.00 × 20 / 30 = 96.666… → 96.67.
    // Premium annual is 468.00 per licence: 468.00 × 8 = 3744.00.
    // Subtotal 3744.00 − 96.67 = 3647.33; a US customer is not taxed; nothing to apply.
    let quote = app.quote(account, &contact).await;
    quote.assert_status(200);
    let item = &quote.body["items"][0];
    assert_eq!(item["period_start"], json!("2026-11-27"));
    assert_eq!(item["period_end"], json!("2027-11-27"));
    assert_eq!(item["quantity"], json!(8));
    assert_eq!(item["unit_price"], json!("468.00"));
    assert_eq!(item["plan_price"], json!("3744.00"));
    assert_eq!(item["proration_credit"], json!("96.67"));
    assert_eq!(
        item["lines"][1],
        json!({"description": "Unused time on Standard × 5", "amount": "-96.67"})
    );
    assert_eq!(quote.body["subtotal"], json!("3647.33"));
    assert_eq!(quote.body["tax_rate"], json!("0"));
    assert_eq!(quote.body["tax"], json!("0.00"));
    assert_eq!(quote.body["credit_applied"], json!("0.00"));
    assert_eq!(quote.body["total_due"], json!("3647.33"));
    assert_eq!(quote.body["requirements"], json!([]));
    let etag = quote.body["quote_etag"].as_str().expect("etag").to_owned();
    assert_eq!(quote.header("etag"), Some(etag.as_str()));
    insta::assert_json_snapshot!("quote_walkthrough", quote.body, {
        ".cart_id" => "[id]", ".items[].item_id" => "[id]", ".items[].subscription_id" => "[id]", ".quote_etag" => "[etag]"
    });

    let order = app
        .checkout(
            account,
            &contact,
            Some("walkthrough-1"),
            Some(&etag),
            json!({}),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["status"], json!("completed"));
    assert_eq!(order.body["settlement"], json!("card"));
    assert_eq!(order.body["total_due"], json!("3647.33"));
    assert!(
        order.body["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("ORD-"))
    );
    assert_eq!(
        order.body["subscriptions"],
        json!([{"subscription_id": subscription, "quantity": 8,
                                                    "licenses_assigned": 0, "licenses_unassigned": 8}])
    );
    assert_eq!(app.gateway.successful_charges(), 1);

    let changed = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact,
        )
        .await;
    assert_eq!(changed.body["plan"], json!("premium"));
    assert_eq!(changed.body["billing_frequency"], json!("annual"));
    assert_eq!(changed.body["quantity"], json!(8));
    assert_eq!(changed.body["current_period_start"], json!("2026-11-27"));
    assert_eq!(changed.body["current_period_end"], json!("2027-11-27"));
    assert_eq!(changed.body["period_amount"], json!("3744.00"));
    assert_eq!(changed.body["version"], json!(2));

    let invoice_id = order.body["invoice_id"].as_str().expect("invoice");
    let invoice = app
        .get(
            &format!("/v1/accounts/{account}/invoices/{invoice_id}"),
            &contact,
        )
        .await;
    invoice.assert_status(200);
    assert_eq!(invoice.body["status"], json!("paid"));
    assert_eq!(invoice.body["due_on"], json!("2026-11-27"));
    assert_eq!(invoice.body["total_due"], json!("3647.33"));
    let lines: Decimal = invoice.body["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| money(&l["amount"]))
        .sum();
    assert_eq!(lines, Decimal::new(364733, 2));

    // The cart is closed; a fresh one is empty.
    let cart = app
        .get(&format!("/v1/accounts/{account}/cart"), &contact)
        .await;
    assert_eq!(cart.body["item_count"], json!(0));
    assert_ne!(cart.body["id"], quote.body["cart_id"]);
    // Orders list and audit trail.
    let orders = app
        .get(&format!("/v1/accounts/{account}/orders"), &contact)
        .await;
    assert_eq!(orders.body["data"][0]["id"], order.body["id"]);
    let events = app
        .get(&format!("/v1/accounts/{account}/events?limit=5"), &contact)
        .await;
    let actions: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    // One event per resource the checkout changed (SPEC §14), newest first.
    assert_eq!(
        actions,
        [
            "invoice.paid",
            "invoice.created",
            "order.placed",
            "subscription.updated",
            "cart.item_added"
        ]
    );
    let data = &events.body["data"];
    assert_eq!(data[2]["data"]["object"], order.body);
    assert_eq!(data[2]["data"]["previous_attributes"], json!(null));
    assert_eq!(data[1]["data"]["object"]["id"], order.body["invoice_id"]);
    assert_eq!(
        data[1]["data"]["object"]["total_due"],
        order.body["total_due"]
    );
    assert_eq!(data[0]["data"]["object"]["status"], json!("paid"));
    assert_eq!(data[3]["data"]["previous_attributes"]["quantity"], json!(5));
    assert!(data[2]["idempotency_key"].is_string());
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_change_on_the_first_day_of_the_period_nets_the_old_charge() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-27")
        .await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    // Same plan and frequency, one more licence, on the first day: credit the full 145.00,
    // charge 29.00 × 6 = 174.00; due 29.00.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    let quote = app.quote(account, &contact).await;
    assert_eq!(quote.body["items"][0]["proration_credit"], json!("145.00"));
    assert_eq!(quote.body["total_due"], json!("29.00"));
}

#[actix_web::test]
async fn contacts_cannot_downgrade_but_support_can_with_a_reason_and_credit_results() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "premium", "monthly", 10, "2026-11-17")
        .await;
    let contact = app.contact(account);
    let downgrade = json!({"type": "change", "subscription_id": subscription, "plan": "standard"});

    let refused = app.add_item(account, &contact, downgrade.clone()).await;
    refused.assert_problem(403, "downgrade-requires-assistance");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("customer service")
    );

    let support = app.support();
    app.add_item(account, &support, downgrade)
        .await
        .assert_status(200);
    // By hand: premium 49.00 × 10 = 490.00 charged for [11-17, 12-17); 20 of 30 days unused:
    // credit 490.00 × 20 / 30 = 326.666… → 326.67. Standard 29.00 × 10 = 290.00.
    // Subtotal −36.67: nothing due, 36.67 goes to the credit balance.
    let quote = app.quote(account, &support).await;
    assert_eq!(quote.body["subtotal"], json!("-36.67"));
    assert_eq!(quote.body["total_due"], json!("0.00"));
    assert_eq!(quote.body["credit_created"], json!("36.67"));
    // No card is needed when nothing is due.
    assert_eq!(quote.body["requirements"], json!([]));

    app.checkout(account, &support, Some("k1"), None, json!({}))
        .await
        .assert_problem(422, "validation-failed");
    let order = app
        .checkout(
            account,
            &support,
            Some("k2"),
            None,
            json!({"reason": "Customer asked by phone, ticket 4711"}),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], json!("none"));
    assert_eq!(
        order.body["reason"],
        json!("Customer asked by phone, ticket 4711")
    );
    assert_eq!(app.gateway.successful_charges(), 0);

    let account_view = app.get(&format!("/v1/accounts/{account}"), &contact).await;
    assert_eq!(account_view.body["credit_balance"], json!("36.67"));
    let events = app
        .get(
            &format!("/v1/accounts/{account}/events?type=order.placed&limit=1"),
            &contact,
        )
        .await;
    assert_eq!(events.body["data"][0]["type"], json!("order.placed"));
    assert_eq!(
        events.body["data"][0]["reason"],
        json!("Customer asked by phone, ticket 4711")
    );
    assert_eq!(
        events.body["data"][0]["actor"],
        json!({"type": "user", "sub": "support-1", "role": "support"})
    );

    // The credit pays the next order first: 2 more licences of standard, a new period from
    // today: standard 29.00 × 12 = 348.00 − credit for the fresh 290.00 period (full, first
    // day) = 58.00, of which the 36.67 balance pays; 21.33 is charged to the card.
    app.attach_card(account, "tok_visa").await;
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 12}),
    )
    .await
    .assert_status(200);
    let quote = app.quote(account, &contact).await;
    assert_eq!(quote.body["subtotal"], json!("58.00"));
    assert_eq!(quote.body["credit_applied"], json!("36.67"));
    assert_eq!(quote.body["total_due"], json!("21.33"));
    app.checkout(account, &contact, Some("k3"), None, json!({}))
        .await
        .assert_status(201);
    let account_view = app.get(&format!("/v1/accounts/{account}"), &contact).await;
    assert_eq!(account_view.body["credit_balance"], json!("0.00"));
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn corporate_contacts_are_told_to_ask_their_representative() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let refused = app
        .add_item(
            account,
            &app.corporate_contact(account),
            json!({"type": "change", "subscription_id": subscription, "plan": "standard"}),
        )
        .await;
    refused.assert_problem(403, "downgrade-requires-assistance");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("representative")
    );
}

async fn assign_users(app: &TestApp, account: Uuid, subscription: Uuid, count: usize) {
    for i in 0..count {
        let user = app
            .post(
                &format!("/v1/accounts/{account}/users"),
                &app.admin(),
                json!({"name": "U", "email": format!("u{i}@acme.example")}),
            )
            .await
            .body["id"]
            .as_str()
            .expect("id")
            .to_owned();
        app.put(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{user}"),
            &app.admin(),
            json!(null),
        )
        .await
        .assert_status(201);
    }
}

#[actix_web::test]
async fn licences_cannot_go_below_the_assigned_count() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    assign_users(&app, account, subscription, 4).await;
    let refused = app
        .add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": subscription, "quantity": 2}),
        )
        .await;
    refused.assert_problem(409, "licenses-in-use");
    assert_eq!(refused.body["licenses_to_unassign"], json!(2));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("unassign 2")
    );
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 4}),
    )
    .await
    .assert_status(200);
    // Checked again at checkout: a fifth licence was assigned since the item was added.
    let user = app
        .post(
            &format!("/v1/accounts/{account}/users"),
            &contact,
            json!({"name": "Late", "email": "late@acme.example"}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.put(
        &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{user}"),
        &contact,
        json!(null),
    )
    .await
    .assert_status(201);
    app.checkout(account, &contact, Some("k"), None, json!({}))
        .await
        .assert_problem(409, "licenses-in-use");
    assert_eq!(app.gateway.successful_charges(), 0);
    // The order that reports the next step: licences bought but not yet assigned.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 9}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(account, &contact, Some("k2"), None, json!({}))
        .await;
    order.assert_status(201);
    assert_eq!(
        order.body["subscriptions"][0]["licenses_assigned"],
        json!(5)
    );
    assert_eq!(
        order.body["subscriptions"][0]["licenses_unassigned"],
        json!(4)
    );
    crate::licenses::assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn an_item_that_changes_nothing_is_refused() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription}),
    )
    .await
    .assert_problem(422, "no-change");
    app.add_item(account, &contact, json!({"type": "change", "subscription_id": subscription, "plan": "standard", "quantity": 5, "billing_frequency": "monthly"}))
        .await
        .assert_problem(422, "no-change");
    app.add_item(account, &contact, json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "premium", "quantity": 5, "billing_frequency": "monthly"}))
        .await
        .assert_problem(409, "already-subscribed");
    app.checkout(account, &contact, Some("k"), None, json!({}))
        .await
        .assert_problem(422, "cart-empty");
    app.quote(account, &contact)
        .await
        .assert_problem(422, "cart-empty");
}

#[actix_web::test]
async fn an_expired_trial_is_bought_with_subscribe_once_a_card_is_on_file() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let trial = app
        .post(&format!("/v1/accounts/{account}/subscriptions"), &app.admin(),
              json!({"product": "gotoassist-rs-v4", "plan": "premium", "quantity": 5, "status": "trialing", "trial_ends_on": "2026-11-20"}))
        .await;
    let trial_id = trial.body["id"].as_str().expect("id").to_owned();
    let contact = app.contact(account);

    let refused = app
        .add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": trial_id, "quantity": 6}),
        )
        .await;
    refused.assert_problem(409, "trial-expired");
    assert_eq!(refused.body["actions"], json!(["subscribe"]));

    app.add_item(account, &contact, json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "premium", "quantity": 5, "billing_frequency": "monthly"}))
        .await
        .assert_status(200);
    // Premium monthly 49.00 × 5 = 245.00, no credit for a trial.
    let quote = app.quote(account, &contact).await;
    assert_eq!(quote.body["items"][0]["proration_credit"], json!("0.00"));
    assert_eq!(quote.body["total_due"], json!("245.00"));
    assert_eq!(quote.body["requirements"], json!(["payment_method"]));

    let needs_card = app
        .checkout(account, &contact, Some("subscribe-1"), None, json!({}))
        .await;
    needs_card.assert_problem(422, "payment-method-required");
    assert_eq!(needs_card.body["requirements"], json!(["payment_method"]));

    app.attach_card(account, "tok_mastercard").await;
    // The 4xx was not stored: the same key goes through now.
    let order = app
        .checkout(account, &contact, Some("subscribe-1"), None, json!({}))
        .await;
    order.assert_status(201);
    assert_eq!(order.body["items"][0]["subscription_id"], json!(trial_id));
    let subscription = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{trial_id}"),
            &contact,
        )
        .await;
    assert_eq!(subscription.body["status"], json!("active"));
    assert_eq!(
        subscription.body["actions"],
        json!(["edit", "assign_licenses"])
    );
    assert_eq!(subscription.body["period_amount"], json!("245.00"));
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_product_never_tried_is_subscribed_to_a_new_subscription() {
    let app = TestApp::spawn().await;
    let (account, _) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(account, &contact, json!({"type": "subscribe", "product": "gotoassist-service-desk", "plan": "starter", "quantity": 3, "billing_frequency": "annual"}))
        .await
        .assert_status(200);
    let order = app
        .checkout(account, &contact, Some("new-product"), None, json!({}))
        .await;
    order.assert_status(201);
    // Starter annual 190.00 × 3 = 570.00.
    assert_eq!(order.body["total_due"], json!("570.00"));
    let list = app
        .get(&format!("/v1/accounts/{account}/subscriptions"), &contact)
        .await;
    assert_eq!(list.body["data"].as_array().expect("data").len(), 2);
    assert_eq!(
        list.body["data"][0]["product"],
        json!("gotoassist-service-desk")
    );
}

async fn eu_account(app: &TestApp, country: &str, vat_id: Option<&str>) -> (Uuid, Uuid) {
    let account = app
        .create_account(json!({"kind": "self_service", "name": "EU GmbH", "country": country, "currency": "EUR",
                                "vat_id": vat_id, "billing_contact": {"name": "E", "email": "e@eu.example"}}))
        .await;
    let subscription = app
        .import_active(account, "standard", "monthly", 10, "2026-11-17")
        .await;
    (account, subscription)
}

#[actix_web::test]
async fn eu_customers_need_a_vat_id_and_are_then_reverse_charged() {
    let app = TestApp::spawn().await;
    let (account, subscription) = eu_account(&app, "FR", None).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "plan": "premium"}),
    )
    .await
    .assert_status(200);
    // By hand (EUR): standard 27.00 × 10 = 270.00 for [11-17, 12-17); credit 270 × 20/30 =
    // 180.00. Premium 45.00 × 10 = 450.00. Subtotal 270.00; French VAT 20 % = 54.00.
    let quote = app.quote(account, &contact).await;
    assert_eq!(quote.body["subtotal"], json!("270.00"));
    assert_eq!(quote.body["tax_rate"], json!("0.2"));
    assert_eq!(quote.body["tax"], json!("54.00"));
    assert_eq!(quote.body["total_due"], json!("324.00"));
    assert_eq!(quote.body["reverse_charge"], json!(false));
    assert_eq!(
        quote.body["requirements"],
        json!(["payment_method", "vat_id"])
    );

    let both = app
        .checkout(account, &contact, Some("eu-1"), None, json!({}))
        .await;
    both.assert_problem(422, "payment-method-required");
    assert_eq!(
        both.body["requirements"],
        json!(["payment_method", "vat_id"])
    );
    app.attach_card(account, "tok_visa").await;
    app.checkout(account, &contact, Some("eu-1"), None, json!({}))
        .await
        .assert_problem(422, "vat-id-required");

    app.patch(
        &format!("/v1/accounts/{account}"),
        &contact,
        json!({"vat_id": "FR40303265045"}),
    )
    .await
    .assert_status(200);
    let reverse = app.quote(account, &contact).await;
    assert_eq!(reverse.body["tax_rate"], json!("0"));
    assert_eq!(reverse.body["tax"], json!("0.00"));
    assert_eq!(reverse.body["reverse_charge"], json!(true));
    assert_eq!(reverse.body["total_due"], json!("270.00"));
    assert_ne!(reverse.body["quote_etag"], quote.body["quote_etag"]);
    let order = app
        .checkout(account, &contact, Some("eu-1"), None, json!({}))
        .await;
    order.assert_status(201);
    let invoice = app
        .get(
            &format!(
                "/v1/accounts/{account}/invoices/{}",
                order.body["invoice_id"].as_str().expect("id")
            ),
            &contact,
        )
        .await;
    assert_eq!(invoice.body["reverse_charge"], json!(true));
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn customers_in_the_sellers_country_pay_its_vat_even_with_a_vat_id() {
    let app = TestApp::spawn().await;
    let (account, subscription) = eu_account(&app, "IE", Some("IE6388047V")).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "plan": "premium"}),
    )
    .await
    .assert_status(200);
    let quote = app.quote(account, &contact).await;
    // Subtotal 270.00 as above; Irish VAT 23 % = 62.10.
    assert_eq!(quote.body["tax_rate"], json!("0.23"));
    assert_eq!(quote.body["tax"], json!("62.10"));
    assert_eq!(quote.body["reverse_charge"], json!(false));
    assert_eq!(quote.body["requirements"], json!(["payment_method"]));
}

#[actix_web::test]
async fn a_stale_quote_is_refused_with_the_fresh_one() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    let cart = app
        .add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": subscription, "quantity": 8}),
        )
        .await;
    let reviewed = app.quote(account, &contact).await.body["quote_etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    // "Change order": the contact edits the item after reviewing.
    let item_id = cart.body["items"][0]["id"].as_str().expect("id");
    app.patch(
        &format!("/v1/accounts/{account}/cart/items/{item_id}"),
        &contact,
        json!({"quantity": 9}),
    )
    .await
    .assert_status(200);
    let stale = app
        .checkout(
            account,
            &contact,
            Some("stale-1"),
            Some(&reviewed),
            json!({}),
        )
        .await;
    stale.assert_problem(412, "quote-changed");
    assert_eq!(stale.body["quote"]["items"][0]["quantity"], json!(9));
    assert_eq!(app.gateway.successful_charges(), 0);
    // The date moves the quote too.
    let fresh = stale.body["quote"]["quote_etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    app.set_today("2026-11-28");
    app.checkout(account, &contact, Some("stale-1"), Some(&fresh), json!({}))
        .await
        .assert_problem(412, "quote-changed");
    app.set_today("2026-11-27");
    app.checkout(account, &contact, Some("stale-1"), Some(&fresh), json!({}))
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn a_declined_card_changes_nothing() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_insufficientFunds").await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "plan": "premium"}),
    )
    .await
    .assert_status(200);
    let before = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact,
        )
        .await
        .body;

    let declined = app
        .checkout(account, &contact, Some("decline-1"), None, json!({}))
        .await;
    declined.assert_problem(402, "card-declined");
    assert_eq!(declined.body["decline_code"], json!("insufficient_funds"));
    assert_eq!(
        app.get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact
        )
        .await
        .body,
        before
    );
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/orders"), &contact)
            .await
            .body["data"],
        json!([])
    );
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/invoices"), &contact)
            .await
            .body["data"],
        json!([])
    );
    let cart = app
        .get(&format!("/v1/accounts/{account}/cart"), &contact)
        .await;
    assert_eq!(
        (cart.body["status"].clone(), cart.body["item_count"].clone()),
        (json!("open"), json!(1))
    );

    // With a working card the same key goes through (a decline is not stored).
    app.attach_card(account, "tok_visa").await;
    app.checkout(account, &contact, Some("decline-1"), None, json!({}))
        .await
        .assert_status(201);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn idempotency_keys_replay_refuse_and_require() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
    )
    .await
    .assert_status(200);

    app.checkout(account, &contact, None, None, json!({}))
        .await
        .assert_problem(400, "idempotency-key-required");
    let first = app
        .checkout(account, &contact, Some("same"), None, json!({}))
        .await;
    first.assert_status(201);
    // A retry returns the same order, before any other check (even a stale If-Match).
    let again = app
        .checkout(
            account,
            &contact,
            Some("same"),
            Some("\"q-stale\""),
            json!({}),
        )
        .await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(app.gateway.successful_charges(), 1);
    // The same key with another body.
    app.checkout(
        account,
        &contact,
        Some("same"),
        None,
        json!({"po_number": "PO-1"}),
    )
    .await
    .assert_problem(422, "idempotency-key-reused");
    // Keys are scoped to the account.
    let (other, other_subscription) = walkthrough_account(&app).await;
    app.add_item(
        other,
        &app.contact(other),
        json!({"type": "change", "subscription_id": other_subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    let other_order = app
        .checkout(other, &app.contact(other), Some("same"), None, json!({}))
        .await;
    other_order.assert_status(201);
    assert_ne!(other_order.body["id"], first.body["id"]);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn sixteen_concurrent_checkouts_of_one_cart_make_one_order() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "plan": "ultimate"}),
    )
    .await
    .assert_status(200);
    let keys: Vec<String> = (0..16).map(|i| format!("parallel-{i}")).collect();
    let responses = join_all(
        keys.iter()
            .map(|key| app.checkout(account, &contact, Some(key), None, json!({}))),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 409, 422].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn twenty_concurrent_requests_with_one_key_make_one_order() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 9}),
    )
    .await
    .assert_status(200);
    let responses = join_all(
        (0..20).map(|_| app.checkout(account, &contact, Some("one-key"), None, json!({}))),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [201, 409].contains(s)),
        "{statuses:?}"
    );
    let orders: std::collections::HashSet<String> = responses
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .map(|r| r.body["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(orders.len(), 1);
    for conflict in responses.iter().filter(|r| r.status.as_u16() == 409) {
        conflict.assert_problem(409, "idempotency-key-in-use");
    }
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/orders"), &contact)
            .await
            .body["data"]
            .as_array()
            .expect("data")
            .len(),
        1
    );
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_gateway_outage_leaves_a_pending_order_that_the_same_key_or_recovery_completes() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);

    app.gateway.fail_next_charges(1);
    app.checkout(account, &contact, Some("outage-1"), None, json!({}))
        .await
        .assert_problem(503, "service-unavailable");
    // The cart is held by the pending order: edits and other keys wait.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
    )
    .await
    .assert_problem(409, "conflict");
    app.checkout(account, &contact, Some("outage-2"), None, json!({}))
        .await
        .assert_problem(409, "conflict");
    // The same key resumes it, charging once.
    let order = app
        .checkout(account, &contact, Some("outage-1"), None, json!({}))
        .await;
    order.assert_status(201);
    // 29.00 × 6 = 174.00 for a new month, less 96.67 for the unused 20 of 30 days of 145.00.
    assert_eq!(order.body["total_due"], json!("77.33"));
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;

    // Recovery at start-up finishes an order whose client never came back.
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    app.gateway.fail_next_charges(1);
    app.checkout(account, &contact, Some("abandoned"), None, json!({}))
        .await
        .assert_problem(503, "service-unavailable");
    let settled = billing_center::services::checkout::recover_pending_orders(&app.state)
        .await
        .expect("recovery");
    assert_eq!(settled, 1);
    let replay = app
        .checkout(account, &contact, Some("abandoned"), None, json!({}))
        .await;
    replay.assert_status(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.gateway.successful_charges(), 2);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn cart_items_are_one_per_product_and_versioned() {
    let app = TestApp::spawn().await;
    let (account, subscription) = walkthrough_account(&app).await;
    let contact = app.contact(account);
    let first = app
        .add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
        )
        .await;
    assert_eq!(first.header("etag"), Some("\"2\""));
    let second = app
        .add_item(
            account,
            &contact,
            json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
        )
        .await;
    assert_eq!(second.body["item_count"], json!(1));
    assert_eq!(second.body["items"][0]["quantity"], json!(7));
    assert_eq!(second.body["version"], json!(3));
    let with_desk = app
        .add_item(account, &contact, json!({"type": "subscribe", "product": "gotoassist-service-desk", "plan": "starter", "quantity": 2, "billing_frequency": "monthly"}))
        .await;
    assert_eq!(with_desk.body["item_count"], json!(2));

    // If-Match on cart edits.
    let stale = app
        .send_with(
            actix_web::http::Method::POST,
            &format!("/v1/accounts/{account}/cart/items"),
            Some(&contact),
            &[("If-Match", "\"2\"")],
            Some(json!({"type": "change", "subscription_id": subscription, "quantity": 8})),
        )
        .await;
    stale.assert_problem(412, "version-mismatch");

    let item = with_desk.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["type"] == "subscribe")
        .expect("item")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.delete(
        &format!("/v1/accounts/{account}/cart/items/{item}"),
        &contact,
    )
    .await
    .assert_status(204);
    app.delete(
        &format!("/v1/accounts/{account}/cart/items/{item}"),
        &contact,
    )
    .await
    .assert_problem(404, "not-found");
    let cart = app
        .get(&format!("/v1/accounts/{account}/cart"), &contact)
        .await;
    assert_eq!(cart.body["item_count"], json!(1));
    assert_eq!(cart.body["version"], json!(5));

    for bad in [
        json!({"type": "change", "subscription_id": Uuid::new_v4(), "quantity": 6}),
        json!({"type": "change", "subscription_id": subscription, "quantity": 0}),
        json!({"type": "change", "subscription_id": subscription, "quantity": 10001}),
        json!({"type": "change", "subscription_id": subscription, "plan": "starter"}),
        json!({"type": "subscribe", "product": "nope", "plan": "starter", "quantity": 1, "billing_frequency": "monthly"}),
        json!({"type": "upgrade", "subscription_id": subscription}),
        json!({"type": "change", "subscription_id": subscription, "quantity": 6, "extra": true}),
    ] {
        app.add_item(account, &contact, bad.clone())
            .await
            .assert_problem(422, "validation-failed");
    }
}
