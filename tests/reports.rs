//! What management reads: every figure of the deadline report counted from
//! a dataset built step by step with the settable clock, for the group and
//! for a branch; scope; the period; the CSV and the workbook read back and
//! equal to the JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use chrono::Duration;
use common::*;
use serde_json::{json, Value};

struct Books {
    admin: String,
    east_pm: String,
    east_engineer: String,
    north_pm: String,
    north_engineer: String,
    owner: String,
    org: Org,
    east_project: i64,
}

fn repair(project: i64, at: chrono::DateTime<chrono::Utc>, severity: &str) -> Value {
    json!({
        "project_id": project, "source": "owner_report", "category": "waterproofing",
        "location": "3 号楼 1201 卫生间 bathroom", "description": "顶板渗水 the ceiling leaks",
        "severity": severity, "reported_at": at.to_rfc3339()
    })
}

fn defect() -> Value {
    json!({"outcome": "defect", "liability": "general_contractor",
           "cause": "防水层破损 the layer is torn", "measures": "重做防水 redo it", "scale": "small"})
}

/// Two branches, a project each (handed over in 2024: under warranty) and
/// repairs whose clocks end every way: on time, late, overdue, open, held.
/// The clock ends at start + 50 hours.
async fn books<S, B>(app: &TestApp<S>) -> Books
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    for (name, role, unit) in [
        ("east.pm", "project_manager", org.east_pd),
        ("east.engineer", "branch_engineer", org.east),
        ("north.pm", "project_manager", org.north_pd),
        ("north.engineer", "branch_engineer", org.north),
    ] {
        app.user(&admin, name, role, Some(unit)).await;
    }
    let east_pm = app.token("east.pm", PASSWORD).await;
    let east_engineer = app.token("east.engineer", PASSWORD).await;
    let north_pm = app.token("north.pm", PASSWORD).await;
    let north_engineer = app.token("north.engineer", PASSWORD).await;
    let east_customer = app.customer(&admin, "East Owner", org.east).await;
    let north_customer = app.customer(&admin, "North Owner", org.north).await;
    app.post(
        "/api/v1/users",
        &admin,
        json!({"username": "owner.east", "display_name": "Owner", "role": "customer",
               "customer_id": east_customer, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let owner = app.token("owner.east", PASSWORD).await;
    let east_project = app
        .project_handed_over(
            &east_pm,
            "HD-2024-001",
            org.east_pd,
            east_customer,
            "2024-06-01",
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let north_project = app
        .project_handed_over(
            &north_pm,
            "HB-2024-001",
            org.north_pd,
            north_customer,
            "2024-06-01",
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let step = |id: i64, name: &str| format!("/api/v1/repairs/{id}/{name}");
    let report = |token: &str, project: i64, severity: &str| {
        let token = token.to_string();
        let body = repair(project, app.clock.now(), severity);
        async move {
            let r = app.post("/api/v1/repairs", &token, body).await;
            r.expect(201);
            r.body["id"].as_i64().unwrap()
        }
    };
    // t0: three normal repairs, two east and one north
    let on_time = report(&east_pm, east_project, "normal").await;
    let late = report(&east_pm, east_project, "normal").await;
    let north = report(&north_pm, north_project, "normal").await;
    // t0 + 1 h: north finds no defect (settles both its clocks in 1 h)
    app.clock.advance(Duration::hours(1));
    app.post(
        &step(north, "confirmation"),
        &north_pm,
        json!({"outcome": "not_a_defect", "explanation": "结露，非渗漏 condensation, not a leak"}),
    )
    .await
    .expect(200);
    // t0 + 2 h: on site for the first east repair; + 3 h confirmed
    app.clock.advance(Duration::hours(1));
    app.post(&step(on_time, "arrival"), &east_pm, json!({}))
        .await
        .expect(200);
    app.clock.advance(Duration::hours(1));
    app.post(&step(on_time, "confirmation"), &east_pm, defect())
        .await
        .expect(200);
    // t0 + 4 h: ordered (completion clock, 24 h); held from + 5 h to + 7 h
    app.clock.advance(Duration::hours(1));
    app.post(
        &step(on_time, "dispatch"),
        &east_engineer,
        json!({"crew": "维修班 2 人"}),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::hours(1));
    app.post(
        &step(on_time, "hold"),
        &east_pm,
        json!({"reason": "owner_unavailable", "note": "业主出差 the owner is away"}),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::hours(2));
    app.post(&step(on_time, "resume"), &east_pm, json!({}))
        .await
        .expect(200);
    // t0 + 25 h: on site for the second, late, with the reason
    app.clock.advance(Duration::hours(18));
    app.post(
        &step(late, "arrival"),
        &east_pm,
        json!({"late_reason": "暴雨封路 the road was closed by the storm"}),
    )
    .await
    .expect(200);
    // t0 + 49 h: an emergency, not yet answered; the clock ends at + 50 h
    app.clock.advance(Duration::hours(24));
    report(&east_pm, east_project, "emergency").await;
    app.clock.advance(Duration::hours(1));
    Books {
        admin,
        east_pm,
        east_engineer,
        north_pm,
        north_engineer,
        owner,
        org,
        east_project,
    }
}

/// The rows of one rule, keyed by branch id (`0`: no branch, the totals).
fn rule_rows<'a>(rows: &'a Value, rule: &str) -> Vec<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == rule)
        .collect()
}

fn figures(row: &Value, started: i64, met: i64, met_late: i64, overdue: i64, open: i64) -> Value {
    let due = met + met_late + overdue;
    json!({
        "started": started, "met": met, "met_late": met_late, "overdue": overdue,
        "open": open, "cancelled": row["cancelled"], "due": due,
        "on_time_rate": if due > 0 { json!(met as f64 / due as f64) } else { Value::Null },
    })
}

fn picked(row: &Value) -> Value {
    json!({
        "started": row["started"], "met": row["met"], "met_late": row["met_late"],
        "overdue": row["overdue"], "open": row["open"], "cancelled": row["cancelled"],
        "due": row["due"], "on_time_rate": row["on_time_rate"],
    })
}

const H: i64 = 3600;

#[actix_rt::test]
async fn the_deadline_report_counts_every_clock_of_the_period_for_the_group_and_for_a_branch() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let b = books(&app).await;
    let r = app
        .get("/api/v1/reports/deadlines?year=2026", &b.admin)
        .await;
    r.expect(200);
    assert_eq!(
        r.body["period"],
        json!({"from": "2026-01-01", "to": "2026-12-31"})
    );
    let rows = &r.body["rows"];
    let east = |rule: &str| {
        rule_rows(rows, rule)
            .into_iter()
            .find(|row| row["branch"]["id"] == b.org.east)
            .unwrap_or_else(|| panic!("an east row for {rule}"))
            .clone()
    };
    let north = |rule: &str| {
        rule_rows(rows, rule)
            .into_iter()
            .find(|row| row["branch"]["id"] == b.org.north)
            .unwrap_or_else(|| panic!("a north row for {rule}"))
            .clone()
    };
    // respond: the first in 2 h, the second late at 25 h
    let respond = east("repair.respond");
    assert_eq!(picked(&respond), figures(&respond, 2, 1, 1, 0, 0));
    assert_eq!(respond["median_secs"], 2 * H);
    assert_eq!(respond["p90_secs"], 25 * H);
    assert_eq!(respond["branch"]["name"], "East Branch");
    // confirm: the first in 3 h; the second past its 48 h; the emergency's open
    let confirm = east("repair.confirm");
    assert_eq!(picked(&confirm), figures(&confirm, 3, 1, 0, 1, 1));
    assert_eq!(confirm["median_secs"], 3 * H);
    assert_eq!(confirm["p90_secs"], 3 * H);
    // the emergency's own answer clock: 8 h, 1 h gone
    let emergency = east("repair.respond.emergency");
    assert_eq!(picked(&emergency), figures(&emergency, 1, 0, 0, 0, 1));
    assert_eq!(emergency["median_secs"], Value::Null);
    // complete: ordered at 4 h for 24 h, held 2 h: due at 30 h, overdue at 50 h
    let complete = east("repair.complete");
    assert_eq!(picked(&complete), figures(&complete, 1, 0, 0, 1, 0));
    assert_eq!(complete["time_on_hold_secs"], 2 * H);
    assert_eq!(respond["time_on_hold_secs"], 0);
    // north: both clocks settled by the confirmation at 1 h
    for rule in ["repair.respond", "repair.confirm"] {
        let row = north(rule);
        assert_eq!(picked(&row), figures(&row, 1, 1, 0, 0, 0), "{rule}");
        assert_eq!(row["median_secs"], H);
    }
    assert!(rule_rows(rows, "repair.respond.emergency")
        .iter()
        .all(|row| row["branch"]["id"] == b.org.east));

    // totals over both branches, percentiles over all the steps done
    let total = |rule: &str| {
        let found = rule_rows(&r.body["totals"], rule);
        assert_eq!(found.len(), 1, "one total for {rule}");
        assert_eq!(found[0]["branch"], Value::Null);
        found[0].clone()
    };
    let respond = total("repair.respond");
    assert_eq!(picked(&respond), figures(&respond, 3, 2, 1, 0, 0));
    assert_eq!(respond["median_secs"], 2 * H);
    assert_eq!(respond["p90_secs"], 25 * H);
    let confirm = total("repair.confirm");
    assert_eq!(picked(&confirm), figures(&confirm, 4, 2, 0, 1, 1));
    assert_eq!(confirm["median_secs"], H);
    assert_eq!(confirm["p90_secs"], 3 * H);
    // every rule's total is the sum of its rows
    for t in r.body["totals"].as_array().unwrap() {
        let rule = t["rule"].as_str().unwrap();
        for field in [
            "started",
            "met",
            "met_late",
            "overdue",
            "open",
            "cancelled",
            "due",
        ] {
            let sum: i64 = rule_rows(rows, rule)
                .iter()
                .map(|row| row[field].as_i64().unwrap())
                .sum();
            assert_eq!(t[field].as_i64().unwrap(), sum, "{rule} {field}");
        }
        let parts = t["met"].as_i64().unwrap()
            + t["met_late"].as_i64().unwrap()
            + t["overdue"].as_i64().unwrap()
            + t["open"].as_i64().unwrap()
            + t["cancelled"].as_i64().unwrap();
        assert_eq!(
            parts,
            t["started"].as_i64().unwrap(),
            "{rule}: the parts make the whole"
        );
    }

    // the most overdue first: the completion (due at 30 h) before the
    // second confirmation (due at 48 h), with who holds them
    let overdue: Vec<(String, i64)> = r.body["most_overdue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["rule"].as_str().unwrap().starts_with("repair."))
        .map(|o| {
            (
                o["rule"].as_str().unwrap().to_string(),
                o["overdue_secs"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        overdue,
        vec![
            ("repair.complete".to_string(), 20 * H),
            ("repair.confirm".to_string(), 2 * H)
        ]
    );
    let complete = r.body["most_overdue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "repair.complete")
        .unwrap();
    assert_eq!(complete["branch"]["id"], b.org.east);
    assert!(complete["holder_user_id"].is_i64(), "held by the lead");

    // a branch reads its own rows only, and the same figures
    let r = app
        .get("/api/v1/reports/deadlines?year=2026", &b.north_engineer)
        .await;
    r.expect(200);
    assert!(r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["branch"]["id"] == b.org.north));
    let respond = rule_rows(&r.body["totals"], "repair.respond")[0].clone();
    assert_eq!(picked(&respond), figures(&respond, 1, 1, 0, 0, 0));
    // the group narrowed to the east branch, and to its project
    for query in [
        format!("branch_id={}", b.org.east),
        format!("project_department_id={}", b.org.east_pd),
        format!("project_id={}", b.east_project),
    ] {
        let r = app
            .get(
                &format!("/api/v1/reports/deadlines?year=2026&{query}"),
                &b.admin,
            )
            .await;
        r.expect(200);
        let respond = rule_rows(&r.body["totals"], "repair.respond")[0].clone();
        assert_eq!(
            picked(&respond),
            figures(&respond, 2, 1, 1, 0, 0),
            "{query}"
        );
    }
    // the period: nothing started in February
    let r = app
        .get("/api/v1/reports/deadlines?year=2026&month=2", &b.admin)
        .await;
    assert_eq!(r.body["rows"], json!([]));
    assert_eq!(
        r.body["period"],
        json!({"from": "2026-02-01", "to": "2026-02-28"})
    );
    let _ = (&b.east_engineer, &b.east_pm, &b.north_pm);
}

#[actix_rt::test]
async fn a_report_is_read_within_the_callers_scope_only() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let b = books(&app).await;
    let path = "/api/v1/reports/deadlines?year=2026";
    app.get(path, &b.owner).await.expect(403);
    // another branch's unit or project is not found
    app.get(
        &format!("{path}&branch_id={}", b.org.east),
        &b.north_engineer,
    )
    .await
    .expect(404);
    app.get(
        &format!("{path}&project_id={}", b.east_project),
        &b.north_pm,
    )
    .await
    .expect(404);
    // a project department reads its own clocks
    let r = app.get(path, &b.east_pm).await;
    r.expect(200);
    assert!(r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["branch"]["id"] == b.org.east));
    // a unit of the wrong kind names the field
    let r = app
        .get(&format!("{path}&branch_id={}", b.org.east_pd), &b.admin)
        .await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["branch_id"]);
}

#[actix_rt::test]
async fn a_report_period_is_named_once_and_whole() {
    let app = spawn().await;
    let admin = app.admin().await;
    for (query, field) in [
        ("from=2026-01-01", "to"),
        ("to=2026-01-31", "from"),
        ("from=2026-02-01&to=2026-01-31", "to"),
        ("from=2026-01-01&to=2026-01-31&year=2026", "year"),
        ("quarter=2", "year"),
        ("year=2026&quarter=2&month=4", "month"),
        ("year=2026&quarter=5", "quarter"),
        ("year=2026&month=13", "month"),
    ] {
        let r = app
            .get(&format!("/api/v1/reports/deadlines?{query}"), &admin)
            .await;
        r.expect(422);
        assert_eq!(r.fields(), vec![field], "{query}");
    }
    for (query, from, to) in [
        ("year=2026&quarter=4", "2026-10-01", "2026-12-31"),
        ("year=2024&month=2", "2024-02-01", "2024-02-29"),
        ("from=2026-03-05&to=2026-03-05", "2026-03-05", "2026-03-05"),
        ("", "2026-01-01", "2026-12-31"),
    ] {
        let r = app
            .get(&format!("/api/v1/reports/deadlines?{query}"), &admin)
            .await;
        r.expect(200);
        assert_eq!(r.body["period"], json!({"from": from, "to": to}), "{query}");
    }
}

/// A cell of a CSV or workbook as the JSON value it shows.
fn as_json(text: &str, like: &Value) -> Value {
    match like {
        Value::Null if text.is_empty() => Value::Null,
        Value::Number(n) if n.is_i64() => json!(text.parse::<i64>().unwrap()),
        Value::Number(_) => json!(text.parse::<f64>().unwrap()),
        _ => json!(text),
    }
}

#[actix_rt::test]
async fn the_deadline_report_as_csv_and_as_a_workbook_equals_its_json() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let b = books(&app).await;
    let json = app
        .get("/api/v1/reports/deadlines?year=2026", &b.admin)
        .await;
    let rows: Vec<Value> = json.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain(json.body["totals"].as_array().unwrap())
        .cloned()
        .collect();
    let numbers = [
        "started",
        "met",
        "met_late",
        "overdue",
        "open",
        "cancelled",
        "due",
        "on_time_rate",
        "time_on_hold_secs",
        "median_secs",
        "p90_secs",
    ];

    // CSV, chosen by Accept: a BOM, Chinese headings with the field beneath
    let (r, bytes) = app
        .get_raw(
            "/api/v1/reports/deadlines?year=2026",
            &b.admin,
            &[("Accept", "text/csv")],
        )
        .await;
    r.expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("deadlines-2026-01-01-2026-12-31.csv"));
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers[1], "时限规则\nrule");
    let fields: Vec<String> = headers
        .iter()
        .map(|h| h.rsplit('\n').next().unwrap().to_string())
        .collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(&rows) {
        for field in numbers.iter().chain(&["rule"]) {
            let at = fields.iter().position(|f| f == field).unwrap();
            assert_eq!(as_json(&record[at], &row[*field]), row[*field], "{field}");
        }
    }
    // English headings: the field names
    let (_, bytes) = app
        .get_raw(
            "/api/v1/reports/deadlines?year=2026&format=csv&lang=en&section=most_overdue",
            &b.admin,
            &[],
        )
        .await;
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "deadline_id");
    assert_eq!(
        reader.records().count(),
        json.body["most_overdue"].as_array().unwrap().len()
    );

    // the workbook: a sheet per section, typed cells
    let (r, bytes) = app
        .get_raw(
            "/api/v1/reports/deadlines?year=2026&format=xlsx",
            &b.admin,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    use calamine::{Data, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec!["时限执行", "逾期最久"]);
    let sheet = book.worksheet_range("时限执行").unwrap();
    let mut lines = sheet.rows();
    let fields: Vec<String> = lines
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string().rsplit('\n').next().unwrap().to_string())
        .collect();
    let lines: Vec<&[Data]> = lines.collect();
    assert_eq!(lines.len(), rows.len());
    for (line, row) in lines.iter().zip(&rows) {
        for field in numbers {
            let at = fields.iter().position(|f| f == field).unwrap();
            let cell = match &line[at] {
                Data::Empty => Value::Null,
                Data::Float(x) if field.ends_with("_secs") => json!((x * 86_400.0).round() as i64),
                Data::DateTime(d) if field.ends_with("_secs") => {
                    json!((d.as_f64() * 86_400.0).round() as i64)
                }
                Data::Float(x) if field == "on_time_rate" => json!(x),
                Data::Float(x) => json!(*x as i64),
                Data::Int(n) => json!(n),
                other => panic!("{field}: {other:?}"),
            };
            assert_eq!(cell, row[field], "{field}");
        }
    }
}

async fn ranked<S, B>(app: &TestApp<S>, admin: &str, name: &str, role: &str, unit: i64) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.post(
        "/api/v1/users",
        admin,
        json!({"username": name, "display_name": name, "role": role, "org_unit_id": unit,
               "rank": "manager", "password": PASSWORD}),
    )
    .await
    .expect(201);
    app.token(name, PASSWORD).await
}

async fn graded<S, B>(app: &TestApp<S>, admin: &str, name: &str, branch: i64) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let id = app.customer(admin, name, branch).await;
    app.post(
        &format!("/api/v1/customers/{id}/gradings"),
        admin,
        json!({"operating_score": 95, "payment_score": 95, "cooperation_score": 95}),
    )
    .await
    .expect(201);
    id
}

fn day(v: &Value) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// 15:00 in Shanghai on `day`.
fn afternoon(day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.from_utc_datetime(&day.and_hms_opt(7, 0, 0).unwrap())
}

#[actix_rt::test]
async fn the_four_indicators_count_plans_visits_and_complaints_exactly() {
    use chrono::TimeZone;
    let app = spawn_with(|c| c.access_token_ttl_secs = 800 * 86_400).await;
    let app = &app;
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2026, 3, 20, 1, 0, 0).unwrap());
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let group = ranked(app, &admin, "group.engineer", "group_engineer", org.group).await;
    let engineer = ranked(app, &admin, "east.engineer", "branch_engineer", org.east).await;
    let pm = ranked(app, &admin, "east.pm", "project_manager", org.east_pd).await;
    let north_engineer = ranked(app, &admin, "north.engineer", "branch_engineer", org.north).await;
    let north_pm = ranked(app, &admin, "north.pm", "project_manager", org.north_pd).await;
    let east_owner = graded(app, &admin, "East Owner", org.east).await;
    let north_owner = graded(app, &admin, "North Owner", org.north).await;
    let id = |v: Value| v["id"].as_i64().unwrap();
    let p1 = id(app
        .project(&pm, "HD-2026-001", org.east_pd, east_owner)
        .await);
    // a temporary building long out of warranty
    let r = app
        .post(
            "/api/v1/projects",
            &pm,
            json!({"code": "HD-2014-001", "name": "Site office", "address": "1 River Road",
                   "project_department_id": org.east_pd, "customer_id": east_owner,
                   "completion_accepted_on": "2014-01-01", "handover_on": "2014-01-01",
                   "design_service_life_years": 5}),
        )
        .await;
    r.expect(201);
    let p3 = id(r.body.clone());
    let terms = app
        .get(&format!("/api/v1/projects/{p3}/warranty-terms"), &pm)
        .await;
    assert!(terms
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|t| day(&t["ends_on"]) < chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
    let p4 = id(app
        .project(&north_pm, "HB-2026-001", org.north_pd, north_owner)
        .await);

    // the east branch's plan for 2026, approved by the group: it covers p1
    let r = app
        .post(
            "/api/v1/visit-plans",
            &engineer,
            json!({"level": "branch", "org_unit_id": org.east, "year": 2026, "generate": true}),
        )
        .await;
    r.expect(201);
    let branch_plan = id(r.body.clone());
    app.post(
        &format!("/api/v1/visit-plans/{branch_plan}/submission"),
        &engineer,
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/visit-plans/{branch_plan}/review"),
            &group,
            json!({"decision": "approve"}),
        )
        .await;
    r.expect(200);
    let branch_items: Vec<chrono::NaiveDate> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["project_id"], p1);
            day(&i["planned_on"])
        })
        .collect();
    assert!(!branch_items.is_empty());
    // p2 comes after the branch plan: under warranty, not in it
    let p2 = id(app
        .project(&pm, "HD-2026-002", org.east_pd, east_owner)
        .await);

    // May's project plan, approved by the branch: an item for p1 and p2
    let r = app
        .post(
            "/api/v1/visit-plans",
            &pm,
            json!({"level": "project", "org_unit_id": org.east_pd, "year": 2026, "month": 5, "generate": true}),
        )
        .await;
    r.expect(201);
    let may = id(r.body.clone());
    let mut may_items = r.body["items"].as_array().unwrap().clone();
    let mut projects: Vec<i64> = may_items
        .iter()
        .map(|i| i["project_id"].as_i64().unwrap())
        .collect();
    projects.sort();
    assert_eq!(projects, vec![p1, p2]);
    app.post(
        &format!("/api/v1/visit-plans/{may}/submission"),
        &pm,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visit-plans/{may}/review"),
        &engineer,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);

    // complaints, received today: four east (three on p1), two north
    let complaint = |token: &str, project: i64, extra: Value| {
        let token = token.to_string();
        let mut body = json!({
            "project_id": project, "received_at": app.clock.now().to_rfc3339(), "category": "warranty",
            "channel": "phone", "complainant_name": "王先生", "complainant_phone": "13800138000",
            "description": "卫生间漏水 the bathroom leaks"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        async move {
            let r = app.post("/api/v1/complaints", &token, body).await;
            r.expect(201);
            r.body["id"].as_i64().unwrap()
        }
    };
    let c1 = complaint(&engineer, p1, json!({})).await;
    let c2 = complaint(&engineer, p1, json!({"repeat_of": c1})).await;
    let c3 = complaint(&engineer, p1, json!({})).await;
    complaint(&engineer, p2, json!({})).await;
    complaint(&north_engineer, p4, json!({})).await;
    complaint(&north_engineer, p4, json!({})).await;
    let step = |c: i64, tail: &str, token: &str, body: Value| {
        let (path, token) = (format!("/api/v1/complaints/{c}/{tail}"), token.to_string());
        async move { app.post(&path, &token, body).await.expect(200).body.clone() }
    };
    let minor = json!({"liability": "ours", "severity": "minor", "reasoning": "our waterproofing"});
    let resolved = json!({"summary": "redone"});
    // c1: satisfied at once; c2: dissatisfied, handled again, then satisfied
    step(c1, "judgment", &engineer, minor.clone()).await;
    step(c1, "resolution", &pm, resolved.clone()).await;
    step(
        c1,
        "evaluation",
        &engineer,
        json!({"rating": "very_satisfied", "method": "phone"}),
    )
    .await;
    step(c2, "judgment", &engineer, minor.clone()).await;
    step(c2, "resolution", &pm, resolved.clone()).await;
    let r = step(
        c2,
        "evaluation",
        &engineer,
        json!({"rating": "dissatisfied", "method": "phone"}),
    )
    .await;
    assert_eq!(r["status"], "handling");
    step(c2, "resolution", &pm, resolved.clone()).await;
    step(
        c2,
        "evaluation",
        &engineer,
        json!({"rating": "basically_satisfied", "method": "visit"}),
    )
    .await;
    // c3: not ours, closed with the reply
    step(
        c3,
        "judgment",
        &engineer,
        json!({"liability": "not_ours", "reasoning": "owner's alteration",
               "reply": {"method": "email", "sent_at": app.clock.now().to_rfc3339(), "text": "not ours"}}),
    )
    .await;

    // May: p1's item visited on its day; the other a day after its own
    may_items.sort_by_key(|i| day(&i["planned_on"]));
    let (first, second) = (may_items[0].clone(), may_items[1].clone());
    assert!(day(&second["planned_on"]) < chrono::NaiveDate::from_ymd_opt(2026, 5, 31).unwrap());
    let visit = |item: &Value, at: chrono::DateTime<chrono::Utc>, extra: Value| {
        let mut body = json!({"project_id": item["project_id"], "kind": item["kind"], "method": item["method"],
            "visited_at": at.to_rfc3339(), "outcome": "completed", "owner_phone": "13800138000",
            "findings": "fine", "plan_item_id": item["id"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let on_day = afternoon(day(&first["planned_on"]));
    app.clock.set(on_day + Duration::hours(1));
    app.post("/api/v1/visits", &pm, visit(&first, on_day, json!({})))
        .await
        .expect(201);
    let late = afternoon(day(&second["planned_on"]).succ_opt().unwrap());
    app.clock.set(late + Duration::hours(1));
    let r = app
        .post(
            "/api/v1/visits",
            &pm,
            visit(
                &second,
                late,
                json!({"late_reason": "业主改约 the owner moved the date"}),
            ),
        )
        .await;
    r.expect(201);
    // the report is read on 15 June
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2026, 6, 15, 1, 0, 0).unwrap());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();

    let r = app.get("/api/v1/reports/kpis?year=2026", &admin).await;
    r.expect(200);
    let k = &r.body;
    let row = |section: &str, branch: i64| -> Vec<Value> {
        k[section]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["branch"]["id"] == branch)
            .cloned()
            .collect()
    };
    // compilation for the year: east 1 of 2 (p3 out of warranty), north 0 of 1
    let east = &row("plan_compilation", org.east)[0];
    assert_eq!(
        (
            east["projects_under_warranty"].clone(),
            east["covered_by_branch_plan"].clone(),
            east["rate"].clone()
        ),
        (json!(2), json!(1), json!(0.5))
    );
    let north = &row("plan_compilation", org.north)[0];
    assert_eq!(
        (
            north["projects_under_warranty"].clone(),
            north["covered_by_branch_plan"].clone(),
            north["rate"].clone()
        ),
        (json!(1), json!(0), json!(0.0))
    );
    // month by month: from the month warranty began, May covered for both
    let first_month = {
        let terms = app
            .get(&format!("/api/v1/projects/{p1}/warranty-terms"), &pm)
            .await;
        terms
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| day(&t["starts_on"]))
            .min()
            .unwrap()
    };
    use chrono::Datelike;
    let months: Vec<(i64, i64, i64, i64)> = row("plan_compilation_monthly", org.east)
        .iter()
        .map(|m| {
            (
                m["month"].as_i64().unwrap(),
                m["projects_under_warranty"].as_i64().unwrap(),
                m["covered_by_project_plan"].as_i64().unwrap(),
                m["year"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(i64, i64, i64, i64)> = (first_month.month() as i64..=12)
        .map(|m| (m, 2, if m == 5 { 2 } else { 0 }, 2026))
        .collect();
    assert_eq!(months, expected);
    assert!(row("plan_compilation_monthly", org.north)
        .iter()
        .all(|m| m["projects_under_warranty"] == 1 && m["covered_by_project_plan"] == 0));

    // execution: the branch plan's items and May's two
    let passed = branch_items.iter().filter(|d| **d < today).count() as i64;
    let east = &row("visit_execution", org.east)[0];
    let items = branch_items.len() as i64 + 2;
    assert_eq!(
        east,
        &json!({"branch": {"id": org.east, "name": "East Branch"}, "items": items,
                "done_on_time": 1, "done_late": 1, "not_done": passed, "replanned": 0,
                "upcoming": items - 2 - passed, "due": 2 + passed,
                "rate": 1.0 / (2 + passed) as f64})
    );
    assert!(row("visit_execution", org.north).is_empty());

    // most complaints: the east owner 4, p1 3
    let most = &k["most_complaints"];
    assert_eq!(most["max_per_customer"], 4);
    assert_eq!(most["max_per_project"], 3);
    let pairs = |list: &Value| -> Vec<(i64, i64, i64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_i64().unwrap(),
                    c["complaints"].as_i64().unwrap(),
                    c["repeats"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // repeats: c2 named as one, c3 and the second north one found (same
    // project and category, the earlier not yet closed satisfied)
    assert_eq!(
        pairs(&most["by_customer"]),
        vec![(east_owner, 4, 2), (north_owner, 2, 1)]
    );
    assert_eq!(
        pairs(&most["by_project"]),
        vec![(p1, 3, 2), (p4, 2, 1), (p2, 1, 0)]
    );

    // satisfaction: three evaluations, two satisfied; first round 1 of 2,
    // after re-work 1 of 1; one closed as not ours apart
    let east = &row("complaint_satisfaction", org.east)[0];
    assert_eq!(
        east,
        &json!({"branch": {"id": org.east, "name": "East Branch"}, "evaluations": 3, "satisfied": 2,
                "rate": 2.0 / 3.0, "first_round": 2, "first_round_satisfied": 1, "first_round_rate": 0.5,
                "after_rework": 1, "after_rework_satisfied": 1, "after_rework_rate": 1.0,
                "closed_not_ours": 1})
    );
    assert!(row("complaint_satisfaction", org.north).is_empty());

    // the compile clocks are the deadline report's
    let d = app.get("/api/v1/reports/deadlines?year=2026", &admin).await;
    let compile: Vec<&Value> = d.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["rule"]
                .as_str()
                .unwrap()
                .starts_with("visit_plan.compile")
        })
        .collect();
    assert_eq!(
        k["compile_clocks"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        compile
    );

    // a branch reads its own; a quarter narrows the period
    let r = app
        .get("/api/v1/reports/kpis?year=2026", &north_engineer)
        .await;
    assert_eq!(r.body["most_complaints"]["max_per_customer"], 2);
    assert!(r.body["plan_compilation"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["branch"]["id"] == org.north));
    let r = app
        .get("/api/v1/reports/kpis?year=2026&quarter=3", &admin)
        .await;
    assert_eq!(r.body["most_complaints"]["max_per_customer"], 0);
    assert_eq!(r.body["complaint_satisfaction"], json!([]));

    // the workbook has a sheet per section, and the CSV of one equals it
    let (r, bytes) = app
        .get_raw(
            "/api/v1/reports/kpis?year=2026&format=xlsx&lang=en",
            &admin,
            &[],
        )
        .await;
    r.expect(200);
    use calamine::Reader as _;
    let book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec![
            "plan_compilation",
            "plan_compilation_monthly",
            "visit_execution",
            "complaints_by_customer",
            "complaints_by_project",
            "complaint_satisfaction"
        ]
    );
    let (_, bytes) = app
        .get_raw(
            "/api/v1/reports/kpis?year=2026&format=csv&lang=en&section=complaints_by_project",
            &admin,
            &[],
        )
        .await;
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<(i64, i64, i64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].parse().unwrap(),
                r[3].parse().unwrap(),
                r[4].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, pairs(&most["by_project"]));
    let _ = (p3, c2);
}

#[actix_rt::test]
async fn the_repeat_statistics_count_failed_visits_repeat_complaints_and_third_repairs() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let app = &app;
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let engineer = ranked(app, &admin, "east.engineer", "branch_engineer", org.east).await;
    let pm = ranked(app, &admin, "east.pm", "project_manager", org.east_pd).await;
    let north_pm = ranked(app, &admin, "north.pm", "project_manager", org.north_pd).await;
    let east_owner = graded(app, &admin, "East Owner", org.east).await;
    let north_owner = graded(app, &admin, "North Owner", org.north).await;
    let id = |v: Value| v["id"].as_i64().unwrap();
    let p = id(app
        .project_handed_over(&pm, "HD-2024-001", org.east_pd, east_owner, "2024-06-01")
        .await);
    let q = id(app
        .project_handed_over(
            &north_pm,
            "HB-2024-001",
            org.north_pd,
            north_owner,
            "2024-06-01",
        )
        .await);
    let post = |path: &'static str, token: &str, body: Value| {
        let token = token.to_string();
        async move {
            let r = app.post(path, &token, body).await;
            r.expect(201);
            r.body["id"].as_i64().unwrap()
        }
    };
    let now = || app.clock.now().to_rfc3339();
    let visit = |project: i64, failed: bool| {
        let mut body = json!({"project_id": project, "kind": "routine", "method": "phone",
            "visited_at": now(), "outcome": "completed", "owner_phone": "13800138000", "findings": "fine"});
        if failed {
            body["outcome"] = json!("contact_failed");
            body["owner_phone"] = Value::Null;
            body["findings"] = json!("电话无人接听");
            body["contact_failed_reason"] = json!("电话无人接听 no answer");
        }
        body
    };
    let failed = post("/api/v1/visits", &pm, visit(p, true)).await;
    post("/api/v1/visits", &pm, visit(p, false)).await;
    post("/api/v1/visits", &north_pm, visit(q, false)).await;
    let complaint = json!({"project_id": p, "received_at": now(), "category": "warranty",
        "channel": "phone", "complainant_name": "王先生", "complainant_phone": "13800138000",
        "description": "卫生间漏水 the bathroom leaks"});
    let first = post("/api/v1/complaints", &engineer, complaint.clone()).await;
    let again = post("/api/v1/complaints", &engineer, complaint).await;
    let mut repairs = vec![];
    for _ in 0..3 {
        repairs.push(post("/api/v1/repairs", &pm, repair(p, app.clock.now(), "normal")).await);
    }
    app.clock.advance(Duration::hours(1));

    let r = app
        .get("/api/v1/reports/repeats?year=2026&quarter=1", &admin)
        .await;
    r.expect(200);
    assert_eq!(
        r.body["counts"],
        json!([
            {"branch": {"id": org.east, "name": "East Branch"}, "failed_visits": 1, "visits": 2,
             "repeat_complaints": 1, "complaints": 2, "repeat_repairs": 1, "repairs": 3},
            {"branch": {"id": org.north, "name": "North Branch"}, "failed_visits": 0, "visits": 1,
             "repeat_complaints": 0, "complaints": 0, "repeat_repairs": 0, "repairs": 0}
        ])
    );
    let ids = |list: &Value| -> Vec<(i64, Value)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| (i["id"].as_i64().unwrap(), i["repeat_of"].clone()))
            .collect()
    };
    assert_eq!(ids(&r.body["failed_visits"]), vec![(failed, Value::Null)]);
    assert_eq!(
        ids(&r.body["repeat_complaints"]),
        vec![(again, json!(first))]
    );
    assert_eq!(
        ids(&r.body["repeat_repairs"]),
        vec![(repairs[2], json!(repairs[1]))]
    );
    let item = &r.body["failed_visits"][0];
    assert_eq!(item["project_id"], p);
    assert_eq!(item["customer_id"], east_owner);
    assert_eq!(item["customer_name"], "East Owner");
    assert_eq!(item["detail"], "电话无人接听 no answer");
    // the next quarter has none; the north branch sees its own row only
    let r = app
        .get("/api/v1/reports/repeats?year=2026&quarter=2", &admin)
        .await;
    assert_eq!(r.body["counts"], json!([]));
    let north = ranked(app, &admin, "north.engineer", "branch_engineer", org.north).await;
    let r = app
        .get("/api/v1/reports/repeats?year=2026&quarter=1", &north)
        .await;
    assert_eq!(r.body["counts"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["repeat_repairs"], json!([]));
    // each list is a CSV section
    let (_, bytes) = app
        .get_raw(
            "/api/v1/reports/repeats?year=2026&quarter=1&format=csv&lang=en&section=repeat_repairs",
            &admin,
            &[],
        )
        .await;
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<(i64, i64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].parse().unwrap(), r[7].parse().unwrap())
        })
        .collect();
    assert_eq!(rows, vec![(repairs[2], repairs[1])]);
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([20, 90, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[actix_rt::test]
async fn satisfaction_counts_the_five_levels_of_surveys_evaluations_and_sign_offs() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let app = &app;
    let admin = app.admin().await;
    let org = org(app, &admin).await;
    let engineer = ranked(app, &admin, "east.engineer", "branch_engineer", org.east).await;
    let pm = ranked(app, &admin, "east.pm", "project_manager", org.east_pd).await;
    let north_pm = ranked(app, &admin, "north.pm", "project_manager", org.north_pd).await;
    let east_owner = graded(app, &admin, "East Owner", org.east).await;
    let north_owner = graded(app, &admin, "North Owner", org.north).await;
    app.post(
        "/api/v1/users",
        &admin,
        json!({"username": "owner.east", "display_name": "Owner", "role": "customer",
               "customer_id": east_owner, "password": PASSWORD}),
    )
    .await
    .expect(201);
    let owner = app.token("owner.east", PASSWORD).await;
    let id = |v: &Value| v["id"].as_i64().unwrap();
    let p = id(&app
        .project_handed_over(&pm, "HD-2024-001", org.east_pd, east_owner, "2024-06-01")
        .await);
    let q = id(&app
        .project_handed_over(
            &north_pm,
            "HB-2024-001",
            org.north_pd,
            north_owner,
            "2024-06-01",
        )
        .await);
    let ok = |path: String, token: String, body: Value, status: u16| async move {
        let r = app.post(&path, &token, body).await;
        r.expect(status);
        r.body.clone()
    };
    let marks = |m: [i64; 10]| {
        json!({"communication": m[0], "construction_quality": m[1], "attitude": m[2],
               "problem_handling": m[3], "preparation": m[4], "schedule": m[5], "safety": m[6],
               "site_civility": m[7], "environment": m[8], "coordination": m[9]})
    };
    let surveyed = |project: i64, scores: Value, rating: &str| {
        json!({"project_id": project, "kind": "routine", "method": "onsite",
               "visited_at": app.clock.now().to_rfc3339(), "outcome": "completed",
               "people_met": [{"name": "李经理"}], "findings": "fine",
               "survey": {"scores": scores, "rating": rating}})
    };
    // surveys: east 80 everywhere (very satisfied) and the worked example
    // (73.5, somewhat dissatisfied); north 100 everywhere
    ok(
        "/api/v1/visits".into(),
        pm.clone(),
        surveyed(p, marks([80; 10]), "very_satisfied"),
        201,
    )
    .await;
    let r = ok(
        "/api/v1/visits".into(),
        pm.clone(),
        surveyed(
            p,
            marks([80, 60, 80, 30, 80, 80, 80, 80, 80, 80]),
            "somewhat_dissatisfied",
        ),
        201,
    )
    .await;
    assert_eq!(r["survey"]["weighted_score"], 73.5);
    ok(
        "/api/v1/visits".into(),
        north_pm.clone(),
        surveyed(q, marks([100; 10]), "very_satisfied"),
        201,
    )
    .await;
    // a complaint handled and evaluated fairly satisfied
    let c = ok(
        "/api/v1/complaints".into(),
        engineer.clone(),
        json!({"project_id": p, "received_at": app.clock.now().to_rfc3339(), "category": "warranty",
               "channel": "phone", "complainant_name": "王先生", "complainant_phone": "13800138000",
               "description": "卫生间漏水 the bathroom leaks"}),
        201,
    )
    .await;
    let c = format!("/api/v1/complaints/{}", id(&c));
    ok(
        format!("{c}/judgment"),
        engineer.clone(),
        json!({"liability": "ours", "severity": "minor", "reasoning": "our waterproofing"}),
        200,
    )
    .await;
    ok(
        format!("{c}/resolution"),
        pm.clone(),
        json!({"summary": "redone"}),
        200,
    )
    .await;
    ok(
        format!("{c}/evaluation"),
        engineer.clone(),
        json!({"rating": "fairly_satisfied", "method": "phone"}),
        200,
    )
    .await;
    // a repair signed off in the app, basically satisfied
    let r = ok(
        "/api/v1/repairs".into(),
        pm.clone(),
        repair(p, app.clock.now(), "normal"),
        201,
    )
    .await;
    let step = |tail: &str| format!("/api/v1/repairs/{}/{tail}", id(&r));
    ok(step("confirmation"), pm.clone(), defect(), 200).await;
    ok(
        step("dispatch"),
        engineer.clone(),
        json!({"crew": "维修班 2 人"}),
        200,
    )
    .await;
    let photo = app.upload(&pm, "after.png", &png()).await;
    photo.expect(201);
    ok(
        step("completion"),
        pm.clone(),
        json!({"work_done": "重做防水 redone", "labour_hours": 4, "cost_lines": [],
               "attachment_ids": [photo.body["id"]]}),
        200,
    )
    .await;
    ok(
        step("inspection"),
        engineer.clone(),
        json!({"result": "pass"}),
        200,
    )
    .await;
    ok(
        step("acceptance"),
        owner.clone(),
        json!({"decision": "accepted", "rating": "basically_satisfied"}),
        200,
    )
    .await;

    let r = app
        .get("/api/v1/reports/satisfaction?year=2026", &admin)
        .await;
    r.expect(200);
    let levels = |v: [i64; 5]| {
        let answers: i64 = v.iter().sum();
        let satisfied = v[0] + v[1] + v[2];
        json!({"very_satisfied": v[0], "fairly_satisfied": v[1], "basically_satisfied": v[2],
               "somewhat_dissatisfied": v[3], "dissatisfied": v[4], "answers": answers,
               "satisfied": satisfied, "rate": satisfied as f64 / answers as f64})
    };
    let with = |mut base: Value, levels: Value| {
        for (k, v) in levels.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    let east = json!({"id": org.east, "name": "East Branch"});
    let north = json!({"id": org.north, "name": "North Branch"});
    assert_eq!(
        r.body["by_source"],
        json!([
            with(
                json!({"branch": east, "source": "complaint_evaluation"}),
                levels([0, 1, 0, 0, 0])
            ),
            with(
                json!({"branch": east, "source": "repair_acceptance"}),
                levels([0, 0, 1, 0, 0])
            ),
            with(
                json!({"branch": east, "source": "visit_survey"}),
                levels([1, 0, 0, 1, 0])
            ),
            with(
                json!({"branch": north, "source": "visit_survey"}),
                levels([1, 0, 0, 0, 0])
            ),
        ])
    );
    assert_eq!(
        r.body["factors"],
        json!([
            {"branch": east, "surveys": 2, "communication": 80.0, "construction_quality": 70.0,
             "attitude": 80.0, "problem_handling": 55.0, "preparation": 80.0, "schedule": 80.0,
             "safety": 80.0, "site_civility": 80.0, "environment": 80.0, "coordination": 80.0,
             "weighted_score": 76.75},
            {"branch": north, "surveys": 1, "communication": 100.0, "construction_quality": 100.0,
             "attitude": 100.0, "problem_handling": 100.0, "preparation": 100.0, "schedule": 100.0,
             "safety": 100.0, "site_civility": 100.0, "environment": 100.0, "coordination": 100.0,
             "weighted_score": 100.0}
        ])
    );
    // by project, the lowest rate first; by month in company time
    assert_eq!(
        r.body["by_project"],
        json!([
            with(
                json!({"project_id": p, "project_name": "Project HD-2024-001", "branch": east}),
                levels([1, 1, 1, 1, 0])
            ),
            with(
                json!({"project_id": q, "project_name": "Project HB-2024-001", "branch": north}),
                levels([1, 0, 0, 0, 0])
            ),
        ])
    );
    assert_eq!(
        r.body["by_month"],
        json!([
            with(
                json!({"branch": east, "year": 2026, "month": 3}),
                levels([1, 1, 1, 1, 0])
            ),
            with(
                json!({"branch": north, "year": 2026, "month": 3}),
                levels([1, 0, 0, 0, 0])
            ),
        ])
    );
    // a branch reads its own
    let north_engineer = ranked(app, &admin, "north.engineer", "branch_engineer", org.north).await;
    let r = app
        .get("/api/v1/reports/satisfaction?year=2026", &north_engineer)
        .await;
    assert_eq!(r.body["by_project"].as_array().unwrap().len(), 1);
    // the workbook's factor sheet holds the averages
    let (_, bytes) = app
        .get_raw(
            "/api/v1/reports/satisfaction?year=2026&format=xlsx&lang=en",
            &admin,
            &[],
        )
        .await;
    use calamine::Reader as _;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("factors").unwrap();
    let first: Vec<String> = sheet
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(first[0], "East Branch");
    assert_eq!(first[12], "76.75");
}

#[actix_rt::test]
async fn the_annual_summary_adds_up_the_years_figures_with_corrective_actions_and_accountability() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let b = books(&app).await;
    // March: an east schedule complaint found true, evaluated dissatisfied
    let c = app
        .post(
            "/api/v1/complaints",
            &b.east_engineer,
            json!({"project_id": b.east_project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "schedule", "channel": "phone", "complainant_name": "王先生",
                   "complainant_phone": "13800138000", "description": "工期延误 late"}),
        )
        .await;
    c.expect(201);
    let c = c.body["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/complaints/{c}/judgment"),
        &b.east_engineer,
        json!({"liability": "ours", "severity": "minor", "reasoning": "our schedule"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/complaints/{c}/resolution"),
        &b.east_pm,
        json!({"summary": "赶工 caught up"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/complaints/{c}/evaluation"),
        &b.east_engineer,
        json!({"rating": "dissatisfied", "method": "visit"}),
    )
    .await
    .expect(200);
    // the project was not brought to satisfaction: a corrective action,
    // verified; accountability for the complaint, and one withdrawn
    let due = (app.clock.now() + Duration::days(20)).date_naive();
    let a = app
        .post(
            "/api/v1/corrective-actions",
            &b.east_pm,
            json!({"project_id": b.east_project, "complaint_id": c, "cause_analysis": "人手不足 short-handed",
                   "measures": "增加班组 another crew", "responsible": "李工", "due_on": due.to_string()}),
        )
        .await;
    a.expect(201);
    let a = a.body["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/corrective-actions/{a}/completion"),
        &b.east_pm,
        json!({"result": "done"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/corrective-actions/{a}/verification"),
        &b.east_engineer,
        json!({"decision": "verified"}),
    )
    .await
    .expect(200);
    let mut held = vec![];
    for measure in [
        json!({"measure": "fine", "fine_amount": 300}),
        json!({"measure": "criticism"}),
    ] {
        let mut body = json!({"complaint_id": c, "person": "王工", "reason": "属实 found true"});
        for (k, v) in measure.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app
            .post("/api/v1/accountability-records", &b.east_engineer, body)
            .await;
        r.expect(201);
        held.push(r.body["id"].as_i64().unwrap());
    }
    app.post(
        &format!("/api/v1/accountability-records/{}/withdrawal", held[1]),
        &b.east_engineer,
        json!({"reason": "重复记录 recorded twice"}),
    )
    .await
    .expect(200);

    let summary = app
        .get("/api/v1/reports/annual-summary?year=2026", &b.admin)
        .await;
    summary.expect(200);
    let s = &summary.body;
    assert_eq!(s["year"], 2026);
    let branch_row = |name: &str| -> Value {
        s["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["branch"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {name}: {s}"))
    };
    let east = branch_row("East Branch");
    let north = branch_row("North Branch");
    // its own figures, exactly
    assert_eq!(east["complaints"], 1);
    assert_eq!(north["complaints"], 0);
    assert_eq!(east["complaint_evaluations"], 1);
    assert_eq!(east["complaint_evaluations_satisfied"], 0);
    assert_eq!(east["complaint_satisfaction_rate"], 0.0);
    assert_eq!(east["answers"], 1);
    assert_eq!(east["satisfied"], 0);
    assert_eq!(east["unsatisfied_projects"], 1);
    assert_eq!(east["corrective_actions"], 1);
    assert_eq!(east["corrective_actions_verified"], 1);
    assert_eq!(east["accountability_records"], 1);
    assert_eq!(north["accountability_records"], 0);
    assert_eq!(east["repairs"], 3);
    assert_eq!(north["repairs"], 1);
    assert_eq!(east["projects_under_warranty"], 1);
    assert_eq!(east["covered_by_branch_plan"], 0);
    assert_eq!(east["plan_compilation_rate"], 0.0);
    // and the other reports' figures over the same year
    let deadlines = app
        .get("/api/v1/reports/deadlines?year=2026", &b.admin)
        .await;
    for row in [&east, &north] {
        let id = &row["branch"]["id"];
        let (due, met) = deadlines.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| &r["branch"]["id"] == id)
            .fold((0, 0), |(d, m), r| {
                (
                    d + r["due"].as_i64().unwrap(),
                    m + r["met"].as_i64().unwrap(),
                )
            });
        assert_eq!(row["clocks_due"], due);
        assert_eq!(row["clocks_met"], met);
        assert!(due > 0);
    }
    // the months: twelve a branch, the complaint in March
    let months: Vec<&Value> = s["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["branch"]["name"] == "East Branch")
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(months[2]["month"], 3);
    assert_eq!(months[2]["complaints"], 1);
    assert_eq!(months[2]["answers"], 1);
    assert_eq!(months[2]["satisfaction_rate"], 0.0);
    assert_eq!(months[3]["complaints"], 0);
    assert!(months[3]["satisfaction_rate"].is_null());
    // the unsatisfied project with its action; the action; the records
    assert_eq!(
        s["unsatisfied_projects"],
        json!([{"project_id": b.east_project, "project_name": s["unsatisfied_projects"][0]["project_name"],
                "branch": east["branch"], "answers": 1, "dissatisfied": 1,
                "corrective_actions": 1, "corrective_actions_verified": 1}])
    );
    assert_eq!(s["corrective_actions"][0]["id"], a);
    assert_eq!(s["corrective_actions"][0]["status"], "verified");
    assert_eq!(s["corrective_actions"][0]["complaint_id"], c);
    let listed: Vec<(i64, &str)> = s["accountability"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_i64().unwrap(), h["status"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, vec![(held[0], "recorded"), (held[1], "withdrawn")]);
    assert_eq!(s["accountability"][0]["fine_amount"], 300.0);

    // a branch reads its own; a customer none; the year is required
    let own = app
        .get(
            "/api/v1/reports/annual-summary?year=2026",
            &b.north_engineer,
        )
        .await;
    let names: Vec<&str> = own.body["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["branch"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["North Branch"]);
    assert!(own.body["corrective_actions"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(own.body["accountability"].as_array().unwrap().is_empty());
    app.get("/api/v1/reports/annual-summary?year=2026", &b.owner)
        .await
        .expect(403);
    app.get("/api/v1/reports/annual-summary", &b.admin)
        .await
        .expect(400);

    // the workbook: its sheets equal the JSON, and a chart per branch
    let (r, bytes) = app
        .get_raw(
            "/api/v1/reports/annual-summary?year=2026&format=xlsx",
            &b.admin,
            &[],
        )
        .await;
    r.expect(200);
    let charts = {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        (0..zip.len())
            .filter(|i| {
                zip.by_index(*i)
                    .unwrap()
                    .name()
                    .unwrap()
                    .starts_with("xl/charts/chart")
            })
            .count()
    };
    assert_eq!(charts, s["branches"].as_array().unwrap().len());
    use calamine::{Data, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec![
            "分公司汇总",
            "月度投诉与满意率",
            "未达满意工程",
            "纠正措施",
            "责任追究"
        ]
    );
    let sheet = book.worksheet_range("分公司汇总").unwrap();
    let mut lines = sheet.rows();
    let fields: Vec<String> = lines
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string().rsplit('\n').next().unwrap().to_string())
        .collect();
    let lines: Vec<&[Data]> = lines.collect();
    let rows = s["branches"].as_array().unwrap();
    assert_eq!(lines.len(), rows.len());
    for (line, row) in lines.iter().zip(rows) {
        for (at, field) in fields.iter().enumerate().skip(1) {
            let cell = match &line[at] {
                Data::Empty => Value::Null,
                Data::Float(x) if field.ends_with("_rate") => json!(x),
                Data::Float(x) => json!(*x as i64),
                other => panic!("{field}: {other:?}"),
            };
            assert_eq!(cell, row[field.as_str()], "{field}");
        }
    }
    // and as CSV, the section asked for
    let (_, bytes) = app
        .get_raw(
            "/api/v1/reports/annual-summary?year=2026&format=csv&lang=en&section=corrective_actions",
            &b.admin,
            &[],
        )
        .await;
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][0], a.to_string().as_str());
    assert_eq!(&records[0][9], "verified");
}

#[actix_rt::test]
async fn the_registers_stream_every_record_of_the_area_as_json_csv_and_a_workbook() {
    let app = spawn_with(|c| c.access_token_ttl_secs = 30 * 86_400).await;
    let b = books(&app).await;
    let c = app
        .post(
            "/api/v1/complaints",
            &b.east_engineer,
            json!({"project_id": b.east_project, "received_at": app.clock.now().to_rfc3339(),
                   "category": "warranty", "channel": "phone", "complainant_name": "王先生",
                   "complainant_phone": "13800138000", "description": "渗水, \"again\"\nsecond line"}),
        )
        .await;
    c.expect(201);
    // more than a page of bare rows behind it
    let customer = c.body["customer_id"].as_i64().unwrap();
    app.seed_complaints(customer, b.east_project, 1_200, app.clock.now_naive())
        .await;
    let all = app.get("/api/v1/registers/complaints", &b.admin).await;
    all.expect(200);
    let rows = all.body.as_array().unwrap();
    assert_eq!(rows.len(), 1_201);
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order, once each"
    );
    let first = &rows[0];
    assert_eq!(first["description"], "渗水, \"again\"\nsecond line");
    assert_eq!(first["category"], "warranty");
    assert_eq!(first["branch"], "East Branch");
    assert_eq!(first["sent_to_group"], "no");
    // company time, with its offset
    assert!(
        first["received_at"].as_str().unwrap().ends_with("+08:00"),
        "{first}"
    );

    // CSV: the same rows, quoting done right
    let (r, bytes) = app
        .get_raw("/api/v1/registers/complaints?format=csv", &b.admin, &[])
        .await;
    r.expect(200);
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("complaints.csv"));
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "编号\nid");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1_201);
    assert_eq!(&records[0][0], ids[0].to_string().as_str());
    assert_eq!(&records[0][10], "渗水, \"again\"\nsecond line");
    assert_eq!(&records[1_200][0], ids[1_200].to_string().as_str());

    // the workbook, written a page at a time
    let (r, bytes) = app
        .get_raw(
            "/api/v1/registers/complaints?format=xlsx&lang=en",
            &b.admin,
            &[],
        )
        .await;
    r.expect(200);
    use calamine::{Data, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec!["complaints"]);
    let sheet = book.worksheet_range("complaints").unwrap();
    let lines: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(lines.len(), 1_202);
    assert_eq!(lines[0][0].to_string(), "id");
    assert_eq!(lines[1][0], Data::Float(ids[0] as f64));
    assert_eq!(lines[1][10].to_string(), "渗水, \"again\"\nsecond line");
    assert_eq!(lines[1_201][0], Data::Float(ids[1_200] as f64));

    // the area and the filters
    let count = |path: String, token: String| {
        let app = &app;
        async move {
            let r = app.get(&path, &token).await;
            r.expect(200);
            r.body.as_array().unwrap().len()
        }
    };
    assert_eq!(
        count("/api/v1/registers/repairs".into(), b.east_engineer.clone()).await,
        3
    );
    assert_eq!(
        count("/api/v1/registers/repairs".into(), b.north_engineer.clone()).await,
        1
    );
    assert_eq!(
        count(
            "/api/v1/registers/repairs?status=closed_not_a_defect".into(),
            b.admin.clone()
        )
        .await,
        1
    );
    assert_eq!(
        count(
            "/api/v1/registers/complaints".into(),
            b.north_engineer.clone()
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "/api/v1/registers/complaints?from=2027-01-01".into(),
            b.admin.clone()
        )
        .await,
        0
    );
    assert_eq!(
        count("/api/v1/registers/ledger".into(), b.admin.clone()).await,
        2
    );
    assert_eq!(
        count(
            format!("/api/v1/registers/ledger?project_id={}", b.east_project),
            b.east_engineer.clone()
        )
        .await,
        1
    );
    assert_eq!(
        count(
            "/api/v1/registers/ledger?from=2024-06-01&to=2024-06-01".into(),
            b.admin.clone()
        )
        .await,
        2
    );
    assert_eq!(
        count(
            "/api/v1/registers/ledger?to=2024-05-31".into(),
            b.admin.clone()
        )
        .await,
        0
    );
    assert_eq!(
        count("/api/v1/registers/visits".into(), b.admin.clone()).await,
        0
    );
    let ledger = app
        .get("/api/v1/registers/ledger?limit_is_not_a_filter=1", &b.admin)
        .await;
    ledger.expect(400);
    let ledger = app.get("/api/v1/registers/ledger", &b.east_engineer).await;
    assert_eq!(ledger.body[0]["handover_on"], "2024-06-01");
    assert_eq!(ledger.body[0]["branch"], "East Branch");
    app.get("/api/v1/registers/complaints?status=bogus", &b.admin)
        .await
        .expect_problem(422, "validation_failed");
    app.get(
        "/api/v1/registers/complaints?from=2026-05-01&to=2026-04-01",
        &b.admin,
    )
    .await
    .expect(422);
    app.get("/api/v1/registers/complaints", &b.owner)
        .await
        .expect(403);
    app.get(
        &format!("/api/v1/registers/complaints?project_id={}", b.east_project),
        &b.north_engineer,
    )
    .await
    .expect(404);
}
