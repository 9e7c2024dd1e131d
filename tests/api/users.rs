//! The account's users.

use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn users_are_created_listed_and_deleted() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let contact = app.contact(account);
    let path = format!("/v1/accounts/{account}/users");

    let created = app
        .post(
            &path,
            &contact,
            json!({"name": "Grace Hopper", "email": "grace@acme.example"}),
        )
        .await;
    created.assert_status(201);
    insta::assert_json_snapshot!("user", created.body, {".id" => "[id]", ".created_at" => "[time]"});

    // Emails are unique per account, whatever their case.
    app.post(
        &path,
        &contact,
        json!({"name": "Grace", "email": "GRACE@acme.example"}),
    )
    .await
    .assert_problem(409, "duplicate-email");
    // …but another account may use the same email.
    let other = app.self_service_account().await;
    app.post(
        &format!("/v1/accounts/{other}/users"),
        &app.contact(other),
        json!({"name": "Grace", "email": "grace@acme.example"}),
    )
    .await
    .assert_status(201);

    app.post(
        &path,
        &contact,
        json!({"name": "", "email": "x@acme.example"}),
    )
    .await
    .assert_problem(422, "validation-failed");
    app.post(&path, &contact, json!({"name": "X", "email": "nope"}))
        .await
        .assert_problem(422, "validation-failed");

    let list = app.get(&path, &contact).await;
    list.assert_status(200);
    assert_eq!(list.body["data"].as_array().expect("data").len(), 1);

    let id = created.body["id"].as_str().expect("id");
    app.delete(&format!("{path}/{id}"), &contact)
        .await
        .assert_status(204);
    app.delete(&format!("{path}/{id}"), &contact)
        .await
        .assert_problem(404, "not-found");
    // A user of another account cannot be deleted through this one.
    let foreign = app
        .get(&format!("/v1/accounts/{other}/users"), &app.contact(other))
        .await
        .body["data"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.delete(&format!("{path}/{foreign}"), &contact)
        .await
        .assert_problem(404, "not-found");

    let events = app
        .get(&format!("/v1/accounts/{account}/events"), &contact)
        .await;
    let actions: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(actions, ["user.deleted", "user.created", "account.created"]);
}

#[actix_web::test]
async fn account_lists_page_newest_first_within_the_account() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let other = app.self_service_account().await;
    let contact = app.contact(account);
    let path = format!("/v1/accounts/{account}/users");
    let mut ids = Vec::new();
    for i in 0..3 {
        let created = app
            .post(
                &path,
                &contact,
                json!({"name": format!("U{i}"), "email": format!("u{i}@acme.example")}),
            )
            .await;
        ids.push(created.body["id"].as_str().expect("id").to_owned());
    }
    ids.reverse();
    let first = app.get(&format!("{path}?limit=2"), &contact).await;
    let page: Vec<&str> = first.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert_eq!(page, [ids[0].as_str(), ids[1].as_str()]);
    assert_eq!(first.body["next_starting_after"], json!(ids[1]));
    let second = app
        .get(
            &format!("{path}?limit=2&starting_after={}", ids[1]),
            &contact,
        )
        .await;
    assert_eq!(second.body["data"][0]["id"], json!(ids[2]));
    assert_eq!(second.body["has_more"], json!(false));
    // A cursor from another account's list is not of this list.
    let foreign = app
        .post(
            &format!("/v1/accounts/{other}/users"),
            &app.admin(),
            json!({"name": "F", "email": "f@x.example"}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.get(&format!("{path}?starting_after={foreign}"), &contact)
        .await
        .assert_problem(422, "validation-failed");
    // The same paging serves the audit trail.
    let events = app
        .get(&format!("/v1/accounts/{account}/events?limit=1"), &contact)
        .await;
    let cursor = events.body["next_starting_after"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let next = app
        .get(
            &format!("/v1/accounts/{account}/events?limit=1&starting_after={cursor}"),
            &contact,
        )
        .await;
    next.assert_status(200);
    assert_ne!(next.body["data"][0]["id"], events.body["data"][0]["id"]);
}
