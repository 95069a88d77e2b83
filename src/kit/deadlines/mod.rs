//! The deadline engine: every workflow starts, settles and
//! cancels its clocks here, inside its own transaction. A step done after
//! its due time needs a `late_reason`; a passed deadline is swept to
//! `overdue` and escalated, exactly once even with several instances.

pub mod calendar;
pub mod days;

use crate::kit::IfMatch;
use crate::models::event::EventType;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::condition::Condition;
use crate::db::schema::{deadline_escalations, deadline_policies, deadlines, org_units, users};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::models::deadline::{Deadline, DeadlineStatus, DurationUnit, Policy, Rule};
use crate::models::user::Role;

use super::{events, Page, Paged};

/// "Open" (pending or overdue) as the partial indexes of open deadlines
/// state it (`deadlines_open_*`), written into every query that reads them.
/// Literal, because with bound parameters neither database can prove that a
/// partial index applies; on `status || ''`, because no index on `status`
/// can serve that expression, so SQLite's planner is never tempted to read
/// every open row through a status index and sort them when its statistics
/// are rough (`PRAGMA optimize` samples 2,000 rows per index).
pub const OPEN_SQL: &str = "(status || '') IN ('pending', 'overdue')";

fn open() -> Condition {
    Condition(OPEN_SQL)
}

/// What a workflow asks the engine to watch.
#[derive(Debug, Clone)]
pub struct NewDeadline {
    pub rule: Rule,
    pub subject_type: &'static str,
    pub subject_id: i64,
    /// Shown in task lists, e.g. "Fill the ledger of HD-2025-017".
    pub title: String,
    /// API path of the subject.
    pub link: String,
    pub started_at: NaiveDateTime,
    /// A named person, or else everyone with the policy's role in the scope.
    pub assignee_user_id: Option<i64>,
    /// The org unit the work belongs to (e.g. the project department).
    pub scope_org_unit_id: i64,
    /// The role that must act, when it is not the policy's (one rule may
    /// be done by different roles: `visit_plan.compile` by the branch
    /// engineer for the branch plan, the project manager for a project's).
    pub assignee_role: Option<Role>,
    /// A nearer due time than the policy's, within its bounds.
    pub target: Option<Target>,
    /// A due time the subject fixes instead (the end of a milestone's
    /// date): the policy then says who acts, who hears and when it shows
    /// due soon, not how long it runs.
    pub due_at: Option<NaiveDateTime>,
    /// The same, given as the day whose end (company time zone) it is due.
    pub due_end_of_day: Option<chrono::NaiveDate>,
}

impl NewDeadline {
    /// A clock of `rule` on the subject, kept by the unit `scope`, from
    /// `started_at`, shown as `title` linking to `link`; held by whoever has
    /// the policy's role there, due when the policy says.
    pub fn new(
        rule: Rule,
        (subject_type, subject_id): (&'static str, i64),
        scope_org_unit_id: i64,
        started_at: NaiveDateTime,
        (title, link): (String, String),
    ) -> NewDeadline {
        NewDeadline {
            rule,
            subject_type,
            subject_id,
            title,
            link,
            started_at,
            assignee_user_id: None,
            scope_org_unit_id,
            assignee_role: None,
            target: None,
            due_at: None,
            due_end_of_day: None,
        }
    }

    /// Held by one person.
    pub fn held_by(self, user_id: i64) -> NewDeadline {
        NewDeadline {
            assignee_user_id: Some(user_id),
            ..self
        }
    }

    /// Due when `day` ends in the company's time zone.
    pub fn due_end_of(self, day: chrono::NaiveDate) -> NewDeadline {
        NewDeadline {
            due_end_of_day: Some(day),
            ..self
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"duration": 3, "unit": "working_days", "actor_role": "branch_engineer",
    "escalation_roles": ["branch_leader", "group_engineer"]}))]
pub struct PolicyInput {
    #[validate(range(min = 1, max = 10000))]
    #[schema(minimum = 1, maximum = 10000)]
    pub duration: i32,
    pub unit: DurationUnit,
    /// The role that must act.
    pub actor_role: Role,
    /// Who hears of it when the deadline passes (at least one role).
    #[validate(length(min = 1, max = 5))]
    #[schema(min_items = 1, max_items = 5)]
    pub escalation_roles: Vec<Role>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub description: Option<String>,
    /// The nearest target a workflow may choose (e.g. 2 of a large repair's
    /// 2–5 working days); absent: any target from 1 up to `duration`.
    #[validate(range(min = 1, max = 10000))]
    #[schema(minimum = 1, maximum = 10000)]
    pub min_duration: Option<i32>,
    /// When a deadline shows as due soon, in per cent of its duration
    /// (default: as before, first 80).
    #[validate(range(min = 1, max = 99))]
    #[schema(minimum = 1, maximum = 99)]
    pub warn_percent: Option<i32>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "业主出国，无法入户 the owner is abroad and cannot open the flat"}))]
pub struct PauseInput {
    /// Why the clock stops.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Default, Clone)]
pub struct DeadlineFilter {
    pub status: Option<DeadlineStatus>,
    pub rule: Option<Rule>,
    pub subject_type: Option<String>,
    pub subject_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub due_before: Option<NaiveDateTime>,
    pub overdue: Option<bool>,
}

/// Why a deadline is on someone's task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskReason {
    /// assigned to the caller by name
    Assigned,
    /// assigned to the caller's role within their org unit
    Role,
    /// passed its due time and escalated to the caller's role
    Escalated,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub deadline: Deadline,
    pub reason: TaskReason,
}

/// The states of a deadline still waiting for its step.
const OPEN: [&str; 2] = ["pending", "overdue"];

// ---- policies ----------------------------------------------------------

/// The policy in force for a rule: its latest version.
pub fn current_policy(conn: &mut DbConn, rule: Rule) -> AppResult<Policy> {
    deadline_policies::table
        .filter(deadline_policies::rule.eq(rule.as_str()))
        .order(deadline_policies::version.desc())
        .select(Policy::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no deadline policy for rule {rule:?}")))
}

/// Every rule's policy in force.
pub fn current_policies(conn: &mut DbConn) -> AppResult<Vec<Policy>> {
    let all: Vec<Policy> = deadline_policies::table
        .order((
            deadline_policies::rule.asc(),
            deadline_policies::version.desc(),
        ))
        .select(Policy::as_select())
        .load(conn)?;
    let mut out: Vec<Policy> = Vec::new();
    for p in all {
        if out.last().is_none_or(|last| last.rule != p.rule) {
            out.push(p);
        }
    }
    Ok(out)
}

pub fn policy_versions(conn: &mut DbConn, rule: Rule) -> AppResult<Vec<Policy>> {
    let rows: Vec<Policy> = deadline_policies::table
        .filter(deadline_policies::rule.eq(rule.as_str()))
        .order(deadline_policies::version.asc())
        .select(Policy::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Err(AppError::NotFound(format!(
            "no deadline policy for rule {rule:?}"
        )));
    }
    Ok(rows)
}

/// Changes a rule's policy (admin): a new version, for deadlines started
/// from now on; running ones keep their due times.
pub fn change_policy(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    rule: Rule,
    input: &PolicyInput,
) -> AppResult<Policy> {
    actor.require_admin()?;
    // deadlines are kept by the contractor's staff, who hold org units
    let staff = |r: &Role| r.is_org_role();
    let mut errors = vec![];
    if !staff(&input.actor_role) {
        errors.push(FieldError::new(
            "actor_role",
            "must be a role of the contractor's staff (not admin or customer)",
        ));
    }
    if !input.escalation_roles.iter().all(staff) {
        errors.push(FieldError::new(
            "escalation_roles",
            "must be roles of the contractor's staff (not admin or customer)",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !input.escalation_roles.iter().all(|r| seen.insert(*r)) {
        errors.push(FieldError::new(
            "escalation_roles",
            "must not repeat a role",
        ));
    }
    if input.min_duration.is_some_and(|m| m > input.duration) {
        errors.push(FieldError::new(
            "min_duration",
            "must not be more than `duration`",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    write_tx(conn, |conn| {
        let before = current_policy(conn, rule)?;
        let roles: Vec<&str> = input.escalation_roles.iter().map(|r| r.as_str()).collect();
        let id: i64 = diesel::insert_into(deadline_policies::table)
            .values((
                deadline_policies::rule.eq(rule.as_str()),
                deadline_policies::version.eq(before.version + 1),
                deadline_policies::duration.eq(input.duration),
                deadline_policies::unit.eq(input.unit.as_str()),
                deadline_policies::actor_role.eq(input.actor_role.as_str()),
                deadline_policies::escalation_roles.eq(roles.join(",")),
                deadline_policies::description.eq(input
                    .description
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&before.description)),
                deadline_policies::created_by.eq(actor.id),
                deadline_policies::created_at.eq(now),
                deadline_policies::min_duration.eq(input.min_duration),
                deadline_policies::warn_percent
                    .eq(input.warn_percent.unwrap_or(before.warn_percent)),
            ))
            .returning(deadline_policies::id)
            .get_result(conn)?;
        let after: Policy = deadline_policies::table
            .find(id)
            .select(Policy::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::DeadlinePolicyChanged,
            ("deadline_policy", id),
            Some(serde_json::to_value(&before).unwrap_or_default()),
            Some(serde_json::to_value(&after).unwrap_or_default()),
        )?;
        Ok(after)
    })
}

/// The policy version each deadline started under, by deadline id's policy.
pub fn policy_versions_of(
    conn: &mut DbConn,
    rows: &[Deadline],
) -> AppResult<std::collections::HashMap<i64, i32>> {
    let ids: Vec<i64> = rows.iter().map(|d| d.policy_id).collect();
    let pairs: Vec<(i64, i32)> = deadline_policies::table
        .filter(deadline_policies::id.eq_any(ids))
        .select((deadline_policies::id, deadline_policies::version))
        .load(conn)?;
    Ok(pairs.into_iter().collect())
}

/// When a clock is due: its duration from the start, in the policy's unit,
/// then moved on by the time it spent paused (wall time for hours, working
/// time for working days). Answers the due time without and with the pause.
fn due_times(
    conn: &mut DbConn,
    config: &Config,
    unit: DurationUnit,
    duration: i32,
    started_at: NaiveDateTime,
    paused_secs: i64,
) -> AppResult<(NaiveDateTime, NaiveDateTime)> {
    match unit {
        DurationUnit::Hours => {
            let base = started_at + Duration::hours(i64::from(duration));
            Ok((base, base + Duration::seconds(paused_secs)))
        }
        DurationUnit::WorkingDays => {
            let n = u32::try_from(duration).map_err(AppError::internal)?;
            // room for the days the pause adds, weekends and holidays
            let span = n + u32::try_from(paused_secs / 86_400 + 1).unwrap_or(u32::MAX / 8);
            let marks =
                calendar::marks_for(conn, calendar::local_day(started_at, config.tz), span)?;
            let base = calendar::add_working_days(started_at, n, config.tz, &marks);
            Ok((
                base,
                calendar::add_working_secs(base, paused_secs, config.tz, &marks),
            ))
        }
    }
}

/// When a clock shows as due soon: when `percent` of its running time has
/// gone by (the paused time moves it as it moves the due time).
fn warn_time(
    started_at: NaiveDateTime,
    base_due: NaiveDateTime,
    due: NaiveDateTime,
    percent: i32,
) -> NaiveDateTime {
    let window = (base_due - started_at).num_seconds();
    due - Duration::seconds(window * i64::from(100 - percent) / 100)
}

// ---- the service API of the workflows ----------------------------------

/// A nearer due time than the policy's, chosen by the workflow within the
/// policy's bounds (a large repair's target of 2–5 working days, 002).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// In the policy's unit.
    pub duration: i32,
    /// The request field it came from, named when it is out of bounds.
    pub field: &'static str,
}

/// When a clock of `rule` started at `started_at` would fall due under
/// the policy in force: an import asks it to tell a handover long past
/// (whose clock would be overdue at once) from a recent one.
pub fn due_of(
    conn: &mut DbConn,
    config: &Config,
    rule: Rule,
    started_at: NaiveDateTime,
) -> AppResult<NaiveDateTime> {
    let policy = current_policy(conn, rule)?;
    let unit = DurationUnit::from_db(&policy.unit)?;
    Ok(due_times(conn, config, unit, policy.duration, started_at, 0)?.1)
}

/// Starts a clock under the rule's current policy.
pub fn start(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    new: NewDeadline,
) -> AppResult<Deadline> {
    // a workflow's slip, never the caller's: each rule has one kind of subject
    if new.subject_type != new.rule.subject().as_str() {
        return Err(AppError::internal(format!(
            "a {} deadline is about a {}, not a {}",
            new.rule.as_str(),
            new.rule.subject().as_str(),
            new.subject_type
        )));
    }
    let policy = current_policy(conn, new.rule)?;
    let unit = DurationUnit::from_db(&policy.unit)?;
    let duration = match new.target {
        None => policy.duration,
        Some(t) => {
            let min = policy.min_duration.unwrap_or(1);
            if !(min..=policy.duration).contains(&t.duration) {
                return Err(AppError::rule(
                    "target_out_of_bounds",
                    t.field,
                    format!(
                        "the {} target must lie between {min} and {} {unit}",
                        new.rule, policy.duration
                    ),
                ));
            }
            t.duration
        }
    };
    let fixed_due = new.due_at.or(new
        .due_end_of_day
        .map(|day| calendar::local_midnight(day + chrono::Days::new(1), config.tz)));
    let (base, due) = match fixed_due {
        Some(fixed) => (fixed, fixed),
        None => due_times(conn, config, unit, duration, new.started_at, 0)?,
    };
    // a clock held by one person names their role, not the policy's
    let holder_role: Option<String> = match new.assignee_user_id {
        Some(user) if new.assignee_role.is_none() => users::table
            .find(user)
            .select(users::role)
            .first(conn)
            .optional()?,
        _ => None,
    };
    let role = match (new.assignee_role, holder_role) {
        (Some(r), _) => r.as_str().to_string(),
        (None, Some(r)) => r,
        (None, None) => policy.actor_role.clone(),
    };
    let scope_path: String = org_units::table
        .find(new.scope_org_unit_id)
        .select(org_units::path)
        .first(conn)?;
    let id: i64 = diesel::insert_into(deadlines::table)
        .values((
            deadlines::rule.eq(new.rule.as_str()),
            deadlines::policy_id.eq(policy.id),
            deadlines::subject_type.eq(new.subject_type),
            deadlines::subject_id.eq(new.subject_id),
            deadlines::title.eq(&new.title),
            deadlines::link.eq(&new.link),
            deadlines::started_at.eq(new.started_at),
            deadlines::due_at.eq(due),
            deadlines::status.eq(DeadlineStatus::Pending.as_str()),
            deadlines::assignee_user_id.eq(new.assignee_user_id),
            deadlines::assignee_role.eq(&role),
            deadlines::scope_org_unit_id.eq(new.scope_org_unit_id),
            deadlines::scope_path.eq(&scope_path),
            deadlines::escalation_level.eq(0),
            deadlines::version.eq(1),
            deadlines::created_at.eq(now),
            deadlines::updated_at.eq(now),
            deadlines::duration.eq(duration),
            deadlines::warn_at.eq(warn_time(new.started_at, base, due, policy.warn_percent)),
            deadlines::fixed_due_at.eq(fixed_due),
        ))
        .returning(deadlines::id)
        .get_result(conn)?;
    let deadline = by_id(conn, id)?;
    events::record(
        conn,
        now,
        None,
        EventType::DeadlineStarted,
        "deadline",
        id,
        serde_json::json!({ "rule": new.rule, "policy_version": policy.version, "subject_type": new.subject_type,
            "subject_id": new.subject_id, "duration": duration, "unit": unit, "assignee_role": role,
            "due_at": deadline.due_at }),
    )?;
    Ok(deadline)
}

fn by_id(conn: &mut DbConn, id: i64) -> AppResult<Deadline> {
    Ok(deadlines::table
        .find(id)
        .select(Deadline::as_select())
        .first(conn)?)
}

fn policy_of(conn: &mut DbConn, d: &Deadline) -> AppResult<Policy> {
    Ok(deadline_policies::table
        .find(d.policy_id)
        .select(Policy::as_select())
        .first(conn)?)
}

/// The open (pending or overdue) deadline of a rule for a subject.
pub fn open_for(
    conn: &mut DbConn,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
) -> AppResult<Option<Deadline>> {
    let query = deadlines::table
        .filter(deadlines::rule.eq(rule.as_str()))
        .filter(deadlines::subject_type.eq(subject_type))
        .filter(deadlines::subject_id.eq(subject_id))
        .filter(deadlines::status.eq_any(OPEN))
        .order(deadlines::id.desc());
    // A step reads the clock it then settles, pauses or moves. On PostgreSQL
    // the row is locked as it is read: a sweep marking the same clock due
    // soon, overdue or escalated commits first and the step reads its
    // result, instead of the step's versioned write finding the row changed
    // (a 409 for a step no one raced). SQLite writers take turns anyway.
    Ok(match conn {
        DbConn::Pg(pg) => query
            .select(Deadline::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConn::Sqlite(_) => query.select(Deadline::as_select()).first(conn).optional()?,
    })
}

/// The refusal of a late step without a reason.
fn deadline_passed(d: &Deadline) -> AppError {
    AppError::Rule {
        code: "deadline_passed",
        detail: format!(
            "the {} deadline was due at {}Z and has passed; send the same request again with a `late_reason` saying why it is late",
            d.rule,
            d.due_at.format("%Y-%m-%dT%H:%M:%S")
        ),
        errors: vec![FieldError::new("late_reason", "required after the deadline has passed")],
    }
}

/// Settles the open deadline of `rule` for a subject: `met` in time, or
/// `met_late` with a reason. Late without a reason is refused (422
/// `deadline_passed`) and nothing is written: the caller's transaction rolls
/// back, and the client sends the same request again with `late_reason`.
/// A reason sent in time is kept as the deadline's `note`. A step done while
/// the clock is paused is judged at the moment it was paused.
pub fn settle(
    conn: &mut DbConn,
    now: NaiveDateTime,
    actor: &Actor,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
    late_reason: Option<&str>,
) -> AppResult<Option<Deadline>> {
    settle_done_at(
        conn,
        now,
        now,
        actor,
        rule,
        subject_type,
        subject_id,
        late_reason,
    )
}

/// [`settle`] for a step done at `done_at` and recorded now: a visit made
/// on its planned day and recorded the next morning (as the 24-hour rule
/// allows) met its day. The clock is judged, and marked met, at `done_at`.
#[allow(clippy::too_many_arguments)]
pub fn settle_done_at(
    conn: &mut DbConn,
    now: NaiveDateTime,
    done_at: NaiveDateTime,
    actor: &Actor,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
    late_reason: Option<&str>,
) -> AppResult<Option<Deadline>> {
    let Some(open) = open_for(conn, rule, subject_type, subject_id)? else {
        return Ok(None);
    };
    let done_at = done_at.min(now);
    let late = open.paused_at.unwrap_or(done_at).min(done_at) > open.due_at;
    let reason = late_reason.map(str::trim).filter(|r| !r.is_empty());
    if late && reason.is_none() {
        return Err(deadline_passed(&open));
    }
    let status = if late {
        DeadlineStatus::MetLate
    } else {
        DeadlineStatus::Met
    };
    let written = diesel::update(
        deadlines::table
            .filter(deadlines::id.eq(open.id))
            .filter(deadlines::version.eq(open.version)),
    )
    .set((
        deadlines::status.eq(status.as_str()),
        deadlines::met_at.eq(done_at),
        deadlines::late_reason.eq(if late { reason } else { None }),
        deadlines::note.eq(if late { None } else { reason }),
        deadlines::paused_at.eq(None::<NaiveDateTime>),
        deadlines::settled_by.eq(actor.id),
        deadlines::version.eq(open.version + 1),
        deadlines::updated_at.eq(now),
    ))
    .execute(conn)?;
    if written == 0 {
        return Err(super::concurrent_change());
    }
    events::record(
        conn,
        now,
        Some(actor.id),
        if late {
            EventType::DeadlineMetLate
        } else {
            EventType::DeadlineMet
        },
        "deadline",
        open.id,
        serde_json::json!({ "rule": rule, "due_at": open.due_at, "met_at": done_at,
            "late_reason": if late { reason } else { None }, "note": if late { None } else { reason } }),
    )?;
    Ok(Some(by_id(conn, open.id)?))
}

/// Cancels the open deadline of a rule for a subject, if any.
pub fn cancel(
    conn: &mut DbConn,
    now: NaiveDateTime,
    actor: Option<i64>,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
) -> AppResult<()> {
    if let Some(open) = open_for(conn, rule, subject_type, subject_id)? {
        diesel::update(deadlines::table.filter(deadlines::id.eq(open.id)))
            .set((
                deadlines::status.eq(DeadlineStatus::Cancelled.as_str()),
                deadlines::version.eq(open.version + 1),
                deadlines::updated_at.eq(now),
            ))
            .execute(conn)?;
        events::record(
            conn,
            now,
            actor,
            EventType::DeadlineCancelled,
            "deadline",
            open.id,
            serde_json::json!({ "rule": rule }),
        )?;
    }
    Ok(())
}

/// Gives an open clock a new start and paused time and works out its due
/// time again (under the policy version it started with). A clock whose due
/// time moves into the future runs again: an overdue one becomes pending
/// and loses its escalation, so that it escalates afresh if it passes again.
/// Writes `deadline.rescheduled` with the old and new due time and `why`.
fn reschedule(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    open: &Deadline,
    started_at: NaiveDateTime,
    paused_secs: i64,
    why: &str,
) -> AppResult<Deadline> {
    let policy = policy_of(conn, open)?;
    let unit = DurationUnit::from_db(&policy.unit)?;
    let duration = open.duration.unwrap_or(policy.duration);
    let (base, due) = match open.fixed_due_at {
        // a date the subject set moves only by the time spent paused
        Some(fixed) => (fixed, fixed + Duration::seconds(paused_secs)),
        None => due_times(conn, config, unit, duration, started_at, paused_secs)?,
    };
    let warn = warn_time(started_at, base, due, policy.warn_percent);
    let running_again = open.status == DeadlineStatus::Overdue.as_str() && due > now;
    let status = if running_again {
        DeadlineStatus::Pending
    } else {
        DeadlineStatus::from_db(&open.status)?
    };
    let written = diesel::update(
        deadlines::table
            .filter(deadlines::id.eq(open.id))
            .filter(deadlines::version.eq(open.version)),
    )
    .set((
        deadlines::started_at.eq(started_at),
        deadlines::paused_secs.eq(paused_secs),
        deadlines::due_at.eq(due),
        deadlines::warn_at.eq(warn),
        deadlines::status.eq(status.as_str()),
        deadlines::version.eq(open.version + 1),
        deadlines::updated_at.eq(now),
    ))
    .execute(conn)?;
    if written == 0 {
        return Err(super::concurrent_change());
    }
    if warn > now && open.due_soon_at.is_some() {
        diesel::update(deadlines::table.find(open.id))
            .set(deadlines::due_soon_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    if running_again {
        diesel::delete(
            deadline_escalations::table.filter(deadline_escalations::deadline_id.eq(open.id)),
        )
        .execute(conn)?;
        diesel::update(deadlines::table.find(open.id))
            .set((
                deadlines::escalation_level.eq(0),
                deadlines::escalated_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    events::record(
        conn,
        now,
        None,
        EventType::DeadlineRescheduled,
        "deadline",
        open.id,
        serde_json::json!({ "rule": open.rule, "why": why,
            "before": { "started_at": open.started_at, "due_at": open.due_at, "status": open.status },
            "after": { "started_at": started_at, "due_at": due, "status": status },
            "escalation_cleared": running_again }),
    )?;
    by_id(conn, open.id)
}

/// Moves a running clock's start (the subject's start date was corrected),
/// keeping the policy version it started under.
pub fn restart(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
    started_at: NaiveDateTime,
) -> AppResult<Option<Deadline>> {
    let Some(open) = open_for(conn, rule, subject_type, subject_id)? else {
        return Ok(None);
    };
    if open.started_at == started_at {
        return Ok(Some(open));
    }
    let paused = open.paused_secs;
    reschedule(conn, config, now, &open, started_at, paused, "restarted").map(Some)
}

/// The calendar changed on `day`: every open working-day clock whose span
/// covers the day is worked out again (hour clocks do not move).
pub fn replan_for_day(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    day: chrono::NaiveDate,
) -> AppResult<usize> {
    let day_start = calendar::local_midnight(day, config.tz);
    let day_end = calendar::local_midnight(day + chrono::Days::new(1), config.tz);
    let affected: Vec<Deadline> = deadlines::table
        .inner_join(deadline_policies::table)
        .filter(deadline_policies::unit.eq(DurationUnit::WorkingDays.as_str()))
        .filter(deadlines::status.eq_any(OPEN))
        .filter(deadlines::started_at.lt(day_end))
        .filter(deadlines::due_at.ge(day_start))
        .select(Deadline::as_select())
        .load(conn)?;
    let mut moved = 0;
    for d in &affected {
        let after = reschedule(
            conn,
            config,
            now,
            d,
            d.started_at,
            d.paused_secs,
            "calendar changed",
        )?;
        if after.due_at != d.due_at {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Roles that may pause and resume a clock in their scope, besides the
/// person it is assigned to by name.
const PAUSERS: &[Role] = &[
    Role::Admin,
    Role::GroupEngineer,
    Role::BranchLeader,
    Role::BranchEngineer,
    Role::ProjectManager,
];

fn may_pause(actor: &Actor, d: &Deadline) -> AppResult<()> {
    if d.assignee_user_id == Some(actor.id) {
        return Ok(());
    }
    actor.require(PAUSERS)
}

/// Stops a running clock with a reason (the owner cannot give access to the
/// flat): the paused time does not count, and it is never swept overdue
/// while paused.
pub fn pause(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    reason: &str,
) -> AppResult<Deadline> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why the clock stops"));
    }
    write_tx(conn, |conn| {
        let d = get_to_change(conn, actor, id)?;
        may_pause(actor, &d)?;
        super::check_version(expected_version, d.version)?;
        if d.paused_at.is_some() {
            return Err(AppError::conflict(
                "deadline_paused",
                format!("deadline {id} is paused already"),
            ));
        }
        if d.status != DeadlineStatus::Pending.as_str() || now >= d.due_at {
            return Err(AppError::conflict(
                "deadline_not_running",
                format!(
                    "deadline {id} is {} and due at {}Z: only a clock still running can be paused",
                    d.status,
                    d.due_at.format("%Y-%m-%dT%H:%M:%S")
                ),
            ));
        }
        stop(conn, now, actor.id, &d, reason)
    })
}

/// Writes the pause of a running clock and its event.
fn stop(
    conn: &mut DbConn,
    now: NaiveDateTime,
    actor_id: i64,
    d: &Deadline,
    reason: &str,
) -> AppResult<Deadline> {
    let written = diesel::update(
        deadlines::table
            .filter(deadlines::id.eq(d.id))
            .filter(deadlines::version.eq(d.version)),
    )
    .set((
        deadlines::paused_at.eq(now),
        deadlines::pause_reason.eq(reason),
        deadlines::version.eq(d.version + 1),
        deadlines::updated_at.eq(now),
    ))
    .execute(conn)?;
    if written == 0 {
        return Err(super::concurrent_change());
    }
    events::record(
        conn,
        now,
        Some(actor_id),
        EventType::DeadlinePaused,
        "deadline",
        d.id,
        serde_json::json!({ "rule": d.rule, "reason": reason, "due_at": d.due_at }),
    )?;
    by_id(conn, d.id)
}

/// Starts a paused clock again: its due time moves on by the time it was
/// paused (working time for working-day policies).
pub fn resume(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
) -> AppResult<Deadline> {
    write_tx(conn, |conn| {
        let d = get_to_change(conn, actor, id)?;
        may_pause(actor, &d)?;
        super::check_version(expected_version, d.version)?;
        if d.paused_at.is_none() {
            return Err(AppError::conflict(
                "deadline_not_paused",
                format!("deadline {id} is not paused"),
            ));
        }
        unpause(conn, config, now, actor.id, &d)
    })
}

/// Ends the pause of a paused clock, moving its due time on by the time
/// paused, and writes its event.
fn unpause(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    actor_id: i64,
    d: &Deadline,
) -> AppResult<Deadline> {
    let id = d.id;
    let Some(paused_at) = d.paused_at else {
        return Ok(d.clone());
    };
    let policy = policy_of(conn, d)?;
    // time before the clock started never counted anyway
    let paused_at = paused_at.max(d.started_at).min(now);
    let paused_for = match DurationUnit::from_db(&policy.unit)? {
        DurationUnit::Hours => (now - paused_at).num_seconds(),
        DurationUnit::WorkingDays => {
            let days = u32::try_from((now - paused_at).num_days() + 1).unwrap_or(0);
            let marks = calendar::marks_for(conn, calendar::local_day(paused_at, config.tz), days)?;
            calendar::working_secs_between(paused_at, now, config.tz, &marks)
        }
    };
    diesel::update(deadlines::table.find(id))
        .set((
            deadlines::paused_at.eq(None::<NaiveDateTime>),
            deadlines::pause_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    let d = by_id(conn, id)?;
    let after = reschedule(
        conn,
        config,
        now,
        &d,
        d.started_at,
        d.paused_secs + paused_for,
        "resumed",
    )?;
    events::record(
        conn,
        now,
        Some(actor_id),
        EventType::DeadlineResumed,
        "deadline",
        id,
        serde_json::json!({ "rule": d.rule, "paused_at": paused_at, "paused_secs": paused_for,
            "before": { "due_at": d.due_at }, "after": { "due_at": after.due_at } }),
    )?;
    Ok(after)
}

/// A workflow step's pause of the subject's running `rule` clock (work
/// waits for the owner). A clock already past due keeps running: the work
/// is late whatever it waits for now. Answers the clock paused, if any.
pub fn hold(
    conn: &mut DbConn,
    now: NaiveDateTime,
    actor_id: i64,
    rule: Rule,
    (subject_type, subject_id): (&str, i64),
    reason: &str,
) -> AppResult<Option<Deadline>> {
    match open_for(conn, rule, subject_type, subject_id)? {
        Some(d)
            if d.paused_at.is_none()
                && d.status == DeadlineStatus::Pending.as_str()
                && now < d.due_at =>
        {
            stop(conn, now, actor_id, &d, reason).map(Some)
        }
        _ => Ok(None),
    }
}

/// A workflow step's resumption of the subject's paused `rule` clock.
pub fn release(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    actor_id: i64,
    rule: Rule,
    (subject_type, subject_id): (&str, i64),
) -> AppResult<Option<Deadline>> {
    match open_for(conn, rule, subject_type, subject_id)? {
        Some(d) if d.paused_at.is_some() => unpause(conn, config, now, actor_id, &d).map(Some),
        _ => Ok(None),
    }
}

/// The subject was renamed: its open clock of `rule` shows the new title in
/// task lists.
pub fn retitle(
    conn: &mut DbConn,
    now: NaiveDateTime,
    rule: Rule,
    subject_type: &str,
    subject_id: i64,
    title: &str,
) -> AppResult<()> {
    diesel::update(
        deadlines::table
            .filter(deadlines::rule.eq(rule.as_str()))
            .filter(deadlines::subject_type.eq(subject_type))
            .filter(deadlines::subject_id.eq(subject_id))
            .filter(deadlines::status.eq_any(OPEN))
            .filter(deadlines::title.ne(title)),
    )
    .set((
        deadlines::title.eq(title),
        deadlines::version.eq(deadlines::version + 1),
        deadlines::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// The subjects moved to another org unit: their open clocks follow, so
/// the task lists of the new unit show them.
pub fn move_scope(
    conn: &mut DbConn,
    now: NaiveDateTime,
    subject_type: &str,
    subject_ids: &[i64],
    org_unit_id: i64,
) -> AppResult<()> {
    if subject_ids.is_empty() {
        return Ok(());
    }
    let scope_path: String = org_units::table
        .find(org_unit_id)
        .select(org_units::path)
        .first(conn)?;
    let moved: Vec<(i64, String)> = deadlines::table
        .filter(deadlines::subject_type.eq(subject_type))
        .filter(deadlines::subject_id.eq_any(subject_ids))
        .filter(deadlines::status.eq_any(OPEN))
        .filter(deadlines::scope_path.ne(&scope_path))
        .select((deadlines::id, deadlines::scope_path))
        .load(conn)?;
    diesel::update(
        deadlines::table
            .filter(deadlines::subject_type.eq(subject_type))
            .filter(deadlines::subject_id.eq_any(subject_ids))
            .filter(deadlines::status.eq_any(OPEN)),
    )
    .set((
        deadlines::scope_org_unit_id.eq(org_unit_id),
        deadlines::scope_path.eq(scope_path),
        deadlines::version.eq(deadlines::version + 1),
        deadlines::updated_at.eq(now),
    ))
    .execute(conn)?;
    // the old unit's task list loses them: its feed says so
    for (id, was) in moved {
        events::record_moves(
            conn,
            now,
            None,
            EventType::DeadlineMoved,
            "deadline",
            &[id],
            (Some(was.as_str()), None),
        )?;
    }
    Ok(())
}

// ---- the sweeper -------------------------------------------------------

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Deadlines that became overdue and were escalated one level.
    pub overdue: usize,
    /// Running deadlines past their warning point, marked due soon.
    pub due_soon: usize,
    /// Expired idempotency keys removed.
    pub expired_keys: usize,
}

/// Marks running clocks past their warning point (and not yet due) as due
/// soon, once each, with a `deadline.due_soon` event: people act before the
/// escalation rather than after. Claimed by a conditional UPDATE like the
/// overdue pass, so racing sweeps mark each once.
fn mark_due_soon(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<usize> {
    const BATCH: i64 = 500;
    let mut marked = 0;
    loop {
        let claimed: Vec<(i64, String, NaiveDateTime)> = write_tx(conn, |conn| {
            // the literal status matches the partial index `deadlines_warn`
            let running = diesel::dsl::sql::<diesel::sql_types::Bool>(
                "status = 'pending' AND due_soon_at IS NULL",
            );
            let candidates: Vec<i64> = deadlines::table
                .filter(running)
                .filter(deadlines::warn_at.le(now))
                .filter(deadlines::due_at.gt(now))
                .filter(deadlines::paused_at.is_null())
                .order(deadlines::warn_at.asc())
                .limit(BATCH)
                .select(deadlines::id)
                .load(conn)?;
            if candidates.is_empty() {
                return Ok(vec![]);
            }
            let claimed: Vec<(i64, String, NaiveDateTime)> = diesel::update(
                deadlines::table
                    .filter(deadlines::id.eq_any(&candidates))
                    .filter(deadlines::due_soon_at.is_null()),
            )
            .set((
                deadlines::due_soon_at.eq(now),
                deadlines::version.eq(deadlines::version + 1),
                deadlines::updated_at.eq(now),
            ))
            .returning((deadlines::id, deadlines::rule, deadlines::due_at))
            .get_results(conn)?;
            for (id, rule, due_at) in &claimed {
                events::record(
                    conn,
                    now,
                    None,
                    EventType::DeadlineDueSoon,
                    "deadline",
                    *id,
                    serde_json::json!({ "rule": rule, "due_at": due_at }),
                )?;
            }
            Ok(claimed)
        })?;
        marked += claimed.len();
        if (claimed.len() as i64) < BATCH {
            return Ok(marked);
        }
    }
}

/// Turns pending deadlines past due into `overdue`, raises their escalation
/// level and records who they were escalated to. Each deadline is claimed
/// by one conditional UPDATE (`… WHERE status = 'pending'`), so two sweeps
/// racing on one PostgreSQL never escalate it twice.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<SweepReport> {
    const BATCH: i64 = 500;
    let mut report = SweepReport::default();
    loop {
        let claimed: Vec<(i64, String, i64, i32)> = write_tx(conn, |conn| {
            // on `deadlines_open_due`, past due only
            let candidates: Vec<i64> = deadlines::table
                .filter(open())
                .filter(deadlines::status.eq(DeadlineStatus::Pending.as_str()))
                .filter(deadlines::due_at.lt(now))
                .filter(deadlines::paused_at.is_null())
                .order(deadlines::due_at.asc())
                .limit(BATCH)
                .select(deadlines::id)
                .load(conn)?;
            if candidates.is_empty() {
                return Ok(vec![]);
            }
            let claimed: Vec<(i64, String, i64, i32)> = diesel::update(
                deadlines::table
                    .filter(deadlines::id.eq_any(&candidates))
                    .filter(deadlines::status.eq(DeadlineStatus::Pending.as_str()))
                    .filter(deadlines::paused_at.is_null()),
            )
            .set((
                deadlines::status.eq(DeadlineStatus::Overdue.as_str()),
                deadlines::escalation_level.eq(deadlines::escalation_level + 1),
                deadlines::escalated_at.eq(now),
                deadlines::version.eq(deadlines::version + 1),
                deadlines::updated_at.eq(now),
            ))
            .returning((
                deadlines::id,
                deadlines::rule,
                deadlines::policy_id,
                deadlines::escalation_level,
            ))
            .get_results(conn)?;
            // the few policy versions of a batch, read once rather than per deadline
            let policy_ids: Vec<i64> = claimed.iter().map(|c| c.2).collect();
            let policies: std::collections::HashMap<i64, Policy> = deadline_policies::table
                .filter(deadline_policies::id.eq_any(&policy_ids))
                .select(Policy::as_select())
                .load(conn)?
                .into_iter()
                .map(|p: Policy| (p.id, p))
                .collect();
            for (id, rule, policy_id, level) in &claimed {
                let policy = policies.get(policy_id).ok_or_else(|| {
                    AppError::internal(format!("deadline {id} names missing policy {policy_id}"))
                })?;
                let roles = policy.escalation_role_list();
                for role in &roles {
                    diesel::insert_into(deadline_escalations::table)
                        .values((
                            deadline_escalations::deadline_id.eq(id),
                            deadline_escalations::level.eq(level),
                            deadline_escalations::role.eq(role),
                            deadline_escalations::at.eq(now),
                        ))
                        .execute(conn)?;
                }
                events::record(
                    conn,
                    now,
                    None,
                    EventType::DeadlineOverdue,
                    "deadline",
                    *id,
                    serde_json::json!({ "rule": rule }),
                )?;
                events::record(
                    conn,
                    now,
                    None,
                    EventType::DeadlineEscalated,
                    "deadline",
                    *id,
                    serde_json::json!({ "rule": rule, "level": level, "roles": roles }),
                )?;
            }
            Ok(claimed)
        })?;
        report.overdue += claimed.len();
        if (claimed.len() as i64) < BATCH {
            // another instance may have claimed part of a full batch; one
            // more look costs little and ends the loop when nothing is left
            let left: i64 = deadlines::table
                .filter(deadlines::status.eq(DeadlineStatus::Pending.as_str()))
                .filter(deadlines::due_at.lt(now))
                .filter(deadlines::paused_at.is_null())
                .count()
                .get_result(conn)?;
            if left == 0 {
                report.due_soon = mark_due_soon(conn, now)?;
                report.expired_keys = super::idempotency::sweep(conn, now)?;
                return Ok(report);
            }
        }
    }
}

// ---- reading -----------------------------------------------------------

fn visible(actor: &Actor) -> Option<deadlines::BoxedQuery<'static, MultiBackend>> {
    let query = deadlines::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        // the unit's clocks, and always the caller's own (a visitor of a
        // project department records a visit whose clock the branch keeps)
        Scope::OrgSubtree(path) => Some(
            query.filter(
                crate::rows_in_subtree!(deadlines::table, deadlines::scope_path, &path)
                    .or(deadlines::assignee_user_id.eq(actor.id)),
            ),
        ),
        Scope::Customer(_) => Some(query.filter(deadlines::assignee_user_id.eq(actor.id))),
        Scope::Nothing => None,
    }
}

/// [`get`] for a change: on PostgreSQL the row is locked first, so that a
/// sweep marking the clock meanwhile commits before the change reads it
/// (as [`open_for`] does for a step's clock).
fn get_to_change(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Deadline> {
    if let DbConn::Pg(pg) = conn {
        deadlines::table
            .find(id)
            .select(deadlines::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    get(conn, actor, id)
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Deadline> {
    let Some(query) = visible(actor) else {
        return Err(AppError::NotFound(format!("deadline {id} not found")));
    };
    query
        .filter(deadlines::id.eq(id))
        .select(Deadline::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("deadline {id} not found")))
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    filter: &DeadlineFilter,
    page: Page,
) -> AppResult<Paged<Deadline>> {
    let Some(mut query) = filtered(actor, now, filter) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(after) = page.after_id {
        query = query.filter(deadlines::id.gt(after));
    }
    let rows = query
        .order(deadlines::id.asc())
        .limit(page.limit + 1)
        .select(Deadline::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |d| d.id))
}

/// The overdue deadlines of the caller's scope (with the list's other
/// filters), most overdue first: read in (due_at, id) order on the partial
/// index of open deadlines `deadlines_open_due`, so the first page costs the
/// same however many deadlines are open or settled.
pub fn overdue(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    filter: &DeadlineFilter,
    limit: i64,
    after: Option<DueCursor>,
) -> AppResult<(Vec<Deadline>, Option<DueCursor>)> {
    let filter = DeadlineFilter {
        overdue: Some(true),
        ..filter.clone()
    };
    let Some(query) = filtered(actor, now, &filter) else {
        return Ok((vec![], None));
    };
    let rows = after_due(query, after)
        .order((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(limit + 1)
        .select(Deadline::as_select())
        .load(conn)?;
    Ok(DueCursor::page(rows, limit))
}

/// The deadlines the caller sees, narrowed by the list's filters.
fn filtered(
    actor: &Actor,
    now: NaiveDateTime,
    filter: &DeadlineFilter,
) -> Option<deadlines::BoxedQuery<'static, MultiBackend>> {
    let mut query = visible(actor)?;
    if let Some(s) = filter.status {
        query = query.filter(deadlines::status.eq(s.as_str()));
    }
    if let Some(r) = filter.rule {
        query = query.filter(deadlines::rule.eq(r.as_str()));
    }
    if let Some(t) = &filter.subject_type {
        query = query.filter(deadlines::subject_type.eq(t.clone()));
    }
    if let Some(id) = filter.subject_id {
        query = query.filter(deadlines::subject_id.eq(id));
    }
    if let Some(u) = filter.assignee_user_id {
        query = query.filter(deadlines::assignee_user_id.eq(u));
    }
    if let Some(t) = filter.due_before {
        query = query.filter(deadlines::due_at.lt(t));
    }
    match filter.overdue {
        // open and past due, whether or not the sweeper has been by yet; a
        // paused clock is not overdue (its due time moves when it resumes)
        Some(true) => {
            // the open ones only, never history (see `OPEN_SQL`)
            query = query
                .filter(open())
                .filter(deadlines::due_at.lt(now))
                .filter(deadlines::paused_at.is_null())
        }
        Some(false) => {
            query = query.filter(
                deadlines::status.ne(DeadlineStatus::Overdue.as_str()).and(
                    deadlines::status
                        .ne(DeadlineStatus::Pending.as_str())
                        .or(deadlines::due_at.ge(now))
                        .or(deadlines::paused_at.is_not_null()),
                ),
            )
        }
        None => {}
    }
    Some(query)
}

/// Rows after the cursor in (due_at, id) order: the first condition bounds
/// the index range, the second finishes it.
fn after_due(
    query: deadlines::BoxedQuery<'_, MultiBackend>,
    after: Option<DueCursor>,
) -> deadlines::BoxedQuery<'_, MultiBackend> {
    match after {
        None => query,
        Some(c) => query
            .filter(deadlines::due_at.ge(c.due_at))
            .filter(deadlines::due_at.gt(c.due_at).or(deadlines::id.gt(c.id))),
    }
}

/// The due time of deadline `id`, to page on after it.
pub fn due_cursor_of(conn: &mut DbConn, id: i64) -> AppResult<Option<DueCursor>> {
    Ok(deadlines::table
        .find(id)
        .select(deadlines::due_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .map(|due_at| DueCursor { due_at, id }))
}

/// Where a page of a list in due order (tasks, overdue deadlines) starts:
/// after this due time and id.
#[derive(Debug, Clone, Copy)]
pub struct DueCursor {
    pub due_at: NaiveDateTime,
    pub id: i64,
}

impl DueCursor {
    /// Cuts `limit + 1` rows in due order to a page and the cursor of the next.
    fn page(mut rows: Vec<Deadline>, limit: i64) -> (Vec<Deadline>, Option<DueCursor>) {
        let next = if rows.len() as i64 > limit {
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            rows.last().map(|d| DueCursor {
                due_at: d.due_at,
                id: d.id,
            })
        } else {
            None
        };
        (rows, next)
    }
}

/// The caller's open deadlines, soonest first: assigned to them by name, to
/// their role within their org unit, or escalated to their role within it.
pub fn tasks(
    conn: &mut DbConn,
    actor: &Actor,
    limit: i64,
    after: Option<DueCursor>,
) -> AppResult<(Vec<Task>, Option<DueCursor>)> {
    // Three sources, each read on its own partial index of open deadlines in
    // (due_at, id) order and merged here: at most `limit + 1` rows each, so
    // the page costs the same with ten or a million settled deadlines. One
    // query with an OR of the three is planned as a scan of everything.
    let want = limit + 1;
    let mut rows = task_source(conn, TaskSource::Assigned(actor.id), after, want)?;
    if let (Some(path), true) = (&actor.org_path, actor.role.is_org_role()) {
        let role = actor.role.as_str();
        rows.extend(task_source(
            conn,
            TaskSource::Role(role, path),
            after,
            want,
        )?);
        rows.extend(task_source(
            conn,
            TaskSource::Escalated(role, path),
            after,
            want,
        )?);
    }
    rows.sort_by_key(|d| (d.due_at, d.id));
    rows.dedup_by_key(|d| d.id);
    let (rows, next) = DueCursor::page(rows, limit);
    let tasks = rows
        .into_iter()
        .map(|d| {
            let reason = if d.assignee_user_id == Some(actor.id) {
                TaskReason::Assigned
            } else if d.assignee_user_id.is_none()
                && d.assignee_role.as_deref() == Some(actor.role.as_str())
            {
                TaskReason::Role
            } else {
                TaskReason::Escalated
            };
            Task {
                deadline: d,
                reason,
            }
        })
        .collect();
    Ok((tasks, next))
}

/// Where a caller's tasks come from.
enum TaskSource<'a> {
    /// Named on the deadline.
    Assigned(i64),
    /// Left to a role, within the caller's subtree (role, path).
    Role(&'a str, &'a str),
    /// Escalated to the caller's role, within their subtree.
    Escalated(&'a str, &'a str),
}

/// The first `want` open deadlines of one source after the cursor, soonest
/// first, each on its own partial index (`deadlines_open_assignee`,
/// `deadlines_open_role`, `deadlines_open_escalated`), whose conditions are
/// written literally (see [`OPEN_SQL`]).
fn task_source(
    conn: &mut DbConn,
    source: TaskSource<'_>,
    after: Option<DueCursor>,
    want: i64,
) -> AppResult<Vec<Deadline>> {
    let mut query = deadlines::table.filter(open()).into_boxed();
    query = match source {
        TaskSource::Assigned(user) => query.filter(deadlines::assignee_user_id.eq(user)),
        TaskSource::Role(role, path) => query
            .filter(deadlines::assignee_user_id.is_null())
            .filter(deadlines::assignee_role.eq(role))
            .filter(crate::rows_in_subtree!(
                deadlines::table,
                deadlines::scope_path,
                path
            )),
        TaskSource::Escalated(role, path) => query
            .filter(Condition("escalation_level > 0"))
            .filter(crate::rows_in_subtree!(
                deadlines::table,
                deadlines::scope_path,
                path
            ))
            // a count per candidate, not EXISTS: PostgreSQL turns an EXISTS
            // into a hash semi-join over every escalation to the role and
            // sorts all matches (3 ms at 3,400 escalated clocks); a scalar
            // subquery keeps the walk in due order, stopping at `want` rows
            // (0.2 ms), each checked on `deadline_escalations_role`
            .filter(
                deadline_escalations::table
                    .filter(deadline_escalations::deadline_id.eq(deadlines::id))
                    .filter(deadline_escalations::role.eq(role))
                    .count()
                    .single_value()
                    .gt(0i64),
            ),
    };
    Ok(after_due(query, after)
        .order((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(want)
        .select(Deadline::as_select())
        .load(conn)?)
}
