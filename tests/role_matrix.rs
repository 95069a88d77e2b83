//! Who may call what: every operation of the spec, as every role and with
//! every kind of bad token, against one expectation table; then every
//! operation that takes an object's id (in the path or the body), by the
//! users of one branch reaching for the other branch's objects.
//!
//! The operations come from the spec the code generates, so a new operation
//! without a row in `EXPECTED` (or a request in `call`) fails this test.
//! Run with `ROLE_MATRIX_PRINT=1` to print the table as observed, to compare
//! or to copy a new row from (after checking it against the rules).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::TestRequest;
use base64::Engine;
use chrono::Duration;
use common::*;
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::BTreeMap;
use utoipa::OpenApi;

const ROLES: [&str; 7] = [
    "admin",
    "group_engineer",
    "branch_engineer",
    "branch_leader",
    "project_manager",
    "staff",
    "customer",
];

/// Operations anyone may call, token or not.
const PUBLIC: [&str; 5] = ["login", "refresh", "healthz", "readyz", "get_labels"];

/// operationId → the answer to admin, group_engineer, branch_engineer,
/// branch_leader, project_manager, staff, customer, each calling on objects
/// of their own branch (`ok` is any 2xx). The customer is the owner whose
/// projects these are; their 404s are objects outside what a customer sees
/// (the project manager's user, a deadline not assigned to them). Admin keeps
/// no ledger (`submit_ledger`, `review_ledger`): the department fills it and
/// the branch reviews it; the audit log (`list_events`) is admin's alone.
const EXPECTED: &[(&str, &str)] = &[
    ("list_changes", "ok ok ok ok ok ok ok"),
    ("get_changes_head", "ok ok ok ok ok ok ok"),
    ("create_api_key", "ok 403 403 403 403 403 403"),
    ("list_api_keys", "ok 403 403 403 403 403 403"),
    ("get_api_key", "ok 403 403 403 403 403 403"),
    ("revoke_api_key", "ok 403 403 403 403 403 403"),
    ("create_webhook", "ok 403 ok 403 403 403 403"),
    ("list_webhooks", "ok 403 ok 403 403 403 403"),
    ("get_webhook", "ok 403 ok 403 403 403 403"),
    ("update_webhook", "ok 403 ok 403 403 403 403"),
    ("delete_webhook", "ok 403 ok 403 403 403 403"),
    ("rotate_webhook_secret", "ok 403 ok 403 403 403 403"),
    ("ping_webhook", "ok 403 ok 403 403 403 403"),
    ("list_webhook_deliveries", "ok 403 ok 403 403 403 403"),
    ("get_webhook_delivery", "ok 403 ok 403 403 403 403"),
    ("retry_webhook_delivery", "ok 403 ok 403 403 403 403"),
    ("activate_org_unit", "ok 403 403 403 403 403 403"),
    ("add_project_attachment", "ok ok ok 403 ok 403 403"),
    ("activate_user", "ok 403 403 403 403 403 403"),
    ("add_contact", "ok ok ok 403 ok 403 403"),
    ("calendar_day", "ok ok ok ok ok ok ok"),
    ("calendar_days", "ok ok ok ok ok ok ok"),
    ("change_password", "ok ok ok ok ok ok ok"),
    ("change_policy", "ok 403 403 403 403 403 403"),
    ("contacts", "ok ok ok ok ok ok ok"),
    ("create_customer", "ok ok ok ok 403 403 403"),
    ("create_org_unit", "ok 403 403 403 403 403 403"),
    ("create_project", "ok ok ok 403 ok 403 403"),
    ("create_upload", "ok ok ok ok ok ok ok"),
    ("create_import", "ok ok ok ok 403 403 403"),
    ("get_labels", "ok ok ok ok ok ok ok"),
    ("get_import", "ok ok ok ok 403 403 403"),
    ("get_import_template", "ok ok ok ok 403 403 403"),
    ("create_user", "ok 403 403 403 403 403 403"),
    ("deactivate_org_unit", "ok 403 403 403 403 403 403"),
    ("deactivate_user", "ok 403 403 403 403 403 403"),
    ("delete_calendar_day", "ok 403 403 403 403 403 403"),
    ("download_attachment", "ok ok ok ok ok ok ok"),
    ("get_attachment", "ok ok ok ok ok ok ok"),
    ("get_customer", "ok ok ok ok ok ok ok"),
    ("get_deadline", "ok ok ok ok ok ok 404"),
    ("get_me", "ok ok ok ok ok ok ok"),
    ("list_my_projects", "403 403 403 403 403 403 ok"),
    ("list_my_complaints", "403 403 403 403 403 403 ok"),
    ("get_org_unit", "ok ok ok ok ok ok 403"),
    ("get_project", "ok ok ok ok ok ok ok"),
    ("get_upload", "ok ok ok ok ok ok ok"),
    ("get_user", "ok ok ok ok ok ok 404"),
    ("grade", "ok ok ok ok 403 403 403"),
    ("gradings", "ok ok ok ok ok ok 403"),
    ("healthz", "ok ok ok ok ok ok ok"),
    ("hide_attachment", "ok ok ok 403 ok 403 403"),
    ("list_customers", "ok ok ok ok ok ok ok"),
    ("list_deadlines", "ok ok ok ok ok ok ok"),
    ("list_events", "ok 403 403 403 403 403 403"),
    ("list_org_units", "ok ok ok ok ok ok 403"),
    ("list_project_attachments", "ok ok ok ok ok ok ok"),
    ("list_projects", "ok ok ok ok ok ok ok"),
    ("list_users", "ok ok ok ok ok ok ok"),
    ("login", "ok ok ok ok ok ok ok"),
    ("logout", "ok ok ok ok ok ok ok"),
    ("pause", "ok ok ok ok ok 403 404"),
    ("policies", "ok ok ok ok ok ok ok"),
    ("policy_versions", "ok ok ok ok ok ok ok"),
    ("put_calendar_day", "ok 403 403 403 403 403 403"),
    ("readyz", "ok ok ok ok ok ok ok"),
    ("refresh", "ok ok ok ok ok ok ok"),
    ("remove_contact", "ok ok ok 403 ok 403 403"),
    ("resume", "ok ok ok ok ok 403 404"),
    ("review_ledger", "403 403 ok 403 403 403 403"),
    ("set_term", "ok ok ok 403 ok 403 403"),
    ("submit_ledger", "403 403 403 403 ok 403 403"),
    ("tasks", "ok ok ok ok ok ok ok"),
    ("terms", "ok ok ok ok ok ok ok"),
    ("update_contact", "ok ok ok 403 ok 403 403"),
    ("update_attachment", "ok ok ok 403 ok 403 403"),
    ("update_customer", "ok ok ok ok 403 403 403"),
    ("update_org_unit", "ok 403 403 403 403 403 403"),
    ("update_project", "ok ok ok 403 ok 403 403"),
    ("update_user", "ok 403 403 403 403 403 403"),
    ("warranty_status", "ok ok ok ok ok ok ok"),
    ("add_complaint_attachment", "ok ok ok ok ok ok ok"),
    ("add_rectification_plan_attachment", "ok ok ok ok ok ok 404"),
    ("approve_rectification_plan", "403 403 403 ok 403 403 404"),
    ("count_complaints", "ok ok ok ok ok ok 403"),
    ("create_rectification_plan", "403 403 403 403 ok ok 403"),
    ("evaluate_complaint", "403 403 ok 403 403 403 ok"),
    ("file_complaint", "403 ok 403 403 403 403 403"),
    ("get_complaint", "ok ok ok ok ok ok ok"),
    ("get_rectification_plan", "ok ok ok ok ok ok 404"),
    ("judge_complaint", "403 403 ok 403 403 403 403"),
    ("list_complaint_attachments", "ok ok ok ok ok ok ok"),
    ("list_complaints", "ok ok ok ok ok ok ok"),
    (
        "list_rectification_plan_attachments",
        "ok ok ok ok ok ok 404",
    ),
    ("list_rectification_plan_versions", "ok ok ok ok ok ok 404"),
    ("register_complaint", "403 ok ok 403 403 403 ok"),
    ("report_rectification_progress", "403 403 403 403 ok ok 404"),
    ("resolve_complaint", "403 403 403 403 ok ok 403"),
    ("review_rectification_plan", "403 403 ok 403 403 403 404"),
    ("revise_rectification_plan", "403 403 403 403 ok ok 404"),
    ("submit_rectification_plan", "403 403 403 403 ok ok 404"),
    ("update_rectification_plan", "403 403 403 403 ok ok 404"),
    ("record_visit", "403 ok ok ok ok ok 403"),
    ("list_visits", "ok ok ok ok ok ok ok"),
    ("get_visit", "ok ok ok ok ok ok ok"),
    ("confirm_visit", "403 ok ok ok ok ok ok"),
    ("list_visit_attachments", "ok ok ok ok ok ok ok"),
    ("add_visit_attachment", "ok ok ok ok ok ok 403"),
    ("create_visit_plan", "403 403 ok 403 ok 403 403"),
    ("list_visit_plans", "ok ok ok ok ok ok ok"),
    ("get_visit_plan", "ok ok ok ok ok ok 404"),
    ("visit_plan_compliance", "ok ok ok ok ok ok 404"),
    ("add_visit_plan_item", "403 403 403 403 ok 403 404"),
    ("update_visit_plan_item", "403 403 403 403 ok 403 404"),
    ("remove_visit_plan_item", "403 403 403 403 ok 403 404"),
    ("submit_visit_plan", "403 403 403 403 ok 403 404"),
    ("review_visit_plan", "403 403 ok 403 403 403 404"),
    ("report_repair", "403 ok ok 403 ok ok ok"),
    ("list_repairs", "ok ok ok ok ok ok ok"),
    ("get_repair", "ok ok ok ok ok ok ok"),
    ("arrive_at_repair", "403 403 403 403 ok ok 403"),
    ("confirm_repair", "403 403 403 403 ok ok 403"),
    ("agree_to_repair", "403 403 403 403 ok ok ok"),
    ("dispatch_repair", "403 403 ok 403 403 403 403"),
    ("hold_repair", "403 403 403 403 ok ok 403"),
    ("resume_repair", "403 403 403 403 ok ok 403"),
    ("complete_repair", "403 403 403 403 ok ok 403"),
    ("inspect_repair", "403 403 ok 403 403 403 403"),
    ("accept_repair", "403 403 403 403 ok ok ok"),
    ("get_project_repair_costs", "ok ok ok ok ok ok 403"),
    ("list_repair_attachments", "ok ok ok ok ok ok ok"),
    ("add_repair_attachment", "ok ok ok ok ok ok ok"),
    ("report_deadlines", "ok ok ok ok ok ok 403"),
    ("report_kpis", "ok ok ok ok ok ok 403"),
    ("report_repeats", "ok ok ok ok ok ok 403"),
    ("report_satisfaction", "ok ok ok ok ok ok 403"),
    ("report_annual_summary", "ok ok ok ok ok ok 403"),
    ("register_export", "ok ok ok ok ok ok 403"),
    ("record_corrective_action", "403 403 403 403 ok ok 403"),
    ("list_corrective_actions", "ok ok ok ok ok ok 403"),
    ("get_corrective_action", "ok ok ok ok ok ok 404"),
    ("complete_corrective_action", "403 403 403 403 ok ok 404"),
    ("verify_corrective_action", "403 403 ok 403 403 403 404"),
    ("record_accountability", "403 403 ok 403 403 403 403"),
    ("list_accountability_records", "ok ok ok ok ok ok 403"),
    ("get_accountability_record", "ok ok ok ok ok ok 404"),
    ("withdraw_accountability", "403 403 ok 403 403 403 404"),
];

/// The kinds of bad token: each is refused with 401 by every operation that
/// is not public.
const BAD_TOKENS: [&str; 5] = ["none", "expired", "other_key", "alg_none", "deactivated"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    /// the callers' own branch
    East,
    /// the other branch
    North,
}

/// The objects of one branch.
struct Branch {
    branch: i64,
    department: i64,
    customer: i64,
    /// a project of `customer` in `department`, entered today
    project: i64,
    /// a project manager of `department`
    pm: i64,
    pm_token: String,
    /// the branch's engineering department and leader, who judge, review and approve
    engineer_token: String,
    leader_token: String,
}

struct World {
    admin: String,
    group: i64,
    east: Branch,
    north: Branch,
    /// the caller for each role, all of the east branch: (username, token)
    callers: BTreeMap<&'static str, (String, String)>,
    /// a counter for unique names and dates
    n: Cell<usize>,
}

impl World {
    fn side(&self, side: Side) -> &Branch {
        match side {
            Side::East => &self.east,
            Side::North => &self.north,
        }
    }
    fn next(&self) -> usize {
        self.n.set(self.n.get() + 1);
        self.n.get()
    }
}

/// Who sends the request.
enum As {
    /// the role's caller, with their usual token
    Caller,
    /// the role's caller, in a session of its own (logging out ends it)
    FreshSession,
    /// a new user of the role (changing the password ends their sessions)
    NewUser,
}

struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// A file sent as multipart/form-data instead of a JSON body.
    file: Option<Vec<u8>>,
    /// A whole multipart/form-data body (parts of its own).
    form: Option<Vec<u8>>,
    caller: As,
    /// The request names an object of a branch (in the path or the body):
    /// reached for across branches, it must be 404.
    names_an_object: bool,
}

fn call(method: &'static str, path: String, body: Option<Value>) -> Call {
    Call {
        method,
        path,
        body,
        file: None,
        form: None,
        caller: As::Caller,
        names_an_object: false,
    }
}

/// The import form of a customer register of one row, for `branch` (a
/// counter of its own keeps `World::next`'s dates where other rows expect them).
fn import_form(branch: i64) -> Vec<u8> {
    static IMPORTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = IMPORTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let csv = format!("客户名称,客户类型,所属分公司\r\n客户 {n},individual,{branch}\r\n");
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncustomers\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"customers.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

/// A small PNG, as a phone would upload it.
fn picture(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([(n % 256) as u8, 90, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

const BOUNDARY: &str = "----role-matrix-boundary";

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"site.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads a picture as `token`; answers the upload's id.
async fn uploaded<S, B>(app: &TestApp<S>, w: &World, token: &str) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app.upload(token, "site.png", &picture(w.next())).await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

/// An attachment of the side's project, attached by the admin.
async fn attachment<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let upload = uploaded(app, w, &w.admin).await;
    let r = app
        .post(
            &format!("/api/v1/projects/{}/attachments", w.side(side).project),
            &w.admin,
            json!({ "upload_id": upload }),
        )
        .await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

impl Call {
    fn object(mut self) -> Call {
        self.names_an_object = true;
        self
    }
    fn by(mut self, caller: As) -> Call {
        self.caller = caller;
        self
    }
}

async fn send<S, B>(app: &TestApp<S>, c: &Call, token: Option<&str>) -> Resp
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = match c.method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PUT" => TestRequest::put(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        other => panic!("method {other}"),
    }
    .uri(&c.path);
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    if let Some(body) = &c.body {
        req = req.set_json(body);
    }
    if let Some(form) = &c.form {
        req = req
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ))
            .set_payload(form.clone());
    }
    if let Some(file) = &c.file {
        req = req
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ))
            .set_payload(multipart(file));
    }
    app.send(req).await
}

fn outcome(r: &Resp) -> String {
    match r.status {
        200..=299 => "ok".to_string(),
        401 | 403 | 404 => r.status.to_string(),
        other => format!("{other}:{}", r.code()),
    }
}

/// A user of `role` in the east branch (or its department, or its customer).
async fn new_user<S, B>(app: &TestApp<S>, w: &World, role: &str) -> (i64, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let username = format!("{role}.{}", w.next());
    let (unit, customer) = match role {
        "admin" => (None, None),
        "group_engineer" => (Some(w.group), None),
        "branch_engineer" | "branch_leader" => (Some(w.east.branch), None),
        "project_manager" | "staff" => (Some(w.east.department), None),
        _ => (None, Some(w.east.customer)),
    };
    let r = app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"username": username, "display_name": username, "role": role,
                   "org_unit_id": unit, "customer_id": customer, "password": PASSWORD}),
        )
        .await;
    r.expect(201);
    (r.body["id"].as_i64().unwrap(), username)
}

/// A project of the side's customer and department, handed over today,
/// with the contacts its ledger needs.
async fn fresh_project<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let today = app.clock.now().date_naive().to_string();
    let p = app
        .project_handed_over(
            &w.admin,
            &format!("RM-{}", w.next()),
            s.department,
            s.customer,
            &today,
        )
        .await;
    let id = p["id"].as_i64().unwrap();
    app.complete_contacts(&w.admin, id).await;
    id
}

/// The id of a project's running ledger clock.
async fn fill_clock<S, B>(app: &TestApp<S>, w: &World, project: i64) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = app
        .get(
            &format!(
                "/api/v1/deadlines?subject_type=project&subject_id={project}&rule=ledger.fill&status=pending"
            ),
            &w.admin,
        )
        .await;
    r.expect(200);
    r.body["items"][0]["id"].as_i64().unwrap()
}

/// A new org unit under the side's branch.
async fn fresh_unit<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let name = format!("Dept {}", w.next());
    app.unit(
        &w.admin,
        &name,
        "project_department",
        Some(w.side(side).branch),
    )
    .await
}

/// A new staff member of the side's department.
async fn fresh_staff<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let name = format!("staff.{}", w.next());
    app.user(&w.admin, &name, "staff", Some(w.side(side).department))
        .await
}

/// A Monday with nothing marked on it.
fn monday(n: usize) -> String {
    let first = chrono::NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
    (first + Duration::weeks(n as i64)).to_string()
}

/// A complaint about the side's project, registered by its branch
/// engineering department and taken to `state`.
async fn complaint<S, B>(app: &TestApp<S>, w: &World, side: Side, state: &str) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let r = app
        .post(
            "/api/v1/complaints",
            &s.engineer_token,
            json!({"project_id": s.project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "schedule", "channel": "phone", "complainant_name": "Mr Wang",
                   "complainant_phone": "13800138000", "description": format!("matter {}", w.next())}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    let severity = match state {
        "registered" => return id,
        "awaiting_plan" => "serious",
        _ => "minor",
    };
    app.post(
        &format!("/api/v1/complaints/{id}/judgment"),
        &s.engineer_token,
        json!({"liability": "ours", "severity": severity, "reasoning": "our work"}),
    )
    .await
    .expect(200);
    if state == "revisit_due" {
        app.post(
            &format!("/api/v1/complaints/{id}/resolution"),
            &s.pm_token,
            json!({"summary": "fixed"}),
        )
        .await
        .expect(200);
    }
    id
}

/// A rectification plan of a serious complaint of the side, taken to `state`
/// (`draft`, `submitted`, `reviewed` or `approved`).
async fn plan<S, B>(app: &TestApp<S>, w: &World, side: Side, state: &str) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let c = complaint(app, w, side, "awaiting_plan").await;
    let r = app
        .post(
            &format!("/api/v1/complaints/{c}/rectification-plans"),
            &s.pm_token,
            plan_body("2030-01-01", "2030-02-01"),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    let steps: &[(&str, &str, Value)] = &[
        ("submission", s.pm_token.as_str(), json!({})),
        (
            "review",
            s.engineer_token.as_str(),
            json!({"decision": "pass", "covers_all_points": true}),
        ),
        (
            "approval",
            s.leader_token.as_str(),
            json!({"decision": "approve"}),
        ),
    ];
    let n = match state {
        "draft" => 0,
        "submitted" => 1,
        "reviewed" => 2,
        _ => 3,
    };
    for (path, token, body) in &steps[..n] {
        app.post(
            &format!("/api/v1/rectification-plans/{id}/{path}"),
            token,
            body.clone(),
        )
        .await
        .expect(200);
    }
    id
}

/// A visit to the side's project, recorded by its branch engineer.
async fn visit<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let r = app
        .post(
            "/api/v1/visits",
            &s.engineer_token,
            visit_body(s.project, &app.clock.now().to_rfc3339()),
        )
        .await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

/// A repair of the side's project, reported by its project manager and
/// taken to `state` (`reported`, `awaiting_agreement`, `awaiting_dispatch`,
/// `in_progress`, `on_hold`, `awaiting_inspection`, `awaiting_acceptance`).
async fn repair<S, B>(app: &TestApp<S>, w: &World, side: Side, state: &str) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let r = app
        .post(
            "/api/v1/repairs",
            &s.pm_token,
            repair_body(s.project, &app.clock.now().to_rfc3339(), "owner_report"),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    if state == "reported" {
        return id;
    }
    let path = |step: &str| format!("/api/v1/repairs/{id}/{step}");
    let mut confirmation = json!({"outcome": "defect", "liability": "general_contractor",
        "cause": "torn layer", "measures": "redo", "scale": "small"});
    if state == "awaiting_agreement" {
        confirmation["liability"] = json!("misuse");
        confirmation["quote"] =
            json!([{"item": "patch", "quantity": 1, "unit_price": 50, "payer": "owner"}]);
    }
    app.post(&path("confirmation"), &s.pm_token, confirmation)
        .await
        .expect(200);
    if matches!(state, "awaiting_agreement" | "awaiting_dispatch") {
        return id;
    }
    app.post(
        &path("dispatch"),
        &s.engineer_token,
        json!({"crew": "crew of 2"}),
    )
    .await
    .expect(200);
    match state {
        "in_progress" => return id,
        "on_hold" => {
            app.post(
                &path("hold"),
                &s.pm_token,
                json!({"reason": "weather", "note": "rain"}),
            )
            .await
            .expect(200);
            return id;
        }
        _ => {}
    }
    let photo = uploaded(app, w, &s.pm_token).await;
    app.post(
        &path("completion"),
        &s.pm_token,
        json!({"work_done": "redone", "labour_hours": 2, "attachment_ids": [photo]}),
    )
    .await
    .expect(200);
    if state == "awaiting_acceptance" {
        app.post(
            &path("inspection"),
            &s.engineer_token,
            json!({"result": "pass"}),
        )
        .await
        .expect(200);
    }
    id
}

fn corrective_body(project: i64, today: chrono::NaiveDate) -> Value {
    json!({"project_id": project, "cause_analysis": "laps too short", "measures": "redo the roof",
           "responsible": "Li", "due_on": (today + Duration::days(30)).to_string()})
}

/// A corrective action of the side's project, open or reported done.
async fn corrective<S, B>(app: &TestApp<S>, w: &World, side: Side, done: bool) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let r = app
        .post(
            "/api/v1/corrective-actions",
            &s.pm_token,
            corrective_body(s.project, app.clock.now().date_naive()),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    if done {
        app.post(
            &format!("/api/v1/corrective-actions/{id}/completion"),
            &s.pm_token,
            json!({"result": "redone"}),
        )
        .await
        .expect(200);
    }
    id
}

/// An accountability record for a schedule complaint of the side found true.
async fn accountability<S, B>(app: &TestApp<S>, w: &World, side: Side) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let c = complaint(app, w, side, "handling").await;
    let r = app
        .post(
            "/api/v1/accountability-records",
            &s.engineer_token,
            json!({"complaint_id": c, "person": "Site manager", "measure": "fine",
                   "fine_amount": 200.5, "reason": "the delay was ours"}),
        )
        .await;
    r.expect(201);
    r.body["id"].as_i64().unwrap()
}

fn repair_body(project: i64, at: &str, source: &str) -> Value {
    json!({"project_id": project, "source": source, "category": "waterproofing",
           "location": "flat 1201", "description": "the ceiling leaks", "severity": "normal",
           "reported_at": at})
}

fn visit_body(project: i64, at: &str) -> Value {
    json!({"project_id": project, "kind": "routine", "method": "onsite", "visited_at": at,
           "outcome": "completed", "findings": "all fine"})
}

/// A generated project plan of the side's department for a month of its
/// own, submitted when `submitted`.
async fn visit_plan<S, B>(app: &TestApp<S>, w: &World, side: Side, submitted: bool) -> (i64, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let n = w.next();
    let r = app
        .post(
            "/api/v1/visit-plans",
            &s.pm_token,
            json!({"level": "project", "org_unit_id": s.department, "year": 2030 + n / 12,
                   "month": n % 12 + 1, "generate": true}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_i64().unwrap();
    if submitted {
        app.post(
            &format!("/api/v1/visit-plans/{id}/submission"),
            &s.pm_token,
            json!({}),
        )
        .await
        .expect(200);
    }
    (id, r.body.clone())
}

/// A webhook of the side's branch, made by the admin, with one delivery
/// (a ping): `(webhook id, delivery id)`.
async fn webhook<S, B>(app: &TestApp<S>, w: &World, side: Side) -> (i64, i64)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let r = app
        .post(
            "/api/v1/webhooks",
            &w.admin,
            json!({"url": "https://93.184.216.34/hook", "event_types": ["webhook.ping"],
                   "branch_id": s.branch}),
        )
        .await;
    r.expect(201);
    let id = r.body["webhook"]["id"].as_i64().unwrap();
    let ping = app
        .post(&format!("/api/v1/webhooks/{id}/ping"), &w.admin, json!({}))
        .await;
    ping.expect(202);
    (id, ping.body["id"].as_i64().unwrap())
}

fn plan_body(start: &str, finish: &str) -> Value {
    json!({"milestones": [{"due_on": start, "description": "start"}, {"due_on": finish, "description": "finish"}],
           "resources": {"people": ["crew of 6"]}, "expected_result": "no leak"})
}

/// The request for `op` on the side's objects, preparing what it needs.
async fn request<S, B>(app: &TestApp<S>, w: &World, op: &str, side: Side, role: &str) -> Call
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let s = w.side(side);
    let admin = &w.admin;
    let caller = &w.callers[role].0;
    match op {
        "login" => call(
            "POST",
            "/api/v1/auth/login".into(),
            Some(json!({"username": caller, "password": password_of(role)})),
        ),
        "refresh" => {
            let r = app.login(caller, password_of(role)).await;
            r.expect(200);
            call(
                "POST",
                "/api/v1/auth/refresh".into(),
                Some(json!({"refresh_token": r.body["refresh_token"]})),
            )
        }
        "logout" => call("POST", "/api/v1/auth/logout".into(), None).by(As::FreshSession),
        "healthz" => call("GET", "/healthz".into(), None),
        "readyz" => call("GET", "/readyz".into(), None),
        "get_me" => call("GET", "/api/v1/me".into(), None),
        "list_my_projects" => call("GET", "/api/v1/me/projects".into(), None),
        "list_my_complaints" => call("GET", "/api/v1/me/complaints".into(), None),
        "change_password" => call(
            "POST",
            "/api/v1/me/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "another-password-42"})),
        )
        .by(As::NewUser),
        "tasks" => call("GET", "/api/v1/me/tasks".into(), None),
        "calendar_days" => call("GET", "/api/v1/calendar/days".into(), None),
        "calendar_day" => call("GET", "/api/v1/calendar/days/2026-10-01".into(), None),
        "put_calendar_day" => call(
            "PUT",
            format!("/api/v1/calendar/days/{}", monday(w.next())),
            Some(json!({"kind": "holiday", "name": "Matrix Day"})),
        ),
        "delete_calendar_day" => {
            let day = monday(w.next());
            app.put(
                &format!("/api/v1/calendar/days/{day}"),
                admin,
                json!({"kind": "holiday", "name": "Matrix Day"}),
            )
            .await
            .expect(200);
            call("DELETE", format!("/api/v1/calendar/days/{day}"), None)
        }
        "list_org_units" => call("GET", "/api/v1/org-units".into(), None),
        "create_org_unit" => call(
            "POST",
            "/api/v1/org-units".into(),
            Some(
                json!({"name": format!("Dept {}", w.next()), "kind": "project_department",
                        "parent_id": s.branch}),
            ),
        )
        .object(),
        "get_org_unit" => call("GET", format!("/api/v1/org-units/{}", s.department), None).object(),
        "update_org_unit" => {
            let unit = fresh_unit(app, w, side).await;
            call(
                "PATCH",
                format!("/api/v1/org-units/{unit}"),
                Some(json!({"name": format!("Renamed {}", w.next())})),
            )
            .object()
        }
        "activate_org_unit" => {
            let unit = fresh_unit(app, w, side).await;
            app.post(
                &format!("/api/v1/org-units/{unit}/deactivation"),
                admin,
                json!({}),
            )
            .await
            .expect(200);
            call("POST", format!("/api/v1/org-units/{unit}/activation"), None).object()
        }
        "deactivate_org_unit" => {
            let unit = fresh_unit(app, w, side).await;
            call(
                "POST",
                format!("/api/v1/org-units/{unit}/deactivation"),
                None,
            )
            .object()
        }
        "list_users" => call("GET", "/api/v1/users".into(), None),
        "create_user" => call(
            "POST",
            "/api/v1/users".into(),
            Some(
                json!({"username": format!("new.{}", w.next()), "display_name": "New",
                        "role": "staff", "org_unit_id": s.department, "password": PASSWORD}),
            ),
        )
        .object(),
        "get_user" => call("GET", format!("/api/v1/users/{}", s.pm), None).object(),
        "update_user" => {
            let user = fresh_staff(app, w, side).await;
            call(
                "PATCH",
                format!("/api/v1/users/{user}"),
                Some(json!({"display_name": format!("Renamed {}", w.next())})),
            )
            .object()
        }
        "activate_user" => {
            let user = fresh_staff(app, w, side).await;
            app.post(
                &format!("/api/v1/users/{user}/deactivation"),
                admin,
                json!({}),
            )
            .await
            .expect(200);
            call("POST", format!("/api/v1/users/{user}/activation"), None).object()
        }
        "deactivate_user" => {
            let user = fresh_staff(app, w, side).await;
            call("POST", format!("/api/v1/users/{user}/deactivation"), None).object()
        }
        "list_customers" => call("GET", "/api/v1/customers".into(), None),
        "create_customer" => call(
            "POST",
            "/api/v1/customers".into(),
            Some(
                json!({"name": format!("Owner {}", w.next()), "kind": "owner_organisation",
                        "branch_id": s.branch}),
            ),
        )
        .object(),
        "get_customer" => call("GET", format!("/api/v1/customers/{}", s.customer), None).object(),
        "update_customer" => call(
            "PATCH",
            format!("/api/v1/customers/{}", s.customer),
            Some(json!({"address": format!("{} River Road", w.next())})),
        )
        .object(),
        "gradings" => call(
            "GET",
            format!("/api/v1/customers/{}/gradings", s.customer),
            None,
        )
        .object(),
        "grade" => call(
            "POST",
            format!("/api/v1/customers/{}/gradings", s.customer),
            Some(json!({"operating_score": 80, "payment_score": 80, "cooperation_score": 80})),
        )
        .object(),
        "list_projects" => call("GET", "/api/v1/projects".into(), None),
        "create_project" => {
            let today = app.clock.now().date_naive().to_string();
            call(
                "POST",
                "/api/v1/projects".into(),
                Some(
                    json!({"code": format!("NP-{}", w.next()), "name": "New project",
                            "address": "2 River Road", "project_department_id": s.department,
                            "customer_id": s.customer, "completion_accepted_on": today,
                            "handover_on": today}),
                ),
            )
            .object()
        }
        "get_project" => call("GET", format!("/api/v1/projects/{}", s.project), None).object(),
        "update_project" => call(
            "PATCH",
            format!("/api/v1/projects/{}", s.project),
            Some(json!({"contract_number": format!("SG-{}", w.next())})),
        )
        .object(),
        "contacts" => call(
            "GET",
            format!("/api/v1/projects/{}/contacts", s.project),
            None,
        )
        .object(),
        "add_contact" => call(
            "POST",
            format!("/api/v1/projects/{}/contacts", s.project),
            Some(json!({"role": "chief_engineer", "name": "Zhou Min", "phone": "139 1200 0003"})),
        )
        .object(),
        "update_contact" | "remove_contact" => {
            let r = app
                .post(
                    &format!("/api/v1/projects/{}/contacts", s.project),
                    admin,
                    json!({"role": "civil_lead", "name": "Sun Tao", "phone": "138 3300 0004"}),
                )
                .await;
            r.expect(201);
            let path = format!("/api/v1/projects/{}/contacts/{}", s.project, r.body["id"]);
            if op == "update_contact" {
                call("PATCH", path, Some(json!({"name": "Sun Tao Jr."}))).object()
            } else {
                call("DELETE", path, None).object()
            }
        }
        "submit_ledger" => {
            let p = fresh_project(app, w, side).await;
            call(
                "POST",
                format!("/api/v1/projects/{p}/ledger/submission"),
                Some(json!({})),
            )
            .object()
        }
        "review_ledger" => {
            let p = fresh_project(app, w, side).await;
            app.post(
                &format!("/api/v1/projects/{p}/ledger/submission"),
                &s.pm_token,
                json!({}),
            )
            .await
            .expect(200);
            call(
                "POST",
                format!("/api/v1/projects/{p}/ledger/review"),
                Some(json!({"decision": "approve"})),
            )
            .object()
        }
        "warranty_status" => call(
            "GET",
            format!("/api/v1/projects/{}/warranty-status", s.project),
            None,
        )
        .object(),
        "terms" => call(
            "GET",
            format!("/api/v1/projects/{}/warranty-terms", s.project),
            None,
        )
        .object(),
        "set_term" => call(
            "PUT",
            format!(
                "/api/v1/projects/{}/warranty-terms/waterproofing",
                s.project
            ),
            Some(json!({"years": 8})),
        )
        .object(),
        "policies" => call("GET", "/api/v1/deadline-policies".into(), None),
        "policy_versions" => call("GET", "/api/v1/deadline-policies/ledger.fill".into(), None),
        "change_policy" => call(
            "PUT",
            "/api/v1/deadline-policies/ledger.fill".into(),
            Some(
                json!({"duration": 72, "unit": "hours", "actor_role": "project_manager",
                        "escalation_roles": ["branch_engineer"]}),
            ),
        ),
        "list_deadlines" => call("GET", "/api/v1/deadlines".into(), None),
        "get_deadline" => {
            let d = fill_clock(app, w, s.project).await;
            call("GET", format!("/api/v1/deadlines/{d}"), None).object()
        }
        "pause" | "resume" => {
            let p = fresh_project(app, w, side).await;
            let d = fill_clock(app, w, p).await;
            let reason = json!({"reason": "the owner is abroad"});
            if op == "pause" {
                return call("POST", format!("/api/v1/deadlines/{d}/pause"), Some(reason)).object();
            }
            app.post(&format!("/api/v1/deadlines/{d}/pause"), admin, reason)
                .await
                .expect(200);
            call("POST", format!("/api/v1/deadlines/{d}/resume"), None).object()
        }
        "list_events" => call("GET", "/api/v1/events".into(), None),
        // a file names its branch in a cell: one outside the scope is a
        // row's `not_found`, as a missing one, never a 404 of the request
        "create_import" => Call {
            form: Some(import_form(s.branch)),
            ..call("POST", "/api/v1/imports".into(), None)
        },
        "get_import" => {
            let form = import_form(s.branch);
            let r = app
                .send(
                    TestRequest::post()
                        .uri("/api/v1/imports")
                        .insert_header(("Authorization", format!("Bearer {}", s.engineer_token)))
                        .insert_header((
                            "Content-Type",
                            format!("multipart/form-data; boundary={BOUNDARY}"),
                        ))
                        .set_payload(form),
                )
                .await;
            r.expect(201);
            let id = r.body["id"].as_i64().unwrap();
            call("GET", format!("/api/v1/imports/{id}"), None).object()
        }
        "get_labels" => call("GET", "/api/v1/labels?lang=zh-CN".into(), None),
        "get_import_template" => call("GET", "/api/v1/imports/templates/projects".into(), None),
        "create_upload" => Call {
            file: Some(picture(w.next())),
            ..call("POST", "/api/v1/uploads".into(), None)
        },
        "get_upload" => {
            // the caller's own upload; across branches, the other branch's manager's
            let owner = match side {
                Side::East => &w.callers[role].1,
                Side::North => &s.pm_token,
            };
            let id = uploaded(app, w, owner).await;
            call("GET", format!("/api/v1/uploads/{id}"), None).object()
        }
        "list_project_attachments" => call(
            "GET",
            format!("/api/v1/projects/{}/attachments", s.project),
            None,
        )
        .object(),
        "add_project_attachment" => {
            let id = uploaded(app, w, &w.callers[role].1).await;
            call(
                "POST",
                format!("/api/v1/projects/{}/attachments", s.project),
                Some(json!({ "upload_id": id, "caption": "east stair" })),
            )
            .object()
        }
        "get_attachment" | "download_attachment" | "update_attachment" | "hide_attachment" => {
            let id = attachment(app, w, side).await;
            match op {
                "get_attachment" => call("GET", format!("/api/v1/attachments/{id}"), None),
                "download_attachment" => {
                    call("GET", format!("/api/v1/attachments/{id}/content"), None)
                }
                "update_attachment" => call(
                    "PATCH",
                    format!("/api/v1/attachments/{id}"),
                    Some(json!({"caption": "renamed"})),
                ),
                _ => call("DELETE", format!("/api/v1/attachments/{id}"), None),
            }
            .object()
        }
        "register_complaint" => call(
            "POST",
            "/api/v1/complaints".into(),
            Some(json!({"project_id": s.project, "received_at": app.clock.now().to_rfc3339(),
                        "category": "warranty", "channel": "app", "complainant_name": "Mr Wang",
                        "complainant_phone": "13800138000", "description": format!("leak {}", w.next())})),
        )
        .object(),
        "list_complaints" => call("GET", "/api/v1/complaints".into(), None),
        "count_complaints" => call("GET", "/api/v1/complaints/counts?by=project".into(), None),
        "get_complaint" | "list_complaint_attachments" => {
            let id = complaint(app, w, side, "registered").await;
            let tail = if op == "get_complaint" { "" } else { "/attachments" };
            call("GET", format!("/api/v1/complaints/{id}{tail}"), None).object()
        }
        "add_complaint_attachment" => {
            let id = complaint(app, w, side, "registered").await;
            let upload = uploaded(app, w, &w.callers[role].1).await;
            call(
                "POST",
                format!("/api/v1/complaints/{id}/attachments"),
                Some(json!({ "upload_id": upload })),
            )
            .object()
        }
        "judge_complaint" => {
            let id = complaint(app, w, side, "registered").await;
            call(
                "POST",
                format!("/api/v1/complaints/{id}/judgment"),
                Some(json!({"liability": "ours", "severity": "minor", "reasoning": "our work"})),
            )
            .object()
        }
        "file_complaint" => {
            let id = complaint(app, w, side, "handling").await;
            call("POST", format!("/api/v1/complaints/{id}/filing"), Some(json!({}))).object()
        }
        "resolve_complaint" => {
            let id = complaint(app, w, side, "handling").await;
            call(
                "POST",
                format!("/api/v1/complaints/{id}/resolution"),
                Some(json!({"summary": "fixed"})),
            )
            .object()
        }
        "evaluate_complaint" => {
            let id = complaint(app, w, side, "revisit_due").await;
            call(
                "POST",
                format!("/api/v1/complaints/{id}/evaluation"),
                Some(json!({"rating": "fairly_satisfied"})),
            )
            .object()
        }
        "create_rectification_plan" => {
            let id = complaint(app, w, side, "awaiting_plan").await;
            call(
                "POST",
                format!("/api/v1/complaints/{id}/rectification-plans"),
                Some(plan_body("2030-01-01", "2030-02-01")),
            )
            .object()
        }
        "get_rectification_plan"
        | "list_rectification_plan_versions"
        | "list_rectification_plan_attachments" => {
            let id = plan(app, w, side, "draft").await;
            let tail = match op {
                "get_rectification_plan" => "",
                "list_rectification_plan_versions" => "/versions",
                _ => "/attachments",
            };
            call("GET", format!("/api/v1/rectification-plans/{id}{tail}"), None).object()
        }
        "add_rectification_plan_attachment" => {
            let id = plan(app, w, side, "draft").await;
            let upload = uploaded(app, w, &w.callers[role].1).await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/attachments"),
                Some(json!({ "upload_id": upload })),
            )
            .object()
        }
        "update_rectification_plan" => {
            let id = plan(app, w, side, "draft").await;
            call(
                "PATCH",
                format!("/api/v1/rectification-plans/{id}"),
                Some(json!({"expected_result": "no leak after a 48-hour test"})),
            )
            .object()
        }
        "submit_rectification_plan" => {
            let id = plan(app, w, side, "draft").await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/submission"),
                Some(json!({})),
            )
            .object()
        }
        "review_rectification_plan" => {
            let id = plan(app, w, side, "submitted").await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/review"),
                Some(json!({"decision": "pass", "covers_all_points": true})),
            )
            .object()
        }
        "approve_rectification_plan" => {
            let id = plan(app, w, side, "reviewed").await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/approval"),
                Some(json!({"decision": "approve"})),
            )
            .object()
        }
        "revise_rectification_plan" => {
            let id = plan(app, w, side, "approved").await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/revision"),
                Some(json!({"milestones": [{"due_on": "2030-01-01", "description": "start"},
                    {"due_on": "2030-03-01", "description": "finish"}], "reason": "late material"})),
            )
            .object()
        }
        "report_rectification_progress" => {
            let id = plan(app, w, side, "approved").await;
            call(
                "POST",
                format!("/api/v1/rectification-plans/{id}/progress"),
                Some(json!({"reported_on": app.clock.now().date_naive().to_string(), "percent": 10,
                            "note": "started", "resources_in_place": true})),
            )
            .object()
        }
        "record_visit" => call(
            "POST",
            "/api/v1/visits".into(),
            Some(visit_body(s.project, &app.clock.now().to_rfc3339())),
        )
        .object(),
        "list_visits" => call("GET", "/api/v1/visits".into(), None),
        "report_repair" => {
            let source = if role == "customer" { "app" } else { "owner_report" };
            call(
                "POST",
                "/api/v1/repairs".into(),
                Some(repair_body(s.project, &app.clock.now().to_rfc3339(), source)),
            )
            .object()
        }
        "list_repairs" => call("GET", "/api/v1/repairs".into(), None),
        "record_corrective_action" => call(
            "POST",
            "/api/v1/corrective-actions".into(),
            Some(corrective_body(s.project, app.clock.now().date_naive())),
        )
        .object(),
        "report_annual_summary" => call(
            "GET",
            format!(
                "/api/v1/reports/annual-summary?year=2026&project_department_id={}",
                w.side(side).department
            ),
            None,
        )
        .object(),
        "register_export" => call(
            "GET",
            format!(
                "/api/v1/registers/complaints?format=csv&project_department_id={}",
                w.side(side).department
            ),
            None,
        )
        .object(),
        "list_corrective_actions" => call("GET", "/api/v1/corrective-actions".into(), None),
        "get_corrective_action" | "complete_corrective_action" | "verify_corrective_action" => {
            let done = op == "verify_corrective_action";
            let id = corrective(app, w, side, done).await;
            let (method, tail, body) = match op {
                "get_corrective_action" => ("GET", "", None),
                "complete_corrective_action" => {
                    ("POST", "/completion", Some(json!({"result": "redone"})))
                }
                _ => ("POST", "/verification", Some(json!({"decision": "verified"}))),
            };
            call(method, format!("/api/v1/corrective-actions/{id}{tail}"), body).object()
        }
        "record_accountability" => {
            let c = complaint(app, w, side, "handling").await;
            call(
                "POST",
                "/api/v1/accountability-records".into(),
                Some(json!({"complaint_id": c, "person": "Site manager", "measure": "criticism",
                            "reason": "late"})),
            )
            .object()
        }
        "list_accountability_records" => {
            call("GET", "/api/v1/accountability-records".into(), None)
        }
        "get_accountability_record" | "withdraw_accountability" => {
            let id = accountability(app, w, side).await;
            if op == "get_accountability_record" {
                call("GET", format!("/api/v1/accountability-records/{id}"), None).object()
            } else {
                call(
                    "POST",
                    format!("/api/v1/accountability-records/{id}/withdrawal"),
                    Some(json!({"reason": "appeal upheld"})),
                )
                .object()
            }
        }
        "report_deadlines" | "report_kpis" | "report_repeats" | "report_satisfaction" => call(
            "GET",
            format!(
                "/api/v1/reports/{}?project_department_id={}",
                op.trim_start_matches("report_"),
                w.side(side).department
            ),
            None,
        )
        .object(),
        "get_repair" | "list_repair_attachments" => {
            let id = repair(app, w, side, "reported").await;
            let tail = if op == "get_repair" { "" } else { "/attachments" };
            call("GET", format!("/api/v1/repairs/{id}{tail}"), None).object()
        }
        "add_repair_attachment" => {
            let id = repair(app, w, side, "reported").await;
            let upload = uploaded(app, w, &w.callers[role].1).await;
            call(
                "POST",
                format!("/api/v1/repairs/{id}/attachments"),
                Some(json!({ "upload_id": upload })),
            )
            .object()
        }
        "get_project_repair_costs" => call(
            "GET",
            format!("/api/v1/projects/{}/repair-costs", s.project),
            None,
        )
        .object(),
        "arrive_at_repair" | "confirm_repair" | "agree_to_repair" | "dispatch_repair"
        | "hold_repair" | "resume_repair" | "complete_repair" | "inspect_repair"
        | "accept_repair" => {
            let today = app.clock.now().date_naive().to_string();
            let paper = |mut body: Value| {
                if role != "customer" {
                    body["signed_by"] = json!("Mr Wang");
                    body["signed_on"] = json!(today);
                }
                body
            };
            let (state, step, body) = match op {
                "arrive_at_repair" => ("reported", "arrival", json!({})),
                "confirm_repair" => ("reported", "confirmation", json!({"outcome": "defect",
                    "liability": "general_contractor", "cause": "torn", "measures": "redo", "scale": "small"})),
                "agree_to_repair" => ("awaiting_agreement", "agreement", paper(json!({"decision": "accepted"}))),
                "dispatch_repair" => ("awaiting_dispatch", "dispatch", json!({"crew": "crew of 2"})),
                "hold_repair" => ("in_progress", "hold", json!({"reason": "weather", "note": "rain"})),
                "resume_repair" => ("on_hold", "resume", json!({})),
                "complete_repair" => {
                    let photo = uploaded(app, w, &w.callers[role].1).await;
                    ("in_progress", "completion", json!({"work_done": "redone", "labour_hours": 2,
                        "attachment_ids": [photo]}))
                }
                "inspect_repair" => ("awaiting_inspection", "inspection", json!({"result": "pass"})),
                _ => ("awaiting_acceptance", "acceptance",
                    paper(json!({"decision": "accepted", "rating": "very_satisfied"}))),
            };
            let id = repair(app, w, side, state).await;
            call("POST", format!("/api/v1/repairs/{id}/{step}"), Some(body)).object()
        }
        "get_visit" | "list_visit_attachments" => {
            let id = visit(app, w, side).await;
            let tail = if op == "get_visit" { "" } else { "/attachments" };
            call("GET", format!("/api/v1/visits/{id}{tail}"), None).object()
        }
        "confirm_visit" => {
            let id = visit(app, w, side).await;
            let body = if role == "customer" {
                json!({})
            } else {
                json!({"signer_name": "李经理", "signed_on": app.clock.now().date_naive().to_string()})
            };
            call("POST", format!("/api/v1/visits/{id}/confirmation"), Some(body)).object()
        }
        "add_visit_attachment" => {
            let id = visit(app, w, side).await;
            let upload = uploaded(app, w, &w.callers[role].1).await;
            call(
                "POST",
                format!("/api/v1/visits/{id}/attachments"),
                Some(json!({ "upload_id": upload })),
            )
            .object()
        }
        "create_visit_plan" => {
            let n = w.next();
            let body = if role == "project_manager" {
                json!({"level": "project", "org_unit_id": s.department, "year": 2000 + n % 100,
                       "month": n % 12 + 1})
            } else {
                json!({"level": "branch", "org_unit_id": s.branch, "year": 2000 + n % 100})
            };
            call("POST", "/api/v1/visit-plans".into(), Some(body)).object()
        }
        "list_visit_plans" => call("GET", "/api/v1/visit-plans".into(), None),
        "get_visit_plan" | "visit_plan_compliance" => {
            let (id, _) = visit_plan(app, w, side, false).await;
            let tail = if op == "get_visit_plan" { "" } else { "/compliance" };
            call("GET", format!("/api/v1/visit-plans/{id}{tail}"), None).object()
        }
        "add_visit_plan_item" => {
            let (id, plan) = visit_plan(app, w, side, false).await;
            let item = &plan["items"][0];
            call(
                "POST",
                format!("/api/v1/visit-plans/{id}/items"),
                Some(json!({"project_id": item["project_id"], "kind": "technical", "method": "onsite",
                            "planned_on": item["planned_on"], "visitor_id": item["visitor_id"]})),
            )
            .object()
        }
        "update_visit_plan_item" | "remove_visit_plan_item" => {
            let (id, plan) = visit_plan(app, w, side, false).await;
            let path = format!("/api/v1/visit-plans/{id}/items/{}", plan["items"][0]["id"]);
            if op == "update_visit_plan_item" {
                call("PATCH", path, Some(json!({"kind": "technical"}))).object()
            } else {
                call("DELETE", path, None).object()
            }
        }
        "submit_visit_plan" => {
            let (id, _) = visit_plan(app, w, side, false).await;
            call(
                "POST",
                format!("/api/v1/visit-plans/{id}/submission"),
                Some(json!({})),
            )
            .object()
        }
        "review_visit_plan" => {
            let (id, _) = visit_plan(app, w, side, true).await;
            call(
                "POST",
                format!("/api/v1/visit-plans/{id}/review"),
                Some(json!({"decision": "approve"})),
            )
            .object()
        }
        "list_changes" => call("GET", "/api/v1/changes".into(), None),
        "get_changes_head" => call("GET", "/api/v1/changes/head".into(), None),
        "create_api_key" => call(
            "POST",
            "/api/v1/api-keys".into(),
            Some(json!({"name": "a system", "role": "staff", "org_unit_id": s.department})),
        )
        .object(),
        "list_api_keys" => call("GET", "/api/v1/api-keys".into(), None),
        "get_api_key" | "revoke_api_key" => {
            let r = app
                .post(
                    "/api/v1/api-keys",
                    &w.admin,
                    json!({"name": "a system", "role": "staff", "org_unit_id": s.department}),
                )
                .await;
            r.expect(201);
            let path = format!("/api/v1/api-keys/{}", r.body["api_key"]["id"]);
            let method = if op == "get_api_key" { "GET" } else { "DELETE" };
            call(method, path, None)
        }
        "create_webhook" => call(
            "POST",
            "/api/v1/webhooks".into(),
            Some(json!({"url": "https://93.184.216.34/hook", "event_types": ["repair.accepted"],
                        "branch_id": s.branch})),
        )
        .object(),
        "list_webhooks" => call("GET", "/api/v1/webhooks".into(), None),
        "get_webhook" | "update_webhook" | "delete_webhook" | "rotate_webhook_secret"
        | "ping_webhook" | "list_webhook_deliveries" => {
            let (id, _) = webhook(app, w, side).await;
            let path = format!("/api/v1/webhooks/{id}");
            match op {
                "get_webhook" => call("GET", path, None),
                "update_webhook" => call("PATCH", path, Some(json!({"active": true}))),
                "delete_webhook" => call("DELETE", path, None),
                "rotate_webhook_secret" => {
                    call("POST", format!("{path}/secret-rotation"), Some(json!({})))
                }
                "ping_webhook" => call("POST", format!("{path}/ping"), Some(json!({}))),
                _ => call("GET", format!("{path}/deliveries"), None),
            }
            .object()
        }
        "get_webhook_delivery" | "retry_webhook_delivery" => {
            let (id, delivery) = webhook(app, w, side).await;
            let path = format!("/api/v1/webhooks/{id}/deliveries/{delivery}");
            if op == "get_webhook_delivery" {
                call("GET", path, None).object()
            } else {
                call("POST", format!("{path}/retry"), Some(json!({}))).object()
            }
        }
        other => panic!(
            "no request for operation `{other}`: add it to `request` and its row to EXPECTED"
        ),
    }
}

async fn world<S, B>(app: &TestApp<S>) -> World
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let mut branches = vec![];
    for (branch, department, name) in [
        (org.east, org.east_pd, "east"),
        (org.north, org.north_pd, "north"),
    ] {
        let customer = app.customer(&admin, &format!("{name} owner"), branch).await;
        let project = app
            .project(&admin, &format!("{name}-1"), department, customer)
            .await["id"]
            .as_i64()
            .unwrap();
        let pm = app
            .user(
                &admin,
                &format!("{name}.pm"),
                "project_manager",
                Some(department),
            )
            .await;
        // a manager may visit any customer: plans give the project manager visits
        app.patch(
            &format!("/api/v1/users/{pm}"),
            &admin,
            json!({"rank": "manager"}),
        )
        .await
        .expect(200);
        let pm_token = app.token(&format!("{name}.pm"), PASSWORD).await;
        let mut tokens = vec![];
        for role in ["branch_engineer", "branch_leader"] {
            let username = format!("{name}.{role}");
            app.user(&admin, &username, role, Some(branch)).await;
            tokens.push(app.token(&username, PASSWORD).await);
        }
        let leader_token = tokens.pop().unwrap();
        let engineer_token = tokens.pop().unwrap();
        branches.push(Branch {
            branch,
            department,
            customer,
            project,
            pm,
            pm_token,
            engineer_token,
            leader_token,
        });
    }
    let north = branches.pop().unwrap();
    let east = branches.pop().unwrap();
    let mut w = World {
        admin: admin.clone(),
        group: org.group,
        east,
        north,
        callers: BTreeMap::new(),
        n: Cell::new(0),
    };
    for role in ROLES {
        let username = match role {
            "admin" => "admin".to_string(),
            "project_manager" => "east.pm".to_string(),
            _ => new_user(app, &w, role).await.1,
        };
        let password = if role == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        let token = app.token(&username, password).await;
        w.callers.insert(role, (username, token));
    }
    w
}

/// Every operation of the spec, as `(operationId, method)`.
fn operations() -> Vec<(String, String)> {
    let spec = serde_json::to_value(aftercare::openapi::ApiDoc::openapi()).unwrap();
    let mut ops = vec![];
    for (_, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                ops.push((id.to_string(), method.to_uppercase()));
            }
        }
    }
    ops.sort();
    ops
}

fn expected(op: &str) -> Vec<&'static str> {
    let row = EXPECTED
        .iter()
        .find(|(id, _)| *id == op)
        .unwrap_or_else(|| panic!("operation `{op}` has no row in EXPECTED: add one"));
    let answers: Vec<&str> = row.1.split_whitespace().collect();
    assert_eq!(answers.len(), ROLES.len(), "row of `{op}`");
    answers
}

fn print_table(observed: &BTreeMap<String, Vec<String>>) {
    if std::env::var_os("ROLE_MATRIX_PRINT").is_some() {
        for (op, answers) in observed {
            println!("    (\"{op}\", \"{}\"),", answers.join(" "));
        }
    }
}

#[actix_rt::test]
async fn every_operation_answers_each_role_as_the_table_says() {
    let app = spawn().await;
    let w = world(&app).await;
    let ops = operations();
    for (id, _) in EXPECTED {
        assert!(
            ops.iter().any(|(op, _)| op == id),
            "EXPECTED names `{id}`, which the spec does not have"
        );
    }
    let mut observed = BTreeMap::new();
    let mut wrong = vec![];
    for (op, _) in &ops {
        let want = expected(op);
        let mut answers = vec![];
        for (i, role) in ROLES.iter().enumerate() {
            let c = request(&app, &w, op, Side::East, role).await;
            let token = match c.caller {
                As::Caller => w.callers[role].1.clone(),
                As::FreshSession => app.token(&w.callers[role].0, password_of(role)).await,
                As::NewUser => {
                    let (_, name) = new_user(&app, &w, role).await;
                    app.token(&name, PASSWORD).await
                }
            };
            let r = send(&app, &c, Some(&token)).await;
            let got = outcome(&r);
            if got != want[i] {
                wrong.push(format!(
                    "{op} as {role}: {got}, expected {} ({} {}: {})",
                    want[i], c.method, c.path, r.body
                ));
            }
            answers.push(got);
        }
        observed.insert(op.clone(), answers);
    }
    print_table(&observed);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn password_of(role: &str) -> &'static str {
    if role == "admin" {
        ADMIN_PASSWORD
    } else {
        PASSWORD
    }
}

/// The claims of a real token, to forge others from.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[actix_rt::test]
async fn every_operation_refuses_a_missing_expired_forged_or_unsigned_token_and_a_deactivated_users(
) {
    let app = spawn().await;
    let w = world(&app).await;
    let now = app.clock.now();
    // forged from the project manager's live session
    let real = claims(&w.callers["project_manager"].1);
    let issue = |keys: &aftercare::auth::jwt::JwtKeys, at: chrono::DateTime<chrono::Utc>| {
        keys.issue(
            real["sub"].as_str().unwrap().parse().unwrap(),
            "project_manager",
            real["org_unit_id"].as_i64(),
            None,
            real["sid"].as_str().unwrap(),
            at,
            900,
        )
        .unwrap()
    };
    let ours = aftercare::auth::jwt::JwtKeys::new(JWT_SECRET.as_bytes());
    let theirs = aftercare::auth::jwt::JwtKeys::new(b"another-secret-0123456789-0123456789-xyz");
    let expired = issue(&ours, now - Duration::hours(2));
    let other_key = issue(&theirs, now);
    let mut unsigned = real.clone();
    unsigned["role"] = json!("admin");
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&unsigned)
    );
    let (gone, name) = new_user(&app, &w, "project_manager").await;
    let deactivated = app.token(&name, PASSWORD).await;
    app.post(
        &format!("/api/v1/users/{gone}/deactivation"),
        &w.admin,
        json!({}),
    )
    .await
    .expect(200);
    // the forgeries are no accident: the same token, signed right, is taken
    assert_eq!(app.get("/api/v1/me", &issue(&ours, now)).await.status, 200);

    let mut wrong = vec![];
    for (op, _) in operations() {
        for kind in BAD_TOKENS {
            let c = request(&app, &w, &op, Side::East, "project_manager").await;
            let token = match kind {
                "none" => None,
                "expired" => Some(expired.as_str()),
                "other_key" => Some(other_key.as_str()),
                "alg_none" => Some(alg_none.as_str()),
                _ => Some(deactivated.as_str()),
            };
            let r = send(&app, &c, token).await;
            let want = if PUBLIC.contains(&op.as_str()) {
                "ok"
            } else {
                "401"
            };
            let got = outcome(&r);
            if got != want {
                wrong.push(format!(
                    "{op} with token {kind}: {got}, expected {want} ({})",
                    r.body
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[actix_rt::test]
async fn every_operation_naming_another_branchs_object_answers_404() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut wrong = vec![];
    let mut tried = 0;
    // the roles bound to one branch (admin and group engineering see all)
    let bound = [
        "branch_engineer",
        "branch_leader",
        "project_manager",
        "staff",
        "customer",
    ];
    for (op, _) in operations() {
        let want = expected(&op);
        for (i, role) in ROLES.iter().enumerate() {
            // a role refused the operation outright (403) learns nothing of
            // the object; the rest must not tell the other branch's from none
            if !bound.contains(role) || want[i] != "ok" {
                continue;
            }
            let c = request(&app, &w, &op, Side::North, role).await;
            if !c.names_an_object {
                continue;
            }
            let r = send(&app, &c, Some(&w.callers[role].1)).await;
            tried += 1;
            if r.status != 404 {
                wrong.push(format!(
                    "{op} as east {role} on north's object: {} ({} {}: {})",
                    r.status, c.method, c.path, r.body
                ));
            }
        }
    }
    assert!(tried > 40, "only {tried} cross-branch calls made");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Changing an attachment (its caption), showing an internal one to the
/// customer and hiding one, on a file the administrator attached to each
/// kind of record: who may, per role (admin, group_engineer,
/// branch_engineer, branch_leader, project_manager, staff, customer). The
/// record's stewards may; a role that sees the record but may not change
/// it gets 403; one that does not see it, 404.
const ATTACHMENT_CHANGES: [(&str, &str); 4] = [
    ("project", "ok ok ok 403 ok 403 403"),
    ("complaint", "ok ok ok 403 403 403 403"),
    ("rectification_plan", "ok ok ok 403 ok ok 404"),
    ("visit", "ok ok ok 403 403 403 403"),
];

#[actix_rt::test]
async fn attachment_changes_on_every_kind_of_record_answer_each_role_as_the_table_says() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut wrong = vec![];
    for (subject, row) in ATTACHMENT_CHANGES {
        let want: Vec<&str> = row.split_whitespace().collect();
        for (i, role) in ROLES.iter().enumerate() {
            let path = match subject {
                "project" => format!("/api/v1/projects/{}", w.east.project),
                "complaint" => format!(
                    "/api/v1/complaints/{}",
                    complaint(&app, &w, Side::East, "registered").await
                ),
                "rectification_plan" => format!(
                    "/api/v1/rectification-plans/{}",
                    plan(&app, &w, Side::East, "draft").await
                ),
                _ => format!("/api/v1/visits/{}", visit(&app, &w, Side::East).await),
            };
            let token = &w.callers[role].1;
            for (change, internal) in [("caption", false), ("show", true), ("hide", false)] {
                let upload = uploaded(&app, &w, &w.admin).await;
                let r = app
                    .post(
                        &format!("{path}/attachments"),
                        &w.admin,
                        json!({"upload_id": upload, "internal": internal}),
                    )
                    .await;
                r.expect(201);
                let id = r.body["id"].as_i64().unwrap();
                let r = match change {
                    "caption" => {
                        app.patch(
                            &format!("/api/v1/attachments/{id}"),
                            token,
                            json!({"caption": "renamed"}),
                        )
                        .await
                    }
                    "show" if *role == "customer" => {
                        // the owner never sees an internal file: the
                        // question does not arise (404), as for any
                        // record they do not see
                        let r = app
                            .patch(
                                &format!("/api/v1/attachments/{id}"),
                                token,
                                json!({"internal": false}),
                            )
                            .await;
                        if r.status != 404 {
                            wrong.push(format!("show on {subject} as customer: {}", r.status));
                        }
                        continue;
                    }
                    "show" => {
                        app.patch(
                            &format!("/api/v1/attachments/{id}"),
                            token,
                            json!({"internal": false}),
                        )
                        .await
                    }
                    _ => {
                        app.delete(&format!("/api/v1/attachments/{id}"), token)
                            .await
                    }
                };
                let got = match r.status {
                    200..=299 => "ok".to_string(),
                    s => s.to_string(),
                };
                if got != want[i] {
                    wrong.push(format!(
                        "{change} on a {subject}'s attachment as {role}: {got}, expected {} ({})",
                        want[i], r.body
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A project moved to the other branch takes its complaints along: every
/// role bound to the old branch loses them (404), the new branch has them.
#[actix_rt::test]
async fn a_project_moved_to_another_branch_leaves_the_old_branchs_roles_with_404() {
    let app = spawn().await;
    let w = world(&app).await;
    let id = complaint(&app, &w, Side::East, "registered").await;
    let path = format!("/api/v1/complaints/{id}");
    for role in [
        "branch_engineer",
        "branch_leader",
        "project_manager",
        "staff",
        "customer",
    ] {
        app.get(&path, &w.callers[role].1).await.expect(200);
    }
    app.patch(
        &format!("/api/v1/projects/{}", w.east.project),
        &w.admin,
        json!({"project_department_id": w.north.department, "customer_id": w.north.customer}),
    )
    .await
    .expect(200);
    for role in [
        "branch_engineer",
        "branch_leader",
        "project_manager",
        "staff",
        "customer",
    ] {
        let r = app.get(&path, &w.callers[role].1).await;
        assert_eq!(r.status, 404, "{role} of the old branch: {}", r.body);
    }
    for token in [&w.north.engineer_token, &w.north.pm_token, &w.admin] {
        app.get(&path, token).await.expect(200);
    }
    app.post(
        &format!("{path}/judgment"),
        &w.callers["branch_engineer"].1,
        json!({"liability": "ours", "severity": "minor", "reasoning": "ours"}),
    )
    .await
    .expect(404);
    app.post(
        &format!("{path}/judgment"),
        &w.north.engineer_token,
        json!({"liability": "ours", "severity": "minor", "reasoning": "ours"}),
    )
    .await
    .expect(200);
}

/// The operations whose request carries the person's own uploads (made
/// with their token): a key attaches only what it uploaded itself.
const OWN_UPLOADS: [&str; 7] = [
    "add_complaint_attachment",
    "add_project_attachment",
    "add_rectification_plan_attachment",
    "add_repair_attachment",
    "add_visit_attachment",
    "complete_repair",
    "get_upload",
];

/// An API key acts as a person of its role: every operation, sent with a
/// key of each role's unit (or customer), answers as the table says for
/// that role — except the session's own operations (logging out, a new
/// password), which a key has none of, and those that name the person's
/// own uploads.
#[actix_rt::test]
async fn an_api_key_answers_every_operation_as_a_person_of_its_role() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut wrong = vec![];
    let mut tried = 0;
    for (i, role) in ROLES.iter().enumerate() {
        // the key acts as the role's caller: its unit, or its customer
        let me = app.get("/api/v1/me", &w.callers[role].1).await;
        let body = json!({
            "name": format!("{role} system"), "role": role,
            "org_unit_id": me.body["user"]["org_unit_id"],
            "customer_id": me.body["user"]["customer_id"],
        });
        let made = app.post("/api/v1/api-keys", &w.admin, body).await;
        made.expect(201);
        let key = made.body["key"].as_str().unwrap().to_string();
        for (op, _) in operations() {
            if PUBLIC.contains(&op.as_str())
                || ["logout", "change_password"].contains(&op.as_str())
                || OWN_UPLOADS.contains(&op.as_str())
            {
                continue;
            }
            let c = request(&app, &w, &op, Side::East, role).await;
            if !matches!(c.caller, As::Caller) {
                continue;
            }
            let want = expected(&op)[i];
            let r = send(&app, &c, Some(&key)).await;
            tried += 1;
            let got = outcome(&r);
            if got != want {
                wrong.push(format!(
                    "{op} with a {role} key: {got}, expected {want} ({} {}: {})",
                    c.method, c.path, r.body
                ));
            }
        }
    }
    assert!(tried > 500, "only {tried} calls made");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
