//! What the router knows: the documented paths and their methods (the OpenAPI document is
//! generated from the real handlers, so it is the list of what exists). Used to answer 405
//! with `Allow` when a path exists for other methods (else 404, both as problems), and to
//! label metrics with the route pattern cheaply: a segment comparison, where actix's own
//! `match_pattern` runs every route's regex again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::openapi::OpenApi;

use crate::error::{ApiError, ErrorCode};

enum Segment {
    Literal(String),
    /// `uuid`: the document declares the parameter `format: uuid`.
    Parameter {
        uuid: bool,
    },
}

struct Route {
    pattern: String,
    segments: Vec<Segment>,
    methods: Vec<&'static str>,
}

impl Route {
    fn matches(&self, path: &str) -> bool {
        let mut parts = path.trim_start_matches('/').split('/');
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Literal(expected), Some(part)) if expected == part => {}
                (Segment::Parameter { .. }, Some(part)) if !part.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }
}

pub struct KnownRoutes(Vec<Route>);

impl KnownRoutes {
    pub fn from_openapi(api: &OpenApi) -> KnownRoutes {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let uuids = uuid_parameters(item);
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Segment::Parameter {
                                uuid: uuids.contains(&name),
                            }
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let ops = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let methods = ops
                    .iter()
                    .filter(|(_, has)| *has)
                    .map(|(name, _)| *name)
                    .collect();
                Route {
                    pattern: path.clone(),
                    segments,
                    methods,
                }
            })
            .collect();
        KnownRoutes(routes)
    }

    /// The documented pattern a path belongs to, e.g. `/v1/accounts/{account_id}`. A literal
    /// segment wins over a parameter (`…/assignments/bulk` before `…/assignments/{user_id}`)
    /// because the document lists paths in order and literals sort first.
    pub fn pattern_of(&self, path: &str) -> Option<&str> {
        self.route(path).map(|r| r.pattern.as_str())
    }

    fn route(&self, path: &str) -> Option<&Route> {
        self.0.iter().find(|route| route.matches(path))
    }

    /// True when a UUID parameter of `path` is a UUID written in a form other than the
    /// canonical hyphenated one (`{…}`, `urn:uuid:…`, 32 hex digits without hyphens), which
    /// `Uuid::parse_str` would accept. Such a path names no resource: ids have one spelling.
    pub fn has_non_canonical_id(&self, path: &str) -> bool {
        let Some(route) = self.route(path) else {
            return false;
        };
        route
            .segments
            .iter()
            .zip(path.trim_start_matches('/').split('/'))
            .any(|(segment, part)| match segment {
                Segment::Parameter { uuid: true } => {
                    let decoded = percent_decoded(part);
                    uuid::Uuid::parse_str(&decoded).is_ok() && !is_canonical_uuid(&decoded)
                }
                _ => false,
            })
    }
}

/// The names of the path parameters the operations of `item` declare as `format: uuid`.
fn uuid_parameters(item: &utoipa::openapi::PathItem) -> Vec<&str> {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{KnownFormat, RefOr, Schema, SchemaFormat};
    [&item.get, &item.post, &item.put, &item.patch, &item.delete]
        .into_iter()
        .flatten()
        .flat_map(|operation| operation.parameters.iter().flatten())
        .filter(|p| matches!(p.parameter_in, ParameterIn::Path))
        .filter(|p| {
            matches!(
                &p.schema,
                Some(RefOr::T(Schema::Object(object)))
                    if object.format == Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))
            )
        })
        .map(|p| p.name.as_str())
        .collect()
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits of either case (RFC 9562 §4).
pub fn is_canonical_uuid(value: &str) -> bool {
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A path segment with its `%XX` escapes decoded (as the router decodes it for extractors).
fn percent_decoded(segment: &str) -> std::borrow::Cow<'_, str> {
    if !segment.contains('%') {
        return segment.into();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned().into()
}

/// Answers 404, as for any other id that names nothing, when a UUID in the path is not in
/// the canonical form (see [`KnownRoutes::has_non_canonical_id`]); runs before routing.
pub async fn reject_non_canonical_ids(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let non_canonical = req
        .app_data::<web::Data<KnownRoutes>>()
        .is_some_and(|known| known.has_non_canonical_id(req.path()));
    if non_canonical {
        let response = ApiError::not_found().error_response();
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

pub async fn not_found_or_method_not_allowed(
    req: HttpRequest,
    known: web::Data<KnownRoutes>,
) -> HttpResponse {
    let error = match known.route(req.path()) {
        Some(route) if !route.methods.is_empty() => {
            let allow = route.methods.join(", ");
            let error = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{} is not allowed here; use {allow}.", req.method()),
            );
            match HeaderValue::from_str(&allow) {
                Ok(value) => error.with_header(header::ALLOW, value),
                Err(_) => error,
            }
        }
        _ => ApiError::new(ErrorCode::NotFound, "No resource at this path."),
    };
    error.error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_match_whole_paths_only() {
        let route = Route {
            pattern: "/v1/accounts/{account_id}".into(),
            segments: vec![
                Segment::Literal("v1".into()),
                Segment::Literal("accounts".into()),
                Segment::Parameter { uuid: true },
            ],
            methods: vec!["GET"],
        };
        assert!(route.matches("/v1/accounts/abc"));
        assert!(!route.matches("/v1/accounts"));
        assert!(!route.matches("/v1/accounts/"));
        assert!(!route.matches("/v1/accounts/abc/users"));
        assert!(!route.matches("/v2/accounts/abc"));
    }

    #[test]
    fn uuids_have_one_spelling() {
        let lower = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(is_canonical_uuid(lower));
        assert!(is_canonical_uuid(&lower.to_uppercase()));
        for other in [
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67e5504410b1426f9247bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044+10b1-426f-9247-bb680e5fe0c8",
        ] {
            assert!(!is_canonical_uuid(other), "{other}");
        }
        assert_eq!(percent_decoded("%7Bab%7d%zz%"), "{ab}%zz%");
    }
}
