//! `/api/v1/registers/{register}`: the paper registers as files, streamed a
//! page at a time (memory flat whatever the size).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

use super::export::{self, Headings, ReportFormat};
use super::extract::ValidQuery;
use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::services::registers::{self, Register, RegisterFilter, PAGE};
use crate::services::reports::{self, AreaInput};
use crate::AppState;

/// The part of the company, the days, the state and the format of a register.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// From this day of the register's date (company time): the handover
    /// for the ledger, the receipt for complaints, the visit, the report of
    /// a repair.
    #[validate(custom(function = "crate::kit::plausible_date"))]
    pub from: Option<NaiveDate>,
    /// To this day, included.
    #[validate(custom(function = "crate::kit::plausible_date"))]
    pub to: Option<NaiveDate>,
    /// Only this branch (in your scope).
    pub branch_id: Option<i64>,
    /// Only this project department (in your scope).
    pub project_department_id: Option<i64>,
    /// Only this project (in your scope).
    pub project_id: Option<i64>,
    /// Only records in this state (the ledger's `ledger_status`, a
    /// complaint's, a visit's or a repair's `status`).
    #[validate(length(min = 1, max = 40))]
    #[param(min_length = 1, max_length = 40)]
    pub status: Option<String>,
    /// `json` (default: an array of rows), `csv` or `xlsx`; wins over `Accept`.
    pub format: Option<ReportFormat>,
    /// Headings of the CSV and workbook: `zh` (default) or `en`.
    pub lang: Option<Headings>,
}

type Chunk = Result<web::Bytes, actix_web::Error>;

/// A register
///
/// The records of your area in id order, with the columns of the paper
/// form: `ledger` (竣工工程信息台账, appendix C: the project, its units,
/// dates and ledger contacts), `complaints` (投诉台账), `visits` (回访记录,
/// appendix D, with the plan item's day), `repairs` (维修记录, 表3.3.2). As
/// JSON (an array of rows keyed by the field names), CSV (BOM, Chinese
/// headings with the field beneath) or an Excel workbook; any size is
/// written a page at a time. Staff only (customer accounts 403).
#[utoipa::path(get, path = "/api/v1/registers/{register}", tag = "reports", operation_id = "register_export",
    params(("register" = Register, Path, description = "Which register"), RegisterQuery),
    responses(
        (status = 200, description = "The register, as asked for",
            content((Vec<super::JsonObject> = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 403, description = "Customer accounts read no registers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A state the register has not (`status`), a period ending before it begins, a unit of the wrong kind", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_export(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    register: web::Path<Register>,
    query: ValidQuery<RegisterQuery>,
) -> AppResult<HttpResponse> {
    let register = register.into_inner();
    let q = query.0;
    let format = export::negotiate(q.format, &req);
    let headings = q.lang.unwrap_or_default();
    let filter = RegisterFilter {
        from: q.from,
        to: q.to,
        status: q.status,
    };
    registers::check(register, &filter)?;
    let input = AreaInput {
        branch_id: q.branch_id,
        project_department_id: q.project_department_id,
        project_id: q.project_id,
    };
    let tz = state.config.tz;
    let area = state
        .db_as(caller.clone(), move |conn, actor| {
            reports::area(conn, &actor, &input)
        })
        .await?;
    let (name, title_zh, columns) = registers::columns(register);
    let file = |ext: &str| format!("attachment; filename=\"{name}.{ext}\"");
    if format == ReportFormat::Xlsx {
        // one connection for the whole workbook; rows go to temporary files
        let bytes = state
            .db_as(caller, move |conn, _| {
                let mut book = export::StreamedBook::new(name, title_zh, columns, headings)?;
                let mut after = 0;
                loop {
                    let rows = registers::page(conn, register, &area, &filter, tz, after)?;
                    book.rows(&rows)?;
                    match rows.last() {
                        Some(last) if rows.len() == PAGE => after = registers::row_id(last),
                        _ => break,
                    }
                }
                book.finish()
            })
            .await?;
        return Ok(HttpResponse::Ok()
            .content_type(export::XLSX)
            .insert_header((header::CONTENT_DISPOSITION, file("xlsx")))
            .body(bytes));
    }
    // CSV and JSON: a page per trip to the database, each sent before the
    // next is read; a client that reads slowly holds no connection
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let csv = format == ReportFormat::Csv;
    let head = if csv {
        export::csv_head(columns, headings)?
    } else {
        b"[".to_vec()
    };
    let st = state.clone();
    actix_web::rt::spawn(async move {
        let _ = tx.send(Ok(web::Bytes::from(head))).await;
        let mut after = 0;
        let mut first = true;
        loop {
            let (area, filter) = (area.clone(), filter.clone());
            let page = st
                .db_as(caller.clone(), move |conn, _| {
                    registers::page(conn, register, &area, &filter, tz, after)
                })
                .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    log::error!("register {name} stopped after id {after}: {e}");
                    let _ = tx
                        .send(Err(actix_web::error::ErrorInternalServerError(
                            "the register could not be read to the end",
                        )))
                        .await;
                    return;
                }
            };
            let chunk = if csv {
                export::csv_rows(&rows).unwrap_or_default()
            } else {
                let mut out = Vec::new();
                for row in &rows {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    let object: serde_json::Map<String, serde_json::Value> = columns
                        .iter()
                        .zip(row)
                        .map(|(c, cell)| (c.field.to_string(), export::json_value(cell, tz)))
                        .collect();
                    serde_json::to_writer(&mut out, &object).unwrap_or_default();
                }
                out
            };
            if tx.send(Ok(web::Bytes::from(chunk))).await.is_err() {
                return; // the client went away
            }
            match rows.last() {
                Some(last) if rows.len() == PAGE => after = registers::row_id(last),
                _ => break,
            }
        }
        if !csv {
            let _ = tx.send(Ok(web::Bytes::from_static(b"]"))).await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut answer = HttpResponse::Ok();
    if csv {
        answer
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, file("csv")));
    } else {
        answer.content_type("application/json");
    }
    Ok(answer.streaming(body))
}
