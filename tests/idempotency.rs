//! Idempotent writes: a retried POST never creates twice (004 risk control
//! C01/C02: no complaint lost, none duplicated).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::TestRequest;
use chrono::Duration;
use common::*;
use serde_json::{json, Value};

fn keyed(path: &str, token: &str, key: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Idempotency-Key", key.to_string()))
        .set_json(body)
}

fn customer(name: &str, branch: i64) -> Value {
    json!({ "name": name, "kind": "owner_organisation", "branch_id": branch })
}

/// `POST /customers` with an `Idempotency-Key`.
async fn post_customer<S, B>(
    app: &TestApp<S>,
    token: &str,
    key: &str,
    name: &str,
    branch: i64,
) -> Resp
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.send(keyed(
        "/api/v1/customers",
        token,
        key,
        customer(name, branch),
    ))
    .await
}

async fn customer_count<S, B>(app: &TestApp<S>, token: &str) -> usize
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.get("/api/v1/customers?limit=200", token)
        .await
        .item_ids()
        .len()
}

#[actix_rt::test]
async fn a_retried_post_with_the_same_key_replays_the_first_answer() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let first = post_customer(&app, &admin, "k-1", "Owner", org.east).await;
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_customer(&app, &admin, "k-1", "Owner", org.east).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(customer_count(&app, &admin).await, 1);
    // without a key every POST is a new request
    app.post("/api/v1/customers", &admin, customer("Owner", org.east))
        .await
        .expect(201);
    assert_eq!(customer_count(&app, &admin).await, 2);
}

#[actix_rt::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    post_customer(&app, &admin, "k-1", "Owner", org.east)
        .await
        .expect(201);
    let r = post_customer(&app, &admin, "k-1", "Other", org.east).await;
    r.expect_problem(422, "idempotency_key_reused");
    assert_eq!(r.fields(), vec!["Idempotency-Key"]);
    // nor on another path
    let r = app
        .send(keyed(
            "/api/v1/org-units",
            &admin,
            "k-1",
            json!({"name": "Group", "kind": "group"}),
        ))
        .await;
    r.expect_problem(422, "idempotency_key_reused");
    assert_eq!(customer_count(&app, &admin).await, 1);
}

#[actix_rt::test]
async fn concurrent_requests_with_one_key_create_exactly_one_row() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    for round in 0..5 {
        let key = format!("race-{round}");
        let body = customer(&format!("Owner {round}"), org.east);
        let (a, b) = futures_util::future::join(
            app.send(keyed("/api/v1/customers", &admin, &key, body.clone())),
            app.send(keyed("/api/v1/customers", &admin, &key, body.clone())),
        )
        .await;
        a.expect(201);
        b.expect(201);
        assert_eq!(a.body["id"], b.body["id"], "round {round}");
        let replays = [&a, &b]
            .iter()
            .filter(|r| r.header("idempotent-replayed").is_some())
            .count();
        assert_eq!(replays, 1, "round {round}");
    }
    assert_eq!(customer_count(&app, &admin).await, 5);
}

#[actix_rt::test]
async fn keys_belong_to_their_user() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    let a = post_customer(&app, &admin, "same", "Owner", org.east).await;
    a.expect(201);
    let b = post_customer(&app, &engineer, "same", "Owner", org.east).await;
    b.expect(201);
    assert_eq!(b.header("idempotent-replayed"), None);
    assert_ne!(a.body["id"], b.body["id"]);
}

#[actix_rt::test]
async fn an_expired_key_is_fresh_again_and_the_sweep_removes_it() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let first = post_customer(&app, &admin, "k-1", "Owner", org.east).await;
    first.expect(201);
    // just inside the 24 hours: still a replay
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(1));
    let admin = app.admin().await;
    let r = post_customer(&app, &admin, "k-1", "Owner", org.east).await;
    assert_eq!(r.header("idempotent-replayed").as_deref(), Some("true"));
    // past them: a new request
    app.clock.advance(Duration::seconds(1));
    let r = post_customer(&app, &admin, "k-1", "Owner", org.east).await;
    r.expect(201);
    assert_eq!(r.header("idempotent-replayed"), None);
    assert_ne!(r.body["id"], first.body["id"]);

    app.clock.advance(Duration::hours(24));
    let now = app.clock.now_naive();
    let report = app
        .state
        .db(move |conn| aftercare::kit::deadlines::sweep(conn, now))
        .await
        .unwrap();
    assert_eq!(report.expired_keys, 1);
}

#[actix_rt::test]
async fn a_refused_request_does_not_use_up_its_key() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let r = post_customer(&app, &admin, "k-1", "Owner", 999_999).await;
    r.expect_problem(404, "not_found");
    // the same request again is judged again, not replayed
    let r = post_customer(&app, &admin, "k-1", "Owner", 999_999).await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.header("idempotent-replayed"), None);
    // and the corrected request may use the key
    post_customer(&app, &admin, "k-1", "Owner", org.east)
        .await
        .expect(201);
    assert_eq!(customer_count(&app, &admin).await, 1);
}

#[actix_rt::test]
async fn a_retried_business_step_is_replayed_not_refused() {
    let app = spawn().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let id = app.project(&pm, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    app.complete_contacts(&pm, id).await;
    let submit = format!("/api/v1/projects/{id}/ledger/submission");
    let first = app.send(keyed(&submit, &pm, "submit-1", json!({}))).await;
    first.expect(200);
    // the app lost the answer and retries: the same answer, not a 409
    let again = app.send(keyed(&submit, &pm, "submit-1", json!({}))).await;
    again.expect(200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=project&subject_id={id}&action=project.ledger_submitted"),
            &admin,
        )
        .await;
    assert_eq!(events.item_ids().len(), 1);
}

#[actix_rt::test]
async fn a_malformed_key_is_named() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    for key in ["".to_string(), "x".repeat(256), "tab\there".to_string()] {
        let r = post_customer(&app, &admin, &key, "Owner", org.east).await;
        r.expect_problem(400, "invalid_header");
        assert_eq!(r.fields(), vec!["Idempotency-Key"]);
    }
    assert_eq!(customer_count(&app, &admin).await, 0);
}
