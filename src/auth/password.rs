//! Argon2id password hashing.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

use crate::error::AppError;

/// Argon2 is slow by design: doing it while holding a pooled connection
/// lets a handful of logins starve every other request. Debug builds (and so
/// the test suite) refuse it.
fn assert_no_connection_held() {
    debug_assert!(
        !crate::db::holding_connection(),
        "password hashing while holding a database connection"
    );
}

pub fn hash(password: &str) -> Result<String, AppError> {
    assert_no_connection_held();
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// True when `password` matches `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    assert_no_connection_held();
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of a real verification, so that an unknown username
/// answers as slowly as a wrong password and cannot be told apart.
pub fn verify_dummy(password: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
    let _ = verify(password, DUMMY);
}

/// A random password for the first admin when none is configured.
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
}
