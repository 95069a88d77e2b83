//! `aftercare seed-demo` gives a Swagger UI tester a working organisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[actix_rt::test]
async fn seed_demo_creates_an_organisation_with_every_role_and_refuses_to_run_twice() {
    let app = spawn().await;
    let report = seed(&app).await.unwrap();
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

    let r = app.get("/api/v1/customers?limit=200", &admin).await;
    let customers = r.body["items"].as_array().unwrap();
    assert_eq!(customers.len(), 6);
    for tier in ["A", "B", "C"] {
        assert!(
            customers.iter().any(|c| c["tier"] == tier),
            "a customer of tier {tier}"
        );
    }
    assert!(
        customers.iter().any(|c| c["grade"].is_null()),
        "one not graded yet"
    );

    let r = app.get("/api/v1/projects?limit=200", &admin).await;
    let projects = r.body["items"].as_array().unwrap();
    assert_eq!(projects.len(), 15);
    assert!(projects.iter().any(|p| p["is_key_project"] == true));
    assert!(projects.iter().any(|p| p["hvac_in_scope"] == true));
    for status in ["draft", "submitted", "approved", "returned"] {
        assert!(
            projects.iter().any(|p| p["ledger"]["status"] == status),
            "a ledger {status}"
        );
    }
    let today = app.clock.now().date_naive();
    let r = app
        .get(
            &format!("/api/v1/projects?under_warranty_on={today}&limit=200"),
            &admin,
        )
        .await;
    let under: Vec<&str> = r.item_strs("code");
    assert!(under.contains(&"HD-2024-001"));
    assert!(
        !under.contains(&"HB-2012-011") && !under.contains(&"HD-2014-012"),
        "the temporary buildings are out of warranty"
    );

    let pm = app.token("east.pm1", "demo-password").await;
    let me = app.get("/api/v1/me", &pm).await;
    me.expect(200);
    assert_eq!(me.body["org_unit"]["kind"], "project_department");

    // the deadline engine at work: every user who acts on a ledger has
    // tasks, and among them are overdue, escalated and due-soon ones
    let mut seen = std::collections::BTreeSet::new();
    for user in [
        "group.engineer",
        "east.engineer",
        "east.leader",
        "east.pm1",
        "east.pm2",
        "north.engineer",
        "north.leader",
        "north.pm1",
    ] {
        let token = app.token(user, "demo-password").await;
        let r = app.get("/api/v1/me/tasks", &token).await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{user} has tasks");
        for t in items {
            if t["overdue"] == true {
                seen.insert(format!("{user} overdue"));
                seen.insert("overdue".to_string());
            }
            if t["reason"] == "escalated" {
                seen.insert(format!("{user} escalated"));
                seen.insert("escalated".to_string());
            }
            if t["due_soon"] == true {
                seen.insert("due_soon".to_string());
            }
        }
    }
    for wanted in [
        "overdue",
        "escalated",
        "due_soon",
        "east.leader escalated",
        "north.leader escalated",
        "group.engineer escalated",
        "east.engineer escalated",
        "east.pm1 overdue",
    ] {
        assert!(seen.contains(wanted), "demo shows {wanted}: {seen:?}");
    }

    let again = seed(&app).await;
    assert_eq!(again.unwrap_err().code(), "already_seeded");
}

/// Seeds the demo as `aftercare seed-demo` does: the crews' photo in the
/// store first, then the rows.
async fn seed<S>(app: &TestApp<S>) -> Result<String, aftercare::error::AppError> {
    let now = app.clock.now_naive();
    let hash = aftercare::auth::password::hash("demo-password").unwrap();
    let (bytes, photo) = aftercare::demo::care::photo().unwrap();
    let key = aftercare::storage::Storage::original_key(&photo.sha256);
    app.state
        .storage
        .put_bytes(&key, bytes.into())
        .await
        .unwrap();
    let config = app.state.config.clone();
    app.state
        .db(move |conn| aftercare::demo::seed(conn, &config, now, "demo-password", &hash, &photo))
        .await
}

#[actix_rt::test]
async fn seed_demo_gives_the_technician_the_branch_and_the_owner_work_on_their_home_screens() {
    let app = spawn().await;
    seed(&app).await.unwrap();
    let admin = app.admin().await;
    let r = app.get("/api/v1/repairs?limit=100", &admin).await;
    r.expect(200);
    let statuses: std::collections::BTreeSet<&str> = r.item_strs("status").into_iter().collect();
    for status in [
        "reported",
        "awaiting_agreement",
        "awaiting_dispatch",
        "in_progress",
        "on_hold",
        "awaiting_acceptance",
        "accepted",
    ] {
        assert!(statuses.contains(status), "a repair {status}: {statuses:?}");
    }
    let items = r.body["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["is_repeat"] == true), "a repeat");
    assert!(
        items.iter().any(|i| i["rounds"] == 2),
        "a failed inspection's second round"
    );
    assert!(items.iter().any(|i| i["source"] == "complaint"));
    assert!(items.iter().any(|i| i["source"] == "visit_issue"));

    let r = app.get("/api/v1/complaints?limit=100", &admin).await;
    let statuses: std::collections::BTreeSet<&str> = r.item_strs("status").into_iter().collect();
    for status in ["registered", "handling", "awaiting_plan", "closed_not_ours"] {
        assert!(
            statuses.contains(status),
            "a complaint {status}: {statuses:?}"
        );
    }

    // the technician leads the repairs at work: their completion clocks
    let tech = app.token("east.tech1", "demo-password").await;
    let r = app.get("/api/v1/me/tasks", &tech).await;
    r.expect(200);
    let rules: Vec<&str> = r.item_strs("rule");
    assert!(rules.contains(&"repair.complete"), "{rules:?}");
    // the branch leader hears of the unanswered emergency
    let leader = app.token("east.leader", "demo-password").await;
    let r = app.get("/api/v1/me/tasks", &leader).await;
    assert!(r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["rule"] == "repair.respond.emergency" && t["reason"] == "escalated"));
    // the owner: a quote to agree to, work to sign off, a visit to confirm
    let owner = app.token("owner.binjiang", "demo-password").await;
    let r = app
        .get("/api/v1/repairs?status=awaiting_agreement", &owner)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .get("/api/v1/repairs?status=awaiting_acceptance", &owner)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/visits?limit=100", &owner).await;
    assert!(r.item_strs("status").contains(&"recorded"));
}
