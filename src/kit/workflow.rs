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
//! 9. one event with the subject before and after;
//! 10. the row's effects on other records (a clock met, or a step of that
//!     record's own table, with its own event).
//!
//! A record's creation runs the same way from its creation row
//! ([`create`]): its first state, its first clocks, its event, its effects.

use crate::kit::IfMatch;
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
pub struct Transition<S: 'static, A: 'static, X: 'static> {
    /// The states the action may be taken from.
    pub from: &'static [S],
    pub action: A,
    /// Only for some records of the kind (see [`When`]); `None`: all.
    pub when: Option<When<X>>,
    pub to: S,
    /// Who may take it.
    pub roles: &'static [Role],
    /// Clocks the step stops (met, or met late with a reason).
    pub settles: &'static [Rule],
    /// Clocks the step starts.
    pub starts: &'static [Rule],
    /// Clocks the step cancels (nobody waits for them any more).
    pub cancels: &'static [Rule],
    /// Running clocks the step stops for a while (work waits for the
    /// owner): the time until they resume does not count.
    pub pauses: &'static [Rule],
    /// Paused clocks the step starts again, due later by the time paused.
    pub resumes: &'static [Rule],
    /// What the step does to other records (see [`Effect`]).
    pub effects: &'static [Effect],
    /// The event written, e.g. `project.ledger_submitted`.
    pub event: EventType,
}

/// A row that applies only to some records of the kind — a branch's plan
/// and a project's, a complaint sent to the group — where the same action
/// from the same state takes other roles or leads elsewhere: its name, as
/// the README's table shows it, and the test on the record.
pub struct When<X: 'static> {
    pub name: &'static str,
    pub holds: fn(&mut DbConn, &X) -> AppResult<bool>,
}

impl<X> std::fmt::Debug for When<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// How a record comes to be: the state it is born in, who may make it,
/// the clocks it starts and those it meets at once (a record written after
/// the fact, like a visit, runs its clock from the visit and is its own
/// end), what it does to other records, and the event.
#[derive(Debug)]
pub struct Creation<S: 'static> {
    /// What people call it, e.g. `register`.
    pub name: &'static str,
    pub to: S,
    pub roles: &'static [Role],
    pub starts: &'static [Rule],
    pub settles: &'static [Rule],
    pub effects: &'static [Effect],
    pub event: EventType,
}

/// A step's effect on another record: the record of kind `on` that the
/// subject names ([`Workflow::linked`]), when it is in one of the states
/// `when` (as stored; empty: whatever its state), is acted on as `does`
/// says, in the step's transaction.
#[derive(Debug)]
pub struct Effect {
    pub on: &'static str,
    pub when: &'static [&'static str],
    pub does: Does,
}

/// What an [`Effect`] does to the other record.
#[derive(Debug)]
pub enum Does {
    /// Its clock of the rule is met, when the actor holds the role the
    /// clock names (the branch's revisit is met by the branch's visit, not
    /// by whoever else records one); anyone else's step meets nothing.
    SettleHeld(Rule),
    /// It takes the named step of its own table (a child's small life
    /// cycle: a milestone abandoned when its complaint closes).
    Step(&'static str, StepFn),
}

/// Runs one step of another record's table on record `id`.
pub type StepFn = fn(&mut DbConn, Ctx<'_>, i64, Option<&str>) -> AppResult<()>;

/// A workflow: its table, and how to read and guard-write its subject.
pub trait Workflow {
    type State: Copy + Eq + Debug + Display + 'static;
    type Action: Copy + Eq + Debug + Display + 'static;
    type Subject: Serialize + 'static;

    /// The name people use, e.g. "ledger".
    const NAME: &'static str;
    /// The `subject_type` of its deadlines and events.
    const SUBJECT_TYPE: &'static str;

    fn table() -> &'static [Transition<Self::State, Self::Action, Self::Subject>];
    /// The ways the record comes to be.
    fn creations() -> &'static [Creation<Self::State>];
    /// Every state and action, for the README and the pair-walking tests.
    fn states() -> &'static [Self::State];
    fn actions() -> &'static [Self::Action];

    /// The subject as the caller may see it; 404 outside their scope.
    fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Self::Subject>;
    /// The record as written, whoever asks: a creation reads back the row
    /// it has just made (the maker may not read all of it).
    fn find(conn: &mut DbConn, id: i64) -> AppResult<Self::Subject>;
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
    /// The record its events are written on: itself, or for a child (a
    /// milestone, a plan item) the record it belongs to.
    fn event_subject(subject: &Self::Subject) -> (&'static str, i64) {
        (Self::SUBJECT_TYPE, Self::id(subject))
    }
    /// The records of kind `on` the subject names, each with its state as
    /// stored, for the table's [`Effect`]s.
    fn linked(
        _conn: &mut DbConn,
        _subject: &Self::Subject,
        on: &'static str,
    ) -> AppResult<Vec<(i64, String)>> {
        Err(AppError::internal(format!(
            "the {} names no {on} record",
            Self::NAME
        )))
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
    /// When the work the step reports was done, when not now (a visit is
    /// judged on its own day, not when it is written down).
    pub done_at: Option<NaiveDateTime>,
    /// Why the clocks the step pauses stop (shown on each clock).
    pub pause_reason: Option<&'a str>,
    /// Who holds the clocks the step starts, when one person does (the
    /// repair lead a repair order names).
    pub holder: Option<i64>,
}

impl<'a, A> Request<'a, A> {
    /// The action, with the client's `If-Match` and late reason.
    pub fn new(action: A, expected_version: Option<IfMatch>, late_reason: Option<&'a str>) -> Self {
        Request {
            action,
            expected_version,
            late_reason,
            done_at: None,
            pause_reason: None,
            holder: None,
        }
    }

    /// The same, the clocks it starts held by one person.
    pub fn held_by(self, user_id: i64) -> Self {
        Request {
            holder: Some(user_id),
            ..self
        }
    }

    /// The same, saying why the clocks it pauses stop.
    pub fn pausing(self, reason: &'a str) -> Self {
        Request {
            pause_reason: Some(reason),
            ..self
        }
    }
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

/// A row of workflow `W`'s table.
pub type Row<W> =
    Transition<<W as Workflow>::State, <W as Workflow>::Action, <W as Workflow>::Subject>;

/// The rows of `action` that apply to `subject` (every row without a
/// [`When`], and those whose test holds).
fn rows_for<W: Workflow>(
    conn: &mut DbConn,
    subject: &W::Subject,
    action: W::Action,
) -> AppResult<Vec<&'static Row<W>>> {
    let mut rows = vec![];
    for t in W::table().iter().filter(|t| t.action == action) {
        let applies = match &t.when {
            None => true,
            Some(when) => (when.holds)(conn, subject)?,
        };
        if applies {
            rows.push(t);
        }
    }
    Ok(rows)
}

/// Whether the caller takes `action` on this subject by role, whatever its
/// state (403 otherwise): for the writes a step's role covers, such as
/// editing the plan its compiler submits.
pub fn may<W: Workflow>(
    conn: &mut DbConn,
    actor: &Actor,
    subject: &W::Subject,
    action: W::Action,
) -> AppResult<()> {
    let rows = rows_for::<W>(conn, subject, action)?;
    if rows
        .iter()
        .any(|t| t.roles.contains(&actor.role) && actor.acts_as(t.roles))
    {
        return Ok(());
    }
    let mut names: Vec<&str> = rows
        .iter()
        .flat_map(|t| t.roles.iter().map(|r| r.as_str()))
        .collect();
    names.dedup();
    Err(AppError::Forbidden(format!(
        "only {} may {action} this {}; you are {}",
        names.join(" or "),
        W::NAME,
        actor.role
    )))
}

/// The row of `action` from `state` for a role, as the table reads for
/// any record of the kind (rows that apply only to some, see [`When`],
/// all count): 403 when no row of the action admits the role, 409 when the
/// state admits no such step.
pub fn transition<W: Workflow>(
    role: Role,
    state: W::State,
    action: W::Action,
) -> AppResult<&'static Row<W>> {
    let rows: Vec<_> = W::table().iter().filter(|t| t.action == action).collect();
    pick::<W>(rows, role, state, action)
}

/// The row of `action` from the subject's `state` for a person, among the
/// rows that apply to the subject: as [`transition`], and a row of the
/// project department ([`crate::auth::DEPARTMENT`]) admits staff only of a
/// project department.
pub fn transition_for<W: Workflow>(
    conn: &mut DbConn,
    actor: &Actor,
    subject: &W::Subject,
    state: W::State,
    action: W::Action,
) -> AppResult<&'static Row<W>> {
    let rows = rows_for::<W>(conn, subject, action)?;
    let row = pick::<W>(rows, actor.role, state, action)?;
    if !actor.acts_as(row.roles) {
        return Err(AppError::Forbidden(format!(
            "only the project department may {action} a {}: its project manager, or staff of a project department; your unit is not one",
            W::NAME
        )));
    }
    Ok(row)
}

/// The row among `rows` (those of `action`) from `state` that admits `role`.
fn pick<W: Workflow>(
    rows: Vec<&'static Row<W>>,
    role: Role,
    state: W::State,
    action: W::Action,
) -> AppResult<&'static Row<W>> {
    // the record as the rows that apply name it: `a visit_plan (branch plan)`
    let of = rows
        .iter()
        .find_map(|t| t.when.as_ref())
        .map_or(format!("a {}", W::NAME), |w| {
            format!("a {} ({})", W::NAME, w.name)
        });
    let forbidden = |roles: Vec<Role>| {
        let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        names.dedup();
        AppError::Forbidden(format!(
            "only {} may {action} {of}; you are {role}",
            names.join(" or ")
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
    Ok(*row)
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
    step::<W>(conn, ctx, id, request, Reach::Scope, check, apply)
}

/// Takes a step of a record that another record's step acts on (an
/// [`Effect`]): that record was read in the caller's scope, and this one,
/// named by it, is read as written (the owner closing their complaint
/// abandons milestones of a plan they may not read).
pub fn run_linked<W: Workflow>(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    request: Request<'_, W::Action>,
) -> AppResult<W::Subject> {
    step::<W>(
        conn,
        ctx,
        id,
        request,
        Reach::Linked,
        |_, _| Ok(()),
        |_, _, _| Ok(()),
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Scope,
    Linked,
}

fn step<W: Workflow>(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    request: Request<'_, W::Action>,
    reach: Reach,
    check: impl FnOnce(&mut DbConn, &W::Subject) -> AppResult<()>,
    apply: impl FnOnce(&mut DbConn, &W::Subject, &Outcome<W::State>) -> AppResult<()>,
) -> AppResult<W::Subject> {
    let Ctx { actor, now, .. } = ctx;
    let read = |conn: &mut DbConn| match reach {
        Reach::Scope => W::load(conn, actor, id),
        Reach::Linked => W::find(conn, id),
    };
    write_tx(conn, |conn| {
        let before = read(conn)?;
        let from = W::state(&before)?;
        let row = transition_for::<W>(conn, actor, &before, from, request.action)?;
        check_version(request.expected_version, W::version(&before))?;
        check(conn, &before)?;
        if W::advance(conn, &before, from, row.to, now)? == 0 {
            return Err(concurrent_change());
        }
        let clocks = Clocks {
            settles: row.settles,
            starts: row.starts,
            cancels: row.cancels,
            pauses: row.pauses,
            resumes: row.resumes,
            effects: row.effects,
        };
        let outcome = clocks.run::<W>(conn, ctx, &before, (from, row.to), now, &request)?;
        apply(conn, &before, &outcome)?;
        let after = read(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            row.event,
            W::event_subject(&before),
            Some(audit(&before)),
            Some(serde_json::json!({
                "action": request.action.to_string(),
                "state": outcome.to.to_string(),
                "late": outcome.late,
                "note": outcome.note,
                "subject": audit(&after),
            })),
        )?;
        if clocks.effects.is_empty() {
            return Ok(after);
        }
        clocks.effects::<W>(conn, ctx, &before, &request)?;
        read(conn)
    })
}

/// The creation row `name` of the workflow, when the actor may take it
/// (403 otherwise). Services ask first, before they read the body's
/// references, so that a role that may not create is told so.
pub fn creation<W: Workflow>(actor: &Actor, name: &str) -> AppResult<&'static Creation<W::State>> {
    let row = W::creations()
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| AppError::internal(format!("a {} has no creation {name}", W::NAME)))?;
    if !row.roles.contains(&actor.role) {
        let names: Vec<&str> = row.roles.iter().map(|r| r.as_str()).collect();
        return Err(AppError::Forbidden(format!(
            "only {} may {name} a {}; you are {}",
            names.join(" or "),
            W::NAME,
            actor.role
        )));
    }
    if !actor.acts_as(row.roles) {
        return Err(AppError::Forbidden(format!(
            "only the project department may {name} a {}: its project manager, or staff of a project department; your unit is not one",
            W::NAME
        )));
    }
    Ok(row)
}

/// Makes a record by its creation row, inside the caller's transaction:
/// `insert` writes the row in the state the table gives and answers its
/// id; then the row's clocks start (and those it meets at once are met,
/// judged at `request.done_at`, late only with `request.late_reason`), its
/// effects run, `apply` makes the creation's own writes that need them,
/// and its event is written. Answers the record and what happened to its
/// clocks.
pub fn create<W: Workflow>(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    row: &'static Creation<W::State>,
    request: CreateRequest<'_>,
    insert: impl FnOnce(&mut DbConn, W::State) -> AppResult<i64>,
    apply: impl FnOnce(&mut DbConn, &W::Subject, &Outcome<W::State>) -> AppResult<()>,
) -> AppResult<(W::Subject, Outcome<W::State>)> {
    let Ctx { actor, now, .. } = ctx;
    write_tx(conn, |conn| {
        let id = insert(conn, row.to)?;
        let subject = W::find(conn, id)?;
        let clocks = Clocks {
            // a record made after the fact meets the clock it has just started
            starts: row.starts,
            settles: row.settles,
            cancels: &[],
            pauses: &[],
            resumes: &[],
            effects: row.effects,
        };
        let step = Request {
            action: row.name,
            expected_version: None,
            late_reason: request.late_reason,
            done_at: request.done_at,
            pause_reason: None,
            holder: None,
        };
        let starts_at = request.starts_at.unwrap_or(now);
        let outcome = clocks.run::<W>(conn, ctx, &subject, (row.to, row.to), starts_at, &step)?;
        apply(conn, &subject, &outcome)?;
        let subject = W::find(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            row.event,
            W::event_subject(&subject),
            None,
            Some(audit(&subject)),
        )?;
        if clocks.effects.is_empty() {
            return Ok((subject, outcome));
        }
        clocks.effects::<W>(conn, ctx, &subject, &step)?;
        Ok((W::find(conn, id)?, outcome))
    })
}

/// What a creation is told beside its row: when its clocks run from (a
/// complaint's from its receipt, a ledger's from the end of the handover
/// day, a visit record's from the visit), when the work it records was
/// done, and why it comes late.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateRequest<'a> {
    pub starts_at: Option<NaiveDateTime>,
    pub done_at: Option<NaiveDateTime>,
    pub late_reason: Option<&'a str>,
}

/// The clocks and effects of one row, in the kit's order: start, settle,
/// cancel, then the effects on other records.
struct Clocks {
    settles: &'static [Rule],
    starts: &'static [Rule],
    cancels: &'static [Rule],
    pauses: &'static [Rule],
    resumes: &'static [Rule],
    effects: &'static [Effect],
}

impl Clocks {
    fn run<W: Workflow>(
        &self,
        conn: &mut DbConn,
        ctx: Ctx<'_>,
        subject: &W::Subject,
        (from, to): (W::State, W::State),
        starts_at: NaiveDateTime,
        request: &Request<'_, impl Copy>,
    ) -> AppResult<Outcome<W::State>> {
        let Ctx { actor, config, now } = ctx;
        let note = request
            .late_reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        let done_at = request.done_at.unwrap_or(now);
        let mut started = vec![];
        for rule in self.starts {
            let clock = W::clock(subject, *rule, starts_at);
            let clock = match request.holder {
                Some(user) => clock.held_by(user),
                None => clock,
            };
            // a clock of a record made after the fact is met by it at once
            started.push(deadlines::start(conn, config, now, clock)?);
        }
        let mut settled = vec![];
        for rule in self.settles {
            for (subject_type, subject_id) in W::settled_subjects(conn, config, subject, *rule)? {
                if let Some(d) = deadlines::settle_done_at(
                    conn,
                    now,
                    done_at,
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
        for rule in self.cancels {
            deadlines::cancel(
                conn,
                now,
                Some(actor.id),
                *rule,
                W::SUBJECT_TYPE,
                W::id(subject),
            )?;
        }
        for rule in self.pauses {
            let reason = request.pause_reason.unwrap_or("work waits");
            deadlines::hold(
                conn,
                now,
                actor.id,
                *rule,
                (W::SUBJECT_TYPE, W::id(subject)),
                reason,
            )?;
        }
        for rule in self.resumes {
            deadlines::release(
                conn,
                config,
                now,
                actor.id,
                *rule,
                (W::SUBJECT_TYPE, W::id(subject)),
            )?;
        }
        Ok(Outcome {
            from,
            to,
            late: settled
                .iter()
                .any(|d| d.status == crate::models::deadline::DeadlineStatus::MetLate.as_str()),
            note,
            settled,
            started,
        })
    }
    /// The effects on other records, after the step's own event: each
    /// record's step is told after the step that caused it.
    fn effects<W: Workflow>(
        &self,
        conn: &mut DbConn,
        ctx: Ctx<'_>,
        subject: &W::Subject,
        request: &Request<'_, impl Copy>,
    ) -> AppResult<()> {
        let Ctx { actor, now, .. } = ctx;
        let note = request.late_reason.map(str::trim).filter(|r| !r.is_empty());
        let done_at = request.done_at.unwrap_or(now);
        for effect in self.effects {
            for (other, state) in W::linked(conn, subject, effect.on)? {
                if !effect.when.is_empty() && !effect.when.contains(&state.as_str()) {
                    continue;
                }
                match &effect.does {
                    Does::SettleHeld(rule) => {
                        let held =
                            deadlines::open_for(conn, *rule, effect.on, other)?.is_some_and(|d| {
                                d.assignee_role.as_deref() == Some(actor.role.as_str())
                            });
                        if held {
                            deadlines::settle_done_at(
                                conn, now, done_at, actor, *rule, effect.on, other, note,
                            )?;
                        }
                    }
                    Does::Step(_, step) => step(conn, ctx, other, request.late_reason)?,
                }
            }
        }
        Ok(())
    }
}

/// Starts a clock that no record's step starts: one the calendar opens (a
/// branch's yearly visit plan is due from 1 January). Answers whether it
/// was started here; another instance's sweep may have been first.
pub fn calendar_clock(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    clock: NewDeadline,
) -> AppResult<bool> {
    match write_tx(conn, |conn| deadlines::start(conn, config, now, clock)) {
        Ok(_) => Ok(true),
        Err(AppError::Conflict {
            code: "already_exists",
            ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Moves the open `rule` clock of a record to run from `started_at` (the
/// date it runs from was corrected, e.g. a draft ledger's handover day).
pub fn retime<W: Workflow>(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    subject: &W::Subject,
    rule: Rule,
    started_at: NaiveDateTime,
) -> AppResult<Option<Deadline>> {
    deadlines::restart(
        conn,
        config,
        now,
        rule,
        W::SUBJECT_TYPE,
        W::id(subject),
        started_at,
    )
}

fn audit<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The table as Markdown, its creation rows first (from `—`), then one line
/// per `(state, action)` pair it allows: what the README shows mobile
/// developers.
pub fn markdown<W: Workflow>() -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "—".to_string()
        } else {
            items.join(", ")
        }
    };
    let rules = |rules: &[Rule]| list(rules.iter().map(|r| format!("`{r}`")).collect());
    let roles = |roles: &[Role]| list(roles.iter().map(|r| format!("`{r}`")).collect());
    let effects = |effects: &[Effect]| list(effects.iter().map(Effect::describe).collect());
    let holds = |t: &Row<W>| {
        let mut items: Vec<String> = t.pauses.iter().map(|r| format!("pauses `{r}`")).collect();
        items.extend(t.resumes.iter().map(|r| format!("resumes `{r}`")));
        list(items)
    };
    let mut out = String::from(
        "| state | action | next state | roles | settles | starts | cancels | holds | other records | event |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in W::creations() {
        out.push_str(&format!(
            "| — | `{}` | `{}` | {} | {} | {} | — | — | {} | `{}` |\n",
            c.name,
            c.to,
            roles(c.roles),
            rules(c.settles),
            rules(c.starts),
            effects(c.effects),
            c.event
        ));
    }
    for state in W::states() {
        for t in W::table().iter().filter(|t| t.from.contains(state)) {
            let when = t
                .when
                .as_ref()
                .map_or(String::new(), |w| format!(" ({})", w.name));
            out.push_str(&format!(
                "| `{state}` | `{}`{when} | `{}` | {} | {} | {} | {} | {} | {} | `{}` |\n",
                t.action,
                t.to,
                roles(t.roles),
                rules(t.settles),
                rules(t.starts),
                rules(t.cancels),
                holds(t),
                effects(t.effects),
                t.event
            ));
        }
    }
    out
}

impl Effect {
    /// The effect as the README says it.
    pub fn describe(&self) -> String {
        let when = if self.when.is_empty() {
            String::new()
        } else {
            let states: Vec<String> = self.when.iter().map(|s| format!("`{s}`")).collect();
            format!(" in {}", states.join(" or "))
        };
        match &self.does {
            Does::SettleHeld(rule) => format!(
                "settles `{rule}` of its `{}`{when}, when the clock is the actor's role",
                self.on
            ),
            Does::Step(action, _) => format!("its `{}`s{when}: `{action}`", self.on),
        }
    }
}

/// Declares a workflow once — its name, subject, state column, table, how
/// it is created, how it loads its subject in the caller's scope and how
/// its clocks are made — and generates the [`Workflow`] impl:
///
/// ```text
/// crate::workflow! {
///     ComplaintFlow {
///         name: "complaint",
///         subject: Complaint as "complaint",
///         state: ComplaintStatus = complaints.status,
///         action: ComplaintAction,
///         table: TABLE,
///         creations: CREATIONS,
///         load: |conn, actor, id| load(conn, actor, id),
///         clock: |c, rule, now| clock(c, rule, now),
///     }
/// }
/// ```
///
/// Optional, after `clock`: `find: |conn, id| …` (the row read back
/// whoever asks; by default the table's row by id), `settled_subjects:
/// |conn, config, subject, rule| …` (the records whose clocks a step
/// settles when they are not the subject's own), `linked: |conn, subject,
/// on| …` (the records the table's effects act on) and `event_subject:
/// |subject| …` (a child's events are its parent's).
#[macro_export]
macro_rules! workflow {
    (
        $flow:ty {
            name: $name:expr,
            subject: $subject:ty as $subject_type:expr,
            state: $state:ty = $table:ident . $column:ident,
            action: $action:ty,
            table: $rows:expr,
            creations: $creations:expr,
            load: |$conn:ident, $actor:ident, $id:ident| $load:expr,
            clock: |$s:ident, $rule:ident, $now:ident| $clock:expr
            $(, find: |$fconn:ident, $fid:ident| $find:expr)?
            $(, settled_subjects: |$sconn:ident, $sconfig:ident, $ss:ident, $srule:ident| $settled:expr)?
            $(, linked: |$lconn:ident, $ls:ident, $lon:ident| $linked:expr)?
            $(, event_subject: |$es:ident| $event_subject:expr)?
            $(,)?
        }
    ) => {
        impl $crate::kit::workflow::Workflow for $flow {
            type State = $state;
            type Action = $action;
            type Subject = $subject;
            const NAME: &'static str = $name;
            const SUBJECT_TYPE: &'static str = $subject_type;

            fn table() -> &'static [$crate::kit::workflow::Transition<$state, $action, $subject>] {
                $rows
            }
            fn creations() -> &'static [$crate::kit::workflow::Creation<$state>] {
                $creations
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
            $crate::workflow!(@find $subject, $table $(, |$fconn, $fid| $find)?);
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
            ) -> $crate::kit::deadlines::NewDeadline {
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
            $(
                fn linked(
                    $lconn: &mut $crate::db::DbConn,
                    $ls: &$subject,
                    $lon: &'static str,
                ) -> $crate::error::AppResult<Vec<(i64, String)>> {
                    $linked
                }
            )?
            $(
                fn event_subject($es: &$subject) -> (&'static str, i64) {
                    $event_subject
                }
            )?
        }
    };
    (@find $subject:ty, $table:ident) => {
        fn find(
            conn: &mut $crate::db::DbConn,
            id: i64,
        ) -> $crate::error::AppResult<$subject> {
            use diesel::prelude::*;
            Ok($table::table
                .find(id)
                .select(<$subject>::as_select())
                .first(conn)?)
        }
    };
    (@find $subject:ty, $table:ident, |$fconn:ident, $fid:ident| $find:expr) => {
        fn find(
            $fconn: &mut $crate::db::DbConn,
            $fid: i64,
        ) -> $crate::error::AppResult<$subject> {
            $find
        }
    };
}

/// A workflow's table, one row a line:
///
/// ```text
/// crate::transitions![ComplaintStatus, ComplaintAction;
///     [Registered] JudgeMinor => Handling, by JUDGE_ROLES,
///         settles [ComplaintJudge], starts [ComplaintFile], event ComplaintJudged;
/// ]
/// ```
///
/// `settles`, `starts`, `cancels`, `pauses`, `resumes` (rules) and `effects` (consts of
/// [`Effect`]) are optional, in that order.
#[macro_export]
macro_rules! transitions {
    ($state:ident, $action:ident; $(
        [$($from:ident),+] $act:ident $(when $when:literal $holds:expr)? => $to:ident, by $roles:expr
        $(, settles [$($settles:ident),*])?
        $(, starts [$($starts:ident),*])?
        $(, cancels [$($cancels:ident),*])?
        $(, pauses [$($pauses:ident),*])?
        $(, resumes [$($resumes:ident),*])?
        $(, effects [$($effects:expr),*])?
        , event $event:ident;
    )*) => {
        &[$($crate::kit::workflow::Transition {
            from: &[$($state::$from),+],
            action: $action::$act,
            when: $crate::transitions!(@when $($when $holds)?),
            to: $state::$to,
            roles: $roles,
            settles: &[$($($crate::models::deadline::Rule::$settles),*)?],
            starts: &[$($($crate::models::deadline::Rule::$starts),*)?],
            cancels: &[$($($crate::models::deadline::Rule::$cancels),*)?],
            pauses: &[$($($crate::models::deadline::Rule::$pauses),*)?],
            resumes: &[$($($crate::models::deadline::Rule::$resumes),*)?],
            effects: &[$($($effects),*)?],
            event: $crate::models::event::EventType::$event,
        }),*]
    };
    (@when) => { None };
    (@when $name:literal $holds:expr) => {
        Some($crate::kit::workflow::When { name: $name, holds: $holds })
    };
}

/// A workflow's creation rows, one a line:
///
/// ```text
/// crate::creations![VisitStatus;
///     "record" => Recorded, by VISITORS, starts [VisitRecord], settles [VisitRecord],
///         effects [REVISIT_MET], event VisitRecorded;
/// ]
/// ```
#[macro_export]
macro_rules! creations {
    ($state:ident; $(
        $name:literal => $to:ident, by $roles:expr
        $(, starts [$($starts:ident),*])?
        $(, settles [$($settles:ident),*])?
        $(, effects [$($effects:expr),*])?
        , event $event:ident;
    )*) => {
        &[$($crate::kit::workflow::Creation {
            name: $name,
            to: $state::$to,
            roles: $roles,
            starts: &[$($($crate::models::deadline::Rule::$starts),*)?],
            settles: &[$($($crate::models::deadline::Rule::$settles),*)?],
            effects: &[$($($effects),*)?],
            event: $crate::models::event::EventType::$event,
        }),*]
    };
}
