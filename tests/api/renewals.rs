//! Time (SPEC §13, §17): renewals at period end through the order engine, trial ends, and
//! background jobs that act once however many workers run them.

use chrono::{Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use billing_center::db::schema::jobs as job_rows;
use billing_center::services::engine::Engine;
use billing_center::services::jobs::worker::run_due;
use billing_center::services::jobs::{self, JobStatus};

use crate::helpers::TestApp;
use crate::over_time::{at, worker};

/// A self-service account with a monthly Standard subscription from `start` and a card.
async fn card_subscription(app: &TestApp, quantity: i32, start: &str, card: &str) -> (Uuid, Uuid) {
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", quantity, start)
        .await;
    app.attach_card(account, card).await;
    (account, subscription)
}

#[actix_web::test]
async fn a_card_subscription_renews_at_its_period_end_once() {
    let app = TestApp::spawn().await;
    let (account, sub) = card_subscription(&app, 5, "2026-11-17", "tok_visa").await;
    let engine = Engine::of(&app.state);

    // Before the period end no renewal is due (housekeeping may run).
    app.clock.set(at("2026-12-16", 23));
    run_due(&engine, &worker("w1")).await.unwrap();
    assert!(app.invoices(account).await.is_empty());

    app.clock.set(at("2026-12-17", 0) + Duration::minutes(5));
    run_due(&engine, &worker("w1")).await.unwrap();
    let renewed = app.subscription(account, sub).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], "2026-12-17");
    assert_eq!(renewed["current_period_end"], "2027-01-17");
    assert_eq!(
        renewed["period_amount"], "145.00",
        "5 × 29.00, no proration"
    );
    let list = app.invoices(account).await;
    assert_eq!(list.len(), 1);
    let invoice = &list[0];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["total_due"], "145.00");
    assert_eq!(invoice["due_on"], "2026-12-17");
    assert_eq!(app.gateway.successful_charges(), 1);
    // The event carries the renewal's own due time.
    let events = app.events(account, "subscription.renewed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["created_at"], "2026-12-17T00:00:00Z");

    // Running again, later the same day, changes nothing.
    app.clock.set(at("2026-12-17", 18));
    run_due(&engine, &worker("w2")).await.unwrap();
    assert_eq!(app.invoices(account).await.len(), 1);
    assert_eq!(app.gateway.successful_charges(), 1);
}

#[actix_web::test]
async fn thirteen_monthly_renewals_stay_on_the_31st_through_a_leap_february() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2027-02-10", 12));
    let (account, sub) = card_subscription(&app, 2, "2027-01-31", "tok_visa").await;
    let engine = Engine::of(&app.state);

    // A year and more in one step: every period renews in turn, each at its own date.
    app.clock.set(at("2028-03-01", 12));
    run_due(&engine, &worker("w1")).await.unwrap();
    let list = app.invoices(account).await;
    let issued: Vec<&str> = list.iter().map(|i| i["due_on"].as_str().unwrap()).collect();
    assert_eq!(
        issued,
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
        ]
    );
    assert!(
        list.iter()
            .all(|i| i["status"] == "paid" && i["total_due"] == "58.00")
    );
    let now = app.subscription(account, sub).await;
    assert_eq!(now["current_period_start"], "2028-02-29");
    assert_eq!(now["current_period_end"], "2028-03-31");
    assert_eq!(app.gateway.successful_charges(), 13);
}

#[actix_web::test]
async fn the_credit_balance_is_applied_before_the_card_is_charged() {
    let app = TestApp::spawn().await;
    let (account, _) = card_subscription(&app, 5, "2026-11-17", "tok_visa").await;
    app.sql(&format!(
        "UPDATE accounts SET credit_balance = 100.00 WHERE id = '{account}'"
    ))
    .await;
    app.clock.set(at("2026-12-17", 1));
    app.run_jobs("w1").await;
    let list = app.invoices(account).await;
    assert_eq!(list[0]["subtotal"], "145.00");
    assert_eq!(list[0]["credit_applied"], "100.00");
    assert_eq!(list[0]["total_due"], "45.00");
    assert_eq!(list[0]["status"], "paid");
    let account_now = app
        .get(&format!("/v1/accounts/{account}"), &app.admin())
        .await;
    assert_eq!(account_now.body["credit_balance"], "0.00");
}

#[actix_web::test]
async fn a_declined_renewal_rolls_the_period_leaves_the_invoice_open_and_the_subscription_past_due()
{
    let app = TestApp::spawn().await;
    let (account, sub) = card_subscription(&app, 5, "2026-11-17", "tok_chargeDeclined").await;
    app.clock.set(at("2026-12-17", 1));
    app.run_jobs("w1").await;
    let now = app.subscription(account, sub).await;
    assert_eq!(now["status"], "past_due");
    assert_eq!(now["current_period_end"], "2027-01-17", "service continues");
    let actions: Vec<&str> = now["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, ["pay", "update_payment_method", "assign_licenses"]);
    let list = app.invoices(account).await;
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["due_on"], "2026-12-17");
    assert_eq!(list[0]["collected_by_card"], true);
    assert_eq!(list[0]["attempt_count"], 1);
    assert_eq!(list[0]["last_payment_error"]["code"], "generic_decline");
    assert_eq!(app.gateway.successful_charges(), 0);
    assert_eq!(app.events(account, "invoice.payment_failed").await.len(), 1);

    // A contact may not change it until the invoice is paid.
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": sub, "quantity": 6}),
    )
    .await
    .assert_problem(409, "subscription-past-due");
}

#[actix_web::test]
async fn a_corporate_renewal_opens_an_invoice_on_terms() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let sub = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    app.clock.set(at("2027-06-01", 3));
    app.run_jobs("w1").await;
    let list = app.invoices(account).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "open");
    assert_eq!(
        list[0]["due_on"], "2027-07-01",
        "net 30 from the renewal date"
    );
    let now = app.subscription(account, sub).await;
    assert_eq!(now["status"], "active");
    assert_eq!(now["current_period_start"], "2027-06-01");
    assert_eq!(now["current_period_end"], "2028-06-01");
    assert_eq!(app.gateway.successful_charges(), 0);
}

#[actix_web::test]
async fn two_workers_renew_every_due_subscription_once_and_charge_every_card_once() {
    let app = TestApp::spawn().await;
    const SUBSCRIPTIONS: usize = 200;
    // Accounts and subscriptions in bulk, as a migration from a legacy system would.
    app.sql(&format!(
        "INSERT INTO accounts (id, kind, name, country, currency, billing_contact_name, billing_contact_email, \
                               payment_method_ref, card_brand, card_last4, card_exp_month, card_exp_year, created_at) \
         SELECT md5('acct' || n)::uuid, 'self_service', 'Bulk ' || n, 'US', 'USD', 'C', 'c' || n || '@bulk.example', \
                'card_test_visa_bulk', 'visa', '4242', 12, 2030, now() \
         FROM generate_series(1, {SUBSCRIPTIONS}) AS n; \
         INSERT INTO subscriptions (id, account_id, product_id, plan_id, billing_frequency, quantity, status, \
                                    current_period_start, current_period_end, period_amount, currency, billing_anchor_day) \
         SELECT md5('sub' || n)::uuid, md5('acct' || n)::uuid, '00000000-0000-4000-8000-000000000001', \
                '00000000-0000-4000-8001-000000000001', 'monthly', 10, 'active', \
                '2026-11-17', '2026-12-17', 290.00, 'USD', 17 \
         FROM generate_series(1, {SUBSCRIPTIONS}) AS n;"
    ))
    .await;
    app.clock.set(at("2026-12-17", 0) + Duration::minutes(1));
    let engine = Engine::of(&app.state);
    let (wa, wb) = (worker("a"), worker("b"));
    let (a, b) = tokio::join!(run_due(&engine, &wa), run_due(&engine, &wb));
    let ran = a.unwrap() + b.unwrap();
    assert!(ran >= SUBSCRIPTIONS, "{ran}");
    let counts = app
        .sql_rows(
            "SELECT count(*)::text, count(DISTINCT o.renews_subscription_id)::text \
             FROM invoices i JOIN orders o ON o.id = i.order_id \
             WHERE o.renews_subscription_id IS NOT NULL AND i.status = 'paid'",
        )
        .await;
    assert_eq!(
        counts,
        vec![vec![SUBSCRIPTIONS.to_string(), SUBSCRIPTIONS.to_string()]]
    );
    assert_eq!(app.gateway.successful_charges(), SUBSCRIPTIONS);
    let renewed = app
        .sql_rows(
            "SELECT count(*)::text FROM subscriptions WHERE current_period_end = '2027-01-17'",
        )
        .await;
    assert_eq!(renewed, vec![vec![SUBSCRIPTIONS.to_string()]]);
}

#[actix_web::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease_and_acts_once() {
    let app = TestApp::spawn().await;
    let (account, _) = card_subscription(&app, 5, "2026-11-17", "tok_visa").await;
    let engine = Engine::of(&app.state);
    let now = at("2026-12-17", 1);
    app.clock.set(now);
    let mut conn = app.state.pool.get().await.unwrap();
    jobs::sweep::sweep(&mut conn, now).await.unwrap();
    // The first worker claims the renewal, then dies without running it.
    let dead = worker("dead");
    let claimed = jobs::claim(&mut conn, &dead.id, now, dead.lease, 10)
        .await
        .unwrap();
    let renewal = claimed
        .iter()
        .find(|j| j.kind.as_str() == "renew_subscription")
        .unwrap()
        .clone();
    // Within the lease no one else takes it.
    assert_eq!(run_due(&engine, &worker("alive")).await.unwrap(), 0);
    assert!(app.invoices(account).await.is_empty());
    // After the lease, another worker does, once.
    app.clock.set(now + Duration::seconds(61));
    run_due(&engine, &worker("alive")).await.unwrap();
    assert_eq!(app.invoices(account).await.len(), 1);
    assert_eq!(app.gateway.successful_charges(), 1);
    // The dead worker's late word changes nothing.
    assert!(
        !jobs::succeed(&mut conn, &renewal, &dead.id, now)
            .await
            .unwrap()
    );
    let status: JobStatus = job_rows::table
        .find(renewal.id)
        .select(job_rows::status)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(status, JobStatus::Succeeded);
}

#[actix_web::test]
async fn the_sweep_from_three_workers_at_once_schedules_each_job_once() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let account = app.self_service_account().await;
        app.import_active(account, "standard", "monthly", 1, "2026-11-17")
            .await;
    }
    let now = at("2026-12-17", 1);
    let (mut c1, mut c2, mut c3) = (
        app.state.pool.get().await.unwrap(),
        app.state.pool.get().await.unwrap(),
        app.state.pool.get().await.unwrap(),
    );
    let (a, b, c) = tokio::join!(
        jobs::sweep::sweep(&mut c1, now),
        jobs::sweep::sweep(&mut c2, now),
        jobs::sweep::sweep(&mut c3, now)
    );
    // Five renewals, the day's purge and this minute's recovery.
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 7);
    let rows = app
        .sql_rows("SELECT kind, count(*)::text FROM jobs GROUP BY kind ORDER BY kind")
        .await;
    assert_eq!(
        rows,
        vec![
            vec!["purge_idempotency_keys".to_owned(), "1".to_owned()],
            vec!["recover_pending_orders".to_owned(), "1".to_owned()],
            vec!["renew_subscription".to_owned(), "5".to_owned()],
        ]
    );
}

#[actix_web::test]
async fn a_trial_warns_three_days_before_its_end_and_expires_the_day_after() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let response = app
        .post(
            &format!("/v1/accounts/{account}/subscriptions"),
            &app.admin(),
            json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 3,
                   "status": "trialing", "trial_ends_on": "2026-12-10"}),
        )
        .await;
    response.assert_status(201);
    let sub: Uuid = response.body["id"].as_str().unwrap().parse().unwrap();
    let engine = Engine::of(&app.state);

    app.clock.set(at("2026-12-06", 23));
    run_due(&engine, &worker("w1")).await.unwrap();
    assert!(
        app.events(account, "subscription.trial_will_end")
            .await
            .is_empty()
    );
    app.clock.set(at("2026-12-07", 0) + Duration::minutes(1));
    run_due(&engine, &worker("w1")).await.unwrap();
    run_due(&engine, &worker("w2")).await.unwrap();
    let warned = app.events(account, "subscription.trial_will_end").await;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["created_at"], "2026-12-07T00:00:00Z");

    // Its last day is still a trial; the next day the status is stored as expired.
    app.clock.set(at("2026-12-10", 23));
    run_due(&engine, &worker("w1")).await.unwrap();
    assert_eq!(app.subscription(account, sub).await["status"], "trialing");
    app.clock.set(at("2026-12-11", 2));
    run_due(&engine, &worker("w1")).await.unwrap();
    let stored = app
        .sql_rows(&format!(
            "SELECT status FROM subscriptions WHERE id = '{sub}'"
        ))
        .await;
    assert_eq!(stored, vec![vec!["trial_expired".to_owned()]]);
    assert_eq!(
        app.subscription(account, sub).await["status"],
        "trial_expired"
    );
    let expired = app.events(account, "subscription.trial_expired").await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["created_at"], "2026-12-11T00:00:00Z");
}

#[actix_web::test]
async fn completed_idempotency_keys_are_purged_after_a_day() {
    let app = TestApp::spawn().await;
    let (account, sub) = card_subscription(&app, 5, "2026-11-17", "tok_visa").await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": sub, "quantity": 6}),
    )
    .await
    .assert_status(200);
    app.checkout(account, &contact, Some("kept-a-day"), None, json!({}))
        .await
        .assert_status(201);
    let keys = || async {
        app.sql_rows("SELECT key FROM idempotency_keys WHERE key = 'kept-a-day'")
            .await
            .len()
    };
    let engine = Engine::of(&app.state);
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap());
    run_due(&engine, &worker("w1")).await.unwrap();
    assert_eq!(keys().await, 1, "kept at least 24 hours");
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 0).unwrap());
    run_due(&engine, &worker("w1")).await.unwrap();
    assert_eq!(keys().await, 0);
}

#[actix_web::test]
async fn a_job_that_keeps_failing_is_parked_with_its_error_for_admins_and_metrics() {
    let app = TestApp::spawn().await;
    let now = at("2026-12-01", 0);
    app.clock.set(now);
    // A trial warning for a subscription that does not exist: it can never succeed.
    app.sql(
        "INSERT INTO jobs (id, kind, dedupe_key, subject_id, due_at, run_at, created_at) \
         VALUES ('00000000-0000-4000-8000-00000000abcd', 'trial_will_end', 'broken', \
                 gen_random_uuid(), '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', now())",
    )
    .await;
    let engine = Engine::of(&app.state);
    let mut clock = now;
    for _ in 0..jobs::MAX_ATTEMPTS {
        run_due(&engine, &worker("w1")).await.unwrap();
        clock += Duration::hours(2);
        app.clock.set(clock);
    }
    let failed = app.get("/v1/jobs?status=failed", &app.admin()).await;
    failed.assert_status(200);
    let data = failed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{}", failed.body);
    assert_eq!(data[0]["id"], "00000000-0000-4000-8000-00000000abcd");
    assert_eq!(data[0]["attempts"], jobs::MAX_ATTEMPTS);
    assert!(
        data[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("not-found"),
        "{}",
        data[0]
    );
    // Not retried any more.
    app.clock.set(clock + Duration::days(1));
    run_due(&engine, &worker("w1")).await.unwrap();
    let still = app.get("/v1/jobs?status=failed", &app.admin()).await;
    assert_eq!(still.body["data"][0]["attempts"], jobs::MAX_ATTEMPTS);
    for token in [app.support(), app.representative("rep-1")] {
        app.get("/v1/jobs", &token)
            .await
            .assert_problem(403, "forbidden");
    }
    app.get("/v1/jobs?status=sleeping", &app.admin())
        .await
        .assert_problem(422, "validation-failed");

    let mut conn = app.state.pool.get().await.unwrap();
    let stats = jobs::stats(&mut conn, clock).await.unwrap();
    assert_eq!(stats.failed, 1);
    app.state.metrics.set_jobs(&stats);
    let metrics = app
        .send(actix_web::http::Method::GET, "/metrics", None, None)
        .await;
    let text = String::from_utf8_lossy(&metrics.raw);
    assert!(text.contains("\nbilling_jobs_failed 1\n"), "{text}");
}

#[actix_web::test]
async fn a_past_due_subscription_renews_again_and_stays_past_due_while_an_invoice_is_open() {
    let app = TestApp::spawn().await;
    let (account, sub) = card_subscription(&app, 5, "2026-11-17", "tok_chargeDeclined").await;
    let engine = Engine::of(&app.state);
    app.clock.set(at("2026-12-17", 1));
    run_due(&engine, &worker("w1")).await.unwrap();
    assert_eq!(app.subscription(account, sub).await["status"], "past_due");

    // An admin moves the period on (a change needs no payment from a past-due contact when
    // assisted): the next renewal, on a card that declines softly, opens a second invoice
    // while the first is still open — still past due, each invoice on its own calendar.
    app.sql(&format!(
        "UPDATE subscriptions SET current_period_start = '2026-12-18', current_period_end = '2026-12-19', \
         billing_anchor_day = 19 WHERE id = '{sub}'"
    ))
    .await;
    app.clock.set(at("2026-12-19", 1));
    run_due(&engine, &worker("w1")).await.unwrap();
    let list = app.invoices(account).await;
    let statuses: Vec<&str> = list.iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "open"]);
    let now = app.subscription(account, sub).await;
    assert_eq!(now["status"], "past_due");
    assert_eq!(now["current_period_end"], "2027-01-19");
    assert_eq!(app.gateway.successful_charges(), 0);
}

#[actix_web::test]
async fn the_failing_customer_cards_attach_then_decline_every_renewal_softly_or_hard() {
    for (token, code) in [
        ("tok_chargeCustomerFail", "card_declined"),
        ("tok_chargeCustomerFailHard", "stolen_card"),
    ] {
        let app = TestApp::spawn().await;
        let (account, sub) = card_subscription(&app, 5, "2026-11-17", token).await;
        app.clock.set(at("2026-12-17", 1));
        app.run_jobs("w1").await;
        let list = app.invoices(account).await;
        assert_eq!(list[0]["status"], "open", "{token}");
        assert_eq!(list[0]["last_payment_error"]["code"], code, "{token}");
        // A soft decline is retried a day after the first failure; a hard one waits for a
        // new card.
        let next = if code == "card_declined" {
            json!("2026-12-18T00:00:00Z")
        } else {
            Value::Null
        };
        assert_eq!(list[0]["next_payment_attempt"], next, "{token}");
        assert_eq!(app.subscription(account, sub).await["status"], "past_due");
    }
}
