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
    col("id", "编号", Kind::Integer),
    col("code", "工程编号", Kind::Text),
    col("name", "工程名称", Kind::Text),
    col("branch", "分公司", Kind::Text),
    col("project_department", "项目部", Kind::Text),
    col("customer", "建设单位", Kind::Text),
    col("address", "工程地址", Kind::Text),
    col("structure_type", "结构类型", Kind::Text),
    col("building_area", "建筑面积", Kind::Number),
    col("contract_number", "合同编号", Kind::Text),
    col("quality_grade", "质量等级", Kind::Text),
    col("completion_accepted_on", "竣工验收日期", Kind::Date),
    col("handover_on", "交付日期", Kind::Date),
    col("is_key_project", "重点工程", Kind::Text),
    col("hvac_in_scope", "含暖通", Kind::Text),
    col("warranty_lead", "保修负责人", Kind::Text),
    col("project_manager", "项目经理", Kind::Text),
    col("owner_engineering_manager", "业主工程部经理", Kind::Text),
    col("property_manager", "物业经理", Kind::Text),
    col("ledger_status", "台账状态", Kind::Text),
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
    col("id", "编号", Kind::Integer),
    col("received_at", "受理时间", Kind::DateTime),
    col("channel", "投诉方式", Kind::Text),
    col("category", "投诉类别", Kind::Text),
    col("branch", "分公司", Kind::Text),
    col("project_code", "工程编号", Kind::Text),
    col("project_name", "工程名称", Kind::Text),
    col("customer", "建设单位", Kind::Text),
    col("complainant_name", "投诉人", Kind::Text),
    col("complainant_phone", "联系电话", Kind::Text),
    col("description", "投诉内容", Kind::Text),
    col("sent_to_group", "报集团", Kind::Text),
    col("is_repeat", "重复投诉", Kind::Text),
    col("repeat_of", "前次投诉", Kind::Integer),
    col("liability", "责任判定", Kind::Text),
    col("severity", "严重程度", Kind::Text),
    col("judged_at", "判定时间", Kind::DateTime),
    col("status", "处理状态", Kind::Text),
    col("filing_status", "备案状态", Kind::Text),
    col("rounds", "处理轮次", Kind::Integer),
    col("rating", "满意度", Kind::Text),
    col("closed_at", "关闭时间", Kind::DateTime),
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
    col("id", "编号", Kind::Integer),
    col("visited_at", "回访时间", Kind::DateTime),
    col("planned_on", "计划日期", Kind::Date),
    col("kind", "回访类型", Kind::Text),
    col("method", "回访方式", Kind::Text),
    col("branch", "分公司", Kind::Text),
    col("project_code", "工程编号", Kind::Text),
    col("project_name", "工程名称", Kind::Text),
    col("customer", "建设单位", Kind::Text),
    col("outcome", "回访结果", Kind::Text),
    col("contact_failed_reason", "未联系上原因", Kind::Text),
    col("people_met", "接待人", Kind::Text),
    col("findings", "回访情况", Kind::Text),
    col("owner_opinion", "业主意见", Kind::Text),
    col("issues", "问题数", Kind::Integer),
    col("rating", "满意度", Kind::Text),
    col("weighted_score", "综合得分", Kind::Number),
    col("recorded_late", "补录", Kind::Text),
    col("confirmation", "业主确认", Kind::Text),
    col("status", "状态", Kind::Text),
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
    col("id", "编号", Kind::Integer),
    col("reported_at", "报修时间", Kind::DateTime),
    col("source", "来源", Kind::Text),
    col("branch", "分公司", Kind::Text),
    col("project_code", "工程编号", Kind::Text),
    col("project_name", "工程名称", Kind::Text),
    col("customer", "建设单位", Kind::Text),
    col("category", "维修类别", Kind::Text),
    col("location", "部位", Kind::Text),
    col("description", "质量问题", Kind::Text),
    col("severity", "紧急程度", Kind::Text),
    col("status", "状态", Kind::Text),
    col("covered", "保修期内", Kind::Text),
    col("liability", "责任", Kind::Text),
    col("payer", "费用承担", Kind::Text),
    col("billable", "有偿", Kind::Text),
    col("scale", "规模", Kind::Text),
    col("rounds", "维修次数", Kind::Integer),
    col("is_repeat", "重复维修", Kind::Text),
    col("repeat_of", "前次维修", Kind::Integer),
    col("closed_at", "关闭时间", Kind::DateTime),
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
