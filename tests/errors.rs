//! Bad input of every kind gets a clear problem+json 4xx, never a 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::TestRequest;
use common::*;
use serde_json::json;

fn post_raw(path: &str, token: &str, content_type: &str, body: &'static str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", content_type.to_string()))
        .set_payload(body)
}

#[actix_rt::test]
async fn malformed_json_is_400() {
    let app = spawn().await;
    let admin = app.admin().await;
    for body in [
        "{",
        "{\"name\": }",
        "not json",
        "{\"name\": \"x\", \"kind\": \"group\"} trailing",
        "",
    ] {
        let r = app
            .send(post_raw(
                "/api/v1/org-units",
                &admin,
                "application/json",
                body,
            ))
            .await;
        r.expect_problem(400, "malformed_json");
        assert_eq!(r.fields(), vec!["body"], "for {body:?}");
    }
}

#[actix_rt::test]
async fn wrong_type_names_the_field() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": 42, "kind": "group"}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["name"]);
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": "x", "kind": "branch", "parent_id": "one"}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["parent_id"]);
    // serde would fill a struct's fields from an array, in order
    for body in [
        json!(["not", "an", "object"]),
        json!(["x", "group"]),
        json!([null, null]),
        json!("x"),
        json!(null),
    ] {
        let r = app.post("/api/v1/org-units", &admin, body.clone()).await;
        r.expect_problem(400, "invalid_field");
        assert_eq!(r.fields(), vec!["body"], "for {body}");
    }
}

#[actix_rt::test]
async fn unknown_enum_value_names_the_field_and_the_allowed_values() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": "x", "kind": "division"}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["kind"]);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("project_department"));
}

#[actix_rt::test]
async fn unknown_field_is_refused_so_a_typo_is_not_silently_lost() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": "x", "kind": "group", "parnet_id": 1}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["parnet_id"]);
}

#[actix_rt::test]
async fn missing_required_field_is_named() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .post("/api/v1/org-units", &admin, json!({"kind": "group"}))
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["name"]);
}

#[actix_rt::test]
async fn oversize_body_is_413() {
    let app = spawn_with(|c| c.max_body_bytes = 1024).await;
    let admin = app.admin().await;
    let big = "x".repeat(2000);
    let r = app
        .post(
            "/api/v1/org-units",
            &admin,
            json!({"name": big, "kind": "group"}),
        )
        .await;
    r.expect_problem(413, "payload_too_large");
}

#[actix_rt::test]
async fn wrong_content_type_is_415() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .send(post_raw(
            "/api/v1/org-units",
            &admin,
            "text/plain",
            "{\"name\":\"x\",\"kind\":\"group\"}",
        ))
        .await;
    r.expect_problem(415, "unsupported_media_type");
    // a charset parameter is fine
    let r = app
        .send(post_raw(
            "/api/v1/org-units",
            &admin,
            "application/json; charset=utf-8",
            "{\"name\":\"G\",\"kind\":\"group\"}",
        ))
        .await;
    r.expect(201);
}

#[actix_rt::test]
async fn bad_id_in_path_is_400_and_unknown_id_is_404() {
    let app = spawn().await;
    let admin = app.admin().await;
    for path in [
        "/api/v1/users/abc",
        "/api/v1/users/1.5",
        "/api/v1/users/99999999999999999999999",
    ] {
        let r = app.get(path, &admin).await;
        r.expect_problem(400, "invalid_path_parameter");
        assert_eq!(r.fields(), vec!["id"]);
    }
    app.get("/api/v1/users/424242", &admin)
        .await
        .expect_problem(404, "not_found");
    app.get("/api/v1/users/-1", &admin)
        .await
        .expect_problem(404, "not_found");
    app.get("/api/v1/org-units/0", &admin)
        .await
        .expect_problem(404, "not_found");
}

#[actix_rt::test]
async fn bad_query_parameters_are_named() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app.get("/api/v1/users?limit=abc", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["limit"]);
    let r = app.get("/api/v1/users?role=boss", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["role"]);
    let r = app.get("/api/v1/users?active=maybe", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["active"]);
    let r = app.get("/api/v1/users?limit=0", &admin).await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["limit"]);
    let r = app.get("/api/v1/users?limit=201", &admin).await;
    r.expect_problem(422, "validation_failed");
    let r = app.get("/api/v1/users?cursor=garbage!", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["cursor"]);
    app.get("/api/v1/users?limit=200", &admin).await.expect(200);
}

#[actix_rt::test]
async fn unknown_path_is_404_problem() {
    let app = spawn().await;
    let r = app
        .send(TestRequest::get().uri("/api/v1/nothing-here"))
        .await;
    r.expect_problem(404, "not_found");
    let r = app
        .send(TestRequest::get().uri("/whatever/../../etc/passwd"))
        .await;
    assert!(r.status == 404 || r.status == 400, "status {}", r.status);
}

#[actix_rt::test]
async fn wrong_method_is_405_problem() {
    let app = spawn().await;
    let r = app.send(TestRequest::put().uri("/api/v1/users")).await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST"));
    let r = app.send(TestRequest::get().uri("/api/v1/auth/login")).await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let r = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::TRACE)
                .uri("/api/v1/calendar/days/2026-10-01"),
        )
        .await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET, PUT, DELETE"));
    let r = app.send(TestRequest::post().uri("/healthz")).await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET"));
}

#[actix_rt::test]
async fn if_match_garbage_is_412() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .send(
            TestRequest::patch()
                .uri("/api/v1/users/1")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("If-Match", "\"abc\""))
                .set_json(json!({"display_name": "x"})),
        )
        .await;
    r.expect_problem(412, "version_mismatch");
}

#[actix_rt::test]
async fn if_match_is_judged_after_role_and_scope_and_may_list_several_versions() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    let patch = |token: &str, unit: i64, tag: &str| {
        TestRequest::patch()
            .uri(&format!("/api/v1/org-units/{unit}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("If-Match", tag.to_string()))
            .set_json(json!({"name": "Renamed"}))
    };
    // a request that fails anyway is not answered 412 (RFC 9110 §13.2.2)
    app.send(patch(&pm, org.east_pd, "x"))
        .await
        .expect_problem(403, "forbidden");
    app.send(patch(&admin, 999_999, "x"))
        .await
        .expect_problem(404, "not_found");
    app.send(patch(&admin, org.east_pd, "x"))
        .await
        .expect_problem(412, "version_mismatch");
    // nor is a request whose content is refused anyway
    let blank = TestRequest::patch()
        .uri(&format!("/api/v1/org-units/{}", org.east_pd))
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("If-Match", "\"99\""))
        .set_json(json!({"name": "  "}));
    app.send(blank)
        .await
        .expect_problem(422, "validation_failed");
    let long = TestRequest::patch()
        .uri(&format!("/api/v1/users/{}", 1))
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("If-Match", "\"99\""))
        .set_json(json!({"phone": "1".repeat(33)}));
    let r = app.send(long).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.fields(), vec!["phone"]);
    // a list holds when any of its versions is current
    app.send(patch(&admin, org.east_pd, "\"7\", W/\"1\""))
        .await
        .expect(200);
    app.send(patch(&admin, org.east_pd, "\"1\", \"3\""))
        .await
        .expect_problem(412, "version_mismatch");
}

#[actix_rt::test]
async fn health_endpoints_answer_without_auth() {
    let app = spawn().await;
    let r = app.send(TestRequest::get().uri("/healthz")).await;
    r.expect(200);
    assert_eq!(r.body["status"], "ok");
    let r = app.send(TestRequest::get().uri("/readyz")).await;
    r.expect(200);
    assert_eq!(r.body["status"], "ready");
}

#[actix_rt::test]
async fn nul_characters_are_refused_in_bodies_queries_and_paths() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let r = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Binjiang\u{0000}Owners", "kind": "owner_organisation", "branch_id": org.east}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["name"]);
    let r = app.login("ad\u{0000}min", "whatever").await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["username"]);
    let r = app.get("/api/v1/projects?q=a%00b", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["q"]);
    app.get("/api/v1/deadline-policies/ledger%00.fill", &admin)
        .await
        .expect_problem(400, "invalid_path_parameter");
    // nothing was stored
    let r = app.get("/api/v1/customers", &admin).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
}

#[actix_rt::test]
async fn dates_outside_years_1_to_9999_are_refused_with_the_field_named() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            json!({"code": "P-1", "name": "P", "address": "1 River Road", "project_department_id": org.east_pd,
                "customer_id": c, "completion_accepted_on": "-5000-01-01", "handover_on": "2026-03-01"}),
        )
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["completion_accepted_on"]);
    let r = app
        .get("/api/v1/projects?under_warranty_on=%2B20000-01-01", &admin)
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["under_warranty_on"]);
    let r = app
        .get("/api/v1/calendar/days?from=-0001-01-01", &admin)
        .await;
    assert_eq!(r.fields(), vec!["from"]);
    app.get("/api/v1/calendar/days/+200000-01-01", &admin)
        .await
        .expect_problem(400, "invalid_path_parameter");
    app.get("/api/v1/calendar/days/9999-12-31", &admin)
        .await
        .expect(200);
}

#[actix_rt::test]
async fn integral_numbers_written_as_doubles_are_integers_and_fractions_are_refused() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let c = app.customer(&admin, "Owner", org.east).await;
    let r = app
        .post(
            &format!("/api/v1/customers/{c}/gradings"),
            &admin,
            json!({"operating_score": 92.0, "payment_score": 90, "cooperation_score": 9.1e1}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["grade"], "AAA");
    let r = app
        .post(
            &format!("/api/v1/customers/{c}/gradings"),
            &admin,
            json!({"operating_score": 92.5, "payment_score": 90, "cooperation_score": 91}),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["operating_score"]);
    // a large id written as a double is the id (a JavaScript client's
    // largest safe integer, 2^53 - 1): here no such project, not unreadable
    let r = app.get("/api/v1/projects/9007199254740991", &admin).await;
    r.expect(404);
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            json!({"code": "P-1", "name": "P", "address": "1 River Road", "project_department_id": org.east_pd,
                "customer_id": 9007199254740991.0_f64, "completion_accepted_on": "2026-02-27",
                "handover_on": "2026-03-01"}),
        )
        .await;
    r.expect_problem(404, "not_found");
    assert_eq!(r.fields(), vec!["customer_id"]);
    // read exactly: a double that a fast parser would take for …763.25
    let r = app
        .post(
            "/api/v1/projects",
            &admin,
            json!({"code": "P-1", "name": "P", "address": "1 River Road", "project_department_id": org.east_pd,
                "customer_id": 2169999441992763.0_f64, "completion_accepted_on": "2026-02-27",
                "handover_on": "2026-03-01"}),
        )
        .await;
    r.expect_problem(404, "not_found");
    // and in a query string: `7.0` is the number 7; `7.5` is no id
    let r = app
        .get(&format!("/api/v1/projects?customer_id={c}.0"), &admin)
        .await;
    r.expect(200);
    let r = app
        .get(&format!("/api/v1/projects?customer_id={c}.5"), &admin)
        .await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["customer_id"]);
}

#[actix_rt::test]
async fn database_constraint_errors_name_the_field_and_leak_nothing() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let now = app.clock.now_naive();
    // what reaches the database past the service's own checks: a CHECK and
    // a unique index
    let check = app
        .state
        .db(move |conn| {
            use aftercare::db::schema::customers;
            use diesel::prelude::*;
            diesel::insert_into(customers::table)
                .values((
                    customers::name.eq("Owner Co."),
                    customers::kind.eq("no_such_kind"),
                    customers::branch_id.eq(org.east),
                    customers::version.eq(1),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap_err();
    let problem = check.problem();
    assert_eq!(problem.status, 422, "{problem:?}");
    assert_eq!(problem.code, "validation_failed");
    assert_eq!(problem.errors[0].field, "kind");

    let unique = app
        .state
        .db(move |conn| {
            use aftercare::db::schema::org_units;
            use diesel::prelude::*;
            diesel::insert_into(org_units::table)
                .values((
                    org_units::name.eq("East Branch"),
                    org_units::kind.eq("branch"),
                    org_units::parent_id.eq(org.group),
                    org_units::path.eq("/x/"),
                    org_units::active.eq(true),
                    org_units::version.eq(1),
                    org_units::created_at.eq(now),
                    org_units::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap_err();
    let problem = unique.problem();
    assert_eq!(problem.status, 409, "{problem:?}");
    assert_eq!(problem.code, "already_exists");
    for internal in [
        "org_units",
        "sibling",
        "UNIQUE",
        "duplicate key",
        "constraint",
    ] {
        assert!(!problem.detail.contains(internal), "{}", problem.detail);
    }
}

#[actix_rt::test]
async fn unknown_query_parameter_is_refused_naming_it() {
    let app = spawn().await;
    let admin = app.admin().await;
    // a typo must not answer every deadline as if no filter were given
    let r = app.get("/api/v1/deadlines?stauts=pending", &admin).await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["stauts"]);
    app.get("/api/v1/deadlines?status=pending", &admin)
        .await
        .expect(200);
    // a misspelt value of a filter is refused too, naming the parameter
    let r = app
        .get("/api/v1/deadlines?subject_type=projct", &admin)
        .await;
    r.expect_problem(400, "invalid_query_parameter");
    assert_eq!(r.fields(), vec!["subject_type"]);
    app.get("/api/v1/deadlines?subject_type=project", &admin)
        .await
        .expect(200);
}

#[actix_rt::test]
async fn a_list_of_the_wrong_length_is_counted_in_items() {
    let app = spawn().await;
    let admin = app.admin().await;
    let r = app
        .put(
            "/api/v1/deadline-policies/complaint.judge",
            &admin,
            json!({"duration": 2, "unit": "working_days", "actor_role": "branch_engineer", "escalation_roles": []}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["escalation_roles"]);
    let detail = r.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert_eq!(detail, "must have 1 to 5 items", "{}", r.body);
}

/// Every string in a JSON answer that is an instant.
fn instants(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s)
            if s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' =>
        {
            out.push(s.clone())
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| instants(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| instants(v, out)),
        _ => {}
    }
}

#[actix_rt::test]
async fn every_instant_is_sent_in_one_shape_whole_seconds_utc() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let customer = app.customer(&admin, "Binjiang Owners", org.east).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    // the settable clock starts on a whole second: move it off one
    app.clock.advance(chrono::Duration::microseconds(250_384));
    app.project(&pm, "P-TS", org.east_pd, customer).await;
    let login = app.login("east.pm", PASSWORD).await;
    let mut seen = vec![];
    instants(&login.body, &mut seen);
    for path in [
        "/api/v1/me",
        "/api/v1/projects",
        "/api/v1/customers",
        "/api/v1/deadlines",
        "/api/v1/me/tasks",
        "/api/v1/events",
        "/api/v1/users",
        "/api/v1/org-units",
    ] {
        let r = app.get(path, &admin).await;
        r.expect(200);
        instants(&r.body, &mut seen);
    }
    assert!(seen.len() > 20, "{seen:?}");
    for s in &seen {
        let ok =
            s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok();
        assert!(ok, "{s} is not YYYY-MM-DDTHH:MM:SSZ");
    }
}

#[actix_rt::test]
async fn a_uri_over_8_kib_is_414_problem_json_and_one_at_the_limit_is_not() {
    let app = spawn().await;
    let admin = app.admin().await;
    let base = "/api/v1/projects?q=";
    let at_limit = format!(
        "{base}{}",
        "a".repeat(aftercare::MAX_URI_BYTES - base.len())
    );
    let r = app.get(&at_limit, &admin).await;
    assert_ne!(r.status, 414, "{:?}", r.body);
    let over = format!("{at_limit}a");
    let r = app.get(&over, &admin).await;
    r.expect_problem(414, "uri_too_long");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
}
