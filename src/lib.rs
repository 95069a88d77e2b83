//! Aftercare: after-handover customer care for construction companies —
//! return visits, complaints, rectification plans and warranty repairs, each
//! with enforced deadlines. This crate builds the HTTP application so that
//! `main` serves it and the tests run it in-process.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod logging;
pub mod models;
pub mod openapi;
pub mod season;
pub mod services;
pub mod storage;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Logger};
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::auth::{Actor, Caller};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbConn, DbPool, DbTarget};
use crate::error::{AppError, AppResult};

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    /// Where the bytes of uploaded files live.
    pub storage: storage::Storage,
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
        web::block(move || db::with_conn(&pool, f)).await?
    }

    /// Runs a caller's database work: checks first, on the same connection,
    /// that their account is active and their session alive, then hands the
    /// work the [`Actor`] it read.
    pub async fn db_as<T, F>(&self, caller: Caller, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn, Actor) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db(move |conn| {
            let actor = services::auth::session_user(conn, caller.user_id, &caller.session)?;
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
        web::block(f).await?
    }
}

/// What one sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Branches' yearly visit-plan clocks started (the year turned).
    pub compile_clocks: usize,
    pub deadlines: services::deadlines::SweepReport,
    /// Unattached uploads past their time, removed.
    pub uploads_removed: usize,
    /// Files no upload named any more, removed from the store.
    pub files_removed: usize,
}

/// One sweep, as the built-in sweeper and `aftercare sweep` run it: once a
/// year has begun, each branch's clock to compile its yearly visit plan
/// starts; passed deadlines become overdue and are escalated; unattached uploads past
/// their 24 hours are removed, and with them the bytes no other upload
/// shares. Safe beside other instances.
pub async fn sweep(state: &AppState) -> AppResult<Swept> {
    let now = state.clock.now_naive();
    let config = state.config.clone();
    let (compile_clocks, deadlines) = state
        .db(move |conn| {
            // before the pass below, so a clock already past due escalates at once
            let started = services::visit_plans::start_yearly_compile_clocks(conn, &config, now)?;
            let report = services::deadlines::sweep(conn, now)?;
            db::optimize(conn)?;
            Ok((started, report))
        })
        .await?;
    let mut swept = Swept {
        compile_clocks,
        deadlines,
        ..Default::default()
    };
    // removals a stopped sweeper left half done: their bytes go now
    let abandoned = state
        .db(move |conn| services::attachments::reclaim_abandoned_removals(conn, now, 200))
        .await?;
    for (sha256, until) in abandoned {
        remove_bytes(state, sha256, until).await?;
    }
    loop {
        let expired = state
            .db(move |conn| services::attachments::expired_uploads(conn, now, 200))
            .await?;
        if expired.is_empty() {
            break;
        }
        for (id, sha256) in expired {
            let removed = state
                .db(move |conn| services::attachments::remove_upload(conn, id, now))
                .await?;
            let Some(orphaned) = removed else {
                continue;
            };
            swept.uploads_removed += 1;
            if !orphaned {
                continue;
            }
            // decided and committed in the database first; the store is
            // touched with no transaction open
            let sha = sha256.clone();
            let claim = state
                .db(move |conn| services::attachments::claim_removal(conn, &sha, now))
                .await?;
            if let Some(until) = claim {
                remove_bytes(state, sha256, until).await?;
                swept.files_removed += 1;
            }
        }
    }
    Ok(swept)
}

/// Deletes a claimed file's bytes from the store, then ends the removal. A
/// failure leaves the claim to run out and the next sweep to try again.
async fn remove_bytes(
    state: &AppState,
    sha256: String,
    until: chrono::NaiveDateTime,
) -> AppResult<()> {
    state
        .storage
        .delete_file(&sha256)
        .await
        .map_err(|e| AppError::StorageUnavailable(e.to_string()))?;
    state
        .db(move |conn| services::attachments::finish_removal(conn, &sha256, until))
        .await
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

/// `/` and `/swagger-ui` (without the slash) lead to Swagger UI.
async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", "/swagger-ui/"))
        .finish()
}

/// The whole HTTP application: routes, error shaping, docs, logging.
/// The longest path and query string taken (8 KiB, as common proxies allow).
pub const MAX_URI_BYTES: usize = 8 * 1024;

pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PathConfig::default().error_handler(|err, req| {
            // name the parameter: an id that is no integer, else the last one
            let params: Vec<(&str, &str)> = req.match_info().iter().collect();
            let field = params
                .iter()
                .find(|(name, value)| name.ends_with("id") && value.parse::<i64>().is_err())
                .or(params.last())
                .map_or("path", |(name, _)| name)
                .to_string();
            AppError::bad_request("invalid_path_parameter", &field, err.to_string()).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            AppError::bad_request("invalid_query_parameter", "query", err.to_string()).into()
        }))
        .app_data(web::JsonConfig::default().error_handler(|err, _| {
            AppError::bad_request("malformed_json", "body", err.to_string()).into()
        }))
        .wrap_fn(|req, srv| {
            // a NUL in a path segment (`%00`) would reach the database as text
            let refused = if req.path().to_ascii_lowercase().contains("%00") {
                Some(AppError::bad_request(
                    "invalid_path_parameter",
                    "path",
                    "the path must not contain the NUL character (%00)",
                ))
            } else if req.uri().to_string().len() > MAX_URI_BYTES {
                // no operation needs more; actix-http's own limit (64 KiB)
                // answers a bare 400 before any of our code runs
                Some(AppError::UriTooLong {
                    limit: MAX_URI_BYTES,
                })
            } else {
                None
            };
            if let Some(err) = refused {
                let res = req.into_response(err.error_response());
                return futures_util::future::Either::Left(std::future::ready(Ok(res)));
            }
            let fut = actix_web::dev::Service::call(srv, req);
            futures_util::future::Either::Right(async move {
                fut.await.map(ServiceResponse::map_into_boxed_body)
            })
        })
        .wrap(ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed))
        .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
        .service(web::resource("/healthz").get(api::health::healthz))
        .service(web::resource("/readyz").get(api::health::readyz))
        .route("/", web::get().to(to_swagger_ui))
        .route("/swagger-ui", web::get().to(to_swagger_ui))
        .configure(api::configure)
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .url("/api-docs/openapi.json", openapi::ApiDoc::openapi()),
        )
        .default_service(web::to(|req: HttpRequest| async move {
            Err::<HttpResponse, AppError>(AppError::NotFound(format!(
                "no endpoint at {} {}",
                req.method(),
                req.path()
            )))
        }))
}

/// A known path asked with a method it does not take: answer problem+json.
fn method_not_allowed<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let mut response = AppError::MethodNotAllowed.error_response();
    // RFC 9110: a 405 says which methods the resource does support
    if let Some(allow) = req.match_pattern().and_then(|p| allowed_methods().get(&p)) {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// The methods of every path, from the spec (which documents every route).
fn allowed_methods() -> &'static std::collections::HashMap<String, String> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| {
        let spec = serde_json::to_value(openapi::ApiDoc::openapi()).unwrap_or_default();
        let mut out = std::collections::HashMap::new();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                out.insert(path.clone(), methods.join(", "));
            }
        }
        out
    })
}
