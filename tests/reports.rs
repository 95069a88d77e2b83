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
