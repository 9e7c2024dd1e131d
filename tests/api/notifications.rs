//! Email notifications (SPEC §16) through the outbox, sent over SMTP to a server these tests
//! start on 127.0.0.1: each mail's content, one mail per cause however often a request or a
//! job is retried, transient and permanent refusals, a server down then up, two mailers.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use billing_center::clock::{Clock, FixedClock, SystemClock};
use billing_center::config::MailSettings;
use billing_center::services::notifications::mailer::{Mailer, MailerOptions};
use chrono::{Duration, SubsecRound, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::over_time::at;
use crate::smtp_sink::{Mode, SmtpSink, parse};

const REPRESENTATIVE_EMAIL: &str = "jane.doe@vendor.example";

fn mailer_on(
    app: &TestApp,
    smtp_url: Option<String>,
    clock: Arc<dyn Clock>,
    batch: usize,
) -> Mailer {
    Mailer::new(
        app.state.pool.clone(),
        MailSettings {
            smtp_url,
            from: "Billing <billing@vendor.example>".into(),
            portal_url: "https://portal.example".into(),
        },
        clock,
        MailerOptions {
            batch,
            lease_seconds: 60,
            idle_wait: StdDuration::from_millis(10),
        },
    )
    .unwrap()
}

pub fn mailer(app: &TestApp, sink: &SmtpSink) -> Mailer {
    mailer_on(app, Some(sink.url()), Arc::new(SystemClock), 8)
}

/// The account's outbox as admin, oldest first.
async fn outbox(app: &TestApp, account: Uuid) -> Vec<Value> {
    let list = app
        .get(
            &format!("/v1/accounts/{account}/notifications?limit=100"),
            &app.admin(),
        )
        .await;
    list.assert_status(200);
    let mut data = list.body["data"].as_array().unwrap().clone();
    data.reverse();
    data
}

/// A self-service account with a card whose contact subscribes to Standard × 5 monthly:
/// the account and the order.
async fn card_order(app: &TestApp, key: &str) -> (Uuid, Value) {
    let account = app.self_service_account().await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
               "quantity": 5, "billing_frequency": "monthly"}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(account, &contact, Some(key), None, json!({}))
        .await;
    order.assert_status(201);
    (account, order.body)
}

async fn corporate_with_representative_email(app: &TestApp) -> Uuid {
    app.create_account(json!({
        "kind": "corporate", "name": "Globex", "country": "US", "currency": "USD",
        "billing_contact": {"name": "Hank", "email": "hank@globex.example"},
        "representative_id": "rep-1", "representative_email": REPRESENTATIVE_EMAIL
    }))
    .await
}

#[actix_web::test]
async fn an_order_confirmation_is_one_mail_with_the_orders_lines_and_totals() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let (account, order) = card_order(&app, "order-1").await;
    // The same request again is answered from its key: no second mail.
    let contact = app.contact(account);
    let replay = app
        .checkout(account, &contact, Some("order-1"), None, json!({}))
        .await;
    replay.assert_status(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    let queued = outbox(&app, account).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["template"], "order_confirmation");
    assert_eq!(queued[0]["status"], "pending");

    let worker = mailer(&app, &sink);
    assert_eq!(worker.send_due().await.unwrap(), 1);
    assert_eq!(worker.send_due().await.unwrap(), 0, "sent once");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["ada@acme.example"]);
    assert_eq!(received[0].mail_from, "billing@vendor.example");
    let mail = parse(&received[0]);
    let number = order["number"].as_str().unwrap();
    assert_eq!(mail.header("Subject"), format!("Order {number} confirmed"));
    assert_eq!(mail.header("To"), "ada@acme.example");
    assert_eq!(
        mail.header("Cc"),
        "",
        "no representative on a self-service account"
    );
    assert!(mail.text.starts_with("Hello Ada,\n"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!(
            "thank you for your order {number} of 2026-11-27 for Acme."
        )),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains(&format!(
            "Total: {} USD",
            order["total_due"].as_str().unwrap()
        )),
        "{}",
        mail.text
    );
    let line = &order["items"][0]["lines"][0];
    assert!(
        mail.text.contains(&format!(
            "- {}: {} USD",
            line["description"].as_str().unwrap(),
            line["amount"].as_str().unwrap()
        )),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Paid by card."), "{}", mail.text);
    assert!(
        mail.html.contains(&format!("<strong>{number}</strong>")),
        "{}",
        mail.html
    );

    let sent = outbox(&app, account).await;
    assert_eq!(sent[0]["status"], "sent");
    assert_eq!(sent[0]["attempts"], 1);
    assert_eq!(sent[0]["to"], "ada@acme.example");
    assert_eq!(sent[0]["subject"], format!("Order {number} confirmed"));
    assert!(sent[0]["sent_at"].is_string());
    // The Message-ID is the outbox row's: a resend is recognisably the same mail.
    let id = sent[0]["id"].as_str().unwrap().replace('-', "");
    assert_eq!(mail.header("Message-ID"), format!("<{id}@vendor.example>"));
}

#[actix_web::test]
async fn a_corporate_order_on_terms_is_one_mail_with_its_invoice_and_the_representative_in_copy() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let account = corporate_with_representative_email(&app).await;
    let sub = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let contact = app.corporate_contact(account);
    app.post(
        &format!("/v1/accounts/{account}/purchase-orders"),
        &contact,
        json!({"number": "PO-77", "amount_limit": "20000.00", "expires_on": "2026-12-31"}),
    )
    .await
    .assert_status(201);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": sub, "quantity": 60}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(
            account,
            &contact,
            Some("po-order"),
            None,
            json!({"po_number": "PO-77"}),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], "invoice");
    let invoice = app
        .get(
            &format!(
                "/v1/accounts/{account}/invoices/{}",
                order.body["invoice_id"].as_str().unwrap()
            ),
            &contact,
        )
        .await;
    invoice.assert_status(200);

    mailer(&app, &sink).send_due().await.unwrap();
    let received = sink.received();
    assert_eq!(
        received.len(),
        1,
        "one mail, not an order mail and an invoice mail"
    );
    assert_eq!(
        received[0].rcpt_to,
        ["hank@globex.example", REPRESENTATIVE_EMAIL]
    );
    let mail = parse(&received[0]);
    assert_eq!(mail.header("Cc"), REPRESENTATIVE_EMAIL);
    let number = invoice.body["number"].as_str().unwrap();
    let due_on = invoice.body["due_on"].as_str().unwrap();
    assert_eq!(
        mail.header("Subject"),
        format!(
            "Order {} confirmed: invoice {number} due {due_on}",
            order.body["number"].as_str().unwrap()
        )
    );
    assert!(
        mail.text.contains(&format!(
            "Invoice {number} of 2026-11-27 is due on {due_on}."
        )),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Purchase order: PO-77"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!(
            "Total: {} USD",
            order.body["total_due"].as_str().unwrap()
        )),
        "{}",
        mail.text
    );
    let listed = outbox(&app, account).await;
    assert_eq!(listed[0]["cc"], json!([REPRESENTATIVE_EMAIL]));
    // The representative reads the outbox of its account.
    app.get(
        &format!("/v1/accounts/{account}/notifications"),
        &app.representative("rep-1"),
    )
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn without_an_smtp_server_mails_are_rendered_and_kept_as_skipped() {
    let app = TestApp::spawn().await;
    let (account, order) = card_order(&app, "order-skip").await;
    let worker = mailer_on(&app, None, Arc::new(SystemClock), 8);
    assert_eq!(worker.send_due().await.unwrap(), 1);
    assert_eq!(worker.send_due().await.unwrap(), 0);
    let kept = outbox(&app, account).await;
    assert_eq!(kept[0]["status"], "skipped");
    assert_eq!(kept[0]["to"], "ada@acme.example");
    assert_eq!(
        kept[0]["subject"],
        format!("Order {} confirmed", order["number"].as_str().unwrap())
    );
    assert_eq!(kept[0]["sent_at"], Value::Null);
}

#[actix_web::test]
async fn an_smtp_server_down_then_refusing_for_now_then_up_gets_the_mail_once() {
    let app = TestApp::spawn().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (account, _) = card_order(&app, "order-down").await;
    let clock = FixedClock::new(Utc::now());
    let worker = mailer_on(
        &app,
        Some(format!("smtp://127.0.0.1:{port}")),
        Arc::new(clock.clone()),
        8,
    );

    // Nothing listens: tried again after a minute.
    assert_eq!(worker.send_due().await.unwrap(), 1);
    let waiting = outbox(&app, account).await;
    assert_eq!(waiting[0]["status"], "pending");
    assert_eq!(waiting[0]["attempts"], 1);
    assert!(waiting[0]["last_error"].is_string());
    let next: chrono::DateTime<Utc> = waiting[0]["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(next, (clock.now() + Duration::seconds(60)).trunc_subsecs(6));
    assert_eq!(worker.send_due().await.unwrap(), 0, "not before its time");

    // The server comes up, but asks to try later (451): five minutes more.
    let sink = SmtpSink::start_on(port).await;
    sink.set_mode(Mode::TryLater);
    clock.set(clock.now() + Duration::seconds(61));
    assert_eq!(worker.send_due().await.unwrap(), 1);
    let later = outbox(&app, account).await;
    assert_eq!(later[0]["status"], "pending");
    assert_eq!(later[0]["attempts"], 2);
    assert!(
        later[0]["last_error"].as_str().unwrap().contains("451"),
        "{}",
        later[0]
    );

    sink.set_mode(Mode::Accept);
    clock.set(clock.now() + Duration::minutes(5) + Duration::seconds(1));
    assert_eq!(worker.send_due().await.unwrap(), 1);
    clock.set(clock.now() + Duration::hours(7));
    assert_eq!(worker.send_due().await.unwrap(), 0);
    assert_eq!(sink.received().len(), 1);
    let sent = outbox(&app, account).await;
    assert_eq!(sent[0]["status"], "sent");
    assert_eq!(sent[0]["attempts"], 3);
}

#[actix_web::test]
async fn a_permanent_refusal_fails_the_mail_at_once_with_its_error() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Refuse);
    let (account, _) = card_order(&app, "order-refused").await;
    let clock = FixedClock::new(Utc::now());
    let worker = mailer_on(&app, Some(sink.url()), Arc::new(clock.clone()), 8);
    assert_eq!(worker.send_due().await.unwrap(), 1);
    clock.set(clock.now() + Duration::days(1));
    assert_eq!(worker.send_due().await.unwrap(), 0, "never retried");
    let failed = outbox(&app, account).await;
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["attempts"], 1);
    assert_eq!(failed[0]["next_attempt_at"], Value::Null);
    assert!(
        failed[0]["last_error"].as_str().unwrap().contains("550"),
        "{}",
        failed[0]
    );
    assert!(sink.received().is_empty());
}

#[actix_web::test]
async fn a_trial_warning_job_run_twice_queues_one_mail() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let account = app.self_service_account().await;
    app.post(
        &format!("/v1/accounts/{account}/subscriptions"),
        &app.admin(),
        json!({"product": "gotoassist-rs-v4", "plan": "standard", "quantity": 3,
               "status": "trialing", "trial_ends_on": "2026-12-10"}),
    )
    .await
    .assert_status(201);
    app.clock.set(at("2026-12-07", 0) + Duration::minutes(1));
    app.run_jobs("w1").await;
    // The job runs again, as if its worker had died before recording its end.
    app.sql(
        "UPDATE jobs SET status = 'due', finished_at = NULL, locked_until = NULL, \
         locked_by = NULL WHERE kind = 'trial_will_end'",
    )
    .await;
    app.run_jobs("w2").await;
    assert_eq!(
        app.events(account, "subscription.trial_will_end")
            .await
            .len(),
        2,
        "the job ran twice"
    );
    let queued = outbox(&app, account).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["template"], "trial_ending");
    assert_eq!(queued[0]["created_at"], "2026-12-07T00:00:00Z");

    mailer(&app, &sink).send_due().await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let mail = parse(&received[0]);
    assert_eq!(
        mail.header("Subject"),
        "Your GoToAssist Remote Support v4 Standard trial ends on 2026-12-10"
    );
    assert!(
        mail.text.contains("(3 licences) ends on 2026-12-10."),
        "{}",
        mail.text
    );
}

#[actix_web::test]
async fn renewals_send_a_receipt_and_a_failed_payment_only_on_its_first_failure() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let paid = app.self_service_account().await;
    app.import_active(paid, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(paid, "tok_visa").await;
    let declined = app.self_service_account().await;
    app.import_active(declined, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(declined, "tok_chargeDeclined").await;

    app.clock.set(at("2026-12-17", 1));
    app.run_jobs("w1").await;
    // The first retry fails too: still one mail about it.
    app.clock.set(at("2026-12-18", 1));
    app.run_jobs("w1").await;
    assert_eq!(
        app.events(declined, "invoice.payment_failed").await.len(),
        2
    );
    let paid_outbox = outbox(&app, paid).await;
    let declined_outbox = outbox(&app, declined).await;
    assert_eq!(paid_outbox.len(), 1, "{paid_outbox:?}");
    assert_eq!(paid_outbox[0]["template"], "renewal_receipt");
    assert_eq!(declined_outbox.len(), 1, "{declined_outbox:?}");
    assert_eq!(declined_outbox[0]["template"], "payment_failed");

    mailer(&app, &sink).send_due().await.unwrap();
    let mails: Vec<_> = sink.received().iter().map(parse).collect();
    assert_eq!(mails.len(), 2);
    let paid_invoice = &app.invoices(paid).await[0];
    let declined_invoice = &app.invoices(declined).await[0];
    let receipt = mails
        .iter()
        .find(|m| m.header("Subject").starts_with("Receipt"))
        .unwrap();
    assert_eq!(
        receipt.header("Subject"),
        format!(
            "Receipt for invoice {}: 145.00 USD paid",
            paid_invoice["number"].as_str().unwrap()
        )
    );
    assert!(
        receipt
            .text
            .contains("we charged your card 145.00 USD on 2026-12-17."),
        "{}",
        receipt.text
    );
    let failed = mails
        .iter()
        .find(|m| m.header("Subject").starts_with("Payment"))
        .unwrap();
    assert_eq!(
        failed.header("Subject"),
        format!(
            "Payment of invoice {} failed",
            declined_invoice["number"].as_str().unwrap()
        )
    );
    // The mail shows the first failure's next try: the day after the renewal.
    assert!(
        failed.text.contains("We will try again on 2026-12-18."),
        "{}",
        failed.text
    );
    assert!(
        failed.text.contains("https://portal.example/accounts/"),
        "{}",
        failed.text
    );
}

#[actix_web::test]
async fn a_corporate_renewal_mails_its_invoice_with_the_due_date_to_the_contact_and_the_representative()
 {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let account = corporate_with_representative_email(&app).await;
    app.import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    app.clock.set(at("2027-06-01", 3));
    app.run_jobs("w1").await;
    let queued = outbox(&app, account).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["template"], "renewal_invoice");

    mailer(&app, &sink).send_due().await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].rcpt_to,
        ["hank@globex.example", REPRESENTATIVE_EMAIL]
    );
    let mail = parse(&received[0]);
    let invoice = &app.invoices(account).await[0];
    assert_eq!(
        mail.header("Subject"),
        format!(
            "Invoice {}: {} USD due 2027-07-01",
            invoice["number"].as_str().unwrap(),
            invoice["total_due"].as_str().unwrap()
        )
    );
    assert!(mail.text.contains("Total due:"), "{}", mail.text);
    assert!(mail.text.contains("on 2027-07-01."), "{}", mail.text);
}

#[actix_web::test]
async fn a_cancellation_mails_when_it_is_scheduled_and_when_the_subscription_ends() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let account = app.self_service_account().await;
    let sub = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    let path = format!("/v1/accounts/{account}/subscriptions/{sub}/cancel");
    app.post(
        &path,
        &contact,
        json!({"at_period_end": true, "reason": "Too expensive"}),
    )
    .await
    .assert_status(200);
    // Asking twice changes nothing, and mails nothing more.
    app.post(&path, &contact, json!({"at_period_end": true}))
        .await
        .assert_status(200);
    app.clock.set(at("2026-12-17", 1));
    app.run_jobs("w1").await;
    let templates: Vec<Value> = outbox(&app, account)
        .await
        .iter()
        .map(|n| n["template"].clone())
        .collect();
    assert_eq!(
        templates,
        [
            json!("cancellation_scheduled"),
            json!("subscription_canceled")
        ]
    );

    mailer(&app, &sink).send_due().await.unwrap();
    let mails: Vec<_> = sink.received().iter().map(parse).collect();
    assert_eq!(mails.len(), 2);
    let scheduled = mails
        .iter()
        .find(|m| m.header("Subject").contains("ends on"))
        .unwrap();
    assert_eq!(
        scheduled.header("Subject"),
        "Your GoToAssist Remote Support v4 Standard subscription ends on 2026-12-17"
    );
    assert!(
        scheduled.text.contains("Your reason: Too expensive"),
        "{}",
        scheduled.text
    );
    let ended = mails
        .iter()
        .find(|m| m.header("Subject").contains("has ended"))
        .unwrap();
    assert!(
        ended.text.contains("ended on 2026-12-17."),
        "{}",
        ended.text
    );
    assert!(
        ended
            .text
            .contains("Reason: canceled as requested (Too expensive)."),
        "{}",
        ended.text
    );
}

#[actix_web::test]
async fn two_mailers_at_once_send_every_mail_once() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    let mut accounts = Vec::new();
    for i in 0..6 {
        accounts.push(card_order(&app, &format!("order-{i}")).await.0);
    }
    let one = mailer_on(&app, Some(sink.url()), Arc::new(SystemClock), 1);
    let two = mailer_on(&app, Some(sink.url()), Arc::new(SystemClock), 1);
    let (a, b) = tokio::join!(one.send_due(), two.send_due());
    assert_eq!(a.unwrap() + b.unwrap(), 6);
    assert_eq!(sink.received().len(), 6);
    for account in accounts {
        assert_eq!(outbox(&app, account).await[0]["status"], "sent");
    }
}

#[actix_web::test]
async fn the_representatives_address_needs_a_representative_and_goes_with_it() {
    let app = TestApp::spawn().await;
    let refused = app
        .post(
            "/v1/accounts",
            &app.admin(),
            json!({"kind": "corporate", "name": "Initech", "country": "US", "currency": "USD",
                   "billing_contact": {"name": "Bill", "email": "bill@initech.example"},
                   "representative_email": REPRESENTATIVE_EMAIL}),
        )
        .await;
    refused.assert_problem(422, "validation-failed");
    assert_eq!(refused.body["errors"][0]["field"], "representative_email");

    let account = corporate_with_representative_email(&app).await;
    let path = format!("/v1/accounts/{account}");
    assert_eq!(
        app.get(&path, &app.admin()).await.body["representative_email"],
        REPRESENTATIVE_EMAIL
    );
    // Only an admin changes it.
    app.patch(
        &path,
        &app.representative("rep-1"),
        json!({"representative_email": "other@vendor.example"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let cleared = app
        .patch(&path, &app.admin(), json!({"representative_id": null}))
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.body["representative_email"], Value::Null);
    // A contact reads its mails in its inbox, not in the outbox.
    app.get(
        &format!("{path}/notifications"),
        &app.corporate_contact(account),
    )
    .await
    .assert_problem(403, "forbidden");
}
