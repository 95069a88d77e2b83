//! A report as tables: each section a sheet of typed columns, as the CSV
//! and Excel answers write it. The JSON answer is the report's own view;
//! a sheet holds the same values, one row per item.

use chrono::{NaiveDate, NaiveDateTime};

/// What a column holds, so a workbook writes the cell as its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// A share from 0 to 1, shown as a percentage.
    Ratio,
    Date,
    DateTime,
    /// A duration in seconds, shown in hours.
    Seconds,
    /// A measure with a fraction (an average mark).
    Number,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The JSON field the column shows.
    pub field: &'static str,
    /// The key of its heading in the catalogues (`export.{key}` of
    /// `src/i18n/*.json`): the heading as the companies' forms write it.
    pub heading: &'static str,
    pub kind: Kind,
}

pub const fn col(field: &'static str, heading: &'static str, kind: Kind) -> Column {
    Column {
        field,
        heading,
        kind,
    }
}

impl Column {
    /// The heading in `lang`, from the catalogue.
    pub fn heading_in(&self, lang: crate::i18n::Lang) -> String {
        crate::i18n::column(lang, &format!("export.{}", self.heading))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Integer(i64),
    Ratio(f64),
    Date(NaiveDate),
    /// In the company's time zone.
    DateTime(NaiveDateTime),
    Seconds(i64),
    Number(f64),
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Integer(n)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// One section of a report: its name (the sheet's, and `section=` of the
/// CSV answer), its columns and its rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: &'static str,
    /// The sheet's tab in the workbook.
    pub title_zh: &'static str,
    pub columns: &'static [Column],
    pub rows: Vec<Vec<Cell>>,
    /// Charts the workbook draws beside the table (the CSV has none).
    pub charts: Vec<Chart>,
}

/// A chart over some rows of a sheet: one column as the categories, one as
/// columns (bars) and one as a line on a second axis.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    /// The data rows it covers, counted from 0 below the heading row.
    pub first_row: usize,
    pub last_row: usize,
    /// Column indexes: the categories, the bars, the line.
    pub categories: usize,
    pub columns: usize,
    pub line: usize,
}

impl Sheet {
    pub fn new(name: &'static str, title_zh: &'static str, columns: &'static [Column]) -> Sheet {
        Sheet {
            name,
            title_zh,
            columns,
            rows: Vec::new(),
            charts: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a row of {}", self.name);
        self.rows.push(row);
    }
}

/// `numerator / denominator`, none when nothing was counted.
pub fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl From<f64> for Cell {
    fn from(r: f64) -> Cell {
        Cell::Ratio(r)
    }
}
