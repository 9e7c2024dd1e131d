//! The HTTP edge: CORS for configured browser origins, and the rate per caller.

use std::num::NonZeroU32;

use actix_web::http::Method;
use billing_center::http::HttpPolicy;
use billing_center::http::rate_limit::CallerRateLimiter;

use crate::helpers::{TestApp, hs256_settings};

const PORTAL: &str = "https://portal.example.com";

async fn with_portal_origin() -> TestApp {
    TestApp::spawn_with_policy(
        hs256_settings(),
        HttpPolicy {
            cors_allowed_origins: vec![PORTAL.to_owned()],
            rate_limiter: None,
        },
    )
    .await
}

#[actix_web::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_what_the_api_accepts() {
    let app = with_portal_origin().await;
    let account = app.self_service_account().await;
    let path = format!("/v1/accounts/{account}/cart/checkout");
    let preflight = app
        .send_with(
            Method::OPTIONS,
            &path,
            None,
            &[
                ("origin", PORTAL),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type, idempotency-key, if-match",
                ),
            ],
            None,
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(PORTAL)
    );
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let headers = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["authorization", "idempotency-key", "if-match"] {
        assert!(headers.contains(header), "{header} in {headers}");
    }
    assert_eq!(preflight.header("access-control-max-age"), Some("3600"));

    // The actual request: allowed, with the headers a browser client must read exposed.
    let contact = app.contact(account);
    let response = app
        .send_with(
            Method::GET,
            &format!("/v1/accounts/{account}"),
            Some(&contact),
            &[("origin", PORTAL)],
            None,
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(PORTAL));
    let exposed = response
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["etag", "x-request-id", "idempotent-replayed", "retry-after"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}

#[actix_web::test]
async fn another_origin_gets_no_cors_grant() {
    let app = with_portal_origin().await;
    let account = app.self_service_account().await;
    let contact = app.contact(account);
    let response = app
        .send_with(
            Method::GET,
            &format!("/v1/accounts/{account}"),
            Some(&contact),
            &[("origin", "https://evil.example.net")],
            None,
        )
        .await;
    assert_eq!(response.header("access-control-allow-origin"), None);
    let preflight = app
        .send_with(
            Method::OPTIONS,
            &format!("/v1/accounts/{account}"),
            None,
            &[
                ("origin", "https://evil.example.net"),
                ("access-control-request-method", "GET"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn without_configured_origins_there_is_no_cors() {
    let app = TestApp::spawn().await;
    let preflight = app
        .send_with(
            Method::OPTIONS,
            "/v1/catalog/products",
            None,
            &[("origin", PORTAL), ("access-control-request-method", "GET")],
            None,
        )
        .await;
    preflight.assert_problem(405, "method-not-allowed");
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_while_others_go_on() {
    let one = NonZeroU32::MIN;
    let three = NonZeroU32::new(3).unwrap();
    let app = TestApp::spawn_with_policy(
        hs256_settings(),
        HttpPolicy {
            cors_allowed_origins: Vec::new(),
            rate_limiter: Some(CallerRateLimiter::new(one, three)),
        },
    )
    .await;
    let admin = app.admin();
    for remaining in ["2", "1", "0"] {
        let response = app.get("/v1/catalog/products", &admin).await;
        response.assert_status(200);
        assert_eq!(response.header("ratelimit-limit"), Some("3"));
        assert_eq!(response.header("ratelimit-remaining"), Some(remaining));
        assert!(response.header("ratelimit-reset").is_some());
    }
    let refused = app.get("/v1/catalog/products", &admin).await;
    refused.assert_problem(429, "rate-limited");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));

    // Another caller has its own allowance; a request without a valid token is not
    // counted against anyone (it is refused before).
    let support = app.support();
    app.get("/v1/catalog/products", &support)
        .await
        .assert_status(200);
    app.send(
        Method::GET,
        "/v1/catalog/products",
        Some("not-a-token"),
        None,
    )
    .await
    .assert_problem(401, "unauthenticated");
    // Ops endpoints are never limited.
    for _ in 0..5 {
        app.send(Method::GET, "/healthz", None, None)
            .await
            .assert_status(200);
    }
}
