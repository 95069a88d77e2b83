//! Return-visit records (000 §5, 002, 003 表3.3.1, 004 appendix D): the
//! 24-hour rule on both sides with the settable clock, contact failures,
//! issues and their liability, the weighted survey on a worked example, a
//! dissatisfied survey opening a complaint, the owner's confirmation and
//! its table, idempotent recording and scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::{json, Value};

struct Desk {
    admin: String,
    pm: String,
    engineer: String,
    north: String,
    owner: String,
    other_owner: String,
    project: i64,
    dept: i64,
    customer: i64,
}

async fn desk<S, B>(app: &TestApp<S>) -> Desk
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let EastDesk {
        admin,
        org,
        pm,
        customer,
    } = east_desk(app).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    let other = app.customer(&admin, "Other owner", org.east).await;
    for (name, c) in [("owner.one", customer), ("owner.two", other)] {
        app.post(
            "/api/v1/users",
            &admin,
            json!({"username": name, "display_name": name, "role": "customer",
                   "customer_id": c, "password": PASSWORD}),
        )
        .await
        .expect(201);
    }
    let project = app.project(&pm, "HD-V-1", org.east_pd, customer).await["id"]
        .as_i64()
        .unwrap();
    Desk {
        engineer: app.token("east.engineer", PASSWORD).await,
        north: app.token("north.engineer", PASSWORD).await,
        owner: app.token("owner.one", PASSWORD).await,
        other_owner: app.token("owner.two", PASSWORD).await,
        admin,
        pm,
        project,
        dept: org.east_pd,
        customer,
    }
}

async fn spawn_long() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await
}

fn visit(project: i64, visited_at: DateTime<Utc>, extra: Value) -> Value {
    let mut body = json!({
        "project_id": project, "kind": "routine", "method": "onsite",
        "visited_at": visited_at.to_rfc3339(), "outcome": "completed",
        "people_met": [{"name": "李经理", "department": "物业公司", "title": "经理"}],
        "findings": "外立面完好 the facade is fine"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The worked example: every factor 80 but construction quality 60 and
/// problem handling 30 — 7 × 0.10 × 80 + 0.20 × 60 + 0.05 × 30 + 0.05 × 80
/// = 56 + 12 + 1.5 + 4 = 73.5.
fn scores() -> Value {
    json!({"communication": 80, "construction_quality": 60, "attitude": 80, "problem_handling": 30,
           "preparation": 80, "schedule": 80, "safety": 80, "site_civility": 80,
           "environment": 80, "coordination": 80})
}

#[actix_rt::test]
async fn a_record_at_23_h_59_min_is_on_time_and_at_24_h_01_min_needs_a_late_reason() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    let on_time = now - Duration::hours(23) - Duration::minutes(59);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, on_time, json!({})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["recorded_late"], false);
    let late = now - Duration::hours(24) - Duration::minutes(1);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, late, json!({})),
        )
        .await;
    r.expect_problem(422, "deadline_passed");
    assert_eq!(r.fields(), vec!["late_reason"]);
    // refused: nothing kept
    let list = app.get("/api/v1/visits", &d.engineer).await;
    assert_eq!(list.item_ids().len(), 1);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                late,
                json!({"late_reason": "typhoon: no signal on site"}),
            ),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["recorded_late"], true);
    let id = r.body["id"].as_i64().unwrap();
    let clock = app
        .get(
            &format!("/api/v1/deadlines?subject_type=visit&subject_id={id}"),
            &d.engineer,
        )
        .await;
    assert_eq!(clock.body["items"][0]["rule"], "visit.record");
    assert_eq!(clock.body["items"][0]["status"], "met_late");
    assert_eq!(
        clock.body["items"][0]["late_reason"],
        "typhoon: no signal on site"
    );
    // and never in the future
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, now + Duration::minutes(6), json!({})),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["visited_at"]);
}

#[actix_rt::test]
async fn contact_failed_needs_its_reason_and_a_completed_phone_visit_the_owners_number() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                now,
                json!({"method": "phone", "outcome": "contact_failed"}),
            ),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["contact_failed_reason"]);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                now,
                json!({"method": "phone", "outcome": "contact_failed", "contact_failed_reason": "no answer three times"}),
            ),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["outcome"], "contact_failed");
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, now, json!({"method": "phone"})),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["owner_phone"]);
    app.post(
        "/api/v1/visits",
        &d.engineer,
        visit(
            d.project,
            now,
            json!({"method": "phone", "owner_phone": "13800138000"}),
        ),
    )
    .await
    .expect(201);
}

#[actix_rt::test]
async fn the_survey_is_weighted_exactly_on_a_worked_example_and_each_factor_is_checked() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                now,
                json!({"survey": {"scores": scores(), "rating": "basically_satisfied"}}),
            ),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["survey"]["weighted_score"], 73.5);
    assert_eq!(r.body["survey"]["rating"], "basically_satisfied");
    assert_eq!(r.body["opened_complaint_id"], Value::Null);
    // all 100 is 100, all 0 is 0
    for (score, total) in [(100, 100.0), (0, 0.0)] {
        let mut all = scores();
        for v in all.as_object_mut().unwrap().values_mut() {
            *v = json!(score);
        }
        let r = app
            .post(
                "/api/v1/visits",
                &d.engineer,
                visit(
                    d.project,
                    now,
                    json!({"survey": {"scores": all, "rating": "fairly_satisfied"}}),
                ),
            )
            .await;
        assert_eq!(r.body["survey"]["weighted_score"], total);
    }
    // a score off the scale is a rule (422); a missing or unknown factor
    // is a body that does not fit the form (400): each named
    let send = |scores: Value| {
        visit(
            d.project,
            now,
            json!({"survey": {"scores": scores, "rating": "fairly_satisfied"}}),
        )
    };
    let mut bad = scores();
    bad["schedule"] = json!(75);
    let r = app.post("/api/v1/visits", &d.engineer, send(bad)).await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["survey.scores.schedule"]);
    let mut bad = scores();
    bad.as_object_mut().unwrap().remove("safety");
    let r = app.post("/api/v1/visits", &d.engineer, send(bad)).await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["survey.scores.safety"]);
    let mut bad = scores();
    bad["price"] = json!(80);
    let r = app.post("/api/v1/visits", &d.engineer, send(bad)).await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["survey.scores.price"]);
}

#[actix_rt::test]
async fn a_dissatisfied_survey_opens_a_complaint_linked_both_ways() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let visited = app.clock.now() - Duration::hours(3);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                visited,
                json!({"survey": {"scores": scores(), "rating": "dissatisfied"},
                       "owner_opinion": "渗水一年未修 the seep has waited a year"}),
            ),
        )
        .await;
    r.expect(201);
    let visit_id = r.body["id"].as_i64().unwrap();
    let complaint = r.body["opened_complaint_id"].as_i64().unwrap();
    let c = app
        .get(&format!("/api/v1/complaints/{complaint}"), &d.engineer)
        .await;
    c.expect(200);
    assert_eq!(c.body["visit_id"], visit_id);
    assert_eq!(c.body["channel"], "visit");
    assert_eq!(c.body["category"], "warranty");
    assert_eq!(c.body["customer_id"], d.customer);
    assert_eq!(
        c.body["received_at"],
        visited.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert_eq!(c.body["deadlines"][0]["rule"], "complaint.judge");
    // any other rating opens none
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                visited,
                json!({"survey": {"scores": scores(), "rating": "somewhat_dissatisfied"}}),
            ),
        )
        .await;
    assert_eq!(r.body["opened_complaint_id"], Value::Null);
}

#[actix_rt::test]
async fn only_the_projects_own_customer_confirms_a_record_and_staff_record_a_paper_signature() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    let mut ids = vec![];
    for _ in 0..2 {
        let r = app
            .post(
                "/api/v1/visits",
                &d.engineer,
                visit(d.project, now, json!({})),
            )
            .await;
        ids.push(r.body["id"].as_i64().unwrap());
    }
    let path = |id: i64| format!("/api/v1/visits/{id}/confirmation");
    app.post(&path(ids[0]), &d.other_owner, json!({}))
        .await
        .expect(404);
    app.post(&path(ids[0]), &d.admin, json!({}))
        .await
        .expect(403);
    let r = app.post(&path(ids[0]), &d.owner, json!({})).await;
    r.expect(200);
    assert_eq!(r.body["status"], "confirmed");
    assert_eq!(r.body["confirmation"]["method"], "app");
    assert_eq!(r.body["confirmation"]["signer_name"], "owner.one");
    app.post(&path(ids[0]), &d.owner, json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    // staff need the signer and the date
    let r = app.post(&path(ids[1]), &d.pm, json!({})).await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["signer_name", "signed_on"]);
    let r = app
        .post(
            &path(ids[1]),
            &d.pm,
            json!({"signer_name": "李经理", "signed_on": "2026-03-02"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["confirmation"]["method"], "paper");
    assert_eq!(r.body["confirmation"]["signed_on"], "2026-03-02");
}

/// The record's confirmation, written out apart from the code.
const VISIT_PAIRS: [(&str, &str, &str); 2] = [
    ("recorded", "confirm", "confirmed"),
    ("recorded", "record_signature", "confirmed"),
];

#[actix_rt::test]
async fn visit_transition_table_every_state_and_action_pair() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    for state in ["recorded", "confirmed"] {
        for action in ["confirm", "record_signature"] {
            let r = app
                .post(
                    "/api/v1/visits",
                    &d.engineer,
                    visit(d.project, now, json!({})),
                )
                .await;
            let id = r.body["id"].as_i64().unwrap();
            let path = format!("/api/v1/visits/{id}/confirmation");
            if state == "confirmed" {
                app.post(&path, &d.owner, json!({})).await.expect(200);
            }
            let r = match action {
                "confirm" => app.post(&path, &d.owner, json!({})).await,
                _ => {
                    app.post(
                        &path,
                        &d.engineer,
                        json!({"signer_name": "李经理", "signed_on": "2026-03-02"}),
                    )
                    .await
                }
            };
            match VISIT_PAIRS
                .iter()
                .find(|(f, a, _)| *f == state && *a == action)
            {
                Some((_, _, to)) => {
                    r.expect(200);
                    assert_eq!(r.body["status"], *to);
                }
                None => {
                    r.expect_problem(409, "invalid_transition");
                }
            }
        }
    }
}

#[actix_rt::test]
async fn a_visit_recorded_twice_with_the_same_key_is_kept_once() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let body = visit(d.project, app.clock.now(), json!({}));
    let send = || {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/visits")
            .insert_header(("Authorization", format!("Bearer {}", d.engineer)))
            .insert_header(("Idempotency-Key", "visit-2026-03-02-1"))
            .set_json(body.clone())
    };
    let first = app.send(send()).await;
    first.expect(201);
    let again = app.send(send()).await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(
        app.get("/api/v1/visits", &d.engineer)
            .await
            .item_ids()
            .len(),
        1
    );
}

#[actix_rt::test]
async fn issues_ours_under_warranty_need_a_repair_and_not_ours_need_an_explanation_and_advice() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    // accepted in 2019: waterproofing (5 years) has ended, the structure (50) has not
    let old = app
        .project_handed_over(&d.pm, "HD-2019", d.dept, d.customer, "2019-01-01")
        .await["id"]
        .as_i64()
        .unwrap();
    let now = app.clock.now();
    let issue = |component: &str, liability: &str| json!({"description": "crack", "component": component, "location": "B1", "liability": liability});
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                old,
                now,
                json!({"issues": [issue("waterproofing", "ours"), issue("foundation_structure", "ours"),
                                  issue("foundation_structure", "undetermined")]}),
            ),
        )
        .await;
    r.expect(201);
    let needed: Vec<bool> = r.body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["repair_needed"].as_bool().unwrap())
        .collect();
    assert_eq!(needed, vec![false, true, false]);
    // on the new project, waterproofing is covered
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                now,
                json!({"issues": [issue("waterproofing", "ours")]}),
            ),
        )
        .await;
    assert_eq!(r.body["issues"][0]["repair_needed"], true);
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                now,
                json!({"issues": [issue("decoration", "not_ours")]}),
            ),
        )
        .await;
    r.expect(422);
    assert_eq!(
        r.fields(),
        vec!["issues[0].explanation", "issues[0].advice"]
    );
    let mut explained = issue("decoration", "not_ours");
    explained["explanation"] = json!("the owner's own renovation");
    explained["advice"] = json!("ask the renovation company");
    app.post(
        "/api/v1/visits",
        &d.engineer,
        visit(d.project, now, json!({"issues": [explained]})),
    )
    .await
    .expect(201);
}

#[actix_rt::test]
async fn a_complaint_visit_settles_the_complaints_revisit_clock() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/complaints",
            &d.engineer,
            json!({"project_id": d.project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "warranty", "channel": "phone", "complainant_name": "王先生",
                   "complainant_phone": "13800138000", "description": "leak"}),
        )
        .await;
    let c = r.body["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/complaints/{c}/judgment"),
        &d.engineer,
        json!({"liability": "ours", "severity": "minor", "reasoning": "ours"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/complaints/{c}/resolution"),
        &d.pm,
        json!({"summary": "fixed"}),
    )
    .await
    .expect(200);
    // a complaint visit names its complaint
    app.post(
        "/api/v1/visits",
        &d.engineer,
        visit(d.project, app.clock.now(), json!({"kind": "complaint"})),
    )
    .await
    .expect(422);
    app.clock.advance(Duration::days(2));
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(
                d.project,
                app.clock.now(),
                json!({"kind": "complaint", "complaint_id": c}),
            ),
        )
        .await;
    r.expect(201);
    let t = app
        .get(&format!("/api/v1/complaints/{c}"), &d.engineer)
        .await;
    let revisit = t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "complaint.revisit")
        .unwrap()
        .clone();
    assert_eq!(revisit["status"], "met");
    // the evaluation that follows closes it without another clock
    app.post(
        &format!("/api/v1/complaints/{c}/evaluation"),
        &d.engineer,
        json!({"rating": "fairly_satisfied", "method": "visit"}),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn another_branch_gets_404_on_every_visit_operation() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, app.clock.now(), json!({})),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    for path in [
        format!("/api/v1/visits/{id}"),
        format!("/api/v1/visits/{id}/attachments"),
    ] {
        app.get(&path, &d.north).await.expect(404);
    }
    app.post(
        &format!("/api/v1/visits/{id}/confirmation"),
        &d.north,
        json!({"signer_name": "x", "signed_on": "2026-03-02"}),
    )
    .await
    .expect(404);
    let r = app
        .post(
            "/api/v1/visits",
            &d.north,
            visit(d.project, app.clock.now(), json!({})),
        )
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["project_id"]);
    assert!(app
        .get("/api/v1/visits", &d.north)
        .await
        .item_ids()
        .is_empty());
    // the owner sees their own visits
    assert_eq!(
        app.get("/api/v1/visits", &d.owner).await.item_ids(),
        vec![id]
    );
    assert!(app
        .get("/api/v1/visits", &d.other_owner)
        .await
        .item_ids()
        .is_empty());
}
