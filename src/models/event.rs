use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::events;

super::text_enum! {
    /// What happened: `{subject}.{verb}`. Every event the services write is
    /// one of these (the audit trail, the complaint timeline, later the
    /// webhooks and the change feed).
    EventType {
        AttachmentAdded => "attachment.added",
        AttachmentChanged => "attachment.changed",
        AttachmentHidden => "attachment.hidden",
        AuthLoggedIn => "auth.logged_in",
        AuthLoggedOut => "auth.logged_out",
        AuthRefreshTokenReused => "auth.refresh_token_reused",
        CalendarDayRemoved => "calendar_day.removed",
        CalendarDaySet => "calendar_day.set",
        ComplaintEvaluated => "complaint.evaluated",
        ComplaintFiled => "complaint.filed",
        ComplaintFilingRequired => "complaint.filing_required",
        ComplaintJudged => "complaint.judged",
        ComplaintRectificationStarted => "complaint.rectification_started",
        ComplaintRegistered => "complaint.registered",
        ComplaintResolved => "complaint.resolved",
        CustomerCreated => "customer.created",
        CustomerGraded => "customer.graded",
        CustomerUpdated => "customer.updated",
        DeadlineCancelled => "deadline.cancelled",
        DeadlineDueSoon => "deadline.due_soon",
        DeadlineEscalated => "deadline.escalated",
        DeadlineMet => "deadline.met",
        DeadlineMetLate => "deadline.met_late",
        DeadlineOverdue => "deadline.overdue",
        DeadlinePaused => "deadline.paused",
        DeadlineRescheduled => "deadline.rescheduled",
        DeadlineResumed => "deadline.resumed",
        DeadlineStarted => "deadline.started",
        DeadlinePolicyChanged => "deadline_policy.changed",
        OrgUnitActivated => "org_unit.activated",
        OrgUnitCreated => "org_unit.created",
        OrgUnitDeactivated => "org_unit.deactivated",
        OrgUnitUpdated => "org_unit.updated",
        ProjectContactAdded => "project.contact_added",
        ProjectContactRemoved => "project.contact_removed",
        ProjectContactUpdated => "project.contact_updated",
        ProjectCreated => "project.created",
        ProjectLedgerApproved => "project.ledger_approved",
        ProjectLedgerReturned => "project.ledger_returned",
        ProjectLedgerSubmitted => "project.ledger_submitted",
        ProjectUpdated => "project.updated",
        ProjectWarrantyTermSet => "project.warranty_term_set",
        RectificationPlanApproved => "rectification_plan.approved",
        RectificationPlanChanged => "rectification_plan.changed",
        RectificationPlanCreated => "rectification_plan.created",
        RectificationPlanMilestoneCancelled => "rectification_plan.milestone_cancelled",
        RectificationPlanMilestoneDone => "rectification_plan.milestone_done",
        RectificationPlanMilestoneReplaced => "rectification_plan.milestone_replaced",
        RectificationPlanMilestoneScheduled => "rectification_plan.milestone_scheduled",
        RectificationPlanMilestoneWritten => "rectification_plan.milestone_written",
        RectificationPlanProgress => "rectification_plan.progress",
        RectificationPlanReturned => "rectification_plan.returned",
        RectificationPlanReviewed => "rectification_plan.reviewed",
        RectificationPlanRevised => "rectification_plan.revised",
        RectificationPlanSubmitted => "rectification_plan.submitted",
        RepairAccepted => "repair.accepted",
        RepairAgreed => "repair.agreed",
        RepairArrived => "repair.arrived",
        RepairClosed => "repair.closed",
        RepairCompleted => "repair.completed",
        RepairConfirmed => "repair.confirmed",
        RepairDeclined => "repair.declined",
        RepairDispatched => "repair.dispatched",
        RepairHeld => "repair.held",
        RepairInspected => "repair.inspected",
        RepairRejected => "repair.rejected",
        RepairReopened => "repair.reopened",
        RepairReported => "repair.reported",
        RepairResumed => "repair.resumed",
        UserActivated => "user.activated",
        UserCreated => "user.created",
        UserDeactivated => "user.deactivated",
        UserPasswordChanged => "user.password_changed",
        UserUpdated => "user.updated",
        VisitConfirmed => "visit.confirmed",
        VisitRecorded => "visit.recorded",
        VisitPlanApproved => "visit_plan.approved",
        VisitPlanCreated => "visit_plan.created",
        VisitPlanItemAdded => "visit_plan.item_added",
        VisitPlanItemChanged => "visit_plan.item_changed",
        VisitPlanItemDone => "visit_plan.item_done",
        VisitPlanItemRemoved => "visit_plan.item_removed",
        VisitPlanItemReplanned => "visit_plan.item_replanned",
        VisitPlanItemScheduled => "visit_plan.item_scheduled",
        VisitPlanReturned => "visit_plan.returned",
        VisitPlanSubmitted => "visit_plan.submitted",
    }
}

super::text_enum! {
    /// What an event is about.
    EventSubject {
        User => "user",
        OrgUnit => "org_unit",
        Customer => "customer",
        Project => "project",
        Complaint => "complaint",
        RectificationPlan => "rectification_plan",
        Visit => "visit",
        VisitPlan => "visit_plan",
        Repair => "repair",
        Deadline => "deadline",
        DeadlinePolicy => "deadline_policy",
        CalendarDay => "calendar_day",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub payload: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub payload: String,
}
