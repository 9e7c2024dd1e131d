//! Test clocks (SPEC §15): an account bound to a clock lives in the clock's time; advancing
//! the clock runs every job due on the way, in time order, exactly once, on any number of
//! workers.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use billing_center::auth::Role;

use crate::helpers::TestApp;

pub fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("rfc 3339")
        .with_timezone(&Utc)
}

pub async fn create_clock(app: &TestApp, frozen_time: &str) -> Uuid {
    let created = app
        .post(
            "/v1/test-clocks",
            &app.admin(),
            json!({"name": "renewals", "frozen_time": frozen_time}),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["status"], "ready");
    assert_eq!(created.body["frozen_time"], frozen_time);
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/test-clocks/{}", created.body["id"].as_str().unwrap()).as_str())
    );
    created.body["id"].as_str().unwrap().parse().unwrap()
}

pub async fn account_on(app: &TestApp, clock: Uuid) -> Uuid {
    app.create_account(json!({
        "kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
        "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
        "test_clock_id": clock
    }))
    .await
}

/// A monthly Standard subscription bought through the cart by the contact, on the account's
/// time, paid by card.
pub async fn subscribe(app: &TestApp, account: Uuid, quantity: i32) -> Uuid {
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
               "quantity": quantity, "billing_frequency": "monthly"}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(account, &contact, Some("subscribe-1"), None, json!({}))
        .await;
    order.assert_status(201);
    let list = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions"),
            &app.admin(),
        )
        .await;
    list.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_web::test]
async fn the_clocks_accounts_answer_409_while_it_advances_and_its_time_after() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-05-10T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    let other = app.self_service_account().await;
    app.start_advance(clock, "2027-05-20T00:00:00Z").await;

    for (path, token) in [
        (format!("/v1/accounts/{account}"), app.admin()),
        (
            format!("/v1/accounts/{account}/subscriptions"),
            app.support(),
        ),
        (format!("/v1/accounts/{account}/cart"), app.contact(account)),
    ] {
        app.get(&path, &token)
            .await
            .assert_problem(409, "test-clock-advancing");
    }
    app.put(
        &format!("/v1/accounts/{account}/payment-method"),
        &app.admin(),
        json!({"token": "tok_visa"}),
    )
    .await
    .assert_problem(409, "test-clock-advancing");
    // No account can join a clock that is moving, nor the clock move twice at once.
    app.post(
        "/v1/accounts",
        &app.admin(),
        json!({"kind": "self_service", "name": "Late", "country": "US", "currency": "USD",
               "billing_contact": {"name": "L", "email": "l@late.example"},
               "test_clock_id": clock}),
    )
    .await
    .assert_problem(409, "test-clock-advancing");
    app.post(
        &format!("/v1/test-clocks/{clock}/advance"),
        &app.admin(),
        json!({"frozen_time": "2027-06-01T00:00:00Z"}),
    )
    .await
    .assert_problem(409, "test-clock-advancing");
    app.delete(&format!("/v1/test-clocks/{clock}"), &app.admin())
        .await
        .assert_problem(409, "test-clock-advancing");
    // A caller who does not reach the account learns nothing from its clock.
    app.get(&format!("/v1/accounts/{account}"), &app.contact(other))
        .await
        .assert_problem(404, "not-found");
    // Accounts in real time are not held up.
    app.get(&format!("/v1/accounts/{other}"), &app.admin())
        .await
        .assert_status(200);

    app.run_jobs("w1").await;
    assert_eq!(app.clock_view(clock).await["status"], "ready");
    let patched = app
        .patch(
            &format!("/v1/accounts/{account}"),
            &app.admin(),
            json!({"name": "Acme Ltd"}),
        )
        .await;
    patched.assert_status(200);
    // The change's event is written at the clock's time.
    let events = app
        .get(&format!("/v1/accounts/{account}/events"), &app.admin())
        .await;
    assert_eq!(events.body["data"][0]["type"], "account.updated");
    assert_eq!(events.body["data"][0]["created_at"], "2027-05-20T00:00:00Z");
}

#[actix_web::test]
async fn an_advance_moves_strictly_forward_and_at_most_two_years() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-03-15T10:30:00Z").await;
    let path = format!("/v1/test-clocks/{clock}/advance");
    for refused in [
        "2027-03-15T10:30:00Z",
        "2027-03-01T00:00:00Z",
        "2029-03-15T10:30:01Z",
    ] {
        let response = app
            .post(&path, &app.admin(), json!({"frozen_time": refused}))
            .await;
        response.assert_problem(422, "validation-failed");
        assert_eq!(response.body["errors"][0]["field"], "frozen_time");
    }
    app.post(&path, &app.admin(), json!({"frozen_time": "yesterday"}))
        .await
        .assert_problem(422, "validation-failed");
    assert_eq!(app.clock_view(clock).await["status"], "ready");
    // Exactly two years is allowed.
    app.start_advance(clock, "2029-03-15T10:30:00Z").await;
    app.post(
        "/v1/test-clocks",
        &app.admin(),
        json!({"name": "", "frozen_time": "2027-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn test_clocks_are_for_admins_and_absent_unless_enabled() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-01-01T00:00:00Z").await;
    let account = app.self_service_account().await;
    let routes = |clock: Uuid| {
        [
            (
                "POST",
                "/v1/test-clocks".to_owned(),
                json!({"name": "x", "frozen_time": "2027-01-01T00:00:00Z"}),
            ),
            ("GET", "/v1/test-clocks".to_owned(), Value::Null),
            ("GET", format!("/v1/test-clocks/{clock}"), Value::Null),
            (
                "POST",
                format!("/v1/test-clocks/{clock}/advance"),
                json!({"frozen_time": "2027-02-01T00:00:00Z"}),
            ),
            ("DELETE", format!("/v1/test-clocks/{clock}"), Value::Null),
        ]
    };
    for token in [
        app.support(),
        app.representative("rep-1"),
        app.contact(account),
        app.token(Role::CorporateContact, "cc", Some(account)),
    ] {
        for (method, path, body) in routes(clock) {
            let response = match method {
                "POST" => app.post(&path, &token, body).await,
                "DELETE" => app.delete(&path, &token).await,
                _ => app.get(&path, &token).await,
            };
            response.assert_problem(403, "forbidden");
        }
    }
    let list = app.get("/v1/test-clocks", &app.admin()).await;
    list.assert_status(200);
    assert_eq!(list.body["data"][0]["id"], json!(clock));

    let off = TestApp::spawn().await;
    for (method, path, body) in routes(Uuid::now_v7()) {
        let response = match method {
            "POST" => off.post(&path, &off.admin(), body).await,
            "DELETE" => off.delete(&path, &off.admin()).await,
            _ => off.get(&path, &off.admin()).await,
        };
        response.assert_problem(404, "not-found");
    }
    let refused = off
        .post(
            "/v1/accounts",
            &off.admin(),
            json!({"kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
                   "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
                   "test_clock_id": Uuid::now_v7()}),
        )
        .await;
    refused.assert_problem(422, "validation-failed");
    assert_eq!(refused.body["errors"][0]["field"], "test_clock_id");
    // An unknown clock is refused where clocks exist, too.
    app.post(
        "/v1/accounts",
        &app.admin(),
        json!({"kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
               "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
               "test_clock_id": Uuid::now_v7()}),
    )
    .await
    .assert_problem(422, "validation-failed");
}

#[actix_web::test]
async fn deleting_a_clock_deletes_its_accounts_and_nothing_else() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-01-10T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    subscribe(&app, account, 1).await;
    app.start_advance(clock, "2027-03-01T00:00:00Z").await;
    app.run_jobs("w1").await;
    let kept = app.self_service_account().await;
    subscribe(&app, kept, 1).await;

    app.delete(&format!("/v1/test-clocks/{clock}"), &app.admin())
        .await
        .assert_status(204);
    app.get(&format!("/v1/accounts/{account}"), &app.admin())
        .await
        .assert_problem(404, "not-found");
    app.get(&format!("/v1/test-clocks/{clock}"), &app.admin())
        .await
        .assert_problem(404, "not-found");
    let left = app
        .sql_rows(&format!(
            "SELECT (SELECT count(*) FROM subscriptions WHERE account_id = '{account}') AS subs, \
                    (SELECT count(*) FROM invoices WHERE account_id = '{account}') AS invoices, \
                    (SELECT count(*) FROM events WHERE account_id = '{account}') AS events, \
                    (SELECT count(*) FROM jobs WHERE test_clock_id = '{clock}') AS jobs"
        ))
        .await;
    assert_eq!(left, [["0", "0", "0", "0"]]);
    assert_eq!(app.invoices(kept).await.len(), 1);
}

#[actix_web::test]
async fn a_change_that_read_the_clock_before_an_advance_is_refused_not_misdated() {
    use billing_center::auth::Principal;
    use billing_center::services::Caller;
    use billing_center::services::users::{self, CreateUser};

    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-05-10T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    // A request read the clock at 2027-05-10 …
    let caller = Caller {
        principal: Principal {
            sub: "admin-1".into(),
            role: Role::Admin,
            account_id: None,
        },
        request_id: "late-request".into(),
        idempotency_key: None,
        system: false,
        now: instant("2027-05-10T00:00:00Z"),
    };
    // … then the clock moved on before its transaction began.
    app.start_advance(clock, "2027-06-01T00:00:00Z").await;
    app.run_jobs("w1").await;
    let input = || CreateUser {
        name: "Grace".into(),
        email: "grace@acme.example".into(),
    };
    let refused = users::create(&app.state, &caller, account, input())
        .await
        .expect_err("the request's time is no longer the clock's");
    assert_eq!(refused.code.as_str(), "test-clock-advancing");
    // Read again, at the clock's time, the same change goes through.
    let caller = Caller {
        now: instant("2027-06-01T00:00:00Z"),
        ..caller
    };
    users::create(&app.state, &caller, account, input())
        .await
        .expect("at the clock's time");
}
