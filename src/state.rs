//! `AppState`: what every request handler reaches — the pool, the clock,
//! the configuration, the token keys and the file store — and how the
//! service starts (migrations, the JWT secret, the first administrator).

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::auth::{Actor, Caller};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, DbConn, DbPool, DbTarget};
use crate::error::AppResult;
use crate::{auth, services, storage};

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    /// Where the bytes of uploaded files live.
    pub storage: storage::Storage,
    /// Requests per account and per API key.
    pub limiter: Arc<auth::rate::RateLimiter>,
}

/// What start-up did that the operator should know.
pub struct Startup {
    pub state: AppState,
    pub migrations_applied: Vec<String>,
    /// Set once, on the first start of an empty database without
    /// `AFTERCARE_ADMIN_PASSWORD`: print it, it is not stored anywhere.
    pub generated_admin_password: Option<String>,
}

impl AppState {
    /// Opens the database, applies migrations, loads the JWT secret and
    /// creates the first administrator on an empty database.
    pub fn init(config: Config, clock: Clock) -> Result<Startup, String> {
        let pool = db::connect(&config.database, config.db_pool_size)?;
        let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
        let migrations_applied = db::run_migrations(&mut conn)?;
        let secret = jwt_secret(&config)?;
        let generated_admin_password = services::auth::ensure_admin(
            &mut conn,
            clock.now_naive(),
            config.admin_password.as_deref(),
        )
        .map_err(|e| format!("cannot create the admin user: {e}"))?;
        drop(conn);
        let storage = storage::Storage::open(&config.storage, &config.spool_dir)?;
        Ok(Startup {
            state: AppState {
                pool,
                clock,
                storage,
                jwt: JwtKeys::new(secret.as_bytes()),
                limiter: Arc::new(auth::rate::RateLimiter::new(
                    config.rate_limit_per_minute,
                    config.rate_limit_burst,
                )),
                config: Arc::new(config),
            },
            migrations_applied,
            generated_admin_password,
        })
    }

    /// Runs database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let request = crate::logging::request_id();
        web::block(move || crate::logging::working_for(request, || db::with_conn(&pool, f))).await?
    }

    /// Runs a caller's database work: checks first, on the same connection,
    /// that their account is active and their session alive, then hands the
    /// work the [`Actor`] it read.
    pub async fn db_as<T, F>(&self, caller: Caller, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn, Actor) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let now = self.clock.now_naive();
        self.db(move |conn| {
            let actor = match &caller.api_key {
                Some(key) => services::api_keys::authenticate(conn, key, now, caller.writes)?,
                None => services::auth::session_user(conn, caller.user_id, &caller.session)?,
            };
            f(conn, actor)
        })
        .await
    }

    /// Runs slow work that needs no database (password hashing) on the
    /// blocking thread pool, holding no connection meanwhile.
    pub async fn blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let request = crate::logging::request_id();
        web::block(move || crate::logging::working_for(request, f)).await?
    }
}

/// The configured secret, or with SQLite one generated once and kept beside
/// the database file (mode 0600), so tokens survive restarts.
fn jwt_secret(config: &Config) -> Result<String, String> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    let DbTarget::Sqlite(db_path) = &config.database else {
        return Err("AFTERCARE_JWT_SECRET must be set when DATABASE_URL is PostgreSQL".to_string());
    };
    let path = db_path.with_file_name("jwt_secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(s.trim().to_string()),
        _ => {
            let secret = auth::jwt::random_token(48);
            write_private(&path, &secret)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(secret)
        }
    }
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}
