//! Accepting a representative's quote obeys the money rules of checkout: the quote binds its
//! unit prices, but the change takes effect on the day of acceptance, so proration, tax and
//! the requirements are those of that day (SPEC §5, §6), and the contact accepts what it saw.

use actix_web::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Response, TestApp};
use crate::reconcile::assert_reconciled;

async fn send_quote(app: &TestApp, account: Uuid, item: Value) -> String {
    let rep = app.representative("rep-1");
    app.add_item(account, &rep, item).await.assert_status(200);
    let quote = app
        .post(&format!("/v1/accounts/{account}/quotes"), &rep, json!({}))
        .await;
    quote.assert_status(201);
    quote.body["id"].as_str().expect("id").to_owned()
}

async fn accept(
    app: &TestApp,
    token: &str,
    account: Uuid,
    quote: &str,
    key: &str,
    if_match: Option<&str>,
) -> Response {
    let mut headers = vec![("Idempotency-Key", key)];
    if let Some(tag) = if_match {
        headers.push(("If-Match", tag));
    }
    app.send_with(
        Method::POST,
        &format!("/v1/accounts/{account}/quotes/{quote}/accept"),
        Some(token),
        &headers,
        Some(json!({})),
    )
    .await
}

#[actix_web::test]
async fn a_quote_accepted_days_later_credits_the_unused_time_of_the_acceptance_day() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    // Premium annual × 50 at 468.00 = 23400.00 for [2026-06-01, 2027-06-01), 365 days.
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let contact = app.corporate_contact(account);
    let quote = send_quote(
        &app,
        account,
        json!({"type": "change", "subscription_id": subscription, "quantity": 60}),
    )
    .await;

    // Ten days later the quote is still open, but the period it replaces has 10 days less
    // left: 176 days unused from 2026-12-07 (25 + 31 + 28 + 31 + 30 + 31).
    app.set_today("2026-12-07");
    let shown = app
        .get(&format!("/v1/accounts/{account}/quotes/{quote}"), &contact)
        .await;
    shown.assert_status(200);
    // As sent: 186 days unused, credit 11924.38.
    assert_eq!(
        shown.body["summary"]["items"][0]["proration_credit"],
        json!("11924.38")
    );
    // Priced today: 23400 × 176 / 365 = 11283.287… → 11283.29; 468.00 × 60 = 28080.00;
    // due 28080.00 − 11283.29 = 16796.71.
    let current = &shown.body["current_summary"];
    assert_eq!(current["items"][0]["proration_credit"], json!("11283.29"));
    assert_eq!(current["items"][0]["period_start"], json!("2026-12-07"));
    assert_eq!(current["total_due"], json!("16796.71"));
    let fresh_tag = shown.body["current_quote_etag"]
        .as_str()
        .expect("etag")
        .to_owned();

    // Without If-Match the contact accepts the amounts as sent: they moved, so 412 with the
    // fresh summary, and nothing is placed.
    let moved = accept(&app, &contact, account, &quote, "late-1", None).await;
    moved.assert_problem(412, "quote-changed");
    assert_eq!(moved.body["quote"]["total_due"], json!("16796.71"));
    assert_eq!(moved.body["quote_etag"], json!(fresh_tag));
    // A tag that is not today's is refused the same way.
    accept(&app, &contact, account, &quote, "late-2", Some("\"qa-0\""))
        .await
        .assert_problem(412, "quote-changed");
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/orders"), &contact)
            .await
            .body["data"],
        json!([])
    );

    // Accepting what was reviewed places exactly that, with the period starting today.
    let order = accept(&app, &contact, account, &quote, "late-3", Some(&fresh_tag)).await;
    order.assert_status(201);
    assert_eq!(order.body["total_due"], json!("16796.71"));
    assert_eq!(order.body["items"][0]["period_start"], json!("2026-12-07"));
    assert_eq!(
        order.body["items"][0]["proration_credit"],
        json!("11283.29")
    );
    let after = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact,
        )
        .await;
    assert_eq!(after.body["current_period_start"], json!("2026-12-07"));
    assert_eq!(after.body["period_amount"], json!("28080.00"));
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_quote_binds_its_unit_prices_and_same_day_amounts_need_no_if_match() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let contact = app.corporate_contact(account);
    // A subscribe item has no proration: its amounts do not move with the days.
    let quote = send_quote(
        &app,
        account,
        json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
               "quantity": 4, "billing_frequency": "monthly"}),
    )
    .await;
    app.set_today("2026-12-03");
    let order = accept(&app, &contact, account, &quote, "same-amounts", None).await;
    order.assert_status(201);
    assert_eq!(order.body["items"][0]["period_start"], json!("2026-12-03"));
    assert_eq!(order.body["items"][0]["period_end"], json!("2027-01-03"));
    let quoted = app
        .get(&format!("/v1/accounts/{account}/quotes/{quote}"), &contact)
        .await;
    assert_eq!(order.body["total_due"], quoted.body["total_due"]);
    // Accepted: no summary to review any more.
    assert_eq!(quoted.body["current_summary"], Value::Null);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn an_eu_quote_without_vat_id_is_not_accepted_until_the_vat_id_is_on_file() {
    let app = TestApp::spawn().await;
    let account = app
        .create_account(json!({
            "kind": "corporate", "name": "Muster AG", "country": "DE", "currency": "EUR",
            "billing_contact": {"name": "M", "email": "m@muster.example"},
            "representative_id": "rep-1"
        }))
        .await;
    let contact = app.corporate_contact(account);
    let quote = send_quote(
        &app,
        account,
        json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
               "quantity": 2, "billing_frequency": "monthly"}),
    )
    .await;
    let refused = accept(&app, &contact, account, &quote, "no-vat", None).await;
    refused.assert_problem(422, "vat-id-required");
    assert_eq!(refused.body["requirements"], json!(["vat_id"]));

    // With the VAT ID the sale is reverse charged: the amounts moved (no German VAT), so the
    // contact reviews them and accepts with the fresh tag.
    app.patch(
        &format!("/v1/accounts/{account}"),
        &contact,
        json!({"vat_id": "DE136695976"}),
    )
    .await
    .assert_status(200);
    let moved = accept(&app, &contact, account, &quote, "with-vat", None).await;
    moved.assert_problem(412, "quote-changed");
    assert_eq!(moved.body["quote"]["reverse_charge"], json!(true));
    assert_eq!(moved.body["quote"]["tax"], json!("0.00"));
    let tag = moved.body["quote_etag"].as_str().expect("etag").to_owned();
    let order = accept(&app, &contact, account, &quote, "with-vat", Some(&tag)).await;
    order.assert_status(201);
    assert_eq!(order.body["tax"], json!("0.00"));
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_quote_of_an_account_that_became_self_service_is_refused_not_a_server_error() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let quote = send_quote(
        &app,
        account,
        json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
               "quantity": 2, "billing_frequency": "monthly"}),
    )
    .await;
    app.patch(
        &format!("/v1/accounts/{account}"),
        &app.admin(),
        json!({"kind": "self_service", "representative_id": null}),
    )
    .await
    .assert_status(200);
    let refused = accept(&app, &app.admin(), account, &quote, "kind-changed", None).await;
    refused.assert_problem(403, "forbidden");
    assert_reconciled(&app).await;
}
