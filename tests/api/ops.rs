//! Health, readiness, metrics, and the docs served from the binary.

use actix_web::http::Method;

use crate::helpers::TestApp;

#[actix_web::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let health = app.send(Method::GET, "/healthz", None, None).await;
    health.assert_status(200);
    assert_eq!(health.body["status"], "ok");
    app.send(Method::GET, "/readyz", None, None)
        .await
        .assert_status(200);

    app.get("/v1/catalog/products", &app.admin())
        .await
        .assert_status(200);
    let metrics = app.send(Method::GET, "/metrics", None, None).await;
    metrics.assert_status(200);
    let text = String::from_utf8_lossy(&metrics.raw);
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/v1/catalog/products",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
}

/// What a Prometheus scraper reads: every family typed, the request counter with samples
/// under its own name, the process, the pool and the business counters.
#[actix_web::test]
async fn a_prometheus_parser_reads_every_family_typed() {
    let app = TestApp::spawn().await;
    let account = app.self_service_account().await;
    let subscription = app
        .import_active(account, "standard", "monthly", 5, "2026-11-17")
        .await;
    let contact = app.contact(account);
    app.add_item(
        account,
        &contact,
        serde_json::json!({"type": "change", "subscription_id": subscription, "quantity": 7}),
    )
    .await
    .assert_status(200);
    // No card on file: refused, then placed once a card is attached.
    app.checkout(account, &contact, Some("k-1"), None, serde_json::json!({}))
        .await
        .assert_status(422);
    app.attach_card(account, "tok_visa").await;
    app.checkout(account, &contact, Some("k-1"), None, serde_json::json!({}))
        .await
        .assert_status(201);
    app.checkout(account, &contact, Some("k-1"), None, serde_json::json!({}))
        .await
        .assert_status(201);

    let response = app.send(Method::GET, "/metrics", None, None).await;
    let text = String::from_utf8_lossy(&response.raw).into_owned();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("a valid exposition");
    let untyped: Vec<&str> = scrape
        .samples
        .iter()
        .filter(|s| matches!(s.value, prometheus_parse::Value::Untyped(_)))
        // This parser leaves a histogram's `_sum` and `_count` untyped; the format makes
        // them part of the histogram family declared above them.
        .filter(|s| {
            let family = s
                .metric
                .strip_suffix("_sum")
                .or_else(|| s.metric.strip_suffix("_count"));
            !family.is_some_and(|f| text.contains(&format!("# TYPE {f} histogram\n")))
        })
        .map(|s| s.metric.as_str())
        .collect();
    assert!(untyped.is_empty(), "untyped series: {untyped:?}\n{text}");
    let value = |metric: &str, labels: &[(&str, &str)]| -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert!(
        value("http_requests_total", &[("status", "201")]).is_some_and(|v| v >= 1.0),
        "{text}"
    );
    for (outcome, count) in [
        ("payment-method-required", 1.0),
        ("placed", 1.0),
        ("replayed", 1.0),
    ] {
        assert_eq!(
            value(
                "billing_order_requests_total",
                &[("operation", "checkout"), ("outcome", outcome)]
            ),
            Some(count),
            "{outcome}: {text}"
        );
    }
    assert_eq!(
        value(
            "billing_orders_placed_total",
            &[("settlement", "card"), ("source", "cart")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value("process_cpu_seconds_total", &[]).is_some(),
        "whole seconds: present, maybe 0 this early: {text}"
    );
    for gauge in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "db_pool_connections",
        "db_pool_max_connections",
        "db_statements_total",
    ] {
        assert!(
            value(gauge, &[]).is_some_and(|v| v > 0.0),
            "{gauge}: {text}"
        );
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let redirect = app.send(Method::GET, "/swagger-ui", None, None).await;
    assert!(redirect.status.is_redirection());
    assert_eq!(redirect.header("location"), Some("/swagger-ui/"));
    let page = app.send(Method::GET, "/swagger-ui/", None, None).await;
    page.assert_status(200);
    let html = String::from_utf8_lossy(&page.raw);
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no CDN: {html}");
    let init = app
        .send(
            Method::GET,
            "/swagger-ui/swagger-initializer.js",
            None,
            None,
        )
        .await;
    init.assert_status(200);
    let js = String::from_utf8_lossy(&init.raw);
    assert!(js.contains(r#""url": "/openapi.json""#), "{js}");
    assert!(
        js.contains(r#""validatorUrl": "none""#),
        "no outside validator: {js}"
    );
    app.send(Method::GET, "/swagger-ui/swagger-ui-bundle.js", None, None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn security_headers_on_the_api_and_the_docs() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let api_responses = [
        app.get("/v1/catalog/products", &admin).await,
        app.send(Method::GET, "/v1/catalog/products", None, None)
            .await,
        app.get("/v1/accounts/not-an-id", &admin).await,
    ];
    for response in &api_responses {
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
    for path in ["/healthz", "/metrics", "/openapi.json", "/nothing-here"] {
        let response = app.send(Method::GET, path, None, None).await;
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }

    for path in [
        "/swagger-ui",
        "/swagger-ui/",
        "/swagger-ui/swagger-initializer.js",
    ] {
        let response = app.send(Method::GET, path, None, None).await;
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        let csp = response.header("content-security-policy").expect("CSP");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
            "img-src 'self' data:",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-"), "{csp}");
    }

    // The page runs only same-origin script files: no inline script the policy would block.
    let page = app.send(Method::GET, "/swagger-ui/", None, None).await;
    let html = String::from_utf8_lossy(&page.raw);
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"./").count(),
        "{html}"
    );
    for asset in html
        .split(['"', '\''])
        .filter(|s| s.starts_with("./") || s.ends_with(".css"))
    {
        let path = format!("/swagger-ui/{}", asset.trim_start_matches("./"));
        app.send(Method::GET, &path, None, None)
            .await
            .assert_status(200);
    }
    // The one inline `<style>` (in the preset's logo) is allowed by its exact hash.
    let preset = app
        .send(
            Method::GET,
            "/swagger-ui/swagger-ui-standalone-preset.js",
            None,
            None,
        )
        .await;
    let preset = String::from_utf8_lossy(&preset.raw);
    let marker = r#"createElement("style",null,""#;
    let styles: Vec<&str> = preset
        .match_indices(marker)
        .filter_map(|(at, _)| preset[at + marker.len()..].split('"').next())
        .collect();
    assert_eq!(styles.len(), 1, "inline styles of the preset: {styles:?}");
    let csp = page.header("content-security-policy").expect("CSP");
    let hash = {
        use sha2::Digest;
        let url_safe = crate::auth::base64_url::encode(&sha2::Sha256::digest(styles[0]));
        let mut standard = url_safe.replace('-', "+").replace('_', "/");
        while !standard.len().is_multiple_of(4) {
            standard.push('=');
        }
        standard
    };
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");

    // A pasted token is not kept in the browser's local storage.
    let init = app
        .send(
            Method::GET,
            "/swagger-ui/swagger-initializer.js",
            None,
            None,
        )
        .await;
    let js = String::from_utf8_lossy(&init.raw);
    assert!(js.contains(r#""persistAuthorization": false"#), "{js}");
}

#[actix_web::test]
async fn the_pool_counts_statements_and_transactions_and_metrics_export_them() {
    use billing_center::db::QueryCounts;
    use diesel_async::{AsyncConnection, RunQueryDsl};

    let app = TestApp::spawn().await;
    let queries = app.state.pool.queries().clone();
    let before = queries.counts();
    {
        let mut conn = app.state.pool.get().await.expect("connection");
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .expect("select");
        // BEGIN, two statements, a savepoint with one statement, COMMIT: two statements of
        // ours and one transaction; the transaction control is not counted as statements.
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::sql_query("SELECT 2").execute(conn).await?;
            conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                diesel::sql_query("SELECT 3").execute(conn).await
            })
            .await?;
            Ok(())
        })
        .await
        .expect("transaction");
    }
    assert_eq!(
        queries.counts().since(before),
        QueryCounts {
            statements: 3,
            transactions: 1
        }
    );

    let metrics = app.send(Method::GET, "/metrics", None, None).await;
    metrics.assert_status(200);
    let text = String::from_utf8_lossy(&metrics.raw);
    let counts = queries.counts();
    assert!(
        text.contains(&format!("\ndb_statements_total {}\n", counts.statements)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\ndb_transactions_total {}\n",
            counts.transactions
        )),
        "{text}"
    );
    assert!(
        text.contains("# TYPE db_statements_total counter\n"),
        "{text}"
    );
}

/// The container's HEALTHCHECK (`billing-center healthcheck`) against the real server on a
/// free port: ready while it serves, not ready once it has stopped.
#[actix_web::test]
async fn healthcheck_passes_while_the_server_serves_and_fails_once_it_is_down() {
    use std::time::Duration;

    use billing_center::healthcheck::probe_readyz;

    let app = TestApp::spawn().await;
    let state = app.state.clone();
    let server = actix_web::HttpServer::new(move || billing_center::build_app(state.clone()))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind a free port");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    probe_readyz(addr, Duration::from_secs(2))
        .await
        .expect("ready while serving");
    let up = run_healthcheck(addr).await;
    assert!(up.status.success(), "{up:?}");
    assert!(
        String::from_utf8_lossy(&up.stdout).contains("ready"),
        "{up:?}"
    );

    handle.stop(true).await;
    let error = probe_readyz(addr, Duration::from_secs(2))
        .await
        .expect_err("not ready once stopped");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
    let down = run_healthcheck(addr).await;
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(stderr.contains("not ready"), "{stderr}");
    assert!(
        stderr.contains(&format!("http://{addr}/readyz")),
        "{stderr}"
    );
}

/// Runs the binary's `healthcheck` as the image does: the address from `BIND_ADDR`.
async fn run_healthcheck(addr: std::net::SocketAddr) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_billing-center"))
            .arg("healthcheck")
            .env("BIND_ADDR", addr.to_string())
            .output()
            .expect("run billing-center healthcheck")
    })
    .await
    .expect("join")
}
