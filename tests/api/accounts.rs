//! Accounts: creation, validation (VAT IDs by country), optimistic concurrency, cards,
//! pagination, and the audit trail.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::TestApp;

fn account(country: &str, currency: &str, vat_id: Option<&str>) -> serde_json::Value {
    json!({
        "kind": "self_service", "name": "Muster GmbH", "country": country, "currency": currency,
        "vat_id": vat_id, "billing_contact": {"name": "Max", "email": "max@muster.example"},
        "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115"}
    })
}

#[actix_web::test]
async fn an_admin_creates_an_account_and_it_reads_back() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/v1/accounts",
            &app.admin(),
            account("DE", "EUR", Some("DE 136 695 976")),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.header("etag"), Some("\"1\""));
    insta::assert_json_snapshot!("account", created.body, {".id" => "[id]", ".created_at" => "[time]"});
    // Money is a string with the currency's minor units; the VAT ID is normalised.
    assert_eq!(created.body["credit_balance"], json!("0.00"));
    assert_eq!(created.body["vat_id"], json!("DE136695976"));

    let id = created.body["id"].as_str().expect("id");
    let read = app.get(&format!("/v1/accounts/{id}"), &app.admin()).await;
    read.assert_status(200);
    assert_eq!(read.body, created.body);

    let events = app
        .get(&format!("/v1/accounts/{id}/events"), &app.admin())
        .await;
    events.assert_status(200);
    assert_eq!(events.body["data"][0]["type"], json!("account.created"));
    assert_eq!(
        events.body["data"][0]["actor"],
        json!({"type": "user", "sub": "admin-1", "role": "admin"})
    );
    assert!(
        events.body["data"][0]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
}

#[actix_web::test]
async fn vat_ids_are_checked_against_the_country() {
    let app = TestApp::spawn().await;
    let cases = [
        ("DE", "DE136695977", false),   // wrong check digit
        ("DE", "FR40303265045", false), // another country's prefix
        ("DE", "DE12345", false),       // wrong length
        ("FR", "FR40303265045", true),
        ("IT", "IT00743110157", true),
        ("ES", "ESX5253868R", true),
        ("NL", "NL004495445B01", true),
        ("PL", "PL5261025421", true),
        ("BE", "BE0202239951", true),
        ("AT", "ATU13585627", true),
        ("GR", "EL094259216", true),
        ("GR", "GR094259216", false), // Greece uses EL
    ];
    for (country, vat_id, valid) in cases {
        let response = app
            .post(
                "/v1/accounts",
                &app.admin(),
                account(country, "EUR", Some(vat_id)),
            )
            .await;
        if valid {
            assert_eq!(
                response.status.as_u16(),
                201,
                "{country} {vat_id}: {}",
                response.body
            );
        } else {
            response.assert_problem(422, "validation-failed");
            assert_eq!(
                response.body["errors"][0]["field"],
                json!("vat_id"),
                "{country} {vat_id}"
            );
        }
    }
}

#[actix_web::test]
async fn invalid_accounts_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let mut body = account("de", "EUR", None);
    body["billing_contact"]["email"] = json!("not-an-email");
    body["name"] = json!("  ");
    let response = app.post("/v1/accounts", &app.admin(), body).await;
    response.assert_problem(422, "validation-failed");
    let fields: Vec<&str> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "country", "billing_contact.email"]);

    let mut self_service_with_rep = account("DE", "EUR", None);
    self_service_with_rep["representative_id"] = json!("rep-1");
    app.post("/v1/accounts", &app.admin(), self_service_with_rep)
        .await
        .assert_problem(422, "validation-failed");

    let mut bad_currency = account("DE", "EUR", None);
    bad_currency["currency"] = json!("JPY");
    app.post("/v1/accounts", &app.admin(), bad_currency)
        .await
        .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn patch_respects_if_match_and_clears_with_null() {
    let app = TestApp::spawn().await;
    let id = app
        .create_account(account("DE", "EUR", Some("DE136695976")))
        .await;
    let path = format!("/v1/accounts/{id}");
    let contact = app.contact(id);

    let stale = app
        .send_with(
            Method::PATCH,
            &path,
            Some(&contact),
            &[("If-Match", "\"7\"")],
            Some(json!({"name": "New name"})),
        )
        .await;
    stale.assert_problem(412, "version-mismatch");
    assert_eq!(stale.body["current_version"], json!(1));

    let fresh = app
        .send_with(
            Method::PATCH,
            &path,
            Some(&contact),
            &[("If-Match", "\"1\"")],
            Some(json!({"vat_id": null, "billing_contact": {"name": "Erika", "email": "erika@muster.example"}})),
        )
        .await;
    fresh.assert_status(200);
    assert_eq!(fresh.body["vat_id"], json!(null));
    assert_eq!(fresh.body["billing_contact"]["name"], json!("Erika"));
    assert_eq!(fresh.body["version"], json!(2));
    assert_eq!(fresh.header("etag"), Some("\"2\""));
    // Untouched fields stay.
    assert_eq!(fresh.body["address"]["city"], json!("Berlin"));

    // A VAT ID must fit the (possibly new) country.
    app.patch(
        &path,
        &contact,
        json!({"country": "FR", "vat_id": "DE136695976"}),
    )
    .await
    .assert_problem(422, "validation-failed");
    let moved = app
        .patch(
            &path,
            &contact,
            json!({"country": "FR", "vat_id": "FR40303265045"}),
        )
        .await;
    moved.assert_status(200);

    // The failed patch changed nothing: the version moved once per successful patch only.
    assert_eq!(moved.body["version"], json!(3));
    let events = app.get(&format!("{path}/events"), &contact).await;
    let actions: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["account.updated", "account.updated", "account.created"]
    );
    assert_eq!(
        events.body["data"][0]["actor"]["role"],
        json!("billing_contact")
    );
    assert_eq!(
        events.body["data"][0]["data"]["previous_attributes"]["country"],
        json!("DE")
    );
    assert_eq!(
        events.body["data"][0]["data"]["object"]["country"],
        json!("FR")
    );
}

#[actix_web::test]
async fn admin_reassigns_the_representative_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let id = app.corporate_account("rep-1").await;
    let response = app
        .patch(
            &format!("/v1/accounts/{id}"),
            &app.admin(),
            json!({"representative_id": "rep-2"}),
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.body["representative_id"], json!("rep-2"));
    app.get(&format!("/v1/accounts/{id}"), &app.representative("rep-1"))
        .await
        .assert_problem(404, "not-found");
    app.get(&format!("/v1/accounts/{id}"), &app.representative("rep-2"))
        .await
        .assert_status(200);
    let events = app
        .get(&format!("/v1/accounts/{id}/events"), &app.admin())
        .await;
    assert_eq!(events.body["data"][0]["type"], json!("account.updated"));
    assert_eq!(
        events.body["data"][0]["data"]["previous_attributes"],
        json!({"representative_id": "rep-1", "version": 1})
    );
    assert_eq!(
        events.body["data"][0]["data"]["object"]["representative_id"],
        json!("rep-2")
    );
    // Turning a corporate account with a representative into a self-service one is refused.
    app.patch(
        &format!("/v1/accounts/{id}"),
        &app.admin(),
        json!({"kind": "self_service"}),
    )
    .await
    .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn cards_attach_by_gateway_token_and_keep_display_data_only() {
    let app = TestApp::spawn().await;
    let id = app.self_service_account().await;
    let path = format!("/v1/accounts/{id}/payment-method");
    let contact = app.contact(id);

    let attached = app
        .put(&path, &contact, json!({"token": "tok_mastercard"}))
        .await;
    attached.assert_status(200);
    assert_eq!(
        attached.body["payment_method"],
        json!({"brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2030})
    );
    assert!(
        !attached.body.to_string().contains("card_test"),
        "the gateway reference never leaves the server"
    );

    app.put(&path, &contact, json!({"token": "tok_expired"}))
        .await
        .assert_problem(422, "payment-method-invalid");
    app.put(&path, &contact, json!({"token": "tok_nope"}))
        .await
        .assert_problem(422, "payment-method-invalid");
    app.put(&path, &contact, json!({}))
        .await
        .assert_problem(422, "validation-failed");
    // The refused attempts left the card as it was.
    let read = app.get(&format!("/v1/accounts/{id}"), &contact).await;
    assert_eq!(read.body["payment_method"]["last4"], json!("4444"));
}

#[actix_web::test]
async fn accounts_paginate_newest_first() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.self_service_account().await.to_string());
    }
    ids.reverse();
    let admin = app.admin();
    let first = app.get("/v1/accounts?limit=2", &admin).await;
    first.assert_status(200);
    let page_ids = |r: &crate::helpers::Response| -> Vec<String> {
        r.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(page_ids(&first), ids[0..2]);
    assert_eq!(first.body["has_more"], json!(true));
    assert_eq!(first.body["next_starting_after"], json!(ids[1]));

    let second = app
        .get(
            &format!("/v1/accounts?limit=2&starting_after={}", ids[1]),
            &admin,
        )
        .await;
    assert_eq!(page_ids(&second), ids[2..4]);
    let last = app
        .get(
            &format!("/v1/accounts?limit=2&starting_after={}", ids[3]),
            &admin,
        )
        .await;
    assert_eq!(page_ids(&last), ids[4..5]);
    assert_eq!(last.body["has_more"], json!(false));
    assert_eq!(last.body["next_starting_after"], json!(null));

    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "starting_after=nope",
        "unknown=1",
    ] {
        app.get(&format!("/v1/accounts?{bad}"), &admin)
            .await
            .assert_problem(422, "validation-failed");
    }
    // A cursor out of the caller's reach is as unknown as a random one.
    let corporate = app.corporate_account("rep-1").await;
    app.get(
        &format!("/v1/accounts?starting_after={corporate}"),
        &app.support(),
    )
    .await
    .assert_problem(422, "validation-failed");
    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/v1/accounts?starting_after={unknown}"), &admin)
        .await
        .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn only_assigned_country_codes_are_accepted() {
    let app = TestApp::spawn().await;
    for country in ["ZZ", "XK", "EU", "UK", "AA"] {
        let refused = app
            .post("/v1/accounts", &app.admin(), account(country, "EUR", None))
            .await;
        refused.assert_problem(422, "validation-failed");
        assert_eq!(
            refused.body["errors"][0]["field"],
            json!("country"),
            "{country}"
        );
    }
    let id = app.create_account(account("AX", "EUR", None)).await;
    let path = format!("/v1/accounts/{id}");
    let refused = app
        .patch(&path, &app.contact(id), json!({"country": "ZZ"}))
        .await;
    refused.assert_problem(422, "validation-failed");
    assert_eq!(refused.body["errors"][0]["field"], json!("country"));
    let read = app.get(&path, &app.contact(id)).await;
    assert_eq!(read.body["country"], json!("AX"));
    assert_eq!(read.body["version"], json!(1));
}

#[actix_web::test]
async fn a_country_change_is_one_account_updated_event_with_the_old_country() {
    let app = TestApp::spawn().await;
    let id = app.create_account(account("DE", "EUR", None)).await;
    let path = format!("/v1/accounts/{id}");
    let contact = app.contact(id);
    // One event per change of the account (SPEC §14); the old country is in
    // `previous_attributes`, so a VAT report finds country changes without diffing.
    app.patch(
        &path,
        &contact,
        json!({"name": "Muster AG", "country": "DE"}),
    )
    .await
    .assert_status(200);
    app.patch(&path, &contact, json!({"country": "AT"}))
        .await
        .assert_status(200);
    let events = app.get(&format!("{path}/events"), &contact).await;
    let data = events.body["data"].as_array().expect("data");
    let actions: Vec<&str> = data.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        actions,
        ["account.updated", "account.updated", "account.created"]
    );
    assert_eq!(
        data[0]["data"]["previous_attributes"],
        json!({"country": "DE", "version": 2})
    );
    assert_eq!(data[0]["data"]["object"]["country"], json!("AT"));
    assert_eq!(data[0]["data"]["object"]["id"], json!(id));
    assert_eq!(data[0]["actor"]["role"], json!("billing_contact"));
    // The first update changed the name only.
    assert_eq!(
        data[1]["data"]["previous_attributes"]["country"],
        json!(null)
    );
}

#[actix_web::test]
async fn attaching_a_card_respects_if_match() {
    let app = TestApp::spawn().await;
    let id = app.self_service_account().await;
    let path = format!("/v1/accounts/{id}/payment-method");
    let contact = app.contact(id);
    let stale = app
        .send_with(
            Method::PUT,
            &path,
            Some(&contact),
            &[("If-Match", "\"7\"")],
            Some(json!({"token": "tok_visa"})),
        )
        .await;
    stale.assert_problem(412, "version-mismatch");
    assert_eq!(stale.body["current_version"], json!(1));
    let read = app.get(&format!("/v1/accounts/{id}"), &contact).await;
    assert_eq!(read.body["payment_method"], json!(null));
    assert_eq!(read.body["version"], json!(1));

    let fresh = app
        .send_with(
            Method::PUT,
            &path,
            Some(&contact),
            &[("If-Match", "\"1\"")],
            Some(json!({"token": "tok_visa"})),
        )
        .await;
    fresh.assert_status(200);
    assert_eq!(fresh.header("etag"), Some("\"2\""));
    // Without If-Match the card is replaced as before.
    let replaced = app
        .put(&path, &contact, json!({"token": "tok_mastercard"}))
        .await;
    replaced.assert_status(200);
    assert_eq!(replaced.body["version"], json!(3));
}

#[actix_web::test]
async fn an_account_created_twice_with_one_key_is_created_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let body = account("DE", "EUR", Some("DE136695976"));
    let create = |token: String, key: &'static str, body: serde_json::Value| {
        let app = &app;
        async move {
            app.send_with(
                Method::POST,
                "/v1/accounts",
                Some(&token),
                &[("Idempotency-Key", key)],
                Some(body),
            )
            .await
        }
    };
    let first = create(admin.clone(), "acct-1", body.clone()).await;
    first.assert_status(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = create(admin.clone(), "acct-1", body.clone()).await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("etag"), Some("\"1\""));
    let listed = app.get("/v1/accounts", &admin).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 1);

    // The same key with another body is another request.
    let mut renamed = body.clone();
    renamed["name"] = json!("Muster AG");
    create(admin.clone(), "acct-1", renamed)
        .await
        .assert_problem(422, "idempotency-key-reused");
    // Keys belong to the caller: another admin's key of the same name is its own.
    let other_admin = app.token(billing_center::auth::Role::Admin, "admin-2", None);
    let other = create(other_admin, "acct-1", body.clone()).await;
    other.assert_status(201);
    assert_ne!(other.body["id"], first.body["id"]);
    // Without a key every request creates an account, as before.
    app.post("/v1/accounts", &admin, body)
        .await
        .assert_status(201);
    let listed = app.get("/v1/accounts", &admin).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 3);
}

#[actix_web::test]
async fn a_refused_account_creation_leaves_its_key_free() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let send = |body: serde_json::Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.send_with(
                Method::POST,
                "/v1/accounts",
                Some(&admin),
                &[("Idempotency-Key", "acct-2")],
                Some(body),
            )
            .await
        }
    };
    send(account("ZZ", "EUR", None))
        .await
        .assert_problem(422, "validation-failed");
    send(account("DE", "EUR", None)).await.assert_status(201);
}

#[actix_web::test]
async fn concurrent_account_creations_with_one_key_create_one_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let body = account("DE", "EUR", None);
    let responses = futures_util::future::join_all((0..4).map(|_| {
        app.send_with(
            Method::POST,
            "/v1/accounts",
            Some(&admin),
            &[("Idempotency-Key", "same")],
            Some(body.clone()),
        )
    }))
    .await;
    for response in &responses {
        response.assert_status(201);
        assert_eq!(response.body["id"], responses[0].body["id"]);
    }
    let listed = app.get("/v1/accounts", &admin).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 1);
}
