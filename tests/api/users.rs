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
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["user.deleted", "user.created", "account.created"]);
}
