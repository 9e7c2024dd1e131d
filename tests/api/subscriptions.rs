//! Subscriptions: import, status and actions as SPEC §4 lists them.

use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn an_imported_active_subscription_is_priced_on_its_start_date() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let response = app
        .post(
            &format!("/v1/accounts/{account}/subscriptions"),
            &app.admin(),
            json!({"product": "gotoassist-rs-v4", "plan": "standard", "billing_frequency": "monthly",
                   "quantity": 5, "status": "active", "current_period_start": "2026-11-17"}),
        )
        .await;
    response.assert_status(201);
    insta::assert_json_snapshot!("subscription_active", response.body, {".id" => "[id]", ".account_id" => "[id]"});
    assert_eq!(response.body["period_amount"], json!("145.00")); // 29.00 × 5
    assert_eq!(response.body["current_period_end"], json!("2026-12-17"));
    assert_eq!(response.body["actions"], json!(["edit", "assign_licenses"]));

    let id = response.body["id"].as_str().expect("id");
    let read = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{id}"),
            &app.contact(account),
        )
        .await;
    read.assert_status(200);
    assert_eq!(read.body, response.body);
    assert_eq!(read.header("etag"), Some("\"1\""));
}

#[actix_web::test]
async fn a_period_must_contain_today() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let path = format!("/v1/accounts/{account}/subscriptions");
    // Today is 2026-11-27: a monthly period from 2026-10-27 ended yesterday.
    for (frequency, start, ok) in [
        ("monthly", "2026-10-27", false),
        ("monthly", "2026-10-28", true),
        ("annual", "2025-11-27", false),
        ("annual", "2025-11-28", true),
        ("monthly", "2026-11-28", false),
    ] {
        let product = if ok && frequency == "annual" {
            "gotoassist-service-desk"
        } else {
            "gotoassist-rs-v4"
        };
        let plan = if product == "gotoassist-rs-v4" {
            "standard"
        } else {
            "starter"
        };
        let response = app
            .post(
                &path,
                &app.admin(),
                json!({"product": product, "plan": plan, "billing_frequency": frequency,
                   "quantity": 1, "status": "active", "current_period_start": start}),
            )
            .await;
        if ok {
            assert_eq!(
                response.status.as_u16(),
                201,
                "{frequency} {start}: {}",
                response.body
            );
        } else {
            response.assert_problem(422, "validation-failed");
            assert_eq!(
                response.body["errors"][0]["field"],
                json!("current_period_start")
            );
        }
    }
}

#[actix_web::test]
async fn one_subscription_per_product() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    app.import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    let again = app
        .post(&format!("/v1/accounts/{account}/subscriptions"), &app.admin(),
              json!({"product": "gotoassist-rs-v4", "plan": "premium", "quantity": 2, "status": "trialing",
                     "trial_ends_on": "2026-12-31"}))
        .await;
    again.assert_problem(409, "subscription-exists");
}

#[actix_web::test]
async fn trials_run_through_their_last_day_then_offer_subscribe_only() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let response = app
        .post(&format!("/v1/accounts/{account}/subscriptions"), &app.admin(),
              json!({"product": "gotoassist-rs-v4", "plan": "premium", "quantity": 5, "status": "trialing",
                     "trial_ends_on": "2026-11-30"}))
        .await;
    response.assert_status(201);
    assert_eq!(response.body["status"], json!("trialing"));
    assert_eq!(
        response.body["actions"],
        json!(["subscribe", "assign_licenses"])
    );
    assert_eq!(response.body["period_amount"], json!(null));
    let id = response.body["id"].as_str().expect("id");
    let path = format!("/v1/accounts/{account}/subscriptions/{id}");

    app.set_today("2026-11-30");
    assert_eq!(
        app.get(&path, &app.contact(account)).await.body["status"],
        json!("trialing")
    );
    app.set_today("2026-12-01");
    let expired = app.get(&path, &app.contact(account)).await;
    assert_eq!(expired.body["status"], json!("trial_expired"));
    assert_eq!(expired.body["actions"], json!(["subscribe"]));
}

#[actix_web::test]
async fn imports_are_validated() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let path = format!("/v1/accounts/{account}/subscriptions");
    let admin = app.admin();
    for body in [
        json!({"product": "nope", "plan": "standard", "quantity": 1, "status": "trialing", "trial_ends_on": "2026-12-01"}),
        json!({"product": "gotoassist-rs-v4", "plan": "nope", "quantity": 1, "status": "trialing", "trial_ends_on": "2026-12-01"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 0, "status": "trialing", "trial_ends_on": "2026-12-01"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 10001, "status": "trialing", "trial_ends_on": "2026-12-01"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1, "status": "trialing"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1, "status": "active", "current_period_start": "2026-11-20"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1, "status": "canceled"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1.5, "status": "trialing", "trial_ends_on": "2026-12-01"}),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1, "status": "trialing", "trial_ends_on": "2026-02-30"}),
    ] {
        app.post(&path, &admin, body.clone())
            .await
            .assert_problem(422, "validation-failed");
    }
    // Nothing was written by the refused imports.
    let list = app.get(&path, &admin).await;
    assert_eq!(list.body["data"], json!([]));
}

#[actix_web::test]
async fn request_dates_outside_2000_to_2100_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let account = app.self_service_account().await;
    let path = format!("/v1/accounts/{account}/subscriptions");
    let refused = |field: &'static str| {
        move |response: crate::helpers::Response| {
            response.assert_problem(422, "validation-failed");
            assert_eq!(response.body["errors"][0]["field"], json!(field));
            assert_eq!(
                response.body["errors"][0]["message"],
                json!("must be between 2000-01-01 and 2100-12-31")
            );
        }
    };
    for day in ["2101-01-01", "9999-12-31", "+262142-12-31"] {
        refused("trial_ends_on")(
            app.post(
                &path,
                &admin,
                json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1,
                       "status": "trialing", "trial_ends_on": day}),
            )
            .await,
        );
    }
    for day in ["1999-12-31", "0001-01-01", "-0001-11-27"] {
        refused("current_period_start")(
            app.post(
                &path,
                &admin,
                json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1,
                       "billing_frequency": "monthly", "status": "active",
                       "current_period_start": day}),
            )
            .await,
        );
    }
    assert_eq!(app.get(&path, &admin).await.body["data"], json!([]));
    // The last day of the range is a date like any other.
    app.post(
        &path,
        &admin,
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 1,
               "status": "trialing", "trial_ends_on": "2100-12-31"}),
    )
    .await
    .assert_status(201);

    let corporate = app.corporate_account("rep-1").await;
    let rep = app.representative("rep-1");
    let pos = format!("/v1/accounts/{corporate}/purchase-orders");
    refused("expires_on")(
        app.post(
            &pos,
            &rep,
            json!({"number": "PO-FAR", "expires_on": "3026-12-31"}),
        )
        .await,
    );
    app.post(
        &pos,
        &rep,
        json!({"number": "PO-NEAR", "expires_on": "2100-12-31"}),
    )
    .await
    .assert_status(201);
    refused("received_on")(
        app.send_with(
            actix_web::http::Method::POST,
            &format!(
                "/v1/accounts/{corporate}/invoices/{}/payments",
                uuid::Uuid::new_v4()
            ),
            Some(&rep),
            &[("Idempotency-Key", "far-payment")],
            Some(json!({"amount": "10.00", "method": "cheque", "received_on": "1970-01-01"})),
        )
        .await,
    );
}
