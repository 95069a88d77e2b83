//! `aftercare seed-demo` gives a Swagger UI tester a working organisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[actix_rt::test]
async fn seed_demo_creates_an_organisation_with_every_role_and_refuses_to_run_twice() {
    let app = spawn().await;
    let now = app.clock.now_naive();
    let report = app
        .state
        .db(move |conn| aftercare::services::demo::seed(conn, now, "demo-password"))
        .await
        .unwrap();
    assert!(report.contains("east.pm1"));

    let admin = app.admin().await;
    let r = app.get("/api/v1/org-units", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    let r = app.get("/api/v1/users?limit=200", &admin).await;
    let roles: std::collections::BTreeSet<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["role"].as_str().unwrap().to_string())
        .collect();
    for role in [
        "admin",
        "group_engineer",
        "branch_engineer",
        "branch_leader",
        "project_manager",
        "staff",
        "customer",
    ] {
        assert!(roles.contains(role), "a demo user with role {role}");
    }

    let pm = app.token("east.pm1", "demo-password").await;
    let me = app.get("/api/v1/me", &pm).await;
    me.expect(200);
    assert_eq!(me.body["org_unit"]["kind"], "project_department");

    let again = app
        .state
        .db(move |conn| aftercare::services::demo::seed(conn, now, "demo-password"))
        .await;
    assert_eq!(again.unwrap_err().code(), "already_seeded");
}
