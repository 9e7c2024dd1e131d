//! Webhook endpoints and the event stream (SPEC §14): the endpoints' rules, roles, the
//! tenant's events and their filters. Deliveries themselves: `webhook_deliveries.rs`.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::receiver::Receiver;
use crate::webhook_deliveries::{create_endpoint, deliver, sender};

#[actix_web::test]
async fn urls_are_refused_before_any_connection_is_made() {
    let app = TestApp::spawn_with_strict_webhook_urls().await;
    for (url, code) in [
        ("http://billing.example/hooks", "webhook-url-not-allowed"),
        ("https://127.0.0.1/hooks", "webhook-url-not-allowed"),
        ("https://10.1.2.3/hooks", "webhook-url-not-allowed"),
        ("https://192.168.0.10:8443/hooks", "webhook-url-not-allowed"),
        (
            "https://169.254.169.254/latest/meta-data",
            "webhook-url-not-allowed",
        ),
        ("https://[::1]/hooks", "webhook-url-not-allowed"),
        ("https://[fd00::1]/hooks", "webhook-url-not-allowed"),
        (
            "https://[::ffff:127.0.0.1]/hooks",
            "webhook-url-not-allowed",
        ),
        // Resolved from /etc/hosts: a name for a loopback address is refused too.
        ("https://localhost/hooks", "webhook-url-not-allowed"),
        ("ftp://billing.example/hooks", "validation-failed"),
        ("not a url", "validation-failed"),
        (
            "https://user:secret@billing.example/hooks",
            "validation-failed",
        ),
    ] {
        let response = app
            .post(
                "/v1/webhook-endpoints",
                &app.admin(),
                json!({"url": url, "enabled_events": ["*"]}),
            )
            .await;
        response.assert_problem(422, code);
        assert!(
            !response.body.to_string().contains("whsec_"),
            "{url}: no secret in a refusal"
        );
    }
    assert_eq!(
        app.sql_rows("SELECT count(*) FROM webhook_endpoints").await,
        [["0"]]
    );
    // Changing an endpoint's URL follows the same rules.
    app.sql(&format!(
        "INSERT INTO webhook_endpoints (id, url, enabled_events, secret, created_at, updated_at) \
         VALUES ('{}', 'https://partner.example/hooks', '{{*}}', 'whsec_AAAA', now(), now())",
        Uuid::nil()
    ))
    .await;
    app.patch(
        &format!("/v1/webhook-endpoints/{}", Uuid::nil()),
        &app.admin(),
        json!({"url": "https://127.0.0.1/hooks"}),
    )
    .await
    .assert_problem(422, "webhook-url-not-allowed");
}

#[actix_web::test]
async fn a_delivery_refuses_a_private_address_when_the_rules_forbid_it() {
    // Saved with the development switches on, delivered by a worker without them: the
    // worker checks again and never connects.
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    create_endpoint(&app, &receiver.url(), &["*"]).await;
    app.self_service_account().await;
    let strict = billing_center::services::webhooks::url_rules::UrlPolicy {
        allow_http: true,
        allow_private: false,
    };
    let worker = crate::webhook_deliveries::sender_with(&app, strict);
    worker.deliver_due().await.unwrap();
    assert!(receiver.received().is_empty());
    let error = app
        .sql_rows("SELECT last_error FROM webhook_deliveries")
        .await;
    assert!(
        error[0][0].contains("webhooks may not reach")
            || error[0][0].contains("loopback, private or link-local"),
        "{error:?}"
    );
}

#[actix_web::test]
async fn endpoints_are_created_read_updated_and_deleted_by_admin_only() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let body = json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]});
    for token in [
        app.support(),
        app.contact(account),
        app.representative("rep-1"),
    ] {
        app.post("/v1/webhook-endpoints", &token, body.clone())
            .await
            .assert_problem(403, "forbidden");
        app.get("/v1/webhook-endpoints", &token)
            .await
            .assert_problem(403, "forbidden");
        app.get("/v1/events", &token)
            .await
            .assert_problem(403, "forbidden");
    }
    let created = app
        .post(
            "/v1/webhook-endpoints",
            &app.admin(),
            json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["subscription.*", "invoice.paid"],
                   "description": "Partner portal"}),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/webhook-endpoints/{id}").as_str())
    );
    let read = app
        .get(&format!("/v1/webhook-endpoints/{id}"), &app.admin())
        .await;
    read.assert_status(200);
    assert!(
        read.body.get("secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(
        read.body["enabled_events"],
        json!(["subscription.*", "invoice.paid"])
    );
    app.post(
        "/v1/webhook-endpoints",
        &app.admin(),
        json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["subscriptions.*"]}),
    )
    .await
    .assert_problem(422, "validation-failed");
    let patched = app
        .patch(
            &format!("/v1/webhook-endpoints/{id}"),
            &app.admin(),
            json!({"enabled_events": ["*"], "disabled": true}),
        )
        .await;
    patched.assert_status(200);
    assert_eq!(patched.body["disabled"], json!(true));
    assert_eq!(patched.body["disabled_reason"], json!("requested"));
    let list = app.get("/v1/webhook-endpoints", &app.admin()).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    app.delete(&format!("/v1/webhook-endpoints/{id}"), &app.admin())
        .await
        .assert_status(204);
    app.get(&format!("/v1/webhook-endpoints/{id}"), &app.admin())
        .await
        .assert_problem(404, "not-found");
    // Each change is a tenant event: no account, the admin as actor, no secret in it.
    let events = app
        .get("/v1/events?type=webhook_endpoint.*", &app.admin())
        .await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "webhook_endpoint.deleted",
            "webhook_endpoint.updated",
            "webhook_endpoint.created"
        ]
    );
    assert_eq!(events.body["data"][0]["account_id"], Value::Null);
    assert!(!events.body.to_string().contains(secret));
    assert_eq!(
        events.body["data"][1]["data"]["previous_attributes"]["disabled"],
        json!(false)
    );
}

#[actix_web::test]
async fn the_event_streams_filter_by_type_and_time() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    app.import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.post(
        &format!("/v1/accounts/{account}/users"),
        &app.contact(account),
        json!({"name": "Grace", "email": "grace@acme.example"}),
    )
    .await
    .assert_status(201);
    let other = app.self_service_account().await;
    let types = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/v1/events", &app.admin()).await;
    all.assert_status(200);
    assert_eq!(
        types(&all.body),
        [
            "account.created",
            "user.created",
            "subscription.created",
            "account.created"
        ]
    );
    let accounts = app
        .get("/v1/events?type=account.*&type=user.created", &app.admin())
        .await;
    assert_eq!(
        types(&accounts.body),
        ["account.created", "user.created", "account.created"]
    );
    let mine = app
        .get(
            &format!("/v1/accounts/{account}/events?type=account.created"),
            &app.contact(account),
        )
        .await;
    assert_eq!(types(&mine.body), ["account.created"]);
    assert_eq!(mine.body["data"][0]["data"]["object"]["id"], json!(account));
    // Every event of this test is at the app's "now" (2026-11-27T10:00:00Z).
    let before = app
        .get("/v1/events?created_lt=2026-11-27T10:00:00Z", &app.admin())
        .await;
    assert_eq!(types(&before.body), Vec::<String>::new());
    let from = app
        .get(
            "/v1/events?created_gte=2026-11-27T10:00:00Z&limit=2",
            &app.admin(),
        )
        .await;
    assert_eq!(from.body["has_more"], json!(true));
    let next = from.body["next_starting_after"].as_str().unwrap();
    let page_two = app
        .get(
            &format!("/v1/events?created_gte=2026-11-27T10:00:00Z&starting_after={next}"),
            &app.admin(),
        )
        .await;
    assert_eq!(
        types(&page_two.body),
        ["subscription.created", "account.created"]
    );
    for bad in [
        "type=subscriptions.*",
        "type=nothing",
        "created_gte=yesterday",
        "colour=blue",
        "limit=0",
    ] {
        app.get(&format!("/v1/events?{bad}"), &app.admin())
            .await
            .assert_problem(422, "validation-failed");
    }
    let _ = other;
}

#[actix_web::test]
async fn a_test_event_goes_to_its_endpoint_only_and_a_resend_to_every_endpoint_that_wants_it() {
    let app = TestApp::spawn().await;
    let (first, second) = (Receiver::start().await, Receiver::start().await);
    let (a, _) = create_endpoint(&app, &first.url(), &["*"]).await;
    let account = app.self_service_account().await;
    let worker = sender(&app);
    deliver(&worker).await;
    assert_eq!(first.types(), ["account.created"]);
    let event_id = first.received()[0].json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Created after the event: it never receives it, except by a resend.
    let (b, _) = create_endpoint(&app, &second.url(), &["account.*"]).await;
    let resent = app
        .post(
            &format!("/v1/events/{event_id}/resend"),
            &app.admin(),
            json!({}),
        )
        .await;
    resent.assert_status(200);
    assert_eq!(resent.body["data"].as_array().unwrap().len(), 2);
    deliver(&worker).await;
    // The first wants everything: the second endpoint's creation too.
    assert_eq!(
        first.types(),
        [
            "account.created",
            "webhook_endpoint.created",
            "account.created"
        ]
    );
    assert_eq!(second.types(), ["account.created"]);
    assert_eq!(second.received()[0].header("webhook-id"), event_id);

    let test = app
        .post(
            &format!("/v1/webhook-endpoints/{b}/test"),
            &app.admin(),
            json!({}),
        )
        .await;
    test.assert_status(200);
    assert_eq!(test.body["event_type"], json!("webhook.test"));
    assert_eq!(test.body["status"], json!("pending"));
    deliver(&worker).await;
    assert_eq!(second.types(), ["account.created", "webhook.test"]);
    assert!(
        !first.types().contains(&"webhook.test".to_owned()),
        "the test went to its endpoint only"
    );
    app.patch(
        &format!("/v1/webhook-endpoints/{a}"),
        &app.admin(),
        json!({"disabled": true}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/v1/webhook-endpoints/{a}/test"),
        &app.admin(),
        json!({}),
    )
    .await
    .assert_problem(409, "webhook-endpoint-disabled");
    app.post(
        &format!("/v1/events/{}/resend", Uuid::new_v4()),
        &app.admin(),
        json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    let _ = account;
}

#[actix_web::test]
async fn every_webhook_and_tenant_event_route_is_admin_only() {
    use actix_web::http::Method;
    let app = TestApp::spawn().await;
    let (endpoint, _) = create_endpoint(&app, "http://127.0.0.1:9/hooks", &["*"]).await;
    let self_service = app.self_service_account().await;
    let corporate = app.corporate_account("rep-1").await;
    let event = app.get("/v1/events?limit=1", &app.admin()).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivery = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
            &app.admin(),
        )
        .await
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let routes: Vec<(Method, String, Option<Value>, u16)> = vec![
        (Method::GET, "/v1/events".into(), None, 200),
        (
            Method::POST,
            format!("/v1/events/{event}/resend"),
            Some(json!({})),
            200,
        ),
        (Method::GET, "/v1/webhook-endpoints".into(), None, 200),
        (
            Method::POST,
            "/v1/webhook-endpoints".into(),
            Some(json!({"url": "http://127.0.0.1:9/other", "enabled_events": ["*"]})),
            201,
        ),
        (
            Method::GET,
            format!("/v1/webhook-endpoints/{endpoint}"),
            None,
            200,
        ),
        (
            Method::PATCH,
            format!("/v1/webhook-endpoints/{endpoint}"),
            Some(json!({"description": "Partner"})),
            200,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            Some(json!({})),
            200,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{endpoint}/test"),
            Some(json!({})),
            200,
        ),
        (
            Method::GET,
            format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
            None,
            200,
        ),
        (
            Method::POST,
            format!("/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}/retry"),
            Some(json!({})),
            200,
        ),
        (
            Method::DELETE,
            format!("/v1/webhook-endpoints/{endpoint}"),
            None,
            204,
        ),
    ];
    let others = [
        ("billing_contact", app.contact(self_service)),
        ("corporate_contact", app.corporate_contact(corporate)),
        ("representative", app.representative("rep-1")),
        ("support", app.support()),
    ];
    for (method, path, body, admin_status) in routes {
        for (role, token) in &others {
            let refused = app
                .send(method.clone(), &path, Some(token), body.clone())
                .await;
            assert_eq!(refused.status, 403, "{role} {method} {path}");
            assert_eq!(refused.code(), "forbidden", "{role} {method} {path}");
        }
        let admin = app
            .send(method.clone(), &path, Some(&app.admin()), body)
            .await;
        assert_eq!(
            admin.status, admin_status,
            "admin {method} {path}: {}",
            admin.body
        );
        app.send(method.clone(), &path, None, None)
            .await
            .assert_problem(401, "unauthenticated");
    }
}
