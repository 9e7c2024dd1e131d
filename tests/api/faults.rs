//! Faults: the database goes away under load. Every answer is a success, a conflict or a
//! 503 to retry — never a 500 — and once it comes back, retries with the same
//! Idempotency-Key finish every order exactly once.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Response, TestApp};
use crate::reconcile::assert_reconciled;

const ACCOUNTS: usize = 2;
const ORDERS_PER_ACCOUNT: usize = 50;
/// How long the database keeps failing: long enough for a few hundred requests to meet it,
/// bounded so that a slow machine (where one checkout outlasts the 50 ms between
/// terminations) still gets to finish every order once it ends.
const STORM: Duration = Duration::from_secs(3);
/// Past this, a request still failing is a bug, not bad luck.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// Ends every other session of the test database every `every`, for `STORM` or until `stop`.
async fn terminate_backends(url: String, every: Duration, stop: Arc<AtomicBool>) -> usize {
    let mut conn = AsyncPgConnection::establish(&url)
        .await
        .expect("terminator connection");
    let started = Instant::now();
    let mut rounds = 0;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < STORM {
        tokio::time::sleep(every).await;
        conn.batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .expect("terminate backends");
        rounds += 1;
    }
    rounds
}

/// Every status seen, so that the test can say what came back.
#[derive(Default)]
struct Seen(RefCell<Vec<(String, u16, String)>>);

impl Seen {
    fn record(&self, what: &str, response: &Response) {
        self.0.borrow_mut().push((
            what.to_owned(),
            response.status.as_u16(),
            response.code().to_owned(),
        ));
    }
}

/// One customer placing orders one after another, retrying like a careful client: a 503 or a
/// 409 conflict is retried, a key still in use is retried once its lease has run out.
async fn customer(app: &TestApp, account: Uuid, subscription: Uuid, seen: &Seen) -> Vec<String> {
    let deadline = Instant::now() + GIVE_UP_AFTER;
    let retry = || Instant::now() < deadline;
    let contact = app.contact(account);
    let mut orders = Vec::new();
    for round in 0..ORDERS_PER_ACCOUNT {
        let quantity = 6 + round;
        loop {
            let response = app
                .add_item(
                    account,
                    &contact,
                    json!({"type": "change", "subscription_id": subscription, "quantity": quantity}),
                )
                .await;
            seen.record("add item", &response);
            match response.status.as_u16() {
                200 => break,
                503 | 409 if retry() => {
                    if response.code() == "service-unavailable" {
                        assert!(response.header("retry-after").is_some());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ => panic!("add item: {} {}", response.status, response.body),
            }
        }
        let key = format!("fault-{account}-{round}");
        let mut history = Vec::new();
        loop {
            let response = app
                .checkout(account, &contact, Some(&key), None, json!({}))
                .await;
            seen.record("checkout", &response);
            history.push(format!("{} {}", response.status.as_u16(), response.code()));
            match (response.status.as_u16(), response.code()) {
                (201, _) => {
                    orders.push(response.body["id"].as_str().expect("order id").to_owned());
                    break;
                }
                // A killed attempt holds the key's lease: wait it out (on the pinned clock).
                (409, "idempotency-key-in-use") if retry() => {
                    app.advance_clock(chrono::Duration::minutes(2));
                }
                (503 | 409, _) if retry() => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ => panic!(
                    "checkout: {} {}; last attempts: {:?}",
                    response.status,
                    response.body,
                    &history[history.len().saturating_sub(20)..]
                ),
            }
        }
    }
    orders
}

#[actix_web::test]
async fn checkouts_survive_backends_being_terminated() {
    let app = TestApp::spawn().await;
    let mut customers = Vec::new();
    for _ in 0..ACCOUNTS {
        let account = app.self_service_account().await;
        let subscription = app
            .import_active(account, "standard", "monthly", 5, "2026-11-17")
            .await;
        app.attach_card(account, "tok_visa").await;
        customers.push((account, subscription));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let terminator = actix_web::rt::spawn(terminate_backends(
        app.database_url().to_owned(),
        Duration::from_millis(50),
        stop.clone(),
    ));
    let seen = Rc::new(Seen::default());
    let started = Instant::now();
    let placed: Vec<(Uuid, Vec<String>)> =
        join_all(customers.iter().map(|&(account, subscription)| {
            let seen = seen.clone();
            let app = &app;
            async move { (account, customer(app, account, subscription, &seen).await) }
        }))
        .await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let terminations = terminator.await.expect("terminator");

    let seen = seen.0.take();
    let count = |status: u16| seen.iter().filter(|(_, s, _)| *s == status).count();
    let unavailable = count(503);
    println!(
        "{} requests in {elapsed:?}, {terminations} termination rounds: {} × 200, {} × 201, {} × 409, {unavailable} × 503",
        seen.len(),
        count(200),
        count(201),
        count(409)
    );
    let unexpected: Vec<_> = seen
        .iter()
        .filter(|(_, status, _)| ![200, 201, 409, 503].contains(status))
        .collect();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    assert!(
        unavailable > 0,
        "the fault was never hit; the test proves nothing"
    );

    // The database is back: connections that died were not handed out again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (first_account, _) = customers[0];
    let admin = app.admin();
    let orders_path = format!("/v1/accounts/{first_account}/orders");
    let responses = join_all((0..48).map(|_| app.get(&orders_path, &admin))).await;
    for response in &responses {
        response.assert_status(200);
    }

    // Every order answered 201 exists, once.
    for (account, orders) in &placed {
        assert_eq!(orders.len(), ORDERS_PER_ACCOUNT);
        for order in orders {
            app.get(&format!("/v1/accounts/{account}/orders/{order}"), &admin)
                .await
                .assert_status(200);
        }
    }
    // Anything a killed request left half-way is finished by recovery; nothing is left over.
    app.advance_clock(chrono::Duration::minutes(10));
    billing_center::services::checkout::recover_pending_orders(&app.state)
        .await
        .expect("recovery");
    assert_reconciled(&app).await;
}

async fn backend_pid(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i32> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .await
        .map(|p| p.pid)
}

#[actix_web::test]
async fn a_connection_whose_backend_died_is_not_handed_out_again() {
    let app = TestApp::spawn().await;
    // Four connections sit idle in the pool…
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.state.pool.get().await.expect("connection"));
    }
    let mut before = Vec::new();
    for conn in &mut held {
        before.push(backend_pid(conn).await.expect("pid"));
    }
    drop(held);
    // …when their backends are terminated.
    let mut killer = AsyncPgConnection::establish(app.database_url())
        .await
        .expect("connection");
    killer
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .expect("terminate");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The pool hands out working connections, none of them a dead one.
    let mut fresh = Vec::new();
    for _ in 0..4 {
        fresh.push(app.state.pool.get().await.expect("connection"));
    }
    for conn in &mut fresh {
        let now = backend_pid(conn).await.expect("a live connection");
        assert!(!before.contains(&now), "{now} was terminated");
    }
}
