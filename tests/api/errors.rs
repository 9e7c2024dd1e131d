//! No request of any shape gets a 5xx or a non-problem error: bad JSON, wrong types, unknown
//! fields, huge numbers, huge bodies, bad ids, unknown paths and methods.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::TestApp;

fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> actix_http::Request {
    let mut request = TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {}", app.admin())));
    if let Some(content_type) = content_type {
        request = request.insert_header(("Content-Type", content_type));
    }
    request.set_payload(body).to_request()
}

#[actix_web::test]
async fn malformed_bodies_are_problems_never_5xx() {
    let app = TestApp::spawn().await;
    let json_type = Some("application/json");
    let cases: Vec<(Vec<u8>, Option<&str>, u16, &str)> = vec![
        (b"{".to_vec(), json_type, 400, "malformed-request"),
        (b"not json".to_vec(), json_type, 400, "malformed-request"),
        (b"".to_vec(), json_type, 400, "malformed-request"),
        (b"[]".to_vec(), json_type, 422, "validation-failed"),
        (br#"{"kind": 5}"#.to_vec(), json_type, 422, "validation-failed"),
        (br#"{"kind": "self_service"}"#.to_vec(), json_type, 422, "validation-failed"),
        (br#"{"kind":"self_service","name":"A","country":"US","currency":"USD","billing_contact":{"name":"A","email":"a@b.co"},"extra":1}"#.to_vec(), json_type, 422, "validation-failed"),
        (br#"{"kind":"self_service","name":"A","country":"US","currency":"USD","billing_contact":{"name":"A","email":"a@b.co"}}"#.to_vec(), Some("text/plain"), 415, "unsupported-media-type"),
        (vec![0xff, 0xfe, 0x00], json_type, 400, "malformed-request"),
    ];
    for (body, content_type, status, code) in cases {
        let response = app
            .call(raw(
                &app,
                Method::POST,
                "/v1/accounts",
                content_type,
                body.clone(),
            ))
            .await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{}: {}",
            String::from_utf8_lossy(&body),
            response.body
        );
        response.assert_problem(status, code);
    }
}

#[actix_web::test]
async fn huge_numbers_and_wrong_types_are_validation_failures() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let path = format!("/v1/accounts/{account}/subscriptions");
    for quantity in [
        json!(1e300),
        json!(99999999999999999999u128.to_string()),
        json!(-1),
        json!("5"),
        json!(null),
    ] {
        let response = app
            .post(
                &path,
                &app.admin(),
                json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": quantity,
                   "status": "trialing", "trial_ends_on": "2026-12-01"}),
            )
            .await;
        response.assert_problem(422, "validation-failed");
    }
    let response = app
        .call(raw(&app, Method::POST, &path, Some("application/json"),
            br#"{"product":"gotoassist-rs-v4","plan":"standard","quantity":123456789012345678901234567890,"status":"trialing","trial_ends_on":"2026-12-01"}"#.to_vec()))
        .await;
    response.assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn bodies_over_64_kib_are_refused() {
    let app = TestApp::spawn().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(8 * 1024 * 1024));
    let response = app
        .call(raw(
            &app,
            Method::POST,
            "/v1/accounts",
            Some("application/json"),
            big.into_bytes(),
        ))
        .await;
    response.assert_problem(413, "payload-too-large");
    let just_over = format!("{{\"name\": \"{}\"}}", "x".repeat(64 * 1024));
    let response = app
        .call(raw(
            &app,
            Method::POST,
            "/v1/accounts",
            Some("application/json"),
            just_over.into_bytes(),
        ))
        .await;
    response.assert_problem(413, "payload-too-large");
}

#[actix_web::test]
async fn path_ids_are_accepted_only_in_the_canonical_uuid_form() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.get(
        &format!(
            "/v1/accounts/{account}/subscriptions/{}",
            subscription.hyphenated().to_string().to_uppercase()
        ),
        &admin,
    )
    .await
    .assert_status(200);
    let simple = account.simple().to_string();
    let hyphenated = account.hyphenated().to_string();
    for id in [hyphenated.clone(), hyphenated.to_uppercase()] {
        app.get(&format!("/v1/accounts/{id}"), &admin)
            .await
            .assert_status(200);
        app.get(&format!("/v1/accounts/{id}/orders"), &admin)
            .await
            .assert_status(200);
    }
    // Forms `Uuid::parse_str` accepts but that are not the id's spelling: no such resource.
    for id in [
        simple.clone(),
        simple.to_uppercase(),
        format!("%7B{hyphenated}%7D"),
        format!("urn:uuid:{hyphenated}"),
    ] {
        app.get(&format!("/v1/accounts/{id}"), &admin)
            .await
            .assert_problem(404, "not-found");
        app.get(&format!("/v1/accounts/{id}/orders"), &admin)
            .await
            .assert_problem(404, "not-found");
    }
    for id in [
        subscription.simple().to_string(),
        format!("%7b{subscription}%7d"),
    ] {
        app.get(
            &format!("/v1/accounts/{account}/subscriptions/{id}"),
            &admin,
        )
        .await
        .assert_problem(404, "not-found");
    }
}

#[actix_web::test]
async fn unknown_paths_bad_ids_and_wrong_methods() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    app.get("/v1/accounts/not-a-uuid", &admin)
        .await
        .assert_problem(404, "not-found");
    app.get("/v1/accounts/00000000-0000-0000-0000-000000000000", &admin)
        .await
        .assert_problem(404, "not-found");
    app.get("/v1/nothing-here", &admin)
        .await
        .assert_problem(404, "not-found");
    app.get("/nothing-here", &admin)
        .await
        .assert_problem(404, "not-found");

    let response = app
        .send(Method::DELETE, "/v1/accounts", Some(&admin), None)
        .await;
    response.assert_problem(405, "method-not-allowed");
    assert_eq!(response.header("allow"), Some("GET, POST"));
    let account = app.self_service_account().await;
    let response = app
        .send(
            Method::POST,
            &format!("/v1/accounts/{account}"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    response.assert_problem(405, "method-not-allowed");
    assert_eq!(response.header("allow"), Some("GET, PATCH"));
    app.send(
        Method::PUT,
        "/v1/catalog/products",
        Some(&admin),
        Some(json!({})),
    )
    .await
    .assert_problem(405, "method-not-allowed");
}

#[actix_web::test]
async fn nul_characters_are_refused_not_stored() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let response = app
        .post(
            &format!("/v1/accounts/{account}/users"),
            &app.admin(),
            json!({"name": "Nul\u{0}Byte", "email": "n@x.example"}),
        )
        .await;
    response.assert_problem(422, "validation-failed");
    assert_eq!(response.body["errors"][0]["field"], json!("name"));
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .call(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "trace-123"))
                .to_request(),
        )
        .await;
    assert_eq!(response.header("x-request-id"), Some("trace-123"));
    let response = app.get("/v1/nothing", &app.admin()).await;
    assert!(
        response
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );
}
