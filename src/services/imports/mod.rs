//! Importing a company's existing spreadsheets: its customers and its
//! completed-projects ledger (竣工工程信息台账, appendix C), kept per branch
//! in Excel. Every row is entered by the same service functions as the
//! API's (`customers::create`, `projects::enter`, the contacts and terms of
//! the ledger), so it meets the same rules; a dry run reports every problem
//! of the file at once and keeps nothing, a real run keeps all rows or none.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Actor;
use crate::db::schema::{customers, imports, org_units};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError, RowProblem};
use crate::kit::workflow::Ctx;
use crate::models::customer::CustomerKind;
use crate::models::org_unit::OrgUnitKind;
use crate::models::project::{ContactRole, WarrantyCategory};
use crate::models::user::Role;
use crate::services::customers::{self as customer_service, NewCustomerInput};
use crate::services::projects::{self, ledger, warranty::Length, NewContactInput, NewProjectInput};

pub mod columns;
pub mod read;
pub mod template;

use columns::ImportColumn;
use read::{ReadCell, ReadSheet};

/// Who imports: the branch engineering department and the branch's
/// leaders for their branch, the group engineering department for the
/// group, administrators.
pub const IMPORTERS: &[Role] = &[
    Role::Admin,
    Role::GroupEngineer,
    Role::BranchEngineer,
    Role::BranchLeader,
];

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 20_000;

crate::models::text_enum! {
    /// What a file holds.
    ImportKind {
        /// the customer register: one customer per row
        Customers => "customers",
        /// the completed-projects ledger: one project per row, with its
        /// contacts and warranty terms
        Projects => "projects",
    }
}

/// A customer a row made.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedCustomer {
    /// The file's row.
    pub row: u32,
    /// Absent in a dry run (nothing is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    pub branch_id: i64,
}

/// A project a row entered into the ledger.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedProject {
    pub row: u32,
    /// Absent in a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub code: String,
    pub name: String,
    /// Absent in a dry run when the same file creates the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// Whether the ledger's fill clock runs: only for a handover recent
    /// enough that its ledger is not yet due; one long past starts none.
    pub ledger_clock_started: bool,
    /// Whether the ledger has every contact and warranty term it needs to
    /// be submitted; `missing` says what it lacks.
    pub ledger_complete: bool,
    pub missing: Vec<FieldError>,
}

/// What an import did, or (in a dry run) would do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// The import's id (`GET /api/v1/imports/{id}`); absent in a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub kind: ImportKind,
    pub dry_run: bool,
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Data rows read (headers and empty rows not counted).
    pub rows: u32,
    pub customers: Vec<ImportedCustomer>,
    pub projects: Vec<ImportedProject>,
    /// Every problem found, by row and column. A real run with any keeps
    /// nothing and answers `422 import_invalid` listing them.
    pub problems: Vec<RowProblem>,
    /// Header cells of the file that are none of the kind's columns.
    pub ignored_columns: Vec<String>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// A file to import, read.
pub struct ImportFile {
    pub kind: ImportKind,
    pub file_name: String,
    pub sha256: String,
    pub sheet: ReadSheet,
    pub dry_run: bool,
}

/// The marker of a transaction rolled back on purpose (a dry run, a file
/// with problems, a row with problems); never answered.
const ROLLED_BACK: &str = "import_rolled_back";

fn rolled_back() -> AppError {
    AppError::conflict(ROLLED_BACK, "rolled back")
}

fn is_rolled_back(e: &AppError) -> bool {
    matches!(e, AppError::Conflict { code, .. } if *code == ROLLED_BACK)
}

/// Imports `upload`: a dry run answers its report and keeps nothing; a real
/// run keeps every row in one transaction or, when any row has a problem,
/// none (`422 import_invalid`).
pub fn run(conn: &mut DbConn, ctx: Ctx<'_>, upload: &ImportFile) -> AppResult<ImportReport> {
    ctx.actor.require(IMPORTERS)?;
    let table = Table::of(upload.kind, &upload.sheet)?;
    let mut kept: Option<ImportReport> = None;
    let written = write_tx(conn, |conn| {
        let scope_path = ctx
            .actor
            .org_path
            .clone()
            .unwrap_or_else(|| "/".to_string());
        let id: i64 = diesel::insert_into(imports::table)
            .values((
                imports::kind.eq(upload.kind.as_str()),
                imports::file_name.eq(&upload.file_name),
                imports::sha256.eq(&upload.sha256),
                imports::row_count.eq(i32::try_from(table.rows.len()).unwrap_or(i32::MAX)),
                imports::created_by.eq(ctx.actor.id),
                imports::scope_path.eq(&scope_path),
                imports::created_at.eq(ctx.now),
                imports::report.eq("{}"),
            ))
            .returning(imports::id)
            .get_result(conn)?;
        // every event the rows write names the import
        let actor = Actor {
            import_id: Some(id),
            ..ctx.actor.clone()
        };
        let ctx = Ctx {
            actor: &actor,
            ..ctx
        };
        let mut report = ImportReport {
            id: None,
            kind: upload.kind,
            dry_run: upload.dry_run,
            file_name: upload.file_name.clone(),
            sha256: upload.sha256.clone(),
            rows: u32::try_from(table.rows.len()).unwrap_or(u32::MAX),
            customers: vec![],
            projects: vec![],
            problems: table.problems.clone(),
            ignored_columns: table.ignored.clone(),
            created_by: ctx.actor.id,
            created_at: crate::api::utc(ctx.now),
        };
        if report.problems.is_empty() {
            Importer::new(ctx, &table).rows(conn, &mut report)?;
        }
        if upload.dry_run || !report.problems.is_empty() {
            kept = Some(report);
            return Err(rolled_back());
        }
        report.id = Some(id);
        let text = serde_json::to_string(&report).map_err(AppError::internal)?;
        diesel::update(imports::table.find(id))
            .set(imports::report.eq(text))
            .execute(conn)?;
        Ok(report)
    });
    match (written, kept) {
        (Ok(report), _) => Ok(report),
        (Err(e), Some(report)) if is_rolled_back(&e) => {
            if report.dry_run {
                Ok(report)
            } else {
                Err(AppError::ImportInvalid(report.problems))
            }
        }
        (Err(e), _) => Err(e),
    }
}

/// One import the caller may see: their own scope's (an import of the
/// group is the group's; of a branch, the branch's and the group's).
pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<ImportReport> {
    actor.require(IMPORTERS)?;
    let row: Option<(String, String)> = imports::table
        .find(id)
        .select((imports::scope_path, imports::report))
        .first(conn)
        .optional()?;
    match row {
        Some((path, report)) if actor.scope().covers_path(&path) => {
            serde_json::from_str(&report).map_err(AppError::internal)
        }
        _ => Err(AppError::NotFound(format!(
            "import {id} does not exist or is outside your scope"
        ))),
    }
}

/// A sheet's rows under its header row, each cell given its column.
struct Table {
    kind: ImportKind,
    columns: Vec<ImportColumn>,
    /// Per column of `columns`: its position in the file and its header there.
    positions: Vec<Option<(usize, String)>>,
    rows: Vec<(u32, Vec<ReadCell>)>,
    ignored: Vec<String>,
    problems: Vec<RowProblem>,
}

impl Table {
    /// Finds the header row (the first row that is not empty), skips the
    /// template's field-name row under it, and maps the columns.
    fn of(kind: ImportKind, sheet: &ReadSheet) -> AppResult<Table> {
        let mut rows = sheet
            .rows
            .iter()
            .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
        let Some((header_row, header_cells)) = rows.next() else {
            return Err(AppError::rule(
                "empty_file",
                "file",
                "the file has no header row and no rows",
            ));
        };
        let headers: Vec<String> = header_cells.iter().map(ReadCell::text).collect();
        let map = columns::map_headers(kind, &headers);
        let columns = columns::of(kind);
        let mut positions: Vec<Option<(usize, String)>> = vec![None; columns.len()];
        let mut ignored = vec![];
        for (at, (header, column)) in headers.iter().zip(&map).enumerate() {
            match column {
                Some(c) if positions[*c].is_none() => positions[*c] = Some((at, header.clone())),
                _ if !header.trim().is_empty() => ignored.push(header.clone()),
                _ => {}
            }
        }
        let mut problems = vec![];
        for (column, position) in columns.iter().zip(&positions) {
            if column.required && position.is_none() {
                problems.push(RowProblem {
                    row: *header_row,
                    column: Some(column.header(kind, crate::i18n::Lang::ZhCn)),
                    field: Some(column.field.clone()),
                    code: "missing_column".to_string(),
                    message: "the file has no such column; every required column must be there"
                        .to_string(),
                });
            }
        }
        let mut data: Vec<(u32, Vec<ReadCell>)> = rows.cloned().collect();
        if let Some((_, first)) = data.first() {
            let texts: Vec<String> = first.iter().map(ReadCell::text).collect();
            if columns::is_field_row(kind, &texts) {
                data.remove(0);
            }
        }
        if data.len() > MAX_ROWS {
            return Err(AppError::rule(
                "too_many_rows",
                "file",
                format!(
                    "the file has {} rows; at most {MAX_ROWS} are imported at once: split it",
                    data.len()
                ),
            ));
        }
        if data.is_empty() && problems.is_empty() {
            return Err(AppError::rule(
                "empty_file",
                "file",
                "the file has headers but no rows under them",
            ));
        }
        Ok(Table {
            kind,
            columns,
            positions,
            rows: data,
            ignored,
            problems,
        })
    }
}

/// One row being read: its cells by field, and what is wrong with them.
struct Row<'t> {
    number: u32,
    table: &'t Table,
    cells: &'t [ReadCell],
    problems: Vec<RowProblem>,
}

static EMPTY: ReadCell = ReadCell::Empty;

impl<'t> Row<'t> {
    fn index(&self, field: &str) -> Option<usize> {
        self.table.columns.iter().position(|c| c.field == field)
    }

    fn cell(&self, field: &str) -> &'t ReadCell {
        let at = self
            .index(field)
            .and_then(|i| self.table.positions[i].as_ref())
            .map(|(at, _)| *at);
        at.and_then(|at| self.cells.get(at)).unwrap_or(&EMPTY)
    }

    /// The column's header as the file writes it (or the template's).
    fn header(&self, field: &str) -> Option<String> {
        let i = self.index(field)?;
        Some(match &self.table.positions[i] {
            Some((_, header)) => header.clone(),
            None => self.table.columns[i].header(self.table.kind, crate::i18n::Lang::ZhCn),
        })
    }

    fn problem(&mut self, field: Option<&str>, code: &str, message: impl Into<String>) {
        self.problems.push(RowProblem {
            row: self.number,
            column: field.and_then(|f| self.header(f)),
            field: field.map(str::to_string),
            code: code.to_string(),
            message: message.into(),
        });
    }

    /// The problems of a service's refusal, its fields named as the file's
    /// columns by `field_of`; an error that is no fault of the row (the
    /// database is gone) ends the import.
    fn refused(&mut self, e: AppError, field_of: &dyn Fn(&str) -> String) -> AppResult<()> {
        let code = e.code();
        match e {
            AppError::Validation(errors)
            | AppError::Rule { errors, .. }
            | AppError::BadRequest { errors, .. }
                if !errors.is_empty() =>
            {
                for fe in errors {
                    let field = field_of(&fe.field);
                    self.problem(Some(&field), code, fe.message);
                }
            }
            AppError::MissingReference { field, detail } => {
                let field = field_of(&field);
                self.problem(Some(&field), code, detail);
            }
            AppError::Conflict {
                code: "code_taken",
                detail,
            } => self.problem(Some(&field_of("code")), "code_taken", detail),
            e @ (AppError::Rule { .. }
            | AppError::Conflict { .. }
            | AppError::BadRequest { .. }
            | AppError::NotFound(_)
            | AppError::Forbidden(_)) => self.problem(None, code, e.to_string()),
            other => return Err(other),
        }
        Ok(())
    }

    fn text(&self, field: &str) -> Option<String> {
        Some(self.cell(field).text()).filter(|t| !t.is_empty())
    }

    fn required_text(&mut self, field: &str) -> String {
        match self.text(field) {
            Some(t) => t,
            None => {
                self.problem(
                    Some(field),
                    "missing_value",
                    "this column must be filled in",
                );
                String::new()
            }
        }
    }

    fn date(&mut self, field: &str, required: bool) -> Option<chrono::NaiveDate> {
        let cell = self.cell(field);
        if cell.is_empty() {
            if required {
                self.problem(
                    Some(field),
                    "missing_value",
                    "this column must be filled in",
                );
            }
            return None;
        }
        let day = read::date(cell);
        if day.is_none() {
            self.problem(
                Some(field),
                "invalid_date",
                format!(
                    "{:?} is not a date: write 2021-05-08, 2021/5/8 or 2021年5月8日, or use a date cell",
                    cell.text()
                ),
            );
        }
        day
    }

    fn number(&mut self, field: &str) -> Option<f64> {
        let cell = self.cell(field);
        let value = match cell {
            ReadCell::Empty => return None,
            ReadCell::Number(n) => Some(*n),
            other => {
                let text = other.text().replace([',', '，'], "");
                if text.is_empty() {
                    return None;
                }
                text.parse::<f64>().ok().filter(|n| n.is_finite())
            }
        };
        if value.is_none() {
            self.problem(
                Some(field),
                "invalid_number",
                format!("{:?} is not a number", cell.text()),
            );
        }
        value
    }

    fn integer(&mut self, field: &str) -> Option<i32> {
        let n = self.number(field)?;
        if n.fract() != 0.0 || n.abs() > f64::from(i32::MAX) {
            self.problem(
                Some(field),
                "invalid_number",
                format!("{n} is not a whole number"),
            );
            return None;
        }
        Some(n as i32)
    }

    fn yes_no(&mut self, field: &str) -> bool {
        let cell = self.cell(field);
        match cell {
            ReadCell::Empty => false,
            ReadCell::Bool(b) => *b,
            ReadCell::Number(n) if *n == 0.0 || *n == 1.0 => *n == 1.0,
            other => {
                let text = other.text().to_lowercase();
                let yes = [crate::i18n::Lang::En, crate::i18n::Lang::ZhCn]
                    .map(|l| crate::i18n::column(l, "value.yes").to_lowercase());
                let no = [crate::i18n::Lang::En, crate::i18n::Lang::ZhCn]
                    .map(|l| crate::i18n::column(l, "value.no").to_lowercase());
                if yes.contains(&text) || ["y", "true", "√", "✓"].contains(&text.as_str()) {
                    true
                } else if no.contains(&text)
                    || ["n", "false", "×", "x", ""].contains(&text.as_str())
                {
                    false
                } else {
                    self.problem(
                        Some(field),
                        "invalid_choice",
                        format!("{:?} is neither 是 (yes) nor 否 (no)", other.text()),
                    );
                    false
                }
            }
        }
    }

    fn customer_kind(&mut self, field: &str) -> Option<CustomerKind> {
        let text = self.text(field)?;
        let found = CustomerKind::ALL.iter().copied().find(|k| {
            text == k.as_str()
                || crate::i18n::Lang::ALL
                    .iter()
                    .any(|l| crate::i18n::label(*l, "CustomerKind", k.as_str()) == text)
        });
        if found.is_none() {
            let choices: Vec<String> = CustomerKind::ALL
                .iter()
                .map(|k| crate::i18n::label(crate::i18n::Lang::ZhCn, "CustomerKind", k.as_str()))
                .collect();
            self.problem(
                Some(field),
                "invalid_choice",
                format!(
                    "{text:?} is not a customer kind: one of {}",
                    choices.join("、")
                ),
            );
        }
        found
    }
}

/// A unit's id, scope path and parent.
type UnitRow = (i64, String, Option<i64>);

/// What the rows so far have found and made, so that later rows refer to
/// them: units by name, customers by branch and name, codes taken.
struct Importer<'a> {
    ctx: Ctx<'a>,
    table: &'a Table,
    units: HashMap<(OrgUnitKind, String), Vec<UnitRow>>,
    customers: HashMap<(i64, String), Vec<i64>>,
    /// Customers this file created, kept once their row is kept.
    created_customers: HashMap<(i64, String), (u32, Option<i64>)>,
    codes: HashMap<(i64, String), u32>,
}

impl<'a> Importer<'a> {
    fn new(ctx: Ctx<'a>, table: &'a Table) -> Self {
        Importer {
            ctx,
            table,
            units: HashMap::new(),
            customers: HashMap::new(),
            created_customers: HashMap::new(),
            codes: HashMap::new(),
        }
    }

    fn rows(&mut self, conn: &mut DbConn, report: &mut ImportReport) -> AppResult<()> {
        for (number, cells) in &self.table.rows {
            if cells.iter().all(ReadCell::is_empty) {
                continue;
            }
            let mut row = Row {
                number: *number,
                table: self.table,
                cells,
                problems: vec![],
            };
            // each row in its own savepoint: a refused row leaves nothing behind
            let mut made = None;
            let kept = conn.transaction(|conn| {
                let result = match self.table.kind {
                    ImportKind::Customers => self
                        .customer_row(conn, &mut row)
                        .map(|c| c.map(Made::Customer)),
                    ImportKind::Projects => self.project_row(conn, &mut row),
                };
                match result? {
                    Some(m) if row.problems.is_empty() => {
                        made = Some(m);
                        Ok(())
                    }
                    _ => Err(rolled_back()),
                }
            });
            match kept {
                Ok(()) => {}
                Err(e) if is_rolled_back(&e) => {}
                Err(e) => return Err(e),
            }
            if !row.problems.is_empty() {
                report.problems.append(&mut row.problems);
                continue;
            }
            let dry = report.dry_run;
            match made {
                Some(Made::Customer(c)) => {
                    self.remember_customer(&c);
                    report.customers.push(ImportedCustomer {
                        id: c.id.filter(|_| !dry),
                        ..c
                    });
                }
                Some(Made::Project(p, customer)) => {
                    if let Some(c) = customer {
                        self.remember_customer(&c);
                        report.customers.push(ImportedCustomer {
                            id: c.id.filter(|_| !dry),
                            ..c
                        });
                    }
                    let key = (p.1, p.0.code.clone());
                    self.codes.insert(key, *number);
                    report.projects.push(ImportedProject {
                        id: p.0.id.filter(|_| !dry),
                        customer_id: p.0.customer_id.filter(|_| !dry || !p.2),
                        ..p.0
                    });
                }
                None => {}
            }
        }
        Ok(())
    }

    fn remember_customer(&mut self, c: &ImportedCustomer) {
        let key = (c.branch_id, c.name.clone());
        self.created_customers.insert(key.clone(), (c.row, c.id));
        if let Some(id) = c.id {
            self.customers.insert(key, vec![id]);
        }
    }

    /// Units of `kind` named `name` (or with that id) in the caller's scope.
    fn units_named(
        &mut self,
        conn: &mut DbConn,
        kind: OrgUnitKind,
        name: &str,
    ) -> AppResult<Vec<UnitRow>> {
        let key = (kind, name.to_string());
        if let Some(found) = self.units.get(&key) {
            return Ok(found.clone());
        }
        let mut rows: Vec<UnitRow> = org_units::table
            .filter(org_units::kind.eq(kind.as_str()))
            .filter(org_units::name.eq(name))
            .select((org_units::id, org_units::path, org_units::parent_id))
            .load(conn)?;
        if rows.is_empty() {
            if let Ok(id) = name.parse::<i64>() {
                rows = org_units::table
                    .filter(org_units::kind.eq(kind.as_str()))
                    .filter(org_units::id.eq(id))
                    .select((org_units::id, org_units::path, org_units::parent_id))
                    .load(conn)?;
            }
        }
        let scope = self.ctx.actor.scope();
        rows.retain(|(_, path, _)| scope.covers_path(path));
        self.units.insert(key, rows.clone());
        Ok(rows)
    }

    /// The one unit a cell names; a name outside the caller's scope is as
    /// unknown as one that does not exist.
    fn unit(
        &mut self,
        conn: &mut DbConn,
        row: &mut Row<'_>,
        field: &str,
        kind: OrgUnitKind,
    ) -> AppResult<Option<(i64, Option<i64>)>> {
        let name = row.required_text(field);
        if name.is_empty() {
            return Ok(None);
        }
        let found = self.units_named(conn, kind, &name)?;
        let what = crate::i18n::label(crate::i18n::Lang::ZhCn, "OrgUnitKind", kind.as_str());
        match found.as_slice() {
            [(id, _, parent)] => Ok(Some((*id, *parent))),
            [] => {
                row.problem(
                    Some(field),
                    "not_found",
                    format!("no {kind} ({what}) named {name:?} in your scope"),
                );
                Ok(None)
            }
            many => {
                let ids: Vec<String> = many.iter().map(|(id, _, _)| id.to_string()).collect();
                row.problem(
                    Some(field),
                    "ambiguous_name",
                    format!(
                        "{} units of your scope are named {name:?} (ids {}): write the id instead",
                        many.len(),
                        ids.join(", ")
                    ),
                );
                Ok(None)
            }
        }
    }

    fn customers_named(
        &mut self,
        conn: &mut DbConn,
        branch_id: i64,
        name: &str,
    ) -> AppResult<Vec<i64>> {
        let key = (branch_id, name.to_string());
        if let Some(found) = self.customers.get(&key) {
            return Ok(found.clone());
        }
        let rows: Vec<(i64, String)> = customers::table
            .filter(customers::branch_id.eq(branch_id))
            .filter(customers::name.eq(name))
            .select((customers::id, customers::scope_path))
            .load(conn)?;
        let scope = self.ctx.actor.scope();
        let ids: Vec<i64> = rows
            .into_iter()
            .filter(|(_, path)| scope.reaches_path(path))
            .map(|(id, _)| id)
            .collect();
        self.customers.insert(key, ids.clone());
        Ok(ids)
    }

    fn customer_row(
        &mut self,
        conn: &mut DbConn,
        row: &mut Row<'_>,
    ) -> AppResult<Option<ImportedCustomer>> {
        let name = row.required_text("name");
        let kind = row.customer_kind("kind");
        if kind.is_none() && row.text("kind").is_none() {
            row.problem(
                Some("kind"),
                "missing_value",
                "this column must be filled in",
            );
        }
        let serious_problems = row.yes_no("serious_problems");
        let branch = self.unit(conn, row, "branch", OrgUnitKind::Branch)?;
        let (Some(kind), Some((branch_id, _))) = (kind, branch) else {
            return Ok(None);
        };
        if name.is_empty() || !row.problems.is_empty() {
            return Ok(None);
        }
        if let Some((first, _)) = self.created_customers.get(&(branch_id, name.clone())) {
            row.problem(
                Some("name"),
                "customer_exists",
                format!("row {first} already has the customer {name:?} of this branch"),
            );
            return Ok(None);
        }
        if !self.customers_named(conn, branch_id, &name)?.is_empty() {
            row.problem(
                Some("name"),
                "customer_exists",
                format!("the branch already has a customer named {name:?}"),
            );
            return Ok(None);
        }
        let input = NewCustomerInput {
            name: name.clone(),
            kind,
            branch_id,
            contact_name: row.text("contact_name"),
            contact_phone: row.text("contact_phone"),
            address: row.text("address"),
            serious_problems,
        };
        let field_of = |f: &str| match f {
            "branch_id" => "branch".to_string(),
            other => other.to_string(),
        };
        if let Err(e) = input.validate() {
            row.refused(crate::api::extract::validation_error(e), &field_of)?;
            return Ok(None);
        }
        let ctx = self.ctx;
        match customer_service::create(conn, ctx.actor, ctx.config, ctx.now, &input) {
            Ok(profile) => Ok(Some(ImportedCustomer {
                row: row.number,
                id: Some(profile.customer.id),
                name,
                branch_id,
            })),
            Err(e) => {
                row.refused(e, &field_of)?;
                Ok(None)
            }
        }
    }

    /// The project's customer: one of the department's branch by name, or
    /// one this file creates (with a customer kind given).
    fn project_customer(
        &mut self,
        conn: &mut DbConn,
        row: &mut Row<'_>,
        branch_id: i64,
    ) -> AppResult<Option<(i64, Option<ImportedCustomer>)>> {
        let name = row.required_text("customer");
        let kind = row.customer_kind("customer_kind");
        if name.is_empty() {
            return Ok(None);
        }
        match self.customers_named(conn, branch_id, &name)?.as_slice() {
            [id] => return Ok(Some((*id, None))),
            [] => {}
            many => {
                row.problem(
                    Some("customer"),
                    "ambiguous_name",
                    format!("{} customers of the branch are named {name:?}", many.len()),
                );
                return Ok(None);
            }
        }
        let Some(kind) = kind else {
            if row.text("customer_kind").is_none() {
                row.problem(
                    Some("customer"),
                    "not_found",
                    format!(
                        "no customer named {name:?} in the department's branch: import it first, or give its kind to create it"
                    ),
                );
            }
            return Ok(None);
        };
        let input = NewCustomerInput {
            name: name.clone(),
            kind,
            branch_id,
            contact_name: None,
            contact_phone: None,
            address: None,
            serious_problems: false,
        };
        let field_of = |f: &str| match f {
            "name" => "customer".to_string(),
            "kind" => "customer_kind".to_string(),
            _ => "customer".to_string(),
        };
        if let Err(e) = input.validate() {
            row.refused(crate::api::extract::validation_error(e), &field_of)?;
            return Ok(None);
        }
        let ctx = self.ctx;
        match customer_service::create(conn, ctx.actor, ctx.config, ctx.now, &input) {
            Ok(profile) => {
                let id = profile.customer.id;
                Ok(Some((
                    id,
                    Some(ImportedCustomer {
                        row: row.number,
                        id: Some(id),
                        name,
                        branch_id,
                    }),
                )))
            }
            Err(e) => {
                row.refused(e, &field_of)?;
                Ok(None)
            }
        }
    }

    fn project_row(&mut self, conn: &mut DbConn, row: &mut Row<'_>) -> AppResult<Option<Made>> {
        let code = row.required_text("code");
        let name = row.required_text("name");
        let address = row.required_text("address");
        let completion = row.date("completion_accepted_on", true);
        let handover = row.date("handover_on", true);
        let systems = row.date("systems_in_operation_on", false);
        let building_area = row.number("building_area");
        let life = row.integer("design_service_life_years");
        let is_key_project = row.yes_no("is_key_project");
        let hvac_in_scope = row.yes_no("hvac_in_scope");
        let contacts = contacts_of(row);
        let terms = terms_of(row);
        let department = self.unit(
            conn,
            row,
            "project_department",
            OrgUnitKind::ProjectDepartment,
        )?;
        let Some((department_id, Some(branch_id))) = department else {
            return Ok(None);
        };
        if !code.is_empty() {
            if let Some(first) = self.codes.get(&(branch_id, code.clone())) {
                row.problem(
                    Some("code"),
                    "code_taken",
                    format!("row {first} already has the project code {code:?} in this branch"),
                );
            }
        }
        let customer = self.project_customer(conn, row, branch_id)?;
        let (Some(completion), Some(handover), Some((customer_id, new_customer))) =
            (completion, handover, customer)
        else {
            return Ok(None);
        };
        if !row.problems.is_empty() {
            return Ok(None);
        }
        let input = NewProjectInput {
            code: code.clone(),
            name: name.clone(),
            address,
            project_department_id: department_id,
            customer_id,
            contract_number: row.text("contract_number"),
            building_area,
            structure_type: row.text("structure_type"),
            quality_grade: row.text("quality_grade"),
            completion_accepted_on: completion,
            handover_on: handover,
            is_key_project,
            hvac_in_scope,
            systems_in_operation_on: systems,
            design_service_life_years: life,
        };
        let field_of = |f: &str| match f {
            "project_department_id" => "project_department".to_string(),
            "customer_id" => "customer".to_string(),
            other => other.to_string(),
        };
        if let Err(e) = input.validate() {
            row.refused(crate::api::extract::validation_error(e), &field_of)?;
            return Ok(None);
        }
        let ctx = self.ctx;
        let (project, clock_started) = match projects::enter(
            conn,
            ctx.actor,
            ctx.config,
            ctx.now,
            &input,
            ctx.actor.import_id,
        ) {
            Ok(entered) => entered,
            Err(e) => {
                row.refused(e, &field_of)?;
                return Ok(None);
            }
        };
        for (role, contact) in contacts {
            let field_of = |f: &str| format!("contacts.{role}.{f}");
            if let Err(e) = contact.validate() {
                row.refused(crate::api::extract::validation_error(e), &field_of)?;
                continue;
            }
            if let Err(e) = projects::insert_contact(conn, ctx.actor, ctx.now, project.id, &contact)
            {
                row.refused(e, &field_of)?;
            }
        }
        for (category, length) in terms {
            let field_of = |_: &str| format!("warranty_terms.{category}");
            if let Err(e) = projects::write_term(
                conn,
                (ctx.actor, ctx.config, ctx.now),
                &project,
                category,
                length,
                None,
                None,
            ) {
                row.refused(e, &field_of)?;
            }
        }
        let missing = ledger::gaps(conn, &project)?;
        Ok(Some(Made::Project(
            (
                ImportedProject {
                    row: row.number,
                    id: Some(project.id),
                    code,
                    name,
                    customer_id: Some(customer_id),
                    ledger_clock_started: clock_started,
                    ledger_complete: missing.is_empty(),
                    missing,
                },
                branch_id,
                new_customer.is_some(),
            ),
            new_customer,
        )))
    }
}

/// What a kept row made.
enum Made {
    Customer(ImportedCustomer),
    /// The project (with its branch, and whether the row created its
    /// customer) and the customer it created.
    Project((ImportedProject, i64, bool), Option<ImportedCustomer>),
}

/// The contacts a row names: a name needs its phone and a phone its name.
fn contacts_of(row: &mut Row<'_>) -> Vec<(ContactRole, NewContactInput)> {
    let mut contacts = vec![];
    for role in ContactRole::ALL {
        let field = |part: &str| format!("contacts.{role}.{part}");
        let (name, phone) = (row.text(&field("name")), row.text(&field("phone")));
        let company = row.text(&field("company"));
        let label = crate::i18n::label(crate::i18n::Lang::ZhCn, "ContactRole", role.as_str());
        match (name, phone) {
            (None, None) => {}
            (Some(_), None) => row.problem(
                Some(&field("phone")),
                "missing_value",
                format!(
                    "the {role} ({label}) has a name but no phone: a ledger's contact needs both"
                ),
            ),
            (None, Some(_)) => row.problem(
                Some(&field("name")),
                "missing_value",
                format!("the {role} ({label}) has a phone but no name"),
            ),
            (Some(name), Some(phone)) => contacts.push((
                *role,
                NewContactInput {
                    role: *role,
                    name,
                    phone,
                    company,
                },
            )),
        }
    }
    contacts
}

/// The warranty terms a row sets beyond the statutory minimums.
fn terms_of(row: &mut Row<'_>) -> Vec<(WarrantyCategory, Length)> {
    let mut terms = vec![];
    for category in WarrantyCategory::ALL {
        if *category == WarrantyCategory::Other {
            continue;
        }
        let field = format!("warranty_terms.{category}");
        if let Some(n) = row.integer(&field) {
            let length = if *category == WarrantyCategory::HeatingCooling {
                Length::Periods(n)
            } else {
                Length::Years(n)
            };
            if n < 1 {
                row.problem(
                    Some(&field),
                    "invalid_number",
                    "a warranty lasts at least 1",
                );
            } else {
                terms.push((*category, length));
            }
        }
    }
    terms
}
