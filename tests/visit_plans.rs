//! Visit plans (004 §5.2, A.2; 000 §2–3): generated drafts that satisfy
//! every frequency and season rule, submission and approval that check
//! them (with the report), who may visit whom, even spreading, the plan's
//! table, and items that become tasks and are carried out by visit records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use chrono::{Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

struct Desk {
    admin: String,
    /// east branch engineering department (a manager)
    engineer: String,
    engineer_id: i64,
    /// a second manager and a staff-rank member of the east branch
    manager2_id: i64,
    junior_id: i64,
    group: String,
    pm: String,
    pm_id: i64,
    org: Org,
    /// a tier-A customer
    customer: i64,
}

async fn user_with_rank<S, B>(
    app: &TestApp<S>,
    admin: &str,
    name: &str,
    role: &str,
    unit: i64,
    rank: &str,
) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .post(
            "/api/v1/users",
            admin,
            json!({"username": name, "display_name": name, "role": role, "org_unit_id": unit,
                   "rank": rank, "password": PASSWORD}),
        )
        .await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

async fn desk<S, B>(app: &TestApp<S>) -> Desk
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let engineer_id = user_with_rank(
        app,
        &admin,
        "east.engineer",
        "branch_engineer",
        org.east,
        "manager",
    )
    .await;
    let manager2_id =
        user_with_rank(app, &admin, "east.manager2", "staff", org.east, "manager").await;
    let junior_id = user_with_rank(app, &admin, "east.junior", "staff", org.east, "staff").await;
    user_with_rank(
        app,
        &admin,
        "group.engineer",
        "group_engineer",
        org.group,
        "manager",
    )
    .await;
    let pm_id = user_with_rank(
        app,
        &admin,
        "east.pm",
        "project_manager",
        org.east_pd,
        "manager",
    )
    .await;
    let customer = app.customer(&admin, "Tier A owner", org.east).await;
    app.post(
        &format!("/api/v1/customers/{customer}/gradings"),
        &admin,
        json!({"operating_score": 95, "payment_score": 95, "cooperation_score": 95}),
    )
    .await
    .expect(201);
    Desk {
        engineer: app.token("east.engineer", PASSWORD).await,
        group: app.token("group.engineer", PASSWORD).await,
        pm: app.token("east.pm", PASSWORD).await,
        admin,
        engineer_id,
        manager2_id,
        junior_id,
        pm_id,
        org,
        customer,
    }
}

async fn spawn_long() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let app = spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await;
    // after the key project below was completed
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 20, 1, 0, 0).unwrap());
    app
}

/// A key project with HVAC in our contract, completed on 10 March 2026.
async fn key_hvac_project<S, B>(app: &TestApp<S>, d: &Desk, code: &str) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .post(
            "/api/v1/projects",
            &d.pm,
            json!({"code": code, "name": code, "address": "1 River Road",
                   "project_department_id": d.org.east_pd, "customer_id": d.customer,
                   "completion_accepted_on": "2026-03-10", "handover_on": "2026-03-15",
                   "is_key_project": true, "hvac_in_scope": true}),
        )
        .await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

async fn branch_plan<S, B>(app: &TestApp<S>, d: &Desk, generate: bool) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.engineer,
            json!({"level": "branch", "org_unit_id": d.org.east, "year": 2026, "generate": generate}),
        )
        .await;
    r.expect(201);
    r.body.clone()
}

fn rules_of(plan: &Value) -> Vec<String> {
    plan["compliance"]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["requirements"].as_array().unwrap().iter())
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect()
}

#[actix_rt::test]
async fn a_generated_branch_plan_for_a_key_hvac_project_passes_every_rule() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = key_hvac_project(&app, &d, "KEY-1").await;
    let plan = branch_plan(&app, &d, true).await;
    assert_eq!(plan["status"], "draft");
    assert_eq!(
        plan["compliance"]["compliant"], true,
        "{}",
        plan["compliance"]
    );
    let rules = rules_of(&plan);
    for rule in [
        "quarterly_phone",
        "half_year_onsite",
        "key_first_year",
        "key_before_rain",
        "key_during_rain",
        "hvac_summer",
        "handover",
        "heating_season",
    ] {
        assert!(
            rules.iter().any(|r| r == rule),
            "{rule} missing from {rules:?}"
        );
    }
    // the winter of 2026 ended before its warranty began: not required
    assert!(!rules.iter().any(|r| r == "hvac_winter"));
    // the next year's plan has its winter, and the last quarter of the first year
    let next = app
        .post(
            "/api/v1/visit-plans",
            &d.engineer,
            json!({"level": "branch", "org_unit_id": d.org.east, "year": 2027, "generate": true}),
        )
        .await;
    next.expect(201);
    assert_eq!(next.body["compliance"]["compliant"], true);
    let next_rules = rules_of(&next.body);
    assert!(next_rules.iter().any(|r| r == "hvac_winter"));
    assert_eq!(
        next_rules.iter().filter(|r| *r == "key_first_year").count(),
        1
    );
    let items = plan["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["project_id"] == p));
    // fewer visits than requirements: one visit serves several rules
    assert!(
        items.len() < rules.len(),
        "{} items for {} rules",
        items.len(),
        rules.len()
    );
    // the customer is tier A: never a staff-rank visitor
    assert!(items.iter().all(|i| i["visitor_id"] != d.junior_id));
    // nothing before the warranty began, nothing outside the year
    assert!(items.iter().all(|i| {
        let day = i["planned_on"].as_str().unwrap();
        ("2026-03-11"..="2026-12-31").contains(&day)
    }));
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{}/submission", plan["id"]),
            &d.engineer,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["compliance"]["compliant"], true);
}

#[actix_rt::test]
async fn removing_any_required_item_makes_submission_fail_naming_the_rule_and_the_project() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = key_hvac_project(&app, &d, "KEY-2").await;
    let plan = branch_plan(&app, &d, true).await;
    let id = plan["id"].as_i64().unwrap();
    let items: Vec<Value> = plan["items"].as_array().unwrap().clone();
    for item in items.iter() {
        let r = app
            .delete(
                &format!("/api/v1/visit-plans/{id}/items/{}", item["id"]),
                &d.engineer,
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["compliance"]["compliant"], false);
        let r = app
            .post(
                &format!("/api/v1/visit-plans/{id}/submission"),
                &d.engineer,
                json!({}),
            )
            .await;
        r.expect_problem(422, "plan_not_compliant");
        let fields = r.fields();
        assert!(!fields.is_empty());
        assert!(
            fields
                .iter()
                .all(|f| f.starts_with(&format!("projects.{p}."))),
            "{fields:?}"
        );
        // put it back as it was
        app.post(
            &format!("/api/v1/visit-plans/{id}/items"),
            &d.engineer,
            json!({"project_id": p, "kind": item["kind"], "method": item["method"],
                   "planned_on": item["planned_on"], "visitor_id": item["visitor_id"]}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.engineer,
        json!({}),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn a_project_plan_has_one_onsite_item_per_project_per_month_and_is_approved_by_the_branch() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let a = key_hvac_project(&app, &d, "PP-1").await;
    let b = app.project(&d.pm, "PP-2", d.org.east_pd, d.customer).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.pm,
            json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026, "month": 5, "generate": true}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    let items = r.body["items"].as_array().unwrap();
    let mut projects: Vec<i64> = items
        .iter()
        .map(|i| i["project_id"].as_i64().unwrap())
        .collect();
    projects.sort();
    assert_eq!(projects, vec![a, b]);
    assert!(items.iter().all(|i| i["method"] == "onsite"
        && i["planned_on"].as_str().unwrap().starts_with("2026-05")
        && i["visitor_id"] == d.pm_id));
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.pm,
        json!({}),
    )
    .await
    .expect(200);
    // the group does not approve a project plan; the branch does
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.group,
        json!({"decision": "approve"}),
    )
    .await
    .expect(403);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{id}/review"),
            &d.engineer,
            json!({"decision": "approve"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
    // each item is the visitor's task, due when its day ends in Shanghai
    let tasks = app.get("/api/v1/me/tasks", &d.pm).await;
    let plan_tasks: Vec<&Value> = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["link"] == format!("/api/v1/visit-plans/{id}"))
        .collect();
    assert_eq!(plan_tasks.len(), 2);
    assert!(plan_tasks[0]["due_at"]
        .as_str()
        .unwrap()
        .ends_with("T16:00:00Z"));
}

#[actix_rt::test]
async fn a_short_plan_is_refused_and_a_returned_plan_is_revised_and_approved() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = key_hvac_project(&app, &d, "RET-1").await;
    let plan = branch_plan(&app, &d, false).await;
    let id = plan["id"].as_i64().unwrap();
    assert_eq!(plan["compliance"]["compliant"], false);
    assert_eq!(plan["compliance"]["projects"][0]["project_id"], p);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{id}/submission"),
            &d.engineer,
            json!({}),
        )
        .await;
    r.expect_problem(422, "plan_not_compliant");
    // a generated plan, returned by the group, revised, approved
    app.clock.advance(Duration::days(1));
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.engineer,
            json!({"level": "branch", "org_unit_id": d.org.east, "year": 2027, "generate": true}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    let first = r.body["items"][0].clone();
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.engineer,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.group,
        json!({"decision": "return"}),
    )
    .await
    .expect(422);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{id}/review"),
            &d.group,
            json!({"decision": "return", "comment": "give the first visit to the other manager"}),
        )
        .await;
    assert_eq!(r.body["status"], "returned");
    let r = app
        .patch(
            &format!("/api/v1/visit-plans/{id}/items/{}", first["id"]),
            &d.engineer,
            json!({"visitor_id": d.manager2_id}),
        )
        .await;
    r.expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.engineer,
        json!({}),
    )
    .await
    .expect(200);
    // a branch engineer does not approve the branch's own plan
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.engineer,
        json!({"decision": "approve"}),
    )
    .await
    .expect(403);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{id}/review"),
            &d.group,
            json!({"decision": "approve"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
}

#[actix_rt::test]
async fn a_staff_rank_visitor_for_a_tier_a_customer_is_refused_naming_the_tier_and_the_rank() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = key_hvac_project(&app, &d, "RANK-1").await;
    let plan = branch_plan(&app, &d, false).await;
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{}/items", plan["id"]),
            &d.engineer,
            json!({"project_id": p, "kind": "routine", "method": "onsite", "planned_on": "2026-05-20",
                   "visitor_id": d.junior_id}),
        )
        .await;
    r.expect_problem(422, "visitor_rank_too_low");
    assert_eq!(r.fields(), vec!["visitor_id"]);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("tier A") && detail.contains("manager"),
        "{detail}"
    );
    // a manager may; a day outside the year may not
    let ok = json!({"project_id": p, "kind": "routine", "method": "onsite", "planned_on": "2026-05-20",
                    "visitor_id": d.engineer_id});
    app.post(
        &format!("/api/v1/visit-plans/{}/items", plan["id"]),
        &d.engineer,
        ok,
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{}/items", plan["id"]),
            &d.engineer,
            json!({"project_id": p, "kind": "routine", "method": "onsite", "planned_on": "2027-01-02",
                   "visitor_id": d.engineer_id}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["planned_on"]);
}

#[actix_rt::test]
async fn generated_visits_are_spread_evenly_across_the_eligible_people() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    for n in 0..3 {
        key_hvac_project(&app, &d, &format!("SPREAD-{n}")).await;
    }
    let plan = branch_plan(&app, &d, true).await;
    let items = plan["items"].as_array().unwrap();
    let count = |id: i64| items.iter().filter(|i| i["visitor_id"] == id).count();
    let (a, b) = (count(d.engineer_id), count(d.manager2_id));
    assert_eq!(a + b, items.len(), "only managers visit a tier-A customer");
    assert!(a.abs_diff(b) <= 1, "{a} and {b}");
}

/// The plan's life cycle, written out apart from the code.
const PLAN_PAIRS: [(&str, &str, &str); 4] = [
    ("draft", "submit", "submitted"),
    ("returned", "submit", "submitted"),
    ("submitted", "approve", "approved"),
    ("submitted", "return", "returned"),
];

#[actix_rt::test]
async fn visit_plan_transition_table_every_state_and_action_pair() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    app.project(&d.pm, "T-1", d.org.east_pd, d.customer).await;
    let mut month = 0;
    for state in ["draft", "submitted", "approved", "returned"] {
        for action in ["submit", "approve", "return"] {
            month += 1;
            let r = app
                .post(
                    "/api/v1/visit-plans",
                    &d.pm,
                    json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026 + month / 12,
                           "month": month % 12 + 1, "generate": true}),
                )
                .await;
            r.expect(201);
            let id = r.body["id"].as_i64().unwrap();
            let step = |a: &str| {
                let (path, token, body) = match a {
                    "submit" => ("submission", &d.pm, json!({})),
                    "approve" => ("review", &d.engineer, json!({"decision": "approve"})),
                    _ => (
                        "review",
                        &d.engineer,
                        json!({"decision": "return", "comment": "redo"}),
                    ),
                };
                (
                    format!("/api/v1/visit-plans/{id}/{path}"),
                    token.clone(),
                    body,
                )
            };
            let path: &[&str] = match state {
                "draft" => &[],
                "submitted" => &["submit"],
                "approved" => &["submit", "approve"],
                _ => &["submit", "return"],
            };
            for a in path {
                let (p, t, b) = step(a);
                app.post(&p, &t, b).await.expect(200);
            }
            let (p, t, b) = step(action);
            let r = app.post(&p, &t, b).await;
            match PLAN_PAIRS
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
async fn a_visit_for_a_plan_item_completes_it_and_a_failed_contact_replans_it_on_site() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = app
        .project(&d.pm, "ITEM-1", d.org.east_pd, d.customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.pm,
            json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026, "month": 3, "generate": true}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let item = r.body["items"][0]["id"].as_i64().unwrap();
    // a visit carries out an item of its own kind and method
    let (kind, method) = (
        r.body["items"][0]["kind"].clone(),
        r.body["items"][0]["method"].clone(),
    );
    // not before approval
    let record = |extra: Value| {
        let mut body = json!({"project_id": p, "kind": kind, "method": method, "visited_at": app.clock.now().to_rfc3339(),
                              "outcome": "completed", "owner_phone": "13800138000", "findings": "fine", "plan_item_id": item});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    app.post("/api/v1/visits", &d.pm, record(json!({})))
        .await
        .expect_problem(409, "plan_item_not_open");
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.pm,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.engineer,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    // the owner does not answer: the item is re-planned on site
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            record(json!({"outcome": "contact_failed", "contact_failed_reason": "no answer", "owner_phone": null})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["plan_item_id"], item);
    let plan = app.get(&format!("/api/v1/visit-plans/{id}"), &d.pm).await;
    let items = plan.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let old = items.iter().find(|i| i["id"] == item).unwrap();
    let new = items.iter().find(|i| i["id"] != item).unwrap();
    assert_eq!(old["status"], "replanned");
    assert_eq!(new["status"], "planned");
    assert_eq!(new["method"], "onsite");
    assert_eq!(new["replaces_item_id"], item);
    assert!(new["planned_on"].as_str().unwrap().starts_with("2026-03"));
    // the on-site visit completes the new item
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            record(json!({"method": "onsite", "plan_item_id": new["id"]})),
        )
        .await;
    r.expect(201);
    let plan = app.get(&format!("/api/v1/visit-plans/{id}"), &d.pm).await;
    let done = plan.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == new["id"])
        .unwrap()
        .clone();
    assert_eq!(done["status"], "done");
    assert_eq!(done["visit_id"], r.body["id"]);
    // the plan still complies: the on-site visit is in the month
    assert_eq!(plan.body["compliance"]["compliant"], true);
    let _ = d.admin;
}

/// The deadlines of one rule and subject, newest first.
async fn clocks_of<S, B>(app: &TestApp<S>, token: &str, rule: &str, subject: i64) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .get(
            &format!("/api/v1/deadlines?rule={rule}&subject_id={subject}"),
            token,
        )
        .await;
    r.expect(200);
    r.body["items"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn the_branch_plan_is_compiled_within_3_days_of_1_january_and_later_needs_a_reason() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    key_hvac_project(&app, &d, "YEAR-1").await;
    user_with_rank(
        &app,
        &d.admin,
        "north.engineer",
        "branch_engineer",
        d.org.north,
        "manager",
    )
    .await;
    let north = app.token("north.engineer", PASSWORD).await;
    // the last minute of 2026 in Shanghai: nothing starts; the branches were
    // founded during 2026, so that year has no clock either
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 31, 15, 59, 0).unwrap());
    assert_eq!(
        aftercare::sweep(&app.state).await.unwrap().compile_clocks,
        0
    );
    // the year turns: one clock for each branch, once
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap());
    assert_eq!(
        aftercare::sweep(&app.state).await.unwrap().compile_clocks,
        2
    );
    assert_eq!(
        aftercare::sweep(&app.state).await.unwrap().compile_clocks,
        0
    );
    let tasks = app.get("/api/v1/me/tasks", &d.engineer).await;
    let compile: Vec<&Value> = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["rule"] == "visit_plan.compile")
        .collect();
    assert_eq!(compile.len(), 1, "the east branch's own clock only");
    assert_eq!(compile[0]["subject_id"], d.org.east);
    assert_eq!(compile[0]["due_at"], "2027-01-03T16:00:00Z");
    assert!(compile[0]["title"].as_str().unwrap().contains("2027"));

    // east submits at 71 h 59 min: on time
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 3, 15, 59, 0).unwrap());
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.engineer,
            json!({"level": "branch", "org_unit_id": d.org.east, "year": 2027, "generate": true}),
        )
        .await;
    r.expect(201);
    app.post(
        &format!("/api/v1/visit-plans/{}/submission", r.body["id"]),
        &d.engineer,
        json!({}),
    )
    .await
    .expect(200);
    let east = clocks_of(&app, &d.engineer, "visit_plan.compile", d.org.east).await;
    assert_eq!(east[0]["status"], "met");

    // north at 72 h 01 min: refused without a reason, kept with one
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 3, 16, 1, 0).unwrap());
    let r = app
        .post(
            "/api/v1/visit-plans",
            &north,
            json!({"level": "branch", "org_unit_id": d.org.north, "year": 2027, "generate": true}),
        )
        .await;
    r.expect(201);
    let submission = format!("/api/v1/visit-plans/{}/submission", r.body["id"]);
    let refused = app.post(&submission, &north, json!({})).await;
    refused.expect_problem(422, "deadline_passed");
    assert_eq!(refused.fields(), vec!["late_reason"]);
    let r = app
        .post(
            &submission,
            &north,
            json!({"late_reason": "the ledger of a new project arrived on 3 January"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "submitted");
    let clock = clocks_of(&app, &north, "visit_plan.compile", d.org.north).await;
    assert_eq!(clock[0]["status"], "met_late");
    // a plan compiled already stops the next sweep from starting one
    assert_eq!(
        aftercare::sweep(&app.state).await.unwrap().compile_clocks,
        0
    );
}

#[actix_rt::test]
async fn a_new_projects_first_plan_is_compiled_within_3_days_of_its_ledgers_approval() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let approve_ledger = |project: i64| {
        let (app, d) = (&app, &d);
        async move {
            app.complete_contacts(&d.pm, project).await;
            app.post(
                &format!("/api/v1/projects/{project}/ledger/submission"),
                &d.pm,
                json!({"late_reason": "entered after the handover"}),
            )
            .await
            .expect(200);
            app.post(
                &format!("/api/v1/projects/{project}/ledger/review"),
                &d.engineer,
                json!({"decision": "approve"}),
            )
            .await
            .expect(200);
        }
    };
    let first = key_hvac_project(&app, &d, "FIRST-1").await;
    approve_ledger(first).await;
    // approved at 2026-03-20 01:00Z: the project manager's task, due 72 h later
    let tasks = app.get("/api/v1/me/tasks", &d.pm).await;
    let compile: Vec<&Value> = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["rule"] == "visit_plan.compile.project")
        .collect();
    assert_eq!(compile.len(), 1);
    assert_eq!(compile[0]["subject_id"], first);
    assert_eq!(compile[0]["due_at"], "2026-03-23T01:00:00Z");
    let plan = |month: u32| {
        let (app, d) = (&app, &d);
        async move {
            let r = app
                .post(
                    "/api/v1/visit-plans",
                    &d.pm,
                    json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026,
                           "month": month, "generate": true}),
                )
                .await;
            r.expect(201);
            format!("/api/v1/visit-plans/{}/submission", r.body["id"])
        }
    };
    // submitted at 71 h 59 min: on time
    app.clock.advance(Duration::minutes(71 * 60 + 59));
    let submission = plan(4).await;
    app.post(&submission, &d.pm, json!({})).await.expect(200);
    assert_eq!(
        clocks_of(&app, &d.pm, "visit_plan.compile.project", first).await[0]["status"],
        "met"
    );

    // a second project, its plan submitted at 72 h 01 min
    let second = key_hvac_project(&app, &d, "FIRST-2").await;
    approve_ledger(second).await;
    app.clock.advance(Duration::minutes(72 * 60 + 1));
    let submission = plan(5).await;
    let refused = app.post(&submission, &d.pm, json!({})).await;
    refused.expect_problem(422, "deadline_passed");
    assert_eq!(refused.fields(), vec!["late_reason"]);
    app.post(
        &submission,
        &d.pm,
        json!({"late_reason": "the owner's contacts changed after the approval"}),
    )
    .await
    .expect(200);
    assert_eq!(
        clocks_of(&app, &d.pm, "visit_plan.compile.project", second).await[0]["status"],
        "met_late"
    );
}

#[actix_rt::test]
async fn a_project_in_formal_operation_gets_its_equipment_visit_a_month_later() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = key_hvac_project(&app, &d, "EQUIP-1").await;
    let plan = branch_plan(&app, &d, true).await;
    assert!(!rules_of(&plan).iter().any(|r| r == "equipment"));
    let project = app.get(&format!("/api/v1/projects/{p}"), &d.pm).await;
    assert_eq!(project.body["systems_in_operation_on"], Value::Null);
    let r = app
        .patch(
            &format!("/api/v1/projects/{p}"),
            &d.pm,
            json!({"systems_in_operation_on": "2026-07-15"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["systems_in_operation_on"], "2026-07-15");
    // the plan made before the date was known now misses the visit
    let compliance = format!("/api/v1/visit-plans/{}/compliance", plan["id"]);
    let stale = app.get(&compliance, &d.engineer).await;
    assert_eq!(stale.body["compliant"], false);
    let missing: Vec<&Value> = stale.body["projects"][0]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["met"] == false)
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["rule"], "equipment");
    // a phone call does not do, nor a visit before the month has run
    for (method, day) in [("phone", "2026-08-17"), ("onsite", "2026-08-14")] {
        let r = app
            .post(
                &format!("/api/v1/visit-plans/{}/items", plan["id"]),
                &d.engineer,
                json!({"project_id": p, "kind": "equipment", "method": method, "planned_on": day,
                       "visitor_id": d.engineer_id}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["compliance"]["compliant"], false, "{method} {day}");
    }
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{}/items", plan["id"]),
            &d.engineer,
            json!({"project_id": p, "kind": "equipment", "method": "onsite", "planned_on": "2026-08-17",
                   "visitor_id": d.engineer_id}),
        )
        .await;
    assert_eq!(r.body["compliance"]["compliant"], true);
    // commissioned in December: the generated 2027 plan places it in the new year
    let version = app.get(&format!("/api/v1/projects/{p}"), &d.pm).await.body["version"].clone();
    app.send(
        actix_web::test::TestRequest::patch()
            .uri(&format!("/api/v1/projects/{p}"))
            .insert_header(("Authorization", format!("Bearer {}", d.pm)))
            .insert_header(("If-Match", format!("\"{version}\"")))
            .set_json(json!({"systems_in_operation_on": "2026-12-20"})),
    )
    .await
    .expect(200);
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.engineer,
            json!({"level": "branch", "org_unit_id": d.org.east, "year": 2027, "generate": true}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["compliance"]["compliant"], true);
    let equipment: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "equipment")
        .collect();
    assert_eq!(equipment.len(), 1);
    let day = equipment[0]["planned_on"].as_str().unwrap();
    assert!(("2027-01-20"..="2027-02-19").contains(&day), "{day}");
    assert_eq!(equipment[0]["method"], "onsite");
}

/// An approved project plan for March 2026 of a new project, with the
/// first item: (plan id, project id, item).
async fn approved_march_plan<S, B>(app: &TestApp<S>, d: &Desk, code: &str) -> (i64, i64, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let p = app.project(&d.pm, code, d.org.east_pd, d.customer).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.pm,
            json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026, "month": 3, "generate": true}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    let item = r.body["items"][0].clone();
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.pm,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.engineer,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    (id, p, item)
}

#[actix_rt::test]
async fn a_plan_item_is_carried_out_only_by_its_visitor_or_one_of_the_rank_named_on_the_record() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let (_, p, item) = approved_march_plan(&app, &d, "ITEM-WHO").await;
    assert_eq!(item["visitor_id"], d.pm_id);
    let body = |extra: Value| {
        let mut b = json!({"project_id": p, "kind": item["kind"], "method": item["method"],
            "visited_at": app.clock.now().to_rfc3339(), "outcome": "completed",
            "people_met": [{"name": "李经理"}], "findings": "fine", "plan_item_id": item["id"]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    // a staff-rank visitor of the branch, for a tier-A customer: no
    let junior = app.token("east.junior", PASSWORD).await;
    let r = app.post("/api/v1/visits", &junior, body(json!({}))).await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["plan_item_id"]);
    // another method or kind than planned: no
    let other_method = if item["method"] == "onsite" {
        "phone"
    } else {
        "onsite"
    };
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            body(json!({"method": other_method, "owner_phone": "13800138000"})),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["method"]);
    let r = app
        .post("/api/v1/visits", &d.pm, body(json!({"kind": "technical"})))
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["kind"]);
    // a manager of the branch named on the record carries it out
    let manager2 = app.token("east.manager2", PASSWORD).await;
    app.post("/api/v1/visits", &manager2, body(json!({})))
        .await
        .expect(201);
}

#[actix_rt::test]
async fn a_plan_item_is_carried_out_only_within_its_plans_period() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let (_, p, item) = approved_march_plan(&app, &d, "ITEM-WHEN").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 1, 3, 0, 0).unwrap());
    // 1 April 08:00 in Shanghai: the plan covers March only
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            json!({"project_id": p, "kind": item["kind"], "method": item["method"],
                   "visited_at": "2026-04-01T00:00:00Z", "outcome": "completed",
                   "people_met": [{"name": "李经理"}], "findings": "fine", "plan_item_id": item["id"],
                   "late_reason": "forgot"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["visited_at"]);
}

#[actix_rt::test]
async fn visit_perform_is_judged_on_the_visits_own_day_not_when_it_is_recorded() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let (_, p, item) = approved_march_plan(&app, &d, "ITEM-DAY").await;
    let day = chrono::NaiveDate::parse_from_str(item["planned_on"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    // visited at 15:00 on the planned day (07:00 UTC), recorded at 09:00
    // the next morning (01:00 UTC): within the 24 hours, on time for the day
    let visited = Utc.from_utc_datetime(&day.and_hms_opt(7, 0, 0).unwrap());
    app.clock.set(visited + Duration::hours(18));
    let r = app
        .post(
            "/api/v1/visits",
            &d.pm,
            json!({"project_id": p, "kind": item["kind"], "method": item["method"],
                   "visited_at": visited.to_rfc3339(), "outcome": "completed",
                   "people_met": [{"name": "李经理"}], "findings": "fine", "plan_item_id": item["id"]}),
        )
        .await;
    r.expect(201);
    let clocks = clocks_of(
        &app,
        &d.engineer,
        "visit.perform",
        item["id"].as_i64().unwrap(),
    )
    .await;
    assert_eq!(clocks[0]["status"], "met", "{clocks:?}");
    assert_eq!(
        clocks[0]["met_at"],
        visited.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
}

#[actix_rt::test]
async fn a_plan_item_dated_before_today_is_refused_when_added_and_when_the_plan_is_approved() {
    let app = spawn_long().await;
    let d = desk(&app).await;
    let p = app
        .project(&d.pm, "ITEM-PAST", d.org.east_pd, d.customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            "/api/v1/visit-plans",
            &d.pm,
            json!({"level": "project", "org_unit_id": d.org.east_pd, "year": 2026, "month": 3, "generate": true}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let item = r.body["items"][0].clone();
    // today is 20 March in Shanghai
    let add = |day: &str| {
        json!({"project_id": p, "kind": "technical", "method": "onsite", "planned_on": day,
               "visitor_id": d.pm_id})
    };
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{id}/items"),
            &d.pm,
            add("2026-03-19"),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["planned_on"]);
    app.post(
        &format!("/api/v1/visit-plans/{id}/items"),
        &d.pm,
        add("2026-03-20"),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{id}/submission"),
        &d.pm,
        json!({}),
    )
    .await
    .expect(200);
    // the first item's day passes while the plan waits for approval
    let day = chrono::NaiveDate::parse_from_str(item["planned_on"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    app.clock
        .set(Utc.from_utc_datetime(&(day + chrono::Days::new(1)).and_hms_opt(1, 0, 0).unwrap()));
    app.post(
        &format!("/api/v1/visit-plans/{id}/review"),
        &d.engineer,
        json!({"decision": "approve"}),
    )
    .await
    .expect_problem(422, "items_in_the_past");
}
