//! Settling a card order after its charge: nothing assigned meanwhile can invalidate it, a
//! placer who lost reach cannot leave it pending, a rule that still breaks voids it before
//! the refund, and a fault gives the key back at once.

use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::reconcile::assert_reconciled;

/// Standard monthly × 5 since 2026-11-17, a Visa on file.
async fn card_account(app: &TestApp) -> (Uuid, Uuid) {
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    (account, subscription)
}

async fn new_user(app: &TestApp, account: Uuid, n: usize) -> String {
    let user = app
        .post(
            &format!("/v1/accounts/{account}/users"),
            &app.admin(),
            json!({"name": "U", "email": format!("u{n}@acme.example")}),
        )
        .await;
    user.assert_status(201);
    user.body["id"].as_str().expect("id").to_owned()
}

async fn assign(
    app: &TestApp,
    account: Uuid,
    subscription: Uuid,
    user: &str,
) -> crate::helpers::Response {
    app.put(
        &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{user}"),
        &app.contact(account),
        json!(null),
    )
    .await
}

async fn order_row(app: &TestApp, account: Uuid) -> (String, Option<String>, bool) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        void_reason: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        refunded: bool,
    }
    let mut conn = app.state.pool.get().await.expect("connection");
    let row: Row = diesel::sql_query(
        "SELECT status, void_reason, refunded_at IS NOT NULL AS refunded FROM orders WHERE account_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .get_result(&mut conn)
    .await
    .expect("one order");
    (row.status, row.void_reason, row.refunded)
}

#[actix_web::test]
async fn licences_cannot_be_assigned_beyond_what_a_pending_order_leaves() {
    let app = TestApp::spawn().await;
    let (account, subscription) = card_account(&app).await;
    let contact = app.contact(account);
    for n in 0..2 {
        let user = new_user(&app, account, n).await;
        assign(&app, account, subscription, &user)
            .await
            .assert_status(201);
    }
    // Premium annual with 5 → 3 licences while 2 are assigned; the charge times out, the
    // order stays pending.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "plan": "premium",
               "billing_frequency": "annual", "quantity": 3}),
    )
    .await
    .assert_status(200);
    app.gateway.fail_next_charges(1);
    app.checkout(account, &contact, Some("reduce"), None, json!({}))
        .await
        .assert_problem(503, "service-unavailable");

    // A third user fits in the 3 the order leaves; a fourth would break the paid order.
    let third = new_user(&app, account, 2).await;
    assign(&app, account, subscription, &third)
        .await
        .assert_status(201);
    let fourth = new_user(&app, account, 3).await;
    let refused = assign(&app, account, subscription, &fourth).await;
    refused.assert_problem(409, "no-licenses-available");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reduces the subscription to 3")),
        "{}",
        refused.body
    );

    // The same key completes the order: charged once, never refunded.
    let order = app
        .checkout(account, &contact, Some("reduce"), None, json!({}))
        .await;
    order.assert_status(201);
    assert_eq!(app.gateway.successful_charges(), 1);
    assert!(app.gateway.refunds().is_empty());
    let after = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &contact,
        )
        .await;
    assert_eq!(after.body["quantity"], json!(3));
    assert_eq!(after.body["licenses_assigned"], json!(3));
    // Settled: the hold is gone, and a freed licence can be taken again.
    app.delete(
        &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{third}"),
        &contact,
    )
    .await
    .assert_status(204);
    assign(&app, account, subscription, &fourth)
        .await
        .assert_status(201);
    assert_reconciled(&app).await;
    crate::licenses::assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn recovery_settles_an_order_whose_placer_lost_reach() {
    let app = TestApp::spawn().await;
    let (account, subscription) = card_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    app.gateway.fail_next_charges(1);
    app.checkout(account, &contact, Some("left"), None, json!({}))
        .await
        .assert_problem(503, "service-unavailable");
    // The account becomes corporate: its billing contact no longer reaches it.
    app.patch(
        &format!("/v1/accounts/{account}"),
        &app.admin(),
        json!({"kind": "corporate", "representative_id": "rep-1"}),
    )
    .await
    .assert_status(200);

    let settled = billing_center::services::checkout::recover_pending_orders(&app.state)
        .await
        .expect("recovery");
    assert_eq!(settled, 1);
    assert_eq!(order_row(&app, account).await.0, "completed");
    assert_eq!(app.gateway.successful_charges(), 1);
    let rep = app.representative("rep-1");
    let after = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &rep,
        )
        .await;
    assert_eq!(after.body["quantity"], json!(6));
    // The cart was closed with the order: the representative can start a new one.
    app.add_item(
        account,
        &rep,
        json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
    )
    .await
    .assert_status(200);
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_paid_order_that_breaks_a_rule_is_voided_before_its_refund() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "subscribe", "product": "gotoassist-service-desk", "plan": "starter",
               "quantity": 2, "billing_frequency": "monthly"}),
    )
    .await
    .assert_status(200);
    app.gateway.fail_next_charges(1);
    app.checkout(account, &contact, Some("void"), None, json!({}))
        .await
        .assert_problem(503, "service-unavailable");
    // Meanwhile the product is imported from the legacy system: the subscribe item no longer
    // holds once the card is charged.
    app.post(
        &format!("/v1/accounts/{account}/subscriptions"),
        &app.admin(),
        json!({"product": "gotoassist-service-desk", "plan": "starter",
               "billing_frequency": "monthly", "quantity": 1, "status": "active",
               "current_period_start": "2026-11-20"}),
    )
    .await
    .assert_status(201);

    // The refund times out: the order is voided all the same, and the refund is owed.
    app.gateway.fail_next_refunds(1);
    app.checkout(account, &contact, Some("void"), None, json!({}))
        .await
        .assert_problem(409, "already-subscribed");
    assert_eq!(app.gateway.successful_charges(), 1);
    assert!(app.gateway.refunds().is_empty());
    assert_eq!(
        order_row(&app, account).await,
        (
            "voided".to_owned(),
            Some("already-subscribed".to_owned()),
            false
        )
    );
    // Recovery makes the refund it owes, once.
    billing_center::services::checkout::recover_pending_orders(&app.state)
        .await
        .expect("recovery");
    billing_center::services::checkout::recover_pending_orders(&app.state)
        .await
        .expect("recovery");
    assert_eq!(app.gateway.refunds().len(), 1);
    assert_eq!(
        order_row(&app, account).await,
        (
            "voided".to_owned(),
            Some("already-subscribed".to_owned()),
            true
        )
    );
    // The cart and the key were given back: the contact fixes the cart and orders again.
    let cart = app
        .get(&format!("/v1/accounts/{account}/cart"), &contact)
        .await;
    assert_eq!(cart.body["status"], json!("open"));
    let audit = app
        .get(&format!("/v1/accounts/{account}/events"), &app.admin())
        .await;
    assert!(
        audit.body["data"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["type"] == json!("order.voided"))
    );
    assert_reconciled(&app).await;
}

#[actix_web::test]
async fn a_fault_after_the_charge_gives_the_key_back_at_once() {
    let app = TestApp::spawn().await;
    let (account, subscription) = card_account(&app).await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    // While the card is charged, the database ends every other session: the request's own
    // connection is gone when it comes to complete the order.
    let pool = app.state.pool.clone();
    app.gateway.during_next_charge(Box::new(move || {
        Box::pin(async move {
            let mut conn = pool.get().await.expect("connection");
            diesel::sql_query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .execute(&mut conn)
            .await
            .expect("terminate");
        })
    }));
    let failed = app
        .checkout(account, &contact, Some("fault"), None, json!({}))
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    // No 60-second wait: the same key completes the order now, charged once.
    let order = app
        .checkout(account, &contact, Some("fault"), None, json!({}))
        .await;
    order.assert_status(201);
    assert_eq!(order.body["total_due"], json!("77.33"));
    assert_eq!(app.gateway.successful_charges(), 1);
    assert_reconciled(&app).await;
}
