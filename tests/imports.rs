//! Importing a company's spreadsheets: the customer register and the
//! completed-projects ledger (appendix C of the standard for customer
//! visits and complaints), through the same rules as the API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::TestRequest;
use calamine::{Data, Reader};
use common::*;
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};

/// A cell of a file the test writes.
#[derive(Clone)]
enum C {
    T(&'static str),
    S(String),
    N(f64),
    /// A date cell (Excel's own type).
    D(i32, u32, u32),
}

/// An XLSX workbook of one sheet: `rows[0]` are the headers.
fn xlsx(rows: &[Vec<C>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                C::T(t) => {
                    sheet.write_string(r, c, *t).unwrap();
                }
                C::S(t) => {
                    sheet.write_string(r, c, t).unwrap();
                }
                C::N(n) => {
                    sheet.write_number(r, c, *n).unwrap();
                }
                C::D(y, m, d) => {
                    let day = chrono::NaiveDate::from_ymd_opt(*y, *m, *d).unwrap();
                    sheet.write_date_with_format(r, c, day, &date).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// The multipart body of an import.
fn form(kind: &str, dry_run: bool, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----aftercare-import-boundary-3c9a";
    let mut body = Vec::new();
    for (name, value) in [
        ("kind", kind),
        ("dry_run", if dry_run { "true" } else { "false" }),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn import<S, B>(
    app: &TestApp<S>,
    token: &str,
    kind: &str,
    dry_run: bool,
    bytes: &[u8],
    key: Option<&str>,
) -> Resp
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (content_type, body) = form(kind, dry_run, "ledger.xlsx", bytes);
    let mut req = TestRequest::post()
        .uri("/api/v1/imports")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(body);
    if let Some(key) = key {
        req = req.insert_header(("Idempotency-Key", key));
    }
    app.send(req).await
}

/// The template's first sheet: its headers and the field names under them.
fn template_headers(bytes: &[u8]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut book =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .take(2)
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    (names, rows[0].clone(), rows[1].clone())
}

/// A row of the template's columns: `values` by field name, the rest empty.
fn row_of(fields: &[String], values: &[(&str, C)]) -> Vec<C> {
    fields
        .iter()
        .map(|f| {
            values
                .iter()
                .find(|(name, _)| name == f)
                .map(|(_, v)| v.clone())
                .unwrap_or(C::T(""))
        })
        .collect()
}

fn strings(cells: &[String]) -> Vec<C> {
    cells.iter().map(|s| C::S(s.clone())).collect()
}

fn list(body: &Value) -> Vec<Value> {
    body.as_array()
        .cloned()
        .or_else(|| body["items"].as_array().cloned())
        .unwrap_or_default()
}

/// The cast: a group engineer and an east branch engineer, a north branch
/// (out of the east engineer's scope), an existing east customer.
struct Desk {
    admin: String,
    east_engineer: String,
    org: Org,
    customer: i64,
}

async fn desk<S, B>(app: &TestApp<S>) -> Desk
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    app.user(&admin, "east.eng", "branch_engineer", Some(org.east))
        .await;
    let east_engineer = app.token("east.eng", PASSWORD).await;
    let customer = app.customer(&admin, "滨江置业", org.east).await;
    Desk {
        admin,
        east_engineer,
        org,
        customer,
    }
}

#[actix_rt::test]
async fn the_template_round_trips_through_a_dry_run_and_an_import() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (head, bytes) = app
        .get_raw("/api/v1/imports/templates/projects", &d.east_engineer, &[])
        .await;
    head.expect(200);
    assert!(head
        .header("content-disposition")
        .unwrap()
        .contains(".xlsx"));
    let (sheets, headers, fields) = template_headers(&bytes);
    assert_eq!(sheets, vec!["导入", "示例"]);
    assert!(headers.contains(&"项目编号 *".to_string()), "{headers:?}");
    assert!(headers.contains(&"交付日期 *".to_string()));
    assert!(headers.contains(&"项目授权保修负责人 电话".to_string()));
    assert!(fields.contains(&"contacts.warranty_lead.phone".to_string()));
    assert!(fields.contains(&"warranty_terms.waterproofing".to_string()));

    // filled in as a branch would: one complete ledger with an existing
    // customer and date cells, one with a new customer, text dates and no
    // owner-side contact
    let complete = row_of(
        &fields,
        &[
            ("code", C::T("HD-2021-001")),
            ("name", C::T("滨江花园一期")),
            ("address", C::T("上海市浦东新区滨江大道 100 号")),
            ("project_department", C::T("East PD 1")),
            ("customer", C::T("滨江置业")),
            ("structure_type", C::T("框架剪力墙")),
            ("building_area", C::N(86500.5)),
            ("contract_number", C::T("SG-2020-0456")),
            ("quality_grade", C::T("合格")),
            ("completion_accepted_on", C::D(2021, 5, 6)),
            ("handover_on", C::D(2021, 5, 8)),
            ("is_key_project", C::T("是")),
            ("hvac_in_scope", C::T("否")),
            ("design_service_life_years", C::N(50.0)),
            ("contacts.warranty_lead.name", C::T("刘强")),
            ("contacts.warranty_lead.phone", C::T("139 1234 5678")),
            ("contacts.project_manager.name", C::T("王伟")),
            ("contacts.project_manager.phone", C::T("138 0000 1111")),
            ("contacts.property_manager.name", C::T("陈芳")),
            ("contacts.property_manager.phone", C::T("021-5888 0000")),
            ("warranty_terms.waterproofing", C::N(8.0)),
        ],
    );
    let lacking = row_of(
        &fields,
        &[
            ("code", C::T("HD-2022-002")),
            ("name", C::T("江湾商务中心")),
            ("address", C::T("上海市杨浦区江湾路 8 号")),
            ("project_department", C::T("East PD 1")),
            ("customer", C::T("江湾投资有限公司")),
            ("customer_kind", C::T("建设单位")),
            ("completion_accepted_on", C::T("2022/7/1")),
            ("handover_on", C::T("2022年7月5日")),
            ("contacts.warranty_lead.name", C::T("赵敏")),
            ("contacts.warranty_lead.phone", C::T("137 2222 3333")),
        ],
    );
    let file = xlsx(&[strings(&headers), strings(&fields), complete, lacking]);

    let dry = import(&app, &d.east_engineer, "projects", true, &file, None).await;
    dry.expect(200);
    assert_eq!(dry.body["problems"], json!([]), "{}", dry.body);
    assert_eq!(dry.body["rows"], 2);
    assert_eq!(dry.body["projects"].as_array().unwrap().len(), 2);
    assert_eq!(dry.body["projects"][0]["id"], Value::Null);
    assert_eq!(dry.body["customers"].as_array().unwrap().len(), 1);
    // a dry run keeps nothing
    let before = app.get("/api/v1/projects", &d.admin).await;
    assert_eq!(list(&before.body).len(), 0);

    let done = import(&app, &d.east_engineer, "projects", false, &file, None).await;
    done.expect(201);
    let import_id = done.body["id"].as_i64().unwrap();
    assert_eq!(
        done.header("location").unwrap(),
        format!("/api/v1/imports/{import_id}")
    );
    let projects = done.body["projects"].as_array().unwrap().clone();
    assert_eq!(projects[0]["ledger_complete"], true);
    assert_eq!(projects[1]["ledger_complete"], false);
    let missing: Vec<&str> = projects[1]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"contacts.project_manager"), "{missing:?}");
    assert!(missing.contains(&"contacts.owner_engineering_manager|property_manager"));

    // read back: what the sheet said
    let first = projects[0]["id"].as_i64().unwrap();
    let p = app
        .get(&format!("/api/v1/projects/{first}"), &d.admin)
        .await;
    p.expect(200);
    assert_eq!(p.body["code"], "HD-2021-001");
    assert_eq!(p.body["name"], "滨江花园一期");
    assert_eq!(p.body["customer_id"], d.customer);
    assert_eq!(p.body["project_department_id"], d.org.east_pd);
    assert_eq!(p.body["building_area"], 86500.5);
    assert_eq!(p.body["structure_type"], "框架剪力墙");
    assert_eq!(p.body["contract_number"], "SG-2020-0456");
    assert_eq!(p.body["completion_accepted_on"], "2021-05-06");
    assert_eq!(p.body["handover_on"], "2021-05-08");
    assert_eq!(p.body["is_key_project"], true);
    assert_eq!(p.body["hvac_in_scope"], false);
    assert_eq!(p.body["import_id"], import_id);
    let contacts = app
        .get(&format!("/api/v1/projects/{first}/contacts"), &d.admin)
        .await;
    let contacts = list(&contacts.body);
    assert_eq!(contacts.len(), 3);
    assert!(contacts.iter().any(|c| c["role"] == "warranty_lead"
        && c["name"] == "刘强"
        && c["phone"] == "139 1234 5678"));
    let terms = app
        .get(
            &format!("/api/v1/projects/{first}/warranty-terms"),
            &d.admin,
        )
        .await;
    let terms = list(&terms.body);
    let waterproofing = terms
        .iter()
        .find(|t| t["category"] == "waterproofing")
        .unwrap();
    assert_eq!(waterproofing["years"], 8);

    let second = projects[1]["id"].as_i64().unwrap();
    let p2 = app
        .get(&format!("/api/v1/projects/{second}"), &d.admin)
        .await;
    assert_eq!(p2.body["handover_on"], "2022-07-05");
    assert_eq!(p2.body["completion_accepted_on"], "2022-07-01");
    let new_customer = done.body["customers"][0]["id"].as_i64().unwrap();
    assert_eq!(p2.body["customer_id"], new_customer);
    let c = app
        .get(&format!("/api/v1/customers/{new_customer}"), &d.admin)
        .await;
    assert_eq!(c.body["name"], "江湾投资有限公司");
    assert_eq!(c.body["kind"], "owner_organisation");

    // the report stays readable, and every record's events name the import
    let again = app
        .get(&format!("/api/v1/imports/{import_id}"), &d.east_engineer)
        .await;
    again.expect(200);
    assert_eq!(again.body, done.body);
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=project&subject_id={first}"),
            &d.admin,
        )
        .await;
    let events = list(&events.body);
    assert!(events.len() >= 5, "created, contacts, term");
    assert!(events
        .iter()
        .all(|e| e["payload"]["import_id"] == import_id));
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=customer&subject_id={new_customer}"),
            &d.admin,
        )
        .await;
    assert_eq!(list(&events.body)[0]["payload"]["import_id"], import_id);
}

#[actix_rt::test]
async fn a_file_with_one_bad_row_of_each_kind_lists_every_problem_and_keeps_nothing() {
    let app = spawn().await;
    let d = desk(&app).await;
    app.project(&d.admin, "HD-OLD-1", d.org.east_pd, d.customer)
        .await;
    let base = |code: &'static str| {
        vec![
            ("code", C::T(code)),
            ("name", C::T("某工程")),
            ("address", C::T("某路 1 号")),
            ("project_department", C::T("East PD 1")),
            ("customer", C::T("滨江置业")),
            ("completion_accepted_on", C::T("2021-05-06")),
            ("handover_on", C::T("2021-05-08")),
        ]
    };
    let with = |code: &'static str, field: &'static str, value: C| {
        let mut row: Vec<(&str, C)> = base(code)
            .into_iter()
            .filter(|(f, _)| *f != field)
            .collect();
        row.push((field, value));
        row
    };
    let fields: Vec<String> = [
        "code",
        "name",
        "address",
        "project_department",
        "customer",
        "completion_accepted_on",
        "handover_on",
        "contacts.warranty_lead.name",
        "contacts.warranty_lead.phone",
        "warranty_terms.waterproofing",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = [
        base("OK-1"),                                               // row 2
        with("BAD-1", "project_department", C::T("No Such PD")),    // 3
        with("BAD-2", "project_department", C::T("North PD 1")),    // 4: outside the scope
        with("BAD-3", "warranty_terms.waterproofing", C::N(3.0)),   // 5: below 5 years
        with("BAD-4", "contacts.warranty_lead.name", C::T("刘强")), // 6: no phone
        with("BAD-5", "handover_on", C::T("2021-13-45")),           // 7
        base("OK-1"),                                               // 8: as row 2
        base("HD-OLD-1"),                                           // 9: in the database
    ];
    let mut sheet = vec![fields.iter().map(|f| C::S(f.clone())).collect::<Vec<_>>()];
    sheet.extend(rows.iter().map(|r| row_of(&fields, r)));
    let file = xlsx(&sheet);

    let dry = import(&app, &d.east_engineer, "projects", true, &file, None).await;
    dry.expect(200);
    let problems = dry.body["problems"].as_array().unwrap().clone();
    let at = |row: u32| -> Vec<(String, String)> {
        problems
            .iter()
            .filter(|p| p["row"] == row)
            .map(|p| {
                (
                    p["field"].as_str().unwrap_or("").to_string(),
                    p["code"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert!(at(2).is_empty(), "{problems:?}");
    assert_eq!(
        at(3),
        vec![("project_department".into(), "not_found".into())]
    );
    // another branch's department is as unknown as a missing one
    assert_eq!(at(4), at(3));
    assert_eq!(
        at(5),
        vec![(
            "warranty_terms.waterproofing".into(),
            "warranty_below_minimum".into()
        )]
    );
    assert_eq!(
        at(6),
        vec![(
            "contacts.warranty_lead.phone".into(),
            "missing_value".into()
        )]
    );
    assert_eq!(at(7), vec![("handover_on".into(), "invalid_date".into())]);
    assert_eq!(at(8), vec![("code".into(), "code_taken".into())]);
    assert_eq!(at(9), vec![("code".into(), "code_taken".into())]);
    // each names its column as the file heads it
    assert!(problems.iter().all(|p| p["column"] == p["field"]));
    assert_eq!(problems.len(), 7);

    let real = import(&app, &d.east_engineer, "projects", false, &file, None).await;
    real.expect_problem(422, "import_invalid");
    assert_eq!(real.body["rows"].as_array().unwrap().len(), 7);
    // nothing was kept, not even the good row
    let all = app.get("/api/v1/projects", &d.admin).await;
    assert_eq!(list(&all.body).len(), 1);
}

#[actix_rt::test]
async fn a_gb18030_csv_with_chinese_names_imports_customers() {
    let app = spawn().await;
    let d = desk(&app).await;
    let text = "客户名称,客户类型,所属分公司,联系人,联系电话,存在严重问题或强烈不满\r\n\
                上海江湾物业管理有限公司,物业公司,East Branch,李经理,021-6555 1234,否\r\n\
                张三,个人业主,East Branch,,,是\r\n";
    let (bytes, _, lossy) = encoding_rs::GB18030.encode(text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
    let r = import(&app, &d.east_engineer, "customers", false, &bytes, None).await;
    r.expect(201);
    let made = r.body["customers"].as_array().unwrap();
    assert_eq!(made.len(), 2);
    let id = made[0]["id"].as_i64().unwrap();
    let c = app.get(&format!("/api/v1/customers/{id}"), &d.admin).await;
    assert_eq!(c.body["name"], "上海江湾物业管理有限公司");
    assert_eq!(c.body["kind"], "property_company");
    assert_eq!(c.body["contact_name"], "李经理");
    assert_eq!(c.body["branch_id"], d.org.east);
    let id = made[1]["id"].as_i64().unwrap();
    let c = app.get(&format!("/api/v1/customers/{id}"), &d.admin).await;
    assert_eq!(c.body["name"], "张三");
    assert_eq!(c.body["serious_problems"], true);

    // the same customers again are refused, row by row
    let again = import(&app, &d.east_engineer, "customers", true, &bytes, None).await;
    again.expect(200);
    let codes: Vec<&str> = again.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["customer_exists", "customer_exists"]);
}

#[actix_rt::test]
async fn the_same_idempotency_key_twice_imports_once() {
    let app = spawn().await;
    let d = desk(&app).await;
    let file = xlsx(&[
        vec![C::T("客户名称"), C::T("客户类型"), C::T("所属分公司")],
        vec![
            C::T("甲公司"),
            C::T("owner_organisation"),
            C::T("East Branch"),
        ],
    ]);
    let first = import(
        &app,
        &d.east_engineer,
        "customers",
        false,
        &file,
        Some("import-1"),
    )
    .await;
    first.expect(201);
    let second = import(
        &app,
        &d.east_engineer,
        "customers",
        false,
        &file,
        Some("import-1"),
    )
    .await;
    second.expect(201);
    assert_eq!(
        second.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(second.body["id"], first.body["id"]);
    let customers = app.get("/api/v1/customers?limit=200", &d.admin).await;
    let named: Vec<Value> = list(&customers.body)
        .into_iter()
        .filter(|c| c["name"] == "甲公司")
        .collect();
    assert_eq!(named.len(), 1);
    // without the key, the same file is a second import, refused by the rules
    let third = import(&app, &d.east_engineer, "customers", false, &file, None).await;
    third.expect_problem(422, "import_invalid");
}

#[actix_rt::test]
async fn a_handover_long_past_starts_no_ledger_clock_and_a_recent_one_does() {
    // now: 2026-03-02 09:00 Shanghai; the ledger is due 72 hours after the
    // end of the handover day
    let app = spawn().await;
    let d = desk(&app).await;
    let fields = [
        "code",
        "name",
        "address",
        "project_department",
        "customer",
        "completion_accepted_on",
        "handover_on",
    ];
    let row = |code: &'static str, handover: &'static str| {
        vec![
            C::T(code),
            C::T("某工程"),
            C::T("某路 1 号"),
            C::T("East PD 1"),
            C::T("滨江置业"),
            C::T(handover),
            C::T(handover),
        ]
    };
    let file = xlsx(&[
        fields.iter().map(|f| C::T(f)).collect(),
        // due 2026-03-03 00:00: still running
        row("RECENT", "2026-02-27"),
        // due 2026-03-02 00:00: already past
        row("PAST", "2026-02-26"),
    ]);
    let r = import(&app, &d.east_engineer, "projects", false, &file, None).await;
    r.expect(201);
    let projects = r.body["projects"].as_array().unwrap();
    assert_eq!(projects[0]["ledger_clock_started"], true);
    assert_eq!(projects[1]["ledger_clock_started"], false);
    let clocks = |id: i64| {
        format!("/api/v1/deadlines?subject_type=project&subject_id={id}&rule=ledger.fill")
    };
    let recent = app
        .get(&clocks(projects[0]["id"].as_i64().unwrap()), &d.admin)
        .await;
    assert_eq!(list(&recent.body).len(), 1);
    let past = projects[1]["id"].as_i64().unwrap();
    let none = app.get(&clocks(past), &d.admin).await;
    assert_eq!(list(&none.body).len(), 0);
    // nobody is escalated for the past, and submitting it later is not late
    app.clock.advance(chrono::Duration::days(10));
    aftercare::sweep(&app.state).await.unwrap();
    let admin = app.admin().await;
    let overdue = app.get("/api/v1/deadlines?overdue=true", &admin).await;
    let overdue = list(&overdue.body);
    assert!(overdue.iter().any(|x| x["subject_id"] == projects[0]["id"]));
    assert!(overdue.iter().all(|x| x["subject_id"] != past));
    app.user(&admin, "east.pm", "project_manager", Some(d.org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    app.complete_contacts(&admin, past).await;
    let r = app
        .post(
            &format!("/api/v1/projects/{past}/ledger/submission"),
            &pm,
            json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["submitted_late"], false);
}

#[actix_rt::test]
async fn only_those_who_import_may_import_and_read_imports() {
    let app = spawn().await;
    let d = desk(&app).await;
    app.user(&d.admin, "east.pm", "project_manager", Some(d.org.east_pd))
        .await;
    let pm = app.token("east.pm", PASSWORD).await;
    let file = xlsx(&[
        vec![C::T("客户名称"), C::T("客户类型"), C::T("所属分公司")],
        vec![C::T("乙公司"), C::T("individual"), C::T("East Branch")],
    ]);
    import(&app, &pm, "customers", false, &file, None)
        .await
        .expect_problem(403, "forbidden");
    app.get("/api/v1/imports/templates/customers", &pm)
        .await
        .expect_problem(403, "forbidden");
    let done = import(&app, &d.east_engineer, "customers", false, &file, None).await;
    done.expect(201);
    let id = done.body["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/imports/{id}"), &pm)
        .await
        .expect_problem(403, "forbidden");
    // another branch's engineer does not see this branch's import
    app.user(&d.admin, "north.eng", "branch_engineer", Some(d.org.north))
        .await;
    let north = app.token("north.eng", PASSWORD).await;
    app.get(&format!("/api/v1/imports/{id}"), &north)
        .await
        .expect_problem(404, "not_found");
    // and names of the east branch are unknown to them
    let r = import(&app, &north, "customers", true, &file, None).await;
    r.expect(200);
    assert_eq!(r.body["problems"][0]["code"], "not_found");
    assert_eq!(r.body["problems"][0]["field"], "branch");
}

#[actix_rt::test]
async fn a_file_that_is_no_spreadsheet_or_lacks_columns_is_refused_clearly() {
    let app = spawn().await;
    let d = desk(&app).await;
    let r = import(
        &app,
        &d.east_engineer,
        "projects",
        true,
        b"\x00\x01binary\xff\xfe",
        None,
    )
    .await;
    r.expect_problem(422, "unreadable_file");
    let file = xlsx(&[
        vec![C::T("项目编号"), C::T("项目名称")],
        vec![C::T("A"), C::T("B")],
    ]);
    let r = import(&app, &d.east_engineer, "projects", true, &file, None).await;
    r.expect(200);
    let missing: Vec<&str> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == "missing_column")
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"handover_on") && missing.contains(&"project_department"));
    let (content_type, body) = form("buildings", true, "x.xlsx", &file);
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/imports")
                .insert_header(("Authorization", format!("Bearer {}", d.east_engineer)))
                .insert_header(("Content-Type", content_type))
                .set_payload(body),
        )
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["kind"]);
    app.get("/api/v1/imports/templates/buildings", &d.east_engineer)
        .await
        .expect_problem(404, "not_found");
}

#[test]
fn the_example_sheet_holds_an_example_row() {
    let bytes = aftercare::services::imports::template::workbook(
        aftercare::services::imports::ImportKind::Projects,
    )
    .unwrap();
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let example = book.worksheet_range_at(1).unwrap().unwrap();
    let row: Vec<Data> = example.rows().nth(2).unwrap().to_vec();
    assert_eq!(row[0], Data::String("HD-2025-017".into()));
    let template = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(
        template.rows().count(),
        2,
        "the sheet to fill has no data rows"
    );
}
