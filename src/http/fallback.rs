//! What the router knows: the documented paths and their methods (the OpenAPI document is
//! generated from the real handlers, so it is the list of what exists). Used to answer 405
//! with `Allow` when a path exists for other methods (else 404, both as problems), and to
//! label metrics with the route pattern cheaply: a segment comparison, where actix's own
//! `match_pattern` runs every route's regex again.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::openapi::OpenApi;

use crate::error::{ApiError, ErrorCode};

enum Segment {
    Literal(String),
    Parameter,
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
                (Segment::Parameter, Some(part)) if !part.is_empty() => {}
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
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Parameter
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
                Segment::Parameter,
            ],
            methods: vec!["GET"],
        };
        assert!(route.matches("/v1/accounts/abc"));
        assert!(!route.matches("/v1/accounts"));
        assert!(!route.matches("/v1/accounts/"));
        assert!(!route.matches("/v1/accounts/abc/users"));
        assert!(!route.matches("/v2/accounts/abc"));
    }
}
