//! What an owner's own account sees first in the app: each of their
//! projects with its warranty today, the complaints still open with the
//! step they are at and who is handling them, and the visit records
//! waiting for their confirmation. Only customer accounts ask; everything
//! here is what a customer may read anyway, gathered in a few grouped
//! queries (never one per project).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::{complaints, org_units, projects, visits, warranty_terms};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::models::complaint::{Complaint, ComplaintStatus};
use crate::models::project::{Project, WarrantyCategory, WarrantyTerm};
use crate::models::user::Role;
use crate::models::visit::VisitStatus;

use super::{complaints as complaint_service, projects as project_service, Page, Paged};
use crate::kit::deadlines::calendar;

/// One component's warranty on the day asked.
#[derive(Debug, Clone)]
pub struct ComponentWarranty {
    pub category: WarrantyCategory,
    pub under_warranty: bool,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// One of the owner's projects, as the app's home screen shows it.
#[derive(Debug)]
pub struct OwnProject {
    pub project: Project,
    pub today: NaiveDate,
    pub components: Vec<ComponentWarranty>,
    /// Complaints not closed, newest first.
    pub open_complaint_ids: Vec<i64>,
    /// Visit records the owner has not confirmed yet, newest first.
    pub visits_awaiting_confirmation: Vec<i64>,
}

fn owner_only(actor: &Actor) -> AppResult<i64> {
    match (actor.role, actor.customer_id) {
        (Role::Customer, Some(customer)) => Ok(customer),
        _ => Err(AppError::Forbidden(
            "this is the owner's own view; staff use /projects, /complaints and /visits"
                .to_string(),
        )),
    }
}

/// The owner's projects, a page at a time, each with its warranty per
/// component today (company time zone), its open complaints and its
/// visits awaiting confirmation.
pub fn projects(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    page: Page,
) -> AppResult<Paged<OwnProject>> {
    let customer = owner_only(actor)?;
    let mut query = projects::table
        .filter(projects::customer_id.eq(customer))
        .into_boxed();
    if let Some(after) = page.after_id {
        query = query.filter(projects::id.gt(after));
    }
    let rows: Vec<Project> = query
        .order(projects::id.asc())
        .limit(page.limit + 1)
        .select(Project::as_select())
        .load(conn)?;
    let paged = Paged::from_rows(rows, page, |p| p.id);
    let ids: Vec<i64> = paged.items.iter().map(|p| p.id).collect();
    let today = calendar::local_day(now, config.tz);
    let terms: Vec<WarrantyTerm> = warranty_terms::table
        .filter(warranty_terms::project_id.eq_any(&ids))
        .order((warranty_terms::project_id, warranty_terms::id))
        .select(WarrantyTerm::as_select())
        .load(conn)?;
    let open: Vec<(i64, i64)> = complaints::table
        .filter(complaints::project_id.eq_any(&ids))
        .filter(complaints::customer_id.eq(customer))
        .filter(complaints::closed_at.is_null())
        .order(complaints::id.desc())
        .select((complaints::project_id, complaints::id))
        .load(conn)?;
    let unconfirmed: Vec<(i64, i64)> = visits::table
        .filter(visits::project_id.eq_any(&ids))
        .filter(visits::customer_id.eq(customer))
        .filter(visits::status.eq(VisitStatus::Recorded.as_str()))
        .order(visits::id.desc())
        .select((visits::project_id, visits::id))
        .load(conn)?;
    let mut components: HashMap<i64, Vec<ComponentWarranty>> = HashMap::new();
    for t in terms {
        components
            .entry(t.project_id)
            .or_default()
            .push(ComponentWarranty {
                category: WarrantyCategory::from_db(&t.category)?,
                under_warranty: t.starts_on <= today && today <= t.ends_on,
                starts_on: t.starts_on,
                ends_on: t.ends_on,
            });
    }
    let of = |pairs: &[(i64, i64)], project: i64| -> Vec<i64> {
        pairs
            .iter()
            .filter(|(p, _)| *p == project)
            .map(|(_, id)| *id)
            .collect()
    };
    let items = paged
        .items
        .into_iter()
        .map(|project| OwnProject {
            components: components.remove(&project.id).unwrap_or_default(),
            open_complaint_ids: of(&open, project.id),
            visits_awaiting_confirmation: of(&unconfirmed, project.id),
            project: project_service::shown(actor, project),
            today,
        })
        .collect();
    Ok(Paged {
        items,
        next_after: paged.next_after,
    })
}

/// Who has a complaint in hand at each step (001, 004 §5.4–5.8): the
/// branch engineering department judges it and revisits after the work;
/// the project department writes the plan and does the work. Closed: no one.
pub fn handler_of(status: ComplaintStatus) -> Option<Role> {
    match status {
        ComplaintStatus::Registered | ComplaintStatus::RevisitDue => Some(Role::BranchEngineer),
        ComplaintStatus::AwaitingPlan | ComplaintStatus::Handling | ComplaintStatus::Rectifying => {
            Some(Role::ProjectManager)
        }
        ComplaintStatus::ClosedSatisfied | ComplaintStatus::ClosedNotOurs => None,
    }
}

/// One of the owner's complaints with who has it in hand.
#[derive(Debug)]
pub struct OwnComplaint {
    pub complaint: Complaint,
    pub status: ComplaintStatus,
    pub handled_by_role: Option<Role>,
    /// The unit of that role: the project's branch or its department.
    pub handled_by_unit_id: Option<i64>,
    pub handled_by_unit_name: Option<String>,
    /// The owner may give their evaluation in the app now.
    pub evaluation_awaited: bool,
}

/// The owner's complaints, newest first; `open` keeps those not closed.
pub fn complaints(
    conn: &mut DbConn,
    actor: &Actor,
    open: bool,
    page: Page,
) -> AppResult<Paged<OwnComplaint>> {
    let customer = owner_only(actor)?;
    let mut query = complaints::table
        .inner_join(projects::table)
        .filter(complaints::customer_id.eq(customer))
        .into_boxed();
    if open {
        query = query.filter(complaints::closed_at.is_null());
    }
    if let Some(before) = page.after_id {
        query = query.filter(complaints::id.lt(before));
    }
    let rows: Vec<(Complaint, i64)> = query
        .order(complaints::id.desc())
        .limit(page.limit + 1)
        .select((Complaint::as_select(), projects::project_department_id))
        .load(conn)?;
    let paged = Paged::from_rows(rows, page, |(c, _)| c.id);
    let mut unit_ids: Vec<i64> = paged
        .items
        .iter()
        .flat_map(|(c, department)| [c.branch_id.unwrap_or_default(), *department])
        .collect();
    unit_ids.sort_unstable();
    unit_ids.dedup();
    let names: HashMap<i64, String> = org_units::table
        .filter(org_units::id.eq_any(&unit_ids))
        .select((org_units::id, org_units::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let items = paged
        .items
        .into_iter()
        .map(|(complaint, department)| {
            let status = ComplaintStatus::from_db(&complaint.status)?;
            let role = handler_of(status);
            let unit = role.map(|r| {
                if r == Role::ProjectManager {
                    department
                } else {
                    complaint.branch_id.unwrap_or_default()
                }
            });
            Ok(OwnComplaint {
                complaint: complaint_service::shown(actor, complaint),
                status,
                handled_by_role: role,
                handled_by_unit_id: unit,
                handled_by_unit_name: unit.and_then(|u| names.get(&u).cloned()),
                evaluation_awaited: status == ComplaintStatus::RevisitDue,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(Paged {
        items,
        next_after: paged.next_after,
    })
}
