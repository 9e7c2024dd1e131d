//! Every role on every route (SPEC §2): out of reach is 404, a contact on its own account of
//! the other kind is 403 with the portal to use, a forbidden action in reach is 403. Each
//! cell below is asserted; removing any rule turns a cell red.

use actix_web::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use billing_center::auth::Role;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Reach {
    Yes,
    No,
    CorporatePortal,
    BillingCenter,
}

struct Caller {
    name: &'static str,
    token: String,
    role: Role,
    /// Reach on the self-service account, then on the corporate account.
    reach: [Reach; 2],
}

struct Fixture {
    app: TestApp,
    accounts: [Uuid; 2],
    subscriptions: [Uuid; 2],
    callers: Vec<Caller>,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let self_service = app.self_service_account().await;
    let corporate = app.corporate_account("rep-1").await;
    let other = app.self_service_account().await;
    let subscriptions = [
        app.import_active(self_service, "standard", "monthly", 5, "2026-11-17")
            .await,
        app.import_active(corporate, "premium", "annual", 50, "2026-06-01")
            .await,
    ];
    use Reach::*;
    let callers = vec![
        Caller {
            name: "billing_contact (own)",
            token: app.contact(self_service),
            role: Role::BillingContact,
            reach: [Yes, No],
        },
        Caller {
            name: "billing_contact (other)",
            token: app.contact(other),
            role: Role::BillingContact,
            reach: [No, No],
        },
        Caller {
            name: "billing_contact on corporate",
            token: app.token(Role::BillingContact, "c2", Some(corporate)),
            role: Role::BillingContact,
            reach: [No, CorporatePortal],
        },
        Caller {
            name: "corporate_contact (own)",
            token: app.corporate_contact(corporate),
            role: Role::CorporateContact,
            reach: [No, Yes],
        },
        Caller {
            name: "corporate_contact on self-service",
            token: app.token(Role::CorporateContact, "k2", Some(self_service)),
            role: Role::CorporateContact,
            reach: [BillingCenter, No],
        },
        Caller {
            name: "representative (assigned)",
            token: app.representative("rep-1"),
            role: Role::Representative,
            reach: [No, Yes],
        },
        Caller {
            name: "representative (other)",
            token: app.representative("rep-2"),
            role: Role::Representative,
            reach: [No, No],
        },
        Caller {
            name: "support",
            token: app.support(),
            role: Role::Support,
            reach: [Yes, No],
        },
        Caller {
            name: "admin",
            token: app.admin(),
            role: Role::Admin,
            reach: [Yes, Yes],
        },
    ];
    Fixture {
        app,
        accounts: [self_service, corporate],
        subscriptions,
        callers,
    }
}

#[track_caller]
fn assert_reach(
    response: &crate::helpers::Response,
    reach: Reach,
    in_reach_status: u16,
    what: &str,
) {
    let (status, code) = match reach {
        Reach::Yes => (in_reach_status, None),
        Reach::No => (404, Some("not-found")),
        Reach::CorporatePortal => (403, Some("use-corporate-portal")),
        Reach::BillingCenter => (403, Some("use-billing-center")),
    };
    assert_eq!(
        response.status.as_u16(),
        status,
        "{what}: {}",
        response.body
    );
    if let Some(code) = code {
        assert_eq!(response.code(), code, "{what}");
    }
}

async fn new_user(app: &TestApp, account: Uuid) -> Uuid {
    let email = format!("{}@example.com", Uuid::new_v4().simple());
    let response = app
        .post(
            &format!("/v1/accounts/{account}/users"),
            &app.admin(),
            json!({"name": "Temp", "email": email}),
        )
        .await;
    response.assert_status(201);
    response.body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid")
}

#[actix_web::test]
async fn reads_follow_the_reach_rules() {
    let f = fixture().await;
    for caller in &f.callers {
        for (i, account) in f.accounts.iter().enumerate() {
            let reach = caller.reach[i];
            let sub = f.subscriptions[i];
            for path in [
                format!("/v1/accounts/{account}"),
                format!("/v1/accounts/{account}/subscriptions"),
                format!("/v1/accounts/{account}/subscriptions/{sub}"),
                format!("/v1/accounts/{account}/users"),
                format!("/v1/accounts/{account}/events"),
            ] {
                let response = f.app.get(&path, &caller.token).await;
                assert_reach(
                    &response,
                    reach,
                    200,
                    &format!("{} GET {path}", caller.name),
                );
            }
            // The mail outbox: admin, support and the representative; a contact in reach is
            // refused (its mails reach its inbox).
            let path = format!("/v1/accounts/{account}/notifications");
            let response = f.app.get(&path, &caller.token).await;
            if reach == Reach::Yes && caller.role.is_contact() {
                response.assert_problem(403, "forbidden");
            } else {
                assert_reach(
                    &response,
                    reach,
                    200,
                    &format!("{} GET {path}", caller.name),
                );
            }
            // Another account's subscription id under this account is never found.
            let foreign = f.subscriptions[1 - i];
            let response = f
                .app
                .get(
                    &format!("/v1/accounts/{account}/subscriptions/{foreign}"),
                    &caller.token,
                )
                .await;
            let expected = if reach == Reach::Yes {
                Reach::No
            } else {
                reach
            };
            assert_reach(
                &response,
                expected,
                404,
                &format!("{} foreign subscription", caller.name),
            );
        }
    }
}

#[actix_web::test]
async fn writes_follow_the_reach_and_role_rules() {
    let f = fixture().await;
    for caller in &f.callers {
        for (i, account) in f.accounts.iter().enumerate() {
            let reach = caller.reach[i];
            let what = |route: &str| format!("{} {route} on account {i}", caller.name);

            let response = f
                .app
                .patch(
                    &format!("/v1/accounts/{account}"),
                    &caller.token,
                    json!({"name": "Renamed Ltd"}),
                )
                .await;
            assert_reach(&response, reach, 200, &what("PATCH account"));

            // Only an admin changes kind or representative.
            let response = f
                .app
                .patch(
                    &format!("/v1/accounts/{account}"),
                    &caller.token,
                    json!({"representative_id": "rep-1"}),
                )
                .await;
            match (reach, caller.role) {
                (Reach::Yes, Role::Admin) => {
                    let expected = if i == 1 { 200 } else { 422 };
                    response.assert_status(expected);
                }
                (Reach::Yes, _) => {
                    response.assert_problem(403, "forbidden");
                }
                _ => assert_reach(&response, reach, 0, &what("PATCH representative")),
            }

            // Cards are for self-service accounts only.
            let response = f
                .app
                .put(
                    &format!("/v1/accounts/{account}/payment-method"),
                    &caller.token,
                    json!({"token": "tok_visa"}),
                )
                .await;
            if reach == Reach::Yes && i == 1 {
                response.assert_problem(403, "forbidden");
            } else {
                assert_reach(&response, reach, 200, &what("PUT payment-method"));
            }

            let email = format!("{}@example.com", Uuid::new_v4().simple());
            let response = f
                .app
                .post(
                    &format!("/v1/accounts/{account}/users"),
                    &caller.token,
                    json!({"name": "New", "email": email}),
                )
                .await;
            assert_reach(&response, reach, 201, &what("POST users"));

            let user = new_user(&f.app, *account).await;
            let response = f
                .app
                .delete(
                    &format!("/v1/accounts/{account}/users/{user}"),
                    &caller.token,
                )
                .await;
            assert_reach(&response, reach, 204, &what("DELETE user"));

            // Importing is the admin's alone.
            let response = f
                .app
                .post(
                    &format!("/v1/accounts/{account}/subscriptions"),
                    &caller.token,
                    json!({"product": "gotoassist-service-desk", "plan": "starter", "quantity": 3,
                           "status": "trialing", "trial_ends_on": "2026-12-10"}),
                )
                .await;
            match (reach, caller.role) {
                (Reach::Yes, Role::Admin) => {
                    response.assert_status(201);
                }
                (Reach::Yes, _) => {
                    response.assert_problem(403, "forbidden");
                }
                _ => assert_reach(&response, reach, 0, &what("POST subscriptions")),
            }
        }
    }
}

#[actix_web::test]
async fn tenant_routes_follow_the_role_rules() {
    let f = fixture().await;
    let new_account = || -> Value {
        json!({"kind": "self_service", "name": "New", "country": "US", "currency": "USD",
               "billing_contact": {"name": "N", "email": "n@example.com"}})
    };
    for caller in &f.callers {
        f.app
            .get("/v1/catalog/products", &caller.token)
            .await
            .assert_status(200);

        // Only an admin sees the background jobs.
        let jobs = f.app.get("/v1/jobs", &caller.token).await;
        if caller.role == Role::Admin {
            jobs.assert_status(200);
        } else {
            jobs.assert_problem(403, "forbidden");
        }

        // Every role may ask who it is; a contact learns its account and whether its role
        // fits the account's kind, a representative how many accounts it has.
        let me = f.app.get("/v1/me", &caller.token).await;
        me.assert_status(200);
        assert_eq!(me.body["role"], json!(caller.role), "{}", caller.name);
        let (reach, in_reach) = match caller.role {
            Role::BillingContact | Role::CorporateContact => ("own_account", json!(1)),
            Role::Representative if caller.reach[1] == Reach::Yes => {
                ("assigned_accounts", json!(1))
            }
            Role::Representative => ("assigned_accounts", json!(0)),
            Role::Support => ("self_service_accounts", Value::Null),
            Role::Admin => ("tenant", Value::Null),
        };
        assert_eq!(me.body["reach"], reach, "{}", caller.name);
        assert_eq!(me.body["accounts_in_reach"], in_reach, "{}", caller.name);
        if caller.role.is_contact() {
            let fits = !caller
                .reach
                .iter()
                .any(|r| matches!(r, Reach::CorporatePortal | Reach::BillingCenter));
            assert_eq!(
                me.body["account"]["role_fits"],
                json!(fits),
                "{}",
                caller.name
            );
            let own = if caller.reach.contains(&Reach::CorporatePortal)
                || caller.reach[1] == Reach::Yes
            {
                ("corporate", "corporate_billing_portal")
            } else {
                ("self_service", "billing_center")
            };
            assert_eq!(me.body["account"]["kind"], own.0, "{}", caller.name);
            assert_eq!(me.body["account"]["portal"], own.1, "{}", caller.name);
        } else {
            assert_eq!(me.body["account"], Value::Null, "{}", caller.name);
        }

        let response = f
            .app
            .post("/v1/accounts", &caller.token, new_account())
            .await;
        if caller.role == Role::Admin {
            response.assert_status(201);
        } else {
            response.assert_problem(403, "forbidden");
        }

        let response = f
            .app
            .send(
                Method::GET,
                "/v1/accounts?limit=100",
                Some(&caller.token),
                None,
            )
            .await;
        if caller.role.is_contact() {
            response.assert_problem(403, "forbidden");
            continue;
        }
        response.assert_status(200);
        let listed: Vec<&str> = response.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        let self_service = f.accounts[0].to_string();
        let corporate = f.accounts[1].to_string();
        assert_eq!(
            listed.contains(&self_service.as_str()),
            caller.reach[0] == Reach::Yes,
            "{}",
            caller.name
        );
        assert_eq!(
            listed.contains(&corporate.as_str()),
            caller.reach[1] == Reach::Yes,
            "{}",
            caller.name
        );
        match caller.role {
            Role::Representative => {
                assert!(
                    response.body["data"]
                        .as_array()
                        .expect("data")
                        .iter()
                        .all(|a| a["representative_id"]
                            == json!(caller.name.contains("assigned").then_some("rep-1")))
                );
            }
            Role::Support => {
                assert!(
                    response.body["data"]
                        .as_array()
                        .expect("data")
                        .iter()
                        .all(|a| a["kind"] == "self_service")
                );
            }
            _ => {}
        }
    }
}

/// Puts a one-item cart on the account (as admin) and returns the item id.
async fn cart_with_item(app: &TestApp, account: Uuid, subscription: Uuid) -> String {
    let current = app
        .get(
            &format!("/v1/accounts/{account}/subscriptions/{subscription}"),
            &app.admin(),
        )
        .await;
    let quantity = current.body["quantity"].as_i64().expect("quantity") + 1;
    let cart = app
        .add_item(
            account,
            &app.admin(),
            json!({"type": "change", "subscription_id": subscription, "quantity": quantity}),
        )
        .await;
    cart.assert_status(200);
    cart.body["items"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned()
}

#[actix_web::test]
async fn commerce_routes_follow_the_reach_and_role_rules() {
    let f = fixture().await;
    f.app.attach_card(f.accounts[0], "tok_visa").await;
    // One placed order (and invoice) per account to read back.
    let mut placed = Vec::new();
    for (i, account) in f.accounts.iter().enumerate() {
        cart_with_item(&f.app, *account, f.subscriptions[i]).await;
        let order = f
            .app
            .checkout(
                *account,
                &f.app.admin(),
                Some("setup"),
                None,
                json!({"reason": "setup"}),
            )
            .await;
        order.assert_status(201);
        placed.push((
            order.body["id"].as_str().expect("id").to_owned(),
            order.body["invoice_id"].as_str().expect("id").to_owned(),
        ));
    }

    for caller in &f.callers {
        for (i, account) in f.accounts.iter().enumerate() {
            let reach = caller.reach[i];
            let sub = f.subscriptions[i];
            let what = |route: &str| format!("{} {route} on account {i}", caller.name);
            let base = format!("/v1/accounts/{account}");

            let item = cart_with_item(&f.app, *account, sub).await;
            assert_reach(
                &f.app.get(&format!("{base}/cart"), &caller.token).await,
                reach,
                200,
                &what("GET cart"),
            );
            assert_reach(
                &f.app
                    .get(&format!("{base}/cart/quote"), &caller.token)
                    .await,
                reach,
                200,
                &what("GET quote"),
            );
            let response = f
                .app
                .patch(
                    &format!("{base}/cart/items/{item}"),
                    &caller.token,
                    json!({"billing_frequency": "annual"}),
                )
                .await;
            assert_reach(&response, reach, 200, &what("PATCH cart item"));
            let response = f
                .app
                .delete(&format!("{base}/cart/items/{item}"), &caller.token)
                .await;
            assert_reach(&response, reach, 204, &what("DELETE cart item"));
            let current = f
                .app
                .get(&format!("{base}/subscriptions/{sub}"), &f.app.admin())
                .await
                .body["quantity"]
                .as_i64()
                .expect("q");
            let response = f
                .app
                .add_item(
                    *account,
                    &caller.token,
                    json!({"type": "change", "subscription_id": sub, "quantity": current + 1}),
                )
                .await;
            assert_reach(&response, reach, 200, &what("POST cart item"));

            // Placing the order: representatives and support must give a reason.
            cart_with_item(&f.app, *account, sub).await;
            let key = format!("matrix-{}", Uuid::new_v4());
            let response = f
                .app
                .checkout(*account, &caller.token, Some(&key), None, json!({}))
                .await;
            let needs_reason = matches!(caller.role, Role::Representative | Role::Support);
            match (reach, !needs_reason) {
                (Reach::Yes, true) => {
                    response.assert_status(201);
                }
                (Reach::Yes, false) => {
                    response.assert_problem(422, "validation-failed");
                    assert_eq!(response.body["errors"][0]["field"], json!("reason"));
                }
                _ => assert_reach(&response, reach, 0, &what("POST checkout")),
            }

            let (order, invoice) = &placed[i];
            for path in [
                format!("{base}/orders"),
                format!("{base}/orders/{order}"),
                format!("{base}/invoices"),
                format!("{base}/invoices/{invoice}"),
                format!("{base}/subscriptions/{sub}/assignments"),
            ] {
                assert_reach(
                    &f.app.get(&path, &caller.token).await,
                    reach,
                    200,
                    &what(&format!("GET {path}")),
                );
            }
            // Another account's order is never found here.
            let (foreign_order, _) = &placed[1 - i];
            let response = f
                .app
                .get(&format!("{base}/orders/{foreign_order}"), &caller.token)
                .await;
            assert_reach(
                &response,
                if reach == Reach::Yes {
                    Reach::No
                } else {
                    reach
                },
                404,
                &what("foreign order"),
            );

            let user = new_user(&f.app, *account).await;
            let path = format!("{base}/subscriptions/{sub}/assignments/{user}");
            assert_reach(
                &f.app.put(&path, &caller.token, json!(null)).await,
                reach,
                201,
                &what("PUT assignment"),
            );
            f.app
                .put(&path, &f.app.admin(), json!(null))
                .await
                .assert_status(if reach == Reach::Yes { 200 } else { 201 });
            assert_reach(
                &f.app.delete(&path, &caller.token).await,
                reach,
                204,
                &what("DELETE assignment"),
            );
            let response = f
                .app
                .post(
                    &format!("{base}/subscriptions/{sub}/assignments/bulk"),
                    &caller.token,
                    json!({"operations": [{"user_id": user, "action": "assign"}]}),
                )
                .await;
            assert_reach(&response, reach, 200, &what("POST assignments/bulk"));
            for path in [format!("{base}/quotes"), format!("{base}/purchase-orders")] {
                assert_reach(
                    &f.app.get(&path, &caller.token).await,
                    reach,
                    200,
                    &what(&format!("GET {path}")),
                );
            }
            let number = format!("PO-{}", Uuid::new_v4().simple());
            let response = f
                .app
                .post(
                    &format!("{base}/purchase-orders"),
                    &caller.token,
                    json!({"number": number}),
                )
                .await;
            assert_reach(&response, reach, 201, &what("POST purchase-orders"));

            // Quotes: sent by the representative (or an admin), for corporate accounts only.
            cart_with_item(&f.app, *account, sub).await;
            let response = f
                .app
                .post(&format!("{base}/quotes"), &caller.token, json!({}))
                .await;
            let may_quote = matches!(caller.role, Role::Representative | Role::Admin) && i == 1;
            match reach {
                Reach::Yes if may_quote => {
                    response.assert_status(201);
                }
                Reach::Yes => {
                    response.assert_problem(403, "forbidden");
                }
                _ => assert_reach(&response, reach, 0, &what("POST quotes")),
            }
            f.app
                .delete(
                    &format!(
                        "{base}/cart/items/{}",
                        cart_with_item(&f.app, *account, sub).await
                    ),
                    &f.app.admin(),
                )
                .await;

            // Payments by transfer (SPEC §9): representative, support or admin, on an open
            // invoice.
            let (_, invoice) = &placed[i];
            let response = f
                .app
                .record_payment(
                    *account,
                    invoice,
                    &caller.token,
                    Some(&Uuid::new_v4().to_string()),
                    json!({"amount": "0.01", "method": "cheque"}),
                )
                .await;
            match reach {
                Reach::Yes
                    if matches!(
                        caller.role,
                        Role::Representative | Role::Support | Role::Admin
                    ) =>
                {
                    // The self-service invoice was paid by card; the corporate one is open.
                    response.assert_status(if i == 1 { 201 } else { 409 });
                }
                Reach::Yes => {
                    response.assert_problem(403, "forbidden");
                }
                _ => assert_reach(&response, reach, 0, &what("POST invoice payments")),
            }

            // Give the licence back so the next caller finds one free.
            f.app.delete(&path, &f.app.admin()).await.assert_status(204);
        }
    }
    crate::reconcile::assert_reconciled(&f.app).await;
}

#[actix_web::test]
async fn lifecycle_routes_follow_the_reach_and_role_rules() {
    let f = fixture().await;
    for caller in &f.callers {
        for (i, account) in f.accounts.iter().enumerate() {
            let reach = caller.reach[i];
            let what = |route: &str| format!("{} {route} on account {i}", caller.name);
            let subscription = f.subscriptions[i];
            let base = format!("/v1/accounts/{account}/subscriptions/{subscription}");

            // At the period end: any role in reach (and again: the same answer).
            let response = f
                .app
                .post(
                    &format!("{base}/cancel"),
                    &caller.token,
                    json!({"at_period_end": true}),
                )
                .await;
            assert_reach(&response, reach, 200, &what("POST cancel at period end"));
            let response = f
                .app
                .post(&format!("{base}/reactivate"), &caller.token, json!(null))
                .await;
            assert_reach(&response, reach, 200, &what("POST reactivate"));

            // At once: assisting roles only (without a reason it stops at the reason).
            let response = f
                .app
                .post(
                    &format!("{base}/cancel"),
                    &caller.token,
                    json!({"at_period_end": false}),
                )
                .await;
            match (reach, caller.role.is_assisting()) {
                (Reach::Yes, true) => {
                    response.assert_problem(422, "validation-failed");
                }
                (Reach::Yes, false) => {
                    response.assert_problem(403, "cancel-requires-assistance");
                }
                _ => assert_reach(&response, reach, 0, &what("POST cancel at once")),
            }

            // Paying an invoice: in reach, the invoice is looked up (none here: 404).
            let response = f
                .app
                .send_with(
                    Method::POST,
                    &format!("/v1/accounts/{account}/invoices/{}/pay", Uuid::now_v7()),
                    Some(&caller.token),
                    &[("Idempotency-Key", "pay-1")],
                    None,
                )
                .await;
            assert_reach(&response, reach, 404, &what("POST pay"));
        }
    }
}
