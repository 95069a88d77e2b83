//! Corrective actions (000 §1.4) and accountability (004 §5.8, appendices E
//! and H): each table pair by pair, the corrective action's clock on both
//! sides of its date with the settable clock, which complaints call for
//! accountability, the measures, who reads them, and that nothing is deleted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::{json, Value};

struct Desk {
    pm: String,
    engineer: String,
    group: String,
    north: String,
    north_pm: String,
    owner: String,
    project: i64,
    other_project: i64,
    east_pd: i64,
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
    app.user(&admin, "group.engineer", "group_engineer", Some(org.group))
        .await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    app.user(&admin, "north.pm", "project_manager", Some(org.north_pd))
        .await;
    app.post(
        "/api/v1/users",
        &admin,
        json!({"username": "owner.one", "display_name": "Owner", "role": "customer",
               "customer_id": customer, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let project = app.project(&pm, "HD-2026-001", org.east_pd, customer).await["id"]
        .as_i64()
        .unwrap();
    let other_project = app.project(&pm, "HD-2026-002", org.east_pd, customer).await["id"]
        .as_i64()
        .unwrap();
    Desk {
        engineer: app.token("east.engineer", PASSWORD).await,
        group: app.token("group.engineer", PASSWORD).await,
        north: app.token("north.engineer", PASSWORD).await,
        north_pm: app.token("north.pm", PASSWORD).await,
        owner: app.token("owner.one", PASSWORD).await,
        pm,
        project,
        other_project,
        east_pd: org.east_pd,
    }
}

fn action(project: i64, due_on: chrono::NaiveDate) -> Value {
    json!({"project_id": project, "cause_analysis": "防水层搭接不足 laps too short",
           "measures": "返工 redo the roof", "responsible": "李工 Li", "due_on": due_on.to_string()})
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn path(id: i64, step: &str) -> String {
    format!("/api/v1/corrective-actions/{id}/{step}")
}

impl Desk {
    async fn record<S, B>(&self, app: &TestApp<S>, days: i64) -> Value
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let due = app.clock.now().date_naive() + Duration::days(days);
        let r = app
            .post(
                "/api/v1/corrective-actions",
                &self.pm,
                action(self.project, due),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }

    async fn complaint<S, B>(&self, app: &TestApp<S>, extra: Value) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let mut body = json!({"project_id": self.project, "received_at": app.clock.now().to_rfc3339(),
            "category": "schedule", "channel": "phone", "complainant_name": "Mr Wang",
            "complainant_phone": "13800138000", "description": "工期延误 the works are late"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.post("/api/v1/complaints", &self.engineer, body).await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    async fn judge<S, B>(&self, app: &TestApp<S>, id: i64, token: &str, liability: &str)
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let body = if liability == "ours" {
            json!({"liability": "ours", "severity": "serious", "reasoning": "our schedule slipped"})
        } else {
            json!({"liability": "not_ours", "reasoning": "the owner changed the design",
                   "reply": {"method": "email", "sent_at": app.clock.now().to_rfc3339(), "text": "not ours"}})
        };
        app.post(&format!("/api/v1/complaints/{id}/judgment"), token, body)
            .await
            .expect(200);
    }
}

fn held(complaint: i64, measure: &str) -> Value {
    let mut body = json!({"complaint_id": complaint, "person": "王工 Wang (site manager)",
                          "measure": measure, "reason": "投诉属实 found true"});
    match measure {
        "fine" => body["fine_amount"] = json!(500.5),
        "other" => body["measure_detail"] = json!("停岗培训 retraining"),
        _ => {}
    }
    body
}

#[actix_rt::test]
async fn corrective_action_every_state_and_action_pair_follows_its_table() {
    let app = spawn().await;
    let d = desk(&app).await;
    let open = d.record(&app, 30).await;
    assert_eq!(open["status"], "open");
    assert_eq!(
        open["year"],
        app.clock
            .now()
            .format("%Y")
            .to_string()
            .parse::<i64>()
            .unwrap()
    );
    assert_eq!(open["deadlines"][0]["rule"], "corrective_action.complete");
    let open = open["id"].as_i64().unwrap();
    let done = d.record(&app, 30).await["id"].as_i64().unwrap();
    app.post(
        &path(done, "completion"),
        &d.pm,
        json!({"result": "redone"}),
    )
    .await
    .expect(200);
    let verified = d.record(&app, 30).await["id"].as_i64().unwrap();
    app.post(
        &path(verified, "completion"),
        &d.pm,
        json!({"result": "redone"}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &path(verified, "verification"),
            &d.engineer,
            json!({"decision": "verified", "comment": "checked on site"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "verified");
    assert_eq!(r.body["verification_note"], "checked on site");
    // every pair the table does not have is 409, each by its own role
    let steps: [(&str, &String, Value, &[&str]); 3] = [
        ("completion", &d.pm, json!({"result": "redone"}), &["open"]),
        (
            "verification",
            &d.engineer,
            json!({"decision": "verified"}),
            &["done"],
        ),
        (
            "verification",
            &d.engineer,
            json!({"decision": "returned", "comment": "no record"}),
            &["done"],
        ),
    ];
    let states = [("open", open), ("done", done), ("verified", verified)];
    for (step, token, body, from) in &steps {
        for (state, id) in states {
            if from.contains(&state) {
                continue;
            }
            let r = app.post(&path(id, step), token, body.clone()).await;
            assert_eq!(r.status, 409, "{step} {body} from {state}: {}", r.body);
            assert_eq!(r.code(), "invalid_transition");
        }
    }
    // and the wrong roles are 403 from the state that allows the step
    app.post(
        &path(open, "completion"),
        &d.engineer,
        json!({"result": "x"}),
    )
    .await
    .expect(403);
    app.post(
        &path(done, "verification"),
        &d.pm,
        json!({"decision": "verified"}),
    )
    .await
    .expect(403);
    // returned: a comment is required, then it is open again with 30 days
    app.post(
        &path(done, "verification"),
        &d.engineer,
        json!({"decision": "returned"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let r = app
        .post(
            &path(done, "verification"),
            &d.engineer,
            json!({"decision": "returned", "comment": "闭水试验记录缺失 no flood test"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["returns"], 1);
    assert_eq!(r.body["return_reason"], "闭水试验记录缺失 no flood test");
    let clocks = r.body["deadlines"].as_array().unwrap();
    assert_eq!(clocks.len(), 2);
    assert_eq!(clocks[0]["status"], "met");
    assert_eq!(
        at(&clocks[1]["due_at"]),
        app.clock.now() + Duration::days(30)
    );
    // done again, then verified: final
    app.post(
        &path(done, "completion"),
        &d.pm,
        json!({"result": "redone, with the record"}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &path(done, "verification"),
            &d.engineer,
            json!({"decision": "verified"}),
        )
        .await;
    assert_eq!(r.body["status"], "verified");
    assert_eq!(r.body["result"], "redone, with the record");
    // the events tell each step
    let admin = app.admin().await;
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=corrective_action&subject_id={done}"),
            &admin,
        )
        .await;
    let actions: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "corrective_action.recorded",
            "corrective_action.completed",
            "corrective_action.returned",
            "corrective_action.completed",
            "corrective_action.verified"
        ]
    );
}

#[actix_rt::test]
async fn corrective_action_done_by_the_end_of_its_date_is_on_time_and_after_it_needs_a_reason() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 10 * 86_400).await;
    let d = desk(&app).await;
    let a = d.record(&app, 2).await;
    let due = at(&a["deadlines"][0]["due_at"]);
    // due when the date ends in company time
    let end = aftercare::kit::deadlines::calendar::local_midnight(
        app.clock.now().date_naive() + Duration::days(3),
        app.state.config.tz,
    );
    assert_eq!(due.naive_utc(), end);
    let late = d.record(&app, 2).await["id"].as_i64().unwrap();
    let on_time = a["id"].as_i64().unwrap();
    app.clock.set(due - Duration::minutes(1));
    let r = app
        .post(
            &path(on_time, "completion"),
            &d.pm,
            json!({"result": "redone"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["deadlines"][0]["status"], "met");
    app.clock.set(due + Duration::minutes(1));
    app.post(
        &path(late, "completion"),
        &d.pm,
        json!({"result": "redone"}),
    )
    .await
    .expect_problem(422, "deadline_passed");
    let r = app
        .post(
            &path(late, "completion"),
            &d.pm,
            json!({"result": "redone", "late_reason": "雨季 the rains"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["deadlines"][0]["status"], "met_late");
    assert_eq!(r.body["deadlines"][0]["late_reason"], "雨季 the rains");
}

#[actix_rt::test]
async fn corrective_action_names_a_date_from_today_and_only_what_the_caller_sees() {
    let app = spawn().await;
    let d = desk(&app).await;
    let today = app.clock.now().date_naive();
    let yesterday = today - Duration::days(1);
    let r = app
        .post(
            "/api/v1/corrective-actions",
            &d.pm,
            action(d.project, yesterday),
        )
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["due_on"]);
    app.post(
        "/api/v1/corrective-actions",
        &d.pm,
        action(d.project, today),
    )
    .await
    .expect(201);
    // another branch's project, or a complaint of it, is not found
    app.post(
        "/api/v1/corrective-actions",
        &d.north_pm,
        action(d.project, today),
    )
    .await
    .expect_problem(404, "not_found");
    let complaint = d.complaint(&app, json!({})).await;
    let mut body = action(d.other_project, today);
    body["complaint_id"] = json!(complaint);
    let r = app
        .post("/api/v1/corrective-actions", &d.pm, body.clone())
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["complaint_id"]);
    body["project_id"] = json!(d.project);
    let r = app.post("/api/v1/corrective-actions", &d.pm, body).await;
    r.expect(201);
    assert_eq!(r.body["complaint_id"], complaint);
    // the branch engineering department does not record for the department
    app.post(
        "/api/v1/corrective-actions",
        &d.engineer,
        action(d.project, today),
    )
    .await
    .expect(403);
    // staff only; another branch sees none of them
    app.get("/api/v1/corrective-actions", &d.owner)
        .await
        .expect(403);
    let id = r.body["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/corrective-actions/{id}"), &d.owner)
        .await
        .expect(404);
    app.get(&format!("/api/v1/corrective-actions/{id}"), &d.north)
        .await
        .expect(404);
    assert!(app
        .get("/api/v1/corrective-actions", &d.north)
        .await
        .item_ids()
        .is_empty());
    let mine = app
        .get(
            &format!("/api/v1/corrective-actions?complaint_id={complaint}"),
            &d.engineer,
        )
        .await;
    assert_eq!(mine.item_ids(), vec![id]);
    let year = app.clock.now().format("%Y").to_string();
    let r = app
        .get(
            &format!(
                "/api/v1/corrective-actions?year={year}&status=open&project_department_id={}",
                d.east_pd
            ),
            &d.group,
        )
        .await;
    assert_eq!(r.item_ids().len(), 2);
}

#[actix_rt::test]
async fn accountability_is_for_schedule_complaints_found_true_and_repeated_warranty_complaints() {
    let app = spawn().await;
    let d = desk(&app).await;
    // a schedule complaint not yet judged, and one not ours: no accountability
    let unjudged = d.complaint(&app, json!({})).await;
    let not_ours = d
        .complaint(&app, json!({"description": "another matter"}))
        .await;
    d.judge(&app, not_ours, &d.engineer, "not_ours").await;
    for c in [unjudged, not_ours] {
        let r = app
            .post(
                "/api/v1/accountability-records",
                &d.engineer,
                held(c, "criticism"),
            )
            .await;
        r.expect_problem(422, "accountability_not_applicable");
        assert_eq!(r.fields(), vec!["complaint_id"]);
    }
    // found true: recorded
    d.judge(&app, unjudged, &d.engineer, "ours").await;
    let r = app
        .post(
            "/api/v1/accountability-records",
            &d.engineer,
            held(unjudged, "criticism"),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["basis"], "schedule_complaint");
    assert_eq!(r.body["status"], "recorded");
    // a warranty complaint alone: none; once the owner complains again, both
    let first = d
        .complaint(
            &app,
            json!({"category": "warranty", "description": "屋面渗水 the roof leaks"}),
        )
        .await;
    app.post(
        "/api/v1/accountability-records",
        &d.engineer,
        held(first, "fine"),
    )
    .await
    .expect_problem(422, "accountability_not_applicable");
    let again = d
        .complaint(&app, json!({"category": "warranty", "description": "还在渗水 still leaking", "repeat_of": first}))
        .await;
    for c in [first, again] {
        let r = app
            .post(
                "/api/v1/accountability-records",
                &d.engineer,
                held(c, "fine"),
            )
            .await;
        r.expect(201);
        assert_eq!(r.body["basis"], "repeat_warranty_complaint");
        assert_eq!(r.body["fine_amount"], 500.5);
    }
    // a complaint of another branch is not found
    app.post(
        "/api/v1/accountability-records",
        &d.north,
        held(unjudged, "criticism"),
    )
    .await
    .expect_problem(404, "not_found");
}

#[actix_rt::test]
async fn accountability_measures_carry_what_they_need_and_nothing_else() {
    let app = spawn().await;
    let d = desk(&app).await;
    let c = d.complaint(&app, json!({})).await;
    d.judge(&app, c, &d.engineer, "ours").await;
    let cases = [
        (json!({"measure": "fine"}), "fine_amount"),
        (
            json!({"measure": "fine", "fine_amount": 0.001}),
            "fine_amount",
        ),
        (
            json!({"measure": "criticism", "fine_amount": 100}),
            "fine_amount",
        ),
        (json!({"measure": "other"}), "measure_detail"),
        (json!({"measure": "criticism", "person": "  "}), "person"),
    ];
    for (change, field) in cases {
        let mut body = held(c, "criticism");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app
            .post("/api/v1/accountability-records", &d.engineer, body.clone())
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.fields(), vec![field], "{body}");
    }
    for measure in ["criticism", "fine", "other"] {
        let r = app
            .post(
                "/api/v1/accountability-records",
                &d.engineer,
                held(c, measure),
            )
            .await;
        r.expect(201);
        assert_eq!(r.body["measure"], measure);
    }
    // the fine to the fen
    let mut body = held(c, "fine");
    body["fine_amount"] = json!(1234.56);
    let r = app
        .post("/api/v1/accountability-records", &d.engineer, body)
        .await;
    assert_eq!(r.body["fine_amount"], 1234.56);
}

#[actix_rt::test]
async fn accountability_is_staff_only_never_deleted_and_withdrawn_with_a_reason() {
    let app = spawn().await;
    let d = desk(&app).await;
    let c = d.complaint(&app, json!({})).await;
    d.judge(&app, c, &d.engineer, "ours").await;
    let r = app
        .post(
            "/api/v1/accountability-records",
            &d.engineer,
            held(c, "criticism"),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    // not the project department's, nor the group's for a branch complaint
    app.post(
        "/api/v1/accountability-records",
        &d.pm,
        held(c, "criticism"),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/accountability-records",
        &d.group,
        held(c, "criticism"),
    )
    .await
    .expect(403);
    // customers never read them; other branches do not find them
    app.get("/api/v1/accountability-records", &d.owner)
        .await
        .expect(403);
    app.get(&format!("/api/v1/accountability-records/{id}"), &d.owner)
        .await
        .expect(404);
    app.get(&format!("/api/v1/accountability-records/{id}"), &d.north)
        .await
        .expect(404);
    // there is no way to delete one
    let gone = app
        .delete(&format!("/api/v1/accountability-records/{id}"), &d.engineer)
        .await;
    assert_eq!(gone.status, 405);
    let withdraw = format!("/api/v1/accountability-records/{id}/withdrawal");
    app.post(&withdraw, &d.engineer, json!({"reason": " "}))
        .await
        .expect(422);
    app.post(&withdraw, &d.pm, json!({"reason": "appeal"}))
        .await
        .expect(403);
    let r = app
        .post(
            &withdraw,
            &d.engineer,
            json!({"reason": "申诉成立 appeal upheld"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "withdrawn");
    assert_eq!(r.body["withdrawn_reason"], "申诉成立 appeal upheld");
    app.post(&withdraw, &d.engineer, json!({"reason": "again"}))
        .await
        .expect_problem(409, "invalid_transition");
    // still listed, per complaint and per project department
    for query in [
        format!("complaint_id={c}"),
        format!("project_department_id={}", d.east_pd),
    ] {
        let r = app
            .get(&format!("/api/v1/accountability-records?{query}"), &d.group)
            .await;
        assert_eq!(r.item_ids(), vec![id], "{query}");
    }
    let r = app
        .get(
            "/api/v1/accountability-records?status=recorded",
            &d.engineer,
        )
        .await;
    assert!(r.item_ids().is_empty());
}

#[actix_rt::test]
async fn a_complaint_sent_to_the_group_is_accounted_for_by_the_group() {
    let app = spawn().await;
    let d = desk(&app).await;
    let c = d.complaint(&app, json!({"sent_to_group": true})).await;
    d.judge(&app, c, &d.engineer, "ours").await;
    app.post(
        "/api/v1/accountability-records",
        &d.engineer,
        held(c, "criticism"),
    )
    .await
    .expect(403);
    let r = app
        .post(
            "/api/v1/accountability-records",
            &d.group,
            held(c, "criticism"),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["sent_to_group"], true);
    let withdraw = format!("/api/v1/accountability-records/{}/withdrawal", r.body["id"]);
    app.post(&withdraw, &d.engineer, json!({"reason": "appeal"}))
        .await
        .expect(403);
    app.post(&withdraw, &d.group, json!({"reason": "appeal"}))
        .await
        .expect(200);
}

#[actix_rt::test]
async fn a_retried_record_is_written_once() {
    let app = spawn().await;
    let d = desk(&app).await;
    let due = app.clock.now().date_naive() + Duration::days(5);
    let send = || {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/corrective-actions")
            .insert_header(("Authorization", format!("Bearer {}", d.pm)))
            .insert_header(("Idempotency-Key", "ca-1"))
            .set_json(action(d.project, due))
    };
    let first = app.send(send()).await;
    first.expect(201);
    let second = app.send(send()).await;
    second.expect(201);
    assert_eq!(
        second.header("Idempotent-Replayed").as_deref(),
        Some("true")
    );
    assert_eq!(first.body["id"], second.body["id"]);
    let r = app.get("/api/v1/corrective-actions", &d.pm).await;
    assert_eq!(r.item_ids().len(), 1);
}

#[actix_rt::test]
async fn a_project_moved_to_another_branch_takes_its_corrective_actions_and_accountability_along() {
    let app = spawn().await;
    let d = desk(&app).await;
    let action = d.record(&app, 10).await["id"].as_i64().unwrap();
    let c = d.complaint(&app, json!({})).await;
    d.judge(&app, c, &d.engineer, "ours").await;
    let held = app
        .post(
            "/api/v1/accountability-records",
            &d.engineer,
            held(c, "criticism"),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let north_pd = app.get("/api/v1/me", &d.north_pm).await.body["user"]["org_unit_id"].clone();
    let admin = app.admin().await;
    app.patch(
        &format!("/api/v1/projects/{}", d.project),
        &admin,
        json!({"project_department_id": north_pd}),
    )
    .await
    .expect(200);
    let a = format!("/api/v1/corrective-actions/{action}");
    let h = format!("/api/v1/accountability-records/{held}");
    app.get(&a, &d.engineer).await.expect(404);
    app.get(&h, &d.engineer).await.expect(404);
    let r = app.get(&a, &d.north).await;
    r.expect(200);
    assert_eq!(r.body["project_department_id"], north_pd);
    app.get(&h, &d.north).await.expect(200);
    // its clock is on the new department's task list
    let tasks = app.get("/api/v1/me/tasks", &d.north_pm).await;
    assert!(tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["rule"] == "corrective_action.complete" && t["subject_id"] == action));
}
