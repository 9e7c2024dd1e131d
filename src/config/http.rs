//! The HTTP edge's settings: browser origins allowed by CORS, and the rate per caller.

use super::{ConfigError, config_error, var};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub per_second: std::num::NonZeroU32,
    pub burst: std::num::NonZeroU32,
}

/// Default rate per caller and instance: as generous as a card processor's live mode, so a
/// well-behaved integration never meets it and a runaway loop does.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 100;

/// `https://portal.example.com`, `http://localhost:3000`: a scheme, a host and an optional
/// port, nothing else (an origin as browsers send it in `Origin`).
fn parse_origin(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    if !(scheme == "https" || scheme == "http") || rest.is_empty() {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    (host_ok && port_ok).then(|| value.to_ascii_lowercase())
}

pub(super) fn cors_origins_from_env() -> Result<Vec<String>, ConfigError> {
    let Some(list) = var("CORS_ALLOWED_ORIGINS") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            parse_origin(origin).ok_or_else(|| {
                config_error(
                    "CORS_ALLOWED_ORIGINS",
                    format!(
                        "`{origin}` is not an origin: give scheme, host and optional port, \
                         comma-separated (https://portal.example.com,http://localhost:3000)"
                    ),
                )
            })
        })
        .collect()
}

pub(super) fn rate_limit_from_env() -> Result<Option<RateLimitSettings>, ConfigError> {
    let per_second = match var("RATE_LIMIT_PER_SECOND") {
        None => DEFAULT_RATE_LIMIT_PER_SECOND,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 1_000_000)
            .ok_or_else(|| config_error("RATE_LIMIT_PER_SECOND", "must be 0 (off) ..= 1000000"))?,
    };
    let Some(per_second) = std::num::NonZeroU32::new(per_second) else {
        return Ok(None);
    };
    let burst = match var("RATE_LIMIT_BURST") {
        // Two seconds' worth at once.
        None => std::num::NonZeroU32::new(per_second.get().saturating_mul(2)).unwrap_or(per_second),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .and_then(std::num::NonZeroU32::new)
            .ok_or_else(|| config_error("RATE_LIMIT_BURST", "must be 1 ..= 4294967295"))?,
    };
    Ok(Some(RateLimitSettings { per_second, burst }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in [
            "https://portal.example.com",
            "http://localhost:3000",
            "https://PORTAL.example.com:8443",
            "http://127.0.0.1:5173",
        ] {
            assert!(parse_origin(good).is_some(), "{good}");
        }
        assert_eq!(
            parse_origin("https://PORTAL.example.com").as_deref(),
            Some("https://portal.example.com")
        );
        for bad in [
            "portal.example.com",
            "*",
            "https://",
            "https://portal.example.com/",
            "https://portal.example.com/app",
            "ftp://portal.example.com",
            "https://portal.example.com:0",
            "https://portal.example.com:99999",
            "https://user@portal.example.com",
        ] {
            assert!(parse_origin(bad).is_none(), "{bad}");
        }
    }
}
