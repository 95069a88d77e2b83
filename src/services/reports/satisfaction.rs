//! Satisfaction: what owners said, from three sources — the visit surveys
//! (ten factors, weighted), the evaluations of complaint handling and the
//! sign-offs of repairs — on the five levels; the satisfaction rate counts
//! `basically_satisfied` and above (the customer satisfaction procedure,
//! §5.10). By branch, by project and by month.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};
use diesel::QueryableByName;
use serde::Serialize;
use utoipa::ToSchema;

use super::sheet::{col, ratio, Cell, Column, Kind, Sheet};
use super::{area_sql, branch_cell, branch_names, load, ts_literal, Area, BranchRef, Period};
use crate::db::DbConn;
use crate::error::AppResult;

/// The ratings of one group of answers on the five levels.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Levels {
    pub very_satisfied: i64,
    pub fairly_satisfied: i64,
    pub basically_satisfied: i64,
    pub somewhat_dissatisfied: i64,
    pub dissatisfied: i64,
    /// All answers counted.
    pub answers: i64,
    /// `very_satisfied + fairly_satisfied + basically_satisfied`.
    pub satisfied: i64,
    /// `satisfied / answers`.
    pub rate: Option<f64>,
}

/// Where a rating comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingSource {
    /// the overall rating of a visit's survey
    VisitSurvey,
    /// the owner's evaluation of a complaint's handling
    ComplaintEvaluation,
    /// the owner's sign-off of a repair
    RepairAcceptance,
}

impl RatingSource {
    fn as_str(self) -> &'static str {
        match self {
            RatingSource::VisitSurvey => "visit_survey",
            RatingSource::ComplaintEvaluation => "complaint_evaluation",
            RatingSource::RepairAcceptance => "repair_acceptance",
        }
    }
}

/// One branch's ratings from one source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceLevels {
    pub branch: Option<BranchRef>,
    pub source: RatingSource,
    #[serde(flatten)]
    pub levels: Levels,
}

/// One branch's visit surveys: the average mark of each factor (0–100)
/// and of the weighted score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FactorAverages {
    pub branch: Option<BranchRef>,
    pub surveys: i64,
    pub communication: Option<f64>,
    pub construction_quality: Option<f64>,
    pub attitude: Option<f64>,
    pub problem_handling: Option<f64>,
    pub preparation: Option<f64>,
    pub schedule: Option<f64>,
    pub safety: Option<f64>,
    pub site_civility: Option<f64>,
    pub environment: Option<f64>,
    pub coordination: Option<f64>,
    /// The weighted score (0–100), averaged.
    pub weighted_score: Option<f64>,
}

/// One project's ratings, all sources together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectLevels {
    pub project_id: i64,
    pub project_name: String,
    pub branch: Option<BranchRef>,
    #[serde(flatten)]
    pub levels: Levels,
}

/// One branch's ratings in one month, all sources together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthLevels {
    pub branch: Option<BranchRef>,
    pub year: i32,
    pub month: i32,
    #[serde(flatten)]
    pub levels: Levels,
}

/// Satisfaction over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "period": {"from": "2026-01-01", "to": "2026-12-31"}, "generated_at": "2026-12-03T08:00:00Z",
    "by_source": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "source": "visit_survey",
        "very_satisfied": 10, "fairly_satisfied": 6, "basically_satisfied": 2, "somewhat_dissatisfied": 1,
        "dissatisfied": 1, "answers": 20, "satisfied": 18, "rate": 0.9}],
    "factors": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "surveys": 20,
        "communication": 88.0, "construction_quality": 84.0, "attitude": 90.0, "problem_handling": 80.0,
        "preparation": 82.0, "schedule": 78.0, "safety": 95.0, "site_civility": 90.0, "environment": 86.0,
        "coordination": 84.0, "weighted_score": 86.1}],
    "by_project": [], "by_month": []
}))]
pub struct SatisfactionReport {
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    /// Per branch and source.
    pub by_source: Vec<SourceLevels>,
    /// Per branch: the visit surveys' factors.
    pub factors: Vec<FactorAverages>,
    /// Per project with answers, the fewest satisfied first.
    pub by_project: Vec<ProjectLevels>,
    /// Per branch and month.
    pub by_month: Vec<MonthLevels>,
}

#[derive(QueryableByName)]
struct LevelRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    /// the source, a project's name, or empty
    #[diesel(sql_type = Text)]
    label: String,
    /// a project id, or 0
    #[diesel(sql_type = BigInt)]
    ref_id: i64,
    #[diesel(sql_type = Integer)]
    year: i32,
    #[diesel(sql_type = Integer)]
    month: i32,
    #[diesel(sql_type = BigInt)]
    very: i64,
    #[diesel(sql_type = BigInt)]
    fairly: i64,
    #[diesel(sql_type = BigInt)]
    basically: i64,
    #[diesel(sql_type = BigInt)]
    somewhat: i64,
    #[diesel(sql_type = BigInt)]
    dissatisfied: i64,
    #[diesel(sql_type = BigInt)]
    answers: i64,
}

impl LevelRow {
    fn levels(&self) -> Levels {
        let satisfied = self.very + self.fairly + self.basically;
        Levels {
            very_satisfied: self.very,
            fairly_satisfied: self.fairly,
            basically_satisfied: self.basically,
            somewhat_dissatisfied: self.somewhat,
            dissatisfied: self.dissatisfied,
            answers: self.answers,
            satisfied,
            rate: ratio(satisfied, self.answers),
        }
    }
}

#[derive(QueryableByName)]
struct FactorRow {
    #[diesel(sql_type = BigInt)]
    branch_id: i64,
    #[diesel(sql_type = BigInt)]
    surveys: i64,
    #[diesel(sql_type = Nullable<Double>)]
    communication: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    construction_quality: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    attitude: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    problem_handling: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    preparation: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    schedule: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    safety: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    site_civility: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    environment: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    coordination: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    weighted_score: Option<f64>,
}

const FACTORS: [&str; 10] = [
    "communication",
    "construction_quality",
    "attitude",
    "problem_handling",
    "preparation",
    "schedule",
    "safety",
    "site_civility",
    "environment",
    "coordination",
];

/// A field of a JSON text column, as text.
fn json_text(conn: &DbConn, column: &str, field: &str) -> String {
    match conn {
        DbConn::Pg(_) => format!("(CAST({column} AS jsonb) ->> '{field}')"),
        DbConn::Sqlite(_) => format!("json_extract({column}, '$.{field}')"),
    }
}

/// The year and month of a timestamp column in the company's time zone:
/// PostgreSQL converts with the zone's rules; SQLite, which knows no
/// zones, shifts by the zone's offset at the start of the period (the
/// company zone, Asia/Shanghai, keeps one offset all year).
pub(crate) fn local_year_month(
    conn: &DbConn,
    column: &str,
    tz: Tz,
    at: NaiveDateTime,
) -> (String, String) {
    match conn {
        DbConn::Pg(_) => (
            format!("CAST(EXTRACT(YEAR FROM ({column} AT TIME ZONE 'UTC' AT TIME ZONE '{}')) AS INTEGER)", tz.name()),
            format!("CAST(EXTRACT(MONTH FROM ({column} AT TIME ZONE 'UTC' AT TIME ZONE '{}')) AS INTEGER)", tz.name()),
        ),
        DbConn::Sqlite(_) => {
            use chrono::Offset;
            let secs = tz.offset_from_utc_datetime(&at).fix().local_minus_utc();
            (
                format!("CAST(strftime('%Y', {column}, '{secs:+} seconds') AS INTEGER)"),
                format!("CAST(strftime('%m', {column}, '{secs:+} seconds') AS INTEGER)"),
            )
        }
    }
}

/// Every rating of the period in the area, one row each: `(branch_id,
/// project_id, source, rating, at)`.
fn ratings_sql(conn: &DbConn, area: &Area, start: NaiveDateTime, end: NaiveDateTime) -> String {
    let (start, end) = (ts_literal(conn, start), ts_literal(conn, end));
    let rating = json_text(conn, "s.details", "rating");
    let area_of = |table: &str| {
        area_sql(
            area,
            &format!("{table}.scope_path"),
            &format!("{table}.project_id"),
        )
    };
    format!(
        "SELECT v.branch_id, v.project_id, 'visit_survey' AS source, vs.rating AS rating, v.visited_at AS rated_at \
           FROM visit_surveys vs JOIN visits v ON v.id = vs.visit_id \
           WHERE v.visited_at >= {start} AND v.visited_at < {end}{va} \
         UNION ALL \
         SELECT c.branch_id, c.project_id, 'complaint_evaluation', e.rating, e.evaluated_at \
           FROM complaint_evaluations e JOIN complaints c ON c.id = e.complaint_id \
           WHERE e.evaluated_at >= {start} AND e.evaluated_at < {end}{ca} \
         UNION ALL \
         SELECT r.branch_id, r.project_id, 'repair_acceptance', {rating}, s.recorded_at \
           FROM repair_steps s JOIN repairs r ON r.id = s.repair_id \
           WHERE s.action = 'accept' AND s.recorded_at >= {start} AND s.recorded_at < {end}{ra}",
        va = area_of("v"),
        ca = area_of("c"),
        ra = area_of("r"),
    )
}

fn level_counts() -> &'static str {
    "CAST(SUM(CASE WHEN rating = 'very_satisfied' THEN 1 ELSE 0 END) AS BIGINT) AS very, \
     CAST(SUM(CASE WHEN rating = 'fairly_satisfied' THEN 1 ELSE 0 END) AS BIGINT) AS fairly, \
     CAST(SUM(CASE WHEN rating = 'basically_satisfied' THEN 1 ELSE 0 END) AS BIGINT) AS basically, \
     CAST(SUM(CASE WHEN rating = 'somewhat_dissatisfied' THEN 1 ELSE 0 END) AS BIGINT) AS somewhat, \
     CAST(SUM(CASE WHEN rating = 'dissatisfied' THEN 1 ELSE 0 END) AS BIGINT) AS dissatisfied, \
     CAST(COUNT(*) AS BIGINT) AS answers"
}

pub fn report(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<SatisfactionReport> {
    let (start, end) = period.bounds(tz);
    let ratings = ratings_sql(conn, area, start, end);
    let levels = level_counts();
    let by_source: Vec<LevelRow> = load(
        conn,
        format!(
            "WITH x AS ({ratings}) SELECT branch_id, source AS label, CAST(0 AS BIGINT) AS ref_id, \
               CAST(0 AS INTEGER) AS year, CAST(0 AS INTEGER) AS month, {levels} \
             FROM x GROUP BY branch_id, source ORDER BY branch_id, source"
        ),
    )?;
    let by_project: Vec<LevelRow> = load(
        conn,
        format!(
            "WITH x AS ({ratings}) SELECT p.branch_id, p.name AS label, p.id AS ref_id, \
               CAST(0 AS INTEGER) AS year, CAST(0 AS INTEGER) AS month, {levels} \
             FROM x JOIN projects p ON p.id = x.project_id \
             GROUP BY p.branch_id, p.id, p.name \
             ORDER BY CAST(SUM(CASE WHEN rating IN ('very_satisfied', 'fairly_satisfied', 'basically_satisfied') \
               THEN 1 ELSE 0 END) AS DOUBLE PRECISION) / COUNT(*), p.id"
        ),
    )?;
    let (year, month) = local_year_month(conn, "rated_at", tz, start);
    let by_month: Vec<LevelRow> = load(
        conn,
        format!(
            "WITH x AS ({ratings}), m AS (SELECT x.*, {year} AS y, {month} AS mo FROM x) \
             SELECT branch_id, '' AS label, CAST(0 AS BIGINT) AS ref_id, CAST(y AS INTEGER) AS year, \
               CAST(mo AS INTEGER) AS month, {levels} \
             FROM m GROUP BY branch_id, y, mo ORDER BY branch_id, y, mo"
        ),
    )?;
    let (s, e) = (ts_literal(conn, start), ts_literal(conn, end));
    let mark = |f: &str| {
        format!(
            "AVG(CAST(CAST({} AS INTEGER) AS DOUBLE PRECISION)) AS {f}",
            json_text(conn, "vs.scores", f)
        )
    };
    let marks: Vec<String> = FACTORS.iter().map(|f| mark(f)).collect();
    let factors: Vec<FactorRow> = load(
        conn,
        format!(
            "SELECT v.branch_id, CAST(COUNT(*) AS BIGINT) AS surveys, {}, \
               AVG(CAST(vs.weighted_score_tenths AS DOUBLE PRECISION)) / 10.0 AS weighted_score \
             FROM visit_surveys vs JOIN visits v ON v.id = vs.visit_id \
             WHERE v.visited_at >= {s} AND v.visited_at < {e}{} \
             GROUP BY v.branch_id ORDER BY v.branch_id",
            marks.join(", "),
            area_sql(area, "v.scope_path", "v.project_id"),
        ),
    )?;
    let names = branch_names(
        conn,
        by_source
            .iter()
            .chain(&by_project)
            .chain(&by_month)
            .filter_map(|r| r.branch_id)
            .chain(factors.iter().map(|f| f.branch_id)),
    )?;
    let branch = |id: Option<i64>| names.of(id);
    let source = |label: &str| match label {
        "visit_survey" => RatingSource::VisitSurvey,
        "complaint_evaluation" => RatingSource::ComplaintEvaluation,
        _ => RatingSource::RepairAcceptance,
    };
    Ok(SatisfactionReport {
        period,
        generated_at: Utc.from_utc_datetime(&now),
        by_source: by_source
            .iter()
            .map(|r| SourceLevels {
                branch: branch(r.branch_id),
                source: source(&r.label),
                levels: r.levels(),
            })
            .collect(),
        factors: factors
            .into_iter()
            .map(|f| FactorAverages {
                branch: branch(Some(f.branch_id)),
                surveys: f.surveys,
                communication: f.communication,
                construction_quality: f.construction_quality,
                attitude: f.attitude,
                problem_handling: f.problem_handling,
                preparation: f.preparation,
                schedule: f.schedule,
                safety: f.safety,
                site_civility: f.site_civility,
                environment: f.environment,
                coordination: f.coordination,
                weighted_score: f.weighted_score,
            })
            .collect(),
        by_project: by_project
            .iter()
            .map(|r| ProjectLevels {
                project_id: r.ref_id,
                project_name: r.label.clone(),
                branch: branch(r.branch_id),
                levels: r.levels(),
            })
            .collect(),
        by_month: by_month
            .iter()
            .map(|r| MonthLevels {
                branch: branch(r.branch_id),
                year: r.year,
                month: r.month,
                levels: r.levels(),
            })
            .collect(),
    })
}

const LEVELS: [Column; 8] = [
    col("very_satisfied", "very_satisfied", Kind::Integer),
    col("fairly_satisfied", "fairly_satisfied", Kind::Integer),
    col("basically_satisfied", "basically_satisfied", Kind::Integer),
    col(
        "somewhat_dissatisfied",
        "somewhat_dissatisfied",
        Kind::Integer,
    ),
    col("dissatisfied", "dissatisfied.2", Kind::Integer),
    col("answers", "answers.2", Kind::Integer),
    col("satisfied", "satisfied.1", Kind::Integer),
    col("rate", "rate.5", Kind::Ratio),
];

const BY_SOURCE: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("source", "source", Kind::Text),
    LEVELS[0],
    LEVELS[1],
    LEVELS[2],
    LEVELS[3],
    LEVELS[4],
    LEVELS[5],
    LEVELS[6],
    LEVELS[7],
];

const BY_PROJECT: &[Column] = &[
    col("project_id", "project_id", Kind::Integer),
    col("project_name", "project_name", Kind::Text),
    col("branch", "branch", Kind::Text),
    LEVELS[0],
    LEVELS[1],
    LEVELS[2],
    LEVELS[3],
    LEVELS[4],
    LEVELS[5],
    LEVELS[6],
    LEVELS[7],
];

const BY_MONTH: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("year", "year", Kind::Integer),
    col("month", "month.2", Kind::Integer),
    LEVELS[0],
    LEVELS[1],
    LEVELS[2],
    LEVELS[3],
    LEVELS[4],
    LEVELS[5],
    LEVELS[6],
    LEVELS[7],
];

const FACTOR_COLUMNS: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("surveys", "surveys", Kind::Integer),
    col("communication", "communication", Kind::Number),
    col("construction_quality", "construction_quality", Kind::Number),
    col("attitude", "attitude", Kind::Number),
    col("problem_handling", "problem_handling", Kind::Number),
    col("preparation", "preparation", Kind::Number),
    col("schedule", "schedule", Kind::Number),
    col("safety", "safety", Kind::Number),
    col("site_civility", "site_civility", Kind::Number),
    col("environment", "environment", Kind::Number),
    col("coordination", "coordination", Kind::Number),
    col("weighted_score", "weighted_score.2", Kind::Number),
];

fn level_cells(l: &Levels) -> [Cell; 8] {
    [
        l.very_satisfied.into(),
        l.fairly_satisfied.into(),
        l.basically_satisfied.into(),
        l.somewhat_dissatisfied.into(),
        l.dissatisfied.into(),
        l.answers.into(),
        l.satisfied.into(),
        l.rate.into(),
    ]
}

impl SatisfactionReport {
    /// The sections: `by_source`, `factors`, `by_project`, `by_month`.
    pub fn sheets(&self) -> Vec<Sheet> {
        let branch = branch_cell;
        let mut by_source = Sheet::new("by_source", "满意度来源", BY_SOURCE);
        for r in &self.by_source {
            let mut row = vec![branch(&r.branch), Cell::from(r.source.as_str())];
            row.extend(level_cells(&r.levels));
            by_source.push(row);
        }
        let mut factors = Sheet::new("factors", "满意度调查因素", FACTOR_COLUMNS);
        for f in &self.factors {
            let mut row = vec![branch(&f.branch), f.surveys.into()];
            row.extend(
                [
                    f.communication,
                    f.construction_quality,
                    f.attitude,
                    f.problem_handling,
                    f.preparation,
                    f.schedule,
                    f.safety,
                    f.site_civility,
                    f.environment,
                    f.coordination,
                    f.weighted_score,
                ]
                .map(|v| v.map_or(Cell::Empty, Cell::Number)),
            );
            factors.push(row);
        }
        let mut by_project = Sheet::new("by_project", "工程满意度", BY_PROJECT);
        for r in &self.by_project {
            let mut row = vec![
                r.project_id.into(),
                Cell::from(r.project_name.as_str()),
                branch(&r.branch),
            ];
            row.extend(level_cells(&r.levels));
            by_project.push(row);
        }
        let mut by_month = Sheet::new("by_month", "月度满意度", BY_MONTH);
        for r in &self.by_month {
            let mut row = vec![
                branch(&r.branch),
                i64::from(r.year).into(),
                i64::from(r.month).into(),
            ];
            row.extend(level_cells(&r.levels));
            by_month.push(row);
        }
        vec![by_source, factors, by_project, by_month]
    }
}
