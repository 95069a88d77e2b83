//! Warranty repairs (002; 003 §3.2–3.3; 000 §2; 001): the table pair by
//! pair, every clock on both sides of its limit with the settable clock,
//! coverage, who pays, the owner's agreement, rounds, the follow-up visit,
//! repeats, the links to visits and complaints, what the owner sees, scope.
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
    pm_id: i64,
    engineer: String,
    north: String,
    north_pd: i64,
    east: i64,
    owner: String,
    project: i64,
    /// the waterproofing subcontractor on the project's ledger
    sub: i64,
}

async fn desk_on<S, B>(app: &TestApp<S>, handed_over: Option<&str>) -> Desk
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
    let pm_id = app.get("/api/v1/me", &pm).await.body["user"]["id"]
        .as_i64()
        .unwrap();
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    let north = app.token("north.engineer", PASSWORD).await;
    app.post(
        "/api/v1/users",
        &admin,
        json!({"username": "owner.one", "display_name": "Owner", "role": "customer",
               "customer_id": customer, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let owner = app.token("owner.one", PASSWORD).await;
    let project = match handed_over {
        Some(day) => {
            app.project_handed_over(&pm, "HD-2023-001", org.east_pd, customer, day)
                .await
        }
        None => app.project(&pm, "HD-2026-001", org.east_pd, customer).await,
    }["id"]
        .as_i64()
        .unwrap();
    let sub = app
        .post(
            &format!("/api/v1/projects/{project}/contacts"),
            &pm,
            json!({"role": "waterproofing_subcontractor", "name": "赵工 Zhao", "phone": "139 0000 1111",
                   "company": "东方防水 East Waterproofing"}),
        )
        .await;
    sub.expect(201);
    Desk {
        admin,
        pm,
        pm_id,
        engineer,
        north,
        north_pd: org.north_pd,
        east: org.east,
        owner,
        project,
        sub: sub.body["id"].as_i64().unwrap(),
    }
}

async fn desk<S, B>(app: &TestApp<S>) -> Desk
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    desk_on(app, None).await
}

async fn spawn_long() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await
}

fn report(project: i64, at: DateTime<Utc>, severity: &str) -> Value {
    json!({
        "project_id": project, "source": "owner_report", "category": "waterproofing",
        "location": "3 号楼 1201 卫生间 bathroom", "description": "顶板渗水 the ceiling leaks",
        "severity": severity, "reported_at": at.to_rfc3339()
    })
}

fn defect(extra: Value) -> Value {
    let mut body = json!({
        "outcome": "defect", "liability": "general_contractor",
        "cause": "防水层破损 the layer is torn", "measures": "重做防水 redo it", "scale": "small"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn path(id: i64, step: &str) -> String {
    format!("/api/v1/repairs/{id}/{step}")
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([20, 90, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn clock<'a>(repair: &'a Value, rule: &str) -> &'a Value {
    repair["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| d["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} clock in {repair}"))
}

fn ts(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

impl Desk {
    async fn reported<S, B>(&self, app: &TestApp<S>, severity: &str) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let r = app
            .post(
                "/api/v1/repairs",
                &self.pm,
                report(self.project, app.clock.now(), severity),
            )
            .await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    async fn photo<S, B>(&self, app: &TestApp<S>, token: &str) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let r = app.upload(token, "after.png", &png()).await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// A free small repair, ordered: `in_progress`.
    async fn in_progress<S, B>(&self, app: &TestApp<S>) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let id = self.reported(app, "normal").await;
        app.post(&path(id, "confirmation"), &self.pm, defect(json!({})))
            .await
            .expect(200);
        app.post(
            &path(id, "dispatch"),
            &self.engineer,
            json!({"crew": "维修班 2 人"}),
        )
        .await
        .expect(200);
        id
    }

    async fn completed<S, B>(&self, app: &TestApp<S>, id: i64) -> Value
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let photo = self.photo(app, &self.pm).await;
        let r = app
            .post(
                &path(id, "completion"),
                &self.pm,
                json!({"work_done": "重做防水 redone", "labour_hours": 6,
                       "cost_lines": [
                           {"item": "卷材 membrane", "quantity": 2.5, "unit_price": 40.1, "payer": "company"},
                           {"item": "人工 labour", "quantity": 1, "unit_price": 300, "payer": "subcontractor", "contact_id": self.sub}],
                       "attachment_ids": [photo]}),
            )
            .await;
        r.expect(200);
        r.body.clone()
    }
}

#[actix_rt::test]
async fn an_emergency_is_answered_within_8_hours_and_late_only_with_a_reason() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let on_time = d.reported(&app, "emergency").await;
    let late = d.reported(&app, "emergency").await;
    app.clock.advance(Duration::hours(8) - Duration::minutes(1));
    let r = app.post(&path(on_time, "arrival"), &d.pm, json!({})).await;
    r.expect(200);
    assert_eq!(r.body["status"], "arrived");
    assert_eq!(clock(&r.body, "repair.respond.emergency")["status"], "met");
    app.clock.advance(Duration::minutes(2));
    app.post(&path(late, "arrival"), &d.pm, json!({}))
        .await
        .expect_problem(422, "deadline_passed");
    let r = app
        .post(
            &path(late, "arrival"),
            &d.pm,
            json!({"late_reason": "暴雨封路 the road was closed by the storm"}),
        )
        .await;
    r.expect(200);
    let c = clock(&r.body, "repair.respond.emergency");
    assert_eq!(c["status"], "met_late");
    assert_eq!(
        c["late_reason"],
        "暴雨封路 the road was closed by the storm"
    );
}

#[actix_rt::test]
async fn an_overdue_emergency_goes_to_the_branch_leader_and_a_normal_one_to_the_engineer() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    app.user(&d.admin, "east.leader", "branch_leader", Some(d.east))
        .await;
    let leader = app.token("east.leader", PASSWORD).await;
    let emergency = d.reported(&app, "emergency").await;
    let normal = d.reported(&app, "normal").await;
    let escalated = |r: Resp, rule: &str| -> Vec<i64> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["rule"] == rule && t["reason"] == "escalated")
            .map(|t| t["subject_id"].as_i64().unwrap())
            .collect()
    };
    let sweep = || {
        let now = app.clock.now_naive();
        let mut conn = app.state.pool.get().unwrap();
        aftercare::kit::deadlines::sweep(&mut conn, now).unwrap()
    };
    app.clock.advance(Duration::hours(8) - Duration::minutes(1));
    sweep();
    let tasks = app.get("/api/v1/me/tasks", &leader).await;
    assert!(escalated(tasks, "repair.respond.emergency").is_empty());
    app.clock.advance(Duration::minutes(2));
    sweep();
    let tasks = app.get("/api/v1/me/tasks", &leader).await;
    assert_eq!(
        escalated(tasks, "repair.respond.emergency"),
        vec![emergency]
    );
    let tasks = app.get("/api/v1/me/tasks", &d.engineer).await;
    assert!(escalated(tasks, "repair.respond.emergency").is_empty());
    app.clock.advance(Duration::hours(16));
    sweep();
    let tasks = app.get("/api/v1/me/tasks", &d.engineer).await;
    assert_eq!(escalated(tasks, "repair.respond"), vec![normal]);
    let tasks = app.get("/api/v1/me/tasks", &leader).await;
    assert!(escalated(tasks, "repair.respond").is_empty());
}

#[actix_rt::test]
async fn a_normal_repair_is_answered_within_24_hours() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let on_time = d.reported(&app, "normal").await;
    let late = d.reported(&app, "normal").await;
    app.clock
        .advance(Duration::hours(24) - Duration::minutes(1));
    app.post(&path(on_time, "arrival"), &d.pm, json!({}))
        .await
        .expect(200);
    app.clock.advance(Duration::minutes(2));
    app.post(&path(late, "arrival"), &d.pm, json!({}))
        .await
        .expect_problem(422, "deadline_passed");
}

#[actix_rt::test]
async fn a_defect_is_confirmed_within_2_days() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let on_time = d.reported(&app, "normal").await;
    let late = d.reported(&app, "normal").await;
    for id in [on_time, late] {
        app.post(&path(id, "arrival"), &d.pm, json!({}))
            .await
            .expect(200);
    }
    app.clock
        .advance(Duration::hours(48) - Duration::minutes(1));
    let r = app
        .post(&path(on_time, "confirmation"), &d.pm, defect(json!({})))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "awaiting_dispatch");
    assert_eq!(clock(&r.body, "repair.confirm")["status"], "met");
    app.clock.advance(Duration::minutes(2));
    app.post(&path(late, "confirmation"), &d.pm, defect(json!({})))
        .await
        .expect_problem(422, "deadline_passed");
    app.post(
        &path(late, "confirmation"),
        &d.pm,
        defect(json!({"late_reason": "等待业主开门 waited for the owner"})),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn a_large_repair_runs_in_working_days_across_a_holiday() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    // 2026-03-02 is a Monday; Wednesday the 4th is made a holiday
    app.put(
        "/api/v1/calendar/days/2026-03-04",
        &d.admin,
        json!({"kind": "holiday", "name": "typhoon day"}),
    )
    .await
    .expect(200);
    let id = d.reported(&app, "normal").await;
    for days in [1, 6] {
        app.post(
            &path(id, "confirmation"),
            &d.pm,
            defect(json!({"scale": "large", "target_days": days})),
        )
        .await
        .expect_problem(422, "validation_failed");
    }
    app.post(
        &path(id, "confirmation"),
        &d.pm,
        defect(json!({"scale": "large"})),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        &path(id, "confirmation"),
        &d.pm,
        defect(json!({"scale": "large", "target_days": 3})),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &path(id, "dispatch"),
            &d.engineer,
            json!({"crew": "防水班组"}),
        )
        .await;
    r.expect(200);
    let c = clock(&r.body, "repair.complete.large");
    // three whole working days after Monday: Tue, (Wed is off) Thu, Fri;
    // due at the end of Friday in Shanghai
    assert_eq!(c["due_at"], "2026-03-06T16:00:00Z");
    assert_eq!(c["assignee_user_id"], d.pm_id);
    assert_eq!(r.body["lead_user_id"], d.pm_id);
}

#[actix_rt::test]
async fn a_hold_pauses_the_completion_clock_by_exactly_the_time_held() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.in_progress(&app).await;
    let before = app.get(&format!("/api/v1/repairs/{id}"), &d.pm).await;
    let due = ts(&clock(&before.body, "repair.complete")["due_at"]);
    app.clock.advance(Duration::hours(2));
    let r = app
        .post(
            &path(id, "hold"),
            &d.pm,
            json!({"reason": "owner_unavailable", "note": "业主出差 the owner is away"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "on_hold");
    // the owner sees what the work waits for
    let seen = app.get(&format!("/api/v1/repairs/{id}"), &d.owner).await;
    seen.expect(200);
    assert_eq!(seen.body["on_hold"]["reason"], "owner_unavailable");
    app.clock.advance(Duration::hours(30));
    let r = app.post(&path(id, "resume"), &d.pm, json!({})).await;
    r.expect(200);
    let c = clock(&r.body, "repair.complete");
    assert_eq!(ts(&c["due_at"]), due + Duration::hours(30));
    assert_eq!(c["paused_secs"], 30 * 3600);
    assert_eq!(r.body["time_on_hold_secs"], 30 * 3600);
    assert_eq!(r.body["status"], "in_progress");
}

#[actix_rt::test]
async fn coverage_is_the_warranty_services_answer_per_category() {
    let app = spawn_long().await;
    // handed over in January 2023: waterproofing (5 years) covered in its
    // 4th year, decoration (2 years) no longer in its 3rd
    let d = desk_on(&app, Some("2023-01-10")).await;
    let now = app.clock.now();
    let mut covered = vec![];
    for category in ["waterproofing", "decoration"] {
        let mut body = report(d.project, now, "normal");
        body["category"] = json!(category);
        let id = app.post("/api/v1/repairs", &d.pm, body).await.body["id"]
            .as_i64()
            .unwrap();
        let status = app
            .get(
                &format!(
                    "/api/v1/projects/{}/warranty-status?on=2026-03-02&category={category}",
                    d.project
                ),
                &d.pm,
            )
            .await;
        let in_term = status.body["under_warranty_until"].is_string();
        let quote = if in_term {
            json!([])
        } else {
            json!([{"item": "面层修补 patch", "quantity": 1, "unit_price": 120, "payer": "owner"}])
        };
        let r = app
            .post(
                &path(id, "confirmation"),
                &d.pm,
                defect(json!({"quote": quote})),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["covered"], in_term);
        covered.push((
            r.body["covered"].clone(),
            r.body["payer"].clone(),
            r.body["billable"].clone(),
        ));
    }
    assert_eq!(covered[0], (json!(true), json!("company"), json!(false)));
    assert_eq!(covered[1], (json!(false), json!("owner"), json!(true)));
}

#[actix_rt::test]
async fn each_liability_gives_its_payer_and_billable_flag() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let quote =
        json!([{"item": "修补 patch", "quantity": 1, "unit_price": 80.5, "payer": "owner"}]);
    for (liability, extra, payer, billable) in [
        ("general_contractor", json!({}), "company", false),
        ("company_materials", json!({}), "company", false),
        (
            "subcontractor",
            json!({"subcontractor_contact_id": d.sub}),
            "subcontractor",
            false,
        ),
        ("owner_materials", json!({"quote": quote}), "owner", true),
        ("designer", json!({"quote": quote}), "owner", true),
        ("misuse", json!({"quote": quote}), "owner", true),
        ("force_majeure", json!({"quote": quote}), "none", true),
        (
            "shared",
            json!({"shares": [
            {"party": "general_contractor", "percent": 40},
            {"party": "subcontractor", "contact_id": d.sub, "percent": 60}]}),
            "shared",
            false,
        ),
        (
            "shared",
            json!({"quote": quote, "shares": [
            {"party": "general_contractor", "percent": 50},
            {"party": "owner", "percent": 50}]}),
            "shared",
            true,
        ),
    ] {
        let id = d.reported(&app, "normal").await;
        let mut body = defect(extra);
        body["liability"] = json!(liability);
        let r = app.post(&path(id, "confirmation"), &d.pm, body).await;
        r.expect(200);
        assert_eq!(r.body["payer"], payer, "{liability}");
        assert_eq!(r.body["billable"], billable, "{liability}");
        let next = if billable {
            "awaiting_agreement"
        } else {
            "awaiting_dispatch"
        };
        assert_eq!(r.body["status"], next, "{liability}");
    }
    // a billable repair without its quote
    let id = d.reported(&app, "normal").await;
    app.post(
        &path(id, "confirmation"),
        &d.pm,
        defect(json!({"liability": "misuse"})),
    )
    .await
    .expect_problem(422, "quote_required");
    // another project's (or no) subcontractor
    app.post(
        &path(id, "confirmation"),
        &d.pm,
        defect(json!({"liability": "subcontractor", "subcontractor_contact_id": 999_999})),
    )
    .await
    .expect(404);
}

#[actix_rt::test]
async fn shares_must_sum_to_exactly_100() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.reported(&app, "normal").await;
    for (a, b) in [(40, 59), (40, 61)] {
        let r = app
            .post(
                &path(id, "confirmation"),
                &d.pm,
                defect(json!({"liability": "shared", "shares": [
                    {"party": "general_contractor", "percent": a},
                    {"party": "subcontractor", "contact_id": d.sub, "percent": b}]})),
            )
            .await;
        r.expect(422);
        assert!(r.fields().contains(&"shares".to_string()), "{:?}", r.body);
    }
}

#[actix_rt::test]
async fn a_billable_repair_waits_for_the_owners_agreement_and_closes_when_declined() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let quote =
        json!([{"item": "更换龙头 new tap", "quantity": 2, "unit_price": 65.5, "payer": "owner"}]);
    let mut ids = vec![];
    for _ in 0..2 {
        let id = d.reported(&app, "normal").await;
        let r = app
            .post(
                &path(id, "confirmation"),
                &d.pm,
                defect(json!({"liability": "misuse", "quote": quote})),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["quote_total"], 131.0);
        ids.push(id);
    }
    app.post(
        &path(ids[0], "dispatch"),
        &d.engineer,
        json!({"crew": "班组"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    // the owner agrees in the app; the other's signed form is recorded by staff
    app.post(
        &path(ids[0], "agreement"),
        &d.owner,
        json!({"decision": "accepted"}),
    )
    .await
    .expect(200);
    app.post(
        &path(ids[0], "dispatch"),
        &d.engineer,
        json!({"crew": "班组"}),
    )
    .await
    .expect(200);
    app.post(
        &path(ids[1], "agreement"),
        &d.pm,
        json!({"decision": "declined"}),
    )
    .await
    .expect(422);
    let r = app
        .post(
            &path(ids[1], "agreement"),
            &d.pm,
            json!({"decision": "declined", "signed_by": "王先生", "signed_on": "2026-03-02"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "closed_declined");
}

#[actix_rt::test]
async fn rounds_run_from_failed_inspection_and_rejection_to_the_follow_up_visit() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.in_progress(&app).await;
    app.clock.advance(Duration::hours(4));
    d.completed(&app, id).await;
    app.clock.advance(Duration::hours(2));
    app.post(
        &path(id, "inspection"),
        &d.engineer,
        json!({"result": "fail"}),
    )
    .await
    .expect(422);
    let r = app
        .post(
            &path(id, "inspection"),
            &d.engineer,
            json!({"result": "fail", "reasons": "仍渗水 still leaks"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "in_progress");
    assert_eq!(r.body["rounds"], 2);
    // the clock runs on with the 20 hours that were left
    let c = clock(&r.body, "repair.complete");
    assert_eq!(c["status"], "pending");
    assert_eq!(ts(&c["due_at"]), app.clock.now() + Duration::hours(20));
    d.completed(&app, id).await;
    app.post(
        &path(id, "inspection"),
        &d.engineer,
        json!({"result": "pass"}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &path(id, "acceptance"),
            &d.owner,
            json!({"decision": "rejected", "reason": "墙面未恢复 the wall is not restored"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["rounds"], 3);
    d.completed(&app, id).await;
    app.post(
        &path(id, "inspection"),
        &d.engineer,
        json!({"result": "pass"}),
    )
    .await
    .expect(200);
    app.post(
        &path(id, "acceptance"),
        &d.owner,
        json!({"decision": "accepted"}),
    )
    .await
    .expect(422);
    let r = app
        .post(
            &path(id, "acceptance"),
            &d.owner,
            json!({"decision": "accepted", "rating": "very_satisfied"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "accepted");
    assert_eq!(clock(&r.body, "repair.followup")["status"], "pending");
    let accepted = app.clock.now();
    let visit = |at: DateTime<Utc>| {
        json!({
            "project_id": d.project, "kind": "repair_followup", "method": "onsite",
            "visited_at": at.to_rfc3339(), "outcome": "completed", "repair_id": id,
            "people_met": [{"name": "王先生", "department": "业主", "title": "业主"}],
            "findings": "维修处无渗漏 no leak at the repair"
        })
    };
    app.clock.advance(Duration::days(6));
    let r = app
        .post("/api/v1/visits", &d.pm, visit(accepted + Duration::days(6)))
        .await;
    r.expect_problem(422, "followup_too_early");
    assert_eq!(r.fields(), vec!["visited_at".to_string()]);
    app.clock.advance(Duration::days(2));
    let v = app
        .post("/api/v1/visits", &d.pm, visit(accepted + Duration::days(8)))
        .await;
    v.expect(201);
    assert_eq!(v.body["repair_id"], id);
    let r = app.get(&format!("/api/v1/repairs/{id}"), &d.pm).await;
    assert_eq!(r.body["status"], "closed");
    assert_eq!(r.body["followup_visit_id"], v.body["id"]);
    assert_eq!(clock(&r.body, "repair.followup")["status"], "met");
}

#[actix_rt::test]
async fn the_third_repair_at_the_same_place_is_a_repeat_with_its_chain() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut ids = vec![];
    for location in [
        "3 号楼 1201 卫生间 bathroom",
        "3 号楼  1201 卫生间 Bathroom",
        "3 号楼 1201 卫生间 bathroom",
    ] {
        let mut body = report(d.project, app.clock.now(), "normal");
        body["location"] = json!(location);
        let r = app.post("/api/v1/repairs", &d.pm, body).await;
        r.expect(201);
        ids.push(r.body["id"].as_i64().unwrap());
    }
    let first = app.get(&format!("/api/v1/repairs/{}", ids[1]), &d.pm).await;
    assert_eq!(first.body["is_repeat"], false);
    let third = app.get(&format!("/api/v1/repairs/{}", ids[2]), &d.pm).await;
    assert_eq!(third.body["is_repeat"], true);
    assert_eq!(third.body["repeat_of"], ids[1]);
    assert_eq!(third.body["chain"], json!(ids));
    let listed = app.get("/api/v1/repairs?repeat=true", &d.pm).await;
    assert_eq!(listed.item_ids(), vec![ids[2]]);
}

#[actix_rt::test]
async fn visit_issues_and_minor_complaints_make_their_repairs_linked_both_ways() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let v = app
        .post(
            "/api/v1/visits",
            &d.pm,
            json!({
                "project_id": d.project, "kind": "routine", "method": "onsite",
                "visited_at": app.clock.now().to_rfc3339(), "outcome": "completed",
                "people_met": [{"name": "李经理", "department": "物业", "title": "经理"}],
                "findings": "地下室渗水 the basement leaks",
                "issues": [{"description": "地下室墙面渗水", "component": "waterproofing",
                            "location": "地下室 basement", "liability": "ours"}]
            }),
        )
        .await;
    v.expect(201);
    let repair = v.body["issues"][0]["repair_id"].as_i64().unwrap();
    let r = app.get(&format!("/api/v1/repairs/{repair}"), &d.pm).await;
    assert_eq!(r.body["source"], "visit_issue");
    assert_eq!(r.body["visit_id"], v.body["id"]);
    // a complaint judged minor with its repair
    let c = app
        .post(
            "/api/v1/complaints",
            &d.engineer,
            json!({"project_id": d.project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "warranty", "channel": "phone", "complainant_name": "王先生",
                   "complainant_phone": "13800138000", "description": "阳台漏水 the balcony leaks"}),
        )
        .await;
    c.expect(201);
    let cid = c.body["id"].as_i64().unwrap();
    let judged = app
        .post(
            &format!("/api/v1/complaints/{cid}/judgment"),
            &d.engineer,
            json!({"liability": "ours", "severity": "minor", "reasoning": "施工缺陷",
                   "repair": {"category": "waterproofing", "location": "阳台 balcony", "severity": "normal"}}),
        )
        .await;
    judged.expect(200);
    let detail = app
        .get(&format!("/api/v1/complaints/{cid}"), &d.engineer)
        .await;
    let rid = detail.body["repair_ids"][0].as_i64().unwrap();
    let r = app.get(&format!("/api/v1/repairs/{rid}"), &d.pm).await;
    assert_eq!(r.body["source"], "complaint");
    assert_eq!(r.body["complaint_id"], cid);
}

#[actix_rt::test]
async fn a_renewed_complaint_reopens_the_repair_with_24_hours_of_rework() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.in_progress(&app).await;
    d.completed(&app, id).await;
    app.post(
        &path(id, "inspection"),
        &d.engineer,
        json!({"result": "pass"}),
    )
    .await
    .expect(200);
    app.post(
        &path(id, "acceptance"),
        &d.owner,
        json!({"decision": "accepted", "rating": "basically_satisfied"}),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::days(3));
    let c = app
        .post(
            "/api/v1/complaints",
            &d.owner,
            json!({"project_id": d.project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "warranty", "channel": "app", "complainant_name": "王先生",
                   "complainant_phone": "13800138000", "description": "又漏了 it leaks again",
                   "repair_id": id}),
        )
        .await;
    c.expect(201);
    let r = app.get(&format!("/api/v1/repairs/{id}"), &d.pm).await;
    assert_eq!(r.body["status"], "in_progress");
    assert_eq!(r.body["rounds"], 2);
    assert_eq!(r.body["reopened_by"], json!([c.body["id"]]));
    let rework = clock(&r.body, "repair.rework");
    assert_eq!(ts(&rework["due_at"]), app.clock.now() + Duration::hours(24));
    assert_eq!(clock(&r.body, "repair.followup")["status"], "cancelled");
    // a repair not yet repaired is not reopened
    let open = d.reported(&app, "normal").await;
    app.post(
        "/api/v1/complaints",
        &d.engineer,
        json!({"project_id": d.project, "received_at": app.clock.now().to_rfc3339(),
               "category": "warranty", "channel": "phone", "complainant_name": "王先生",
               "complainant_phone": "13800138000", "description": "again", "repair_id": open}),
    )
    .await
    .expect_problem(409, "repair_not_repaired");
}

#[actix_rt::test]
async fn the_owner_sees_their_repair_without_subcontractor_charges_or_internal_notes() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.reported(&app, "normal").await;
    app.post(
        &path(id, "confirmation"),
        &d.pm,
        defect(
            json!({"liability": "subcontractor", "subcontractor_contact_id": d.sub,
                      "internal_note": "分包扣保修金 charge the retention"}),
        ),
    )
    .await
    .expect(200);
    app.post(
        &path(id, "dispatch"),
        &d.engineer,
        json!({"crew": "分包班组"}),
    )
    .await
    .expect(200);
    d.completed(&app, id).await;
    let staff = app.get(&format!("/api/v1/repairs/{id}"), &d.pm).await;
    assert_eq!(staff.body["cost_lines"].as_array().unwrap().len(), 2);
    let note = &staff.body["steps"][0]["internal_note"];
    assert_eq!(note, "分包扣保修金 charge the retention");
    let owner = app.get(&format!("/api/v1/repairs/{id}"), &d.owner).await;
    owner.expect(200);
    let lines = owner.body["cost_lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["payer"], "company");
    assert!(owner.body["steps"][0]["internal_note"].is_null());
    assert!(owner.body["steps"][0]["details"]["subcontractor_contact_id"].is_null());
    // what the project's repairs cost, by payer (staff only)
    let costs = app
        .get(
            &format!("/api/v1/projects/{}/repair-costs", d.project),
            &d.pm,
        )
        .await;
    costs.expect(200);
    assert_eq!(costs.body["total"], 400.25);
    let sub = costs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["payer"] == "subcontractor")
        .unwrap();
    assert_eq!(sub["contact_id"], d.sub);
    assert_eq!(sub["amount"], 300.0);
    app.get(
        &format!("/api/v1/projects/{}/repair-costs", d.project),
        &d.owner,
    )
    .await
    .expect(403);
}

#[actix_rt::test]
async fn another_branch_gets_404_on_every_repair_operation() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.reported(&app, "normal").await;
    app.get(&format!("/api/v1/repairs/{id}"), &d.north)
        .await
        .expect(404);
    let upload = d.photo(&app, &d.north).await;
    for (step, body) in [
        ("arrival", json!({})),
        ("confirmation", defect(json!({}))),
        ("agreement", json!({"decision": "accepted"})),
        ("dispatch", json!({"crew": "班组"})),
        ("hold", json!({"reason": "weather", "note": "雨"})),
        ("resume", json!({})),
        (
            "completion",
            json!({"work_done": "done", "labour_hours": 1, "attachment_ids": [upload]}),
        ),
        ("inspection", json!({"result": "pass"})),
        (
            "acceptance",
            json!({"decision": "accepted", "rating": "fairly_satisfied"}),
        ),
        ("attachments", json!({"upload_id": upload})),
    ] {
        let r = app.post(&path(id, step), &d.north, body).await;
        assert_eq!(r.status, 404, "{step}: {:?}", r.body);
    }
    app.get(&path(id, "attachments"), &d.north)
        .await
        .expect(404);
    assert!(app
        .get("/api/v1/repairs", &d.north)
        .await
        .item_ids()
        .is_empty());
    // ids in bodies: the project and the lead
    app.post(
        "/api/v1/repairs",
        &d.north,
        report(d.project, app.clock.now(), "normal"),
    )
    .await
    .expect(404);
    let north_pm = app
        .user(&d.admin, "north.pm", "project_manager", Some(d.north_pd))
        .await;
    app.post(&path(id, "confirmation"), &d.pm, defect(json!({})))
        .await
        .expect(200);
    let r = app
        .post(
            &path(id, "dispatch"),
            &d.engineer,
            json!({"crew": "班组", "lead_user_id": north_pm}),
        )
        .await;
    r.expect(404);
    assert_eq!(r.fields(), vec!["lead_user_id".to_string()]);
}

#[actix_rt::test]
async fn a_retried_report_makes_one_repair() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let body = report(d.project, app.clock.now(), "normal");
    let send = || {
        let req = actix_web::test::TestRequest::post()
            .uri("/api/v1/repairs")
            .insert_header(("Authorization", format!("Bearer {}", d.pm)))
            .insert_header(("Idempotency-Key", "repair-report-1"))
            .set_json(&body);
        app.send(req)
    };
    let first = send().await;
    first.expect(201);
    let again = send().await;
    again.expect(201);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(app.get("/api/v1/repairs", &d.pm).await.item_ids().len(), 1);
    // a stale If-Match is refused
    let id = first.body["id"].as_i64().unwrap();
    let req = actix_web::test::TestRequest::post()
        .uri(&path(id, "arrival"))
        .insert_header(("Authorization", format!("Bearer {}", d.pm)))
        .insert_header(("If-Match", "\"7\""))
        .set_json(json!({}));
    app.send(req).await.expect(412);
}

#[actix_rt::test]
async fn the_owners_app_reports_its_own_repairs_at_most_7_days_back() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut body = report(d.project, app.clock.now() - Duration::days(8), "normal");
    body["source"] = json!("app");
    app.post("/api/v1/repairs", &d.owner, body.clone())
        .await
        .expect(422);
    body["reported_at"] = json!((app.clock.now() - Duration::days(6)).to_rfc3339());
    app.post("/api/v1/repairs", &d.owner, body.clone())
        .await
        .expect(201);
    body["source"] = json!("owner_report");
    app.post("/api/v1/repairs", &d.owner, body)
        .await
        .expect(422);
    let mut staff = report(d.project, app.clock.now(), "normal");
    staff["source"] = json!("app");
    app.post("/api/v1/repairs", &d.pm, staff).await.expect(422);
}

/// Every state × step: the step's role succeeds where the table allows it
/// (the paths above), every other state answers 409 and a role the step
/// does not admit 403.
#[actix_rt::test]
async fn every_state_and_step_pair_answers_as_the_table_says() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let quote = json!([{"item": "修补", "quantity": 1, "unit_price": 10, "payer": "owner"}]);
    // one repair in each state
    let reported = d.reported(&app, "normal").await;
    let arrived = d.reported(&app, "normal").await;
    app.post(&path(arrived, "arrival"), &d.pm, json!({}))
        .await
        .expect(200);
    let agreement = d.reported(&app, "normal").await;
    app.post(
        &path(agreement, "confirmation"),
        &d.pm,
        defect(json!({"liability": "misuse", "quote": quote})),
    )
    .await
    .expect(200);
    let dispatch = d.reported(&app, "normal").await;
    app.post(&path(dispatch, "confirmation"), &d.pm, defect(json!({})))
        .await
        .expect(200);
    let working = d.in_progress(&app).await;
    let held = d.in_progress(&app).await;
    app.post(
        &path(held, "hold"),
        &d.pm,
        json!({"reason": "weather", "note": "台风"}),
    )
    .await
    .expect(200);
    let inspect = d.in_progress(&app).await;
    d.completed(&app, inspect).await;
    let sign = d.in_progress(&app).await;
    d.completed(&app, sign).await;
    app.post(
        &path(sign, "inspection"),
        &d.engineer,
        json!({"result": "pass"}),
    )
    .await
    .expect(200);
    let accepted = d.in_progress(&app).await;
    d.completed(&app, accepted).await;
    app.post(
        &path(accepted, "inspection"),
        &d.engineer,
        json!({"result": "pass"}),
    )
    .await
    .expect(200);
    app.post(
        &path(accepted, "acceptance"),
        &d.owner,
        json!({"decision": "accepted", "rating": "very_satisfied"}),
    )
    .await
    .expect(200);
    let not_a_defect = d.reported(&app, "normal").await;
    app.post(
        &path(not_a_defect, "confirmation"),
        &d.pm,
        json!({"outcome": "not_a_defect", "explanation": "系业主自行改造 the owner's alteration"}),
    )
    .await
    .expect(200);
    let declined = d.reported(&app, "normal").await;
    app.post(
        &path(declined, "confirmation"),
        &d.pm,
        defect(json!({"liability": "misuse", "quote": quote})),
    )
    .await
    .expect(200);
    app.post(
        &path(declined, "agreement"),
        &d.owner,
        json!({"decision": "declined"}),
    )
    .await
    .expect(200);
    let states = [
        ("reported", reported),
        ("arrived", arrived),
        ("awaiting_agreement", agreement),
        ("awaiting_dispatch", dispatch),
        ("in_progress", working),
        ("on_hold", held),
        ("awaiting_inspection", inspect),
        ("awaiting_acceptance", sign),
        ("accepted", accepted),
        ("closed_not_a_defect", not_a_defect),
        ("closed_declined", declined),
    ];
    for (state, id) in &states {
        let r = app.get(&format!("/api/v1/repairs/{id}"), &d.pm).await;
        assert_eq!(r.body["status"], *state);
    }
    let photo = d.photo(&app, &d.pm).await;
    // each step: its role, the states it is taken from, a valid body
    let steps: Vec<(&str, &String, &[&str], Value)> = vec![
        ("arrival", &d.pm, &["reported"], json!({})),
        (
            "confirmation",
            &d.pm,
            &["reported", "arrived"],
            defect(json!({})),
        ),
        (
            "agreement",
            &d.owner,
            &["awaiting_agreement"],
            json!({"decision": "accepted"}),
        ),
        (
            "dispatch",
            &d.engineer,
            &["awaiting_dispatch"],
            json!({"crew": "班组"}),
        ),
        (
            "hold",
            &d.pm,
            &["in_progress"],
            json!({"reason": "weather", "note": "雨"}),
        ),
        ("resume", &d.pm, &["on_hold"], json!({})),
        (
            "completion",
            &d.pm,
            &["in_progress"],
            json!({"work_done": "done", "labour_hours": 1, "attachment_ids": [photo]}),
        ),
        (
            "inspection",
            &d.engineer,
            &["awaiting_inspection"],
            json!({"result": "pass"}),
        ),
        (
            "acceptance",
            &d.owner,
            &["awaiting_acceptance"],
            json!({"decision": "accepted", "rating": "fairly_satisfied"}),
        ),
    ];
    let wrong_role = |step: &str| -> &String {
        match step {
            "dispatch" | "inspection" => &d.pm,
            _ => &d.engineer,
        }
    };
    for (step, _, from, body) in &steps {
        for (state, id) in &states {
            if from.contains(state) {
                continue;
            }
            let r = app.post(&path(*id, step), &d.pm, body.clone()).await;
            // the project department takes none of the engineer's steps
            if matches!(*step, "dispatch" | "inspection") {
                r.expect(403);
            } else {
                assert_eq!(r.status, 409, "{step} from {state}: {:?}", r.body);
                assert_eq!(r.code(), "invalid_transition", "{step} from {state}");
            }
        }
        let (_, id) = states.iter().find(|(s, _)| s == &from[0]).unwrap();
        app.post(&path(*id, step), wrong_role(step), body.clone())
            .await
            .expect(403);
    }
    // and each allowed pair succeeds, in table order
    for (step, role, from, body) in &steps {
        let (_, mut id) = *states.iter().find(|(s, _)| s == &from[0]).unwrap();
        if *step == "hold" {
            // the in-progress one is completed below
            id = d.in_progress(&app).await;
        }
        let r = app.post(&path(id, step), role, body.clone()).await;
        assert_eq!(r.status, 200, "{step} from {}: {:?}", from[0], r.body);
    }
}
