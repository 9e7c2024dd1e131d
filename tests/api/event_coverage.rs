//! Every mutating operation of the OpenAPI document writes its events (SPEC §14): this test
//! walks the document's POST, PUT, PATCH and DELETE operations, runs each once through the
//! API, and finds at least one event carrying that request's id. A new mutating route
//! without a step here fails the test.

use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{Response, TestApp};
use crate::over_time::at;

/// Operations that change no resource of the API, and so write no event: they queue webhook
/// deliveries again (the endpoint's deliveries list shows them).
const WITHOUT_EVENTS: [&str; 2] = [
    "POST /v1/events/{event_id}/resend",
    "POST /v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
];

struct Walk<'a> {
    app: &'a TestApp,
    covered: BTreeSet<String>,
}

impl Walk<'_> {
    /// Runs one operation (`operation` names it as the document does), expects `status`, and
    /// checks that the request wrote at least one event.
    async fn step(
        &mut self,
        operation: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
        status: u16,
    ) -> Response {
        let (method, _) = operation.split_once(' ').expect("METHOD /path");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let response = self
            .app
            .send_with(method.clone(), path, Some(token), headers, body)
            .await;
        assert_eq!(
            response.status, status,
            "{method} {path}: {}",
            response.body
        );
        let request_id = response
            .header("x-request-id")
            .expect("x-request-id")
            .to_owned();
        let name = operation.to_owned();
        let written = self
            .app
            .sql_rows(&format!(
                "SELECT count(*) FROM events WHERE request_id = '{request_id}'"
            ))
            .await;
        let written: i64 = written[0][0].parse().unwrap();
        if WITHOUT_EVENTS.contains(&name.as_str()) {
            assert_eq!(written, 0, "{name}");
        } else {
            assert!(written >= 1, "{name} wrote no event");
        }
        self.covered.insert(name);
        response
    }
}

fn id(response: &Response) -> String {
    response.body["id"].as_str().expect("id").to_owned()
}

#[actix_web::test]
async fn every_mutating_operation_writes_its_events() {
    let app = TestApp::spawn_with_test_clocks().await;
    let admin = app.admin();
    let mut walk = Walk {
        app: &app,
        covered: BTreeSet::new(),
    };

    // Tenant: webhook endpoints and test clocks.
    let endpoint = walk
        .step(
            "POST /v1/webhook-endpoints",
            "/v1/webhook-endpoints",
            &admin,
            &[],
            Some(json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]})),
            201,
        )
        .await;
    let endpoint = format!("/v1/webhook-endpoints/{}", id(&endpoint));
    walk.step(
        "PATCH /v1/webhook-endpoints/{endpoint_id}",
        &endpoint,
        &admin,
        &[],
        Some(json!({"description": "Partner"})),
        200,
    )
    .await;
    walk.step(
        "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        &format!("{endpoint}/rotate-secret"),
        &admin,
        &[],
        Some(json!({})),
        200,
    )
    .await;
    let test = walk
        .step(
            "POST /v1/webhook-endpoints/{endpoint_id}/test",
            &format!("{endpoint}/test"),
            &admin,
            &[],
            Some(json!({})),
            200,
        )
        .await;
    walk.step(
        "POST /v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
        &format!("{endpoint}/deliveries/{}/retry", id(&test)),
        &admin,
        &[],
        Some(json!({})),
        200,
    )
    .await;
    walk.step(
        "POST /v1/events/{event_id}/resend",
        &format!(
            "/v1/events/{}/resend",
            test.body["event_id"].as_str().unwrap()
        ),
        &admin,
        &[],
        Some(json!({})),
        200,
    )
    .await;
    let clock = walk
        .step(
            "POST /v1/test-clocks",
            "/v1/test-clocks",
            &admin,
            &[],
            Some(json!({"name": "Walk", "frozen_time": "2026-11-27T12:00:00Z"})),
            201,
        )
        .await;
    let clock = format!("/v1/test-clocks/{}", id(&clock));
    walk.step(
        "POST /v1/test-clocks/{test_clock_id}/advance",
        &format!("{clock}/advance"),
        &admin,
        &[],
        Some(json!({"frozen_time": "2026-11-28T12:00:00Z"})),
        200,
    )
    .await;
    app.run_jobs("walk").await;
    walk.step(
        "DELETE /v1/test-clocks/{test_clock_id}",
        &clock,
        &admin,
        &[],
        None,
        204,
    )
    .await;

    // A self-service account through its whole life.
    let account = walk
        .step(
            "POST /v1/accounts",
            "/v1/accounts",
            &admin,
            &[],
            Some(
                json!({"kind": "self_service", "name": "Acme", "country": "US",
                          "currency": "USD",
                          "billing_contact": {"name": "Ada", "email": "ada@acme.example"}}),
            ),
            201,
        )
        .await;
    let account = id(&account);
    let base = format!("/v1/accounts/{account}");
    let contact = app.contact(account.parse().unwrap());
    walk.step(
        "PATCH /v1/accounts/{account_id}",
        &base,
        &contact,
        &[],
        Some(json!({"name": "Acme Remote Care"})),
        200,
    )
    .await;
    walk.step(
        "PUT /v1/accounts/{account_id}/payment-method",
        &format!("{base}/payment-method"),
        &contact,
        &[],
        Some(json!({"token": "tok_visa"})),
        200,
    )
    .await;
    let subscription = walk
        .step(
            "POST /v1/accounts/{account_id}/subscriptions",
            &format!("{base}/subscriptions"),
            &admin,
            &[],
            Some(json!({"product": "gotoassist-rs-v4", "plan": "standard",
                          "billing_frequency": "monthly", "quantity": 5, "status": "active",
                          "current_period_start": "2026-11-17"})),
            201,
        )
        .await;
    let subscription = format!("{base}/subscriptions/{}", id(&subscription));
    let mut users = Vec::new();
    for (name, email) in [("Ada", "ada@acme.example"), ("Grace", "grace@acme.example")] {
        let user = walk
            .step(
                "POST /v1/accounts/{account_id}/users",
                &format!("{base}/users"),
                &contact,
                &[],
                Some(json!({"name": name, "email": email})),
                201,
            )
            .await;
        users.push(id(&user));
    }
    let assignment = format!("{subscription}/assignments/{}", users[0]);
    walk.step(
        "PUT /v1/accounts/{account_id}/subscriptions/{subscription_id}/assignments/{user_id}",
        &assignment,
        &contact,
        &[],
        Some(json!({})),
        201,
    )
    .await;
    walk.step(
        "DELETE /v1/accounts/{account_id}/subscriptions/{subscription_id}/assignments/{user_id}",
        &assignment,
        &contact,
        &[],
        None,
        204,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/subscriptions/{subscription_id}/assignments/bulk",
        &format!("{subscription}/assignments/bulk"),
        &contact,
        &[],
        Some(
            json!({"operations": [{"user_id": users[0], "action": "assign"},
                                         {"user_id": users[1], "action": "assign"}]}),
        ),
        200,
    )
    .await;
    walk.step(
        "DELETE /v1/accounts/{account_id}/users/{user_id}",
        &format!("{base}/users/{}", users[1]),
        &contact,
        &[],
        None,
        204,
    )
    .await;
    let sub_id = subscription.rsplit('/').next().unwrap().to_owned();
    let cart = walk
        .step(
            "POST /v1/accounts/{account_id}/cart/items",
            &format!("{base}/cart/items"),
            &contact,
            &[],
            Some(json!({"type": "change", "subscription_id": sub_id, "quantity": 6})),
            200,
        )
        .await;
    let item = format!(
        "{base}/cart/items/{}",
        cart.body["items"][0]["id"].as_str().unwrap()
    );
    walk.step(
        "PATCH /v1/accounts/{account_id}/cart/items/{item_id}",
        &item,
        &contact,
        &[],
        Some(json!({"quantity": 7})),
        200,
    )
    .await;
    walk.step(
        "DELETE /v1/accounts/{account_id}/cart/items/{item_id}",
        &item,
        &contact,
        &[],
        None,
        204,
    )
    .await;
    app.add_item(
        account.parse().unwrap(),
        &contact,
        json!({"type": "change", "subscription_id": sub_id, "quantity": 8}),
    )
    .await
    .assert_status(200);
    walk.step(
        "POST /v1/accounts/{account_id}/cart/checkout",
        &format!("{base}/cart/checkout"),
        &contact,
        &[("Idempotency-Key", "walk-1")],
        Some(json!({})),
        201,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/subscriptions/{subscription_id}/cancel",
        &format!("{subscription}/cancel"),
        &contact,
        &[],
        Some(json!({"at_period_end": true})),
        200,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/subscriptions/{subscription_id}/reactivate",
        &format!("{subscription}/reactivate"),
        &contact,
        &[],
        Some(json!({})),
        200,
    )
    .await;

    // A corporate account: purchase order, quotes accepted, rejected, withdrawn, and money
    // received for its invoice.
    let corporate = app.corporate_account("rep-1").await;
    let corporate_base = format!("/v1/accounts/{corporate}");
    let rep = app.representative("rep-1");
    let corporate_contact = app.corporate_contact(corporate);
    let corporate_sub = app
        .import_active(corporate, "standard", "monthly", 10, "2026-11-17")
        .await;
    walk.step(
        "POST /v1/accounts/{account_id}/purchase-orders",
        &format!("{corporate_base}/purchase-orders"),
        &corporate_contact,
        &[],
        Some(json!({"number": "PO-1", "amount_limit": "20000.00",
                          "expires_on": "2026-12-31"})),
        201,
    )
    .await;
    let mut quotes = Vec::new();
    for quantity in [11, 12, 13] {
        app.add_item(
            corporate,
            &rep,
            json!({"type": "change", "subscription_id": corporate_sub,
                            "quantity": quantity}),
        )
        .await
        .assert_status(200);
        let quote = walk
            .step(
                "POST /v1/accounts/{account_id}/quotes",
                &format!("{corporate_base}/quotes"),
                &rep,
                &[],
                Some(json!({})),
                201,
            )
            .await;
        quotes.push(format!("{corporate_base}/quotes/{}", id(&quote)));
    }
    let order = walk
        .step(
            "POST /v1/accounts/{account_id}/quotes/{quote_id}/accept",
            &format!("{}/accept", quotes[0]),
            &corporate_contact,
            &[("Idempotency-Key", "walk-accept")],
            Some(json!({"po_number": "PO-1"})),
            201,
        )
        .await;
    walk.step(
        "POST /v1/accounts/{account_id}/quotes/{quote_id}/reject",
        &format!("{}/reject", quotes[1]),
        &corporate_contact,
        &[],
        Some(json!({"reason": "Too many"})),
        200,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/quotes/{quote_id}/withdraw",
        &format!("{}/withdraw", quotes[2]),
        &rep,
        &[],
        Some(json!({})),
        200,
    )
    .await;
    // Change requests: submitted, quoted, declined, withdrawn.
    let mut requests = Vec::new();
    for quantity in [8, 7, 6] {
        let request = walk
            .step(
                "POST /v1/accounts/{account_id}/change-requests",
                &format!("{corporate_base}/change-requests"),
                &corporate_contact,
                &[],
                Some(
                    json!({"items": [{"type": "change", "subscription_id": corporate_sub,
                                       "quantity": quantity}]}),
                ),
                201,
            )
            .await;
        requests.push(format!("{corporate_base}/change-requests/{}", id(&request)));
    }
    walk.step(
        "POST /v1/accounts/{account_id}/change-requests/{change_request_id}/quote",
        &format!("{}/quote", requests[0]),
        &rep,
        &[],
        Some(json!({})),
        201,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/change-requests/{change_request_id}/decline",
        &format!("{}/decline", requests[1]),
        &rep,
        &[],
        Some(json!({"reason": "Not this year"})),
        200,
    )
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/change-requests/{change_request_id}/withdraw",
        &format!("{}/withdraw", requests[2]),
        &corporate_contact,
        &[],
        None,
        200,
    )
    .await;
    let invoice = order.body["invoice_id"].as_str().unwrap();
    walk.step(
        "POST /v1/accounts/{account_id}/invoices/{invoice_id}/payments",
        &format!("{corporate_base}/invoices/{invoice}/payments"),
        &rep,
        &[("Idempotency-Key", "walk-pay-1")],
        Some(json!({"amount": "10.00", "method": "bank_transfer", "reference": "W-1"})),
        201,
    )
    .await;

    // A renewal refused by the card, paid on request with a card that works.
    let late = app.self_service_account().await;
    app.import_active(late, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(late, "tok_chargeCustomerFail").await;
    app.clock.set(at("2026-12-17", 1));
    app.run_jobs("walk").await;
    let open = app.invoices(late).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sql(&format!(
        "UPDATE accounts SET payment_method_ref = 'card_test_visa_recovered' WHERE id = '{late}'"
    ))
    .await;
    walk.step(
        "POST /v1/accounts/{account_id}/invoices/{invoice_id}/pay",
        &format!("/v1/accounts/{late}/invoices/{open}/pay"),
        &app.contact(late),
        &[("Idempotency-Key", "walk-pay-2")],
        None,
        200,
    )
    .await;
    walk.step(
        "DELETE /v1/webhook-endpoints/{endpoint_id}",
        &endpoint,
        &admin,
        &[],
        None,
        204,
    )
    .await;

    let document = serde_json::to_value(billing_center::openapi_document()).unwrap();
    let mutating: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .filter(|m| ["post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let missing: Vec<&String> = mutating.difference(&walk.covered).collect();
    assert!(
        missing.is_empty(),
        "mutating operations not walked: {missing:?}"
    );
}
