//! The committed OpenAPI document is exactly what the handlers generate.

use crate::helpers::TestApp;

#[test]
fn the_committed_document_matches_the_code() {
    let generated = serde_json::to_string_pretty(&billing_center::openapi_document())
        .expect("serialise")
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the code: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[actix_web::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::spawn().await;
    let served = app
        .send(actix_web::http::Method::GET, "/openapi.json", None, None)
        .await;
    served.assert_status(200);
    assert_eq!(
        served.body,
        serde_json::to_value(billing_center::openapi_document()).expect("json")
    );
    // Every /v1 operation requires the bearer scheme (its own `security`, or the document's
    // when it declares none) and documents 401.
    let requires_bearer = |security: &serde_json::Value| {
        security.as_array().is_some_and(|alternatives| {
            !alternatives.is_empty() && alternatives.iter().all(|a| a.get("bearer").is_some())
        })
    };
    let mut checked = 0;
    for (path, item) in served.body["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            if path.starts_with("/v1/") {
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{method} {path} documents 401"
                );
                let security = operation
                    .get("security")
                    .unwrap_or(&served.body["security"]);
                assert!(
                    requires_bearer(security),
                    "{method} {path} requires the bearer scheme: {security}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} /v1 operations checked");
    assert!(served.body["components"]["securitySchemes"]["bearer"].is_object());
}

#[actix_web::test]
async fn the_invoice_number_example_has_the_shape_of_real_numbers() {
    let app = TestApp::spawn().await;
    let account = crate::lists::account_with_orders(&app, 1).await;
    let invoices = app
        .get(&format!("/v1/accounts/{account}/invoices"), &app.admin())
        .await;
    invoices.assert_status(200);
    let real = invoices.body["data"][0]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let document = serde_json::to_value(billing_center::openapi_document()).expect("json");
    let example =
        document["components"]["schemas"]["InvoiceView"]["properties"]["number"]["example"]
            .as_str()
            .expect("an example")
            .to_owned();
    let shape = |number: &str| -> String {
        number
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect()
    };
    assert_eq!(
        shape(&example),
        shape(&real),
        "example {example}, real {real}"
    );
}
