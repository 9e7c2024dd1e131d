//! Cancellation (SPEC §13), on test clocks: a subscription canceled at its period end ends
//! there without a charge, even when its renewal job was already claimed; one canceled at
//! once is credited its unused time; reactivation before the end keeps it renewing. Every
//! test ends with the reconciliation queries.

use chrono::Duration;
use serde_json::{Value, json};

use billing_center::clock::Clock;
use billing_center::services::engine::Engine;
use billing_center::services::jobs::{self, JobKind, run, sweep};

use crate::helpers::TestApp;
use crate::over_time::{actions, assign_two, at, event_times, subscribed};
use crate::reconcile::assert_reconciled;

#[actix_web::test]
async fn a_cancellation_at_period_end_ends_the_subscription_there_without_a_charge() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = app.test_clock("2027-03-10T09:00:00Z").await;
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

    app.advance_through(clock, "2027-04-15T00:00:00Z").await;
    let ended = app.subscription(account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], "2027-04-01");
    assert_eq!(ended["cancellation_reason"], "requested");
    assert_eq!(ended["cancellation_comment"], "Too expensive");
    assert_eq!(ended["licenses_assigned"], 0);
    assert!(actions(&ended).is_empty());
    assert!(app.invoices(account).await.is_empty(), "nothing charged");
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
    let clock = app.test_clock("2027-03-10T09:00:00Z").await;
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

    app.advance_through(clock, "2027-04-02T00:00:00Z").await;
    let renewed = app.subscription(account, sub).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], "2027-04-01");
    let list = app.invoices(account).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "paid");
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn canceling_at_once_needs_assistance_and_credits_the_unused_time() {
    let app = TestApp::spawn_with_test_clocks().await;
    let clock = app.test_clock("2027-03-10T09:00:00Z").await;
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

    let ended = app.subscription(account, sub).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], "2026-12-17");
    assert!(app.invoices(account).await.is_empty());
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_reconciled(&app).await;
}
