//! What operators read: every request's id (echoed, in its log lines, in a
//! 5xx body) and the Prometheus metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Mutex, OnceLock};

use actix_web::test::TestRequest;
use common::*;
use diesel::connection::SimpleConnection;

/// Every line logged in this test process, with the request id it carried.
/// A line and the request id it carried.
type Line = (String, Option<String>);

static LINES: OnceLock<Mutex<Vec<Line>>> = OnceLock::new();

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let id = aftercare::logging::request_id().map(|id| id.to_string());
        if let Some(lines) = LINES.get() {
            lines.lock().unwrap().push((record.args().to_string(), id));
        }
    }
    fn flush(&self) {}
}

fn capture() {
    if LINES.set(Mutex::new(vec![])).is_ok() {
        log::set_boxed_logger(Box::new(Capture)).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    }
}

fn lines_with(text: &str) -> Vec<Line> {
    LINES
        .get()
        .unwrap()
        .lock()
        .unwrap()
        .iter()
        .filter(|(line, _)| line.contains(text))
        .cloned()
        .collect()
}

#[actix_rt::test]
async fn every_answer_carries_a_request_id_and_a_proxys_sane_one_is_kept() {
    let app = spawn().await;
    let admin = app.admin().await;
    let made = app.get("/api/v1/me", &admin).await;
    made.expect(200);
    let id = made.header("x-request-id").unwrap();
    assert!(id.len() >= 16, "{id}");
    let again = app.get("/api/v1/me", &admin).await;
    assert_ne!(again.header("x-request-id").unwrap(), id);
    for (sent, kept) in [
        ("lb-7f3a.2:9", true),
        ("has space", false),
        ("", false),
        (&"x".repeat(129) as &str, false),
    ] {
        let r = app
            .send(
                TestRequest::get()
                    .uri("/api/v1/me")
                    .insert_header(("Authorization", format!("Bearer {admin}")))
                    .insert_header(("X-Request-Id", sent)),
            )
            .await;
        let echoed = r.header("x-request-id").unwrap();
        assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed:?}");
    }
    // answers made before any handler (a path that does not exist) too
    let missing = app.get("/api/v1/nothing-here", &admin).await;
    missing.expect(404);
    assert!(missing.header("x-request-id").is_some());
}

#[actix_rt::test]
async fn a_server_error_names_its_request_in_the_body_and_in_the_log() {
    capture();
    let app = spawn().await;
    let admin = app.admin().await;
    // a broken database: the read fails inside the service
    app.state
        .pool
        .get()
        .unwrap()
        .batch_execute("ALTER TABLE api_keys RENAME TO api_keys_gone")
        .unwrap();
    let r = app
        .send(
            TestRequest::get()
                .uri("/api/v1/api-keys")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("X-Request-Id", "broken-db-1")),
        )
        .await;
    assert!(r.status >= 500, "{} {}", r.status, r.body);
    assert_eq!(r.body["request_id"], "broken-db-1");
    assert_eq!(r.header("x-request-id").as_deref(), Some("broken-db-1"));
    let logged = lines_with("internal error");
    assert!(
        logged
            .iter()
            .any(|(_, id)| id.as_deref() == Some("broken-db-1")),
        "{logged:?}"
    );
    // and so does the request's access line
    let access = lines_with("\"GET /api/v1/api-keys");
    assert!(
        access
            .iter()
            .any(|(line, id)| id.as_deref() == Some("broken-db-1") && line.contains(" 500 ")),
        "{access:?}"
    );
    // a 4xx says nothing of it
    let r = app.get("/api/v1/customers/999999", &admin).await;
    r.expect(404);
    assert!(r.body.get("request_id").is_none());
}

#[actix_rt::test]
async fn database_work_logs_for_the_request_it_runs_for() {
    capture();
    let app = spawn().await;
    let id: std::sync::Arc<str> = std::sync::Arc::from("blocking-7");
    let state = app.state.clone();
    aftercare::logging::serving(id, async move {
        state
            .db(|_| {
                log::info!("inside the database work");
                Ok(())
            })
            .await
            .unwrap()
    })
    .await;
    let logged = lines_with("inside the database work");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].1.as_deref(), Some("blocking-7"));
}

fn value_of(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[actix_rt::test]
async fn metrics_count_requests_by_route_and_show_the_clocks_and_the_pool() {
    let app = spawn().await;
    aftercare::metrics::install().unwrap();
    let admin = app.admin().await;
    let scrape = || {
        let pool = app.state.pool.clone();
        let mut conn = app.state.pool.get().unwrap();
        aftercare::metrics::render(&mut conn, &pool).unwrap()
    };
    let route = r#"aftercare_http_request_duration_seconds_count{method="GET",route="/api/v1/customers/{id}"}"#;
    let count = r#"aftercare_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="404"}"#;
    let before = scrape();
    let (n0, c0) = (value_of(&before, route), value_of(&before, count));
    app.get("/api/v1/customers/424242", &admin)
        .await
        .expect(404);
    app.get("/api/v1/customers/424243", &admin)
        .await
        .expect(404);
    let after = scrape();
    // the route's template, never the id: one series for every customer
    assert_eq!(value_of(&after, route), n0 + 2.0, "{after}");
    assert_eq!(value_of(&after, count), c0 + 2.0);
    assert!(!after.contains("424242"));
    assert!(after.contains("aftercare_http_request_duration_seconds_bucket"));
    for series in [
        "aftercare_db_pool_connections{state=\"in_use\"}",
        "aftercare_db_pool_wait_seconds_count",
        "aftercare_deadlines_open{rule=",
        "aftercare_deadlines_overdue{rule=",
        "aftercare_webhook_queue_depth",
    ] {
        assert!(after.contains(series), "{series} missing");
    }
}

#[actix_rt::test]
async fn the_api_address_does_not_serve_metrics() {
    let app = spawn().await;
    let r = app.get("/metrics", "").await;
    r.expect(404);
}
