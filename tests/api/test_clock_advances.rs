//! Advancing a test clock (SPEC §15): every job due on the way runs in time order, at its
//! own due time, exactly once, however many workers race for the advance; real-time workers
//! never touch a clock's accounts.

use chrono::Duration;
use serde_json::{Value, json};

use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::run_due;
use billing_center::services::jobs::{self, JobKind};

use crate::helpers::{TestApp, default_now};
use crate::over_time::worker;
use crate::test_clocks::{account_on, create_clock, instant, subscribe};

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

    app.start_advance(clock, "2028-03-31T12:00:00Z").await;
    // Real time does not move the clock's accounts: only the advance job runs their jobs.
    let engine = Engine::of(&app.state);
    run_due(&engine, &worker("w1")).await.unwrap();

    let moved = app.clock_view(clock).await;
    assert_eq!(moved["status"], "ready");
    assert_eq!(moved["frozen_time"], "2028-03-31T12:00:00Z");
    assert_eq!(moved["advancing_to"], Value::Null);

    let list = app.invoices(account).await;
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
        .filter(|e| e["type"] == "subscription.renewed")
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
    assert_eq!(app.invoices(real).await.len(), 3);
    assert_eq!(app.invoices(account).await.len(), 1);
    assert_eq!(
        app.clock_view(clock).await["frozen_time"],
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
    app.start_advance(clock, "2027-04-10T00:00:00Z").await;
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
    assert_eq!(app.clock_view(clock).await["status"], "advancing");

    // After the lease, two workers race for it: it is done once.
    app.advance_clock(Duration::seconds(61));
    let (w1, w2) = (worker("w1"), worker("w2"));
    let (a, b) = tokio::join!(run_due(&engine, &w1), run_due(&engine, &w2));
    a.unwrap();
    b.unwrap();
    assert_eq!(app.clock_view(clock).await["status"], "ready");
    for account in &accounts {
        let list = app.invoices(*account).await;
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
    app.start_advance(clock, "2027-07-01T00:00:00Z").await;
    app.run_jobs("w1").await;
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
            .filter(|e| e["type"] == action)
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
