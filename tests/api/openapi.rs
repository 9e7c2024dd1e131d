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

/// The document is as strict as the server: a value it allows is one the server accepts.
#[test]
fn the_document_states_the_servers_input_rules() {
    let document = serde_json::to_value(billing_center::openapi_document()).expect("json");
    let schemas = &document["components"]["schemas"];
    let pattern = |schema: &str, field: &str| {
        schemas[schema]["properties"][field]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} has a pattern"))
            .to_owned()
    };
    use billing_center::domain::money::AMOUNT_PATTERN;
    use billing_center::domain::period::REQUEST_DATE_PATTERN;
    assert_eq!(
        pattern("CreatePurchaseOrder", "amount_limit"),
        AMOUNT_PATTERN
    );
    assert_eq!(pattern("RecordPayment", "amount"), AMOUNT_PATTERN);
    for (schema, field) in [
        ("CreatePurchaseOrder", "expires_on"),
        ("RecordPayment", "received_on"),
        ("ImportSubscription", "current_period_start"),
        ("ImportSubscription", "trial_ends_on"),
    ] {
        assert_eq!(
            pattern(schema, field),
            REQUEST_DATE_PATTERN,
            "{schema}.{field}"
        );
    }
    // Every date a request carries is bounded.
    for (name, schema) in schemas.as_object().expect("schemas") {
        let mut dates = Vec::new();
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            if property["format"] == "date" {
                dates.push((field, property));
            }
        }
        let is_request = !schema["additionalProperties"].is_null();
        for (field, property) in dates.into_iter().filter(|_| is_request) {
            assert_eq!(
                property["pattern"].as_str(),
                Some(REQUEST_DATE_PATTERN),
                "{name}.{field}"
            );
        }
    }

    let mut keys = 0;
    let mut preconditions = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let what = format!("{method} {path} {}", parameter["name"]);
                match parameter["name"].as_str() {
                    Some("Idempotency-Key") => {
                        keys += 1;
                        assert_eq!(parameter["in"], "header", "{what}");
                        assert_eq!(parameter["schema"]["minLength"], 1, "{what}");
                        assert_eq!(parameter["schema"]["maxLength"], 255, "{what}");
                        assert_eq!(parameter["schema"]["pattern"], "^[!-~]{1,255}$", "{what}");
                    }
                    Some("If-Match") => {
                        preconditions += 1;
                        assert!(parameter["schema"]["pattern"].is_string(), "{what}");
                        assert!(
                            parameter["description"]
                                .as_str()
                                .is_some_and(|d| d.contains("412")),
                            "{what}"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(
        keys >= 2 && preconditions >= 5,
        "{keys} keys, {preconditions} If-Match"
    );
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

/// Enums in the document carry the names the API sends (snake_case), not Rust's.
#[test]
fn enum_schemas_list_the_names_on_the_wire() {
    let document = serde_json::to_value(billing_center::openapi_document()).expect("json");
    let schemas = &document["components"]["schemas"];
    for (schema, names) in [
        ("OrderStatus", vec!["pending", "completed", "voided"]),
        ("CartStatus", vec!["open", "checking_out", "checked_out"]),
        ("ItemKind", vec!["change", "subscribe", "renewal"]),
        ("AccountKind", vec!["self_service", "corporate"]),
        ("BillingFrequency", vec!["monthly", "annual"]),
        ("Settlement", vec!["card", "invoice", "none"]),
    ] {
        assert_eq!(
            schemas[schema]["enum"],
            serde_json::json!(names),
            "{schema}"
        );
    }
}
