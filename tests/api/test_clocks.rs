//! Test clocks (SPEC §15): an account bound to a clock lives in the clock's time; advancing
//! the clock runs every job due on the way, in time order, exactly once, on any number of
//! workers.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use billing_center::auth::Role;
use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::{WorkerOptions, run_due};
use billing_center::services::jobs::{self, JobKind};

use crate::helpers::{TestApp, default_now};

fn worker(name: &str) -> WorkerOptions {
    WorkerOptions {
        id: name.to_owned(),
        ..WorkerOptions::new(60)
    }
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("rfc 3339")
        .with_timezone(&Utc)
}

async fn create_clock(app: &TestApp, frozen_time: &str) -> Uuid {
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

async fn account_on(app: &TestApp, clock: Uuid) -> Uuid {
    app.create_account(json!({
        "kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
        "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
        "test_clock_id": clock
    }))
    .await
}

/// A monthly Standard subscription bought through the cart by the contact, on the account's
/// time, paid by card.
async fn subscribe(app: &TestApp, account: Uuid, quantity: i32) -> Uuid {
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

async fn advance(app: &TestApp, clock: Uuid, to: &str) -> Value {
    let response = app
        .post(
            &format!("/v1/test-clocks/{clock}/advance"),
            &app.admin(),
            json!({"frozen_time": to}),
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.body["status"], "advancing");
    assert_eq!(response.body["advancing_to"], to);
    response.body
}

async fn clock_view(app: &TestApp, clock: Uuid) -> Value {
    let response = app
        .get(&format!("/v1/test-clocks/{clock}"), &app.admin())
        .await;
    response.assert_status(200);
    response.body
}

async fn invoices(app: &TestApp, account: Uuid) -> Vec<Value> {
    let list = app
        .get(
            &format!("/v1/accounts/{account}/invoices?limit=100"),
            &app.admin(),
        )
        .await;
    list.assert_status(200);
    let mut data = list.body["data"].as_array().unwrap().clone();
    data.reverse(); // oldest first
    data
}

#[actix_web::test]
async fn fourteen_months_in_one_advance_renew_fourteen_times_on_the_clocks_days() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-01-31T09:00:00Z").await;
    let account = account_on(&app, clock).await;
    let created = app
        .get(&format!("/v1/accounts/{account}"), &app.admin())
        .await;
    assert_eq!(created.body["test_clock_id"], json!(clock));
    assert_eq!(created.body["created_at"], "2027-01-31T09:00:00Z");
    // The checkout happens on the clock's day: the period is anchored on the 31st.
    let sub = subscribe(&app, account, 2).await;
    let bought = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{sub}"),
            &app.admin(),
        )
        .await;
    assert_eq!(bought.body["current_period_start"], "2027-01-31");
    assert_eq!(bought.body["current_period_end"], "2027-02-28");

    advance(&app, clock, "2028-03-31T12:00:00Z").await;
    // Real time does not move the clock's accounts: only the advance job runs their jobs.
    let engine = Engine::of(&app.state);
    run_due(&engine, &worker("w1")).await.unwrap();

    let moved = clock_view(&app, clock).await;
    assert_eq!(moved["status"], "ready");
    assert_eq!(moved["frozen_time"], "2028-03-31T12:00:00Z");
    assert_eq!(moved["advancing_to"], Value::Null);

    let list = invoices(&app, account).await;
    let renewals: Vec<&Value> = list.iter().skip(1).collect();
    let due: Vec<&str> = renewals
        .iter()
        .map(|i| i["due_on"].as_str().unwrap())
        .collect();
    assert_eq!(
        due,
        [
            "2027-02-28",
            "2027-03-31",
            "2027-04-30",
            "2027-05-31",
            "2027-06-30",
            "2027-07-31",
            "2027-08-31",
            "2027-09-30",
            "2027-10-31",
            "2027-11-30",
            "2027-12-31",
            "2028-01-31",
            "2028-02-29",
            "2028-03-31",
        ],
        "one renewal per period end, anchored on the 31st, through a leap February"
    );
    for invoice in &renewals {
        assert_eq!(invoice["status"], "paid");
        assert_eq!(invoice["total_due"], "58.00", "2 × 29.00, no proration");
    }
    // The checkout's charge and fourteen renewals: each charged once.
    assert_eq!(app.gateway.successful_charges(), 15);

    let now = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{sub}"),
            &app.admin(),
        )
        .await;
    assert_eq!(now.body["status"], "active");
    assert_eq!(now.body["current_period_start"], "2028-03-31");
    assert_eq!(now.body["current_period_end"], "2028-04-30");

    // Each renewal's event carries its own due time, not the time the clock jumped to.
    let events = app
        .get(
            &format!("/v1/accounts/{account}/events?limit=100"),
            &app.admin(),
        )
        .await;
    let mut renewed: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "subscription.renewed")
        .map(|e| e["created_at"].as_str().unwrap())
        .collect();
    renewed.sort_unstable();
    assert_eq!(renewed.len(), 14);
    assert_eq!(renewed[0], "2027-02-28T00:00:00Z");
    assert_eq!(renewed[12], "2028-02-29T00:00:00Z");

    // A request on the account now reads the clock's day: a change is prorated from it.
    app.add_item(
        account,
        &app.contact(account),
        json!({"type": "change", "subscription_id": sub, "quantity": 3}),
    )
    .await
    .assert_status(200);
    let summary = app.quote(account, &app.contact(account)).await;
    summary.assert_status(200);
    assert_eq!(summary.body["items"][0]["period_start"], "2028-03-31");
}

#[actix_web::test]
async fn the_clocks_accounts_answer_409_while_it_advances_and_its_time_after() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-05-10T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    let other = app.self_service_account().await;
    advance(&app, clock, "2027-05-20T00:00:00Z").await;

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

    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
    assert_eq!(clock_view(&app, clock).await["status"], "ready");
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
    assert_eq!(events.body["data"][0]["action"], "account.updated");
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
    assert_eq!(clock_view(&app, clock).await["status"], "ready");
    // Exactly two years is allowed.
    advance(&app, clock, "2029-03-15T10:30:00Z").await;
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
async fn real_time_workers_leave_a_clocks_accounts_alone() {
    let app = TestApp::spawn_with_test_clocks().await;
    // The clock stands at the real day; its subscription is due in a month of real time.
    let clock = create_clock(&app, "2026-12-03T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    subscribe(&app, account, 1).await;
    let real = app.self_service_account().await;
    subscribe(&app, real, 1).await;

    // Real time passes two months: the real account renews twice, the clock's not at all.
    let engine = Engine::of(&app.state);
    for day in ["2027-01-03T01:00:00Z", "2027-02-03T01:00:00Z"] {
        app.clock.set(instant(day));
        run_due(&engine, &worker("real")).await.unwrap();
    }
    assert_eq!(invoices(&app, real).await.len(), 3);
    assert_eq!(invoices(&app, account).await.len(), 1);
    assert_eq!(
        clock_view(&app, clock).await["frozen_time"],
        "2026-12-03T00:00:00Z"
    );
}

#[actix_web::test]
async fn two_workers_advance_a_clock_once_and_a_dead_workers_advance_is_taken_over() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-01-10T00:00:00Z").await;
    let mut accounts = Vec::new();
    for _ in 0..3 {
        let account = account_on(&app, clock).await;
        subscribe(&app, account, 1).await;
        accounts.push(account);
    }
    let charges_before = app.gateway.successful_charges();

    // A worker claims the advance and dies before it finishes.
    advance(&app, clock, "2027-04-10T00:00:00Z").await;
    let mut conn = app.state.pool.get().await.unwrap();
    let claimed = jobs::claim(
        &mut conn,
        "dead",
        default_now(),
        chrono::Duration::seconds(60),
        10,
    )
    .await
    .unwrap();
    assert!(claimed.iter().any(|j| j.kind == JobKind::AdvanceTestClock));
    drop(conn);

    // Within its lease nobody else touches it.
    let engine = Engine::of(&app.state);
    run_due(&engine, &worker("w1")).await.unwrap();
    assert_eq!(clock_view(&app, clock).await["status"], "advancing");

    // After the lease, two workers race for it: it is done once.
    app.advance_clock(Duration::seconds(61));
    let (w1, w2) = (worker("w1"), worker("w2"));
    let (a, b) = tokio::join!(run_due(&engine, &w1), run_due(&engine, &w2));
    a.unwrap();
    b.unwrap();
    assert_eq!(clock_view(&app, clock).await["status"], "ready");
    for account in &accounts {
        let list = invoices(&app, *account).await;
        let due: Vec<&str> = list.iter().map(|i| i["due_on"].as_str().unwrap()).collect();
        assert_eq!(
            due,
            ["2027-01-10", "2027-02-10", "2027-03-10", "2027-04-10"]
        );
    }
    assert_eq!(app.gateway.successful_charges() - charges_before, 9);
}

#[actix_web::test]
async fn a_trial_on_a_clock_warns_then_expires_on_its_days() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-06-01T08:00:00Z").await;
    let account = account_on(&app, clock).await;
    let trial = app
        .post(
            &format!("/v1/accounts/{account}/subscriptions"),
            &app.admin(),
            json!({"product": "gotoassist-rs-v4", "plan": "standard", "billing_frequency": "monthly",
                   "quantity": 1, "status": "trialing", "trial_ends_on": "2027-06-14"}),
        )
        .await;
    trial.assert_status(201);
    let sub = trial.body["id"].as_str().unwrap().to_owned();
    advance(&app, clock, "2027-07-01T00:00:00Z").await;
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
    let events = app
        .get(
            &format!("/v1/accounts/{account}/events?limit=100"),
            &app.admin(),
        )
        .await;
    let times = |action: &str| -> Vec<String> {
        events.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["created_at"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        times("subscription.trial_will_end"),
        ["2027-06-11T00:00:00Z"]
    );
    assert_eq!(
        times("subscription.trial_expired"),
        ["2027-06-15T00:00:00Z"]
    );
    let read = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{sub}"),
            &app.admin(),
        )
        .await;
    assert_eq!(read.body["status"], "trial_expired");
}

#[actix_web::test]
async fn deleting_a_clock_deletes_its_accounts_and_nothing_else() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = create_clock(&app, "2027-01-10T00:00:00Z").await;
    let account = account_on(&app, clock).await;
    subscribe(&app, account, 1).await;
    advance(&app, clock, "2027-03-01T00:00:00Z").await;
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
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
                    (SELECT count(*) FROM audit_events WHERE account_id = '{account}') AS events, \
                    (SELECT count(*) FROM jobs WHERE test_clock_id = '{clock}') AS jobs"
        ))
        .await;
    assert_eq!(left, [["0", "0", "0", "0"]]);
    assert_eq!(invoices(&app, kept).await.len(), 1);
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
        now: instant("2027-05-10T00:00:00Z"),
    };
    // … then the clock moved on before its transaction began.
    advance(&app, clock, "2027-06-01T00:00:00Z").await;
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
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
