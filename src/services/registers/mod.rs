//! The registers the companies keep on paper, with the columns of the
//! standard's forms: the completed-projects ledger (appendix C), the
//! complaint register (投诉台账), the visit records (appendix D) and the
//! repair records (表3.3.2). Read a page at a time in id order (keyset on
//! the primary key, the area and period filters beside it), so that an
//! export of any size holds one page in memory.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::kit::deadlines::calendar;
use crate::services::reports::sheet::{col, Cell, Column, Kind};
use crate::services::reports::{area_sql, date_literal, load, ts_literal, Area};

/// Rows read at a time.
pub const PAGE: usize = 1000;

/// Which register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Register {
    /// 竣工工程信息台账 (appendix C): a project a row
    Ledger,
    /// 投诉台账: a complaint a row
    Complaints,
    /// 回访记录 (appendix D): a visit a row, with its plan item's day
    Visits,
    /// 维修记录 (表3.3.2): a repair a row
    Repairs,
}

/// What a register is narrowed to beside its area: the days of its main
/// date (handover, receipt, visit, report; company time, both included)
/// and the record's state.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub status: Option<String>,
}

/// A register's columns and how each is read: the column, and its SQL
/// (as text; a yes/no as `yes` or `no`).
struct Spec {
    name: &'static str,
    title_zh: &'static str,
    columns: &'static [Column],
    sql: &'static [&'static str],
    /// The table and its joins; `t` is the record.
    from: &'static str,
    /// The main date, and whether it is a day (not an instant).
    date: (&'static str, bool),
    status: &'static str,
    /// The states `status` may name.
    states: fn() -> Vec<&'static str>,
}

const YES: &str = "CASE WHEN {} THEN 'yes' ELSE 'no' END";

fn yes(column: &str) -> String {
    YES.replace("{}", column)
}

const LEDGER_COLUMNS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("code", "code", Kind::Text),
    col("name", "name.1", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("project_department", "project_department", Kind::Text),
    col("customer", "customer", Kind::Text),
    col("address", "address", Kind::Text),
    col("structure_type", "structure_type", Kind::Text),
    col("building_area", "building_area", Kind::Number),
    col("contract_number", "contract_number", Kind::Text),
    col("quality_grade", "quality_grade", Kind::Text),
    col(
        "completion_accepted_on",
        "completion_accepted_on",
        Kind::Date,
    ),
    col("handover_on", "handover_on", Kind::Date),
    col("is_key_project", "is_key_project", Kind::Text),
    col("hvac_in_scope", "hvac_in_scope", Kind::Text),
    col("warranty_lead", "warranty_lead", Kind::Text),
    col("project_manager", "project_manager", Kind::Text),
    col(
        "owner_engineering_manager",
        "owner_engineering_manager",
        Kind::Text,
    ),
    col("property_manager", "property_manager", Kind::Text),
    col("ledger_status", "ledger_status", Kind::Text),
];

const LEDGER_SQL: &[&str] = &[
    "t.id",
    "t.code",
    "t.name",
    "b.name",
    "d.name",
    "c.name",
    "t.address",
    "t.structure_type",
    "t.building_area",
    "t.contract_number",
    "t.quality_grade",
    "t.completion_accepted_on",
    "t.handover_on",
    "yes:t.is_key_project",
    "yes:t.hvac_in_scope",
    "contact:warranty_lead",
    "contact:project_manager",
    "contact:owner_engineering_manager",
    "contact:property_manager",
    "t.ledger_status",
];

const COMPLAINT_COLUMNS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("received_at", "received_at", Kind::DateTime),
    col("channel", "channel", Kind::Text),
    col("category", "category.1", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("project_code", "project_code", Kind::Text),
    col("project_name", "project_name", Kind::Text),
    col("customer", "customer", Kind::Text),
    col("complainant_name", "complainant_name", Kind::Text),
    col("complainant_phone", "complainant_phone", Kind::Text),
    col("description", "description.1", Kind::Text),
    col("sent_to_group", "sent_to_group", Kind::Text),
    col("is_repeat", "is_repeat.1", Kind::Text),
    col("repeat_of", "repeat_of.1", Kind::Integer),
    col("liability", "liability.1", Kind::Text),
    col("severity", "severity.1", Kind::Text),
    col("judged_at", "judged_at", Kind::DateTime),
    col("status", "status.1", Kind::Text),
    col("filing_status", "filing_status", Kind::Text),
    col("rounds", "rounds.1", Kind::Integer),
    col("rating", "rating", Kind::Text),
    col("closed_at", "closed_at", Kind::DateTime),
];

const COMPLAINT_SQL: &[&str] = &[
    "t.id",
    "t.received_at",
    "t.channel",
    "t.category",
    "b.name",
    "p.code",
    "p.name",
    "c.name",
    "t.complainant_name",
    "t.complainant_phone",
    "t.description",
    "yes:t.sent_to_group",
    "yes:t.is_repeat",
    "t.repeat_of",
    "t.liability",
    "t.severity",
    "t.judged_at",
    "t.status",
    "t.filing_status",
    "t.rounds",
    "t.rating",
    "t.closed_at",
];

const VISIT_COLUMNS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("visited_at", "visited_at", Kind::DateTime),
    col("planned_on", "planned_on", Kind::Date),
    col("kind", "kind", Kind::Text),
    col("method", "method", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("project_code", "project_code", Kind::Text),
    col("project_name", "project_name", Kind::Text),
    col("customer", "customer", Kind::Text),
    col("outcome", "outcome", Kind::Text),
    col("contact_failed_reason", "contact_failed_reason", Kind::Text),
    col("people_met", "people_met", Kind::Text),
    col("findings", "findings", Kind::Text),
    col("owner_opinion", "owner_opinion", Kind::Text),
    col("issues", "issues", Kind::Integer),
    col("rating", "rating", Kind::Text),
    col("weighted_score", "weighted_score.1", Kind::Number),
    col("recorded_late", "recorded_late", Kind::Text),
    col("confirmation", "confirmation", Kind::Text),
    col("status", "status.2", Kind::Text),
];

const VISIT_SQL: &[&str] = &[
    "t.id",
    "t.visited_at",
    "i.planned_on",
    "t.kind",
    "t.method",
    "b.name",
    "p.code",
    "p.name",
    "c.name",
    "t.outcome",
    "t.contact_failed_reason",
    "t.people_met",
    "t.findings",
    "t.owner_opinion",
    "(SELECT COUNT(*) FROM visit_issues vi WHERE vi.visit_id = t.id)",
    "s.rating",
    "s.weighted_score_tenths / 10.0",
    "yes:t.recorded_late",
    "t.confirmation",
    "t.status",
];

const REPAIR_COLUMNS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("reported_at", "reported_at", Kind::DateTime),
    col("source", "source", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("project_code", "project_code", Kind::Text),
    col("project_name", "project_name", Kind::Text),
    col("customer", "customer", Kind::Text),
    col("category", "category.2", Kind::Text),
    col("location", "location", Kind::Text),
    col("description", "description.2", Kind::Text),
    col("severity", "severity.2", Kind::Text),
    col("status", "status.2", Kind::Text),
    col("covered", "covered", Kind::Text),
    col("liability", "liability.2", Kind::Text),
    col("payer", "payer", Kind::Text),
    col("billable", "billable", Kind::Text),
    col("scale", "scale", Kind::Text),
    col("rounds", "rounds.2", Kind::Integer),
    col("is_repeat", "is_repeat.2", Kind::Text),
    col("repeat_of", "repeat_of.2", Kind::Integer),
    col("closed_at", "closed_at", Kind::DateTime),
];

const REPAIR_SQL: &[&str] = &[
    "t.id",
    "t.reported_at",
    "t.source",
    "b.name",
    "p.code",
    "p.name",
    "c.name",
    "t.category",
    "t.location",
    "t.description",
    "t.severity",
    "t.status",
    "yes:t.covered",
    "t.liability",
    "t.payer",
    "yes:t.billable",
    "t.scale",
    "t.rounds",
    "yes:t.is_repeat",
    "t.repeat_of",
    "t.closed_at",
];

fn spec(register: Register) -> Spec {
    use crate::models::{complaint::ComplaintStatus, project::ApprovalStatus};
    use crate::models::{repair::RepairStatus, visit::VisitStatus};
    match register {
        Register::Ledger => Spec {
            name: "ledger",
            title_zh: "竣工工程信息台账",
            columns: LEDGER_COLUMNS,
            sql: LEDGER_SQL,
            from: "projects t JOIN org_units b ON b.id = t.branch_id \
                   JOIN org_units d ON d.id = t.project_department_id JOIN customers c ON c.id = t.customer_id",
            date: ("t.handover_on", true),
            status: "t.ledger_status",
            states: || ApprovalStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
        Register::Complaints => Spec {
            name: "complaints",
            title_zh: "投诉台账",
            columns: COMPLAINT_COLUMNS,
            sql: COMPLAINT_SQL,
            from: "complaints t LEFT JOIN org_units b ON b.id = t.branch_id \
                   JOIN projects p ON p.id = t.project_id JOIN customers c ON c.id = t.customer_id",
            date: ("t.received_at", false),
            status: "t.status",
            states: || ComplaintStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
        Register::Visits => Spec {
            name: "visits",
            title_zh: "回访记录",
            columns: VISIT_COLUMNS,
            sql: VISIT_SQL,
            from: concat!(
                "visits t LEFT JOIN visit_plan_items i ON i.id = t.plan_item_id \
                 LEFT JOIN visit_surveys s ON s.visit_id = t.id ",
                "JOIN org_units b ON b.id = t.branch_id \
                 JOIN projects p ON p.id = t.project_id JOIN customers c ON c.id = t.customer_id"
            ),
            date: ("t.visited_at", false),
            status: "t.status",
            states: || VisitStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
        Register::Repairs => Spec {
            name: "repairs",
            title_zh: "维修记录",
            columns: REPAIR_COLUMNS,
            sql: REPAIR_SQL,
            from: concat!("repairs t ", "JOIN org_units b ON b.id = t.branch_id \
                 JOIN projects p ON p.id = t.project_id JOIN customers c ON c.id = t.customer_id"),
            date: ("t.reported_at", false),
            status: "t.status",
            states: || RepairStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
    }
}

/// A page of a register as text columns (as many as the widest register).
#[derive(QueryableByName)]
struct Wide {
    #[diesel(sql_type = Nullable<Text>)]
    c0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c5: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c6: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c7: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c8: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c9: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c10: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c11: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c12: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c13: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c14: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c15: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c16: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c17: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c18: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c19: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c20: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c21: Option<String>,
}

const WIDTH: usize = 22;

impl Wide {
    fn into_vec(self) -> Vec<Option<String>> {
        vec![
            self.c0, self.c1, self.c2, self.c3, self.c4, self.c5, self.c6, self.c7, self.c8,
            self.c9, self.c10, self.c11, self.c12, self.c13, self.c14, self.c15, self.c16,
            self.c17, self.c18, self.c19, self.c20, self.c21,
        ]
    }
}

/// The register's name (the sheet's and the file's), its Chinese title
/// and its columns.
pub fn columns(register: Register) -> (&'static str, &'static str, &'static [Column]) {
    let s = spec(register);
    (s.name, s.title_zh, s.columns)
}

/// Checks the filter against the register: a state it has (422 naming
/// `status`), a period that does not end before it begins (422 naming `to`).
pub fn check(register: Register, filter: &RegisterFilter) -> AppResult<()> {
    let s = spec(register);
    if let Some(status) = &filter.status {
        let states = (s.states)();
        if !states.contains(&status.as_str()) {
            return Err(AppError::invalid(
                "status",
                format!("the {} register's states are {}", s.name, states.join(", ")),
            ));
        }
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to < from {
            return Err(AppError::invalid("to", "the period ends before it begins"));
        }
    }
    Ok(())
}

/// The SQL of one column, as text.
fn column_sql(sql: &str) -> String {
    let text = |e: &str| format!("CAST({e} AS TEXT)");
    if let Some(c) = sql.strip_prefix("yes:") {
        // a NULL yes/no stays empty
        return format!("CASE WHEN {c} IS NULL THEN NULL ELSE {} END", yes(c));
    }
    if let Some(role) = sql.strip_prefix("contact:") {
        return format!(
            "(SELECT pc.name || ' ' || pc.phone FROM project_contacts pc WHERE pc.project_id = t.id AND pc.role = '{role}' \
             ORDER BY pc.id LIMIT 1)"
        );
    }
    text(sql)
}

/// One page of the register in the area: the rows after id `after`, at
/// most [`PAGE`], as cells (times in company time).
pub fn page(
    conn: &mut DbConn,
    register: Register,
    area: &Area,
    filter: &RegisterFilter,
    tz: Tz,
    after: i64,
) -> AppResult<Vec<Vec<Cell>>> {
    let s = spec(register);
    let mut select: Vec<String> = s
        .sql
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{} AS c{i}", column_sql(e)))
        .collect();
    for i in s.sql.len()..WIDTH {
        select.push(format!("CAST(NULL AS TEXT) AS c{i}"));
    }
    let project = if register == Register::Ledger {
        "t.id"
    } else {
        "t.project_id"
    };
    let mut sql = format!(
        "SELECT {} FROM {} WHERE t.id > {after}{}",
        select.join(", "),
        s.from,
        area_sql(area, "t.scope_path", project),
    );
    let (date, is_day) = s.date;
    let bound = |day: NaiveDate| {
        if is_day {
            date_literal(conn, day)
        } else {
            ts_literal(conn, calendar::local_midnight(day, tz))
        }
    };
    if let Some(from) = filter.from {
        sql.push_str(&format!(" AND {date} >= {}", bound(from)));
    }
    if let Some(to) = filter.to {
        let next = to.succ_opt().unwrap_or(to);
        sql.push_str(&format!(" AND {date} < {}", bound(next)));
    }
    if let Some(status) = &filter.status {
        // one of the register's own states (checked): written as a literal
        if (s.states)().contains(&status.as_str()) {
            sql.push_str(&format!(" AND {} = '{status}'", s.status));
        }
    }
    sql.push_str(&format!(" ORDER BY t.id LIMIT {PAGE}"));
    let rows: Vec<Wide> = load(conn, sql)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            r.into_vec()
                .into_iter()
                .zip(s.columns)
                .map(|(text, column)| cell(text, column.kind, tz))
                .collect()
        })
        .collect())
}

/// The id of a register row: its first column.
pub fn row_id(row: &[Cell]) -> i64 {
    match row.first() {
        Some(Cell::Integer(id)) => *id,
        _ => i64::MAX,
    }
}

/// A text column read back as its kind.
fn cell(text: Option<String>, kind: Kind, tz: Tz) -> Cell {
    let Some(text) = text else {
        return Cell::Empty;
    };
    let parsed = match kind {
        Kind::Integer | Kind::Seconds => text.parse::<i64>().ok().map(Cell::Integer),
        Kind::Number | Kind::Ratio => text.parse::<f64>().ok().map(Cell::Number),
        Kind::Date => NaiveDate::parse_from_str(&text[..text.len().min(10)], "%Y-%m-%d")
            .ok()
            .map(Cell::Date),
        Kind::DateTime => {
            let t = text.trim_end_matches("+00").replace('T', " ");
            NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|at| Cell::DateTime(calendar::local_time(at, tz)))
        }
        Kind::Text => None,
    };
    parsed.unwrap_or(Cell::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_register_reads_one_sql_column_per_heading() {
        for r in [
            Register::Ledger,
            Register::Complaints,
            Register::Visits,
            Register::Repairs,
        ] {
            let s = spec(r);
            assert_eq!(s.columns.len(), s.sql.len(), "{}", s.name);
            assert!(s.sql.len() <= WIDTH, "{}", s.name);
            assert_eq!(s.columns[0].field, "id");
        }
    }
}
