//! The organisation tree: group → branches → project departments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[actix_rt::test]
async fn tree_is_built_group_then_branch_then_project_department() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let r = app
        .get(
            &format!("/api/v1/org-units?parent_id={}", org.group),
            &admin,
        )
        .await;
    let names: Vec<&str> = r.item_strs("name");
    assert_eq!(names, vec!["East Branch", "North Branch"]);
    let r = app
        .get("/api/v1/org-units?kind=project_department", &admin)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = app
        .get(&format!("/api/v1/org-units/{}", org.east_pd), &admin)
        .await;
    r.expect(200);
    assert_eq!(r.body["parent_id"], json!(org.east));
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
}

#[actix_rt::test]
async fn there_is_one_group() {
    let app = spawn().await;
    let admin = app.admin().await;
    app.unit(&admin, "Group", "group", None).await;
    app.post(
        "/api/v1/org-units",
        &admin,
        json!({"name": "Second", "kind": "group"}),
    )
    .await
    .expect_problem(409, "group_exists");
}

#[actix_rt::test]
async fn parent_must_be_the_level_above() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let cases = [
        (
            json!({"name": "x", "kind": "branch", "parent_id": org.east}),
            "invalid_parent",
        ),
        (
            json!({"name": "x", "kind": "project_department", "parent_id": org.group}),
            "invalid_parent",
        ),
        (json!({"name": "x", "kind": "branch"}), "invalid_parent"),
        (
            json!({"name": "x", "kind": "project_department", "parent_id": 999}),
            "invalid_parent",
        ),
    ];
    for (body, code) in cases {
        let r = app.post("/api/v1/org-units", &admin, body).await;
        r.expect_problem(422, code);
        assert_eq!(r.fields(), vec!["parent_id"]);
    }
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": "x", "kind": "group", "parent_id": org.group}),
        )
        .await;
    r.expect_problem(422, "invalid_parent");
}

#[actix_rt::test]
async fn sibling_names_are_unique() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.post(
        "/api/v1/org-units",
        &admin,
        json!({"name": "East Branch", "kind": "branch", "parent_id": org.group}),
    )
    .await
    .expect_problem(409, "name_taken");
    // the same name under another parent is fine
    app.unit(&admin, "PD 2", "project_department", Some(org.east))
        .await;
    app.unit(&admin, "PD 2", "project_department", Some(org.north))
        .await;
    app.patch(
        &format!("/api/v1/org-units/{}", org.north),
        &admin,
        json!({"name": "East Branch"}),
    )
    .await
    .expect_problem(409, "name_taken");
}

#[actix_rt::test]
async fn rename_bumps_the_version_and_is_audited() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let r = app
        .patch(
            &format!("/api/v1/org-units/{}", org.east),
            &admin,
            json!({"name": "华东分公司"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["name"], "华东分公司");
    assert_eq!(r.body["version"], 2);
    let r = app
        .get(
            &format!(
                "/api/v1/events?subject_type=org_unit&subject_id={}",
                org.east
            ),
            &admin,
        )
        .await;
    let actions: Vec<&str> = r.item_strs("action");
    assert_eq!(actions, vec!["org_unit.created", "org_unit.updated"]);
}

#[actix_rt::test]
async fn unit_in_use_cannot_be_deactivated() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let tech = app
        .user(&admin, "tech.one", "staff", Some(org.north_pd))
        .await;
    app.post(
        &format!("/api/v1/org-units/{}/deactivation", org.north),
        &admin,
        json!({}),
    )
    .await
    .expect_problem(409, "org_unit_in_use");
    app.post(
        &format!("/api/v1/org-units/{}/deactivation", org.north_pd),
        &admin,
        json!({}),
    )
    .await
    .expect_problem(409, "org_unit_in_use");
    app.post(
        &format!("/api/v1/users/{tech}/deactivation"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/org-units/{}/deactivation", org.north_pd),
            &admin,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["active"], false);
    // no new members or children under a closed unit
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "late.one", "display_name": "x", "role": "staff", "org_unit_id": org.north_pd, "password": PASSWORD}))
        .await;
    r.expect_problem(422, "inactive_org_unit");
    app.post(
        &format!("/api/v1/org-units/{}/deactivation", org.north),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/org-units",
        &admin,
        json!({"name": "x", "kind": "project_department", "parent_id": org.north}),
    )
    .await
    .expect_problem(422, "inactive_parent");
    // a child cannot come back before its parent
    app.post(
        &format!("/api/v1/org-units/{}/activation", org.north_pd),
        &admin,
        json!({}),
    )
    .await
    .expect_problem(409, "inactive_parent");
    app.post(
        &format!("/api/v1/org-units/{}/activation", org.north),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/org-units/{}/activation", org.north_pd),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
}

#[actix_rt::test]
async fn customer_users_cannot_browse_the_organisation() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    // customers get their own resource later; a row is enough here
    let now = app.clock.now_naive();
    let customer = app
        .state
        .db(move |conn| {
            use aftercare::db::schema::customers;
            use diesel::prelude::*;
            Ok(diesel::insert_into(customers::table)
                .values((
                    customers::name.eq("Owner Co."),
                    customers::kind.eq("owner_organisation"),
                    customers::branch_id.eq(org.east),
                    customers::version.eq(1),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .returning(customers::id)
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap();
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "owner.one", "display_name": "Owner", "role": "customer", "customer_id": customer, "password": PASSWORD}))
        .await;
    r.expect(201);
    assert_eq!(r.body["rank"], json!(null));
    let owner = app.token("owner.one", PASSWORD).await;
    app.get("/api/v1/org-units", &owner)
        .await
        .expect_problem(403, "forbidden");
    let me = app.get("/api/v1/me", &owner).await;
    me.expect(200);
    assert_eq!(me.body["user"]["customer_id"], json!(customer));
    // they see only their own customer's users
    let r = app.get("/api/v1/users", &owner).await;
    let names: Vec<&str> = r.item_strs("username");
    assert_eq!(names, vec!["owner.one"]);
}
