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
