//! Payments received against an open invoice (SPEC §9): exactly once per `Idempotency-Key`,
//! and once per reference on the account.

use futures_util::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::reconcile::assert_reconciled;

/// A corporate account (representative rep-1) with one open invoice on terms; returns the
/// account, the invoice id and its total due.
async fn open_invoice(app: &TestApp, representative: &str) -> (Uuid, String, String) {
    let account = app.corporate_account(representative).await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let invoice = order_more_licences(app, account, subscription, 55).await;
    (account, invoice.0, invoice.1)
}

/// The corporate contact orders `quantity` licences; returns the open invoice and its total.
async fn order_more_licences(
    app: &TestApp,
    account: Uuid,
    subscription: Uuid,
    quantity: i32,
) -> (String, String) {
    let contact = app.corporate_contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": quantity}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(
            account,
            &contact,
            Some(&Uuid::new_v4().to_string()),
            None,
            json!({}),
        )
        .await;
    order.assert_status(201);
    assert_eq!(order.body["settlement"], json!("invoice"));
    (
        order.body["invoice_id"]
            .as_str()
            .expect("invoice")
            .to_owned(),
        order.body["total_due"].as_str().expect("total").to_owned(),
    )
}

#[actix_web::test]
async fn a_payment_retried_with_its_key_is_recorded_once() {
    let app = TestApp::spawn().await;
    let (account, invoice, _) = open_invoice(&app, "rep-1").await;
    let rep = app.representative("rep-1");
    let body = json!({"amount": "100.00", "method": "bank_transfer", "reference": "BANK-7"});

    let first = app
        .record_payment(account, &invoice, &rep, Some("pay-1"), body.clone())
        .await;
    first.assert_status(201);
    assert_eq!(first.body["amount_paid"], json!("100.00"));
    assert_eq!(first.header("idempotent-replayed"), None);

    let again = app
        .record_payment(account, &invoice, &rep, Some("pay-1"), body)
        .await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the stored response is sent again");

    let read = app
        .get(&format!("/v1/accounts/{account}/invoices/{invoice}"), &rep)
        .await;
    assert_eq!(read.body["amount_paid"], json!("100.00"));
    assert_eq!(read.body["payments"].as_array().expect("payments").len(), 1);
    let events = app
        .get(&format!("/v1/accounts/{account}/events?limit=100"), &rep)
        .await;
    let recorded = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["type"] == json!("invoice.payment_recorded"))
        .count();
    assert_eq!(recorded, 1);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_completed_payment_key_replays_before_any_other_check() {
    let app = TestApp::spawn().await;
    let (account, invoice, total) = open_invoice(&app, "rep-1").await;
    let rep = app.representative("rep-1");
    let body = json!({"amount": total, "method": "cheque", "reference": "CHQ-1"});
    let paid = app
        .record_payment(account, &invoice, &rep, Some("settle"), body.clone())
        .await;
    paid.assert_status(201);
    assert_eq!(paid.body["status"], json!("paid"));
    // The invoice is paid and the reference is on file now, yet the retry gets its answer.
    let replayed = app
        .record_payment(account, &invoice, &rep, Some("settle"), body)
        .await;
    replayed.assert_status(201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, paid.body);
}

#[actix_web::test]
async fn a_payment_needs_an_idempotency_key() {
    let app = TestApp::spawn().await;
    let (account, invoice, _) = open_invoice(&app, "rep-1").await;
    let rep = app.representative("rep-1");
    let body = json!({"amount": "10.00", "method": "cheque"});
    app.record_payment(account, &invoice, &rep, None, body.clone())
        .await
        .assert_problem(400, "idempotency-key-required");
    app.record_payment(account, &invoice, &rep, Some("  "), body)
        .await
        .assert_problem(400, "idempotency-key-required");
    let read = app
        .get(&format!("/v1/accounts/{account}/invoices/{invoice}"), &rep)
        .await;
    assert_eq!(read.body["amount_paid"], json!("0.00"));
}

#[actix_web::test]
async fn a_payment_key_used_for_another_payment_is_refused() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let (invoice, _) = order_more_licences(&app, account, subscription, 55).await;
    let (other_invoice, _) = order_more_licences(&app, account, subscription, 60).await;
    let rep = app.representative("rep-1");
    let body = json!({"amount": "10.00", "method": "cheque"});
    app.record_payment(account, &invoice, &rep, Some("k"), body.clone())
        .await
        .assert_status(201);
    // Another amount, or the same body for another invoice: a different request.
    app.record_payment(
        account,
        &invoice,
        &rep,
        Some("k"),
        json!({"amount": "11.00", "method": "cheque"}),
    )
    .await
    .assert_problem(422, "idempotency-key-reused");
    app.record_payment(account, &other_invoice, &rep, Some("k"), body)
        .await
        .assert_problem(422, "idempotency-key-reused");
    let other = app
        .get(
            &format!("/v1/accounts/{account}/invoices/{other_invoice}"),
            &rep,
        )
        .await;
    assert_eq!(other.body["amount_paid"], json!("0.00"));
}

#[actix_web::test]
async fn a_refused_payment_leaves_its_key_free() {
    let app = TestApp::spawn().await;
    let (account, invoice, _) = open_invoice(&app, "rep-1").await;
    let body = json!({"amount": "25.00", "method": "bank_transfer", "reference": "BANK-9"});
    // The corporate contact may not record payments: 403, and nothing is kept for the key.
    app.record_payment(
        account,
        &invoice,
        &app.corporate_contact(account),
        Some("k-1"),
        body.clone(),
    )
    .await
    .assert_problem(403, "forbidden");
    let recorded = app
        .record_payment(
            account,
            &invoice,
            &app.representative("rep-1"),
            Some("k-1"),
            body,
        )
        .await;
    recorded.assert_status(201);
    assert_eq!(recorded.header("idempotent-replayed"), None);
    assert_eq!(recorded.body["amount_paid"], json!("25.00"));
}

#[actix_web::test]
async fn a_payment_reference_is_recorded_once_per_account() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let (invoice, _) = order_more_licences(&app, account, subscription, 55).await;
    let (other_invoice, _) = order_more_licences(&app, account, subscription, 60).await;
    let rep = app.representative("rep-1");
    app.record_payment(
        account,
        &invoice,
        &rep,
        Some("a"),
        json!({"amount": "100.00", "method": "bank_transfer", "reference": "BANK-42"}),
    )
    .await
    .assert_status(201);
    // The same transfer entered again under a new key, in another case, with spaces, or
    // against another invoice of the account.
    for (key, target, reference) in [
        ("b", &invoice, "BANK-42"),
        ("c", &invoice, "  bank-42 "),
        ("d", &other_invoice, "Bank-42"),
    ] {
        app.record_payment(
            account,
            target,
            &rep,
            Some(key),
            json!({"amount": "100.00", "method": "bank_transfer", "reference": reference}),
        )
        .await
        .assert_problem(409, "duplicate-payment");
    }
    // The refused key is not kept: it works for a new reference.
    app.record_payment(
        account,
        &invoice,
        &rep,
        Some("b"),
        json!({"amount": "100.00", "method": "bank_transfer", "reference": "BANK-43"}),
    )
    .await
    .assert_status(201);
    let read = app
        .get(&format!("/v1/accounts/{account}/invoices/{invoice}"), &rep)
        .await;
    assert_eq!(read.body["amount_paid"], json!("200.00"));

    // Another account may have a payment with the same reference.
    let (other_account, other_account_invoice, _) = open_invoice(&app, "rep-2").await;
    app.record_payment(
        other_account,
        &other_account_invoice,
        &app.representative("rep-2"),
        Some("a"),
        json!({"amount": "100.00", "method": "bank_transfer", "reference": "BANK-42"}),
    )
    .await
    .assert_status(201);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn concurrent_payments_with_one_key_record_one_payment() {
    let app = TestApp::spawn().await;
    let (account, invoice, _) = open_invoice(&app, "rep-1").await;
    let rep = app.representative("rep-1");
    let body = json!({"amount": "40.00", "method": "bank_transfer"});
    let responses = join_all(
        (0..4).map(|_| app.record_payment(account, &invoice, &rep, Some("same"), body.clone())),
    )
    .await;
    for response in &responses {
        response.assert_status(201);
        assert_eq!(response.body, responses[0].body);
    }
    let replayed = responses
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 3);
    let read = app
        .get(&format!("/v1/accounts/{account}/invoices/{invoice}"), &rep)
        .await;
    assert_eq!(read.body["amount_paid"], json!("40.00"));
    assert_eq!(read.body["payments"].as_array().expect("payments").len(), 1);
}
