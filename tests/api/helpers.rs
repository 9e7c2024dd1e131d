//! The test harness: the real application on a fresh database, a pinned clock, tokens for
//! every role, and small request helpers.

use billing_center::services::webhooks::url_rules::UrlPolicy;
use std::sync::Arc;

use actix_http::Request;
use actix_service::boxed::{RcService, rc_service};
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use billing_center::auth::Role;
use billing_center::auth::jwt::JwtVerifier;
use billing_center::clock::{Clock, FixedClock};
use billing_center::config::{JwtKeySource, JwtSettings};
use billing_center::http::HttpPolicy;
use billing_center::metrics::Metrics;
use billing_center::payments::TestGateway;
use billing_center::services::catalog::{self, CatalogCache};
use billing_center::{AppState, build_app, db};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::TestDatabase;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789";
pub const ISSUER: &str = "billing-center-test";
pub const AUDIENCE: &str = "billing-center-api";

pub fn hs256_settings() -> JwtSettings {
    JwtSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        keys: JwtKeySource::Hs256Secret(SECRET.into()),
        leeway_seconds: 5,
        using_development_secret: false,
    }
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Noon UTC on 2026-11-27 unless a test moves it.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid instant")
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// `WEBHOOKS_ALLOW_HTTP=true` and `WEBHOOKS_ALLOW_PRIVATE=true`: the development switches.
pub const LOCAL_WEBHOOKS: UrlPolicy = UrlPolicy {
    allow_http: true,
    allow_private: true,
};

pub struct TestApp {
    pub service: RcService<Request, ServiceResponse, actix_web::Error>,
    pub state: AppState,
    pub clock: FixedClock,
    pub gateway: Arc<TestGateway>,
    _database: TestDatabase,
    minter: JwtVerifier,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem `code` of an error response.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type"
        );
        assert_eq!(self.code(), code, "problem code; body: {}", self.body);
        assert_eq!(self.body["status"], json!(status));
        assert!(
            self.body["title"].is_string()
                && self.body["detail"].is_string()
                && self.body["type"].is_string()
        );
        self
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(hs256_settings()).await
    }

    pub async fn spawn_with(jwt: JwtSettings) -> TestApp {
        TestApp::spawn_with_policy(jwt, HttpPolicy::default()).await
    }

    /// An app with CORS origins or a rate limit (none in the other tests).
    pub async fn spawn_with_policy(jwt: JwtSettings, http_policy: HttpPolicy) -> TestApp {
        TestApp::spawn_configured(jwt, http_policy, false, LOCAL_WEBHOOKS).await
    }

    /// An app with `TEST_CLOCKS=enabled` (SPEC §15).
    pub async fn spawn_with_test_clocks() -> TestApp {
        TestApp::spawn_configured(
            hs256_settings(),
            HttpPolicy::default(),
            true,
            LOCAL_WEBHOOKS,
        )
        .await
    }

    /// An app with the production rules for webhook URLs (https, no private hosts); the
    /// others allow `http://127.0.0.1` so that tests deliver to receivers they start.
    pub async fn spawn_with_strict_webhook_urls() -> TestApp {
        let strict = UrlPolicy {
            allow_http: false,
            allow_private: false,
        };
        TestApp::spawn_configured(hs256_settings(), HttpPolicy::default(), false, strict).await
    }

    async fn spawn_configured(
        jwt: JwtSettings,
        http_policy: HttpPolicy,
        test_clocks: bool,
        webhook_urls: UrlPolicy,
    ) -> TestApp {
        let database = TestDatabase::create().await;
        let pool = db::build_pool(&database.url, 24).expect("pool");
        let catalog = {
            let mut conn = pool.get().await.expect("connection");
            catalog::load(&mut conn).await.expect("catalog")
        };
        let clock = FixedClock::new(default_now());
        let gateway = Arc::new(TestGateway::new());
        let metrics = Arc::new(Metrics::new().with_pool(pool.clone()));
        let state = AppState {
            pool,
            jwt: Arc::new(JwtVerifier::from_settings(&jwt).expect("jwt keys")),
            clock: Arc::new(clock.clone()),
            gateway: gateway.clone(),
            metrics,
            catalog: CatalogCache::new(catalog),
            seller_country: "IE".into(),
            http: Arc::new(http_policy),
            test_clocks,
            dunning_retry_days: billing_center::domain::dunning::DEFAULT_RETRY_DAYS
                .to_vec()
                .into(),
            webhook_urls,
        };
        let service = rc_service(test::init_service(build_app(state.clone())).await);
        let minter = JwtVerifier::from_settings(&hs256_settings()).expect("minter");
        TestApp {
            service,
            state,
            clock,
            gateway,
            _database: database,
            minter,
        }
    }

    /// Runs SQL statements on this test's database (setting up data no endpoint creates).
    pub async fn sql(&self, statements: &str) {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = self.state.pool.get().await.expect("connection");
        conn.batch_execute(statements).await.expect("sql");
    }

    /// The rows of a query, each as its columns' text, in order.
    pub async fn sql_rows(&self, query: &str) -> Vec<Vec<String>> {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
            columns: Vec<String>,
        }
        let mut conn = self.state.pool.get().await.expect("connection");
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT (SELECT array_agg(value ORDER BY ordinality) \
                     FROM json_each_text(row_to_json(q)) WITH ORDINALITY) AS columns \
             FROM ({query}) q"
        ))
        .load(&mut conn)
        .await
        .expect("query");
        rows.into_iter().map(|r| r.columns).collect()
    }

    /// The URL of this test's own database (fault tests open side connections to it).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// Moves the pinned clock forward, e.g. past a lease.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.clock.set(self.clock.now() + by);
    }

    pub fn set_today(&self, day: &str) {
        let instant = date(day).and_hms_opt(12, 0, 0).expect("time").and_utc();
        self.clock.set(instant);
    }

    pub fn token(&self, role: Role, sub: &str, account: Option<Uuid>) -> String {
        self.minter.mint(role, sub, account, 3600).expect("mint")
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, "admin-1", None)
    }

    pub fn support(&self) -> String {
        self.token(Role::Support, "support-1", None)
    }

    pub fn contact(&self, account: Uuid) -> String {
        self.token(Role::BillingContact, "contact-1", Some(account))
    }

    pub fn corporate_contact(&self, account: Uuid) -> String {
        self.token(Role::CorporateContact, "corp-contact-1", Some(account))
    }

    pub fn representative(&self, sub: &str) -> String {
        self.token(Role::Representative, sub, None)
    }

    pub async fn call(&self, request: Request) -> Response {
        let response = test::call_service(&self.service, request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let raw = test::read_body(response).await.to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.send_with(method, path, token, &[], body).await
    }

    /// A request with extra headers (`If-Match`, `Idempotency-Key`…).
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Response {
        let mut request = TestRequest::default().method(method).uri(path);
        if let Some(token) = token {
            request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        if let Some(body) = body {
            request = request.set_json(body);
        }
        self.call(request.to_request()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// Creates an account through the API as admin.
    pub async fn create_account(&self, body: Value) -> Uuid {
        let response = self.post("/v1/accounts", &self.admin(), body).await;
        response.assert_status(201);
        response.body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid")
    }

    pub async fn self_service_account(&self) -> Uuid {
        self.create_account(json!({
            "kind": "self_service", "name": "Acme", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Ada", "email": "ada@acme.example"}
        }))
        .await
    }

    pub async fn corporate_account(&self, representative: &str) -> Uuid {
        self.create_account(json!({
            "kind": "corporate", "name": "Globex", "country": "US", "currency": "USD",
            "billing_contact": {"name": "Hank", "email": "hank@globex.example"},
            "representative_id": representative
        }))
        .await
    }

    /// `POST …/cart/checkout` with an `Idempotency-Key` and an optional `If-Match`.
    pub async fn checkout(
        &self,
        account: Uuid,
        token: &str,
        key: Option<&str>,
        if_match: Option<&str>,
        body: Value,
    ) -> Response {
        let mut headers = Vec::new();
        if let Some(key) = key {
            headers.push(("Idempotency-Key", key));
        }
        if let Some(tag) = if_match {
            headers.push(("If-Match", tag));
        }
        let path = format!("/v1/accounts/{account}/cart/checkout");
        self.send_with(Method::POST, &path, Some(token), &headers, Some(body))
            .await
    }

    /// `POST …/invoices/{invoice}/payments` with an optional `Idempotency-Key`.
    pub async fn record_payment(
        &self,
        account: Uuid,
        invoice: &str,
        token: &str,
        key: Option<&str>,
        body: Value,
    ) -> Response {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        let path = format!("/v1/accounts/{account}/invoices/{invoice}/payments");
        self.send_with(Method::POST, &path, Some(token), &headers, Some(body))
            .await
    }

    pub async fn add_item(&self, account: Uuid, token: &str, item: Value) -> Response {
        self.post(&format!("/v1/accounts/{account}/cart/items"), token, item)
            .await
    }

    pub async fn quote(&self, account: Uuid, token: &str) -> Response {
        self.get(&format!("/v1/accounts/{account}/cart/quote"), token)
            .await
    }

    /// Attaches a test card (`tok_visa`, `tok_chargeDeclined`…) as admin.
    pub async fn attach_card(&self, account: Uuid, card: &str) {
        self.put(
            &format!("/v1/accounts/{account}/payment-method"),
            &self.admin(),
            json!({"token": card}),
        )
        .await
        .assert_status(200);
    }

    /// Imports an active subscription through the API as admin; returns its id.
    pub async fn import_active(
        &self,
        account: Uuid,
        plan: &str,
        frequency: &str,
        quantity: i32,
        start: &str,
    ) -> Uuid {
        let response = self
            .post(
                &format!("/v1/accounts/{account}/subscriptions"),
                &self.admin(),
                json!({"product": "gotoassist-rs-v4", "plan": plan, "billing_frequency": frequency,
                       "quantity": quantity, "status": "active", "current_period_start": start}),
            )
            .await;
        response.assert_status(201);
        response.body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid")
    }
}
