//! The transition kit. Every workflow (ledger, complaint, rectification
//! plan, visit plan, visit, repair) declares one table of
//! `(state, action) → next state, roles, deadlines settled, deadlines
//! started, event`, and [`run`] carries out a step of it in the command's
//! transaction, always in the same order:
//!
//! 1. load the subject in the caller's scope (404 outside it);
//! 2. the role may take the action (403);
//! 3. the action is allowed from the current state (409
//!    `invalid_transition`, naming the state and what is allowed now);
//! 4. `If-Match` names the current version (412);
//! 5. the step's own business checks;
//! 6. the guarded write `UPDATE … WHERE id = ? AND version = ? AND status = ?`
//!    (a lost race is 409 `concurrent_change`, never an overwrite);
//! 7. settle the table's deadlines (late without `late_reason`: 422 and the
//!    whole step rolls back), then start the table's next deadlines;
//! 8. the step's own writes (who reviewed, what was said);
//! 9. one event with the subject before and after.

use crate::services::IfMatch;
use std::fmt::{Debug, Display};

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::auth::Actor;
use crate::config::Config;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::deadline::{Deadline, Rule};
use crate::models::event::EventType;
use crate::models::user::Role;

use super::deadlines::{self, NewDeadline};
use super::{check_version, concurrent_change, events};

/// One row of a workflow's table.
#[derive(Debug)]
pub struct Transition<S: 'static, A: 'static> {
    /// The states the action may be taken from.
    pub from: &'static [S],
    pub action: A,
    pub to: S,
    /// Who may take it.
    pub roles: &'static [Role],
    /// Clocks the step stops (met, or met late with a reason).
    pub settles: &'static [Rule],
    /// Clocks the step starts.
    pub starts: &'static [Rule],
    /// The event written, e.g. `project.ledger_submitted`.
    pub event: EventType,
}

/// A workflow: its table, and how to read and guard-write its subject.
pub trait Workflow {
    type State: Copy + Eq + Debug + Display + 'static;
    type Action: Copy + Eq + Debug + Display + 'static;
    type Subject: Serialize;

    /// The name people use, e.g. "ledger".
    const NAME: &'static str;
    /// The `subject_type` of its deadlines and events.
    const SUBJECT_TYPE: &'static str;

    fn table() -> &'static [Transition<Self::State, Self::Action>];
    /// Every state and action, for the README and the pair-walking tests.
    fn states() -> &'static [Self::State];
    fn actions() -> &'static [Self::Action];

    /// The subject as the caller may see it; 404 outside their scope.
    fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Self::Subject>;
    fn id(subject: &Self::Subject) -> i64;
    fn state(subject: &Self::Subject) -> AppResult<Self::State>;
    fn version(subject: &Self::Subject) -> i32;
    /// `UPDATE … SET status = to, version = version + 1 WHERE id AND version
    /// AND status = from`; answers the number of rows written.
    fn advance(
        conn: &mut DbConn,
        subject: &Self::Subject,
        from: Self::State,
        to: Self::State,
        now: NaiveDateTime,
    ) -> AppResult<usize>;
    /// The clock of `rule` that a step starts for the subject.
    fn clock(subject: &Self::Subject, rule: Rule, now: NaiveDateTime) -> NewDeadline;
    /// The records whose `rule` clock a step settles: the subject itself,
    /// unless the clock waits on another record for this one (a visit
    /// plan's submission meets its branch's or its projects' compile clocks).
    fn settled_subjects(
        _conn: &mut DbConn,
        _config: &Config,
        subject: &Self::Subject,
        _rule: Rule,
    ) -> AppResult<Vec<(&'static str, i64)>> {
        Ok(vec![(Self::SUBJECT_TYPE, Self::id(subject))])
    }
}

/// The guarded write of [`Workflow::advance`] for a table with `id`,
/// `version`, `updated_at` and a state column:
/// `UPDATE … SET state = to, version = version + 1 WHERE id AND version AND
/// state = from`, answering the rows written (0: someone was first).
/// `advance!(conn, complaints, status, subject, from, to, now)`.
#[macro_export]
macro_rules! advance {
    ($conn:expr, $table:ident, $state:ident, $subject:expr, $from:expr, $to:expr, $now:expr) => {{
        use diesel::prelude::*;
        Ok(diesel::update(
            $table::table
                .filter($table::id.eq($subject.id))
                .filter($table::version.eq($subject.version))
                .filter($table::$state.eq($from.as_str())),
        )
        .set((
            $table::$state.eq($to.as_str()),
            $table::version.eq($subject.version + 1),
            $table::updated_at.eq($now),
        ))
        .execute($conn)?)
    }};
}

/// Who acts, when, under which configuration.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub actor: &'a Actor,
    pub config: &'a Config,
    pub now: NaiveDateTime,
}

/// What the client asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a, A> {
    pub action: A,
    /// `If-Match`, when sent.
    pub expected_version: Option<IfMatch>,
    /// Why the step comes late; sent on time it is kept as the step's note.
    pub late_reason: Option<&'a str>,
}

/// What a step did, for its own writes.
#[derive(Debug)]
pub struct Outcome<S> {
    pub from: S,
    pub to: S,
    /// Some settled clock was past due.
    pub late: bool,
    /// The `late_reason` sent, trimmed, late or not.
    pub note: Option<String>,
    pub settled: Vec<Deadline>,
    pub started: Vec<Deadline>,
}

/// The row of `action` from `state`, after the role check: 403 when no row
/// of the action admits the role, 409 when the state admits no such step.
pub fn transition<W: Workflow>(
    role: Role,
    state: W::State,
    action: W::Action,
) -> AppResult<&'static Transition<W::State, W::Action>> {
    let rows: Vec<&Transition<W::State, W::Action>> =
        W::table().iter().filter(|t| t.action == action).collect();
    let forbidden = |roles: Vec<Role>| {
        let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        names.dedup();
        AppError::Forbidden(format!(
            "only {} may {action} a {}; you are {role}",
            names.join(" or "),
            W::NAME
        ))
    };
    if !rows.iter().any(|t| t.roles.contains(&role)) {
        return Err(forbidden(
            rows.iter().flat_map(|t| t.roles.iter().copied()).collect(),
        ));
    }
    let Some(row) = rows.iter().find(|t| t.from.contains(&state)) else {
        let allowed = allowed_actions::<W>(state);
        let allowed = if allowed.is_empty() {
            "nothing: this is a final state".to_string()
        } else {
            allowed
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "the {} is {state}; it cannot {action} now (allowed now: {allowed})",
                W::NAME
            ),
        ));
    };
    if !row.roles.contains(&role) {
        return Err(forbidden(row.roles.to_vec()));
    }
    Ok(row)
}

/// [`transition`] for a person: a row of the project department
/// ([`crate::auth::DEPARTMENT`]) admits staff only of a project department.
pub fn transition_for<W: Workflow>(
    actor: &Actor,
    state: W::State,
    action: W::Action,
) -> AppResult<&'static Transition<W::State, W::Action>> {
    let row = transition::<W>(actor.role, state, action)?;
    if !actor.acts_as(row.roles) {
        return Err(AppError::Forbidden(format!(
            "only the project department may {action} a {}: its project manager, or staff of a project department; your unit is not one",
            W::NAME
        )));
    }
    Ok(row)
}

/// The actions the table allows from `state`, in table order.
pub fn allowed_actions<W: Workflow>(state: W::State) -> Vec<W::Action> {
    let mut out = vec![];
    for t in W::table().iter().filter(|t| t.from.contains(&state)) {
        if !out.contains(&t.action) {
            out.push(t.action);
        }
    }
    out
}

/// Carries out one step in one transaction (see the module's list).
/// `check` runs the step's business checks on the subject before anything
/// is written; `apply` makes the step's own writes after the state and the
/// clocks have moved. Answers the subject as it is after the step.
pub fn run<W: Workflow>(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    request: Request<'_, W::Action>,
    check: impl FnOnce(&mut DbConn, &W::Subject) -> AppResult<()>,
    apply: impl FnOnce(&mut DbConn, &W::Subject, &Outcome<W::State>) -> AppResult<()>,
) -> AppResult<W::Subject> {
    let Ctx { actor, config, now } = ctx;
    write_tx(conn, |conn| {
        let before = W::load(conn, actor, id)?;
        let from = W::state(&before)?;
        let row = transition_for::<W>(actor, from, request.action)?;
        check_version(request.expected_version, W::version(&before))?;
        check(conn, &before)?;
        if W::advance(conn, &before, from, row.to, now)? == 0 {
            return Err(concurrent_change());
        }
        let note = request
            .late_reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        let mut settled = vec![];
        for rule in row.settles {
            for (subject_type, subject_id) in W::settled_subjects(conn, config, &before, *rule)? {
                if let Some(d) = deadlines::settle(
                    conn,
                    now,
                    actor,
                    *rule,
                    subject_type,
                    subject_id,
                    note.as_deref(),
                )? {
                    settled.push(d);
                }
            }
        }
        let mut started = vec![];
        for rule in row.starts {
            started.push(deadlines::start(
                conn,
                config,
                now,
                W::clock(&before, *rule, now),
            )?);
        }
        let outcome = Outcome {
            from,
            to: row.to,
            late: settled
                .iter()
                .any(|d| d.status == crate::models::deadline::DeadlineStatus::MetLate.as_str()),
            note,
            settled,
            started,
        };
        apply(conn, &before, &outcome)?;
        let after = W::load(conn, actor, id)?;
        events::record_change(
            conn,
            now,
            actor,
            row.event,
            (W::SUBJECT_TYPE, id),
            Some(audit(&before)),
            Some(serde_json::json!({
                "action": request.action.to_string(),
                "state": outcome.to.to_string(),
                "late": outcome.late,
                "note": outcome.note,
                "subject": audit(&after),
            })),
        )?;
        Ok(after)
    })
}

fn audit<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The table as Markdown, one line per `(state, action)` pair it allows:
/// what the README shows mobile developers.
pub fn markdown<W: Workflow>() -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "—".to_string()
        } else {
            items.join(", ")
        }
    };
    let mut out = String::from(
        "| state | action | next state | roles | settles | starts | event |\n|---|---|---|---|---|---|---|\n",
    );
    for state in W::states() {
        for t in W::table().iter().filter(|t| t.from.contains(state)) {
            out.push_str(&format!(
                "| `{state}` | `{}` | `{}` | {} | {} | {} | `{}` |\n",
                t.action,
                t.to,
                list(t.roles.iter().map(|r| format!("`{r}`")).collect()),
                list(t.settles.iter().map(|r| format!("`{r}`")).collect()),
                list(t.starts.iter().map(|r| format!("`{r}`")).collect()),
                t.event
            ));
        }
    }
    out
}

/// Declares a workflow once — its name, subject, state column, table, how
/// it loads its subject in the caller's scope and how its clocks are made
/// — and generates the [`Workflow`] impl:
///
/// ```text
/// crate::workflow! {
///     ComplaintFlow {
///         name: "complaint",
///         subject: Complaint as "complaint",
///         state: ComplaintStatus = complaints.status,
///         action: ComplaintAction,
///         table: TABLE,
///         load: |conn, actor, id| load(conn, actor, id),
///         clock: |c, rule, now| clock(c, rule, now),
///     }
/// }
/// ```
///
/// `settled_subjects: |conn, config, subject, rule| …` names the records
/// whose clocks a step settles when they are not the subject's own.
#[macro_export]
macro_rules! workflow {
    (
        $flow:ty {
            name: $name:expr,
            subject: $subject:ty as $subject_type:expr,
            state: $state:ty = $table:ident . $column:ident,
            action: $action:ty,
            table: $rows:expr,
            load: |$conn:ident, $actor:ident, $id:ident| $load:expr,
            clock: |$s:ident, $rule:ident, $now:ident| $clock:expr
            $(, settled_subjects: |$sconn:ident, $sconfig:ident, $ss:ident, $srule:ident| $settled:expr)?
            $(,)?
        }
    ) => {
        impl $crate::services::workflow::Workflow for $flow {
            type State = $state;
            type Action = $action;
            type Subject = $subject;
            const NAME: &'static str = $name;
            const SUBJECT_TYPE: &'static str = $subject_type;

            fn table() -> &'static [$crate::services::workflow::Transition<$state, $action>] {
                &$rows
            }
            fn states() -> &'static [$state] {
                <$state>::ALL
            }
            fn actions() -> &'static [$action] {
                <$action>::ALL
            }
            fn load(
                $conn: &mut $crate::db::DbConn,
                $actor: &$crate::auth::Actor,
                $id: i64,
            ) -> $crate::error::AppResult<$subject> {
                $load
            }
            fn id(s: &$subject) -> i64 {
                s.id
            }
            fn state(s: &$subject) -> $crate::error::AppResult<$state> {
                <$state>::from_db(&s.$column)
            }
            fn version(s: &$subject) -> i32 {
                s.version
            }
            fn advance(
                conn: &mut $crate::db::DbConn,
                s: &$subject,
                from: $state,
                to: $state,
                now: chrono::NaiveDateTime,
            ) -> $crate::error::AppResult<usize> {
                $crate::advance!(conn, $table, $column, s, from, to, now)
            }
            fn clock(
                $s: &$subject,
                $rule: $crate::models::deadline::Rule,
                $now: chrono::NaiveDateTime,
            ) -> $crate::services::deadlines::NewDeadline {
                $clock
            }
            $(
                fn settled_subjects(
                    $sconn: &mut $crate::db::DbConn,
                    $sconfig: &$crate::config::Config,
                    $ss: &$subject,
                    $srule: $crate::models::deadline::Rule,
                ) -> $crate::error::AppResult<Vec<(&'static str, i64)>> {
                    $settled
                }
            )?
        }
    };
}
