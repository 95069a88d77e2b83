//! Customers (owner organisations, property companies, individual owners),
//! their A/B/C grading with history, and the rank that must visit them.

use super::one_written;
use crate::models::event::EventType;
use crate::services::IfMatch;
use std::collections::HashMap;

use chrono::{Months, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::schema::{complaints, customer_gradings, customers, org_units, projects};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::customer::{Customer, CustomerKind, Grade, Grading, NewCustomer, NewGrading};
use crate::models::org_unit::{OrgUnit, OrgUnitKind};
use crate::models::user::{Rank, Role};
use crate::services::users::clean_phone_field;

use super::trimmed;
use super::{check_version, double_option, like_contains, Page, Paged};
use crate::kit::events;

/// Roles that keep the customer register (the branch engineering side and above).
const WRITERS: &[Role] = &[
    Role::Admin,
    Role::GroupEngineer,
    Role::BranchEngineer,
    Role::BranchLeader,
];

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "上海滨江置业有限公司 Binjiang Property Co.", "kind": "owner_organisation", "branch_id": 2,
    "contact_name": "王经理", "contact_phone": "021-5888 0000", "address": "上海市浦东新区滨江大道 100 号"
}))]
pub struct NewCustomerInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: CustomerKind,
    /// The branch that serves the customer.
    pub branch_id: i64,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub contact_name: Option<String>,
    #[validate(length(max = 32))]
    #[schema(max_length = 32)]
    pub contact_phone: Option<String>,
    #[validate(length(max = 300))]
    #[schema(max_length = 300)]
    pub address: Option<String>,
    /// Serious problems or strong dissatisfaction: a `manager` must visit.
    #[serde(default)]
    pub serious_problems: bool,
}

/// Fields to change; absent stays, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_phone": "021-5888 0001", "serious_problems": true}))]
pub struct CustomerPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub kind: Option<CustomerKind>,
    pub branch_id: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 32))]
    #[schema(value_type = Option<String>, max_length = 32)]
    pub contact_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 300))]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub address: Option<Option<String>>,
    pub serious_problems: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"operating_score": 92, "payment_score": 85, "cooperation_score": 90}))]
pub struct GradingInput {
    /// 经营状况, 0–100.
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    pub operating_score: i32,
    /// 付款及时性, 0–100.
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    pub payment_score: i32,
    /// 配合工作的程度, 0–100.
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    pub cooperation_score: i32,
    /// The grade to give, when it differs from the one proposed from the
    /// scores; then `override_reason` is required.
    pub grade: Option<Grade>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CustomerFilter {
    pub branch_id: Option<i64>,
    pub kind: Option<CustomerKind>,
    pub grade: Option<Grade>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

/// A customer with what is derived from it: the one place that decides who
/// may visit (later the visit workflow asks here too).
#[derive(Debug, Clone)]
pub struct CustomerProfile {
    pub customer: Customer,
    pub complaints_last_12_months: i64,
    pub required_visitor_rank: Rank,
    pub required_visitor_rank_reason: String,
    /// Read by the customer's own account: the contractor's assessment of
    /// them (serious problems, why the rank) is left out.
    pub for_customer: bool,
}

/// What the caller may read of a customer: a customer account never reads
/// the contractor's internal assessment of it.
fn shown(actor: &Actor, mut p: CustomerProfile) -> CustomerProfile {
    p.for_customer = actor.role == Role::Customer;
    p
}

/// The least rank that may visit (000 §3 (1)①②): many complaints or serious
/// problems → `manager`; otherwise by tier (A → manager, B → supervisor,
/// C → any). An ungraded customer is visited by a `supervisor` or above
/// until graded: the tier is unknown, and the middle is the safe guess.
pub fn required_visitor_rank(
    grade: Option<Grade>,
    complaints_last_12_months: i64,
    serious_problems: bool,
    many_complaints: i64,
) -> (Rank, String) {
    if serious_problems {
        return (
            Rank::Manager,
            "serious problems: a manager visits".to_string(),
        );
    }
    if complaints_last_12_months >= many_complaints {
        return (
            Rank::Manager,
            format!(
                "{complaints_last_12_months} complaints in the last 12 months (≥ {many_complaints}): a manager visits"
            ),
        );
    }
    match grade {
        Some(g) => {
            let tier = g.tier();
            let rank = tier.required_visitor_rank();
            (rank, format!("grade {g} (tier {tier}): {rank} or above"))
        }
        None => (
            Rank::Supervisor,
            "not graded yet: supervisor or above".to_string(),
        ),
    }
}

/// The grade proposed for three scores: their average against the thresholds.
pub fn propose_grade(config: &Config, scores: [i32; 3]) -> Grade {
    let average = f64::from(scores.iter().sum::<i32>()) / 3.0;
    const STEPS: [Grade; 6] = [
        Grade::AAA,
        Grade::AA,
        Grade::A,
        Grade::BBB,
        Grade::BB,
        Grade::B,
    ];
    STEPS
        .iter()
        .zip(config.grade_thresholds)
        .find(|(_, min)| average >= *min)
        .map_or(Grade::C, |(g, _)| *g)
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("customer {id} not found"))
}

/// Customers the caller may see, as a boxed query to filter further.
fn visible(actor: &Actor) -> Option<customers::BoxedQuery<'static, crate::db::MultiBackend>> {
    let query = customers::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => {
            // the branch's own customers, and the customers of the projects
            // built by a department in the caller's subtree (read only)
            // (a lookup per customer on `projects_customer`, not the set
            // of every project in the subtree)
            let through_project = diesel::dsl::exists(
                projects::table
                    .filter(projects::customer_id.eq(customers::id))
                    .filter(crate::in_subtree!(projects::scope_path, &path)),
            );
            Some(
                query.filter(
                    crate::rows_in_subtree!(customers::table, customers::scope_path, &path)
                        .or(through_project),
                ),
            )
        }
        Scope::Customer(c) => Some(query.filter(customers::id.eq(c))),
        Scope::Nothing => None,
    }
}

/// The start of the twelve months whose complaints a profile counts.
fn complaints_since(now: NaiveDateTime) -> NaiveDateTime {
    now.checked_sub_months(Months::new(12)).unwrap_or(now)
}

fn complaint_counts(
    conn: &mut DbConn,
    ids: &[i64],
    now: NaiveDateTime,
) -> AppResult<HashMap<i64, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = complaints::table
        .filter(complaints::customer_id.eq_any(ids.to_vec()))
        .filter(complaints::received_at.gt(complaints_since(now)))
        .group_by(complaints::customer_id)
        .select((complaints::customer_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Loads a customer the caller may change: one served by a branch inside
/// the caller's scope. A customer seen only through a project of the
/// caller's is theirs to read, not to change (403).
fn get_for_write(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Customer> {
    let row = get_row(conn, actor, id)?;
    if actor.scope().covers_path(&row.scope_path) {
        Ok(row)
    } else {
        Err(AppError::Forbidden(format!(
            "customer {id} is served by another branch; only that branch or the group may change it"
        )))
    }
}

/// Derives the profile of many customers with one aggregate query.
pub fn profiles(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    rows: Vec<Customer>,
) -> AppResult<Vec<CustomerProfile>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let counts = complaint_counts(conn, &ids, now)?;
    rows.into_iter()
        .map(|customer| {
            let count = counts.get(&customer.id).copied().unwrap_or(0);
            profile(config, customer, count)
        })
        .collect()
}

/// A customer's profile, given how many complaints it had in twelve months.
fn profile(config: &Config, customer: Customer, count: i64) -> AppResult<CustomerProfile> {
    let grade = customer.grade.as_deref().map(Grade::from_db).transpose()?;
    let (rank, reason) = required_visitor_rank(
        grade,
        count,
        customer.serious_problems,
        config.many_complaints,
    );
    Ok(CustomerProfile {
        customer,
        complaints_last_12_months: count,
        required_visitor_rank: rank,
        required_visitor_rank_reason: reason,
        for_customer: false,
    })
}

/// Loads a customer the caller may see; 404 otherwise.
pub fn get_row(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Customer> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(customers::id.eq(id))
        .select(Customer::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

pub fn get(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
) -> AppResult<CustomerProfile> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    // the count in the same statement as the row: one round trip, not two
    let recent_complaints = complaints::table
        .filter(complaints::customer_id.eq(customers::id))
        .filter(complaints::received_at.gt(complaints_since(now)))
        .count()
        .single_value();
    let (row, count): (Customer, Option<i64>) = query
        .filter(customers::id.eq(id))
        .select((Customer::as_select(), recent_complaints))
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))?;
    profile(config, row, count.unwrap_or(0)).map(|p| shown(actor, p))
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    filter: &CustomerFilter,
    page: Page,
) -> AppResult<Paged<CustomerProfile>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(b) = filter.branch_id {
        query = query.filter(customers::branch_id.eq(b));
    }
    if let Some(k) = filter.kind {
        query = query.filter(customers::kind.eq(k.as_str()));
    }
    if let Some(g) = filter.grade {
        query = query.filter(customers::grade.eq(g.as_str()));
    }
    if let Some(a) = filter.active {
        query = query.filter(customers::active.eq(a));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(customers::name.like(like_contains(q)).escape('\\'));
    }
    if let Some(after) = page.after_id {
        query = query.filter(customers::id.gt(after));
    }
    let rows = query
        .order(customers::id.asc())
        .limit(page.limit + 1)
        .select(Customer::as_select())
        .load(conn)?;
    let paged = Paged::from_rows(rows, page, |c| c.id);
    Ok(Paged {
        items: profiles(conn, config, now, paged.items)?
            .into_iter()
            .map(|p| shown(actor, p))
            .collect(),
        next_after: paged.next_after,
    })
}

/// The branch a customer is served by: must exist, be a branch, be active and
/// lie within the caller's scope. Returns the branch's ancestry path.
fn check_branch(conn: &mut DbConn, actor: &Actor, branch_id: i64) -> AppResult<String> {
    let unit: Option<OrgUnit> = org_units::table
        .find(branch_id)
        .select(OrgUnit::as_select())
        .first(conn)
        .optional()?;
    match unit {
        Some(u) if actor.scope().covers_path(&u.path) => {
            if u.kind != OrgUnitKind::Branch.as_str() {
                Err(AppError::rule(
                    "invalid_reference",
                    "branch_id",
                    format!("org unit {branch_id} is a {}, not a branch", u.kind),
                ))
            } else if !u.active {
                Err(AppError::rule(
                    "inactive_org_unit",
                    "branch_id",
                    format!("branch {branch_id} is deactivated"),
                ))
            } else {
                Ok(u.path)
            }
        }
        _ => Err(AppError::missing_reference(
            "branch_id",
            format!("branch {branch_id} does not exist or is outside your scope"),
        )),
    }
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    input: &NewCustomerInput,
) -> AppResult<CustomerProfile> {
    actor.require(WRITERS)?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    let phone = clean_phone_field("contact_phone", input.contact_phone.as_deref())?;
    let id = write_tx(conn, |conn| {
        let scope_path = check_branch(conn, actor, input.branch_id)?;
        let id: i64 = diesel::insert_into(customers::table)
            .values(NewCustomer {
                name,
                kind: input.kind.as_str(),
                branch_id: input.branch_id,
                version: 1,
                created_at: now,
                updated_at: now,
                contact_name: trimmed(input.contact_name.as_deref()).as_deref(),
                contact_phone: phone.as_deref(),
                address: trimmed(input.address.as_deref()).as_deref(),
                serious_problems: input.serious_problems,
                active: true,
                scope_path: &scope_path,
            })
            .returning(customers::id)
            .get_result(conn)?;
        let row = get_row(conn, actor, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::CustomerCreated,
            ("customer", id),
            None,
            Some(audit(&row)),
        )?;
        Ok(id)
    })?;
    get(conn, actor, config, now, id)
}

fn audit(c: &Customer) -> serde_json::Value {
    serde_json::to_value(c).unwrap_or_default()
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &CustomerPatch,
) -> AppResult<CustomerProfile> {
    actor.require(WRITERS)?;
    write_tx(conn, |conn| {
        let before = get_for_write(conn, actor, id)?;
        let scope_path = match patch.branch_id.filter(|b| *b != before.branch_id) {
            Some(b) => check_branch(conn, actor, b)?,
            None => before.scope_path.clone(),
        };
        let name = match patch.name.as_deref().map(str::trim) {
            Some("") => return Err(AppError::invalid("name", "must not be blank")),
            Some(n) => n.to_string(),
            None => before.name.clone(),
        };
        let pick = |p: &Option<Option<String>>, old: &Option<String>| match p {
            Some(v) => trimmed(v.as_deref()),
            None => old.clone(),
        };
        let after = Customer {
            name,
            kind: patch
                .kind
                .map_or(before.kind.clone(), |k| k.as_str().to_string()),
            branch_id: patch.branch_id.unwrap_or(before.branch_id),
            contact_name: pick(&patch.contact_name, &before.contact_name),
            contact_phone: match &patch.contact_phone {
                Some(v) => clean_phone_field("contact_phone", v.as_deref())?,
                None => before.contact_phone.clone(),
            },
            address: pick(&patch.address, &before.address),
            serious_problems: patch.serious_problems.unwrap_or(before.serious_problems),
            scope_path,
            version: before.version + 1,
            updated_at: now,
            ..before.clone()
        };
        // after the content's checks: a request that fails anyway is not a 412
        check_version(expected_version, before.version)?;
        let unchanged = after.name == before.name
            && after.kind == before.kind
            && after.branch_id == before.branch_id
            && after.contact_name == before.contact_name
            && after.contact_phone == before.contact_phone
            && after.address == before.address
            && after.serious_problems == before.serious_problems;
        if !unchanged {
            one_written(
                diesel::update(
                    customers::table
                        .filter(customers::id.eq(id))
                        .filter(customers::version.eq(before.version)),
                )
                .set((
                    customers::name.eq(&after.name),
                    customers::kind.eq(&after.kind),
                    customers::branch_id.eq(after.branch_id),
                    customers::contact_name.eq(&after.contact_name),
                    customers::contact_phone.eq(&after.contact_phone),
                    customers::address.eq(&after.address),
                    customers::serious_problems.eq(after.serious_problems),
                    customers::scope_path.eq(&after.scope_path),
                    customers::version.eq(after.version),
                    customers::updated_at.eq(now),
                ))
                .execute(conn)?,
            )?;
            events::record_change(
                conn,
                now,
                actor,
                EventType::CustomerUpdated,
                ("customer", id),
                Some(audit(&before)),
                Some(audit(&after)),
            )?;
        }
        get(conn, actor, config, now, id)
    })
}

/// Records a grading: the three scores, the grade proposed from them and the
/// grade given. Giving another grade than the proposed one needs a reason.
pub fn grade(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
    input: &GradingInput,
) -> AppResult<Grading> {
    actor.require(WRITERS)?;
    let proposed = propose_grade(
        config,
        [
            input.operating_score,
            input.payment_score,
            input.cooperation_score,
        ],
    );
    let given = input.grade.unwrap_or(proposed);
    let reason = trimmed(input.override_reason.as_deref());
    if given != proposed && reason.is_none() {
        return Err(AppError::rule(
            "override_reason_required",
            "override_reason",
            format!("the scores propose grade {proposed}; giving {given} instead needs an override_reason"),
        ));
    }
    write_tx(conn, |conn| {
        let before = get_for_write(conn, actor, id)?;
        let grading_id: i64 = diesel::insert_into(customer_gradings::table)
            .values(NewGrading {
                customer_id: id,
                operating_score: input.operating_score,
                payment_score: input.payment_score,
                cooperation_score: input.cooperation_score,
                proposed_grade: proposed.as_str(),
                grade: given.as_str(),
                override_reason: if given == proposed {
                    None
                } else {
                    reason.as_deref()
                },
                graded_by: actor.id,
                graded_at: now,
            })
            .returning(customer_gradings::id)
            .get_result(conn)?;
        diesel::update(customers::table.find(id))
            .set((
                customers::grade.eq(given.as_str()),
                customers::graded_at.eq(now),
                customers::version.eq(before.version + 1),
                customers::updated_at.eq(now),
            ))
            .execute(conn)?;
        let grading: Grading = customer_gradings::table
            .find(grading_id)
            .select(Grading::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::CustomerGraded,
            ("customer", id),
            Some(serde_json::json!({ "grade": before.grade })),
            Some(serde_json::to_value(&grading).unwrap_or_default()),
        )?;
        Ok(grading)
    })
}

/// The grading history of a customer, oldest first.
pub fn gradings(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    page: Page,
) -> AppResult<Paged<Grading>> {
    // the contractor's scores of the customer and why: never the customer's
    actor.require_staff_side()?;
    get_row(conn, actor, id)?;
    let mut query = customer_gradings::table
        .filter(customer_gradings::customer_id.eq(id))
        .into_boxed();
    if let Some(after) = page.after_id {
        query = query.filter(customer_gradings::id.gt(after));
    }
    let rows = query
        .order(customer_gradings::id.asc())
        .limit(page.limit + 1)
        .select(Grading::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |g| g.id))
}
