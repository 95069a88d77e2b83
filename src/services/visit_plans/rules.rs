//! The frequency and season rules of visit plans (004 §5.2, A.2 steps 4.1
//! and 4.2; 000 §2), as plain functions of a project's facts and a period:
//! what each project needs ([`requirements`]), the fewest visits that meet
//! all of it ([`place`]), and how a plan's items measure up
//! ([`compliance`]). No database here: the visit plan service feeds it.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::models::visit::{VisitKind, VisitMethod};
use crate::season::Season;

/// The two levels of plan (004 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// a branch's plan for a calendar year
    Branch,
    /// a project department's plan for a month
    Project,
}

/// A rule a plan must satisfy for a project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PlanRule {
    /// a visit by phone (or on site) each quarter (004 A.2 step 4.1)
    QuarterlyPhone,
    /// an on-site visit each half-year
    HalfYearOnsite,
    /// key projects: four on-site visits in the first year after completion, one a quarter
    KeyFirstYear,
    /// key projects: a visit before the rainy season (March)
    KeyBeforeRain,
    /// key projects: a visit during the rainy season (April–June)
    KeyDuringRain,
    /// HVAC in our contract: a visit in winter (December–February)
    HvacWinter,
    /// HVAC in our contract: a visit in summer (June–August)
    HvacSummer,
    /// within 3 months of handover (000 §2)
    Handover,
    /// in the month before heating starts (000 §2)
    HeatingSeason,
    /// once the M&E and water systems have run a month in formal operation (000 §2)
    Equipment,
    /// in the month before a warranty term ends (000 §2)
    PreExpiry,
    /// project plan: one on-site visit a month (004 A.2 step 4.2)
    Monthly,
}

impl PlanRule {
    /// The kind of visit that serves the rule; the most specific kind names
    /// an item that serves several.
    pub fn kind(self) -> VisitKind {
        match self {
            PlanRule::Handover => VisitKind::Handover,
            PlanRule::PreExpiry => VisitKind::PreExpiry,
            PlanRule::HeatingSeason => VisitKind::HeatingSeason,
            PlanRule::Equipment => VisitKind::Equipment,
            PlanRule::HvacWinter => VisitKind::Winter,
            PlanRule::HvacSummer => VisitKind::Summer,
            PlanRule::KeyBeforeRain | PlanRule::KeyDuringRain => VisitKind::RainySeason,
            _ => VisitKind::Routine,
        }
    }

    fn specificity(self) -> u8 {
        match self.kind() {
            VisitKind::Handover => 7,
            VisitKind::PreExpiry => 6,
            VisitKind::Equipment => 5,
            VisitKind::HeatingSeason => 4,
            VisitKind::Winter | VisitKind::Summer => 3,
            VisitKind::RainySeason => 2,
            _ => 1,
        }
    }
}

/// What the rules need to know of a project.
#[derive(Debug, Clone)]
pub struct ProjectFacts {
    pub project_id: i64,
    pub completion_accepted_on: NaiveDate,
    pub handover_on: NaiveDate,
    pub is_key_project: bool,
    pub hvac_in_scope: bool,
    /// When the M&E and water systems went into formal operation, if known.
    pub systems_in_operation_on: Option<NaiveDate>,
    /// The first and last day of its warranty (the earliest start, the latest end).
    pub warranty: (NaiveDate, NaiveDate),
    /// The last day of each warranty term.
    pub term_ends: Vec<NaiveDate>,
}

/// One visit a project needs: within `[from, to]`, on site when `onsite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Requirement {
    pub project_id: i64,
    pub rule: PlanRule,
    /// Which occurrence, e.g. `Q2`, `H1`, `first year 3/4`, `term ends 2031-02-26`.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub onsite: bool,
}

impl Requirement {
    /// Whether a visit on `day` by `method` meets it.
    pub fn met_by(&self, project_id: i64, day: NaiveDate, method: VisitMethod) -> bool {
        project_id == self.project_id
            && self.from <= day
            && day <= self.to
            && (!self.onsite || method == VisitMethod::Onsite)
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn last_of_month(y: i32, m: u32) -> NaiveDate {
    ymd(y, m, 1)
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// The period a plan covers, inclusive: a branch plan's year, a project
/// plan's month.
pub fn period(level: Level, year: i32, month: Option<u32>) -> (NaiveDate, NaiveDate) {
    match (level, month) {
        (Level::Project, Some(m)) => (ymd(year, m, 1), last_of_month(year, m)),
        _ => (ymd(year, 1, 1), ymd(year, 12, 31)),
    }
}

/// Everything a project needs in the period, each window clipped to the
/// period and to the project's warranty; windows that fall outside are
/// left out.
pub fn requirements(
    level: Level,
    (start, end): (NaiveDate, NaiveDate),
    p: &ProjectFacts,
    heating: Season,
) -> Vec<Requirement> {
    let (w_from, w_to) = p.warranty;
    let from_bound = start.max(w_from);
    let to_bound = end.min(w_to);
    let mut out = vec![];
    let mut need = |rule: PlanRule, label: String, from: NaiveDate, to: NaiveDate, onsite: bool| {
        let (from, to) = (from.max(from_bound), to.min(to_bound));
        if from <= to {
            out.push(Requirement {
                project_id: p.project_id,
                rule,
                label,
                from,
                to,
                onsite,
            });
        }
    };
    if level == Level::Project {
        need(
            PlanRule::Monthly,
            format!("{}", start.format("%Y-%m")),
            start,
            end,
            true,
        );
        return out;
    }
    let year = start.year();
    for q in 0..4u32 {
        need(
            PlanRule::QuarterlyPhone,
            format!("Q{}", q + 1),
            ymd(year, 3 * q + 1, 1),
            last_of_month(year, 3 * q + 3),
            false,
        );
    }
    need(
        PlanRule::HalfYearOnsite,
        "H1".into(),
        ymd(year, 1, 1),
        ymd(year, 6, 30),
        true,
    );
    need(
        PlanRule::HalfYearOnsite,
        "H2".into(),
        ymd(year, 7, 1),
        ymd(year, 12, 31),
        true,
    );
    if p.is_key_project {
        let c = p.completion_accepted_on;
        for i in 0..4u32 {
            let from = c.checked_add_months(Months::new(3 * i)).unwrap_or(c);
            let to = c
                .checked_add_months(Months::new(3 * i + 3))
                .and_then(|d| d.pred_opt())
                .unwrap_or(c);
            need(
                PlanRule::KeyFirstYear,
                format!("first year {}/4", i + 1),
                from,
                to,
                true,
            );
        }
        need(
            PlanRule::KeyBeforeRain,
            "March".into(),
            ymd(year, 3, 1),
            ymd(year, 3, 31),
            true,
        );
        need(
            PlanRule::KeyDuringRain,
            "April–June".into(),
            ymd(year, 4, 1),
            ymd(year, 6, 30),
            true,
        );
    }
    if p.hvac_in_scope {
        // the winter (December–February) that ends in the plan's year: its
        // December was the year before's, so January–February
        need(
            PlanRule::HvacWinter,
            "January–February".into(),
            ymd(year, 1, 1),
            last_of_month(year, 2),
            true,
        );
        need(
            PlanRule::HvacSummer,
            "June–August".into(),
            ymd(year, 6, 1),
            ymd(year, 8, 31),
            true,
        );
        // the month before heating starts
        for y in [year, year + 1] {
            let starts = NaiveDate::from_ymd_opt(y, heating.start.0, heating.start.1.min(28))
                .unwrap_or(NaiveDate::MAX);
            let from = starts.checked_sub_months(Months::new(1)).unwrap_or(starts);
            if let Some(to) = starts.pred_opt() {
                need(
                    PlanRule::HeatingSeason,
                    format!("before {starts}"),
                    from,
                    to,
                    true,
                );
            }
        }
    }
    let handed = p.handover_on;
    if let Some(to) = handed
        .checked_add_months(Months::new(3))
        .and_then(|d| d.pred_opt())
    {
        need(
            PlanRule::Handover,
            format!("handed over {handed}"),
            handed,
            to,
            true,
        );
    }
    // "after a month of formal operation": the month that follows it
    if let Some(op) = p.systems_in_operation_on {
        if let (Some(from), Some(to)) = (
            op.checked_add_months(Months::new(1)),
            op.checked_add_months(Months::new(2))
                .and_then(|d| d.pred_opt()),
        ) {
            need(
                PlanRule::Equipment,
                format!("in operation since {op}"),
                from,
                to,
                true,
            );
        }
    }
    let mut ends = p.term_ends.clone();
    ends.sort();
    ends.dedup();
    for e in ends {
        let from = e.checked_sub_months(Months::new(1)).unwrap_or(e);
        need(PlanRule::PreExpiry, format!("term ends {e}"), from, e, true);
    }
    // a window that begins before the warranty and ends before it too was
    // dropped above; one beyond the period likewise
    out.retain(|r| r.from <= r.to);
    out
}

/// A visit the generator places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub project_id: i64,
    pub planned_on: NaiveDate,
    pub method: VisitMethod,
    pub kind: VisitKind,
}

/// The fewest visits that meet every requirement: requirements in order of
/// their last day; one not yet met gets a visit on the latest working day
/// of its window (so that it meets as many later windows as it can), on
/// site when an on-site requirement still open also covers that day.
pub fn place(reqs: &[Requirement], working: impl Fn(NaiveDate) -> bool) -> Vec<Placed> {
    let mut order: Vec<&Requirement> = reqs.iter().collect();
    order.sort_by_key(|r| (r.to, r.from, r.project_id, r.rule));
    let mut placed: Vec<Placed> = vec![];
    for r in &order {
        if placed
            .iter()
            .any(|v| r.met_by(v.project_id, v.planned_on, v.method))
        {
            continue;
        }
        let mut day = r.to;
        while day > r.from && !working(day) {
            day = day.pred_opt().unwrap_or(r.from);
        }
        if !working(day) {
            day = r.to;
        }
        let open_onsite = reqs.iter().any(|o| {
            o.onsite
                && o.met_by(r.project_id, day, VisitMethod::Onsite)
                && !placed
                    .iter()
                    .any(|v| o.met_by(v.project_id, v.planned_on, v.method))
        });
        let method = if r.onsite || open_onsite {
            VisitMethod::Onsite
        } else {
            VisitMethod::Phone
        };
        let kind = kind_of(reqs, r.project_id, day, method);
        placed.push(Placed {
            project_id: r.project_id,
            planned_on: day,
            method,
            kind,
        });
    }
    placed.sort_by_key(|v| (v.planned_on, v.project_id));
    placed
}

/// The kind of a visit: that of the most specific rule it serves.
pub fn kind_of(
    reqs: &[Requirement],
    project_id: i64,
    day: NaiveDate,
    method: VisitMethod,
) -> VisitKind {
    reqs.iter()
        .filter(|r| r.met_by(project_id, day, method))
        .max_by_key(|r| r.rule.specificity())
        .map_or(VisitKind::Routine, |r| r.rule.kind())
}

/// One requirement and how the plan meets it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequirementStatus {
    #[serde(flatten)]
    pub requirement: Requirement,
    /// Always 1: one visit in the window.
    pub required: i64,
    /// The plan's visits in the window (on site when it must be).
    pub planned: i64,
    pub met: bool,
}

/// Each requirement against the plan's items `(project, day, method)`.
pub fn compliance(
    reqs: &[Requirement],
    items: &[(i64, NaiveDate, VisitMethod)],
) -> Vec<RequirementStatus> {
    reqs.iter()
        .map(|r| {
            let planned = items
                .iter()
                .filter(|(p, d, m)| r.met_by(*p, *d, *m))
                .count() as i64;
            RequirementStatus {
                requirement: r.clone(),
                required: 1,
                planned,
                met: planned > 0,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn facts() -> ProjectFacts {
        // a key project with HVAC, completed and handed over in March 2026
        ProjectFacts {
            project_id: 1,
            completion_accepted_on: ymd(2026, 3, 10),
            handover_on: ymd(2026, 3, 15),
            is_key_project: true,
            hvac_in_scope: true,
            systems_in_operation_on: Some(ymd(2026, 4, 20)),
            warranty: (ymd(2026, 3, 11), ymd(2076, 3, 10)),
            term_ends: vec![ymd(2028, 3, 10), ymd(2031, 3, 10), ymd(2076, 3, 10)],
        }
    }

    fn heating() -> Season {
        Season::parse("11-15..03-15").unwrap()
    }

    #[test]
    fn the_fewest_visits_meet_every_rule_of_a_key_hvac_project() {
        let period = period(Level::Branch, 2026, None);
        let reqs = requirements(Level::Branch, period, &facts(), heating());
        let placed = place(&reqs, |d| d.weekday().num_days_from_monday() < 5);
        let items: Vec<_> = placed
            .iter()
            .map(|v| (v.project_id, v.planned_on, v.method))
            .collect();
        assert!(compliance(&reqs, &items).iter().all(|s| s.met));
        // and none of them can go: each is the only one for some rule
        for skip in 0..items.len() {
            let fewer: Vec<_> = items
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, v)| *v)
                .collect();
            assert!(
                compliance(&reqs, &fewer).iter().any(|s| !s.met),
                "visit {skip} serves nothing alone: {placed:?}"
            );
        }
        // no visit before the warranty began
        assert!(placed.iter().all(|v| v.planned_on >= ymd(2026, 3, 11)));
    }

    #[test]
    fn a_project_plan_needs_one_onsite_visit_a_month() {
        let period = period(Level::Project, 2026, Some(5));
        let reqs = requirements(Level::Project, period, &facts(), heating());
        assert_eq!(reqs.len(), 1);
        assert_eq!(
            (reqs[0].from, reqs[0].to),
            (ymd(2026, 5, 1), ymd(2026, 5, 31))
        );
        let placed = place(&reqs, |_| true);
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].method, VisitMethod::Onsite);
    }

    #[test]
    fn the_equipment_visit_falls_after_a_month_of_formal_operation() {
        let period = period(Level::Branch, 2026, None);
        let reqs = requirements(Level::Branch, period, &facts(), heating());
        let equipment: Vec<&Requirement> = reqs
            .iter()
            .filter(|r| r.rule == PlanRule::Equipment)
            .collect();
        assert_eq!(equipment.len(), 1);
        let r = equipment[0];
        // in operation since 20 April: a month has run on 20 May
        assert!(!r.met_by(1, ymd(2026, 5, 19), VisitMethod::Onsite));
        assert!(r.met_by(1, ymd(2026, 5, 20), VisitMethod::Onsite));
        assert!(r.met_by(1, ymd(2026, 6, 19), VisitMethod::Onsite));
        assert!(!r.met_by(1, ymd(2026, 6, 20), VisitMethod::Onsite));
        assert!(!r.met_by(1, ymd(2026, 5, 20), VisitMethod::Phone));
        // not yet in operation: no equipment visit
        let idle = ProjectFacts {
            systems_in_operation_on: None,
            ..facts()
        };
        assert!(requirements(Level::Branch, period, &idle, heating())
            .iter()
            .all(|r| r.rule != PlanRule::Equipment));
        // the generator places it as an equipment visit
        let placed = place(&reqs, |d| d.weekday().num_days_from_monday() < 5);
        assert!(placed.iter().any(|v| v.kind == VisitKind::Equipment
            && (ymd(2026, 5, 20)..=ymd(2026, 6, 19)).contains(&v.planned_on)));
    }
}
