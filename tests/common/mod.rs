//! Test harness: the whole application in-process, on a fresh database per
//! test (a temp SQLite file, or a fresh schema on the PostgreSQL server of
//! `TEST_DATABASE_URL`), with a settable clock.
#![allow(dead_code)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use aftercare::clock::Clock;
use aftercare::config::Config;
use aftercare::db::DbTarget;
use aftercare::storage::StorageTarget;
use aftercare::AppState;
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "password-123";
pub const JWT_SECRET: &str = "test-secret-0123456789-0123456789-abcdef";

/// 2026-03-02 09:00 in Shanghai, a Monday.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().unwrap()
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The `id` of each item of a list answer.
    #[track_caller]
    pub fn item_ids(&self) -> Vec<i64> {
        self.items()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    }

    /// One text field of each item of a list answer.
    #[track_caller]
    pub fn item_strs(&self, field: &str) -> Vec<&str> {
        self.items()
            .iter()
            .map(|i| i[field].as_str().unwrap())
            .collect()
    }

    #[track_caller]
    fn items(&self) -> &Vec<Value> {
        self.body["items"]
            .as_array()
            .expect("a list answer with items")
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The fields named in a problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts an error answer: status, problem+json content type, code.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "errors are problem+json"
        );
        assert_eq!(self.body["status"], json!(status));
        assert_eq!(self.code(), code, "body: {}", self.body);
        self
    }
}

/// Removes the PostgreSQL schema of a test when it ends.
pub struct DbGuard {
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg {
            if let Ok(mut conn) = diesel::PgConnection::establish(url) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

pub fn fresh_database() -> (DbTarget, DbGuard) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!(
                "t_{}",
                aftercare::auth::jwt::random_token(9)
                    .to_lowercase()
                    .replace(['-', '_'], "x")
            );
            let mut conn =
                diesel::PgConnection::establish(&url).expect("TEST_DATABASE_URL reachable");
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
            (
                DbTarget::Postgres(scoped),
                DbGuard {
                    pg: Some((url, schema)),
                    _dir: None,
                },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("test.db");
            (
                DbTarget::Sqlite(path),
                DbGuard {
                    pg: None,
                    _dir: Some(dir),
                },
            )
        }
    }
}

pub fn test_config(database: DbTarget) -> Config {
    let mut config = Config::for_database(database);
    config.jwt_secret = Some(JWT_SECRET.to_string());
    config.admin_password = Some(ADMIN_PASSWORD.to_string());
    config
}

pub struct TestApp<S> {
    pub svc: S,
    pub state: AppState,
    pub clock: Clock,
    _guard: DbGuard,
    _files: tempfile::TempDir,
}

/// Where a test keeps uploaded files: a fresh folder, or with
/// `TEST_STORAGE_URL=s3://bucket/prefix` a fresh prefix in that
/// S3-compatible store (endpoint and keys from the `AWS_*` variables).
pub fn test_storage(folder: &std::path::Path) -> StorageTarget {
    match std::env::var("TEST_STORAGE_URL") {
        Ok(url) if !url.is_empty() => {
            let StorageTarget::S3 { bucket, prefix } =
                StorageTarget::parse(&url).expect("TEST_STORAGE_URL")
            else {
                panic!("TEST_STORAGE_URL must be s3://bucket/prefix");
            };
            let run = aftercare::auth::jwt::random_token(9).replace(['-', '_'], "x");
            StorageTarget::S3 {
                bucket,
                prefix: format!("{prefix}/{run}")
                    .trim_start_matches('/')
                    .to_string(),
            }
        }
        _ => StorageTarget::Local(folder.to_path_buf()),
    }
}

pub async fn spawn() -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(
    tweak: impl FnOnce(&mut Config),
) -> TestApp<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let (db, guard) = fresh_database();
    let mut config = test_config(db);
    let files = tempfile::tempdir().expect("temp dir");
    config.storage = test_storage(&files.path().join("store"));
    config.spool_dir = files.path().join("spool");
    tweak(&mut config);
    let clock = Clock::settable(start_time());
    let startup = AppState::init(config, clock.clone()).expect("start-up");
    let state = startup.state;
    let svc = test::init_service(aftercare::app(state.clone())).await;
    TestApp {
        svc,
        state,
        clock,
        _guard: guard,
        _files: files,
    }
}

impl<S, B> TestApp<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub async fn send(&self, req: TestRequest) -> Resp {
        let res = test::call_service(&self.svc, req.to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            if bytes.is_empty() {
                Value::Null
            } else {
                Value::String(String::from_utf8_lossy(&bytes).to_string())
            }
        });
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(
            TestRequest::post()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(
            TestRequest::patch()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(body),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        self.send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .peer_addr("10.1.2.3:5000".parse().unwrap())
                .set_json(json!({ "username": username, "password": password })),
        )
        .await
    }

    /// Logs in and returns the access token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        r.expect(200);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn admin(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Creates an org unit as admin; returns its id.
    pub async fn unit(&self, admin: &str, name: &str, kind: &str, parent: Option<i64>) -> i64 {
        let r = self
            .post(
                "/api/v1/org-units",
                admin,
                json!({ "name": name, "kind": kind, "parent_id": parent }),
            )
            .await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Creates a user as admin (password `PASSWORD`); returns its id.
    pub async fn user(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        org_unit: Option<i64>,
    ) -> i64 {
        let r = self
            .post(
                "/api/v1/users",
                admin,
                json!({
                    "username": username, "display_name": username, "role": role,
                    "org_unit_id": org_unit, "password": PASSWORD
                }),
            )
            .await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }
}

impl<S, B> TestApp<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Uploads a file as a phone does: multipart/form-data, one part `file`.
    pub async fn upload(&self, token: &str, file_name: &str, bytes: &[u8]) -> Resp {
        self.upload_with(token, file_name, "image/jpeg", bytes, None)
            .await
    }

    pub async fn upload_with(
        &self,
        token: &str,
        file_name: &str,
        claimed_type: &str,
        bytes: &[u8],
        idempotency_key: Option<&str>,
    ) -> Resp {
        let boundary = "----aftercare-test-boundary-7d1f";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {claimed_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = TestRequest::post()
            .uri("/api/v1/uploads")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body);
        if let Some(key) = idempotency_key {
            req = req.insert_header(("Idempotency-Key", key));
        }
        self.send(req).await
    }

    /// GET with extra headers; answers the raw body too.
    pub async fn get_raw(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (Resp, Vec<u8>) {
        let mut req = TestRequest::get()
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let res = test::call_service(&self.svc, req.to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await.to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (
            Resp {
                status,
                headers,
                body,
            },
            bytes,
        )
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(
            TestRequest::put()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(
            TestRequest::delete()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await
    }

    /// Registers a customer served by `branch`; returns its id.
    pub async fn customer(&self, token: &str, name: &str, branch: i64) -> i64 {
        let r = self
            .post(
                "/api/v1/customers",
                token,
                json!({ "name": name, "kind": "owner_organisation", "branch_id": branch }),
            )
            .await;
        r.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Enters a project accepted on 2026-02-27 and handed over on 2026-03-02.
    /// A project accepted on 27 February 2026 and handed over on 2 March.
    pub async fn project(&self, token: &str, code: &str, department: i64, customer: i64) -> Value {
        self.project_dated(
            token,
            code,
            department,
            customer,
            "2026-02-27",
            "2026-03-02",
        )
        .await
    }

    /// A project handed over (and accepted) on `day`, YYYY-MM-DD.
    pub async fn project_handed_over(
        &self,
        token: &str,
        code: &str,
        department: i64,
        customer: i64,
        day: &str,
    ) -> Value {
        self.project_dated(token, code, department, customer, day, day)
            .await
    }

    async fn project_dated(
        &self,
        token: &str,
        code: &str,
        department: i64,
        customer: i64,
        accepted: &str,
        handed_over: &str,
    ) -> Value {
        let r = self
            .post(
                "/api/v1/projects",
                token,
                json!({
                    "code": code, "name": format!("Project {code}"), "address": "1 River Road",
                    "project_department_id": department, "customer_id": customer,
                    "completion_accepted_on": accepted, "handover_on": handed_over,
                    "design_service_life_years": 50
                }),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }

    /// Adds the contacts a ledger needs before it can be submitted.
    pub async fn complete_contacts(&self, token: &str, project: i64) {
        for (role, name) in [
            ("warranty_lead", "Liu Qiang"),
            ("project_manager", "Zhang Wei"),
            ("property_manager", "Wang Fang"),
        ] {
            self.post(
                &format!("/api/v1/projects/{project}/contacts"),
                token,
                json!({"role": role, "name": name, "phone": "139 1234 5678"}),
            )
            .await
            .expect(201);
        }
    }

    /// Records `count` complaints against a customer as bare rows, received
    /// at any time (the API refuses none in the past, but starts a judgment
    /// clock for each; counting needs only the rows).
    pub async fn seed_complaints(
        &self,
        customer: i64,
        project: i64,
        count: usize,
        received_at: chrono::NaiveDateTime,
    ) {
        let now = self.clock.now_naive();
        self.state
            .db(move |conn| {
                use aftercare::db::schema::complaints;
                use diesel::prelude::*;
                for _ in 0..count {
                    diesel::insert_into(complaints::table)
                        .values((
                            complaints::project_id.eq(project),
                            complaints::customer_id.eq(customer),
                            complaints::received_at.eq(received_at),
                            complaints::created_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// A group with two branches, each with a project department.
pub struct Org {
    pub group: i64,
    pub east: i64,
    pub north: i64,
    pub east_pd: i64,
    pub north_pd: i64,
}

pub async fn org<S, B>(app: &TestApp<S>, admin: &str) -> Org
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let group = app.unit(admin, "Group", "group", None).await;
    let east = app.unit(admin, "East Branch", "branch", Some(group)).await;
    let north = app.unit(admin, "North Branch", "branch", Some(group)).await;
    let east_pd = app
        .unit(admin, "East PD 1", "project_department", Some(east))
        .await;
    let north_pd = app
        .unit(admin, "North PD 1", "project_department", Some(north))
        .await;
    Org {
        group,
        east,
        north,
        east_pd,
        north_pd,
    }
}

/// The usual cast of a ledger or deadline test: the admin's token, the
/// two-branch organisation, a project manager `east.pm` of the east
/// department (token) and a customer of the east branch.
pub struct EastDesk {
    pub admin: String,
    pub org: Org,
    pub pm: String,
    pub customer: i64,
}

pub async fn east_desk<S, B>(app: &TestApp<S>) -> EastDesk
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    app.user(&admin, "east.pm", "project_manager", Some(org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    let customer = app.customer(&admin, "Owner", org.east).await;
    EastDesk {
        admin,
        org,
        pm,
        customer,
    }
}
