//! Typed settings from the environment (12-factor). Secrets are never logged; a bad value
//! stops the process at start-up with a message that names the variable.

mod http;
mod jwt;
mod mail;

use std::env;
use std::net::SocketAddr;

pub use http::{DEFAULT_RATE_LIMIT_PER_SECOND, RateLimitSettings};
use http::{cors_origins_from_env, rate_limit_from_env};
use jwt::jwt_keys_from_env;
pub use jwt::{DEVELOPMENT_HS256_SECRET, JwtKeySource, JwtSettings, development_secret_allowed};
pub use mail::MailSettings;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
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
    /// `WEBHOOKS_ALLOW_HTTP` / `WEBHOOKS_ALLOW_PRIVATE`: webhook URLs may use `http://` and
    /// point at loopback or private hosts (development and tests; both off by default).
    pub webhook_urls: crate::services::webhooks::url_rules::UrlPolicy,
    /// `SMTP_URL`, `MAIL_FROM`, `PORTAL_URL`: email notifications (SPEC §16).
    pub mail: MailSettings,
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `true` or `false` (unset: `false`).
fn switch(name: &'static str) -> Result<bool, ConfigError> {
    match var(name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(config_error(name, "must be `true` or `false`")),
    }
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
        let webhook_urls = crate::services::webhooks::url_rules::UrlPolicy {
            allow_http: switch("WEBHOOKS_ALLOW_HTTP")?,
            allow_private: switch("WEBHOOKS_ALLOW_PRIVATE")?,
        };
        let cors_allowed_origins = cors_origins_from_env()?;
        let rate_limit = rate_limit_from_env()?;
        let mail = MailSettings::from_env()?;

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
            webhook_urls,
            mail,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_days_are_increasing_whole_days_up_to_sixty() {
        assert_eq!(retry_days("1,3,5,7"), Some(vec![1, 3, 5, 7]));
        assert_eq!(retry_days(" 2 , 10 "), Some(vec![2, 10]));
        for bad in ["", "0", "3,1", "1,1", "61", "1,x", "1.5"] {
            assert_eq!(retry_days(bad), None, "{bad}");
        }
    }
}
