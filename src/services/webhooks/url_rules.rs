//! Where a webhook may point (SPEC §14): `https://` unless `WEBHOOKS_ALLOW_HTTP=true`, and
//! never at a loopback, private or link-local address unless `WEBHOOKS_ALLOW_PRIVATE=true`.
//! Checked when an endpoint is saved, and again at every delivery, when its host is
//! resolved (`GuardedResolver`), so a name that later points inside is still refused.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::domain::webhook::is_internal;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// `WEBHOOKS_ALLOW_HTTP` and `WEBHOOKS_ALLOW_PRIVATE` (development and tests only).
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlPolicy {
    pub allow_http: bool,
    pub allow_private: bool,
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::WebhookUrlNotAllowed, detail)
}

impl UrlPolicy {
    /// The URL's syntax, scheme and (when it is an address) host: no lookup, no connection.
    pub fn check_syntax(&self, text: &str) -> ApiResult<Url> {
        let url = Url::parse(text)
            .map_err(|_| ApiError::invalid_field("url", "must be an absolute http(s) URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(refused("The URL must use https.")),
            _ => {
                return Err(ApiError::invalid_field(
                    "url",
                    "must be an absolute http(s) URL",
                ));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiError::invalid_field("url", "must not carry credentials"));
        }
        let literal = match url.host() {
            None => return Err(ApiError::invalid_field("url", "must name a host")),
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => None,
        };
        if let Some(ip) = literal {
            self.check_address(ip)?;
        }
        Ok(url)
    }

    fn check_address(&self, ip: IpAddr) -> ApiResult<()> {
        if !self.allow_private && is_internal(ip) {
            return Err(refused(
                "The URL's host is a loopback, private or link-local address.",
            ));
        }
        Ok(())
    }

    /// The URL's rules, with its host resolved: every address it resolves to must be allowed.
    pub async fn check(&self, text: &str) -> ApiResult<Url> {
        let url = self.check_syntax(text)?;
        if let Some(Host::Domain(domain)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((domain, port))
                .await
                .map_err(|_| refused("The URL's host does not resolve."))?;
            let mut any = false;
            for addr in addrs {
                any = true;
                self.check_address(addr.ip())?;
            }
            if !any {
                return Err(refused("The URL's host does not resolve."));
            }
        }
        Ok(url)
    }
}

/// The HTTP client's resolver: the system's, with the addresses a delivery may not reach
/// refused before any connection is made.
pub struct GuardedResolver {
    pub policy: UrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(addr) = addrs
                .iter()
                .find(|a| !policy.allow_private && is_internal(a.ip()))
            {
                let error: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{} resolves to {}, an address webhooks may not reach",
                    name.as_str(),
                    addr.ip()
                )
                .into();
                return Err(error);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The delivery client: 15 s per attempt, no redirects (a redirect could lead anywhere), no
/// proxy, and the guarded resolver.
pub fn client(policy: UrlPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!(
            "billing-center-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .build()
}
