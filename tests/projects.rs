//! The completed-projects ledger: statutory warranty terms, warranty status,
//! contacts, the submission/review workflow and its scope (004 §5.1;
//! seeds 004 §5.1, appendix C, A.2; 002; 003 §3.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

fn term<'a>(terms: &'a Value, category: &str) -> &'a Value {
    terms
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == category)
        .unwrap()
}

#[actix_rt::test]
async fn default_warranty_terms_match_the_statutory_table() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let p = app.project(&admin, "P-1", org.east_pd, c).await;
    assert_eq!(
        p["warranty_starts_on"], "2026-02-28",
        "the day after completion acceptance"
    );
    let id = p["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/v1/projects/{id}/warranty-terms"), &admin)
        .await;
    r.expect(200);
    let terms = &r.body;
    assert_eq!(
        terms.as_array().unwrap().len(),
        6,
        "every statutory category, `other` only by contract"
    );
    let expect = [
        ("foundation_structure", json!(50), json!(null), "2076-02-27"),
        ("waterproofing", json!(5), json!(null), "2031-02-27"),
        ("heating_cooling", json!(null), json!(2), "2028-03-15"),
        ("electrical_plumbing", json!(2), json!(null), "2028-02-27"),
        (
            "equipment_installation",
            json!(2),
            json!(null),
            "2028-02-27",
        ),
        ("decoration", json!(2), json!(null), "2028-02-27"),
    ];
    for (category, years, periods, ends) in expect {
        let t = term(terms, category);
        assert_eq!(t["years"], years, "{category}");
        assert_eq!(t["periods"], periods, "{category}");
        assert_eq!(t["starts_on"], "2026-02-28", "{category}");
        assert_eq!(t["ends_on"], ends, "{category}");
    }
    assert_eq!(
        term(terms, "heating_cooling")["statutory_minimum"],
        json!({"value": 2, "unit": "periods"})
    );
    assert_eq!(
        term(terms, "foundation_structure")["statutory_minimum"],
        json!({"value": 50, "unit": "years"})
    );
}

#[actix_rt::test]
async fn shortening_a_term_below_the_statutory_minimum_is_refused() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let id = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let path = |cat: &str| format!("/api/v1/projects/{id}/warranty-terms/{cat}");

    let r = app
        .put(&path("waterproofing"), &admin, json!({"years": 3}))
        .await;
    r.expect_problem(422, "warranty_below_minimum");
    assert_eq!(r.fields(), vec!["years"]);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("waterproofing") && detail.contains("5 years"),
        "{detail}"
    );
    let r = app
        .put(&path("heating_cooling"), &admin, json!({"periods": 1}))
        .await;
    r.expect_problem(422, "warranty_below_minimum");
    assert_eq!(r.fields(), vec!["periods"]);
    let r = app
        .put(&path("foundation_structure"), &admin, json!({"years": 30}))
        .await;
    r.expect_problem(422, "warranty_below_minimum");
    assert!(r.body["detail"].as_str().unwrap().contains("50 years"));
    // nothing changed
    let terms = app
        .get(&format!("/api/v1/projects/{id}/warranty-terms"), &admin)
        .await
        .body;
    assert_eq!(term(&terms, "waterproofing")["years"], 5);

    // lengthening is fine, and moves the end
    let r = app
        .put(
            &path("waterproofing"),
            &admin,
            json!({"years": 8, "note": "contract §12.3"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ends_on"], "2034-02-27");
    assert_eq!(r.body["note"], "contract §12.3");
    // the unit must fit the category
    app.put(&path("heating_cooling"), &admin, json!({"years": 3}))
        .await
        .expect_problem(422, "validation_failed");
    app.put(&path("decoration"), &admin, json!({"periods": 3}))
        .await
        .expect_problem(422, "validation_failed");
    // `other` is as contracted: any length creates it
    let r = app
        .put(
            &path("other"),
            &admin,
            json!({"years": 1, "note": "landscaping"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["statutory_minimum"], json!(null));
    assert_eq!(r.body["ends_on"], "2027-02-27");
    // an unknown category is a bad path
    app.put(&path("roof"), &admin, json!({"years": 9}))
        .await
        .expect_problem(400, "invalid_path_parameter");
}

#[actix_rt::test]
async fn warranty_status_before_inside_and_after_a_term() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let id = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let status =
        |on: &str| format!("/api/v1/projects/{id}/warranty-status?on={on}&category=waterproofing");
    let r = app.get(&status("2026-02-27"), &admin).await;
    r.expect(200);
    assert_eq!(
        r.body["under_warranty"], false,
        "the acceptance day itself is before the start"
    );
    assert_eq!(r.body["under_warranty_until"], json!(null));
    let r = app.get(&status("2026-02-28"), &admin).await;
    assert_eq!(r.body["under_warranty"], true);
    assert_eq!(r.body["under_warranty_until"], "2031-02-27");
    let r = app.get(&status("2031-02-27"), &admin).await;
    assert_eq!(r.body["under_warranty"], true, "the last day is covered");
    let r = app.get(&status("2031-02-28"), &admin).await;
    assert_eq!(r.body["under_warranty"], false);
    assert_eq!(r.body["terms"][0]["ends_on"], "2031-02-27");
    // decoration ends earlier; the structure much later
    let r = app
        .get(
            &format!("/api/v1/projects/{id}/warranty-status?on=2029-01-01"),
            &admin,
        )
        .await;
    assert_eq!(r.body["under_warranty"], true);
    assert_eq!(r.body["under_warranty_until"], "2076-02-27");
    let deco = r.body["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == "decoration")
        .unwrap();
    assert_eq!(deco["under_warranty"], false);
    // without `on`: today in the company's time zone (2026-03-02)
    let r = app
        .get(
            &format!("/api/v1/projects/{id}/warranty-status?category=decoration"),
            &admin,
        )
        .await;
    assert_eq!(r.body["on"], "2026-03-02");
    assert_eq!(r.body["under_warranty"], true);
    // `other` was never contracted here
    let r = app
        .get(
            &format!("/api/v1/projects/{id}/warranty-status?on=2027-01-01&category=other"),
            &admin,
        )
        .await;
    assert_eq!(r.body["under_warranty"], false);
    assert_eq!(r.body["terms"], json!([]));
    // bad dates are named
    let r = app
        .get(
            &format!("/api/v1/projects/{id}/warranty-status?on=2026-13-01"),
            &admin,
        )
        .await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["on"]);
}

#[actix_rt::test]
async fn projects_under_warranty_on_a_day_are_listed() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let recent = app.project(&admin, "P-NEW", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    // a temporary building with a 5-year design life, accepted in 2010: all terms over by 2016
    let old = app
        .post(
            "/api/v1/projects",
            &admin,
            json!({"code": "P-OLD", "name": "Site office", "address": "x", "project_department_id": org.east_pd,
                   "customer_id": c, "completion_accepted_on": "2010-05-01", "handover_on": "2010-05-10",
                   "design_service_life_years": 5}),
        )
        .await;
    old.expect(201);
    let old = old.body["id"].as_i64().unwrap();
    let ids = |r: &common::Resp| -> Vec<i64> { r.item_ids() };
    let r = app
        .get("/api/v1/projects?under_warranty_on=2026-03-02", &admin)
        .await;
    assert_eq!(ids(&r), vec![recent]);
    let r = app
        .get("/api/v1/projects?under_warranty_on=2012-01-01", &admin)
        .await;
    assert_eq!(ids(&r), vec![old]);
    let r = app.get("/api/v1/projects", &admin).await;
    assert_eq!(ids(&r), vec![recent, old]);
}

#[actix_rt::test]
async fn project_validation_and_unique_code() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    app.project(&admin, "P-1", org.east_pd, c).await;
    let body = |code: &str, dept: i64, accepted: &str| {
        json!({"code": code, "name": "x", "address": "y", "project_department_id": dept, "customer_id": c,
               "completion_accepted_on": accepted, "handover_on": "2026-03-01"})
    };
    app.post(
        "/api/v1/projects",
        &admin,
        body("P-1", org.east_pd, "2026-02-01"),
    )
    .await
    .expect_problem(409, "code_taken");
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            body("P-2", org.east, "2026-02-01"),
        )
        .await;
    r.expect_problem(422, "invalid_reference");
    assert_eq!(r.fields(), vec!["project_department_id"]);
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            body("P-2", org.east_pd, "2027-01-01"),
        )
        .await;
    r.expect_problem(422, "date_in_future");
    assert_eq!(r.fields(), vec!["completion_accepted_on"]);
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            body("P-2", org.east_pd, "2026-02-30"),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["completion_accepted_on"]);
    let mut b = body("P-2", org.east_pd, "2026-02-01");
    b["building_area"] = json!(-5);
    let r = app.post("/api/v1/projects", &admin, b).await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["building_area"]);
}

#[actix_rt::test]
async fn changing_acceptance_date_and_design_life_moves_the_terms() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let id = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/api/v1/projects/{id}/warranty-terms/waterproofing"),
        &admin,
        json!({"years": 8}),
    )
    .await
    .expect(200);
    let r = app
        .patch(
            &format!("/api/v1/projects/{id}"),
            &admin,
            json!({"completion_accepted_on": "2026-01-31", "design_service_life_years": 70}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["warranty_starts_on"], "2026-02-01");
    let terms = app
        .get(&format!("/api/v1/projects/{id}/warranty-terms"), &admin)
        .await
        .body;
    assert_eq!(
        term(&terms, "waterproofing")["years"],
        8,
        "a lengthened term keeps its length"
    );
    assert_eq!(term(&terms, "waterproofing")["ends_on"], "2034-01-31");
    assert_eq!(term(&terms, "foundation_structure")["years"], 70);
    assert_eq!(
        term(&terms, "foundation_structure")["ends_on"],
        "2096-01-31"
    );
}

#[actix_rt::test]
async fn ledger_submission_is_refused_while_required_contacts_are_missing() {
    let app = spawn().await;
    let EastDesk {
        admin: _,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let id = app.project(&pm, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let submit = format!("/api/v1/projects/{id}/ledger/submission");

    let r = app.post(&submit, &pm, json!({})).await;
    r.expect_problem(422, "ledger_incomplete");
    assert_eq!(
        r.fields(),
        vec![
            "contacts.warranty_lead",
            "contacts.project_manager",
            "contacts.owner_engineering_manager|property_manager"
        ]
    );
    // a subcontractor does not count as owner side, and needs a company
    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "waterproofing_subcontractor", "name": "Li", "phone": "138 0000 0000"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "waterproofing_subcontractor", "name": "Li", "phone": "138 0000 0000", "company": "东方雨虹 Oriental Yuhong"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "warranty_lead", "name": "Liu", "phone": "139 1234 5678"}),
    )
    .await
    .expect(201);
    let r = app.post(&submit, &pm, json!({})).await;
    r.expect_problem(422, "ledger_incomplete");
    assert_eq!(
        r.fields(),
        vec![
            "contacts.project_manager",
            "contacts.owner_engineering_manager|property_manager"
        ]
    );

    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "project_manager", "name": "Zhang", "phone": "139 0000 0001"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "owner_engineering_manager", "name": "Wang", "phone": "021 5888 0000"}),
    )
    .await
    .expect(201);
    let r = app.post(&submit, &pm, json!({})).await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "submitted");
    assert_eq!(r.body["ledger"]["submitted_late"], false);
    // submitting twice is a state error
    app.post(&submit, &pm, json!({}))
        .await
        .expect_problem(409, "invalid_transition");
}

#[actix_rt::test]
async fn ledger_is_due_three_days_after_handover_and_a_late_submission_is_flagged() {
    let app = spawn().await;
    let EastDesk {
        admin: _,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let on_time = app.project(&pm, "P-1", org.east_pd, c).await;
    // handed over 2026-03-02: due at the end of 5 March, Shanghai time (16:00 UTC)
    assert_eq!(on_time["ledger"]["due_at"], "2026-03-05T16:00:00Z");
    assert_eq!(on_time["ledger"]["status"], "draft");
    let late = app.project(&pm, "P-2", org.east_pd, c).await;
    for p in [&on_time, &late] {
        app.complete_contacts(&pm, p["id"].as_i64().unwrap()).await;
    }

    // one second before the due time
    app.clock.set(
        Utc.with_ymd_and_hms(2026, 3, 5, 15, 59, 59)
            .single()
            .unwrap(),
    );
    let pm = app.token("east.pm", PASSWORD).await;
    let r = app
        .post(
            &format!("/api/v1/projects/{}/ledger/submission", on_time["id"]),
            &pm,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["submitted_late"], false);

    // one second after
    app.clock.advance(Duration::seconds(2));
    let r = app
        .post(
            &format!("/api/v1/projects/{}/ledger/submission", late["id"]),
            &pm,
            json!({"late_reason": "owner's property manager was unreachable"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["submitted_late"], true);
    assert_eq!(
        r.body["ledger"]["late_reason"],
        "owner's property manager was unreachable"
    );
    assert_eq!(r.body["ledger"]["submitted_at"], "2026-03-05T16:00:01Z");
    let r = app
        .get("/api/v1/projects?ledger_status=submitted", &pm)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
}

#[actix_rt::test]
async fn branch_engineering_approves_or_returns_the_ledger() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let id = app.project(&pm, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let review = format!("/api/v1/projects/{id}/ledger/review");
    let submit = format!("/api/v1/projects/{id}/ledger/submission");
    app.complete_contacts(&pm, id).await;

    // nothing to review yet
    app.post(&review, &engineer, json!({"decision": "approve"}))
        .await
        .expect_problem(409, "invalid_transition");
    app.post(&submit, &pm, json!({})).await.expect(200);
    // only the branch engineering department reviews, and only its own branch
    app.post(&review, &pm, json!({"decision": "approve"}))
        .await
        .expect_problem(403, "forbidden");
    let north = app.token("north.engineer", PASSWORD).await;
    app.post(&review, &north, json!({"decision": "approve"}))
        .await
        .expect_problem(404, "not_found");
    // returning needs a comment
    let r = app
        .post(&review, &engineer, json!({"decision": "return"}))
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["comment"]);
    let r = app
        .post(
            &review,
            &engineer,
            json!({"decision": "return", "comment": "chief engineer missing"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "returned");
    assert_eq!(r.body["ledger"]["review_comment"], "chief engineer missing");
    // fixed and resubmitted, then approved
    app.post(
        &format!("/api/v1/projects/{id}/contacts"),
        &pm,
        json!({"role": "chief_engineer", "name": "Zhou", "phone": "139 0000 0009"}),
    )
    .await
    .expect(201);
    app.post(&submit, &pm, json!({})).await.expect(200);
    let r = app
        .post(&review, &engineer, json!({"decision": "approve"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "approved");
    assert_eq!(
        r.body["ledger"]["reviewed_by"],
        app.get("/api/v1/me", &engineer).await.body["user"]["id"]
    );
    app.post(
        &review,
        &engineer,
        json!({"decision": "return", "comment": "again"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    let r = app
        .post(&review, &engineer, json!({"decision": "maybe"}))
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["decision"]);

    let events = app
        .get(
            &format!("/api/v1/events?subject_type=project&subject_id={id}&limit=200"),
            &admin,
        )
        .await;
    let actions: Vec<&str> = events.item_strs("action");
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("project.ledger_"))
            .count(),
        4
    );
    assert_eq!(actions[0], "project.created");
    assert!(
        actions.contains(&"project.ledger_returned")
            && actions.contains(&"project.ledger_approved")
    );
}

#[actix_rt::test]
async fn project_scope_between_branches() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    app.user(&admin, "north.pm", "project_manager", Some(org.north_pd))
        .await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    let east_pm = app.token("east.pm", PASSWORD).await;
    let north_pm = app.token("north.pm", PASSWORD).await;
    let north_eng = app.token("north.engineer", PASSWORD).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let nc = app.customer(&admin, "North Owner", org.north).await;
    let east = app.project(&east_pm, "E-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let north = app.project(&north_pm, "N-1", org.north_pd, nc).await["id"]
        .as_i64()
        .unwrap();

    for (token, visible, hidden) in [
        (&east_pm, east, north),
        (&north_pm, north, east),
        (&north_eng, north, east),
    ] {
        let r = app.get("/api/v1/projects", token).await;
        let ids: Vec<i64> = r.item_ids();
        assert_eq!(ids, vec![visible]);
        app.get(&format!("/api/v1/projects/{hidden}"), token)
            .await
            .expect_problem(404, "not_found");
        app.get(&format!("/api/v1/projects/{hidden}/contacts"), token)
            .await
            .expect(404);
        app.get(&format!("/api/v1/projects/{hidden}/warranty-terms"), token)
            .await
            .expect(404);
        app.get(&format!("/api/v1/projects/{hidden}/warranty-status"), token)
            .await
            .expect(404);
        app.patch(
            &format!("/api/v1/projects/{hidden}"),
            token,
            json!({"name": "x"}),
        )
        .await
        .expect(404);
        app.post(
            &format!("/api/v1/projects/{hidden}/contacts"),
            token,
            json!({"role": "civil_lead", "name": "x", "phone": "139 0000 0000"}),
        )
        .await
        .expect(404);
        app.put(
            &format!("/api/v1/projects/{hidden}/warranty-terms/decoration"),
            token,
            json!({"years": 5}),
        )
        .await
        .expect(404);
    }
    // a project manager cannot file a project under another department
    let r = app
        .post("/api/v1/projects", &east_pm, json!({"code": "X-1", "name": "x", "address": "y", "project_department_id": org.north_pd,
            "customer_id": c, "completion_accepted_on": "2026-02-01", "handover_on": "2026-02-02"}))
        .await;
    r.expect_problem(404, "not_found");
    // staff read but do not keep the ledger
    app.user(&admin, "east.tech", "staff", Some(org.east_pd))
        .await;
    let tech = app.token("east.tech", PASSWORD).await;
    app.get(&format!("/api/v1/projects/{east}"), &tech)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/projects/{east}"),
        &tech,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn customer_user_sees_own_projects_read_only_and_the_warranty_team_only() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let mine = app.customer(&admin, "Mine", org.east).await;
    let theirs = app.customer(&admin, "Theirs", org.east).await;
    let my_project = app.project(&admin, "M-1", org.east_pd, mine).await["id"]
        .as_i64()
        .unwrap();
    let their_project = app.project(&admin, "T-1", org.east_pd, theirs).await["id"]
        .as_i64()
        .unwrap();
    app.complete_contacts(&admin, my_project).await;
    app.post(
        &format!("/api/v1/projects/{my_project}/contacts"),
        &admin,
        json!({"role": "decoration_subcontractor", "name": "Sub", "phone": "139 0000 0000", "company": "Deco Ltd"}),
    )
    .await
    .expect(201);
    app.post("/api/v1/users", &admin, json!({"username": "owner.mine", "display_name": "Owner", "role": "customer", "customer_id": mine, "password": PASSWORD}))
        .await
        .expect(201);
    let owner = app.token("owner.mine", PASSWORD).await;

    let r = app.get("/api/v1/projects", &owner).await;
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(ids, vec![my_project]);
    app.get(&format!("/api/v1/projects/{their_project}"), &owner)
        .await
        .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/projects/{my_project}/warranty-status?on=2027-01-01"),
        &owner,
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/projects/{my_project}/warranty-terms"),
        &owner,
    )
    .await
    .expect(200);
    let r = app
        .get(&format!("/api/v1/projects/{my_project}/contacts"), &owner)
        .await;
    let sides: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["side"].as_str().unwrap())
        .collect();
    assert_eq!(
        sides,
        vec!["warranty", "warranty"],
        "no subcontractors or owner-side entries"
    );
    // even asking for another side gives the warranty side only
    let r = app
        .get(
            &format!("/api/v1/projects/{my_project}/contacts?side=subcontractor"),
            &owner,
        )
        .await;
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["side"] == "warranty"));
    // read-only
    app.patch(
        &format!("/api/v1/projects/{my_project}"),
        &owner,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/projects/{my_project}/contacts"),
        &owner,
        json!({"role": "civil_lead", "name": "x", "phone": "139 0000 0000"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.put(
        &format!("/api/v1/projects/{my_project}/warranty-terms/decoration"),
        &owner,
        json!({"years": 9}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/projects/{my_project}/ledger/submission"),
        &owner,
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn contacts_can_be_corrected_and_removed_with_an_audit_trail() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let id = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            &format!("/api/v1/projects/{id}/contacts"),
            &admin,
            json!({"role": "civil_lead", "name": "Zhao", "phone": "139 0000 0000"}),
        )
        .await;
    r.expect(201);
    let contact = r.body["id"].as_i64().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/projects/{id}/contacts/{contact}"),
            &admin,
            json!({"phone": "139 1111 1111"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["phone"], "139 1111 1111");
    assert_eq!(r.body["version"], 2);
    app.delete(&format!("/api/v1/projects/{id}/contacts/{contact}"), &admin)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/projects/{id}/contacts/{contact}"), &admin)
        .await
        .expect_problem(404, "not_found");
    let r = app
        .get(
            &format!("/api/v1/events?subject_type=project&subject_id={id}"),
            &admin,
        )
        .await;
    let actions: Vec<&str> = r.item_strs("action");
    assert_eq!(
        actions,
        vec![
            "project.created",
            "project.contact_added",
            "project.contact_updated",
            "project.contact_removed"
        ]
    );
    assert_eq!(r.body["items"][3]["payload"]["before"]["name"], "Zhao");
}

/// The ledger's life cycle, written out here independently of the code's
/// table: the pairs that must succeed; every other pair answers 409.
const LEDGER_PAIRS: [(&str, &str, &str); 4] = [
    ("draft", "submit", "submitted"),
    ("returned", "submit", "submitted"),
    ("submitted", "approve", "approved"),
    ("submitted", "return", "returned"),
];

#[actix_rt::test]
async fn ledger_transition_table_every_state_and_action_pair() {
    let app = spawn().await;
    let EastDesk {
        admin,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    // how to take each action, by a role allowed to
    let act = |id: i64, action: &str| {
        let (path, token, body) = match action {
            "submit" => ("submission", &pm, json!({})),
            "approve" => ("review", &engineer, json!({"decision": "approve"})),
            _ => (
                "review",
                &engineer,
                json!({"decision": "return", "comment": "complete the contacts"}),
            ),
        };
        (
            format!("/api/v1/projects/{id}/ledger/{path}"),
            token.clone(),
            body,
        )
    };
    // the steps that lead from draft into each state
    let path_to = |state: &str| -> Vec<&str> {
        match state {
            "draft" => vec![],
            "submitted" => vec!["submit"],
            "approved" => vec!["submit", "approve"],
            _ => vec!["submit", "return"],
        }
    };
    let mut n = 0;
    for state in ["draft", "submitted", "approved", "returned"] {
        for action in ["submit", "approve", "return"] {
            n += 1;
            let id = app.project(&pm, &format!("T-{n}"), org.east_pd, c).await["id"]
                .as_i64()
                .unwrap();
            app.complete_contacts(&pm, id).await;
            for step in path_to(state) {
                let (path, token, body) = act(id, step);
                app.post(&path, &token, body).await.expect(200);
            }
            let (path, token, body) = act(id, action);
            let r = app.post(&path, &token, body).await;
            match LEDGER_PAIRS
                .iter()
                .find(|(from, a, _)| *from == state && *a == action)
            {
                Some((_, _, to)) => {
                    r.expect(200);
                    assert_eq!(r.body["ledger"]["status"], *to, "{state} --{action}-->");
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

#[actix_rt::test]
async fn ledger_steps_honour_if_match_and_answer_the_new_etag() {
    let app = spawn().await;
    let EastDesk {
        admin: _,
        org,
        pm,
        customer: c,
    } = east_desk(&app).await;
    let id = app.project(&pm, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    app.complete_contacts(&pm, id).await;
    let read = app.get(&format!("/api/v1/projects/{id}"), &pm).await;
    let etag = read.header("etag").unwrap();
    // someone changes the project after it was read
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &pm,
        json!({"contract_number": "SG-1"}),
    )
    .await
    .expect(200);
    let submit = |if_match: String| {
        actix_web::test::TestRequest::post()
            .uri(&format!("/api/v1/projects/{id}/ledger/submission"))
            .insert_header(("Authorization", format!("Bearer {pm}")))
            .insert_header(("If-Match", if_match))
            .set_json(json!({}))
    };
    app.send(submit(etag))
        .await
        .expect_problem(412, "version_mismatch");
    let current = app
        .get(&format!("/api/v1/projects/{id}"), &pm)
        .await
        .header("etag")
        .unwrap();
    let r = app.send(submit(current.clone())).await;
    r.expect(200);
    let after = r.header("etag").unwrap();
    assert_ne!(after, current);
    assert_eq!(format!("\"{}\"", r.body["version"]), after);
    assert_eq!(
        app.get(&format!("/api/v1/projects/{id}"), &pm)
            .await
            .header("etag"),
        Some(after)
    );
}

#[actix_rt::test]
async fn a_patch_keeps_the_field_limits_of_a_create() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = app
        .project(&desk.pm, "HD-LIMITS", desk.org.east_pd, desk.customer)
        .await;
    let path = format!("/api/v1/projects/{}", project["id"]);
    for (field, value) in [
        ("contract_number", json!("1".repeat(65))),
        ("structure_type", json!("s".repeat(101))),
        ("quality_grade", json!("q".repeat(101))),
        ("building_area", json!(0.0)),
        ("building_area", json!(100_000_001.0)),
    ] {
        let r = app.patch(&path, &desk.pm, json!({ field: value })).await;
        assert_eq!(r.status, 422, "{field} = {value}: {:?}", r.body);
        assert_eq!(r.fields(), vec![field.to_string()]);
    }
    // at the limits they are taken, and null still clears them
    for (field, value) in [
        ("contract_number", json!("1".repeat(64))),
        ("structure_type", json!("s".repeat(100))),
        ("quality_grade", json!("q".repeat(100))),
        ("building_area", json!(100_000_000.0)),
        ("building_area", json!(null)),
    ] {
        app.patch(&path, &desk.pm, json!({ field: value }))
            .await
            .expect(200);
    }
}
