//! Webhook deliveries (SPEC §14) to receivers these tests start on 127.0.0.1: signatures
//! checked by an independent verifier, retries, order per subscription, slow and dead
//! endpoints beside a healthy one, 410, five failing days, secret rotation, two workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_center::clock::SystemClock;
use billing_center::services::webhooks::sender::{Sender, SenderOptions};
use billing_center::services::webhooks::url_rules::UrlPolicy;
use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::{LOCAL_WEBHOOKS, TestApp};
use crate::receiver::{Receiver, Reply, dead_url, verify};

pub fn sender_with(app: &TestApp, policy: UrlPolicy) -> Sender {
    Sender::new(
        app.state.pool.clone(),
        policy,
        Arc::new(SystemClock),
        SenderOptions {
            concurrency: 8,
            per_endpoint: 2,
            lease_seconds: 60,
            idle_wait: Duration::from_millis(10),
        },
    )
    .unwrap()
}

pub fn sender(app: &TestApp) -> Sender {
    sender_with(app, LOCAL_WEBHOOKS)
}

pub async fn deliver(worker: &Sender) -> usize {
    worker.deliver_due().await.unwrap()
}

/// Creates an endpoint as admin; returns its id and secret.
pub async fn create_endpoint(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let created = app
        .post(
            "/v1/webhook-endpoints",
            &app.admin(),
            json!({"url": url, "enabled_events": events}),
        )
        .await;
    created.assert_status(201);
    (
        created.body["id"].as_str().unwrap().to_owned(),
        created.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint}/deliveries?limit=100"),
            &app.admin(),
        )
        .await;
    page.assert_status(200);
    page.body["data"].as_array().unwrap().clone()
}

async fn rename(app: &TestApp, account: uuid::Uuid, name: &str) {
    app.patch(
        &format!("/v1/accounts/{account}"),
        &app.admin(),
        json!({"name": name}),
    )
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn a_delivery_is_signed_per_standard_webhooks_and_carries_the_event() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(), &["*"]).await;
    let account = app.self_service_account().await;
    rename(&app, account, "Acme Remote Care GmbH").await;
    assert_eq!(deliver(&sender(&app)).await, 2);
    let received = receiver.received();
    assert_eq!(receiver.types(), ["account.created", "account.updated"]);
    for r in &received {
        verify(&secret, r).unwrap();
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("webhook-id"), r.json()["id"].as_str().unwrap());
    }
    let updated = received[1].json();
    assert_eq!(updated["account_id"], json!(account));
    assert_eq!(
        updated["data"]["object"]["name"],
        json!("Acme Remote Care GmbH")
    );
    assert!(updated["data"]["previous_attributes"]["name"].is_string());
    assert_eq!(updated["actor"]["role"], json!("admin"));
    // Simulated time in the event, real time in the signature.
    assert_eq!(updated["created_at"], json!("2026-11-27T12:00:00Z"));
    let stamp: i64 = received[1].header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - stamp).abs() < 60);
    // A body altered in transit no longer verifies.
    let mut forged = received[1].clone();
    forged.body = String::from_utf8(forged.body)
        .unwrap()
        .replace("GmbH", "Ltd.")
        .into_bytes();
    assert!(verify(&secret, &forged).is_err());
    let listed = deliveries(&app, &endpoint).await;
    assert_eq!(listed.len(), 2);
    for d in &listed {
        assert_eq!(d["status"], json!("succeeded"));
        assert_eq!(d["attempts"], json!(1));
        assert_eq!(d["last_response_status"], json!(200));
        assert!(d["last_duration_ms"].is_i64());
        assert_eq!(d["next_attempt_at"], Value::Null);
    }
}

#[actix_web::test]
async fn failures_are_retried_on_the_schedule_honouring_retry_after() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver
        .then(Reply {
            headers: vec![("Retry-After".into(), "120".into())],
            ..Reply::status(503)
        })
        .then(Reply::status(500));
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(), &["account.*"]).await;
    app.self_service_account().await;
    let worker = sender(&app);
    deliver(&worker).await;
    let first = &deliveries(&app, &endpoint).await[0];
    assert_eq!(first["status"], json!("pending"));
    assert_eq!(first["attempts"], json!(1));
    assert_eq!(first["last_response_status"], json!(503));
    let wait = |d: &Value| {
        let next: chrono::DateTime<Utc> =
            serde_json::from_value(d["next_attempt_at"].clone()).unwrap();
        (next - Utc::now()).num_milliseconds()
    };
    // The schedule says 5 s; the endpoint asked for 120.
    let first_wait = wait(first);
    assert!((115_000..=121_000).contains(&first_wait), "{first_wait} ms");
    // Nothing is due yet: a pass sends nothing.
    assert_eq!(deliver(&worker).await, 0);
    let id = first["id"].as_str().unwrap();
    let path = format!("/v1/webhook-endpoints/{endpoint}/deliveries/{id}/retry");
    app.post(&path, &app.admin(), json!({}))
        .await
        .assert_status(200);
    deliver(&worker).await;
    let second = &deliveries(&app, &endpoint).await[0];
    assert_eq!(second["attempts"], json!(2));
    assert_eq!(second["last_response_status"], json!(500));
    // The second wait of the schedule: 5 min ± 20 %.
    let second_wait = wait(second);
    assert!(
        (239_000..=361_000).contains(&second_wait),
        "{second_wait} ms"
    );
    app.post(&path, &app.admin(), json!({}))
        .await
        .assert_status(200);
    deliver(&worker).await;
    let third = &deliveries(&app, &endpoint).await[0];
    assert_eq!(third["status"], json!("succeeded"));
    assert_eq!(third["attempts"], json!(3));
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one event, three attempts"
    );
    receiver
        .received()
        .iter()
        .for_each(|r| verify(&secret, r).unwrap());
}

#[actix_web::test]
async fn one_subscriptions_events_wait_for_the_earlier_one() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.then(Reply::status(500));
    let (endpoint, _) = create_endpoint(&app, &receiver.url(), &["license.*"]).await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    let contact = app.contact(account);
    let mut users = Vec::new();
    for (name, email) in [("Ada", "ada@acme.example"), ("Grace", "grace@acme.example")] {
        let user = app
            .post(
                &format!("/v1/accounts/{account}/users"),
                &contact,
                json!({"name": name, "email": email}),
            )
            .await;
        users.push(user.body["id"].as_str().unwrap().to_owned());
    }
    // Two quick changes of one subscription.
    for user in &users {
        app.put(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{user}"),
            &contact,
            json!({}),
        )
        .await
        .assert_status(201);
    }
    // Another account's licence is not held back by this subscription's failure.
    let other = app.self_service_account().await;
    let other_subscription = app
        .import_active(other, "standard", "monthly", 5, "2026-11-17")
        .await;
    let other_user = app
        .post(
            &format!("/v1/accounts/{other}/users"),
            &app.contact(other),
            json!({"name": "Linus", "email": "linus@globex.example"}),
        )
        .await;
    let other_user = other_user.body["id"].as_str().unwrap().to_owned();
    app.put(
        &format!(
            "/v1/accounts/{other}/subscriptions/{other_subscription}/assignments/{other_user}"
        ),
        &app.contact(other),
        json!({}),
    )
    .await
    .assert_status(201);

    let worker = sender(&app);
    deliver(&worker).await;
    let users_seen = |receiver: &Receiver| -> Vec<String> {
        receiver
            .received()
            .iter()
            .map(|r| {
                r.json()["data"]["object"]["user_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let seen = users_seen(&receiver);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.contains(&users[0]), "the first was tried (and failed)");
    assert!(seen.contains(&other_user), "the other subscription went on");
    assert!(!seen.contains(&users[1]), "the second waits for the first");
    let listed = deliveries(&app, &endpoint).await;
    let failed_first = listed
        .iter()
        .find(|d| d["status"] == json!("pending") && d["attempts"] == json!(1))
        .unwrap();
    app.post(
        &format!(
            "/v1/webhook-endpoints/{endpoint}/deliveries/{}/retry",
            failed_first["id"].as_str().unwrap()
        ),
        &app.admin(),
        json!({}),
    )
    .await
    .assert_status(200);
    deliver(&worker).await;
    let seen = users_seen(&receiver);
    assert_eq!(seen.len(), 4);
    assert_eq!(&seen[2..], [users[0].clone(), users[1].clone()]);
}

#[actix_web::test]
async fn a_slow_or_dead_endpoint_never_holds_the_healthy_one_back() {
    let app = TestApp::spawn().await;
    let (healthy, slow) = (Receiver::start().await, Receiver::start().await);
    let slow_reply = Duration::from_millis(1_500);
    slow.always(Reply {
        delay: slow_reply,
        ..Reply::status(200)
    });
    let (healthy_id, _) = create_endpoint(&app, &healthy.url(), &["account.*"]).await;
    create_endpoint(&app, &slow.url(), &["account.*"]).await;
    let (dead_id, _) = create_endpoint(&app, &dead_url().await, &["account.*"]).await;
    for _ in 0..4 {
        app.self_service_account().await;
    }
    let started = Instant::now();
    deliver(&sender(&app)).await;
    // Two at a time to the slow one (its share of the worker): two rounds of 1.5 s.
    assert!(
        started.elapsed() >= 2 * slow_reply,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(healthy.received().len(), 4);
    assert_eq!(slow.received().len(), 4);
    // Every healthy delivery was done before the slow endpoint had answered once.
    let healthy_done = healthy.received().iter().map(|r| r.at).max().unwrap();
    let slow_first_answer = slow.received()[0].at + slow_reply;
    assert!(healthy_done < slow_first_answer);
    for d in deliveries(&app, &healthy_id).await {
        assert_eq!(d["status"], json!("succeeded"));
    }
    for d in deliveries(&app, &dead_id).await {
        assert_eq!(d["status"], json!("pending"));
        assert_eq!(d["attempts"], json!(1));
        assert_eq!(d["last_response_status"], Value::Null);
        assert!(d["last_error"].as_str().unwrap().contains("connect"), "{d}");
    }
}

#[actix_web::test]
async fn gone_disables_the_endpoint_and_says_so() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(410));
    let (endpoint, _) = create_endpoint(&app, &receiver.url(), &["account.*"]).await;
    let account = app.self_service_account().await;
    let worker = sender(&app);
    deliver(&worker).await;
    let read = app
        .get(&format!("/v1/webhook-endpoints/{endpoint}"), &app.admin())
        .await;
    assert_eq!(read.body["disabled"], json!(true));
    assert_eq!(read.body["disabled_reason"], json!("gone"));
    assert_eq!(
        deliveries(&app, &endpoint).await[0]["status"],
        json!("failed")
    );
    let events = app
        .get("/v1/events?type=webhook_endpoint.disabled", &app.admin())
        .await;
    let event = &events.body["data"][0];
    assert_eq!(event["account_id"], Value::Null);
    assert_eq!(
        event["actor"],
        json!({"type": "system", "sub": "system", "role": null})
    );
    assert_eq!(event["data"]["object"]["id"], json!(endpoint));
    // Disabled: new events queue nothing for it, and its test is refused.
    rename(&app, account, "Renamed").await;
    assert_eq!(deliveries(&app, &endpoint).await.len(), 1);
    app.post(
        &format!("/v1/webhook-endpoints/{endpoint}/test"),
        &app.admin(),
        json!({}),
    )
    .await
    .assert_problem(409, "webhook-endpoint-disabled");
    // Enabled again, it receives what comes next.
    receiver.always(Reply::status(204));
    app.patch(
        &format!("/v1/webhook-endpoints/{endpoint}"),
        &app.admin(),
        json!({"disabled": false}),
    )
    .await
    .assert_status(200);
    rename(&app, account, "Renamed again").await;
    deliver(&worker).await;
    assert_eq!(receiver.types(), ["account.created", "account.updated"]);
}

#[actix_web::test]
async fn five_days_of_failures_disable_an_endpoint() {
    let app = TestApp::spawn().await;
    let (endpoint, _) = create_endpoint(&app, &dead_url().await, &["*"]).await;
    app.self_service_account().await;
    let worker = sender(&app);
    deliver(&worker).await;
    let read = app
        .get(&format!("/v1/webhook-endpoints/{endpoint}"), &app.admin())
        .await;
    assert_eq!(read.body["disabled"], json!(false));
    assert!(read.body["failing_since"].is_string());
    // Failing since six days: the next failure disables it.
    app.sql(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '6 days'; \
             UPDATE webhook_deliveries SET next_attempt_at = now()",
    )
    .await;
    deliver(&worker).await;
    let read = app
        .get(&format!("/v1/webhook-endpoints/{endpoint}"), &app.admin())
        .await;
    assert_eq!(read.body["disabled_reason"], json!("failing"));
    let events = app
        .get("/v1/events?type=webhook_endpoint.disabled", &app.admin())
        .await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (endpoint, old) = create_endpoint(&app, &receiver.url(), &["account.*"]).await;
    let rotated = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            &app.admin(),
            json!({}),
        )
        .await;
    rotated.assert_status(200);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let account = app.self_service_account().await;
    let worker = sender(&app);
    deliver(&worker).await;
    let first = &receiver.received()[0];
    assert_eq!(first.header("webhook-signature").split(' ').count(), 2);
    verify(&old, first).unwrap();
    verify(&new, first).unwrap();
    // A day later the old secret no longer signs.
    app.sql(
        "UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second'",
    )
    .await;
    rename(&app, account, "Acme").await;
    deliver(&worker).await;
    let second = &receiver.received()[1];
    assert_eq!(second.header("webhook-signature").split(' ').count(), 1);
    verify(&new, second).unwrap();
    assert!(verify(&old, second).is_err());
}

#[actix_web::test]
async fn two_workers_send_each_event_once() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply {
        delay: Duration::from_millis(20),
        ..Reply::status(200)
    });
    let (endpoint, _) = create_endpoint(&app, &receiver.url(), &["account.*"]).await;
    for _ in 0..30 {
        app.self_service_account().await;
    }
    let (one, two) = (sender(&app), sender(&app));
    let (a, b) = tokio::join!(one.deliver_due(), two.deliver_due());
    assert_eq!(a.unwrap() + b.unwrap(), 30, "every delivery attempted once");
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    assert_eq!(receiver.received().len(), 30, "none sent twice");
    assert!(
        deliveries(&app, &endpoint)
            .await
            .iter()
            .all(|d| d["status"] == json!("succeeded"))
    );
}
