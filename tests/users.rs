//! User administration: admin-only writes, scoped reads, membership rules,
//! deactivation, optimistic concurrency and the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[actix_rt::test]
async fn admin_creates_a_project_manager_who_logs_in_and_reads_me() {
    let app = spawn().await;
    let admin = app.admin().await;
    let group = app.unit(&admin, "Group", "group", None).await;
    let branch = app.unit(&admin, "East Branch", "branch", Some(group)).await;
    let pd = app
        .unit(&admin, "East PD 1", "project_department", Some(branch))
        .await;
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "Zhang.Wei", "display_name": "张伟", "phone": "138 0013 8000",
                   "role": "project_manager", "rank": "manager", "org_unit_id": pd, "password": PASSWORD}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v1/users/{id}")));
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(
        r.body["username"], "zhang.wei",
        "usernames are stored in lower case"
    );
    assert_eq!(r.body["rank"], "manager");

    let token = app.token("zhang.wei", PASSWORD).await;
    let me = app.get("/api/v1/me", &token).await;
    me.expect(200);
    assert_eq!(me.body["user"]["id"], json!(id));
    assert_eq!(me.body["user"]["role"], "project_manager");
    assert_eq!(me.body["org_unit"]["id"], json!(pd));
    assert_eq!(me.body["org_unit"]["kind"], "project_department");
}

#[actix_rt::test]
async fn rank_defaults_to_staff_for_contractor_roles() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    let r = app.get(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(r.body["rank"], "staff");
}

#[actix_rt::test]
async fn non_admin_cannot_manage_users() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let victim = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let engineer = app.token("east.engineer", PASSWORD).await;
    let body = json!({"username": "new.user", "display_name": "x", "role": "staff", "org_unit_id": org.east_pd, "password": PASSWORD});
    app.post("/api/v1/users", &engineer, body)
        .await
        .expect_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{victim}"),
        &engineer,
        json!({"display_name": "hacked"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/users/{victim}/deactivation"),
        &engineer,
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/org-units",
        &engineer,
        json!({"name": "x", "kind": "project_department", "parent_id": org.east}),
    )
    .await
    .expect_problem(403, "forbidden");
    // nothing changed
    let r = app.get(&format!("/api/v1/users/{victim}"), &admin).await;
    assert_eq!(r.body["display_name"], "tech.one");
    assert_eq!(r.body["active"], true);
}

#[actix_rt::test]
async fn branch_user_cannot_see_another_branchs_users() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let east_eng = app
        .user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let east_pm = app
        .user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let north_eng = app
        .user(&admin, "north.engineer", "branch_engineer", Some(org.north))
        .await;
    let north_pm = app
        .user(&admin, "north.pm", "project_manager", Some(org.north_pd))
        .await;
    let group_eng = app
        .user(&admin, "group.engineer", "group_engineer", Some(org.group))
        .await;

    let east = app.token("east.engineer", PASSWORD).await;
    let r = app.get("/api/v1/users", &east).await;
    r.expect(200);
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(
        ids,
        vec![east_eng, east_pm],
        "only the east branch's subtree"
    );
    app.get(&format!("/api/v1/users/{north_pm}"), &east)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/users/{north_eng}"), &east)
        .await
        .expect_problem(404, "not_found");
    // a filter cannot widen the scope
    let r = app
        .get(
            &format!("/api/v1/users?org_unit_id={}", org.north_pd),
            &east,
        )
        .await;
    assert_eq!(r.body["items"], json!([]));

    // a project manager sees only their department
    let pm = app.token("east.pm", PASSWORD).await;
    let r = app.get("/api/v1/users", &pm).await;
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(ids, vec![east_pm]);
    app.get(&format!("/api/v1/users/{east_eng}"), &pm)
        .await
        .expect(404);

    // the group sees everyone in the group
    let group = app.token("group.engineer", PASSWORD).await;
    let r = app.get("/api/v1/users", &group).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 5);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != json!(1)),
        "admin has no org unit"
    );
    let _ = group_eng;
}

#[actix_rt::test]
async fn branch_user_cannot_see_another_branchs_org_units() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
        .await;
    let east = app.token("east.engineer", PASSWORD).await;
    let r = app.get("/api/v1/org-units", &east).await;
    let ids: Vec<i64> = r.item_ids();
    assert_eq!(ids, vec![org.east, org.east_pd]);
    app.get(&format!("/api/v1/org-units/{}", org.north), &east)
        .await
        .expect(404);
    app.get(&format!("/api/v1/org-units/{}", org.group), &east)
        .await
        .expect(404);
    app.get(&format!("/api/v1/org-units/{}", org.east_pd), &east)
        .await
        .expect(200);
}

#[actix_rt::test]
async fn role_must_fit_the_org_unit_kind() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let cases = [
        ("branch_engineer", org.east_pd),
        ("branch_leader", org.group),
        ("project_manager", org.east),
        ("group_engineer", org.east),
    ];
    for (role, unit) in cases {
        let r = app
            .post("/api/v1/users", &admin, json!({"username": "some.one", "display_name": "x", "role": role, "org_unit_id": unit, "password": PASSWORD}))
            .await;
        r.expect_problem(422, "org_unit_kind_mismatch");
        assert_eq!(r.fields(), vec!["org_unit_id"]);
    }
    // staff may sit anywhere
    app.user(&admin, "staff.branch", "staff", Some(org.east))
        .await;
}

#[actix_rt::test]
async fn contractor_roles_need_an_org_unit_and_customers_a_customer() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "some.one", "display_name": "x", "role": "staff", "password": PASSWORD}))
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["org_unit_id"]);
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "owner.one", "display_name": "x", "role": "customer", "password": PASSWORD}))
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["customer_id"]);
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "owner.one", "display_name": "x", "role": "customer", "customer_id": 4242, "password": PASSWORD}))
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["customer_id"]);
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "some.one", "display_name": "x", "role": "staff", "org_unit_id": 4242, "password": PASSWORD}))
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["org_unit_id"]);
}

#[actix_rt::test]
async fn user_validation_names_every_bad_field() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "ab", "display_name": "", "role": "staff", "password": "short"}),
        )
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["display_name", "password", "username"]);
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "bad name!", "display_name": "x", "role": "admin", "password": PASSWORD}))
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["username"]);
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "good.name", "display_name": "x", "role": "admin", "phone": "call me", "password": PASSWORD}))
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["phone"]);
}

#[actix_rt::test]
async fn username_is_unique_regardless_of_case() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    let r = app
        .post("/api/v1/users", &admin, json!({"username": "TECH.ONE", "display_name": "x", "role": "staff", "org_unit_id": org.east_pd, "password": PASSWORD}))
        .await;
    r.expect_problem(409, "username_taken");
}

#[actix_rt::test]
async fn users_are_deactivated_never_deleted() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    let r = app
        .post(
            &format!("/api/v1/users/{id}/deactivation"),
            &admin,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["version"], 2);
    // repeating is harmless and changes nothing
    let r = app
        .post(
            &format!("/api/v1/users/{id}/deactivation"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.body["version"], 2);
    // still listed, filterable
    let r = app.get("/api/v1/users?active=false", &admin).await;
    assert_eq!(r.body["items"][0]["id"], json!(id));
    // DELETE is not a method of this resource
    app.send(
        actix_web::test::TestRequest::delete()
            .uri(&format!("/api/v1/users/{id}"))
            .insert_header(("Authorization", format!("Bearer {admin}"))),
    )
    .await
    .expect_problem(405, "method_not_allowed");
    // reactivation lets them log in again
    app.post(&format!("/api/v1/users/{id}/activation"), &admin, json!({}))
        .await
        .expect(200);
    app.login("tech.one", PASSWORD).await.expect(200);
}

#[actix_rt::test]
async fn admin_cannot_deactivate_or_demote_themselves() {
    let app = spawn().await;
    let admin = app.admin().await;
    app.post("/api/v1/users/1/deactivation", &admin, json!({}))
        .await
        .expect_problem(409, "cannot_deactivate_self");
    app.patch("/api/v1/users/1", &admin, json!({"role": "staff"}))
        .await
        .expect_problem(409, "cannot_demote_self");
}

#[actix_rt::test]
async fn admin_resets_others_passwords_but_changes_their_own_only_with_the_current_one() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"password": "a new password 1"}),
    )
    .await
    .expect(200);
    app.login("tech.one", "a new password 1").await.expect(200);
    let r = app
        .patch(
            "/api/v1/users/1",
            &admin,
            json!({"password": "taken over 1"}),
        )
        .await;
    r.expect_problem(409, "cannot_reset_own_password");
    app.login("admin", ADMIN_PASSWORD).await.expect(200);
    app.post(
        "/api/v1/me/password",
        &admin,
        json!({"current_password": ADMIN_PASSWORD, "new_password": "taken over 1"}),
    )
    .await
    .expect(204);
    app.login("admin", "taken over 1").await.expect(200);
}

#[actix_rt::test]
async fn patch_changes_only_sent_fields_and_honours_if_match() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    let path = format!("/api/v1/users/{id}");
    let r = app
        .patch(&path, &admin, json!({"phone": "13900000000"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["phone"], "13900000000");
    assert_eq!(r.body["display_name"], "tech.one");
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));

    // a stale If-Match is refused and changes nothing
    let stale = actix_web::test::TestRequest::patch()
        .uri(&path)
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("If-Match", "\"1\""))
        .set_json(json!({"display_name": "Lost update"}));
    app.send(stale)
        .await
        .expect_problem(412, "version_mismatch");
    let current = actix_web::test::TestRequest::patch()
        .uri(&path)
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("If-Match", "\"2\""))
        .set_json(json!({"display_name": "Liu Qiang", "phone": null}));
    let r = app.send(current).await;
    r.expect(200);
    assert_eq!(r.body["display_name"], "Liu Qiang");
    assert_eq!(r.body["phone"], json!(null), "null clears the phone");
    assert_eq!(r.body["version"], 3);

    // moving to a branch-level role needs a branch
    app.patch(&path, &admin, json!({"role": "branch_engineer"}))
        .await
        .expect_problem(422, "org_unit_kind_mismatch");
    let r = app
        .patch(
            &path,
            &admin,
            json!({"role": "branch_engineer", "org_unit_id": org.east}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["org_unit_id"], json!(org.east));
}

#[actix_rt::test]
async fn every_user_change_writes_an_event() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "tech.one", "staff", Some(org.east_pd))
        .await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"display_name": "Liu"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/users/{id}/deactivation"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .get(
            &format!("/api/v1/events?subject_type=user&subject_id={id}"),
            &admin,
        )
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["user.created", "user.updated", "user.deactivated"]
    );
    assert_eq!(items[1]["payload"]["before"]["display_name"], "tech.one");
    assert_eq!(items[1]["payload"]["after"]["display_name"], "Liu");
    assert_eq!(items[1]["actor_user_id"], json!(1));
    assert!(
        !r.body.to_string().contains("argon2"),
        "no password hash in the audit trail"
    );
    // the audit trail is for admins
    let engineer = {
        app.user(&admin, "east.engineer", "branch_engineer", Some(org.east))
            .await;
        app.token("east.engineer", PASSWORD).await
    };
    app.get("/api/v1/events", &engineer)
        .await
        .expect_problem(403, "forbidden");
}

#[actix_rt::test]
async fn users_list_is_paginated_with_a_cursor() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    for i in 0..5 {
        app.user(&admin, &format!("tech.{i}"), "staff", Some(org.east_pd))
            .await;
    }
    let mut seen = vec![];
    let mut url = "/api/v1/users?limit=2".to_string();
    loop {
        let r = app.get(&url, &admin).await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec!["admin", "tech.0", "tech.1", "tech.2", "tech.3", "tech.4"]
    );
    let r = app.get("/api/v1/users?q=TECH.3", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/users?q=100%25", &admin).await;
    assert_eq!(
        r.body["items"],
        json!([]),
        "LIKE wildcards are matched literally"
    );
}
