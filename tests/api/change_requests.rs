//! Corporate change requests (SPEC §18): the contact asks, the representative answers once
//! with a quote (accepting it completes the request) or declines; reach for every role;
//! answers racing each other.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Response, TestApp};
use crate::notifications::mailer;
use crate::smtp_sink::{SmtpSink, parse};

struct Corporate {
    account: Uuid,
    subscription: Uuid,
    contact: String,
    rep: String,
}

/// A corporate account of `rep-1` (with its address) on Premium × 50, annual.
async fn corporate(app: &TestApp) -> Corporate {
    let account = app
        .create_account(json!({
            "kind": "corporate", "name": "Globex", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Hank", "email": "hank@globex.example"},
            "representative_id": "rep-1", "representative_email": "jane.doe@vendor.example"
        }))
        .await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    Corporate {
        account,
        subscription,
        contact: app.corporate_contact(account),
        rep: app.representative("rep-1"),
    }
}

fn base(c: &Corporate) -> String {
    format!("/v1/accounts/{}/change-requests", c.account)
}

async fn submit(app: &TestApp, c: &Corporate, items: Value) -> Response {
    app.post(
        &base(c),
        &c.contact,
        json!({"items": items, "message": "We are 40 people now."}),
    )
    .await
}

/// A submitted request for Standard × 40: its path.
async fn downgrade_request(app: &TestApp, c: &Corporate) -> String {
    let submitted = submit(
        app,
        c,
        json!([{"type": "change", "subscription_id": c.subscription, "plan": "standard",
                "quantity": 40}]),
    )
    .await;
    submitted.assert_status(201);
    format!("{}/{}", base(c), submitted.body["id"].as_str().unwrap())
}

async fn templates(app: &TestApp, account: Uuid) -> Vec<String> {
    let list = app
        .get(
            &format!("/v1/accounts/{account}/notifications"),
            &app.admin(),
        )
        .await;
    list.assert_status(200);
    let mut found: Vec<String> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["template"].as_str().unwrap().to_owned())
        .collect();
    found.reverse();
    found
}

#[actix_web::test]
async fn a_downgrade_asked_for_is_quoted_by_the_representative_and_completed_by_acceptance() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    // In the portal the contact may not downgrade: it asks instead.
    app.add_item(
        c.account,
        &c.contact,
        json!({"type": "change", "subscription_id": c.subscription, "plan": "standard"}),
    )
    .await
    .assert_problem(403, "downgrade-requires-assistance");
    let submitted = submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": c.subscription, "plan": "standard",
                "quantity": 40}]),
    )
    .await;
    submitted.assert_status(201);
    assert_eq!(submitted.body["status"], "submitted");
    assert_eq!(submitted.body["number"], "CR-000001");
    assert_eq!(submitted.body["submitted_by"], "corp-contact-1");
    let path = format!("{}/{}", base(&c), submitted.body["id"].as_str().unwrap());

    // The representative finds it among those waiting for an answer.
    let waiting = app
        .get("/v1/change-requests?status=submitted", &c.rep)
        .await;
    waiting.assert_status(200);
    assert_eq!(waiting.body["data"][0]["id"], submitted.body["id"]);
    let quote = app
        .post(
            &format!("{path}/quote"),
            &c.rep,
            json!({"note": "Standard for 40 seats, as asked."}),
        )
        .await;
    quote.assert_status(201);
    assert_eq!(quote.body["change_request_id"], submitted.body["id"]);
    assert_eq!(quote.body["summary"]["items"][0]["plan"], "standard");
    assert_eq!(quote.body["summary"]["items"][0]["quantity"], 40);
    let quoted = app.get(&path, &c.contact).await;
    assert_eq!(quoted.body["status"], "quoted");
    assert_eq!(quoted.body["quote_id"], quote.body["id"]);
    assert_eq!(quoted.body["answered_by"], "rep-1");
    assert!(
        app.get("/v1/change-requests?status=submitted", &c.rep)
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let order = app
        .send_with(
            actix_web::http::Method::POST,
            &format!(
                "/v1/accounts/{}/quotes/{}/accept",
                c.account,
                quote.body["id"].as_str().unwrap()
            ),
            Some(&c.contact),
            &[("Idempotency-Key", "accept-cr-1")],
            Some(json!({})),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], "invoice");
    let done = app.get(&path, &c.contact).await;
    assert_eq!(done.body["status"], "completed");
    let sub = app
        .get(
            &format!(
                "/v1/accounts/{}/subscriptions/{}",
                c.account, c.subscription
            ),
            &c.contact,
        )
        .await;
    assert_eq!(sub.body["plan"], "standard");
    assert_eq!(sub.body["quantity"], 40);
    for event in [
        "change_request.submitted",
        "change_request.quoted",
        "change_request.completed",
    ] {
        assert_eq!(app.events(c.account, event).await.len(), 1, "{event}");
    }
    // The representative was told of the request, the contact of the quote, then of the order.
    assert_eq!(
        templates(&app, c.account).await,
        [
            "change_request_submitted",
            "change_request_quoted",
            "order_confirmation"
        ]
    );
    let sink = SmtpSink::start().await;
    assert_eq!(mailer(&app, &sink).send_due().await.unwrap(), 3);
    let received = sink.received();
    assert_eq!(received.len(), 3);
    let to_rep = received
        .iter()
        .find(|m| m.rcpt_to == ["jane.doe@vendor.example"])
        .expect("the representative's mail");
    let asked = parse(to_rep);
    assert_eq!(
        asked.header("Subject"),
        "Change request CR-000001 from Globex"
    );
    assert!(
        asked.text.contains(&format!(
            "- change subscription {}: plan standard, 40 licences",
            c.subscription
        )),
        "{}",
        asked.text
    );
    assert!(
        asked.text.contains("Their message: We are 40 people now."),
        "{}",
        asked.text
    );
    let quoted = received
        .iter()
        .map(parse)
        .find(|m| m.header("Subject").starts_with("Quote "))
        .expect("the contact's mail with the quote");
    assert_eq!(
        quoted.header("Subject"),
        format!(
            "Quote {} for your change request: {} USD",
            quote.body["number"].as_str().unwrap(),
            quote.body["total_due"].as_str().unwrap()
        )
    );
    assert!(
        quoted
            .text
            .contains("Your representative's note: Standard for 40 seats, as asked."),
        "{}",
        quoted.text
    );
}

#[actix_web::test]
async fn the_representative_quotes_its_own_edit_of_the_items() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    let path = downgrade_request(&app, &c).await;
    let quote = app
        .post(
            &format!("{path}/quote"),
            &c.rep,
            json!({"items": [{"type": "change", "subscription_id": c.subscription,
                              "plan": "standard", "quantity": 45}], "valid_for_days": 7}),
        )
        .await;
    quote.assert_status(201);
    assert_eq!(quote.body["summary"]["items"][0]["quantity"], 45);
    // The request keeps what was asked for.
    assert_eq!(
        app.get(&path, &c.rep).await.body["items"][0]["quantity"],
        40
    );
}

#[actix_web::test]
async fn a_request_is_answered_once() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    let path = downgrade_request(&app, &c).await;
    app.post(&format!("{path}/decline"), &c.rep, json!({"reason": " "}))
        .await
        .assert_problem(422, "validation-failed");
    let declined = app
        .post(
            &format!("{path}/decline"),
            &c.rep,
            json!({"reason": "Your contract runs to June."}),
        )
        .await;
    declined.assert_status(200);
    assert_eq!(declined.body["status"], "declined");
    assert_eq!(
        declined.body["decline_reason"],
        "Your contract runs to June."
    );
    for (step, token, body) in [
        ("decline", &c.rep, json!({"reason": "Again"})),
        ("quote", &c.rep, json!({})),
        ("withdraw", &c.contact, json!(null)),
    ] {
        let again = app.post(&format!("{path}/{step}"), token, body).await;
        again.assert_problem(409, "change-request-closed");
        assert!(
            again.body["detail"].as_str().unwrap().contains("declined"),
            "{step}: {}",
            again.body
        );
    }
    assert_eq!(
        templates(&app, c.account).await,
        ["change_request_submitted", "change_request_declined"]
    );
    let sink = SmtpSink::start().await;
    mailer(&app, &sink).send_due().await.unwrap();
    let declined_mail = sink
        .received()
        .iter()
        .map(parse)
        .find(|m| m.header("Subject").ends_with("declined"))
        .expect("the contact's mail");
    assert!(
        declined_mail.text.contains("Your contract runs to June."),
        "{}",
        declined_mail.text
    );

    // Withdrawn while waiting: nothing more to answer.
    let second = downgrade_request(&app, &c).await;
    let withdrawn = app
        .post(&format!("{second}/withdraw"), &c.contact, json!(null))
        .await;
    withdrawn.assert_status(200);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    app.post(&format!("{second}/quote"), &c.rep, json!({}))
        .await
        .assert_problem(409, "change-request-closed");
}

#[actix_web::test]
async fn two_answers_racing_find_one_winner() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    for round in 0..3 {
        let path = downgrade_request(&app, &c).await;
        let admin = app.admin();
        let (quote, decline, withdraw) = (
            format!("{path}/quote"),
            format!("{path}/decline"),
            format!("{path}/withdraw"),
        );
        let (quoted, declined, withdrawn) = tokio::join!(
            app.post(&quote, &c.rep, json!({})),
            app.post(&decline, &admin, json!({"reason": "No"})),
            app.post(&withdraw, &c.contact, json!(null)),
        );
        let outcomes = [&quoted, &declined, &withdrawn];
        let won: Vec<_> = outcomes.iter().filter(|r| r.status.is_success()).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {outcomes:?}",
            outcomes = outcomes.map(|r| (r.status, r.body.clone()))
        );
        for lost in outcomes.iter().filter(|r| !r.status.is_success()) {
            lost.assert_problem(409, "change-request-closed");
        }
        let status = app.get(&path, &c.rep).await.body["status"].clone();
        let expected = if quoted.status.is_success() {
            "quoted"
        } else if declined.status.is_success() {
            "declined"
        } else {
            "withdrawn"
        };
        assert_eq!(status, expected);
        let quotes = app
            .sql_rows(&format!(
                "SELECT count(*) FROM quotes WHERE change_request_id = '{}'",
                path.rsplit('/').next().unwrap()
            ))
            .await;
        assert_eq!(quotes[0][0], if expected == "quoted" { "1" } else { "0" });
    }
}

#[actix_web::test]
async fn cancellations_asked_for_are_carried_out_when_the_quote_is_accepted() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    let submitted = submit(
        &app,
        &c,
        json!([{"type": "cancel", "subscription_id": c.subscription, "at_period_end": true}]),
    )
    .await;
    submitted.assert_status(201);
    let path = format!("{}/{}", base(&c), submitted.body["id"].as_str().unwrap());
    let quote = app.post(&format!("{path}/quote"), &c.rep, json!({})).await;
    quote.assert_status(201);
    assert_eq!(quote.body["total_due"], "0.00");
    assert_eq!(
        quote.body["cancellations"],
        json!([{"subscription_id": c.subscription, "at_period_end": true}])
    );
    let accept = format!(
        "/v1/accounts/{}/quotes/{}/accept",
        c.account,
        quote.body["id"].as_str().unwrap()
    );
    let accepted = app
        .send_with(
            actix_web::http::Method::POST,
            &accept,
            Some(&c.contact),
            &[("Idempotency-Key", "accept-cancel")],
            Some(json!({})),
        )
        .await;
    accepted.assert_status(200);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["order_id"], Value::Null);
    // The same key answers the same again.
    let replay = app
        .send_with(
            actix_web::http::Method::POST,
            &accept,
            Some(&c.contact),
            &[("Idempotency-Key", "accept-cancel")],
            Some(json!({})),
        )
        .await;
    replay.assert_status(200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let sub = app
        .get(
            &format!(
                "/v1/accounts/{}/subscriptions/{}",
                c.account, c.subscription
            ),
            &c.contact,
        )
        .await;
    assert_eq!(sub.body["cancel_at_period_end"], true);
    assert_eq!(sub.body["cancel_at"], "2027-06-01");
    assert_eq!(app.get(&path, &c.contact).await.body["status"], "completed");
}

#[actix_web::test]
async fn an_immediate_cancellation_asked_for_credits_the_unused_time_on_acceptance() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    let submitted = submit(
        &app,
        &c,
        json!([{"type": "cancel", "subscription_id": c.subscription, "at_period_end": false}]),
    )
    .await;
    submitted.assert_status(201);
    let path = format!("{}/{}", base(&c), submitted.body["id"].as_str().unwrap());
    let quote = app.post(&format!("{path}/quote"), &c.rep, json!({})).await;
    quote.assert_status(201);
    app.send_with(
        actix_web::http::Method::POST,
        &format!(
            "/v1/accounts/{}/quotes/{}/accept",
            c.account,
            quote.body["id"].as_str().unwrap()
        ),
        Some(&c.contact),
        &[("Idempotency-Key", "accept-now")],
        Some(json!({})),
    )
    .await
    .assert_status(200);
    let sub = app
        .get(
            &format!(
                "/v1/accounts/{}/subscriptions/{}",
                c.account, c.subscription
            ),
            &c.contact,
        )
        .await;
    assert_eq!(sub.body["status"], "canceled");
    let account = app
        .get(&format!("/v1/accounts/{}", c.account), &c.contact)
        .await;
    let credit: rust_decimal::Decimal = account.body["credit_balance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(credit > rust_decimal::Decimal::ZERO, "{}", account.body);
}

#[actix_web::test]
async fn items_are_checked_like_cart_items() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    submit(&app, &c, json!([]))
        .await
        .assert_problem(422, "validation-failed");
    submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": Uuid::new_v4(), "quantity": 3}]),
    )
    .await
    .assert_problem(422, "validation-failed");
    submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": c.subscription, "plan": "gold"}]),
    )
    .await
    .assert_problem(422, "validation-failed");
    submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": c.subscription}]),
    )
    .await
    .assert_problem(422, "no-change");
    let twice = submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": c.subscription, "quantity": 40},
               {"type": "cancel", "subscription_id": c.subscription, "at_period_end": true}]),
    )
    .await;
    twice.assert_problem(422, "validation-failed");
    submit(
        &app,
        &c,
        json!([{"type": "change", "subscription_id": c.subscription, "quantity": 0}]),
    )
    .await
    .assert_problem(422, "validation-failed");
    submit(
        &app,
        &c,
        json!([{"type": "upgrade", "subscription_id": c.subscription}]),
    )
    .await
    .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn every_role_reaches_change_requests_as_the_rules_say() {
    let app = TestApp::spawn().await;
    let c = corporate(&app).await;
    let path = downgrade_request(&app, &c).await;
    let self_service = app.self_service_account().await;
    let own_sub = app
        .import_active(self_service, "standard", "monthly", 5, "2026-11-17")
        .await;
    let items = json!({"items": [{"type": "change", "subscription_id": own_sub, "quantity": 3}]});

    // A billing contact of a self-service account changes its subscription itself.
    app.post(
        &format!("/v1/accounts/{self_service}/change-requests"),
        &app.contact(self_service),
        items.clone(),
    )
    .await
    .assert_problem(403, "forbidden");
    // Support has no reach to corporate accounts; another representative neither.
    for token in [app.support(), app.representative("rep-2")] {
        app.get(&path, &token)
            .await
            .assert_problem(404, "not-found");
        app.post(&format!("{path}/quote"), &token, json!({}))
            .await
            .assert_problem(404, "not-found");
    }
    // A billing contact token on the corporate account: the other portal.
    app.get(
        &path,
        &app.token(
            billing_center::auth::Role::BillingContact,
            "b",
            Some(c.account),
        ),
    )
    .await
    .assert_problem(403, "use-corporate-portal");
    // The contact asks and withdraws; it does not answer. The representative answers; it
    // does not ask.
    app.post(&format!("{path}/quote"), &c.contact, json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("{path}/decline"),
        &c.contact,
        json!({"reason": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(&base(&c), &c.rep, json!({"items": [{"type": "cancel", "subscription_id": c.subscription, "at_period_end": true}]}))
        .await
        .assert_problem(403, "forbidden");
    app.post(&format!("{path}/withdraw"), &c.rep, json!(null))
        .await
        .assert_problem(403, "forbidden");
    // The representative's own list: its accounts only; not a contact's.
    assert_eq!(
        app.get("/v1/change-requests", &c.rep).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        app.get("/v1/change-requests", &app.representative("rep-2"))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.get("/v1/change-requests", &c.contact)
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/change-requests?status=maybe", &c.rep)
        .await
        .assert_problem(422, "validation-failed");
    // Everyone in reach reads the account's requests.
    for token in [&c.contact, &c.rep, &app.admin()] {
        let list = app.get(&base(&c), token).await;
        list.assert_status(200);
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    }
}
