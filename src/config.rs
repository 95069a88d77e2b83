//! Everything read from the environment, in one place.

use std::env;

use chrono_tz::Tz;

use crate::db::{default_sqlite_path, DbTarget};

#[derive(Clone, Debug)]
pub struct Config {
    pub database: DbTarget,
    pub bind: String,
    /// `AFTERCARE_JWT_SECRET`; with SQLite and none set, one is generated and
    /// kept beside the database file.
    pub jwt_secret: Option<String>,
    pub admin_password: Option<String>,
    pub tz: Tz,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub max_body_bytes: usize,
    pub db_pool_size: u32,
    pub login_max_failures_per_user: i64,
    pub login_max_failures_per_addr: i64,
    pub login_window_secs: i64,
    /// Take the client address from `Forwarded`/`X-Forwarded-For` (only
    /// behind a reverse proxy that sets it; otherwise clients could forge it).
    pub trust_forwarded_for: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let database = match env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => DbTarget::parse(url.trim()),
            _ => DbTarget::Sqlite(default_sqlite_path()),
        };
        let tz_name = env::var("AFTERCARE_TZ").unwrap_or_else(|_| "Asia/Shanghai".to_string());
        let tz: Tz = tz_name
            .parse()
            .map_err(|_| format!("AFTERCARE_TZ: unknown time zone {tz_name:?}"))?;
        let config = Config {
            database,
            bind: env::var("AFTERCARE_BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_string()),
            jwt_secret: non_empty("AFTERCARE_JWT_SECRET"),
            admin_password: non_empty("AFTERCARE_ADMIN_PASSWORD"),
            tz,
            access_token_ttl_secs: number("AFTERCARE_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl_days: number("AFTERCARE_REFRESH_TOKEN_TTL_DAYS", 30)?,
            max_body_bytes: number("AFTERCARE_MAX_BODY_BYTES", 256 * 1024)?,
            db_pool_size: number("AFTERCARE_DB_POOL_SIZE", 10)?,
            login_max_failures_per_user: number("AFTERCARE_LOGIN_MAX_FAILURES", 5)?,
            login_max_failures_per_addr: number("AFTERCARE_LOGIN_MAX_FAILURES_PER_ADDR", 50)?,
            login_window_secs: number("AFTERCARE_LOGIN_WINDOW_SECS", 900)?,
            trust_forwarded_for: matches!(
                non_empty("AFTERCARE_TRUST_FORWARDED_FOR").as_deref(),
                Some("1" | "true" | "yes")
            ),
        };
        if let Some(secret) = &config.jwt_secret {
            if secret.len() < 32 {
                return Err("AFTERCARE_JWT_SECRET must be at least 32 characters".to_string());
            }
        } else if config.database.is_postgres() {
            // several instances share one PostgreSQL and must verify each other's tokens
            return Err(
                "AFTERCARE_JWT_SECRET must be set when DATABASE_URL is PostgreSQL".to_string(),
            );
        }
        Ok(config)
    }

    /// A configuration for tests and tools: defaults, the given database.
    pub fn for_database(database: DbTarget) -> Config {
        Config {
            database,
            bind: "127.0.0.1:0".to_string(),
            jwt_secret: None,
            admin_password: None,
            tz: chrono_tz::Asia::Shanghai,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            max_body_bytes: 256 * 1024,
            db_pool_size: 4,
            login_max_failures_per_user: 5,
            login_max_failures_per_addr: 50,
            login_window_secs: 900,
            trust_forwarded_for: false,
        }
    }
}

fn non_empty(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}: not a valid number: {v:?}")),
        _ => Ok(default),
    }
}
