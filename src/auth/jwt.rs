//! JWT verification. The accepted algorithms come from configuration, never from the token:
//! a token whose header names another algorithm (or `none`) is rejected before any key is
//! used, which also closes the HS/RS confusion.

use std::collections::HashSet;
use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Principal, Role};
use crate::config::{JwtKeySource, JwtSettings};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid key: {0}")]
    Invalid(String),
}

/// Why a token was refused. The message is safe to show to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    AlgorithmNotAccepted,
    #[error("no configured key matches the token")]
    UnknownKey,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error("the token's `{0}` claim is not valid")]
    InvalidClaim(&'static str),
}

/// The claims this API reads. `iss`, `aud` and `exp` are checked by the validation itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub iss: String,
    /// A string or an array of strings (RFC 7519); the validation checks it.
    pub aud: serde_json::Value,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

pub struct JwtVerifier {
    keys: Vec<VerificationKey>,
    accepted: HashSet<Algorithm>,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    /// Present only when the keys are an HS256 secret: lets `token` mint development tokens.
    signing_secret: Option<Vec<u8>>,
}

impl JwtVerifier {
    pub fn from_settings(settings: &JwtSettings) -> Result<JwtVerifier, KeyError> {
        let (keys, signing_secret) = match &settings.keys {
            JwtKeySource::Hs256Secret(secret) => (
                vec![VerificationKey {
                    kid: None,
                    algorithm: Algorithm::HS256,
                    key: DecodingKey::from_secret(secret.as_bytes()),
                }],
                Some(secret.as_bytes().to_vec()),
            ),
            JwtKeySource::PublicKeyPem { path, algorithm } => {
                let pem = read(path)?;
                let algorithm = Algorithm::from_str(algorithm)
                    .map_err(|_| KeyError::Invalid(format!("unknown algorithm {algorithm}")))?;
                (vec![pem_key(&pem, algorithm)?], None)
            }
            JwtKeySource::JwksFile(path) => (jwks_keys(&read(path)?)?, None),
        };
        let accepted = keys.iter().map(|k| k.algorithm).collect();
        Ok(JwtVerifier {
            keys,
            accepted,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_seconds: settings.leeway_seconds,
            signing_secret,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !self.accepted.contains(&header.alg) {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        let key = self
            .keys
            .iter()
            .filter(|k| k.algorithm == header.alg)
            .find(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
            .ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(key.algorithm);
        validation.algorithms = vec![key.algorithm];
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| token_error(e.kind()))?;
        principal_from_claims(data.claims)
    }

    /// Signs a development token with the configured HS256 secret.
    pub fn mint(
        &self,
        role: Role,
        sub: &str,
        account_id: Option<Uuid>,
        ttl_seconds: u64,
    ) -> Result<String, String> {
        let secret = self.signing_secret.as_ref().ok_or_else(|| {
            "tokens can only be minted with an HS256 secret (JWT_HS256_SECRET or the development default)"
                .to_owned()
        })?;
        // Token lifetimes are real time, whatever clock the billing rules read.
        let now = crate::clock::Clock::now(&crate::clock::SystemClock)
            .timestamp()
            .max(0)
            .unsigned_abs();
        let claims = Claims {
            sub: sub.to_owned(),
            role: Some(role.as_str().to_owned()),
            account_id: account_id.map(|id| id.to_string()),
            iss: self.issuer.clone(),
            aud: serde_json::Value::String(self.audience.clone()),
            exp: now + ttl_seconds,
            iat: Some(now),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .map_err(|e| e.to_string())
    }
}

fn token_error(kind: &jsonwebtoken::errors::ErrorKind) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAccepted,
        _ => TokenError::Malformed,
    }
}

fn principal_from_claims(claims: Claims) -> Result<Principal, TokenError> {
    if claims.sub.trim().is_empty()
        || claims.sub.len() > 255
        || claims.sub.chars().any(char::is_control)
    {
        return Err(TokenError::InvalidClaim("sub"));
    }
    let role = claims
        .role
        .ok_or_else(|| TokenError::MissingClaim("role".to_owned()))?;
    let role = Role::from_str(&role).map_err(|_| TokenError::InvalidClaim("role"))?;
    let account_id = match claims.account_id {
        Some(raw) => {
            Some(Uuid::parse_str(&raw).map_err(|_| TokenError::InvalidClaim("account_id"))?)
        }
        None => None,
    };
    if role.is_contact() && account_id.is_none() {
        return Err(TokenError::MissingClaim("account_id".to_owned()));
    }
    Ok(Principal {
        sub: claims.sub,
        role,
        // Only contacts are bound to one account; other roles' reach is decided elsewhere.
        account_id: if role.is_contact() { account_id } else { None },
    })
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn pem_key(pem: &[u8], algorithm: Algorithm) -> Result<VerificationKey, KeyError> {
    let key = match algorithm {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
        Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
        other => {
            return Err(KeyError::Invalid(format!(
                "{other:?} is not accepted for PEM keys"
            )));
        }
    }
    .map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok(VerificationKey {
        kid: None,
        algorithm,
        key,
    })
}

fn jwks_keys(document: &[u8]) -> Result<Vec<VerificationKey>, KeyError> {
    let set: JwkSet =
        serde_json::from_slice(document).map_err(|e| KeyError::Invalid(format!("JWKS: {e}")))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(declared), _) => Algorithm::from_str(&declared.to_string())
                .map_err(|_| KeyError::Invalid(format!("JWKS: unsupported alg {declared}")))?,
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
            _ => {
                return Err(KeyError::Invalid(
                    "JWKS: a key has no usable algorithm".to_owned(),
                ));
            }
        };
        if !matches!(
            algorithm,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
        ) {
            return Err(KeyError::Invalid(format!(
                "JWKS: {algorithm:?} is not accepted"
            )));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Invalid(e.to_string()))?;
        keys.push(VerificationKey {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key,
        });
    }
    if keys.is_empty() {
        return Err(KeyError::Invalid("JWKS has no keys".to_owned()));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JwtSettings;

    fn verifier() -> JwtVerifier {
        JwtVerifier::from_settings(&JwtSettings {
            issuer: "iss".into(),
            audience: "aud".into(),
            keys: JwtKeySource::Hs256Secret("0123456789abcdef0123456789abcdef".into()),
            leeway_seconds: 0,
            using_development_secret: false,
        })
        .expect("verifier")
    }

    #[test]
    fn mints_and_verifies_a_token() {
        // Also proves that exactly one crypto backend is compiled in: with none, this panics.
        let v = verifier();
        let account = Uuid::new_v4();
        let token = v
            .mint(Role::BillingContact, "alice", Some(account), 60)
            .expect("mint");
        let principal = v.verify(&token).expect("verify");
        assert_eq!(principal.role, Role::BillingContact);
        assert_eq!(principal.account_id, Some(account));
        assert_eq!(principal.sub, "alice");
    }

    #[test]
    fn a_contact_needs_an_account() {
        let v = verifier();
        let token = v
            .mint(Role::CorporateContact, "bob", None, 60)
            .expect("mint");
        assert_eq!(
            v.verify(&token),
            Err(TokenError::MissingClaim("account_id".into()))
        );
    }
}
