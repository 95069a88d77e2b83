//! Complaints and rectification plans (004 §5.4–5.8, appendix B): the two
//! transition tables pair by pair, every path of the flow end to end, the
//! deadlines on both sides of their limits with the settable clock, repeat
//! detection, what customers see, and scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

/// Everyone a complaint meets, in the east branch, and a stranger of the north.
struct Desk {
    /// east project department's manager
    pm: String,
    /// east branch engineering department
    engineer: String,
    /// east branch leader
    leader: String,
    /// the group engineering department
    group: String,
    /// the north branch's engineer: another branch
    north: String,
    /// the owner's own account
    owner: String,
    project: i64,
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
    let mut tokens = vec![];
    for (name, role, unit) in [
        ("east.engineer", "branch_engineer", org.east),
        ("east.leader", "branch_leader", org.east),
        ("group.engineer", "group_engineer", org.group),
        ("north.engineer", "branch_engineer", org.north),
    ] {
        app.user(&admin, name, role, Some(unit)).await;
        tokens.push(app.token(name, PASSWORD).await);
    }
    app.post(
        "/api/v1/users",
        &admin,
        json!({"username": "owner.one", "display_name": "Owner", "role": "customer",
               "customer_id": customer, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let owner = app.token("owner.one", PASSWORD).await;
    let project = app.project(&pm, "HD-2026-001", org.east_pd, customer).await["id"]
        .as_i64()
        .unwrap();
    let north = tokens.pop().unwrap();
    let group = tokens.pop().unwrap();
    let leader = tokens.pop().unwrap();
    let engineer = tokens.pop().unwrap();
    Desk {
        pm,
        engineer,
        leader,
        group,
        north,
        owner,
        project,
        customer,
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

fn complaint_body(project: i64, received_at: DateTime<Utc>, extra: Value) -> Value {
    let mut body = json!({
        "project_id": project, "received_at": rfc3339(received_at), "category": "warranty",
        "channel": "phone", "complainant_name": "王先生", "complainant_phone": "13800138000",
        "description": "3 号楼 12 层卫生间漏水 the bathroom leaks"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn plan_body(start: &str, finish: &str) -> Value {
    json!({
        "milestones": [{"due_on": start, "description": "拆除原防水层 remove the old layer"},
                       {"due_on": finish, "description": "新防水层并闭水试验 new layer, water test"}],
        "resources": {"people": ["防水班组 6 人"], "equipment": ["热熔机"], "materials": ["SBS 卷材"]},
        "expected_result": "无渗漏 no leak"
    })
}

impl Desk {
    async fn register<S, B>(&self, app: &TestApp<S>, extra: Value) -> Value
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let r = app
            .post(
                "/api/v1/complaints",
                &self.engineer,
                complaint_body(self.project, app.clock.now(), extra),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }

    /// Takes one endpoint-level step on complaint `id` by the role that may.
    async fn act<S, B>(&self, app: &TestApp<S>, id: i64, step: &str) -> Resp
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let path = |tail: &str| format!("/api/v1/complaints/{id}/{tail}");
        match step {
            "judge_not_ours" => {
                app.post(
                    &path("judgment"),
                    &self.engineer,
                    json!({"liability": "not_ours", "reasoning": "owner's alteration",
                           "reply": {"method": "email", "sent_at": rfc3339(app.clock.now()), "text": "not ours"}}),
                )
                .await
            }
            "judge_serious" | "judge_minor" => {
                let severity = step.trim_start_matches("judge_");
                app.post(
                    &path("judgment"),
                    &self.engineer,
                    json!({"liability": "ours", "severity": severity, "reasoning": "our waterproofing"}),
                )
                .await
            }
            "resolve" => {
                app.post(&path("resolution"), &self.pm, json!({"summary": "redone"}))
                    .await
            }
            "satisfied" | "dissatisfied" => {
                // 比较满意 closes; 不满意 does not
                let rating = if step == "satisfied" {
                    "fairly_satisfied"
                } else {
                    "dissatisfied"
                };
                app.post(
                    &path("evaluation"),
                    &self.engineer,
                    json!({"rating": rating, "method": "visit"}),
                )
                .await
            }
            "plan_approved" => {
                let plan = self.plan(app, id, "approved").await;
                app.get(&format!("/api/v1/rectification-plans/{plan}"), &self.pm)
                    .await
            }
            other => panic!("step {other}"),
        }
    }

    /// Writes the plan of complaint `id` and takes it to `state`.
    async fn plan<S, B>(&self, app: &TestApp<S>, complaint: i64, state: &str) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let r = app
            .post(
                &format!("/api/v1/complaints/{complaint}/rectification-plans"),
                &self.pm,
                plan_body("2026-03-10", "2026-03-20"),
            )
            .await;
        r.expect(201);
        let id = r.body["id"].as_i64().unwrap();
        let path = match state {
            "draft" => vec![],
            "submitted" => vec!["submit"],
            "reviewed" => vec!["submit", "pass"],
            "returned" => vec!["submit", "return_review"],
            _ => vec!["submit", "pass", "approve"],
        };
        for step in path {
            self.plan_step(app, id, step).await.expect(200);
        }
        id
    }

    async fn plan_step<S, B>(&self, app: &TestApp<S>, id: i64, step: &str) -> Resp
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let path = |tail: &str| format!("/api/v1/rectification-plans/{id}/{tail}");
        let (tail, token, body) = match step {
            "submit" => ("submission", &self.pm, json!({})),
            "pass" => (
                "review",
                &self.engineer,
                json!({"decision": "pass", "covers_all_points": true}),
            ),
            "return_review" => (
                "review",
                &self.engineer,
                json!({"decision": "return", "covers_all_points": false, "comment": "answer the smell too"}),
            ),
            "approve" => ("approval", &self.leader, json!({"decision": "approve"})),
            "return_approval" => (
                "approval",
                &self.leader,
                json!({"decision": "return", "comment": "more people"}),
            ),
            "revise" => (
                "revision",
                &self.pm,
                json!({"milestones": [{"due_on": "2026-03-10", "description": "拆除原防水层 remove the old layer"},
                                      {"due_on": "2026-03-27", "description": "新防水层并闭水试验 new layer, water test"}],
                       "reason": "材料延迟 the membrane is late"}),
            ),
            other => panic!("plan step {other}"),
        };
        app.post(&path(tail), token, body).await
    }
}

/// The tests move the clock by days and months: tokens that last.
async fn spawn_long() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

fn sweep_now<S>(app: &TestApp<S>) -> usize {
    let now = app.clock.now_naive();
    let mut conn = app.state.pool.get().unwrap();
    aftercare::kit::deadlines::sweep(&mut conn, now)
        .unwrap()
        .overdue
}

// ---- the transition tables ---------------------------------------------

/// The complaint's life cycle at the API's steps, written out here apart
/// from the code: the pairs that succeed; every other pair is 409.
const COMPLAINT_PAIRS: [(&str, &str, &str); 8] = [
    ("registered", "judge_not_ours", "closed_not_ours"),
    ("registered", "judge_serious", "awaiting_plan"),
    ("registered", "judge_minor", "handling"),
    ("handling", "resolve", "revisit_due"),
    ("rectifying", "resolve", "revisit_due"),
    ("revisit_due", "satisfied", "closed_satisfied"),
    // the walk reaches `revisit_due` through a minor complaint
    ("revisit_due", "dissatisfied", "handling"),
    ("awaiting_plan", "plan_approved", "rectifying"),
];

#[actix_rt::test]
async fn complaint_transition_table_every_state_and_action_pair() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let path_to = |state: &str| -> Vec<&str> {
        match state {
            "registered" => vec![],
            "closed_not_ours" => vec!["judge_not_ours"],
            "awaiting_plan" => vec!["judge_serious"],
            "handling" => vec!["judge_minor"],
            "rectifying" => vec!["judge_serious", "plan_approved"],
            "revisit_due" => vec!["judge_minor", "resolve"],
            _ => vec!["judge_minor", "resolve", "satisfied"],
        }
    };
    for state in [
        "registered",
        "closed_not_ours",
        "awaiting_plan",
        "handling",
        "rectifying",
        "revisit_due",
        "closed_satisfied",
    ] {
        for action in [
            "judge_not_ours",
            "judge_serious",
            "judge_minor",
            "resolve",
            "satisfied",
            "dissatisfied",
        ] {
            let id = id_of(&d.register(&app, json!({})).await);
            for step in path_to(state) {
                d.act(&app, id, step).await.expect(200);
            }
            let r = d.act(&app, id, action).await;
            match COMPLAINT_PAIRS
                .iter()
                .find(|(from, a, _)| *from == state && *a == action)
            {
                Some((_, _, to)) => {
                    r.expect(200);
                    assert_eq!(r.body["status"], *to, "{state} --{action}-->");
                }
                None => {
                    r.expect_problem(409, "invalid_transition");
                    let detail = r.body["detail"].as_str().unwrap();
                    assert!(detail.contains(state), "{detail}");
                }
            }
        }
    }
    // the plan's approval moves an awaiting complaint to rectifying
    let id = id_of(&d.register(&app, json!({})).await);
    d.act(&app, id, "judge_serious").await.expect(200);
    d.act(&app, id, "plan_approved").await.expect(200);
    let r = app.get(&format!("/api/v1/complaints/{id}"), &d.pm).await;
    assert_eq!(r.body["status"], "rectifying");
}

/// The plan's life cycle: the pairs that succeed (on a complaint sent to
/// the group, where a revision goes back to review).
const PLAN_PAIRS: [(&str, &str, &str); 7] = [
    ("draft", "submit", "submitted"),
    ("returned", "submit", "submitted"),
    ("submitted", "pass", "reviewed"),
    ("submitted", "return_review", "returned"),
    ("reviewed", "approve", "approved"),
    ("reviewed", "return_approval", "returned"),
    ("approved", "revise", "submitted"),
];

#[actix_rt::test]
async fn plan_transition_table_every_state_and_action_pair() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    for state in ["draft", "submitted", "reviewed", "approved", "returned"] {
        for action in [
            "submit",
            "pass",
            "return_review",
            "approve",
            "return_approval",
            "revise",
        ] {
            let c = id_of(&d.register(&app, json!({"sent_to_group": true})).await);
            d.act(&app, c, "judge_serious").await.expect(200);
            let plan = d.plan(&app, c, state).await;
            let r = d.plan_step(&app, plan, action).await;
            match PLAN_PAIRS
                .iter()
                .find(|(from, a, _)| *from == state && *a == action)
            {
                Some((_, _, to)) => {
                    r.expect(200);
                    assert_eq!(r.body["status"], *to, "{state} --{action}-->");
                }
                None => {
                    r.expect_problem(409, "invalid_transition");
                    let detail = r.body["detail"].as_str().unwrap();
                    assert!(detail.contains(state), "{detail}");
                }
            }
        }
    }
}

/// Who may take each row: written out apart from the code. Every other
/// role gets 403 for an action it may never take.
#[test]
fn every_row_admits_its_roles_and_refuses_the_others() {
    use aftercare::kit::workflow::{self, Workflow};
    use aftercare::models::complaint::*;
    use aftercare::models::user::Role;
    use aftercare::services::complaints::{ComplaintFlow, FilingFlow};
    use aftercare::services::rectification::PlanFlow;

    fn check<W: Workflow>(rows: &[(&str, &str, &str, &[&str])]) {
        for state in W::states() {
            for action in W::actions() {
                for role in Role::ALL {
                    let got = workflow::transition::<W>(*role, *state, *action);
                    let row = rows
                        .iter()
                        .find(|(f, a, _, _)| *f == state.to_string() && *a == action.to_string());
                    let may_ever = rows.iter().any(|(_, a, _, roles)| {
                        *a == action.to_string() && roles.contains(&role.as_str())
                    });
                    match (row, may_ever) {
                        (Some((_, _, to, roles)), _) if roles.contains(&role.as_str()) => {
                            assert_eq!(got.unwrap().to.to_string(), *to, "{state} {action} {role}")
                        }
                        (_, false) => assert!(
                            matches!(got, Err(aftercare::error::AppError::Forbidden(_))),
                            "{state} {action} {role}: expected 403"
                        ),
                        _ => assert!(got.is_err(), "{state} {action} {role}: expected a refusal"),
                    }
                }
            }
        }
    }
    let eng: &[&str] = &["branch_engineer"];
    let handlers: &[&str] = &["project_manager", "staff"];
    let evaluators: &[&str] = &["branch_engineer", "customer"];
    check::<ComplaintFlow>(&[
        ("registered", "judge_not_ours", "closed_not_ours", eng),
        ("registered", "judge_serious", "awaiting_plan", eng),
        ("registered", "judge_minor", "handling", eng),
        (
            "awaiting_plan",
            "start_rectification",
            "rectifying",
            &["branch_leader"],
        ),
        ("handling", "resolve", "revisit_due", handlers),
        ("rectifying", "resolve", "revisit_due", handlers),
        (
            "revisit_due",
            "close_satisfied",
            "closed_satisfied",
            evaluators,
        ),
        ("revisit_due", "reopen_minor", "handling", evaluators),
        ("revisit_due", "reopen_serious", "rectifying", evaluators),
    ]);
    check::<FilingFlow>(&[
        ("not_required", "require", "pending", eng),
        ("pending", "file", "filed", &["group_engineer"]),
    ]);
    check::<PlanFlow>(&[
        ("draft", "submit", "submitted", handlers),
        ("returned", "submit", "submitted", handlers),
        ("submitted", "pass", "reviewed", eng),
        ("submitted", "return_review", "returned", eng),
        ("reviewed", "approve", "approved", &["branch_leader"]),
        (
            "reviewed",
            "return_approval",
            "returned",
            &["branch_leader"],
        ),
        // the first of the two rows (sent to the group; kept by the branch)
        ("approved", "revise", "submitted", handlers),
        ("approved", "report_progress", "approved", handlers),
    ]);
    // every state the enums name is covered by the tables' walk
    assert_eq!(ComplaintStatus::ALL.len(), 7);
    assert_eq!(PlanStatus::ALL.len(), 5);
}

// ---- the paths of the flow ---------------------------------------------

#[actix_rt::test]
async fn not_ours_is_answered_by_a_reply_and_closed() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    // the reply is required, and a severity has no place
    let path = format!("/api/v1/complaints/{id}/judgment");
    let r = app
        .post(
            &path,
            &d.engineer,
            json!({"liability": "not_ours", "reasoning": "owner's alteration"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["reply"]);
    let letter = app.upload(&d.engineer, "回函.pdf", PDF).await;
    letter.expect(201);
    let r = app
        .post(
            &path,
            &d.engineer,
            json!({"liability": "not_ours", "reasoning": "owner's alteration",
                   "reply": {"method": "courier", "sent_at": rfc3339(app.clock.now()), "text": "系业主自行改造所致"},
                   "attachment_ids": [letter.body["id"]]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "closed_not_ours");
    assert_eq!(r.body["filing"]["status"], "not_required");
    assert!(r.body["closed_at"].is_string());
    let t = app.get(&format!("/api/v1/complaints/{id}"), &d.owner).await;
    t.expect(200);
    assert_eq!(t.body["reply"]["method"], "courier");
    assert_eq!(t.body["attachments"].as_array().unwrap().len(), 1);
    // nothing more can happen to it
    d.act(&app, id, "resolve")
        .await
        .expect_problem(409, "invalid_transition");
}

#[actix_rt::test]
async fn minor_complaint_is_handled_filed_revisited_and_closed_satisfied() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    let r = d.act(&app, id, "judge_minor").await;
    r.expect(200);
    assert_eq!(r.body["status"], "handling");
    assert_eq!(r.body["filing"]["status"], "pending");
    // filing runs beside the handling: resolve before it is filed
    app.clock.advance(Duration::hours(5));
    d.act(&app, id, "resolve").await.expect(200);
    let r = app
        .post(
            &format!("/api/v1/complaints/{id}/filing"),
            &d.group,
            json!({"note": "2026-JT-031"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["filing"]["status"], "filed");
    assert_eq!(r.body["status"], "revisit_due");
    // filed twice: the filing table has nothing more
    app.post(
        &format!("/api/v1/complaints/{id}/filing"),
        &d.group,
        json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    // revisited two days later: on time, satisfied
    app.clock.advance(Duration::days(2));
    let r = d.act(&app, id, "satisfied").await;
    r.expect(200);
    assert_eq!(r.body["status"], "closed_satisfied");
    assert_eq!(r.body["rounds"], 1);
    let t = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    let rules: Vec<(&str, &str)> = t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["rule"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("complaint.judge", "met"),
            ("complaint.file", "met"),
            ("complaint.revisit", "met")
        ]
    );
    let events: Vec<&str> = t.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        vec![
            "complaint.registered",
            "complaint.judged",
            // the judgment (ours) enters the filing track, after it
            "complaint.filing_required",
            "complaint.resolved",
            "complaint.filed",
            "complaint.evaluated"
        ]
    );
    // every step's action and state is one the spec lists (a generated
    // client's enums must read them all, the filing's `filed` included)
    use utoipa::OpenApi;
    let spec = serde_json::to_value(aftercare::openapi::ApiDoc::openapi()).unwrap();
    for (field, schema) in [("action", "StepAction"), ("state", "StepState")] {
        let listed = spec["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap();
        for step in t.body["events"].as_array().unwrap() {
            if !step[field].is_null() {
                assert!(
                    listed.contains(&step[field]),
                    "{field} {} not in {schema}",
                    step[field]
                );
            }
        }
    }
    assert!(t.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["state"] == "filed"));
}

#[actix_rt::test]
async fn serious_complaint_goes_through_a_returned_plan_to_a_second_round_and_a_satisfied_close() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({"sent_to_group": true})).await);
    let r = d.act(&app, id, "judge_serious").await;
    assert_eq!(r.body["status"], "awaiting_plan");
    app.post(
        &format!("/api/v1/complaints/{id}/filing"),
        &d.group,
        json!({}),
    )
    .await
    .expect(200);
    // no resolution without a plan
    d.act(&app, id, "resolve")
        .await
        .expect_problem(409, "invalid_transition");
    let plan = d.plan(&app, id, "draft").await;
    // a second plan for the same complaint is refused
    app.post(
        &format!("/api/v1/complaints/{id}/rectification-plans"),
        &d.pm,
        plan_body("2026-03-10", "2026-03-20"),
    )
    .await
    .expect_problem(409, "plan_exists");
    d.plan_step(&app, plan, "submit").await.expect(200);
    let r = d.plan_step(&app, plan, "return_review").await;
    assert_eq!(r.body["status"], "returned");
    // revised while returned, with If-Match, and resubmitted
    let read = app
        .get(&format!("/api/v1/rectification-plans/{plan}"), &d.pm)
        .await;
    let r = app
        .send(
            actix_web::test::TestRequest::patch()
                .uri(&format!("/api/v1/rectification-plans/{plan}"))
                .insert_header(("Authorization", format!("Bearer {}", d.pm)))
                .insert_header(("If-Match", read.header("etag").unwrap()))
                .set_json(json!({"expected_result": "无渗漏且无异味 no leak and no smell"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["revision"], 2);
    d.plan_step(&app, plan, "submit").await.expect(200);
    d.plan_step(&app, plan, "pass").await.expect(200);
    let r = d.plan_step(&app, plan, "approve").await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
    let c = app.get(&format!("/api/v1/complaints/{id}"), &d.pm).await;
    assert_eq!(c.body["status"], "rectifying");
    // progress: the start milestone done on time
    let start = r.body["milestones"][0]["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/rectification-plans/{plan}/progress"),
            &d.pm,
            json!({"reported_on": "2026-03-02", "percent": 30, "note": "old layer removed",
                   "resources_in_place": true, "milestones_done": [start]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["progress_percent"], 30);
    assert_eq!(r.body["milestones"][0]["done_on"], "2026-03-02");
    // resolution, not satisfied: rectification goes on
    d.act(&app, id, "resolve").await.expect(200);
    let r = d.act(&app, id, "dissatisfied").await;
    r.expect(200);
    assert_eq!(r.body["status"], "rectifying");
    // second round
    d.act(&app, id, "resolve").await.expect(200);
    let r = d.act(&app, id, "satisfied").await;
    assert_eq!(r.body["status"], "closed_satisfied");
    assert_eq!(r.body["rounds"], 2);
    let t = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(t.body["evaluations"].as_array().unwrap().len(), 2);
    assert_eq!(t.body["evaluations"][0]["satisfied"], false);
    assert_eq!(t.body["resolutions"].as_array().unwrap().len(), 2);
    assert_eq!(t.body["plan"]["id"], plan);
    // the start was reported done; the finish, never reported, stops waiting
    let milestones: Vec<&str> = t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["subject_type"] == "rectification_milestone")
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(milestones, vec!["met", "cancelled"]);
    let plan_events: Vec<&str> = t.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject_type"] == "rectification_plan")
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        plan_events,
        vec![
            "rectification_plan.created",
            "rectification_plan.milestone_written",
            "rectification_plan.milestone_written",
            "rectification_plan.submitted",
            "rectification_plan.returned",
            // the returned plan's change writes its milestones anew
            "rectification_plan.milestone_replaced",
            "rectification_plan.milestone_replaced",
            "rectification_plan.milestone_written",
            "rectification_plan.milestone_written",
            "rectification_plan.changed",
            "rectification_plan.submitted",
            "rectification_plan.reviewed",
            // the approval schedules each milestone, after its own event
            "rectification_plan.approved",
            "rectification_plan.milestone_scheduled",
            "rectification_plan.milestone_scheduled",
            "rectification_plan.milestone_done",
            "rectification_plan.progress",
            // the satisfied close abandons the milestone never reported
            "rectification_plan.milestone_cancelled"
        ]
    );
}

#[actix_rt::test]
async fn a_milestone_change_on_a_group_complaint_is_reviewed_and_approved_again() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({"sent_to_group": true})).await);
    d.act(&app, id, "judge_serious").await.expect(200);
    let plan = d.plan(&app, id, "approved").await;
    let r = d.plan_step(&app, plan, "revise").await;
    r.expect(200);
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["milestones"][1]["due_on"], "2026-03-27");
    // the old finish milestone's clock is cancelled; the new one waits for approval
    let clocks = |app_body: &Value| -> Vec<(String, String)> {
        app_body["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["subject_type"] == "rectification_milestone")
            .map(|d| {
                (
                    d["rule"].as_str().unwrap().to_string(),
                    d["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let t = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(
        clocks(&t.body),
        vec![
            ("rectification.milestone.group".into(), "cancelled".into()),
            ("rectification.milestone.group".into(), "cancelled".into())
        ]
    );
    d.plan_step(&app, plan, "pass").await.expect(200);
    let r = d.plan_step(&app, plan, "approve").await;
    assert_eq!(r.body["status"], "approved");
    let t = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(clocks(&t.body).len(), 4);
    assert_eq!(t.body["status"], "rectifying");
    let v = app
        .get(
            &format!("/api/v1/rectification-plans/{plan}/versions"),
            &d.engineer,
        )
        .await;
    let items = v.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["reason"], "材料延迟 the membrane is late");
    assert_eq!(items[0]["milestones"][1]["due_on"], "2026-03-20");
}

#[actix_rt::test]
async fn a_milestone_change_on_a_branch_complaint_is_recorded_and_the_plan_stays_approved() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    d.act(&app, id, "judge_serious").await.expect(200);
    let plan = d.plan(&app, id, "approved").await;
    let r = d.plan_step(&app, plan, "revise").await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.body["milestones"][1]["due_on"], "2026-03-27");
    let t = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    let open: Vec<&Value> = t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "rectification.milestone" && d["status"] == "pending")
        .collect();
    // the new finish runs at once, due when its day ends in Shanghai
    assert_eq!(open.len(), 2);
    assert_eq!(open[1]["due_at"], "2026-03-27T16:00:00Z");
    let v = app
        .get(
            &format!("/api/v1/rectification-plans/{plan}/versions"),
            &d.pm,
        )
        .await;
    assert_eq!(v.body["items"].as_array().unwrap().len(), 2);
    // no review clock was started
    assert!(!t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["rule"] == "rectification.review" && d["status"] == "pending"));
}

// ---- deadlines ---------------------------------------------------------

#[actix_rt::test]
async fn judgment_at_47_h_59_min_is_on_time_and_at_48_h_01_min_needs_a_late_reason() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let received = app.clock.now();
    let on_time = id_of(&d.register(&app, json!({})).await);
    let late = id_of(&d.register(&app, json!({"category": "schedule"})).await);
    app.clock
        .set(received + Duration::hours(47) + Duration::minutes(59));
    d.act(&app, on_time, "judge_minor").await.expect(200);
    app.clock
        .set(received + Duration::hours(48) + Duration::minutes(1));
    let r = d.act(&app, late, "judge_minor").await;
    r.expect_problem(422, "deadline_passed");
    assert_eq!(r.fields(), vec!["late_reason"]);
    // refused, nothing written
    let c = app
        .get(&format!("/api/v1/complaints/{late}"), &d.engineer)
        .await;
    assert_eq!(c.body["status"], "registered");
    let r = app
        .post(
            &format!("/api/v1/complaints/{late}/judgment"),
            &d.engineer,
            json!({"liability": "ours", "severity": "minor", "reasoning": "ours",
                   "late_reason": "the engineer was on site at another project"}),
        )
        .await;
    r.expect(200);
    let t = app
        .get(&format!("/api/v1/complaints/{late}"), &d.engineer)
        .await;
    let judge = &t.body["deadlines"][0];
    assert_eq!(judge["rule"], "complaint.judge");
    assert_eq!(judge["status"], "met_late");
    assert_eq!(
        judge["late_reason"],
        "the engineer was on site at another project"
    );
    let t = app
        .get(&format!("/api/v1/complaints/{on_time}"), &d.engineer)
        .await;
    assert_eq!(t.body["deadlines"][0]["status"], "met");
}

#[actix_rt::test]
async fn the_judgment_clock_runs_from_received_at_not_from_registration() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    // received by phone 47 hours ago, registered only now
    let r = app
        .post(
            "/api/v1/complaints",
            &d.engineer,
            complaint_body(d.project, app.clock.now() - Duration::hours(47), json!({})),
        )
        .await;
    r.expect(201);
    let id = id_of(&r.body);
    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    d.act(&app, id, "judge_minor")
        .await
        .expect_problem(422, "deadline_passed");
}

#[actix_rt::test]
async fn plan_review_at_25_h_needs_a_reason_and_at_23_h_59_min_does_not() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut plans = vec![];
    for _ in 0..2 {
        let c = id_of(&d.register(&app, json!({})).await);
        d.act(&app, c, "judge_serious").await.expect(200);
        plans.push(d.plan(&app, c, "submitted").await);
    }
    let submitted = app.clock.now();
    app.clock
        .set(submitted + Duration::hours(23) + Duration::minutes(59));
    d.plan_step(&app, plans[0], "pass").await.expect(200);
    app.clock.set(submitted + Duration::hours(25));
    d.plan_step(&app, plans[1], "pass")
        .await
        .expect_problem(422, "deadline_passed");
    app.post(
        &format!("/api/v1/rectification-plans/{}/review", plans[1]),
        &d.engineer,
        json!({"decision": "pass", "covers_all_points": true, "late_reason": "inspection day"}),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn the_approval_clock_starts_at_the_review_not_the_submission() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let c = id_of(&d.register(&app, json!({})).await);
    d.act(&app, c, "judge_serious").await.expect(200);
    let plan = d.plan(&app, c, "submitted").await;
    let submitted = app.clock.now();
    // reviewed 20 hours after the submission
    app.clock.set(submitted + Duration::hours(20));
    d.plan_step(&app, plan, "pass").await.expect(200);
    // 40 hours after the submission, 20 after the review: on time
    app.clock.set(submitted + Duration::hours(40));
    let r = d.plan_step(&app, plan, "approve").await;
    r.expect(200);
    let t = app
        .get(&format!("/api/v1/complaints/{c}"), &d.engineer)
        .await;
    let approve = t.body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "rectification.approve")
        .unwrap()
        .clone();
    assert_eq!(approve["status"], "met");
    assert_eq!(
        approve["due_at"],
        (submitted + Duration::hours(44))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    // and one minute past a day after its review is late
    let c = id_of(&d.register(&app, json!({"category": "schedule"})).await);
    d.act(&app, c, "judge_serious").await.expect(200);
    let plan = d.plan(&app, c, "reviewed").await;
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    d.plan_step(&app, plan, "approve")
        .await
        .expect_problem(422, "deadline_passed");
}

/// A step is refused as a concurrent change only when someone changed its
/// record: a sweep marking the step's clock (due soon, overdue, escalated)
/// at the same moment is no such change. On PostgreSQL, where the sweep's
/// transaction and the step's run side by side: the sweep's write holds the
/// clock's row while the judgment is taken.
#[actix_rt::test]
async fn a_judgment_taken_while_the_sweep_marks_its_clock_is_not_refused() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = spawn().await;
    let aftercare::db::DbTarget::Postgres(url) = app.state.config.database.clone() else {
        return; // SQLite: one writer at a time, no two transactions side by side
    };
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    let mut sweep = diesel::PgConnection::establish(&url).unwrap();
    sweep
        .batch_execute(&format!(
            "BEGIN; UPDATE deadlines SET due_soon_at = updated_at, version = version + 1 \
             WHERE subject_type = 'complaint' AND subject_id = {id} AND status = 'pending'"
        ))
        .unwrap();
    let commit = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        sweep.batch_execute("COMMIT").unwrap();
    });
    let r = d.act(&app, id, "judge_minor").await;
    commit.join().unwrap();
    r.expect(200);
    assert_eq!(r.body["status"], "handling");
    let r = app
        .get(
            &format!("/api/v1/deadlines?subject_type=complaint&subject_id={id}"),
            &d.engineer,
        )
        .await;
    r.expect(200);
    let judge: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "complaint.judge")
        .collect();
    assert_eq!(judge.len(), 1, "{}", r.body);
    assert_eq!(judge[0]["status"], "met");
}

#[actix_rt::test]
async fn an_overdue_judgment_escalates_to_the_branch_leader_and_the_group_engineer_once() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    let judge_task = |body: &Value| -> Vec<Value> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["link"] == format!("/api/v1/complaints/{id}"))
            .cloned()
            .collect()
    };
    // before the due time: the engineer's task, not yet the leader's
    app.clock.advance(Duration::hours(47));
    assert_eq!(sweep_now(&app), 0);
    let r = app.get("/api/v1/me/tasks", &d.engineer).await;
    assert_eq!(judge_task(&r.body).len(), 1);
    let r = app.get("/api/v1/me/tasks", &d.leader).await;
    assert!(judge_task(&r.body).is_empty());
    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    assert_eq!(sweep_now(&app), 1);
    assert_eq!(sweep_now(&app), 0);
    for token in [&d.leader, &d.group] {
        let r = app.get("/api/v1/me/tasks", token).await;
        let tasks = judge_task(&r.body);
        assert_eq!(tasks.len(), 1, "{}", r.body);
        assert_eq!(tasks[0]["reason"], "escalated");
        assert_eq!(tasks[0]["overdue"], true);
    }
    // the other branch hears nothing of it
    let r = app.get("/api/v1/me/tasks", &d.north).await;
    assert!(judge_task(&r.body).is_empty());
    let r = app
        .get("/api/v1/complaints?overdue=true", &d.engineer)
        .await;
    assert_eq!(r.item_ids(), vec![id]);
}

#[actix_rt::test]
async fn a_missed_milestone_escalates_to_the_branch_and_for_a_group_complaint_the_group() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut plans = vec![];
    for group in [false, true] {
        let c = id_of(
            &d.register(
                &app,
                json!({"sent_to_group": group, "description": format!("group {group}")}),
            )
            .await,
        );
        d.act(&app, c, "judge_serious").await.expect(200);
        plans.push((c, d.plan(&app, c, "approved").await));
    }
    // the start milestone is due when 10 March ends in Shanghai (16:00 UTC)
    // (the ledger's and the filings' clocks passed long before)
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 10, 15, 59, 0).unwrap());
    sweep_now(&app);
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 10, 16, 1, 0).unwrap());
    assert_eq!(sweep_now(&app), 2);
    let escalated = |body: &Value, complaint: i64| -> bool {
        body["items"].as_array().unwrap().iter().any(|t| {
            t["reason"] == "escalated"
                && t["title"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("complaint #{complaint}"))
        })
    };
    let engineer = app.get("/api/v1/me/tasks", &d.engineer).await;
    let group = app.get("/api/v1/me/tasks", &d.group).await;
    assert!(escalated(&engineer.body, plans[0].0));
    assert!(escalated(&engineer.body, plans[1].0));
    assert!(!escalated(&group.body, plans[0].0));
    assert!(escalated(&group.body, plans[1].0));
    // reported done after its date: only with a reason
    let (_, plan) = plans[0];
    let p = app
        .get(&format!("/api/v1/rectification-plans/{plan}"), &d.pm)
        .await;
    let start = p.body["milestones"][0]["id"].clone();
    let body = json!({"reported_on": "2026-03-10", "percent": 20, "note": "removed",
                      "resources_in_place": true, "milestones_done": [start]});
    let path = format!("/api/v1/rectification-plans/{plan}/progress");
    app.post(&path, &d.pm, body.clone())
        .await
        .expect_problem(422, "deadline_passed");
    let mut late = body;
    late["late_reason"] = json!("rain for three days");
    app.post(&path, &d.pm, late).await.expect(200);
}

#[actix_rt::test]
async fn unfiled_complaints_show_in_the_group_task_list_until_filed() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    let filing = |body: &Value| -> usize {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["link"] == format!("/api/v1/complaints/{id}") && t["reason"] == "role")
            .count()
    };
    let r = app.get("/api/v1/me/tasks", &d.group).await;
    assert_eq!(filing(&r.body), 0);
    d.act(&app, id, "judge_minor").await.expect(200);
    let r = app.get("/api/v1/me/tasks", &d.group).await;
    assert_eq!(filing(&r.body), 1);
    app.post(
        &format!("/api/v1/complaints/{id}/filing"),
        &d.group,
        json!({}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/me/tasks", &d.group).await;
    assert_eq!(filing(&r.body), 0);
}

// ---- registration ------------------------------------------------------

#[actix_rt::test]
async fn a_registration_retried_with_the_same_key_creates_one_complaint() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let body = complaint_body(d.project, app.clock.now(), json!({}));
    let send = || {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/complaints")
            .insert_header(("Authorization", format!("Bearer {}", d.engineer)))
            .insert_header(("Idempotency-Key", "3f1c0e9a-complaint-1"))
            .set_json(body.clone())
    };
    let first = app.send(send()).await;
    first.expect(201);
    let again = app.send(send()).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(first.body["id"], again.body["id"]);
    let r = app
        .get(
            &format!("/api/v1/complaints?project_id={}", d.project),
            &d.engineer,
        )
        .await;
    assert_eq!(r.item_ids().len(), 1);
    let r = app
        .get("/api/v1/deadlines?rule=complaint.judge", &d.engineer)
        .await;
    assert_eq!(r.item_ids().len(), 1);
}

#[actix_rt::test]
async fn received_at_may_lie_in_the_past_never_in_the_future() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let now = app.clock.now();
    for (at, status) in [
        (now - Duration::days(3), 201),
        (now + Duration::minutes(5), 201),
        (now + Duration::minutes(6), 422),
    ] {
        let r = app
            .post(
                "/api/v1/complaints",
                &d.engineer,
                complaint_body(d.project, at, json!({})),
            )
            .await;
        assert_eq!(r.status, status, "{at}: {}", r.body);
        if status == 422 {
            assert_eq!(r.fields(), vec!["received_at"]);
        }
    }
}

#[actix_rt::test]
async fn repeat_complaints_are_detected_flagged_and_counted() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let first = id_of(&d.register(&app, json!({})).await);
    // same project, same category, first still open: a repeat
    let second = d.register(&app, json!({})).await;
    assert_eq!(second["is_repeat"], true);
    assert_eq!(second["repeat_of"], first);
    // another category is another matter
    let other = d
        .register(&app, json!({"category": "safety_civility"}))
        .await;
    assert_eq!(other["is_repeat"], false);
    // named explicitly
    let named = d
        .register(&app, json!({"category": "schedule", "repeat_of": first}))
        .await;
    assert_eq!(named["repeat_of"], first);
    // closed satisfied: a repeat within 12 months, not after
    let safety = id_of(&other);
    for step in ["judge_minor", "resolve", "satisfied"] {
        d.act(&app, safety, step).await.expect(200);
    }
    app.clock.advance(Duration::days(364));
    let within = d
        .register(&app, json!({"category": "safety_civility"}))
        .await;
    assert_eq!(within["repeat_of"], safety);
    for step in ["judge_not_ours"] {
        d.act(&app, id_of(&within), step).await.expect(200);
    }
    // the one above was closed not ours, which is not satisfied: still a repeat
    let again = d
        .register(&app, json!({"category": "safety_civility"}))
        .await;
    assert_eq!(again["repeat_of"], id_of(&within));
    let r = app.get("/api/v1/complaints?repeat=true", &d.engineer).await;
    assert_eq!(r.item_ids().len(), 4);
    let r = app
        .get("/api/v1/complaints/counts?by=customer", &d.engineer)
        .await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["id"], d.customer);
    assert_eq!(r.body["items"][0]["total"], 6);
    assert_eq!(r.body["items"][0]["repeat"], 4);
    assert_eq!(r.body["items"][0]["open"], 4);
    let r = app
        .get("/api/v1/complaints/counts?by=project", &d.engineer)
        .await;
    assert_eq!(r.body["items"][0]["id"], d.project);
    // the customer's profile counts them toward a manager's visit
    let c = app
        .get(&format!("/api/v1/customers/{}", d.customer), &d.engineer)
        .await;
    assert_eq!(c.body["required_visitor_rank"], "manager");
}

#[actix_rt::test]
async fn a_complaint_closed_satisfied_more_than_12_months_ago_is_not_repeated() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let old = id_of(&d.register(&app, json!({})).await);
    for step in ["judge_minor", "resolve", "satisfied"] {
        d.act(&app, old, step).await.expect(200);
    }
    app.clock.advance(Duration::days(366));
    let fresh = d.register(&app, json!({})).await;
    assert_eq!(fresh["is_repeat"], false);
    assert_eq!(fresh["repeat_of"], Value::Null);
}

// ---- customers ---------------------------------------------------------

#[actix_rt::test]
async fn a_customer_registers_in_the_app_and_never_sees_reasoning_or_internal_attachments() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    // by the app only, and never "sent to the group"
    let r = app
        .post(
            "/api/v1/complaints",
            &d.owner,
            complaint_body(d.project, app.clock.now(), json!({"sent_to_group": true})),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["channel", "sent_to_group"]);
    let photo = app.upload(&d.owner, "leak.png", &png()).await;
    let r = app
        .post(
            "/api/v1/complaints",
            &d.owner,
            complaint_body(
                d.project,
                app.clock.now(),
                json!({"channel": "app", "attachment_ids": [photo.body["id"]]}),
            ),
        )
        .await;
    r.expect(201);
    let id = id_of(&r.body);
    // staff add a liability photo marked internal, and judge
    let internal = app.upload(&d.engineer, "liability.png", &png()).await;
    app.post(
        &format!("/api/v1/complaints/{id}/attachments"),
        &d.engineer,
        json!({"upload_id": internal.body["id"], "internal": true}),
    )
    .await
    .expect(201);
    let own = app.upload(&d.owner, "more.png", &png()).await;
    app.post(
        &format!("/api/v1/complaints/{id}/attachments"),
        &d.owner,
        json!({"upload_id": own.body["id"], "internal": true}),
    )
    .await
    .expect(403);
    d.act(&app, id, "judge_minor").await.expect(200);
    let staff = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(staff.body["judgment"]["reasoning"], "our waterproofing");
    assert_eq!(staff.body["attachments"].as_array().unwrap().len(), 2);
    let mine = app.get(&format!("/api/v1/complaints/{id}"), &d.owner).await;
    mine.expect(200);
    assert_eq!(mine.body["judgment"]["liability"], "ours");
    assert_eq!(mine.body["judgment"]["reasoning"], Value::Null);
    assert_eq!(mine.body["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(mine.body["deadlines"], json!([]));
    assert!(!mine.body.to_string().contains("our waterproofing"));
    let list = app.get("/api/v1/complaints", &d.owner).await;
    assert_eq!(list.item_ids(), vec![id]);
    assert_eq!(list.body["items"][0]["judgment"]["reasoning"], Value::Null);
    let r = app
        .get(&format!("/api/v1/complaints/{id}/attachments"), &d.owner)
        .await;
    assert_eq!(r.item_ids().len(), 1);
    // the owner evaluates in the app after the resolution, late or not
    d.act(&app, id, "resolve").await.expect(200);
    app.clock.advance(Duration::days(4));
    let r = app
        .post(
            &format!("/api/v1/complaints/{id}/evaluation"),
            &d.owner,
            json!({"rating": "very_satisfied"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "closed_satisfied");
}

#[actix_rt::test]
async fn staff_evaluating_after_three_days_need_a_late_reason() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut ids = vec![];
    for category in ["warranty", "schedule"] {
        let id = id_of(&d.register(&app, json!({"category": category})).await);
        d.act(&app, id, "judge_minor").await.expect(200);
        d.act(&app, id, "resolve").await.expect(200);
        ids.push(id);
    }
    app.clock
        .advance(Duration::hours(71) + Duration::minutes(59));
    d.act(&app, ids[0], "satisfied").await.expect(200);
    app.clock.advance(Duration::minutes(2));
    d.act(&app, ids[1], "satisfied")
        .await
        .expect_problem(422, "deadline_passed");
}

// ---- scope -------------------------------------------------------------

#[actix_rt::test]
async fn another_branch_gets_404_on_every_complaint_and_plan_operation() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = id_of(&d.register(&app, json!({})).await);
    let serious = id_of(&d.register(&app, json!({"category": "schedule"})).await);
    d.act(&app, serious, "judge_serious").await.expect(200);
    let plan = d.plan(&app, serious, "draft").await;
    let upload = app.upload(&d.north, "x.png", &png()).await;
    let c = |tail: &str| format!("/api/v1/complaints/{id}{tail}");
    let p = |tail: &str| format!("/api/v1/rectification-plans/{plan}{tail}");
    let gets = [
        c(""),
        c("/attachments"),
        p(""),
        p("/versions"),
        p("/attachments"),
    ];
    for path in gets {
        app.get(&path, &d.north).await.expect(404);
    }
    let posts = [
        (
            c("/judgment"),
            json!({"liability": "ours", "severity": "minor", "reasoning": "x"}),
        ),
        (c("/filing"), json!({})),
        (c("/resolution"), json!({"summary": "x"})),
        (c("/evaluation"), json!({"rating": "fairly_satisfied"})),
        (c("/attachments"), json!({"upload_id": upload.body["id"]})),
        (
            format!("/api/v1/complaints/{serious}/rectification-plans"),
            plan_body("2026-03-10", "2026-03-20"),
        ),
        (p("/submission"), json!({})),
        (
            p("/review"),
            json!({"decision": "pass", "covers_all_points": true}),
        ),
        (p("/approval"), json!({"decision": "approve"})),
        (
            p("/revision"),
            json!({"milestones": [{"due_on": "2026-03-10", "description": "a"}, {"due_on": "2026-03-11", "description": "b"}], "reason": "x"}),
        ),
        (
            p("/progress"),
            json!({"reported_on": "2026-03-02", "percent": 1, "note": "x", "resources_in_place": true}),
        ),
        (p("/attachments"), json!({"upload_id": upload.body["id"]})),
    ];
    for (path, body) in posts {
        let r = app.post(&path, &d.north, body).await;
        // the north engineer may judge and review; what is not theirs is 404
        assert!(
            r.status == 404 || r.status == 403,
            "{path}: {} {}",
            r.status,
            r.body
        );
        if path.ends_with("/judgment") || path.ends_with("/review") {
            assert_eq!(r.status, 404, "{path}");
        }
    }
    app.patch(&p(""), &d.north, json!({"expected_result": "x"}))
        .await
        .expect(404);
    // naming another branch's project or complaint in a body is 404 naming the field
    let r = app
        .post(
            "/api/v1/complaints",
            &d.north,
            complaint_body(d.project, app.clock.now(), json!({})),
        )
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["project_id"]);
    // and lists leave them out
    let r = app.get("/api/v1/complaints", &d.north).await;
    assert!(r.item_ids().is_empty());
    let r = app
        .get("/api/v1/complaints/counts?by=project", &d.north)
        .await;
    assert_eq!(r.body["items"], json!([]));
}

#[actix_rt::test]
async fn a_plan_that_misses_a_point_cannot_pass_review_and_a_return_says_why() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let c = id_of(&d.register(&app, json!({})).await);
    d.act(&app, c, "judge_serious").await.expect(200);
    let plan = d.plan(&app, c, "submitted").await;
    let path = format!("/api/v1/rectification-plans/{plan}/review");
    let r = app
        .post(
            &path,
            &d.engineer,
            json!({"decision": "pass", "covers_all_points": false}),
        )
        .await;
    r.expect_problem(422, "plan_incomplete");
    assert_eq!(r.fields(), vec!["covers_all_points"]);
    let r = app
        .post(
            &path,
            &d.engineer,
            json!({"decision": "return", "covers_all_points": false}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["comment"]);
}

#[actix_rt::test]
async fn plan_milestones_need_a_start_and_a_finish_in_date_order_and_people() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let c = id_of(&d.register(&app, json!({})).await);
    d.act(&app, c, "judge_serious").await.expect(200);
    let path = format!("/api/v1/complaints/{c}/rectification-plans");
    let mut one = plan_body("2026-03-10", "2026-03-20");
    one["milestones"].as_array_mut().unwrap().pop();
    app.post(&path, &d.pm, one).await.expect(422);
    let backwards = plan_body("2026-03-20", "2026-03-10");
    let r = app.post(&path, &d.pm, backwards).await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["milestones[1].due_on"]);
    let mut nobody = plan_body("2026-03-10", "2026-03-20");
    nobody["resources"]["people"] = json!([]);
    let r = app.post(&path, &d.pm, nobody).await;
    r.expect(422);
    // a plan for a minor complaint is not awaited
    let minor = id_of(&d.register(&app, json!({"category": "schedule"})).await);
    d.act(&app, minor, "judge_minor").await.expect(200);
    app.post(
        &format!("/api/v1/complaints/{minor}/rectification-plans"),
        &d.pm,
        plan_body("2026-03-10", "2026-03-20"),
    )
    .await
    .expect_problem(409, "complaint_not_awaiting_plan");
}

#[actix_rt::test]
async fn a_dissatisfied_visit_opens_a_complaint_linked_to_the_visit() {
    use aftercare::kit::workflow::Ctx;
    use aftercare::services::complaints::{open_from_visit, FromVisit};
    let app = spawn_long().await;
    let d = desk(&app).await;
    let project = d.project;
    let visited_at = app.clock.now_naive() - Duration::hours(2);
    let now = app.clock.now_naive();
    let config = app.state.config.clone();
    let mut conn = app.state.pool.get().unwrap();
    let engineer_id: i64 = {
        use aftercare::db::schema::users;
        use diesel::prelude::*;
        users::table
            .filter(users::username.eq("east.engineer"))
            .select(users::id)
            .first(&mut conn)
            .unwrap()
    };
    let actor = aftercare::services::auth::acting_as(&mut conn, engineer_id).unwrap();
    let c = open_from_visit(
        &mut conn,
        Ctx {
            actor: &actor,
            config: &config,
            now,
        },
        &FromVisit {
            visit_id: 41,
            project_id: project,
            visited_at,
            complainant_name: "王先生",
            complainant_phone: "13800138000",
            description: "回访满意度：不满意 dissatisfied at the return visit",
        },
    )
    .unwrap();
    drop(conn);
    assert_eq!(c.channel, "visit");
    assert_eq!(c.category, "warranty");
    assert_eq!(c.visit_id, Some(41));
    let r = app
        .get(&format!("/api/v1/complaints/{}", c.id), &d.engineer)
        .await;
    assert_eq!(r.body["visit_id"], 41);
    assert_eq!(r.body["deadlines"][0]["rule"], "complaint.judge");
    assert_eq!(
        r.body["deadlines"][0]["started_at"],
        (Utc.from_utc_datetime(&visited_at))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
}

#[actix_rt::test]
async fn complaint_lists_filter_and_page_newest_first() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let a = id_of(&d.register(&app, json!({})).await);
    let b = id_of(
        &d.register(&app, json!({"category": "schedule", "sent_to_group": true}))
            .await,
    );
    let c = id_of(
        &d.register(&app, json!({"category": "safety_civility"}))
            .await,
    );
    d.act(&app, b, "judge_minor").await.expect(200);
    let ids = |r: &Resp| r.item_ids();
    let r = app.get("/api/v1/complaints", &d.engineer).await;
    assert_eq!(ids(&r), vec![c, b, a]);
    let r = app.get("/api/v1/complaints?limit=2", &d.engineer).await;
    assert_eq!(ids(&r), vec![c, b]);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = app
        .get(
            &format!("/api/v1/complaints?limit=2&cursor={cursor}"),
            &d.engineer,
        )
        .await;
    assert_eq!(ids(&r), vec![a]);
    for (query, want) in [
        ("status=handling", vec![b]),
        ("category=safety_civility", vec![c]),
        ("sent_to_group=true", vec![b]),
        ("overdue=false", vec![c, b, a]),
    ] {
        let r = app
            .get(&format!("/api/v1/complaints?{query}"), &d.engineer)
            .await;
        assert_eq!(ids(&r), want, "{query}");
    }
    app.get("/api/v1/complaints?stauts=handling", &d.engineer)
        .await
        .expect_problem(400, "invalid_query_parameter");
}

/// A small PNG.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 90, 20]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// The smallest PDF that `infer` recognises.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

#[actix_rt::test]
async fn basically_satisfied_closes_a_complaint_and_somewhat_dissatisfied_reopens_it() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    for (rating, status) in [
        ("very_satisfied", "closed_satisfied"),
        ("fairly_satisfied", "closed_satisfied"),
        ("basically_satisfied", "closed_satisfied"),
        ("somewhat_dissatisfied", "handling"),
        ("dissatisfied", "handling"),
    ] {
        let id = id_of(&d.register(&app, json!({"description": rating})).await);
        d.act(&app, id, "judge_minor").await.expect(200);
        d.act(&app, id, "resolve").await.expect(200);
        let r = app
            .post(
                &format!("/api/v1/complaints/{id}/evaluation"),
                &d.engineer,
                json!({"rating": rating, "method": "phone"}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["status"], status, "{rating}");
        assert_eq!(r.body["rating"], rating);
    }
    // a rating from another scale is refused, naming the field
    let id = id_of(
        &d.register(&app, json!({"description": "other scale"}))
            .await,
    );
    d.act(&app, id, "judge_minor").await.expect(200);
    d.act(&app, id, "resolve").await.expect(200);
    let r = app
        .post(
            &format!("/api/v1/complaints/{id}/evaluation"),
            &d.engineer,
            json!({"rating": "satisfied"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.fields(), vec!["rating"]);
}
