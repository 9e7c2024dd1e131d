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
