//! Access tokens: short-lived HS256 JWTs. Expiry is checked against the
//! service clock (not the system clock), so tests can move time.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

const ISSUER: &str = "aftercare";
/// Seconds of clock skew tolerated between instances.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// The session (refresh-token family): logging out ends it at once.
    pub sid: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> JwtKeys {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        user_id: i64,
        role: &str,
        org_unit_id: Option<i64>,
        customer_id: Option<i64>,
        sid: &str,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.to_string(),
            org_unit_id,
            customer_id,
            sid: sid.to_string(),
            iss: ISSUER.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl_secs,
            jti: random_token(12),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)
    }

    /// Verifies signature, algorithm (HS256 only: `alg: none` and others are
    /// refused), issuer and expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false; // checked below against the service clock
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|_| {
            AppError::unauthorized("invalid_token", "the access token is not valid")
        })?;
        if data.claims.exp + LEEWAY_SECS < now.timestamp() {
            return Err(AppError::unauthorized(
                "token_expired",
                "the access token has expired; refresh it at /api/v1/auth/refresh",
            ));
        }
        Ok(data.claims)
    }
}

/// `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
