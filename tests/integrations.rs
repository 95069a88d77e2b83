//! What partners' systems get: signed webhooks delivered at least once with
//! retries, never to an internal address; the change feed in the order
//! transactions settle, scoped to the reader, saying `removed` when a
//! record leaves their sight; API keys with their limits; CORS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use actix_web::test::TestRequest;
use base64::Engine;
use chrono::Duration;
use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

// ---- a receiver in the test process -------------------------------------

/// What the receiver does with the next request.
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    /// Answers nothing for this long.
    Hang(u64),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<Vec<Reply>>>,
}

impl Receiver {
    /// Listens on a free local port; answers the queued replies in order,
    /// then 200.
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(vec![]));
        let replies: Arc<Mutex<Vec<Reply>>> = Arc::new(Mutex::new(vec![]));
        let (g, r) = (got.clone(), replies.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (g, r) = (g.clone(), r.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&mut stream) else {
                        return;
                    };
                    g.lock().unwrap().push(request);
                    let reply = {
                        let mut q = r.lock().unwrap();
                        if q.is_empty() {
                            Reply::Status(200)
                        } else {
                            q.remove(0)
                        }
                    };
                    match reply {
                        Reply::Status(code) => {
                            let _ = write!(
                                stream,
                                "HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                            );
                        }
                        Reply::Hang(secs) => std::thread::sleep(StdDuration::from_secs(secs)),
                    }
                });
            }
        });
        Receiver { url, got, replies }
    }

    fn then(&self, reply: Reply) {
        self.replies.lock().unwrap().push(reply);
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut buf = vec![];
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

/// The Standard Webhooks check, written here from the specification (CI
/// also runs the `standardwebhooks` package's own verifier).
fn verifies(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.{}",
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap(),
        r.body
    );
    mac.update(signed.as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.header("webhook-signature")
        .unwrap()
        .split(' ')
        .any(|s| s == expected)
}

async fn spawn_open() -> TestApp<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    spawn_with(|c| {
        c.access_token_ttl_secs = 30 * 86_400;
        c.webhooks.allow_http = true;
        c.webhooks.allow_private = true;
        c.webhooks.timeout_secs = 1;
        c.webhooks.connect_timeout_secs = 1;
        c.webhooks.retry_schedule = vec![5, 300, 1800];
    })
    .await
}

// ---- webhooks ------------------------------------------------------------

#[actix_rt::test]
async fn a_delivery_is_signed_by_standard_webhooks_and_carries_the_records_view() {
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    let made = app
        .post(
            "/api/v1/webhooks",
            &d.admin,
            json!({"url": receiver.url, "event_types": ["customer.created", "project.created"]}),
        )
        .await;
    made.expect(201);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{secret}"
    );
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    // the secret is shown once
    let read = app.get(&format!("/api/v1/webhooks/{hook}"), &d.admin).await;
    read.expect(200);
    assert!(read.body.get("secret").is_none());

    let customer = app.customer(&d.admin, "业主 Owner Two", d.org.east).await;
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(
        verifies(&secret, r),
        "signature: {:?}",
        r.header("webhook-signature")
    );
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["data"]["subject_type"], "customer");
    assert_eq!(body["data"]["object"]["id"], customer);
    assert_eq!(body["data"]["object"]["name"], "业主 Owner Two");
    // the webhook-id is the event's id
    assert_eq!(
        r.header("webhook-id").unwrap(),
        body["data"]["event_id"].as_i64().unwrap().to_string()
    );
    // a tampered body no longer verifies
    let mut tampered = r.clone();
    tampered.body = r.body.replace("Owner Two", "Owner Six");
    assert!(!verifies(&secret, &tampered));
    // nothing more is due
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 0);
    let deliveries = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &d.admin)
        .await;
    deliveries.expect(200);
    let first = &deliveries.body["items"][0];
    assert_eq!(first["status"], "delivered");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["response_status"], 200);
    assert_eq!(first["response_body"], "ok");
}

#[actix_rt::test]
async fn a_delivery_answered_500_is_retried_on_the_schedule_with_the_same_id_and_body() {
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    app.post(
        "/api/v1/webhooks",
        &d.admin,
        json!({"url": receiver.url, "event_types": ["customer.created"]}),
    )
    .await
    .expect(201);
    receiver.then(Reply::Status(500));
    app.customer(&d.admin, "Owner Two", d.org.east).await;
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    let hooks = app.get("/api/v1/webhooks", &d.admin).await;
    assert!(hooks.body["items"][0]["failing_since"].is_string());
    // the first retry waits about five seconds (a fifth of jitter either way)
    app.clock.advance(Duration::seconds(3));
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 0);
    app.clock.advance(Duration::seconds(4));
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    let hook = hooks.body["items"][0]["id"].as_i64().unwrap();
    let list = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &d.admin)
        .await;
    assert_eq!(list.body["items"][0]["status"], "delivered");
    assert_eq!(list.body["items"][0]["attempts"], 2);
    // a success ends the failure window
    let after = app.get(&format!("/api/v1/webhooks/{hook}"), &d.admin).await;
    assert!(after.body["failing_since"].is_null());
}

#[actix_rt::test]
async fn a_receiver_that_hangs_times_out_and_is_retried_then_given_up_after_the_schedule() {
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    let made = app
        .post(
            "/api/v1/webhooks",
            &d.admin,
            json!({"url": receiver.url, "event_types": ["customer.created"]}),
        )
        .await;
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    for _ in 0..4 {
        receiver.then(Reply::Hang(3));
    }
    app.customer(&d.admin, "Owner Two", d.org.east).await;
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    let list = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &d.admin)
        .await;
    let first = &list.body["items"][0];
    assert_eq!(first["status"], "pending");
    assert_eq!(first["error"], "timed out");
    assert!(first["response_status"].is_null());
    // three retries on the schedule (5 s, 5 min, 30 min), then it fails
    for wait in [7, 400, 2200] {
        app.clock.advance(Duration::seconds(wait));
        assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    }
    let list = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &d.admin)
        .await;
    assert_eq!(list.body["items"][0]["status"], "failed");
    assert_eq!(list.body["items"][0]["attempts"], 4);
    app.clock.advance(Duration::hours(3));
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 0);
    // sent again by hand, it goes at once
    let delivery = list.body["items"][0]["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/retry"),
        &d.admin,
        json!({}),
    )
    .await
    .expect(202);
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    let one = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries/{delivery}"),
            &d.admin,
        )
        .await;
    assert_eq!(one.body["status"], "delivered");
    assert_eq!(one.body["attempts"], 5);
}

#[actix_rt::test]
async fn an_endpoint_failing_for_five_days_is_disabled_with_an_event_and_turned_on_again() {
    let app = spawn_with(|c| {
        c.access_token_ttl_secs = 30 * 86_400;
        c.webhooks.allow_http = true;
        c.webhooks.allow_private = true;
        c.webhooks.retry_schedule = vec![2 * 86_400, 2 * 86_400, 2 * 86_400, 2 * 86_400];
    })
    .await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    let made = app
        .post(
            "/api/v1/webhooks",
            &d.admin,
            json!({"url": receiver.url, "event_types": ["customer.created"]}),
        )
        .await;
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    for _ in 0..10 {
        receiver.then(Reply::Status(503));
    }
    app.customer(&d.admin, "Owner Two", d.org.east).await;
    // day 0, about day 2 and about day 4: failing, still on
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    for _ in 0..2 {
        app.clock.advance(Duration::hours(58));
        assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    }
    let still = app.get(&format!("/api/v1/webhooks/{hook}"), &d.admin).await;
    assert_eq!(still.body["active"], true, "{}", still.body);
    // past five days of failures: off
    app.clock.advance(Duration::hours(58));
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
    let off = app.get(&format!("/api/v1/webhooks/{hook}"), &d.admin).await;
    assert_eq!(off.body["active"], false);
    assert!(off.body["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("failed since"));
    let events = app
        .get("/api/v1/events?action=webhook.disabled", &d.admin)
        .await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 1);
    // nothing is sent to a disabled endpoint
    app.clock.advance(Duration::days(3));
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 0);
    // turned on again, its pending delivery goes out
    let version = off.header("etag").unwrap();
    app.send(
        TestRequest::patch()
            .uri(&format!("/api/v1/webhooks/{hook}"))
            .insert_header(("Authorization", format!("Bearer {}", d.admin)))
            .insert_header(("If-Match", version))
            .set_json(json!({"active": true})),
    )
    .await
    .expect(200);
    receiver.replies.lock().unwrap().clear();
    assert_eq!(aftercare::webhooks::dispatch(&app.state).await.unwrap(), 1);
}

#[actix_rt::test]
async fn webhook_urls_to_internal_addresses_are_refused_also_by_name() {
    let app = spawn().await;
    let d = east_desk(&app).await;
    for (url, code) in [
        ("http://example.com/hook", "webhook_url_refused"),
        ("https://127.0.0.1/hook", "webhook_url_refused"),
        (
            "https://169.254.169.254/latest/meta-data",
            "webhook_url_refused",
        ),
        ("https://10.0.0.7/hook", "webhook_url_refused"),
        ("https://[::1]/hook", "webhook_url_refused"),
        ("https://[::ffff:192.168.0.1]/hook", "webhook_url_refused"),
        // a name that resolves to loopback
        ("https://localhost/hook", "webhook_url_refused"),
        ("ftp://example.com/hook", "webhook_url_refused"),
    ] {
        let r = app
            .post(
                "/api/v1/webhooks",
                &d.admin,
                json!({"url": url, "event_types": ["complaint.registered"]}),
            )
            .await;
        r.expect_problem(422, code);
        assert_eq!(r.fields(), vec!["url"], "{url}");
    }
    let none = app.get("/api/v1/webhooks", &d.admin).await;
    assert!(none.body["items"].as_array().unwrap().is_empty());
}

#[actix_rt::test]
async fn an_address_checked_at_subscription_is_checked_again_at_delivery() {
    // allowed when subscribed, no longer when sent: nothing reaches it
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    app.post(
        "/api/v1/webhooks",
        &d.admin,
        json!({"url": receiver.url, "event_types": ["customer.created"]}),
    )
    .await
    .expect(201);
    app.customer(&d.admin, "Owner Two", d.org.east).await;
    let mut strict = app.state.clone();
    let mut config = (*strict.config).clone();
    config.webhooks.allow_private = false;
    strict.config = std::sync::Arc::new(config);
    assert_eq!(aftercare::webhooks::dispatch(&strict).await.unwrap(), 1);
    assert!(receiver.got().is_empty());
    let hooks = app.get("/api/v1/webhooks", &d.admin).await;
    let hook = hooks.body["items"][0]["id"].as_i64().unwrap();
    let list = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &d.admin)
        .await;
    assert!(list.body["items"][0]["error"]
        .as_str()
        .unwrap()
        .contains("internal address"));
}

#[actix_rt::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    let receiver = Receiver::start();
    let made = app
        .post(
            "/api/v1/webhooks",
            &d.admin,
            json!({"url": receiver.url, "event_types": ["webhook.ping"]}),
        )
        .await;
    let old = made.body["secret"].as_str().unwrap().to_string();
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/{hook}/secret-rotation"),
            &d.admin,
            json!({}),
        )
        .await;
    rotated.expect(200);
    let new = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    app.post(
        &format!("/api/v1/webhooks/{hook}/ping"),
        &d.admin,
        json!({}),
    )
    .await
    .expect(202);
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    let r = &receiver.got()[0];
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 2);
    assert!(verifies(&old, r) && verifies(&new, r));
    // a day and a minute later only the new one signs
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    app.post(
        &format!("/api/v1/webhooks/{hook}/ping"),
        &d.admin,
        json!({}),
    )
    .await
    .expect(202);
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    let r = &receiver.got()[1];
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 1);
    assert!(verifies(&new, r) && !verifies(&old, r));
}

#[actix_rt::test]
async fn a_branch_engineer_keeps_only_their_branchs_webhooks_and_gets_only_its_events() {
    let app = spawn_open().await;
    let d = east_desk(&app).await;
    app.user(
        &d.admin,
        "east.engineer",
        "branch_engineer",
        Some(d.org.east),
    )
    .await;
    app.user(
        &d.admin,
        "north.engineer",
        "branch_engineer",
        Some(d.org.north),
    )
    .await;
    let east = app.token("east.engineer", PASSWORD).await;
    let north = app.token("north.engineer", PASSWORD).await;
    let receiver = Receiver::start();
    let body = json!({"url": receiver.url, "event_types": ["customer.created"]});
    // the project department may not subscribe
    app.post("/api/v1/webhooks", &d.pm, body.clone())
        .await
        .expect_problem(403, "forbidden");
    // another branch is as unknown as a missing one
    let mut other = body.clone();
    other["branch_id"] = json!(d.org.north);
    app.post("/api/v1/webhooks", &east, other)
        .await
        .expect_problem(404, "not_found");
    let made = app.post("/api/v1/webhooks", &east, body).await;
    made.expect(201);
    assert_eq!(made.body["webhook"]["branch_id"], d.org.east);
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/webhooks/{hook}"), &north)
        .await
        .expect(404);
    assert!(app.get("/api/v1/webhooks", &north).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // a north customer's creation is not the east's to hear of
    app.customer(&d.admin, "North owner", d.org.north).await;
    app.customer(&d.admin, "East owner", d.org.east).await;
    aftercare::webhooks::dispatch(&app.state).await.unwrap();
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert!(got[0].body.contains("East owner"));
}

// ---- the change feed -----------------------------------------------------

type Seen = Vec<(String, String, i64)>;

/// The changes after `cursor` as `(change, subject_type, subject_id)`, and
/// the next cursor, once `settled` holds of them. On PostgreSQL the feed
/// waits for every writing transaction of the server to settle, the other
/// tests' too: it is read again for a while until it does.
async fn changes_when<S, B>(
    app: &TestApp<S>,
    token: &str,
    cursor: &str,
    settled: impl Fn(&Seen) -> bool,
) -> (Seen, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    for _ in 0..100 {
        let r = app
            .get(&format!("/api/v1/changes?limit=200&cursor={cursor}"), token)
            .await;
        r.expect(200);
        let items: Seen = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["change"].as_str().unwrap().to_string(),
                    c["subject_type"].as_str().unwrap().to_string(),
                    c["subject_id"].as_i64().unwrap(),
                )
            })
            .collect();
        if settled(&items) {
            return (items, r.body["next_cursor"].as_str().unwrap().to_string());
        }
        std::thread::sleep(StdDuration::from_millis(100));
    }
    panic!("the feed never showed what was expected");
}

/// The changes after `cursor`, once there are some.
async fn changes<S, B>(app: &TestApp<S>, token: &str, cursor: &str) -> (Seen, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    changes_when(app, token, cursor, |seen| !seen.is_empty()).await
}

fn raw_event(subject_id: i64) -> String {
    format!(
        "INSERT INTO events (at, action, subject_type, subject_id, payload, audience) \
         VALUES ('2026-03-02 01:00:00', 'org_unit.updated', 'calendar_day', {subject_id}, '{{}}', 'admin')"
    )
}

#[actix_rt::test]
async fn the_feed_never_skips_a_transaction_that_commits_after_a_later_one() {
    let app = spawn().await;
    let admin = app.admin().await;
    let head = app.get("/api/v1/changes/head", &admin).await;
    let start = head.body["cursor"].as_str().unwrap().to_string();
    let mut first = app.state.pool.get().unwrap();
    let mut second = app.state.pool.get().unwrap();
    if matches!(*first, aftercare::db::DbConn::Pg(_)) {
        // the first transaction takes the lower id, the second commits first
        first.batch_execute("BEGIN").unwrap();
        first.batch_execute(&raw_event(41)).unwrap();
        second.batch_execute("BEGIN").unwrap();
        second.batch_execute(&raw_event(42)).unwrap();
        second.batch_execute("COMMIT").unwrap();
        // a reader polling now sees neither: 41 is not settled yet
        let (seen, cursor) = changes_when(&app, &admin, &start, |_| true).await;
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!(cursor, start);
        first.batch_execute("COMMIT").unwrap();
    } else {
        // one writer at a time: commits come in id order
        first.batch_execute(&raw_event(41)).unwrap();
        second.batch_execute(&raw_event(42)).unwrap();
    }
    let (seen, cursor) = changes_when(&app, &admin, &start, |s| s.len() >= 2).await;
    let ids: Vec<i64> = seen.iter().map(|(_, _, id)| *id).collect();
    assert_eq!(ids, vec![41, 42]);
    let (more, _) = changes_when(&app, &admin, &cursor, |_| true).await;
    assert!(more.is_empty());
}

/// An event owed to webhook `hook`, as a service writes it.
fn raw_owed_event(subject_id: i64, hook: i64) -> String {
    format!(
        "INSERT INTO events (at, action, subject_type, subject_id, payload, audience, webhook_ids) \
         VALUES ('2026-03-02 01:00:00', 'org_unit.updated', 'calendar_day', {subject_id}, '{{}}', 'admin', '{hook}')"
    )
}

fn delivered_events(app: &aftercare::state::AppState, hook: i64) -> Vec<i64> {
    use aftercare::db::schema::webhook_deliveries as d;
    let mut conn = app.pool.get().unwrap();
    d::table
        .filter(d::webhook_id.eq(hook))
        .order(d::event_id.asc())
        .select(d::event_id)
        .load(&mut *conn)
        .unwrap()
}

#[actix_rt::test]
async fn the_outbox_never_skips_an_event_whose_transaction_commits_after_a_later_one() {
    let app = spawn_open().await;
    let admin = app.admin().await;
    let receiver = Receiver::start();
    let made = app
        .post(
            "/api/v1/webhooks",
            &admin,
            json!({"url": receiver.url, "event_types": ["org_unit.updated"], "active": false}),
        )
        .await;
    made.expect(201);
    let hook = made.body["webhook"]["id"].as_i64().unwrap();
    let mut first = app.state.pool.get().unwrap();
    let mut second = app.state.pool.get().unwrap();
    let fan_out = || {
        let mut conn = app.state.pool.get().unwrap();
        aftercare::kit::outbox::fan_out(&mut conn, 1000).unwrap()
    };
    if matches!(*first, aftercare::db::DbConn::Pg(_)) {
        // the first transaction takes the lower id, the second commits first
        first.batch_execute("BEGIN").unwrap();
        first.batch_execute(&raw_owed_event(41, hook)).unwrap();
        second.batch_execute("BEGIN").unwrap();
        second.batch_execute(&raw_owed_event(42, hook)).unwrap();
        second.batch_execute("COMMIT").unwrap();
        // a fan-out now passes neither: 41 has not settled, so 42 waits
        fan_out();
        assert!(delivered_events(&app.state, hook).is_empty());
        first.batch_execute("COMMIT").unwrap();
    } else {
        // one writer at a time: commits come in id order
        first.batch_execute(&raw_owed_event(41, hook)).unwrap();
        second.batch_execute(&raw_owed_event(42, hook)).unwrap();
    }
    // (on PostgreSQL the other tests' transactions settle too, in a while)
    for _ in 0..100 {
        fan_out();
        if delivered_events(&app.state, hook).len() >= 2 {
            break;
        }
        std::thread::sleep(StdDuration::from_millis(100));
    }
    let events = delivered_events(&app.state, hook);
    assert_eq!(events.len(), 2, "{events:?}");
    // fanned out once: another pass writes nothing again
    fan_out();
    assert_eq!(delivered_events(&app.state, hook), events);
}

#[actix_rt::test]
async fn a_project_moved_to_another_branch_is_removed_from_the_old_branchs_feed() {
    let app = spawn().await;
    let d = east_desk(&app).await;
    app.user(
        &d.admin,
        "east.engineer",
        "branch_engineer",
        Some(d.org.east),
    )
    .await;
    app.user(
        &d.admin,
        "north.engineer",
        "branch_engineer",
        Some(d.org.north),
    )
    .await;
    let east = app.token("east.engineer", PASSWORD).await;
    let north = app.token("north.engineer", PASSWORD).await;
    let project = app
        .project(&d.pm, "HD-F-1", d.org.east_pd, d.customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let created = ("created".to_string(), "project".to_string(), project);
    let (_, east_cursor) = changes_when(&app, &east, "", |s| s.contains(&created)).await;
    let (north_seen, north_cursor) = changes(&app, &north, "").await;
    assert!(!north_seen
        .iter()
        .any(|(_, t, id)| t == "project" && *id == project));
    let north_customer = app.customer(&d.admin, "North owner", d.org.north).await;
    app.patch(
        &format!("/api/v1/projects/{project}"),
        &d.admin,
        json!({"project_department_id": d.org.north_pd, "customer_id": north_customer}),
    )
    .await
    .expect(200);
    let removed = ("removed".to_string(), "project".to_string(), project);
    let (seen, _) = changes_when(&app, &east, &east_cursor, |s| s.contains(&removed)).await;
    // the ledger's clock left the east's task list with it
    assert!(
        seen.iter()
            .any(|(c, t, _)| c == "removed" && t == "deadline"),
        "{seen:?}"
    );
    let changed = ("changed".to_string(), "project".to_string(), project);
    changes_when(&app, &north, &north_cursor, |s| s.contains(&changed)).await;
}

#[actix_rt::test]
async fn a_customers_feed_holds_only_their_own_records_and_nothing_internal() {
    let app = spawn().await;
    let d = east_desk(&app).await;
    let other = app.customer(&d.admin, "Second owner", d.org.east).await;
    app.post(
        "/api/v1/users",
        &d.admin,
        json!({"username": "owner.one", "display_name": "owner", "role": "customer",
               "customer_id": d.customer, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let owner = app.token("owner.one", PASSWORD).await;
    let mine = app
        .project(&d.pm, "HD-C-1", d.org.east_pd, d.customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let theirs = app.project(&d.pm, "HD-C-2", d.org.east_pd, other).await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/customers/{}/gradings", d.customer),
        &d.admin,
        json!({"year": 2025, "payment_score": 90, "cooperation_score": 90}),
    )
    .await;
    let created = ("created".to_string(), "project".to_string(), mine);
    let (seen, _) = changes_when(&app, &owner, "", |s| s.contains(&created)).await;
    assert!(!seen
        .iter()
        .any(|(_, t, id)| t == "project" && *id == theirs));
    assert!(!seen.iter().any(|(_, t, _)| t == "deadline"));
    for (_, t, id) in &seen {
        assert!(
            (t == "project" && *id == mine) || (t == "customer" && *id == d.customer),
            "{t} {id}"
        );
    }
    let graded = app
        .get("/api/v1/changes?event_types=customer.graded", &owner)
        .await;
    assert!(graded.body["items"].as_array().unwrap().is_empty());
    // unknown names are refused with the parameter named
    app.get("/api/v1/changes?types=complaint,parcel", &owner)
        .await
        .expect_problem(400, "invalid_query_parameter");
}

// ---- API keys ------------------------------------------------------------

#[actix_rt::test]
async fn an_api_key_acts_as_its_service_user_until_revoked_and_names_itself_in_events() {
    let app = spawn().await;
    let d = east_desk(&app).await;
    let made = app
        .post(
            "/api/v1/api-keys",
            &d.admin,
            json!({"name": "呼叫中心 call centre", "role": "branch_engineer", "org_unit_id": d.org.east}),
        )
        .await;
    made.expect(201);
    let key = made.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ak_") && key.len() == 46, "{key}");
    let id = made.body["api_key"]["id"].as_i64().unwrap();
    let me = app.get("/api/v1/me", &key).await;
    me.expect(200);
    assert_eq!(me.body["user"]["role"], "branch_engineer");
    // scope as for a person of the role: the north's customers are unknown
    let north_customer = app.customer(&d.admin, "North owner", d.org.north).await;
    app.get(&format!("/api/v1/customers/{north_customer}"), &key)
        .await
        .expect(404);
    let customer = app.customer(&key, "Via the call centre", d.org.east).await;
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=customer&subject_id={customer}"),
            &d.admin,
        )
        .await;
    assert_eq!(events.body["items"][0]["api_key_id"], id);
    assert_eq!(
        events.body["items"][0]["actor_user_id"],
        made.body["api_key"]["user_id"]
    );
    let listed = app.get("/api/v1/api-keys", &d.admin).await;
    let row = &listed.body["items"][0];
    assert_eq!(row["prefix"], &key[..9]);
    assert!(row.get("key").is_none());
    assert!(row["last_used_at"].is_string());
    // non-admins cannot see keys
    app.get("/api/v1/api-keys", &key)
        .await
        .expect_problem(403, "forbidden");
    app.delete(&format!("/api/v1/api-keys/{id}"), &d.admin)
        .await
        .expect(204);
    app.get("/api/v1/me", &key)
        .await
        .expect_problem(401, "invalid_api_key");
    app.get("/api/v1/me", "ak_not-a-key")
        .await
        .expect_problem(401, "invalid_api_key");
}

#[actix_rt::test]
async fn a_read_only_key_reads_and_is_refused_every_write_and_an_expired_key_nothing() {
    let app = spawn().await;
    let d = east_desk(&app).await;
    let made = app
        .post(
            "/api/v1/api-keys",
            &d.admin,
            json!({"name": "property system", "role": "branch_engineer", "org_unit_id": d.org.east,
                   "read_only": true, "expires_at": "2026-03-09T01:00:00Z"}),
        )
        .await;
    made.expect(201);
    let key = made.body["key"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/customers/{}", d.customer), &key)
        .await
        .expect(200);
    app.post(
        "/api/v1/customers",
        &key,
        json!({"name": "x", "kind": "owner_organisation", "branch_id": d.org.east}),
    )
    .await
    .expect_problem(403, "forbidden");
    // one minute before its end it works; one minute after, nothing does
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    app.get("/api/v1/me", &key).await.expect(200);
    app.clock.advance(Duration::minutes(2));
    app.get("/api/v1/me", &key)
        .await
        .expect_problem(401, "invalid_api_key");
}

#[actix_rt::test]
async fn requests_past_the_rate_limit_answer_429_with_the_wait_and_the_quota() {
    let app = spawn_with(|c| {
        c.rate_limit_per_minute = 60;
        c.rate_limit_burst = 30;
    })
    .await;
    let d = east_desk(&app).await;
    let made = app
        .post(
            "/api/v1/api-keys",
            &d.admin,
            json!({"name": "loop", "role": "branch_engineer", "org_unit_id": d.org.east}),
        )
        .await;
    let key = made.body["key"].as_str().unwrap().to_string();
    let first = app.get("/api/v1/me", &key).await;
    first.expect(200);
    assert_eq!(first.header("ratelimit-limit").as_deref(), Some("30"));
    assert_eq!(first.header("ratelimit-remaining").as_deref(), Some("29"));
    assert!(first.header("ratelimit-reset").is_some());
    // a loop empties the bucket (a token a second comes back meanwhile)
    let mut answered = 1;
    let refused = loop {
        let r = app.get("/api/v1/me", &key).await;
        if r.status == 429 {
            break r;
        }
        r.expect(200);
        answered += 1;
        assert!(answered < 60, "never limited");
    };
    assert!(answered >= 30, "{answered}");
    refused.expect_problem(429, "rate_limited");
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
    assert_eq!(refused.header("ratelimit-remaining").as_deref(), Some("0"));
    // the people's apps have their own buckets
    app.get("/api/v1/me", &d.pm).await.expect(200);
    std::thread::sleep(StdDuration::from_millis(1100));
    app.get("/api/v1/me", &key).await.expect(200);
}

// ---- CORS ----------------------------------------------------------------

#[actix_rt::test]
async fn a_listed_origin_gets_cors_headers_and_another_none() {
    let app = spawn_with(|c| c.cors_origins = vec!["https://app.example.com".to_string()]).await;
    let preflight = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/complaints")
                .insert_header(("Origin", "https://app.example.com"))
                .insert_header(("Access-Control-Request-Method", "POST"))
                .insert_header((
                    "Access-Control-Request-Headers",
                    "authorization,content-type,idempotency-key,if-match",
                )),
        )
        .await;
    assert!(preflight.status < 300, "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    for h in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(allowed.contains(h), "{allowed}");
    }
    let admin = app.admin().await;
    let read = app
        .send(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Origin", "https://app.example.com"))
                .insert_header(("Authorization", format!("Bearer {admin}"))),
        )
        .await;
    read.expect(200);
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for h in [
        "etag",
        "location",
        "idempotent-replayed",
        "retry-after",
        "ratelimit-remaining",
    ] {
        assert!(exposed.contains(h), "{exposed}");
    }
    let other = app
        .send(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Origin", "https://evil.example.net"))
                .insert_header(("Authorization", format!("Bearer {admin}"))),
        )
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
}
