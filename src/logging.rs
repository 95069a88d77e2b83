//! The process's logger: `env_logger`, with one correction. actix-http logs
//! every request it cannot parse (no `Host`, bytes not allowed in a header,
//! a URI over its limit) at ERROR before any of our code runs, so any client
//! could fill the error log at will. Those lines are the client's mistake,
//! like a 400 in the access log, and are logged at INFO.
//!
//! Every line written while a request is served carries its request id
//! ([`request_id`]): the id travels with the request's task and into the
//! blocking threads that do its database work. `AFTERCARE_LOG_FORMAT=json`
//! writes one JSON object per line.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;

use log::{Level, Log, Metadata, Record};

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

thread_local! {
    /// The request a blocking thread is working for.
    static BLOCKING_FOR: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The id of the request being served here, if any.
pub fn request_id() -> Option<Arc<str>> {
    REQUEST_ID
        .try_with(Arc::clone)
        .ok()
        .or_else(|| BLOCKING_FOR.with(|id| id.borrow().clone()))
}

/// Serves `fut` as the request `id`.
pub async fn serving<F: std::future::Future>(id: Arc<str>, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// Runs blocking work `f` for the request `id` (taken from
/// [`request_id`] before the work left the request's task).
pub fn working_for<T>(id: Option<Arc<str>>, f: impl FnOnce() -> T) -> T {
    let before = BLOCKING_FOR.with(|slot| slot.replace(id));
    let out = f();
    BLOCKING_FOR.with(|slot| *slot.borrow_mut() = before);
    out
}

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `2026-03-02T08:00:00.000Z INFO  target [request id] message`
    Text,
    /// `{"ts", "level", "target", "request_id", "message"}`
    Json,
}

impl Format {
    /// From `AFTERCARE_LOG_FORMAT` (`text`, the default, or `json`).
    pub fn from_env() -> Result<Format, String> {
        match std::env::var("AFTERCARE_LOG_FORMAT").as_deref() {
            Err(_) | Ok("") | Ok("text") => Ok(Format::Text),
            Ok("json") => Ok(Format::Json),
            Ok(other) => Err(format!(
                "AFTERCARE_LOG_FORMAT must be text or json, not {other:?}"
            )),
        }
    }
}

/// One line as `format` writes it (without its newline).
pub fn line(format: Format, level: Level, target: &str, message: &str, id: Option<&str>) -> String {
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    match format {
        Format::Text => match id {
            Some(id) => format!("{ts} {level:<5} {target} [{id}] {message}"),
            None => format!("{ts} {level:<5} {target} {message}"),
        },
        Format::Json => serde_json::json!({
            "ts": ts.to_string(),
            "level": level.as_str(),
            "target": target,
            "request_id": id,
            "message": message,
        })
        .to_string(),
    }
}

/// The module that logs unparsable requests, and how its lines begin.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
const CLIENT_FAULT: &str = "stream error: request parse error";

struct Logger {
    inner: env_logger::Logger,
}

/// Installs the logger (`RUST_LOG`, default `info`; `AFTERCARE_LOG_FORMAT`).
pub fn init() {
    let format = Format::from_env().unwrap_or_else(|e| {
        eprintln!("{e}; writing text");
        Format::Text
    });
    let inner = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(move |buf, record| {
            let id = request_id();
            let message = record.args().to_string();
            writeln!(
                buf,
                "{}",
                line(
                    format,
                    record.level(),
                    record.target(),
                    &message,
                    id.as_deref()
                )
            )
        })
        .build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Logger { inner })).is_ok() {
        log::set_max_level(max);
    }
}

/// The level a line is logged at: a client's unparsable request is INFO.
pub fn level_of(record: &Record) -> Level {
    if record.level() == Level::Error
        && record.target() == DISPATCHER
        && record.args().to_string().starts_with(CLIENT_FAULT)
    {
        Level::Info
    } else {
        record.level()
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        let level = level_of(record);
        if level == record.level() {
            return self.inner.log(record);
        }
        let metadata = Metadata::builder()
            .level(level)
            .target(record.target())
            .build();
        if self.inner.enabled(&metadata) {
            self.inner.log(
                &Record::builder()
                    .metadata(metadata)
                    .args(*record.args())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .build(),
            );
        }
    }

    fn flush(&self) {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(target: &str, level: Level, text: &str) -> Level {
        level_of(
            &Record::builder()
                .target(target)
                .level(level)
                .args(format_args!("{text}"))
                .build(),
        )
    }

    #[test]
    fn a_json_line_is_one_object_with_the_request_id() {
        let text = line(
            Format::Json,
            Level::Warn,
            "aftercare",
            "a \"quoted\"\nline",
            Some("r-1"),
        );
        assert!(!text.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["message"], "a \"quoted\"\nline");
        assert!(line(Format::Text, Level::Info, "t", "m", Some("r-2")).ends_with("t [r-2] m"));
    }

    #[test]
    fn a_blocking_thread_logs_for_the_request_it_works_for() {
        assert_eq!(request_id(), None);
        let id: Arc<str> = Arc::from("r-3");
        let seen = working_for(Some(id), request_id);
        assert_eq!(seen.as_deref(), Some("r-3"));
        assert_eq!(request_id(), None);
    }

    #[test]
    fn a_clients_unparsable_request_is_logged_at_info_and_nothing_else_moves() {
        let parse = "stream error: request parse error: invalid Header provided";
        assert_eq!(level(DISPATCHER, Level::Error, parse), Level::Info);
        // the dispatcher's other errors are the server's, and stay errors
        assert_eq!(
            level(DISPATCHER, Level::Error, "stream error: broken pipe"),
            Level::Error
        );
        assert_eq!(level("aftercare", Level::Error, parse), Level::Error);
        assert_eq!(level(DISPATCHER, Level::Warn, parse), Level::Warn);
    }
}
