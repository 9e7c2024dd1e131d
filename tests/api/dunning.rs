//! Dunning (SPEC §13), mostly on test clocks: a renewal that cannot be collected is retried
//! on its days, recovered by a new card or `pay`, or ends the subscription — charging each
//! attempt at most once, however the jobs race. Every test ends with the reconciliation
//! queries.

use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use actix_web::http::Method;
use billing_center::clock::Clock;
use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::run_due;
use billing_center::services::jobs::{self, JobKind, run, sweep};

use crate::helpers::TestApp;
use crate::over_time::{actions, assign_two, at, event_times, subscribed, worker};
use crate::reconcile::assert_reconciled;

#[actix_web::test]
async fn soft_declines_are_retried_on_their_days_then_the_subscription_ends() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = app.test_clock("2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFail", "2027-01-01").await;
    assign_two(&app, account, sub).await;

    app.advance_through(clock, "2027-02-01T12:00:00Z").await;
    let due = app.subscription(account, sub).await;
    assert_eq!(due["status"], "past_due");
    assert_eq!(
        actions(&due),
        ["pay", "update_payment_method", "assign_licenses"]
    );
    let invoice = &app.invoices(account).await[0];
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

    app.advance_through(clock, "2027-02-20T00:00:00Z").await;
    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["status"], "uncollectible");
    assert_eq!(invoice["attempt_count"], 5, "the renewal and four retries");
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    let ended = app.subscription(account, sub).await;
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
    let clock = app.test_clock("2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFailHard", "2027-01-01").await;

    app.advance_through(clock, "2027-02-07T00:00:00Z").await;
    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["attempt_count"], 1, "a hard decline is not retried");
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    assert_eq!(invoice["last_payment_error"]["code"], "stolen_card");
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");

    app.advance_through(clock, "2027-02-09T00:00:00Z").await;
    let ended = app.subscription(account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["cancellation_reason"], "payment_failed");
    assert_eq!(ended["ended_at"], "2027-02-08");
    assert_eq!(app.invoices(account).await[0]["status"], "uncollectible");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_new_card_recovers_a_failed_renewal_at_once() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = app.test_clock("2027-01-10T00:00:00Z").await;
    let (account, sub) = subscribed(&app, clock, "tok_chargeCustomerFail", "2027-01-01").await;
    app.advance_through(clock, "2027-02-01T10:00:00Z").await;
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");

    // The contact attaches a working card: the PUT answers at once, the retry is a job.
    app.put(
        &format!("/v1/accounts/{account}/payment-method"),
        &app.contact(account),
        json!({"token": "tok_visa"}),
    )
    .await
    .assert_status(200);
    assert_eq!(app.invoices(account).await[0]["status"], "open");
    app.advance_through(clock, "2027-02-01T10:05:00Z").await;

    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["attempt_count"], 2);
    assert_eq!(invoice["next_payment_attempt"], Value::Null);
    let recovered = app.subscription(account, sub).await;
    assert_eq!(recovered["status"], "active");
    assert_eq!(actions(&recovered), ["edit", "assign_licenses"]);
    // The scheduled retry day passes without a second charge.
    app.advance_through(clock, "2027-02-10T00:00:00Z").await;
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
    app.run_jobs("w1").await;
    let invoice = app.invoices(account).await[0]["id"]
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
    app.run_jobs("w1").await;
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");
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
    assert_eq!(app.invoices(account).await[0]["status"], "paid");
    assert_eq!(app.subscription(account, sub).await["status"], "active");
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
    assert_eq!(app.invoices(account).await[0]["status"], "paid");
    // The stalled worker wakes up and runs its copy: nothing more is charged.
    run::run(&engine, &mut conn, &retry, "stalled")
        .await
        .unwrap();
    assert_eq!(app.gateway.successful_charges(), 1);
    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["attempt_count"], 2);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_corporate_renewal_overdue_makes_it_past_due_until_paid_and_never_ends_it() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = app.test_clock("2027-01-10T00:00:00Z").await;
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
    app.advance_through(clock, "2027-02-01T08:00:00Z").await;
    let invoice = app.invoices(account).await[0].clone();
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["due_on"], "2027-03-03", "30 days of terms");
    assert_eq!(app.subscription(account, sub).await["status"], "active");

    app.advance_through(clock, "2027-03-04T08:00:00Z").await;
    let overdue = app.subscription(account, sub).await;
    assert_eq!(overdue["status"], "past_due");
    // Paid on terms, by transfer: no card to pay with or replace.
    assert_eq!(actions(&overdue), ["assign_licenses"]);
    assert_eq!(
        event_times(&app, account, "subscription.past_due").await,
        ["2027-03-04T00:00:00Z"]
    );
    // Never ended automatically, however long it stays unpaid.
    app.advance_through(clock, "2027-04-20T08:00:00Z").await;
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");

    // Paying every overdue invoice makes it active again.
    for invoice in app.invoices(account).await {
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
    assert_eq!(app.subscription(account, sub).await["status"], "active");
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
    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["last_payment_error"]["code"], "gateway_timeout");
    assert_eq!(
        invoice["attempt_count"], 0,
        "the unanswered attempt is made again"
    );
    assert_eq!(invoice["next_payment_attempt"], "2026-12-18T00:00:00Z");
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");

    app.clock.set(at("2026-12-18", 1));
    run_due(&engine, &worker("w1")).await.unwrap();
    let invoice = &app.invoices(account).await[0];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["attempt_count"], 1);
    assert_eq!(app.subscription(account, sub).await["status"], "active");
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}
