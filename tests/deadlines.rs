//! The deadline engine: policies in hours or working days,
//! the company calendar, settling in time or late with a reason, the
//! sweeper's escalation (once, even when sweeps race) and task lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use aftercare::kit::deadlines::{self, NewDeadline};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

/// Two branches with people in every role the ledger and complaint rules
/// name, and a customer of the east branch.
struct World {
    admin: String,
    org: Org,
    customer: i64,
    east_pm: String,
    east_engineer: String,
    east_leader: String,
    group_engineer: String,
    north_pm: String,
    north_leader: String,
    east_staff: String,
    east_staff_id: i64,
    other_staff: String,
}

async fn world<S, B>(app: &TestApp<S>) -> World
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let people = [
        ("east.pm", "project_manager", org.east_pd),
        ("east.eng", "branch_engineer", org.east),
        ("east.leader", "branch_leader", org.east),
        ("group.eng", "group_engineer", org.group),
        ("north.pm", "project_manager", org.north_pd),
        ("north.leader", "branch_leader", org.north),
        ("east.staff", "staff", org.east_pd),
        ("east.staff2", "staff", org.east_pd),
    ];
    let mut ids = vec![];
    for (name, role, unit) in people {
        ids.push(app.user(&admin, name, role, Some(unit)).await);
    }
    let customer = app.customer(&admin, "Binjiang Owners", org.east).await;
    World {
        customer,
        east_pm: app.token("east.pm", PASSWORD).await,
        east_engineer: app.token("east.eng", PASSWORD).await,
        east_leader: app.token("east.leader", PASSWORD).await,
        group_engineer: app.token("group.eng", PASSWORD).await,
        north_pm: app.token("north.pm", PASSWORD).await,
        north_leader: app.token("north.leader", PASSWORD).await,
        east_staff: app.token("east.staff", PASSWORD).await,
        east_staff_id: ids[6],
        other_staff: app.token("east.staff2", PASSWORD).await,
        admin,
        org,
    }
}

/// Tokens that outlive the months the clock is moved in these tests.
async fn spawn_long_tokens() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 400 * 86_400).await
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap()
}

/// The deadlines of one rule for one project, oldest first.
async fn clocks<S, B>(app: &TestApp<S>, token: &str, project: &Value, rule: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .get(
            &format!(
                "/api/v1/deadlines?subject_type=project&subject_id={}&rule={rule}",
                project["id"]
            ),
            token,
        )
        .await;
    r.expect(200);
    r.body["items"].as_array().unwrap().clone()
}

async fn clock<S, B>(app: &TestApp<S>, token: &str, project: &Value, rule: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let all = clocks(app, token, project, rule).await;
    assert_eq!(all.len(), 1, "one {rule} deadline: {all:?}");
    all[0].clone()
}

async fn tasks<S, B>(app: &TestApp<S>, token: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app.get("/api/v1/me/tasks?limit=200", token).await;
    r.expect(200);
    r.body["items"].as_array().unwrap().clone()
}

async fn set_policy<S, B>(app: &TestApp<S>, admin: &str, rule: &str, body: Value) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .put(&format!("/api/v1/deadline-policies/{rule}"), admin, body)
        .await;
    r.expect(200);
    r.body.clone()
}

fn sweep_now<S>(app: &TestApp<S>) -> usize {
    let now = app.clock.now_naive();
    let mut conn = app.state.pool.get().unwrap();
    deadlines::sweep(&mut conn, now).unwrap().overdue
}

// ---- policies ------------------------------------------------------------

#[actix_rt::test]
async fn default_policies_follow_the_standards_and_everyone_reads_them() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let r = app.get("/api/v1/deadline-policies", &w.east_staff).await;
    r.expect(200);
    let by_rule = |rule: &str| {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["rule"] == rule)
            .unwrap_or_else(|| panic!("policy {rule}"))
            .clone()
    };
    let expected = [
        (
            "ledger.fill",
            72,
            "project_manager",
            vec!["branch_engineer"],
        ),
        (
            "ledger.review",
            24,
            "branch_engineer",
            vec!["branch_leader"],
        ),
        (
            "visit_plan.compile",
            72,
            "branch_engineer",
            vec!["branch_leader"],
        ),
        (
            "visit_plan.compile.project",
            72,
            "project_manager",
            vec!["branch_engineer"],
        ),
        ("visit.record", 24, "staff", vec!["branch_engineer"]),
        (
            "complaint.judge",
            48,
            "branch_engineer",
            vec!["branch_leader", "group_engineer"],
        ),
        (
            "rectification.review",
            24,
            "branch_engineer",
            vec!["branch_leader"],
        ),
        (
            "rectification.approve",
            24,
            "branch_leader",
            vec!["group_engineer"],
        ),
        (
            "complaint.revisit",
            72,
            "branch_engineer",
            vec!["branch_leader"],
        ),
        (
            "repair.respond",
            24,
            "project_manager",
            vec!["branch_engineer"],
        ),
        (
            "repair.respond.emergency",
            8,
            "project_manager",
            // an emergency nobody answered goes straight to the branch leader
            vec!["branch_leader"],
        ),
        (
            "repair.rework",
            24,
            "staff",
            vec!["project_manager", "branch_engineer"],
        ),
        ("repair.followup", 720, "staff", vec!["branch_engineer"]),
        (
            "repair.confirm",
            48,
            "project_manager",
            vec!["branch_engineer"],
        ),
        ("repair.complete", 24, "staff", vec!["project_manager"]),
        (
            "complaint.file",
            24,
            "group_engineer",
            vec!["group_engineer"],
        ),
        (
            "rectification.milestone",
            24,
            "project_manager",
            vec!["branch_engineer"],
        ),
        (
            "rectification.milestone.group",
            24,
            "project_manager",
            vec!["branch_engineer", "group_engineer"],
        ),
        ("visit.perform", 24, "staff", vec!["branch_engineer"]),
        (
            "visit.perform.branch",
            24,
            "branch_engineer",
            vec!["group_engineer"],
        ),
        // 30 days from a return; first due when its own date ends (000 §1.4)
        (
            "corrective_action.complete",
            720,
            "project_manager",
            vec!["branch_engineer"],
        ),
    ];
    for (rule, hours, actor, escalation) in expected {
        let p = by_rule(rule);
        assert_eq!(p["duration"], hours, "{rule}");
        assert_eq!(p["unit"], "hours", "{rule}");
        assert_eq!(p["actor_role"], actor, "{rule}");
        assert_eq!(p["escalation_roles"], json!(escalation), "{rule}");
        // the emergency's escalation was changed by a later version (002)
        let version = if rule == "repair.respond.emergency" {
            2
        } else {
            1
        };
        assert_eq!(p["version"], version, "{rule}");
    }
    let large = by_rule("repair.complete.large");
    assert_eq!(
        (large["duration"].clone(), large["unit"].clone()),
        (json!(5), json!("working_days"))
    );
    assert_eq!(r.body.as_array().unwrap().len(), 22);
}

#[actix_rt::test]
async fn only_an_admin_changes_a_policy_and_every_version_is_kept() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let body = json!({"duration": 3, "unit": "working_days", "actor_role": "branch_engineer",
        "escalation_roles": ["branch_leader", "group_engineer"]});
    app.put(
        "/api/v1/deadline-policies/complaint.judge",
        &w.east_leader,
        body.clone(),
    )
    .await
    .expect_problem(403, "forbidden");
    let r = app
        .put(
            "/api/v1/deadline-policies/complaint.judge",
            &w.admin,
            json!({"duration": 0, "unit": "fortnights", "actor_role": "branch_engineer", "escalation_roles": []}),
        )
        .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.status);
    assert!(
        r.fields().contains(&"unit".to_string()) || r.fields().contains(&"duration".to_string())
    );
    // rules are an enum: an unknown one is a bad path parameter
    let r = app
        .put(
            "/api/v1/deadline-policies/no.such.rule",
            &w.admin,
            body.clone(),
        )
        .await;
    r.expect_problem(400, "invalid_path_parameter");
    assert_eq!(r.fields(), vec!["rule"]);
    let r = app
        .put(
            "/api/v1/deadline-policies/complaint.judge",
            &w.admin,
            json!({"duration": 3, "unit": "working_days", "actor_role": "branch_engineer",
                "escalation_roles": ["customer"]}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["escalation_roles"]);
    let r = app
        .put(
            "/api/v1/deadline-policies/complaint.judge",
            &w.admin,
            json!({"duration": 3, "unit": "working_days", "actor_role": "admin",
                "escalation_roles": []}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["escalation_roles"]);
    let r = app
        .put(
            "/api/v1/deadline-policies/complaint.judge",
            &w.admin,
            json!({"duration": 3, "unit": "working_days", "actor_role": "customer",
                "escalation_roles": ["branch_leader", "branch_leader"]}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["actor_role", "escalation_roles"]);

    let v2 = set_policy(&app, &w.admin, "complaint.judge", body).await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["unit"], "working_days");
    assert_eq!(v2["created_by"], 1);
    let r = app
        .get("/api/v1/deadline-policies/complaint.judge", &w.east_pm)
        .await;
    r.expect(200);
    let versions: Vec<i64> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(r.body[0]["duration"], 48);
    let r = app.get("/api/v1/deadline-policies", &w.east_pm).await;
    let current = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "complaint.judge")
        .unwrap()
        .clone();
    assert_eq!(current["version"], 2);
}

#[actix_rt::test]
async fn policy_change_does_not_move_started_deadlines() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let before = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    set_policy(
        &app,
        &w.admin,
        "ledger.fill",
        json!({"duration": 120, "unit": "hours", "actor_role": "project_manager", "escalation_roles": ["branch_engineer"]}),
    )
    .await;
    let after = app
        .project_handed_over(&w.east_pm, "P-2", w.org.east_pd, w.customer, "2026-03-02")
        .await;

    let started = clock(&app, &w.east_pm, &before, "ledger.fill").await;
    assert_eq!(started["policy_version"], 1);
    assert_eq!(started["due_at"], "2026-03-05T16:00:00Z");
    assert_eq!(before["ledger"]["due_at"], "2026-03-05T16:00:00Z");
    let new = clock(&app, &w.east_pm, &after, "ledger.fill").await;
    assert_eq!(new["policy_version"], 2);
    assert_eq!(new["due_at"], "2026-03-07T16:00:00Z");
    assert_eq!(after["ledger"]["due_at"], "2026-03-07T16:00:00Z");

    // a corrected handover date moves the clock under the version it started with
    let r = app
        .patch(
            &format!("/api/v1/projects/{}", before["id"]),
            &w.east_pm,
            json!({"handover_on": "2026-03-01"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["due_at"], "2026-03-04T16:00:00Z");
    let moved = clock(&app, &w.east_pm, &before, "ledger.fill").await;
    assert_eq!(moved["policy_version"], 1);
    assert_eq!(moved["started_at"], "2026-03-01T16:00:00Z");
    assert_eq!(moved["due_at"], "2026-03-04T16:00:00Z");
}

// ---- due times -------------------------------------------------------------

#[actix_rt::test]
async fn hours_policy_counts_wall_clock_hours_through_a_weekend() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    app.clock.set(at(2026, 3, 6, 2, 0, 0));
    // handed over Friday 6 March: the clock starts at midnight and runs 72 hours
    let p = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-06")
        .await;
    let d = clock(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(d["started_at"], "2026-03-06T16:00:00Z");
    assert_eq!(d["due_at"], "2026-03-09T16:00:00Z"); // end of Monday, Shanghai
    assert_eq!(d["status"], "pending");
    assert_eq!(d["assignee_role"], "project_manager");
    assert_eq!(d["scope_org_unit_id"], w.org.east_pd);
    assert_eq!(d["link"], format!("/api/v1/projects/{}", p["id"]));
    assert_eq!(p["ledger"]["due_at"], d["due_at"]);
}

#[actix_rt::test]
async fn working_days_policy_skips_a_holiday_week_and_counts_a_make_up_saturday() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    // National Day 2026: Thursday 1 – Wednesday 7 October off (the weekend
    // of 3 and 4 October is off anyway), Saturday 10 worked
    for day in [1, 2, 5, 6, 7] {
        app.put(
            &format!("/api/v1/calendar/days/2026-10-{day:02}"),
            &w.admin,
            json!({"kind": "holiday", "name": "国庆节 National Day"}),
        )
        .await
        .expect(200);
    }
    let r = app
        .put(
            "/api/v1/calendar/days/2026-10-10",
            &w.admin,
            json!({"kind": "workday", "name": "国庆节调休 make-up day"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["working"], true);
    let r = app
        .get("/api/v1/calendar/days/2026-10-05", &w.east_pm)
        .await;
    assert_eq!(
        (r.body["working"].clone(), r.body["kind"].clone()),
        (json!(false), json!("holiday"))
    );
    let r = app
        .get("/api/v1/calendar/days/2026-10-11", &w.east_pm)
        .await;
    assert_eq!(
        (r.body["working"].clone(), r.body["kind"].clone()),
        (json!(false), Value::Null)
    );
    let r = app
        .get(
            "/api/v1/calendar/days?from=2026-10-01&to=2026-10-31",
            &w.east_pm,
        )
        .await;
    // five holidays and the make-up day
    assert_eq!(r.body.as_array().unwrap().len(), 6);

    set_policy(
        &app,
        &w.admin,
        "ledger.fill",
        json!({"duration": 3, "unit": "working_days", "actor_role": "project_manager", "escalation_roles": ["branch_engineer"]}),
    )
    .await;
    app.clock.set(at(2026, 9, 30, 2, 0, 0));
    // handed over Wednesday 30 September: Thu 8, Fri 9 and the make-up Saturday 10
    let p = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-09-30")
        .await;
    let d = clock(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(d["due_at"], "2026-10-10T16:00:00Z");
    assert_eq!(d["policy_version"], 2);

    // without the make-up day, Monday 12 October is the third working day,
    // for new clocks and for the one already running
    app.delete("/api/v1/calendar/days/2026-10-10", &w.admin)
        .await
        .expect(204);
    let q = app
        .project_handed_over(&w.east_pm, "P-2", w.org.east_pd, w.customer, "2026-09-30")
        .await;
    assert_eq!(
        clock(&app, &w.east_pm, &q, "ledger.fill").await["due_at"],
        "2026-10-12T16:00:00Z"
    );
    assert_eq!(
        clock(&app, &w.east_pm, &p, "ledger.fill").await["due_at"],
        "2026-10-12T16:00:00Z"
    );
}

#[actix_rt::test]
async fn calendar_is_written_by_admins_only_and_checks_its_input() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    app.put(
        "/api/v1/calendar/days/2026-10-01",
        &w.east_leader,
        json!({"kind": "holiday", "name": "National Day"}),
    )
    .await
    .expect_problem(403, "forbidden");
    let r = app
        .put(
            "/api/v1/calendar/days/2026-10-01",
            &w.admin,
            json!({"kind": "vacation", "name": "National Day"}),
        )
        .await;
    assert!(r.status == 400 || r.status == 422);
    assert_eq!(r.fields(), vec!["kind"]);
    let r = app
        .put(
            "/api/v1/calendar/days/2026-10-01",
            &w.admin,
            json!({"kind": "holiday", "name": ""}),
        )
        .await;
    assert_eq!(r.fields(), vec!["name"]);
    let r = app
        .put(
            "/api/v1/calendar/days/2026-13-01",
            &w.admin,
            json!({"kind": "holiday", "name": "x"}),
        )
        .await;
    assert!(r.status == 400 || r.status == 404, "{}", r.status);
    // marks that change nothing: a holiday on a Saturday, a workday on a Monday
    let r = app
        .put(
            "/api/v1/calendar/days/2026-10-03",
            &w.admin,
            json!({"kind": "holiday", "name": "National Day"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["kind"]);
    let r = app
        .put(
            "/api/v1/calendar/days/2026-10-12",
            &w.admin,
            json!({"kind": "workday", "name": "make-up day"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["kind"]);
    app.put(
        "/api/v1/calendar/days/2026-10-11",
        &w.admin,
        json!({"kind": "workday", "name": "make-up day"}),
    )
    .await
    .expect(200);
    app.delete("/api/v1/calendar/days/2026-10-01", &w.admin)
        .await
        .expect_problem(404, "not_found");
    app.get(
        "/api/v1/calendar/days?from=2026-10-02&to=2026-10-01",
        &w.admin,
    )
    .await
    .expect(422);
    // a plain Saturday is not worked; a plain Monday is
    let r = app
        .get("/api/v1/calendar/days/2026-10-17", &w.east_pm)
        .await;
    assert_eq!(r.body["working"], false);
    let r = app
        .get("/api/v1/calendar/days/2026-10-19", &w.east_pm)
        .await;
    assert_eq!(r.body["working"], true);
}

// ---- settling: met, refused, met late ------------------------------------

/// The same rule under an hours policy and under a working-days policy:
/// settled a second before the due time is `met`; a second after, refused
/// without a reason and `met_late` with one.
async fn settle_around_the_due_time(unit: &str, duration: i32, due: DateTime<Utc>) {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    set_policy(
        &app,
        &w.admin,
        "ledger.fill",
        json!({"duration": duration, "unit": unit, "actor_role": "project_manager", "escalation_roles": ["branch_engineer"]}),
    )
    .await;
    app.clock.set(at(2026, 3, 5, 2, 0, 0));
    // handed over Thursday 5 March
    let on_time = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-05")
        .await;
    let late = app
        .project_handed_over(&w.east_pm, "P-2", w.org.east_pd, w.customer, "2026-03-05")
        .await;
    for p in [&on_time, &late] {
        app.complete_contacts(&w.east_pm, p["id"].as_i64().unwrap())
            .await;
    }
    let due_text = due.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        clock(&app, &w.east_pm, &on_time, "ledger.fill").await["due_at"],
        due_text
    );

    app.clock.set(due - Duration::seconds(1));
    app.post(
        &format!("/api/v1/projects/{}/ledger/submission", on_time["id"]),
        &w.east_pm,
        json!({}),
    )
    .await
    .expect(200);
    let d = clock(&app, &w.east_pm, &on_time, "ledger.fill").await;
    assert_eq!(d["status"], "met");
    assert_eq!(d["late_reason"], Value::Null);
    assert_eq!(
        d["met_at"],
        (due - Duration::seconds(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );

    app.clock.set(due + Duration::seconds(1));
    let path = format!("/api/v1/projects/{}/ledger/submission", late["id"]);
    let r = app.post(&path, &w.east_pm, json!({})).await;
    r.expect_problem(422, "deadline_passed");
    assert_eq!(r.fields(), vec!["late_reason"]);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("ledger.fill"), "{detail}");
    assert!(detail.contains(&due_text), "{detail}");
    assert!(detail.contains("late_reason"), "{detail}");
    // nothing happened: still a draft, the clock still open
    let r = app
        .get(&format!("/api/v1/projects/{}", late["id"]), &w.east_pm)
        .await;
    assert_eq!(r.body["ledger"]["status"], "draft");
    assert_eq!(
        clock(&app, &w.east_pm, &late, "ledger.fill").await["status"],
        "pending"
    );
    // a blank reason is no reason
    app.post(&path, &w.east_pm, json!({"late_reason": "   "}))
        .await
        .expect_problem(422, "deadline_passed");

    let r = app
        .post(
            &path,
            &w.east_pm,
            json!({"late_reason": "the owner's property manager was away"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "submitted");
    assert_eq!(r.body["ledger"]["submitted_late"], true);
    let d = clock(&app, &w.east_pm, &late, "ledger.fill").await;
    assert_eq!(d["status"], "met_late");
    assert_eq!(d["late_reason"], "the owner's property manager was away");
    assert!(d["settled_by"].is_i64());
}

#[actix_rt::test]
async fn hours_policy_met_in_time_refused_late_without_reason_met_late_with_one() {
    // 72 hours from midnight after Thursday's handover: end of Sunday 8 March
    settle_around_the_due_time("hours", 72, at(2026, 3, 8, 16, 0, 0)).await;
}

#[actix_rt::test]
async fn working_days_policy_met_in_time_refused_late_without_reason_met_late_with_one() {
    // 2 working days from midnight after Thursday's handover: Friday and Monday
    settle_around_the_due_time("working_days", 2, at(2026, 3, 9, 16, 0, 0)).await;
}

#[actix_rt::test]
async fn ledger_review_runs_on_the_engine_and_a_return_starts_a_fresh_fill_clock() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let p = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    let id = p["id"].as_i64().unwrap();
    app.complete_contacts(&w.east_pm, id).await;
    app.clock.set(at(2026, 3, 3, 2, 0, 0));
    app.post(
        &format!("/api/v1/projects/{id}/ledger/submission"),
        &w.east_pm,
        json!({}),
    )
    .await
    .expect(200);
    let review = clock(&app, &w.east_engineer, &p, "ledger.review").await;
    assert_eq!(review["status"], "pending");
    assert_eq!(review["assignee_role"], "branch_engineer");
    assert_eq!(review["due_at"], "2026-03-04T02:00:00Z");

    // returned two days later: late, so the engineer says why
    app.clock.set(at(2026, 3, 5, 2, 0, 0));
    let path = format!("/api/v1/projects/{id}/ledger/review");
    app.post(
        &path,
        &w.east_engineer,
        json!({"decision": "return", "comment": "phone numbers missing"}),
    )
    .await
    .expect_problem(422, "deadline_passed");
    let r = app
        .post(
            &path,
            &w.east_engineer,
            json!({"decision": "return", "comment": "phone numbers missing", "late_reason": "on site all week"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "returned");
    assert_eq!(r.body["ledger"]["due_at"], "2026-03-08T02:00:00Z");
    let review = clock(&app, &w.east_engineer, &p, "ledger.review").await;
    assert_eq!(review["status"], "met_late");
    let fills = clocks(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(fills.len(), 2);
    assert_eq!(fills[0]["status"], "met");
    assert_eq!(fills[1]["status"], "pending");
    assert_eq!(fills[1]["due_at"], "2026-03-08T02:00:00Z");

    // resubmitted in time, approved in time
    app.post(
        &format!("/api/v1/projects/{id}/ledger/submission"),
        &w.east_pm,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&path, &w.east_engineer, json!({"decision": "approve"}))
        .await
        .expect(200);
    let fills = clocks(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(fills[1]["status"], "met");
    let reviews = clocks(&app, &w.east_pm, &p, "ledger.review").await;
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[1]["status"], "met");
    // the approval leaves the project manager one task: the first visit plan
    let left: Vec<Value> = tasks(&app, &w.east_pm).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["rule"], "visit_plan.compile.project");
    assert!(tasks(&app, &w.east_engineer).await.is_empty());
}

#[actix_rt::test]
async fn a_renamed_project_shows_its_new_name_on_the_task_lists() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let p = app
        .project_handed_over(&w.east_pm, "P-OLD", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    let id = p["id"].as_i64().unwrap();
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &w.east_pm,
        json!({"code": "P-NEW", "name": "Binjiang Garden"}),
    )
    .await
    .expect(200);
    let t = tasks(&app, &w.east_pm).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["title"], "Fill the ledger of P-NEW Binjiang Garden");

    // the review clock, started after submission, follows a later rename too
    app.complete_contacts(&w.east_pm, id).await;
    app.post(
        &format!("/api/v1/projects/{id}/ledger/submission"),
        &w.east_pm,
        json!({}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &w.east_pm,
        json!({"name": "Binjiang Garden I"}),
    )
    .await
    .expect(200);
    let t = tasks(&app, &w.east_engineer).await;
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0]["title"],
        "Review the ledger of P-NEW Binjiang Garden I"
    );
    // a settled clock keeps the title it was settled under
    let fill = clock(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(fill["status"], "met");
    assert_eq!(fill["title"], "Fill the ledger of P-NEW Binjiang Garden");
}

// ---- the sweeper -----------------------------------------------------------

#[actix_rt::test]
async fn sweeper_marks_passed_deadlines_overdue_and_escalates_them_to_the_policy_roles() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let p = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    // due 2026-03-05T16:00Z: not yet at the due time itself
    app.clock.set(at(2026, 3, 5, 16, 0, 0));
    assert_eq!(sweep_now(&app), 0);
    assert!(tasks(&app, &w.east_engineer).await.is_empty());

    app.clock.set(at(2026, 3, 5, 16, 0, 1));
    assert_eq!(sweep_now(&app), 1);
    let d = clock(&app, &w.east_pm, &p, "ledger.fill").await;
    assert_eq!(d["status"], "overdue");
    assert_eq!(d["escalation_level"], 1);
    assert_eq!(d["escalated_at"], "2026-03-05T16:00:01Z");
    // the ledger rule escalates to the branch engineering department
    let t = tasks(&app, &w.east_engineer).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["reason"], "escalated");
    assert_eq!(t[0]["overdue"], true);
    assert_eq!(t[0]["status"], "overdue");
    assert!(tasks(&app, &w.east_leader).await.is_empty());
    assert!(tasks(&app, &w.north_leader).await.is_empty());

    let r = app
        .get(
            &format!(
                "/api/v1/events?subject_type=deadline&subject_id={}",
                d["id"]
            ),
            &w.admin,
        )
        .await;
    r.expect(200);
    let actions: Vec<&str> = r.item_strs("action");
    assert!(actions.contains(&"deadline.overdue"), "{actions:?}");
    assert!(actions.contains(&"deadline.escalated"), "{actions:?}");

    // a second sweep finds nothing more; the step can still be done, with a reason
    assert_eq!(sweep_now(&app), 0);
    app.complete_contacts(&w.east_pm, p["id"].as_i64().unwrap())
        .await;
    let path = format!("/api/v1/projects/{}/ledger/submission", p["id"]);
    app.post(&path, &w.east_pm, json!({}))
        .await
        .expect_problem(422, "deadline_passed");
    app.post(
        &path,
        &w.east_pm,
        json!({"late_reason": "drawings came late"}),
    )
    .await
    .expect(200);
    assert_eq!(
        clock(&app, &w.east_pm, &p, "ledger.fill").await["status"],
        "met_late"
    );
    let t = tasks(&app, &w.east_engineer).await;
    assert_eq!(t.len(), 1, "only the review is left: {t:?}");
    assert_eq!(t[0]["rule"], "ledger.review");
}

/// Complaint ids for clocks of the complaint rules (the complaint workflow
/// comes in its own issue).
async fn complaint_clocks<S, B>(app: &TestApp<S>, w: &World, count: usize) -> Vec<i64>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let p = app
        .project(&w.east_pm, "P-C", w.org.east_pd, w.customer)
        .await;
    let project = p["id"].as_i64().unwrap();
    app.seed_complaints(w.customer, project, count, app.clock.now_naive())
        .await;
    let config = app.state.config.clone();
    let now = app.clock.now_naive();
    let department = w.org.east_pd;
    app.state
        .db(move |conn| {
            use aftercare::db::schema::complaints;
            use diesel::prelude::*;
            let ids: Vec<i64> = complaints::table
                .select(complaints::id)
                .order(complaints::id)
                .load(conn)?;
            for id in &ids {
                deadlines::start(
                    conn,
                    &config,
                    now,
                    NewDeadline {
                        rule: aftercare::models::deadline::Rule::ComplaintJudge,
                        subject_type: "complaint",
                        subject_id: *id,
                        title: format!("Judge complaint {id}"),
                        link: format!("/api/v1/complaints/{id}"),
                        started_at: now,
                        assignee_user_id: None,
                        scope_org_unit_id: department,
                        assignee_role: None,
                        target: None,
                        due_at: None,
                        due_end_of_day: None,
                    },
                )?;
            }
            Ok(ids)
        })
        .await
        .unwrap()
}

#[actix_rt::test]
async fn two_racing_sweeps_escalate_each_deadline_exactly_once() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let ids = complaint_clocks(&app, &w, 120).await;
    app.clock
        .advance(Duration::hours(48) + Duration::seconds(1));
    let now = app.clock.now_naive();

    let barrier = std::sync::Barrier::new(2);
    let pool = app.state.pool.clone();
    let (a, b) = std::thread::scope(|s| {
        let sweeper = || {
            let mut conn = pool.get().unwrap();
            barrier.wait();
            deadlines::sweep(&mut conn, now).unwrap().overdue
        };
        let one = s.spawn(sweeper);
        let two = s.spawn(sweeper);
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_eq!(
        a + b,
        ids.len(),
        "each deadline claimed by one sweep ({a} + {b})"
    );

    let counts = app
        .state
        .db(|conn| {
            use aftercare::db::schema::{deadline_escalations, deadlines, events};
            use diesel::dsl::count_star;
            use diesel::prelude::*;
            let overdue: i64 = deadlines::table
                .filter(deadlines::status.eq("overdue"))
                .filter(deadlines::escalation_level.eq(1))
                .select(count_star())
                .first(conn)?;
            let escalations: Vec<(String, i64)> = deadline_escalations::table
                .group_by(deadline_escalations::role)
                .select((deadline_escalations::role, count_star()))
                .order(deadline_escalations::role)
                .load(conn)?;
            let escalated_events: i64 = events::table
                .filter(events::action.eq("deadline.escalated"))
                .select(count_star())
                .first(conn)?;
            let overdue_events: i64 = events::table
                .filter(events::action.eq("deadline.overdue"))
                .select(count_star())
                .first(conn)?;
            Ok((overdue, escalations, escalated_events, overdue_events))
        })
        .await
        .unwrap();
    let n = ids.len() as i64;
    assert_eq!(counts.0, n);
    // liability judgment escalates to the branch leader and the group engineer
    assert_eq!(
        counts.1,
        vec![
            ("branch_leader".to_string(), n),
            ("group_engineer".to_string(), n)
        ]
    );
    assert_eq!((counts.2, counts.3), (n, n));
    assert_eq!(sweep_now(&app), 0);

    // and they are on the escalation targets' lists, in their scope only
    assert_eq!(tasks(&app, &w.east_leader).await.len(), ids.len());
    assert_eq!(tasks(&app, &w.group_engineer).await.len(), ids.len());
    assert!(tasks(&app, &w.north_leader)
        .await
        .iter()
        .all(|t| t["rule"] != "complaint.judge"));
    assert!(tasks(&app, &w.north_leader).await.is_empty());
}

#[actix_rt::test]
async fn the_sweep_command_runs_once_for_cron() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    // handed over in March; the command runs on the real clock, months later
    let p = app
        .project_handed_over(&w.east_pm, "P-1", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    let url = match &app.state.config.database {
        aftercare::db::DbTarget::Postgres(url) => url.clone(),
        aftercare::db::DbTarget::Sqlite(path) => path.display().to_string(),
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("sweep")
        .env("DATABASE_URL", &url)
        .env("AFTERCARE_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 deadline(s) became overdue"), "{stdout}");
    assert_eq!(
        clock(&app, &w.east_pm, &p, "ledger.fill").await["status"],
        "overdue"
    );
}

// ---- task lists ------------------------------------------------------------

#[actix_rt::test]
async fn task_list_shows_the_callers_open_deadlines_soonest_first_page_by_page() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    // created out of order: due 3 March, 5 March, 1 March (ends of day, Shanghai)
    let mid = app
        .project_handed_over(&w.east_pm, "P-MID", w.org.east_pd, w.customer, "2026-02-28")
        .await;
    let last = app
        .project_handed_over(
            &w.east_pm,
            "P-LAST",
            w.org.east_pd,
            w.customer,
            "2026-03-02",
        )
        .await;
    let first = app
        .project_handed_over(
            &w.east_pm,
            "P-FIRST",
            w.org.east_pd,
            w.customer,
            "2026-02-26",
        )
        .await;

    let t = tasks(&app, &w.east_pm).await;
    let codes: Vec<&str> = t.iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        vec![
            "Fill the ledger of P-FIRST Project P-FIRST",
            "Fill the ledger of P-MID Project P-MID",
            "Fill the ledger of P-LAST Project P-LAST"
        ]
    );
    assert_eq!(t[0]["link"], format!("/api/v1/projects/{}", first["id"]));
    assert_eq!(t[0]["subject_type"], "project");
    assert_eq!(t[0]["subject_id"], first["id"]);
    assert_eq!(t[0]["reason"], "role");
    assert_eq!(t[0]["due_at"], "2026-03-01T16:00:00Z");
    // 2026-03-02 01:00Z: the first is already past due, before any sweep
    assert_eq!(t[0]["overdue"], true);
    assert_eq!(t[0]["status"], "pending");
    assert_eq!(t[1]["overdue"], false);
    let _ = (mid, last);

    // two at a time
    let r = app.get("/api/v1/me/tasks?limit=2", &w.east_pm).await;
    r.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = app
        .get(
            &format!("/api/v1/me/tasks?limit=2&cursor={cursor}"),
            &w.east_pm,
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.body["items"][0]["title"],
        "Fill the ledger of P-LAST Project P-LAST"
    );
    assert_eq!(r.body["next_cursor"], Value::Null);
    app.get("/api/v1/me/tasks?cursor=garbage", &w.east_pm)
        .await
        .expect_problem(400, "invalid_query_parameter");
    app.get("/api/v1/me/tasks?limit=0", &w.east_pm)
        .await
        .expect(422);

    // people with another role or in another branch see none of it
    for token in [&w.north_pm, &w.east_staff, &w.east_leader, &w.north_leader] {
        assert!(tasks(&app, token).await.is_empty());
    }
    // the escalation target sees them once they are swept overdue
    assert!(tasks(&app, &w.east_engineer).await.is_empty());
    app.clock.set(at(2026, 3, 4, 0, 0, 0));
    assert_eq!(sweep_now(&app), 2);
    let t = tasks(&app, &w.east_engineer).await;
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t["reason"] == "escalated"));
    assert_eq!(t[0]["title"], "Fill the ledger of P-FIRST Project P-FIRST");
}

#[actix_rt::test]
async fn a_deadline_assigned_by_name_is_on_that_persons_list_only() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let p = app
        .project(&w.east_pm, "P-1", w.org.east_pd, w.customer)
        .await;
    let (config, now, visitor, dept, project) = (
        app.state.config.clone(),
        app.clock.now_naive(),
        w.east_staff_id,
        w.org.east_pd,
        p["id"].as_i64().unwrap(),
    );
    app.state
        .db(move |conn| {
            deadlines::start(
                conn,
                &config,
                now,
                NewDeadline {
                    rule: aftercare::models::deadline::Rule::VisitRecord,
                    subject_type: "visit",
                    subject_id: project,
                    title: "Record the visit to P-1".to_string(),
                    link: format!("/api/v1/projects/{project}"),
                    started_at: now,
                    assignee_user_id: Some(visitor),
                    scope_org_unit_id: dept,
                    assignee_role: None,
                    target: None,
                    due_at: None,
                    due_end_of_day: None,
                },
            )
        })
        .await
        .unwrap();
    let t = tasks(&app, &w.east_staff).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["reason"], "assigned");
    assert_eq!(t[0]["due_at"], "2026-03-03T01:00:00Z");
    assert!(tasks(&app, &w.other_staff).await.is_empty());
    let r = app
        .get(
            &format!("/api/v1/deadlines?assignee={}", w.east_staff_id),
            &w.east_pm,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

// ---- reading deadlines ---------------------------------------------------------

#[actix_rt::test]
async fn deadlines_are_read_within_the_callers_scope_and_filter() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let east = app
        .project_handed_over(&w.east_pm, "P-E", w.org.east_pd, w.customer, "2026-02-26")
        .await;
    app.project_handed_over(&w.east_pm, "P-E2", w.org.east_pd, w.customer, "2026-03-02")
        .await;
    let d = clock(&app, &w.east_pm, &east, "ledger.fill").await;
    let id = d["id"].as_i64().unwrap();

    app.get(&format!("/api/v1/deadlines/{id}"), &w.east_leader)
        .await
        .expect(200);
    app.get(&format!("/api/v1/deadlines/{id}"), &w.group_engineer)
        .await
        .expect(200);
    app.get(&format!("/api/v1/deadlines/{id}"), &w.north_pm)
        .await
        .expect_problem(404, "not_found");
    let r = app.get("/api/v1/deadlines", &w.north_leader).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());

    let count = |r: &Resp| r.body["items"].as_array().unwrap().len();
    let r = app
        .get("/api/v1/deadlines?rule=ledger.fill", &w.east_pm)
        .await;
    assert_eq!(count(&r), 2);
    // the first is past due at the start clock (2026-03-02 01:00Z), unswept
    let r = app.get("/api/v1/deadlines?overdue=true", &w.east_pm).await;
    assert_eq!(count(&r), 1);
    assert_eq!(r.body["items"][0]["id"], id);
    let r = app.get("/api/v1/deadlines?overdue=false", &w.east_pm).await;
    assert_eq!(count(&r), 1);
    let r = app
        .get("/api/v1/deadlines?status=pending", &w.east_pm)
        .await;
    assert_eq!(count(&r), 2);
    let r = app.get("/api/v1/deadlines?status=met", &w.east_pm).await;
    assert_eq!(count(&r), 0);
    let r = app
        .get(
            "/api/v1/deadlines?due_before=2026-03-02T00:00:00Z",
            &w.east_pm,
        )
        .await;
    assert_eq!(count(&r), 1);
    app.get("/api/v1/deadlines?status=late", &w.east_pm)
        .await
        .expect(400);
    app.get("/api/v1/deadlines?due_before=yesterday", &w.east_pm)
        .await
        .expect(400);
}

/// Starts a complaint-judging clock for each complaint of `ids` at the
/// matching start time, for the given person or role.
async fn judge_clocks<S, B>(
    app: &TestApp<S>,
    w: &World,
    ids: Vec<i64>,
    started: Vec<chrono::NaiveDateTime>,
    assignee_user_id: Option<i64>,
    assignee_role: Option<aftercare::models::user::Role>,
) -> Vec<i64>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let config = app.state.config.clone();
    let department = w.org.east_pd;
    app.state
        .db(move |conn| {
            let mut out = vec![];
            for (id, at) in ids.into_iter().zip(started) {
                let d = deadlines::start(
                    conn,
                    &config,
                    at,
                    NewDeadline {
                        rule: aftercare::models::deadline::Rule::ComplaintJudge,
                        subject_type: "complaint",
                        subject_id: id,
                        title: format!("Judge complaint {id}"),
                        link: format!("/api/v1/complaints/{id}"),
                        started_at: at,
                        assignee_user_id,
                        scope_org_unit_id: department,
                        assignee_role,
                        target: None,
                        due_at: None,
                        due_end_of_day: None,
                    },
                )?;
                out.push(d.id);
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// The complaint ids seeded for a fresh project, oldest first.
async fn seeded_complaints<S, B>(app: &TestApp<S>, w: &World, code: &str, count: usize) -> Vec<i64>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let p = app
        .project(&w.east_pm, code, w.org.east_pd, w.customer)
        .await;
    let project = p["id"].as_i64().unwrap();
    app.seed_complaints(w.customer, project, count, app.clock.now_naive())
        .await;
    app.state
        .db(move |conn| {
            use aftercare::db::schema::complaints;
            use diesel::prelude::*;
            Ok(complaints::table
                .filter(complaints::project_id.eq(project))
                .select(complaints::id)
                .order(complaints::id)
                .load::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// Every page of a list, following `next_cursor`; the ids in order.
async fn all_pages<S, B>(app: &TestApp<S>, token: &str, first: &str, id_field: &str) -> Vec<i64>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut ids = vec![];
    let mut url = first.to_string();
    loop {
        let r = app.get(&url, token).await;
        r.expect(200);
        ids.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i[id_field].as_i64().unwrap()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{first}&cursor={c}"),
            None => return ids,
        }
    }
}

#[actix_rt::test]
async fn overdue_list_shows_the_most_overdue_first_and_pages_by_due_time() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let complaints = seeded_complaints(&app, &w, "P-OD", 5).await;
    // started newest id first, an hour apart: due order is the reverse of id order
    let t0 = app.clock.now_naive();
    let starts: Vec<_> = (0..5).rev().map(|h| t0 + Duration::hours(h)).collect();
    let ids = judge_clocks(&app, &w, complaints, starts, None, None).await;
    // ids[0] started last, so falls due last, whatever the policy's length
    let due_of = |i: usize| ids[4 - i];
    let r = app
        .get(&format!("/api/v1/deadlines/{}", ids[0]), &w.east_pm)
        .await;
    let last_due: DateTime<Utc> = r.body["due_at"].as_str().unwrap().parse().unwrap();
    let url = "/api/v1/deadlines?overdue=true&rule=complaint.judge&limit=2";

    // at the last one's due time itself it is not yet overdue
    app.clock.set(last_due);
    let listed = all_pages(&app, &w.east_leader, url, "id").await;
    assert_eq!(listed, vec![due_of(0), due_of(1), due_of(2), due_of(3)]);
    // a second later it is, and it is listed last (least overdue)
    app.clock.advance(Duration::seconds(1));
    let expected = vec![due_of(0), due_of(1), due_of(2), due_of(3), due_of(4)];
    // a branch (wide scope) and a project department (narrow) read the same list
    assert_eq!(all_pages(&app, &w.east_leader, url, "id").await, expected);
    assert_eq!(all_pages(&app, &w.east_pm, url, "id").await, expected);
    assert!(all_pages(&app, &w.north_leader, url, "id").await.is_empty());
    // every cursor is the id of a page's last row: the overdue list goes on
    // after that row in due order, whichever list named it
    let r = app.get(url, &w.east_leader).await;
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    assert!(cursor.chars().all(|c| c.is_ascii_digit()), "{cursor}");
    let rest = app
        .get(&format!("{url}&cursor={cursor}"), &w.east_leader)
        .await;
    rest.expect(200);
    assert_eq!(rest.item_ids(), expected[2..4].to_vec());
    // a text that is no cursor is refused, naming it
    app.get(&format!("{url}&cursor=abc"), &w.east_leader)
        .await
        .expect_problem(400, "invalid_query_parameter");
}

#[actix_rt::test]
async fn task_list_merges_named_role_and_escalated_tasks_in_due_order_once_each() {
    let app = spawn_long_tokens().await;
    let w = world(&app).await;
    let me = app.get("/api/v1/me", &w.east_engineer).await;
    let engineer = me.body["user"]["id"].as_i64().unwrap();
    let complaints = seeded_complaints(&app, &w, "P-TASK", 6).await;
    let t0 = app.clock.now_naive();
    let at = |h: i64| t0 + Duration::hours(h);
    use aftercare::models::user::Role;
    // named: due at +5 h and +2 h; the role's: +4 h and +1 h; a project
    // manager's that gets escalated to branch engineers: +3 h; and one named
    // for the engineer and escalated too: +0 h, listed once, as named
    let named = judge_clocks(
        &app,
        &w,
        complaints[0..2].to_vec(),
        vec![at(5), at(2)],
        Some(engineer),
        None,
    )
    .await;
    let role = judge_clocks(
        &app,
        &w,
        complaints[2..4].to_vec(),
        vec![at(4), at(1)],
        None,
        Some(Role::BranchEngineer),
    )
    .await;
    let escalated = judge_clocks(
        &app,
        &w,
        complaints[4..5].to_vec(),
        vec![at(3)],
        None,
        Some(Role::ProjectManager),
    )
    .await;
    let both = judge_clocks(
        &app,
        &w,
        complaints[5..6].to_vec(),
        vec![at(0)],
        Some(engineer),
        None,
    )
    .await;
    for id in [escalated[0], both[0]] {
        app.state
            .db(move |conn| {
                use aftercare::db::schema::{deadline_escalations, deadlines as d};
                use diesel::prelude::*;
                diesel::update(d::table.find(id))
                    .set(d::escalation_level.eq(1))
                    .execute(conn)?;
                diesel::insert_into(deadline_escalations::table)
                    .values((
                        deadline_escalations::deadline_id.eq(id),
                        deadline_escalations::level.eq(1),
                        deadline_escalations::role.eq("branch_engineer"),
                        deadline_escalations::at.eq(chrono::Utc::now().naive_utc()),
                    ))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
    }
    let expected = vec![both[0], role[1], named[1], escalated[0], role[0], named[0]];
    // one at a time and all at once give the same list
    assert_eq!(
        all_pages(&app, &w.east_engineer, "/api/v1/me/tasks?limit=1", "id").await,
        expected
    );
    let t = tasks(&app, &w.east_engineer).await;
    let reasons: Vec<&str> = t.iter().map(|t| t["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        vec![
            "assigned",
            "role",
            "assigned",
            "escalated",
            "role",
            "assigned"
        ]
    );
    // the project manager sees only the one left to their role
    let pm: Vec<i64> = tasks(&app, &w.east_pm)
        .await
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(pm.contains(&escalated[0]) && !pm.contains(&role[0]) && !pm.contains(&named[0]));
}
