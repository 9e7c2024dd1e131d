//! The write path's cost in statements (SPEC-independent, issue "one order engine"): adding an
//! item and placing a card order are counted here, so a change that adds round trips to the
//! hot path fails a test rather than only slowing the benchmark.

use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn adding_an_item_and_placing_a_card_order_stay_within_their_statement_budget() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    app.attach_card(account, "tok_visa").await;
    let contact = app.contact(account);
    // Warm: the first cart of an account is created by the first edit.
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
    )
    .await
    .assert_status(200);

    let queries = app.state.pool.queries();
    let before = queries.counts();
    app.add_item(
        account,
        &contact,
        json!({"type": "change", "subscription_id": subscription, "quantity": 6}),
    )
    .await
    .assert_status(200);
    let add_item = queries.counts().since(before);

    let before = queries.counts();
    app.checkout(account, &contact, Some("budget"), None, json!({}))
        .await
        .assert_status(201);
    let checkout = queries.counts().since(before);
    println!("add item: {add_item:?}; checkout: {checkout:?}");

    assert!(add_item.transactions <= 1, "{add_item:?}");
    assert!(
        checkout.transactions <= 2,
        "record, then finalise: {checkout:?}"
    );
    assert!(
        add_item.statements + checkout.statements <= BUDGET,
        "add item {add_item:?} + checkout {checkout:?} over {BUDGET}"
    );
}

/// Statements for one add-item plus one card checkout (BEGIN/COMMIT not counted): 6 + 18 as
/// measured when the budget was set (the target is 20; docs/PERFORMANCE.md says what
/// is left to remove).
const BUDGET: u64 = 24;

#[actix_web::test]
async fn a_card_renewal_stays_within_its_statement_budget() {
    use billing_center::services::engine::Engine;
    use billing_center::services::jobs::worker::{WorkerOptions, run_due};
    let app = TestApp::spawn().await;
    for _ in 0..RENEWALS {
        let account = app.self_service_account().await;
        app.import_active(account, "standard", "monthly", 5, "2026-11-17")
            .await;
        app.attach_card(account, "tok_visa").await;
    }
    let engine = Engine::of(&app.state);
    let options = WorkerOptions {
        concurrency: 1,
        ..WorkerOptions::new(60)
    };
    app.set_today("2026-12-17");
    let queries = app.state.pool.queries();
    let before = queries.counts();
    run_due(&engine, &options).await.unwrap();
    let spent = queries.counts().since(before);
    let paid = app
        .sql_rows("SELECT count(*) FROM invoices WHERE status = 'paid'")
        .await;
    assert_eq!(paid, [[RENEWALS.to_string()]]);
    println!("{RENEWALS} renewals: {spent:?}");
    let per_renewal = spent.statements / RENEWALS;
    assert!(
        per_renewal <= RENEWAL_BUDGET,
        "{per_renewal} statements per renewal, over {RENEWAL_BUDGET}: {spent:?}"
    );
}

const RENEWALS: u64 = 20;
/// Statements per renewal of a card subscription, as measured when the budget was set: 15 —
/// the renewal's order in one transaction (10: account and subscription locked together,
/// order, item, line, the subscription re-checked and rolled, completion, numbering, invoice,
/// events), the collection (3: read, paid if still at this attempt, event), the job marked
/// done, and a share of the pass's sweeps and claims.
const RENEWAL_BUDGET: u64 = 15;
