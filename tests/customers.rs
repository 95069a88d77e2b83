//! Customers: A/B/C grading with history, and the rank that must visit them
//! (000 §3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use serde_json::json;

async fn graded<S, B>(
    app: &TestApp<S>,
    token: &str,
    customer: i64,
    scores: [i32; 3],
) -> common::Resp
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.post(
        &format!("/api/v1/customers/{customer}/gradings"),
        token,
        json!({"operating_score": scores[0], "payment_score": scores[1], "cooperation_score": scores[2]}),
    )
    .await
}

#[actix_rt::test]
async fn grading_proposes_the_grade_from_the_average_score() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let cases = [
        ([92, 90, 95], "AAA", "A"),
        ([90, 85, 80], "AA", "A"),
        ([80, 80, 80], "A", "A"),
        ([79, 80, 80], "BBB", "B"),
        ([70, 70, 70], "BB", "B"),
        ([60, 61, 59], "B", "B"),
        ([59, 60, 60], "C", "C"),
    ];
    for (scores, grade, tier) in cases {
        let r = graded(&app, &admin, c, scores).await;
        r.expect(201);
        assert_eq!(r.body["proposed_grade"], grade, "scores {scores:?}");
        assert_eq!(r.body["grade"], grade);
        assert_eq!(r.body["tier"], tier);
        assert_eq!(r.body["overridden"], false);
        let customer = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
        assert_eq!(customer.body["grade"], grade);
        assert_eq!(customer.body["tier"], tier);
    }
}

#[actix_rt::test]
async fn grade_override_needs_a_reason_and_the_history_is_kept() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    let c = app.customer(&engineer, "Owner", org.east).await;
    let path = format!("/api/v1/customers/{c}/gradings");
    graded(&app, &engineer, c, [80, 80, 80]).await.expect(201);

    app.clock.advance(Duration::days(30));
    let engineer = app.token("east.engineer", PASSWORD).await;
    let r = app
        .post(&path, &engineer, json!({"operating_score": 80, "payment_score": 80, "cooperation_score": 80, "grade": "AA"}))
        .await;
    r.expect_problem(422, "override_reason_required");
    assert_eq!(r.fields(), vec!["override_reason"]);
    let r = app
        .post(
            &path,
            &engineer,
            json!({"operating_score": 80, "payment_score": 80, "cooperation_score": 80, "grade": "AA",
                   "override_reason": "strategic partner, always pays early"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["proposed_grade"], "A");
    assert_eq!(r.body["grade"], "AA");
    assert_eq!(r.body["overridden"], true);

    let history = app.get(&path, &engineer).await;
    history.expect(200);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the refused override is not recorded");
    assert_eq!(items[0]["grade"], "A");
    assert_eq!(items[1]["grade"], "AA");
    assert_eq!(
        items[1]["override_reason"],
        "strategic partner, always pays early"
    );
    assert_eq!(
        items[1]["graded_by"],
        app.get("/api/v1/me", &engineer).await.body["user"]["id"]
    );
    assert_ne!(items[0]["graded_at"], items[1]["graded_at"]);
    let customer = app.get(&format!("/api/v1/customers/{c}"), &engineer).await;
    assert_eq!(customer.body["grade"], "AA");
}

#[actix_rt::test]
async fn grading_scores_are_validated_and_only_the_engineering_side_grades() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let r = graded(&app, &admin, c, [101, -1, 50]).await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["operating_score", "payment_score"]);
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    // the PM does not even see a customer without projects of theirs
    graded(&app, &pm, c, [80, 80, 80])
        .await
        .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn required_visitor_rank_follows_the_tier() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let rank =
        |body: &serde_json::Value| body["required_visitor_rank"].as_str().unwrap().to_string();
    let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(
        rank(&r.body),
        "supervisor",
        "ungraded: supervisor or above until graded"
    );
    for (scores, expected) in [
        ([95, 95, 95], "manager"),
        ([75, 75, 75], "supervisor"),
        ([40, 40, 40], "staff"),
    ] {
        graded(&app, &admin, c, scores).await.expect(201);
        let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
        assert_eq!(rank(&r.body), expected, "scores {scores:?}");
        assert!(r.body["required_visitor_rank_reason"]
            .as_str()
            .unwrap()
            .contains("tier"));
    }
}

#[actix_rt::test]
async fn required_visitor_rank_is_manager_for_a_complaint_heavy_customer() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    graded(&app, &admin, c, [40, 40, 40]).await.expect(201); // tier C: anyone
    let project = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    let now = app.clock.now_naive();

    // old complaints do not count
    app.seed_complaints(c, project, 5, now - Duration::days(400))
        .await;
    // two recent ones: below the default of 3
    app.seed_complaints(c, project, 2, now - Duration::days(30))
        .await;
    let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(r.body["complaints_last_12_months"], 2);
    assert_eq!(r.body["required_visitor_rank"], "staff");

    app.seed_complaints(c, project, 1, now - Duration::days(1))
        .await;
    let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(r.body["complaints_last_12_months"], 3);
    assert_eq!(r.body["required_visitor_rank"], "manager");
    // the list says the same, from one aggregate query
    let r = app.get("/api/v1/customers", &admin).await;
    assert_eq!(r.body["items"][0]["required_visitor_rank"], "manager");

    // a year on, they have aged out
    app.clock.advance(Duration::days(366));
    let admin = app.admin().await;
    let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(r.body["complaints_last_12_months"], 0);
    assert_eq!(r.body["required_visitor_rank"], "staff");
}

#[actix_rt::test]
async fn complaint_threshold_is_configurable() {
    let app = spawn_with(|c| c.many_complaints = 1).await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let project = app.project(&admin, "P-1", org.east_pd, c).await["id"]
        .as_i64()
        .unwrap();
    app.seed_complaints(c, project, 1, app.clock.now_naive())
        .await;
    let r = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(r.body["required_visitor_rank"], "manager");
}

#[actix_rt::test]
async fn required_visitor_rank_is_manager_for_serious_problems() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    graded(&app, &admin, c, [75, 75, 75]).await.expect(201);
    let r = app
        .patch(
            &format!("/api/v1/customers/{c}"),
            &admin,
            json!({"serious_problems": true}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["required_visitor_rank"], "manager");
}

#[actix_rt::test]
async fn customer_scope_between_branches_and_for_customer_users() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let east_c = app.customer(&admin, "East Owner", org.east).await;
    let north_c = app.customer(&admin, "North Owner", org.north).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let east = app.token("east.engineer", PASSWORD).await;
    let r = app.get("/api/v1/customers", &east).await;
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(ids, vec![east_c]);
    app.get(&format!("/api/v1/customers/{north_c}"), &east)
        .await
        .expect_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/customers/{north_c}"),
        &east,
        json!({"name": "x"}),
    )
    .await
    .expect(404);
    graded(&app, &east, north_c, [80, 80, 80]).await.expect(404);
    // cannot register a customer for another branch
    let r = app
        .post(
            "/api/v1/customers",
            &east,
            json!({"name": "x", "kind": "individual", "branch_id": org.north}),
        )
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["branch_id"]);

    // a customer user sees itself only, and changes nothing
    let owner = app
        .post("/api/v1/users", &admin, json!({"username": "owner.east", "display_name": "Owner", "role": "customer", "customer_id": east_c, "password": PASSWORD}))
        .await;
    owner.expect(201);
    let owner = app.token("owner.east", PASSWORD).await;
    let r = app.get("/api/v1/customers", &owner).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/customers/{north_c}"), &owner)
        .await
        .expect(404);
    app.patch(
        &format!("/api/v1/customers/{east_c}"),
        &owner,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
    graded(&app, &owner, east_c, [100, 100, 100])
        .await
        .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn project_department_sees_the_customers_of_its_projects() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let mine = app.customer(&admin, "Mine", org.east).await;
    let _other = app.customer(&admin, "Other", org.east).await;
    app.project(&admin, "P-1", org.east_pd, mine).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    let r = app.get("/api/v1/customers", &pm).await;
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(ids, vec![mine]);
}

#[actix_rt::test]
async fn customer_changes_are_audited_and_versioned() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let r = app
        .patch(
            &format!("/api/v1/customers/{c}"),
            &admin,
            json!({"contact_phone": "021-5888 0000"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    graded(&app, &admin, c, [80, 80, 80]).await.expect(201);
    let r = app
        .get(
            &format!("/api/v1/events?subject_type=customer&subject_id={c}"),
            &admin,
        )
        .await;
    let actions: Vec<&str> = r.item_strs("action");
    assert_eq!(
        actions,
        vec!["customer.created", "customer.updated", "customer.graded"]
    );
    assert_eq!(
        r.body["items"][1]["payload"]["before"]["contact_phone"],
        json!(null)
    );
    assert_eq!(
        r.body["items"][1]["payload"]["after"]["contact_phone"],
        "021-5888 0000"
    );
}

#[actix_rt::test]
async fn a_branch_cannot_take_over_another_branchs_customer() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    app.user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    app.user(&admin, "north.pm", "project_manager", Some(org.north_pd))
        .await;
    let east = app.token("east.engineer", PASSWORD).await;
    let north = app.token("north.engineer", PASSWORD).await;
    let north_pm = app.token("north.pm", PASSWORD).await;
    let east_c = app.customer(&east, "East Owner", org.east).await;
    let north_c = app.customer(&north, "North Owner", org.north).await;
    let project = |code: &str, customer: i64| {
        json!({
            "code": code, "name": "Takeover", "address": "1 Road",
            "project_department_id": org.north_pd, "customer_id": customer,
            "completion_accepted_on": "2026-02-27", "handover_on": "2026-03-02"
        })
    };

    // naming another branch's customer answers exactly like a missing one
    for token in [&north, &north_pm] {
        let foreign = app
            .post("/api/v1/projects", token, project("N-1", east_c))
            .await;
        foreign.expect_problem(404, "not_found");
        assert_eq!(foreign.fields(), vec!["customer_id"]);
        let missing = app
            .post("/api/v1/projects", token, project("N-1", 999_999))
            .await;
        missing.expect_problem(404, "not_found");
        assert_eq!(
            foreign.body["detail"]
                .as_str()
                .map(|d| d.replace(&east_c.to_string(), "#")),
            missing.body["detail"]
                .as_str()
                .map(|d| d.replace("999999", "#"))
        );
    }
    // the branch's own customer, by its engineer or a department below it
    app.post("/api/v1/projects", &north, project("N-1", north_c))
        .await
        .expect(201);
    let own = app
        .post("/api/v1/projects", &north_pm, project("N-2", north_c))
        .await;
    own.expect(201);
    // nor by moving a project of theirs onto it
    let r = app
        .patch(
            &format!("/api/v1/projects/{}", own.body["id"]),
            &north,
            json!({"customer_id": east_c}),
        )
        .await;
    r.expect_problem(404, "not_found");

    // seen through a project of the branch (entered by the group), the
    // customer can be read but not changed, re-graded or moved
    let shared = app
        .post("/api/v1/projects", &admin, project("N-3", east_c))
        .await;
    shared.expect(201);
    app.get(&format!("/api/v1/customers/{east_c}"), &north)
        .await
        .expect(200);
    for body in [
        json!({"name": "Taken"}),
        json!({"branch_id": org.north}),
        json!({"serious_problems": true}),
    ] {
        app.patch(&format!("/api/v1/customers/{east_c}"), &north, body)
            .await
            .expect_problem(403, "forbidden");
    }
    graded(&app, &north, east_c, [100, 100, 100])
        .await
        .expect_problem(403, "forbidden");
    let r = app.get(&format!("/api/v1/customers/{east_c}"), &east).await;
    assert_eq!(r.body["branch_id"], json!(org.east));
    assert_eq!(r.body["name"], json!("East Owner"));
    assert_eq!(r.body["grade"], json!(null));
    // its own branch still keeps it
    app.patch(
        &format!("/api/v1/customers/{east_c}"),
        &east,
        json!({"name": "East Owner Ltd"}),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn a_customers_contact_phone_is_a_phone_number() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let r = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Binjiang Owners", "kind": "individual", "branch_id": org.east, "contact_phone": "abc"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["contact_phone"]);
    let id = app.customer(&admin, "Binjiang Owners", org.east).await;
    let r = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &admin,
            json!({"contact_phone": "call me"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["contact_phone"]);
    app.patch(
        &format!("/api/v1/customers/{id}"),
        &admin,
        json!({"contact_phone": "021-5888 0001"}),
    )
    .await
    .expect(200);
}
