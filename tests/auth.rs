//! Login, refresh rotation and reuse detection, logout, and every kind of bad
//! token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::TestRequest;
use base64::Engine;
use chrono::Duration;
use common::*;
use serde_json::json;

#[actix_rt::test]
async fn login_with_right_password_gives_tokens_and_user() {
    let app = spawn().await;
    let r = app.login("admin", ADMIN_PASSWORD).await;
    r.expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert!(r.body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(r.body["refresh_token"].as_str().unwrap().len() >= 40);
    assert_eq!(r.body["user"]["username"], "admin");
    assert_eq!(r.body["user"]["role"], "admin");
    assert!(r.body["user"].get("password_hash").is_none());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[actix_rt::test]
async fn login_is_case_insensitive_on_username() {
    let app = spawn().await;
    app.login("ADMIN", ADMIN_PASSWORD).await.expect(200);
}

#[actix_rt::test]
async fn login_with_wrong_password_or_unknown_user_is_401() {
    let app = spawn().await;
    app.login("admin", "wrong-password")
        .await
        .expect_problem(401, "invalid_credentials");
    app.login("nobody", ADMIN_PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    let r = app.login("admin", "wrong-password").await;
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
}

#[actix_rt::test]
async fn login_of_a_deactivated_user_is_401() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "pm.east", "project_manager", Some(org.east_pd))
        .await;
    app.post(
        &format!("/api/v1/users/{id}/deactivation"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    app.login("pm.east", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
}

#[actix_rt::test]
async fn login_rate_limit_refuses_after_five_failures_until_the_window_passes() {
    let app = spawn().await;
    for _ in 0..5 {
        app.login("admin", "wrong-password")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // limited now: even the right password is refused
    let r = app.login("admin", ADMIN_PASSWORD).await;
    r.expect_problem(429, "rate_limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("900"));
    // another user is not affected
    let admin_tok = {
        app.clock.advance(Duration::minutes(16));
        app.token("admin", ADMIN_PASSWORD).await
    };
    assert!(!admin_tok.is_empty());
}

#[actix_rt::test]
async fn login_rate_limit_counts_only_failures_since_the_last_success() {
    let app = spawn().await;
    for _ in 0..4 {
        app.login("admin", "wrong-password").await.expect(401);
    }
    app.clock.advance(Duration::seconds(1));
    app.login("admin", ADMIN_PASSWORD).await.expect(200);
    app.clock.advance(Duration::seconds(1));
    for _ in 0..4 {
        app.login("admin", "wrong-password").await.expect(401);
    }
    app.login("admin", ADMIN_PASSWORD).await.expect(200);
}

#[actix_rt::test]
async fn login_with_missing_field_names_it() {
    let app = spawn().await;
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_json(json!({"username": "admin"})),
        )
        .await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["password"]);
}

#[actix_rt::test]
async fn me_returns_the_caller() {
    let app = spawn().await;
    let token = app.admin().await;
    let r = app.get("/api/v1/me", &token).await;
    r.expect(200);
    assert_eq!(r.body["user"]["username"], "admin");
    assert_eq!(r.body["org_unit"], json!(null));
}

#[actix_rt::test]
async fn refresh_rotates_the_refresh_token() {
    let app = spawn().await;
    let first = app.login("admin", ADMIN_PASSWORD).await.body.clone();
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/refresh")
                .set_json(json!({"refresh_token": first["refresh_token"]})),
        )
        .await;
    r.expect(200);
    assert_ne!(r.body["refresh_token"], first["refresh_token"]);
    let access = r.body["access_token"].as_str().unwrap();
    app.get("/api/v1/me", access).await.expect(200);
    // the new refresh token works once more
    let again = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/refresh")
                .set_json(json!({"refresh_token": r.body["refresh_token"]})),
        )
        .await;
    again.expect(200);
}

#[actix_rt::test]
async fn refresh_token_reuse_revokes_the_whole_family() {
    let app = spawn().await;
    let first = app.login("admin", ADMIN_PASSWORD).await.body.clone();
    let rotated = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/refresh")
                .set_json(json!({"refresh_token": first["refresh_token"]})),
        )
        .await
        .body
        .clone();
    // the spent token is presented again: a thief or a replay
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({"refresh_token": first["refresh_token"]})),
    )
    .await
    .expect_problem(401, "refresh_token_reused");
    // the legitimate successor is dead too, and so is its access token
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({"refresh_token": rotated["refresh_token"]})),
    )
    .await
    .expect_problem(401, "session_ended");
    app.get("/api/v1/me", rotated["access_token"].as_str().unwrap())
        .await
        .expect_problem(401, "session_ended");
    // another login still works
    app.login("admin", ADMIN_PASSWORD).await.expect(200);
}

#[actix_rt::test]
async fn refresh_with_unknown_or_expired_token_is_401() {
    let app = spawn().await;
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({"refresh_token": "not-a-token"})),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    let first = app.login("admin", ADMIN_PASSWORD).await.body.clone();
    app.clock.advance(Duration::days(31));
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({"refresh_token": first["refresh_token"]})),
    )
    .await
    .expect_problem(401, "refresh_token_expired");
}

#[actix_rt::test]
async fn logout_ends_the_session_at_once() {
    let app = spawn().await;
    let body = app.login("admin", ADMIN_PASSWORD).await.body.clone();
    let access = body["access_token"].as_str().unwrap();
    let other_session = app.admin().await;
    let r = app.post("/api/v1/auth/logout", access, json!({})).await;
    r.expect(204);
    app.get("/api/v1/me", access)
        .await
        .expect_problem(401, "session_ended");
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({"refresh_token": body["refresh_token"]})),
    )
    .await
    .expect_problem(401, "session_ended");
    // only this session ended
    app.get("/api/v1/me", &other_session).await.expect(200);
}

#[actix_rt::test]
async fn logout_all_sessions_ends_every_session() {
    let app = spawn().await;
    let a = app.admin().await;
    let b = app.admin().await;
    app.post("/api/v1/auth/logout?all_sessions=true", &a, json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", &b)
        .await
        .expect_problem(401, "session_ended");
}

#[actix_rt::test]
async fn missing_or_malformed_authorization_is_401() {
    let app = spawn().await;
    let r = app.send(TestRequest::get().uri("/api/v1/me")).await;
    r.expect_problem(401, "missing_token");
    let r = app
        .send(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Authorization", "Basic YWRtaW46eA==")),
        )
        .await;
    r.expect_problem(401, "invalid_token");
    let r = app.get("/api/v1/me", "not.a.jwt").await;
    r.expect_problem(401, "invalid_token");
}

#[actix_rt::test]
async fn expired_access_token_is_401_and_fresh_one_is_accepted() {
    let app = spawn().await;
    let token = app.admin().await;
    app.clock.advance(Duration::minutes(14));
    app.get("/api/v1/me", &token).await.expect(200);
    app.clock.advance(Duration::minutes(2)); // 16 minutes: past 15 and the leeway
    app.get("/api/v1/me", &token)
        .await
        .expect_problem(401, "token_expired");
}

#[actix_rt::test]
async fn tampered_token_is_401() {
    let app = spawn().await;
    let token = app.admin().await;
    let parts: Vec<&str> = token.split('.').collect();
    // change the role claim, keep the signature
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("999");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    app.get("/api/v1/me", &forged)
        .await
        .expect_problem(401, "invalid_token");
    // flip the signature
    let mut sig = parts[2].to_string();
    let last = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(last);
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], sig);
    app.get("/api/v1/me", &bad_sig)
        .await
        .expect_problem(401, "invalid_token");
}

#[actix_rt::test]
async fn alg_none_token_is_401() {
    let app = spawn().await;
    let token = app.admin().await;
    let claims = token.split('.').nth(1).unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    app.get("/api/v1/me", &format!("{header}.{claims}."))
        .await
        .expect_problem(401, "invalid_token");
    app.get("/api/v1/me", &format!("{header}.{claims}"))
        .await
        .expect_problem(401, "invalid_token");
}

#[actix_rt::test]
async fn token_signed_with_another_secret_is_401() {
    let app = spawn().await;
    let other = aftercare::auth::jwt::JwtKeys::new(b"another-secret-another-secret-another-secret");
    let forged = other
        .issue(1, "admin", None, None, "whatever", app.clock.now(), 900)
        .unwrap();
    app.get("/api/v1/me", &forged)
        .await
        .expect_problem(401, "invalid_token");
}

#[actix_rt::test]
async fn deactivating_a_user_ends_their_sessions_at_once() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "pm.east", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("pm.east", PASSWORD).await;
    app.get("/api/v1/me", &pm).await.expect(200);
    app.post(
        &format!("/api/v1/users/{id}/deactivation"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &pm)
        .await
        .expect_problem(401, "account_inactive");
}

#[actix_rt::test]
async fn password_reset_by_admin_ends_sessions_and_new_password_works() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "pm.east", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("pm.east", PASSWORD).await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"password": "brand-new-pass"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &pm)
        .await
        .expect_problem(401, "session_ended");
    app.login("pm.east", PASSWORD).await.expect(401);
    app.login("pm.east", "brand-new-pass").await.expect(200);
}

fn login_from(addr: &str, username: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/auth/login")
        .peer_addr(addr.parse().unwrap())
        .set_json(json!({ "username": username, "password": password }))
}

#[actix_rt::test]
async fn login_lock_is_per_username_and_address_so_a_stranger_cannot_lock_the_owner_out() {
    let app = spawn_with(|c| c.login_max_failures_per_user = 8).await;
    for _ in 0..5 {
        app.send(login_from("10.0.0.9:1000", "admin", "guess"))
            .await
            .expect(401);
    }
    // the stranger's address is locked for this username …
    app.send(login_from("10.0.0.9:1000", "admin", ADMIN_PASSWORD))
        .await
        .expect_problem(429, "rate_limited");
    // … the owner, elsewhere, is not
    app.send(login_from("10.0.0.1:1000", "admin", ADMIN_PASSWORD))
        .await
        .expect(200);
    // until the username's own, much higher limit is reached from everywhere
    app.clock.advance(Duration::seconds(1));
    for i in 0..8 {
        app.send(login_from(&format!("10.0.1.{i}:1000"), "admin", "guess"))
            .await
            .expect(401);
    }
    app.send(login_from("10.0.0.1:1000", "admin", ADMIN_PASSWORD))
        .await
        .expect_problem(429, "rate_limited");
}

#[actix_rt::test]
async fn login_rate_limit_per_address_stops_password_spraying() {
    let app = spawn_with(|c| c.login_max_failures_per_addr = 3).await;
    for name in ["alice", "bob", "carol"] {
        app.send(login_from("10.0.0.1:1000", name, "guess"))
            .await
            .expect(401);
    }
    app.send(login_from("10.0.0.1:1000", "admin", ADMIN_PASSWORD))
        .await
        .expect_problem(429, "rate_limited");
    // another address is not affected
    app.send(login_from("10.0.0.2:1000", "admin", ADMIN_PASSWORD))
        .await
        .expect(200);
}

#[actix_rt::test]
async fn forwarded_address_is_used_only_when_configured() {
    let forwarded = |ip: &str| {
        login_from("127.0.0.1:1000", "nobody", "guess")
            .insert_header(("X-Forwarded-For", ip.to_string()))
    };
    // behind a trusted proxy: each client address counts on its own
    let app = spawn_with(|c| {
        c.login_max_failures_per_addr = 2;
        c.trust_forwarded_for = true;
    })
    .await;
    app.send(forwarded("203.0.113.1")).await.expect(401);
    app.send(forwarded("203.0.113.1")).await.expect(401);
    app.send(forwarded("203.0.113.1")).await.expect(429);
    app.send(forwarded("203.0.113.2")).await.expect(401);
    // not trusted: the header is ignored, the peer address counts
    let app = spawn_with(|c| c.login_max_failures_per_addr = 2).await;
    app.send(forwarded("203.0.113.1")).await.expect(401);
    app.send(forwarded("203.0.113.2")).await.expect(401);
    app.send(forwarded("203.0.113.3")).await.expect(429);
}

#[actix_rt::test]
async fn a_forged_forwarded_for_does_not_dodge_the_address_limit() {
    // the client writes the leftmost entries; the trusted proxy appends the
    // address it saw, so that one counts however the left part changes
    let forged = |i: usize| {
        login_from("127.0.0.1:1000", "nobody", "guess")
            .insert_header(("X-Forwarded-For", format!("198.51.100.{i}, 203.0.113.7")))
    };
    let app = spawn_with(|c| {
        c.login_max_failures_per_addr = 2;
        c.trust_forwarded_for = true;
    })
    .await;
    app.send(forged(1)).await.expect(401);
    app.send(forged(2)).await.expect(401);
    app.send(forged(3))
        .await
        .expect_problem(429, "rate_limited");

    // two trusted proxies: the second entry from the right is the client's
    let app = spawn_with(|c| {
        c.login_max_failures_per_addr = 2;
        c.trust_forwarded_for = true;
        c.trusted_proxy_hops = 2;
    })
    .await;
    let via_two = |left: &str| {
        login_from("127.0.0.1:1000", "nobody", "guess")
            .insert_header(("X-Forwarded-For", format!("{left}, 203.0.113.7, 10.0.0.1")))
    };
    app.send(via_two("198.51.100.1")).await.expect(401);
    app.send(via_two("198.51.100.2")).await.expect(401);
    app.send(via_two("198.51.100.3")).await.expect(429);
}

#[actix_rt::test]
async fn password_hashing_holds_no_database_connection() {
    // debug builds refuse to hash or verify a password while the thread
    // holds a pooled connection (Argon2 is slow: ten logins would starve
    // every other request); each of these answered 500 before
    let app = spawn().await;
    let admin = app.admin().await;
    app.login("admin", "wrong").await.expect(401);
    app.login("nobody", "wrong").await.expect(401);
    let id = app.user(&admin, "hasher", "admin", None).await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"password": "another-password-1"}),
    )
    .await
    .expect(200);
    app.token("hasher", "another-password-1").await;
}

#[actix_rt::test]
async fn config_debug_shows_no_secret() {
    let mut config = aftercare::config::Config::for_database(aftercare::db::DbTarget::Postgres(
        "postgres://u:db-password-9@localhost/x".to_string(),
    ));
    config.jwt_secret = Some("jwt-secret-that-must-stay-hidden-123456".to_string());
    config.admin_password = Some("admin-password-that-must-stay-hidden".to_string());
    let printed = format!("{config:?}");
    for secret in ["jwt-secret-that", "admin-password-that", "db-password-9"] {
        assert!(!printed.contains(secret), "{printed}");
    }
    assert!(printed.contains("<set>"));
}

#[actix_rt::test]
async fn a_user_changes_their_own_password_and_their_other_sessions_end() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    app.user(&admin, "pm.east", "project_manager", Some(org.east_pd))
        .await;
    let phone = app.token("pm.east", PASSWORD).await;
    let laptop = app.token("pm.east", PASSWORD).await;
    // the current password must be right, and the new one long enough
    let r = app
        .post(
            "/api/v1/me/password",
            &laptop,
            json!({"current_password": "not-it", "new_password": "brand-new-pass"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["current_password"]);
    let r = app
        .post(
            "/api/v1/me/password",
            &laptop,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.fields(), vec!["new_password"]);
    app.post(
        "/api/v1/me/password",
        &laptop,
        json!({"current_password": PASSWORD, "new_password": "brand-new-pass"}),
    )
    .await
    .expect(204);
    // this session goes on; the phone's has ended
    app.get("/api/v1/me", &laptop).await.expect(200);
    app.get("/api/v1/me", &phone)
        .await
        .expect_problem(401, "session_ended");
    app.login("pm.east", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    app.login("pm.east", "brand-new-pass").await.expect(200);
}

#[actix_rt::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = spawn().await;
    let admin = app.admin().await;
    // failures count from the last successful login on
    app.clock.advance(Duration::seconds(1));
    for _ in 0..5 {
        app.post(
            "/api/v1/me/password",
            &admin,
            json!({"current_password": "guess", "new_password": "brand-new-pass"}),
        )
        .await
        .expect(422);
    }
    app.post(
        "/api/v1/me/password",
        &admin,
        json!({"current_password": ADMIN_PASSWORD, "new_password": "brand-new-pass"}),
    )
    .await
    .expect_problem(429, "rate_limited");
}

#[actix_rt::test]
async fn a_unit_or_role_change_takes_effect_on_the_next_request_of_a_live_session() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let east_customer = app.customer(&admin, "East Owner", org.east).await;
    let north_customer = app.customer(&admin, "North Owner", org.north).await;
    let east_project = app.project(&admin, "E-1", org.east_pd, east_customer).await["id"]
        .as_i64()
        .unwrap();
    let north_project = app
        .project(&admin, "N-1", org.north_pd, north_customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let id = app
        .user(&admin, "pm.moving", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("pm.moving", PASSWORD).await;
    let east = format!("/api/v1/projects/{east_project}");
    let north = format!("/api/v1/projects/{north_project}");
    app.get(&east, &pm).await.expect(200);
    app.get(&north, &pm).await.expect(404);

    // moved to the north department: the same token sees north, not east
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"org_unit_id": org.north_pd}),
    )
    .await
    .expect(200);
    app.get(&east, &pm).await.expect(404);
    app.get(&north, &pm).await.expect(200);
    let me = app.get("/api/v1/me", &pm).await.expect(200).body.clone();
    assert_eq!(me["org_unit"]["id"], org.north_pd);

    // made a branch engineer of the east branch: its role and wider scope
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"role": "branch_engineer", "org_unit_id": org.east}),
    )
    .await
    .expect(200);
    app.get(&east, &pm).await.expect(200);
    app.get(&north, &pm).await.expect(404);
    let me = app.get("/api/v1/me", &pm).await.expect(200).body.clone();
    assert_eq!(me["user"]["role"], "branch_engineer");
}

#[actix_rt::test]
async fn a_session_ended_before_a_reactivation_stays_ended() {
    let app = spawn().await;
    let admin = app.admin().await;
    let org = org(&app, &admin).await;
    let id = app
        .user(&admin, "pm.east", "project_manager", Some(org.east_pd))
        .await;
    let old = app.token("pm.east", PASSWORD).await;
    let deactivation = format!("/api/v1/users/{id}/deactivation");
    app.post(&deactivation, &admin, json!({})).await.expect(200);
    app.get("/api/v1/me", &old)
        .await
        .expect_problem(401, "account_inactive");
    app.post(&format!("/api/v1/users/{id}/activation"), &admin, json!({}))
        .await
        .expect(200);
    // active again: the old session is still over, a new login works
    app.get("/api/v1/me", &old)
        .await
        .expect_problem(401, "session_ended");
    let new = app.token("pm.east", PASSWORD).await;
    app.get("/api/v1/me", &new).await.expect(200);
}
