//! Corporate accounts: invoice settlement on terms, purchase orders, payments received,
//! assisted downgrades, and quotes a representative sends and a contact accepts.

use futures_util::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::reconcile::assert_reconciled;

/// Globex: corporate, USD, representative rep-1, Premium annual × 50 since 2026-06-01.
async fn globex(app: &TestApp) -> (Uuid, Uuid) {
    let account = app.corporate_account("rep-1").await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    (account, subscription)
}

async fn quote_from_cart(app: &TestApp, account: Uuid, items: &[Value], body: Value) -> Value {
    let rep = app.representative("rep-1");
    for item in items {
        app.add_item(account, &rep, item.clone())
            .await
            .assert_status(200);
    }
    let quote = app
        .post(&format!("/v1/accounts/{account}/quotes"), &rep, body)
        .await;
    quote.assert_status(201);
    quote.body
}

async fn accept(
    app: &TestApp,
    account: Uuid,
    quote: &str,
    key: &str,
    body: Value,
) -> crate::helpers::Response {
    accept_as(
        app,
        &app.corporate_contact(account),
        account,
        quote,
        key,
        body,
    )
    .await
}

async fn accept_as(
    app: &TestApp,
    token: &str,
    account: Uuid,
    quote: &str,
    key: &str,
    body: Value,
) -> crate::helpers::Response {
    let path = format!("/v1/accounts/{account}/quotes/{quote}/accept");
    app.send_with(
        actix_web::http::Method::POST,
        &path,
        Some(token),
        &[("Idempotency-Key", key)],
        Some(body),
    )
    .await
}

#[actix_web::test]
async fn from_a_representatives_change_to_a_paid_invoice() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let rep = app.representative("rep-1");
    let contact = app.corporate_contact(account);

    // The representative prepares 10 more licences and sends the quote.
    let quote = quote_from_cart(
        &app,
        account,
        &[json!({"type": "change", "subscription_id": subscription, "quantity": 60})],
        json!({"note": "As discussed"}),
    )
    .await;
    assert_eq!(quote["status"], json!("sent"));
    assert!(
        quote["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("QUO-"))
    );
    assert_eq!(quote["expires_on"], json!("2026-12-26")); // 30 days counting today
    // By hand: Premium annual 468.00 × 50 = 23400.00 for [2026-06-01, 2027-06-01) (365 days),
    // 186 days unused from 2026-11-27: 23400 × 186 / 365 = 11924.383… → 11924.38.
    // New period: 468.00 × 60 = 28080.00. Due 28080.00 − 11924.38 = 16155.62 (US: untaxed).
    assert_eq!(
        quote["summary"]["items"][0]["proration_credit"],
        json!("11924.38")
    );
    assert_eq!(quote["total_due"], json!("16155.62"));
    // The cart became the quote.
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/cart"), &rep)
            .await
            .body["item_count"],
        json!(0)
    );

    let listed = app
        .get(&format!("/v1/accounts/{account}/quotes"), &contact)
        .await;
    assert_eq!(listed.body["data"][0]["id"], quote["id"]);

    // The contact accepts with its PO; the order is invoiced on net-30 terms.
    app.post(
        &format!("/v1/accounts/{account}/purchase-orders"),
        &contact,
        json!({"number": "PO-77", "amount_limit": "20000.00", "expires_on": "2026-12-31"}),
    )
    .await
    .assert_status(201);
    let quote_id = quote["id"].as_str().expect("id");
    let order = accept(
        &app,
        account,
        quote_id,
        "accept-1",
        json!({"po_number": "PO-77"}),
    )
    .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], json!("invoice"));
    assert_eq!(order.body["total_due"], json!("16155.62"));
    assert_eq!(order.body["po_number"], json!("PO-77"));
    assert_eq!(order.body["items"][0]["period_start"], json!("2026-11-27"));
    assert_eq!(app.gateway.successful_charges(), 0);

    let invoice_id = order.body["invoice_id"]
        .as_str()
        .expect("invoice")
        .to_owned();
    let invoice = app
        .get(
            &format!("/v1/accounts/{account}/invoices/{invoice_id}"),
            &contact,
        )
        .await;
    assert_eq!(invoice.body["status"], json!("open"));
    assert_eq!(invoice.body["due_on"], json!("2026-12-27"));
    assert_eq!(invoice.body["po_number"], json!("PO-77"));
    let accepted = app
        .get(
            &format!("/v1/accounts/{account}/quotes/{quote_id}"),
            &contact,
        )
        .await;
    assert_eq!(accepted.body["status"], json!("accepted"));
    assert_eq!(accepted.body["order_id"], order.body["id"]);
    let changed = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact,
        )
        .await;
    assert_eq!(changed.body["quantity"], json!(60));

    // The PO now shows what was ordered under it.
    let pos = app
        .get(&format!("/v1/accounts/{account}/purchase-orders"), &contact)
        .await;
    assert_eq!(pos.body["data"][0]["amount_used"], json!("16155.62"));

    // Payments received by transfer: partly, then in full.
    let pay = |token: String, key: &'static str, body: Value| {
        let app = &app;
        let invoice_id = invoice_id.clone();
        async move {
            app.record_payment(account, &invoice_id, &token, Some(key), body)
                .await
        }
    };
    pay(
        contact.clone(),
        "pay-1",
        json!({"amount": "100.00", "method": "bank_transfer"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let partly = pay(
        rep.clone(),
        "pay-2",
        json!({"amount": "10000.00", "method": "bank_transfer", "reference": "BANK-1"}),
    )
    .await;
    partly.assert_status(201);
    assert_eq!(partly.body["status"], json!("open"));
    assert_eq!(partly.body["amount_paid"], json!("10000.00"));
    pay(
        rep.clone(),
        "pay-3",
        json!({"amount": "6155.63", "method": "cheque"}),
    )
    .await
    .assert_problem(422, "validation-failed");
    let paid = pay(
        rep.clone(),
        "pay-4",
        json!({"amount": "6155.62", "method": "cheque", "reference": "CHQ-9"}),
    )
    .await;
    paid.assert_status(201);
    assert_eq!(paid.body["status"], json!("paid"));
    assert_eq!(paid.body["payments"].as_array().expect("payments").len(), 2);
    pay(
        rep.clone(),
        "pay-5",
        json!({"amount": "1.00", "method": "cheque"}),
    )
    .await
    .assert_problem(409, "conflict");

    let events = app
        .get(&format!("/v1/accounts/{account}/events?limit=100"), &rep)
        .await;
    let actions: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for expected in [
        "quote.sent",
        "quote.accepted",
        "order.placed",
        "invoice.payment_recorded",
        "invoice.paid",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_representative_downgrades_with_a_reason_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let rep = app.representative("rep-1");
    app.add_item(
        account,
        &rep,
        json!({"type": "change", "subscription_id": subscription, "plan": "standard"}),
    )
    .await
    .assert_status(200);
    app.checkout(account, &rep, Some("down-1"), None, json!({}))
        .await
        .assert_problem(422, "validation-failed");
    let order = app
        .checkout(
            account,
            &rep,
            Some("down-2"),
            None,
            json!({"reason": "Contract renegotiated, CRM-88"}),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], json!("invoice"));
    let event = app
        .get(
            &format!("/v1/accounts/{account}/events?type=order.placed&type=subscription.*&limit=2"),
            &rep,
        )
        .await
        .body["data"]
        .clone();
    assert_eq!(event[0]["type"], json!("order.placed"));
    assert_eq!(
        event[0]["actor"],
        json!({"type": "user", "sub": "rep-1", "role": "representative"})
    );
    assert_eq!(event[0]["reason"], json!("Contract renegotiated, CRM-88"));
    assert_eq!(event[1]["type"], json!("subscription.updated"));
    // The subscription as the API shows it, before (the changed fields) and after.
    assert_eq!(
        event[1]["data"]["previous_attributes"]["plan"],
        json!("premium")
    );
    assert_eq!(event[1]["data"]["object"]["plan"], json!("standard"));
    assert_eq!(event[1]["data"]["object"]["id"], json!(subscription));
}

#[actix_web::test]
async fn purchase_order_rules() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let rep = app.representative("rep-1");
    let contact = app.corporate_contact(account);
    let pos = format!("/v1/accounts/{account}/purchase-orders");
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-SMALL", "amount_limit": "100.00"}),
    )
    .await
    .assert_status(201);
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-OLD", "expires_on": "2026-11-26"}),
    )
    .await
    .assert_status(201);
    app.post(&pos, &contact, json!({"number": "PO-SMALL"}))
        .await
        .assert_problem(409, "purchase-order-exists");
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-X", "amount_limit": "-5"}),
    )
    .await
    .assert_problem(422, "validation-failed");

    // The representative makes the account require a PO, on net-45 terms.
    let terms = app
        .patch(
            &format!("/v1/accounts/{account}"),
            &rep,
            json!({"po_required": true, "payment_terms_days": 45}),
        )
        .await;
    terms.assert_status(200);
    assert_eq!(terms.body["payment_terms_days"], json!(45));
    app.patch(
        &format!("/v1/accounts/{account}"),
        &contact,
        json!({"po_required": false}),
    )
    .await
    .assert_problem(403, "forbidden");

    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 55}),
    )
    .await
    .assert_status(200);
    let missing = app
        .checkout(account, &contact, Some("po-1"), None, json!({}))
        .await;
    missing.assert_problem(422, "validation-failed");
    assert_eq!(missing.body["errors"][0]["field"], json!("po_number"));
    app.checkout(
        account,
        &contact,
        Some("po-2"),
        None,
        json!({"po_number": "PO-OLD"}),
    )
    .await
    .assert_problem(422, "purchase-order-expired");
    let over = app
        .checkout(
            account,
            &contact,
            Some("po-3"),
            None,
            json!({"po_number": "PO-SMALL"}),
        )
        .await;
    over.assert_problem(422, "purchase-order-limit-exceeded");
    assert_eq!(over.body["amount_remaining"], json!("100.00"));
    // A number not on file is kept as the customer's reference.
    let order = app
        .checkout(
            account,
            &contact,
            Some("po-4"),
            None,
            json!({"po_number": "PO-FREE-TEXT"}),
        )
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
    assert_eq!(invoice.body["due_on"], json!("2027-01-11"));
    assert_eq!(invoice.body["po_number"], json!("PO-FREE-TEXT"));
}

#[actix_web::test]
async fn quotes_expire_and_decided_quotes_stay_decided() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let contact = app.corporate_contact(account);
    let rep = app.representative("rep-1");
    let item = json!({"type": "change", "subscription_id": subscription, "quantity": 51});

    let short = quote_from_cart(
        &app,
        account,
        std::slice::from_ref(&item),
        json!({"valid_for_days": 3}),
    )
    .await;
    let short_id = short["id"].as_str().expect("id").to_owned();
    assert_eq!(short["expires_on"], json!("2026-11-29"));
    app.set_today("2026-11-30");
    assert_eq!(
        app.get(
            &format!("/v1/accounts/{account}/quotes/{short_id}"),
            &contact
        )
        .await
        .body["status"],
        json!("expired")
    );
    accept(&app, account, &short_id, "late", json!({}))
        .await
        .assert_problem(409, "quote-expired");
    app.set_today("2026-11-27");

    let rejected = quote_from_cart(&app, account, std::slice::from_ref(&item), json!({})).await;
    let rejected_id = rejected["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/accounts/{account}/quotes/{rejected_id}");
    app.post(&format!("{path}/reject"), &contact, json!({"reason": ""}))
        .await
        .assert_problem(422, "validation-failed");
    app.post(&format!("{path}/reject"), &rep, json!({"reason": "x"}))
        .await
        .assert_problem(403, "forbidden");
    let done = app
        .post(
            &format!("{path}/reject"),
            &contact,
            json!({"reason": "Budget moved to Q1"}),
        )
        .await;
    done.assert_status(200);
    assert_eq!(done.body["status"], json!("rejected"));
    assert_eq!(done.body["decision_reason"], json!("Budget moved to Q1"));
    accept(&app, account, &rejected_id, "after-reject", json!({}))
        .await
        .assert_problem(409, "quote-not-open");

    let withdrawn = quote_from_cart(&app, account, std::slice::from_ref(&item), json!({})).await;
    let withdrawn_id = withdrawn["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/accounts/{account}/quotes/{withdrawn_id}");
    app.post(&format!("{path}/withdraw"), &contact, json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("{path}/withdraw"),
        &rep,
        json!({"reason": "Wrong tier"}),
    )
    .await
    .assert_status(200);
    accept(&app, account, &withdrawn_id, "after-withdraw", json!({}))
        .await
        .assert_problem(409, "quote-not-open");

    // Only the representative (or an admin) sends quotes, only for corporate accounts.
    app.add_item(account, &contact, item.clone())
        .await
        .assert_status(200);
    app.post(
        &format!("/v1/accounts/{account}/quotes"),
        &contact,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    let self_service = app.self_service_account().await;
    app.post(
        &format!("/v1/accounts/{self_service}/quotes"),
        &app.admin(),
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        &format!("/v1/accounts/{account}/quotes"),
        &app.representative("rep-2"),
        json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    // A representative does not accept for the customer.
    let open = quote_from_cart(&app, account, &[], json!({})).await;
    let response = accept_as(
        &app,
        &rep,
        account,
        open["id"].as_str().expect("id"),
        "rep-accept",
        json!({}),
    )
    .await;
    response.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn a_quote_is_accepted_exactly_once_and_never_at_a_stale_price() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let contact = app.corporate_contact(account);
    let quote = quote_from_cart(
        &app,
        account,
        &[json!({"type": "change", "subscription_id": subscription, "quantity": 70})],
        json!({}),
    )
    .await;
    let quote_id = quote["id"].as_str().expect("id").to_owned();

    let keys: Vec<String> = (0..2).map(|i| format!("concurrent-{i}")).collect();
    let responses = join_all(
        keys.iter()
            .map(|key| accept(&app, account, &quote_id, key, json!({}))),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    let loser = responses
        .iter()
        .find(|r| r.status.as_u16() != 201)
        .expect("one refused");
    loser.assert_problem(409, "quote-not-open");
    // The winner's key replays the same order.
    let winner = responses
        .iter()
        .position(|r| r.status.as_u16() == 201)
        .expect("winner");
    let replay = accept(&app, account, &quote_id, &keys[winner], json!({})).await;
    replay.assert_status(201);
    assert_eq!(replay.body["id"], responses[winner].body["id"]);
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/orders"), &contact)
            .await
            .body["data"]
            .as_array()
            .expect("data")
            .len(),
        1
    );

    // A quote made before another order changed the subscription is refused, not charged.
    let stale = quote_from_cart(
        &app,
        account,
        &[json!({"type": "change", "subscription_id": subscription, "quantity": 80})],
        json!({}),
    )
    .await;
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 75}),
    )
    .await
    .assert_status(200);
    app.checkout(account, &contact, Some("direct"), None, json!({}))
        .await
        .assert_status(201);
    let refused = accept(
        &app,
        account,
        stale["id"].as_str().expect("id"),
        "stale",
        json!({}),
    )
    .await;
    refused.assert_problem(409, "quote-stale");
    assert_eq!(
        app.get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact
        )
        .await
        .body["quantity"],
        json!(75)
    );
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn purchase_order_numbers_match_in_any_case() {
    let app = TestApp::spawn().await;
    let (account, subscription) = globex(&app).await;
    let contact = app.corporate_contact(account);
    let pos = format!("/v1/accounts/{account}/purchase-orders");
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-LIM", "amount_limit": "100.00"}),
    )
    .await
    .assert_status(201);
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-OLD", "expires_on": "2026-11-26"}),
    )
    .await
    .assert_status(201);
    app.post(&pos, &contact, json!({"number": "po-lim"}))
        .await
        .assert_problem(409, "purchase-order-exists");

    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 55}),
    )
    .await
    .assert_status(200);
    let over = app
        .checkout(
            account,
            &contact,
            Some("lim-1"),
            None,
            json!({"po_number": "po-lim"}),
        )
        .await;
    over.assert_problem(422, "purchase-order-limit-exceeded");
    assert_eq!(over.body["amount_remaining"], json!("100.00"));
    app.checkout(
        account,
        &contact,
        Some("old-1"),
        None,
        json!({"po_number": "Po-Old"}),
    )
    .await
    .assert_problem(422, "purchase-order-expired");

    // What is ordered under a PO counts towards it whatever case the order gave.
    app.post(
        &pos,
        &contact,
        json!({"number": "PO-BIG", "amount_limit": "50000.00"}),
    )
    .await
    .assert_status(201);
    let order = app
        .checkout(
            account,
            &contact,
            Some("big-1"),
            None,
            json!({"po_number": "po-big"}),
        )
        .await;
    order.assert_status(201);
    let total = order.body["total_due"].clone();
    let listed = app.get(&pos, &contact).await;
    let big = listed.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|po| po["number"] == json!("PO-BIG"))
        .expect("PO-BIG")
        .clone();
    assert_eq!(big["amount_used"], total);
}

#[actix_web::test]
async fn purchase_order_amounts_carry_minor_units() {
    let app = TestApp::spawn().await;
    let (account, _) = globex(&app).await;
    let contact = app.corporate_contact(account);
    let pos = format!("/v1/accounts/{account}/purchase-orders");
    let created = app
        .post(
            &pos,
            &contact,
            json!({"number": "PO-1", "amount_limit": "500"}),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["amount_used"], json!("0.00"));
    assert_eq!(created.body["amount_limit"], json!("500.00"));
    let listed = app.get(&pos, &contact).await;
    assert_eq!(listed.body["data"][0]["amount_used"], json!("0.00"));
    assert_eq!(listed.body["data"][0]["amount_limit"], json!("500.00"));
}

#[actix_web::test]
async fn money_inputs_are_positive_plain_decimal_strings() {
    let app = TestApp::spawn().await;
    let (account, _) = globex(&app).await;
    let rep = app.representative("rep-1");
    let pos = format!("/v1/accounts/{account}/purchase-orders");
    for (i, limit) in [
        json!("1e3"),
        json!("+5.00"),
        json!("1_000.00"),
        json!("01.00"),
        json!("0.00"),
        json!("1.005"),
        json!("1000000000000"),
        json!(1000),
        json!(12.5),
    ]
    .into_iter()
    .enumerate()
    {
        let response = app
            .post(
                &pos,
                &rep,
                json!({"number": format!("PO-BAD-{i}"), "amount_limit": limit}),
            )
            .await;
        response.assert_problem(422, "validation-failed");
        let field = &response.body["errors"][0]["field"];
        assert!(
            field == "amount_limit" || field == "body",
            "{limit}: {}",
            response.body
        );
    }
    for limit in ["0.01", "999999999999.99", "1500"] {
        app.post(
            &pos,
            &rep,
            json!({"number": format!("PO-{limit}"), "amount_limit": limit}),
        )
        .await
        .assert_status(201);
    }
    let invoice = uuid::Uuid::new_v4().to_string();
    for (n, amount) in [json!("1_0.00"), json!("-1.00"), json!(10)]
        .into_iter()
        .enumerate()
    {
        let response = app
            .record_payment(
                account,
                &invoice,
                &rep,
                Some(&format!("amount-{n}")),
                json!({"amount": amount, "method": "cheque"}),
            )
            .await;
        response.assert_problem(422, "validation-failed");
    }
}
