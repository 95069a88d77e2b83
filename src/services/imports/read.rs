//! Reading a spreadsheet into rows of cells: the first sheet of an XLSX
//! workbook (`calamine`), or a CSV file in UTF-8 or GB18030 (what Chinese
//! Excel saves as "CSV"), told apart by their content.

use calamine::{Data, Reader};
use chrono::{Days, NaiveDate};

use crate::error::{AppError, AppResult};

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadCell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A cell Excel stores as a date (its serial day number, converted).
    Date(NaiveDate),
}

impl ReadCell {
    pub fn is_empty(&self) -> bool {
        match self {
            ReadCell::Empty => true,
            ReadCell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text, as a person would read it (`12` for 12.0).
    pub fn text(&self) -> String {
        match self {
            ReadCell::Empty => String::new(),
            ReadCell::Text(t) => t.trim().to_string(),
            ReadCell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            ReadCell::Number(n) => n.to_string(),
            ReadCell::Bool(b) => b.to_string(),
            ReadCell::Date(d) => d.to_string(),
        }
    }
}

/// A sheet: its rows, each with the row number a spreadsheet shows (1-based).
#[derive(Debug, Default)]
pub struct ReadSheet {
    pub rows: Vec<(u32, Vec<ReadCell>)>,
}

/// The kinds of file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    /// XLSX is a ZIP archive; anything else is read as CSV text.
    pub fn detect(bytes: &[u8]) -> FileFormat {
        if bytes.starts_with(b"PK\x03\x04") {
            FileFormat::Xlsx
        } else {
            FileFormat::Csv
        }
    }
}

/// Reads the file's first sheet (or its CSV records).
pub fn sheet(bytes: &[u8]) -> AppResult<ReadSheet> {
    match FileFormat::detect(bytes) {
        FileFormat::Xlsx => xlsx(bytes),
        FileFormat::Csv => csv_text(&decode(bytes)?),
    }
}

fn unreadable(what: impl std::fmt::Display) -> AppError {
    AppError::rule(
        "unreadable_file",
        "file",
        format!("the file cannot be read as an XLSX workbook or a CSV file: {what}"),
    )
}

fn xlsx(bytes: &[u8]) -> AppResult<ReadSheet> {
    let mut book =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(unreadable)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("the workbook has no sheet"))?
        .map_err(unreadable)?;
    let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c).unwrap_or(0) as usize;
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            // columns left of the used range are empty, so positions match the headers'
            let mut row = vec![ReadCell::Empty; first_col];
            row.extend(cells.iter().map(cell_of));
            (first_row + i as u32 + 1, row)
        })
        .collect();
    Ok(ReadSheet { rows })
}

fn cell_of(data: &Data) -> ReadCell {
    match data {
        Data::Empty | Data::Error(_) => ReadCell::Empty,
        Data::String(s) => ReadCell::Text(s.clone()),
        Data::Int(i) => ReadCell::Number(*i as f64),
        Data::Float(f) => ReadCell::Number(*f),
        Data::Bool(b) => ReadCell::Bool(*b),
        Data::DateTime(d) => {
            serial_date(d.as_f64()).map_or(ReadCell::Number(d.as_f64()), ReadCell::Date)
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => ReadCell::Text(s.clone()),
    }
}

/// The day of an Excel date serial (days since 1899-12-30, the 1900 system
/// as Excel counts it from March 1900 on); `None` outside years 1900–9999.
pub fn serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(Days::new(serial.floor() as u64))
}

/// The text of a CSV file: UTF-8 (with or without a byte-order mark), or
/// else GB18030, which every GBK and GB2312 file also is.
pub fn decode(bytes: &[u8]) -> AppResult<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(unreadable("its text is neither UTF-8 nor GB18030"));
    }
    Ok(text.into_owned())
}

fn csv_text(text: &str) -> AppResult<ReadSheet> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = vec![];
    for record in reader.records() {
        let record = record.map_err(unreadable)?;
        let line = record
            .position()
            .map_or(rows.len() as u64 + 1, |p| p.line());
        let cells = record
            .iter()
            .map(|v| {
                if v.trim().is_empty() {
                    ReadCell::Empty
                } else {
                    ReadCell::Text(v.to_string())
                }
            })
            .collect();
        rows.push((u32::try_from(line).unwrap_or(u32::MAX), cells));
    }
    Ok(ReadSheet { rows })
}

/// A date as people write it in a ledger: an Excel date cell or serial,
/// `2021-05-08`, `2021/5/8`, `2021.5.8` or `2021年5月8日`.
pub fn date(cell: &ReadCell) -> Option<NaiveDate> {
    match cell {
        ReadCell::Date(d) => Some(*d),
        ReadCell::Number(n) => serial_date(*n),
        ReadCell::Text(t) => {
            let t = t.trim();
            // a date with a time after it (`2021-05-08 00:00:00`) is that day
            let t = t.split([' ', 'T']).next().unwrap_or(t);
            let t = t.trim_end_matches('日');
            let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).collect();
            let [y, m, d] = parts.as_slice() else {
                return None;
            };
            if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
                return None;
            }
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn dates_are_read_as_ledgers_write_them() {
        for text in [
            "2021-05-08",
            "2021/5/8",
            "2021.05.08",
            "2021年5月8日",
            "2021-05-08 00:00:00",
        ] {
            assert_eq!(
                date(&ReadCell::Text(text.into())),
                day(2021, 5, 8),
                "{text}"
            );
        }
        assert_eq!(date(&ReadCell::Number(44324.0)), day(2021, 5, 8));
        for bad in ["2021-13-01", "08/05/2021", "2021-5", "soon", "21-5-8"] {
            assert_eq!(date(&ReadCell::Text(bad.into())), None, "{bad}");
        }
    }

    #[test]
    fn gb18030_text_is_decoded_and_utf8_kept() {
        let (gb, _, _) = encoding_rs::GB18030.encode("项目编号,滨江花园");
        assert_eq!(decode(&gb).ok().as_deref(), Some("项目编号,滨江花园"));
        assert_eq!(
            decode("\u{feff}项目".as_bytes()).ok().as_deref(),
            Some("项目")
        );
    }
}
