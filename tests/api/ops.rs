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
    assert!(text.contains("# TYPE db_statements counter"), "{text}");
}
