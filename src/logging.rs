//! The process's logger: `env_logger`, with one correction. actix-http logs
//! every request it cannot parse (no `Host`, bytes not allowed in a header,
//! a URI over its limit) at ERROR before any of our code runs, so any client
//! could fill the error log at will. Those lines are the client's mistake,
//! like a 400 in the access log, and are logged at INFO.

use log::{Level, Log, Metadata, Record};

/// The module that logs unparsable requests, and how its lines begin.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
const CLIENT_FAULT: &str = "stream error: request parse error";

struct Logger {
    inner: env_logger::Logger,
}

/// Installs the logger (`RUST_LOG`, default `info`).
pub fn init() {
    let inner =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
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
