//! The OpenAPI document: the base (info, servers, security, shared schemas) here, the paths
//! from the handlers themselves (`#[utoipa::path]` on each, collected by `http::routes`). The
//! problem responses every route shares, and the `X-Request-Id` header every response carries,
//! are added in one place, so no handler can forget them.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Billing Center API",
        description = "Change subscriptions — plan tier, licences, billing frequency — through a cart, a \
checkout summary and an order; assign licences to users. Every `/v1` call needs \
`Authorization: Bearer <JWT>`. Errors are RFC 9457 problems with a stable `code`. Money is a decimal \
string in the currency's minor units.",
        license(name = "Proprietary", identifier = "LicenseRef-Proprietary"),
        contact(name = "Billing Center API team"),
    ),
    // Relative: the document is served by the API itself (`/openapi.json`, Swagger UI), so
    // "try it out" calls the server the page came from, whatever its host and port. A
    // generated client is given its base URL when it is created.
    servers((url = "/", description = "The server that serves this document (`scripts/dev`: http://127.0.0.1:8080)")),
    security(("bearer" = [])),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerScheme),
    tags(
        (name = "catalog", description = "Products, plans and prices"),
        (name = "accounts", description = "Customer accounts and their billing details"),
        (name = "subscriptions", description = "Subscriptions and what may be done with them"),
        (name = "users", description = "The people of an account"),
        (name = "licenses", description = "Enabling a product for users (licence assignment)"),
        (name = "cart", description = "Cart, checkout summary and placing the order"),
        (name = "orders", description = "Placed orders"),
        (name = "invoices", description = "Invoices of placed orders"),
        (name = "quotes", description = "Quotes a representative sends and a corporate contact accepts"),
        (name = "change-requests", description = "A corporate contact asks, the representative answers with a quote or declines (SPEC §18)"),
        (name = "purchase-orders", description = "Purchase orders on file (corporate accounts)"),
        (name = "events", description = "The audit trail"),
        (name = "notifications", description = "The mails an account's changes send (SPEC §16)"),
        (name = "test-clocks", description = "Simulated time for testing renewals, trials and dunning (admin; `TEST_CLOCKS=enabled`)"),
        (name = "ops", description = "Health, readiness and metrics (no authentication)"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut OpenApiDoc) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn base() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Adds the problem responses that every route of a kind shares, a description to every
/// response that has none, and the `X-Request-Id` header to every response.
pub fn finish(mut api: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in api.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                describe_responses(op);
            }
            continue;
        }
        let has_id = path.contains('{');
        let ops: [(&str, &mut Option<Operation>); 5] = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let has_body = op.request_body.is_some();
            let lists = op
                .parameters
                .as_ref()
                .is_some_and(|ps| ps.iter().any(|p| p.name == "limit"));
            add(
                op,
                "401",
                "`unauthenticated`: no token, or a token that is not valid",
            );
            if has_id {
                add(
                    op,
                    "404",
                    "`not-found`: no such resource, or out of the caller's reach",
                );
            }
            if has_body {
                add(op, "400", "`malformed-request`: the body is not JSON");
                add(op, "413", "`payload-too-large`: the body is over 64 KiB");
                add(
                    op,
                    "415",
                    "`unsupported-media-type`: the body is not `application/json`",
                );
            }
            if has_body || lists || method == "patch" {
                add(
                    op,
                    "422",
                    "`validation-failed`: a field is missing, unknown, of the wrong type or out of range",
                );
            }
            if path.starts_with("/v1/accounts/{account_id}") {
                on_test_clock(op);
            }
            add(
                op,
                "429",
                "`rate-limited`: this token sent more requests than its rate allows; wait for \
                 `Retry-After` seconds (`RateLimit-Limit`, `RateLimit-Remaining` and \
                 `RateLimit-Reset` say where the caller stands)",
            );
            add(
                op,
                "500",
                "`internal-error`: logged; the body reveals nothing internal",
            );
            add(
                op,
                "503",
                "`service-unavailable`: the database is not reachable; retry",
            );
            describe_responses(op);
            demo_examples(op);
        }
    }
    api
}

/// Requests on an account bound to a test clock answer 409 while the clock advances: said on
/// every route of an account, beside the route's own 409 codes.
fn on_test_clock(op: &mut Operation) {
    const ADVANCING: &str = "`test-clock-advancing`: the account is on a test clock that is advancing; retry when it is `ready`";
    match op.responses.responses.get_mut("409") {
        Some(RefOr::T(response)) => {
            let own = if response.description.is_empty() {
                default_description("409").to_owned()
            } else {
                response.description.clone()
            };
            response.description = format!("{own}; {ADVANCING}");
        }
        Some(RefOr::Ref(_)) => {}
        None => add(op, "409", ADVANCING),
    }
}

/// What a problem response without a description of its own means, by status.
fn default_description(status: &str) -> &'static str {
    match status {
        "403" => {
            "`forbidden` or another 403 code: the caller may not do this here; `detail` says why and who can help"
        }
        "409" => "The request conflicts with the resource's state; `code` says how",
        "412" => "`version-mismatch`: `If-Match` names an older version; read the resource again",
        _ => "See the problem's `code`",
    }
}

/// Path parameters that name the demo data (`scripts/dev`) get its ids as examples, so that
/// Swagger UI's "Try it out" works on the demo database as it is.
fn demo_examples(op: &mut Operation) {
    let demo = |name: &str| match name {
        "account_id" => Some(crate::seed::DEMO_SELF_SERVICE),
        "subscription_id" => Some(crate::seed::DEMO_SELF_SERVICE_SUBSCRIPTION),
        "user_id" => Some(crate::seed::DEMO_SELF_SERVICE_USER),
        _ => None,
    };
    for parameter in op.parameters.iter_mut().flatten() {
        if let Some(id) = demo(&parameter.name) {
            *parameter = ParameterBuilder::from(parameter.clone())
                .example(Some(serde_json::json!(id)))
                .build();
        }
    }
}

fn describe_responses(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if response.description.is_empty() {
            response.description = default_description(status).to_owned();
        }
        response
            .headers
            .insert("X-Request-Id".to_owned(), request_id_header());
    }
}

fn request_id_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(
            "The request's id, as logged and recorded in audit events: the `X-Request-Id` the \
caller sent (1–128 letters, digits, `-_.:`), or a new UUID",
        ))
        .build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    op.responses
        .responses
        .insert(status.to_owned(), response.into());
}
