//! Typed settings from the environment (12-factor). Secrets are never logged; a bad value
//! stops the process at start-up with a message that names the variable.

use std::env;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Used when no key is configured, so that the first run needs no configuration. It is
/// logged as a warning: never run production on it.
pub const DEVELOPMENT_HS256_SECRET: &str = "billing-center-development-secret-change-me";
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/billing";

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn config_error(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Where JWT verification keys come from.
#[derive(Clone)]
pub enum JwtKeySource {
    /// Shared secret, HS256 only: local development and tests.
    Hs256Secret(String),
    /// A PEM public key with the algorithm it is used with (RS256, ES256 or EdDSA).
    PublicKeyPem { path: PathBuf, algorithm: String },
    /// A JWKS document; every key's `alg` (or its type) decides its algorithm.
    JwksFile(PathBuf),
}

impl std::fmt::Debug for JwtKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeySource::Hs256Secret(_) => f.write_str("Hs256Secret(<redacted>)"),
            JwtKeySource::PublicKeyPem { path, algorithm } => {
                write!(f, "PublicKeyPem({}, {algorithm})", path.display())
            }
            JwtKeySource::JwksFile(path) => write!(f, "JwksFile({})", path.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub keys: JwtKeySource,
    pub leeway_seconds: u64,
    /// True when the development secret is in use because nothing was configured.
    pub using_development_secret: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    /// True when DATABASE_URL was not set: the local database is created if missing.
    pub database_url_defaulted: bool,
    pub database_pool_size: usize,
    pub bind_addr: SocketAddr,
    pub jwt: JwtSettings,
    pub seller_country: String,
    pub payment_gateway: String,
    pub log_format: LogFormat,
    pub log_level: String,
    /// `ALLOW_DEV_SECRET=true`: serve with the development secret on a non-loopback address.
    pub allow_dev_secret: bool,
    /// `CORS_ALLOWED_ORIGINS`: browser origins allowed to call the API (none by default).
    pub cors_allowed_origins: Vec<String>,
    /// `RATE_LIMIT_PER_SECOND` / `RATE_LIMIT_BURST`: requests per caller and instance;
    /// `None` when `RATE_LIMIT_PER_SECOND=0`.
    pub rate_limit: Option<RateLimitSettings>,
    /// `JOBS=off`: `serve` runs no background jobs (run `billing-center worker` instead).
    pub jobs_enabled: bool,
    /// `JOB_LEASE_SECONDS`: how long a claimed job belongs to its worker (default 60).
    pub job_lease_seconds: i64,
    /// `JOB_CONCURRENCY`: subjects a worker works on at once (default 4).
    pub job_concurrency: usize,
    /// `TEST_CLOCKS=enabled`: the test clock endpoints answer, and accounts may be bound to a
    /// clock (SPEC §15). Off unless set; `scripts/dev` sets it.
    pub test_clocks_enabled: bool,
    /// `DUNNING_RETRY_DAYS`: days after a renewal's first refused charge on which it is
    /// retried, increasing (default `1,3,5,7`).
    pub dunning_retry_days: Vec<i64>,
}

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

/// `1,3,5,7`: increasing whole days, 1 to 60.
fn retry_days(value: &str) -> Option<Vec<i64>> {
    let days = value
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=60).contains(d))
        })
        .collect::<Option<Vec<i64>>>()?;
    (!days.is_empty() && days.windows(2).all(|w| w[0] < w[1])).then_some(days)
}

fn cors_origins_from_env() -> Result<Vec<String>, ConfigError> {
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

fn rate_limit_from_env() -> Result<Option<RateLimitSettings>, ConfigError> {
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

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        let database_url_env = var("DATABASE_URL");
        let database_url_defaulted = database_url_env.is_none();
        let database_url = database_url_env.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(config_error("DATABASE_URL", "must be a postgres:// URL"));
        }

        let database_pool_size = match var("DATABASE_POOL_SIZE") {
            None => 16,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=512).contains(n))
                .ok_or_else(|| config_error("DATABASE_POOL_SIZE", "must be 1..=512"))?,
        };

        let bind_addr = var("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
            .parse::<SocketAddr>()
            .map_err(|e| config_error("BIND_ADDR", format!("not a socket address: {e}")))?;

        let leeway_seconds = match var("JWT_LEEWAY_SECONDS") {
            None => 30,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 60)
                .ok_or_else(|| config_error("JWT_LEEWAY_SECONDS", "must be 0..=60"))?,
        };

        let (keys, using_development_secret) = jwt_keys_from_env()?;
        let jwt = JwtSettings {
            issuer: var("JWT_ISSUER").unwrap_or_else(|| "billing-center".to_owned()),
            audience: var("JWT_AUDIENCE").unwrap_or_else(|| "billing-center-api".to_owned()),
            keys,
            leeway_seconds,
            using_development_secret,
        };

        let seller_country = var("SELLER_COUNTRY").unwrap_or_else(|| "IE".to_owned());
        if seller_country.len() != 2 || !seller_country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(config_error(
                "SELLER_COUNTRY",
                "must be an ISO 3166 alpha-2 code such as IE",
            ));
        }

        let payment_gateway = var("PAYMENT_GATEWAY").unwrap_or_else(|| "test".to_owned());
        if payment_gateway != "test" {
            return Err(config_error("PAYMENT_GATEWAY", "only `test` is built in"));
        }

        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(config_error("LOG_FORMAT", "must be `pretty` or `json`")),
        };
        let log_level = var("LOG_LEVEL")
            .or_else(|| var("RUST_LOG"))
            .unwrap_or_else(|| "info".to_owned());

        let allow_dev_secret = match var("ALLOW_DEV_SECRET").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(config_error(
                    "ALLOW_DEV_SECRET",
                    "must be `true` or `false`",
                ));
            }
        };

        let jobs_enabled = match var("JOBS").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(_) => return Err(config_error("JOBS", "must be `on` or `off`")),
        };
        let job_lease_seconds = match var("JOB_LEASE_SECONDS") {
            None => 60,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (5..=3600).contains(n))
                .ok_or_else(|| config_error("JOB_LEASE_SECONDS", "must be 5..=3600"))?,
        };
        let job_concurrency = match var("JOB_CONCURRENCY") {
            None => 4,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| config_error("JOB_CONCURRENCY", "must be 1..=64"))?,
        };
        let test_clocks_enabled = match var("TEST_CLOCKS").as_deref() {
            None | Some("disabled") => false,
            Some("enabled") => true,
            Some(_) => {
                return Err(config_error(
                    "TEST_CLOCKS",
                    "must be `enabled` or `disabled`",
                ));
            }
        };
        let dunning_retry_days = match var("DUNNING_RETRY_DAYS") {
            None => crate::domain::dunning::DEFAULT_RETRY_DAYS.to_vec(),
            Some(v) => retry_days(&v).ok_or_else(|| {
                config_error(
                    "DUNNING_RETRY_DAYS",
                    "must be increasing whole days between 1 and 60, comma-separated, e.g. 1,3,5,7",
                )
            })?,
        };
        let cors_allowed_origins = cors_origins_from_env()?;
        let rate_limit = rate_limit_from_env()?;

        Ok(Settings {
            database_url,
            database_url_defaulted,
            database_pool_size,
            bind_addr,
            jwt,
            seller_country,
            payment_gateway,
            log_format,
            log_level,
            allow_dev_secret,
            cors_allowed_origins,
            rate_limit,
            jobs_enabled,
            job_lease_seconds,
            job_concurrency,
            test_clocks_enabled,
            dunning_retry_days,
        })
    }

    /// Whether `serve` may start with these settings (see [`development_secret_allowed`]).
    pub fn check_serve(&self) -> Result<(), ConfigError> {
        development_secret_allowed(
            self.jwt.using_development_secret,
            self.bind_addr,
            self.allow_dev_secret,
        )
    }
}

/// The development secret is published in the repository: anyone who can reach a server
/// that trusts it can mint an `admin` token. So a server verifying with it may listen only
/// on a loopback address (the zero-configuration first run, `scripts/dev`), unless the
/// operator says `ALLOW_DEV_SECRET=true` for a throwaway environment (a container whose
/// port is published on the host's loopback only). `docker-compose.yml` does not use it: it
/// publishes on loopback *and* requires a `JWT_HS256_SECRET` of its own, so its API starts
/// only with a private secret (and would be refused here with the development one).
pub fn development_secret_allowed(
    using_development_secret: bool,
    bind_addr: SocketAddr,
    allow_dev_secret: bool,
) -> Result<(), ConfigError> {
    if !using_development_secret || bind_addr.ip().is_loopback() || allow_dev_secret {
        return Ok(());
    }
    Err(config_error(
        "JWT_*",
        format!(
            "refusing to serve on {bind_addr} with the development JWT secret, which is public: \
             anyone reaching this address could mint an admin token. Configure a key with \
             JWT_PUBLIC_KEY_FILE (and JWT_ALGORITHM) or JWT_JWKS_FILE, or a private \
             JWT_HS256_SECRET; or listen on a loopback address (BIND_ADDR=127.0.0.1:8080); \
             or set ALLOW_DEV_SECRET=true if this server is reachable from this machine only"
        ),
    ))
}

fn jwt_keys_from_env() -> Result<(JwtKeySource, bool), ConfigError> {
    let secret = var("JWT_HS256_SECRET");
    let pem = var("JWT_PUBLIC_KEY_FILE");
    let jwks = var("JWT_JWKS_FILE");
    let configured = [secret.is_some(), pem.is_some(), jwks.is_some()]
        .iter()
        .filter(|set| **set)
        .count();
    if configured > 1 {
        return Err(config_error(
            "JWT_HS256_SECRET",
            "set exactly one of JWT_HS256_SECRET, JWT_PUBLIC_KEY_FILE, JWT_JWKS_FILE",
        ));
    }
    if let Some(secret) = secret {
        if secret.len() < 32 {
            return Err(config_error(
                "JWT_HS256_SECRET",
                "must be at least 32 bytes",
            ));
        }
        // The published development secret is the development secret, however it was set.
        let development = secret == DEVELOPMENT_HS256_SECRET;
        return Ok((JwtKeySource::Hs256Secret(secret), development));
    }
    if let Some(path) = pem {
        let algorithm = var("JWT_ALGORITHM").unwrap_or_else(|| "RS256".to_owned());
        if !["RS256", "ES256", "EdDSA"].contains(&algorithm.as_str()) {
            return Err(config_error(
                "JWT_ALGORITHM",
                "must be RS256, ES256 or EdDSA",
            ));
        }
        return Ok((
            JwtKeySource::PublicKeyPem {
                path: PathBuf::from(path),
                algorithm,
            },
            false,
        ));
    }
    if let Some(path) = jwks {
        return Ok((JwtKeySource::JwksFile(PathBuf::from(path)), false));
    }
    Ok((
        JwtKeySource::Hs256Secret(DEVELOPMENT_HS256_SECRET.to_owned()),
        true,
    ))
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

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn the_development_secret_serves_on_loopback_only_unless_allowed() {
        for loopback in ["127.0.0.1:8080", "127.0.0.2:80", "[::1]:8080"] {
            assert!(development_secret_allowed(true, addr(loopback), false).is_ok());
        }
        for exposed in [
            "0.0.0.0:8080",
            "[::]:8080",
            "10.0.0.5:8080",
            "192.168.1.2:80",
        ] {
            let error = development_secret_allowed(true, addr(exposed), false)
                .expect_err("must refuse")
                .to_string();
            for named in [
                "JWT_PUBLIC_KEY_FILE",
                "JWT_JWKS_FILE",
                "JWT_HS256_SECRET",
                "BIND_ADDR",
                "ALLOW_DEV_SECRET=true",
            ] {
                assert!(error.contains(named), "{error}");
            }
            assert!(development_secret_allowed(true, addr(exposed), true).is_ok());
            // A configured key may listen anywhere.
            assert!(development_secret_allowed(false, addr(exposed), false).is_ok());
        }
    }
}
