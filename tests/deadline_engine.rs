//! The deadline engine as the workflows to come use it: typed rules, a
//! chosen target within the policy's bounds, a role per start, pause and
//! resume, the due-soon warning, calendar changes that re-plan working-day
//! clocks, and a restarted clock that escalates afresh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use aftercare::error::AppResult;
use aftercare::kit::deadlines::{self, NewDeadline, Target};
use aftercare::models::deadline::{Deadline, Rule};
use aftercare::models::user::Role;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap()
}

async fn long_lived() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 400 * 86_400).await
}

/// Starts a clock directly through the engine, as a workflow does.
async fn start_clock<S, B>(
    app: &TestApp<S>,
    rule: Rule,
    unit: i64,
    role: Option<Role>,
    target: Option<i32>,
) -> AppResult<Deadline>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let config = app.state.config.clone();
    let now = app.clock.now_naive();
    app.state
        .db(move |conn| {
            deadlines::start(
                conn,
                &config,
                now,
                NewDeadline {
                    rule,
                    subject_type: rule.subject().as_str(),
                    // one subject per unit: a rule runs once per subject and start
                    subject_id: unit,
                    title: format!("{rule} of subject {unit}"),
                    link: format!("/api/v1/org-units/{unit}"),
                    started_at: now,
                    assignee_user_id: None,
                    scope_org_unit_id: unit,
                    assignee_role: role,
                    target: target.map(|duration| Target {
                        duration,
                        field: "target_working_days",
                    }),
                    due_at: None,
                    due_end_of_day: None,
                },
            )
        })
        .await
}

fn utc(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sweep<S>(app: &TestApp<S>) -> deadlines::SweepReport {
    let now = app.clock.now_naive();
    let mut conn = app.state.pool.get().unwrap();
    deadlines::sweep(&mut conn, now).unwrap()
}

async fn fill_clock<S, B>(app: &TestApp<S>, token: &str, project: &Value) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .get(
            &format!(
                "/api/v1/deadlines?subject_type=project&subject_id={}&rule=ledger.fill",
                project["id"]
            ),
            token,
        )
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    items.last().unwrap().clone()
}

async fn events_of<S, B>(app: &TestApp<S>, admin: &str, action: &str, deadline: &Value) -> usize
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.get(
        &format!(
            "/api/v1/events?subject_type=deadline&subject_id={}&action={action}&limit=200",
            deadline["id"]
        ),
        admin,
    )
    .await
    .item_ids()
    .len()
}

#[actix_rt::test]
async fn every_rule_has_a_seeded_policy() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app.get("/api/v1/deadline-policies", &admin).await;
    r.expect(200);
    let mut seeded: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_string())
        .collect();
    seeded.sort();
    let mut rules: Vec<String> = Rule::ALL.iter().map(|r| r.to_string()).collect();
    rules.sort();
    assert_eq!(seeded, rules);
    // and the spec lists them as an enum wherever a rule appears
    let spec =
        serde_json::to_value(<aftercare::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let listed: Vec<&str> = spec["components"]["schemas"]["Rule"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), Rule::ALL.len());
    for view in ["DeadlineView", "TaskView", "PolicyView"] {
        assert_eq!(
            spec["components"]["schemas"][view]["properties"]["rule"]["$ref"],
            "#/components/schemas/Rule",
            "{view}"
        );
    }
}

#[actix_rt::test]
async fn a_chosen_target_inside_the_policy_bounds_sets_the_due_time_and_outside_is_refused() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    // Monday 2 March 2026, 09:00 Shanghai; a large repair takes 2–5 working days (002)
    let two = start_clock(&app, Rule::RepairCompleteLarge, org.east_pd, None, Some(2))
        .await
        .unwrap();
    assert_eq!(utc(two.due_at), "2026-03-04T16:00:00Z"); // end of Wednesday
    let five = start_clock(&app, Rule::RepairCompleteLarge, org.east_pd, None, Some(5))
        .await
        .unwrap();
    assert_eq!(utc(five.due_at), "2026-03-09T16:00:00Z"); // end of next Monday
    let default = start_clock(&app, Rule::RepairCompleteLarge, org.east_pd, None, None)
        .await
        .unwrap();
    assert_eq!(default.due_at, five.due_at);
    for outside in [1, 6] {
        let err = start_clock(
            &app,
            Rule::RepairCompleteLarge,
            org.east_pd,
            None,
            Some(outside),
        )
        .await
        .unwrap_err();
        let problem = err.problem();
        assert_eq!(
            (problem.status, problem.code.as_str()),
            (422, "target_out_of_bounds")
        );
        assert_eq!(problem.errors[0].field, "target_working_days");
        assert!(
            problem.detail.contains("between 2 and 5"),
            "{}",
            problem.detail
        );
    }
}

#[actix_rt::test]
async fn one_rule_is_done_by_the_role_each_start_names() {
    let app = long_lived().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.eng", "branch_engineer", Some(org.east))
        .await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let engineer = app.token("east.eng", PASSWORD).await;
    let pm = app.token("east.pm", PASSWORD).await;
    // the branch plan by the branch engineer (the policy's role) …
    let branch = start_clock(&app, Rule::VisitPlanCompile, org.east, None, None)
        .await
        .unwrap();
    assert_eq!(branch.assignee_role.as_deref(), Some("branch_engineer"));
    // … a project's plan by its project manager
    let project = start_clock(
        &app,
        Rule::VisitPlanCompile,
        org.east_pd,
        Some(Role::ProjectManager),
        None,
    )
    .await
    .unwrap();
    assert_eq!(project.assignee_role.as_deref(), Some("project_manager"));
    let ids = |r: Resp| -> Vec<i64> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["reason"] == "role")
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(app.get("/api/v1/me/tasks", &pm).await),
        vec![project.id]
    );
    assert_eq!(
        ids(app.get("/api/v1/me/tasks", &engineer).await),
        vec![branch.id]
    );
}

#[actix_rt::test]
async fn a_paused_hour_clock_is_never_swept_and_resumes_later_by_the_paused_time() {
    let app = long_lived().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let p = app.project(&pm, "P-1", org.east_pd, c).await;
    app.complete_contacts(&pm, p["id"].as_i64().unwrap()).await;
    // ledger.fill: 72 h from the end of the handover day, due 5 March 16:00 UTC
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(d["due_at"], "2026-03-05T16:00:00Z");
    let pause = format!("/api/v1/deadlines/{}/pause", d["id"]);
    let resume = format!("/api/v1/deadlines/{}/resume", d["id"]);

    app.clock.set(at(2026, 3, 3, 2)); // 10 h into the clock
    let r = app
        .post(&pause, &pm, json!({"reason": "the owner is abroad"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["pause_reason"], "the owner is abroad");
    app.post(&pause, &pm, json!({"reason": "again"}))
        .await
        .expect_problem(409, "deadline_paused");
    app.post(&pause, &pm, json!({"reason": " "}))
        .await
        .expect_problem(422, "validation_failed");

    // 100 hours later, long past the old due time: never swept
    app.clock.advance(Duration::hours(100));
    assert_eq!(sweep(&app).overdue, 0);
    let tasks = app.get("/api/v1/me/tasks", &pm).await;
    let task = &tasks.body["items"][0];
    assert_eq!(
        (task["paused"].clone(), task["overdue"].clone()),
        (json!(true), json!(false))
    );
    let listed = |overdue: bool| {
        let (app, pm) = (&app, &pm);
        async move {
            app.get(&format!("/api/v1/deadlines?overdue={overdue}"), pm)
                .await
                .item_ids()
        }
    };
    assert!(listed(true).await.is_empty());
    assert_eq!(listed(false).await, vec![d["id"].as_i64().unwrap()]);

    let r = app.post(&resume, &pm, json!({})).await;
    r.expect(200);
    assert_eq!(r.body["due_at"], "2026-03-09T20:00:00Z"); // moved by exactly 100 h
    assert_eq!(r.body["paused_at"], Value::Null);
    assert_eq!(r.body["paused_secs"], 100 * 3600);
    app.post(&resume, &pm, json!({}))
        .await
        .expect_problem(409, "deadline_not_paused");
    assert_eq!(events_of(&app, &admin, "deadline.paused", &d).await, 1);
    assert_eq!(events_of(&app, &admin, "deadline.resumed", &d).await, 1);

    // one second before the new due time the ledger is in time
    app.clock.set(at(2026, 3, 9, 20) - Duration::seconds(1));
    app.post(
        &format!("/api/v1/projects/{}/ledger/submission", p["id"]),
        &pm,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(fill_clock(&app, &pm, &p).await["status"], "met");
}

#[actix_rt::test]
async fn a_paused_working_day_clock_loses_only_the_working_time() {
    let app = long_lived().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    app.put(
        "/api/v1/deadline-policies/ledger.fill",
        &admin,
        json!({"duration": 3, "unit": "working_days", "actor_role": "project_manager", "escalation_roles": ["branch_engineer"]}),
    )
    .await
    .expect(200);
    // handed over Thursday 5 March: Friday 6, Monday 9, Tuesday 10 → due end of Tuesday
    app.clock.set(at(2026, 3, 5, 1));
    let p = app
        .project_handed_over(&pm, "P-1", org.east_pd, c, "2026-03-05")
        .await;
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(d["due_at"], "2026-03-10T16:00:00Z");
    // paused Friday 12:00 to Monday 12:00 (Shanghai): 24 working hours, not 72
    app.clock.set(at(2026, 3, 6, 4));
    app.post(
        &format!("/api/v1/deadlines/{}/pause", d["id"]),
        &pm,
        json!({"reason": "no access to the flat"}),
    )
    .await
    .expect(200);
    app.clock.set(at(2026, 3, 9, 4));
    let r = app
        .post(
            &format!("/api/v1/deadlines/{}/resume", d["id"]),
            &pm,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["paused_secs"], 24 * 3600);
    assert_eq!(r.body["due_at"], "2026-03-11T16:00:00Z"); // one working day later
}

#[actix_rt::test]
async fn due_soon_is_marked_once_at_the_warning_point() {
    let app = long_lived().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let p = app.project(&pm, "P-1", org.east_pd, c).await;
    let d = fill_clock(&app, &pm, &p).await;
    // 72 h from 2 March 16:00 UTC; 80 % of them have gone by at 57 h 36 min
    assert_eq!(d["warn_at"], "2026-03-05T01:36:00Z");
    app.clock.set(at(2026, 3, 5, 1) + Duration::minutes(35));
    assert_eq!(sweep(&app).due_soon, 0);
    let task = app.get("/api/v1/me/tasks", &pm).await.body["items"][0].clone();
    assert_eq!(task["due_soon"], false);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(sweep(&app).due_soon, 1);
    assert_eq!(sweep(&app).due_soon, 0);
    let task = app.get("/api/v1/me/tasks", &pm).await.body["items"][0].clone();
    assert_eq!(task["due_soon"], true);
    assert_eq!(events_of(&app, &admin, "deadline.due_soon", &d).await, 1);
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(d["due_soon_at"], "2026-03-05T01:36:00Z");
}

#[actix_rt::test]
async fn a_holiday_added_after_a_working_day_clock_started_moves_its_due_time_and_an_hour_clock_stays(
) {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    // Monday 09:00: five working days end with next Monday; 24 hours end Tuesday 09:00
    let days = start_clock(&app, Rule::RepairCompleteLarge, org.east_pd, None, None)
        .await
        .unwrap();
    let hours = start_clock(&app, Rule::RepairComplete, org.east_pd, None, None)
        .await
        .unwrap();
    assert_eq!(utc(days.due_at), "2026-03-09T16:00:00Z");
    assert_eq!(utc(hours.due_at), "2026-03-03T01:00:00Z");
    let due = |id: i64| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/deadlines/{id}"), &admin)
                .await
                .body["due_at"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let holiday = json!({"kind": "holiday", "name": "typhoon day"});
    app.put("/api/v1/calendar/days/2026-03-04", &admin, holiday.clone())
        .await
        .expect(200);
    assert_eq!(due(days.id).await, "2026-03-10T16:00:00Z");
    assert_eq!(due(hours.id).await, "2026-03-03T01:00:00Z");
    let d = json!({"id": days.id});
    assert_eq!(events_of(&app, &admin, "deadline.rescheduled", &d).await, 1);
    // a day after the due time changes nothing
    app.put("/api/v1/calendar/days/2026-03-20", &admin, holiday)
        .await
        .expect(200);
    assert_eq!(due(days.id).await, "2026-03-10T16:00:00Z");
    // and taking the holiday back brings the due time back
    app.delete("/api/v1/calendar/days/2026-03-04", &admin)
        .await
        .expect(204);
    assert_eq!(due(days.id).await, "2026-03-09T16:00:00Z");
}

#[actix_rt::test]
async fn a_restarted_overdue_clock_loses_its_escalation_and_escalates_again() {
    let app = long_lived().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    app.user(&admin, "east.eng", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.eng", PASSWORD).await;
    let p = app.project(&pm, "P-1", org.east_pd, c).await;
    app.clock.set(at(2026, 3, 6, 1));
    assert_eq!(sweep(&app).overdue, 1);
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(
        (d["status"].clone(), d["escalation_level"].clone()),
        (json!("overdue"), json!(1))
    );
    let escalated = |r: Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(escalated(app.get("/api/v1/me/tasks", &engineer).await), 1);

    // the handover date was a day late in the ledger: the clock restarts
    app.patch(
        &format!("/api/v1/projects/{}", p["id"]),
        &pm,
        json!({"handover_on": "2026-03-05"}),
    )
    .await
    .expect(200);
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(d["due_at"], "2026-03-08T16:00:00Z");
    assert_eq!(
        (
            d["status"].clone(),
            d["escalation_level"].clone(),
            d["escalated_at"].clone()
        ),
        (json!("pending"), json!(0), Value::Null)
    );
    assert_eq!(escalated(app.get("/api/v1/me/tasks", &engineer).await), 0);

    // passing again, it escalates again, once
    app.clock.set(at(2026, 3, 9, 1));
    assert_eq!(sweep(&app).overdue, 1);
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(
        (d["status"].clone(), d["escalation_level"].clone()),
        (json!("overdue"), json!(1))
    );
    assert_eq!(escalated(app.get("/api/v1/me/tasks", &engineer).await), 1);
}

#[actix_rt::test]
async fn a_late_reason_sent_in_time_is_kept_as_a_note() {
    let app = long_lived().await;
    let EastDesk {
        admin: _,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let p = app.project(&pm, "P-1", org.east_pd, c).await;
    app.complete_contacts(&pm, p["id"].as_i64().unwrap()).await;
    let r = app
        .post(
            &format!("/api/v1/projects/{}/ledger/submission", p["id"]),
            &pm,
            json!({"late_reason": "the owner's contacts came in late"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["submitted_late"], false);
    let d = fill_clock(&app, &pm, &p).await;
    assert_eq!(d["status"], "met");
    assert_eq!(d["late_reason"], Value::Null);
    assert_eq!(d["note"], "the owner's contacts came in late");
}

#[actix_rt::test]
async fn a_fixed_due_time_is_kept_whatever_the_policy_and_a_pause_moves_it_on() {
    let app = long_lived().await;
    let EastDesk { admin, org, pm, .. } = east_desk(&app).await;
    let config = app.state.config.clone();
    let now = app.clock.now_naive();
    // the end of 20 March in Shanghai: a milestone's date
    let due = at(2026, 3, 20, 16).naive_utc();
    let unit = org.east_pd;
    let d = app
        .state
        .db(move |conn| {
            deadlines::start(
                conn,
                &config,
                now,
                NewDeadline {
                    rule: Rule::RectificationMilestone,
                    subject_type: "rectification_milestone",
                    subject_id: 7,
                    title: "Milestone 1".to_string(),
                    link: "/api/v1/rectification-plans/1".to_string(),
                    started_at: now,
                    assignee_user_id: None,
                    scope_org_unit_id: unit,
                    assignee_role: None,
                    target: None,
                    due_at: Some(due),
                    due_end_of_day: None,
                },
            )
        })
        .await
        .unwrap();
    assert_eq!(utc(d.due_at), "2026-03-20T16:00:00Z");
    // a calendar change re-plans working-day clocks only; this one stays
    app.put(
        "/api/v1/calendar/days/2026-03-10",
        &admin,
        json!({"kind": "holiday", "name": "test"}),
    )
    .await
    .expect(200);
    let path = format!("/api/v1/deadlines/{}", d.id);
    assert_eq!(
        app.get(&path, &pm).await.body["due_at"],
        "2026-03-20T16:00:00Z"
    );
    // paused 5 hours: due 5 hours later
    app.post(
        &format!("{path}/pause"),
        &pm,
        json!({"reason": "no access"}),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::hours(5));
    let r = app.post(&format!("{path}/resume"), &pm, json!({})).await;
    r.expect(200);
    assert_eq!(r.body["due_at"], "2026-03-20T21:00:00Z");
    // one second before, not overdue; one after, swept
    app.clock.set(at(2026, 3, 20, 21) - Duration::seconds(1));
    let before = sweep(&app).overdue;
    app.clock.set(at(2026, 3, 20, 21) + Duration::seconds(1));
    let after = sweep(&app).overdue;
    assert_eq!(after, 1, "swept before: {before}");
}

#[actix_rt::test]
async fn a_pause_taken_while_the_sweep_marks_the_clock_is_not_refused() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = long_lived().await;
    let aftercare::db::DbTarget::Postgres(url) = app.state.config.database.clone() else {
        return; // SQLite: one writer at a time, no two transactions side by side
    };
    let EastDesk {
        org,
        pm,
        customer: c,
        ..
    } = east_desk(&app).await;
    let p = app.project(&pm, "P-1", org.east_pd, c).await;
    app.complete_contacts(&pm, p["id"].as_i64().unwrap()).await;
    let d = fill_clock(&app, &pm, &p).await;
    // the sweep's mark of the same row, held open while the pause is asked
    let mut sweep = diesel::PgConnection::establish(&url).unwrap();
    sweep
        .batch_execute(&format!(
            "BEGIN; UPDATE deadlines SET due_soon_at = updated_at, version = version + 1 \
             WHERE id = {}",
            d["id"]
        ))
        .unwrap();
    let commit = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        sweep.batch_execute("COMMIT").unwrap();
    });
    let r = app
        .post(
            &format!("/api/v1/deadlines/{}/pause", d["id"]),
            &pm,
            json!({"reason": "the owner is abroad"}),
        )
        .await;
    commit.join().unwrap();
    r.expect(200);
    assert_eq!(r.body["pause_reason"], "the owner is abroad");
    assert_eq!(r.body["version"], d["version"].as_i64().unwrap() + 2);
}
