//! A report's answer in the format asked for: JSON (the report's view),
//! CSV (one section, UTF-8 with a BOM so that Excel reads Chinese text) or
//! an Excel workbook (one sheet per section, typed cells).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{Chart, ChartType, Format, FormatAlign, XlsxError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::services::reports::sheet::{Cell, Column, Sheet};

pub const CSV: &str = "text/csv";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How a report is answered; `format=` wins over `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
}

/// Column headings: `zh`, the forms' Chinese heading with the field name on
/// a second line (default), or `en`, the field name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Headings {
    #[default]
    Zh,
    En,
}

/// The format asked for: `format=`, else the first of CSV or the workbook
/// named in `Accept`, else JSON.
pub fn negotiate(format: Option<ReportFormat>, req: &HttpRequest) -> ReportFormat {
    if let Some(f) = format {
        return f;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let at = |media: &str| accept.find(media);
    match (at(CSV), at(XLSX)) {
        (Some(c), Some(x)) if x < c => ReportFormat::Xlsx,
        (Some(_), _) => ReportFormat::Csv,
        (None, Some(_)) => ReportFormat::Xlsx,
        (None, None) => ReportFormat::Json,
    }
}

fn heading(column: &Column, headings: Headings) -> String {
    match headings {
        Headings::Zh => format!(
            "{}\n{}",
            column.heading_in(crate::i18n::Lang::ZhCn),
            column.field
        ),
        Headings::En => column.field.to_string(),
    }
}

fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Integer(n) | Cell::Seconds(n) => n.to_string(),
        Cell::Ratio(r) | Cell::Number(r) => r.to_string(),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// One section as CSV: a BOM, the heading row, a row per item. Numbers as
/// the JSON has them (ratios from 0 to 1, durations in seconds); times in
/// the company's time zone.
pub fn csv(sheet: &Sheet, headings: Headings) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let failed = |e: csv::Error| AppError::internal(format!("writing CSV: {e}"));
    out.write_record(sheet.columns.iter().map(|c| heading(c, headings)))
        .map_err(failed)?;
    for row in &sheet.rows {
        out.write_record(row.iter().map(csv_text)).map_err(failed)?;
    }
    out.into_inner()
        .map_err(|e| AppError::internal(format!("writing CSV: {e}")))
}

/// The start of a streamed CSV answer: the BOM and the heading row.
pub fn csv_head(columns: &[Column], headings: Headings) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let failed = |e: csv::Error| AppError::internal(format!("writing CSV: {e}"));
    out.write_record(columns.iter().map(|c| heading(c, headings)))
        .map_err(failed)?;
    out.into_inner()
        .map_err(|e| AppError::internal(format!("writing CSV: {e}")))
}

/// Rows of a streamed CSV answer.
pub fn csv_rows(rows: &[Vec<Cell>]) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.write_record(row.iter().map(csv_text))
            .map_err(|e| AppError::internal(format!("writing CSV: {e}")))?;
    }
    out.into_inner()
        .map_err(|e| AppError::internal(format!("writing CSV: {e}")))
}

/// A cell as JSON: numbers as numbers, dates as `YYYY-MM-DD`, times as
/// RFC 3339 with the company's offset.
pub fn json_value(cell: &Cell, tz: chrono_tz::Tz) -> serde_json::Value {
    use chrono::TimeZone;
    match cell {
        Cell::Empty => serde_json::Value::Null,
        Cell::Text(s) => serde_json::Value::from(s.as_str()),
        Cell::Integer(n) | Cell::Seconds(n) => serde_json::Value::from(*n),
        Cell::Ratio(x) | Cell::Number(x) => serde_json::Value::from(*x),
        Cell::Date(d) => serde_json::Value::from(d.format("%Y-%m-%d").to_string()),
        Cell::DateTime(t) => tz
            .from_local_datetime(t)
            .earliest()
            .map_or(serde_json::Value::Null, |at| {
                serde_json::Value::from(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
            }),
    }
}

/// A workbook of one sheet written a page at a time (rust_xlsxwriter's
/// constant-memory mode: each row goes to a temporary file as it is
/// written), for registers of any size.
pub struct StreamedBook {
    book: rust_xlsxwriter::Workbook,
    next_row: u32,
    formats: [Format; 4],
}

impl StreamedBook {
    pub fn new(
        name: &str,
        title_zh: &str,
        columns: &[Column],
        headings: Headings,
    ) -> AppResult<Self> {
        let failed = |e: XlsxError| AppError::internal(format!("writing XLSX: {e}"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let head = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center);
        let ws = book.add_worksheet_with_constant_memory().map_err(failed)?;
        ws.set_name(match headings {
            Headings::Zh => title_zh,
            Headings::En => name,
        })
        .map_err(failed)?;
        for (c, column) in columns.iter().enumerate() {
            let width = match column.kind {
                crate::services::reports::sheet::Kind::Text => 24.0,
                crate::services::reports::sheet::Kind::DateTime => 17.0,
                _ => 12.0,
            };
            ws.set_column_width(c as u16, width).map_err(failed)?;
            ws.write_string_with_format(0, c as u16, heading(column, headings), &head)
                .map_err(failed)?;
        }
        ws.set_freeze_panes(1, 0).map_err(failed)?;
        Ok(StreamedBook {
            book,
            next_row: 1,
            formats: [
                Format::new().set_num_format("yyyy-mm-dd"),
                Format::new().set_num_format("yyyy-mm-dd hh:mm"),
                Format::new().set_num_format("0.0"),
                Format::new().set_num_format("0.0%"),
            ],
        })
    }

    pub fn rows(&mut self, rows: &[Vec<Cell>]) -> AppResult<()> {
        let failed = |e: XlsxError| AppError::internal(format!("writing XLSX: {e}"));
        let [date, datetime, decimal, percent] = &self.formats;
        let ws = self.book.worksheet_from_index(0).map_err(failed)?;
        for row in rows {
            let r = self.next_row;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Empty => Ok(&mut *ws),
                    Cell::Text(s) => ws.write_string(r, c, s),
                    Cell::Integer(n) | Cell::Seconds(n) => ws.write_number(r, c, *n as f64),
                    Cell::Number(x) => ws.write_number_with_format(r, c, *x, decimal),
                    Cell::Ratio(x) => ws.write_number_with_format(r, c, *x, percent),
                    Cell::Date(d) => {
                        let at = d.and_hms_opt(0, 0, 0).unwrap_or_default();
                        ws.write_number_with_format(r, c, excel_serial(at), date)
                    }
                    Cell::DateTime(t) => {
                        ws.write_number_with_format(r, c, excel_serial(*t), datetime)
                    }
                }
                .map_err(failed)?;
            }
            self.next_row += 1;
        }
        Ok(())
    }

    pub fn finish(mut self) -> AppResult<Vec<u8>> {
        self.book
            .save_to_buffer()
            .map_err(|e| AppError::internal(format!("writing XLSX: {e}")))
    }
}

/// Days since 1899-12-30: how Excel stores a date and time.
fn excel_serial(t: NaiveDateTime) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    (t - epoch).num_milliseconds() as f64 / 86_400_000.0
}

/// The sections as a workbook: a sheet each, the heading row frozen, the
/// columns fitted; dates as dates, ratios as percentages, durations as
/// hours and minutes.
pub fn xlsx(sheets: &[Sheet], headings: Headings) -> AppResult<Vec<u8>> {
    write_workbook(sheets, headings).map_err(|e| AppError::internal(format!("writing XLSX: {e}")))
}

fn write_workbook(sheets: &[Sheet], headings: Headings) -> Result<Vec<u8>, XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center);
    let percent = Format::new().set_num_format("0.0%");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let duration = Format::new().set_num_format("[h]:mm");
    let decimal = Format::new().set_num_format("0.0");
    for sheet in sheets {
        let ws = book.add_worksheet();
        let title = match headings {
            Headings::Zh => sheet.title_zh,
            Headings::En => sheet.name,
        };
        ws.set_name(title)?;
        for (c, column) in sheet.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, heading(column, headings), &head)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Integer(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    Cell::Ratio(x) => {
                        ws.write_number_with_format(r, c, *x, &percent)?;
                    }
                    Cell::Date(d) => {
                        let at = d.and_hms_opt(0, 0, 0).unwrap_or_default();
                        ws.write_number_with_format(r, c, excel_serial(at), &date)?;
                    }
                    Cell::DateTime(t) => {
                        ws.write_number_with_format(r, c, excel_serial(*t), &datetime)?;
                    }
                    Cell::Number(x) => {
                        ws.write_number_with_format(r, c, *x, &decimal)?;
                    }
                    Cell::Seconds(s) => {
                        ws.write_number_with_format(r, c, *s as f64 / 86_400.0, &duration)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        ws.autofit();
        // charts to the right of the table, one under the other
        for (i, chart) in sheet.charts.iter().enumerate() {
            let heading_of = |c: usize| heading(&sheet.columns[c], headings).replace('\n', " ");
            let range = |c: usize| {
                (
                    title,
                    chart.first_row as u32 + 1,
                    c as u16,
                    chart.last_row as u32 + 1,
                    c as u16,
                )
            };
            let mut bars = Chart::new(ChartType::Column);
            bars.add_series()
                .set_name(heading_of(chart.columns).as_str())
                .set_categories(range(chart.categories))
                .set_values(range(chart.columns));
            let mut line = Chart::new(ChartType::Line);
            line.add_series()
                .set_name(heading_of(chart.line).as_str())
                .set_categories(range(chart.categories))
                .set_values(range(chart.line))
                .set_secondary_axis(true);
            bars.combine(&line);
            bars.title().set_name(chart.title.as_str());
            bars.y2_axis().set_num_format("0%");
            ws.insert_chart((i * 16) as u32 + 1, sheet.columns.len() as u16 + 1, &bars)?;
        }
    }
    book.save_to_buffer()
}

/// The answer: the JSON view, or its sections as CSV (`section`, by
/// default the first) or as a workbook, named `{name}.csv` / `{name}.xlsx`.
pub fn answer<T: Serialize>(
    format: ReportFormat,
    headings: Headings,
    section: Option<&str>,
    name: &str,
    view: &T,
    sheets: impl FnOnce() -> Vec<Sheet>,
) -> AppResult<HttpResponse> {
    let attachment = |ext: &str| format!("attachment; filename=\"{name}.{ext}\"");
    match format {
        ReportFormat::Json => {
            if section.is_some() {
                return Err(AppError::invalid(
                    "section",
                    "a section is chosen for the CSV answer only",
                ));
            }
            Ok(HttpResponse::Ok().json(view))
        }
        ReportFormat::Csv => {
            let sheets = sheets();
            let names: Vec<&str> = sheets.iter().map(|s| s.name).collect();
            let chosen = match section {
                None => sheets.first(),
                Some(wanted) => sheets.iter().find(|s| s.name == wanted),
            };
            let Some(sheet) = chosen else {
                return Err(AppError::invalid(
                    "section",
                    format!("this report's sections are {}", names.join(", ")),
                ));
            };
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((header::CONTENT_DISPOSITION, attachment("csv")))
                .body(csv(sheet, headings)?))
        }
        ReportFormat::Xlsx => {
            if section.is_some() {
                return Err(AppError::invalid(
                    "section",
                    "a section is chosen for the CSV answer only; the workbook has them all",
                ));
            }
            Ok(HttpResponse::Ok()
                .content_type(XLSX)
                .insert_header((header::CONTENT_DISPOSITION, attachment("xlsx")))
                .body(xlsx(&sheets(), headings)?))
        }
    }
}

/// An Excel workbook's bytes (documents the answer in the spec).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct WorkbookFile(Vec<u8>);
