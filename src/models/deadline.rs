use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{calendar_days, deadline_policies, deadlines};

super::text_enum! {
    /// Every deadline rule the service enforces, each with a policy (its
    /// duration, who acts, who hears when it passes).
    Rule {
        /// fill the completed-project ledger after handover (004 A.2 step 2)
        LedgerFill => "ledger.fill",
        /// review a submitted ledger (004 A.2 step 3)
        LedgerReview => "ledger.review",
        /// compile the branch's yearly visit plan in the first 3 days of the year (004 A.2 step 4.1)
        VisitPlanCompile => "visit_plan.compile",
        /// compile a new project's first visit plan within 3 days of its ledger's approval (004 A.2 step 4.2)
        VisitPlanCompileProject => "visit_plan.compile.project",
        /// record a visit after it took place (000 §5.5)
        VisitRecord => "visit.record",
        /// make a visit of an approved project plan on its day (004 A.2 step 7.2)
        VisitPerform => "visit.perform",
        /// make a visit of an approved branch plan on its day (004 A.2 step 7.1)
        VisitPerformBranch => "visit.perform.branch",
        /// judge a complaint's liability after receipt (004 §5.4.2)
        ComplaintJudge => "complaint.judge",
        /// review a submitted rectification plan (004 §5.5)
        RectificationReview => "rectification.review",
        /// approve a reviewed rectification plan (004 §5.5)
        RectificationApprove => "rectification.approve",
        /// revisit the customer after a complaint is resolved (001)
        ComplaintRevisit => "complaint.revisit",
        /// file a complaint judged ours with the group (004 §5.4.3)
        ComplaintFile => "complaint.file",
        /// report a rectification milestone done by its date (004 §5.6)
        RectificationMilestone => "rectification.milestone",
        /// the same, for a complaint sent to the group: the group hears too (004 §5.6.2)
        RectificationMilestoneGroup => "rectification.milestone.group",
        /// respond to a normal repair request (002)
        RepairRespond => "repair.respond",
        /// respond to an emergency repair request (002)
        RepairRespondEmergency => "repair.respond.emergency",
        /// confirm a reported defect (003 §3.2)
        RepairConfirm => "repair.confirm",
        /// finish a small repair (002)
        RepairComplete => "repair.complete",
        /// finish a larger repair by its target, 2–5 working days (002)
        RepairCompleteLarge => "repair.complete.large",
        /// rework a repaired defect complained of again within 24 hours (001)
        RepairRework => "repair.rework",
        /// follow a repair up with a visit 1 week to 1 month after it was accepted (001)
        RepairFollowup => "repair.followup",
        /// carry out a corrective action by its date (000 §1.4)
        CorrectiveActionComplete => "corrective_action.complete",
    }
}

super::text_enum! {
    /// What a deadline is about: each rule's subject.
    DeadlineSubject {
        /// a completed project's ledger
        Project => "project",
        /// a branch (the yearly visit plan it compiles)
        OrgUnit => "org_unit",
        /// a return visit
        Visit => "visit",
        /// an item of a visit plan
        VisitPlanItem => "visit_plan_item",
        /// a complaint
        Complaint => "complaint",
        /// a complaint's rectification plan
        RectificationPlan => "rectification_plan",
        /// a milestone of a rectification plan
        RectificationMilestone => "rectification_milestone",
        /// a repair request
        Repair => "repair",
        /// a corrective action of the annual summary
        CorrectiveAction => "corrective_action",
    }
}

impl Rule {
    /// The kind of record this rule's deadlines are about.
    pub fn subject(self) -> DeadlineSubject {
        match self {
            Rule::LedgerFill | Rule::LedgerReview | Rule::VisitPlanCompileProject => {
                DeadlineSubject::Project
            }
            Rule::VisitPlanCompile => DeadlineSubject::OrgUnit,
            Rule::VisitRecord => DeadlineSubject::Visit,
            Rule::VisitPerform | Rule::VisitPerformBranch => DeadlineSubject::VisitPlanItem,
            Rule::ComplaintJudge | Rule::ComplaintRevisit | Rule::ComplaintFile => {
                DeadlineSubject::Complaint
            }
            Rule::RectificationMilestone | Rule::RectificationMilestoneGroup => {
                DeadlineSubject::RectificationMilestone
            }
            Rule::RectificationReview | Rule::RectificationApprove => {
                DeadlineSubject::RectificationPlan
            }
            Rule::RepairRespond
            | Rule::RepairRespondEmergency
            | Rule::RepairConfirm
            | Rule::RepairComplete
            | Rule::RepairCompleteLarge
            | Rule::RepairRework
            | Rule::RepairFollowup => DeadlineSubject::Repair,
            Rule::CorrectiveActionComplete => DeadlineSubject::CorrectiveAction,
        }
    }
}

super::text_enum! {
    /// How a policy's duration is counted.
    DurationUnit {
        /// wall-clock hours
        Hours => "hours",
        /// working days of the company calendar; due at the end of the last one
        WorkingDays => "working_days",
    }
}

super::text_enum! {
    /// Where a deadline stands.
    DeadlineStatus {
        /// running, not yet due
        Pending => "pending",
        /// done in time
        Met => "met",
        /// done after the due time, with a reason
        MetLate => "met_late",
        /// passed without being done; escalated
        Overdue => "overdue",
        /// no longer needed (the subject went another way)
        Cancelled => "cancelled",
    }
}

impl DeadlineStatus {
    /// Still waiting for the step to be done.
    pub fn is_open(self) -> bool {
        matches!(self, DeadlineStatus::Pending | DeadlineStatus::Overdue)
    }
}

super::text_enum! {
    /// A day the company calendar marks.
    CalendarDayKind {
        /// a weekday off (法定节假日)
        Holiday => "holiday",
        /// a weekend day worked (调休上班)
        Workday => "workday",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = deadline_policies)]
pub struct Policy {
    pub id: i64,
    pub rule: String,
    pub version: i32,
    pub duration: i32,
    pub unit: String,
    pub actor_role: String,
    pub escalation_roles: String,
    pub description: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    /// The nearest target a workflow may choose; `None`: any down to 1.
    pub min_duration: Option<i32>,
    /// When, as a share of the duration, the deadline shows as due soon.
    pub warn_percent: i32,
}

impl Policy {
    pub fn escalation_role_list(&self) -> Vec<&str> {
        self.escalation_roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = calendar_days)]
#[diesel(primary_key(day))]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: String,
    pub name: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = deadlines)]
pub struct Deadline {
    pub id: i64,
    pub rule: String,
    pub policy_id: i64,
    pub subject_type: String,
    pub subject_id: i64,
    pub title: String,
    pub link: String,
    pub started_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub met_at: Option<NaiveDateTime>,
    pub status: String,
    pub assignee_user_id: Option<i64>,
    pub assignee_role: Option<String>,
    pub scope_org_unit_id: Option<i64>,
    pub scope_path: String,
    pub escalation_level: i32,
    pub escalated_at: Option<NaiveDateTime>,
    pub late_reason: Option<String>,
    pub settled_by: Option<i64>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The duration it runs for, in its policy's unit (the policy's, or a
    /// target the workflow chose).
    pub duration: Option<i32>,
    /// Time spent paused so far: wall seconds for hour policies, working
    /// seconds for working-day ones.
    pub paused_secs: i64,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    /// When it shows as due soon.
    pub warn_at: Option<NaiveDateTime>,
    /// When the sweeper marked it due soon.
    pub due_soon_at: Option<NaiveDateTime>,
    /// What was said with the step when it came in time.
    pub note: Option<String>,
    /// A due time the subject fixes (a milestone's date), not the policy's
    /// duration; a pause still moves it on.
    pub fixed_due_at: Option<NaiveDateTime>,
}
