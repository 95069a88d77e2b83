//! Who may see and change what, per kind of record, and what follows a
//! project when it moves: attachments on complaints and visits (customers
//! never change the company's, only those who may change the record show
//! an internal one), reassignment of a project to another customer or
//! department, what a customer never reads of the contractor's assessment,
//! the project department's own steps, the branch's revisit, the years an
//! instant may name, and the limits on a customer's own registrations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::TestRequest;
use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::{json, Value};

/// The east branch with everyone a complaint meets, a second customer and
/// the north branch beside it.
struct Desk {
    admin: String,
    org: Org,
    pm: String,
    engineer: String,
    leader: String,
    /// staff of the east project department
    dept_staff: String,
    /// staff of the east branch itself, not of a department
    branch_staff: String,
    north: String,
    owner: String,
    other_owner: String,
    project: i64,
    customer: i64,
    other_customer: i64,
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
    for (name, role, unit) in [
        ("east.engineer", "branch_engineer", org.east),
        ("east.leader", "branch_leader", org.east),
        ("east.dept.staff", "staff", org.east_pd),
        ("east.branch.staff", "staff", org.east),
        ("north.engineer", "branch_engineer", org.north),
    ] {
        app.user(&admin, name, role, Some(unit)).await;
    }
    let other_customer = app.customer(&admin, "Second owner", org.east).await;
    for (name, c) in [("owner.one", customer), ("owner.two", other_customer)] {
        app.post(
            "/api/v1/users",
            &admin,
            json!({"username": name, "display_name": name, "role": "customer",
                   "customer_id": c, "password": PASSWORD}),
        )
        .await
        .expect(201);
    }
    let project = app.project(&pm, "HD-R-1", org.east_pd, customer).await["id"]
        .as_i64()
        .unwrap();
    Desk {
        engineer: app.token("east.engineer", PASSWORD).await,
        leader: app.token("east.leader", PASSWORD).await,
        dept_staff: app.token("east.dept.staff", PASSWORD).await,
        branch_staff: app.token("east.branch.staff", PASSWORD).await,
        north: app.token("north.engineer", PASSWORD).await,
        owner: app.token("owner.one", PASSWORD).await,
        other_owner: app.token("owner.two", PASSWORD).await,
        admin,
        org,
        pm,
        project,
        customer,
        other_customer,
    }
}

async fn spawn_long() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await
}

fn complaint(project: i64, received_at: DateTime<Utc>, extra: Value) -> Value {
    let mut body = json!({
        "project_id": project, "received_at": received_at.to_rfc3339(), "category": "warranty",
        "channel": "phone", "complainant_name": "王先生", "complainant_phone": "13800138000",
        "description": "3 号楼 12 层卫生间漏水 the bathroom leaks"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
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

fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

impl Desk {
    async fn register<S, B>(&self, app: &TestApp<S>) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let r = app
            .post(
                "/api/v1/complaints",
                &self.engineer,
                complaint(self.project, app.clock.now(), json!({})),
            )
            .await;
        r.expect(201);
        id_of(&r.body)
    }

    /// Attaches a fresh photo to `subject` as `token`; the attachment's id.
    async fn attach<S, B>(
        &self,
        app: &TestApp<S>,
        token: &str,
        subject: &str,
        internal: bool,
    ) -> i64
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let upload = app.upload(token, "photo.png", &png()).await;
        upload.expect(201);
        let r = app
            .post(
                &format!("{subject}/attachments"),
                token,
                json!({"upload_id": upload.body["id"], "internal": internal}),
            )
            .await;
        r.expect(201);
        id_of(&r.body)
    }
}

// ---- attachments ---------------------------------------------------------

#[actix_rt::test]
async fn a_customer_cannot_change_or_hide_what_the_company_attached_to_their_complaint() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/complaints",
            &d.owner,
            complaint(d.project, app.clock.now(), json!({"channel": "app"})),
        )
        .await;
    r.expect(201);
    let subject = format!("/api/v1/complaints/{}", id_of(&r.body));
    let letter = d.attach(&app, &d.engineer, &subject, false).await;
    let own = d.attach(&app, &d.owner, &subject, false).await;
    let path = |id: i64| format!("/api/v1/attachments/{id}");
    app.delete(&path(letter), &d.owner)
        .await
        .expect_problem(403, "forbidden");
    app.patch(&path(letter), &d.owner, json!({"caption": "mine now"}))
        .await
        .expect_problem(403, "forbidden");
    // their own photo is theirs to re-caption and hide
    app.patch(&path(own), &d.owner, json!({"caption": "the stain"}))
        .await
        .expect(200);
    app.delete(&path(own), &d.owner).await.expect(204);
    let shown = app
        .get(&format!("{subject}/attachments"), &d.engineer)
        .await;
    assert_eq!(shown.item_ids(), vec![letter]);
}

#[actix_rt::test]
async fn a_customer_cannot_change_or_hide_what_the_company_attached_to_their_visit() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, app.clock.now() - Duration::hours(1), json!({})),
        )
        .await;
    r.expect(201);
    let subject = format!("/api/v1/visits/{}", id_of(&r.body));
    let photo = d.attach(&app, &d.engineer, &subject, false).await;
    app.delete(&format!("/api/v1/attachments/{photo}"), &d.owner)
        .await
        .expect_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/attachments/{photo}"),
        &d.owner,
        json!({"caption": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
    // the owner reads the visit's photos but adds none to the company's record
    app.get(&format!("{subject}/attachments"), &d.owner)
        .await
        .expect(200);
    let upload = app.upload(&d.owner, "mine.png", &png()).await;
    app.post(
        &format!("{subject}/attachments"),
        &d.owner,
        json!({"upload_id": upload.body["id"]}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn only_those_who_may_change_the_record_show_an_internal_attachment_to_the_customer() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let subject = format!("/api/v1/complaints/{id}");
    let liability = d.attach(&app, &d.engineer, &subject, true).await;
    let path = format!("/api/v1/attachments/{liability}");
    for token in [&d.pm, &d.dept_staff, &d.leader] {
        app.patch(&path, token, json!({"internal": false}))
            .await
            .expect_problem(403, "forbidden");
    }
    // the customer's timeline shows no step of it while it is internal
    let mine = app.get(&subject, &d.owner).await;
    mine.expect(200);
    let events = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!events(&mine.body)
        .iter()
        .any(|e| e.starts_with("attachment.")));
    assert!(events(&app.get(&subject, &d.engineer).await.body)
        .contains(&"attachment.added".to_string()));
    assert_eq!(mine.body["attachments"], json!([]));
    // engineering, who judge the complaint, may
    app.patch(&path, &d.engineer, json!({"internal": false}))
        .await
        .expect(200);
    let mine = app.get(&subject, &d.owner).await;
    assert_eq!(mine.body["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(
        events(&mine.body)
            .iter()
            .filter(|e| e.starts_with("attachment."))
            .collect::<Vec<_>>(),
        vec!["attachment.changed"]
    );
}

// ---- a project moves -----------------------------------------------------

#[actix_rt::test]
async fn a_project_moved_to_another_customer_takes_its_complaints_and_visits_along() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, app.clock.now() - Duration::hours(1), json!({})),
        )
        .await;
    let visit_id = id_of(&r.body);
    app.get(&format!("/api/v1/complaints/{id}"), &d.owner)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/projects/{}", d.project),
        &d.admin,
        json!({"customer_id": d.other_customer}),
    )
    .await
    .expect(200);
    // the old owner loses everything of it at once; the new one has it
    app.get(&format!("/api/v1/complaints/{id}"), &d.owner)
        .await
        .expect(404);
    app.get(&format!("/api/v1/visits/{visit_id}"), &d.owner)
        .await
        .expect(404);
    assert!(app
        .get("/api/v1/complaints", &d.owner)
        .await
        .item_ids()
        .is_empty());
    app.get(&format!("/api/v1/complaints/{id}"), &d.other_owner)
        .await
        .expect(200);
    app.get(&format!("/api/v1/visits/{visit_id}"), &d.other_owner)
        .await
        .expect(200);
    // the complaint counts for the new customer's visitor rank
    let old = app
        .get(&format!("/api/v1/customers/{}", d.customer), &d.engineer)
        .await;
    assert_eq!(old.body["complaints_last_12_months"], 0);
    let new = app
        .get(
            &format!("/api/v1/customers/{}", d.other_customer),
            &d.engineer,
        )
        .await;
    assert_eq!(new.body["complaints_last_12_months"], 1);
}

#[actix_rt::test]
async fn a_project_moved_to_another_branch_takes_its_complaints_clocks_and_task_entries() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let north_customer = app.customer(&d.admin, "North owner", d.org.north).await;
    app.patch(
        &format!("/api/v1/projects/{}", d.project),
        &d.admin,
        json!({"project_department_id": d.org.north_pd, "customer_id": north_customer}),
    )
    .await
    .expect(200);
    let judge = json!({"liability": "ours", "severity": "minor", "reasoning": "our waterproofing"});
    app.post(
        &format!("/api/v1/complaints/{id}/judgment"),
        &d.engineer,
        judge.clone(),
    )
    .await
    .expect(404);
    // the judgment clock is in the north's task list now, not the east's
    let task_subjects = |body: &Value| -> Vec<(String, i64)> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["subject_type"].as_str().unwrap_or("").to_string(),
                    t["subject_id"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    };
    let complaint_task = ("complaint".to_string(), id);
    let east = app.get("/api/v1/me/tasks", &d.engineer).await;
    east.expect(200);
    assert!(!task_subjects(&east.body).contains(&complaint_task));
    let north = app.get("/api/v1/me/tasks", &d.north).await;
    assert!(
        task_subjects(&north.body).contains(&complaint_task),
        "{}",
        north.body
    );
    app.post(
        &format!("/api/v1/complaints/{id}/judgment"),
        &d.north,
        judge,
    )
    .await
    .expect(200);
}

// ---- what a customer never reads ----------------------------------------

#[actix_rt::test]
async fn a_customer_reads_neither_gradings_nor_the_contractors_assessment_of_them() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    app.patch(
        &format!("/api/v1/customers/{}", d.customer),
        &d.admin,
        json!({"serious_problems": true}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/customers/{}/gradings", d.customer),
        &d.engineer,
        json!({"operating_score": 90, "payment_score": 60, "cooperation_score": 70}),
    )
    .await
    .expect(201);
    app.get(
        &format!("/api/v1/customers/{}/gradings", d.customer),
        &d.owner,
    )
    .await
    .expect_problem(403, "forbidden");
    app.get(
        &format!("/api/v1/customers/{}/gradings", d.customer),
        &d.engineer,
    )
    .await
    .expect(200);
    let mine = app
        .get(&format!("/api/v1/customers/{}", d.customer), &d.owner)
        .await;
    mine.expect(200);
    assert_eq!(mine.body["serious_problems"], Value::Null);
    assert_eq!(mine.body["required_visitor_rank_reason"], Value::Null);
    let staff = app
        .get(&format!("/api/v1/customers/{}", d.customer), &d.engineer)
        .await;
    assert_eq!(staff.body["serious_problems"], true);
    // the ledger's review comment stays with the contractor
    app.complete_contacts(&d.pm, d.project).await;
    app.post(
        &format!("/api/v1/projects/{}/ledger/submission", d.project),
        &d.pm,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/projects/{}/ledger/review", d.project),
        &d.engineer,
        json!({"decision": "return", "comment": "物业经理电话缺失"}),
    )
    .await
    .expect(200);
    let staff = app
        .get(&format!("/api/v1/projects/{}", d.project), &d.engineer)
        .await;
    assert_eq!(staff.body["ledger"]["review_comment"], "物业经理电话缺失");
    let mine = app
        .get(&format!("/api/v1/projects/{}", d.project), &d.owner)
        .await;
    mine.expect(200);
    assert_eq!(mine.body["ledger"]["review_comment"], Value::Null);
    let list = app.get("/api/v1/projects", &d.owner).await;
    assert_eq!(
        list.body["items"][0]["ledger"]["review_comment"],
        Value::Null
    );
}

// ---- the project department ----------------------------------------------

#[actix_rt::test]
async fn staff_of_a_branch_do_not_act_as_the_project_department() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let mut ids = vec![];
    for _ in 0..2 {
        let id = d.register(&app).await;
        app.post(
            &format!("/api/v1/complaints/{id}/judgment"),
            &d.engineer,
            json!({"liability": "ours", "severity": "minor", "reasoning": "ours"}),
        )
        .await
        .expect(200);
        ids.push(id);
    }
    let resolve = json!({"summary": "redone"});
    app.post(
        &format!("/api/v1/complaints/{}/resolution", ids[0]),
        &d.branch_staff,
        resolve.clone(),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/complaints/{}/resolution", ids[1]),
        &d.dept_staff,
        resolve,
    )
    .await
    .expect(200);
}

// ---- the branch's revisit -------------------------------------------------

#[actix_rt::test]
async fn only_a_visit_by_the_branch_meets_a_complaints_revisit_clock() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let path = |tail: &str| format!("/api/v1/complaints/{id}/{tail}");
    // a complaint visit while it is still being handled meets nothing
    app.post(
        &path("judgment"),
        &d.engineer,
        json!({"liability": "ours", "severity": "minor", "reasoning": "ours"}),
    )
    .await
    .expect(200);
    app.post(&path("resolution"), &d.pm, json!({"summary": "redone"}))
        .await
        .expect(200);
    let revisit = |body: &Value| -> Value {
        body["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["rule"] == "complaint.revisit")
            .cloned()
            .unwrap()
    };
    let complaint_visit = json!({"kind": "complaint", "complaint_id": id});
    app.post(
        "/api/v1/visits",
        &d.pm,
        visit(d.project, app.clock.now(), complaint_visit.clone()),
    )
    .await
    .expect(201);
    let c = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(revisit(&c.body)["status"], "pending", "{}", c.body);
    app.post(
        "/api/v1/visits",
        &d.engineer,
        visit(d.project, app.clock.now(), complaint_visit),
    )
    .await
    .expect(201);
    let c = app
        .get(&format!("/api/v1/complaints/{id}"), &d.engineer)
        .await;
    assert_eq!(revisit(&c.body)["status"], "met");
}

// ---- plans under re-review -------------------------------------------------

#[actix_rt::test]
async fn progress_is_reported_only_on_a_plan_in_force_and_with_the_current_version() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/complaints",
            &d.engineer,
            complaint(d.project, app.clock.now(), json!({"sent_to_group": true})),
        )
        .await;
    let id = id_of(&r.body);
    app.post(
        &format!("/api/v1/complaints/{id}/judgment"),
        &d.engineer,
        json!({"liability": "ours", "severity": "serious", "reasoning": "ours"}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/complaints/{id}/rectification-plans"),
            &d.pm,
            json!({
                "milestones": [{"due_on": "2026-03-10", "description": "拆除 remove"},
                               {"due_on": "2026-03-20", "description": "新做 redo"}],
                "resources": {"people": ["防水班组 6 人"], "equipment": [], "materials": []},
                "expected_result": "无渗漏 no leak"
            }),
        )
        .await;
    r.expect(201);
    let plan = id_of(&r.body);
    let p = |tail: &str| format!("/api/v1/rectification-plans/{plan}/{tail}");
    app.post(&p("submission"), &d.pm, json!({}))
        .await
        .expect(200);
    app.post(
        &p("review"),
        &d.engineer,
        json!({"decision": "pass", "covers_all_points": true}),
    )
    .await
    .expect(200);
    let approved = app
        .post(&p("approval"), &d.leader, json!({"decision": "approve"}))
        .await;
    approved.expect(200);
    let progress = json!({"reported_on": app.clock.now().date_naive(), "percent": 10,
                          "note": "开工 started", "resources_in_place": true});
    // a stale version is refused; the current one is taken
    let stale = app
        .send(
            TestRequest::post()
                .uri(&p("progress"))
                .insert_header(("Authorization", format!("Bearer {}", d.pm)))
                .insert_header(("If-Match", "\"1\""))
                .set_json(&progress),
        )
        .await;
    stale.expect_problem(412, "version_mismatch");
    let etag = approved.header("etag").unwrap();
    let ok = app
        .send(
            TestRequest::post()
                .uri(&p("progress"))
                .insert_header(("Authorization", format!("Bearer {}", d.pm)))
                .insert_header(("If-Match", etag))
                .set_json(&progress),
        )
        .await;
    ok.expect(200);
    // a group complaint's revision sends the plan back to review
    app.post(
        &p("revision"),
        &d.pm,
        json!({"milestones": [{"due_on": "2026-03-10", "description": "拆除 remove"},
                              {"due_on": "2026-03-27", "description": "新做 redo"}],
               "reason": "材料延迟 late membrane"}),
    )
    .await
    .expect(200);
    app.post(&p("progress"), &d.pm, progress)
        .await
        .expect_problem(409, "invalid_transition");
}

// ---- instants and dates -----------------------------------------------------

#[actix_rt::test]
async fn instants_outside_2000_to_9999_are_refused_naming_the_field() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    for bad in [
        "-5000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "+10000-01-01T00:00:00Z",
    ] {
        let mut body = complaint(d.project, app.clock.now(), json!({}));
        body["received_at"] = json!(bad);
        let r = app.post("/api/v1/complaints", &d.engineer, body).await;
        r.expect_problem(422, "invalid_field");
        assert_eq!(r.fields(), vec!["received_at"], "{bad}");
    }
    let r = app
        .get(
            "/api/v1/complaints?received_from=1999-12-31T23:59:59Z",
            &d.engineer,
        )
        .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.fields(), vec!["received_from"]);
    app.get(
        "/api/v1/complaints?received_from=2000-01-01T00:00:00Z",
        &d.engineer,
    )
    .await
    .expect(200);
    // the first instant of 2000 is one the service stores
    let mut body = complaint(d.project, app.clock.now(), json!({}));
    body["received_at"] = json!("2000-01-01T00:00:00Z");
    app.post("/api/v1/complaints", &d.engineer, body)
        .await
        .expect(201);
}

#[actix_rt::test]
async fn an_app_complaint_is_received_at_most_7_days_before_it_is_registered() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let app_complaint = |at: DateTime<Utc>| complaint(d.project, at, json!({"channel": "app"}));
    let now = app.clock.now();
    let r = app
        .post(
            "/api/v1/complaints",
            &d.owner,
            app_complaint(now - Duration::days(7) - Duration::minutes(1)),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["received_at"]);
    app.post(
        "/api/v1/complaints",
        &d.owner,
        app_complaint(now - Duration::days(7) + Duration::minutes(1)),
    )
    .await
    .expect(201);
    // paper arrives late: staff enter older ones
    app.post(
        "/api/v1/complaints",
        &d.engineer,
        complaint(d.project, now - Duration::days(30), json!({})),
    )
    .await
    .expect(201);
}

#[actix_rt::test]
async fn a_customer_account_registers_at_most_20_complaints_a_day() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let body = || complaint(d.project, app.clock.now(), json!({"channel": "app"}));
    for _ in 0..20 {
        app.post("/api/v1/complaints", &d.owner, body())
            .await
            .expect(201);
        app.clock.advance(Duration::minutes(1));
    }
    let r = app.post("/api/v1/complaints", &d.owner, body()).await;
    r.expect_problem(429, "daily_complaint_limit");
    let wait: i64 = r.header("retry-after").unwrap().parse().unwrap();
    // the first of the twenty is a day old in 24 h - 20 min
    assert_eq!(wait, 24 * 3600 - 20 * 60);
    // staff are not limited by the customer's count
    app.post(
        "/api/v1/complaints",
        &d.engineer,
        complaint(d.project, app.clock.now(), json!({})),
    )
    .await
    .expect(201);
    app.clock.advance(Duration::seconds(wait));
    app.post("/api/v1/complaints", &d.owner, body())
        .await
        .expect(201);
}

// ---- people named in a body, and the clocks people hold ---------------------

#[actix_rt::test]
async fn another_branchs_user_named_as_a_visitor_is_404_naming_the_field() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let north_engineer = app.get("/api/v1/me", &d.north).await.body["user"]["id"].clone();
    for visitor in [north_engineer, json!(999_999)] {
        let r = app
            .post(
                "/api/v1/visits",
                &d.engineer,
                visit(
                    d.project,
                    app.clock.now() - Duration::hours(1),
                    json!({"visitor_ids": [visitor]}),
                ),
            )
            .await;
        r.expect_problem(404, "not_found");
        assert_eq!(r.fields(), vec!["visitor_ids[0]"]);
    }
}

#[actix_rt::test]
async fn the_visitor_reads_the_clock_of_their_own_visit_record_under_their_role() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            visit(d.project, app.clock.now() - Duration::hours(1), json!({})),
        )
        .await;
    r.expect(201);
    let visit_id = id_of(&r.body);
    let clocks = app
        .get(
            &format!("/api/v1/deadlines?subject_type=visit&subject_id={visit_id}"),
            &d.engineer,
        )
        .await;
    clocks.expect(200);
    let clock = &clocks.body["items"][0];
    assert_eq!(clock["rule"], "visit.record");
    let own = app
        .get(&format!("/api/v1/deadlines/{}", clock["id"]), &d.pm)
        .await;
    own.expect(200);
    assert_eq!(own.body["assignee_role"], "project_manager");
}

// ---- the owner's own view ---------------------------------------------------

#[actix_rt::test]
async fn the_owner_sees_their_projects_warranty_open_complaints_and_visits_to_confirm() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let r = app
        .post(
            "/api/v1/visits",
            &d.engineer,
            visit(d.project, app.clock.now() - Duration::hours(1), json!({})),
        )
        .await;
    let visit_id = id_of(&r.body);
    let mine = app.get("/api/v1/me/projects", &d.owner).await;
    mine.expect(200);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let p = &items[0];
    assert_eq!(p["project"]["id"], d.project);
    assert_eq!(p["open_complaint_ids"], json!([id]));
    assert_eq!(p["visits_awaiting_confirmation"], json!([visit_id]));
    // completed 2026-02-27: waterproofing (5 years) is under warranty today
    let waterproofing = p["warranty"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == "waterproofing")
        .unwrap();
    assert_eq!(waterproofing["under_warranty"], true);
    assert_eq!(waterproofing["ends_on"], "2031-02-27");
    // the other owner has none of it
    let other = app.get("/api/v1/me/projects", &d.other_owner).await;
    assert!(other.body["items"].as_array().unwrap().is_empty());
    // once confirmed, the visit waits no more
    app.post(
        &format!("/api/v1/visits/{visit_id}/confirmation"),
        &d.owner,
        json!({}),
    )
    .await
    .expect(200);
    let mine = app.get("/api/v1/me/projects", &d.owner).await;
    assert_eq!(
        mine.body["items"][0]["visits_awaiting_confirmation"],
        json!([])
    );
    // staff have their own lists
    app.get("/api/v1/me/projects", &d.pm)
        .await
        .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn the_owner_sees_each_open_complaint_with_who_has_it_in_hand() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let id = d.register(&app).await;
    let handler = |body: &Value| -> (Value, Value, Value) {
        let c = &body["items"][0];
        (
            c["handled_by_role"].clone(),
            c["handled_by_unit_name"].clone(),
            c["evaluation_awaited"].clone(),
        )
    };
    let r = app.get("/api/v1/me/complaints", &d.owner).await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["complaint"]["id"], id);
    assert_eq!(
        handler(&r.body),
        (json!("branch_engineer"), json!("East Branch"), json!(false))
    );
    app.post(
        &format!("/api/v1/complaints/{id}/judgment"),
        &d.engineer,
        json!({"liability": "ours", "severity": "minor", "reasoning": "our waterproofing"}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/me/complaints", &d.owner).await;
    assert_eq!(
        handler(&r.body),
        (json!("project_manager"), json!("East PD 1"), json!(false))
    );
    // the judgment's reasoning stays the contractor's
    assert_eq!(
        r.body["items"][0]["complaint"]["judgment"]["reasoning"],
        Value::Null
    );
    app.post(
        &format!("/api/v1/complaints/{id}/resolution"),
        &d.pm,
        json!({"summary": "redone"}),
    )
    .await
    .expect(200);
    let r = app.get("/api/v1/me/complaints", &d.owner).await;
    assert_eq!(
        handler(&r.body),
        (json!("branch_engineer"), json!("East Branch"), json!(true))
    );
    app.post(
        &format!("/api/v1/complaints/{id}/evaluation"),
        &d.owner,
        json!({"rating": "very_satisfied"}),
    )
    .await
    .expect(200);
    // closed: not among the open ones, still in the whole list
    let r = app.get("/api/v1/me/complaints", &d.owner).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = app.get("/api/v1/me/complaints?open=false", &d.owner).await;
    assert_eq!(r.body["items"][0]["handled_by_role"], Value::Null);
    app.get("/api/v1/me/complaints", &d.engineer)
        .await
        .expect_problem(403, "forbidden");
}

// ---- project codes ------------------------------------------------------------

#[actix_rt::test]
async fn a_project_code_is_unique_within_its_branch_and_another_branchs_is_no_conflict() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let north_customer = app.customer(&d.admin, "North owner", d.org.north).await;
    app.user(
        &d.admin,
        "north.pm",
        "project_manager",
        Some(d.org.north_pd),
    )
    .await;
    let north_pm = app.token("north.pm", PASSWORD).await;
    let body = |code: &str, dept: i64, customer: i64| {
        json!({"code": code, "name": "x", "address": "y", "project_department_id": dept,
               "customer_id": customer, "completion_accepted_on": "2026-02-27", "handover_on": "2026-03-02"})
    };
    // the east project is HD-R-1; the north may number one the same
    let r = app
        .post(
            "/api/v1/projects",
            &north_pm,
            body("HD-R-1", d.org.north_pd, north_customer),
        )
        .await;
    r.expect(201);
    let north_project = id_of(&r.body);
    // within the east, the code is taken
    app.post(
        "/api/v1/projects",
        &d.pm,
        body("HD-R-1", d.org.east_pd, d.customer),
    )
    .await
    .expect_problem(409, "code_taken");
    // moved into the east branch, the north project's code collides
    app.patch(
        &format!("/api/v1/projects/{north_project}"),
        &d.admin,
        json!({"project_department_id": d.org.east_pd, "customer_id": d.customer}),
    )
    .await
    .expect_problem(409, "code_taken");
}
