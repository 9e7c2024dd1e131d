//! JWT rejections (SPEC §2): every malformed, forged or misdirected token is a 401 problem.

use actix_web::http::Method;
use billing_center::config::{JwtKeySource, JwtSettings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, ISSUER, SECRET, TestApp, fixture, hs256_settings};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> Value {
    json!({"sub": "admin-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600})
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

fn rs256(claims: &Value, kid: Option<&str>) -> String {
    let pem = std::fs::read(fixture("rsa_private.pem")).expect("key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&pem).expect("rsa key"),
    )
    .expect("sign")
}

fn b64(value: &Value) -> String {
    use base64_url::encode;
    encode(&serde_json::to_vec(value).expect("json"))
}

pub(crate) mod base64_url {
    /// Unpadded base64url, enough to forge test tokens by hand.
    pub fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

async fn expect_401(app: &TestApp, token: Option<&str>) -> crate::helpers::Response {
    let response = app
        .send(Method::GET, "/v1/catalog/products", token, None)
        .await;
    response.assert_problem(401, "unauthenticated");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"))
    );
    response
}

#[actix_web::test]
async fn a_valid_token_is_accepted() {
    let app = TestApp::spawn().await;
    app.get("/v1/catalog/products", &hs256(&claims()))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn missing_and_garbage_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    expect_401(&app, None).await;
    expect_401(&app, Some("garbage")).await;
    expect_401(&app, Some("a.b.c")).await;
    let response = app
        .call(
            actix_web::test::TestRequest::get()
                .uri("/v1/catalog/products")
                .insert_header(("Authorization", format!("Basic {}", hs256(&claims()))))
                .to_request(),
        )
        .await;
    response.assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = hs256(&claims());
    let with = |value: String| {
        actix_web::test::TestRequest::get()
            .uri("/v1/catalog/products")
            .insert_header(("Authorization", value))
            .to_request()
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        app.call(with(format!("{scheme} {token}")))
            .await
            .assert_status(200);
    }
    for value in [format!("Bearer{token}"), "BEARER ".to_owned()] {
        app.call(with(value))
            .await
            .assert_problem(401, "unauthenticated");
    }
}

#[actix_web::test]
async fn alg_none_is_rejected() {
    let app = TestApp::spawn().await;
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    expect_401(&app, Some(&token)).await;
}

#[actix_web::test]
async fn a_wrong_signature_is_rejected() {
    let app = TestApp::spawn().await;
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret-0123456789abcdef0123"),
    )
    .expect("sign");
    expect_401(&app, Some(&forged)).await;
    // A tampered payload with the original signature.
    let valid = hs256(&claims());
    let parts: Vec<&str> = valid.split('.').collect();
    let mut escalated = claims();
    escalated["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]);
    expect_401(&app, Some(&tampered)).await;
}

#[actix_web::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let body = expect_401(&app, Some(&hs256(&expired))).await.body;
    assert!(body["detail"].as_str().unwrap_or("").contains("expired"));
    let mut future = claims();
    future["nbf"] = json!(now() + 3600);
    expect_401(&app, Some(&hs256(&future))).await;
    let mut string_exp = claims();
    string_exp["exp"] = json!((now() + 600).to_string());
    expect_401(&app, Some(&hs256(&string_exp))).await;
}

#[actix_web::test]
async fn wrong_issuer_or_audience_is_rejected() {
    let app = TestApp::spawn().await;
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("someone-else");
    expect_401(&app, Some(&hs256(&wrong_iss))).await;
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("another-api");
    expect_401(&app, Some(&hs256(&wrong_aud))).await;
}

#[actix_web::test]
async fn required_claims_must_be_present_and_valid() {
    let app = TestApp::spawn().await;
    for claim in ["sub", "role", "exp", "iss", "aud"] {
        let mut c = claims();
        c.as_object_mut().expect("object").remove(claim);
        expect_401(&app, Some(&hs256(&c))).await;
    }
    let mut unknown_role = claims();
    unknown_role["role"] = json!("superuser");
    expect_401(&app, Some(&hs256(&unknown_role))).await;
    let mut empty_sub = claims();
    empty_sub["sub"] = json!(" ");
    expect_401(&app, Some(&hs256(&empty_sub))).await;
    for role in ["billing_contact", "corporate_contact"] {
        let mut contact = claims();
        contact["role"] = json!(role);
        let body = expect_401(&app, Some(&hs256(&contact))).await.body;
        assert!(body["detail"].as_str().unwrap_or("").contains("account_id"));
        contact["account_id"] = json!("not-a-uuid");
        expect_401(&app, Some(&hs256(&contact))).await;
    }
}

fn rsa_settings() -> JwtSettings {
    JwtSettings {
        keys: JwtKeySource::PublicKeyPem {
            path: fixture("rsa_public.pem"),
            algorithm: "RS256".into(),
        },
        ..hs256_settings()
    }
}

#[actix_web::test]
async fn rs256_public_keys_verify_and_hs_rs_confusion_is_rejected() {
    let app = TestApp::spawn_with(rsa_settings()).await;
    app.get("/v1/catalog/products", &rs256(&claims(), None))
        .await
        .assert_status(200);
    // HS256 signed with the public key as the secret: the classic confusion attack.
    let public_pem = std::fs::read(fixture("rsa_public.pem")).expect("public key");
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&public_pem),
    )
    .expect("sign");
    expect_401(&app, Some(&confused)).await;
    // And a plain HS256 token is not accepted by an RS256 deployment.
    expect_401(&app, Some(&hs256(&claims()))).await;
}

#[actix_web::test]
async fn an_hs256_deployment_rejects_rs256_tokens() {
    let app = TestApp::spawn().await;
    expect_401(&app, Some(&rs256(&claims(), None))).await;
}

#[actix_web::test]
async fn jwks_keys_verify_by_kid() {
    let settings = JwtSettings {
        keys: JwtKeySource::JwksFile(fixture("jwks.json")),
        ..hs256_settings()
    };
    let app = TestApp::spawn_with(settings).await;
    app.get(
        "/v1/catalog/products",
        &rs256(&claims(), Some("test-rsa-1")),
    )
    .await
    .assert_status(200);
    expect_401(&app, Some(&rs256(&claims(), Some("unknown-kid")))).await;
}

#[actix_web::test]
async fn es256_and_eddsa_public_keys_verify() {
    let cases = [
        ("ec_public.pem", "ec_private.pem", "ES256", Algorithm::ES256),
        ("ed_public.pem", "ed_private.pem", "EdDSA", Algorithm::EdDSA),
    ];
    for (public, private, name, algorithm) in cases {
        let settings = JwtSettings {
            keys: JwtKeySource::PublicKeyPem {
                path: fixture(public),
                algorithm: name.into(),
            },
            ..hs256_settings()
        };
        let app = TestApp::spawn_with(settings).await;
        let pem = std::fs::read(fixture(private)).expect("key");
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .expect("private key");
        let token = jsonwebtoken::encode(&Header::new(algorithm), &claims(), &key).expect("sign");
        app.get("/v1/catalog/products", &token)
            .await
            .assert_status(200);
        expect_401(&app, Some(&hs256(&claims()))).await;
    }
}

#[actix_web::test]
async fn an_audience_array_is_accepted_when_it_names_this_api() {
    let app = TestApp::spawn().await;
    let mut c = claims();
    c["aud"] = json!(["another-api", AUDIENCE]);
    app.get("/v1/catalog/products", &hs256(&c))
        .await
        .assert_status(200);
    c["aud"] = json!(["another-api"]);
    expect_401(&app, Some(&hs256(&c))).await;
    let mut control = claims();
    control["sub"] = json!("admin\u{0}");
    expect_401(&app, Some(&hs256(&control))).await;
}

#[actix_web::test]
async fn ops_endpoints_need_no_token() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/swagger-ui/",
    ] {
        let response = app.send(Method::GET, path, None, None).await;
        assert_eq!(response.status.as_u16(), 200, "{path}");
    }
}
