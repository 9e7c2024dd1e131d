//! The database is the last guard: states the rules forbid cannot be written even by SQL
//! that bypasses the services.

use diesel::result::DatabaseErrorKind;
use diesel_async::SimpleAsyncConnection;

use crate::helpers::TestApp;

#[actix_web::test]
async fn forbidden_states_are_rejected_by_the_database() {
    let app = TestApp::spawn().await;
    let self_service = app.self_service_account().await;
    let corporate = app.corporate_account("rep-1").await;
    let subscription = app
        .import_active(self_service, "standard", "monthly", 5, "2026-11-17")
        .await;
    let mut conn = app.state.pool.get().await.expect("connection");
    // Each statement, the kind of violation and the constraint that must refuse it.
    let forbidden = [
        (
            format!("UPDATE accounts SET representative_id = 'rep-9' WHERE id = '{self_service}'"),
            DatabaseErrorKind::CheckViolation,
            "representative_only_on_corporate",
        ),
        (
            format!("UPDATE accounts SET kind = 'partner' WHERE id = '{corporate}'"),
            DatabaseErrorKind::CheckViolation,
            "accounts_kind_check",
        ),
        (
            format!("UPDATE accounts SET credit_balance = -1 WHERE id = '{self_service}'"),
            DatabaseErrorKind::CheckViolation,
            "accounts_credit_balance_check",
        ),
        (
            format!("UPDATE subscriptions SET quantity = 0 WHERE id = '{subscription}'"),
            DatabaseErrorKind::CheckViolation,
            "subscriptions_quantity_check",
        ),
        (
            format!("UPDATE subscriptions SET quantity = 10001 WHERE id = '{subscription}'"),
            DatabaseErrorKind::CheckViolation,
            "subscriptions_quantity_check",
        ),
        (
            format!("UPDATE subscriptions SET licenses_assigned = 6 WHERE id = '{subscription}'"),
            DatabaseErrorKind::CheckViolation,
            "licenses_within_quantity",
        ),
        (
            format!(
                "UPDATE subscriptions SET current_period_end = NULL WHERE id = '{subscription}'"
            ),
            DatabaseErrorKind::CheckViolation,
            "active_has_period",
        ),
        // A plan of another product.
        (
            format!(
                "UPDATE subscriptions SET plan_id = '00000000-0000-4000-8001-000000000011' WHERE id = '{subscription}'"
            ),
            DatabaseErrorKind::ForeignKeyViolation,
            "subscriptions_plan_id_product_id_fkey",
        ),
        // A second subscription of the same product (here a trial).
        (
            format!(
                "INSERT INTO subscriptions (id, account_id, product_id, plan_id, billing_frequency, quantity, status, currency, trial_ends_on) \
                 SELECT gen_random_uuid(), account_id, product_id, plan_id, 'monthly', 1, 'trialing', 'USD', DATE '2026-12-01' \
                 FROM subscriptions WHERE id = '{subscription}'"
            ),
            DatabaseErrorKind::UniqueViolation,
            "subscriptions_account_id_product_id_key",
        ),
        // Two users of one account whose emails differ only in case.
        (
            format!(
                "INSERT INTO users (id, account_id, name, email) VALUES (gen_random_uuid(), '{self_service}', 'A', 'a@x.example'), \
                 (gen_random_uuid(), '{self_service}', 'B', 'A@X.example')"
            ),
            DatabaseErrorKind::UniqueViolation,
            "users_email_per_account_idx",
        ),
    ];
    for (statement, expected_kind, expected_constraint) in forbidden {
        match conn.batch_execute(&statement).await {
            Ok(()) => panic!("the database accepted: {statement}"),
            Err(diesel::result::Error::DatabaseError(kind, info)) => {
                assert_eq!(
                    (
                        format!("{kind:?}"),
                        info.constraint_name().map(str::to_owned)
                    ),
                    (
                        format!("{expected_kind:?}"),
                        Some(expected_constraint.to_owned())
                    ),
                    "{statement}: {}",
                    info.message()
                );
            }
            Err(other) => panic!("{statement}: not a database error: {other}"),
        }
    }
    // Attaching a card charges nothing.
    app.put(
        &format!("/v1/accounts/{self_service}/payment-method"),
        &app.contact(self_service),
        serde_json::json!({"token": "tok_visa"}),
    )
    .await
    .assert_status(200);
    assert_eq!(app.gateway.successful_charges(), 0);
}

#[actix_web::test]
async fn payment_references_and_po_numbers_are_unique_in_any_case() {
    let app = TestApp::spawn().await;
    let account = app.corporate_account("rep-1").await;
    let mut conn = app.state.pool.get().await.expect("connection");
    conn.batch_execute(&format!(
        "INSERT INTO purchase_orders (id, account_id, number) VALUES (gen_random_uuid(), '{account}', 'PO-9')"
    ))
    .await
    .expect("a first PO");
    let duplicate_po = format!(
        "INSERT INTO purchase_orders (id, account_id, number) VALUES (gen_random_uuid(), '{account}', 'po-9')"
    );
    assert!(
        conn.batch_execute(&duplicate_po).await.is_err(),
        "the database accepted: {duplicate_po}"
    );
    // Two payments with one reference, however it is written, on one account.
    let subscription = app
        .import_active(account, "premium", "annual", 50, "2026-06-01")
        .await;
    let contact = app.corporate_contact(account);
    app.add_item(
        account,
        &contact,
        serde_json::json!({"type": "change", "subscription_id": subscription, "quantity": 55}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(account, &contact, Some("k"), None, serde_json::json!({}))
        .await;
    order.assert_status(201);
    let invoice = order.body["invoice_id"].as_str().expect("invoice");
    let payment = |reference: &str| {
        format!(
            "INSERT INTO invoice_payments (id, invoice_id, account_id, amount, method, reference, received_on, recorded_by) \
             VALUES (gen_random_uuid(), '{invoice}', '{account}', 1, 'cheque', '{reference}', DATE '2026-11-27', 'rep-1')"
        )
    };
    conn.batch_execute(&payment("CHQ-1"))
        .await
        .expect("a first payment");
    for reference in ["CHQ-1", "chq-1", " Chq-1  "] {
        let statement = payment(reference);
        assert!(
            conn.batch_execute(&statement).await.is_err(),
            "the database accepted: {statement}"
        );
    }
}
