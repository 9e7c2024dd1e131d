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
        ("ItemKind", vec!["change", "subscribe", "renewal", "cancel"]),
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
    let event_types: Vec<&str> = billing_center::domain::event::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(schemas["EventType"]["enum"], serde_json::json!(event_types));
    assert!(event_types.contains(&"webhook.test") && event_types.contains(&"order.placed"));
    assert_eq!(
        schemas["NotificationTemplate"]["enum"],
        serde_json::json!([
            "order_confirmation",
            "renewal_invoice",
            "renewal_receipt",
            "payment_failed",
            "trial_ending",
            "cancellation_scheduled",
            "subscription_canceled",
            "change_request_submitted",
            "change_request_withdrawn",
            "change_request_quoted",
            "change_request_declined"
        ])
    );
}

/// The document generated clients are built from: one named schema per resource, enums by
/// reference, a plain `Problem`, every operation and response described.
mod for_generated_clients {
    use serde_json::{Value, json};

    fn document() -> Value {
        serde_json::to_value(billing_center::openapi_document()).expect("json")
    }

    fn schema_name(reference: &Value) -> Option<&str> {
        reference
            .get("$ref")?
            .as_str()?
            .strip_prefix("#/components/schemas/")
    }

    /// Every `$ref` under `value`, transitively through the component schemas.
    fn referenced(document: &Value, value: &Value, found: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = schema_name(value)
                    && found.insert(name.to_owned())
                {
                    referenced(document, &document["components"]["schemas"][name], found);
                }
                for member in map.values() {
                    referenced(document, member, found);
                }
            }
            Value::Array(items) => {
                for item in items {
                    referenced(document, item, found);
                }
            }
            _ => {}
        }
    }

    fn operations(document: &Value) -> Vec<(String, &Value)> {
        let mut all = Vec::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                all.push((format!("{method} {path}"), operation));
            }
        }
        all
    }

    #[test]
    fn no_list_inlines_its_items_and_every_response_body_is_a_named_schema() {
        let document = document();
        let schemas = document["components"]["schemas"]
            .as_object()
            .expect("schemas");
        let mut lists = 0;
        for (name, schema) in schemas {
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                if property["type"] == "array" {
                    let items = &property["items"];
                    assert!(
                        items.get("properties").is_none() && items.get("oneOf").is_none(),
                        "{name}.{field} inlines its items: {items}"
                    );
                }
            }
            if name.starts_with("List_") {
                lists += 1;
                let item = schema_name(&schema["properties"]["data"]["items"])
                    .unwrap_or_else(|| panic!("{name}.data refers to its item schema"));
                assert_eq!(name.strip_prefix("List_"), Some(item), "{name}");
                assert!(schemas.contains_key(item), "{item} exists");
            }
        }
        assert!(lists >= 9, "{lists} list schemas");
        for (operation, body) in operations(&document) {
            for (status, response) in body["responses"].as_object().expect("responses") {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if media.ends_with("json") {
                        assert!(
                            schema_name(&content["schema"]).is_some(),
                            "{operation} {status}: a named schema"
                        );
                    }
                }
            }
        }
    }

    /// An enum a response carries is a named schema, so a client can send it back as is.
    #[test]
    fn every_enum_in_a_response_is_a_named_schema() {
        let document = document();
        let mut in_responses = std::collections::BTreeSet::new();
        for (_, operation) in operations(&document) {
            referenced(&document, &operation["responses"], &mut in_responses);
        }
        assert!(in_responses.contains("SubscriptionView") && in_responses.contains("EventView"));
        fn inline_enums(value: &Value, at: String, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if map.contains_key("enum") {
                        found.push(at.clone());
                    }
                    for (key, member) in map {
                        inline_enums(member, format!("{at}.{key}"), found);
                    }
                }
                Value::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        inline_enums(item, format!("{at}[{index}]"), found);
                    }
                }
                _ => {}
            }
        }
        let schemas = &document["components"]["schemas"];
        let mut inline = Vec::new();
        for name in &in_responses {
            let schema = &schemas[name.as_str()];
            if schema.get("enum").is_some() {
                continue; // the named enum itself
            }
            inline_enums(schema, name.clone(), &mut inline);
        }
        assert!(inline.is_empty(), "enums inlined in responses: {inline:?}");
        for (schema, field, named) in [
            ("SubscriptionView", "billing_frequency", "BillingFrequency"),
            ("SubscriptionView", "status", "SubscriptionStatus"),
            ("CartItemView", "type", "ItemKind"),
            ("AccountView", "kind", "AccountKind"),
            ("ActorView", "role", "Role"),
            ("OrderView", "status", "OrderStatus"),
            ("InvoiceView", "status", "InvoiceStatus"),
        ] {
            // A nullable enum is `oneOf: [null, $ref]`: still the named schema.
            let property = &schemas[schema]["properties"][field];
            let referenced = schema_name(property).or_else(|| {
                property["oneOf"]
                    .as_array()
                    .and_then(|members| members.iter().find_map(schema_name))
            });
            assert_eq!(referenced, Some(named), "{schema}.{field}");
        }
    }

    #[test]
    fn problem_is_a_plain_object_with_every_member_problems_carry() {
        let document = document();
        let problem = &document["components"]["schemas"]["Problem"];
        assert_eq!(problem["type"], "object");
        for composition in ["allOf", "oneOf", "anyOf"] {
            assert!(
                problem.get(composition).is_none(),
                "Problem has {composition}"
            );
        }
        assert_eq!(
            problem["required"],
            json!(["type", "title", "status", "detail", "code"])
        );
        let properties = problem["properties"].as_object().expect("properties");
        assert_eq!(
            schema_name(&properties["errors"]["items"]),
            Some("FieldError")
        );
        assert_eq!(
            schema_name(&properties["requirements"]["items"]),
            Some("Requirement")
        );
        assert_eq!(properties["code"]["type"], "string");
        // Every extension member a problem is given somewhere in the code is documented.
        let mut keys = std::collections::BTreeSet::new();
        let mut sources = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = sources.pop() {
            if path.is_dir() {
                sources.extend(
                    std::fs::read_dir(&path)
                        .expect("dir")
                        .map(|e| e.expect("entry").path()),
                );
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for part in text.split(".with_extension(").skip(1) {
                let key = part
                    .trim_start()
                    .strip_prefix('"')
                    .and_then(|rest| rest.split('"').next());
                keys.insert(key.expect("a literal key").to_owned());
            }
        }
        assert!(
            keys.contains("requirements") && keys.len() >= 10,
            "{keys:?}"
        );
        for key in keys {
            assert!(properties.contains_key(&key), "Problem documents `{key}`");
        }
    }

    #[test]
    fn every_operation_and_response_is_described() {
        let document = document();
        assert_eq!(document["servers"][0]["url"], "/");
        let mut checked = 0;
        for (operation, body) in operations(&document) {
            for field in ["summary", "description", "operationId"] {
                assert!(
                    body[field]
                        .as_str()
                        .is_some_and(|text| !text.trim().is_empty()),
                    "{operation} has a {field}"
                );
            }
            assert!(
                !body["summary"].as_str().unwrap_or_default().contains('\n'),
                "{operation}: a one-line summary"
            );
            for (status, response) in body["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{operation} {status} is described"
                );
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{operation} {status} documents X-Request-Id"
                );
            }
            checked += 1;
        }
        assert!(checked > 30, "{checked} operations");
    }

    /// Swagger UI shows an example for every value (never "string", nor a 0 it made up);
    /// every request body has an example of its own.
    #[test]
    fn every_value_has_a_realistic_example() {
        let document = document();
        let text = document.to_string();
        assert!(!text.contains(r#""example":"string""#));
        for (name, schema) in document["components"]["schemas"]
            .as_object()
            .expect("schemas")
        {
            let mut properties: Vec<(&String, &Value)> = Vec::new();
            properties.extend(schema["properties"].as_object().into_iter().flatten());
            for variant in schema["oneOf"].as_array().into_iter().flatten() {
                properties.extend(variant["properties"].as_object().into_iter().flatten());
            }
            for (field, property) in properties {
                let is = |kind: &str| {
                    property["type"] == kind
                        || property["type"]
                            .as_array()
                            .is_some_and(|t| t.contains(&json!(kind)))
                };
                // A uuid, date or time shows as one; free text and numbers need an example.
                let self_explaining = property.get("enum").is_some()
                    || property.get("$ref").is_some()
                    || (is("string") && property.get("format").is_some());
                if (is("string") || is("integer") || is("number")) && !self_explaining {
                    assert!(
                        property.get("example").is_some(),
                        "{name}.{field} has an example"
                    );
                }
            }
        }
        for (operation, body) in operations(&document) {
            if let Some(request) = body.get("requestBody") {
                assert!(
                    request["content"]["application/json"]["example"].is_object(),
                    "{operation}: the request body has an example"
                );
            }
        }
        let checkout = &document["paths"]["/v1/accounts/{account_id}/cart/checkout"]["post"];
        assert_eq!(
            checkout["requestBody"]["content"]["application/json"]["example"],
            json!({}),
            "Swagger UI's prefilled checkout places a contact's order and records nothing made up"
        );
    }
}

/// What Swagger UI prefills works on the demo data (`scripts/dev`): the path ids default to
/// the demo account, its subscription and its first user, and each request body example is
/// accepted as it is.
#[actix_web::test]
async fn the_request_examples_work_on_the_demo_data() {
    use actix_web::http::Method;
    use billing_center::seed::{DEMO_CORPORATE, DEMO_REPRESENTATIVE, DEMO_SELF_SERVICE};

    let app = TestApp::spawn().await;
    {
        let mut conn = app.state.pool.get().await.expect("connection");
        let catalog = app.state.catalog.get();
        billing_center::seed::seed_demo(&mut conn, &catalog, app.state.clock.today())
            .await
            .expect("demo data");
    }
    let document = serde_json::to_value(billing_center::openapi_document()).expect("json");
    // The path with each parameter's example, or the value given for it.
    let url = |path: &str, method: &str, given: &[(&str, String)]| -> String {
        let mut url = path.to_owned();
        for parameter in document["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
        {
            let name = parameter["name"].as_str().expect("name");
            let value = given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| parameter["example"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("{method} {path}: an example for {name}"));
            url = url.replace(&format!("{{{name}}}"), &value);
        }
        url
    };
    let example = |path: &str, method: &str| {
        document["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]
            .clone()
    };
    let contact = app.contact(DEMO_SELF_SERVICE);
    let admin = app.admin();
    let representative = app.representative(DEMO_REPRESENTATIVE);
    let corporate = DEMO_CORPORATE.to_string();
    let mut item_id = String::new();
    /// A call with the document's example body: `key` is the method as the document spells it.
    struct Call<'a> {
        key: &'a str,
        path: &'a str,
        token: &'a str,
        given: Vec<(&'a str, String)>,
        headers: &'a [(&'a str, &'a str)],
        status: u16,
    }
    let call = |key, path, token, status| Call {
        key,
        path,
        token,
        given: Vec::new(),
        headers: &[],
        status,
    };
    let calls = [
        call(
            "put",
            "/v1/accounts/{account_id}/payment-method",
            &contact,
            200,
        ),
        call("patch", "/v1/accounts/{account_id}", &contact, 200),
        call("post", "/v1/accounts/{account_id}/users", &contact, 201),
        call(
            "post",
            "/v1/accounts/{account_id}/cart/items",
            &contact,
            200,
        ),
        call(
            "patch",
            "/v1/accounts/{account_id}/cart/items/{item_id}",
            &contact,
            200,
        ),
        Call {
            headers: &[("Idempotency-Key", "swagger-ui-prefill")],
            ..call(
                "post",
                "/v1/accounts/{account_id}/cart/checkout",
                &contact,
                201,
            )
        },
        call(
            "post",
            "/v1/accounts/{account_id}/subscriptions/{subscription_id}/assignments/bulk",
            &contact,
            200,
        ),
        call(
            "post",
            "/v1/accounts/{account_id}/subscriptions",
            &admin,
            201,
        ),
        call("post", "/v1/accounts", &admin, 201),
        Call {
            given: vec![("account_id", corporate.clone())],
            ..call(
                "post",
                "/v1/accounts/{account_id}/purchase-orders",
                &representative,
                201,
            )
        },
    ];
    for Call {
        key,
        path,
        token,
        mut given,
        headers,
        status,
    } in calls
    {
        if path.contains("{item_id}") {
            given.push(("item_id", item_id.clone()));
        }
        let method = Method::from_bytes(key.to_uppercase().as_bytes()).expect("method");
        let response = app
            .send_with(
                method,
                &url(path, key, &given),
                Some(token),
                headers,
                Some(example(path, key)),
            )
            .await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{key} {path} with its example: {}",
            response.body
        );
        if path.ends_with("/cart/items") {
            item_id = response.body["items"][0]["id"]
                .as_str()
                .expect("item id")
                .to_owned();
        }
    }
}
