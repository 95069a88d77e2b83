//! Everything read from the environment, in one place.

use std::env;

use chrono_tz::Tz;

use crate::db::{default_sqlite_path, DbTarget};
use crate::season::Season;
use crate::storage::StorageTarget;

#[derive(Clone)]
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
    /// Failures of one username from one address (since its last success).
    pub login_max_failures: i64,
    /// Failures of one username from every address: much higher, so that
    /// someone who knows a username cannot lock its owner out.
    pub login_max_failures_per_user: i64,
    pub login_max_failures_per_addr: i64,
    pub login_window_secs: i64,
    /// Take the client address from `Forwarded`/`X-Forwarded-For` (only
    /// behind a reverse proxy that sets it; otherwise clients could forge it).
    pub trust_forwarded_for: bool,
    /// How many reverse proxies in front of the API append to
    /// `X-Forwarded-For` (`AFTERCARE_TRUSTED_PROXY_HOPS`, default 1).
    pub trusted_proxy_hops: usize,
    /// Lowest average score (of the three grading scores) for AAA, AA, A,
    /// BBB, BB and B; below the last is C.
    pub grade_thresholds: [f64; 6],
    /// Complaints in the last 12 months from which a customer is visited by a `manager`.
    pub many_complaints: i64,
    /// Complaints one customer account may register in 24 hours.
    pub customer_complaints_per_day: i64,
    /// The company's heating season (采暖期), for heating_cooling warranty terms.
    pub heating_season: Season,
    /// The company's cooling season (供冷期).
    pub cooling_season: Season,
    /// How long an `Idempotency-Key` is remembered (`AFTERCARE_IDEMPOTENCY_TTL_HOURS`, default 24).
    pub idempotency_ttl_hours: i64,
    /// The language of problem messages when a request's `Accept-Language`
    /// names neither English nor Chinese (`AFTERCARE_DEFAULT_LANGUAGE`:
    /// `en`, the default, or `zh-CN`).
    pub default_language: crate::i18n::Lang,
    /// Seconds between deadline sweeps in `serve`; 0 turns the built-in
    /// sweeper off (run `aftercare sweep` from cron instead).
    pub sweep_interval_secs: u64,
    /// Where uploaded files live (`AFTERCARE_STORAGE_URL`): by default the
    /// folder `files` beside the SQLite database (or `data/files` with
    /// PostgreSQL); `s3://bucket/prefix` for an S3-compatible store, which
    /// several instances share.
    pub storage: StorageTarget,
    /// Where uploads are written while they arrive (`AFTERCARE_SPOOL_DIR`):
    /// by default `.spool` in a local store's folder (the same disk, so
    /// nothing is copied twice), or the system's temporary folder with S3.
    pub spool_dir: std::path::PathBuf,
    /// The largest file accepted (`AFTERCARE_MAX_UPLOAD_BYTES`, default 20 MiB).
    pub max_upload_bytes: u64,
    /// Bytes of unattached uploads one user may hold at once.
    pub upload_quota_bytes: u64,
    /// Attachments one subject may have (`AFTERCARE_MAX_ATTACHMENTS`, default 50).
    pub max_attachments: i64,
    /// Hours an upload waits to be attached before it is removed
    /// (`AFTERCARE_UPLOAD_TTL_HOURS`, default 24).
    pub upload_ttl_hours: i64,
    /// Requests per minute one account or API key may make
    /// (`AFTERCARE_RATE_LIMIT_PER_MINUTE`, default 600; 0: no limit), in
    /// bursts of up to `AFTERCARE_RATE_LIMIT_BURST` (default 120).
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    /// Origins whose web apps may call the API from the browser
    /// (`AFTERCARE_CORS_ORIGINS`, a comma list; none by default).
    pub cors_origins: Vec<String>,
    /// The address `/metrics` is served on (`AFTERCARE_METRICS_BIND`, e.g.
    /// `127.0.0.1:9464`); none by default, and never the API's own.
    pub metrics_bind: Option<String>,
    pub webhooks: WebhookConfig,
    /// The longest a change-feed read waits for a change (`wait`), in
    /// seconds (`AFTERCARE_CHANGES_MAX_WAIT_SECS`, default 30: what proxies
    /// commonly let an idle request last).
    pub changes_max_wait_secs: u32,
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Plain `http://` URLs accepted (`AFTERCARE_WEBHOOK_ALLOW_HTTP`, for tests).
    pub allow_http: bool,
    /// Loopback, private and link-local addresses accepted
    /// (`AFTERCARE_WEBHOOK_ALLOW_PRIVATE`, for tests and closed networks).
    pub allow_private: bool,
    /// Waits before each retry (`AFTERCARE_WEBHOOK_RETRY_SCHEDULE`, e.g.
    /// `5s,5m,30m,2h,5h,10h,10h`); after the last, the delivery fails.
    pub retry_schedule: Vec<u64>,
    pub connect_timeout_secs: u64,
    /// The whole attempt (`AFTERCARE_WEBHOOK_TIMEOUT_SECS`, default 15).
    pub timeout_secs: u64,
    /// Deliveries in flight to one endpoint at once, across instances.
    pub max_in_flight: i64,
    /// An endpoint failing this long is disabled (default 5 days).
    pub disable_after_secs: i64,
    /// How often each instance looks for due deliveries
    /// (`AFTERCARE_WEBHOOK_POLL_MS`, default 1000; 0: no dispatcher).
    pub poll_ms: u64,
}

impl WebhookConfig {
    pub const DEFAULT_SCHEDULE: &'static str = "5s,5m,30m,2h,5h,10h,10h";

    pub fn defaults() -> WebhookConfig {
        WebhookConfig {
            allow_http: false,
            allow_private: false,
            retry_schedule: parse_schedule(Self::DEFAULT_SCHEDULE).unwrap_or_default(),
            connect_timeout_secs: 5,
            timeout_secs: 15,
            max_in_flight: 4,
            disable_after_secs: 5 * 24 * 3600,
            poll_ms: 1000,
        }
    }
}

/// `5s,5m,30m,2h`: seconds, minutes, hours or days each.
pub fn parse_schedule(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(|step| {
            let step = step.trim();
            let (number, unit) = step.split_at(step.len().saturating_sub(1));
            let n: u64 = number.parse().map_err(|_| {
                format!("AFTERCARE_WEBHOOK_RETRY_SCHEDULE: {step:?} is not like 5s, 5m, 2h or 1d")
            })?;
            match unit {
                "s" => Ok(n),
                "m" => Ok(n * 60),
                "h" => Ok(n * 3600),
                "d" => Ok(n * 86_400),
                _ => Err(format!(
                    "AFTERCARE_WEBHOOK_RETRY_SCHEDULE: {step:?} is not like 5s, 5m, 2h or 1d"
                )),
            }
        })
        .collect()
}

fn flag(name: &str) -> bool {
    matches!(non_empty(name).as_deref(), Some("1" | "true" | "yes"))
}

/// Where uploads are spooled unless `AFTERCARE_SPOOL_DIR` says otherwise.
pub fn default_spool(storage: &StorageTarget) -> std::path::PathBuf {
    match storage {
        StorageTarget::Local(dir) => dir.join(".spool"),
        StorageTarget::S3 { .. } => env::temp_dir().join("aftercare-spool"),
    }
}

/// Uploaded files live beside the SQLite database by default; with
/// PostgreSQL, in `data/files` under the working folder.
pub fn default_storage(database: &DbTarget) -> StorageTarget {
    match database {
        DbTarget::Sqlite(path) => StorageTarget::Local(
            path.parent()
                .map(|dir| dir.join("files"))
                .unwrap_or_else(|| "files".into()),
        ),
        DbTarget::Postgres(_) => StorageTarget::Local("data/files".into()),
    }
}

impl Config {
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";

    pub fn from_env() -> Result<Config, String> {
        // the logger reads it itself (it starts first); a wrong value stops
        // the start here, as every other setting does
        crate::logging::Format::from_env()?;
        let database = match env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => DbTarget::parse(url.trim()),
            _ => DbTarget::Sqlite(default_sqlite_path()),
        };
        let tz_name = env::var("AFTERCARE_TZ").unwrap_or_else(|_| "Asia/Shanghai".to_string());
        let tz: Tz = tz_name
            .parse()
            .map_err(|_| format!("AFTERCARE_TZ: unknown time zone {tz_name:?}"))?;
        let storage = match non_empty("AFTERCARE_STORAGE_URL") {
            Some(url) => StorageTarget::parse(url.trim())?,
            None => default_storage(&database),
        };
        let config = Config {
            bind: env::var("AFTERCARE_BIND").unwrap_or_else(|_| Config::DEFAULT_BIND.to_string()),
            jwt_secret: non_empty("AFTERCARE_JWT_SECRET"),
            admin_password: non_empty("AFTERCARE_ADMIN_PASSWORD"),
            tz,
            access_token_ttl_secs: number("AFTERCARE_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl_days: number("AFTERCARE_REFRESH_TOKEN_TTL_DAYS", 30)?,
            max_body_bytes: number("AFTERCARE_MAX_BODY_BYTES", 256 * 1024)?,
            db_pool_size: number("AFTERCARE_DB_POOL_SIZE", 10)?,
            login_max_failures: number("AFTERCARE_LOGIN_MAX_FAILURES", 5)?,
            login_max_failures_per_user: number("AFTERCARE_LOGIN_MAX_FAILURES_PER_USER", 100)?,
            login_max_failures_per_addr: number("AFTERCARE_LOGIN_MAX_FAILURES_PER_ADDR", 50)?,
            login_window_secs: number("AFTERCARE_LOGIN_WINDOW_SECS", 900)?,
            trust_forwarded_for: matches!(
                non_empty("AFTERCARE_TRUST_FORWARDED_FOR").as_deref(),
                Some("1" | "true" | "yes")
            ),
            trusted_proxy_hops: number("AFTERCARE_TRUSTED_PROXY_HOPS", 1)?,
            grade_thresholds: match non_empty("AFTERCARE_GRADE_THRESHOLDS") {
                Some(v) => parse_thresholds(&v)?,
                None => DEFAULT_GRADE_THRESHOLDS,
            },
            many_complaints: number("AFTERCARE_MANY_COMPLAINTS", 3)?,
            customer_complaints_per_day: number("AFTERCARE_CUSTOMER_COMPLAINTS_PER_DAY", 20)?,
            heating_season: season("AFTERCARE_HEATING_SEASON", DEFAULT_HEATING)?,
            cooling_season: season("AFTERCARE_COOLING_SEASON", DEFAULT_COOLING)?,
            sweep_interval_secs: number("AFTERCARE_SWEEP_INTERVAL_SECS", 60)?,
            idempotency_ttl_hours: number("AFTERCARE_IDEMPOTENCY_TTL_HOURS", 24)?,
            default_language: match non_empty("AFTERCARE_DEFAULT_LANGUAGE") {
                None => crate::i18n::Lang::En,
                Some(tag) => crate::i18n::Lang::from_tag(&tag).ok_or_else(|| {
                    format!("AFTERCARE_DEFAULT_LANGUAGE: {tag:?} is neither `en` nor `zh-CN`")
                })?,
            },
            spool_dir: match non_empty("AFTERCARE_SPOOL_DIR") {
                Some(dir) => dir.into(),
                None => default_spool(&storage),
            },
            storage,
            max_upload_bytes: number("AFTERCARE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)?,
            upload_quota_bytes: number("AFTERCARE_UPLOAD_QUOTA_BYTES", 500 * 1024 * 1024)?,
            max_attachments: number("AFTERCARE_MAX_ATTACHMENTS", 50)?,
            upload_ttl_hours: number("AFTERCARE_UPLOAD_TTL_HOURS", 24)?,
            rate_limit_per_minute: number("AFTERCARE_RATE_LIMIT_PER_MINUTE", 600)?,
            rate_limit_burst: number("AFTERCARE_RATE_LIMIT_BURST", 120)?,
            cors_origins: cors_origins()?,
            metrics_bind: non_empty("AFTERCARE_METRICS_BIND"),
            changes_max_wait_secs: number("AFTERCARE_CHANGES_MAX_WAIT_SECS", 30)?,
            webhooks: WebhookConfig {
                allow_http: flag("AFTERCARE_WEBHOOK_ALLOW_HTTP"),
                allow_private: flag("AFTERCARE_WEBHOOK_ALLOW_PRIVATE"),
                retry_schedule: parse_schedule(
                    &non_empty("AFTERCARE_WEBHOOK_RETRY_SCHEDULE")
                        .unwrap_or_else(|| WebhookConfig::DEFAULT_SCHEDULE.to_string()),
                )?,
                connect_timeout_secs: 5,
                timeout_secs: number("AFTERCARE_WEBHOOK_TIMEOUT_SECS", 15)?,
                max_in_flight: number("AFTERCARE_WEBHOOK_MAX_IN_FLIGHT", 4)?,
                disable_after_secs: 5 * 24 * 3600,
                poll_ms: number("AFTERCARE_WEBHOOK_POLL_MS", 1000)?,
            },
            database,
        };
        if let Some(secret) = &config.jwt_secret {
            if secret.len() < 32 {
                return Err("AFTERCARE_JWT_SECRET must be at least 32 characters".to_string());
            }
        }
        // (with PostgreSQL the secret is required where tokens are made, at
        // start-up of the service: `migrate` needs none)
        Ok(config)
    }

    /// A configuration for tests and tools: defaults, the given database.
    pub fn for_database(database: DbTarget) -> Config {
        Config {
            bind: "127.0.0.1:0".to_string(),
            jwt_secret: None,
            admin_password: None,
            tz: chrono_tz::Asia::Shanghai,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            max_body_bytes: 256 * 1024,
            db_pool_size: 4,
            login_max_failures: 5,
            login_max_failures_per_user: 100,
            login_max_failures_per_addr: 50,
            login_window_secs: 900,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            grade_thresholds: DEFAULT_GRADE_THRESHOLDS,
            many_complaints: 3,
            customer_complaints_per_day: 20,
            heating_season: DEFAULT_HEATING,
            cooling_season: DEFAULT_COOLING,
            sweep_interval_secs: 0,
            idempotency_ttl_hours: 24,
            default_language: crate::i18n::Lang::En,
            spool_dir: default_spool(&default_storage(&database)),
            storage: default_storage(&database),
            max_upload_bytes: 20 * 1024 * 1024,
            upload_quota_bytes: 500 * 1024 * 1024,
            max_attachments: 50,
            upload_ttl_hours: 24,
            // tests and tools make requests as fast as they can
            rate_limit_per_minute: 0,
            rate_limit_burst: 120,
            cors_origins: vec![],
            metrics_bind: None,
            changes_max_wait_secs: 30,
            webhooks: WebhookConfig {
                // deliveries are sent when a test says (`webhooks::dispatch`)
                poll_ms: 0,
                ..WebhookConfig::defaults()
            },
            database,
        }
    }
}

/// Secrets never reach a log: `Debug` prints whether they are set, not them.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| if s.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("database", &self.database.describe())
            .field("bind", &self.bind)
            .field("jwt_secret", &secret(&self.jwt_secret))
            .field("admin_password", &secret(&self.admin_password))
            .field("tz", &self.tz)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_days", &self.refresh_token_ttl_days)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("db_pool_size", &self.db_pool_size)
            .field("login_max_failures", &self.login_max_failures)
            .field(
                "login_max_failures_per_user",
                &self.login_max_failures_per_user,
            )
            .field(
                "login_max_failures_per_addr",
                &self.login_max_failures_per_addr,
            )
            .field("login_window_secs", &self.login_window_secs)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("grade_thresholds", &self.grade_thresholds)
            .field("many_complaints", &self.many_complaints)
            .field(
                "customer_complaints_per_day",
                &self.customer_complaints_per_day,
            )
            .field("heating_season", &self.heating_season)
            .field("cooling_season", &self.cooling_season)
            .field("sweep_interval_secs", &self.sweep_interval_secs)
            .field("idempotency_ttl_hours", &self.idempotency_ttl_hours)
            .field("default_language", &self.default_language.as_str())
            .field("storage", &self.storage.describe())
            .field("spool_dir", &self.spool_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("upload_quota_bytes", &self.upload_quota_bytes)
            .field("max_attachments", &self.max_attachments)
            .field("upload_ttl_hours", &self.upload_ttl_hours)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("cors_origins", &self.cors_origins)
            .field("metrics_bind", &self.metrics_bind)
            .field("changes_max_wait_secs", &self.changes_max_wait_secs)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

pub const DEFAULT_GRADE_THRESHOLDS: [f64; 6] = [90.0, 85.0, 80.0, 75.0, 70.0, 60.0];
/// 15 October – 15 March: heating starts in October (年度回访计划, the
/// annual return-visit plan: "供暖期(10月份)"); the day and the end are ours,
/// to be set per company with `AFTERCARE_HEATING_SEASON`.
pub const DEFAULT_HEATING: Season = Season {
    start: (10, 15),
    end: (3, 15),
};
/// 1 June – 31 August.
pub const DEFAULT_COOLING: Season = Season {
    start: (6, 1),
    end: (8, 31),
};

/// "90,85,80,75,70,60": six descending numbers.
fn parse_thresholds(text: &str) -> Result<[f64; 6], String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("AFTERCARE_GRADE_THRESHOLDS: not six numbers: {text:?}"))?;
    let arr: [f64; 6] = values.try_into().map_err(|_| {
        format!("AFTERCARE_GRADE_THRESHOLDS: need six numbers (AAA,AA,A,BBB,BB,B): {text:?}")
    })?;
    if arr.windows(2).any(|w| w[0] < w[1]) {
        return Err("AFTERCARE_GRADE_THRESHOLDS must not increase from AAA to B".to_string());
    }
    Ok(arr)
}

/// "MM-DD..MM-DD"
fn season(name: &str, default: Season) -> Result<Season, String> {
    match non_empty(name) {
        None => Ok(default),
        Some(v) => {
            Season::parse(&v).ok_or_else(|| format!("{name}: expected MM-DD..MM-DD, got {v:?}"))
        }
    }
}

/// `https://app.example.com,https://admin.example.com`: exact origins;
/// `*` is refused (the API takes credentials).
fn cors_origins() -> Result<Vec<String>, String> {
    let Some(list) = non_empty("AFTERCARE_CORS_ORIGINS") else {
        return Ok(vec![]);
    };
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            if o == "*" {
                Err("AFTERCARE_CORS_ORIGINS: name the origins; `*` is not allowed".to_string())
            } else if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                Err(format!(
                    "AFTERCARE_CORS_ORIGINS: {o:?} is not an origin like https://app.example.com"
                ))
            } else {
                Ok(o.to_string())
            }
        })
        .collect()
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
