//! Where JWT verification keys come from, and when the published development secret may
//! be served with.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{ConfigError, config_error, var};

/// Used when no key is configured, so that the first run needs no configuration. It is
/// logged as a warning: never run production on it.
pub const DEVELOPMENT_HS256_SECRET: &str = "billing-center-development-secret-change-me";
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

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub keys: JwtKeySource,
    pub leeway_seconds: u64,
    /// True when the development secret is in use because nothing was configured.
    pub using_development_secret: bool,
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

pub(super) fn jwt_keys_from_env() -> Result<(JwtKeySource, bool), ConfigError> {
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
