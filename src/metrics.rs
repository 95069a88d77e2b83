//! What operators watch, in the Prometheus format: served by `serve` on its
//! own address when `AFTERCARE_METRICS_BIND` is set, never on the API's.
//!
//! The code records through the `metrics` facade; until [`install`] runs
//! (no metrics address) every record is a no-op. What the database knows
//! (open and overdue clocks by rule, the webhook queue) is counted in SQL
//! when scraped, and the pool's state read then.

use std::sync::OnceLock;
use std::time::Duration;

use diesel::dsl::count_star;
use diesel::prelude::*;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::schema::deadlines;
use crate::db::{DbConn, DbPool};
use crate::error::AppResult;
use crate::models::deadline::Rule;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, in seconds: a point read to a slow report.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process's recorder (once; later calls answer the same).
/// None when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Whether a recorder is installed (metrics are served).
pub fn enabled() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "aftercare_http_requests_total",
        "Requests answered, by route template, method and status"
    );
    describe_histogram!(
        "aftercare_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request, by route template and method"
    );
    describe_gauge!(
        "aftercare_db_pool_connections",
        "The pool's connections, in use and idle"
    );
    describe_histogram!(
        "aftercare_db_pool_wait_seconds",
        Unit::Seconds,
        "Time a request waited for a pooled connection"
    );
    describe_histogram!(
        "aftercare_sqlite_writer_wait_seconds",
        Unit::Seconds,
        "Time a write waited for SQLite's one writer lock"
    );
    describe_gauge!(
        "aftercare_deadlines_open",
        "Open clocks (pending or overdue), by rule"
    );
    describe_gauge!("aftercare_deadlines_overdue", "Overdue clocks, by rule");
    describe_gauge!(
        "aftercare_sweep_last_run_timestamp_seconds",
        "When the sweeper last finished a pass (Unix time)"
    );
    describe_gauge!(
        "aftercare_sweep_duration_seconds",
        Unit::Seconds,
        "How long the sweeper's last pass took"
    );
    describe_counter!(
        "aftercare_sweep_failures_total",
        "Sweeper passes that failed"
    );
    describe_counter!(
        "aftercare_upload_bytes_total",
        Unit::Bytes,
        "Bytes of files uploaded"
    );
    describe_gauge!(
        "aftercare_webhook_queue_depth",
        "Webhook deliveries pending (due or waiting to retry)"
    );
    describe_counter!(
        "aftercare_webhook_attempts_total",
        "Webhook delivery attempts, by outcome (delivered or failed)"
    );
}

/// A request answered.
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    let (method, route) = (method.to_string(), route.to_string());
    metrics::counter!("aftercare_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
    .increment(1);
    metrics::histogram!("aftercare_http_request_duration_seconds",
        "method" => method, "route" => route)
    .record(took.as_secs_f64());
}

pub fn pool_wait(took: Duration) {
    metrics::histogram!("aftercare_db_pool_wait_seconds").record(took.as_secs_f64());
}

pub fn writer_wait(took: Duration) {
    metrics::histogram!("aftercare_sqlite_writer_wait_seconds").record(took.as_secs_f64());
}

/// A sweeper pass that finished (or failed) after `took`.
pub fn swept(ok: bool, took: Duration) {
    if ok {
        metrics::gauge!("aftercare_sweep_last_run_timestamp_seconds")
            .set(chrono::Utc::now().timestamp() as f64);
        metrics::gauge!("aftercare_sweep_duration_seconds").set(took.as_secs_f64());
    } else {
        metrics::counter!("aftercare_sweep_failures_total").increment(1);
    }
}

pub fn uploaded(bytes: i64) {
    metrics::counter!("aftercare_upload_bytes_total").increment(u64::try_from(bytes).unwrap_or(0));
}

pub fn webhook_attempt(delivered: bool) {
    let outcome = if delivered { "delivered" } else { "failed" };
    metrics::counter!("aftercare_webhook_attempts_total", "outcome" => outcome).increment(1);
}

/// The scrape: what the database and the pool know now, then everything
/// in the Prometheus text format.
pub fn render(conn: &mut DbConn, pool: &DbPool) -> AppResult<String> {
    let Some(handle) = install() else {
        return Ok(String::new());
    };
    let state = pool.state();
    metrics::gauge!("aftercare_db_pool_connections", "state" => "idle")
        .set(f64::from(state.idle_connections));
    // this scrape holds one of them
    metrics::gauge!("aftercare_db_pool_connections", "state" => "in_use")
        .set(f64::from(state.connections - state.idle_connections));
    let open: Vec<(String, String, i64)> = deadlines::table
        .filter(deadlines::status.eq_any(["pending", "overdue"]))
        .group_by((deadlines::rule, deadlines::status))
        .select((deadlines::rule, deadlines::status, count_star()))
        .load(conn)?;
    let mut by_rule: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (rule, status, n) in open {
        let entry = by_rule.entry(rule).or_default();
        entry.0 += n;
        if status == "overdue" {
            entry.1 += n;
        }
    }
    for rule in Rule::ALL {
        let (open, overdue) = by_rule.get(rule.as_str()).copied().unwrap_or_default();
        metrics::gauge!("aftercare_deadlines_open", "rule" => rule.as_str()).set(open as f64);
        metrics::gauge!("aftercare_deadlines_overdue", "rule" => rule.as_str()).set(overdue as f64);
    }
    metrics::gauge!("aftercare_webhook_queue_depth")
        .set(crate::kit::outbox::queue_depth(conn)? as f64);
    Ok(handle.render())
}
