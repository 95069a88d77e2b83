//! The Excel template of each kind of import: headers in Chinese with the
//! field name beneath, drop-down lists for the enumerations, date columns
//! formatted as dates, and one example row on a sheet of its own (so that
//! it is never imported by mistake).

use chrono::NaiveDate;
use rust_xlsxwriter::{DataValidation, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::columns::{self, Holds, ImportColumn};
use super::{ImportKind, MAX_ROWS};
use crate::error::{AppError, AppResult};
use crate::i18n::{self, Lang};
use crate::models::customer::CustomerKind;

/// A template's value in one cell of the example row.
enum Example {
    Text(&'static str),
    Number(f64),
    Date(i32, u32, u32),
}

fn example(kind: ImportKind, field: &str) -> Option<Example> {
    use Example::*;
    Some(match (kind, field) {
        (ImportKind::Customers, "name") => Text("上海滨江置业有限公司"),
        (ImportKind::Customers, "kind") => Text("owner_organisation"),
        (ImportKind::Customers, "branch") => Text("上海分公司"),
        (ImportKind::Customers, "contact_name") => Text("王经理"),
        (ImportKind::Customers, "contact_phone") => Text("021-5888 0000"),
        (ImportKind::Customers, "address") => Text("上海市浦东新区滨江大道 100 号"),
        (ImportKind::Customers, "serious_problems") => Text("no"),
        (ImportKind::Projects, "code") => Text("HD-2025-017"),
        (ImportKind::Projects, "name") => Text("滨江花园二期"),
        (ImportKind::Projects, "address") => Text("上海市浦东新区滨江大道 200 号"),
        (ImportKind::Projects, "project_department") => Text("第一项目部"),
        (ImportKind::Projects, "customer") => Text("上海滨江置业有限公司"),
        (ImportKind::Projects, "customer_kind") => Text("owner_organisation"),
        (ImportKind::Projects, "structure_type") => Text("框架剪力墙"),
        (ImportKind::Projects, "building_area") => Number(86500.5),
        (ImportKind::Projects, "contract_number") => Text("SG-2023-0456"),
        (ImportKind::Projects, "quality_grade") => Text("合格"),
        (ImportKind::Projects, "completion_accepted_on") => Date(2025, 2, 27),
        (ImportKind::Projects, "handover_on") => Date(2025, 3, 2),
        (ImportKind::Projects, "is_key_project") => Text("yes"),
        (ImportKind::Projects, "hvac_in_scope") => Text("yes"),
        (ImportKind::Projects, "systems_in_operation_on") => Date(2025, 4, 1),
        (ImportKind::Projects, "design_service_life_years") => Number(50.0),
        (ImportKind::Projects, "contacts.warranty_lead.name") => Text("刘强"),
        (ImportKind::Projects, "contacts.warranty_lead.phone") => Text("139 1234 5678"),
        (ImportKind::Projects, "contacts.project_manager.name") => Text("王伟"),
        (ImportKind::Projects, "contacts.project_manager.phone") => Text("138 0000 1111"),
        (ImportKind::Projects, "contacts.owner_engineering_manager.name") => Text("陈经理"),
        (ImportKind::Projects, "contacts.owner_engineering_manager.phone") => Text("021-5888 0000"),
        (ImportKind::Projects, "warranty_terms.waterproofing") => Number(8.0),
        _ => return None,
    })
}

/// The choices of a drop-down column, as the sheet shows them.
fn choices(holds: Holds) -> Option<Vec<String>> {
    match holds {
        Holds::CustomerKind => Some(
            CustomerKind::ALL
                .iter()
                .map(|k| i18n::label(Lang::ZhCn, "CustomerKind", k.as_str()))
                .collect(),
        ),
        Holds::YesNo => Some(vec![
            i18n::column(Lang::ZhCn, "value.yes"),
            i18n::column(Lang::ZhCn, "value.no"),
        ]),
        _ => None,
    }
}

/// The value shown for a choice the example names by its code.
fn shown(holds: Holds, code: &str) -> String {
    match (holds, code) {
        (Holds::CustomerKind, k) => i18n::label(Lang::ZhCn, "CustomerKind", k),
        (Holds::YesNo, "yes") => i18n::column(Lang::ZhCn, "value.yes"),
        (Holds::YesNo, _) => i18n::column(Lang::ZhCn, "value.no"),
        (_, text) => text.to_string(),
    }
}

struct Formats {
    header: Format,
    required: Format,
    field: Format,
    date: Format,
}

fn formats() -> Formats {
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("#DDEBF7")
        .set_border(FormatBorder::Thin);
    Formats {
        required: header.clone().set_background_color("#FCE4D6"),
        header,
        field: Format::new()
            .set_italic()
            .set_font_color("#7F7F7F")
            .set_border(FormatBorder::Thin),
        date: Format::new().set_num_format("yyyy-mm-dd"),
    }
}

/// The header row (Chinese; `*` marks a required column) and the field
/// names under it.
fn headings(
    sheet: &mut Worksheet,
    kind: ImportKind,
    columns: &[ImportColumn],
    f: &Formats,
) -> Result<(), XlsxError> {
    for (c, column) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        let mut header = column.header(kind, Lang::ZhCn);
        let format = if column.required {
            header.push_str(" *");
            &f.required
        } else {
            &f.header
        };
        sheet.write_string_with_format(0, c, header, format)?;
        sheet.write_string_with_format(1, c, &column.field, &f.field)?;
        let width = match column.holds {
            Holds::Date => 14.0,
            Holds::ContactName(_) | Holds::ContactPhone(_) | Holds::ContactCompany(_) => 18.0,
            _ => 16.0,
        };
        sheet.set_column_width(c, width)?;
        if column.holds == Holds::Date {
            sheet.set_column_format(c, &f.date)?;
        }
    }
    sheet.set_row_height(0, 45)?;
    sheet.set_freeze_panes(2, 0)?;
    Ok(())
}

/// The workbook of `kind`'s template.
pub fn workbook(kind: ImportKind) -> AppResult<Vec<u8>> {
    build(kind).map_err(|e| AppError::internal(format!("writing the import template: {e}")))
}

fn build(kind: ImportKind) -> Result<Vec<u8>, XlsxError> {
    let columns = columns::of(kind);
    let f = formats();
    let mut book = Workbook::new();
    let last_row = u32::try_from(MAX_ROWS + 1).unwrap_or(u32::MAX);
    let sheet = book.add_worksheet();
    sheet.set_name(i18n::column(Lang::ZhCn, "template.sheet"))?;
    headings(sheet, kind, &columns, &f)?;
    for (c, column) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        if let Some(list) = choices(column.holds) {
            let validation = DataValidation::new().allow_list_strings(&list)?;
            sheet.add_data_validation(2, c, last_row, c, &validation)?;
        }
    }
    let sheet = book.add_worksheet();
    sheet.set_name(i18n::column(Lang::ZhCn, "template.example_sheet"))?;
    headings(sheet, kind, &columns, &f)?;
    for (c, column) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        match example(kind, &column.field) {
            Some(Example::Text(t)) => {
                sheet.write_string(2, c, shown(column.holds, t))?;
            }
            Some(Example::Number(n)) => {
                sheet.write_number(2, c, n)?;
            }
            Some(Example::Date(y, m, d)) => {
                if let Some(day) = NaiveDate::from_ymd_opt(y, m, d) {
                    sheet.write_date_with_format(2, c, day, &f.date)?;
                }
            }
            None => {}
        }
    }
    book.save_to_buffer()
}
