//! Cancellation and dunning (SPEC §13), mostly on test clocks: a subscription canceled at its
//! period end ends there without a charge; one canceled at once is credited its unused time;
//! a renewal that cannot be collected is retried on its days, recovered by a new card or
//! `pay`, or ends the subscription — charging each attempt at most once, however the jobs
//! race. Every test ends with the reconciliation queries.

use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use actix_web::http::Method;
use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::{WorkerOptions, run_due};
use billing_center::services::jobs::{self, JobKind, run, sweep};

use billing_center::clock::Clock;

use crate::helpers::{TestApp, date};
use crate::reconcile::assert_reconciled;

fn worker(name: &str) -> WorkerOptions {
    WorkerOptions {
        id: name.to_owned(),
        ..WorkerOptions::new(60)
    }
}

fn at(day: &str, hour: u32) -> chrono::DateTime<chrono::Utc> {
    date(day).and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

async fn clock_at(app: &TestApp, frozen_time: &str) -> Uuid {
    let created = app
        .post(
            "/v1/test-clocks",
            &app.admin(),
            json!({"name": "lifecycle", "frozen_time": frozen_time}),
        )
        .await;
    created.assert_status(201);
    created.body["id"].as_str().unwrap().parse().unwrap()
}

/// A self-service account on `clock` with `card`, and a monthly Standard × 5 subscription
/// imported with its period starting on `start` (145.00 a month).
async fn subscribed(app: &TestApp, clock: Uuid, card: &str, start: &str) -> (Uuid, Uuid) {
    let account = app
        .create_account(json!({
            "kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Ada", "email": "ada@acme.example"},
            "test_clock_id": clock
        }))
        .await;
    app.attach_card(account, card).await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, start)
        .await;
    (account, sub)
}

/// Two users with a licence each.
async fn assign_two(app: &TestApp, account: Uuid, sub: Uuid) {
    for name in ["Grace", "Linus"] {
        let user = app
            .post(
                &format!("/v1/accounts/{account}/users"),
                &app.admin(),
                json!({"name": name, "email": format!("{}@acme.example", name.to_lowercase())}),
            )
            .await;
        user.assert_status(201);
        let user = user.body["id"].as_str().unwrap().to_owned();
        app.put(
            &format!("/v1/accounts/{account}/subscriptions/{sub}/assignments/{user}"),
            &app.admin(),
            json!(null),
        )
        .await
        .assert_status(201);
    }
}

async fn advance(app: &TestApp, clock: Uuid, to: &str) {
    app.post(
        &format!("/v1/test-clocks/{clock}/advance"),
        &app.admin(),
        json!({"frozen_time": to}),
    )
    .await
    .assert_status(200);
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
    let clock = app
        .get(&format!("/v1/test-clocks/{clock}"), &app.admin())
        .await;
    assert_eq!(clock.body["status"], "ready", "{}", clock.body);
}

async fn subscription(app: &TestApp, account: Uuid, sub: Uuid) -> Value {
    let response = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{sub}"),
            &app.admin(),
        )
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
    data.reverse();
    data
}

async fn event_times(app: &TestApp, account: Uuid, action: &str) -> Vec<String> {
    let list = app
        .get(
            &format!("/v1/accounts/{account}/events?limit=100"),
            &app.admin(),
        )
        .await;
    let mut times: Vec<String> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["created_at"].as_str().unwrap().to_owned())
        .collect();
    times.sort();
    times
}

fn actions(subscription: &Value) -> Vec<&str> {
    subscription["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_cancellation_at_period_end_ends_the_subscription_there_without_a_charge() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-03-10T09:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_visa", "2027-03-01").await;
    assign_two(&app, account, sub).await;
    let contact = app.contact(account);
    let path = format!("/v1/accounts/{account}/subscriptions/{sub}");

    let pending = app
        .post(
            &format!("{path}/cancel"),
            &contact,
            json!({"at_period_end": true, "reason": "Too expensive"}),
        )
        .await;
    pending.assert_status(200);
    assert_eq!(pending.body["status"], "active");
    assert_eq!(pending.body["cancel_at_period_end"], true);
    assert_eq!(pending.body["cancel_at"], "2027-04-01");
    assert_eq!(actions(&pending.body), ["reactivate", "assign_licenses"]);
    // Twice is the same.
    let again = app
        .post(
            &format!("{path}/cancel"),
            &contact,
            json!({"at_period_end": true}),
        )
        .await;
    again.assert_status(200);
    assert_eq!(again.body["cancel_at"], "2027-04-01");
    assert_eq!(again.body["version"], pending.body["version"]);
    // A change never silently clears it.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": sub, "quantity": 7}),
    )
    .await
    .assert_problem(409, "cancellation-pending");

    advance(&app, clock, "2027-04-15T00:00:00Z").await;
    let ended = subscription(&app, account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], "2027-04-01");
    assert_eq!(ended["cancellation_reason"], "requested");
    assert_eq!(ended["cancellation_comment"], "Too expensive");
    assert_eq!(ended["licenses_assigned"], 0);
    assert!(actions(&ended).is_empty());
    assert!(invoices(&app, account).await.is_empty(), "nothing charged");
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_eq!(
        event_times(&app, account, "subscription.canceled").await,
        ["2027-04-01T00:00:00Z"]
    );
    assert_eq!(
        event_times(&app, account, "subscription.cancellation_scheduled").await,
        ["2027-03-10T09:00:00Z"]
    );
    let assignments = app
        .sql_rows(&format!(
            "SELECT count(*) FROM license_assignments WHERE subscription_id = '{sub}'"
        ))
        .await;
    assert_eq!(assignments, [["0"]]);

    app.post(&format!("{path}/reactivate"), &contact, json!(null))
        .await
        .assert_problem(409, "subscription-ended");
    app.post(
        &format!("{path}/cancel"),
        &contact,
        json!({"at_period_end": true}),
    )
    .await
    .assert_problem(409, "subscription-ended");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn reactivating_before_the_end_keeps_the_subscription_renewing() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-03-10T09:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_visa", "2027-03-01").await;
    let path = format!("/v1/accounts/{account}/subscriptions/{sub}");
    let contact = app.contact(account);
    app.post(
        &format!("{path}/cancel"),
        &contact,
        json!({"at_period_end": true}),
    )
    .await
    .assert_status(200);
    let back = app
        .post(&format!("{path}/reactivate"), &contact, json!(null))
        .await;
    back.assert_status(200);
    assert_eq!(back.body["cancel_at_period_end"], false);
    assert_eq!(back.body["cancel_at"], Value::Null);
    assert_eq!(actions(&back.body), ["edit", "assign_licenses"]);
    assert_eq!(
        event_times(&app, account, "subscription.reactivated").await,
        ["2027-03-10T09:00:00Z"]
    );

    advance(&app, clock, "2027-04-02T00:00:00Z").await;
    let renewed = subscription(&app, account, sub).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], "2027-04-01");
    let list = invoices(&app, account).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "paid");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn canceling_at_once_needs_assistance_and_credits_the_unused_time() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-03-10T09:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_visa", "2027-03-01").await;
    assign_two(&app, account, sub).await;
    let path = format!("/v1/accounts/{account}/subscriptions/{sub}/cancel");

    app.post(
        &path,
        &app.contact(account),
        json!({"at_period_end": false, "reason": "Leaving"}),
    )
    .await
    .assert_problem(403, "cancel-requires-assistance");
    let missing = app
        .post(&path, &app.support(), json!({"at_period_end": false}))
        .await;
    missing.assert_problem(422, "validation-failed");
    assert_eq!(missing.body["errors"][0]["field"], "reason");

    let ended = app
        .post(
            &path,
            &app.support(),
            json!({"at_period_end": false, "reason": "Company closed"}),
        )
        .await;
    ended.assert_status(200);
    assert_eq!(ended.body["status"], "canceled");
    assert_eq!(ended.body["ended_at"], "2027-03-10");
    assert_eq!(ended.body["cancellation_reason"], "requested");
    assert_eq!(ended.body["cancellation_comment"], "Company closed");
    assert_eq!(ended.body["licenses_assigned"], 0);

    // By hand: 145.00 paid for [03-01, 04-01), 31 days; [03-10, 04-01) unused, 22 days:
    // 145.00 × 22 / 31 = 102.9032… → 102.90 to the credit balance, nothing paid out.
    let account_view = app
        .get(&format!("/v1/accounts/{account}"), &app.admin())
        .await;
    assert_eq!(account_view.body["credit_balance"], "102.90");
    let orders = app
        .get(&format!("/v1/accounts/{account}/orders"), &app.admin())
        .await;
    let order = &orders.body["data"][0];
    assert_eq!(order["items"][0]["type"], "cancel", "{order}");
    assert_eq!(order["subtotal"], "-102.90");
    assert_eq!(order["credit_created"], "102.90");
    assert_eq!(order["total_due"], "0.00");
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_eq!(
        event_times(&app, account, "subscription.canceled").await,
        ["2027-03-10T09:00:00Z"]
    );
    // Once ended, it stays ended.
    app.post(
        &path,
        &app.support(),
        json!({"at_period_end": false, "reason": "again"}),
    )
    .await
    .assert_problem(409, "subscription-ended");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_renewal_job_claimed_before_a_cancellation_at_period_end_charges_nothing() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    let engine = Engine::of(&app.state);

    // A worker has claimed the renewal due at 00:00 of the period end…
    app.clock.set(at("2026-12-17", 1));
    let mut conn = app.state.pool.get().await.unwrap();
    sweep::sweep(&mut conn, app.clock.now()).await.unwrap();
    let claimed = jobs::claim(&mut conn, "w1", app.clock.now(), Duration::seconds(60), 10)
        .await
        .unwrap();
    let renewal = claimed
        .iter()
        .find(|j| j.kind == JobKind::RenewSubscription)
        .expect("the renewal is claimed")
        .clone();
    // …when the contact cancels at that same period end.
    app.post(
        &format!("/v1/accounts/{account}/subscriptions/{sub}/cancel"),
        &app.contact(account),
        json!({"at_period_end": true}),
    )
    .await
    .assert_status(200);
    run::run(&engine, &mut conn, &renewal, "w1").await.unwrap();

    let ended = subscription(&app, account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], "2026-12-17");
    assert!(invoices(&app, account).await.is_empty());
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn soft_declines_are_retried_on_their_days_then_the_subscription_ends() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFail", "2027-01-01").await;
    assign_two(&app, account, sub).await;

    advance(&app, clock, "2027-02-01T12:00:00Z").await;
    let due = subscription(&app, account, sub).await;
    assert_eq!(due["status"], "past_due");
    assert_eq!(
        actions(&due),
        ["pay", "update_payment_method", "assign_licenses"]
    );
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["attempt_count"], 1);
    assert_eq!(invoice["next_payment_attempt"], "2027-02-02T00:00:00Z");
    assert_eq!(invoice["last_payment_error"]["code"], "card_declined");
    // The contact pays first; assisting roles may still change it.
    app.add_item(
        account,
        &app.contact(account),
        json!({"type": "change", "subscription_id": sub, "quantity": 6}),
    )
    .await
    .assert_problem(409, "subscription-past-due");

    advance(&app, clock, "2027-02-20T00:00:00Z").await;
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["status"], "uncollectible");
    assert_eq!(invoice["attempt_count"], 5, "the renewal and four retries");
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    let ended = subscription(&app, account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["cancellation_reason"], "payment_failed");
    assert_eq!(ended["ended_at"], "2027-02-08");
    assert_eq!(ended["licenses_assigned"], 0);
    assert_eq!(
        event_times(&app, account, "invoice.payment_failed").await,
        [
            "2027-02-01T00:00:00Z",
            "2027-02-02T00:00:00Z",
            "2027-02-04T00:00:00Z",
            "2027-02-06T00:00:00Z",
            "2027-02-08T00:00:00Z"
        ]
    );
    assert_eq!(
        event_times(&app, account, "subscription.past_due").await,
        ["2027-02-01T00:00:00Z"]
    );
    assert_eq!(
        event_times(&app, account, "invoice.uncollectible").await,
        ["2027-02-08T00:00:00Z"]
    );
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_hard_decline_waits_for_a_new_card_and_ends_on_the_last_day() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFailHard", "2027-01-01").await;

    advance(&app, clock, "2027-02-07T00:00:00Z").await;
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["attempt_count"], 1, "a hard decline is not retried");
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    assert_eq!(invoice["last_payment_error"]["code"], "stolen_card");
    assert_eq!(subscription(&app, account, sub).await["status"], "past_due");

    advance(&app, clock, "2027-02-09T00:00:00Z").await;
    let ended = subscription(&app, account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["cancellation_reason"], "payment_failed");
    assert_eq!(ended["ended_at"], "2027-02-08");
    assert_eq!(invoices(&app, account).await[0]["status"], "uncollectible");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_new_card_recovers_a_failed_renewal_at_once() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFail", "2027-01-01").await;
    advance(&app, clock, "2027-02-01T10:00:00Z").await;
    assert_eq!(subscription(&app, account, sub).await["status"], "past_due");

    // The contact attaches a working card: the PUT answers at once, the retry is a job.
    app.put(
        &format!("/v1/accounts/{account}/payment-method"),
        &app.contact(account),
        json!({"token": "tok_visa"}),
    )
    .await
    .assert_status(200);
    assert_eq!(invoices(&app, account).await[0]["status"], "open");
    advance(&app, clock, "2027-02-01T10:05:00Z").await;

    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["attempt_count"], 2);
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    let recovered = subscription(&app, account, sub).await;
    assert_eq!(recovered["status"], "active");
    assert_eq!(actions(&recovered), ["edit", "assign_licenses"]);
    // The scheduled retry day passes without a second charge.
    advance(&app, clock, "2027-02-10T00:00:00Z").await;
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn pay_charges_now_declines_with_the_reason_and_replays_its_key() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    app.import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_chargeCustomerFail").await;
    app.clock.set(at("2026-12-17", 1));
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
    let invoice = invoices(&app, account).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pay = format!("/v1/accounts/{account}/invoices/{invoice}/pay");
    let contact = app.contact(account);
    let send = |key: Option<&'static str>| {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        let (app, pay, contact) = (&app, pay.clone(), contact.clone());
        async move {
            app.send_with(Method::POST, &pay, Some(&contact), &headers, None)
                .await
        }
    };

    send(None)
        .await
        .assert_problem(400, "idempotency-key-required");
    let declined = send(Some("pay-1")).await;
    declined.assert_problem(402, "card-declined");
    assert_eq!(declined.body["decline_code"], "card_declined");
    // Another account's contact does not reach it.
    let other = app.self_service_account().await;
    app.send_with(
        Method::POST,
        &pay,
        Some(&app.contact(other)),
        &[("Idempotency-Key", "pay-x")],
        None,
    )
    .await
    .assert_problem(404, "not-found");

    // A working card, and the contact pays before the card's retry job has run.
    app.sql(&format!(
        "UPDATE accounts SET payment_method_ref = 'card_test_visa_recovered' WHERE id = '{account}'"
    ))
    .await;
    let paid = send(Some("pay-2")).await;
    paid.assert_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(paid.body["attempt_count"], 3);
    let replayed = send(Some("pay-2")).await;
    replayed.assert_status(200);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, paid.body);
    send(Some("pay-3"))
        .await
        .assert_problem(409, "invoice-not-open");
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}

/// A declined renewal of a subscription whose card now works (set behind the API's back,
/// so no new-card job is queued): the scheduled retry is the only job.
async fn declined_then_fixed(app: &TestApp) -> (Uuid, Uuid) {
    let account = app.self_service_account().await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_chargeCustomerFail").await;
    app.clock.set(at("2026-12-17", 1));
    run_due(&Engine::of(&app.state), &worker("w1"))
        .await
        .unwrap();
    assert_eq!(subscription(app, account, sub).await["status"], "past_due");
    app.sql(&format!(
        "UPDATE accounts SET payment_method_ref = 'card_test_visa_fixed' WHERE id = '{account}'"
    ))
    .await;
    (account, sub)
}

#[actix_web::test]
async fn a_scheduled_retry_racing_a_new_cards_retry_charges_once() {
    let app = TestApp::spawn().await;
    let (account, sub) = declined_then_fixed(&app).await;
    // The new card's retry is queued as the day of the scheduled one begins.
    app.clock.set(at("2026-12-18", 1));
    app.attach_card(account, "tok_visa").await;
    let engine = Engine::of(&app.state);
    let mut c1 = app.state.pool.get().await.unwrap();
    let mut c2 = app.state.pool.get().await.unwrap();
    sweep::sweep(&mut c1, app.clock.now()).await.unwrap();
    // Only the two retries are left to claim (housekeeping is out of this race).
    app.sql("DELETE FROM jobs WHERE kind IN ('purge_idempotency_keys', 'recover_pending_orders')")
        .await;
    let lease = Duration::seconds(60);
    let mut first = jobs::claim(&mut c1, "w1", app.clock.now(), lease, 1)
        .await
        .unwrap();
    let mut second = jobs::claim(&mut c2, "w2", app.clock.now(), lease, 1)
        .await
        .unwrap();
    let (a, b) = (first.remove(0), second.remove(0));
    assert!(a.kind == JobKind::RetryPayment && b.kind == JobKind::RetryPayment);
    assert_ne!(
        a.dedupe_key, b.dedupe_key,
        "the scheduled retry and the card's"
    );
    let (ra, rb) = tokio::join!(
        run::run(&engine, &mut c1, &a, "w1"),
        run::run(&engine, &mut c2, &b, "w2")
    );
    ra.unwrap();
    rb.unwrap();
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_eq!(invoices(&app, account).await[0]["status"], "paid");
    assert_eq!(subscription(&app, account, sub).await["status"], "active");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_retry_run_twice_after_its_lease_passed_charges_once() {
    let app = TestApp::spawn().await;
    let (account, _) = declined_then_fixed(&app).await;
    app.clock.set(at("2026-12-18", 1));
    let engine = Engine::of(&app.state);
    let mut conn = app.state.pool.get().await.unwrap();
    sweep::sweep(&mut conn, app.clock.now()).await.unwrap();
    let stalled = jobs::claim(
        &mut conn,
        "stalled",
        app.clock.now(),
        Duration::seconds(60),
        10,
    )
    .await
    .unwrap();
    let retry = stalled
        .into_iter()
        .find(|j| j.kind == JobKind::RetryPayment)
        .expect("the scheduled retry");

    // Its worker stalls past the lease; another takes the job over and collects.
    app.advance_clock(Duration::seconds(61));
    run_due(&engine, &worker("w2")).await.unwrap();
    assert_eq!(invoices(&app, account).await[0]["status"], "paid");
    // The stalled worker wakes up and runs its copy: nothing more is charged.
    run::run(&engine, &mut conn, &retry, "stalled")
        .await
        .unwrap();
    assert_eq!(app.gateway.successful_charges(), 1);
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["attempt_count"], 2);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_corporate_renewal_overdue_makes_it_past_due_until_paid_and_never_ends_it() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = clock_at(&app, "2027-01-10T00:00:00Z").await;
    let account = app
        .create_account(json!({
            "kind": "corporate", "name": "Globex", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Hank", "email": "hank@globex.example"},
            "representative_id": "rep-1", "test_clock_id": clock
        }))
        .await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, "2027-01-01")
        .await;
    advance(&app, clock, "2027-02-01T08:00:00Z").await;
    let invoice = invoices(&app, account).await[0].clone();
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["due_on"], "2027-03-03", "30 days of terms");
    assert_eq!(subscription(&app, account, sub).await["status"], "active");

    advance(&app, clock, "2027-03-04T08:00:00Z").await;
    let overdue = subscription(&app, account, sub).await;
    assert_eq!(overdue["status"], "past_due");
    // Paid on terms, by transfer: no card to pay with or replace.
    assert_eq!(actions(&overdue), ["assign_licenses"]);
    assert_eq!(
        event_times(&app, account, "subscription.past_due").await,
        ["2027-03-04T00:00:00Z"]
    );
    // Never ended automatically, however long it stays unpaid.
    advance(&app, clock, "2027-04-20T08:00:00Z").await;
    assert_eq!(subscription(&app, account, sub).await["status"], "past_due");

    // Paying every overdue invoice makes it active again.
    for invoice in invoices(&app, account).await {
        if invoice["status"] == "open" && invoice["due_on"].as_str().unwrap() < "2027-04-20" {
            app.record_payment(
                account,
                invoice["id"].as_str().unwrap(),
                &app.representative("rep-1"),
                Some(&format!("pay-{}", invoice["number"].as_str().unwrap())),
                json!({"amount": invoice["total_due"], "method": "bank_transfer"}),
            )
            .await
            .assert_status(201);
        }
    }
    assert_eq!(subscription(&app, account, sub).await["status"], "active");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_gateway_timeout_is_a_soft_decline_retried_with_the_same_payment_key() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    let engine = Engine::of(&app.state);
    app.gateway.fail_next_charges(1);
    app.clock.set(at("2026-12-17", 1));
    run_due(&engine, &worker("w1")).await.unwrap();
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["last_payment_error"]["code"], "gateway_timeout");
    assert_eq!(
        invoice["attempt_count"], 0,
        "the unanswered attempt is made again"
    );
    assert_eq!(invoice["next_payment_attempt"], "2026-12-18T00:00:00Z");
    assert_eq!(subscription(&app, account, sub).await["status"], "past_due");

    app.clock.set(at("2026-12-18", 1));
    run_due(&engine, &worker("w1")).await.unwrap();
    let invoice = &invoices(&app, account).await[0];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["attempt_count"], 1);
    assert_eq!(subscription(&app, account, sub).await["status"], "active");
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}
