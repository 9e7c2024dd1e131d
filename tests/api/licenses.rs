//! Licence assignment (SPEC §7): never beyond the licences bought, also under concurrency.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

async fn users(app: &TestApp, account: Uuid, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let response = app
            .post(
                &format!("/v1/accounts/{account}/users"),
                &app.admin(),
                json!({"name": format!("User {i}"), "email": format!("user{i}@acme.example")}),
            )
            .await;
        response.assert_status(201);
        ids.push(
            response.body["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid"),
        );
    }
    ids
}

fn assignment(account: Uuid, subscription: Uuid, user: Uuid) -> String {
    format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/{user}")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// "assigned ≤ quantity, counter = rows" for every subscription.
pub async fn assert_licences_reconciled(app: &TestApp) {
    let mut conn = app.state.pool.get().await.expect("connection");
    let broken: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM subscriptions s WHERE s.licenses_assigned > s.quantity \
         OR s.licenses_assigned <> (SELECT count(*) FROM license_assignments a WHERE a.subscription_id = s.id)",
    )
    .get_result(&mut conn)
    .await
    .expect("reconcile");
    assert_eq!(
        broken.n, 0,
        "a subscription whose licence counter is off or over its quantity"
    );
}

async fn licenses_assigned(app: &TestApp, account: Uuid, subscription: Uuid) -> i64 {
    app.get(
        &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
        &app.admin(),
    )
    .await
    .body["licenses_assigned"]
        .as_i64()
        .expect("count")
}

#[actix_web::test]
async fn assign_up_to_the_quantity_and_not_one_more() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 3, "2026-11-17")
        .await;
    let people = users(&app, account, 4).await;
    let contact = app.contact(account);

    for user in &people[..3] {
        let response = app
            .put(
                &assignment(account, subscription, *user),
                &contact,
                json!(null),
            )
            .await;
        response.assert_status(201);
        assert_eq!(response.body["user_id"], json!(user));
    }
    let full = app
        .put(
            &assignment(account, subscription, people[3]),
            &contact,
            json!(null),
        )
        .await;
    full.assert_problem(409, "no-licenses-available");
    assert_eq!(full.body["licenses_available"], json!(0));

    // Idempotent: assigning a holder again changes nothing.
    let again = app
        .put(
            &assignment(account, subscription, people[0]),
            &contact,
            json!(null),
        )
        .await;
    again.assert_status(200);
    assert_eq!(licenses_assigned(&app, account, subscription).await, 3);

    // Unassigning frees a licence; unassigning again is fine.
    app.delete(&assignment(account, subscription, people[0]), &contact)
        .await
        .assert_status(204);
    app.delete(&assignment(account, subscription, people[0]), &contact)
        .await
        .assert_status(204);
    app.put(
        &assignment(account, subscription, people[3]),
        &contact,
        json!(null),
    )
    .await
    .assert_status(201);

    let list = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments?limit=2"),
            &contact,
        )
        .await;
    list.assert_status(200);
    assert_eq!(list.body["data"].as_array().expect("data").len(), 2);
    assert_eq!(list.body["has_more"], json!(true));
    assert_eq!(list.body["data"][0]["user_id"], json!(people[3]));
    assert_eq!(list.body["data"][0]["email"], json!("user3@acme.example"));
    let next = list.body["next_starting_after"].as_str().expect("cursor");
    let rest = app
        .get(&format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments?starting_after={next}"), &contact)
        .await;
    assert_eq!(rest.body["data"].as_array().expect("data").len(), 1);

    let events = app
        .get(&format!("/v1/accounts/{account}/events?limit=3"), &contact)
        .await;
    let actions: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["license.assigned", "license.unassigned", "license.assigned"]
    );
    assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn users_of_other_accounts_and_unknown_subscriptions_are_not_found() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let other = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 3, "2026-11-17")
        .await;
    let stranger = users(&app, other, 1).await[0];
    let contact = app.contact(account);
    app.put(
        &assignment(account, subscription, stranger),
        &contact,
        json!(null),
    )
    .await
    .assert_problem(404, "not-found");
    app.put(
        &assignment(account, Uuid::new_v4(), stranger),
        &contact,
        json!(null),
    )
    .await
    .assert_problem(404, "not-found");
    app.get(
        &format!(
            "/v1/accounts/{account}/subscriptions/{}/assignments",
            Uuid::new_v4()
        ),
        &contact,
    )
    .await
    .assert_problem(404, "not-found");
}

#[actix_web::test]
async fn deleting_a_user_frees_their_licences() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let remote = app
        .import_active(account, "standard", "monthly", 3, "2026-11-17")
        .await;
    let desk = app
        .post(&format!("/v1/accounts/{account}/subscriptions"), &app.admin(),
              json!({"product": "gotoassist-service-desk", "plan": "starter", "quantity": 2, "status": "trialing", "trial_ends_on": "2026-12-10"}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .parse::<Uuid>()
        .expect("uuid");
    let user = users(&app, account, 1).await[0];
    let contact = app.contact(account);
    app.put(&assignment(account, remote, user), &contact, json!(null))
        .await
        .assert_status(201);
    // A running trial takes assignments within its quantity.
    app.put(&assignment(account, desk, user), &contact, json!(null))
        .await
        .assert_status(201);
    app.delete(&format!("/v1/accounts/{account}/users/{user}"), &contact)
        .await
        .assert_status(204);
    assert_eq!(licenses_assigned(&app, account, remote).await, 0);
    assert_eq!(licenses_assigned(&app, account, desk).await, 0);
    assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn an_expired_trial_takes_no_new_assignments() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let trial = app
        .post(&format!("/v1/accounts/{account}/subscriptions"), &app.admin(),
              json!({"product": "gotoassist-rs-v4", "plan": "premium", "quantity": 5, "status": "trialing", "trial_ends_on": "2026-11-30"}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .parse::<Uuid>()
        .expect("uuid");
    let people = users(&app, account, 2).await;
    let contact = app.contact(account);
    app.put(
        &assignment(account, trial, people[0]),
        &contact,
        json!(null),
    )
    .await
    .assert_status(201);
    app.set_today("2026-12-01");
    app.put(
        &assignment(account, trial, people[1]),
        &contact,
        json!(null),
    )
    .await
    .assert_problem(409, "trial-expired");
    // Freeing a licence is always possible.
    app.delete(&assignment(account, trial, people[0]), &contact)
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn bulk_changes_are_all_or_nothing() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    let people = users(&app, account, 7).await;
    let contact = app.contact(account);
    let path = format!("/v1/accounts/{account}/subscriptions/{subscription}/assignments/bulk");
    let ops = |assign: &[Uuid], unassign: &[Uuid]| {
        let mut operations: Vec<_> = assign
            .iter()
            .map(|u| json!({"user_id": u, "action": "assign"}))
            .collect();
        operations.extend(
            unassign
                .iter()
                .map(|u| json!({"user_id": u, "action": "unassign"})),
        );
        json!({"operations": operations})
    };

    let first = app.post(&path, &contact, ops(&people[0..3], &[])).await;
    first.assert_status(200);
    assert_eq!(first.body["licenses_assigned"], json!(3));
    assert_eq!(first.body["licenses_available"], json!(2));

    // Three more would need 6 of 5: refused whole, saying 2 are free.
    let refused = app.post(&path, &contact, ops(&people[3..6], &[])).await;
    refused.assert_problem(409, "no-licenses-available");
    assert_eq!(refused.body["licenses_available"], json!(2));
    assert_eq!(licenses_assigned(&app, account, subscription).await, 3);

    // Freeing one in the same batch makes room.
    let swapped = app
        .post(
            &path,
            &contact,
            ops(&[people[0], people[3], people[4], people[5]], &[people[1]]),
        )
        .await;
    swapped.assert_status(200);
    let outcomes: Vec<(&str, &str)> = swapped.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["action"].as_str().expect("action"),
                r["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("assign", "already_assigned"),
            ("assign", "assigned"),
            ("assign", "assigned"),
            ("assign", "assigned"),
            ("unassign", "unassigned"),
        ]
    );
    assert_eq!(swapped.body["licenses_assigned"], json!(5));

    let stranger = Uuid::new_v4();
    let unknown = app
        .post(&path, &contact, ops(&[people[6], stranger], &[]))
        .await;
    unknown.assert_problem(422, "validation-failed");
    assert_eq!(
        unknown.body["errors"][0]["field"],
        json!("operations[1].user_id")
    );
    app.post(&path, &contact, ops(&[people[6], people[6]], &[]))
        .await
        .assert_problem(422, "validation-failed");
    app.post(&path, &contact, json!({"operations": []}))
        .await
        .assert_problem(422, "validation-failed");
    assert_eq!(licenses_assigned(&app, account, subscription).await, 5);
    assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn twenty_four_concurrent_assignments_take_exactly_the_six_free_licences() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 10, "2026-11-17")
        .await;
    let people = users(&app, account, 28).await;
    let contact = app.contact(account);
    for user in &people[..4] {
        app.put(
            &assignment(account, subscription, *user),
            &contact,
            json!(null),
        )
        .await
        .assert_status(201);
    }
    let paths: Vec<String> = people[4..]
        .iter()
        .map(|user| assignment(account, subscription, *user))
        .collect();
    let responses = join_all(
        paths
            .iter()
            .map(|path| app.put(path, &contact, json!(null))),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        6,
        "{statuses:?}"
    );
    for refused in responses.iter().filter(|r| r.status.as_u16() != 201) {
        refused.assert_problem(409, "no-licenses-available");
    }
    assert_eq!(licenses_assigned(&app, account, subscription).await, 10);
    assert_licences_reconciled(&app).await;
}

#[actix_web::test]
async fn ten_concurrent_assignments_of_one_user_make_one_row() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    let user = users(&app, account, 1).await[0];
    let contact = app.contact(account);
    let path = assignment(account, subscription, user);
    let responses = join_all((0..10).map(|_| app.put(&path, &contact, json!(null)))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(licenses_assigned(&app, account, subscription).await, 1);
    assert_licences_reconciled(&app).await;
}
